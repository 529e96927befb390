"""What every benchmark family shares: result lines, verdicts, timing, the machine's description.

A *line* is one row of the table: a figure (a ratio, or seconds derived from two timings of the
same run), the target it must meet, and the verdict. Families run as ``python -m bench.<family>``
(each in a process of its own, so that thread settings and imports do not leak from one to the
next) and write their lines as JSON; ``python -m bench`` collects them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"

#: Verdicts a line can have.
MET, MISSED, REPORTED, SKIPPED, ERROR = "met", "missed", "reported", "skipped", "error"
OPS = {"<=": "at most", ">=": "at least"}


def verdict(figure: float | None, op: str | None, target: float | None) -> str:
    """``met`` or ``missed`` for a figure against ``op target``; ``reported`` when there is no target.

    A missing or non-finite figure never meets its target.
    """
    if op is None or target is None:
        return REPORTED
    if op not in OPS:
        raise ValueError(f"op must be one of {', '.join(OPS)}, got {op!r}")
    if figure is None or not math.isfinite(figure):
        return MISSED
    return MET if (figure <= target if op == "<=" else figure >= target) else MISSED


def line(id: str, benchmark: str, *, ours: float | None, reference: float | None, unit: str,
         ours_label: str, reference_label: str, figure: float | None, figure_unit: str,
         op: str | None = None, target: float | None = None, note: str = "", missed_note: str = "",
         details: dict | None = None, status: str | None = None) -> dict:
    """One result line. ``missed_note`` (why the target is missed and what would close it) is
    appended to ``note`` only when the verdict is ``missed``."""
    status = status or verdict(figure, op, target)
    if status == MISSED and missed_note:
        note = f"{note} {missed_note}".strip()
    return {
        "id": id, "benchmark": benchmark, "status": status,
        "ours": ours, "reference": reference, "unit": unit,
        "ours_label": ours_label, "reference_label": reference_label,
        "figure": figure, "figure_unit": figure_unit, "op": op, "target": target,
        "note": note, "details": details or {},
    }


def skipped(id: str, benchmark: str, why: str, *, op: str | None = None, target: float | None = None,
            figure_unit: str = "") -> dict:
    return line(id, benchmark, ours=None, reference=None, unit="", ours_label="", reference_label="",
                figure=None, figure_unit=figure_unit, op=op, target=target, note=f"skipped: {why}", status=SKIPPED)


# ------------------------------------------------------------------------------------- timing
def time_pair(ours: Callable[[], object], reference: Callable[[], object], *, repeat: int = 15,
              min_sample_s: float = 0.05, warmup: int = 2) -> dict:
    """Median time per call of two functions, measured in alternation.

    Each function is called ``warmup`` times first. A sample is ``number`` calls in a row
    (enough for about ``min_sample_s``), timed as a whole and divided by ``number``; the two
    functions take turns sample by sample (and swap who goes first every round), so that a burst
    of load on a shared machine falls on both sides. Returns the medians and every sample.
    """
    for _ in range(warmup):
        ours()
        reference()
    number = {"ours": _calls_for(ours, min_sample_s), "reference": _calls_for(reference, min_sample_s)}
    samples: dict[str, list[float]] = {"ours": [], "reference": []}
    fns = {"ours": ours, "reference": reference}
    for round_ in range(repeat):
        order = ("ours", "reference") if round_ % 2 == 0 else ("reference", "ours")
        for side in order:
            fn, n = fns[side], number[side]
            start = time.perf_counter()
            for _ in range(n):
                fn()
            samples[side].append((time.perf_counter() - start) / n)
    return {
        "ours_s": statistics.median(samples["ours"]),
        "reference_s": statistics.median(samples["reference"]),
        "calls_per_sample": number,
        "repeat": repeat,
        "samples_s": samples,
    }


def _calls_for(fn: Callable[[], object], min_sample_s: float) -> int:
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    if once <= 0:
        return 1000
    return max(1, min(1000, math.ceil(min_sample_s / once)))


@contextlib.contextmanager
def quiet():
    """Swallow what a notebook's code prints while it is run as plain Python."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def say(message: str) -> None:
    """Progress for the person waiting (stderr, so the table stays clean)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ the machine
def cpu_model() -> str:
    try:
        for text_line in Path("/proc/cpuinfo").read_text().splitlines():
            if text_line.startswith("model name"):
                return text_line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "system": f"{platform.system()} {platform.release()}",
        "architecture": platform.machine(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": affinity,
        "python": platform.python_version(),
    }


def versions() -> dict:
    from importlib import metadata

    found = {}
    for name in ("numpy", "torch", "nbgrader", "nbclient", "jupyter-book", "matplotlib"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


# ------------------------------------------------------------------------- family entry point
def use_this_environment() -> None:
    """Tools (nbgrader's alembic, jupyter-book) and kernels come from this interpreter's
    environment, as under `make`, which puts .venv/bin first on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[0] != bin_dir:
        os.environ["PATH"] = f"{bin_dir}{os.pathsep}{path}"
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")


def family_main(name: str, run: Callable[[argparse.Namespace], dict], argv: list[str] | None = None) -> None:
    """``python -m bench.<name> [--quick] --out FILE``: run one family, write its lines as JSON."""
    parser = family_parser(name)
    args = parser.parse_args(argv)
    use_this_environment()
    started = time.perf_counter()
    load_before = loadavg()
    result = run(args)
    block = {
        "family": name,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "duration_s": round(time.perf_counter() - started, 2),
        "load_before": load_before,
        "load_after": loadavg(),
        "quick": args.quick,
        "settings": result.get("settings", {}),
        "results": result["results"],
    }
    text = json.dumps(block, indent=2, default=_jsonable)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)


def family_parser(name: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m bench.{name}", description=f"The {name} benchmarks.")
    add_common_options(parser)
    parser.add_argument("--out", help="write the lines here as JSON (default: print them)")
    return parser


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, few repeats, few submissions: checks the machinery, the figures mean nothing")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads and OpenBLAS threads, the same on both sides (default 1)")
    parser.add_argument("--submissions", type=int, default=None,
                        help="grading: how many generated submissions (default 40, 3 with --quick)")
    parser.add_argument("--timeout", type=int, default=10,
                        help="grading: seconds each cell may run, for all three graders (default 10)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders (they are printed)")


def _jsonable(value):
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
