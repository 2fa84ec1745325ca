"""Shared helpers of the lab's tests: a hand-made Result (no training needed)."""
from __future__ import annotations

import numpy as np
import pytest

from classp.lab.results import Result


def hand_made_result(method="sgd", seed=0, R=None, losses=None, label="", config=None):
    """A two-task Result with known numbers: R = [[0.9, 0.5], [0.7, 0.8]], initial accuracy 0.5, density 0.25."""
    R = np.array([[0.9, 0.5], [0.7, 0.8]]) if R is None else np.asarray(R)
    T = len(R)
    losses = np.linspace(1.0, 0.1, 10) if losses is None else np.asarray(losses)
    n = len(losses)
    return Result(method=method, sequence="toy", seed=seed,
                  config={"epochs": 1, "batch_size": 4, "n_steps": n, **(config or {})},
                  task_names=[f"t{i}" for i in range(T)], accuracy_matrix=R, initial_accuracy=np.full(T, 0.5),
                  losses=losses, density=np.full(n, 0.25), task_boundaries=[0, n // 2], eval_steps=[0, n // 2, n],
                  accuracy_curve=np.vstack([np.full(T, 0.5), R]), update_counts=[np.array([1, 0, 2]), np.array([0, 0, 3])],
                  last_changed=np.array([0, -1, 1]), state_bytes=120, n_params=3, wall_s=0.5, label=label,
                  source="hand-made")


@pytest.fixture
def make_result():
    """:func:`hand_made_result`, as a fixture."""
    return hand_made_result
