"""The check cell at the end of every exercise (``cnnbook.selfcheck.check_all``).

For every exercise: with the reference answers every part passes and the summary says so; in the
blank student notebook no part passes; with a catalogued wrong answer the part it breaks fails,
with the first line of its public test's message; the table never shows hidden test code and
never runs a hidden check; the student's namespace is left as it was; during grading the cell
only says that it is skipped.

The notebooks' cells run in this process, as plain Python (no kernel). Two labs train networks
for a minute or more in their own experiments; of those, only the first cell (imports, device)
and the solution cells run here, as in their own test modules. Lab 8's last public test reads
the accuracy its training run reached: it is given the value that run reaches (98%).
"""

from __future__ import annotations

import contextlib
import functools
import html
import io
import random
import re
import warnings

import numpy as np
import pytest

from cnnbook import selfcheck
from cnnbook.notebooks import EXERCISES, SOLUTIONS, exercise_ids, is_test_cell, nbgrader_meta, read_source, strip_hidden
from cnnbook.sandbox import ENV_VAR
from submissions import answered, mistakes, released

IDS = exercise_ids()
CHECK_ID = "check_all"
#: Labs run without their experiments (see the module docstring), and what those experiments leave
#: behind that a public test reads.
QUICK = {"lab08-lenet": {"test_accuracy": 0.98}, "lab09-resnet": {}}
HIDDEN_BLOCK = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n(.*?)^[ \t]*### END HIDDEN TESTS", re.S | re.M)


@pytest.fixture(autouse=True, scope="module")
def _agg():
    import matplotlib

    matplotlib.use("Agg")


def _code(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def run_notebook(exercise_id: str, nb, *, strict: bool) -> dict:
    """The namespace of a student notebook after its cells ran, test cells and check cell left out.

    ``strict``: a cell that raises is an error (the reference); otherwise the run goes on, as a
    student running cells one by one would (a blank notebook).
    """
    namespace: dict = {"__name__": "__main__"}
    for i, cell in enumerate(_code(nb)):
        meta = nbgrader_meta(cell)
        if is_test_cell(cell) or meta.get("grade_id") == CHECK_ID:
            continue
        if exercise_id in QUICK and i > 0 and not meta.get("solution"):
            continue
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                exec(compile(cell.source, f"<{exercise_id}:{meta.get('grade_id', f'cell-{i}')}>", "exec"), namespace)
            except Exception:
                if strict:
                    raise
    return namespace


@functools.lru_cache(maxsize=None)
def _reference(exercise_id: str) -> dict:
    namespace = run_notebook(exercise_id, answered(exercise_id), strict=True)
    namespace.update(QUICK.get(exercise_id, {}))
    return namespace


def reference(exercise_id: str) -> dict:
    """The reference answers' namespace (a shallow copy of a cached one)."""
    return dict(_reference(exercise_id))


def blank(exercise_id: str) -> dict:
    return run_notebook(exercise_id, released(exercise_id), strict=False)


def graded(exercise_id: str) -> list:
    """The graded cells of the released notebook (what the table must list, in order)."""
    return [c for c in released(exercise_id).cells if nbgrader_meta(c).get("grade")]


def public_failures(exercise_id: str, namespace: dict) -> dict[str, BaseException]:
    """grade_id -> error of each public test that fails, run directly on a copy of ``namespace``."""
    scratch, failures = dict(namespace), {}
    for cell in graded(exercise_id):
        if not is_test_cell(cell):
            continue
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                exec(compile(strip_hidden(cell.source), "<public>", "exec"), scratch)
            except Exception as err:
                failures[nbgrader_meta(cell)["grade_id"]] = err
    return failures


def hidden_lines(exercise_id: str) -> list[str]:
    """Every line of code between the hidden-test markers of the instructor source."""
    lines = []
    for cell in read_source(exercise_id).cells:
        for block in HIDDEN_BLOCK.findall(cell.source):
            lines += [line.strip() for line in block.splitlines() if line.strip()]
    assert lines, f"{exercise_id} has no hidden tests"
    return lines


def assert_reveals_nothing(exercise_id: str, report: selfcheck.Report) -> None:
    shown = report.text() + "\n" + report.html()
    for marker in ("BEGIN HIDDEN TESTS", "cnnbook.checks", "import " + exercise_id.replace("-", "_"), "hidden.check_"):
        assert marker not in shown, f"the table of {exercise_id} shows {marker!r}"
    for line in hidden_lines(exercise_id):
        assert line not in shown and html.escape(line) not in shown, f"the table of {exercise_id} shows hidden code: {line}"


def flat(text: str) -> str:
    return " ".join(text.split())


def points(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def run_cell(exercise_id: str, namespace: dict, capsys) -> str:
    """Run the released notebook's own check cell on ``namespace``; return what it printed."""
    cell = _code(released(exercise_id))[-1]
    exec(compile(cell.source, f"<{exercise_id}:{CHECK_ID}>", "exec"), namespace)
    return capsys.readouterr().out


# ------------------------------------------------------------------------------------------
# The cell


@pytest.mark.parametrize("exercise_id", IDS)
def test_every_exercise_ends_with_its_check_cell(exercise_id):
    for nb in (read_source(exercise_id), released(exercise_id)):
        last = nb.cells[-1]
        meta = nbgrader_meta(last)
        assert last.cell_type == "code" and meta.get("grade_id") == CHECK_ID, f"{exercise_id}: the last cell is not the check cell"
        assert meta.get("locked") is True and not meta.get("grade") and not meta.get("solution"), meta
        assert last.source.strip().splitlines() == [
            "from cnnbook.selfcheck import check_all", "", f'check_all("{exercise_id}", globals())']
        before = nb.cells[-2]
        assert before.cell_type == "markdown" and "Before you submit" in before.source
    assert released(exercise_id).cells[-1].metadata.get("editable") is False


@pytest.mark.parametrize("exercise_id", IDS)
def test_every_graded_cell_has_its_hidden_check_described(exercise_id):
    for cell in graded(exercise_id):
        grade_id = nbgrader_meta(cell)["grade_id"]
        if not is_test_cell(cell):
            assert cell.cell_type == "markdown", f"{exercise_id}: {grade_id} is graded but neither a test nor a written answer"
            continue
        assert grade_id.startswith("test_"), grade_id
        described = selfcheck.hidden_description(exercise_id, grade_id.removeprefix("test_"))
        assert described, f"{exercise_id}: no docstring of cnnbook.checks.{exercise_id.replace('-', '_')}.check_{grade_id[5:]}"
        assert "``" not in described and ":func:" not in described and "\n" not in described, described


# ------------------------------------------------------------------------------------------
# What it says


@pytest.mark.parametrize("exercise_id", IDS)
def test_reference_passes_every_part(exercise_id, capsys):
    out = run_cell(exercise_id, reference(exercise_id), capsys)
    tests = [c for c in graded(exercise_id) if is_test_cell(c)]
    by_hand = [c for c in graded(exercise_id) if not is_test_cell(c)]
    total = points(sum(float(nbgrader_meta(c)["points"]) for c in tests))
    summary = (f"public tests: all {len(tests)} parts pass ({total} of {total} points); "
               "the grade also depends on the hidden tests")
    assert out.strip().splitlines()[-1].startswith(summary), out
    if by_hand:
        assert "graded by a person" in out.strip().splitlines()[-1]

    report = selfcheck.run_checks(exercise_id, reference(exercise_id))
    assert [p.grade_id for p in report.parts] == [nbgrader_meta(c)["grade_id"] for c in graded(exercise_id)]
    assert [p.status for p in report.parts] == [selfcheck.PASS if is_test_cell(c) else selfcheck.BY_HAND
                                               for c in graded(exercise_id)], report.text()
    for part in report.parts:
        assert f"{part.name} " in out and (part.status == selfcheck.BY_HAND or re.search(r"\d+\.\d\d s", out))
        assert flat(part.hidden) in flat(out)
    assert_reveals_nothing(exercise_id, report)


@pytest.mark.parametrize("exercise_id", IDS)
def test_blank_notebook_passes_nothing(exercise_id, capsys):
    out = run_cell(exercise_id, blank(exercise_id), capsys)
    tests = [c for c in graded(exercise_id) if is_test_cell(c)]
    total = points(sum(float(nbgrader_meta(c)["points"]) for c in tests))
    assert out.strip().splitlines()[-1].startswith(f"public tests: 0 of {len(tests)} parts pass (0 of {total} points)"), out

    report = selfcheck.run_checks(exercise_id, blank(exercise_id))
    for part in report.tested:
        assert part.status in (selfcheck.NOT_ATTEMPTED, selfcheck.FAIL, selfcheck.ERROR) and part.message, part
    # Every part whose public test calls an unanswered function says so.
    not_attempted = [p for p in report.tested if p.status == selfcheck.NOT_ATTEMPTED]
    assert len(not_attempted) >= len(report.tested) - 1, report.text()
    for part in not_attempted:
        assert "NotImplementedError" in part.message
    assert_reveals_nothing(exercise_id, report)


def _caught_mistake(exercise_id):
    """The first catalogued mistake that the public test of the function it replaces catches."""
    for mistake in mistakes(exercise_id):
        nb = answered(exercise_id, {mistake.replaces: mistake.code})
        namespace = run_notebook(exercise_id, nb, strict=False)
        namespace.update(QUICK.get(exercise_id, {}))
        failures = public_failures(exercise_id, namespace)
        if f"test_{mistake.replaces}" in failures:
            return mistake, namespace, failures
    pytest.fail(f"no catalogued mistake of {exercise_id} fails a public test")


@pytest.mark.parametrize("exercise_id", IDS)
def test_a_catalogued_mistake_fails_its_part_with_its_message(exercise_id, capsys):
    mistake, namespace, failures = _caught_mistake(exercise_id)
    report = selfcheck.run_checks(exercise_id, namespace)
    failing = {p.grade_id for p in report.tested if p.status != selfcheck.PASS}
    assert failing == set(failures), f"{mistake.id}: the table says {failing}, the public tests {set(failures)}"

    part = next(p for p in report.parts if p.grade_id == f"test_{mistake.replaces}")
    err = failures[part.grade_id]
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    assert part.status == (selfcheck.FAIL if isinstance(err, AssertionError) else selfcheck.ERROR), part
    assert part.message and flat(first)[:200] in flat(part.message), (part.message, first)

    out = run_cell(exercise_id, namespace, capsys)
    assert flat(part.message) in flat(out)
    passed = sum(p.status == selfcheck.PASS for p in report.tested)
    assert f"public tests: {passed} of {len(report.tested)} parts pass" in out
    assert_reveals_nothing(exercise_id, report)


@pytest.mark.parametrize("exercise_id", IDS)
def test_hidden_checks_are_never_run(exercise_id, monkeypatch):
    import importlib

    module = importlib.import_module(f"cnnbook.checks.{exercise_id.replace('-', '_')}")
    called = []
    for name in dir(module):
        if name.startswith("check_"):
            monkeypatch.setattr(module, name, lambda *a, _name=name, **k: called.append(_name))
    report = selfcheck.run_checks(exercise_id, reference(exercise_id))
    assert not called and all(p.status in (selfcheck.PASS, selfcheck.BY_HAND) for p in report.parts)


# ------------------------------------------------------------------------------------------
# What it leaves alone


def _snapshot(namespace: dict):
    arrays = {k: v.copy() for k, v in namespace.items() if isinstance(v, np.ndarray)}
    return dict(namespace), arrays


@pytest.mark.parametrize("exercise_id", ["ex06-conv", "lab08-lenet"])
def test_student_namespace_and_random_state_are_left_as_they_were(exercise_id, capsys):
    import torch

    namespace = reference(exercise_id)
    mine = object()
    namespace.update(X=mine, out=mine, net=mine)  # names the public tests assign
    before, arrays = _snapshot(namespace)
    states = (random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state().clone())

    selfcheck.check_all(exercise_id, namespace)
    assert "public tests:" in capsys.readouterr().out

    assert namespace.keys() == before.keys(), set(namespace) ^ set(before)
    assert all(namespace[k] is before[k] for k in before), [k for k in before if namespace[k] is not before[k]]
    assert all(np.array_equal(namespace[k], v) for k, v in arrays.items())
    assert random.getstate() == states[0]
    assert np.array_equal(np.random.get_state()[1], states[1])
    assert torch.equal(torch.get_rng_state(), states[2])


def test_skipped_during_grading(monkeypatch, capsys):
    monkeypatch.setenv(ENV_VAR, "{}")
    monkeypatch.setattr(selfcheck, "run_checks", lambda *a, **k: pytest.fail("the tests ran during grading"))
    monkeypatch.setattr(selfcheck, "find_notebook", lambda *a, **k: pytest.fail("the notebook was read during grading"))
    namespace = reference("ex06-conv")
    before = dict(namespace)
    selfcheck.check_all("ex06-conv", namespace)
    assert capsys.readouterr().out.splitlines() == [selfcheck.SKIPPED]
    assert namespace == before and all(namespace[k] is before[k] for k in before)


def test_solutions_are_never_read(monkeypatch):
    import builtins
    import io as io_module

    opened = []
    real_open = io_module.open

    def spying_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(io_module, "open", spying_open)
    monkeypatch.setattr(builtins, "open", spying_open)
    monkeypatch.setattr("cnnbook.notebooks.read_source", lambda *a: pytest.fail("read_source was called"))
    namespace = reference("ex02-losses")
    report = selfcheck.run_checks("ex02-losses", namespace)
    assert report.notebook == EXERCISES / "ex02-losses" / "ex02-losses.ipynb"
    assert opened and not [p for p in opened if str(SOLUTIONS) in p], opened


# ------------------------------------------------------------------------------------------
# Where it looks, and how it shows the table


def test_default_namespace_is_the_callers_globals(capsys):
    namespace = reference("ex04-backprop")
    exec("from cnnbook.selfcheck import check_all\ncheck_all('ex04-backprop')", namespace)
    assert "public tests: all 3 parts pass" in capsys.readouterr().out


def test_notebook_in_the_current_folder_when_the_checkout_has_none(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(selfcheck, "EXERCISES", tmp_path / "no-such-folder")
    monkeypatch.chdir(tmp_path)
    namespace = reference("ex06-conv")
    selfcheck.check_all("ex06-conv", namespace)
    out = capsys.readouterr().out
    assert out.startswith("check_all: cannot find the notebook ex06-conv.ipynb") and len(out.splitlines()) == 1, out

    (tmp_path / "ex06-conv.ipynb").write_bytes((EXERCISES / "ex06-conv" / "ex06-conv.ipynb").read_bytes())
    selfcheck.check_all("ex06-conv", namespace)
    assert "public tests: all 8 parts pass (19 of 19 points)" in capsys.readouterr().out
    assert selfcheck.run_checks("ex06-conv", namespace).notebook == tmp_path / "ex06-conv.ipynb"


def test_a_bad_exercise_id_is_explained(capsys):
    selfcheck.check_all("../solutions", {})
    assert capsys.readouterr().out.startswith("check_all: '../solutions' is not an exercise id")


def test_jupyter_gets_an_html_table_with_a_text_copy(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(selfcheck, "_in_jupyter", lambda: True)
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append((obj, raw)))
    mistake, namespace, _ = _caught_mistake("ex06-conv")
    selfcheck.check_all("ex06-conv", namespace)
    (bundle, raw), = shown
    assert raw and set(bundle) == {"text/plain", "text/html"}
    page = bundle["text/html"]
    assert "<table" in page and "<caption" in page and page.count('scope="col"') == 5
    assert page.count('scope="row"') == 8 and "<strong>fail</strong>" in page
    report = selfcheck.run_checks("ex06-conv", namespace)
    assert bundle["text/plain"].splitlines()[-1] == report.summary()
    failing = next(p for p in report.parts if p.grade_id == f"test_{mistake.replaces}")
    assert selfcheck._code_html(failing.message) in page


def test_time_of_every_part_and_slow_parts_are_shown(monkeypatch):
    report = selfcheck.run_checks("ex03-sgd", reference("ex03-sgd"))
    rows = [line for line in report.text().splitlines() if line.startswith(tuple(p.name + " " for p in report.parts))]
    assert len(rows) == 3 and all(re.search(r"\d+\.\d\d s$", row) for row in rows), rows
    monkeypatch.setattr(selfcheck, "SLOW_SECONDS", 0.0)
    assert report.text().count("slow: its public tests took") == 3
    assert report.html().count("(slow)") == 3


def test_a_written_answer_is_left_to_a_person():
    report = selfcheck.run_checks("ex02-losses", reference("ex02-losses"))
    written = [p for p in report.parts if p.status == selfcheck.BY_HAND]
    assert [p.grade_id for p in written] == ["map_lambda"]
    assert report.summary().endswith("and on 1 written answer (2 points) graded by a person.")


def test_an_error_names_the_students_function_and_a_missing_variable_says_what_to_run():
    namespace = reference("ex06-conv")
    exec("def zero_pad(X, pad):\n    return X.reshape(-1, 5, 5)\n", namespace)
    del namespace["conv_single_step"]
    report = selfcheck.run_checks("ex06-conv", namespace)
    parts = {p.name: p for p in report.parts}
    assert parts["zero_pad"].status == selfcheck.ERROR
    assert parts["zero_pad"].message.startswith("ValueError: cannot reshape") and "`zero_pad`" in parts["zero_pad"].message
    assert parts["conv_single_step"].status == selfcheck.ERROR
    assert "name 'conv_single_step' is not defined: run the cells above" in parts["conv_single_step"].message



def test_in_a_jupyter_kernel_the_table_is_html_with_a_text_copy(tmp_path):
    """The one test that starts a kernel: the check cell of a notebook run as Jupyter runs it."""
    from nbclient import NotebookClient

    nb = answered("ex01-mlp")
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    (output,) = nb.cells[-1].outputs
    assert output.output_type == "display_data" and set(output.data) == {"text/plain", "text/html"}
    assert output.data["text/html"].startswith('<table class="cnnbook-selfcheck">')
    assert output.data["text/plain"].splitlines()[-1].startswith("public tests: all 4 parts pass (8 of 8 points)")
