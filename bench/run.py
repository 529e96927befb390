"""``python -m bench``: run the benchmark families, print one table, write results.json and a plot.

Each family runs in a process of its own (``python -m bench.<family>``) with the same thread
settings: ``OPENBLAS_NUM_THREADS`` is set before NumPy is imported and torch gets
``torch.set_num_threads`` with the same number. The lines of the families run are merged into
the results file (lines of families not run this time are kept from the last run, each family
with its own date), then the table and the plot are made from the file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import (BENCH, ERROR, MET, MISSED, REPORTED, SKIPPED, add_common_options, line, loadavg,
                          machine, say, use_this_environment, versions)

FAMILIES = ("layers", "grading", "book", "lenet")
SYMBOL = {"<=": "\u2264", ">=": "\u2265"}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run the benchmarks; print one table; write results.json and a plot.",
    )
    parser.add_argument("--only", default=",".join(FAMILIES),
                        help=f"comma-separated families to run, of {', '.join(FAMILIES)} (default: all)")
    add_common_options(parser)
    parser.add_argument("--out", type=Path, default=None,
                        help="results file (default bench/results.json; bench/results-quick.json with --quick)")
    parser.add_argument("--plot", type=Path, default=None,
                        help="plot file (default: the results file with .png)")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a target is missed")
    args = parser.parse_args(argv)
    chosen = [f.strip() for f in args.only.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in FAMILIES]
    if unknown or not chosen:
        parser.error(f"--only takes families among {', '.join(FAMILIES)}; got {args.only!r}")
    args.families = [f for f in FAMILIES if f in chosen]
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    if args.out is None:
        args.out = BENCH / ("results-quick.json" if args.quick else "results.json")
    if args.plot is None:
        args.plot = args.out.with_suffix(".png")
    return args


def run_family(name: str, args: argparse.Namespace, scratch: Path) -> dict:
    """Run ``python -m bench.<name>`` in its own process; return its block (or an error block)."""
    out = scratch / f"{name}.json"
    cmd = [sys.executable, "-m", f"bench.{name}", "--out", str(out), "--threads", str(args.threads),
           "--timeout", str(args.timeout)]
    if args.quick:
        cmd.append("--quick")
    if args.keep:
        cmd.append("--keep")
    if args.submissions:
        cmd += ["--submissions", str(args.submissions)]
    env = dict(os.environ)
    env["OPENBLAS_NUM_THREADS"] = str(args.threads)
    root = str(BENCH.parent)
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    started, load = time.perf_counter(), loadavg()
    say(f"{name}: started")
    proc = subprocess.run(cmd, cwd=root, env=env)
    duration = time.perf_counter() - started
    if proc.returncode == 0 and out.exists():
        block = json.loads(out.read_text(encoding="utf-8"))
        say(f"{name}: done in {duration:.0f} s")
        return block
    say(f"{name}: FAILED (exit {proc.returncode}) after {duration:.0f} s")
    return {
        "family": name, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "duration_s": round(duration, 2),
        "load_before": load, "load_after": loadavg(), "quick": args.quick, "settings": {},
        "results": [line(f"{name}.error", f"{name}: the benchmark did not finish", ours=None, reference=None,
                         unit="", ours_label="", reference_label="", figure=None, figure_unit="",
                         note=f"python -m bench.{name} exited with status {proc.returncode}; its output is above.",
                         status=ERROR)],
    }


def merge(path: Path, blocks: dict[str, dict], args: argparse.Namespace, duration: float) -> dict:
    """The results document: this run's families, plus earlier families kept from ``path``."""
    earlier: dict = {}
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
            if old.get("quick") == args.quick and old.get("threads", {}).get("torch") == args.threads:
                for name, meta in old.get("families", {}).items():
                    earlier[name] = {**meta, "results": [r for r in old.get("results", []) if r.get("family") == name]}
        except (OSError, ValueError):
            earlier = {}
    families = {name: blocks.get(name) or earlier.get(name) for name in FAMILIES}
    families = {name: block for name, block in families.items() if block}
    results = []
    for name, block in families.items():
        for r in block["results"]:
            results.append({"family": name, **r})
    counts = {s: sum(r["status"] == s for r in results) for s in (MET, MISSED, REPORTED, SKIPPED, ERROR)}
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": "python -m bench " + " ".join(sys.argv[1:]),
        "quick": args.quick,
        "machine": machine(),
        "versions": versions(),
        "threads": {"torch": args.threads, "openblas": args.threads,
                    "note": "the same on both sides of every layer comparison"},
        "run_families": list(blocks),
        "run_duration_s": round(duration, 1),
        "families": {name: {k: v for k, v in block.items() if k != "results"} for name, block in families.items()},
        "summary": counts,
        "results": results,
    }


# ------------------------------------------------------------------------------- formatting
def fmt_value(value, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ms":
        return f"{value:.3g} ms" if value < 100 else f"{value:.0f} ms"
    if unit == "s":
        return f"{value:.1f} s"
    return f"{value:.3g} {unit}".strip()


def fmt_figure(value, unit: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if unit == "of budget":
        return f"{value:.0%} of budget"
    if unit == "s per submission":
        return f"{value:.2f} s/submission"
    if unit == "x speed-up":
        return f"{value:.0f}x"
    if unit.startswith("x"):
        return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"
    return f"{value:.3g} {unit}"


def fmt_target(r: dict) -> str:
    if r.get("op") is None or r.get("target") is None:
        return "report"
    return f"{SYMBOL[r['op']]} {fmt_figure(r['target'], r['figure_unit'])}"


VERDICT = {MET: "[green]yes[/green]", MISSED: "[bold red]NO[/bold red]", REPORTED: "-",
           SKIPPED: "[yellow]skipped[/yellow]", ERROR: "[bold red]error[/bold red]"}


def print_table(doc: dict, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    if console is None:
        # A log or a pipe gets a wide table rather than rich's 80 columns.
        console = Console() if sys.stdout.isatty() else Console(width=int(os.environ.get("COLUMNS", 160)))
    m = doc["machine"]
    title = "cnnbook benchmarks" + (" (QUICK: checks the machinery, the figures mean nothing)" if doc["quick"] else "")
    caption = (f"{m['cpu']}, {m['cores']} cores; torch {doc['versions'].get('torch')}, numpy {doc['versions'].get('numpy')}; "
               f"torch threads = OpenBLAS threads = {doc['threads']['torch']} on both sides; layers: median of alternating samples")
    table = Table(title=title, caption=caption, show_lines=False)
    for name, kw in (("#", dict(justify="right")), ("benchmark", {}), ("ours", dict(justify="right")),
                     ("reference", dict(justify="right")), ("figure", dict(justify="right")),
                     ("target", dict(justify="right")), ("met?", dict(justify="center"))):
        table.add_column(name, **kw)
    notes = []
    for i, r in enumerate(doc["results"], 1):
        reference = fmt_value(r["reference"], r["unit"])
        table.add_row(str(i), r["benchmark"], fmt_value(r["ours"], r["unit"]), reference,
                      fmt_figure(r["figure"], r["figure_unit"]), fmt_target(r), VERDICT.get(r["status"], r["status"]))
        if r["status"] in (MISSED, SKIPPED, ERROR) and r.get("note"):
            for entry in notes:  # the same explanation for several lines is printed once
                if entry[1] == r["status"] and entry[2] == r["note"]:
                    entry[0].append(i)
                    break
            else:
                notes.append(([i], r["status"], r["note"]))
    console.print(table)
    s = doc["summary"]
    console.print(f"{s[MET]} met, {s[MISSED]} missed, {s[REPORTED]} reported without a target, "
                  f"{s[SKIPPED]} skipped, {s[ERROR]} errors.")
    for numbers, status, note in notes:
        console.print(f"[bold]{', '.join(map(str, numbers))}[/bold] ({status}): {note}")


def plot(doc: dict, path: Path) -> None:
    """One mark per line with a target: the figure as a share of its target (1 = just met)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = []
    for i, r in enumerate(doc["results"], 1):
        if r.get("op") is None or r.get("figure") is None or not r.get("target"):
            continue
        share = r["figure"] / r["target"] if r["op"] == "<=" else r["target"] / r["figure"]
        rows.append((f"{i}. {r['benchmark']}", share, r))
    height = 1.2 + 0.32 * max(1, len(rows))
    fig, ax = plt.subplots(figsize=(11, height))
    if rows:
        labels = [label for label, _, _ in rows][::-1]
        shares = [share for _, share, _ in rows][::-1]
        colours = ["#2a9d8f" if r["status"] == MET else "#e63946" for _, _, r in rows][::-1]
        ys = range(len(rows))
        ax.hlines(ys, 1.0, shares, color=colours, linewidth=2)
        ax.scatter(shares, ys, color=colours, zorder=3, s=28)
        ax.set_yticks(range(len(rows)), labels, fontsize=7)
        ax.set_xscale("log")
        ax.axvline(1.0, color="black", linewidth=1, linestyle="--")
        for y, (_, share, r) in enumerate(rows[::-1]):
            ax.text(max(share, 1.0) * 1.08, y, f"{fmt_figure(r['figure'], r['figure_unit'])} (target {fmt_target(r)})",
                    va="center", fontsize=6.5)
        lo, hi = min(shares + [0.5]), max(shares + [2.0])
        ax.set_xlim(lo / 1.5, hi * 6)
    ax.set_xlabel("figure / target (for a target 'at least', target / figure): left of the dashed line, the target is met")
    title = f"cnnbook benchmarks, {doc['date'][:10]}" + (" (quick run: figures mean nothing)" if doc["quick"] else "")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def main(argv=None) -> int:
    args = parse_args(argv)
    use_this_environment()
    started = time.perf_counter()
    blocks = {}
    with tempfile.TemporaryDirectory(prefix="cnnbook-bench-") as scratch:
        for name in args.families:
            blocks[name] = run_family(name, args, Path(scratch))
    doc = merge(args.out, blocks, args, time.perf_counter() - started)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    plot(doc, args.plot)
    print_table(doc)
    print(f"wrote {args.out} and {args.plot} ({doc['run_duration_s']:.0f} s)")
    if doc["summary"][ERROR]:
        return 2
    if args.strict and doc["summary"][MISSED]:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
