"""lab09-resnet: the reference passes every test, the hidden checks catch every catalogued mistake
with a message that points at it, and a blank student notebook fails everything.

The lab's experiments (Parts 5 and 6: two networks trained for a minute, their feature maps) are
left out here; the grader runs them as part of the notebook.
"""

from __future__ import annotations

import re

import pytest

from catalogue.lab09_resnet import MISTAKES
from cnnbook.checks import _common
from cnnbook.checks import lab09_resnet as checks
from cnnbook.notebooks import code_cells, nbgrader_meta, read_source, strip_hidden

LAB = "lab09-resnet"
FUNCTIONS = ["count_params", "AlexNet", "VGG16", "ResidualBlock", "SmallResNet"]
TESTS = [f"test_{name}" for name in FUNCTIONS]
SOLUTION_BODY = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION[^\n]*\n?", re.S | re.M)


def lab_namespace(overrides: str | None = None, *, blank: bool = False) -> dict:
    """The lab's first cell (imports, device) and its solution cells run as plain Python."""
    nb = read_source(LAB)
    solutions = {nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c).get("solution")}
    cells = code_cells(nb)
    namespace: dict = {"__name__": "lab09_resnet_source"}
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
    first = code_cells(nb)[0][1]
    assert "device = cnnbook.device()" in first and 'print("device:", device)' in first
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert not re.search(r"^\s*[%!]", cell.source, re.M), "no IPython magics"
        assert ".cuda()" not in cell.source, "nothing may assume CUDA: use .to(device)"
        if nbgrader_meta(cell).get("grade"):
            assert "cnnbook.checks" not in strip_hidden(cell.source)
            assert "from cnnbook.checks import lab09_resnet as hidden" in cell.source


def test_test_cells_leave_no_value_behind():
    """nbgrader reads a number shown by a test cell as its (partial) score."""
    import ast

    for cell in read_source(LAB).cells:
        if nbgrader_meta(cell).get("grade"):
            last = ast.parse(cell.source).body[-1]
            assert not isinstance(last, ast.Expr) or getattr(last.value.func, "attr", "").startswith("check_"), \
                nbgrader_meta(cell)["grade_id"]
    reference = lab_namespace()
    for name in FUNCTIONS:
        assert getattr(checks, f"check_{name}")(reference[name]) is None


def test_reference_passes_every_test_cell(reference):
    results = run_cells(reference, TESTS)
    failed = {k: f"{type(v).__name__}: {v}" for k, v in results.items() if v is not None}
    assert list(results) == TESTS and not failed


@pytest.mark.parametrize("name", FUNCTIONS)
def test_reference_passes_hidden_check(reference, name):
    getattr(checks, f"check_{name}")(reference[name])


def test_counts_match_the_chapter(reference):
    """The counts quoted in chapter 9 and in the lab, from the reference and from the closed forms."""
    import torch

    count = reference["count_params"]
    with torch.device("meta"):
        assert count(reference["AlexNet"]()) == checks.ALEXNET_PARAMS == 60_965_224
        assert count(reference["VGG16"]()) == checks.VGG16_PARAMS == 138_357_544
    assert checks._alexnet_counts(1000)[0] == 60_965_224
    assert checks._vgg_count(checks._VGG["VGG16"], 1000) == 138_357_544
    assert checks._vgg_count(checks._VGG["VGG19"], 1000) == 143_667_240
    assert count(reference["SmallResNet"]()) == 272_186


def test_checks_leave_no_trace_in_the_notebook(reference):
    import torch

    torch.manual_seed(5)
    expected = torch.rand(2)
    torch.manual_seed(5)
    threads = torch.get_num_threads()
    checks.check_ResidualBlock(reference["ResidualBlock"])
    assert torch.equal(torch.rand(2), expected)
    assert torch.get_num_threads() == threads


def _from_student(err: BaseException) -> bool:
    tb = err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(":override>"):
            return True
        tb = tb.tb_next
    return False


def _helpful(err: BaseException) -> bool:
    if isinstance(err, AssertionError):
        return bool(str(err).strip()) and any(name in str(err) for name in FUNCTIONS)
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
    if not isinstance(err, _common.CheckFailure):
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
    results = run_cells(namespace, TESTS)
    assert all(err is not None for err in results.values()), results
