"""Tests of classp.teaching.a4 (tasks 4.1 forgetting of an accuracy matrix, 4.2 a frontier experiment).
The check of 4.2 trains (a second or two per run)."""
from __future__ import annotations

import numpy as np
import pytest

from classp.lab.metrics import forgetting as pkg_forgetting
from classp.lab.train import run
from classp.teaching.a4 import check_experiment, check_forgetting

NOTEBOOK = "a4_frontier.ipynb"


# ------------------------------------------------------------------------------------------------ task 4.1
def forgetting_ok(R):
    T = len(R)
    return 0.0 if T == 1 else sum(max(R[l][j] for l in range(j, T - 1)) - R[T - 1][j] for j in range(T - 1)) / (T - 1)


def test_solutions_pass(passes):
    passes(check_forgetting, forgetting_ok, NOTEBOOK, "forgetting")


def test_stub_is_not_implemented_yet(not_implemented_yet):
    not_implemented_yet(check_forgetting)


def forgetting_diagonal(R):
    T = len(R)
    return 0.0 if T == 1 else float(np.mean([R[j, j] - R[-1, j] for j in range(T - 1)]))


def forgetting_last_row_in_max(R):
    T = len(R)
    return 0.0 if T == 1 else float(np.mean([R[j:, j].max() - R[-1, j] for j in range(T - 1)]))


def forgetting_over_T(R):
    T = len(R)
    return 0.0 if T == 1 else float(sum(R[j:T - 1, j].max() - R[-1, j] for j in range(T - 1)) / T)


@pytest.mark.parametrize("mistake, words", [
    (forgetting_diagonal, ["BEST accuracy"]),
    (forgetting_last_row_in_max, ["rows before the last one"]),
    (forgetting_over_T, ["T − 1 earlier tasks"]),
])
def test_forgetting_mistakes(mistake, words, fails_with):
    fails_with(check_forgetting, mistake, words)


def test_forgetting_reference_agrees_with_hand_computation():
    R = np.array([[0.9, 0.1, 0.1], [0.6, 0.8, 0.2], [0.7, 0.5, 0.9]])
    assert pkg_forgetting(R) == pytest.approx(((0.9 - 0.7) + (0.8 - 0.5)) / 2)
    assert forgetting_ok(R) == pytest.approx(0.25)


# ------------------------------------------------------------------------------------------------ task 4.2
@pytest.fixture(scope="module")
def experiment():
    seq, seeds = "split-digits", (0, 1)
    runs = [run(m, seq, seed=s, progress=False) for m in ("sgd", "adagrad") for s in seeds]
    runs += [run("classp", seq, seed=s, options={"threshold": t}, label=f"classp {t:g}", progress=False)
             for t in (0.0, 1e-6, 1e-5) for s in seeds]
    return runs


@pytest.mark.slow
def test_experiment_rules(experiment, quiet):
    ok = quiet(check_experiment, experiment, min_seeds=np.int64(2), seed=0)
    assert ok.passed, ok.report()
    three_seeds = quiet(check_experiment, experiment, seed=0)  # the assignment's rule: 3 seeds
    assert three_seeds.status == "failed" and "at least 3 are needed" in three_seeds.cases[2].detail

    no_sweep = [r for r in experiment if r.label != "classp 1e-05"]
    r = quiet(check_experiment, no_sweep, min_seeds=2, seed=0)
    assert "2 CLASSP configuration(s); at least 3 are needed" in r.cases[3].detail
    one_baseline = [r for r in experiment if r.method != "adagrad"]
    r = quiet(check_experiment, one_baseline, min_seeds=2, seed=0)
    assert "baselines found: ['sgd']" in r.cases[3].detail
    uneven = experiment[:-1]
    r = quiet(check_experiment, uneven, min_seeds=1, seed=0)
    assert "different seeds" in r.cases[2].detail
    mixed = experiment + [run("sgd", "permuted-digits", seed=0, progress=False)]
    r = quiet(check_experiment, mixed, min_seeds=1, seed=0)
    assert "several sequences" in r.cases[1].detail


def test_experiment_stub_and_types(quiet):
    assert quiet(check_experiment, None).status == "not implemented"
    r = quiet(check_experiment, ["not a run"])
    assert r.status == "failed" and "list of the Results" in r.cases[0].detail


@pytest.mark.parametrize("name, value, message", [
    ("min_seeds", 0, "min_seeds must be an integer >= 1; got 0"),
    ("min_classp_settings", 2.0, "min_classp_settings must be an integer >= 1; got 2.0"),
    ("min_baselines", True, "min_baselines must be an integer >= 1; got True"),
])
def test_experiment_refuses_bad_rules(quiet, name, value, message):
    with pytest.raises(ValueError, match=message):
        quiet(check_experiment, [], **{name: value})
