"""Validation splits (issue 12): carved from training data, stratified, seed-independent, test untouched."""
import numpy as np
import pytest
import torch

from classp.data import Task, get_sequence, sequence_options, split_sizes, with_validation


def test_every_sequence_accepts_validation_with_default_zero():
    for name in ("split-digits", "permuted-digits", "digits-shared-head"):
        assert sequence_options(name)["validation"] == 0.0
        seq = get_sequence(name)
        assert all(t.x_val is None for t in seq.tasks) and "validation" not in seq.meta["options"]
        assert all(s["validation"] == 0 for s in seq.meta["split_sizes"])


def test_validation_is_carved_from_training_data_and_test_is_untouched():
    plain, split = get_sequence("split-digits"), get_sequence("split-digits", validation=0.2)
    for a, b in zip(plain.tasks, split.tasks):
        assert len(b.y_train) + len(b.y_val) == len(a.y_train)
        assert len(b.y_val) == round(0.2 * len(a.y_train))
        assert torch.equal(a.x_test, b.x_test) and torch.equal(a.y_test, b.y_test)
        # the two parts are disjoint and together are the old training set (as multisets of rows)
        both = torch.cat([b.x_train, b.x_val])
        assert sorted(map(tuple, both.tolist())) == sorted(map(tuple, a.x_train.tolist()))
        # stratified: each class's share of the validation split is within one example of its quota
        for c in a.classes:
            quota = 0.2 * len(a.y_train) * float((a.y_train == c).float().mean())
            assert abs(int((b.y_val == c).sum()) - quota) <= 1
    assert split.meta["split_sizes"] == split_sizes(split.tasks)
    assert split.meta["options"]["validation"] == 0.2


def test_the_split_does_not_depend_on_the_run_seed():
    a, b = get_sequence("split-digits", seed=0, validation=0.1), get_sequence("split-digits", seed=7, validation=0.1)
    assert all(torch.equal(s.x_val, t.x_val) for s, t in zip(a.tasks, b.tasks))


def test_tasks_that_share_images_hold_out_the_same_ones():
    seq = get_sequence("permuted-digits", validation=0.1)
    base, other = seq.tasks[0], seq.tasks[1]
    assert torch.equal(base.y_val, other.y_val)
    # task 1's validation images are task 0's under task 1's permutation: same sorted pixel values
    assert torch.equal(base.x_val.sort(dim=1).values, other.x_val.sort(dim=1).values)


@pytest.mark.parametrize("value,msg", [(-0.1, r"validation must be a number in \[0, 0.5\]; got -0.1"),
                                       (0.6, r"validation must be a number in \[0, 0.5\]"),
                                       ("a", "validation must be a number")])
def test_bad_fractions_are_refused(value, msg):
    with pytest.raises(ValueError, match=msg):
        get_sequence("split-digits", validation=value)


def test_a_tiny_task_is_refused_rather_than_emptied():
    x, y = torch.zeros(3, 2), torch.tensor([0, 1, 0])
    with pytest.raises(ValueError, match="empty training or validation split"):
        with_validation([Task("t", x, y, x, y, (0, 1))], 0.1)


def test_a_second_split_is_refused():
    (t,) = with_validation([Task("t", torch.zeros(10, 1), torch.tensor([0, 1] * 5), torch.zeros(2, 1),
                                 torch.tensor([0, 1]), (0, 1))], 0.2)
    with pytest.raises(ValueError, match="already has a validation split"):
        with_validation([t], 0.2)


def test_validation_labels_must_match_inputs():
    with pytest.raises(ValueError, match="validation inputs and labels differ"):
        Task("t", torch.zeros(2, 1), torch.zeros(2), torch.zeros(1, 1), torch.zeros(1), (0,), torch.zeros(2, 1), None)
