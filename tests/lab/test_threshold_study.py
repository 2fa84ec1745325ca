"""The threshold study: its probes against hand computations, its summary against known numbers."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from classp.lab.threshold_study import METRICS, _ProbedLearner, summarise, threshold_study
from classp.optim import CLASSP


def test_the_probe_measures_update_sizes_in_units_of_the_learning_rate():
    p = torch.nn.Parameter(torch.zeros(3))
    learner = _ProbedLearner(CLASSP([p], lr=0.1, threshold=0.05, power=1.0, eps=1e-8))
    learner.begin_task(0)
    p.grad = torch.tensor([0.5, -0.2, 0.3])  # g² = 0.25, 0.04, 0.09: the second weight is gated
    learner.step()
    # first update of a fresh weight at p = 1: α·g/(eps + |g|)
    moved = 0.1 * (0.5 / (1e-8 + 0.5)) + 0.1 * (0.3 / (1e-8 + 0.3))
    assert learner.step_counts == [2]
    assert learner.step_sums[0] == pytest.approx(moved, rel=1e-6)
    learner.begin_task(1)
    p.grad = torch.tensor([0.5, 0.0, 0.0])  # S = 0.5 + 0.5: the step halves
    learner.step()
    assert learner.step_counts == [2, 1] and learner.step_sums[1] == pytest.approx(0.1 * 0.5 / 1.0, rel=1e-6)
    learner.end_task(1, torch.zeros(1, 1), torch.zeros(1, dtype=torch.long))
    assert torch.equal(learner.ends[0], p.detach())


def _fake(seed, tau, acc, **values):
    base = {"sequence": "s", "lr": 0.1, "power": 1.0, "accumulate": acc, "threshold": tau, "seed": seed}
    return {**base, **{k: values.get(k, 0.0) for k in METRICS}}


def test_summarise_pairs_each_threshold_with_zero_under_the_same_rule():
    runs = [_fake(s, 0.0, "updated", forgetting=f) for s, f in enumerate([0.10, 0.12, 0.11])]
    runs += [_fake(s, 1e-4, "updated", forgetting=f) for s, f in enumerate([0.20, 0.25, 0.21])]
    runs += [_fake(s, 0.0, "always", forgetting=0.3) for s in range(3)]  # no τ > 0: no comparison
    out = summarise(runs)
    assert out["comparisons"] == len(METRICS)  # one setting with τ > 0, every metric
    row = next(d for d in out["differences"] if d["metric"] == "forgetting")
    assert row["mean"] == pytest.approx((0.10 + 0.13 + 0.10) / 3) and row["n"] == 3 and row["excludes_zero"]
    means = {(m["accumulate"], m["threshold"]): m for m in out["means"]}
    assert means[("updated", 0.0)]["forgetting"] == pytest.approx(0.11)
    assert means[("updated", 0.0)]["forgetting_std"] == pytest.approx(0.01)
    assert means[("always", 0.0)]["n"] == 3


@pytest.mark.parametrize("kwargs, message", [
    (dict(thresholds=(1e-6, 1e-4)), "thresholds must include 0"),
    (dict(thresholds=(0.0, -1e-6)), r"thresholds\[1\]"),
    (dict(thresholds=(0.0, 0.0)), "thresholds"),
    (dict(thresholds="0"), "thresholds must be a list"),
    (dict(thresholds=()), "at least one value"),
    (dict(accumulate=("sometimes",)), "accumulate must be one of"),
    (dict(seeds=(0, 0)), "seeds"),
    (dict(seeds=(-1,)), r"seeds\[0\]"),
    (dict(epochs=0), "epochs"),
    (dict(lr=0.0), "lr"),
    (dict(lr=float("nan")), "lr"),
    (dict(power=-1.0), "power"),
])
def test_threshold_study_refuses_bad_settings(kwargs, message):
    args = dict(lr=0.03, power=1.0, thresholds=(0.0,), seeds=(0,), epochs=1)
    with pytest.raises(ValueError, match=message):
        threshold_study("split-digits", **{**args, **kwargs})


def test_summarise_compares_only_the_thresholds_and_metrics_asked_for():
    runs = [_fake(s, t, "updated", forgetting=0.1 + t + 0.01 * s) for s in range(3) for t in (0.0, 1e-6, 1e-4)]
    out = summarise(runs, thresholds=[1e-4], metrics=["forgetting", "drift"])
    assert out["comparisons"] == 2 and out["thresholds"] == [1e-4] and out["metrics"] == ["forgetting", "drift"]
    assert [(d["threshold"], d["metric"]) for d in out["differences"]] == [(1e-4, "forgetting"), (1e-4, "drift")]
    assert out["differences"][0]["mean"] == pytest.approx(1e-4)
    assert len(out["means"]) == 3  # the means of every setting all the same


@pytest.mark.parametrize("runs, kwargs, message", [
    ([], {}, "non-empty list"), ([{"seed": 0}], {}, r"runs\[0\] lacks"), ("x", {}, "list"),
    ([_fake(0, 0.0, "updated")], dict(thresholds=[1e-4]), r"thresholds \[0.0001\] were not run"),
    ([_fake(0, 0.0, "updated")], dict(thresholds=[0.0]), r"thresholds\[0\]"),
    ([_fake(0, 0.0, "updated")], dict(metrics=["accuracy"]), "metrics must be one of"),
    ([_fake(0, 0.0, "updated")], dict(metrics=[]), "at least one value"),
    ([_fake(0, 0.0, "updated")], dict(confidence=1.0), "confidence"),
])
def test_summarise_refuses_what_is_not_a_study(runs, kwargs, message):
    with pytest.raises(ValueError, match=message):
        summarise(runs, **kwargs)


@pytest.mark.slow
def test_a_small_study_on_split_digits():
    runs = threshold_study("split-digits", lr=0.03, power=1.0, thresholds=(0.0, 1e-4), seeds=(0,), epochs=1)
    assert [(r["accumulate"], r["threshold"]) for r in runs] == [
        ("updated", 0.0), ("updated", 1e-4), ("always", 0.0), ("always", 1e-4)]
    by = {(r["accumulate"], r["threshold"]): r for r in runs}
    # with τ = 0 every weight with a gradient is updated, so the two rules are the same run
    assert by[("updated", 0.0)]["accuracy_matrix"] == by[("always", 0.0)]["accuracy_matrix"]
    for r in runs:
        R = np.array(r["accuracy_matrix"])
        assert r["learning_accuracy"] == pytest.approx(float(np.mean(np.diag(R))), abs=1e-6)
        assert len(r["step_size"]) == len(r["updates"]) == R.shape[0]
        assert all(math.isfinite(v) and v >= 0 for v in (r["drift"], r["late_step_size"]))
    # the gate lowers the density in both rules
    assert by[("updated", 1e-4)]["mean_density"] < by[("updated", 0.0)]["mean_density"]
