"""One way to write a file: to a uniquely named temporary file beside it, then ``os.replace``.

A reader never sees half a file, two writers to one path cannot mix their bytes (the last
complete file wins), and a failed write leaves the old file as it was and no temporary behind.
Results files, bench reports, timings, checkpoints and notebook editions are all written here.
"""
from __future__ import annotations

import json
import os
import re
import stat
import tempfile
import uuid
from pathlib import Path
from typing import Callable, IO

__all__ = ["atomic_write", "write_text", "write_json", "dumps_json", "check_writable"]

_NUMBER_LIST = re.compile(r"\[\s*((?:-?[0-9][0-9.eE+-]*|null)(?:,\s*(?:-?[0-9][0-9.eE+-]*|null))*)\s*\]")


def atomic_write(path, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(f)`` on a binary file object, then move the file to ``path`` in one step.

    Parent folders are created. If ``write`` raises, ``path`` keeps its old content and the
    temporary file is removed.

    Parameters
    ----------
    path : str or os.PathLike
    write : callable
        Writes the content, e.g. ``lambda f: torch.save(obj, f)``.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    # a new file gets the umask's permissions (as open() would give it); a replaced file keeps its mode
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        if path.exists():
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_write`)."""
    data = text.encode("utf-8")
    return atomic_write(path, lambda f: f.write(data))


def dumps_json(doc) -> str:
    """Indented JSON with every list of plain numbers on one line; NaN and infinities are refused.

    >>> print(dumps_json({"a": [1, 2.5], "b": {"c": "x"}}))
    {
     "a": [1, 2.5],
     "b": {
      "c": "x"
     }
    }
    """
    text = json.dumps(doc, indent=1, allow_nan=False, ensure_ascii=False)
    return _NUMBER_LIST.sub(lambda m: "[" + re.sub(r"\s+", " ", m.group(1)) + "]", text)


def write_json(path, doc) -> Path:
    """Write ``doc`` as JSON (:func:`dumps_json`, with a final newline) to ``path`` atomically.

    Raises ``ValueError`` for NaN or infinite numbers before anything is written.
    """
    return write_text(path, dumps_json(doc) + "\n")


def check_writable(name: str, path, *, folder: bool = False) -> Path:
    """Check before any work that ``path`` can be written, so that a long run is not lost at the end.

    ``path`` must not be a folder (or, with ``folder=True``, must not be a file), nothing on the way
    to it may be a file, and the nearest existing folder must accept a new file (tried for real:
    a read-only file system or folder is found too). Refusals are ``ValueError`` naming ``name``.

    Returns
    -------
    pathlib.Path
        ``path`` (``~`` expanded).
    """
    path = Path(path).expanduser()
    if folder and path.exists() and not path.is_dir():
        raise ValueError(f"{name} must be a folder; got the file {path}")
    if not folder and path.is_dir():
        raise ValueError(f"{name} must be a file name; got the folder {path}")
    probe = path if folder else path.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise ValueError(f"{name} must be a path that can be created; got {path} ({probe} is a file)")
    try:
        fd, tmp = tempfile.mkstemp(dir=probe, prefix=".classp-write-test-")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise ValueError(f"{name} must be in a writable folder; got {path} ({probe}: {exc.strerror})") from None
    return path
