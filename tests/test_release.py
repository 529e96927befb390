"""The student notebooks in exercises/ are exactly what nbgrader makes of solutions/."""

import filecmp

import nbformat
import pytest

from cnnbook.notebooks import EXERCISES, exercise_ids, nbgrader_meta, read_source
from cnnbook.release import release

IDS = exercise_ids()


def test_there_are_exercises():
    assert IDS, "no exercise sources found in solutions/"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    dest = tmp_path_factory.mktemp("release")
    for exercise_id in IDS:
        release(exercise_id, dest)
    return dest


@pytest.mark.parametrize("exercise_id", IDS)
def test_exercises_are_up_to_date(fresh, exercise_id):
    committed, generated = EXERCISES / exercise_id, fresh / exercise_id
    assert committed.is_dir(), f"exercises/{exercise_id} is missing: run `make release`"
    cmp = filecmp.dircmp(committed, generated)
    stale = cmp.left_only + cmp.right_only + filecmp.cmpfiles(committed, generated, cmp.common_files, shallow=False)[1]
    assert not stale, (
        f"exercises/{exercise_id} is out of date with solutions/{exercise_id} ({', '.join(sorted(stale))}): "
        "run `make release` and commit the result"
    )


@pytest.mark.parametrize("exercise_id", IDS)
def test_release_hides_solutions_and_hidden_tests(fresh, exercise_id):
    nb = nbformat.read(fresh / exercise_id / f"{exercise_id}.ipynb", as_version=4)
    text = "\n".join(cell.source for cell in nb.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "cnnbook.checks"):
        assert marker not in text, f"the student notebook of {exercise_id} contains {marker!r}"
    solution_cells = [c for c in nb.cells if nbgrader_meta(c).get("solution") and c.cell_type == "code"]
    assert solution_cells, "no solution cells were released"
    for cell in solution_cells:
        assert "raise NotImplementedError()" in cell.source, f"solution cell {nbgrader_meta(cell)['grade_id']} kept its body"


@pytest.mark.parametrize("exercise_id", IDS)
def test_release_keeps_points_and_locks(fresh, exercise_id):
    source_points = {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c).get("points") for c in read_source(exercise_id).cells if nbgrader_meta(c).get("grade")}
    nb = nbformat.read(fresh / exercise_id / f"{exercise_id}.ipynb", as_version=4)
    released = {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c).get("points") for c in nb.cells if nbgrader_meta(c).get("grade")}
    assert released == source_points
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade") and not nbgrader_meta(cell).get("solution"):
            assert cell.metadata.get("editable") is False and cell.metadata.get("deletable") is False
