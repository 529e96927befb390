"""Helpers shared by the hidden checks: calling a student's function, comparing its answer with
an oracle in words a student understands, and keeping library shortcuts out of NumPy exercises.

Every check raises ``AssertionError`` (never something from deep inside NumPy or torch) with a
message that names the function, the input, what was expected, what came back and, where the
mistake can be recognised, its likely cause.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import numbers
import os
import sys
import time
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from . import _replay
from ._replay import Outcome

#: Libraries a NumPy exercise may not call (they would do the work for the student).
FORBIDDEN_LIBRARIES = ("torch", "scipy", "tensorflow", "keras", "jax", "jaxlib")

#: Largest relative error (CS231n style, see :func:`rel_error`) accepted for float64 results.
RTOL = 1e-7


class CheckFailure(AssertionError):
    """A failed hidden check; the message is meant for the student."""


def fail(message: str) -> None:
    raise CheckFailure(message)


# --------------------------------------------------------------------------------------------
# Describing values and calls

def describe(value: Any) -> str:
    """A short description of a value for a message: arrays by shape and dtype."""
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return f"a 0-d array ({value.item()!r})"
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    module = type(value).__module__ or ""
    if module.split(".")[0] == "torch":
        return f"a torch.{type(value).__name__} (shape {tuple(getattr(value, 'shape', ()))})"
    if isinstance(value, (list, tuple)):
        kind = type(value).__name__
        if len(value) <= 6 and all(isinstance(v, (numbers.Number, str, type(None))) for v in value):
            return repr(value)
        return f"a {kind} of length {len(value)}"
    if isinstance(value, float):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _arg_text(label: str, value: Any) -> str:
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return f"{label} of shape {value.shape}"
    return f"{label}={value!r}"


def call_text(name: str, args: Sequence[tuple[str, Any]], kwargs: dict | None = None) -> str:
    """``conv2d_forward(X of shape (2, 3, 7, 9), W of shape (4, 3, 3, 5), b of shape (4,), stride=2)``."""
    parts = [_arg_text(label, value) for label, value in args]
    parts += [f"{k}={v!r}" for k, v in (kwargs or {}).items()]
    return f"{name}({', '.join(parts)})"


def attempt(fn: Callable, name: str, args: Sequence[tuple[str, Any]], kwargs: dict | None = None,
            *, forbid: bool = False, mutation: bool = False) -> Outcome:
    """Call a student's function once and report what happened, without judging it.

    Every call of the student's code by a check goes through here: in the grading kernel the
    outcome is also recorded, and when the grader replays the check outside the kernel the
    recorded outcome comes back instead of a call (see :mod:`cnnbook.checks._replay`).
    """
    kwargs = dict(kwargs or {})
    mode = _replay.mode()
    check = _replay.current_check() if mode is not None and not mode.suspended else None
    if isinstance(mode, _replay.Replayer) and not mode.suspended:
        return mode.call(check, call_text(name, args, kwargs), _replay.call_digest(args, kwargs),
                         ([value for _, value in args], kwargs))
    # The fingerprint is taken before the call: the student's code may change its inputs.
    key = _replay.call_digest(args, kwargs) if check is not None else None
    outcome = _invoke(fn, args, kwargs, forbid=forbid, mutation=mutation)
    if key is not None:
        mode.call(check, call_text(name, args, kwargs), key, outcome)
    return outcome


def _invoke(fn: Callable, args: Sequence[tuple[str, Any]], kwargs: dict, *, forbid: bool, mutation: bool) -> Outcome:
    before = [(label, value.copy()) for label, value in args if isinstance(value, np.ndarray)] if mutation else []
    outcome = Outcome()
    recorder = _Recorder(FORBIDDEN_LIBRARIES) if forbid else None
    previous = sys.getprofile()
    if recorder is not None:
        sys.setprofile(recorder)
    try:
        outcome.result = fn(*[value for _, value in args], **kwargs)
    except Exception as err:  # judged by the caller
        outcome.error = err
    finally:
        if recorder is not None:
            _restore_profiler(previous)
            outcome.offence = recorder.offence
    if outcome.error is None:
        current = dict(args)
        for label, saved in before:
            now = current[label]
            if now.shape != saved.shape or not np.array_equal(now, saved, equal_nan=True):
                outcome.mutated.append(label)
    return outcome


def call(fn: Callable, name: str, args: Sequence[tuple[str, Any]], kwargs: dict | None = None,
         *, forbid: bool = False, mutation: bool = True,
         explain: Callable[[BaseException], str | None] | None = None):
    """Call a student's function; turn any exception it raises into a readable failure.

    ``args`` are ``(label, value)`` pairs passed positionally, ``kwargs`` by keyword. With
    ``forbid`` the call must not use torch, SciPy & co. (see :func:`forbid_libraries`); with
    ``mutation`` the array arguments must come back unchanged. ``explain`` may add a likely
    cause to an error.
    """
    kwargs = dict(kwargs or {})
    text = call_text(name, args, kwargs)
    outcome = attempt(fn, name, args, kwargs, forbid=forbid, mutation=mutation)
    if outcome.offence is not None:
        # reported even when the student's code failed too: the library call is the real problem
        fail(_forbidden_message(name, outcome.offence))
    err = outcome.error
    if isinstance(err, CheckFailure):
        raise err
    if isinstance(err, NotImplementedError):
        fail(f"{name} is not implemented yet: {text} raised NotImplementedError. "
             "Replace `raise NotImplementedError()` with your code.")
    if err is not None:  # the student's own error, reported with the input that caused it
        cause = explain(err) if explain else None
        if cause is None and "could not be broadcast" in str(err):
            cause = "A NumPy broadcasting error: print the shapes of the arrays combined on that line."
        fail(f"{text} raised {type(err).__name__}: {str(err).rstrip()}" + (f". {cause}" if cause else ""))
    for label in outcome.mutated:
        fail(f"{text} modified its input {label} in place. Work on a copy "
             f"(e.g. `{label}.copy()` or a new array); never write into the arguments.")
    return outcome.result


def expect_error(fn: Callable, name: str, args: Sequence[tuple[str, Any]], kwargs: dict | None = None,
                 *, error: type[BaseException] = ValueError, why: str) -> None:
    """The call must raise ``error`` (e.g. ``ValueError``); ``why`` says what is wrong with the input."""
    text = call_text(name, args, kwargs)
    outcome = attempt(fn, name, args, kwargs)
    err = outcome.error
    if isinstance(err, error):
        return
    if isinstance(err, NotImplementedError):
        fail(f"{name} is not implemented yet: {text} raised NotImplementedError.")
    if err is not None:
        fail(f"{text} should raise {error.__name__} because {why}; it raised {type(err).__name__}: {err}. "
             f"Check the arguments at the top of {name} and raise {error.__name__} with a clear message.")
    fail(f"{text} should raise {error.__name__} because {why}; it returned {describe(outcome.result)} instead.")


def check_int(result: Any, expected: int, text: str, *, hint: str = "") -> None:
    """An exact integer answer (``bool`` and floats are refused)."""
    if isinstance(result, bool) or not isinstance(result, numbers.Integral):
        fail(f"{text} returned {describe(result)} ({type(result).__name__}); expected the int {expected}. "
             "Return an int, e.g. with `//` after checking divisibility, or `int(...)`.")
    if int(result) != expected:
        fail(f"{text} returned {int(result)}; expected {expected}." + (f" {hint}" if hint else ""))


# --------------------------------------------------------------------------------------------
# Comparing arrays

def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """CS231n's relative error: ``max |a - b| / max(1e-8, |a| + |b|)``, elementwise."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def close(a: Any, b: np.ndarray, rtol: float = RTOL) -> bool:
    """Same shape and a relative error below ``rtol``."""
    try:
        a = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and rel_error(a, b) < rtol


Candidate = tuple[str, Callable[[], np.ndarray]]


def check_array(got: Any, expected: np.ndarray, *, what: str, text: str,
                candidates: Iterable[Candidate] = (), shape_hints: Iterable[tuple[tuple, str]] = (),
                diagnose: Callable[[np.ndarray], str | None] | None = None,
                dtype=np.float64, rtol: float = RTOL) -> None:
    """``got`` must be an ndarray of ``expected``'s shape and dtype and close to it.

    ``candidates`` are ``(explanation, make_array)`` pairs: arrays a common mistake produces.
    When ``got`` matches one of them, its explanation becomes the message. ``shape_hints`` are
    ``(shape, explanation)`` pairs for wrong shapes. ``diagnose(got)`` may recognise a mistake
    that no single candidate array describes.
    """
    where = f"{text}: {what}"
    if not isinstance(got, np.ndarray):
        if (type(got).__module__ or "").split(".")[0] == "torch":
            fail(f"{where} is a torch tensor; return a NumPy array (this exercise is NumPy only).")
        fail(f"{where} should be a NumPy array of shape {expected.shape}; got {describe(got)}.")
    if got.shape != expected.shape:
        message = f"{where} has shape {got.shape}; expected {expected.shape}."
        for shape, explanation in shape_hints:
            if tuple(shape) == got.shape:
                message += f" {explanation}"
                break
        fail(message)
    if dtype is not None and got.dtype != dtype:
        fail(f"{where} has dtype {got.dtype}; expected {np.dtype(dtype)}. Do not cast the result, and "
             "create output arrays without an integer or float32 dtype (np.zeros(shape) is float64).")
    if not np.all(np.isfinite(got)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(got))[0])
        fail(f"{where} contains {got[bad]} at index {bad} (expected {expected[bad]:.6g}). "
             "Was an entry left uninitialised (np.empty) or divided by zero?")
    err = rel_error(got, expected)
    if err < rtol:
        return
    for explanation, make in candidates:
        try:
            candidate = np.asarray(make(), dtype=np.float64)
        except Exception:  # a candidate that does not apply to this input
            continue
        if candidate.shape == got.shape and rel_error(got, candidate) < rtol:
            fail(f"{where} is wrong (relative error {err:.1e}, expected < {rtol:.0e}). {explanation}")
    cause = None
    if diagnose is not None:
        try:
            cause = diagnose(got)
        except Exception:  # a diagnosis is a bonus: never let it hide the failure
            cause = None
    fail(f"{where} is wrong: {mismatch_report(got, expected)}" + (f" {cause}" if cause else ""))


def mismatch_report(got: np.ndarray, expected: np.ndarray, rtol: float = RTOL) -> str:
    """Where the first mismatch is, how many entries differ, the relative error."""
    diff = np.abs(got - expected) / np.maximum(1e-8, np.abs(got) + np.abs(expected))
    bad = diff >= rtol
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    return (f"{int(bad.sum())} of {bad.size} entries differ; the first at index {first}: "
            f"got {got[first]:.6g}, expected {expected[first]:.6g}. "
            f"Relative error {rel_error(got, expected):.1e} (a correct float64 result is ~1e-12, "
            f"at most {rtol:.0e}).")


# --------------------------------------------------------------------------------------------
# Keeping torch, SciPy & co. out of a NumPy exercise

def _library_dirs(libraries: Sequence[str]) -> tuple[str, ...]:
    return _library_dirs_cached(tuple(libraries), tuple(sys.path))


@functools.lru_cache(maxsize=8)
def _library_dirs_cached(libraries: tuple[str, ...], path: tuple[str, ...]) -> tuple[str, ...]:
    dirs = []
    for lib in libraries:
        try:
            spec = importlib.util.find_spec(lib)  # finds the package without importing it
        except (ImportError, ValueError):
            continue
        for location in (spec.submodule_search_locations or []) if spec else []:
            dirs.append(os.path.realpath(location) + os.sep)
    return tuple(dirs)


def _module_of(obj: Any) -> str:
    """The module a C function (or the object it is bound to) belongs to."""
    module = getattr(obj, "__module__", None)
    if isinstance(module, str) and module:
        return module
    owner = getattr(obj, "__self__", None)
    if owner is not None:
        if type(owner).__name__ == "module":
            return owner.__name__
        return getattr(type(owner), "__module__", "") or ""
    objclass = getattr(obj, "__objclass__", None)
    return getattr(objclass, "__module__", "") or ""


def _public_name(obj: Any, module: str, fallback: str) -> str:
    """The name a student would have typed: ``torch.nn.functional.conv2d`` rather than
    ``torch._C._VariableFunctionsClass.conv2d``."""
    if obj is None:
        return fallback
    publics = ("torch.nn.functional", "torch", "torch.Tensor", "scipy.signal", "scipy.ndimage", "scipy")
    if isinstance(obj, type):  # classes by their home: torch.Tensor, not torch.nn.functional.Tensor
        publics = ("torch",) + publics
    for public in publics:
        if public == "torch.Tensor":
            namespace = getattr(sys.modules.get("torch"), "Tensor", None)
        else:
            namespace = sys.modules.get(public)
        if namespace is None:
            continue
        for attr, value in list(vars(namespace).items()):
            if value is obj:
                return f"{public}.{attr}"
    return fallback


def _frame_name(frame) -> str:
    """``torch.nn.functional.pad`` or ``torch.Tensor.__array__`` for a frame inside a library."""
    module = frame.f_globals.get("__name__", "") or ""
    qualname = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)
    fallback = f"{module}.{qualname}"
    head, _, rest = qualname.partition(".")
    owner = frame.f_globals.get(head)
    if owner is None:
        return fallback
    name = _public_name(owner, module, "")
    if not name:
        return fallback
    return f"{name}.{rest}" if rest else name


class _Recorder:
    """A ``sys.setprofile`` hook that records calls into forbidden libraries.

    Only the outermost call of each excursion into a library is recorded (what the student
    wrote, not torch's internals), and at most ``limit`` distinct names.
    """

    def __init__(self, libraries: Sequence[str], limit: int = 4):
        self.roots = frozenset(libraries)
        self.dirs = _library_dirs(libraries)
        self.offences: list[str] = []
        self.limit = limit
        self._depth = 0  # > 0 while inside a Python frame of a forbidden library
        self._files: dict[str, bool] = {}  # file name -> inside a forbidden package

    def _forbidden_module(self, module: str) -> bool:
        return module.split(".", 1)[0] in self.roots

    def _forbidden_frame(self, frame) -> bool:
        module = frame.f_globals.get("__name__", "") or ""
        if self._forbidden_module(module):
            return True
        if not self.dirs:
            return False
        code = frame.f_code
        known = self._files.get(code.co_filename)
        if known is None:
            known = self._files[code.co_filename] = os.path.realpath(code.co_filename).startswith(self.dirs)
        return known

    def _record(self, name: str) -> None:
        if name not in self.offences and len(self.offences) < self.limit:
            self.offences.append(name)

    def __call__(self, frame, event, arg):
        if event == "call":
            if self._forbidden_frame(frame):
                if self._depth == 0:
                    self._record(_frame_name(frame))
                self._depth += 1
        elif event == "return":
            if self._depth and self._forbidden_frame(frame):
                self._depth -= 1
        elif event == "c_call" and self._depth == 0:
            module = _module_of(arg)
            if module and self._forbidden_module(module):
                name = getattr(arg, "__qualname__", None) or getattr(arg, "__name__", repr(arg))
                self._record(_public_name(arg, module, f"{module}.{name}"))

    @property
    def offence(self) -> str | None:
        """The calls recorded, the work first and the conversions (from_numpy, numpy...) last."""
        converters = {"from_numpy", "as_tensor", "tensor", "numpy", "asarray", "array", "item", "tolist"}
        ordered = sorted(self.offences, key=lambda name: name.rsplit(".", 1)[-1] in converters)
        return ", ".join(ordered) or None


def _restore_profiler(previous) -> None:
    if previous is None or callable(previous):
        sys.setprofile(previous)
    elif hasattr(previous, "enable"):  # a cProfile.Profile: C profilers restart with enable()
        sys.setprofile(None)
        previous.enable()
    else:
        sys.setprofile(None)


@contextlib.contextmanager
def forbid_libraries(name: str, libraries: Sequence[str] = FORBIDDEN_LIBRARIES):
    """Fail if the code run inside calls torch, SciPy, TensorFlow or JAX (directly or not).

    Uses ``sys.setprofile`` for the duration of the block only, so it sees Python calls into
    those packages as well as their C functions however they were imported (``from
    torch.nn.functional import conv2d`` at import time included). The previous profiler is
    restored afterwards.
    """
    recorder = _Recorder(libraries)
    previous = sys.getprofile()
    sys.setprofile(recorder)
    try:
        yield recorder
    finally:
        _restore_profiler(previous)
        if recorder.offence is not None:
            # raised even when the student's code failed too: the library call is the real problem
            fail(_forbidden_message(name, recorder.offence))


def _forbidden_message(name: str, offence: str) -> str:
    return (f"{name} must be implemented with NumPy; it called {offence}. "
            "torch, SciPy, TensorFlow and JAX are off limits in this exercise.")


# --------------------------------------------------------------------------------------------
# Timing

def best_time(fn: Callable[[], Any], *, repeat: int = 3, bound: float) -> float:
    """Best wall time of up to ``repeat`` runs; stops early once a run beats ``bound`` or takes
    longer than twice ``bound`` (clearly too slow: no point in waiting more).

    The timing runs are not recorded call by call; the grader's replay gets the time measured in
    the kernel.
    """
    mode = _replay.mode()
    check = _replay.current_check() if mode is not None and not mode.suspended else None
    key = _replay.digest((repeat, bound))
    if isinstance(mode, _replay.Replayer) and not mode.suspended:
        return float(mode.value(check, "timing", key))
    if mode is not None:
        mode.suspended += 1
    best = float("inf")
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
            if best < bound or best > 2 * bound:
                break
    finally:
        if mode is not None:
            mode.suspended -= 1
    if check is not None:
        mode.write("value", check, "timing", key, value=_replay.encode_value(best))
    return best
