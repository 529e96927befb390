"""Grading throughput: ``cnnbook grade`` against plain ``nbgrader autograde`` and nbclient alone.

One batch of generated ex06-conv submissions (default 40; ``tests/submissions.py`` builds them
from the instructor source and the catalogue of wrong answers in ``tests/catalogue``): mostly
correct, several with one catalogued mistake, a few answered only in part, one that loops forever
in a solution cell. Every grader gets the same notebooks and the same per-cell timeout (default
10 s, so the looping notebook costs the same on every side and does not dominate). The runs, in
this order, each compared side bracketing the other so that a machine growing slower or faster
during the minutes they take weighs on both:

1. **nbclient alone** on the first half of the notebooks: each notebook with its hidden tests
   restored (every test cell replaced by the instructor source's, as nbgrader does) executed by
   ``nbclient.NotebookClient`` in a fresh ``python3`` kernel, one after the other, errors
   allowed, interrupted on timeout: the cost of running the students' code and the tests, and
   nothing else;
2. **cnnbook, one job**: ``cnnbook grade ex06-conv DIR --jobs 1 --force --no-progress`` on all
   the notebooks, into an empty output folder: ``T_cnnbook1``;
3. **nbclient alone** on the second half; with 1, ``T_nbclient``;
4. **plain nbgrader** on the first half: a course tree of its own (``cnnbook.course.build_course``;
   generating the assignment is the instructor's release step and is not timed) with the
   notebooks in ``submitted/``, then ``nbgrader autograde ex06-conv --force`` with nbgrader's
   defaults (one submission at a time) and ``Execute.timeout`` set;
5. **cnnbook, two jobs**: as 2 with ``--jobs 2``: ``T_cnnbook2``;
6. **plain nbgrader** on the second half; then ``nbgrader autograde`` on a course with no
   submission (it finds nothing and exits with 1), its start-up alone, which is taken away once:
   an instructor starts it once for the whole batch. 4 + 6 - start-up = ``T_nbgrader`` (if
   anything, slightly more than one start: a real run's once-per-run work is a little more than
   an empty one's, which favours cnnbook by that little);
7. **cnnbook on an empty folder**: the fixed cost of one run (start-up, course tree, CSV), for
   the notes.

A CPU-bound probe (a pure-Python loop, about a second) runs alone between the sequential runs:
its times say whether the machine's speed changed during the comparison, and the overhead's note
says so when it changed by more than 25%. Before 4 and after 6 the probe also runs twice at once:
two free cores finish the pair as fast as one loop (``2 * t_alone / t_both`` = 2.0); a machine
whose other programs leave room for one process gives about 1.0, and then no two-worker grader
can reach the target; the speed-up's note names the figure. CPU seconds of every run (this
process and its children, kernels included) are recorded too.

Figures:

- speed-up = ``T_nbgrader / T_cnnbook2``; target at least 1.8 (on two cores);
- overhead per submission = ``(T_cnnbook1 - T_nbclient) / n``: everything ``cnnbook grade`` adds
  to running the notebooks, sequentially on both sides (CLI and nbgrader start-up, the course
  tree, the sandbox's kernel launcher, the gradebook, the feedback HTML, the CSV), spread over
  the batch; target at most 1.5 s. nbgrader's own overhead, ``(T_nbgrader - T_nbclient) / n``,
  is reported beside it.

cnnbook does more than ``nbgrader autograde`` in its time (feedback HTML and the CSV), so the
speed-up is measured against the smaller job.
"""

from __future__ import annotations

import copy
import csv
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, family_main, line, say

EXERCISE = "ex06-conv"
SPEEDUP_TARGET = 1.8
OVERHEAD_TARGET_S = 1.5


def _submission_helpers():
    sys.path.insert(0, str(ROOT / "tests"))
    import submissions  # tests/submissions.py

    return submissions


def plan(n: int) -> list[str]:
    """The kinds of the ``n`` submissions, in a fixed shuffled order.

    About 70% correct, 20% with one catalogued mistake, 7.5% answered in part, and one that
    loops. With 40: 28 correct, 8 mistakes, 3 partial, 1 looping.
    """
    if n < 1:
        raise ValueError(f"need at least one submission, got {n}")
    loop = 1
    wrong = min(max(1, round(0.2 * n)), n - loop) if n > 1 else 0
    partial = min(round(0.075 * n), n - loop - wrong)
    correct = n - loop - wrong - partial
    kinds = ["correct"] * correct + [f"mistake-{i}" for i in range(wrong)] + [f"partial-{i}" for i in range(partial)] + ["looping"]
    random.Random(0).shuffle(kinds)
    return kinds


def make_submissions(folder: Path, n: int) -> dict[str, str]:
    """Write ``n`` submissions ``folder/student-NN/ex06-conv.ipynb``; return student -> kind."""
    subs = _submission_helpers()
    from cnnbook.notebooks import nbgrader_meta

    catalogue = subs.mistakes(EXERCISE)
    kinds = plan(n)
    n_wrong = sum(k.startswith("mistake-") for k in kinds)
    n_partial = sum(k.startswith("partial-") for k in kinds)
    answers = subs.reference_answers(EXERCISE)
    solution_ids = list(answers)
    students = {}
    for index, kind in enumerate(kinds):
        student = f"student-{index + 1:02d}"
        if kind == "correct":
            nb = subs.answered(EXERCISE)
            label = "correct"
        elif kind == "looping":
            # The function is defined, then the cell never returns: the timeout interrupts it.
            nb = subs.answered(EXERCISE, {solution_ids[0]: "while True:\n    pass"})
            label = f"looping in {solution_ids[0]}"
        elif kind.startswith("mistake-"):
            m = catalogue[int(kind.split("-")[1]) * len(catalogue) // max(1, n_wrong)]
            nb = subs.answered(EXERCISE, {m.replaces: m.code})
            label = f"mistake {m.id}"
        else:
            # Answered the first k functions, left the rest as released (NotImplementedError).
            i = int(kind.split("-")[1])
            k = max(1, (i + 1) * len(solution_ids) // (n_partial + 1))
            nb = copy.deepcopy(subs.released(EXERCISE))
            for cell in nb.cells:
                grade_id = nbgrader_meta(cell).get("grade_id")
                if grade_id in solution_ids[:k]:
                    cell.source = answers[grade_id]
            label = f"partial: first {k} of {len(solution_ids)} answered"
        subs.write(nb, folder / student / f"{EXERCISE}.ipynb")
        students[student] = label
    return students


def restored(nb):
    """The submission with every test cell replaced by the instructor's (hidden tests included)."""
    from cnnbook.notebooks import is_test_cell, nbgrader_meta, read_source

    tests = {nbgrader_meta(c)["grade_id"]: c.source for c in read_source(EXERCISE).cells if is_test_cell(c)}
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in tests and cell.cell_type == "code":
            cell.source = tests[grade_id]
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


class CpuClock:
    """CPU seconds (user + system) of this process and of its finished children, kernels included."""

    def __init__(self):
        self.start = self._now()

    @staticmethod
    def _now() -> float:
        total = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            usage = resource.getrusage(who)
            total += usage.ru_utime + usage.ru_stime
        return total

    def elapsed(self) -> float:
        return self._now() - self.start


CPU_S: dict[str, float] = {}


NBCLIENT: dict = {"seconds": {}, "failed": {}}


def run_nbclient(folder: Path, students: list[str], timeout: int, key: str = "nbclient") -> float:
    """Execute every restored notebook with nbclient, one after the other; return the wall time.

    A notebook whose kernel could not start or died is recorded (and its time still counts).
    """
    import nbformat
    from nbclient import NotebookClient

    notebooks = [restored(nbformat.read(folder / s / f"{EXERCISE}.ipynb", as_version=4)) for s in students]
    cpu, start = CpuClock(), time.perf_counter()
    for student, nb in zip(students, notebooks):
        began = time.perf_counter()
        try:
            NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                           interrupt_on_timeout=True).execute()
        except Exception as err:  # a kernel that failed is data here, not a crash of the benchmark
            NBCLIENT["failed"][student] = f"{type(err).__name__}: {err}"[:300]
        NBCLIENT["seconds"][student] = round(time.perf_counter() - began, 2)
    CPU_S[key] = cpu.elapsed()
    return time.perf_counter() - start


PROBE = "x = 0\nfor i in range({n}):\n    x += i\n"


def probe(copies: int, quick: bool = False) -> float:
    """Wall time of ``copies`` CPU-bound pure-Python loops started at once (about a second each)."""
    code = PROBE.format(n=5_000_000 if quick else 25_000_000)
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(copies)]
    for proc in procs:
        proc.wait()
    return time.perf_counter() - start


def parallel_capacity(quick: bool = False) -> float:
    """How much faster two CPU-bound processes finish than one, on this machine now.

    The loop runs once alone, then twice at the same time: the figure is ``2 * t_alone / t_both``,
    2.0 when two cores are free, about 1.0 when other programs leave room for one process only.
    """
    return 2 * probe(1, quick) / probe(2, quick)


def _env() -> dict:
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def _timed(cmd: list[str], cwd: Path, log: Path) -> tuple[float, int]:
    cpu, start = CpuClock(), time.perf_counter()
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.run(cmd, cwd=cwd, env=_env(), stdout=fh, stderr=subprocess.STDOUT)
    CPU_S[log.stem] = cpu.elapsed()
    return time.perf_counter() - start, proc.returncode


def run_cnnbook(folder: Path, out: Path, jobs: int, timeout: int, log: Path) -> tuple[float, int]:
    cnnbook = str(Path(sys.executable).with_name("cnnbook"))
    return _timed([cnnbook, "grade", EXERCISE, str(folder), "--jobs", str(jobs), "--timeout", str(timeout),
                   "--no-progress", "--force", "--out", str(out)], ROOT, log)


def prepare_nbgrader(course: Path, folder: Path, students: list[str], timeout: int) -> None:
    """A plain nbgrader course tree with the assignment generated and the submissions in place."""
    from cnnbook.course import api_for, build_course, db_url

    build_course(course, EXERCISE, api_for(course))
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"c.CourseDirectory.db_url = {db_url(course)!r}\n"
        "c.CourseDirectory.course_id = 'cnnbook'\n"
        f"c.Execute.timeout = {int(timeout)}\n",
        encoding="utf-8",
    )
    for student in students:
        target = course / "submitted" / student / EXERCISE / f"{EXERCISE}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / student / f"{EXERCISE}.ipynb", target)


def run_nbgrader(course: Path, log: Path) -> tuple[float, int]:
    nbgrader = str(Path(sys.executable).with_name("nbgrader"))
    return _timed([nbgrader, "autograde", EXERCISE, "--force"], course, log)


def nbgrader_totals(course: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook, MissingEntry

    from cnnbook.course import db_url

    totals = {}
    with Gradebook(db_url(course)) as gb:
        for student in gb.students:
            try:
                totals[student.id] = float(gb.find_submission(EXERCISE, student.id).score or 0.0)
            except MissingEntry:
                pass
    return totals


def cnnbook_totals(out: Path) -> dict[str, float]:
    try:
        with open(out / "grades.csv", newline="", encoding="utf-8") as fh:
            return {row["student"]: float(row["total"]) for row in csv.DictReader(fh)}
    except OSError:
        return {}


def run(args) -> dict:
    n = args.submissions or (3 if args.quick else 40)
    timeout = args.timeout
    work = Path(tempfile.mkdtemp(prefix="cnnbook-bench-grading-"))
    folder = work / "submissions"
    logs = work / "logs"
    logs.mkdir(parents=True)
    speed: dict[str, float] = {}  # one probe loop alone, between the runs: how fast the machine is now

    def mark(tag: str) -> None:
        speed[tag] = round(probe(1, args.quick), 3)

    try:
        say(f"grading: writing {n} submissions of {EXERCISE} into {folder}")
        kinds = make_submissions(folder, n)
        students = sorted(kinds)
        half = (n + 1) // 2
        first, second = students[:half], students[half:]
        prepare_nbgrader(work / "nbgrader-a", folder, first, timeout)
        prepare_nbgrader(work / "nbgrader-b", folder, second, timeout)
        prepare_nbgrader(work / "nbgrader-empty", folder, [], timeout)

        # The sequential comparison, bracketed: nbclient on the first half, cnnbook on all, nbclient
        # on the second half, so that a machine getting slower or faster weighs on both sides.
        mark("start")
        say(f"grading: nbclient alone on {len(first)} of {n} notebooks (timeout {timeout} s per cell)")
        t_nbclient_a = run_nbclient(folder, first, timeout, "nbclient-a")
        mark("after_nbclient_a")
        say(f"grading: nbclient {t_nbclient_a:.1f} s; cnnbook grade --jobs 1 on all {n}")
        t_cnnbook1, rc1 = run_cnnbook(folder, work / "cnnbook-1", 1, timeout, logs / "cnnbook-1.log")
        mark("after_cnnbook1")
        say(f"grading: cnnbook --jobs 1 {t_cnnbook1:.1f} s; nbclient alone on the other {len(second)}")
        t_nbclient_b = run_nbclient(folder, second, timeout, "nbclient-b")
        mark("after_nbclient_b")
        t_nbclient = t_nbclient_a + t_nbclient_b
        CPU_S["nbclient"] = CPU_S.get("nbclient-a", 0.0) + CPU_S.get("nbclient-b", 0.0)

        # The parallel comparison, bracketed the same way by plain nbgrader on the two halves.
        capacity = [parallel_capacity(args.quick)]
        say(f"grading: nbclient {t_nbclient_b:.1f} s; two processes run {capacity[0]:.2f}x as fast as one; "
            f"nbgrader autograde on {len(first)}")
        t_nbgrader_a, rc_nbg_a = run_nbgrader(work / "nbgrader-a", logs / "nbgrader-a.log")
        say(f"grading: nbgrader {t_nbgrader_a:.1f} s; cnnbook grade --jobs 2 on all {n}")
        t_cnnbook2, rc2 = run_cnnbook(folder, work / "cnnbook-2", 2, timeout, logs / "cnnbook-2.log")
        say(f"grading: cnnbook --jobs 2 {t_cnnbook2:.1f} s; nbgrader autograde on the other {len(second)}")
        t_nbgrader_b, rc_nbg_b = run_nbgrader(work / "nbgrader-b", logs / "nbgrader-b.log")
        capacity.append(parallel_capacity(args.quick))
        # nbgrader started twice above; an instructor starts it once: take one start away.
        t_nbgrader_empty, rc_nbg_empty = run_nbgrader(work / "nbgrader-empty", logs / "nbgrader-empty.log")
        t_nbgrader = t_nbgrader_a + t_nbgrader_b - t_nbgrader_empty
        CPU_S["nbgrader"] = CPU_S.get("nbgrader-a", 0.0) + CPU_S.get("nbgrader-b", 0.0) - CPU_S.get("nbgrader-empty", 0.0)
        say(f"grading: nbgrader {t_nbgrader_b:.1f} s (start-up alone {t_nbgrader_empty:.1f} s); two processes run "
            f"{capacity[1]:.2f}x as fast as one; cnnbook grade on an empty folder (fixed cost)")
        (work / "empty").mkdir()
        t_empty, rc_empty = run_cnnbook(work / "empty", work / "cnnbook-empty", 1, timeout, logs / "cnnbook-empty.log")

        totals1, totals2 = cnnbook_totals(work / "cnnbook-1"), cnnbook_totals(work / "cnnbook-2")
        totals_nbg = {**nbgrader_totals(work / "nbgrader-a"), **nbgrader_totals(work / "nbgrader-b")}
        same_csv = (work / "cnnbook-1" / "grades.csv").exists() and \
            (work / "cnnbook-1" / "grades.csv").read_bytes() == (work / "cnnbook-2" / "grades.csv").read_bytes()
        disagree = sorted(s for s in students if totals_nbg.get(s) != totals1.get(s))
        exit_codes = {"cnnbook_jobs1": rc1, "cnnbook_jobs2": rc2, "nbgrader_first_half": rc_nbg_a,
                      "nbgrader_second_half": rc_nbg_b, "nbgrader_no_submission": rc_nbg_empty,
                      "cnnbook_empty": rc_empty}
        tails = {name: _tail(logs / f"{name}.log") for name in ("cnnbook-1", "cnnbook-2", "nbgrader-a", "nbgrader-b")}
    finally:
        if args.keep:
            say(f"grading: kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    # nbgrader exits with 1 when it finds no submission: that run only times its start-up.
    failed = {k: v for k, v in exit_codes.items() if v != 0 and k != "nbgrader_no_submission"}
    trouble = f" Exit codes not 0: {failed}." if failed else ""
    if NBCLIENT["failed"]:
        trouble += f" nbclient could not run {len(NBCLIENT['failed'])} notebook(s) to the end (see details)."
    offered = sum(capacity) / len(capacity)
    busy = ""
    if offered < SPEEDUP_TARGET:
        busy = (f"the machine's other programs left two processes only {offered:.2f}x the throughput of one "
                f"(a CPU-bound probe run alone and two at once, before and after the --jobs 2 run; 2.0 on two free "
                f"cores), so no grader with two workers could be {SPEEDUP_TARGET}x faster than a sequential one "
                "here; also ")
    if disagree:
        trouble += f" nbgrader and cnnbook disagree on the totals of {', '.join(disagree)}."
    cores = os.cpu_count()
    core_note = "" if cores == 2 else f" (this machine has {cores} cores; the target is for two)"
    per_sub_cnnbook = (t_cnnbook1 - t_nbclient) / n
    # The most work per submission beyond nbclient's that still allows the target with two ideal workers.
    budget_per_sub = (2 * t_nbgrader / SPEEDUP_TARGET - 2 * t_empty - t_nbclient) / n
    per_sub_nbgrader = (t_nbgrader - t_nbclient) / n
    fixed_per_sub = t_empty / n
    sequential = [speed[k] for k in ("start", "after_nbclient_a", "after_cnnbook1", "after_nbclient_b")]
    drift = max(sequential) / min(sequential)
    noisy = ""
    if drift > 1.25:
        noisy = (f" Noisy: the probe loop took from {min(sequential):.2f} to {max(sequential):.2f} s between these "
                 "runs, so the machine's speed changed during the comparison; read this figure with care.")
    cpu_per_sub = {name: (CPU_S[key] - CPU_S["nbclient"]) / n if key in CPU_S and "nbclient" in CPU_S else None
                   for name, key in (("cnnbook", "cnnbook-1"), ("nbgrader", "nbgrader"))}
    cpu_text = ""
    if None not in cpu_per_sub.values():
        cpu_text = (f" In CPU seconds (less sensitive to other programs): cnnbook {cpu_per_sub['cnnbook']:.2f} s, "
                    f"nbgrader {cpu_per_sub['nbgrader']:.2f} s per submission over nbclient.")
    details = {
        "submissions": n, "kinds": kinds, "timeout_s": timeout, "cores": cores,
        "wall_s": {"nbclient": t_nbclient, "cnnbook_jobs1": t_cnnbook1, "nbgrader_autograde": t_nbgrader,
                   "cnnbook_jobs2": t_cnnbook2, "cnnbook_empty_folder": t_empty},
        "cpu_s": dict(CPU_S),
        "parallel_capacity_before_after_jobs2": [round(c, 2) for c in capacity],
        "probe_alone_s": speed,
        "halves": {"first": first, "second": second,
                   "wall_s": {"nbclient": [t_nbclient_a, t_nbclient_b], "nbgrader": [t_nbgrader_a, t_nbgrader_b],
                              "nbgrader_no_submission": t_nbgrader_empty}},
        "nbclient_seconds": NBCLIENT["seconds"], "nbclient_failed": NBCLIENT["failed"],
        "exit_codes": exit_codes,
        "grades_csv_identical_jobs1_jobs2": same_csv,
        "totals_cnnbook": totals1, "totals_nbgrader": totals_nbg, "totals_disagree": disagree,
        "log_tails": tails if failed else {},
    }
    speedup = line(
        "grading.speedup", f"grading {n} ex06-conv: cnnbook --jobs 2 vs nbgrader autograde{core_note}",
        ours=t_cnnbook2, reference=t_nbgrader, unit="s",
        ours_label="cnnbook grade --jobs 2", reference_label="nbgrader autograde (defaults, one at a time)",
        figure=t_nbgrader / t_cnnbook2, figure_unit="x faster", op=">=", target=SPEEDUP_TARGET,
        note=(f"Speed-up = T_nbgrader / T_cnnbook2; cnnbook also writes feedback HTML and the CSV. Two processes "
              f"ran {offered:.2f}x as fast as one on this machine during the run (2.0 = two free cores).{trouble}"),
        missed_note=(
            f"Why: {busy}two workers can at best halve the time, and cnnbook's own work per submission "
            f"({per_sub_cnnbook:.2f} s over nbclient, against nbgrader's {per_sub_nbgrader:.2f} s) and its "
            f"fixed {t_empty:.1f} s per run eat into that halving: with two perfectly used cores, {SPEEDUP_TARGET}x "
            f"leaves cnnbook at most {budget_per_sub:.2f} s per submission beyond running the notebook, for the "
            "sandboxed kernel, nbgrader's autograde, the replay of the hidden checks outside the kernel and the "
            "feedback HTML (nbconvert's HTML export alone takes about half a second). What would close it: "
            "measuring on two free cores (the probe near 2.0), and less work per submission in cnnbook/grade.py "
            "(feedback HTML rendered on demand rather than for every submission, one HTML exporter kept per "
            "worker instead of a new nbgrader converter per submission, the course tree reused while the source "
            "is unchanged)."),
        details=details,
    )
    overhead = line(
        "grading.overhead", f"grading overhead per submission, cnnbook --jobs 1 vs nbclient ({n} notebooks)",
        ours=t_cnnbook1, reference=t_nbclient, unit="s",
        ours_label="cnnbook grade --jobs 1", reference_label="nbclient, one notebook after the other",
        figure=per_sub_cnnbook, figure_unit="s per submission", op="<=", target=OVERHEAD_TARGET_S,
        note=(f"(T_cnnbook1 - T_nbclient) / {n}; nbgrader autograde's own is {per_sub_nbgrader:.2f} s "
              f"per submission, cnnbook's fixed cost per run {t_empty:.1f} s ({fixed_per_sub:.2f} s per submission "
              f"here).{cpu_text}{noisy}{trouble}"),
        missed_note=(
            "Why: per submission cnnbook runs nbgrader's autograde converter and then its feedback converter "
            "(each starts an nbconvert exporter and opens the sqlite gradebook), starts the kernel through "
            "the sandbox's launcher (one more Python start), and cleans up the sandbox; once per run it builds "
            "the course tree (nbgrader generate_assignment). What would close it: the feedback HTML rendered "
            "from the autograded notebook already in memory rather than by a second nbgrader converter, the "
            "course tree reused between runs when the source is unchanged, and a lighter kernel launcher "
            "(changes in cnnbook/grade.py and cnnbook/sandbox.py)."),
        details={"per_submission_s": {"cnnbook": per_sub_cnnbook, "nbgrader": per_sub_nbgrader,
                                      "cnnbook_fixed_cost_spread": fixed_per_sub,
                                      "cnnbook_budget_for_speedup_target": budget_per_sub},
                 "cpu_per_submission_s": cpu_per_sub},
    )
    return {"results": [speedup, overhead], "settings": {"submissions": n, "timeout_s": timeout, "jobs": [1, 2]}}


def _tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return ""


def main(argv=None):
    family_main("grading", run, argv)


if __name__ == "__main__":
    sys.exit(main())
