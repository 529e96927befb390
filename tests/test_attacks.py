"""The attack corpus (tests/attacks.py) graded in one batch beside honest submissions.

For every attack: no point its honest part did not earn, the flags that say what the grader
saw, every other student's grade identical to a batch without the attackers, the batch
completes, and no file outside the submission's scratch space changes.
"""

from __future__ import annotations

import csv
import hashlib
import socket
import subprocess
import threading

import pytest

from attacks import CONTROLS, CORPUS, EXERCISE, FULL, SOLUTION_FILE, reference_code, write_corpus, write_submission
from cnnbook.grade import grade, grade_ids
from cnnbook.sandbox import BASE_UID, layers

pytestmark = pytest.mark.skipif(
    not (layers().separate_user and layers().bubblewrap),
    reason="the sandbox needs root and bubblewrap: " + "; ".join(layers().missing),
)

TIMEOUT = 20


def serve_reference():
    """A server on 127.0.0.1 that hands the reference answers to whoever connects."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(300)
    served = []

    def serve():
        for _ in range(20):
            try:
                conn, _ = server.accept()
            except OSError:
                return
            served.append(True)
            conn.sendall(reference_code().encode())
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1], served


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return {row["student"]: row for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    controls_only = tmp_path_factory.mktemp("controls")
    subs = tmp_path_factory.mktemp("attack-submissions")
    out = tmp_path_factory.mktemp("attack-grading")
    for name, build in CONTROLS.items():
        write_submission(controls_only, name, build())
    canary = tmp_path_factory.mktemp("instructor") / "canary.txt"
    canary.write_text("instructor's file")
    course = out / "course"
    server, port, served = serve_reference()
    ctx = {
        "solution_file": SOLUTION_FILE,
        "course_source": str(course / "source" / EXERCISE / f"{EXERCISE}.ipynb"),
        "gradebook": str(course / "gradebook.db"),
        "port": port,
        "targets": [str(subs / "honest.ipynb"), str(canary), str(course / "gradebook.db"),
                    str(course / "source" / EXERCISE / f"{EXERCISE}.ipynb")],
    }
    write_corpus(subs, ctx)
    watched = [subs / "honest.ipynb", canary, subs / "blank.ipynb"]
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in watched}
    before[SOLUTION_FILE] = hashlib.sha256(open(SOLUTION_FILE, "rb").read()).hexdigest()

    grade(EXERCISE, subs, out, timeout=TIMEOUT, jobs=2, progress=False)
    server.close()
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in watched}
    after[SOLUTION_FILE] = hashlib.sha256(open(SOLUTION_FILE, "rb").read()).hexdigest()
    controls_out = tmp_path_factory.mktemp("controls-grading")
    grade(EXERCISE, controls_only, controls_out, timeout=TIMEOUT, jobs=2, progress=False)
    return {
        "out": out,
        "rows": read_rows(out / "grades.csv"),
        "controls": read_rows(controls_out / "grades.csv"),
        "before": before, "after": after, "served": served,
    }


def test_the_controls_score_as_expected(batches):
    controls = batches["controls"]
    assert float(controls["honest"]["total"]) == FULL
    assert float(controls["blank"]["total"]) == 0
    assert float(controls["all-wrong"]["total"]) < FULL / 2
    for row in controls.values():
        assert not row["reasons"], row


@pytest.mark.parametrize("attack", CORPUS, ids=lambda a: a.name)
def test_an_attack_earns_nothing_and_is_flagged(batches, attack):
    rows = batches["rows"]
    assert attack.name in rows, "the batch did not complete"
    row = rows[attack.name]
    if isinstance(attack.limit, str):
        limit = batches["controls"][attack.limit]
        for question in grade_ids(EXERCISE):
            assert float(row[question]) <= float(limit[question]), \
                f"{attack.name} earned {row[question]} on {question}; its honest part earns {limit[question]}"
        assert float(row["total"]) <= float(limit["total"])
    else:
        assert float(row["total"]) <= attack.limit, f"{attack.name} earned {row['total']} > {attack.limit}"
    for flag in attack.flags:
        assert flag in row["reasons"], f"{attack.name}: expected the flag {flag!r}; reasons: {row['reasons']}"
    assert float(row["max_total"]) == FULL


def test_other_students_grades_do_not_change(batches):
    for name, row in batches["controls"].items():
        assert batches["rows"][name] == row


def test_no_file_outside_the_scratch_space_changes(batches):
    assert batches["before"] == batches["after"]


def test_no_connection_left_the_sandbox(batches):
    assert not batches["served"]


def test_no_process_outlives_its_grading(batches):
    """The process bomb's 300 sleepers are gone once its grading ends."""
    table = subprocess.run(["ps", "-e", "-o", "uid=,args="], capture_output=True, text=True).stdout.splitlines()
    bombs = [line for line in table if line.split(None, 1)[0].isdigit() and int(line.split(None, 1)[0]) >= BASE_UID
             and line.split(None, 1)[1:] == ["sleep 60"]]
    assert not bombs, f"{len(bombs)} processes of the bomb outlived its grading"


def test_the_check_cell_is_skipped_while_grading(batches):
    """The notebook's last cell (cnnbook.selfcheck.check_all) knows it runs in the grader."""
    import nbformat

    from cnnbook.selfcheck import SKIPPED

    graded = batches["out"] / "course" / "autograded" / "honest" / EXERCISE / f"{EXERCISE}.ipynb"
    last = [c for c in nbformat.read(graded, as_version=4).cells if c.cell_type == "code"][-1]
    printed = "".join(o.get("text", "") for o in last.outputs)
    assert SKIPPED.split(" (")[0][:40] in printed, printed
