"""Submissions that attack the grader cost only themselves.

Each attack is bounded so that it cannot harm the machine even where a defence is missing: it
targets only files and a port that this test creates, allocates 6 GB against a 3 GB cap, starts
at most 300 sleeping processes. Where the defence works, the attack earns nothing, is flagged
where the grader can see it, and every other student's grade is what it would be without it.
"""

from __future__ import annotations

import csv
import hashlib
import socket
import subprocess
import threading

import pytest

from cnnbook.grade import grade
from cnnbook.notebooks import ROOT
from cnnbook.sandbox import BASE_UID, layers
from submissions import answered, reference_answers, released, write

EXERCISE = "ex06-conv"
FULL = 19.0

pytestmark = pytest.mark.skipif(
    not (layers().separate_user and layers().bubblewrap),
    reason="the sandbox needs root and bubblewrap: " + "; ".join(layers().missing),
)


def _blank_with(code: str):
    """The student notebook with ``code`` as the answer of every solution cell."""
    nb = released(EXERCISE)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = code
    return nb


STEAL_FILE = '''
import re
text = open({path!r}).read()
for body in re.findall(r"```{{code-cell}} ipython3\\n(.*?)```", text, re.S):
    if "BEGIN HIDDEN TESTS" not in body and "grade: true" not in body.split("\\n")[0]:
        exec("\\n".join(l for l in body.splitlines() if not l.startswith(":nbgrader:")), globals())
'''

STEAL_NETWORK = '''
import socket
conn = socket.create_connection(("127.0.0.1", {port}), timeout=3)
code = b""
while chunk := conn.recv(65536):
    code += chunk
exec(code.decode(), globals())
'''

MEMORY_BOMB = "hoard = bytearray(6 * 2**30)"

PROCESS_BOMB = '''
import subprocess
children = [subprocess.Popen(["sleep", "60"]) for _ in range(300)]
'''

KILL_ANCESTORS = '''
import os, signal
def _parent(pid):
    with open(f"/proc/{pid}/status") as fh:
        return int(next(l for l in fh if l.startswith("PPid:")).split()[1])
pid, refused = os.getppid(), 0
while pid > 1:
    try:
        os.kill(pid, signal.SIGKILL)
    except PermissionError:
        refused += 1
    pid = _parent(pid)
'''

OVERWRITE = '''
for target in {targets!r}:
    with open(target, "w") as fh:
        fh.write("overwritten by another student")
'''


def _serve_reference():
    """A server on 127.0.0.1 that hands the reference answers to whoever connects."""
    reference = "\n\n".join(reference_answers(EXERCISE).values())
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(120)
    served = []

    def serve():
        for _ in range(20):  # one connection per solution cell, at most
            try:
                conn, _ = server.accept()
            except OSError:
                return
            served.append(True)
            conn.sendall(reference.encode())
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1], served


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    subs = tmp_path_factory.mktemp("attack-submissions")
    out = tmp_path_factory.mktemp("attack-grading")
    honest = write(answered(EXERCISE), subs / "honest" / f"{EXERCISE}.ipynb")
    canary = tmp_path_factory.mktemp("instructor") / "canary.txt"
    canary.write_text("instructor's file")
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (honest, canary)}

    server, port, served = _serve_reference()

    solution_file = str(ROOT / "solutions" / EXERCISE / f"{EXERCISE}.md")
    write(_blank_with(STEAL_FILE.format(path=solution_file)), subs / "steal-solutions.ipynb")
    write(_blank_with(STEAL_NETWORK.format(port=port)), subs / "steal-network.ipynb")
    write(answered(EXERCISE, {"fc_num_params": MEMORY_BOMB}), subs / "memory-bomb.ipynb")
    write(answered(EXERCISE, {"fc_num_params": PROCESS_BOMB}), subs / "process-bomb.ipynb")
    write(answered(EXERCISE, {"fc_num_params": KILL_ANCESTORS}), subs / "kill-grader.ipynb")
    write(answered(EXERCISE, {"fc_num_params": OVERWRITE.format(targets=[str(honest), str(canary)])}),
          subs / "overwrite.ipynb")

    grade(EXERCISE, subs, out, timeout=30, jobs=2, progress=False)
    server.close()
    with open(out / "grades.csv", newline="", encoding="utf-8") as fh:
        rows = {row["student"]: row for row in csv.DictReader(fh)}
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (honest, canary)}
    return rows, before, after, served


def test_stealing_the_solution_from_disk_earns_nothing(attacked):
    rows = attacked[0]
    assert float(rows["steal-solutions"]["total"]) == 0


def test_stealing_over_the_network_earns_nothing(attacked):
    rows, *_, served = attacked
    assert float(rows["steal-network"]["total"]) == 0
    assert not served, "the kernel reached a port outside its sandbox"


def test_memory_bomb_is_stopped_and_flagged(attacked):
    row = attacked[0]["memory-bomb"]
    assert float(row["total"]) == FULL
    assert "resource limit: memory in fc_num_params" in row["reasons"]


def test_process_bomb_is_stopped_flagged_and_cleaned_up(attacked):
    row = attacked[0]["process-bomb"]
    assert float(row["total"]) == FULL
    assert "resource limit: processes in fc_num_params" in row["reasons"]
    table = subprocess.run(["ps", "-e", "-o", "uid=,args="], capture_output=True, text=True).stdout.splitlines()
    bombs = [line for line in table if line.split(None, 1)[0].isdigit() and int(line.split(None, 1)[0]) >= BASE_UID
             and line.split(None, 1)[1:] == ["sleep 60"]]
    assert not bombs, f"{len(bombs)} processes of the bomb outlived its grading"


def test_killing_the_grader_fails_and_the_batch_completes(attacked):
    rows = attacked[0]
    assert float(rows["kill-grader"]["total"]) == FULL
    assert set(rows) == {"honest", "steal-solutions", "steal-network", "memory-bomb", "process-bomb", "kill-grader", "overwrite"}


def test_no_file_outside_the_scratch_space_changes(attacked):
    rows, before, after, _ = attacked
    assert before == after
    assert float(rows["honest"]["total"]) == FULL


def test_the_attacks_are_real_without_the_sandbox(tmp_path, monkeypatch):
    """With the sandbox's layers switched off, the same thefts earn full marks."""
    monkeypatch.setenv("CNNBOOK_SANDBOX_DISABLE", "user,bwrap")
    layers.cache_clear()
    server, port, served = _serve_reference()
    try:
        subs = tmp_path / "subs"
        solution_file = str(ROOT / "solutions" / EXERCISE / f"{EXERCISE}.md")
        write(_blank_with(STEAL_FILE.format(path=solution_file)), subs / "steal-solutions.ipynb")
        write(_blank_with(STEAL_NETWORK.format(port=port)), subs / "steal-network.ipynb")
        grade(EXERCISE, subs, tmp_path / "out", timeout=30, jobs=2, progress=False)
        with open(tmp_path / "out" / "grades.csv", newline="", encoding="utf-8") as fh:
            rows = {row["student"]: row for row in csv.DictReader(fh)}
        assert float(rows["steal-solutions"]["total"]) == FULL
        assert float(rows["steal-network"]["total"]) == FULL and served
    finally:
        server.close()
        layers.cache_clear()
