"""The tuned results files behind chapter 8's section 4 (issue 12): what a reader relies on.

Chapter 8 compares methods tuned by :mod:`classp.lab.tune`; its text says every method had the same
budget, that tuning and test seeds are disjoint, that selection used validation data and that the
reported runs are those of the chosen configuration. These tests read the committed files
(``book/results/tuned_<sequence>.json``) and check each of these, and recompute one of the chapter's
paired intervals by hand. They read JSON only (no training, no book build).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from classp.lab import results as cl_results
from classp.lab.stats import align_by_seed, paired_difference

RESULTS = Path(__file__).resolve().parents[1] / "book" / "results"
SEQUENCES = ["split-digits", "permuted-digits", "digits-shared-head"]
METHODS = ["sgd", "adam", "adagrad", "ewc", "si", "mas", "sgd-decay", "classp",
           "classp-no-threshold", "classp-no-decay", "joint"]


def _doc(sequence):
    return json.loads((RESULTS / f"tuned_{sequence}.json").read_text(encoding="utf8"))


@pytest.fixture(scope="module", params=SEQUENCES)
def doc(request):
    return _doc(request.param)


def test_every_method_of_the_chapter_was_tuned(doc):
    assert sorted(doc["selection"]) == sorted(METHODS)


def test_every_method_had_the_same_budget_and_procedure(doc):
    sel = doc["selection"]
    budgets = {m: x["budget"] for m, x in sel.items()}
    assert len(set(budgets.values())) == 1, budgets
    budget = next(iter(budgets.values()))
    for m, x in sel.items():
        # the budget is what was run: that many distinct configurations, each from the declared grid
        configs = [json.dumps(c["config"], sort_keys=True) for c in x["scores"]]
        assert len(configs) == budget and len(set(configs)) == budget, m
        for c in x["scores"]:
            assert sorted(c["config"]) == sorted(x["space"]), m
            assert all(v in x["space"][k] for k, v in c["config"].items()), (m, c["config"])
        assert x["criterion"] == sel["classp"]["criterion"] and x["split"] == "validation", m
        assert x["validation"] == sel["classp"]["validation"] > 0, m


def test_tuning_and_test_seeds_are_disjoint(doc):
    for m, x in doc["selection"].items():
        assert x["tuning_seeds"] and len(x["test_seeds"]) >= 10, m
        assert not set(x["tuning_seeds"]) & set(x["test_seeds"]), m
        # each configuration was scored on every tuning seed (or marked diverged)
        for c in x["scores"]:
            assert c["diverged"] or len(c["per_seed"]) == len(x["tuning_seeds"]), (m, c["config"])


def test_the_chosen_configuration_is_the_best_one_on_validation(doc):
    for m, x in doc["selection"].items():
        ok = [c for c in x["scores"] if not c["diverged"]]
        best = max(ok, key=lambda c: c["score"])
        assert x["chosen"] == best["config"], m
        # score = mean of the per-tuning-seed validation criteria
        assert best["score"] == pytest.approx(sum(best["per_seed"]) / len(best["per_seed"]), abs=1e-12)


def test_the_reported_runs_are_the_chosen_configuration_on_the_test_seeds(doc):
    for m, x in doc["selection"].items():
        runs = [r for r in doc["runs"] if r["method"] == m]
        seeds = sorted(r["seed"] for r in runs)
        assert seeds == sorted(set(x["test_seeds"]) - set(x["test_diverged"])), m
        for r in runs:
            cfg = r["config"]
            assert cfg["lr"] == x["chosen"]["lr"], (m, r["seed"])
            assert all(cfg["options"][k] == v for k, v in x["chosen"].items() if k != "lr"), (m, r["seed"])
            assert cfg["sequence_options"]["validation"] == x["validation"], (m, r["seed"])


def test_every_run_has_its_validation_matrix(doc):
    for r in doc["runs"]:
        T = len(r["accuracy_matrix"])
        V = np.asarray(r["validation_accuracy_matrix"], dtype=float)
        assert V.shape == (T, T), (r["method"], r["seed"])
        assert np.all((V >= 0) & (V <= 1)), (r["method"], r["seed"])
        assert r["validation_metrics"]["average_accuracy"] == pytest.approx(V[-1].mean())
    # and loading gives Results that carry it
    f = cl_results.load(RESULTS / f"tuned_{doc['config']['sequences'][0]}.json")
    assert all(res.validation_matrix is not None for res in f.results)


@pytest.mark.parametrize("comparisons", [1, 48])
def test_classp_against_sgd_on_permuted_digits_by_hand(comparisons):
    # the chapter's paired interval, recomputed from the per-seed metrics without the helper
    runs = _doc("permuted-digits")["runs"]
    a = {r["seed"]: r["metrics"]["average_accuracy"] for r in runs if r["method"] == "classp"}
    b = {r["seed"]: r["metrics"]["average_accuracy"] for r in runs if r["method"] == "sgd"}
    seeds = sorted(a)
    assert seeds == sorted(b) == list(range(10))
    d = [a[s] - b[s] for s in seeds]
    n = len(d)
    mean = sum(d) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))

    got = paired_difference(*align_by_seed([r for r in runs if r["method"] == "classp"],
                                           [r for r in runs if r["method"] == "sgd"],
                                           "average_accuracy")[:2], comparisons=comparisons)
    assert got.n == n
    assert got.mean == pytest.approx(mean, abs=1e-12)
    assert got.std == pytest.approx(sd, abs=1e-12)
    assert got.high - got.mean == pytest.approx(got.mean - got.low, abs=1e-12)  # symmetric
    # the half-width is t * sd / sqrt(n) with P(T_{n-1} <= t) = 1 - 0.05 / (2 m)
    from scipy import stats

    t = (got.high - got.mean) / (sd / math.sqrt(n))
    assert stats.t.cdf(t, n - 1) == pytest.approx(1 - 0.05 / (2 * comparisons), abs=1e-9)
    if comparisons == 1:  # Student's 97.5 % quantile for 9 degrees of freedom, from the table
        assert t == pytest.approx(2.2622, abs=1e-4)
