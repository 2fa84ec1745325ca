"""The digits sequences: scikit-learn's bundled copy of the UCI optical digits (offline, 1,797 8x8 images).

=====================  =========  ==========  ========================================================
name                   scenario   head        data
=====================  =========  ==========  ========================================================
``split-digits``       task/class 10          5 tasks of class pairs (or 2 halves)
``permuted-digits``    domain     10          a fixed pixel permutation per task
``digits-shared-head`` domain     10          digits, then permuted digits with labels shifted by 5
=====================  =========  ==========  ========================================================

All three use one held-out split (:func:`digits_split`). scikit-learn is looked up at the first
build, not at import: its data file is read with numpy.

Reference: Alpaydin & Kaynak (1998), UCI Optical Recognition of Handwritten Digits (CC BY 4.0).
"""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

from .._validation import check_choice, check_int
from .base import DIGIT_CLASSES, make_task, stratified_split

__all__ = ["digits_split", "build_split_digits", "build_permuted_digits", "build_digits_shared_head",
           "DIGITS_TEST_FRACTION"]

DIGITS_TEST_FRACTION = 0.3


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
    train, test = stratified_split(y, DIGITS_TEST_FRACTION)
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


def build_split_digits(seed, n_tasks=5, scenario="task") -> dict:
    """The ``split-digits`` sequence's parts: tasks of disjoint classes on one 10-way head."""
    n_tasks = check_choice("n_tasks", check_int("n_tasks", n_tasks), (2, 5))
    scenario = check_choice("scenario", scenario, ("task", "class"))
    groups = [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)] if n_tasks == 5 else [(0, 1, 2, 3, 4), (5, 6, 7, 8, 9)]
    xtr, ytr, xte, yte = _digits_parts()
    tasks = []
    for g in groups:
        mtr, mte = np.isin(ytr, g), np.isin(yte, g)
        name = "digits " + ("/".join(map(str, g)) if len(g) == 2 else f"{g[0]}-{g[-1]}")
        tasks.append(make_task(name, xtr[mtr], ytr[mtr], xte[mte], yte[mte], g))
    desc = (f"Split digits: {n_tasks} tasks of disjoint classes {groups} from scikit-learn's 8x8 digits, "
            f"one 10-way head; scenario {scenario!r} ("
            + ("logits restricted to the task's classes, task identity known" if scenario == "task"
               else "all 10 logits, no task identity: class-incremental") + ").")
    return dict(tasks=tasks, n_outputs=10, input_shape=(64,), scenario=scenario, source=_DIGITS_SOURCE,
                description=desc, meta=dict(groups=groups, class_names=DIGIT_CLASSES, default_model="mlp",
                                            input_kind="image", image_shape=(8, 8)))


def build_permuted_digits(seed, n_tasks=3) -> dict:
    """The ``permuted-digits`` sequence's parts: task t sees the digits through a fixed pixel permutation."""
    n_tasks = check_int("n_tasks", n_tasks, 1, 100)
    rng = np.random.default_rng(seed)
    perms = [np.arange(64)] + [rng.permutation(64) for _ in range(n_tasks - 1)]
    xtr, ytr, xte, yte = _digits_parts()
    tasks = [make_task("identity" if t == 0 else f"permutation {t}", xtr[:, p], ytr, xte[:, p], yte, range(10))
             for t, p in enumerate(perms)]
    desc = (f"Permuted digits: {n_tasks} domains of the same 10 digit classes; task 0 shows the images "
            "as they are, task t>0 through a fixed random pixel permutation drawn from the seed. One shared "
            "10-way head, no task identity (domain-incremental).")
    return dict(tasks=tasks, n_outputs=10, input_shape=(64,), scenario="domain",
                source=_DIGITS_SOURCE + f"; pixel permutations from numpy default_rng({seed})",
                description=desc,
                meta=dict(permutations=[p.tolist() for p in perms], class_names=DIGIT_CLASSES,
                          default_model="mlp", input_kind="image", image_shape=(8, 8)))


def build_digits_shared_head(seed, label_shift=5, transform="permute") -> dict:
    """The ``digits-shared-head`` sequence's parts: digits, then transformed digits with shifted labels."""
    label_shift = check_int("label_shift", label_shift, 1, 9)
    transform = check_choice("transform", transform, ("permute", "invert"))
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
    tasks = [make_task("digits", xtr, ytr, xte, yte, range(10)),
             make_task(f"{adj} digits, labels +{label_shift}", btr, ztr, bte, zte, range(10))]
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
