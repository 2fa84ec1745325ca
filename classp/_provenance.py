"""One provenance header for every file the project writes (results, bench reports, timings).

A header says what made a file: the ``command`` that regenerates it, when (``created``, UTC,
ISO 8601), with which ``versions`` (Python, torch, classp, numpy and scikit-learn when loaded,
and the git revision of the sources when they are a checkout) and on which ``machine``.
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

__all__ = ["header", "versions", "machine", "utc_now", "git_revision"]


def utc_now() -> str:
    """The current time in UTC, ISO 8601 to the second: ``2026-12-02T10:40:11+00:00``."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@lru_cache(maxsize=1)
def git_revision() -> str | None:
    """The git commit of the package's sources (with ``+dirty`` when changed), or None if not a checkout."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", "classp"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return rev + ("+dirty" if dirty else "") if rev else None


def versions() -> dict:
    """Versions of Python and of the libraries a result depends on.

    Returns
    -------
    dict
        ``python``, ``torch``, ``classp``, ``git`` (the sources' commit or None), and ``numpy``
        and ``sklearn`` when they are importable.
    """
    import torch

    from . import __version__

    v = {"python": platform.python_version(), "torch": torch.__version__, "classp": __version__,
         "git": git_revision()}
    for mod, key in (("numpy", "numpy"), ("sklearn", "sklearn")):
        try:
            v[key] = __import__(mod).__version__
        except ImportError:  # the optimizer alone needs neither
            pass
    return v


def machine() -> dict:
    """The machine a file was made on (what timings depend on).

    Returns
    -------
    dict
        ``platform``, ``machine``, ``processor``, ``cpu_count`` and ``torch_threads``.
    """
    import torch

    return {"platform": platform.platform(), "machine": platform.machine(),
            "processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads()}


def header(schema: str, command: str | None) -> dict:
    """The first keys of every JSON file the project writes.

    Parameters
    ----------
    schema : str
        The file's schema and version, e.g. ``"classp-results/1"``.
    command : str or None
        The command line that regenerates the file; None records how this process was started.

    Returns
    -------
    dict
        ``schema``, ``command``, ``created`` (UTC), ``versions``, ``machine``, in that order.
    """
    if command is None:
        import shlex

        command = shlex.join([Path(sys.executable).name, *sys.argv]) if sys.argv and sys.argv[0] else "python"
    return {"schema": schema, "command": command, "created": utc_now(), "versions": versions(), "machine": machine()}
