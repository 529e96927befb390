"""An nbgrader course tree built from ``solutions/``: what release and grading both stand on.

nbgrader wants a course directory (``source/<id>/<id>.ipynb`` plus a sqlite gradebook). The
instructor sources are MyST Markdown, so this module writes them out as notebooks with stable
cell ids and runs nbgrader's own ``generate_assignment`` on them.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

import jupytext
import nbformat
from traitlets.config import Config

from .notebooks import nbgrader_meta, read_source, source_path

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def to_notebook(exercise_id: str) -> nbformat.NotebookNode:
    """The instructor source as an nbformat 4 notebook with deterministic metadata and ids."""
    nb = read_source(exercise_id)
    nb.metadata = nbformat.from_dict({
        "kernelspec": KERNELSPEC,
        "language_info": {"name": "python"},
    })
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        cell_id = nbgrader_meta(cell).get("grade_id") or f"cell-{index}"
        if cell_id in seen:
            raise ValueError(f"{source_path(exercise_id)}: grade_id {cell_id!r} is used twice")
        seen.add(cell_id)
        cell["id"] = cell_id.replace("_", "-")[:64]
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("jupytext", None)
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    return nb


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write a notebook the same way every time (so committed notebooks diff cleanly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(nb, version=4)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def db_url(root: Path) -> str:
    """The course's sqlite gradebook; parallel graders wait up to a minute for each other's writes."""
    return f"sqlite:///{Path(root) / 'gradebook.db'}?timeout=60"


def nbgrader_config(root: Path, **extra) -> Config:
    """nbgrader configuration for a course tree at ``root`` with a sqlite gradebook in it."""
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = db_url(root)
    config.CourseDirectory.course_id = "cnnbook"
    config.NbGraderAPI.log_level = logging.WARNING
    for dotted, value in extra.items():
        section, name = dotted.split(".")
        setattr(config[section], name, value)
    return config


def api_for(root: Path, **extra):
    from nbgrader.apps import NbGraderAPI

    _put_scripts_on_path()
    return NbGraderAPI(config=nbgrader_config(root, **extra))


def _put_scripts_on_path() -> None:
    """nbgrader creates a new gradebook by running the ``alembic`` command found on PATH: make it
    this environment's, so that ``.venv/bin/cnnbook`` works without an activated environment."""
    scripts = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if scripts not in path.split(os.pathsep):
        os.environ["PATH"] = scripts + (os.pathsep + path if path else "")


def build_course(root: Path, exercise_id: str, api=None) -> Path:
    """Write the source notebook into the course tree at ``root`` and generate its release.

    Returns the released student directory (``root/release/<id>``). The gradebook then knows
    every graded cell, its points and its checksum, which grading relies on.
    """
    root = Path(root)
    source_dir = root / "source" / exercise_id
    if source_dir.exists():
        shutil.rmtree(source_dir)
    write_notebook(to_notebook(exercise_id), source_dir / f"{exercise_id}.ipynb")
    api = api or api_for(root)
    result = api.generate_assignment(exercise_id, force=True, create=True)
    if not result["success"]:
        raise RuntimeError(f"nbgrader could not generate {exercise_id}:\n{result.get('error') or result.get('log')}")
    return root / "release" / exercise_id
