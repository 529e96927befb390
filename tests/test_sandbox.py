"""The sandbox's layers are what stops the thefts of the attack corpus.

The corpus itself (tests/attacks.py, graded by tests/test_attacks.py) shows that every attack
earns nothing with the sandbox on. Here the two thefts run with the sandbox's user and
bubblewrap layers switched off and earn full marks: the defence is the sandbox, and the corpus
tests can fail.
"""

from __future__ import annotations

import csv

import pytest

from attacks import EXERCISE, FULL, SOLUTION_FILE, STEAL_FILE, STEAL_NETWORK, blank_with
from cnnbook.grade import grade
from cnnbook.sandbox import layers
from submissions import write
from test_attacks import serve_reference

pytestmark = pytest.mark.skipif(
    not (layers().separate_user and layers().bubblewrap),
    reason="the sandbox needs root and bubblewrap: " + "; ".join(layers().missing),
)


def test_the_attacks_are_real_without_the_sandbox(tmp_path, monkeypatch):
    """With the sandbox's layers switched off, the same thefts earn full marks."""
    monkeypatch.setenv("CNNBOOK_SANDBOX_DISABLE", "user,bwrap")
    layers.cache_clear()
    server, port, served = serve_reference()
    try:
        subs = tmp_path / "subs"
        write(blank_with(STEAL_FILE.format(path=SOLUTION_FILE)), subs / "steal-solutions.ipynb")
        write(blank_with(STEAL_NETWORK.format(port=port)), subs / "steal-network.ipynb")
        grade(EXERCISE, subs, tmp_path / "out", timeout=30, jobs=2, progress=False)
        with open(tmp_path / "out" / "grades.csv", newline="", encoding="utf-8") as fh:
            rows = {row["student"]: row for row in csv.DictReader(fh)}
        assert float(rows["steal-solutions"]["total"]) == FULL
        assert float(rows["steal-network"]["total"]) == FULL and served
    finally:
        server.close()
        layers.cache_clear()
