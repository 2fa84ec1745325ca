"""Shared fixtures: ``book_html``, the built book's HTML folder (built once per session); ``idx_bytes`` and
``write_image_set``, small image sets in the real IDX format (data room and protocol tuning)."""
from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def _jupyter_book() -> str:
    """The jupyter-book executable next to this Python (a venv), else the one on PATH."""
    exe = Path(sys.executable).with_name("jupyter-book")
    return str(exe) if exe.exists() else "jupyter-book"


@pytest.fixture(scope="session")
def book_html() -> Path:
    """The built book's HTML folder, ``CLASSP_BOOK_HTML`` (default ``<repo>/_build/html``).

    The book is built with ``jupyter-book build <repo> --all -W --keep-going`` (into the folder two
    levels above the HTML folder, via ``--path-output``) only if its ``index.html`` is missing or
    ``CLASSP_BUILD_BOOK=1``; CI builds it first and the tests only read it. ``CLASSP_BOOK_CONFIG``
    passes ``--config`` (e.g. ``book/_vendor/_config_offline.yml`` for the offline site).
    """
    html = Path(os.environ.get("CLASSP_BOOK_HTML", REPO / "_build" / "html")).resolve()
    if os.environ.get("CLASSP_BUILD_BOOK") == "1" or not (html / "index.html").exists():
        if html.parts[-2:] != ("_build", "html"):
            pytest.fail(f"cannot build into {html}: CLASSP_BOOK_HTML must end in _build/html", pytrace=False)
        cmd = [_jupyter_book(), "build", str(REPO), "--path-output", str(html.parent.parent),
               "--all", "-W", "--keep-going"]
        if os.environ.get("CLASSP_BOOK_CONFIG"):
            cmd += ["--config", os.environ["CLASSP_BOOK_CONFIG"]]
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        if proc.returncode != 0:
            log = (proc.stdout + proc.stderr)[-6000:]
            pytest.fail(f"book build failed (rc {proc.returncode}): {' '.join(cmd)}\n{log}", pytrace=False)
    return html


# ------------------------------------------------ small image sets in the real IDX format (data room, lab)
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
        from classp.data.vision import IDX_FILES

        for name, arr in zip(IDX_FILES.values(), (xtr, ytr, xte, yte)):
            data = _idx_bytes(arr)
            if gz:
                (folder / (name + ".gz")).write_bytes(gzip.compress(data))
            else:
                (folder / name).write_bytes(data)
        return xtr, ytr, xte, yte

    return write
