"""Checks of assignment 2, *A threshold for a target density, and the forgetting it buys*
(``book/assignments/a2_threshold.ipynb``).

========================================  =====  ===========================================
check                                     task   what it checks
========================================  =====  ===========================================
:func:`check_threshold_for_density`       2.1    a threshold that masks a given share of weights
:func:`check_threshold_density`           2.3    a threshold whose run has a target mean density
:func:`check_forgetting_bought`           2.4    the forgetting a threshold removes (3 seeds)
========================================  =====  ===========================================

Tasks 2.3 and 2.4 check values the student measured with :func:`classp.lab.train.run`: they
never print the expected value, and 2.4 repeats one of the student's runs to confirm it. Notebooks
call the checks through :mod:`classp.teaching.checks`.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch

from .._validation import check_int, check_number
from .checks import (CaseFailed, CheckResult, NotImplementedYet, as_number, call_student, case_seed, is_result,
                     require_all_reproducible, require_callable, run_cases)

__all__ = ["check_threshold_for_density", "check_threshold_density", "check_forgetting_bought", "DENSITY_TASK"]

#: Settings of task 2.3 (the lab setting the threshold is searched in).
DENSITY_TASK = dict(sequence="permuted-digits", seed=0, target=0.10, tol=0.01)


# ================================================================================== task 2.1
def _density_variants(grads, density):
    """What students get wrong in task 2.1: ``{name: (their threshold on these grads, hint)}``."""
    flat2 = torch.cat([g.flatten() for g in grads]).double() ** 2
    flat_abs = flat2.sqrt()
    per_tensor = [float(torch.quantile((g.double().flatten() ** 2), 1 - density)) for g in grads]
    return {
        "per tensor (mean)": (float(np.mean(per_tensor)),
                              "Compute one quantile over all the weights of all tensors together (concatenate "
                              "the flattened tensors first). A threshold computed per tensor and then averaged "
                              "masks a different share of the weights."),
        "per tensor (median)": (float(np.median(per_tensor)),
                                "Compute one quantile over all the weights of all tensors together, not per tensor."),
        "|g| instead of g²": (float(torch.quantile(flat_abs, 1 - density)),
                              "CLASSP tests g² > threshold: take the quantile of the squared gradients, not of |g|."),
        "quantile at density": (float(torch.quantile(flat2, density)),
                                "A share `density` of the weights must have g² ABOVE the threshold, so the threshold "
                                "is the (1 − density) quantile of g², not the `density` quantile."),
    }


def _density_cases(gen: torch.Generator) -> list:
    """(what, grads, density) of task 2.1's random cases."""

    def layers(shapes, scales, zeros=0.0):
        out = []
        for sh, sc in zip(shapes, scales):
            g = torch.randn(sh, generator=gen) * sc
            if zeros:
                g[torch.rand(sh, generator=gen) < zeros] = 0.0
            out.append(g)
        return out

    return [
        ("3 tensors of very different scales", layers([(20, 30), (30,), (10, 20)], [1e-3, 1e-1, 1.0]), 0.10),
        ("2 tensors with 40% exact zeros", layers([(50, 20), (200,)], [0.01, 0.02], zeros=0.4), 0.30),
        ("1 tensor of 5000 heavy-tailed gradients", [torch.randn(5000, generator=gen) ** 3 * 1e-2], 0.01),
        ("4 tensors", layers([(16, 8), (8,), (8, 40), (40,)], [0.3, 0.01, 0.05, 0.002]), 0.50),
        ("2 tensors, most weights kept", layers([(30, 30), (30,)], [1e-4, 1e-2]), 0.90),
    ]


def check_threshold_for_density(threshold_for_density: Callable, *, seed: int | None = None,
                                verbose: bool = True) -> CheckResult:
    """Check task 2.1: ``threshold_for_density(grads, density) -> float``.

    ``grads`` is a list of gradient tensors (one per parameter, of different shapes and scales);
    the answer ``tau`` must make the share of all entries with ``g**2 > tau`` equal ``density``
    within 0.01 (there are many right answers; any threshold between the right order statistics
    passes).

    Parameters
    ----------
    threshold_for_density : callable
        Called as ``threshold_for_density(grads, density)``.
    seed : int, optional
        Seed of the random cases (default: a fresh one, printed with the verdict).
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    CheckResult
    """
    require_callable(threshold_for_density, "threshold_for_density")
    seed = case_seed(seed)
    cases = []
    for k, (what, grads, density) in enumerate(_density_cases(torch.Generator().manual_seed(seed))):
        n = sum(g.numel() for g in grads)
        desc = f"case {k + 1}: {what}, {n} weights, density={density:g}"

        def thunk(grads=grads, density=density, n=n):
            out = call_student(threshold_for_density, "threshold_for_density", [g.clone() for g in grads], density)
            tau = as_number(out, "the threshold")
            flat2 = torch.cat([g.flatten() for g in grads]).double() ** 2
            achieved = float((flat2 > tau).double().mean())
            if abs(achieved - density) > 0.01:
                hint = next((h for v, h in _density_variants(grads, density).values()
                             if math.isclose(tau, v, rel_tol=1e-3, abs_tol=1e-30)),
                            "The share of weights with g² > τ falls as τ grows; τ is a quantile of the squared "
                            "gradients of all weights together.")
                raise CaseFailed(f"your threshold {tau:.4g} gives g² > threshold for a share {achieved:.4f} of the "
                                 f"{n} weights; the target is {density:g} ± 0.01", hint)

        cases.append((desc, thunk))
    return run_cases("2.1", cases, name="threshold_for_density", seed=seed, verbose=verbose,
                     answer=threshold_for_density, signature="threshold_for_density(grads, density)",
                     args=("grads", "density"))


# ================================================================================== task 2.3
def check_threshold_density(tau, *, target: float = DENSITY_TASK["target"], tol: float = DENSITY_TASK["tol"],
                            sequence: str = DENSITY_TASK["sequence"], seed: int = DENSITY_TASK["seed"],
                            verbose: bool = True) -> CheckResult:
    """Check task 2.3: a threshold ``tau`` whose CLASSP run has the target mean update density.

    Runs ``classp.run("classp", sequence, seed=seed, options={"threshold": tau})`` (the method's
    other defaults) and passes when the run's mean update density is within ``tol`` of ``target``.
    The expected threshold is never printed; the density the student's ``tau`` gives is.

    Parameters
    ----------
    tau : float
        The student's threshold (>= 0).
    target, tol : float
        Target mean density, in (0, 1), and tolerance, > 0 (the assignment's: 0.10 ± 0.01).
    sequence : str, default "permuted-digits"
    seed : int, default 0
    verbose : bool, default True

    Returns
    -------
    CheckResult
    """
    target = check_number("target", target, 0, 1, low_open=True, high_open=True)
    tol = check_number("tol", tol, 0, low_open=True)
    seed = check_int("seed", seed, 0)

    def thunk():
        if tau is Ellipsis or tau is None:
            raise NotImplementedYet("tau")
        t = as_number(tau, "tau")
        if t < 0:
            raise CaseFailed(f"tau = {t:g} is negative", "A threshold on g² is >= 0.")
        from ..lab.train import run

        r = run("classp", sequence, seed=seed, options={"threshold": t}, progress=False)
        d = r.metrics()["mean_density"]
        if abs(d - target) > tol:
            direction = "raise" if d > target else "lower"
            raise CaseFailed(f"with threshold {t:.4g} the run's mean update density is {d:.4f}; the target is "
                             f"{target:g} ± {tol:g}",
                             f"{direction.capitalize()} the threshold: more weights pass a lower one. The density "
                             "changes by orders of magnitude of τ, so search log10(τ) (bisection).")

    desc = f"mean update density of classp on {sequence} (seed {seed}) is {target:g} ± {tol:g}"
    return run_cases("2.3", [(desc, thunk)], name="tau", seed=None, verbose=verbose,
                     not_implemented_msg="tau is not set yet: finish task 2.3 above, then run this check again.")


# ================================================================================== task 2.4
def _threshold_of(r) -> float | None:
    """Effective CLASSP threshold of a run (None if it is not a CLASSP run with a threshold)."""
    if r.method == "classp-no-threshold":
        return 0.0
    if r.method == "classp":
        return float(r.config.get("options", {}).get("threshold"))
    return None


def _require_bought_runs(dense_runs, sparse_runs, tau: float, sequence: str, want_seeds: list) -> None:
    """:class:`CaseFailed` unless the runs are CLASSP runs on ``sequence`` with ``want_seeds``, threshold 0
    (dense) and ``tau`` (sparse), in one training setting."""
    for name, runs, thr in (("dense_runs", dense_runs, 0.0), ("sparse_runs", sparse_runs, tau)):
        if not isinstance(runs, (list, tuple)) or not runs or not all(is_result(r) for r in runs):
            raise CaseFailed(f"{name} must be a list of the Results classp.run returned",
                             "Collect the runs in a list: [run(...) for seed in (0, 1, 2)].")
        got = sorted(int(r.seed) for r in runs)
        if got != want_seeds:
            raise CaseFailed(f"{name} has seeds {got}; expected {want_seeds}", "Run every seed once.")
        for r in runs:
            if r.sequence != sequence:
                raise CaseFailed(f"{name} holds a run on {r.sequence!r}; expected {sequence!r}", "")
            th = _threshold_of(r)
            if th is None or not math.isclose(th, thr, rel_tol=1e-9, abs_tol=0.0):
                raise CaseFailed(f"{name} holds a run of method {r.method!r} with threshold {th}; expected a "
                                 f"CLASSP run with threshold {thr:g}",
                                 "dense: run('classp', ..., options={'threshold': 0.0}); sparse: "
                                 "options={'threshold': tau}.")
    settings = {(r.config["epochs"] if not isinstance(r.config["epochs"], list) else tuple(r.config["epochs"]),
                 r.config["batch_size"], r.config["lr"], r.config.get("model_name"))
                for r in list(dense_runs) + list(sparse_runs)}
    if len(settings) != 1:
        raise CaseFailed("the runs differ in epochs, batch size, learning rate or model",
                         "Change only the threshold between the two groups of runs.")


def _bought_hint(v: float, expected: float, dense_runs, sparse_runs) -> str:
    """The hint for a wrong value of task 2.4 (its known wrong variants)."""
    from ..lab.metrics import backward_transfer, forgetting

    def first(runs):
        return sorted(runs, key=lambda r: r.seed)[0].accuracy_matrix

    variants = {
        "sign": (-expected, "The forgetting the threshold 'buys' is forgetting without it minus forgetting "
                            "with it (positive when the threshold helps); your sign is reversed."),
        "bwt": (float(np.mean([backward_transfer(r.accuracy_matrix) for r in sparse_runs])
                      - np.mean([backward_transfer(r.accuracy_matrix) for r in dense_runs])),
                "Use forgetting (Chaudhry et al.: best earlier accuracy minus final accuracy), "
                "classp.lab.metrics.forgetting or result.metrics()['forgetting'], not backward transfer."),
        "seed 0": (float(forgetting(first(dense_runs)) - forgetting(first(sparse_runs))),
                   "Average over all the seeds, not only the first."),
    }
    return next((h for x, h in variants.values() if math.isclose(v, x, rel_tol=0, abs_tol=1e-6)),
                "mean over seeds of forgetting (threshold 0) minus mean over seeds of forgetting "
                "(threshold τ), with classp.lab.metrics.forgetting.")


def check_forgetting_bought(value, dense_runs: Sequence, sparse_runs: Sequence, tau, *,
                            sequence: str = DENSITY_TASK["sequence"], seeds: Sequence[int] = (0, 1, 2),
                            seed: int | None = None, verbose: bool = True) -> CheckResult:
    """Check task 2.4: the forgetting the threshold ``tau`` removes, averaged over seeds.

    ``value`` must equal mean forgetting of ``dense_runs`` (CLASSP with threshold 0) minus mean
    forgetting of ``sparse_runs`` (CLASSP with ``tau``), forgetting as
    :func:`classp.lab.metrics.forgetting`. The runs must be CLASSP runs on ``sequence`` with
    ``seeds`` and the same training setting; every one of them is run again to confirm it
    reproduces (a changed or made-up accuracy matrix fails).

    Parameters
    ----------
    value : float
        The student's number (positive: the threshold reduces forgetting).
    dense_runs, sparse_runs : sequence of Result
        The runs it was computed from.
    tau : float
        The threshold of the sparse runs.
    sequence : str, default "permuted-digits"
    seeds : sequence of int, default (0, 1, 2)
    seed : int, optional
        Seed of the choice of the run that is repeated.
    verbose : bool, default True

    Returns
    -------
    CheckResult
    """
    want_seeds = sorted(check_int(f"seeds[{i}]", s, 0) for i, s in enumerate(seeds))
    seed = case_seed(seed)
    state = {}

    def stub_guard():
        for x in (value, dense_runs, sparse_runs, tau):
            if x is Ellipsis or x is None:
                raise NotImplementedYet("value")

    def runs_ok():
        stub_guard()
        _require_bought_runs(dense_runs, sparse_runs, as_number(tau, "tau"), sequence, want_seeds)
        state["ok"] = True

    def reproduces():
        stub_guard()
        if not state.get("ok"):
            raise CaseFailed("skipped: the runs are not the expected ones (see the case above)", "")
        require_all_reproducible(list(dense_runs) + list(sparse_runs), "run")

    def value_ok():
        stub_guard()
        if not state.get("ok"):
            raise CaseFailed("skipped: the runs are not the expected ones (see the first case)", "")
        v = as_number(value, "your value")
        from ..lab.metrics import forgetting

        expected = float(np.mean([forgetting(r.accuracy_matrix) for r in dense_runs])
                         - np.mean([forgetting(r.accuracy_matrix) for r in sparse_runs]))
        if not math.isclose(v, expected, rel_tol=0, abs_tol=1e-6):
            raise CaseFailed(f"your value {v:.6g} does not match the forgetting difference of the runs you passed",
                             _bought_hint(v, expected, dense_runs, sparse_runs))

    cases = [(f"the runs: classp on {sequence}, seeds {want_seeds}, threshold 0 and τ", runs_ok),
             ("every run reproduces when run again from its config", reproduces),
             ("value = mean forgetting (threshold 0) − mean forgetting (τ)", value_ok)]
    return run_cases("2.4", cases, name="forgetting_bought", seed=seed, verbose=verbose,
                     not_implemented_msg="Task 2.4 is not done yet: compute the runs and the value above, then run "
                                         "this check again.")
