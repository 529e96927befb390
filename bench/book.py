"""Book build: a cold ``make book`` (execution cache empty) and a warm rebuild after touching a chapter.

The book is built from a copy of the committed tree (``git archive HEAD``) in a temporary folder,
so the repository's own ``_build/`` (and its execution cache) is never touched, and what others
have not committed yet does not enter the measurement. The copy's ``cnnbook`` package is put
first on ``PYTHONPATH`` so that the build and its kernels use the copy; the tools come from this
virtual environment. The command is the one of ``make book``:
``jupyter-book build . --builder html -W -n --keep-going``, with the Makefile's environment
(``OPENBLAS_NUM_THREADS=1``, ``PYDEVD_DISABLE_FILE_VALIDATION=1``).

1. cold: the copy has no ``_build/``: every chapter is executed;
2. warm: ``book/06-convolution.md`` is touched (its time stamp, not its content), then the same
   command runs again: Sphinx rewrites what depends on the page, the execution cache serves its
   outputs.

Targets: cold at most 600 s, warm at most 30 s. These two are budgets in seconds (the issue sets
no tool to compare a book build with), so the figure is the build time over its budget and a
busy machine counts against it: the load average before and after is recorded with the run.

``--quick`` builds a two-page book (the introduction and chapter 1, warnings allowed): it checks
the machinery only.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, family_main, line, loadavg, say

COLD_BUDGET_S = 600.0
WARM_BUDGET_S = 30.0
TOUCHED = "book/06-convolution.md"
QUICK_TOUCHED = "book/01-mlp.md"
MAKE_BOOK = ["build", ".", "--builder", "html", "-W", "-n", "--keep-going"]


def export_head(dest: Path) -> str:
    """Unpack the committed tree (HEAD) into ``dest``; return the commit."""
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return commit


def quick_toc(root: Path) -> None:
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - file: book/01-mlp\n", encoding="utf-8")


def build(root: Path, args: list[str], log: Path) -> tuple[float, int]:
    env = dict(os.environ)
    bin_dir = Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    start = time.perf_counter()
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.run([str(bin_dir / "jupyter-book"), *args], cwd=root, env=env, stdout=fh, stderr=subprocess.STDOUT)
    return time.perf_counter() - start, proc.returncode


def run(args) -> dict:
    work = Path(tempfile.mkdtemp(prefix="cnnbook-bench-book-"))
    root, logs = work / "book", work / "logs"
    root.mkdir()
    logs.mkdir()
    command = list(MAKE_BOOK)
    touched = TOUCHED
    try:
        commit = export_head(root)
        if args.quick:
            quick_toc(root)
            command.remove("-W")
            touched = QUICK_TOUCHED
        say(f"book: cold build of {commit[:10]} in {root} (jupyter-book {' '.join(command)})")
        load_cold = loadavg()
        cold_s, cold_rc = build(root, command, logs / "cold.log")
        cache = root / "_build" / ".jupyter_cache"
        say(f"book: cold {cold_s:.1f} s (exit {cold_rc}); touching {touched}, warm build")
        os.utime(root / touched)
        load_warm = loadavg()
        warm_s, warm_rc = build(root, command, logs / "warm.log")
        say(f"book: warm {warm_s:.1f} s (exit {warm_rc})")
        pages = len(list((root / "_build" / "html").rglob("*.html")))
        tails = {name: (logs / f"{name}.log").read_text(errors="replace")[-3000:]
                 for name, rc in (("cold", cold_rc), ("warm", warm_rc)) if rc != 0}
        cache_exists = cache.exists()
    finally:
        if args.keep:
            say(f"book: kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    def trouble(rc):
        return "" if rc == 0 else f" The build exited with {rc} (warnings are errors, as in make book): see details."

    details = {"commit": commit, "command": ["jupyter-book", *command], "html_pages": pages,
               "execution_cache_created": cache_exists, "log_tails": tails, "quick": args.quick}
    cold = line(
        "book.cold", "book build, cold (empty execution cache) vs 10 min budget",
        ours=cold_s, reference=COLD_BUDGET_S, unit="s", ours_label="make book's command, cold",
        reference_label="budget", figure=cold_s / COLD_BUDGET_S, figure_unit="of budget", op="<=", target=1.0,
        note=f"Every chapter executed; load average before: {load_cold}.{trouble(cold_rc)}",
        missed_note=(
            "Why: a cold build executes every chapter's notebook (figures, animations, small trainings), "
            "one after the other, on a shared machine. What would close it: executing the chapters in "
            "parallel (Jupyter Book 1 executes serially; a pre-build step running them with jupyter-cache's "
            "parallel executor into the same cache), or trimming the slowest cells of the slowest chapter."),
        details={**details, "exit_code": cold_rc, "load_before": load_cold},
    )
    warm = line(
        "book.warm", f"book rebuild, warm (touched {touched}) vs 30 s budget",
        ours=warm_s, reference=WARM_BUDGET_S, unit="s", ours_label="make book's command, warm",
        reference_label="budget", figure=warm_s / WARM_BUDGET_S, figure_unit="of budget", op="<=", target=1.0,
        note=f"Outputs served by the execution cache; load average before: {load_warm}.{trouble(warm_rc)}",
        missed_note=(
            "Why: even with every output cached, Jupyter Book starts Sphinx, reads the cache and re-renders "
            "the pages that depend on the touched one (the table of contents, search index, references). "
            "What would close it: see the warm log in details for the step that dominates."),
        details={**details, "exit_code": warm_rc, "load_before": load_warm},
    )
    for entry, rc in ((cold, cold_rc), (warm, warm_rc)):
        if rc != 0:  # the time still counts; the line says the build did not pass
            entry["benchmark"] += " [build failed]"
    return {"results": [cold, warm], "settings": {"commit": commit, "touched": touched, "quick": args.quick}}


def main(argv=None):
    family_main("book", run, argv)


if __name__ == "__main__":
    sys.exit(main())
