"""The benchmark machinery (bench/): verdicts, the results file, the table and the plot.

No timing is asserted here: speed targets live in `make bench`, never in the unit tests. One quick
run (`python -m bench --quick --only layers,lenet`, tiny sizes) checks that the runner writes a
well-formed results file and a plot.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import common, run  # noqa: E402
from bench.grading import plan  # noqa: E402

LINE_KEYS = {"id", "family", "benchmark", "status", "ours", "reference", "unit", "ours_label", "reference_label",
             "figure", "figure_unit", "op", "target", "note", "details"}
STATUSES = {common.MET, common.MISSED, common.REPORTED, common.SKIPPED, common.ERROR}


@pytest.mark.parametrize("figure, op, target, expected", [
    (2.9, "<=", 3.0, "met"),
    (3.0, "<=", 3.0, "met"),           # the target itself is met
    (3.01, "<=", 3.0, "missed"),
    (1.8, ">=", 1.8, "met"),
    (1.79, ">=", 1.8, "missed"),
    (250.0, None, None, "reported"),   # no target: reported only
    (None, "<=", 1.0, "missed"),       # nothing measured never meets a target
    (math.nan, ">=", 1.8, "missed"),
    (math.inf, "<=", 5.0, "missed"),
])
def test_verdict_from_given_numbers(figure, op, target, expected):
    assert common.verdict(figure, op, target) == expected


def test_verdict_rejects_an_unknown_comparison():
    with pytest.raises(ValueError, match="op must be one of"):
        common.verdict(1.0, "<", 2.0)


def test_the_why_of_a_miss_is_added_only_to_a_missed_line():
    kw = dict(ours=9.0, reference=1.0, unit="ms", ours_label="ours", reference_label="torch",
              figure_unit="x torch", op="<=", target=3.0, note="measured.", missed_note="Why: loops.")
    missed = common.line("a", "a", figure=9.0, **kw)
    met = common.line("b", "b", figure=2.0, **kw)
    assert missed["status"] == "missed" and missed["note"] == "measured. Why: loops."
    assert met["status"] == "met" and met["note"] == "measured."


def test_grading_mix():
    kinds = plan(40)
    assert len(kinds) == 40
    assert kinds.count("correct") == 28 and kinds.count("looping") == 1
    assert sum(k.startswith("mistake-") for k in kinds) == 8
    assert sum(k.startswith("partial-") for k in kinds) == 3
    assert plan(40) == kinds  # the same batch every run
    assert sorted(plan(3)) == ["correct", "looping", "mistake-0"]


def test_only_rejects_an_unknown_family():
    with pytest.raises(SystemExit):
        run.parse_args(["--only", "layers,nothing"])


def _block(family, status="met"):
    return {"family": family, "date": "d", "duration_s": 1.0, "load_before": None, "load_after": None,
            "quick": True, "settings": {},
            "results": [common.line(f"{family}.x", family, ours=2.0, reference=1.0, unit="s", ours_label="o",
                                    reference_label="r", figure=2.0, figure_unit="x torch", op="<=",
                                    target=3.0 if status == "met" else 1.0)]}


def test_a_partial_run_keeps_the_other_families_of_the_results_file(tmp_path):
    args = run.parse_args(["--quick", "--only", "layers", "--out", str(tmp_path / "r.json")])
    first = run.merge(args.out, {"layers": _block("layers"), "lenet": _block("lenet", "missed")}, args, 1.0)
    args.out.write_text(json.dumps(first), encoding="utf-8")
    second = run.merge(args.out, {"layers": _block("layers", "missed")}, args, 1.0)
    assert [r["family"] for r in second["results"]] == ["layers", "lenet"]
    assert second["summary"]["missed"] == 2 and second["run_families"] == ["layers"]


def test_quick_run_writes_a_well_formed_results_file_and_a_plot(tmp_path):
    out = tmp_path / "results.json"
    env = dict(os.environ, COLUMNS="200")
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "layers,lenet", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    doc = json.loads(out.read_text(encoding="utf-8"))
    for key in ("date", "machine", "versions", "threads", "quick", "families", "summary", "results", "run_duration_s"):
        assert key in doc, key
    assert doc["quick"] is True
    assert doc["threads"]["torch"] == doc["threads"]["openblas"] == 1
    assert {"cpu", "cores", "python"} <= set(doc["machine"])
    assert doc["versions"]["numpy"] and doc["versions"]["torch"]
    assert set(doc["families"]) == {"layers", "lenet"}
    assert doc["families"]["layers"]["settings"]["threads"] == {"torch": 1, "openblas": "1"}

    results = doc["results"]
    assert len({r["id"] for r in results}) == len(results)
    for r in results:
        assert LINE_KEYS <= set(r), r["id"]
        assert r["status"] in STATUSES
        if r["status"] in (common.MET, common.MISSED, common.REPORTED):
            assert r["status"] == common.verdict(r["figure"], r["op"], r["target"]), r["id"]
    assert doc["summary"] == {s: sum(r["status"] == s for r in results) for s in doc["summary"]}

    ids = {r["id"] for r in results}
    for name in ("conv2d_forward", "conv2d_backward", "maxpool2d_forward", "maxpool2d_backward",
                 "maxpool2d_backward_same_inputs"):
        for case in (("lecture", "lenet-c3") if name.startswith("conv") else ("lenet-s2", "lenet-s4")):
            assert {f"layers.{name}.{case}.float64", f"layers.{name}.{case}.float32"} <= ids
    assert {"layers.naive_speedup.lecture.float64", "lenet.time_to_97.cpu", "lenet.time_to_97.cuda"} <= ids
    by_id = {r["id"]: r for r in results}
    assert by_id["layers.conv2d_forward.lecture.float32"]["details"]["returned_dtype"] == "float32"
    assert by_id["layers.maxpool2d_backward.lenet-s4.float32"]["details"]["returned_dtype"] == "float32"
    assert by_id["layers.conv2d_forward.lecture.float64"]["details"]["max_abs_diff"] < 1e-9
    assert by_id["layers.naive_speedup.lecture.float64"]["status"] == "reported"

    png = out.with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "met?" in proc.stdout and "torch threads = OpenBLAS threads = 1" in proc.stdout
