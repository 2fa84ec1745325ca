"""classp._io: every file the project writes appears whole or not at all."""
from __future__ import annotations

import json
import threading

import pytest

from classp._io import atomic_write, dumps_json, write_json, write_text


def test_write_json_round_trips_and_keeps_number_lists_on_one_line(tmp_path):
    doc = {"schema": "x/1", "runs": [{"accuracy_matrix": [[0.5, 0.25], [None, 1e-3]]}], "name": "ü"}
    path = write_json(tmp_path / "sub" / "r.json", doc)
    text = path.read_text(encoding="utf-8")
    assert json.loads(text) == doc and text.endswith("\n")
    assert "[0.5, 0.25]" in text and "[null, 0.001]" in text and "ü" in text


def test_nan_is_refused_and_the_old_file_is_kept(tmp_path):
    path = tmp_path / "r.json"
    write_json(path, {"a": 1})
    with pytest.raises(ValueError):
        write_json(path, {"a": float("nan")})
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary left behind


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    path = write_text(tmp_path / "a.txt", "old")

    def boom(f):
        f.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(path, boom)
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_concurrent_writers_never_leave_a_mixed_or_empty_file(tmp_path):
    path = tmp_path / "r.json"
    docs = [{"writer": i, "payload": list(range(2000))} for i in range(8)]
    seen, stop = [], threading.Event()

    def read():
        while not stop.is_set():
            if path.exists():
                seen.append(json.loads(path.read_text()))  # a half-written file would not parse

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=lambda d=d: [write_json(path, d) for _ in range(10)]) for d in docs]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    reader.join()
    assert json.loads(path.read_text()) in docs
    assert all(s in docs for s in seen)
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_dumps_json_matches_json_for_nested_lists():
    doc = {"m": [[1, 2], [3, [4, 5]]], "s": ["a", "b"], "e": []}
    assert json.loads(dumps_json(doc)) == doc


def test_modes_new_files_follow_the_umask_and_replaced_files_keep_theirs(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        new = write_text(tmp_path / "new.txt", "x")
        assert stat.S_IMODE(new.stat().st_mode) == 0o644
        kept = tmp_path / "kept.txt"
        kept.write_text("x")
        os.chmod(kept, 0o640)
        write_text(kept, "y")
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_text() == "y"
    finally:
        os.umask(old)


def test_a_failing_replace_keeps_the_old_file_and_removes_the_temporary(tmp_path, monkeypatch):
    import classp._io as io_module

    path = write_json(tmp_path / "deep" / "doc.json", {"a": [1, 2, 3]})

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(io_module.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_json(path, {"a": [4]})
    assert json.loads(path.read_text())["a"] == [1, 2, 3]
    assert sorted(p.name for p in path.parent.iterdir()) == ["doc.json"]


def test_check_writable_names_the_argument_and_the_problem(tmp_path):
    import re

    from classp._io import check_writable

    (tmp_path / "file").write_text("x")
    assert check_writable("--out", tmp_path / "new" / "r.json") == tmp_path / "new" / "r.json"
    assert not (tmp_path / "new").exists()  # checked, nothing created
    assert check_writable("--checkpoint-dir", tmp_path / "ckpt", folder=True) == tmp_path / "ckpt"
    for args, message in [
        (("--out", tmp_path), f"--out must be a file name; got the folder {tmp_path}"),
        (("--out", tmp_path / "file" / "r.json"),
         f"--out must be a path that can be created; got {tmp_path}/file/r.json ({tmp_path}/file is a file)"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            check_writable(*args)
    with pytest.raises(ValueError, match=re.escape(f"--checkpoint-dir must be a folder; got the file {tmp_path}/file")):
        check_writable("--checkpoint-dir", tmp_path / "file", folder=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # the probe left nothing behind


def test_check_writable_finds_a_folder_it_cannot_write(tmp_path, monkeypatch):
    import tempfile

    from classp._io import check_writable

    def read_only(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(ValueError, match=f"--out must be in a writable folder; got {tmp_path}/r.json "
                                         rf"\({tmp_path}: Permission denied\)"):
        check_writable("--out", tmp_path / "r.json")
