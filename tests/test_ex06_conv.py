"""ex06-conv: the reference passes every test, the hidden checks catch every catalogued mistake
with a message that points at it, a blank student notebook fails everything, and the NumPy-only
guard catches torch and SciPy however they are called."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

from catalogue.ex06_conv import MISTAKES
from cnnbook.checks import _common
from cnnbook.checks import ex06_conv as checks
from cnnbook.notebooks import read_source, run_test_cells, source_namespace, nbgrader_meta

EXERCISE = "ex06-conv"
FUNCTIONS = ["fc_num_params", "conv_num_params", "conv_output_size", "zero_pad", "conv_single_step",
             "conv2d_forward_naive", "conv2d_forward", "conv2d_backward"]
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


def _student_namespace():
    """The source run with every solution body replaced by ``raise NotImplementedError()``,
    as nbgrader releases it."""
    from cnnbook.notebooks import code_cells

    namespace: dict = {"__name__": "student_ex06_conv"}
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


# ------------------------------------------------------------------ the NumPy-only guard

def _run_guarded(fn, *args):
    with _common.forbid_libraries("conv2d_forward"):
        return fn(*args)


def test_guard_catches_torch_bound_at_import_time():
    from torch.nn.functional import conv2d
    import torch

    def conv2d_forward(X, W, b):
        return conv2d(torch.from_numpy(X), torch.from_numpy(W), torch.from_numpy(b)).numpy()

    X, W, b = np.ones((1, 1, 4, 4)), np.ones((2, 1, 3, 3)), np.zeros(2)
    with pytest.raises(AssertionError, match=r"must be implemented with NumPy; it called .*torch\.nn\.functional\.conv2d"):
        _run_guarded(conv2d_forward, X, W, b)


def test_guard_catches_torch_looked_up_at_call_time():
    def conv2d_forward(X, W, b):
        import torch
        import torch.nn.functional as F

        return F.conv2d(torch.as_tensor(X), torch.as_tensor(W), torch.as_tensor(b)).numpy()

    X, W, b = np.ones((1, 1, 4, 4)), np.ones((2, 1, 3, 3)), np.zeros(2)
    with pytest.raises(AssertionError, match=r"torch\.nn\.functional\.conv2d"):
        _run_guarded(conv2d_forward, X, W, b)


def test_guard_catches_torch_python_functions():
    import torch
    import torch.nn.functional as F

    def zero_pad(X, pad):
        return np.asarray(F.pad(torch.as_tensor(X), (pad, pad, pad, pad)))

    with pytest.raises(AssertionError, match=r"torch\.(nn\.functional\.pad|as_tensor)"):
        _run_guarded(zero_pad, np.ones((1, 1, 2, 2)), 1)


def test_guard_catches_scipy(tmp_path, monkeypatch):
    try:
        import scipy.signal  # noqa: F401
    except ImportError:
        # No SciPy here: a stand-in package of the same name shows that the guard looks at
        # the module a function comes from, not at how it was imported.
        pkg = tmp_path / "scipy"
        (pkg / "signal").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "signal" / "__init__.py").write_text(
            "import numpy as np\n\ndef correlate(a, b, mode='valid'):\n    return np.correlate(a.ravel(), b.ravel(), mode)\n")
        monkeypatch.syspath_prepend(str(tmp_path))
        for name in [m for m in sys.modules if m == "scipy" or m.startswith("scipy.")]:
            monkeypatch.delitem(sys.modules, name)
    try:
        from scipy.signal import correlate

        def conv2d_forward(X, W, b):
            return correlate(X, W, mode="valid")

        with pytest.raises(AssertionError, match=r"it called scipy\.signal.*correlate"):
            _run_guarded(conv2d_forward, np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), np.zeros(1))
    finally:
        for name in [m for m in sys.modules if m == "scipy" or m.startswith("scipy.")]:
            if str(tmp_path) in str(getattr(sys.modules[name], "__file__", "")):
                del sys.modules[name]


def test_guard_lets_numpy_through_and_restores_the_profiler():
    before = sys.getprofile()
    out = _run_guarded(lambda X: np.einsum("ij,jk->ik", X, X), np.eye(3))
    assert np.array_equal(out, np.eye(3))
    assert sys.getprofile() is before


def test_checks_are_fast(reference):
    import time

    checks._torch()  # the import of torch is not the checks' cost
    start = time.perf_counter()
    for name in FUNCTIONS:
        getattr(checks, f"check_{name}")(reference[name])
    assert time.perf_counter() - start < 5
