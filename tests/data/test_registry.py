"""Tests of classp.data.registry: sequences by name, their options, and register_sequence."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import classp.data.registry as R
from classp.data import Task, TaskSequence, get_sequence, list_sequences, register_sequence, sequence_options

NAMES = ["split-digits", "permuted-digits", "digits-shared-head", "mnist-fashion", "sentiment"]


@pytest.fixture
def registry(monkeypatch):
    """The registry, restored after the test (register_sequence changes it for the whole process)."""
    monkeypatch.setattr(R, "_REGISTRY", dict(R._REGISTRY))


def toy(seed, n=2, scale=1.0):
    x, y = torch.eye(n) * scale + seed, torch.arange(n)
    return dict(tasks=[Task("all", x, y, x, y, tuple(range(n)))], n_outputs=n, input_shape=(n,),
                meta=dict(default_model="mlp"))


# ------------------------------------------------------------------------------------------------
# names, options and validation
# ------------------------------------------------------------------------------------------------
def test_list_sequences_names_in_book_order():
    assert list_sequences() == NAMES


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="^sequence must be one of 'split-digits', .*'sentiment'; got 'split-mnist'$"):
        get_sequence("split-mnist")
    with pytest.raises(ValueError, match="^sequence must be one of"):
        sequence_options("split-mnist")


def test_unknown_option_lists_accepted_options():
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['n_task'\] for sequence 'split-digits'; "
                                         "accepted options: n_tasks, scenario"):
        get_sequence("split-digits", n_task=5)


@pytest.mark.parametrize("seed", [-1, True, 1.5, "0", np.float64(2.0), torch.tensor([1, 2])])
def test_invalid_seed(seed):
    with pytest.raises(ValueError, match="^seed must be an integer >= 0; got "):
        get_sequence("split-digits", seed=seed)


@pytest.mark.parametrize("seed", [np.int64(1), np.uint8(1), torch.tensor(1)])
def test_numpy_and_tensor_seeds_are_ints(seed):
    s = get_sequence("permuted-digits", seed=seed, n_tasks=2)
    assert s.seed == 1 and type(s.seed) is int
    assert s.meta["permutations"] == get_sequence("permuted-digits", seed=1, n_tasks=2).meta["permutations"]


def test_split_digits_accepts_numpy_ints():
    s = get_sequence("split-digits", seed=np.int64(1), n_tasks=np.int64(5))
    assert (s.seed, len(s)) == (1, 5)
    json.dumps(s.meta["options"])  # recorded as plain Python numbers


def test_sequence_options_and_meta_record_every_option(tmp_path):
    assert sequence_options("split-digits") == {"n_tasks": 5, "scenario": "task", "validation": 0.0}
    assert sequence_options("permuted-digits") == {"n_tasks": 3, "validation": 0.0}
    assert "max_len" in sequence_options("sentiment") and sequence_options("mnist-fashion")["root"] is None
    s = get_sequence("permuted-digits", seed=4, n_tasks=2)
    assert s.meta["options"] == {"n_tasks": 2} and s.seed == 4
    assert isinstance(s, TaskSequence) and s.name == "permuted-digits"


# ------------------------------------------------------------------------------------------------
# register_sequence
# ------------------------------------------------------------------------------------------------
def test_register_sequence_adds_a_buildable_name(registry):
    register_sequence("toy", toy)
    assert list_sequences() == NAMES + ["toy"]
    assert sequence_options("toy") == {"n": 2, "scale": 1.0, "validation": 0.0}
    s = get_sequence("toy", seed=np.int64(3), n=3)
    assert (s.name, s.seed, s.n_outputs, s.input_shape, len(s)) == ("toy", 3, 3, (3,), 1)
    assert s.meta == {"default_model": "mlp", "options": {"n": 3, "scale": 1.0},
                      "split_sizes": [{"task": "all", "train": 3, "validation": 0, "test": 3}]}
    assert torch.equal(s[0].x_train, torch.eye(3) + 3)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['m'\] for sequence 'toy'"):
        get_sequence("toy", m=1)


def test_register_sequence_refuses_a_taken_name_unless_replace(registry):
    with pytest.raises(ValueError, match="a sequence named 'split-digits' is already registered"):
        register_sequence("split-digits", toy)
    register_sequence("toy", toy)
    with pytest.raises(ValueError, match="'toy' is already registered; pass replace=True"):
        register_sequence("toy", toy)

    def toy2(seed, n=4):
        return toy(seed, n)

    register_sequence("toy", toy2, replace=True)
    assert get_sequence("toy").n_outputs == 4 and list_sequences().count("toy") == 1
    with pytest.raises(ValueError, match="^replace must be True or False; got 1$"):
        register_sequence("toy", toy, replace=1)


def _no_seed(n=2):
    return {}


def _option_without_default(seed, n):
    return {}


def _var_keywords(seed, **options):
    return {}


@pytest.mark.parametrize("builder, message", [
    (None, "builder of sequence 'bad' must be callable; got None"),
    ("split-digits", "builder of sequence 'bad' must be callable; got 'split-digits'"),
    (toy(0), "must be callable"),
    (_no_seed, r"must take seed as its first parameter; got \(n\)"),
    (_option_without_default, r"every option needs a default .*\['n'\]"),
    (_var_keywords, r"every option needs a default .*\['options'\]"),
])
def test_register_sequence_refuses_a_bad_builder(registry, builder, message):
    with pytest.raises(ValueError, match=message):
        register_sequence("bad", builder)
    assert "bad" not in list_sequences()


@pytest.mark.parametrize("name", ["", 3, None])
def test_register_sequence_refuses_a_bad_name(registry, name):
    with pytest.raises(ValueError, match="^name must be a non-empty string"):
        register_sequence(name, toy)
