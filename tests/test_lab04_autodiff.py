"""lab04-autodiff: the reference passes every test, the hidden checks catch every catalogued
mistake with a message that points at it, a blank student notebook fails everything, the
checks watch the device, and the whole lab runs well within its budget on the CPU.

The lab's demonstration cells (tagged ``demo``: plots and a training run) and its closing check
cell (``check_all``, which runs the public tests again) are left out when a catalogued mistake is
tried: they only show results and would spend seconds each time."""

from __future__ import annotations

import re

import numpy as np
import pytest

from catalogue.lab04_autodiff import MISTAKES
from cnnbook.checks import _common
from cnnbook.checks import lab04_autodiff as checks
from cnnbook.notebooks import nbgrader_meta, read_source, run_test_cells, source_namespace

EXERCISE = "lab04-autodiff"
FUNCTIONS = ["make_mlp", "torch_loss_and_grads", "train"]
POINTS = {"test_make_mlp": 1, "test_torch_loss_and_grads": 3, "test_train": 4}
SOLUTION_BODY = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION[^\n]*\n?", re.S | re.M)


def _is_demo(cell) -> bool:
    return "demo" in cell.get("metadata", {}).get("tags", [])


def lab_namespace(overrides: str | None = None, *, blank: bool = False) -> dict:
    """The lab's code cells run as plain Python, without its test cells, its demo cells and its
    check cell; ``overrides`` (a catalogued mistake) runs afterwards; ``blank`` empties the
    solutions as the release does."""
    namespace: dict = {"__name__": "lab04_autodiff_source"}
    for i, cell in enumerate(read_source(EXERCISE).cells):
        if cell.cell_type != "code" or nbgrader_meta(cell).get("grade") or _is_demo(cell) \
                or nbgrader_meta(cell).get("grade_id") == "check_all":
            continue
        source = cell.source
        if blank:
            source = SOLUTION_BODY.sub(lambda m: f"{m.group(1)}raise NotImplementedError()\n", source)
        exec(compile(source, f"<{EXERCISE}:{nbgrader_meta(cell).get('grade_id', f'cell-{i}')}>", "exec"), namespace)
    if overrides:
        exec(compile(overrides, f"<{EXERCISE}:override>", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def reference():
    return lab_namespace()


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
        if nbgrader_meta(cell).get("grade"):
            public = cell.source.split("### BEGIN HIDDEN TESTS")[0]
            assert "cnnbook" not in public, "public tests use the lab's own device, not the grader's package"
            assert "cuda" not in cell.source, "nothing assumes CUDA"
    setup = next(c.source for c in nb.cells if c.cell_type == "code")
    assert "cnnbook.device()" in setup and "print(" in setup, "the device is chosen automatically and printed"
    demos = [c for c in nb.cells if _is_demo(c)]
    assert demos and not any(nbgrader_meta(c) for c in demos), "demo cells are neither graded nor solutions"


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
    if _student_frame_in(err, mistake.replaces):  # torch's own assertions ("not compiled with CUDA") too
        return True
    return isinstance(err, AssertionError) and bool(str(err).strip()) and any(name in str(err) for name in FUNCTIONS)


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
    namespace = lab_namespace(overrides=mistake.code)
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
    """The lab with every solution body replaced by ``raise NotImplementedError()``, as released."""
    return lab_namespace(blank=True)


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
    for mistake_id in ("make_mlp_no_relu", "tlg_mse_loss_default_mean", "train_no_zero_grad"):
        mistake = by_id[mistake_id]
        namespace = lab_namespace(overrides=mistake.code)
        messages = []
        for _ in range(2):
            with pytest.raises(AssertionError) as info:
                getattr(checks, f"check_{mistake.replaces}")(namespace[mistake.replaces])
            messages.append(str(info.value))
        assert messages[0] == messages[1]
        assert "0x" not in messages[0], "no memory address in a message"


def test_checks_leave_the_torch_state_alone(reference):
    import torch

    threads = torch.get_num_threads()
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    for name in FUNCTIONS:
        getattr(checks, f"check_{name}")(reference[name])
    assert torch.equal(before, torch.random.get_rng_state())
    assert torch.get_num_threads() == threads


def test_oracle_of_train_is_torch_optim_sgd():
    """The step-by-step oracle of the checks agrees with torch.optim.SGD itself."""
    import copy

    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    X, y = (torch.from_numpy(a) for a in checks._blobs(rng, 20))
    model = checks._network(torch)
    oracle, losses = checks._descend(torch, model, X, y, epochs=3, lr=0.3, weight_decay=0.1, batch_size=6, seed=4)
    model = copy.deepcopy(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.3, weight_decay=0.1)
    generator = torch.Generator().manual_seed(4)
    for _ in range(3):
        for idx in torch.randperm(20, generator=generator).split(6):
            optimizer.zero_grad()
            F.cross_entropy(model(X[idx]), y[idx]).backward()
            optimizer.step()
    for a, b in zip(model.parameters(), oracle.parameters()):
        assert torch.allclose(a, b, atol=1e-6)


def test_device_watch_sees_where_the_model_runs():
    """The forward hook records the device of the data and of the weights for every call."""
    import torch

    model = checks._network(torch)
    watch = checks._Watch(model)
    model(torch.zeros(5, 2))
    watch.remove()
    model(torch.zeros(3, 2))
    assert [(len(x), d.type, w.type) for x, d, w in watch.calls] == [(5, "cpu", "cpu")]


def test_whole_lab_runs_within_its_budget():
    """Every code cell of the lab, demos included, as a student runs it: well under a minute."""
    import time

    start = time.perf_counter()
    namespace = source_namespace(EXERCISE)
    results = run_test_cells(EXERCISE, namespace, hidden=True)
    elapsed = time.perf_counter() - start
    assert all(err is None for err in results.values()), results
    assert elapsed < 45, f"the lab took {elapsed:.0f} s"


def test_checks_are_fast(reference):
    import time

    import torch  # noqa: F401  (the import of torch is not the checks' cost)

    start = time.perf_counter()
    for name in FUNCTIONS:
        getattr(checks, f"check_{name}")(reference[name])
    assert time.perf_counter() - start < 5
