"""Tests of classp.data.digits: the three digits sequences and their shared held-out split."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from classp.data import get_sequence
from classp.data.digits import digits_split


def sklearn_digits():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return (x / 16).astype(np.float32), y


@pytest.mark.parametrize("name, options, message", [
    ("split-digits", {"n_tasks": 3}, "n_tasks must be one of 2, 5; got 3"),
    ("split-digits", {"n_tasks": 5.0}, "n_tasks must be an integer; got 5.0"),
    ("split-digits", {"scenario": "domain"}, "scenario must be one of 'task', 'class'; got 'domain'"),
    ("permuted-digits", {"n_tasks": 0}, r"n_tasks must be an integer in \[1, 100\]; got 0"),
    ("permuted-digits", {"n_tasks": 2.0}, r"n_tasks must be an integer in \[1, 100\]; got 2.0"),
    ("digits-shared-head", {"label_shift": 10}, r"label_shift must be an integer in \[1, 9\]; got 10"),
    ("digits-shared-head", {"transform": "rotate"}, "transform must be one of 'permute', 'invert'; got 'rotate'"),
])
def test_invalid_options_name_the_option_and_accepted_values(name, options, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        get_sequence(name, **options)


@pytest.mark.parametrize("name, option", [("split-digits", "n_tasks"), ("permuted-digits", "n_tasks"),
                                          ("digits-shared-head", "label_shift")])
def test_bool_is_not_an_integer_option(name, option):
    with pytest.raises(ValueError, match=f"^{option} must be an integer.*; got True$"):
        get_sequence(name, **{option: True})


def test_numpy_and_tensor_integers_are_accepted():
    ref = get_sequence("split-digits", seed=1, n_tasks=5)
    s = get_sequence("split-digits", seed=np.int64(1), n_tasks=np.int64(5))
    assert (s.seed, len(s), type(s.seed)) == (1, 5, int)
    assert s.meta["options"] == {"n_tasks": 5, "scenario": "task"} and type(s.meta["options"]["n_tasks"]) is int
    assert all(torch.equal(a.x_train, b.x_train) for a, b in zip(s, ref))
    p = get_sequence("permuted-digits", seed=torch.tensor(3), n_tasks=np.int32(2))
    assert p.meta["permutations"] == get_sequence("permuted-digits", seed=3, n_tasks=2).meta["permutations"]
    h = get_sequence("digits-shared-head", label_shift=np.int16(3))
    assert torch.equal(h[1].y_test, (h[0].y_test + 3) % 10)


def test_digits_split_is_disjoint_complete_stratified_and_fixed():
    tr, te = digits_split()
    assert len(tr) == 1258 and len(te) == 539
    assert np.intersect1d(tr, te).size == 0
    assert np.array_equal(np.union1d(tr, te), np.arange(1797))
    _, y = sklearn_digits()
    per_class = np.bincount(y[te], minlength=10)
    assert np.all(np.abs(per_class - 0.3 * np.bincount(y)) <= 1)  # stratified, rounded
    tr2, te2 = digits_split()
    assert np.array_equal(te, te2)
    te2[0] = -1  # a copy: the next call is unchanged
    assert digits_split()[1][0] == te[0]


def test_split_digits_matches_sklearn_digits_exactly():
    x, y = sklearn_digits()
    tr, te = digits_split()
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
    tr, te = digits_split()
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
