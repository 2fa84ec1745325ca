"""Tests of classp.lab.protocol_data: the sequences of the paper's two protocols and their notes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from classp.data import DatasetNotFound
from classp.lab.protocol_data import ORDER_SEED, VISION_DATA, sentiment_sequence, vision_sequence


def test_vision_sequence_offline():
    seq, note = vision_sequence("offline", train_limit=np.int64(40))
    assert note["kind"] == "offline" and seq.name == "digits-shared-head"
    assert seq.source.startswith("OFFLINE ANALOGUE") and "offline analogue requested" in seq.source
    assert note["text"] == seq.source and note["options"] == {"train_limit": 40}
    assert type(note["options"]["train_limit"]) is int  # JSON-ready
    assert [len(t.y_train) for t in seq.tasks] == [40, 40]
    again, _ = vision_sequence("offline", train_limit=torch.tensor(40))
    assert all(torch.equal(a.x_train, b.x_train) for a, b in zip(seq.tasks, again.tasks))  # a fixed subsample


@pytest.mark.parametrize("args, kwargs, message", [
    (("cloud",), {}, r"data must be one of 'auto', 'real', 'offline'; got 'cloud'"),
    (("offline",), dict(train_limit=0), r"train_limit must be None or an integer >= 1; got 0"),
    (("offline",), dict(train_limit=True), r"train_limit must be None or an integer >= 1; got True"),
    (("offline",), dict(test_limit=2.5), r"test_limit must be None or an integer >= 1; got 2.5"),
    (("offline",), dict(download="yes"), r"download must be True or False; got 'yes'"),
    (("offline",), dict(seed=-1), r"seed must be an integer >= 0; got -1"),
])
def test_vision_sequence_rejects(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        vision_sequence(*args, **kwargs)
    assert VISION_DATA == ("auto", "real", "offline")


def test_vision_sequence_real_mixes_npm_order():
    try:
        seq, note = vision_sequence("real", train_limit=200, test_limit=50)
    except DatasetNotFound as exc:
        pytest.skip(f"real MNIST/Fashion-MNIST not on this machine: {str(exc)[:120]}")
    assert note["kind"] == "real" and seq.name == "mnist-fashion"
    assert note["options"]["order_seed"] == ORDER_SEED
    y0 = seq.tasks[0].y_train.numpy()
    if seq.meta["sources"][0]["source"] == "npm":
        from classp.data import get_sequence

        raw = get_sequence("mnist-fashion", train_limit=200, test_limit=50).tasks[0]
        assert np.all(np.diff(raw.y_train.numpy()) >= 0)  # npm's copy: grouped by class
        order = np.random.default_rng(ORDER_SEED).permutation(200)
        np.testing.assert_array_equal(y0, raw.y_train.numpy()[order])
        assert torch.equal(seq.tasks[0].x_train, raw.x_train[torch.from_numpy(order)])
        assert "class-mixed order" in seq.source


@pytest.mark.parametrize("kwargs, message", [
    (dict(train_limit=0), r"train_limit must be None or an integer >= 1; got 0"),
    (dict(download=1), r"download must be True or False; got 1"),
    (dict(seed=True), r"seed must be an integer >= 0; got True"),
])
def test_sentiment_sequence_rejects(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sentiment_sequence(**kwargs)


def test_sentiment_sequence_note():
    try:
        seq, note = sentiment_sequence(download=False, train_limit=np.int64(30), test_limit=20)
    except DatasetNotFound as exc:
        pytest.skip(f"the Pang & Lee corpora are not on this machine: {str(exc)[:120]}")
    assert note["kind"] == "real" and seq.name == "sentiment" and note["text"] == seq.source
    assert "not obtainable offline" in seq.source
    assert note["options"] == {"download": False, "train_limit": 30, "test_limit": 20}
    assert [len(t.y_train) for t in seq.tasks] == [30, 30]
