"""cnnbook: the shared code of the book, its exercises and its grading pipeline."""

from __future__ import annotations

from pathlib import Path

__all__ = ["ROOT", "device", "__version__"]
__version__ = "0.1.0"

#: The repository root (the book root): where book/, solutions/ and exercises/ live.
ROOT = Path(__file__).resolve().parent.parent


def device(prefer: str | None = None):
    """Return the best available ``torch.device``: CUDA, then Apple MPS, then the CPU.

    Every lab calls this one helper, so a notebook runs unchanged on a laptop, a GPU
    server or Colab. ``prefer`` (e.g. ``"cpu"``) forces a device when it is available.
    """
    import torch

    if prefer is not None:
        dev = torch.device(prefer)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("device 'cuda' was asked for but torch sees no CUDA GPU")
        if dev.type == "mps" and not _mps_available(torch):
            raise RuntimeError("device 'mps' was asked for but torch sees no Apple GPU")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available(torch):
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available(torch) -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
