"""Why CLASSP's threshold can raise forgetting: the gate, the accumulator, and how far weights move.

The paper's equation grows a weight's accumulator only when the weight is updated
(``accumulate="updated"``): ``S += m·|g|^p``. A weight the gate holds back (``g² <= τ``) keeps a
small ``S``, so the step it takes when its squared gradient finally passes τ is close to the full
learning rate α (the first update of a fresh weight is ``α·sign(g)``). The hypothesis this module
tests: with that rule a threshold keeps weights *plastic*, so later tasks move them further —
more forgetting and better learning of each new task. With ``accumulate="always"`` every gradient
counts, gated or not, and the same τ cannot keep weights fresh.

:func:`threshold_study` runs CLASSP on one sequence for every pair (τ, accumulate) over seeds, and
measures, besides the accuracy matrix,

* ``step_size``: per task, the mean size of the updates, ``|Δw| / α`` averaged over the weights a
  step changed (1 = the full learning rate);
* ``drift``: the mean absolute change of the weights during the tasks after the first,
  ``mean |θ_T − θ_1|`` (θ_i: the weights at the end of task i), which is what forgets task 1;
* ``learning_accuracy``: the mean of the accuracy matrix's diagonal (each task right after it
  was learned; Riemer et al. 2019), the plasticity measure, beside ``forgetting`` and
  ``average_accuracy`` (:mod:`classp.lab.metrics`).

:func:`summarise` then gives, for each (τ > 0, accumulate), the paired difference from τ = 0 with the
same rule (:func:`classp.lab.stats.paired_difference`, Bonferroni over the comparisons made).

``scripts/threshold_study.py`` runs it on the three digits sequences at the settings the tuning chose
and writes ``book/results/threshold_study.json``.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import torch

from .methods import Learner, Method, get_method
from .metrics import average_accuracy, forgetting
from .stats import paired_difference
from .train import run
from .._validation import check_choice, check_distinct, check_int, check_number
from ..optim import CLASSP

__all__ = ["threshold_study", "summarise", "ACCUMULATE_RULES", "METRICS"]

#: The two accumulator rules compared (``CLASSP(accumulate=...)``).
ACCUMULATE_RULES = ("updated", "always")

#: The per-run numbers :func:`summarise` compares.
METRICS = ("forgetting", "learning_accuracy", "average_accuracy", "drift", "late_step_size")


def _flat(params: list) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in params])


class _ProbedLearner(Learner):
    """CLASSP's learner that also records the size of every update and the weights at each task's end."""

    def __init__(self, optimizer: CLASSP):
        super().__init__(optimizer)
        self.params = [p for group in optimizer.param_groups for p in group["params"]]
        self.lr = float(optimizer.param_groups[0]["lr"])
        self.step_sums: list[float] = []
        self.step_counts: list[int] = []
        self.ends: list[torch.Tensor] = []

    def begin_task(self, index: int) -> None:
        super().begin_task(index)
        self.step_sums.append(0.0)
        self.step_counts.append(0)

    def step(self) -> None:
        before = _flat(self.params)
        super().step()
        delta = (_flat(self.params) - before).abs()
        moved = delta > 0
        self.step_sums[-1] += float(delta[moved].sum())
        self.step_counts[-1] += int(moved.sum())

    def end_task(self, index, x, y, classes=None, generator=None) -> None:
        super().end_task(index, x, y, classes=classes, generator=generator)
        self.ends.append(_flat(self.params).clone())


def _one_run(sequence: str, seed: int, lr: float, power: float, threshold: float, accumulate: str,
             epochs: int, sequence_options: dict | None) -> dict:
    probes: list[_ProbedLearner] = []

    def factory(model, lr_, options):
        learner = _ProbedLearner(CLASSP(model.parameters(), lr=lr_, **options))
        probes.append(learner)
        return learner

    base = get_method("classp")
    method = Method("classp", base.description, base.defaults, factory)
    options = {"threshold": threshold, "power": power, "accumulate": accumulate}
    r = run(method, sequence, seed=seed, lr=lr, options=options, epochs=epochs, progress=False, threads=1,
            sequence_options=sequence_options, label=f"classp τ={threshold:g} {accumulate}")
    probe = probes[-1]
    R = np.asarray(r.accuracy_matrix, dtype=float)
    sizes = [s / c / probe.lr if c else 0.0 for s, c in zip(probe.step_sums, probe.step_counts)]
    late = sum(probe.step_sums[1:]) / max(1, sum(probe.step_counts[1:])) / probe.lr
    return {"sequence": sequence, "seed": seed, "threshold": threshold, "accumulate": accumulate,
            "lr": lr, "power": power, "epochs": epochs, "accuracy_matrix": R.round(6).tolist(),
            "forgetting": forgetting(R), "average_accuracy": average_accuracy(R),
            "learning_accuracy": float(np.mean(np.diag(R))),
            "drift": float((probe.ends[-1] - probe.ends[0]).abs().mean()),
            "step_size": [round(v, 6) for v in sizes], "late_step_size": float(late),
            "updates": probe.step_counts, "mean_density": float(np.mean(r.density)), "wall_s": round(r.wall_s, 3)}


def threshold_study(sequence: str = "split-digits", *, lr: float, power: float,
                    thresholds: Iterable[float] = (0.0, 1e-8, 1e-6, 1e-4),
                    accumulate: Iterable[str] = ACCUMULATE_RULES, seeds: Iterable[int] = range(10),
                    epochs: int = 5, sequence_options: dict | None = None) -> list[dict]:
    """CLASSP on ``sequence`` for every (threshold, accumulate) pair and seed, with the probes above.

    Parameters
    ----------
    sequence : str
        A digits sequence name (:func:`classp.data.list_sequences`).
    lr, power : float
        CLASSP's learning rate (> 0) and power p (> 0), the same for every run.
    thresholds : iterable of float
        Values of τ (>= 0, distinct); 0 must be among them (the reference of :func:`summarise`).
    accumulate : iterable of str
        Accumulator rules, from :data:`ACCUMULATE_RULES`.
    seeds : iterable of int
        Seeds (distinct, >= 0); every setting runs on every seed (paired).
    epochs : int
        Passes over each task (>= 1).

    Returns
    -------
    list of dict
        One per run: its setting, accuracy matrix and the measures of the module docstring.
    """
    lr = check_number("lr", lr, 0, low_open=True)
    power = check_number("power", power, 0, low_open=True)
    taus = check_distinct("thresholds", [check_number(f"thresholds[{i}]", t, 0)
                                         for i, t in enumerate(_as_list("thresholds", thresholds))])
    if 0.0 not in taus:
        raise ValueError(f"thresholds must include 0 (the reference every other value is compared with); got {taus}")
    rules = check_distinct("accumulate", [check_choice("accumulate", a, ACCUMULATE_RULES)
                                          for a in _as_list("accumulate", accumulate)])
    seeds = check_distinct("seeds", [check_int(f"seeds[{i}]", s, 0) for i, s in enumerate(_as_list("seeds", seeds))])
    epochs = check_int("epochs", epochs, 1)
    return [_one_run(sequence, s, lr, power, t, a, epochs, sequence_options)
            for a in rules for t in taus for s in seeds]


def _as_list(name: str, values) -> list:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValueError(f"{name} must be a list of values; got {values!r}")
    out = list(values)
    if not out:
        raise ValueError(f"{name} must hold at least one value")
    return out


def summarise(runs: list[dict], *, thresholds: Iterable[float] | None = None,
              metrics: Iterable[str] = METRICS, confidence: float = 0.95) -> dict:
    """Means per setting and paired differences from τ = 0 (same sequence, lr, power and rule).

    Parameters
    ----------
    runs : list of dict
        :func:`threshold_study`'s runs (several studies may be concatenated).
    thresholds : iterable of float, optional
        The values of τ > 0 compared with τ = 0 (default: every one in ``runs``).
    metrics : iterable of str
        The measures compared, from :data:`METRICS`.
    confidence : float
        Family confidence in (0, 1).

    Returns
    -------
    dict
        ``means``: one row per (sequence, lr, power, accumulate, threshold) with the mean and
        std of each of :data:`METRICS` and the number of seeds ``n``; ``differences``: one row per
        compared setting and metric, the paired difference (that setting minus τ = 0) with its
        interval, Bonferroni-corrected over all ``comparisons`` rows; ``comparisons``; ``thresholds``
        and ``metrics`` as used.
    """
    confidence = check_number("confidence", confidence, 0, 1, low_open=True, high_open=True)
    metrics = check_distinct("metrics", [check_choice("metrics", k, METRICS) for k in _as_list("metrics", metrics)])
    if not isinstance(runs, list) or not runs:
        raise ValueError("runs must be a non-empty list of runs (threshold_study's result)")
    groups: dict = {}
    for i, r in enumerate(runs):
        missing = [k for k in ("sequence", "lr", "power", "accumulate", "threshold", "seed", *METRICS)
                   if not isinstance(r, dict) or k not in r]
        if missing:
            raise ValueError(f"runs[{i}] lacks {', '.join(missing)}")
        key = (r["sequence"], float(r["lr"]), float(r["power"]), r["accumulate"], float(r["threshold"]))
        groups.setdefault(key, {})[r["seed"]] = r
    present = sorted({key[4] for key in groups if key[4] > 0})
    if thresholds is None:
        taus = present
    else:
        taus = [check_number(f"thresholds[{i}]", t, 0, low_open=True) for i, t in enumerate(_as_list("thresholds", thresholds))]
        absent = [t for t in taus if t not in present]
        if absent:
            raise ValueError(f"thresholds {absent} were not run; the runs hold {present}")
    means = []
    for key, by_seed in sorted(groups.items()):
        row = {**dict(zip(_KEY, key)), "n": len(by_seed)}
        for k in METRICS:
            v = np.array([r[k] for r in by_seed.values()], dtype=float)
            row[k], row[k + "_std"] = float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0
        means.append(row)
    pairs = [(key, groups[(*key[:4], 0.0)]) for key in sorted(groups)
             if key[4] in taus and (*key[:4], 0.0) in groups]
    m = max(1, len(pairs) * len(metrics))
    differences = []
    for key, ref in pairs:
        by_seed = groups[key]
        seeds = sorted(set(by_seed) & set(ref))
        for k in metrics:
            d = paired_difference([by_seed[s][k] for s in seeds], [ref[s][k] for s in seeds],
                                  confidence=confidence, comparisons=m)
            differences.append({**dict(zip(_KEY, key)), "metric": k, "mean": d.mean, "low": d.low,
                                "high": d.high, "n": d.n, "excludes_zero": d.excludes_zero})
    return {"means": means, "differences": differences, "comparisons": m, "thresholds": taus,
            "metrics": metrics, "confidence": confidence}


_KEY = ("sequence", "lr", "power", "accumulate", "threshold")
