"""classp.lab.metrics against hand-computed values on known accuracy matrices."""
import re

import numpy as np
import pytest
import torch

from classp.lab.metrics import average_accuracy, backward_transfer, forgetting, forward_transfer

# R[i][j]: accuracy on task j after training task i
R3 = [[0.9, 0.1, 0.2],
      [0.95, 0.8, 0.3],
      [0.6, 0.7, 0.9]]
B3 = [0.1, 0.2, 0.3]


def test_three_tasks_by_hand():
    # last row (0.6 + 0.7 + 0.9) / 3
    assert average_accuracy(R3) == pytest.approx(2.2 / 3)
    # ((0.6 - 0.9) + (0.7 - 0.8)) / 2
    assert backward_transfer(R3) == pytest.approx(-0.2)
    # task 0: max(0.9, 0.95) - 0.6 = 0.35; task 1: max(0.8) - 0.7 = 0.1 -> mean 0.225
    assert forgetting(R3) == pytest.approx(0.225)
    # ((R[0][1] - b1) + (R[1][2] - b2)) / 2 = ((0.1 - 0.2) + (0.3 - 0.3)) / 2
    assert forward_transfer(R3, B3) == pytest.approx(-0.05)


def test_forgetting_uses_the_best_earlier_stage_not_the_diagonal():
    # the peak of task 0 is at stage 1 (0.95), not when it was learned (0.9): BWT and forgetting differ
    assert backward_transfer(R3) != pytest.approx(-forgetting(R3))
    # no stage before the last: forgetting equals -BWT
    R = [[0.8, 0.3], [0.5, 0.9]]
    assert forgetting(R) == pytest.approx(0.3)
    assert backward_transfer(R) == pytest.approx(-0.3)


def test_improvement_gives_negative_forgetting_and_positive_bwt():
    R = [[0.5, 0.0], [0.9, 0.5]]
    assert forgetting(R) == pytest.approx(-0.4)
    assert backward_transfer(R) == pytest.approx(0.4)
    assert average_accuracy(R) == pytest.approx(0.7)


def test_four_tasks_by_hand():
    R = np.array([[1.0, 0.2, 0.1, 0.0],
                  [0.8, 0.9, 0.3, 0.2],
                  [0.7, 0.6, 1.0, 0.4],
                  [0.5, 0.7, 0.9, 0.8]])
    b = np.array([0.25, 0.25, 0.25, 0.25])
    assert average_accuracy(R) == pytest.approx((0.5 + 0.7 + 0.9 + 0.8) / 4)
    assert backward_transfer(R) == pytest.approx(((0.5 - 1.0) + (0.7 - 0.9) + (0.9 - 1.0)) / 3)
    # task0: max(1, .8, .7) - .5 = .5 ; task1: max(.9, .6) - .7 = .2 ; task2: max(1.0) - .9 = .1
    assert forgetting(R) == pytest.approx((0.5 + 0.2 + 0.1) / 3)
    assert forward_transfer(R, b) == pytest.approx(((0.2 - 0.25) + (0.3 - 0.25) + (0.4 - 0.25)) / 3)


def test_single_task_edge_case():
    R = [[0.7]]
    assert average_accuracy(R) == pytest.approx(0.7)
    assert backward_transfer(R) == 0.0
    assert forgetting(R) == 0.0
    assert forward_transfer(R, [0.5]) == 0.0


def test_accepts_numpy_and_torch():
    assert average_accuracy(np.array(R3)) == pytest.approx(2.2 / 3)
    assert forgetting(torch.tensor(R3)) == pytest.approx(0.225)
    assert forward_transfer(torch.tensor(R3), torch.tensor(B3)) == pytest.approx(-0.05)
    assert isinstance(average_accuracy(R3), float)


@pytest.mark.parametrize("bad", [[], [[]], [[0.1, 0.2]], [[0.1, 0.2], [0.3]], np.zeros((2, 3)), np.zeros((2, 2, 2)),
                                 [0.1, 0.2], [[float("nan")]], [["a"]]])
@pytest.mark.parametrize("fn", [average_accuracy, backward_transfer, forgetting])
def test_non_square_or_empty_raises(fn, bad):
    with pytest.raises(ValueError, match="R must"):
        fn(bad)


def test_forward_transfer_checks_b():
    with pytest.raises(ValueError, match="length T = 3"):
        forward_transfer(R3, [0.1, 0.2])
    with pytest.raises(ValueError, match="R must"):
        forward_transfer([[0.1, 0.2]], [0.1, 0.2])
    with pytest.raises(ValueError, match="finite"):
        forward_transfer(R3, [0.1, float("nan"), 0.2])


@pytest.mark.parametrize("bad,where", [([[1.5, 0.0], [0.2, 0.3]], "R[0][0] = 1.5"),
                                       ([[0.5, 0.0], [-0.1, 0.3]], "R[1][0] = -0.1")])
def test_values_that_are_not_accuracies_are_refused(bad, where):
    for metric in (forgetting, average_accuracy, backward_transfer):
        with pytest.raises(ValueError, match=r"^R must hold accuracies in \[0, 1\]; got " + re.escape(where) + "$"):
            metric(bad)


def test_plasticity_slope_by_hand():
    from classp.lab.metrics import plasticity_slope

    # diagonal 0.9, 0.8, 0.9: mean 0.8667, slope = sum((j - 1) * d_j) / 2 = (-0.9 + 0.9) / 2 = 0
    assert plasticity_slope(R3) == pytest.approx(0.0)
    # a diagonal falling by 0.05 per task, whatever the off-diagonal entries
    R = np.full((4, 4), 0.3)
    np.fill_diagonal(R, [0.9, 0.85, 0.8, 0.75])
    assert plasticity_slope(R) == pytest.approx(-0.05)
    assert plasticity_slope(torch.tensor(R)) == pytest.approx(-0.05)
    # least squares, not the end points: 0.9, 0.5, 0.9, 0.9 -> slope 0.04
    np.fill_diagonal(R, [0.9, 0.5, 0.9, 0.9])
    assert plasticity_slope(R.tolist()) == pytest.approx(np.polyfit(np.arange(4), np.diag(R), 1)[0])
    assert plasticity_slope([[0.7]]) == 0.0
    assert isinstance(plasticity_slope(R3), float)


@pytest.mark.parametrize("bad", [[], [[]], [[0.1, 0.2]], np.zeros((2, 3)), [[float("nan")]], [["a"]],
                                 [[1.5, 0.0], [0.2, 0.3]], [[0.5, 0.0], [-0.1, 0.3]], [[float("inf"), 0], [0, 0]]])
def test_plasticity_slope_refuses_what_is_not_an_accuracy_matrix(bad):
    from classp.lab.metrics import plasticity_slope

    with pytest.raises(ValueError, match="^R must"):
        plasticity_slope(bad)
