"""Paired comparisons over seeds: the one helper every chapter that compares two methods uses.

Two methods run on the same seeds (same initial weights, same batches) are compared by their
per-seed differences ``d_s = a_s - b_s``, not by two separate means: the seed-to-seed variation
they share cancels. The interval is Student's t interval of the mean difference,

.. math::

    \\bar d \\pm t_{1-\\alpha'/2,\\,n-1}\\, \\frac{s_d}{\\sqrt n}, \\qquad
    \\alpha' = \\frac{1 - \\text{confidence}}{m},

where ``m`` is the number of comparisons the verdict belongs to (Bonferroni's correction: with
``m`` intervals at level ``1 - α/m`` each, all of them hold together with probability at least
``1 - α``). A chapter that tests six differences states ``m = 6`` next to its verdicts.

Examples
--------
>>> d = paired_difference([0.80, 0.82, 0.79, 0.85], [0.75, 0.80, 0.74, 0.80])
>>> round(d.mean, 4), d.n
(0.0425, 4)
>>> d.excludes_zero, d.verdict("classp", "sgd")
(True, 'classp > sgd')
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from .._validation import check_int, check_number

__all__ = ["PairedDifference", "paired_difference", "align_by_seed", "Outcome", "compare_family", "LOWER_IS_BETTER"]

#: Metrics for which a smaller value is the better one (every other metric: larger is better).
LOWER_IS_BETTER = frozenset({"forgetting", "wall_s", "state_bytes"})


@dataclass(frozen=True)
class PairedDifference:
    """Mean of per-seed differences ``a - b`` with its t interval.

    Attributes
    ----------
    mean, std : float
        Mean and sample standard deviation (``ddof=1``) of the differences.
    n : int
        Number of pairs (seeds).
    low, high : float
        The interval's ends.
    confidence : float
        The family confidence the caller asked for (before the Bonferroni correction).
    comparisons : int
        Number of comparisons ``m`` in the family; each interval is at level ``1 - (1 - confidence)/m``.
    """

    mean: float
    std: float
    n: int
    low: float
    high: float
    confidence: float = 0.95
    comparisons: int = 1

    @property
    def excludes_zero(self) -> bool:
        """True when the interval lies entirely above or entirely below 0."""
        return self.low > 0 or self.high < 0

    def verdict(self, a: str = "a", b: str = "b") -> str:
        """``"a > b"``, ``"a < b"`` or ``"no difference shown between a and b"`` (interval holds 0)."""
        if self.low > 0:
            return f"{a} > {b}"
        if self.high < 0:
            return f"{a} < {b}"
        return f"no difference shown between {a} and {b}"

    def __str__(self) -> str:
        level = 1 - (1 - self.confidence) / self.comparisons
        return (f"{self.mean:+.3f} [{self.low:+.3f}, {self.high:+.3f}] "
                f"({100 * level:.4g} % t interval, n = {self.n}, {self.comparisons} comparison(s))")


def paired_difference(a: Sequence[float], b: Sequence[float], *, confidence: float = 0.95,
                      comparisons: int = 1) -> PairedDifference:
    """Mean per-seed difference ``a - b`` with a (Bonferroni-corrected) Student t interval.

    Parameters
    ----------
    a, b : sequence of float
        One value per seed, in the same seed order (see :func:`align_by_seed`); at least 2 pairs.
    confidence : float, default 0.95
        Family confidence, in (0, 1).
    comparisons : int, default 1
        Number of comparisons ``m`` the verdict belongs to (>= 1); each interval is computed at
        level ``1 - (1 - confidence) / m``.

    Returns
    -------
    PairedDifference

    Raises
    ------
    ValueError
        For unequal lengths, fewer than 2 pairs, non-finite values or out-of-range arguments.
    """
    confidence = check_number("confidence", confidence, 0, 1, low_open=True, high_open=True)
    comparisons = check_int("comparisons", comparisons, 1)
    x, y = _as_values("a", a), _as_values("b", b)
    if len(x) != len(y):
        raise ValueError(f"a and b must hold one value per seed each; got {len(x)} and {len(y)} values")
    if len(x) < 2:
        raise ValueError(f"a paired interval needs at least 2 seeds; got {len(x)}")
    from scipy import stats  # scikit-learn's dependency (the lab extra)

    d = x - y
    n = len(d)
    mean, std = float(d.mean()), float(d.std(ddof=1))
    alpha = (1 - confidence) / comparisons
    half = float(stats.t.ppf(1 - alpha / 2, n - 1)) * std / math.sqrt(n)
    return PairedDifference(mean, std, n, mean - half, mean + half, confidence, comparisons)


def _as_values(name: str, values) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of numbers; got {values!r}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (one value per seed); got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold finite numbers; got {arr.tolist()}")
    return arr


def align_by_seed(a: Iterable, b: Iterable, metric: str) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The values of ``metric`` for the seeds two sets of runs share, in seed order.

    Parameters
    ----------
    a, b : iterable of Result or of dict
        Runs (:class:`classp.lab.results.Result`, or the ``runs`` entries of a results file) of two
        methods; each has a ``seed`` and ``metric`` among its metrics.
    metric : str
        A key of ``Result.metrics`` (e.g. ``"average_accuracy"``, ``"forgetting"``).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, list of int)
        The values of ``a`` and ``b`` and the seeds, aligned.

    Raises
    ------
    ValueError
        If a seed appears twice in one set, the two sets share no seed, or a run lacks ``metric``.
    """
    va, vb = _by_seed("a", a, metric), _by_seed("b", b, metric)
    if set(va) != set(vb):
        raise ValueError(f"a and b must be run on the same seeds to be paired; a has {sorted(va)}, "
                         f"b has {sorted(vb)}")
    seeds = sorted(va)
    return np.array([va[s] for s in seeds]), np.array([vb[s] for s in seeds]), seeds


def _by_seed(name: str, runs: Iterable, metric: str) -> dict:
    out: dict = {}
    for run in runs:
        seed = run["seed"] if isinstance(run, Mapping) else run.seed
        metrics = run["metrics"] if isinstance(run, Mapping) else run.metrics()
        if metric not in metrics:
            raise ValueError(f"{name}: the run with seed {seed} has no metric {metric!r}; "
                             f"it has {', '.join(sorted(metrics))}")
        if seed in out:
            raise ValueError(f"{name}: seed {seed} appears twice; paired runs need distinct seeds")
        out[seed] = float(metrics[metric])
    if not out:
        raise ValueError(f"{name} holds no runs")
    return out


@dataclass(frozen=True)
class Outcome:
    """One comparison of a family: the paired difference ``target - opponent`` and what it shows.

    Attributes
    ----------
    opponent, metric : str
    difference : PairedDifference
        Over the seeds both methods finished, Bonferroni-corrected for the whole family.
    result : {"better", "worse", "tie"}
        For the target: "better" when the interval lies on the good side of zero (higher, or lower
        for a metric in :data:`LOWER_IS_BETTER`), "worse" on the bad side, "tie" when it holds zero.
    """

    opponent: str
    metric: str
    difference: PairedDifference
    result: str


def compare_family(runs: Iterable, target: str, opponents: Sequence[str],
                   metrics: Sequence[str] = ("average_accuracy", "forgetting"), *, confidence: float = 0.95,
                   comparisons: int | None = None, key=None) -> dict:
    """Compare one method with several others on several metrics, as one family of paired tests.

    Parameters
    ----------
    runs : iterable of Result
        Runs of the target and of every opponent (any order; a method's diverged seeds are simply absent).
    target : str
        The method compared with the others (``key(run)``).
    opponents : sequence of str
        The other methods, each paired with the target over the seeds both have.
    metrics : sequence of str, default ("average_accuracy", "forgetting")
        Keys of ``Result.metrics()``.
    confidence : float, default 0.95
        Family confidence.
    comparisons : int, optional
        Size ``m`` of the Bonferroni family (default ``len(opponents) * len(metrics)``; give a larger
        one when these comparisons belong to a larger family).
    key : callable, optional
        Run -> method name (default ``run.method``).

    Returns
    -------
    dict
        ``(opponent, metric) -> Outcome``, in the order of ``opponents`` then ``metrics``.

    Raises
    ------
    ValueError
        For an unknown method, a method paired on fewer than 2 seeds, or out-of-range arguments.

    Examples
    --------
    >>> class R:  # a stand-in for Result
    ...     def __init__(self, method, seed, acc):
    ...         self.method, self.seed, self._m = method, seed, {"average_accuracy": acc}
    ...     def metrics(self): return self._m
    >>> runs = [R("a", s, v) for s, v in enumerate([0.80, 0.82, 0.79, 0.85])] + \\
    ...        [R("b", s, v) for s, v in enumerate([0.75, 0.80, 0.74, 0.80])]
    >>> out = compare_family(runs, "a", ["b"], ["average_accuracy"])
    >>> out[("b", "average_accuracy")].result
    'better'
    """
    key = (lambda r: r.method) if key is None else key
    if not callable(key):
        raise ValueError(f"key must be a callable run -> method name; got {key!r}")
    if isinstance(opponents, str) or isinstance(metrics, str):
        raise ValueError("opponents and metrics must be sequences of names, not a single string")
    opponents, metrics = list(opponents), list(metrics)
    if not opponents or not metrics:
        raise ValueError(f"compare_family needs at least one opponent and one metric; got {opponents!r}, {metrics!r}")
    m = len(opponents) * len(metrics) if comparisons is None else check_int("comparisons", comparisons, 1)
    if m < len(opponents) * len(metrics):
        raise ValueError(f"comparisons must be at least the {len(opponents) * len(metrics)} comparisons made here; "
                         f"got {m}")
    by_method: dict = {}
    for r in runs:
        by_method.setdefault(key(r), []).append(r)
    missing = [name for name in [target, *opponents] if name not in by_method]
    if missing:
        raise ValueError(f"no runs of {', '.join(map(repr, missing))}; the runs hold "
                         f"{', '.join(map(repr, sorted(by_method)))}")
    out = {}
    for opp in opponents:
        both = {r.seed for r in by_method[target]} & {r.seed for r in by_method[opp]}
        a_runs = [r for r in by_method[target] if r.seed in both]
        b_runs = [r for r in by_method[opp] if r.seed in both]
        for metric in metrics:
            a, b, _ = align_by_seed(a_runs, b_runs, metric)
            d = paired_difference(a, b, confidence=confidence, comparisons=m)
            good = (d.high < 0) if metric in LOWER_IS_BETTER else (d.low > 0)
            result = "tie" if not d.excludes_zero else ("better" if good else "worse")
            out[(opp, metric)] = Outcome(opp, metric, d, result)
    return out
