"""``cnnbook grade``: autograde a folder of submissions with nbgrader.

Layout of a submissions folder (both forms may be mixed)::

    SUBMISSIONS/alice/ex06-conv.ipynb      one folder per student
    SUBMISSIONS/bob.ipynb                  or one notebook per student

Everything goes to an output folder (default ``grading/<id>``): the nbgrader course tree with
its sqlite gradebook, ``grades.csv`` (one row per student, every student present) and
``feedback/<student>.html``. A notebook that is not valid JSON, that runs past the per-cell
timeout or that kills its kernel costs only the points it lost; the reason is written in the
CSV and the batch goes on.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import functools
import hashlib
import html
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute

from .course import api_for, build_course, db_url as _db_url
from .sandbox import ENV_VAR as SANDBOX_ENV
from .sandbox import (KERNEL_NAME, Limits, acquire_uid, kill_all, prepare_scratch, resource_reason, sandbox_env,
                      write_kernelspec)
from .checks._replay import RECORD_VAR
from .notebooks import is_test_cell, nbgrader_meta, read_source
from . import verify

TIMEOUT_ENAME = "CellTimeoutError"
DEAD_KERNEL_ENAME = "DeadKernelError"
NOT_RUN_ENAME = "NotExecuted"
#: Bumped when what a saved grade means changes, so old saved grades are not reused.
STATE_VERSION = 2
#: Characters of printed or displayed output kept per cell and per notebook (a figure is about
#: 1 MB); the rest is dropped, errors are always kept.
OUTPUT_LIMIT = 10_000_000
NOTEBOOK_OUTPUT_LIMIT = 50_000_000
TRUNCATED_MARK = "[output truncated by the grader"
#: The error a cell gets in the graded notebook when it passed in the kernel but not outside.
REPLAY_ENAME = "GraderCheckFailed"


class SafeExecute(Execute):
    """nbgrader's Execute, which survives a kernel that dies.

    When the kernel dies (``os._exit``, a segfault, the out-of-memory killer), nbgrader's own
    preprocessor raises and the whole notebook is lost. Here the cell that killed the kernel
    gets an error output and every later code cell gets one too, without being run: a test
    cell never passes by not running, and cells that ran before keep their results.
    """

    def preprocess(self, nb, resources=None, km=None):
        self._dead_at = None
        self._output_sizes: dict[int, int] = {}
        self._notebook_output = 0
        return super().preprocess(nb, resources, km)

    def output(self, outs, msg, display_id, cell_index):
        """Keep what a cell prints or displays up to the limits (OUTPUT_LIMIT, NOTEBOOK_OUTPUT_LIMIT); errors always."""
        if msg["msg_type"] == "error":
            return super().output(outs, msg, display_id, cell_index)
        content = msg.get("content") or {}
        size = len(str(content.get("text", ""))) + sum(len(str(v)) for v in (content.get("data") or {}).values())
        used = self._output_sizes.get(cell_index, 0)
        self._output_sizes[cell_index] = used + size
        self._notebook_output += size
        if used + size <= OUTPUT_LIMIT and self._notebook_output <= NOTEBOOK_OUTPUT_LIMIT:
            return super().output(outs, msg, display_id, cell_index)
        if not any(TRUNCATED_MARK in str(o.get("text", "")) for o in outs):  # say so once per cell
            outs.append(nbformat.v4.new_output("stream", name="stderr", text=f"{TRUNCATED_MARK} ({OUTPUT_LIMIT:,} characters "
                                               f"at most per cell, {NOTEBOOK_OUTPUT_LIMIT:,} per notebook; "
                                               "the rest was dropped)\n"))
        return None

    def start_new_kernel(self, **kwargs):
        # The kernel's own start-up chatter on stderr would drown the progress bar;
        # what a student's code prints still reaches the notebook through the kernel.
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        return super().start_new_kernel(**kwargs)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._dead_at is not None:
            cell.outputs = [_error_output(NOT_RUN_ENAME, f"not run: the kernel died in cell {self._dead_at}")]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError as err:
            self._dead_at = index
            cell.outputs.append(_error_output(DEAD_KERNEL_ENAME, f"the kernel died while running this cell ({err})"))
            return cell, resources


def _error_output(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


@dataclass
class Outcome:
    """What grading one student produced."""

    student: str
    scores: dict[str, float] = field(default_factory=dict)
    total: float = 0.0
    max_total: float = 0.0
    needs_manual: bool = False
    reasons: list[str] = field(default_factory=list)


@dataclass
class Submission:
    student: str
    notebook: Path | None
    reasons: list[str] = field(default_factory=list)


_STUDENT_RE = re.compile(r"[^A-Za-z0-9._-]+")


def _student_id(name: str) -> str:
    clean = _STUDENT_RE.sub("_", name).strip("._") or "unnamed"
    return clean


def find_submissions(exercise_id: str, folder: Path) -> list[Submission]:
    """Every student in ``folder``, sorted by id, with the notebook to grade (or None and why)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder {folder} does not exist")
    expected = f"{exercise_id}.ipynb"
    found: dict[str, Submission] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            student = _student_id(entry.name)
            notebooks = sorted(p for p in entry.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            if (entry / expected).is_file():
                sub = Submission(student, entry / expected)
            elif len(notebooks) == 1:
                sub = Submission(student, notebooks[0], [f"notebook renamed to {notebooks[0].name}"])
            elif notebooks:
                names = ", ".join(p.name for p in notebooks)
                sub = Submission(student, None, [f"missing notebook: no {expected} among {names}"])
            else:
                sub = Submission(student, None, [f"missing notebook: no {expected}"])
        elif entry.suffix == ".ipynb":
            sub = Submission(_student_id(entry.stem), entry)
        else:
            continue
        if sub.student in found:
            sub.reasons.append(f"two submissions map to student id {sub.student}; graded {entry.name}")
        found[sub.student] = sub
    return [found[s] for s in sorted(found)]


def read_submission(path: Path) -> NotebookNode:
    """Read a submitted notebook or raise ValueError saying, for a person, what is wrong."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # nbformat raises several kinds; all mean "unreadable"
        raise ValueError(f"unreadable notebook (not valid notebook JSON): {type(err).__name__}: {err}") from None
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as err:
        raise ValueError(f"invalid notebook: {err.message}") from None
    return nb


def grade_ids(exercise_id: str) -> list[str]:
    """The graded cells of an exercise, in notebook order."""
    return [nbgrader_meta(c)["grade_id"] for c in read_source(exercise_id).cells if nbgrader_meta(c).get("grade")]


def _reasons_from_autograded(path: Path) -> list[str]:
    """What the executed notebook shows the grader did: timeouts, kernel deaths, resource limits."""
    if not path.exists():
        return []
    nb = nbformat.read(path, as_version=4)
    reasons = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = nbgrader_meta(cell).get("grade_id") or f"cell {index}"
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and TRUNCATED_MARK in str(out.get("text", "")):
                reasons.append(f"output limit: too much printed in {where}")
            if out.get("output_type") != "error":
                continue
            ename, evalue = out.get("ename", ""), str(out.get("evalue", ""))
            if ename == TIMEOUT_ENAME:
                reason = "timeout"
            elif ename == DEAD_KERNEL_ENAME:
                reason = "kernel died"
            else:
                reason = resource_reason(ename, evalue)
            if reason and f"{reason} in {where}" not in reasons:
                reasons.append(f"{reason} in {where}")
    return reasons


def _fallback_feedback(path: Path, exercise_id: str, outcome: Outcome) -> None:
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in outcome.reasons) or "<li>no reason recorded</li>"
    path.write_text(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(exercise_id)}: feedback for {html.escape(outcome.student)}</title></head>\n"
        f"<body><h1>{html.escape(exercise_id)}: feedback for {html.escape(outcome.student)}</h1>\n"
        f"<p>Score: {outcome.total:g} / {outcome.max_total:g}</p>\n"
        f"<p>Your notebook could not be graded:</p><ul>{reasons}</ul></body></html>\n",
        encoding="utf-8",
    )


def grade(
    exercise_id: str,
    submissions: Path,
    out: Path | None = None,
    *,
    timeout: int = 60,
    jobs: int | None = None,
    force: bool = False,
    limits: Limits = Limits(),
    progress: bool = True,
) -> list[Outcome]:
    """Autograde every submission in ``submissions``; write grades.csv and feedback into ``out``.

    Submissions are graded ``jobs`` at a time (default: one per core), each kernel in the
    sandbox of :mod:`cnnbook.sandbox`. A submission already graded from the same bytes, the same
    source and the same settings is not graded again unless ``force``; each finished grade is
    saved at once, so an interrupted batch resumes where it stopped.
    """
    out = Path(out or Path("grading") / exercise_id).resolve()
    course, state_dir, feedback_dir = out / "course", out / "state", out / "feedback"
    for folder in (course, state_dir, feedback_dir):
        folder.mkdir(parents=True, exist_ok=True)
    jobs = max(1, jobs or os.cpu_count() or 1)

    build_course(course, exercise_id, api_for(course))
    write_kernelspec(course / ".jupyter")
    questions = grade_ids(exercise_id)
    settings = _settings_digest(course, exercise_id, timeout, limits)
    subs = find_submissions(exercise_id, Path(submissions))

    outcomes: dict[str, Outcome] = {}
    todo: list[tuple[Submission, str]] = []
    for sub in subs:
        key = _submission_key(sub, settings)
        saved = _load_state(state_dir / f"{sub.student}.json", key)
        if saved is not None and not force and (feedback_dir / f"{sub.student}.html").exists():
            outcomes[sub.student] = saved
        else:
            todo.append((sub, key))

    task = functools.partial(_grade_in_worker, exercise_id=exercise_id, out=out, timeout=timeout, limits=limits)
    with progress_bar(progress, f"grading {exercise_id}", total=len(subs), done=len(outcomes)) as advance:
        if todo:
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=ctx, initializer=init_worker) as pool:
                futures = {pool.submit(task, sub, key): sub for sub, key in todo}
                for future in as_completed(futures):
                    outcome = future.result()
                    outcomes[outcome.student] = outcome
                    advance()

    ordered = [outcomes[s.student] for s in subs]
    _fill_scores(course, exercise_id, questions, ordered)
    for outcome in ordered:
        target = feedback_dir / f"{outcome.student}.html"
        if not target.exists():
            _fallback_feedback(target, exercise_id, outcome)
    write_csv(out / "grades.csv", questions, ordered)
    return ordered


@contextlib.contextmanager
def progress_bar(enabled: bool, label: str, total: int, done: int):
    """A rich progress bar (or nothing) around a batch; yields the function that advances it."""
    if not enabled:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
        task = bar.add_task(label, total=total, completed=done)
        yield lambda: bar.advance(task)


def _settings_digest(course: Path, exercise_id: str, timeout: int, limits: Limits) -> str:
    source = (course / "source" / exercise_id / f"{exercise_id}.ipynb").read_bytes()
    h = hashlib.sha256(source)
    h.update(json.dumps({"timeout": timeout, "limits": dataclasses.asdict(limits), "version": STATE_VERSION}).encode())
    return h.hexdigest()


def _submission_key(sub: Submission, settings: str) -> str:
    h = hashlib.sha256(settings.encode())
    h.update(sub.notebook.read_bytes() if sub.notebook is not None else b"<missing>")
    h.update("\n".join(sub.reasons).encode())
    return h.hexdigest()


def _load_state(path: Path, key: str) -> Outcome | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("key") != key:
        return None
    return Outcome(student=data["student"], reasons=list(data["reasons"]))


def _save_state(path: Path, key: str, outcome: Outcome) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"key": key, "student": outcome.student, "reasons": outcome.reasons}), encoding="utf-8")
    os.replace(tmp, path)


_UID: int | None = None


def worker_uid() -> int | None:
    """The sandbox uid this worker process holds (None where the grader cannot switch users)."""
    return _UID


def init_worker() -> None:
    """Set up a grading worker process: hold a sandbox uid, one thread for NumPy and torch."""
    global _UID
    _UID = acquire_uid()
    # The replayed checks compute their references with NumPy and torch: one thread per worker.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", message=".*not in session.*")


def _grade_in_worker(sub: Submission, key: str, *, exercise_id: str, out: Path, timeout: int, limits: Limits) -> Outcome:
    """Grade one submission in a worker process; save its state; return its outcome."""
    course = out / "course"
    uid = _UID
    scratch = Path(tempfile.mkdtemp(prefix="cnnbook-kernel-"))
    try:
        prepare_scratch(scratch, uid)
        record = scratch / "record"
        prepare_scratch(record, uid)
        os.environ["JUPYTER_PATH"] = str(course / ".jupyter")
        os.environ[SANDBOX_ENV] = sandbox_env(scratch, limits, uid, extra={RECORD_VAR: str(record)})
        api = api_for(
            course,
            **{
                "Execute.timeout": timeout,
                "Execute.startup_timeout": 120,
                "Execute.kernel_name": KERNEL_NAME,
                "KernelManager.transport": "ipc",
                "KernelManager.ip": str(scratch / "kernel"),
                "Autograde.autograde_preprocessors": _autograde_preprocessors(),
                "GenerateFeedback.preprocessors": _feedback_preprocessors(),
            },
        )
        outcome = _grade_one(api, course, exercise_id, sub, out / "feedback", record)
    finally:
        kill_all(uid)
        shutil.rmtree(scratch, ignore_errors=True)
    _save_state(out / "state" / f"{sub.student}.json", key, outcome)
    return outcome


def _autograde_preprocessors():
    """nbgrader's own autograde pipeline with Execute swapped for SafeExecute."""
    from nbgrader.converters import Autograde

    return [SafeExecute if pp is Execute else pp for pp in Autograde.class_traits()["autograde_preprocessors"].default()]


def _feedback_preprocessors():
    """nbgrader's feedback pipeline, with the hidden tests' source removed from what students see."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.preprocessors import ClearHiddenTests, GetGrades

    default = GenerateFeedback.class_traits()["preprocessors"].default()
    at = default.index(GetGrades) + 1
    return [*default[:at], ClearHiddenTests, *default[at:]]


def _grade_one(api, course: Path, exercise_id: str, sub: Submission, feedback_dir: Path, record: Path) -> Outcome:
    outcome = Outcome(sub.student, reasons=list(sub.reasons))
    for stale in (feedback_dir / f"{sub.student}.html",):
        stale.unlink(missing_ok=True)
    if sub.notebook is None:
        _forget(course, exercise_id, sub.student)
        return outcome
    try:
        nb = read_submission(sub.notebook)
    except ValueError as err:
        outcome.reasons.append(str(err))
        _forget(course, exercise_id, sub.student)
        return outcome
    outcome.reasons.extend(verify.scan(exercise_id, nb))
    target = course / "submitted" / sub.student / exercise_id / f"{exercise_id}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    result = api.autograde(exercise_id, sub.student, force=True, create=True)
    autograded = course / "autograded" / sub.student / exercise_id / f"{exercise_id}.ipynb"
    outcome.reasons.extend(_reasons_from_autograded(autograded))
    if not result["success"]:
        last = (result.get("error") or result.get("log") or "unknown error").strip().splitlines()[-1:]
        outcome.reasons.append(f"autograde failed: {' '.join(last)}")
        _forget(course, exercise_id, sub.student)
        return outcome
    verdicts = verify.replay(exercise_id, record)
    outcome.reasons.extend(_apply_verdicts(course, exercise_id, sub.student, autograded, verdicts))
    fb = api.generate_feedback(exercise_id, sub.student, force=True)
    produced = course / "feedback" / sub.student / exercise_id / f"{exercise_id}.html"
    if fb["success"] and produced.exists():
        shutil.copyfile(produced, feedback_dir / f"{sub.student}.html")
    return outcome


def _apply_verdicts(course: Path, exercise_id: str, student: str, autograded: Path,
                    verdicts: dict[str, verify.Verdict]) -> list[str]:
    """Zero every cell that passed in the kernel but failed the grader's replay of its checks.

    The graded notebook gets an error output in that cell (students see it in their feedback)
    and the gradebook a score of 0; the returned reasons go to the CSV.
    """
    from nbgrader.api import Gradebook, MissingEntry

    zeroed: dict[str, str] = {}
    with Gradebook(_db_url(course)) as gb:
        for grade_id, verdict in verdicts.items():
            if verdict.status != "fail":
                continue
            try:
                grade = gb.find_grade(grade_id, exercise_id, exercise_id, student)
            except MissingEntry:
                continue
            if (grade.auto_score or 0) > 0:
                grade.auto_score = 0.0
                zeroed[grade_id] = verdict.message
        gb.db.commit()
    if not zeroed:
        return []
    nb = nbformat.read(autograded, as_version=4)
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if cell.cell_type == "code" and grade_id in zeroed:
            cell.outputs.append(_error_output(
                REPLAY_ENAME, "this cell passed in your notebook, but the grader's own check of the results your "
                f"code produced failed: {zeroed[grade_id]}"))
    nbformat.write(nb, autograded)
    return [f"tampered tests or assertion helpers: {grade_id} passed in the notebook but failed the grader's "
            f"check outside it ({_short(message)})" for grade_id, message in zeroed.items()]


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _forget(course: Path, exercise_id: str, student: str) -> None:
    """Drop an earlier graded submission of a student whose current one cannot be graded."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(_db_url(course)) as gb:
        try:
            gb.remove_submission(exercise_id, student)
        except MissingEntry:
            pass


def _fill_scores(course: Path, exercise_id: str, questions: list[str], outcomes: list[Outcome]) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(_db_url(course)) as gb:
        assignment = gb.find_assignment(exercise_id)
        max_total = float(assignment.max_score)
        for outcome in outcomes:
            outcome.max_total = max_total
            outcome.scores = {q: 0.0 for q in questions}
            try:
                sub = gb.find_submission_notebook(exercise_id, exercise_id, outcome.student)
            except MissingEntry:
                continue
            for g in sub.grades:
                outcome.scores[g.name] = float(g.score or 0.0)
                if g.needs_manual_grade:
                    outcome.needs_manual = True
            outcome.total = float(sub.score or 0.0)


def write_csv(path: Path, questions: list[str], outcomes: list[Outcome]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["student", "total", "max_total", *questions, "needs_manual_grading", "reasons"])
        for o in outcomes:
            writer.writerow([
                o.student, f"{o.total:g}", f"{o.max_total:g}",
                *(f"{o.scores.get(q, 0.0):g}" for q in questions),
                "yes" if o.needs_manual else "no",
                "; ".join(o.reasons),
            ])
