"""ex03-sgd: the reference passes every test, the hidden checks catch every catalogued mistake
with a message that points at it, a blank student notebook fails everything, and the checks are
deterministic and leave the global random state alone."""

from __future__ import annotations

import re

import numpy as np
import pytest

from catalogue.ex03_sgd import MISTAKES
from cnnbook.checks import _common
from cnnbook.checks import ex03_sgd as checks
from cnnbook.notebooks import code_cells, nbgrader_meta, read_source, run_test_cells, source_namespace

EXERCISE = "ex03-sgd"
FUNCTIONS = ["minibatches", "sgd_step", "fit_linear_regression_sgd"]
POINTS = {"test_minibatches": 2, "test_sgd_step": 2, "test_fit_linear_regression_sgd": 4}
SOLUTION_BODY = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION[^\n]*\n?", re.S | re.M)


@pytest.fixture(scope="module")
def reference():
    return source_namespace(EXERCISE)


def test_source_cells_follow_the_conventions():
    nb = read_source(EXERCISE)
    solutions = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c).get("solution")]
    tests = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c).get("grade")]
    assert solutions == FUNCTIONS
    assert tests == [f"test_{name}" for name in FUNCTIONS]
    assert {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c)["points"] for c in nb.cells
            if nbgrader_meta(c).get("grade")} == POINTS
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert not re.search(r"^\s*[%!]", cell.source, re.M), "no IPython magics"
        if not nbgrader_meta(cell).get("grade"):
            assert "torch" not in cell.source, "the student notebook's code must not import torch"
        if nbgrader_meta(cell).get("grade"):
            public = cell.source.split("### BEGIN HIDDEN TESTS")[0]
            assert "torch" not in public and "cnnbook" not in public, "public tests must run with NumPy alone"


def test_reference_passes_every_test_cell(reference):
    results = run_test_cells(EXERCISE, reference, hidden=True)
    assert list(results) == [f"test_{name}" for name in FUNCTIONS]
    failed = {k: f"{type(v).__name__}: {v}" for k, v in results.items() if v is not None}
    assert not failed


@pytest.mark.parametrize("name", FUNCTIONS)
def test_reference_passes_hidden_check(reference, name):
    getattr(checks, f"check_{name}")(reference[name])


def _student_frame_in(err: BaseException, function: str) -> bool:
    tb = err.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename.endswith(":override>") and code.co_name == function:
            return True
        tb = tb.tb_next
    return False


def _helpful(err: BaseException, mistake) -> bool:
    """An assertion names the function it tests; any other error was raised inside the student's
    own function, so the traceback the student sees points at their line."""
    if isinstance(err, AssertionError):
        return bool(str(err).strip()) and any(name in str(err) for name in FUNCTIONS)
    return _student_frame_in(err, mistake.replaces)


def _run_cells(namespace: dict, grade_ids) -> dict:
    results = {}
    for cell in read_source(EXERCISE).cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in grade_ids and nbgrader_meta(cell).get("grade"):
            try:
                exec(compile(cell.source, f"<{EXERCISE}:{grade_id}>", "exec"), namespace)
            except Exception as err:
                results[grade_id] = err
            else:
                results[grade_id] = None
    return results


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.id for m in MISTAKES])
def test_mistake_fails_with_a_helpful_message(mistake):
    """The expected test cells fail helpfully, and the hidden check of the replaced function
    fails on its own with the diagnosis of the catalogue (``hint``)."""
    state = np.random.get_state()
    namespace = source_namespace(EXERCISE, overrides=mistake.code)
    results = _run_cells(namespace, mistake.expect)
    for grade_id in mistake.expect:
        err = results[grade_id]
        assert err is not None, f"{mistake.id}: {grade_id} passed"
        assert _helpful(err, mistake), f"{mistake.id}: unhelpful failure of {grade_id}: {type(err).__name__}: {err}"

    err = results[f"test_{mistake.replaces}"]
    if not isinstance(err, _common.CheckFailure):  # the public tests caught it first: run the hidden check alone
        check = getattr(checks, f"check_{mistake.replaces}")
        with pytest.raises(AssertionError) as info:
            check(namespace[mistake.replaces])
        err = info.value
    message = str(err)
    assert mistake.replaces in message, message
    if mistake.hint:
        assert mistake.hint.lower() in message.lower(), f"expected {mistake.hint!r} in: {message}"
    np.random.set_state(state)


def test_catalogue_is_well_formed():
    ids = [m.id for m in MISTAKES]
    assert len(ids) == len(set(ids)) >= 15
    for m in MISTAKES:
        assert m.replaces in FUNCTIONS
        assert re.search(rf"^def {m.replaces}\(", m.code, re.M), m.id
        assert all(g in {f"test_{name}" for name in FUNCTIONS} for g in m.expect), m.id
        assert f"test_{m.replaces}" in m.expect, m.id
        assert m.description
    assert {m.replaces for m in MISTAKES} == set(FUNCTIONS)


def _student_namespace():
    """The source run with every solution body replaced by ``raise NotImplementedError()``,
    as nbgrader releases it."""
    namespace: dict = {"__name__": "student_ex03_sgd"}
    for grade_id, source in code_cells(read_source(EXERCISE)):
        source = SOLUTION_BODY.sub(lambda m: f"{m.group(1)}raise NotImplementedError()\n", source)
        exec(compile(source, f"<student:{grade_id}>", "exec"), namespace)
    return namespace


def test_blank_student_version_fails_everything():
    namespace = _student_namespace()
    for name in FUNCTIONS:
        with pytest.raises(AssertionError, match="not implemented yet"):
            getattr(checks, f"check_{name}")(namespace[name])
    results = run_test_cells(EXERCISE, namespace, hidden=True)
    assert all(err is not None for err in results.values()), results


def test_checks_are_deterministic():
    """The same wrong answer gets the same message twice (the grader may record answers in one
    place and compute the verdict in another)."""
    by_id = {m.id: m for m in MISTAKES}
    for mistake_id in ("minibatches_drop_last", "sgd_step_decay_wrong_sign", "fit_penalty_gradient_not_doubled"):
        mistake = by_id[mistake_id]
        namespace = source_namespace(EXERCISE, overrides=mistake.code)
        messages = []
        for _ in range(2):
            with pytest.raises(AssertionError) as info:
                getattr(checks, f"check_{mistake.replaces}")(namespace[mistake.replaces])
            messages.append(str(info.value))
        assert messages[0] == messages[1]
        assert "0x" not in messages[0], "no memory address in a message"


def test_global_random_state_is_left_alone(reference):
    np.random.seed(123)
    before = np.random.get_state()
    for name in FUNCTIONS:
        getattr(checks, f"check_{name}")(reference[name])
    after = np.random.get_state()
    assert np.array_equal(before[1], after[1]) and before[2] == after[2]


def test_global_random_state_is_restored_after_a_failure():
    """A student's code that reseeds the global state is failed, and the state put back."""
    mistake = {m.id: m for m in MISTAKES}["fit_global_seed"]
    namespace = source_namespace(EXERCISE, overrides=mistake.code)
    np.random.seed(7)
    before = np.random.get_state()
    with pytest.raises(AssertionError, match="global NumPy random state"):
        checks.check_fit_linear_regression_sgd(namespace["fit_linear_regression_sgd"])
    after = np.random.get_state()
    assert np.array_equal(before[1], after[1]) and before[2] == after[2]


def test_closed_form_helper_matches_the_checks_oracle(reference):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((50, 3)), rng.standard_normal(50)
    for lam in (0.0, 0.7):
        w, b = reference["ridge_closed_form"](X, y, lam)
        w_o, b_o = checks._ridge(X, y, lam)
        assert np.allclose(w, w_o, atol=1e-12) and abs(b - b_o) < 1e-12


def test_checks_are_fast(reference):
    import time

    import torch  # noqa: F401  (the import of torch is not the checks' cost)

    start = time.perf_counter()
    for name in FUNCTIONS:
        getattr(checks, f"check_{name}")(reference[name])
    assert time.perf_counter() - start < 5
