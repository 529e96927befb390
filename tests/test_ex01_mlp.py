"""ex01-mlp: the reference passes every test, the hidden checks catch every catalogued mistake
with a message that points at it, a blank student notebook fails everything, and the checks
are deterministic and NumPy-only where they should be."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

from catalogue.ex01_mlp import MISTAKES
from cnnbook.checks import _common
from cnnbook.checks import ex01_mlp as checks
from cnnbook.notebooks import code_cells, nbgrader_meta, read_source, run_test_cells, source_namespace

EXERCISE = "ex01-mlp"
FUNCTIONS = ["linear", "relu", "sigmoid", "mlp_forward"]
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
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert not re.search(r"^\s*[%!]", cell.source, re.M), "no IPython magics"
        if not nbgrader_meta(cell).get("grade"):
            assert "torch" not in cell.source, "the student notebook's code must not import torch"
        if nbgrader_meta(cell).get("grade"):
            public = cell.source.split("### BEGIN HIDDEN TESTS")[0]
            assert "torch" not in public and "cnnbook" not in public, "public tests must run with NumPy alone"
            assert f"hidden.check_{nbgrader_meta(cell)['grade_id'][5:]}(" in cell.source


def test_reference_passes_every_test_cell(reference):
    results = run_test_cells(EXERCISE, reference, hidden=True)
    assert list(results) == [f"test_{name}" for name in FUNCTIONS]
    failed = {k: f"{type(v).__name__}: {v}" for k, v in results.items() if v is not None}
    assert not failed


@pytest.mark.parametrize("name", FUNCTIONS)
def test_reference_passes_hidden_check(reference, name):
    getattr(checks, f"check_{name}")(reference[name])


def _student_frame_in(err: BaseException, function: str) -> bool:
    """Whether the error was raised while the student's ``function`` (the override) was running."""
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
    """Run the chosen test cells (hidden tests included); grade_id -> the error or None."""
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

    check = getattr(checks, f"check_{mistake.replaces}")
    with pytest.raises(AssertionError) as info:
        check(namespace[mistake.replaces])
    message = str(info.value)
    assert mistake.replaces in message, message
    if mistake.hint:
        assert mistake.hint.lower() in message.lower(), f"expected {mistake.hint!r} in: {message}"


def test_catalogue_is_well_formed():
    ids = [m.id for m in MISTAKES]
    assert len(ids) == len(set(ids)) >= 10
    for name in FUNCTIONS:
        assert sum(m.replaces == name for m in MISTAKES) >= 3, f"fewer than 3 catalogued mistakes for {name}"
    for m in MISTAKES:
        assert m.replaces in FUNCTIONS
        assert re.search(rf"^def {m.replaces}\(", m.code, re.M), m.id
        assert all(g in {f"test_{name}" for name in FUNCTIONS} for g in m.expect), m.id
        assert f"test_{m.replaces}" in m.expect, m.id
        assert m.description and m.hint, m.id


def _student_namespace():
    """The source run with every solution body replaced by ``raise NotImplementedError()``,
    as nbgrader releases it."""
    namespace: dict = {"__name__": "student_ex01_mlp"}
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


def test_sigmoid_check_accepts_other_stable_formulas():
    """Stable formulas other than the reference's pass; the grader is not tuned to one answer."""
    def sigmoid_tanh(z):
        return 0.5 * (1.0 + np.tanh(0.5 * z))

    def sigmoid_masks(z):
        out = np.empty_like(z, dtype=float)
        pos = z >= 0
        out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
        ez = np.exp(z[~pos])
        out[~pos] = ez / (1.0 + ez)
        return out

    def sigmoid_clipped(z):
        return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))

    for fn in (sigmoid_tanh, sigmoid_masks, sigmoid_clipped):
        checks.check_sigmoid(fn)


def test_linear_and_mlp_checks_accept_other_formulations(reference):
    checks.check_linear(lambda X, W, b: np.einsum("nd,hd->nh", X, W) + b)
    checks.check_linear(lambda X, W, b: (W @ X.T).T + b)
    checks.check_relu(lambda z: z * (z > 0))
    checks.check_relu(lambda z: np.where(z > 0, z, 0.0))

    def mlp_forward(X, W, b, V, c, g=reference["relu"], o=None):
        h = g(np.dot(X, W.T) + b)
        y = np.dot(h, V.T) + c
        return (y if o is None else o(y)), h

    checks.check_mlp_forward(mlp_forward)


def test_library_shortcuts_are_refused():
    def relu(z):
        import torch

        return torch.relu(torch.from_numpy(z)).numpy()

    with pytest.raises(AssertionError, match=r"must be implemented with NumPy; it called .*torch"):
        checks.check_relu(relu)


def test_checks_are_deterministic(reference):
    """The checks call the student's functions with the same inputs on every run (the grader may
    record the answers in the sandbox and compute the verdict elsewhere)."""
    def record(fn, log):
        def wrapper(*args, **kwargs):
            log.append([np.asarray(a).tobytes() for a in args if isinstance(a, np.ndarray)])
            return fn(*args, **kwargs)
        return wrapper

    for name in FUNCTIONS:
        runs = []
        for _ in range(2):
            log: list = []
            getattr(checks, f"check_{name}")(record(reference[name], log))
            runs.append(log)
        assert runs[0] == runs[1] and runs[0], name


def test_checks_are_fast(reference):
    checks._torch()  # the import of torch is not the checks' cost
    start = time.perf_counter()
    for name in FUNCTIONS:
        getattr(checks, f"check_{name}")(reference[name])
    assert time.perf_counter() - start < 3
