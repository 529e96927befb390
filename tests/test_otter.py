"""Otter from the same source: the master notebook, the autograder zip, and the same grades.

The fast tests read what ``cnnbook.otter`` generates for every exercise: the master notebook has
the questions and points of the nbgrader source, the zip holds the tests with otter's
all-or-nothing scoring, otter's student notebook holds no solution and no hidden test, and a
second build is byte for byte the first. The slow test grades one batch of ex06-conv
submissions with both engines (the reference, the blank notebook, a catalogued mistake, a broken
and a missing notebook) and compares the two grades.csv files; otter also grades a notebook that
loops, one that rewrites otter's test files while it is graded, one that patches otter's test
runner in its own process, and otter's own student notebook answered with the reference.
"""

from __future__ import annotations

import csv
import json
import shutil
import zipfile

import nbformat
import pytest
import yaml

from cnnbook import otter
from cnnbook.notebooks import exercise_ids, nbgrader_meta, read_source
from cnnbook.sandbox import layers
from submissions import answered, mistakes, reference_answers, released, write

IDS = exercise_ids()
EXERCISE = "ex06-conv"
TIMEOUT = 20  # seconds per cell: the batch has a notebook that loops forever


def source_questions(exercise_id):
    """grade_id -> (points, graded by a person) of every graded cell of the nbgrader source."""
    return {
        nbgrader_meta(c)["grade_id"]: (float(nbgrader_meta(c)["points"]),
                                       bool(nbgrader_meta(c).get("solution")) or c.cell_type != "code")
        for c in read_source(exercise_id).cells if nbgrader_meta(c).get("grade")
    }


def hidden_tests_in_source(exercise_id):
    return {nbgrader_meta(c)["grade_id"] for c in read_source(exercise_id).cells
            if nbgrader_meta(c).get("grade") and "### BEGIN HIDDEN TESTS" in c.source}


def master_blocks(nb):
    """question name -> (its config, the source of its test cells) from a master notebook."""
    blocks, name, in_tests = {}, None, False
    for cell in nb.cells:
        first = cell.source.split("\n", 1)[0].strip() if cell.cell_type == "raw" else ""
        if first == "# BEGIN QUESTION":
            config = yaml.safe_load(cell.source.split("\n", 1)[1])
            name = config["name"]
            blocks[name] = (config, [])
        elif first == "# BEGIN TESTS":
            in_tests = True
        elif first == "# END TESTS":
            in_tests = False
        elif in_tests:
            blocks[name][1].append(cell.source)
    return blocks


@pytest.mark.parametrize("exercise_id", IDS)
def test_master_notebook_has_the_questions_and_points_of_the_source(exercise_id):
    nb = otter.master_notebook(exercise_id)
    assert nb.cells[0].cell_type == "raw" and nb.cells[0].source.startswith("# ASSIGNMENT CONFIG")
    blocks = master_blocks(nb)
    found = {name: (float(config["points"]), bool(config.get("manual"))) for name, (config, _) in blocks.items()}
    assert found == source_questions(exercise_id)
    hidden = hidden_tests_in_source(exercise_id)
    for name, (config, tests) in blocks.items():
        if config.get("manual"):
            assert not tests, f"the written answer {name} has tests"
            continue
        assert config["all_or_nothing"] is True, f"{name} is not graded all-or-nothing like its nbgrader cell"
        assert [t.startswith("# HIDDEN") for t in tests] == [False] + ([True] if name in hidden else [])
    text = "\n".join(c.source for c in nb.cells)
    assert "### BEGIN SOLUTION" not in text and "### BEGIN HIDDEN TESTS" not in text


@pytest.mark.parametrize("exercise_id", [i for i in IDS if i.startswith("ex")])
def test_public_test_cases_pass_on_the_reference_solution(exercise_id, monkeypatch):
    """Every public otter test case, run as otter runs it (a function of the notebook's names),
    passes on the reference, and every hidden one asks only for names the notebook defines (the
    NumPy exercises: the labs' reference trains models; the grading test runs the hidden ones)."""
    import ast

    from cnnbook.notebooks import source_namespace
    from cnnbook.sandbox import ENV_VAR

    monkeypatch.setenv(ENV_VAR, "test")  # the check cell stands aside, as while grading
    namespace = source_namespace(exercise_id)
    for name, (config, tests) in master_blocks(otter.master_notebook(exercise_id)).items():
        for code in tests:
            if code.startswith("# HIDDEN"):
                function = ast.parse(code).body[0]
                assert {a.arg for a in function.args.args} <= set(namespace), f"{name}: hidden test asks for unknown names"
            else:
                exec(compile(code, f"<{exercise_id}:{name}>", "exec"), dict(namespace))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    build = tmp_path_factory.mktemp("otter-build")
    for exercise_id in IDS:
        otter.assign(exercise_id, build)
    return build


@pytest.mark.parametrize("exercise_id", IDS)
def test_autograder_zip_holds_the_tests_with_nbgraders_points(built, exercise_id):
    from otter.test_files import ExceptionTestFile
    from otter.test_files.abstract_test import TestCaseResult

    path = otter.autograder_zip(exercise_id, built)
    assert path.exists(), f"no autograder zip for {exercise_id}"
    hidden = hidden_tests_in_source(exercise_id)
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        module = exercise_id.replace("-", "_")
        assert {"otter_config.json", "environment.yml", "run_autograder", "setup.sh",
                f"files/cnnbook/checks/{module}.py"} <= names
        assert "numpy==" in zf.read("environment.yml").decode()
        for name, (points, manual) in source_questions(exercise_id).items():
            if manual:
                assert f"tests/{name}.py" not in names
                continue
            test = ExceptionTestFile.from_string(zf.read(f"tests/{name}.py").decode(), path=f"tests/{name}.py")
            assert test.name == name and test.all_or_nothing
            assert test.possible == pytest.approx(points)
            assert [tc.hidden for tc in test.test_cases] == [False] + ([True] if name in hidden else [])
            # otter's own scoring: any failing case costs the whole question, as a failing nbgrader cell does
            for passed in ([True] * len(test.test_cases), [True] + [False] * (len(test.test_cases) - 1), [False]):
                test.test_case_results = [TestCaseResult(tc, None, ok) for tc, ok in zip(test.test_cases, passed)]
                assert test.score == pytest.approx(points if all(passed) and len(passed) == len(test.test_cases) else 0)


@pytest.mark.parametrize("exercise_id", IDS)
def test_otter_student_notebook_has_no_solution_and_no_hidden_test(built, exercise_id):
    path = otter.build_dir(exercise_id, built) / "student" / f"{exercise_id}.ipynb"
    nb = nbformat.read(path, as_version=4)
    text = json.dumps(nb)  # cells and metadata, where otter keeps the public tests
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "cnnbook.checks", "HIDDEN"):
        assert marker not in text, f"otter's student notebook of {exercise_id} contains {marker!r}"
    for grade_id, answer in reference_answers(exercise_id).items():
        for line in answer.splitlines():
            line = line.strip()
            if len(line) >= 40 and not line.startswith(("def ", "class ", '"""', "#")) and line not in "\n".join(
                    c.source for c in released(exercise_id).cells):
                assert json.dumps(line)[1:-1] not in text, f"{grade_id}: {line!r} is in otter's student notebook"


def test_otter_build_is_the_same_every_time(built, tmp_path):
    again = otter.assign(EXERCISE, tmp_path)
    first = otter.build_dir(EXERCISE, built)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for rel in files:
        assert (first / rel).read_bytes() == (again / rel).read_bytes(), f"{rel} differs between two builds"


# ------------------------------------------------------------------------------------------
# Both engines on one batch

#: Rewrites otter's test files three ways while the notebook is graded: in place, by replacing
#: the folder, and by moving to a folder of fake tests. Each fake test gives full marks.
TAMPER = '''
import glob, os, shutil, tempfile
def _fake(name):
    return ("from otter.test_files import test_case\\nOK_FORMAT = False\\nname = %r\\npoints = 100\\n"
            "@test_case()\\ndef t():\\n    pass\\n" % name)
_names = [os.path.basename(p)[:-3] for p in glob.glob("tests/*.py")]
for _path in glob.glob("tests/*.py") + glob.glob("../source/tests/*.py"):
    try:
        with open(_path, "w") as _fh:
            _fh.write(_fake(os.path.basename(_path)[:-3]))
    except OSError:
        pass
for _how in (lambda: os.rename("tests", "tests-old"), lambda: shutil.rmtree("tests")):
    try:
        _how()
    except OSError:
        pass
for _folder in ("tests", os.path.join(tempfile.mkdtemp(), "tests")):
    try:
        os.makedirs(_folder, exist_ok=True)
        for _name in _names:
            with open(os.path.join(_folder, _name + ".py"), "w") as _fh:
                _fh.write(_fake(_name))
    except OSError:
        pass
os.chdir(os.path.dirname(_folder))
'''


#: Makes every otter test case pass, inside the notebook's own process.
PATCH_OTTER = '''
import otter.test_files.exception_test as _et
from otter.test_files.abstract_test import TestCaseResult as _Result
def _run(self, env):
    self.test_case_results = [_Result(test_case=tc, message="ok", passed=True) for tc in self.test_cases]
_et.ExceptionTestFile.run = _run
'''


def first_mistake(replaces):
    return next(m for m in mistakes(EXERCISE) if m.replaces == replaces)


@pytest.fixture(scope="module")
def both(built, tmp_path_factory):
    """grades.csv of one batch graded by nbgrader and by otter; otter also grades two more."""
    from cnnbook.grade import grade as nbgrader_grade

    common = tmp_path_factory.mktemp("common-submissions")
    write(answered(EXERCISE), common / "correct" / f"{EXERCISE}.ipynb")
    write(released(EXERCISE), common / "blank.ipynb")
    m = first_mistake("conv_output_size")  # fails three parts: the size is used by both forward passes
    write(answered(EXERCISE, {m.replaces: m.code}), common / f"mistake-{m.id}.ipynb")
    (common / "broken.ipynb").write_text('{"cells": [', encoding="utf-8")
    (common / "missing").mkdir()
    # Graded by otter only: nbgrader's own tests cover its loops, and the tamperer's grade is known.
    more = tmp_path_factory.mktemp("otter-submissions")
    shutil.copytree(common, more, dirs_exist_ok=True)
    wrong = first_mistake("conv2d_backward")
    write(answered(EXERCISE, {"fc_num_params": TAMPER, wrong.replaces: wrong.code}), more / "tamper.ipynb")
    write(answered(EXERCISE, {"fc_num_params": "while True:\n    pass"}), more / "looping.ipynb")
    patched = released(EXERCISE)
    for cell in patched.cells:
        if nbgrader_meta(cell).get("grade_id") == "fc_num_params":
            cell.source = PATCH_OTTER
    write(patched, more / "patched.ipynb")
    # Otter's own student notebook, answered: its solution cells keep the ids of the source's.
    student = nbformat.read(otter.build_dir(EXERCISE, built) / "student" / f"{EXERCISE}.ipynb", as_version=4)
    answers = {grade_id.replace("_", "-"): code for grade_id, code in reference_answers(EXERCISE).items()}
    for cell in student.cells:
        cell.source = answers.get(cell.get("id"), cell.source)
    write(student, more / "otter-student" / f"{EXERCISE}.ipynb")

    rows = {}
    for engine in ("nbgrader", "otter"):
        out = tmp_path_factory.mktemp(f"{engine}-grading")
        if engine == "otter":
            otter.grade(EXERCISE, more, out, timeout=TIMEOUT, jobs=2, progress=False, build=built)
        else:
            nbgrader_grade(EXERCISE, common, out, timeout=TIMEOUT, jobs=2, progress=False)
        with open(out / "grades.csv", newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            rows[engine] = (reader.fieldnames, {row["student"]: row for row in reader})
    return rows


def test_both_engines_give_the_same_grades(both):
    (nb_columns, nb_rows), (ot_columns, ot_rows) = both["nbgrader"], both["otter"]
    assert ot_columns == nb_columns
    assert set(ot_rows) == set(nb_rows) | {"tamper", "looping", "patched", "otter-student"}
    scored = [c for c in nb_columns if c not in ("student", "needs_manual_grading", "reasons")]
    for student, row in nb_rows.items():
        got = {c: float(ot_rows[student][c]) for c in scored}
        assert got == {c: float(row[c]) for c in scored}, f"{student}: otter and nbgrader disagree"
    full = float(nb_rows["correct"]["max_total"])
    assert float(ot_rows["correct"]["total"]) == full and ot_rows["correct"]["reasons"] == ""
    assert float(ot_rows["blank"]["total"]) == 0
    assert all(float(row["total"]) < full for s, row in ot_rows.items() if s.startswith("mistake-"))


def test_otters_own_student_notebook_is_graded_the_same(both):
    _, rows = both["otter"]
    row = rows["otter-student"]
    assert float(row["total"]) == float(row["max_total"]) and row["reasons"] == ""


def test_otter_flags_unreadable_and_missing_notebooks(both):
    _, rows = both["otter"]
    assert float(rows["broken"]["total"]) == 0 and "not valid notebook JSON" in rows["broken"]["reasons"]
    assert float(rows["missing"]["total"]) == 0 and "missing notebook" in rows["missing"]["reasons"]


def test_otter_interrupts_a_loop_and_keeps_the_rest(both):
    _, rows = both["otter"]
    assert float(rows["looping"]["total"]) == float(rows["looping"]["max_total"])
    assert "timeout in fc_num_params" in rows["looping"]["reasons"]


def test_rewriting_otters_tests_earns_nothing(both):
    _, rows = both["otter"]
    row = rows["tamper"]
    backward = source_questions(EXERCISE)["test_conv2d_backward"][0]
    assert float(row["test_conv2d_backward"]) == 0, "the fake tests gave the wrong backward pass its points"
    assert float(row["total"]) <= float(row["max_total"]) - backward
    if layers().separate_user or layers().bubblewrap:
        # The tests stayed out of reach, so otter's own verdicts were honest: every other part scores.
        assert float(row["total"]) == float(row["max_total"]) - backward, row["reasons"]


def test_patching_otter_in_the_notebook_earns_nothing(both):
    _, rows = both["otter"]
    row = rows["patched"]
    assert float(row["total"]) == 0
    assert "tampered tests or assertion helpers" in row["reasons"]
