"""``cnnbook release``: student notebooks in ``exercises/`` generated from ``solutions/``."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import nbformat

from .course import build_course, write_notebook
from .notebooks import EXERCISES

# What nbgrader leaves in a released notebook that changes from run to run or says nothing.
_VOLATILE_CELL_META = ("execution", "collapsed")


def _normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in nb.cells:
        for key in _VOLATILE_CELL_META:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def release(exercise_id: str, dest: Path = EXERCISES) -> Path:
    """Generate the student version of one exercise into ``dest/<id>/`` and return that folder."""
    dest = Path(dest)
    with tempfile.TemporaryDirectory(prefix="cnnbook-release-") as tmp:
        released = build_course(Path(tmp), exercise_id)
        out = dest / exercise_id
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        for path in sorted(released.iterdir()):
            if path.suffix == ".ipynb":
                nb = _normalise(nbformat.read(path, as_version=4))
                write_notebook(nb, out / path.name)
            elif path.is_file():
                shutil.copy2(path, out / path.name)
    return out
