"""lab08-lenet: the reference passes every test, the hidden checks catch every catalogued mistake
with a message that points at it, and a blank student notebook fails everything.

The lab's own training run (Part 4) is left out here: it takes about a minute. The accuracy bar
is exercised on a small subset (one epoch on 1,000 digits); the full bar is the grader's job.
"""

from __future__ import annotations

import re

import pytest

from catalogue.lab08_lenet import MISTAKES
from cnnbook.checks import _common
from cnnbook.checks import lab08_lenet as checks
from cnnbook.notebooks import code_cells, nbgrader_meta, read_source

LAB = "lab08-lenet"
FUNCTIONS = ["LeNet5", "train_one_epoch", "evaluate"]
TESTS = [f"test_{name}" for name in FUNCTIONS] + ["test_accuracy"]
SOLUTION_BODY = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION[^\n]*\n?", re.S | re.M)


def lab_namespace(overrides: str | None = None, *, blank: bool = False) -> dict:
    """The lab's first cell (imports, device) and its solution cells run as plain Python; the data
    preview and the training run are skipped. ``blank`` replaces every solution body with
    ``raise NotImplementedError()``, as nbgrader releases it."""
    nb = read_source(LAB)
    solutions = {nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c).get("solution")}
    cells = code_cells(nb)
    namespace: dict = {"__name__": "lab08_lenet_source"}
    exec(compile(cells[0][1], f"<{LAB}:imports>", "exec"), namespace)
    for grade_id, source in cells:
        if grade_id in solutions:
            if blank:
                source = SOLUTION_BODY.sub(lambda m: f"{m.group(1)}raise NotImplementedError()\n", source)
            exec(compile(source, f"<{LAB}:{grade_id}>", "exec"), namespace)
    if overrides:
        exec(compile(overrides, f"<{LAB}:override>", "exec"), namespace)
    return namespace


def run_cells(namespace: dict, grade_ids, *, hidden: bool = True) -> dict:
    """Run the chosen test cells; grade_id -> the error or None."""
    from cnnbook.notebooks import strip_hidden

    results = {}
    for cell in read_source(LAB).cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in grade_ids and nbgrader_meta(cell).get("grade"):
            source = cell.source if hidden else strip_hidden(cell.source)
            try:
                exec(compile(source, f"<{LAB}:{grade_id}>", "exec"), namespace)
            except Exception as err:
                results[grade_id] = err
            else:
                results[grade_id] = None
    return results


@pytest.fixture(scope="module")
def reference():
    return lab_namespace()


def test_source_cells_follow_the_conventions():
    nb = read_source(LAB)
    solutions = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c).get("solution")]
    tests = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c).get("grade")]
    assert solutions == FUNCTIONS
    assert tests == TESTS
    assert sum(float(nbgrader_meta(c)["points"]) for c in nb.cells if nbgrader_meta(c).get("grade")) == 10
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert not re.search(r"^\s*[%!]", cell.source, re.M), "no IPython magics"
        assert ".cuda()" not in cell.source, "nothing may assume CUDA: use .to(device)"
        if nbgrader_meta(cell).get("grade"):
            public = cell.source.split("### BEGIN HIDDEN TESTS")[0]
            assert "cnnbook.checks" not in public
            assert f"from cnnbook.checks import lab08_lenet as hidden" in cell.source


def test_the_lab_picks_the_device_and_prints_it():
    first = code_cells(read_source(LAB))[0][1]
    assert "device = cnnbook.device()" in first and 'print("device:", device)' in first


def test_test_cells_leave_no_value_behind():
    """nbgrader reads a number shown by a test cell as its (partial) score: every cell must end in a
    statement, not in an expression with a value."""
    import ast

    for cell in read_source(LAB).cells:
        if nbgrader_meta(cell).get("grade"):
            last = ast.parse(cell.source).body[-1]
            assert not isinstance(last, ast.Expr) or isinstance(getattr(last, "value", None), ast.Call) and \
                getattr(last.value.func, "attr", "").startswith("check_"), nbgrader_meta(cell)["grade_id"]


def test_reference_passes_every_test_cell_but_the_training_run(reference):
    results = run_cells(reference, TESTS[:-1])
    failed = {k: f"{type(v).__name__}: {v}" for k, v in results.items() if v is not None}
    assert list(results) == TESTS[:-1] and not failed


@pytest.mark.parametrize("name", FUNCTIONS)
def test_reference_passes_hidden_check(reference, name):
    getattr(checks, f"check_{name}")(reference[name])


def test_accuracy_check_on_a_small_subset(reference):
    report = {}
    result = checks.check_accuracy(reference["LeNet5"], reference["train_one_epoch"], reference["evaluate"],
                                   epochs=1, n_train=1000, bar=0.5, report=report)
    assert result is None, "a value left in a test cell would be read by nbgrader as a partial score"
    assert 0.5 <= report["accuracy"] <= 1
    with pytest.raises(AssertionError, match=r"the bar is 99%") as info:
        checks.check_accuracy(reference["LeNet5"], reference["train_one_epoch"], reference["evaluate"],
                              epochs=1, n_train=200, bar=0.99)
    assert "train_one_epoch" in str(info.value)


def test_accuracy_check_restores_the_notebook_state(reference):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    threads = torch.get_num_threads()
    checks.check_LeNet5(reference["LeNet5"])
    assert torch.equal(torch.rand(3), expected), "a check must not consume the notebook's random numbers"
    assert torch.get_num_threads() == threads


def test_accuracy_check_catches_a_broken_training_loop(reference):
    broken = lab_namespace(next(m for m in MISTAKES if m.id == "step_before_backward").code)
    with pytest.raises(AssertionError, match="reached a test accuracy of"):
        checks.check_accuracy(broken["LeNet5"], broken["train_one_epoch"], broken["evaluate"],
                              epochs=1, n_train=300, bar=0.5)


def _from_student(err: BaseException) -> bool:
    """Whether the error was raised inside the student's code (the override)."""
    tb = err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(":override>"):
            return True
        tb = tb.tb_next
    return False


def _helpful(err: BaseException) -> bool:
    if isinstance(err, AssertionError):
        return bool(str(err).strip()) and any(name in str(err) for name in FUNCTIONS + ["LeNet-5", "loss", "model"])
    return _from_student(err)


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.id for m in MISTAKES])
def test_mistake_fails_with_a_helpful_message(mistake):
    namespace = lab_namespace(mistake.code)
    results = run_cells(namespace, mistake.expect)
    for grade_id in mistake.expect:
        err = results[grade_id]
        assert err is not None, f"{mistake.id}: {grade_id} passed"
        assert _helpful(err), f"{mistake.id}: unhelpful failure of {grade_id}: {type(err).__name__}: {err}"
    err = results[f"test_{mistake.replaces}"]
    if not isinstance(err, _common.CheckFailure):  # a public test caught it first: run the hidden check alone
        with pytest.raises(AssertionError) as info:
            getattr(checks, f"check_{mistake.replaces}")(namespace[mistake.replaces])
        err = info.value
    message = str(err)
    assert mistake.replaces in message, message
    if mistake.hint:
        assert mistake.hint.lower() in message.lower(), f"expected {mistake.hint!r} in: {message}"


def test_catalogue_is_well_formed():
    ids = [m.id for m in MISTAKES]
    assert len(ids) == len(set(ids)) >= 20
    for m in MISTAKES:
        assert m.replaces in FUNCTIONS
        assert re.search(rf"^(def|class) {m.replaces}\(", m.code, re.M), m.id
        assert all(g in TESTS for g in m.expect), m.id
        assert f"test_{m.replaces}" in m.expect, m.id
        assert m.description
    assert {m.replaces for m in MISTAKES} == set(FUNCTIONS)


def test_blank_student_version_fails_everything():
    namespace = lab_namespace(blank=True)
    for name in FUNCTIONS:
        with pytest.raises(AssertionError, match="not implemented yet"):
            getattr(checks, f"check_{name}")(namespace[name])
    with pytest.raises(AssertionError, match="not implemented yet"):
        checks.check_accuracy(namespace["LeNet5"], namespace["train_one_epoch"], namespace["evaluate"],
                              epochs=1, n_train=100)
    results = run_cells(namespace, TESTS)
    assert all(err is not None for err in results.values()), results
