import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# Kernels started by the tests must run this interpreter's environment.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

#: Where `make book` (and the fixture below) puts the public HTML book.
HTML = Path("_build") / "html"
#: Where `make book-instructor` puts the instructor edition (with the solutions).
INSTRUCTOR_HTML = Path("_build") / "instructor" / "html"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def built_book(root) -> Path:
    """The public book, built once per test run into _build/html with warnings as errors.

    Every test that reads the rendered book (tests/test_book.py, tests/test_site.py,
    tests/test_leaks.py, tests/test_style.py) shares this one build. Notebooks already
    executed are taken from the jupyter cache, so a rebuild runs only what changed.
    """
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run(
        [str(jb), "build", str(root), "--builder", "html", "-W", "-n", "--keep-going"],
        cwd=root, capture_output=True, text=True, timeout=1500,
    )
    assert proc.returncode == 0, f"jupyter-book build failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
    return root / HTML


@pytest.fixture(scope="session")
def built_instructor_book(root, built_book) -> Path:
    """The instructor edition (`python -m cnnbook.instructor`), built after the public book.

    It shares the public book's jupyter cache, so the chapters are not executed again.
    """
    proc = subprocess.run(
        [sys.executable, "-m", "cnnbook.instructor", "--root", str(root)],
        cwd=root, capture_output=True, text=True, timeout=1500,
    )
    assert proc.returncode == 0, f"instructor build failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
    return root / INSTRUCTOR_HTML
