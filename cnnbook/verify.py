"""The grader's own look at a submission, outside the student's kernel.

Two things a kernel cannot forge:

* :func:`replay` runs every hidden check again in the grader's process on the results the kernel
  recorded (see :mod:`cnnbook.checks._replay`), so a notebook that replaced ``np.allclose``,
  patched the check helpers or swallowed its own errors still fails the part it got wrong;
* :func:`scan` reads the submitted code without running it and names what a grader should look
  at: a forbidden library imported in a NumPy exercise, a module attribute overwritten, hooks
  into IPython or the interpreter.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .checks import _replay
from .checks._common import FORBIDDEN_LIBRARIES
from .notebooks import EXERCISES, is_test_cell, nbgrader_meta, read_source

HIDDEN_BLOCK_RE = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n(.*?)^[ \t]*### END HIDDEN TESTS", re.S | re.M)


def numpy_only(exercise_id: str) -> bool:
    """Exercises (``exNN-...``) are NumPy only; labs (``labNN-...``) use torch."""
    return not exercise_id.startswith("lab")


@dataclass(frozen=True)
class Verdict:
    """The grader's verdict on one graded cell: ``pass``, ``fail`` or ``unavailable`` (the
    replay met a live torch object; the kernel's verdict stands)."""

    grade_id: str
    status: str
    message: str = ""


def hidden_checks(exercise_id: str) -> dict[str, str]:
    """grade_id -> the hidden tests of each graded cell, from the instructor source."""
    blocks = {}
    for cell in read_source(exercise_id).cells:
        if is_test_cell(cell):
            found = HIDDEN_BLOCK_RE.search(cell.source)
            if found:
                blocks[nbgrader_meta(cell)["grade_id"]] = found.group(1)
    return blocks


class StudentObject:
    """Stands for a name the student's notebook defines: the replay never runs the student's code."""

    def __init__(self, name: str):
        self._name = name

    def __call__(self, *args, **kwargs):
        raise _replay.ReplayUnavailable(f"{self._name} was called outside the recorded calls")

    def __getattr__(self, attr):
        raise _replay.ReplayUnavailable(f"the check looked at {self._name}.{attr}, which only the kernel has")

    def __repr__(self) -> str:
        return f"<{self._name} from the notebook>"


class _Names(dict):
    """The namespace a hidden check runs in: builtins, what it imports, placeholders for the rest."""

    def __missing__(self, key):
        if hasattr(builtins, key):
            return getattr(builtins, key)
        return StudentObject(key)


def replay(exercise_id: str, record_dir: Path) -> dict[str, Verdict]:
    """Replay every hidden check of ``exercise_id`` on the results recorded in ``record_dir``."""
    strict = numpy_only(exercise_id)
    verdicts = {}
    previous = _replay.set_mode(_replay.Replayer(Path(record_dir), live_ok=not strict))
    try:
        for grade_id, block in hidden_checks(exercise_id).items():
            verdicts[grade_id] = _replay_one(exercise_id, grade_id, block, strict)
    finally:
        _replay.set_mode(previous)
    return verdicts


def _replay_one(exercise_id: str, grade_id: str, block: str, strict: bool) -> Verdict:
    code = compile(block, f"<{exercise_id}:{grade_id}:hidden>", "exec")
    try:
        exec(code, {"__builtins__": builtins, "__name__": f"cnnbook_replay_{grade_id}"}, _Names())
    except AssertionError as err:  # a failed check, or a record that does not match the check
        return Verdict(grade_id, "fail", _first_line(err))
    except _replay.ReplayUnavailable as err:
        if strict:
            return Verdict(grade_id, "fail", f"the recorded results cannot be checked: {err}")
        return Verdict(grade_id, "unavailable", str(err))
    except Exception as err:  # a record the checks cannot use: written by something else than the checks
        if strict:
            return Verdict(grade_id, "fail", f"the recorded results are unusable: {type(err).__name__}: {err}")
        return Verdict(grade_id, "unavailable", f"{type(err).__name__}: {err}")
    return Verdict(grade_id, "pass")


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text if len(text) <= 400 else text[:397] + "..."


# --------------------------------------------------------------------------------------------
# Reading the submitted code

#: Attributes and names whose use in an exercise means someone is reaching into the grader.
SUSPICIOUS_NAMES = {
    "get_ipython": "IPython's shell",
    "input_transformers_post": "IPython's input transformers",
    "input_transformers_cleanup": "IPython's input transformers",
    "ast_transformers": "IPython's AST transformers",
    "showtraceback": "IPython's error display",
    "showsyntaxerror": "IPython's error display",
    "set_custom_exc": "IPython's error handling",
    "excepthook": "the interpreter's error hook",
    "settrace": "the interpreter's tracing hook",
    "setprofile": "the interpreter's profiling hook",
    "_exit": "an immediate exit",
    "exit": "an exit",
    "kill": "killing a process",
    "killpg": "killing a process group",
    "ctypes": "raw memory access",
    "get_referrers": "the garbage collector's object graph",
    "__builtins__": "the builtins",
    "__subclasses__": "class internals",
    "__code__": "function internals",
    "f_globals": "frame internals",
    "f_back": "frame internals",
    "exec": "running generated code",
    "eval": "running generated code",
    "compile": "running generated code",
    "__import__": "importing by name",
    "import_module": "importing by name",
}
#: Modules that reach into the interpreter, the kernel or the grader.
SUSPICIOUS_MODULES = ("ctypes", "gc", "signal", "importlib", "IPython", "builtins", "inspect", "ipykernel")
#: Special methods that change how an object compares or converts; no exercise needs them.
SUSPICIOUS_METHODS = ("__eq__", "__ne__", "__bool__", "__array_ufunc__", "__array_function__",
                      "__array_finalize__", "__array__", "__float__", "__len__")


def scan(exercise_id: str, nb: nbformat.NotebookNode) -> list[str]:
    """What the grader flags in a submission, one line per finding (at most 8): test cells
    edited, deleted or duplicated, then suspicious code."""
    released = _released_sources(exercise_id)
    findings: list[str] = _test_cell_changes(exercise_id, nb)
    places: dict[str, list[str]] = {}  # finding -> where it was seen
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        source = cell.source if isinstance(cell.get("source"), str) else "".join(cell.get("source") or [])
        if source in released:
            continue
        where = nbgrader_meta(cell).get("grade_id") or f"cell {index + 1}"
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            continue  # IPython magics or a syntax error: the kernel reports it
        for finding, line in _Scanner(exercise_id).run(tree):
            spots = places.setdefault(finding, [])
            if len(spots) < 3:
                spots.append(f"{where} line {line}")
    findings += [f"{finding} ({', '.join(spots)})" for finding, spots in places.items()]
    return findings[:8]


def _test_cell_changes(exercise_id: str, nb: nbformat.NotebookNode) -> list[str]:
    """Test cells whose code or points differ from the released notebook, missing or duplicated.

    nbgrader restores the locked cells from its own copy before grading, so these changes earn
    nothing; they are reported because they say what the notebook tried.
    """
    path = EXERCISES / exercise_id / f"{exercise_id}.ipynb"
    if not path.exists():
        return []
    tests = {nbgrader_meta(c)["grade_id"]: c for c in nbformat.read(path, as_version=4).cells if is_test_cell(c)}
    seen: dict[str, int] = {}
    edited, repointed = [], []
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if not isinstance(grade_id, str):
            continue
        seen[grade_id] = seen.get(grade_id, 0) + 1
        original = tests.get(grade_id)
        if original is None or seen[grade_id] > 1:
            continue
        source = cell.get("source")
        source = source if isinstance(source, str) else "".join(source or [])
        if source != original.source:
            edited.append(grade_id)
        if nbgrader_meta(cell).get("points") != nbgrader_meta(original).get("points"):
            repointed.append(grade_id)
    groups = [
        ("test cells edited", edited),
        ("points changed", repointed),
        ("test cells deleted", [g for g in tests if g not in seen]),
        ("grade ids duplicated", [f"{g} x{n}" for g, n in seen.items() if n > 1]),
    ]
    return [f"tampered tests: {what}: {', '.join(ids)}" for what, ids in groups if ids]


def _released_sources(exercise_id: str) -> set[str]:
    path = EXERCISES / exercise_id / f"{exercise_id}.ipynb"
    if not path.exists():
        return set()
    nb = nbformat.read(path, as_version=4)
    return {c.source for c in nb.cells if c.cell_type == "code" and nbgrader_meta(c).get("locked")}


class _Scanner(ast.NodeVisitor):
    def __init__(self, exercise_id: str):
        self.numpy_only = numpy_only(exercise_id)
        self.modules: dict[str, str] = {}  # alias -> module name
        self.findings: list[tuple[str, int]] = []

    def run(self, tree: ast.AST) -> list[tuple[str, int]]:
        for node in ast.walk(tree):  # aliases first, wherever the import is
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.modules[alias.asname] = alias.name
                    else:
                        self.modules[alias.name.split(".")[0]] = alias.name.split(".")[0]
                    self._library(alias.name, node)
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    self.modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                self._library(node.module, node)
        self.visit(tree)
        return self.findings

    def _add(self, text: str, node: ast.AST) -> None:
        if all(text != seen for seen, _ in self.findings):
            self.findings.append((text, getattr(node, "lineno", 0)))

    def _library(self, module: str, node: ast.AST) -> None:
        root = module.split(".")[0]
        if self.numpy_only and root in FORBIDDEN_LIBRARIES:
            self._add(f"forbidden import: {root}", node)
        elif root in SUSPICIOUS_MODULES or module.startswith("cnnbook.checks"):
            self._add(f"suspicious code: imports {module}", node)

    def _dotted(self, node: ast.AST) -> str | None:
        """``numpy.testing.assert_allclose`` for an attribute chain rooted at an imported module."""
        parts = []
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            parts.append("." + node.attr if isinstance(node, ast.Attribute) else "[...]")
            node = node.value
        if isinstance(node, ast.Name) and node.id in self.modules:
            return self.modules[node.id] + "".join(reversed(parts))
        if isinstance(node, ast.Name) and node.id in ("sys", "builtins", "os"):
            return node.id + "".join(reversed(parts))
        return None

    def _target(self, target: ast.AST) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for item in target.elts:
                self._target(item)
        elif isinstance(target, (ast.Attribute, ast.Subscript)):
            name = self._dotted(target)
            if name:
                self._add(f"tampering: overwrites {name}", target)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._target(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._target(node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._target(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._target(target)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("setattr", "delattr") and node.args:
            name = self._dotted(node.args[0]) or (node.args[0].id if isinstance(node.args[0], ast.Name)
                                                  and node.args[0].id in self.modules else None)
            if name:
                self._add(f"tampering: {func.id} on {name}", node)
        if (isinstance(func, ast.Name) and func.id == "__import__" or isinstance(func, ast.Attribute)
                and func.attr == "import_module") and node.args and isinstance(node.args[0], ast.Constant):
            if isinstance(node.args[0].value, str):
                self._library(node.args[0].value, node)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in SUSPICIOUS_NAMES and node.id not in ("exit", "kill"):
            self._add(f"suspicious code: {node.id} [{SUSPICIOUS_NAMES[node.id]}]", node)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in SUSPICIOUS_NAMES:
            owner = self._dotted(node.value) or ""
            common = ("exit", "kill", "compile", "eval", "exec", "__import__")  # model.eval() is fine
            if node.attr not in common or owner.split(".")[0] in ("sys", "os", "signal", "builtins"):
                self._add(f"suspicious code: {(owner + '.') if owner else ''}{node.attr} "
                          f"[{SUSPICIOUS_NAMES[node.attr]}]", node)
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in SUSPICIOUS_METHODS:
                self._add(f"suspicious code: class {node.name} defines {item.name}", item)
        self.generic_visit(node)
