"""Tests of classp.data.base: Task, TaskSequence, the data folder and the fixed stratified splits."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from classp.data.base import (SPLIT_SEED, DatasetNotFound, Task, TaskSequence, default_root, make_task, resolve_root,
                              stratified_split, subsample)


def test_default_root_honours_classp_data(monkeypatch, tmp_path):
    monkeypatch.setenv("CLASSP_DATA", str(tmp_path))
    assert default_root() == tmp_path
    monkeypatch.delenv("CLASSP_DATA")
    assert default_root() == Path.home() / ".cache" / "classp"


def test_resolve_root_expands_user_and_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("CLASSP_DATA", str(tmp_path))
    assert resolve_root(None) == tmp_path
    assert resolve_root("~/x") == Path.home() / "x"
    assert resolve_root(tmp_path / "y") == tmp_path / "y"


def test_dataset_not_found_is_a_file_not_found_error():
    assert issubclass(DatasetNotFound, FileNotFoundError)


def test_task_rejects_inputs_and_labels_of_different_lengths():
    x, y = torch.zeros(3, 2), torch.zeros(3, dtype=torch.int64)
    Task("ok", x, y, x, y, (0,))
    with pytest.raises(ValueError, match="'bad': inputs and labels differ in length"):
        Task("bad", x, y[:2], x, y, (0,))
    with pytest.raises(ValueError, match="differ in length"):
        Task("bad", x, y, x[:1], y, (0,))


def test_task_sequence_is_a_sequence_of_its_tasks():
    x, y = torch.zeros(2, 1), torch.tensor([0, 1])
    tasks = [Task(f"t{i}", x, y, x, y, (0, 1)) for i in range(3)]
    s = TaskSequence("toy", tasks, n_outputs=2, input_shape=(1,))
    assert len(s) == 3 and list(s) == tasks and s[1] is tasks[1]
    assert (s.scenario, s.seed, s.meta) == ("domain", 0, {})


def test_make_task_copies_and_casts():
    xtr = np.arange(6, dtype=np.float64).reshape(3, 2)
    ytr = np.array([0, 1, 1], dtype=np.uint8)
    t = make_task("t", xtr, ytr, xtr[:1], ytr[:1], np.array([0, 1]))
    assert t.x_train.dtype == torch.float32 and t.y_train.dtype == torch.int64
    assert t.classes == (0, 1) and all(type(c) is int for c in t.classes)
    t.x_train.zero_()
    assert xtr.sum() == 15  # a private copy
    tokens = make_task("t", ytr[:, None], ytr, ytr[:, None], ytr, (0, 1), x_dtype=torch.int64)
    assert tokens.x_train.dtype == torch.int64


def test_stratified_split_is_disjoint_complete_stratified_and_fixed():
    y = np.repeat(np.arange(3), [10, 20, 30])
    tr, te = stratified_split(y, 0.3)
    assert len(te) == 18 and len(tr) == 42
    assert np.intersect1d(tr, te).size == 0 and np.array_equal(np.union1d(tr, te), np.arange(60))
    assert np.bincount(y[te]).tolist() == [3, 6, 9]
    assert np.all(np.diff(tr) > 0) and np.all(np.diff(te) > 0)  # sorted
    tr2, te2 = stratified_split(y, 0.3)
    assert np.array_equal(te, te2)
    _, te3 = stratified_split(y, 0.3, seed=SPLIT_SEED + 1)
    assert not np.array_equal(te, te3)


def test_stratified_split_rounds_by_largest_remainder():
    y = np.repeat(np.arange(3), [5, 5, 6])  # 16 items, 5 to test: quotas 1.56, 1.56, 1.88
    _, te = stratified_split(y, 5 / 16)
    assert np.bincount(y[te]).tolist() == [2, 1, 2]


def test_subsample_is_stratified_fixed_by_salt_and_all_when_no_limit():
    y = np.repeat(np.arange(4), 25)
    assert np.array_equal(subsample(y, None, 0), np.arange(100))
    assert np.array_equal(subsample(y, 100, 0), np.arange(100))
    assert np.array_equal(subsample(y, 500, 0), np.arange(100))
    a = subsample(y, 20, salt=1)
    assert len(a) == 20 and np.bincount(y[a]).tolist() == [5] * 4
    assert np.array_equal(a, subsample(y, 20, salt=1))
    assert not np.array_equal(a, subsample(y, 20, salt=2))


def test_a_data_folder_that_is_a_file_is_named(tmp_path, monkeypatch):
    """Before: CLASSP_DATA naming a file gave 'not found' errors about folders under it."""
    import re

    from classp.data import get_sequence

    (tmp_path / "notes.txt").write_text("x")
    monkeypatch.setenv("CLASSP_DATA", str(tmp_path / "notes.txt"))
    with pytest.raises(ValueError, match=re.escape(f"CLASSP_DATA must be a folder; got the file {tmp_path / 'notes.txt'}")):
        get_sequence("mnist-fashion")
