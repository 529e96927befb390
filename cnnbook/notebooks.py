"""Reading the instructor sources in ``solutions/`` and running their cells as plain Python.

The helpers that look at one cell (:func:`nbgrader_meta`, :func:`is_test_cell`,
:func:`strip_hidden`) also take a cell of a notebook read as plain JSON, and jupytext and
nbformat are imported only when a source is read: a student's check cell
(:mod:`cnnbook.selfcheck`) uses those helpers and should not wait seconds for the imports.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from . import ROOT

if TYPE_CHECKING:
    import nbformat

SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"

HIDDEN_RE = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?", re.S | re.M)


def exercise_ids() -> list[str]:
    """Every exercise that has an instructor source, in order."""
    return sorted(p.parent.name for p in SOLUTIONS.glob("*/*.md") if p.stem == p.parent.name)


def source_path(exercise_id: str) -> Path:
    path = SOLUTIONS / exercise_id / f"{exercise_id}.md"
    if not path.exists():
        known = ", ".join(exercise_ids()) or "none"
        raise FileNotFoundError(f"no exercise {exercise_id!r}: expected {path} (known: {known})")
    return path


def read_source(exercise_id: str) -> nbformat.NotebookNode:
    """The instructor notebook of an exercise (solutions, public and hidden tests)."""
    import jupytext

    return jupytext.read(source_path(exercise_id))


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_solution_cell(cell) -> bool:
    return cell.get("cell_type") == "code" and bool(nbgrader_meta(cell).get("solution"))


def is_test_cell(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def strip_hidden(source: str) -> str:
    """A test cell's source without its hidden tests, as the student sees it."""
    return HIDDEN_RE.sub("", source)


def code_cells(nb, *, tests: bool = False, hidden: bool = False) -> list[tuple[str, str]]:
    """``(grade_id or "cell-N", source)`` of the code cells to run, in notebook order.

    Test cells are left out unless ``tests``; hidden tests are left out unless ``hidden``.
    """
    cells = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if is_test_cell(cell):
            if not tests:
                continue
            source = cell.source if hidden else strip_hidden(cell.source)
        else:
            source = cell.source
        cells.append((nbgrader_meta(cell).get("grade_id", f"cell-{i}"), source))
    return cells


def source_namespace(exercise_id: str, overrides: str | None = None) -> dict:
    """Run the non-test code cells of an instructor source as plain Python; return its globals.

    ``overrides`` is extra code run afterwards (a catalogued wrong answer redefining a function).
    """
    namespace: dict = {"__name__": f"cnnbook_source_{exercise_id.replace('-', '_')}"}
    for grade_id, source in code_cells(read_source(exercise_id)):
        exec(compile(source, f"<{exercise_id}:{grade_id}>", "exec"), namespace)
    if overrides:
        exec(compile(overrides, f"<{exercise_id}:override>", "exec"), namespace)
    return namespace


def run_test_cells(exercise_id: str, namespace: dict, *, hidden: bool = True) -> dict[str, BaseException | None]:
    """Run every test cell of an exercise against ``namespace``; map grade_id -> the error or None."""
    results: dict[str, BaseException | None] = {}
    for cell in read_source(exercise_id).cells:
        if not is_test_cell(cell):
            continue
        source = cell.source if hidden else strip_hidden(cell.source)
        grade_id = nbgrader_meta(cell)["grade_id"]
        try:
            exec(compile(source, f"<{exercise_id}:{grade_id}>", "exec"), namespace)
        except Exception as err:  # a failing test is data here, not a crash
            results[grade_id] = err
        else:
            results[grade_id] = None
    return results
