"""One bibliography for the whole book: every citation resolves, every entry is complete.

The bibliography is the union of the files listed in ``bibtex_bibfiles`` of
``_config.yml`` (``book/references.bib`` and the ``book/bib/*.bib`` files of the people
who write the chapters); ``book/references.md`` prints it. Citations are the
``{cite}``, ``{cite:p}``, ``{cite:t}``... roles of the chapters (``book/``), of the
exercise notebooks (``exercises/``) and of the instructor sources (``solutions/``, shown
in the instructor edition).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from pybtex.database import parse_file

ROOT = Path(__file__).resolve().parent.parent

# {cite}`a,b`, {cite:t}`a`, {cite:p}`{see}a{p. 3}` (sphinxcontrib-bibtex's pre- and post-text).
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]*)`")
REQUIRED = ("author", "title", "year")


def bib_files() -> list[Path]:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return [ROOT / f for f in dict.fromkeys(config.get("bibtex_bibfiles", []))]


def cited_keys() -> dict[str, list[str]]:
    """Every cited key, with the files that cite it."""
    texts: dict[str, str] = {}
    for path in sorted([*ROOT.glob("book/**/*.md"), *ROOT.glob("solutions/*/*.md")]):
        texts[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    for path in sorted(ROOT.glob("exercises/*/*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        texts[str(path.relative_to(ROOT))] = "\n".join(
            "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in cells if c.get("cell_type") == "markdown")
    keys: dict[str, list[str]] = {}
    for name, text in texts.items():
        for match in CITE.finditer(text):
            for key in re.sub(r"\{[^}]*\}", "", match.group(1)).split(","):
                if key.strip():
                    keys.setdefault(key.strip(), []).append(name)
    return keys


@pytest.fixture(scope="module")
def entries() -> dict[str, tuple[Path, object]]:
    found: dict[str, tuple[Path, object]] = {}
    seen: dict[str, tuple[str, Path]] = {}  # lower-case key -> (key, file): BibTeX keys ignore case
    duplicates = []
    for path in bib_files():
        assert path.exists(), f"_config.yml lists {path.relative_to(ROOT)} in bibtex_bibfiles, but it does not exist"
        for key, entry in parse_file(str(path), bib_format="bibtex").entries.items():
            if key.lower() in seen:
                other_key, other = seen[key.lower()]
                duplicates.append(f"{key} in {path.relative_to(ROOT)} and {other_key} in {other.relative_to(ROOT)}")
            seen[key.lower()] = (key, path)
            found[key] = (path, entry)
    assert not duplicates, "entries defined twice (reuse the existing key instead): " + "; ".join(duplicates)
    return found


def test_every_bib_file_is_part_of_the_bibliography():
    listed = {p.resolve() for p in bib_files()}
    assert listed, "_config.yml lists no bibtex_bibfiles"
    unlisted = [str(p.relative_to(ROOT)) for p in sorted(ROOT.glob("book/**/*.bib")) if p.resolve() not in listed]
    assert not unlisted, f"these .bib files are not in bibtex_bibfiles of _config.yml, so the book ignores them: {unlisted}"


def test_every_cited_key_exists(entries):
    keys = cited_keys()
    assert keys, "nothing in the book cites anything"
    missing = {key: sorted(set(where)) for key, where in keys.items() if key not in entries}
    assert not missing, "cited keys missing from every .bib file of bibtex_bibfiles:\n  " + "\n  ".join(
        f"{key} (cited in {', '.join(where)})" for key, where in sorted(missing.items()))


def test_every_entry_has_author_title_and_year(entries):
    problems = []
    for key, (path, entry) in sorted(entries.items()):
        lacking = [f for f in REQUIRED if not (entry.persons.get(f) if f == "author" else entry.fields.get(f, "").strip())]
        if lacking:
            problems.append(f"{key} ({path.relative_to(ROOT)}): no {', '.join(lacking)}")
        elif not re.fullmatch(r"\d{4}", entry.fields["year"].strip()):
            problems.append(f"{key} ({path.relative_to(ROOT)}): year {entry.fields['year']!r} is not a year")
    assert not problems, "incomplete bibliography entries:\n  " + "\n  ".join(problems)
