"""classp.lab.stats: the paired t interval against a hand computation and scipy's paired t-test."""
import math

import numpy as np
import pytest

from classp.lab.results import Result
from classp.lab.stats import PairedDifference, align_by_seed, compare_family, paired_difference

A = [0.80, 0.82, 0.79, 0.85]
B = [0.75, 0.80, 0.74, 0.80]


def test_interval_by_hand():
    d = np.array(A) - np.array(B)            # 0.05, 0.02, 0.05, 0.05
    mean, sd = d.mean(), d.std(ddof=1)       # 0.0425, 0.015
    t = 3.182446305284263                    # t_{0.975, 3} from a table
    r = paired_difference(A, B)
    assert r.n == 4 and r.mean == pytest.approx(0.0425) and r.std == pytest.approx(0.015)
    assert r.low == pytest.approx(mean - t * sd / 2) and r.high == pytest.approx(mean + t * sd / 2)
    assert r.low == pytest.approx(0.018631652710, abs=1e-9)


def test_interval_agrees_with_scipys_paired_t_test():
    from scipy import stats

    rng = np.random.default_rng(0)
    a, b = rng.normal(0.7, 0.05, 10), rng.normal(0.69, 0.05, 10)
    r = paired_difference(a, b)
    # the 95 % interval excludes 0 exactly when the two-sided paired t-test's p < 0.05
    assert r.excludes_zero == (stats.ttest_rel(a, b).pvalue < 0.05)
    ci = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert (r.low, r.high) == pytest.approx((ci.low, ci.high))


def test_bonferroni_widens_the_interval():
    one, six = paired_difference(A, B), paired_difference(A, B, comparisons=6)
    assert six.low < one.low and six.high > one.high
    level = 1 - 0.05 / 6
    from scipy import stats
    half = stats.t.ppf(1 - (1 - level) / 2, 3) * 0.015 / 2
    assert six.high - six.mean == pytest.approx(half)
    assert "6 comparison(s)" in str(six) and "99.17 %" in str(six)


def test_verdicts():
    assert paired_difference(A, B).verdict("x", "y") == "x > y"
    assert paired_difference(B, A).verdict("x", "y") == "x < y"
    noisy = paired_difference([0.1, 0.3, 0.2], [0.2, 0.1, 0.25])
    assert not noisy.excludes_zero and noisy.verdict("x", "y") == "no difference shown between x and y"


@pytest.mark.parametrize("a,b,kw,msg", [
    ([0.1, 0.2], [0.1], {}, "one value per seed each; got 2 and 1"),
    ([0.1], [0.2], {}, "at least 2 seeds; got 1"),
    ([0.1, float("nan")], [0.1, 0.2], {}, "a must hold finite numbers"),
    ([[0.1, 0.2]], [[0.1, 0.2]], {}, "one-dimensional"),
    (["x", "y"], [0.1, 0.2], {}, "a must be a sequence of numbers"),
    (A, B, {"confidence": 1.0}, r"confidence must be a number in \(0, 1\)"),
    (A, B, {"comparisons": 0}, "comparisons must be an integer >= 1"),
])
def test_bad_input(a, b, kw, msg):
    with pytest.raises(ValueError, match=msg):
        paired_difference(a, b, **kw)


def _run(method, seed, forgetting):
    return {"method": method, "seed": seed, "metrics": {"forgetting": forgetting}}


def test_align_by_seed_pairs_runs_in_seed_order():
    a = [_run("classp", 2, 0.3), _run("classp", 0, 0.1), _run("classp", 1, 0.2)]
    b = [_run("sgd", 1, 0.25), _run("sgd", 2, 0.5), _run("sgd", 0, 0.4)]
    x, y, seeds = align_by_seed(a, b, "forgetting")
    assert seeds == [0, 1, 2] and x.tolist() == [0.1, 0.2, 0.3] and y.tolist() == [0.4, 0.25, 0.5]


def test_align_by_seed_accepts_results():
    R = np.array([[0.9, 0.1], [0.6, 0.8]])
    mk = lambda s: Result(method="m", sequence="s", seed=s, config={}, task_names=["t0", "t1"], accuracy_matrix=R,
                          initial_accuracy=np.array([0.1, 0.1]), losses=np.zeros(2), density=np.zeros(2),
                          task_boundaries=[0, 1], eval_steps=np.array([0, 1]), accuracy_curve=np.zeros((2, 2)))
    x, y, seeds = align_by_seed([mk(0), mk(1)], [mk(1), mk(0)], "forgetting")
    assert seeds == [0, 1] and x.tolist() == y.tolist() == [pytest.approx(0.3)] * 2


@pytest.mark.parametrize("a,b,msg", [
    ([_run("m", 0, 0.1)], [_run("m", 1, 0.1)], r"same seeds to be paired; a has \[0\], b has \[1\]"),
    ([_run("m", 0, 0.1), _run("m", 0, 0.2)], [_run("m", 0, 0.1)], "seed 0 appears twice"),
    ([], [], "a holds no runs"),
])
def test_align_by_seed_refuses(a, b, msg):
    with pytest.raises(ValueError, match=msg):
        align_by_seed(a, b, "forgetting")


def test_unknown_metric_is_named():
    with pytest.raises(ValueError, match="has no metric 'accuracy'; it has forgetting"):
        align_by_seed([_run("m", 0, 0.1)], [_run("m", 0, 0.1)], "accuracy")


def test_the_chapters_numbers_paired_on_a_results_file():
    """Issue 12's example: CLASSP minus classp-no-threshold forgetting on split digits, 10 seeds."""
    import json
    from pathlib import Path

    doc = json.loads((Path(__file__).resolve().parents[2] / "book/results/head_to_head_split-digits.json").read_text())
    runs = {m: [r for r in doc["runs"] if r["method"] == m] for m in ("classp", "classp-no-threshold")}
    a, b, seeds = align_by_seed(runs["classp"], runs["classp-no-threshold"], "forgetting")
    r = paired_difference(a, b)
    assert len(seeds) == 10 and isinstance(r, PairedDifference)
    assert r.mean == pytest.approx(float(np.mean(a - b)))
    assert math.isfinite(r.low) and r.low <= r.mean <= r.high


# ------------------------------------------------------------------------------------------ compare_family
class _Run:
    """A stand-in for Result: a method, a seed and its metrics."""

    def __init__(self, method, seed, **metrics):
        self.method, self.seed, self._metrics = method, seed, metrics

    def metrics(self):
        return self._metrics


def _family_runs():
    acc = {"classp": [0.80, 0.82, 0.79, 0.85], "sgd": [0.75, 0.80, 0.74, 0.80], "ewc": [0.90, 0.91, 0.88, 0.93]}
    fgt = {"classp": [0.10, 0.12, 0.11, 0.10], "sgd": [0.30, 0.35, 0.28, 0.31], "ewc": [0.10, 0.13, 0.10, 0.11]}
    return [_Run(m, s, average_accuracy=acc[m][s], forgetting=fgt[m][s]) for m in acc for s in range(4)]


def test_compare_family_orients_every_metric_for_the_target():
    out = compare_family(_family_runs(), "classp", ["sgd", "ewc"])
    assert list(out) == [("sgd", "average_accuracy"), ("sgd", "forgetting"),
                         ("ewc", "average_accuracy"), ("ewc", "forgetting")]
    assert out[("sgd", "average_accuracy")].result == "better"     # higher accuracy
    assert out[("sgd", "forgetting")].result == "better"           # lower forgetting is better
    assert out[("ewc", "average_accuracy")].result == "worse"
    assert out[("ewc", "forgetting")].result == "tie"              # differences -0.00, -0.01, 0.01, -0.01
    # the family's size is the Bonferroni m of every interval, and the numbers are paired_difference's
    d = out[("sgd", "average_accuracy")].difference
    ref = paired_difference([0.80, 0.82, 0.79, 0.85], [0.75, 0.80, 0.74, 0.80], comparisons=4)
    assert d.comparisons == 4 and (d.mean, d.low, d.high) == (ref.mean, ref.low, ref.high)
    assert d.mean == pytest.approx(0.0425)


def test_compare_family_pairs_only_the_seeds_both_finished():
    runs = [r for r in _family_runs() if not (r.method == "sgd" and r.seed == 2)]  # sgd's seed 2 diverged
    d = compare_family(runs, "classp", ["sgd"], ["average_accuracy"])[("sgd", "average_accuracy")].difference
    assert d.n == 3 and d.mean == pytest.approx(np.mean([0.05, 0.02, 0.05]))


def test_compare_family_widens_for_a_larger_family():
    small = compare_family(_family_runs(), "classp", ["sgd"], ["average_accuracy"])
    large = compare_family(_family_runs(), "classp", ["sgd"], ["average_accuracy"], comparisons=30)
    a, b = small[("sgd", "average_accuracy")].difference, large[("sgd", "average_accuracy")].difference
    assert b.low < a.low < a.mean < a.high < b.high and b.comparisons == 30


@pytest.mark.parametrize("kwargs, message", [
    (dict(target="adam", opponents=["sgd"]), r"no runs of 'adam'"),
    (dict(target="classp", opponents=["sgd", "si"]), r"no runs of 'si'"),
    (dict(target="classp", opponents="sgd"), "sequences of names, not a single string"),
    (dict(target="classp", opponents=[]), "at least one opponent and one metric"),
    (dict(target="classp", opponents=["sgd"], comparisons=1), "at least the 2 comparisons made here"),
    (dict(target="classp", opponents=["sgd"], metrics=["bwt"]), "has no metric 'bwt'"),
    (dict(target="classp", opponents=["sgd"], key=3), "key must be a callable"),
])
def test_compare_family_refuses(kwargs, message):
    with pytest.raises(ValueError, match=message):
        compare_family(_family_runs(), **kwargs)
