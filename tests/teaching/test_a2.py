"""Tests of classp.teaching.a2 (tasks 2.1 threshold for a share of weights, 2.3 threshold for a target
density, 2.4 the forgetting it buys). The checks of 2.3 and 2.4 train (a second or two per run)."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from classp.lab.metrics import forgetting as pkg_forgetting
from classp.lab.train import run
from classp.teaching.a2 import check_forgetting_bought, check_threshold_density, check_threshold_for_density

NOTEBOOK = "a2_threshold.ipynb"


# ------------------------------------------------------------------------------------------------ task 2.1
def density_ok(grads, density):
    flat = torch.cat([g.reshape(-1) for g in grads]) ** 2
    k = int(round((1 - density) * flat.numel()))
    return float(torch.sort(flat).values[k - 1])


def test_solutions_pass(passes):
    passes(check_threshold_for_density, density_ok, NOTEBOOK, "threshold_for_density")


def test_stub_is_not_implemented_yet(not_implemented_yet):
    not_implemented_yet(check_threshold_for_density)


def density_per_tensor(grads, density):
    return float(np.mean([torch.quantile(g.flatten().double() ** 2, 1 - density).item() for g in grads]))


def density_abs(grads, density):
    return float(torch.quantile(torch.cat([g.flatten() for g in grads]).abs().double(), 1 - density))


def density_inverted(grads, density):
    return float(torch.quantile(torch.cat([g.flatten() for g in grads]).double() ** 2, density))


def density_list(grads, density):
    return [float(torch.quantile(g.flatten().double() ** 2, 1 - density)) for g in grads]


@pytest.mark.parametrize("mistake, words", [
    (density_per_tensor, ["all tensors together"]),
    (density_abs, ["squared gradients, not of |g|"]),
    (density_inverted, ["(1 − density) quantile"]),
    (density_list, ["one threshold for all the weights"]),
])
def test_threshold_for_density_mistakes(mistake, words, fails_with):
    fails_with(check_threshold_for_density, mistake, words)


def test_threshold_for_density_accepts_any_threshold_with_the_right_share(quiet):
    # a threshold halfway between two order statistics is as right as the quantile itself
    def between(grads, density):
        flat = torch.sort(torch.cat([g.flatten() for g in grads]).double() ** 2).values
        k = int(round((1 - density) * flat.numel()))
        return float((flat[k - 1] + flat[k]) / 2)

    assert quiet(check_threshold_for_density, between, seed=0).passed


def test_threshold_for_density_accepts_numpy_and_tensor_numbers(quiet):
    assert quiet(check_threshold_for_density, lambda g, d: np.float32(density_ok(g, d)), seed=0).passed
    assert quiet(check_threshold_for_density, lambda g, d: torch.tensor(density_ok(g, d)), seed=0).passed


# ------------------------------------------------------------------------------------------------ task 2.3
@pytest.fixture(scope="module")
def density_runs():
    """Mean densities of CLASSP on permuted-digits (seed 0) for two thresholds."""
    return {tau: run("classp", "permuted-digits", seed=0, options={"threshold": tau}, progress=False).metrics()[
        "mean_density"] for tau in (1e-6, 1e-4)}


@pytest.mark.slow
def test_threshold_density_value_check(density_runs, quiet):
    d = density_runs[1e-4]
    assert quiet(check_threshold_density, 1e-4, target=d, tol=0.001).passed
    low = quiet(check_threshold_density, 1e-6, target=d, tol=0.01)
    assert low.status == "failed" and low.hint.startswith("Raise the threshold")
    assert f"{density_runs[1e-6]:.4f}" in low.cases[0].detail  # the student's own density is shown
    high = quiet(check_threshold_density, 1e-4, target=density_runs[1e-6], tol=0.01)
    assert high.hint.startswith("Lower the threshold")


def test_threshold_density_stub_and_bad_values(quiet, capsys):
    r = check_threshold_density(None)
    assert r.status == "not implemented" and "tau is not set yet" in capsys.readouterr().out
    assert quiet(check_threshold_density, -1e-5).cases[0].detail == "tau = -1e-05 is negative"
    assert "one number" in quiet(check_threshold_density, [1e-5, 1e-4]).cases[0].detail


@pytest.mark.parametrize("kwargs, message", [
    (dict(target=1.5), r"target must be a number in \(0, 1\); got 1.5"),
    (dict(target=0), r"target must be a number in \(0, 1\); got 0"),
    (dict(tol=0.0), r"tol must be a number > 0; got 0.0"),
    (dict(tol="0.01"), r"tol must be a number > 0; got '0.01'"),
    (dict(seed=-1), r"seed must be an integer >= 0; got -1"),
    (dict(verbose=1), r"verbose must be True or False; got 1"),
])
def test_threshold_density_refuses_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        check_threshold_density(1e-5, **kwargs)


# ------------------------------------------------------------------------------------------------ task 2.4
@pytest.fixture(scope="module")
def bought_runs():
    tau = 1e-4
    dense = [run("classp", "permuted-digits", seed=s, options={"threshold": 0.0}, progress=False) for s in (0, 1)]
    sparse = [run("classp", "permuted-digits", seed=s, options={"threshold": tau}, progress=False) for s in (0, 1)]
    value = np.mean([r.metrics()["forgetting"] for r in dense]) - np.mean([r.metrics()["forgetting"] for r in sparse])
    return dense, sparse, tau, float(value)


@pytest.mark.slow
def test_forgetting_bought(bought_runs, quiet, capsys):
    dense, sparse, tau, value = bought_runs
    assert quiet(check_forgetting_bought, value, dense, sparse, tau, seeds=(0, 1), seed=0).passed
    assert quiet(check_forgetting_bought, value, dense, sparse, tau, seeds=np.array([0, 1]), seed=np.int64(0)).passed

    wrong = quiet(check_forgetting_bought, -value, dense, sparse, tau, seeds=(0, 1), seed=0)
    assert wrong.status == "failed" and "sign is reversed" in wrong.hint

    off = check_forgetting_bought(value + 0.1234, dense, sparse, tau, seeds=(0, 1), seed=0)
    out = capsys.readouterr().out
    assert off.status == "failed" and "does not match" in out
    for fmt in (".6g", ".5f", ".4f", ".3f"):  # the expected value is never printed
        assert format(value, fmt) not in out

    only_first = float(pkg_forgetting(dense[0].accuracy_matrix) - pkg_forgetting(sparse[0].accuracy_matrix))
    assert "all the seeds" in quiet(check_forgetting_bought, only_first, dense, sparse, tau,
                                    seeds=(0, 1), seed=0).hint
    swapped = quiet(check_forgetting_bought, value, sparse, dense, tau, seeds=(0, 1), seed=0)
    assert "threshold 0" in swapped.cases[0].detail
    missing = quiet(check_forgetting_bought, value, dense[:1], sparse, tau, seeds=(0, 1), seed=0)
    assert "seeds [0]; expected [0, 1]" in missing.cases[0].detail


@pytest.mark.slow
def test_forgetting_bought_detects_tampered_runs(bought_runs, quiet):
    dense, sparse, tau, value = bought_runs
    fake = copy.deepcopy(sparse)
    for r in fake:
        r.accuracy_matrix = np.clip(r.accuracy_matrix + 0.05, 0, 1)
    # the check repeats run number rng.integers(4) of dense + fake: pick a seed that draws a fake one
    seed = next(k for k in range(100) if np.random.default_rng(k).integers(4) >= 2)
    bad = quiet(check_forgetting_bought, value, dense, fake, tau, seeds=(0, 1), seed=seed)
    assert bad.status == "failed" and bad.cases[0].passed
    assert "does not reproduce" in bad.cases[1].detail


def test_forgetting_bought_stub(quiet):
    r = quiet(check_forgetting_bought, None, None, None, None)
    assert r.status == "not implemented" and "Task 2.4 is not done yet" in r.cases[0].detail


def test_forgetting_bought_refuses_bad_seeds(quiet):
    with pytest.raises(ValueError, match=r"seeds\[1\] must be an integer >= 0; got 1.5"):
        quiet(check_forgetting_bought, None, None, None, None, seeds=(0, 1.5))
