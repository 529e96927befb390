"""Otter Grader from the same instructor sources: master notebook, autograder zip, grading.

nbgrader is the primary engine (:mod:`cnnbook.grade`); this module gives the same exercises to
Otter Grader, generated from ``solutions/<id>/<id>.md`` and never written by hand:

* :func:`master_notebook` turns the nbgrader source into an otter-assign master notebook (format
  v1). Every graded test cell of nbgrader (``grade_id: test_<part>``, ``points``) becomes one otter
  question of the same name and points, graded all-or-nothing like an nbgrader cell: the public
  part of the cell is a public test case, the ``### BEGIN HIDDEN TESTS`` block a hidden one, both
  exception-based (a function of the notebook's names, full of asserts). Solution cells keep their
  markers (nbgrader's ``### BEGIN SOLUTION`` becomes otter's ``# BEGIN SOLUTION``); a manually
  graded answer becomes a manual otter question of the same points; every other cell is copied.
* :func:`assign` runs ``otter assign`` on it and writes, into ``_build/otter/<id>/`` (instructor
  only: it holds the solutions and the hidden tests), the master notebook, otter's student
  notebook and the autograder zip for Gradescope (``autograder/<id>-autograder.zip``), written
  the same way every time.
* :func:`grade` grades a folder of submissions with that zip through otter's own autograder,
  the code ``otter run`` runs, under the sandbox of the nbgrader kernels (:mod:`cnnbook.sandbox`),
  and writes the same ``grades.csv`` as :func:`cnnbook.grade.grade`.

How the grading differs from a plain ``otter run``: otter runs its tests inside the student's
kernel, reading them from ``tests/`` in the notebook's folder, so a notebook could overwrite them
(and a plain ``otter run`` then gives full marks). Here the grader lays out otter's autograder
folder itself (what ``otter run`` does in a temporary folder): the tests belong to the grader, are
bound read-only into the sandbox and are named to the kernel by absolute path, so they cannot be
changed, renamed or swapped for others from inside. Otter's verdicts still come from the
student's own process; as with nbgrader, each question scores only if its hidden checks also
pass the grader's replay outside the sandbox (:mod:`cnnbook.verify`), and the submitted code is
scanned for tampering. Each cell may run ``timeout`` seconds (the cell that runs otter's tests,
``timeout`` per question); the whole run is stopped after the sum of those.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import copy
import html
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import symtable
import tempfile
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import ROOT
from .notebooks import nbgrader_meta, read_source, strip_hidden

#: Where ``cnnbook release`` writes the otter files of each exercise (git-ignored, instructor only).
BUILD = ROOT / "_build" / "otter"
#: The packages the tests import besides otter's own (pinned in pyproject.toml).
GRADING_REQUIREMENTS = ("numpy", "matplotlib", "torch")
#: Name of the error a cell gets when it runs past its timeout (the nbgrader engine's too).
TIMEOUT_ENAME = "CellTimeoutError"
#: Seconds allowed, on top of the cells' timeouts, for Python, otter and the kernel to start.
STARTUP_SECONDS = 120
#: What the grading run writes next to otter's results.json: timeouts, kernel deaths, errors.
RECORD_NAME = "cnnbook.json"
#: The test code of otter's last cell, which runs every test file that did not run before.
EXPORT_CELL_MARK = "GradingResults(Checker.get_results())"

#: What otter's student notebook says in a written answer's cell before the student writes it.
OTTER_ANSWER_PROMPT = "_Type your answer here, replacing this text._"

_SOLUTION_MARK_RE = re.compile(r"^([ \t]*)### (BEGIN|END) SOLUTION[^\n]*$", re.M)
_HIDDEN_BODY_RE = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n(.*?)^[ \t]*### END HIDDEN TESTS", re.S | re.M)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


# --------------------------------------------------------------------------------------------
# The master notebook

@dataclass(frozen=True)
class Question:
    """One graded cell of the nbgrader source: an otter question of the same name and points."""

    name: str
    points: float
    manual: bool


def questions(exercise_id: str) -> list[Question]:
    """The graded cells of an exercise, in notebook order: test cells, then written answers."""
    found = []
    for cell in read_source(exercise_id).cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade"):
            manual = bool(meta.get("solution")) or cell.cell_type != "code"
            found.append(Question(meta["grade_id"], float(meta.get("points", 0)), manual))
    return found


def master_notebook(exercise_id: str) -> nbformat.NotebookNode:
    """The otter-assign master notebook of an exercise, made from its nbgrader source."""
    from .course import to_notebook

    source = to_notebook(exercise_id)
    cells: list = [_raw("# ASSIGNMENT CONFIG\n" + _yaml(_assignment_config()), "otter-assignment-config")]
    pending: list = []  # cells since the last question: the next question's solutions and prose

    def flush_plain():
        for cell in pending:
            cells.append(_solution_cell(cell) if _is_solution(cell) else _plain(cell))
        pending.clear()

    for cell in source.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
            cells.extend(_autograded_question(cell, pending))
            pending.clear()
        elif meta.get("grade"):
            flush_plain()
            cells.extend(_manual_question(cell))
        else:
            pending.append(cell)
    flush_plain()

    nb = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(source.metadata))
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    return nb


def _assignment_config() -> dict:
    return {
        "requirements": "requirements.txt",
        # The hidden tests import cnnbook.checks; the labs read the shipped data sets.
        "autograder_files": ["cnnbook", "data"],
        "python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
        "init_cell": True,
        "check_all_cell": False,
        "export_cell": False,
        # The reference solution is graded by the test suite (tests/test_otter.py), not here.
        "run_tests": False,
        "strip_solutions_from_all_cells": True,
        "tests": {"files": False, "ok_format": False},
        "generate": {"pdf": False, "show_hidden": False, "show_stdout": False},
    }


def _yaml(data: dict) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip("\n")


def _raw(source: str, cell_id: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_raw_cell(source)
    cell["id"] = cell_id
    return cell


def _plain(cell) -> nbformat.NotebookNode:
    """A copy of an nbgrader cell without nbgrader's metadata."""
    cell = copy.deepcopy(cell)
    cell.metadata.pop("nbgrader", None)
    return cell


def _is_solution(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def _solution_cell(cell) -> nbformat.NotebookNode:
    """A solution cell with otter's markers; a cell without markers is a solution as a whole."""
    out = _plain(cell)
    if cell.cell_type == "markdown":  # otter replaces a written answer whole
        out.source = _SOLUTION_MARK_RE.sub("", cell.source).strip("\n")
    elif _SOLUTION_MARK_RE.search(cell.source):
        out.source = _SOLUTION_MARK_RE.sub(lambda m: f"{m.group(1)}# {m.group(2)} SOLUTION", cell.source)
    else:
        out.source = f"# BEGIN SOLUTION\n{cell.source}\n# END SOLUTION"
    return out


def _autograded_question(test_cell, pending: list) -> list:
    """One otter question for an nbgrader test cell and the cells since the previous question.

    The question opens at the first solution cell among ``pending`` (the prose before it stays
    outside); consecutive solution cells share one solution block.
    """
    meta = nbgrader_meta(test_cell)
    name = meta["grade_id"]
    first = next((i for i, c in enumerate(pending) if _is_solution(c)), len(pending))
    cells = [_plain(c) for c in pending[:first]]
    config = {"name": name, "points": _number(meta.get("points", 0)), "all_or_nothing": True}
    cells.append(_raw("# BEGIN QUESTION\n" + _yaml(config), f"otter-{name}-begin"))
    in_solution = False
    for index, cell in enumerate(pending[first:]):
        if _is_solution(cell) != in_solution:
            which = "BEGIN" if not in_solution else "END"
            cells.append(_raw(f"# {which} SOLUTION", f"otter-{name}-solution-{index}-{which.lower()}"))
            in_solution = not in_solution
        cells.append(_solution_cell(cell) if in_solution else _plain(cell))
    if in_solution:
        cells.append(_raw("# END SOLUTION", f"otter-{name}-solution-end"))
    cells.append(_raw("# BEGIN TESTS", f"otter-{name}-tests-begin"))
    for hidden, code in _test_cases(test_cell.source):
        test = nbformat.v4.new_code_cell(code)
        test["id"] = f"otter-{name}-{'hidden' if hidden else 'public'}"
        cells.append(test)
    cells.append(_raw("# END TESTS", f"otter-{name}-tests-end"))
    cells.append(_raw("# END QUESTION", f"otter-{name}-end"))
    return cells


def _manual_question(cell) -> list:
    """A manually graded answer: a manual otter question (otter's autograder gives it no points)."""
    meta = nbgrader_meta(cell)
    name = meta["grade_id"]
    config = {"name": name, "manual": True, "points": _number(meta.get("points", 0))}
    body = [_solution_cell(cell)] if _is_solution(cell) else [_plain(cell)]
    if _is_solution(cell):
        body = [_raw("# BEGIN SOLUTION", f"otter-{name}-solution-begin"), *body,
                _raw("# END SOLUTION", f"otter-{name}-solution-end")]
    return [_raw("# BEGIN QUESTION\n" + _yaml(config), f"otter-{name}-begin"), *body,
            _raw("# END QUESTION", f"otter-{name}-end")]


def _number(value):
    value = float(value)
    return int(value) if value.is_integer() else value


def _test_cases(source: str) -> list[tuple[bool, str]]:
    """``(hidden, code)`` of the otter test cases of an nbgrader test cell.

    Each case is a function whose parameters are the notebook names its code reads, then a call
    to it (otter's exception-based format: it calls the function with those names from the
    graded notebook). When the hidden tests read a name that the public part of the cell sets,
    the hidden case runs the public part first, as nbgrader runs the whole cell.
    """
    public = strip_hidden(source).strip("\n")
    hidden = "\n".join(m.group(1) for m in _HIDDEN_BODY_RE.finditer(source)).strip("\n")
    cases = []
    if _has_code(public) or not _has_code(hidden):
        cases.append((False, _test_function("public_tests", public if _has_code(public) else "pass")))
    if _has_code(hidden):
        if _reads(hidden) & _sets(public):
            hidden = f"{public}\n{hidden}"
        cases.append((True, "# HIDDEN\n" + _test_function("hidden_tests", hidden)))
    return cases


def _has_code(code: str) -> bool:
    try:
        return bool(ast.parse(code).body)
    except SyntaxError:
        return True


def _function_table(code: str) -> symtable.SymbolTable:
    source = "def _case():\n" + textwrap.indent(code, "    ") + "\n"
    return symtable.symtable(source, "<test>", "exec").get_children()[0]


def _reads(code: str) -> set[str]:
    """Names ``code`` reads from the notebook when it runs as a function body (builtins excluded)."""
    names: set[str] = set()

    def visit(table):
        for sym in table.get_symbols():
            if sym.is_global() and not sym.is_declared_global() and not hasattr(builtins, sym.get_name()):
                names.add(sym.get_name())
        for child in table.get_children():
            visit(child)

    visit(_function_table(code))
    return names


def _sets(code: str) -> set[str]:
    if not _has_code(code):
        return set()
    return {s.get_name() for s in _function_table(code).get_symbols() if s.is_assigned() or s.is_imported()}


def _test_function(name: str, code: str) -> str:
    params = ", ".join(sorted(_reads(code)))
    function = f"def {name}({params}):\n" + textwrap.indent(code, "    ")
    expected = ast.dump(ast.Module(ast.parse(code).body, []))
    if ast.dump(ast.Module(ast.parse(function).body[0].body, [])) != expected:
        # Indenting changed a multi-line string: build the function from the syntax tree instead.
        tree = ast.parse(f"def {name}({params}):\n    pass")
        tree.body[0].body = ast.parse(code).body
        function = ast.unparse(tree)
    return f"{function}\n\n{name}({params})"


# --------------------------------------------------------------------------------------------
# otter assign

def build_dir(exercise_id: str, build: Path = BUILD) -> Path:
    return Path(build) / exercise_id


def autograder_zip(exercise_id: str, build: Path = BUILD) -> Path:
    """The autograder zip of an exercise (``_build/otter/<id>/autograder/<id>-autograder.zip``)."""
    return build_dir(exercise_id, build) / "autograder" / f"{exercise_id}-autograder.zip"


def master_path(exercise_id: str, build: Path = BUILD) -> Path:
    return build_dir(exercise_id, build) / f"{exercise_id}-master.ipynb"


def assign(exercise_id: str, build: Path = BUILD) -> Path:
    """Write the otter files of an exercise into ``build/<id>/`` with ``otter assign``.

    ``<id>-master.ipynb`` (the master notebook), ``student/<id>.ipynb`` (otter's student
    notebook, public tests in its metadata) and ``autograder/`` (otter's autograder notebook, its
    config, ``requirements.txt`` and ``<id>-autograder.zip``, the zip to upload to Gradescope,
    which carries the tests, the ``cnnbook`` package and the data sets). Cell ids and the zip are
    made the same on every run. Returns ``build/<id>``.
    """
    from .course import write_notebook

    master = master_notebook(exercise_id)
    out = build_dir(exercise_id, build)
    with tempfile.TemporaryDirectory(prefix="cnnbook-otter-assign-") as tmp:
        stage = Path(tmp) / exercise_id
        stage.mkdir()
        write_notebook(master, stage / f"{exercise_id}.ipynb")
        (stage / "requirements.txt").write_text(_requirements(), encoding="utf-8")
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
        shutil.copytree(Path(__file__).resolve().parent, stage / "cnnbook", ignore=ignore)
        if (ROOT / "data").is_dir():
            shutil.copytree(ROOT / "data", stage / "data", ignore=ignore)
        else:
            (stage / "data").mkdir()
        _run_otter_assign(stage / f"{exercise_id}.ipynb", stage / "dist")

        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        write_notebook(master, master_path(exercise_id, build))
        ids = {cell["id"] for cell in master.cells}
        for part in ("student", "autograder"):
            (out / part).mkdir()
            for path in sorted((stage / "dist" / part).iterdir()):
                if path.suffix == ".ipynb":
                    write_notebook(_normalise(nbformat.read(path, as_version=4), ids), out / part / path.name)
                elif path.suffix == ".zip":
                    _repack(path, autograder_zip(exercise_id, build))
                elif path.is_file():
                    shutil.copyfile(path, out / part / path.name)
                # the copies of cnnbook/ and data/ are in the zip
    return out


def _run_otter_assign(master: Path, result: Path) -> None:
    import logging

    from otter.assign import main as otter_assign

    quiet = [logging.getLogger(name) for name in ("otter", "otter.assign")]
    levels = [log.level for log in quiet]
    for log in quiet:
        log.setLevel(logging.WARNING)
    try:
        otter_assign(str(master), str(result), no_pdfs=True, no_run_tests=True)
    finally:
        for log, level in zip(quiet, levels):
            log.setLevel(level)


def _requirements() -> str:
    """The pinned packages the tests need on Gradescope, from pyproject.toml (otter adds its own)."""
    import tomllib
    from importlib import metadata

    pins: dict[str, str] = {}
    pyproject = ROOT / "pyproject.toml"
    if pyproject.exists():
        for dep in tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]:
            pins[re.split(r"[=<>!~\[; ]", dep, maxsplit=1)[0].lower()] = dep
    lines = [pins.get(name) or f"{name}=={metadata.version(name)}" for name in GRADING_REQUIREMENTS]
    return "\n".join(lines) + "\n"


def _normalise(nb: nbformat.NotebookNode, ids: set[str]) -> nbformat.NotebookNode:
    """Fixed ids for the cells otter adds (it gives them random ones)."""
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        if cell.get("id") not in ids or cell["id"] in seen:
            cell["id"] = f"otter-cell-{index}"
        seen.add(cell["id"])
    return nb


def _repack(src: Path, dest: Path) -> None:
    """Copy a zip with its entries sorted and their dates and permissions fixed."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in sorted(zin.namelist()):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o40755 if name.endswith("/") else 0o100644) << 16
            zout.writestr(info, zin.read(name))


def _up_to_date(exercise_id: str, build: Path) -> bool:
    from .course import write_notebook

    path = master_path(exercise_id, build)
    if not (path.exists() and autograder_zip(exercise_id, build).exists()):
        return False
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "master.ipynb"
        write_notebook(master_notebook(exercise_id), fresh)
        return fresh.read_bytes() == path.read_bytes()


# --------------------------------------------------------------------------------------------
# Grading

def grade(
    exercise_id: str,
    submissions: Path,
    out: Path | None = None,
    *,
    timeout: int = 60,
    jobs: int | None = None,
    limits=None,
    progress: bool = True,
    build: Path = BUILD,
) -> list:
    """Grade every submission with otter in the sandbox; write ``grades.csv`` and feedback.

    The submissions folder, the CSV and its reasons are those of :func:`cnnbook.grade.grade`.
    Written answers are not graded by otter: their column is 0 and ``needs_manual_grading``
    says whether the student wrote one. Submissions are graded ``jobs`` at a time (default: one
    per core); every run grades every submission (there is no saved state).
    """
    from concurrent.futures import ProcessPoolExecutor, as_completed
    import functools
    import multiprocessing

    from .grade import find_submissions, init_worker, progress_bar, write_csv
    from .sandbox import Limits

    limits = limits or Limits()
    out = Path(out or Path("grading") / exercise_id).resolve()
    for folder in (out, out / "feedback", out / "logs"):
        folder.mkdir(parents=True, exist_ok=True)
    if not _up_to_date(exercise_id, build):
        assign(exercise_id, build)
    zip_path = autograder_zip(exercise_id, build)
    graded = questions(exercise_id)
    subs = find_submissions(exercise_id, Path(submissions))
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(subs) or 1))

    task = functools.partial(_grade_in_worker, exercise_id=exercise_id, zip_path=zip_path, out=out,
                             timeout=timeout, limits=limits, graded=graded)
    outcomes = {}
    with progress_bar(progress, f"grading {exercise_id} with otter", total=len(subs), done=0) as advance:
        if subs:
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=init_worker) as pool:
                futures = [pool.submit(task, sub) for sub in subs]
                for future in as_completed(futures):
                    outcome = future.result()
                    outcomes[outcome.student] = outcome
                    advance()
    ordered = [outcomes[s.student] for s in subs]
    write_csv(out / "grades.csv", [q.name for q in graded], ordered)
    return ordered


def _grade_in_worker(sub, *, exercise_id: str, zip_path: Path, out: Path, timeout: int, limits, graded: list[Question]):
    from .grade import Outcome, read_submission, worker_uid
    from .sandbox import kill_all

    outcome = Outcome(sub.student, reasons=list(sub.reasons))
    outcome.scores = {q.name: 0.0 for q in graded}
    outcome.max_total = sum(q.points for q in graded)
    feedback = out / "feedback" / f"{sub.student}.html"
    feedback.unlink(missing_ok=True)
    results: dict = {}
    if sub.notebook is not None:
        try:
            nb = read_submission(sub.notebook)
        except ValueError as err:
            outcome.reasons.append(str(err))
        else:
            outcome.needs_manual = _answered_by_hand(exercise_id, nb, graded)
            outcome.reasons.extend(_scan(exercise_id, nb))
            scratch = Path(tempfile.mkdtemp(prefix="cnnbook-otter-"))
            try:
                results = _run_sandboxed(exercise_id, nb, scratch, zip_path, out / "logs" / f"{sub.student}.log",
                                         timeout=timeout, limits=limits, uid=worker_uid(), graded=graded, outcome=outcome)
                _apply_replay(exercise_id, scratch / "record", outcome)
            finally:
                kill_all(worker_uid())
                shutil.rmtree(scratch, ignore_errors=True)
    outcome.total = sum(outcome.scores.values())
    _write_feedback(feedback, exercise_id, outcome, graded, results)
    return outcome


def _scan(exercise_id: str, nb) -> list[str]:
    """The grader's reading of the submitted code (:func:`cnnbook.verify.scan`).

    Otter's own student notebook has no nbgrader test cells (its tests live in its metadata):
    their absence there is no tampering.
    """
    from . import verify
    from .notebooks import is_test_cell

    findings = verify.scan(exercise_id, nb)
    if "otter" in nb.metadata and not any(is_test_cell(c) for c in nb.cells):
        findings = [f for f in findings if not f.startswith("tampered tests: test cell")]
    return findings


def _apply_replay(exercise_id: str, record: Path, outcome) -> None:
    """Zero every question that otter passed but whose hidden checks fail the grader's replay.

    The hidden checks record, in the kernel, what each call of the student's code returned
    (:mod:`cnnbook.checks._replay`); :func:`cnnbook.verify.replay` runs them again here, outside
    the sandbox, on those records. Tests that were replaced or never ran left no record of theirs,
    so their question fails the replay whatever otter's results say.
    """
    from . import verify

    for grade_id, verdict in verify.replay(exercise_id, record).items():
        if verdict.status == "fail" and outcome.scores.get(grade_id, 0) > 0:
            outcome.scores[grade_id] = 0.0
            outcome.reasons.append(f"tampered tests or assertion helpers: {grade_id} passed in the notebook but "
                                   f"failed the grader's check outside it ({_one_line(verdict.message, 160)})")


def _answered_by_hand(exercise_id: str, nb, graded: list[Question]) -> bool:
    """Whether the notebook answers a manually graded cell (nbgrader: its checksum changed;
    otter's student notebook: its answer cell no longer holds otter's prompt)."""
    from nbgrader.utils import compute_checksum

    from .notebooks import EXERCISES

    manual = {q.name for q in graded if q.manual}
    if not manual:
        return False
    released = {}
    path = EXERCISES / exercise_id / f"{exercise_id}.ipynb"
    if path.exists():
        released = {nbgrader_meta(c).get("grade_id"): nbgrader_meta(c).get("checksum")
                    for c in nbformat.read(path, as_version=4).cells}
    for cell in nb.cells:
        if "otter_answer_cell" in cell.get("metadata", {}).get("tags", []) and cell.get("cell_type") == "markdown":
            if cell.source.strip() != OTTER_ANSWER_PROMPT:  # otter's student notebook, answered
                return True
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in manual:
            try:
                checksum = compute_checksum(cell)
            except (KeyError, AttributeError, TypeError):
                continue
            if checksum != (released.get(grade_id) or nbgrader_meta(cell).get("checksum")):
                return True
    return False


def _stage(scratch: Path, zip_path: Path, exercise_id: str, nb, uid: int | None) -> None:
    """Lay out otter's autograder folder in ``scratch``, as ``otter run`` does in a temporary one.

    The grader owns everything the student's code must not change: ``source/`` (the zip; only
    its ``otter_config.json``, which otter rewrites before the notebook runs, belongs to the
    sandbox's user) and ``submission/tests/``; both ``tests/`` folders are also bound read-only
    into the sandbox. ``submission/`` is
    world-writable with the sticky bit (the notebook's working folder: it may add files, not
    remove or rename the grader's). ``results/`` and ``home/`` belong to the sandbox's user.
    """
    from .sandbox import prepare_scratch

    prepare_scratch(scratch, uid)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(scratch / "source")
    config = scratch / "source" / "otter_config.json"
    if uid is not None and config.exists():
        os.chown(config, uid, uid)  # otter rewrites it, without any token, before the notebook runs
    submission = scratch / "submission"
    submission.mkdir()
    shutil.copytree(scratch / "source" / "tests", submission / "tests")
    nb = copy.deepcopy(nb)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    for index, cell in enumerate(nb.cells):
        cell.metadata["cnnbook"] = {"index": index}
    nbformat.write(nb, submission / f"{exercise_id}.ipynb")
    for path in (scratch / "__init__.py", submission / "__init__.py"):
        path.touch()
    (scratch / "submission_metadata.json").write_text("{}", encoding="utf-8")
    os.chmod(submission, 0o1777)
    for folder in (scratch / "results", scratch / "record", scratch / "home", scratch / "home" / "tmp"):
        prepare_scratch(folder, uid)


def _run_sandboxed(exercise_id: str, nb, scratch: Path, zip_path: Path, log: Path, *, timeout: int, limits,
                   uid: int | None, graded: list[Question], outcome) -> dict:
    """Run otter's autograder on one staged notebook in the sandbox; fill ``outcome``'s scores."""
    from .checks._replay import RECORD_VAR
    from .sandbox import command_env, limiter, wrap_command

    _stage(scratch, zip_path, exercise_id, nb, uid)
    autograded = [q for q in graded if not q.manual]
    code_cells = sum(1 for c in nb.cells if c.get("cell_type") == "code")
    budget = STARTUP_SECONDS + timeout * (code_cells + len(autograded) + 3)
    argv = wrap_command([sys.executable, "-P", "-m", "cnnbook.otter", str(scratch), str(timeout)], scratch, uid,
                        read_only=(scratch / "source" / "tests", scratch / "submission" / "tests"))
    with open(log, "wb") as fh:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT, cwd=scratch,
                                env=command_env(scratch, scratch / "home", {RECORD_VAR: scratch / "record"}), preexec_fn=limiter(limits),
                                start_new_session=True)
        try:
            proc.wait(budget)
        except subprocess.TimeoutExpired:
            outcome.reasons.append(f"timeout: grading ran past {budget} s")
        finally:
            with contextlib.suppress(OSError):  # whatever is left of the run (the kernel also goes by uid)
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    record = _read_json(scratch / "results" / RECORD_NAME)
    for reason in record.get("reasons", [])[:8]:
        reason = _one_line(reason)
        if reason not in outcome.reasons:
            outcome.reasons.append(reason)
    if record.get("error"):
        outcome.reasons.append(f"otter could not grade: {_one_line(record['error'])}")
    results = _read_json(scratch / "results" / "results.json")
    tests = results.get("tests") if isinstance(results.get("tests"), list) else []
    points = {q.name: q.points for q in autograded}
    found = False
    for test in tests:
        if not isinstance(test, dict) or test.get("name") not in points:
            continue
        try:
            score = float(test.get("score", 0))
        except (TypeError, ValueError):
            score = 0.0
        if not math.isfinite(score):
            score = 0.0
        found = True
        # Clamped: the results come from the graded notebook's own process.
        outcome.scores[test["name"]] = min(max(score, 0.0), points[test["name"]])
    if not found and not any(r.startswith(("timeout", "kernel died", "otter could not")) for r in outcome.reasons):
        outcome.reasons.append("otter found no test results")
    return results


def _read_json(path: Path, limit: int = 16 * 1024 * 1024) -> dict:
    """A JSON object the sandbox wrote, or {} when it is missing, too large or not an object."""
    try:
        if path.is_symlink() or path.stat().st_size > limit:
            return {}
        data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _one_line(text, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _write_feedback(path: Path, exercise_id: str, outcome, graded: list[Question], results: dict) -> None:
    """Scores per question, otter's summary of the public tests and why points were lost."""
    rows = "".join(
        f"<tr><td>{html.escape(q.name)}</td><td>{outcome.scores.get(q.name, 0):g} / {q.points:g}"
        f"{' (graded by a person)' if q.manual else ''}</td></tr>" for q in graded)
    public = next((t.get("output") for t in results.get("tests", []) if isinstance(t, dict)
                   and t.get("name") == "Public Tests"), None) if isinstance(results.get("tests"), list) else None
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in outcome.reasons)
    title = f"{html.escape(exercise_id)}: feedback for {html.escape(outcome.student)}"
    path.write_text(
        f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\n"
        f"<body><h1>{title}</h1>\n<p>Score: {outcome.total:g} / {outcome.max_total:g}</p>\n"
        f"<table><tr><th>part</th><th>points</th></tr>{rows}</table>\n"
        + (f"<h2>Grading</h2><ul>{reasons}</ul>\n" if reasons else "")
        + (f"<h2>Public tests</h2><pre>{html.escape(str(public))}</pre>\n" if public else "")
        + "</body></html>\n",
        encoding="utf-8",
    )


# --------------------------------------------------------------------------------------------
# Inside the sandbox: otter's autograder on the staged folder

def _sandboxed_main(autograder_dir: Path, timeout: int) -> int:
    """Run otter's autograder (what ``otter run`` runs) on a folder the grader laid out.

    Three changes to a plain ``otter run``: the grader already put the tests in place, read-only
    (otter's step that copies them is skipped); the kernel is told where they are by absolute
    path, not relative to a working folder the notebook may change; and nbclient gets nbgrader's
    per-cell timeout, interrupting a cell that runs too long and going on with the next one.
    Timeouts, resource limits and a dead kernel are written to ``results/cnnbook.json``.
    """
    import otter.execute
    from nbclient.exceptions import DeadKernelError
    from otter.run.run_autograder import main as run_autograder
    from otter.run.run_autograder.runners import python_runner

    from .sandbox import resource_reason

    record: dict = {"reasons": [], "error": None}
    current: dict = {}
    n_tests = len(list((autograder_dir / "submission" / "tests").glob("*.py")))

    def where(cell) -> str:
        if cell is None:
            return "a cell"
        grade_id = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
        if grade_id:
            return str(grade_id)
        index = (cell.get("metadata", {}).get("cnnbook") or {}).get("index")
        if index is not None:
            return f"cell {index}"
        return "otter's tests" if EXPORT_CELL_MARK in cell.get("source", "") else "otter's set-up"

    def add(reason: str) -> None:
        if reason not in record["reasons"]:
            record["reasons"].append(reason)

    def cell_timeout(cell) -> int:
        return timeout * (n_tests + 1) if EXPORT_CELL_MARK in cell.get("source", "") else timeout

    def on_execute(cell=None, **_):
        current["cell"] = cell

    def on_executed(cell=None, execute_reply=None, **_):
        content = (execute_reply or {}).get("content") or {}
        if content.get("ename") == TIMEOUT_ENAME:
            add(f"timeout in {where(cell)}")
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            reason = resource_reason(out.get("ename", ""), str(out.get("evalue", "")))
            if reason:
                add(f"{reason} in {where(cell)}")

    base_config = otter.execute.Config

    def config():
        c = base_config()
        c.ExecutePreprocessor.timeout_func = cell_timeout
        c.ExecutePreprocessor.interrupt_on_timeout = True
        c.ExecutePreprocessor.error_on_timeout = {"ename": TIMEOUT_ENAME, "evalue": f"ran past {timeout} s",
                                                  "traceback": [f"{TIMEOUT_ENAME}: the cell ran past its timeout"]}
        c.ExecutePreprocessor.startup_timeout = STARTUP_SECONDS
        c.ExecutePreprocessor.on_cell_execute = on_execute
        c.ExecutePreprocessor.on_cell_executed = on_executed
        return c

    def staged(self):
        if not (Path("submission/tests").is_dir() and Path("source/tests").is_dir()):
            raise RuntimeError("the grader did not lay out the tests")

    def grade_notebook(*args, tests_glob=None, test_dir=None, **kwargs):
        # Absolute paths: a notebook that changes its working folder still gets the real tests.
        return run_tests(*args, tests_glob=[os.path.abspath(p) for p in tests_glob or []],
                         test_dir=os.path.abspath(test_dir) if test_dir else test_dir, **kwargs)

    run_tests = python_runner.grade_notebook
    python_runner.grade_notebook = grade_notebook
    otter.execute.Config = config
    python_runner.PythonRunner.prepare_files = staged
    try:
        run_autograder(str(autograder_dir), otter_run=True, logo=False)
    except DeadKernelError:
        add(f"kernel died in {where(current.get('cell'))}")
    except BaseException as err:  # noqa: BLE001 - whatever stopped otter is reported, not raised
        record["error"] = f"{type(err).__name__}: {err}"
    with open(autograder_dir / "results" / RECORD_NAME, "w", encoding="utf-8") as fh:
        json.dump(record, fh)
    return 0


if __name__ == "__main__":
    sys.exit(_sandboxed_main(Path(sys.argv[1]), int(sys.argv[2])))
