"""No solution and no hidden test reaches a student: not in exercises/, not in the public book.

Every instructor source ``solutions/<id>/<id>.md`` is fingerprinted: the bodies of its
``### BEGIN SOLUTION`` / ``### END SOLUTION`` blocks, of its ``### BEGIN HIDDEN TESTS`` /
``### END HIDDEN TESTS`` blocks, and solution cells without markers (nbgrader replaces
those whole). Then every file under ``exercises/`` (student notebooks, and whatever else a
release writes there: otter files, zips) and under the built public book ``_build/html``
is searched for the fingerprints.

What counts as a fingerprint, so that a real leak is caught and boilerplate is not:

- code: each line of a secret block, whitespace normalised, at least
  :data:`MIN_LINE` characters long; a block made only of shorter lines is fingerprinted
  whole (its lines in order) when it is at least :data:`MIN_LINE` characters in all;
  trivial blocks (``pass``, ``return x``) are not fingerprinted;
- prose (a manually graded Markdown answer): every run of :data:`SHINGLE_WORDS`
  consecutive words, so that re-wrapping, Markdown markup and HTML tags do not hide it;
- anything that also appears in the public part of its own source (the instructions, the
  public tests, the ``def`` line a solution cell keeps) is not secret and is dropped.

When a file counts as leaking a block: one short line such as ``for _ in range(epochs):``
is an idiom that a chapter may well contain by itself, and a later lab may show a training
loop or a stable softmax on purpose. So a block leaks into a file that holds a whole-block
fingerprint or :data:`PROSE_HITS` of its word runs; into a file of its own exercise
(``exercises/<id>/``), also one line of at least :data:`LONG_LINE` characters or two of its
lines (the only one, for a one-line block); into any other file (a chapter, another
exercise), at least half of its lines, and two at least.

Searched text is normalised the same way: HTML tags stripped and entities decoded,
notebooks read as JSON (every string in them), zip archives opened, all whitespace runs
collapsed to one space.
"""

from __future__ import annotations

import html
import io
import json
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import jupytext
import pytest
import yaml

from cnnbook.instructor import instructor_toc
from cnnbook.notebooks import nbgrader_meta

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"


def exercise_ids() -> list[str]:
    return sorted(p.parent.name for p in SOLUTIONS.glob("*/*.md") if p.stem == p.parent.name)

#: Lines shorter than this (after normalising whitespace) are too common to be evidence.
MIN_LINE = 20
#: Length of the word runs that fingerprint a prose answer.
SHINGLE_WORDS = 12
#: A line of code this long is evidence of a leak on its own.
LONG_LINE = 40
#: Word runs of one prose answer that a file must hold to leak it (about 14 words in a row).
PROSE_HITS = 3

_BLOCKS = {
    "solution": re.compile(r"^[ \t]*### BEGIN SOLUTION[^\n]*\n(.*?)^[ \t]*### END SOLUTION[^\n]*$", re.S | re.M),
    "hidden test": re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n(.*?)^[ \t]*### END HIDDEN TESTS[^\n]*$", re.S | re.M),
}
_TAG = re.compile(r"<[^>]*>")
# Tags that end a line of text; every other tag (a span of highlighted code) is dropped.
_BLOCK_TAG = re.compile(r"</?(?:p|div|br|li|ul|ol|tr|td|th|h[1-6]|pre|section|dd|dt|table|blockquote)\b[^>]*>", re.I)
_WORD = re.compile(r"[A-Za-z0-9]+")
_BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".ico", ".woff", ".woff2", ".ttf", ".eot",
                    ".otf", ".pdf", ".npz", ".npy", ".pkl", ".pt", ".db", ".pickle", ".inv"}


def normalise(text: str) -> str:
    """All whitespace runs collapsed to one space, ends stripped."""
    return " ".join(text.split())


def words(text: str) -> str:
    """The words of ``text`` in lower case, separated by one space (markup and math signs gone)."""
    return " ".join(w.lower() for w in _WORD.findall(text))


@dataclass(frozen=True)
class Fingerprint:
    text: str  # normalised code (kind "line" or "block") or a run of words (kind "prose")
    kind: str
    origin: str  # where it comes from, for the failure message

    @property
    def exercise(self) -> str:
        """The exercise whose source this comes from: ``solutions/<id>/<id>.md`` -> ``<id>``."""
        return Path(self.origin.split(" (")[0]).stem

    def found_in(self, target: "Target") -> bool:
        if self.kind == "prose":
            return f" {self.text} " in target.words
        return self.text in target.text


@dataclass
class Target:
    name: str
    text: str  # normalised
    words: str  # " " + words(...) + " "

    @classmethod
    def of(cls, name: str, raw: str) -> "Target":
        return cls(name, normalise(raw), f" {words(raw)} ")

    @property
    def exercise(self) -> str | None:
        """The exercise a file belongs to (``exercises/<id>/...``), None for a chapter or a page."""
        match = re.search(r"(?:^|/)exercises/([^/!]+)/", self.name)
        return match.group(1) if match else None


# ---------------------------------------------------------------------------------------
# Fingerprints of the instructor sources


def _secret_parts(cell) -> tuple[list[tuple[str, str]], str]:
    """``([(kind, secret text)], public text)`` of one cell of an instructor source."""
    source = cell.source
    secrets = []
    for kind, pattern in _BLOCKS.items():
        secrets += [(kind, m.group(1)) for m in pattern.finditer(source)]
        source = pattern.sub("", source)
    meta = nbgrader_meta(cell)
    if meta.get("solution") and not secrets:
        # nbgrader replaces a solution cell without markers by "YOUR CODE/ANSWER HERE".
        return [("solution", cell.source)], ""
    return secrets, source


def _code_fingerprints(block: str, public: str, origin: str) -> list[Fingerprint]:
    lines = [normalise(line) for line in block.splitlines()]
    lines = [line for line in lines if line]
    long_lines = [line for line in lines if len(line) >= MIN_LINE]
    if long_lines:
        return [Fingerprint(line, "line", origin) for line in long_lines if line not in public]
    whole = " ".join(lines)
    if len(whole) >= MIN_LINE and whole not in public:
        return [Fingerprint(whole, "block", origin)]
    return []  # a trivial block: `pass`, `return x`


def _prose_fingerprints(block: str, public_words: str, origin: str) -> list[Fingerprint]:
    tokens = words(block).split()
    if len(tokens) < SHINGLE_WORDS:
        runs = [" ".join(tokens)] if len(" ".join(tokens)) >= MIN_LINE else []
    else:
        runs = [" ".join(tokens[i:i + SHINGLE_WORDS]) for i in range(len(tokens) - SHINGLE_WORDS + 1)]
    return [Fingerprint(run, "prose", origin) for run in dict.fromkeys(runs) if f" {run} " not in public_words]


def fingerprints_of(path: Path) -> list[Fingerprint]:
    """Every fingerprint of one instructor source (a MyST notebook with nbgrader cells)."""
    nb = jupytext.read(path)
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    secrets, public_parts = [], []
    for i, cell in enumerate(nb.cells):
        found, public = _secret_parts(cell)
        public_parts.append(public)
        name = nbgrader_meta(cell).get("grade_id", f"cell {i}")
        secrets += [(cell.cell_type, kind, text, f"{rel} ({kind} of {name})") for kind, text in found]
    public = normalise("\n".join(public_parts))
    public_words = f" {words(' '.join(public_parts))} "
    prints: list[Fingerprint] = []
    for cell_type, _kind, text, origin in secrets:
        if cell_type == "markdown":
            prints += _prose_fingerprints(text, public_words, origin)
        else:
            prints += _code_fingerprints(text, public, origin)
    return list(dict.fromkeys(prints))


def all_fingerprints() -> list[Fingerprint]:
    return [fp for exercise_id in exercise_ids() for fp in fingerprints_of(SOLUTIONS / exercise_id / f"{exercise_id}.md")]


# ---------------------------------------------------------------------------------------
# The text a student or a reader can see


def _strings(obj) -> list[str]:
    """Every string inside a JSON value (a notebook: sources, outputs, metadata)."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for value in obj.values() for s in _strings(value)]
    if isinstance(obj, list):
        return [s for value in obj for s in _strings(value)]
    return []


def _text_of(name: str, data: bytes) -> str | None:
    """The readable text of one file, or None for a binary file."""
    suffix = Path(name).suffix.lower()
    if suffix in _BINARY_SUFFIXES or b"\0" in data[:4096]:
        return None
    text = data.decode("utf-8", errors="replace")
    if suffix == ".ipynb":
        try:
            return "\n".join(_strings(json.loads(text)))
        except ValueError:
            return text
    if suffix in {".html", ".htm", ".xml"}:
        return html_text(text)
    return text


def html_text(page: str) -> str:
    """The text of an HTML page: tags gone, entities decoded, highlighted code whole again."""
    return html.unescape(_TAG.sub("", _BLOCK_TAG.sub("\n", page)))


def _targets_of(name: str, data: bytes) -> list[Target]:
    if name.lower().endswith((".zip", ".whl")):
        targets = []
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                if not member.endswith("/"):
                    targets += _targets_of(f"{name}!{member}", archive.read(member))
        return targets
    text = _text_of(name, data)
    return [] if text is None else [Target.of(name, text)]


def targets_under(folder: Path, base: Path | None = None) -> list[Target]:
    """Every readable file under ``folder`` (zip archives opened), as normalised text."""
    base = base or folder
    targets = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            targets += _targets_of(str(path.relative_to(base)), path.read_bytes())
    return targets


#: Overlaps accepted on purpose, each with its reason: (fingerprint text, the start of the path
#: of the file where it may appear, why). Keep it short; every entry is a line a student sees.
ACCEPTED: list[tuple[str, str, str]] = []


def _leaked(block: list[Fingerprint], hits: list[Fingerprint], own: bool) -> bool:
    """Whether the fingerprints ``hits`` found in one file betray the secret ``block``.

    ``own``: the file belongs to the block's own exercise, where nothing of the solution may
    appear. Elsewhere (a chapter, another exercise) code is shared on purpose, such as a
    training loop or the stable softmax, so most of the block must be there.
    """
    lines = [fp for fp in block if fp.kind == "line"]
    line_hits = [fp for fp in hits if fp.kind == "line"]
    prose = [fp for fp in block if fp.kind == "prose"]
    prose_hits = [fp for fp in hits if fp.kind == "prose"]
    needed_lines = min(2, len(lines)) if own else max(min(2, len(lines)), -(-len(lines) // 2))
    return bool(any(fp.kind == "block" for fp in hits)
                or (own and any(len(fp.text) >= LONG_LINE for fp in line_hits))
                or (line_hits and len(line_hits) >= needed_lines)
                or (prose_hits and len(prose_hits) >= min(PROSE_HITS, len(prose))))


def leaks(prints: list[Fingerprint], targets: list[Target]) -> list[str]:
    """One message per (file, secret block) that the file betrays."""
    blocks: dict[str, list[Fingerprint]] = {}
    for fp in prints:
        blocks.setdefault(fp.origin, []).append(fp)
    found = []
    for t in targets:
        for origin, block in blocks.items():
            hits = [fp for fp in block if fp.found_in(t)
                    and not any(fp.text == text and t.name.startswith(where) for text, where, _ in ACCEPTED)]
            if hits and _leaked(block, hits, own=t.exercise == block[0].exercise):
                shown = "; ".join(f"{fp.kind} {fp.text[:90]!r}" for fp in hits[:3])
                found.append(f"{t.name}: {len(hits)} of {len(block)} fingerprints of {origin}: {shown}")
    return found


def _report(found: list[str], where: str) -> str:
    return (f"{len(found)} fingerprints of solutions or hidden tests found in {where}:\n  "
            + "\n  ".join(found[:30]) + ("\n  ..." if len(found) > 30 else ""))


# ---------------------------------------------------------------------------------------
# Tests


@pytest.fixture(scope="module")
def prints() -> list[Fingerprint]:
    return all_fingerprints()


@pytest.mark.parametrize("exercise_id", exercise_ids())
def test_every_solution_and_hidden_block_is_fingerprinted(exercise_id):
    """A detector with nothing to look for would pass for the wrong reason."""
    path = SOLUTIONS / exercise_id / f"{exercise_id}.md"
    prints = fingerprints_of(path)
    origins = {fp.origin for fp in prints}
    nb = jupytext.read(path)
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        secrets, _ = _secret_parts(cell)
        for kind, text in secrets:
            substantial = len(normalise(text)) >= 3 * MIN_LINE
            origin = f"{path.relative_to(ROOT)} ({kind} of {meta.get('grade_id')})"
            if substantial:
                assert origin in origins, f"the {kind} block of {meta.get('grade_id')} in {path.name} yields no fingerprint"
    if any(_BLOCKS["hidden test"].search(c.source) for c in nb.cells):
        assert any("(hidden test of" in fp.origin for fp in prints), f"{path.name}: no hidden test is fingerprinted"


def test_no_solution_or_hidden_test_in_exercises(prints):
    assert EXERCISES.is_dir()
    found = leaks(prints, targets_under(EXERCISES, ROOT))
    assert not found, _report(found, "exercises/ (what students get)")


def test_no_solution_or_hidden_test_in_the_public_book(prints, built_book):
    assert not (built_book / "solutions").exists(), "the public book has a solutions/ folder"
    found = leaks(prints, targets_under(built_book, ROOT))
    assert not found, _report(found, "the public book _build/html")


def test_instructor_edition_shows_every_solution(prints, built_instructor_book):
    """The other side of the coin: the fingerprints are found where the solutions ARE shown.

    This proves that they survive rendering (HTML tags, highlighting, entities), so their
    absence from the public book means something.
    """
    _, in_book = instructor_toc(yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8")), ROOT)
    assert in_book, "the table of contents lists no exercise"
    for exercise_id in in_book:
        page = built_instructor_book / "solutions" / exercise_id / f"{exercise_id}.html"
        assert page.exists(), f"the instructor edition has no page for {exercise_id}"
        target = _targets_of(page.name, page.read_bytes())
        mine = [fp for fp in prints if fp.origin.startswith(f"solutions/{exercise_id}/")]
        missing = [fp for fp in mine if not fp.found_in(target[0])]
        assert not missing, (
            f"{len(missing)} of {len(mine)} fingerprints of {exercise_id} are not in its instructor page, "
            f"e.g. {missing[0].kind} {missing[0].text[:80]!r} ({missing[0].origin})"
        )


# --- the detector can fail ---------------------------------------------------------------


def _highlighted(code: str) -> str:
    """``code`` as Pygments puts it in a page: every token in a span, entities escaped."""
    return "".join(f'<span class="n">{html.escape(tok)}</span>' if tok.strip() else tok
                   for tok in re.split(r"(\s+)", code))


@pytest.fixture
def planted(prints, tmp_path):
    """A copy of exercises/ and of a page, with nothing planted yet."""
    code = [fp for fp in prints if fp.kind == "line" and len(fp.text) >= LONG_LINE and "(solution of" in fp.origin
            and (EXERCISES / fp.exercise / f"{fp.exercise}.ipynb").exists()]
    hidden = [fp for fp in prints if "(hidden test of" in fp.origin]
    assert code and hidden, "no fingerprints to plant"
    copy = tmp_path / "exercises"
    shutil.copytree(EXERCISES, copy)
    hidden_block = [fp for fp in hidden if fp.origin == hidden[-1].origin]
    return {"code": code[len(code) // 2], "hidden": hidden_block, "dir": copy, "tmp": tmp_path}


def test_detector_finds_nothing_new_in_an_unchanged_copy(prints, planted):
    before = leaks(prints, targets_under(EXERCISES, ROOT))
    assert leaks(prints, targets_under(planted["dir"], planted["tmp"])) == before


def test_detector_fires_on_a_solution_line_planted_in_a_student_notebook(prints, planted):
    exercise = planted["code"].exercise
    notebook = planted["dir"] / exercise / f"{exercise}.ipynb"
    assert notebook.exists(), f"{exercise} has no released notebook: run `make release`"
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    # Indented differently, as a student-facing "hint" would be.
    cell["source"] = ["# hint:\n", "        " + planted["code"].text.replace(" ", "   ", 1) + "\n"]
    notebook.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    found = leaks(prints, targets_under(planted["dir"], planted["tmp"]))
    assert any(planted["code"].origin in f and notebook.name in f for f in found), found


def test_detector_fires_on_a_hidden_test_in_a_rendered_page(prints, planted):
    code = "\n".join(fp.text for fp in planted["hidden"])
    page = planted["tmp"] / "page.html"
    page.write_text(f"<html><body><pre>{_highlighted(code)}</pre></body></html>", encoding="utf-8")
    found = leaks(prints, targets_under(planted["tmp"], planted["tmp"]))
    assert any(planted["hidden"][0].origin in f and "page.html" in f for f in found), found


def test_detector_fires_inside_a_zip_written_by_a_release(prints, planted):
    body = "\n    ".join(fp.text for fp in planted["hidden"])
    with zipfile.ZipFile(planted["dir"] / "autograder.zip", "w") as archive:
        archive.writestr("tests/q1.py", f"def test():\n    {body}\n")
    found = leaks(prints, targets_under(planted["dir"], planted["tmp"]))
    assert any("autograder.zip!tests/q1.py" in f for f in found), found


def test_an_idiom_alone_is_no_leak_but_two_lines_or_a_long_one_are(tmp_path):
    source = tmp_path / "exi.md"
    source.write_text(
        "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n---\n\n"
        "```{code-cell} ipython3\n"
        ":nbgrader: {grade: false, grade_id: fit, locked: false, schema_version: 3, solution: true, task: false}\n"
        "def fit(X, y, epochs):\n    ### BEGIN SOLUTION\n    w = np.zeros(X.shape[1])\n"
        "    for _ in range(epochs):\n        w -= 0.1 * X.T @ (X @ w - y) / len(y)\n"
        "    return w\n    ### END SOLUTION\n```\n",
        encoding="utf-8",
    )
    prints = fingerprints_of(source)
    assert {fp.text for fp in prints} == {"w = np.zeros(X.shape[1])", "for _ in range(epochs):",
                                          "w -= 0.1 * X.T @ (X @ w - y) / len(y)"}
    chapter = "for _ in range(epochs):\n    loss = step(model)\n"
    assert not leaks(prints, [Target.of("chapter.html", chapter)]), "one idiomatic line is not a leak"
    two = "w = np.zeros(X.shape[1])\nfor _ in range(epochs):\n    pass\n"
    assert leaks(prints, [Target.of("two.html", two)]), "two lines of the same solution are a leak"
    assert len("w -= 0.1 * X.T @ (X @ w - y) / len(y)") < LONG_LINE
    origin = "solutions/exq/exq.md (solution of zero_pad)"
    long_prints = [Fingerprint("X_pad = np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))", "line", origin),
                   Fingerprint("return X_pad.astype(np.float64, copy=True)", "line", origin),
                   Fingerprint("assert X_pad.ndim == 4, 'NCHW expected'", "line", origin)]
    code = "y = 1\nX_pad = np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))\n"
    assert leaks(long_prints, [Target.of("exercises/exq/exq.ipynb", code)]), "in its own exercise a long line is evidence"
    assert not leaks(long_prints, [Target.of("book/02-losses.html", code)]), "in a chapter one line of three is not"
    code += "return X_pad.astype(np.float64, copy=True)\n"
    assert leaks(long_prints, [Target.of("book/02-losses.html", code)]), "two lines of three are"


def test_prose_answers_are_found_through_markup_and_rewrapping(tmp_path):
    source = tmp_path / "exq.md"
    source.write_text(
        "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n---\n\n"
        "Explain why the prior acts as a penalty.\n\n"
        '+++ {"nbgrader": {"grade": true, "grade_id": "why", "locked": false, "points": 1, '
        '"schema_version": 3, "solution": true, "task": false}}\n\n'
        "### BEGIN SOLUTION\n"
        "The **logarithm** of a Gaussian prior is a negative squared norm, so maximising the\n"
        "posterior adds $\\lambda \\lVert\\theta\\rVert^2$ to the loss that is minimised.\n"
        "### END SOLUTION\n",
        encoding="utf-8",
    )
    prints = fingerprints_of(source)
    assert prints and all(fp.kind == "prose" for fp in prints)
    page = Target.of("p.html", html_text((
        "<p>The <strong>logarithm</strong> of a Gaussian prior is a\nnegative squared norm, so maximising "
        "the posterior adds <span class=\"math\">\\(\\lambda \\lVert\\theta\\rVert^2\\)</span> to the loss</p>")))
    assert leaks(prints, [page])
    # The question itself is public: quoting it is no leak.
    assert not leaks(prints, [Target.of("q.html", "Explain why the prior acts as a penalty.")])


def test_boilerplate_is_not_a_fingerprint(tmp_path):
    source = tmp_path / "exb.md"
    source.write_text(
        "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n---\n\n"
        "```{code-cell} ipython3\n"
        ":nbgrader: {grade: false, grade_id: f, locked: false, schema_version: 3, solution: true, task: false}\n"
        "def f(x, y):\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION\n```\n\n"
        "```{code-cell} ipython3\n"
        ":nbgrader: {grade: false, grade_id: g, locked: false, schema_version: 3, solution: true, task: false}\n"
        "def g(x, y):\n    ### BEGIN SOLUTION\n    n, m = x.shape\n    return x + y * 2\n    ### END SOLUTION\n```\n\n"
        "```{code-cell} ipython3\n"
        ":nbgrader: {grade: false, grade_id: h, locked: false, schema_version: 3, solution: true, task: false}\n"
        "def h(values, axis):\n    ### BEGIN SOLUTION\n    out = sorted(values, key=abs)[::-1]\n"
        "    result = dict(zip(values, values))\n    return out\n    ### END SOLUTION\n```\n\n"
        "The public test calls `result = dict(zip(values, values))` itself.\n",
        encoding="utf-8",
    )
    by_cell = {}
    for fp in fingerprints_of(source):
        by_cell.setdefault(fp.origin.split(" of ")[-1].rstrip(")"), []).append(fp.text)
    assert "f" not in by_cell, "a `pass` block is not evidence of anything"
    assert by_cell["g"] == ["n, m = x.shape return x + y * 2"], "short lines are fingerprinted as one block"
    assert by_cell["h"] == ["out = sorted(values, key=abs)[::-1]"], "public and short lines are dropped"
