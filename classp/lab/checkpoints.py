"""Checkpoint files of a run: written atomically, read safely, refused when the settings differ.

:func:`classp.lab.train.run` with ``checkpoint=PATH`` writes the full state of a run (model,
optimizer, regulariser, random states, progress, the curves so far) with :func:`write_checkpoint`
and continues from it with :func:`read_checkpoint`. A file is a ``torch.save`` dict of tensors and
plain Python values; it is read with ``torch.load(..., weights_only=True)``, so loading one never
runs code. A checkpoint written by a run with other settings is refused, naming the settings that
differ (:func:`fingerprint` lists the settings that must agree).
"""
from __future__ import annotations

import pickle

import torch

from .._io import atomic_write

__all__ = ["CHECKPOINT_FORMAT", "FINGERPRINT_KEYS", "fingerprint", "write_checkpoint", "read_checkpoint"]

#: Version tag of checkpoint files.
CHECKPOINT_FORMAT = "classp-checkpoint/1"

#: The settings of a run that a checkpoint must share to be resumed.
FINGERPRINT_KEYS = ("method", "sequence", "seed", "model_name", "epochs", "batch_size", "lr", "options",
                    "sequence_options", "shuffle", "eval_every", "n_params", "task_sizes")


def fingerprint(config: dict) -> dict:
    """The settings of a run's ``config`` that a checkpoint records and a resume compares."""
    return {k: config.get(k) for k in FINGERPRINT_KEYS}


def write_checkpoint(path, state: dict) -> None:
    """Write ``state`` (a dict of tensors and plain values) to ``path`` atomically.

    The state goes to a uniquely named temporary file in the same folder, which then replaces
    ``path``: a crash leaves the previous checkpoint intact, and two writers cannot collide.
    """
    payload = {"format": CHECKPOINT_FORMAT, **state}
    atomic_write(path, lambda f: torch.save(payload, f))


def read_checkpoint(path, config: dict) -> dict:
    """Read a checkpoint written by :func:`write_checkpoint` for a run with settings ``config``.

    Parameters
    ----------
    path : str or os.PathLike
    config : dict
        The resuming run's config; its :func:`fingerprint` must equal the checkpoint's.

    Returns
    -------
    dict
        The state, as written.

    Raises
    ------
    ValueError
        If the file is not a classp checkpoint, or was written by a run with other settings (the
        message lists each differing setting with both values).
    """
    st = _safe_load(path)
    if not isinstance(st, dict) or st.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a classp checkpoint of format {CHECKPOINT_FORMAT!r}")
    mine, theirs = fingerprint(config), st.get("fingerprint") or {}
    diff = [k for k in mine if _plain(mine[k]) != _plain(theirs.get(k))]
    if diff:
        details = "; ".join(f"{k}: checkpoint {theirs.get(k)!r}, now {mine[k]!r}" for k in diff)
        raise ValueError(f"{path}: the checkpoint was written by a run with other settings ({details}); "
                         "use the same settings or another checkpoint path")
    return st


def _safe_load(path):
    """``torch.load(path, weights_only=True)``, any failure reported as one line naming ``path``.

    torch's own messages are not passed on: for a file holding other objects they advise
    ``weights_only=False``, which would run code from the file.
    """
    try:
        return torch.load(path, weights_only=True)
    except pickle.UnpicklingError:
        reason = "not a file of tensors and plain values; a safe load refuses it"
    except Exception as exc:  # torch raises EOFError, RuntimeError, OSError, ... for damaged files
        if isinstance(exc, (FileNotFoundError, IsADirectoryError, PermissionError)):
            raise
        reason = f"the file is empty, truncated or damaged ({type(exc).__name__})"
    raise ValueError(f"{path}: not a readable classp checkpoint ({reason}); delete it to start the run afresh, "
                     "or choose another checkpoint path")


def _plain(v):
    """Tuples as lists, recursively (a checkpoint round trip turns tuples into lists)."""
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v
