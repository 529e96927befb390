"""ex04-backprop: the reference passes every test, the hidden checks catch every catalogued
mistake with a message that points at it, a blank student notebook fails everything, and the
checks' oracle (torch autograd) is what the chapter says it is."""

from __future__ import annotations

import re

import numpy as np
import pytest

from catalogue.ex04_backprop import MISTAKES
from cnnbook.checks import _common
from cnnbook.checks import ex04_backprop as checks
from cnnbook.notebooks import code_cells, nbgrader_meta, read_source, run_test_cells, source_namespace

EXERCISE = "ex04-backprop"
FUNCTIONS = ["mlp_loss_and_grads", "numerical_gradient", "relative_error"]
POINTS = {"test_mlp_loss_and_grads": 6, "test_numerical_gradient": 3, "test_relative_error": 1}
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
    namespace: dict = {"__name__": "student_ex04_backprop"}
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
    """The same wrong answer gets the same message twice."""
    by_id = {m.id: m for m in MISTAKES}
    for mistake_id in ("mlp_relu_derivative_one_at_zero", "numerical_forward_difference", "relative_error_global_ratio"):
        mistake = by_id[mistake_id]
        namespace = source_namespace(EXERCISE, overrides=mistake.code)
        messages = []
        for _ in range(2):
            with pytest.raises(AssertionError) as info:
                getattr(checks, f"check_{mistake.replaces}")(namespace[mistake.replaces])
            messages.append(str(info.value))
        assert messages[0] == messages[1]
        assert "0x" not in messages[0], "no memory address in a message"


def test_kink_case_has_exact_zeros():
    """The case that tells relu'(0) = 0 from relu'(0) = 1 really has pre-activations at 0, and the
    oracle takes the derivative there to be 0."""
    import torch

    X, y, params = checks._kink_case("mse")
    Z = X @ params["W"].T + params["b"]
    assert np.count_nonzero(Z == 0) >= 3
    z = torch.zeros(3, requires_grad=True)
    torch.relu(z).sum().backward()
    assert torch.equal(z.grad, torch.zeros(3))


def test_oracle_matches_the_chapter_formulas():
    """torch autograd agrees with the matrix formulas of chapter 4 (written out here once more)."""
    rng = np.random.default_rng(0)
    for loss in ("mse", "ce"):
        X, y, params = checks._draw(rng, 6, 3, 5, 4, loss)
        _, expected = checks._autograd(X, y, params, loss)
        formulas = checks._backprop(X, y, params, loss)
        for name in checks.NAMES:
            assert checks.rel_error(formulas[name], expected[name]) < 1e-12


def test_guard_catches_autograd_in_the_student_code():
    def mlp_loss_and_grads(X, y, params, loss="mse"):
        import torch

        t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
        O = torch.relu(torch.tensor(X) @ t["W"].T + t["b"]) @ t["V"].T + t["c"]
        L = ((O - torch.tensor(y)) ** 2).sum(1).mean() if loss == "mse" else torch.nn.functional.cross_entropy(O, torch.tensor(y))
        L.backward()
        return L.item(), {k: v.grad.numpy() for k, v in t.items()}

    with pytest.raises(AssertionError, match="must be implemented with NumPy"):
        checks.check_mlp_loss_and_grads(mlp_loss_and_grads)


def test_checks_are_fast(reference):
    import time

    import torch  # noqa: F401  (the import of torch is not the checks' cost)

    start = time.perf_counter()
    for name in FUNCTIONS:
        getattr(checks, f"check_{name}")(reference[name])
    assert time.perf_counter() - start < 5
