"""A sandbox for the kernels that run students' notebooks.

nbgrader executes each submission through a Jupyter kernel. Here that kernel is started through
the ``cnnbook-sandbox`` kernelspec, whose launcher (``python -m cnnbook.sandbox``) wraps the
ordinary ipykernel in every layer the machine offers:

* **a separate user**: when the grader runs as root, the kernel runs as an unprivileged numeric
  uid, one per grading slot, so it cannot signal the grader, read the instructor's files or
  touch another student's processes (``setpriv``);
* **a private filesystem view** (bubblewrap): only the system, the Python installation, the
  ``cnnbook`` package and a scratch folder of its own are visible; the solutions, the hidden
  test sources, the gradebook and the other submissions do not exist inside;
* **no network**: a network namespace of its own (loopback only); the kernel talks to the
  grader over Unix sockets in its scratch folder;
* **resource limits**: address space, CPU seconds, processes and file size (``setrlimit``).

:func:`layers` says which layers this machine provides; the grader prints the ones it lacks.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

KERNEL_NAME = "cnnbook-sandbox"
ENV_VAR = "CNNBOOK_SANDBOX"
#: First of the unprivileged uids used for kernels (one per grading slot).
BASE_UID = 61000


@dataclass(frozen=True)
class Limits:
    """Per-kernel resource limits."""

    memory_mb: int = 3072      # address space; torch alone maps about 1 GB
    cpu_seconds: int = 900     # CPU time of the kernel process
    processes: int = 128       # processes and threads of the kernel's uid
    file_mb: int = 64          # largest file the kernel may write


@dataclass(frozen=True)
class Layers:
    separate_user: bool
    bubblewrap: bool
    missing: tuple[str, ...]


#: Errors that mean a resource limit stopped something, and how the grades CSV names them.
RESOURCE_ERRORS = {
    "MemoryError": "resource limit: memory",
    "BlockingIOError": "resource limit: processes",
}
RESOURCE_MESSAGES = {
    "File too large": "resource limit: file size",
    "Resource temporarily unavailable": "resource limit: processes",
    "Cannot allocate memory": "resource limit: memory",
}


def resource_reason(ename: str, evalue: str) -> str | None:
    """``resource limit: memory`` (or processes, file size) for an error a limit caused, else None."""
    if ename in RESOURCE_ERRORS:
        return RESOURCE_ERRORS[ename]
    return next((reason for message, reason in RESOURCE_MESSAGES.items() if message in evalue), None)


#: Comma-separated layers to leave out ("user", "bwrap"), to see what each one defends.
DISABLE_VAR = "CNNBOOK_SANDBOX_DISABLE"


@lru_cache(maxsize=1)
def layers() -> Layers:
    """Which isolation layers this machine provides, and why any is missing."""
    missing = []
    disabled = {name.strip() for name in os.environ.get(DISABLE_VAR, "").split(",") if name.strip()}
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    if "user" in disabled:
        missing.append(f"separate user: disabled by {DISABLE_VAR}")
        root = False
    elif not root:
        missing.append("separate user: the grader is not root, so kernels run as the grader's own user")
    elif not shutil.which("setpriv"):
        missing.append("separate user: setpriv (util-linux) is not installed")
        root = False
    bwrap = shutil.which("bwrap")
    usable = False
    if "bwrap" in disabled:
        missing.append(f"filesystem and network isolation: disabled by {DISABLE_VAR}")
    elif not bwrap:
        missing.append("filesystem and network isolation: bubblewrap (bwrap) is not installed")
    else:
        probe = subprocess.run([bwrap, "--ro-bind", "/", "/", "--unshare-net", "--dev", "/dev", "true"],
                               capture_output=True, text=True)
        usable = probe.returncode == 0
        if not usable:
            missing.append(f"filesystem and network isolation: bwrap cannot create namespaces here ({probe.stderr.strip()})")
    return Layers(separate_user=root, bubblewrap=usable, missing=tuple(missing))


#: How many uids the sandbox may use, from BASE_UID on.
UID_RANGE = 4096
LOCK_DIR = Path("/run/lock/cnnbook-sandbox") if Path("/run/lock").is_dir() else Path("/tmp/cnnbook-sandbox-locks")
_held: dict[int, int] = {}


def acquire_uid() -> int | None:
    """A kernel uid that no other grader on this machine is using, held until the process ends.

    Each uid is guarded by an flock, so two grading runs at once (or two workers) never share a
    uid, and cleaning up after one kernel never kills another's processes.
    """
    if not layers().separate_user:
        return None
    import fcntl

    LOCK_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    for uid in range(BASE_UID, BASE_UID + UID_RANGE):
        fd = os.open(LOCK_DIR / f"{uid}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        _held[uid] = fd
        kill_all(uid)  # whatever a crashed grader left running under it
        return uid
    raise RuntimeError(f"all {UID_RANGE} sandbox uids from {BASE_UID} are in use")


def write_kernelspec(folder: Path) -> Path:
    """Write the ``cnnbook-sandbox`` kernelspec under ``folder/kernels``; put ``folder`` on JUPYTER_PATH."""
    spec_dir = Path(folder) / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "cnnbook.sandbox", "{connection_file}"],
        "display_name": "Python 3 (cnnbook sandbox)",
        "language": "python",
        # A signal would reach bubblewrap too; a message reaches only the kernel.
        "interrupt_mode": "message",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return spec_dir


def prepare_scratch(scratch: Path, uid: int | None) -> None:
    scratch.mkdir(parents=True, exist_ok=True)
    os.chmod(scratch, 0o700)
    if uid is not None:
        os.chown(scratch, uid, uid)


def kill_all(uid: int | None) -> None:
    """Kill every process of a slot's uid: what a kernel left behind (children, a fork bomb)."""
    if uid is None:
        return
    subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", "kill", "-9", "-1"],
                   capture_output=True)


def sandbox_env(scratch: Path, limits: Limits, uid: int | None, extra: dict | None = None) -> str:
    """The value of CNNBOOK_SANDBOX that the launcher reads."""
    return json.dumps({"scratch": str(scratch), "uid": uid, "limits": asdict(limits), "extra": extra or {}})


def _mounts(scratch: Path) -> list[str]:
    """bubblewrap arguments for an allow-list view of the filesystem."""
    import cnnbook

    args: list[str] = ["--perms", "1777", "--tmpfs", "/tmp", "--perms", "1777", "--tmpfs", "/var/tmp"]
    for top in ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    package = Path(cnnbook.__file__).resolve().parent
    # The book's public data sets (data/ of a checkout) are readable; nothing else of the project is.
    shared = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), sys.prefix, str(package)}
    data = package.parent / "data"
    if data.is_dir():
        shared.add(str(data))
    binds = [(p, "--ro-bind") for p in sorted(shared)]
    binds.append((str(scratch), "--bind"))
    made: set[str] = set()
    for path, how in binds:
        # bubblewrap makes missing parents private (0700); the kernel's user must traverse them.
        for parent in reversed(Path(path).parents):
            if str(parent) != "/" and str(parent) not in made and not os.path.islink(parent):
                made.add(str(parent))
                args += ["--perms", "0755", "--dir", str(parent)]
        args += [how, path, path]
    args += ["--proc", "/proc", "--dev", "/dev", "--chdir", str(scratch)]
    return args


def _apply_limits(limits: Limits) -> None:
    mb = 1024 * 1024
    for res, value in (
        (resource.RLIMIT_AS, limits.memory_mb * mb),
        (resource.RLIMIT_CPU, limits.cpu_seconds),
        (resource.RLIMIT_NPROC, limits.processes),
        (resource.RLIMIT_FSIZE, limits.file_mb * mb),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(res, (value, value))


def _clean_env(home: Path, role: str, extra: dict | None = None) -> dict[str, str]:
    """The whole environment of a sandboxed kernel or command: nothing of the grader's is inherited."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLCONFIGDIR": str(home / ".matplotlib"),
        "IPYTHONDIR": str(home / ".ipython"),
        "JUPYTER_RUNTIME_DIR": str(home / ".jupyter"),
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        ENV_VAR: role,  # code in the notebook may ask whether it is being graded ("kernel" or "command")
    }
    env.update({k: str(v) for k, v in (extra or {}).items()})
    return env


def launch(connection_file: str) -> None:
    """Kernel launcher: turn this process into the sandboxed kernel (never returns)."""
    config = json.loads(os.environ[ENV_VAR])
    scratch = Path(config["scratch"])
    uid = config["uid"]
    limits = Limits(**config["limits"])
    conn = scratch / ".kernel-connection.json"
    shutil.copyfile(connection_file, conn)
    if uid is not None:
        os.chown(conn, uid, uid)
    env = _clean_env(scratch, "kernel", config.get("extra"))
    command = [sys.executable, "-m", "ipykernel_launcher", "-f", str(conn)]
    if uid is not None:
        command = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", *command]
    if layers().bubblewrap:
        command = [shutil.which("bwrap"), "--unshare-net", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
                   *_mounts(scratch), "--", *command]
    os.chdir(scratch)
    # What the kernel process itself prints (not the notebook's output) goes to a log in its scratch.
    log = os.open(scratch / ".kernel.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    _apply_limits(limits)
    os.execvpe(command[0], command, env)


if __name__ == "__main__":  # the kernelspec's argv
    launch(sys.argv[1])


# ------------------------------------------------------------------------------------------
# Any command in the kernel's sandbox (the otter engine runs `otter run` this way)

def command_env(scratch: Path, home: Path, extra: dict | None = None) -> dict[str, str]:
    """The clean environment a sandboxed command gets: a kernel's, with its home in ``home``."""
    return _clean_env(home, "command", {"TMPDIR": str(home / "tmp"), **(extra or {})})


def wrap_command(command: list[str], scratch: Path, uid: int | None, read_only: tuple[Path, ...] = ()) -> list[str]:
    """``command`` wrapped in the layers the kernel launcher uses, as an argv for ``subprocess``.

    Inside, the command runs as ``uid`` (when the grader is root) and, with bubblewrap, sees the
    kernel's view of the filesystem: the system, Python, the ``cnnbook`` package and ``scratch``
    (writable), plus each path of ``read_only`` bound read-only over what ``scratch`` holds there,
    so that nothing inside can change, rename or replace it. Resource limits are not part of the
    argv: pass ``preexec_fn=limiter(limits)`` to ``subprocess``.
    """
    command = list(command)
    if uid is not None:
        command = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", *command]
    if layers().bubblewrap:
        binds: list[str] = []
        for path in read_only:
            binds += ["--ro-bind", str(path), str(path)]
        mounts = _mounts(scratch)
        # _mounts ends with --proc, --dev and --chdir; the read-only binds go over the scratch bind.
        command = [shutil.which("bwrap"), "--unshare-net", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
                   *mounts, *binds, "--", *command]
    return command


def limiter(limits: Limits):
    """A ``preexec_fn`` that applies ``limits`` to a sandboxed command before it starts."""
    import functools

    return functools.partial(_apply_limits, limits)
