"""Fake submissions made from the instructor source: correct, blank, and catalogued mistakes."""

from __future__ import annotations

import copy
import importlib
import re
from pathlib import Path

import nbformat

from cnnbook.notebooks import EXERCISES, nbgrader_meta, read_source

SOLUTION_RE = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n?", re.M)


def released(exercise_id: str) -> nbformat.NotebookNode:
    return nbformat.read(EXERCISES / exercise_id / f"{exercise_id}.ipynb", as_version=4)


def reference_answers(exercise_id: str) -> dict[str, str]:
    """grade_id -> the reference code of each solution cell, as a student would type it."""
    return {
        nbgrader_meta(c)["grade_id"]: SOLUTION_RE.sub("", c.source)
        for c in read_source(exercise_id).cells
        if nbgrader_meta(c).get("solution")
    }


def answered(exercise_id: str, extra: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The released notebook with every solution cell answered by the reference.

    ``extra`` maps a grade_id to code appended to that cell (a wrong answer redefining a
    function, a loop, a crash).
    """
    nb = copy.deepcopy(released(exercise_id))
    answers = reference_answers(exercise_id)
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
            if extra and grade_id in extra:
                cell.source += "\n\n" + extra[grade_id]
    return nb


def mistakes(exercise_id: str):
    """The catalogue of wrong answers of an exercise (tests/catalogue/<id>.py)."""
    module = importlib.import_module(f"catalogue.{exercise_id.replace('-', '_')}")
    return module.MISTAKES


def write(nb, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path
