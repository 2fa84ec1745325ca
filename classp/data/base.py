"""Tasks and task sequences: what a continual learner learns, in order, and the splits every source shares.

CONTRACT (shared by the lab, the chapters, the widgets and the checks; extend, do not break):

* :class:`Task` -- one task: tensors for a train split and a held-out test split, the label space
  ``classes`` (the output units the task uses) and a ``name``; optionally a validation split
  carved from the training data (``get_sequence(..., validation=0.1)``, :func:`with_validation`)
  for choosing hyper-parameters without looking at the test split.
* :class:`TaskSequence` -- the tasks in order, plus the head size ``n_outputs``, the
  ``input_shape`` of one example, the ``scenario`` ("task": logits are restricted to the task's
  ``classes`` in training and evaluation, i.e. a multi-head setting with a known task identity;
  "domain" or "class": one shared head, no task identity) and a ``source`` string that says where
  the data came from (for results-file provenance).
* :func:`classp.data.get_sequence` builds a sequence by name with a seed;
  :func:`classp.data.list_sequences` names them.

Data selection never depends on the sequence ``seed``: every held-out split and every subsample
(``train_limit``/``test_limit``) is drawn with the fixed :data:`SPLIT_SEED`, so all seeds and all
methods are trained and evaluated on the same examples. The ``seed`` drives only randomness that
defines the tasks themselves (the pixel permutations).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .._validation import check_number

__all__ = ["Task", "TaskSequence", "DatasetNotFound", "default_root", "resolve_root", "SPLIT_SEED",
           "DIGIT_CLASSES", "stratified_split", "subsample", "make_task", "with_validation", "split_sizes"]


@dataclass
class Task:
    """One task of a sequence: a train split, a held-out test split, a label space and, optionally,
    a validation split carved from the training data (``x_val``/``y_val``, None when there is none)."""

    name: str
    x_train: torch.Tensor  # float32, (N, *input_shape); int64 token ids for text
    y_train: torch.Tensor  # int64, (N,)
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple[int, ...]
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None

    def __post_init__(self):
        if len(self.x_train) != len(self.y_train) or len(self.x_test) != len(self.y_test):
            raise ValueError(f"task {self.name!r}: inputs and labels differ in length")
        if (self.x_val is None) != (self.y_val is None) or (self.x_val is not None and len(self.x_val) != len(self.y_val)):
            raise ValueError(f"task {self.name!r}: validation inputs and labels differ in length")


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


SPLIT_SEED = 0
"""Seed of every held-out split and subsample (independent of the sequence seed)."""
DIGIT_CLASSES = tuple(str(d) for d in range(10))
"""Class names of a digits task (scikit-learn digits, MNIST)."""


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


def resolve_root(root) -> Path:
    """``root`` as a path (``~`` expanded), or :func:`default_root` if it is None.

    Raises ``ValueError`` if it names an existing file (a data folder must be a folder).
    """
    path = default_root() if root is None else Path(root).expanduser()
    if path.exists() and not path.is_dir():
        name = "root" if root is not None else "CLASSP_DATA" if os.environ.get("CLASSP_DATA") else "the data folder"
        raise ValueError(f"{name} must be a folder; got the file {path}")
    return path


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


def stratified_split(y: np.ndarray, test_fraction: float, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/test indices (both sorted); ``round(test_fraction * N)`` go to test.

    >>> y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> train, test = stratified_split(y, 0.5)
    >>> np.bincount(y[test]).tolist(), len(train)
    ([2, 2], 4)
    """
    rng = np.random.default_rng(seed)
    test = _stratified_take(y, int(round(test_fraction * len(y))), rng)
    train = np.setdiff1d(np.arange(len(y)), test)
    return train, test


#: Salt of the validation split (with :data:`SPLIT_SEED`): the same for every task, so tasks that
#: share their examples (permuted digits) hold out the same underlying images.
_VALIDATION_SALT = 104729


def with_validation(tasks: list, fraction: float) -> list:
    """The tasks with ``round(fraction * N)`` of each task's training examples moved to a validation split.

    The split is stratified by label and drawn with :data:`SPLIT_SEED` (never the run's seed), so
    every seed and method is tuned on the same examples; the test split is untouched.

    Parameters
    ----------
    tasks : list of Task
        Tasks without a validation split.
    fraction : float
        Share of each task's training examples to hold out, in [0, 0.5]; 0 returns the tasks unchanged.

    Returns
    -------
    list of Task

    >>> x, y = torch.zeros(10, 2), torch.tensor([0, 1] * 5)
    >>> (t,) = with_validation([Task("t", x, y, x[:2], y[:2], (0, 1))], 0.2)
    >>> len(t.y_train), sorted(t.y_val.tolist())
    (8, [0, 1])
    """
    fraction = check_number("validation", fraction, 0, 0.5)
    if fraction == 0:
        return list(tasks)
    out = []
    for task in tasks:
        if task.x_val is not None:
            raise ValueError(f"task {task.name!r} already has a validation split")
        y = task.y_train.numpy()
        n_val = int(round(fraction * len(y)))
        if n_val < 1 or n_val >= len(y):
            raise ValueError(f"validation={fraction} leaves task {task.name!r} ({len(y)} training examples) "
                             f"with an empty training or validation split")
        val = torch.from_numpy(_stratified_take(y, n_val, np.random.default_rng([SPLIT_SEED, _VALIDATION_SALT])))
        keep = torch.from_numpy(np.setdiff1d(np.arange(len(y)), val.numpy()))
        out.append(Task(task.name, task.x_train[keep], task.y_train[keep], task.x_test, task.y_test, task.classes,
                        task.x_train[val], task.y_train[val]))
    return out


def split_sizes(tasks: list) -> list[dict]:
    """Examples per split of each task, as recorded in results files: ``{"task", "train", "validation", "test"}``."""
    return [{"task": t.name, "train": len(t.y_train), "validation": 0 if t.y_val is None else len(t.y_val),
             "test": len(t.y_test)} for t in tasks]


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


def make_task(name, x_train, y_train, x_test, y_test, classes, x_dtype=torch.float32) -> Task:
    """A :class:`Task` holding private tensor copies of numpy arrays (labels int64)."""
    return Task(name, _tensor(x_train, x_dtype), _tensor(y_train, torch.int64),
                _tensor(x_test, x_dtype), _tensor(y_test, torch.int64), tuple(int(c) for c in classes))
