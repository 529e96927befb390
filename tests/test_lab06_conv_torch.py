"""lab06-conv-torch: the reference passes every test and runs fast on a CPU, the hidden checks
catch every catalogued mistake with a message that points at it, a blank student notebook fails
everything, and the checks' own data and oracles behave as the lab's text says."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

from catalogue.lab06_conv_torch import MISTAKES
from cnnbook.checks import _common
from cnnbook.checks import lab06_conv_torch as checks
from cnnbook.notebooks import code_cells, nbgrader_meta, read_source, run_test_cells, source_namespace

EXERCISE = "lab06-conv-torch"
FUNCTIONS = ["numpy_weights", "conv2d_numpy", "conv_layer_numpy", "apply_filter", "train_conv"]
SOLUTION_BODY = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION[^\n]*\n?", re.S | re.M)


@pytest.fixture(autouse=True)
def _agg(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")


@pytest.fixture(scope="module")
def reference():
    import matplotlib

    matplotlib.use("Agg")
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
        assert "cuda" not in cell.source.lower().replace("cuda gpu", ""), "nothing assumes CUDA: use cnnbook.device()"
        if nbgrader_meta(cell).get("grade"):
            public = cell.source.split("### BEGIN HIDDEN TESTS")[0]
            assert "cnnbook.checks" not in public, "public tests must not use the hidden checks"
    assert any("cnnbook.device()" in c.source for c in nb.cells if c.cell_type == "code")


def test_reference_passes_every_test_cell_quickly(reference):
    start = time.perf_counter()
    results = run_test_cells(EXERCISE, reference, hidden=True)
    assert list(results) == [f"test_{name}" for name in FUNCTIONS]
    failed = {k: f"{type(v).__name__}: {v}" for k, v in results.items() if v is not None}
    assert not failed
    assert time.perf_counter() - start < 30


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


@pytest.fixture(scope="module")
def base_namespace(reference):
    return reference


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.id for m in MISTAKES])
def test_mistake_fails_with_a_helpful_message(reference, mistake):
    namespace = dict(reference)  # the reference's cells already ran: only the override is new
    exec(compile(mistake.code, f"<{EXERCISE}:override>", "exec"), namespace)
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
    assert len(ids) == len(set(ids)) >= 4
    for m in MISTAKES:
        assert m.replaces in FUNCTIONS
        assert re.search(rf"^def {m.replaces}\(", m.code, re.M), m.id
        assert all(g in {f"test_{name}" for name in FUNCTIONS} for g in m.expect), m.id
        assert f"test_{m.replaces}" in m.expect, m.id
        assert m.description
    assert {m.replaces for m in MISTAKES} == set(FUNCTIONS)


def _student_namespace():
    namespace: dict = {"__name__": "student_lab06_conv_torch"}
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


# ------------------------------------------------------------------ the checks' own pieces

def test_checks_bars_are_learnable_and_balanced():
    X, y = checks.make_bars_for_checks(400, seed=2)
    assert tuple(X.shape) == (400, 1, 12, 12) and str(X.dtype) == "torch.float32"
    counts = np.bincount(y.numpy(), minlength=4)
    assert counts.min() > 70
    # every image holds one bar: about 4 to 7 pixels brighter than the noise
    bright = (X[:, 0] > 0.6).sum(dim=(1, 2)).numpy()
    assert bright.min() >= 3 and bright.max() <= 8


def test_filter_oracle_is_a_cross_correlation():
    impulse = np.zeros((5, 5))
    impulse[2, 2] = 1.0
    k = np.arange(9.0).reshape(3, 3)
    assert np.array_equal(checks._filter_oracle(impulse, k)[1:4, 1:4], k[::-1, ::-1])


def test_training_check_restores_the_thread_count():
    import torch

    before = torch.get_num_threads()
    with checks._one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
