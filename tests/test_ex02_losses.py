"""ex02-losses: the reference passes every test, the hidden checks catch every catalogued mistake
with a message that points at it, a blank student notebook fails everything, other stable
formulations are accepted, and the written answer is a manually graded cell whose mark scheme
never reaches the students."""

from __future__ import annotations

import re
import time

import nbformat
import numpy as np
import pytest

from catalogue.ex02_losses import MISTAKES
from cnnbook.checks import ex02_losses as checks
from cnnbook.notebooks import EXERCISES, code_cells, nbgrader_meta, read_source, run_test_cells, source_namespace

EXERCISE = "ex02-losses"
FUNCTIONS = ["gaussian_nll", "mse_loss", "bce_with_logits", "softmax", "log_softmax", "cross_entropy", "l2_penalty"]
WRITTEN = "map_lambda"
SOLUTION_BODY = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION[^\n]*\n?", re.S | re.M)


@pytest.fixture(scope="module")
def reference():
    return source_namespace(EXERCISE)


def test_source_cells_follow_the_conventions():
    nb = read_source(EXERCISE)
    solutions = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c).get("solution")]
    tests = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c).get("grade")]
    assert solutions == FUNCTIONS + [WRITTEN]
    assert tests == [f"test_{name}" for name in FUNCTIONS] + [WRITTEN]
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


def test_written_answer_is_a_manually_graded_markdown_cell():
    cells = [c for c in read_source(EXERCISE).cells if nbgrader_meta(c).get("grade_id") == WRITTEN]
    assert len(cells) == 1
    cell = cells[0]
    assert cell.cell_type == "markdown"
    assert nbgrader_meta(cell) == {"grade": True, "grade_id": WRITTEN, "locked": False, "points": 2,
                                   "schema_version": 3, "solution": True, "task": False}
    assert SOLUTION_BODY.search(cell.source), "the reference answer must sit between BEGIN/END SOLUTION"
    assert r"\frac{\sigma^2}{\tau^2}" in cell.source


def test_release_replaces_the_reference_answer():
    nb = nbformat.read(EXERCISES / EXERCISE / f"{EXERCISE}.ipynb", as_version=4)
    cells = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") == WRITTEN]
    assert len(cells) == 1 and cells[0].cell_type == "markdown"
    assert cells[0].source.strip() == "YOUR ANSWER HERE"
    text = "\n".join(c.source for c in nb.cells)
    assert "Mark scheme" not in text and "sigma^2}{m" not in text


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
        if grade_id in grade_ids and nbgrader_meta(cell).get("grade") and cell.cell_type == "code":
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
    assert len(ids) == len(set(ids)) >= 15
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
    namespace: dict = {"__name__": "student_ex02_losses"}
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


def test_checks_accept_other_stable_formulations():
    """Correct answers written differently from the reference pass: the checks test the
    contract, not one way of writing it."""
    checks.check_gaussian_nll(lambda y_pred, y, sigma=1.0: float(
        np.log(sigma) + 0.5 * np.log(2 * np.pi) + np.mean((y - y_pred) ** 2) / (2 * sigma ** 2)))
    checks.check_mse_loss(lambda y_pred, y: np.mean(np.square(y - y_pred)))          # a NumPy float
    checks.check_bce_with_logits(lambda z, y: np.mean(np.logaddexp(0.0, z) - z * y))   # cancellation ~1e-12
    checks.check_bce_with_logits(lambda z, y: np.mean(
        np.where(z >= 0, np.log1p(np.exp(-np.abs(z))) + (1 - y) * z,
                 np.log1p(np.exp(-np.abs(z))) - y * z)))

    def log_softmax(Z):
        m = Z.max(axis=1, keepdims=True)
        return Z - (m + np.log(np.sum(np.exp(Z - m), axis=1, keepdims=True)))     # z - logsumexp, rounded once more

    checks.check_log_softmax(log_softmax)
    checks.check_softmax(lambda Z: np.exp(log_softmax(Z)))
    checks.check_cross_entropy(lambda logits, labels: -np.mean(
        np.take_along_axis(log_softmax(logits), labels[:, None].astype(np.int64), axis=1)))
    checks.check_cross_entropy(lambda logits, labels: float(
        -np.sum(np.eye(logits.shape[1])[labels] * log_softmax(logits)) / len(labels)))
    checks.check_l2_penalty(lambda params, lam: lam * sum(float(p.ravel() @ p.ravel()) for p in params))
    checks.check_l2_penalty(lambda params, lam: lam * float(sum(np.linalg.norm(p) ** 2 for p in params)))


def test_library_shortcuts_are_refused():
    def softmax(Z):
        import torch

        return torch.softmax(torch.from_numpy(Z), dim=1).numpy()

    with pytest.raises(AssertionError, match=r"must be implemented with NumPy; it called .*torch"):
        checks.check_softmax(softmax)


def test_warnings_are_errors_in_the_checks():
    """A loss that is right but warns (here: suppressed inf values that happen to cancel) fails."""
    def bce_with_logits(z, y):
        p = 1 / (1 + np.exp(-z))  # overflows for z = -1e4 with a RuntimeWarning
        with np.errstate(divide="ignore"):
            return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))) + 0 * float(p.sum())

    with pytest.raises(AssertionError, match="overflow"):
        checks.check_bce_with_logits(bce_with_logits)


def test_checks_are_deterministic(reference):
    """The checks call the student's functions with the same inputs on every run (the grader may
    record the answers in the sandbox and compute the verdict elsewhere)."""
    def record(fn, log):
        def wrapper(*args, **kwargs):
            log.append([np.asarray(a).tobytes() if isinstance(a, np.ndarray)
                        else [np.asarray(p).tobytes() for p in a] if isinstance(a, (list, tuple))
                        else repr(a) for a in args])
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
