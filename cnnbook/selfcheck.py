"""The check cell at the end of every exercise: where a student stands before submitting.

The last code cell of every exercise and lab is::

    from cnnbook.selfcheck import check_all

    check_all("ex06-conv", globals())

:func:`check_all` reads the graded test cells of the released student notebook (nbgrader's
metadata: ``grade: true``, ``grade_id: test_<part>``, ``points``), runs the public code of
each one in a *copy* of the notebook's namespace (so none of the student's variables is
rebound), with its output hidden, and shows a table: each part, its points, whether its public
tests pass (or the first line of what went wrong), the time they took, and what the hidden
tests will also check. That last column is the first paragraph of the docstring of the hidden
check ``cnnbook.checks.<id>.check_<part>``; the hidden tests themselves are neither run nor
shown, and ``solutions/`` is never read.

The notebook's test cells come from ``exercises/<id>/<id>.ipynb`` of the checkout the package
belongs to, or else from ``<id>.ipynb`` in the current folder (a student who copied the
notebook elsewhere).

While a notebook is being graded (the grader's kernel has the environment variable of
:data:`cnnbook.sandbox.ENV_VAR`), :func:`check_all` prints one line and does nothing else: the
grader runs the public and hidden tests itself, and grading time should not double.
"""

from __future__ import annotations

import contextlib
import html
import importlib
import inspect
import io
import json
import os
import random
import re
import sys
import sysconfig
import textwrap
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .notebooks import EXERCISES, is_test_cell, nbgrader_meta, strip_hidden

__all__ = ["check_all", "run_checks", "Report", "Part", "find_notebook", "hidden_description"]

#: A part whose public tests take longer than this (seconds) is marked as slow in the table.
SLOW_SECONDS = 10.0
#: Width of the plain-text table.
WIDTH = 100

PASS = "pass"
FAIL = "fail"
ERROR = "error"
NOT_ATTEMPTED = "not attempted yet"
BY_HAND = "graded by a person"
NO_PUBLIC_TEST = "no public test"

#: What the table says when the hidden check of a part has no docstring to quote.
GENERIC_HIDDEN = "more inputs than the public tests, compared with an independent reference."
#: What the table says of a written answer.
BY_HAND_TEXT = "no automatic test: a person reads your answer when the notebook is graded."
SKIPPED = ("check_all: skipped while this notebook is being graded "
           "(the grader runs the public and the hidden tests itself).")

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
#: Where Python, the installed libraries and this package live: code there is not the student's.
_LIBRARY_DIRS = tuple(
    path for path in {str(Path(p).resolve()) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                                         sysconfig.get_paths().get("purelib", sys.prefix),
                                                         sysconfig.get_paths().get("platlib", sys.prefix))}
    | {str(Path(__file__).resolve().parent)}
    if len(path) > 1  # a Python installed at / would make every file look like a library's
)


@dataclass
class Part:
    """The verdict of the public tests of one graded cell."""

    name: str          # the part: the grade_id without its "test_" prefix
    grade_id: str
    points: float
    status: str        # PASS, FAIL, ERROR, NOT_ATTEMPTED, BY_HAND or NO_PUBLIC_TEST
    message: str = ""  # the first line of what went wrong ("" when the tests pass)
    hidden: str = ""   # what the hidden tests will also check, in words
    seconds: float = 0.0

    @property
    def slow(self) -> bool:
        return self.seconds >= SLOW_SECONDS


@dataclass
class Report:
    """Every graded part of one exercise, in notebook order."""

    exercise_id: str
    notebook: Path
    parts: list[Part] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def tested(self) -> list[Part]:
        """The parts with public tests (a written answer is read by a person)."""
        return [p for p in self.parts if p.status not in (BY_HAND, NO_PUBLIC_TEST)]

    @property
    def passed(self) -> list[Part]:
        return [p for p in self.tested if p.status == PASS]

    def summary(self) -> str:
        tested, passed = self.tested, self.passed
        total = _points(sum(p.points for p in tested))
        got = _points(sum(p.points for p in passed))
        parts = f"all {len(tested)} parts pass" if tested and len(passed) == len(tested) else \
            f"{len(passed)} of {len(tested)} parts pass"
        line = f"public tests: {parts} ({got} of {total} points); the grade also depends on the hidden tests"
        by_hand = [p for p in self.parts if p.status == BY_HAND]
        if by_hand:
            pts = _points(sum(p.points for p in by_hand))
            answers = "written answer" if len(by_hand) == 1 else "written answers"
            line += f" and on {len(by_hand)} {answers} ({pts} points) graded by a person"
        return line + "."

    def text(self) -> str:
        """The table as plain text."""
        name_width = max([len("part")] + [len(p.name) for p in self.parts])
        status_width = max([len("public tests")] + [len(p.status) for p in self.parts])
        lines = [
            f"Self-check of {self.exercise_id}: the public tests of every part, run on your code as it is now",
            f"(on a copy of your variables, which are left as they were; {self.seconds:.1f} s in all).",
            "",
            f"{'part':<{name_width}}  {'points':>6}  {'public tests':<{status_width}}  {'time':>7}",
        ]
        for part in self.parts:
            lines.append(f"{part.name:<{name_width}}  {_points(part.points):>6}  {part.status:<{status_width}}  "
                         f"{_seconds(part):>7}" + (f"  slow: its public tests took {part.seconds:.0f} s" if part.slow else ""))
            if part.message:
                lines += _wrap(part.message)
            about = part.hidden if part.status == BY_HAND else f"hidden tests will also check: {part.hidden}"
            lines += _wrap(about)
        lines += ["", self.summary()]
        return "\n".join(lines)

    def html(self) -> str:
        """The table as HTML (a caption, column headers, the status in words, not in colours)."""
        cell = 'style="text-align: left; vertical-align: top"'
        rows = []
        for part in self.parts:
            verdict = f"<strong>{html.escape(part.status)}</strong>"
            if part.message:
                verdict += f"<br>{_code_html(part.message)}"
            time_text = _seconds(part) + (" (slow)" if part.slow else "")
            rows.append(
                f"<tr><th scope=\"row\" {cell}><code>{html.escape(part.name)}</code></th>"
                f"<td {cell}>{_points(part.points)}</td><td {cell}>{verdict}</td>"
                f"<td {cell}>{html.escape(time_text)}</td><td {cell}>{_code_html(part.hidden)}</td></tr>"
            )
        head = "".join(f"<th scope=\"col\" {cell}>{h}</th>" for h in
                       ("Part", "Points", "Public tests", "Time", "Hidden tests will also check"))
        caption = (f"Self-check of {html.escape(self.exercise_id)}: the public tests of every part, run on "
                   f"your code as it is now (on a copy of your variables; {self.seconds:.1f} s in all)")
        return (f"<table class=\"cnnbook-selfcheck\"><caption {cell}>{caption}</caption>"
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
                f"<p>{html.escape(self.summary())}</p>")


# --------------------------------------------------------------------------------------------
# What the check cell calls


def check_all(exercise_id: str, namespace: dict | None = None) -> None:
    """Run the public tests of every part of ``exercise_id`` on ``namespace`` and show the table.

    ``namespace`` is the notebook's ``globals()`` (the caller's globals when left out); it is
    not changed. In Jupyter the table is HTML (with a plain-text copy), elsewhere plain text.
    During grading this prints one line and returns at once.
    """
    if _grading():
        print(SKIPPED)
        return
    if namespace is None:
        namespace = sys._getframe(1).f_globals
    try:
        report = run_checks(exercise_id, namespace)
    except (FileNotFoundError, ValueError) as err:
        print(f"check_all: {err}")
        return
    _show(report)


def run_checks(exercise_id: str, namespace: dict, notebook: Path | None = None) -> Report:
    """The verdict of the public tests of every graded cell, run on a copy of ``namespace``."""
    notebook = Path(notebook) if notebook is not None else find_notebook(exercise_id)
    cells = _graded_cells(notebook)
    scratch = dict(namespace)  # the tests bind their own names here, never in the student's namespace
    report = Report(exercise_id, notebook)
    start = time.perf_counter()
    with _state_preserved():
        for cell in cells:
            report.parts.append(_run_part(exercise_id, cell, scratch))
    report.seconds = time.perf_counter() - start
    return report


def find_notebook(exercise_id: str) -> Path:
    """The released student notebook of an exercise: the checkout's ``exercises/<id>/<id>.ipynb``,
    or else ``<id>.ipynb`` in the current folder."""
    if not isinstance(exercise_id, str) or not _ID.match(exercise_id):
        raise ValueError(f"{exercise_id!r} is not an exercise id (e.g. 'ex06-conv')")
    candidates = [EXERCISES / exercise_id / f"{exercise_id}.ipynb", Path.cwd() / f"{exercise_id}.ipynb"]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"cannot find the notebook {exercise_id}.ipynb to read its tests from: it is neither in "
        f"{candidates[0].parent} nor in the current folder {Path.cwd()}. Open the notebook from the "
        "folder it was handed out in, under its own name."
    )


def hidden_description(exercise_id: str, part: str) -> str:
    """What the hidden tests of ``part`` check: the first paragraph of the docstring of
    ``cnnbook.checks.<id>.check_<part>``, in plain words with `code` in backquotes.

    Returns "" when there is no such check or it has no docstring.
    """
    try:
        module = importlib.import_module(f"cnnbook.checks.{exercise_id.replace('-', '_')}")
        check = getattr(module, f"check_{part}")
    except (ImportError, AttributeError):
        return ""
    doc = inspect.getdoc(check) or ""
    first = " ".join(doc.strip().split("\n\n")[0].split())
    first = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", first)   # Sphinx roles
    # A number the check takes as a parameter (``bar``) is said as the value the grader uses.
    try:
        defaults = {name: p.default for name, p in inspect.signature(check).parameters.items()
                    if isinstance(p.default, (int, float)) and not isinstance(p.default, bool)}
    except (TypeError, ValueError):
        defaults = {}
    first = re.sub(r"``(\w+)``", lambda m: f"{defaults[m.group(1)]:g}" if m.group(1) in defaults else m.group(0), first)
    return first.replace("``", "`")


# --------------------------------------------------------------------------------------------
# Running one part


def _graded_cells(notebook: Path) -> list[dict]:
    try:
        nb = json.loads(notebook.read_text(encoding="utf-8"))
        cells = nb["cells"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"cannot read the tests from {notebook}: {err}") from None
    graded = []
    for cell in cells:
        if nbgrader_meta(cell).get("grade"):
            source = cell.get("source", "")
            graded.append({**cell, "source": "".join(source) if isinstance(source, list) else source})
    return graded


def _run_part(exercise_id: str, cell: dict, scratch: dict) -> Part:
    meta = nbgrader_meta(cell)
    grade_id = str(meta.get("grade_id", "?"))
    name = grade_id.removeprefix("test_")
    points = float(meta.get("points", 0) or 0)
    if not is_test_cell(cell):  # a written answer (a Markdown solution cell)
        return Part(name, grade_id, points, BY_HAND, hidden=BY_HAND_TEXT)
    hidden = hidden_description(exercise_id, name) or GENERIC_HIDDEN
    source = strip_hidden(cell["source"])
    if not _has_code(source):
        return Part(name, grade_id, points, NO_PUBLIC_TEST, "this part has hidden tests only.", hidden)
    filename = f"<public tests of {grade_id}>"
    start = time.perf_counter()
    try:
        code = compile(source, filename, "exec")
        with _quiet():
            exec(code, scratch)
    except Exception as err:  # a failing test is the answer here, not a crash
        status, message = _verdict(err, source, filename)
    else:
        status, message = PASS, ""
    return Part(name, grade_id, points, status, message, hidden, time.perf_counter() - start)


def _has_code(source: str) -> bool:
    return any(line.strip() and not line.strip().startswith("#") for line in source.splitlines())


def _verdict(err: BaseException, source: str, filename: str) -> tuple[str, str]:
    """``(status, the first line of what went wrong)`` of a failing test cell."""
    if _not_implemented(err):
        where = _student_function(err, filename)
        return NOT_ATTEMPTED, (f"`{where}` still raises NotImplementedError" if where
                               else "something above still raises NotImplementedError")
    first = _first_line(err)
    if isinstance(err, AssertionError):
        return FAIL, first or f"this check failed: {_failing_line(err, source, filename)}"
    if isinstance(err, NameError) and _raised_in(err, filename):
        return ERROR, (f"NameError: {first}: run the cells above this part first "
                       "(or restart the kernel and run all cells)")
    where = _student_function(err, filename)
    text = f"{type(err).__name__}: {first}" if first else type(err).__name__
    return ERROR, text + (f" (raised in `{where}`)" if where else "")


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    line = text.splitlines()[0].strip() if text else ""
    return line if len(line) <= 300 else line[:297] + "..."


def _chain(err: BaseException):
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        yield err
        err = err.__cause__ or err.__context__


def _not_implemented(err: BaseException) -> bool:
    return any(isinstance(e, NotImplementedError) for e in _chain(err))


def _frames(err: BaseException):
    tb = err.__traceback__
    while tb is not None:
        yield tb
        tb = tb.tb_next


def _raised_in(err: BaseException, filename: str) -> bool:
    """Whether the innermost frame of the error is the test cell itself."""
    frames = list(_frames(err))
    return bool(frames) and frames[-1].tb_frame.f_code.co_filename == filename


def _failing_line(err: BaseException, source: str, filename: str) -> str:
    lines = source.splitlines()
    for tb in reversed(list(_frames(err))):
        if tb.tb_frame.f_code.co_filename == filename and 0 < tb.tb_lineno <= len(lines):
            return lines[tb.tb_lineno - 1].strip()
    return "an assertion without a message"


def _student_function(err: BaseException, filename: str) -> str:
    """The innermost function of the student's code the error went through ("" if none)."""
    for e in _chain(err):
        for tb in reversed(list(_frames(e))):
            code = tb.tb_frame.f_code
            path = code.co_filename
            if path == filename or code.co_name == "<module>":
                continue
            if os.path.isabs(path) and str(Path(path).resolve()).startswith(_LIBRARY_DIRS):
                continue
            return getattr(code, "co_qualname", code.co_name)  # LeNet5.__init__ (Python 3.11+)
    return ""


# --------------------------------------------------------------------------------------------
# Keeping the student's session as it was


@contextlib.contextmanager
def _quiet():
    """No output and no warnings from the tests: only the table is shown."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def _state_preserved():
    """The global random states (Python, NumPy, torch) and the open figures are as they were.

    Public tests seed the generators (``torch.manual_seed(0)``) and may draw figures; the
    student's next cell should not notice.
    """
    py_state = random.getstate()
    numpy = sys.modules.get("numpy")
    np_state = numpy.random.get_state() if numpy is not None else None
    figures = _open_figures()
    with contextlib.ExitStack() as stack:
        torch = sys.modules.get("torch")
        if torch is not None:
            cuda = [] if not torch.cuda.is_initialized() else list(range(torch.cuda.device_count()))
            stack.enter_context(torch.random.fork_rng(devices=cuda))
        try:
            yield
        finally:
            random.setstate(py_state)
            if np_state is not None:
                numpy.random.set_state(np_state)
            pyplot = sys.modules.get("matplotlib.pyplot")
            if pyplot is not None:
                for number in set(pyplot.get_fignums()) - figures:
                    pyplot.close(number)


def _open_figures() -> set:
    pyplot = sys.modules.get("matplotlib.pyplot")
    return set(pyplot.get_fignums()) if pyplot is not None else set()


# --------------------------------------------------------------------------------------------
# Showing the table


def _grading() -> bool:
    """Whether this kernel is the grader's (its sandbox sets an environment variable)."""
    try:
        from .sandbox import ENV_VAR
    except ImportError:  # the sandbox needs a Unix system; so does the grader
        return False
    return ENV_VAR in os.environ


def _in_jupyter() -> bool:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def _show(report: Report) -> None:
    if _in_jupyter():
        from IPython.display import display

        display({"text/plain": report.text(), "text/html": report.html()}, raw=True)
    else:
        print(report.text())


def _wrap(text: str) -> list[str]:
    """Indented lines under a row of the table; names and code are never cut in two."""
    return textwrap.wrap(text, WIDTH, initial_indent=" " * 4, subsequent_indent=" " * 6,
                         break_long_words=False, break_on_hyphens=False)


def _points(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _seconds(part: Part) -> str:
    if part.status in (BY_HAND, NO_PUBLIC_TEST):
        return "-"
    return f"{part.seconds:.2f} s" if part.seconds < 10 else f"{part.seconds:.0f} s"


def _code_html(text: str) -> str:
    """Escaped text with `code` in <code> tags."""
    pieces = html.escape(text).split("`")
    if len(pieces) % 2 == 0:  # an odd number of backquotes: leave them as they are
        return html.escape(text)
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))
