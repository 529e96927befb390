"""The attack corpus: submissions of ex06-conv that try to beat the grader, one per attack.

Every attack is bounded so that it cannot harm the machine even where a defence is missing: it
targets only files and a port that the test creates, allocates 6 GB against a 3 GB cap, starts
at most 300 sleeping processes, prints 100 MB once.

``limit`` says what the honest part of each submission earns: the name of a control submission
graded in the same batch (``honest``: the reference answers; ``all-wrong``: one catalogued wrong
answer per function; ``blank``: the released notebook) or a number of points. An attack passes
when it earns no more than that, per question and in total, and its ``flags`` appear in the
grades CSV.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import nbformat

from cnnbook.notebooks import ROOT, is_test_cell, nbgrader_meta
from submissions import answered, mistakes, reference_answers, released

EXERCISE = "ex06-conv"
FULL = 19.0


@dataclass(frozen=True)
class Attack:
    name: str
    tries: str
    limit: str | float
    flags: tuple[str, ...]
    build: Callable[[dict], object]


def blank_with(code: str):
    """The student notebook with ``code`` as the answer of every solution cell."""
    nb = released(EXERCISE)
    for cell in nb.cells:
        if nbgrader_meta(cell).get("solution"):
            cell.source = code
    return nb


def wrong_answers() -> dict[str, str]:
    """One catalogued wrong answer per function (the first of each)."""
    chosen: dict[str, str] = {}
    for m in mistakes(EXERCISE):
        chosen.setdefault(m.replaces, m.code)
    return chosen


def all_wrong(extra: dict[str, str] | None = None):
    """Every function answered with a common mistake; ``extra`` code appended to cells."""
    code = wrong_answers()
    for grade_id, more in (extra or {}).items():
        code[grade_id] = code.get(grade_id, "") + "\n\n" + more
    return answered(EXERCISE, code)


def _edit_tests(nb, edit):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if is_test_cell(cell):
            edit(cell)
    return nb


# --------------------------------------------------------------------------------------------
# Attack code, as a student would put it in a solution cell

PATCH_ASSERTS = '''
import numpy as np
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
'''

# Every hidden check becomes a no-op and no error is ever shown: in the kernel, every cell passes.
NO_OP_CHECKS = '''
import importlib
hidden = importlib.import_module("cnnbook.checks.ex06_conv")
for name in dir(hidden):
    if name.startswith("check_"):
        setattr(hidden, name, lambda *a, **k: None)
get_ipython().showtraceback = lambda *a, **k: None
get_ipython()._showtraceback = lambda *a, **k: None
'''

ALWAYS_EQUAL = '''
import numpy as np
class AnyInt(int):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = int.__hash__
class AnyArray(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(self), dtype=bool).view(AnyArray)
    def __array_ufunc__(self, *args, **kwargs): return np.True_
def fc_num_params(in_shape, out_features, bias=True): return AnyInt(0)
def conv_num_params(*args, **kwargs): return AnyInt(0)
def conv_output_size(W, F, P=0, S=1): return AnyInt(0)
def conv2d_forward(X, W, b, stride=1, pad=0): return np.zeros((X.shape[0], W.shape[0], 1, 1)).view(AnyArray)
'''

INPUT_TRANSFORMER = '''
def _swallow(lines):
    body = ["    " + (l if l.endswith("\\n") else l + "\\n") for l in lines]
    return ["try:\\n", "    pass\\n", *body, "except BaseException:\\n", "    pass\\n"]
get_ipython().input_transformers_post.append(_swallow)
'''

CUSTOM_EXC = '''
get_ipython().set_custom_exc((BaseException,), lambda shell, etype, evalue, tb, tb_offset=None: None)
'''

EXCEPTHOOK = '''
import sys
sys.excepthook = lambda *args: None
'''

SYS_EXIT = "import sys\nsys.exit(0)"
OS_EXIT = "import os\nos._exit(0)"
KILL_SELF = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"
LOOP = "while True:\n    pass"

LOOP_IN_FUNCTION = '''
def conv2d_forward(X, W, b, stride=1, pad=0):
    while True:
        pass
'''

MEMORY_BOMB = "hoard = bytearray(6 * 2**30)"

PROCESS_BOMB = '''
import subprocess
children = [subprocess.Popen(["sleep", "60"]) for _ in range(300)]
'''

PRINT_100MB = '''
for _ in range(100):
    print("x" * 1_000_000)
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

STEAL_FILE = '''
import re
text = open({path!r}).read()
for body in re.findall(r"```{{code-cell}} ipython3\\n(.*?)```", text, re.S):
    if "BEGIN HIDDEN TESTS" not in body and "grade: true" not in body.split("\\n")[0]:
        exec("\\n".join(l for l in body.splitlines() if not l.startswith(":nbgrader:")), globals())
'''

# nbgrader's own copy of the instructor notebook, with the solutions, and its gradebook.
STEAL_COURSE = '''
import json, sqlite3
try:
    sqlite3.connect({gradebook!r}).execute("select * from grade").fetchall()
except Exception:
    pass
source = json.load(open({source!r}))
for cell in source["cells"]:
    meta = cell.get("metadata", {{}}).get("nbgrader", {{}})
    if cell["cell_type"] == "code" and meta.get("solution"):
        exec("".join(cell["source"]), globals())
'''

STEAL_NETWORK = '''
import socket
conn = socket.create_connection(("127.0.0.1", {port}), timeout=3)
code = b""
while chunk := conn.recv(65536):
    code += chunk
exec(code.decode(), globals())
'''

OVERWRITE = '''
for target in {targets!r}:
    try:
        with open(target, "w") as fh:
            fh.write("overwritten by another student")
    except OSError:
        pass
'''

FAKE_NUMPY = '''
import sys, types
fake = types.ModuleType("numpy")
fake.allclose = lambda *a, **k: True
fake.__getattr__ = lambda name: (lambda *a, **k: True)
sys.modules["numpy"] = fake
'''

TORCH_FORWARD = '''
import numpy as np
import torch
import torch.nn.functional as F
def conv2d_forward(X, W, b, stride=1, pad=0):
    N, C, H, Wd = X.shape
    conv_output_size(H, W.shape[2], pad, stride)
    conv_output_size(Wd, W.shape[3], pad, stride)
    if W.shape[1] != C:
        raise ValueError("channels")
    out = F.conv2d(torch.from_numpy(X), torch.from_numpy(W), torch.from_numpy(b), stride=stride, padding=pad)
    return out.numpy()
'''

HARD_CODED = '''
def conv_output_size(W, F, P=0, S=1):
    known = {(32, 5, 0, 1): 28, (5, 3, 1, 2): 3, (7, 3, 0, 2): 3, (28, 2, 0, 2): 14}
    if (W, F, P, S) in known:
        return known[(W, F, P, S)]
    raise ValueError("does not fit")

def fc_num_params(in_shape, out_features, bias=True):
    return {((16, 5, 5), 120, True): 48120, ((16, 5, 5), 120, False): 48000}.get((tuple(in_shape), out_features, bias), 0)
'''

ERASE_RECORDS = '''
import os, shutil
shutil.rmtree(os.environ.get("CNNBOOK_RECORD", "/nonexistent"), ignore_errors=True)
import cnnbook.checks._replay as replay
replay.set_mode(None)
replay.mode = lambda: None
'''


def reference_code() -> str:
    """What the server of the network attack hands out: the reference answers."""
    return "\n\n".join(reference_answers(EXERCISE).values())


def _points_100(cell):
    cell.metadata["nbgrader"]["points"] = 100


def _pass(cell):
    cell.source = "pass"


def _without_tests(ctx):
    nb = all_wrong()
    nb.cells = [c for c in nb.cells if not is_test_cell(c)]
    return nb


def _duplicate_test(ctx):
    nb = all_wrong()
    first = next(c for c in nb.cells if is_test_cell(c))
    nb.cells.append(copy.deepcopy(first))
    return nb


def _renamed(ctx):
    return ("renamed", answered(EXERCISE))


CORPUS: list[Attack] = [
    Attack("patch-assert-helpers", "replace np.allclose, np.array_equal and np.testing's assertions", "all-wrong",
           ("tampering: overwrites numpy.allclose",), lambda ctx: all_wrong({"fc_num_params": PATCH_ASSERTS})),
    Attack("no-op-hidden-checks", "replace every hidden check by a no-op and hide every error", "all-wrong",
           ("suspicious code: imports cnnbook.checks.ex06_conv", "suspicious code: get_ipython"),
           lambda ctx: all_wrong({"fc_num_params": NO_OP_CHECKS})),
    Attack("always-equal", "return an int and an ndarray subclass whose comparisons always succeed", "blank",
           ("suspicious code: class AnyInt defines __eq__",), lambda ctx: blank_with(ALWAYS_EQUAL)),
    Attack("input-transformer", "an IPython input transformer that wraps every later cell in try/except", "all-wrong",
           ("tampered tests or assertion helpers: test_conv2d_backward",),
           lambda ctx: all_wrong({"fc_num_params": INPUT_TRANSFORMER})),
    Attack("custom-exception-handler", "an IPython exception handler that swallows every error", "all-wrong",
           ("suspicious code: set_custom_exc",),
           lambda ctx: all_wrong({"fc_num_params": CUSTOM_EXC})),
    Attack("excepthook", "replace sys.excepthook", "all-wrong", ("tampering: overwrites sys.excepthook",),
           lambda ctx: all_wrong({"fc_num_params": EXCEPTHOOK})),
    Attack("sys-exit", "sys.exit(0) in a solution cell", "honest", ("suspicious code: sys.exit",),
           lambda ctx: answered(EXERCISE, {"zero_pad": SYS_EXIT})),
    Attack("os-exit", "os._exit(0) in a solution cell", 6.0, ("kernel died in conv_single_step",),
           lambda ctx: answered(EXERCISE, {"conv_single_step": OS_EXIT})),
    Attack("kill-own-kernel", "SIGKILL to its own kernel", 6.0, ("kernel died in conv_single_step",),
           lambda ctx: answered(EXERCISE, {"conv_single_step": KILL_SELF})),
    Attack("kill-grader", "SIGKILL to every ancestor process: the grader and its parents", "honest",
           ("suspicious code: os.kill",), lambda ctx: answered(EXERCISE, {"fc_num_params": KILL_ANCESTORS})),
    Attack("loop-top-level", "an infinite loop at top level", "honest", ("timeout in zero_pad",),
           lambda ctx: answered(EXERCISE, {"zero_pad": LOOP})),
    Attack("loop-in-function", "an infinite loop inside a graded function", FULL - 4,
           ("timeout in test_conv2d_forward",), lambda ctx: answered(EXERCISE, {"conv2d_forward": LOOP_IN_FUNCTION})),
    Attack("memory-bomb", "allocate 6 GB", "honest", ("resource limit: memory in fc_num_params",),
           lambda ctx: answered(EXERCISE, {"fc_num_params": MEMORY_BOMB})),
    Attack("process-bomb", "start 300 processes", "honest", ("resource limit: processes in fc_num_params",),
           lambda ctx: answered(EXERCISE, {"fc_num_params": PROCESS_BOMB})),
    Attack("print-100mb", "print 100 MB", "honest", ("output limit: too much printed in fc_num_params",),
           lambda ctx: answered(EXERCISE, {"fc_num_params": PRINT_100MB})),
    Attack("steal-solutions", "read the instructor's solution source from disk", "blank", (),
           lambda ctx: blank_with(STEAL_FILE.format(path=ctx["solution_file"]))),
    Attack("steal-course", "read nbgrader's instructor notebook and the gradebook", "blank", (),
           lambda ctx: blank_with(STEAL_COURSE.format(source=ctx["course_source"], gradebook=ctx["gradebook"]))),
    Attack("steal-network", "fetch the solution from a server on 127.0.0.1", "blank", (),
           lambda ctx: blank_with(STEAL_NETWORK.format(port=ctx["port"]))),
    Attack("overwrite-files", "overwrite another student's submission, an instructor file, the gradebook and "
           "nbgrader's instructor notebook", "honest", (),
           lambda ctx: answered(EXERCISE, {"fc_num_params": OVERWRITE.format(targets=ctx["targets"])})),
    Attack("edit-test-cells", "replace every test cell by `pass`", "all-wrong",
           ("tampered tests: test cells edited: test_fc_num_params",), lambda ctx: _edit_tests(all_wrong(), _pass)),
    Attack("delete-test-cells", "delete every test cell", "all-wrong",
           ("tampered tests: test cells deleted: test_fc_num_params",), _without_tests),
    Attack("change-points", "set every test cell to 100 points", "honest",
           ("tampered tests: points changed: test_fc_num_params",),
           lambda ctx: _edit_tests(answered(EXERCISE), _points_100)),
    Attack("duplicate-grade-id", "a second copy of a test cell, same grade id", "all-wrong",
           ("tampered tests: grade ids duplicated: test_fc_num_params x2",), _duplicate_test),
    Attack("fake-numpy", "a fake numpy module in sys.modules", "all-wrong", ("tampering: overwrites sys.modules[...]",),
           lambda ctx: all_wrong({"conv2d_backward": FAKE_NUMPY})),
    Attack("torch-instead", "call torch's conv2d instead of implementing the forward pass", FULL - 4,
           ("forbidden import: torch",), lambda ctx: answered(EXERCISE, {"conv2d_forward": TORCH_FORWARD})),
    Attack("hard-coded", "return the public tests' answers from a table", "blank", (),
           lambda ctx: _hard_coded()),
    Attack("erase-records", "swallow every error with an input transformer, delete the grader's record and "
           "switch recording off", "all-wrong", ("tampered tests or assertion helpers: test_conv2d_forward",),
           lambda ctx: all_wrong({"fc_num_params": INPUT_TRANSFORMER + ERASE_RECORDS})),
    Attack("invalid-json", "a notebook that is not JSON", 0.0, ("unreadable notebook",),
           lambda ctx: b'{"cells": [ this is not json'),
    Attack("missing-notebook", "a folder without the notebook", 0.0, ("missing notebook",),
           lambda ctx: ("missing", None)),
    Attack("renamed-notebook", "the notebook under another name", "honest", ("notebook renamed",), _renamed),
]


def _hard_coded():
    nb = released(EXERCISE)
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade_id") == "conv_output_size":
            cell.source = HARD_CODED
    return nb


CONTROLS = {
    "honest": lambda: answered(EXERCISE),
    "all-wrong": all_wrong,
    "blank": lambda: released(EXERCISE),
}


def write_submission(folder, name: str, built) -> None:
    """Put a built submission where the grader looks for it."""
    if isinstance(built, bytes):
        (folder / f"{name}.ipynb").write_bytes(built)
    elif isinstance(built, tuple) and built[0] == "missing":
        (folder / name).mkdir(parents=True)
        (folder / name / "notes.txt").write_text("forgot the notebook")
    elif isinstance(built, tuple) and built[0] == "renamed":
        (folder / name).mkdir(parents=True)
        nbformat.write(built[1], folder / name / "my-conv-homework.ipynb")
    else:
        nbformat.write(built, folder / f"{name}.ipynb")


SOLUTION_FILE = str(ROOT / "solutions" / EXERCISE / f"{EXERCISE}.md")


def write_corpus(folder, ctx: dict | None = None) -> None:
    """Every control and attack of the corpus as a submissions folder for ``cnnbook grade``."""
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ctx = {"solution_file": SOLUTION_FILE, "course_source": "/nonexistent/source.ipynb",
           "gradebook": "/nonexistent/gradebook.db", "port": 9, "targets": [], **(ctx or {})}
    for name, build in CONTROLS.items():
        write_submission(folder, name, build())
    for attack in CORPUS:
        write_submission(folder, attack.name, attack.build(ctx))


if __name__ == "__main__":  # python tests/attacks.py FOLDER: the corpus, to time `cnnbook grade` on it
    import sys

    write_corpus(sys.argv[1])
    print(f"wrote {len(CONTROLS)} controls and {len(CORPUS)} attacks to {sys.argv[1]}")
