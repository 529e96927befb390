"""Checking a student's results outside the student's own process.

A hidden check runs in the grading kernel, next to the student's code, so on its own its verdict
could be forged: a notebook can replace ``np.allclose``, patch the check helpers or make every
comparison succeed. Every time a check calls the student's code it goes through
:func:`cnnbook.checks._common.attempt`, and there this module steps in:

* **record** (inside the grading kernel, where ``CNNBOOK_RECORD`` names a folder): what each call
  returned or raised is written to that folder as plain data, JSON lines and ``.npy`` files
  without pickles, one file per invocation of a ``check_*`` function;
* **replay** (in the grader, outside the sandbox): the same check function runs again, on the
  same inputs (every check draws them from fixed seeds), but each call of the student's code
  returns the recorded result instead of running anything. The comparisons, the tolerances and
  the verdict are the grader's own, on plain arrays and numbers.

A cell passes only if it passes in the kernel and in the replay. What a notebook can still do is
write false records, which means computing the right answers for the hidden inputs some other
way; calling a forbidden library for that is flagged by the grader's reading of the source.

Values that are not plain data (a ``torch.nn.Module``, an optimizer) cannot be checked outside
the kernel: a replay that meets one raises :class:`ReplayUnavailable`, and the grader keeps the
kernel's verdict for that cell. Other objects come back as :class:`Foreign` placeholders, which
fail every type check, so an object whose ``__eq__`` always says yes earns nothing.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import re
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

#: Environment variable naming the folder where the grading kernel records the checks' calls.
RECORD_VAR = "CNNBOOK_RECORD"

#: Limits on what a replay reads from the (student-writable) record folder.
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_TOTAL_BYTES = 512 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024
MAX_DEPTH = 8
MAX_ITEMS = 10_000


class ReplayUnavailable(Exception):
    """The replay met something it cannot check outside the kernel (a live torch object)."""


class ReplayDiverged(AssertionError):
    """The replay asked for a call the record does not have: the check's inputs or its course
    differ between the kernel and the grader, or nothing was recorded for it."""


class Foreign:
    """A recorded value that is not plain data, described but unusable: it fails type checks."""

    def __init__(self, description: str):
        self._description = description

    def __repr__(self) -> str:
        return self._description


@dataclass
class Outcome:
    """What one call of the student's code gave: its result or its error, and what the kernel saw
    around it (arguments changed in place, calls into forbidden libraries)."""

    result: Any = None
    error: BaseException | None = None
    mutated: list[str] = field(default_factory=list)
    offence: str | None = None


# --------------------------------------------------------------------------------------------
# Fingerprints of a call's inputs

def digest(value: Any) -> str:
    """A fingerprint of the data in ``value``: arrays by dtype, shape and bytes, numbers and
    strings by value, containers element by element, anything else by its type only."""
    h = hashlib.sha256()
    _feed(h, value, 0)
    return h.hexdigest()[:32]


def _feed(h, value: Any, depth: int) -> None:
    try:
        _feed_value(h, value, depth)
    except Exception:  # a value that cannot be read as data: its type stands for it
        h.update(f"<unreadable {type(value).__module__}.{type(value).__qualname__}>".encode())


def _feed_value(h, value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        h.update(b"<deep>")
        return
    if _is_tensor(value) and (value.is_meta or value.layout != sys.modules["torch"].strided):
        h.update(f"tensor-{value.layout}-{value.device.type}{value.dtype}{tuple(value.shape)}".encode())
    elif isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            h.update(f"ndarray-object{value.shape}".encode())
            return
        h.update(f"ndarray{value.dtype.str}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif _is_tensor(value):
        _feed(h, _tensor_array(value), depth + 1)
    elif isinstance(value, (bool, int, float, complex, str, type(None), np.generic)):
        h.update(f"{type(value).__name__}:{value!r}".encode())
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}[{len(value)}]".encode())
        for item in value:
            _feed(h, item, depth + 1)
    elif isinstance(value, dict):
        h.update(f"dict[{len(value)}]".encode())
        for key in sorted(value, key=repr):
            h.update(repr(key).encode())
            _feed(h, value[key], depth + 1)
    else:
        h.update(f"<{type(value).__module__}.{type(value).__qualname__}>".encode())


def call_digest(args: Sequence[tuple[str, Any]], kwargs: dict) -> str:
    return digest(([(label, value) for label, value in args], kwargs))


def _is_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _tensor_array(value) -> np.ndarray:
    tensor = value.detach().cpu()
    if not tensor.dtype.is_complex and tensor.dtype.is_floating_point and tensor.element_size() < 4:
        tensor = tensor.float()  # float16/bfloat16 have no exact NumPy twin everywhere
    return tensor.resolve_conj().resolve_neg().numpy()


def _holds_live(value: Any, depth: int = 0) -> bool:
    if depth > MAX_DEPTH:
        return False
    if isinstance(value, (list, tuple)):
        return any(_holds_live(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(_holds_live(v, depth + 1) for v in value.values())
    if isinstance(value, (np.ndarray, np.generic, str, bytes, int, float, complex, type(None))) or _is_tensor(value):
        return False
    return _is_live(value) or not isinstance(value, np.random.Generator)


# --------------------------------------------------------------------------------------------
# Encoding (in the kernel) and decoding (in the grader)

def _is_live(value: Any) -> bool:
    """A torch module, optimizer, data loader or a function: things only the kernel can use."""
    torch = sys.modules.get("torch")
    if torch is not None:
        live = (torch.nn.Module, torch.optim.Optimizer, torch.utils.data.DataLoader, torch.device, torch.dtype)
        if isinstance(value, live):
            return True
    return callable(value) or isinstance(value, type)


class _Encoder:
    def __init__(self, folder: Path, stem: str):
        self.folder, self.stem, self.count = folder, stem, 0

    def array(self, array: np.ndarray) -> str:
        name = f"{self.stem}.{self.count}.npy"
        self.count += 1
        np.save(self.folder / name, np.array(array, copy=True, subok=False), allow_pickle=False)
        return name

    def encode(self, value: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            return {"foreign": "a value nested too deeply"}
        if value is None or type(value) is bool:
            return value
        if type(value) is str:
            return {"str": value[:100_000]}
        if type(value) is int:
            return {"int": str(value)}
        if type(value) is float:
            return {"float": value.hex()}
        if isinstance(value, np.generic) and not value.dtype.hasobject:
            return {"npscalar": self.array(np.asarray(value))}
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                return {"foreign": f"an array of dtype object and shape {value.shape}"}
            return {"ndarray": self.array(value)}
        if _is_tensor(value) and (value.is_meta or value.layout != sys.modules["torch"].strided):
            return {"live": f"a {value.device.type} tensor of shape {tuple(value.shape)}"}
        if _is_tensor(value):
            return {"tensor": self.array(_tensor_array(value)), "dtype": str(value.dtype).replace("torch.", ""),
                    "requires_grad": bool(value.requires_grad)}
        if type(value) in (tuple, list):
            if len(value) > MAX_ITEMS:
                return {"foreign": f"a {type(value).__name__} of length {len(value)}"}
            return {type(value).__name__: [self.encode(v, depth + 1) for v in value]}
        if type(value) is dict and all(type(k) is str for k in value) and len(value) <= MAX_ITEMS:
            return {"dict": [[k, self.encode(v, depth + 1)] for k, v in value.items()]}
        kind = f"{type(value).__module__}.{type(value).__qualname__}"
        if _is_live(value):
            return {"live": kind}
        return {"foreign": f"an object of type {kind}"}

    def encode_error(self, error: BaseException) -> dict:
        if _is_check_failure(error):
            return {"type": "check", "message": str(error)[:20_000]}
        # A student's own exception class is rebuilt outside as a subclass of its nearest builtin
        # base, so `except ValueError` treats a `class ShapeError(ValueError)` the same on both sides.
        base = next((c.__name__ for c in type(error).__mro__ if c.__module__ == "builtins"), "Exception")
        try:
            message = str(error)[:20_000]
        except Exception:
            message = "<an exception whose str() fails>"
        return {"type": type(error).__name__, "base": base, "message": message}


def _is_check_failure(error: BaseException) -> bool:
    from ._common import CheckFailure

    return isinstance(error, CheckFailure)


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,80}$")


class _Decoder:
    def __init__(self, reader: "_Reader", live_ok: bool):
        self.reader, self.live_ok = reader, live_ok

    def decode(self, data: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH + 1:
            raise ValueError("record nested too deeply")
        if data is None or type(data) is bool:
            return data
        if type(data) is not dict or len(data) not in (1, 3):
            raise ValueError(f"unexpected record entry {str(data)[:80]}")
        (kind, payload), *_ = data.items()
        if kind == "str" and type(payload) is str:
            return payload
        if kind == "int" and type(payload) is str and len(payload) < 5000:
            return int(payload)
        if kind == "float" and type(payload) is str:
            return float.fromhex(payload)
        if kind == "npscalar":
            array = self.reader.array(payload)
            if array.ndim != 0:
                raise ValueError("a scalar record that is not 0-d")
            return array[()]
        if kind == "ndarray":
            return self.reader.array(payload)
        if kind == "tensor":
            import torch

            tensor = torch.from_numpy(self.reader.array(payload).copy())
            dtype = getattr(torch, str(data.get("dtype")), None)
            if isinstance(dtype, torch.dtype):
                tensor = tensor.to(dtype)
            if data.get("requires_grad") is True and tensor.dtype.is_floating_point:
                tensor.requires_grad_(True)
            return tensor
        if kind in ("tuple", "list") and type(payload) is list:
            items = [self.decode(item, depth + 1) for item in payload]
            return tuple(items) if kind == "tuple" else items
        if kind == "dict" and type(payload) is list:
            return {str(k): self.decode(v, depth + 1) for k, v in payload}
        if kind == "live":
            if self.live_ok:
                raise ReplayUnavailable(f"the result is a live object ({str(payload)[:100]})")
            return Foreign(f"an object of type {str(payload)[:100]}")
        if kind == "foreign":
            return Foreign(str(payload)[:200])
        raise ValueError(f"unexpected record entry of kind {kind[:40]!r}")

    def decode_error(self, data: Any) -> BaseException:
        if type(data) is not dict:
            raise ValueError("unexpected error record")
        kind, message = str(data.get("type", "Exception")), str(data.get("message", ""))
        if kind == "check":
            from ._common import CheckFailure

            return CheckFailure(message)
        builtin = getattr(builtins, kind, None)
        if isinstance(builtin, type) and issubclass(builtin, Exception):
            return builtin(message)
        base = getattr(builtins, str(data.get("base", "Exception")), None)
        if not (isinstance(base, type) and issubclass(base, Exception)):
            base = Exception
        name = kind if _IDENT.match(kind) else "Exception"
        return type(name, (base,), {})(message)


# --------------------------------------------------------------------------------------------
# Which check a call belongs to

def _outer_check_frame():
    """The frame of the outermost ``check_*`` function of a ``cnnbook.checks`` module on the stack."""
    frame, found = sys._getframe(1), None
    while frame is not None:
        module = frame.f_globals.get("__name__", "") or ""
        if module.startswith("cnnbook.checks.") and frame.f_code.co_name.startswith("check_"):
            found = frame
        frame = frame.f_back
    return found


def current_check() -> str | None:
    """``ex06_conv.check_conv2d_forward``: the hidden check the current call belongs to."""
    frame = _outer_check_frame()
    if frame is None:
        return None
    return f"{frame.f_globals['__name__'].rsplit('.', 1)[-1]}.{frame.f_code.co_name}"


# --------------------------------------------------------------------------------------------
# Recording, in the kernel

class Recorder:
    """Writes every call of the student's code made by a check to ``folder``."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._frame = None  # the outermost check frame of the invocation being recorded
        self._stem: str | None = None
        self._index = 0
        self._encoder: _Encoder | None = None
        self.suspended = 0
        self._invocations: dict[str, int] = {}

    def _open(self, check: str) -> None:
        outer = _outer_check_frame()
        if self._frame is outer and self._stem is not None:
            return
        n = self._invocations.get(check, 0) + 1
        self._invocations[check] = n
        self._frame, self._stem, self._index = outer, f"{check}.{n:04d}", 0
        self._encoder = _Encoder(self.folder, self._stem)

    def write(self, kind: str, check: str, text: str, key: str, **entry) -> None:
        if self.suspended:
            return
        self._open(check)
        line = {"n": self._index, "kind": kind, "call": text[:2000], "args": key, **entry}
        self._index += 1
        try:
            with open(self.folder / f"{self._stem}.jsonl", "a", encoding="utf-8") as fh:
                fh.write(json.dumps(line) + "\n")
        except (OSError, ValueError):
            pass  # a record folder the notebook removed: the replay finds nothing and says so

    def call(self, check: str, text: str, key: str, outcome: Outcome) -> None:
        if self.suspended:
            return
        self._open(check)
        encoder = self._encoder
        try:
            if outcome.error is not None:
                body = {"error": encoder.encode_error(outcome.error)}
            else:
                body = {"result": encoder.encode(outcome.result)}
        except Exception as err:  # recording must never change what the check sees in the kernel
            body = {"result": {"live": f"a result that could not be recorded ({type(err).__name__})"}}
        self.write("call", check, text, key, mutated=outcome.mutated, offence=outcome.offence, **body)


# --------------------------------------------------------------------------------------------
# Replaying, in the grader

class _Reader:
    """Reads a record folder written by a student's kernel, trusting nothing in it."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.total = 0

    def _open(self, name: str):
        if not re.fullmatch(r"[A-Za-z0-9_.]+", name) or name.startswith("."):
            raise ValueError(f"bad file name in the record: {name[:60]!r}")
        fd = os.open(self.folder / name, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise ValueError(f"{name} in the record is not a plain file")
        if info.st_size > MAX_FILE_BYTES or self.total + info.st_size > MAX_TOTAL_BYTES:
            os.close(fd)
            raise ValueError(f"the record is too large ({name}: {info.st_size} bytes)")
        self.total += info.st_size
        return os.fdopen(fd, "rb")

    def array(self, name: Any) -> np.ndarray:
        if type(name) is not str:
            raise ValueError("bad array reference in the record")
        with self._open(name) as fh:
            array = np.load(fh, allow_pickle=False)
        if not isinstance(array, np.ndarray) or array.dtype.hasobject:
            raise ValueError(f"{name} in the record is not a plain array")
        return array

    def entries(self, check: str) -> list[dict]:
        """The entries of the last invocation of ``check`` recorded in the folder."""
        try:
            names = sorted(p.name for p in self.folder.iterdir()
                           if p.name.startswith(check + ".") and p.name.endswith(".jsonl"))
        except OSError:
            return []
        names = [n for n in names if re.fullmatch(re.escape(check) + r"\.\d{4}\.jsonl", n)]
        if not names:
            return []
        entries = []
        with self._open(names[-1]) as fh:
            for raw in fh:
                if len(raw) > MAX_LINE_BYTES:
                    raise ValueError("a line of the record is too long")
                entry = json.loads(raw)
                if type(entry) is not dict:
                    raise ValueError("a record line that is not an object")
                entries.append(entry)
        return entries


class Replayer:
    """Gives each check the results recorded in the kernel, in order, instead of running code.

    ``live_ok``: a recorded torch module or optimizer makes the replay unavailable (labs);
    otherwise it comes back as a :class:`Foreign` placeholder (NumPy exercises, where a correct
    answer is always plain data).
    """

    def __init__(self, folder: Path, *, live_ok: bool):
        self.reader = _Reader(folder)
        self.decoder = _Decoder(self.reader, live_ok)
        self._queues: dict[str, list[dict]] = {}
        self.suspended = 0

    def _next(self, check: str | None, kind: str, text: str, key: str) -> dict:
        if check is None:
            raise ReplayDiverged(f"{text} was called outside a check")
        if check not in self._queues:
            self._queues[check] = self.reader.entries(check)
        queue = self._queues[check]
        if not queue:
            raise ReplayDiverged(f"no recorded result for {text}: the check did not get this far in the notebook")
        entry = queue.pop(0)
        if entry.get("kind") != kind or entry.get("args") != key:
            raise ReplayDiverged(f"the recorded call {str(entry.get('call'))[:200]} does not match the grader's "
                                 f"{text}: the notebook changed the check's inputs or its course")
        return entry

    def call(self, check: str | None, text: str, key: str, args: Any = ()) -> Outcome:
        if self.decoder.live_ok and _holds_live(args):
            # The call may change a model or an optimizer in place; only the kernel saw that.
            raise ReplayUnavailable(f"{text[:200]} works on a live torch object")
        entry = self._next(check, "call", text, key)
        mutated = entry.get("mutated") or []
        offence = entry.get("offence")
        if type(mutated) is not list or not all(type(m) is str for m in mutated):
            raise ValueError("bad record of in-place changes")
        if offence is not None and type(offence) is not str:
            raise ValueError("bad record of forbidden calls")
        if "error" in entry:
            return Outcome(error=self.decoder.decode_error(entry["error"]), mutated=mutated, offence=offence)
        return Outcome(result=self.decoder.decode(entry.get("result")), mutated=mutated, offence=offence)

    def value(self, check: str | None, text: str, key: str) -> Any:
        return self.decoder.decode(self._next(check, "value", text, key).get("value"))


# --------------------------------------------------------------------------------------------
# The mode this process is in

_mode: Recorder | Replayer | None = None


def mode() -> Recorder | Replayer | None:
    global _mode
    if _mode is None and os.environ.get(RECORD_VAR):
        folder = Path(os.environ[RECORD_VAR])
        if folder.is_dir():
            _mode = Recorder(folder)
    return _mode


def set_mode(new: Recorder | Replayer | None) -> Recorder | Replayer | None:
    """Switch this process to recording, replaying or neither; return the previous mode."""
    global _mode
    previous, _mode = _mode, new
    return previous


def encode_value(value: Any) -> dict:
    """How :func:`cnnbook.checks._common.best_time` stores a measured number."""
    return {"float": float(value).hex()}
