"""The grader's own checks outside the kernel (cnnbook/verify.py, cnnbook/checks/_replay.py).

Replaying a check on what the kernel recorded must give the kernel's verdict for every honest
answer and every catalogued mistake of the NumPy exercises (no honest point is ever taken away),
and must never trust what a notebook could have written into the record.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from cnnbook import verify
from cnnbook.checks import _replay
from cnnbook.checks._common import CheckFailure, call, check_array
from cnnbook.notebooks import exercise_ids, run_test_cells, source_namespace
from submissions import answered, mistakes

NUMPY_EXERCISES = [e for e in exercise_ids() if verify.numpy_only(e)]


def record_and_replay(exercise_id, folder, overrides=None):
    previous = _replay.set_mode(_replay.Recorder(folder))
    try:
        results = run_test_cells(exercise_id, source_namespace(exercise_id, overrides))
    finally:
        _replay.set_mode(previous)
    return results, verify.replay(exercise_id, folder)


@pytest.mark.parametrize("exercise_id", NUMPY_EXERCISES)
def test_the_replay_agrees_with_the_kernel(exercise_id, tmp_path):
    """Reference and every catalogued mistake: a cell that passes in the kernel passes the replay,
    and a hidden check that fails in the kernel fails the replay too."""
    cases = [("reference", None)] + [(m.id, m.code) for m in mistakes(exercise_id)]
    for k, (name, code) in enumerate(cases):
        folder = tmp_path / str(k)
        folder.mkdir()
        results, verdicts = record_and_replay(exercise_id, folder, code)
        for grade_id, error in results.items():
            verdict = verdicts[grade_id]
            if error is None:
                assert verdict.status == "pass", f"{name}: {grade_id} passes in the kernel; replay: {verdict}"
            elif isinstance(error, CheckFailure):
                assert verdict.status == "fail", f"{name}: {grade_id} fails its hidden check; the replay passed"


def test_a_check_without_a_record_fails(tmp_path):
    verdicts = verify.replay("ex06-conv", tmp_path)
    assert {v.status for v in verdicts.values()} == {"fail"}
    assert "no recorded result" in verdicts["test_conv2d_forward"].message


def _record_one(folder, result):
    """What a check records for one call returning ``result``."""
    def check_example(fn):
        return call(fn, "f", [("x", np.arange(3.0))])

    check_example.__module__ = "cnnbook.checks.example"
    previous = _replay.set_mode(_replay.Recorder(folder))
    try:
        exec(compile("def check_example(fn):\n    return call(fn, 'f', [('x', np.arange(3.0))])\n",
                     "<check>", "exec"), namespace := {"call": call, "np": np, "__name__": "cnnbook.checks.example"})
        namespace["check_example"](lambda x: result)
    finally:
        _replay.set_mode(previous)
    return namespace["check_example"]


def _replayed(folder, check):
    previous = _replay.set_mode(_replay.Replayer(folder, live_ok=False))
    try:
        return check(None)
    finally:
        _replay.set_mode(previous)


def test_results_come_back_as_plain_data(tmp_path):
    class Sneaky(np.ndarray):
        def __eq__(self, other):
            return True

    check = _record_one(tmp_path, (np.arange(3.0).view(Sneaky), 2, 0.1, "s", [None, True]))
    got = _replayed(tmp_path, check)
    assert type(got[0]) is np.ndarray and got[1:] == (2, 0.1, "s", [None, True])


def test_an_object_comes_back_as_a_placeholder_that_fails_type_checks(tmp_path):
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    check = _record_one(tmp_path, AlwaysEqual())
    got = _replayed(tmp_path, check)
    assert isinstance(got, _replay.Foreign) and got != 1
    with pytest.raises(CheckFailure, match="should be a NumPy array"):
        check_array(got, np.zeros(3), what="the result", text="f(x)")


def test_a_record_is_never_unpickled_nor_followed_through_a_link(tmp_path):
    check = _record_one(tmp_path, np.zeros(3))
    array = next(tmp_path.glob("*.npy"))
    np.save(array, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError):
        _replayed(tmp_path, check)
    secret = tmp_path.parent / "secret.npy"
    np.save(secret, np.ones(3))
    array.unlink()
    os.symlink(secret, array)
    with pytest.raises(OSError):
        _replayed(tmp_path, check)


def test_a_record_of_other_inputs_does_not_match(tmp_path):
    check = _record_one(tmp_path, np.zeros(3))
    jsonl = next(tmp_path.glob("*.jsonl"))
    jsonl.write_text(jsonl.read_text().replace('"args": "', '"args": "0'))
    with pytest.raises(_replay.ReplayDiverged, match="does not match"):
        _replayed(tmp_path, check)


@pytest.mark.parametrize("exercise_id", exercise_ids())
def test_honest_code_is_not_flagged(exercise_id):
    assert verify.scan(exercise_id, answered(exercise_id)) == []
