"""Fixtures of the data room's tests: small image/label sets written in the real IDX format."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from classp.data.vision import IDX_FILES


def _idx_bytes(a: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    return header + a.astype(np.uint8).tobytes()


@pytest.fixture
def idx_bytes():
    """``idx_bytes(array) -> bytes``: an uint8 array as an IDX file."""
    return _idx_bytes


@pytest.fixture
def write_image_set():
    """``write_image_set(folder, seed, gz=..., n_train_per_class=3, n_test_per_class=1) -> (xtr, ytr, xte, yte)``.

    Random 28x28 uint8 images, labels 0-9 in equal numbers, written as the four IDX files of
    :data:`classp.data.vision.IDX_FILES` (``.gz`` or raw) in ``folder``.
    """
    def write(folder: Path, seed: int, *, gz: bool, n_train_per_class: int = 3, n_test_per_class: int = 1):
        rng = np.random.default_rng(seed)
        ytr = np.repeat(np.arange(10), n_train_per_class).astype(np.uint8)
        yte = np.repeat(np.arange(10), n_test_per_class).astype(np.uint8)
        xtr = rng.integers(0, 256, (len(ytr), 28, 28), dtype=np.uint8)
        xte = rng.integers(0, 256, (len(yte), 28, 28), dtype=np.uint8)
        folder.mkdir(parents=True, exist_ok=True)
        for name, arr in zip(IDX_FILES.values(), (xtr, ytr, xte, yte)):
            data = _idx_bytes(arr)
            if gz:
                (folder / (name + ".gz")).write_bytes(gzip.compress(data))
            else:
                (folder / name).write_bytes(data)
        return xtr, ytr, xte, yte

    return write
