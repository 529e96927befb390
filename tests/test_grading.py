"""`cnnbook grade` on a batch of fake submissions gives exactly the expected scores.

One batch per exercise: the reference answer, the blank student notebook and one catalogued
wrong answer per function. The exercise of the foundation chapter (ex06-conv) also gets the
submissions that test the grader itself: a notebook that is not JSON, a missing notebook, one
that loops at top level and one that kills its kernel. Grading a batch once is the slow part;
every test below reads the result.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from cnnbook.grade import grade
from cnnbook.notebooks import exercise_ids, nbgrader_meta, read_source
from submissions import answered, mistakes, released, write

TIMEOUT = 120  # seconds per cell: far above what any reference cell needs (labs train models)
PIPELINE_EXERCISE = "ex06-conv"
PIPELINE_TIMEOUT = 20  # the batch with the looping notebook: a short timeout keeps the test quick


def points(exercise_id):
    """Points of the autograded cells (manually graded answers score nothing until a person grades them)."""
    return {
        nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c)["points"])
        for c in read_source(exercise_id).cells
        if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")
    }


def sampled_mistakes(exercise_id):
    """The first catalogued mistake of each function.

    Every mistake is shown to fail its test cells in-process (tests/test_<id>.py); grading one
    per function through nbgrader shows that a failing cell costs exactly its points.
    """
    seen, sample = set(), []
    for m in mistakes(exercise_id):
        if field(m, "replaces") not in seen:
            seen.add(field(m, "replaces"))
            sample.append(m)
    return sample


def solution_ids(exercise_id):
    """The code cells students answer (a written answer is a Markdown solution cell)."""
    return [nbgrader_meta(c)["grade_id"] for c in read_source(exercise_id).cells
            if nbgrader_meta(c).get("solution") and c.cell_type == "code"]


def field(mistake, name):
    return mistake[name] if isinstance(mistake, dict) else getattr(mistake, name)


@pytest.fixture(scope="module", params=exercise_ids())
def batch(request, tmp_path_factory):
    exercise_id = request.param
    subs = tmp_path_factory.mktemp(f"{exercise_id}-submissions")
    out = tmp_path_factory.mktemp(f"{exercise_id}-grading")
    first, last = solution_ids(exercise_id)[0], solution_ids(exercise_id)[-1]

    write(answered(exercise_id), subs / "correct" / f"{exercise_id}.ipynb")
    write(released(exercise_id), subs / "blank.ipynb")
    for m in sampled_mistakes(exercise_id):
        write(answered(exercise_id, {field(m, "replaces"): field(m, "code")}), subs / f"mistake-{field(m, 'id')}.ipynb")
    if exercise_id == PIPELINE_EXERCISE:
        (subs / "broken.ipynb").write_text('{"cells": [', encoding="utf-8")
        (subs / "missing").mkdir()
        # Loops forever after defining the first function: loses nothing but is flagged.
        write(answered(exercise_id, {first: "while True:\n    pass"}), subs / "looping.ipynb")
        # Kills its kernel in the last solution cell: keeps what was graded before, loses the rest.
        write(answered(exercise_id, {last: "import os\nos._exit(1)"}), subs / "crashing.ipynb")

    grade(exercise_id, subs, out, timeout=PIPELINE_TIMEOUT if exercise_id == PIPELINE_EXERCISE else TIMEOUT,
          progress=False)
    with open(out / "grades.csv", newline="", encoding="utf-8") as fh:
        rows = {row["student"]: row for row in csv.DictReader(fh)}
    return exercise_id, out, rows, subs


def test_manually_graded_answers_are_marked_for_a_person(batch):
    exercise_id, _, rows, _ = batch
    manual = any(nbgrader_meta(c).get("grade") and nbgrader_meta(c).get("solution") for c in read_source(exercise_id).cells)
    assert rows["correct"]["needs_manual_grading"] == ("yes" if manual else "no")


def test_every_student_has_a_row_and_feedback(batch):
    exercise_id, out, rows, _ = batch
    pipeline = {"broken", "missing", "looping", "crashing"} if exercise_id == PIPELINE_EXERCISE else set()
    expected = {"correct", "blank"} | pipeline | {f"mistake-{field(m, 'id')}" for m in sampled_mistakes(exercise_id)}
    assert set(rows) == expected
    for student in expected:
        assert (out / "feedback" / f"{student}.html").stat().st_size > 0


def test_reference_gets_full_marks(batch):
    exercise_id, _, rows, _ = batch
    every_cell = sum(float(nbgrader_meta(c)["points"]) for c in read_source(exercise_id).cells if nbgrader_meta(c).get("grade"))
    assert float(rows["correct"]["total"]) == sum(points(exercise_id).values())
    assert float(rows["correct"]["max_total"]) == every_cell
    assert rows["correct"]["reasons"] == ""


def test_blank_notebook_gets_nothing(batch):
    _, _, rows, _ = batch
    assert float(rows["blank"]["total"]) == 0


def pipeline_batch(batch):
    if batch[0] != PIPELINE_EXERCISE:
        pytest.skip(f"the grader's own failure cases are graded once, with {PIPELINE_EXERCISE}")
    return batch


def test_unreadable_and_missing_notebooks_get_zero_with_a_reason(batch):
    _, _, rows, _ = pipeline_batch(batch)
    assert float(rows["broken"]["total"]) == 0 and "not valid notebook JSON" in rows["broken"]["reasons"]
    assert float(rows["missing"]["total"]) == 0 and "missing notebook" in rows["missing"]["reasons"]


def test_infinite_loop_is_interrupted_and_flagged(batch):
    exercise_id, _, rows, _ = pipeline_batch(batch)
    assert float(rows["looping"]["total"]) == sum(points(exercise_id).values())
    assert "timeout in" in rows["looping"]["reasons"]


def test_kernel_death_costs_only_what_came_after(batch):
    exercise_id, _, rows, _ = pipeline_batch(batch)
    pts = points(exercise_id)
    cells = read_source(exercise_id).cells
    last = max(i for i, c in enumerate(cells) if nbgrader_meta(c).get("solution") and c.cell_type == "code")
    tests_after = [nbgrader_meta(c)["grade_id"] for c in cells[last:] if nbgrader_meta(c).get("grade_id") in pts]
    assert tests_after, "the last solution cell should be followed by its tests"
    assert float(rows["crashing"]["total"]) == sum(pts.values()) - sum(pts[g] for g in tests_after)
    assert "kernel died" in rows["crashing"]["reasons"]


def test_each_catalogued_mistake_loses_points_where_expected(batch):
    exercise_id, _, rows, _ = batch
    pts = points(exercise_id)
    for m in sampled_mistakes(exercise_id):
        row = rows[f"mistake-{field(m, 'id')}"]
        expect = field(m, "expect")
        expect = [expect] if isinstance(expect, str) else list(expect)
        assert float(row["total"]) < sum(pts.values()), f"{field(m, 'id')} lost no point"
        for grade_id in expect:
            assert float(row[grade_id]) == 0, f"{field(m, 'id')} kept the points of {grade_id}"
        assert float(row["total"]) == sum(v for g, v in pts.items() if float(row[g]) > 0)


def test_regrading_resumes_and_gives_the_same_csv(batch):
    exercise_id, out, _, subs = pipeline_batch(batch)
    first = (out / "grades.csv").read_bytes()
    autograded = sorted((out / "course" / "autograded").rglob("*.ipynb"))
    stamps = [p.stat().st_mtime_ns for p in autograded]
    grade(exercise_id, subs, out, timeout=PIPELINE_TIMEOUT, progress=False)
    assert (out / "grades.csv").read_bytes() == first
    assert [p.stat().st_mtime_ns for p in autograded] == stamps, "a second run graded finished submissions again"
    grade(exercise_id, subs, out, timeout=PIPELINE_TIMEOUT, jobs=1, force=True, progress=False)
    assert (out / "grades.csv").read_bytes() == first, "one worker and two workers gave different grades"
    assert [p.stat().st_mtime_ns for p in autograded] != stamps


def test_grading_works_without_an_activated_environment(tmp_path):
    """nbgrader creates a gradebook by running `alembic` from PATH: the CLI must find this
    environment's even when it is called by its full path with a bare PATH."""
    (tmp_path / "none").mkdir()
    cli = Path(sys.executable).with_name("cnnbook")
    proc = subprocess.run([str(cli), "grade", PIPELINE_EXERCISE, str(tmp_path / "none"), "--out", str(tmp_path / "out"),
                           "--no-progress"], env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (tmp_path / "out" / "grades.csv").read_text().startswith("student")
