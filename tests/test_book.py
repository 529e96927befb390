"""The book builds offline with warnings as errors, and no page loads anything from outside."""

from __future__ import annotations

import re

import pytest

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.I)
CSS_EXTERNAL = re.compile(r"""url\(\s*["']?(?:https?:)?//|@import\s+["'](?:https?:)?//""", re.I)
# Plain links a reader may click are fine; what a page loads by itself is not.
LOADING_TAG = re.compile(r"<(script|img|iframe|audio|video|source|embed)\b[^>]*>|<link\b[^>]*>", re.I | re.S)


@pytest.fixture(scope="module")
def built(built_book):
    """The public book, built once per test run (the session fixture of conftest.py)."""
    return built_book


def test_chapter_and_exercise_pages_exist(built):
    assert (built / "book" / "06-convolution.html").exists()
    assert (built / "exercises" / "ex06-conv" / "ex06-conv.html").exists()


def test_mathjax_is_served_with_the_book(built):
    page = (built / "book" / "06-convolution.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script[^>]*src=\"([^\"]*mathjax[^\"]*)\"", page, re.I)
    assert scripts and all("://" not in s for s in scripts), scripts
    assert (built / "_static" / "mathjax" / "tex-mml-chtml.js").exists()
    assert list((built / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))


def test_no_page_loads_anything_from_outside(built):
    offenders = []
    for page in built.rglob("*.html"):
        text = page.read_text(encoding="utf-8", errors="replace")
        for tag in LOADING_TAG.finditer(text):
            t = tag.group(0)
            if t.lower().startswith("<link") and not re.search(r"rel\s*=\s*[\"'](?:stylesheet|preload|modulepreload|icon|manifest)", t, re.I):
                continue
            if EXTERNAL.search(t):
                offenders.append(f"{page.relative_to(built)}: {t[:160]}")
    for sheet in built.rglob("*.css"):
        for m in CSS_EXTERNAL.finditer(sheet.read_text(encoding="utf-8", errors="replace")):
            offenders.append(f"{sheet.relative_to(built)}: {m.group(0)}")
    assert not offenders, "pages load external resources:\n" + "\n".join(offenders[:40])


def test_student_notebook_is_shown_unexecuted(built):
    page = (built / "exercises" / "ex06-conv" / "ex06-conv.html").read_text(encoding="utf-8")
    assert "NotImplementedError" in page
    assert "Traceback" not in page
