"""Checks of assignment 4, *CLASSP on the stability–plasticity frontier* (``book/assignments/a4_frontier.ipynb``).

========================================  =====  ===========================================
check                                     task   what it checks
========================================  =====  ===========================================
:func:`check_forgetting`                  4.1    Chaudhry et al.'s forgetting of an accuracy matrix
:func:`check_experiment`                  4.2    the design of a frontier experiment
========================================  =====  ===========================================

Notebooks call the checks through :mod:`classp.teaching.checks`.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from .._validation import check_int
from .checks import (CaseFailed, CheckResult, NotImplementedYet, as_number, call_student, case_seed, is_result,
                     require_all_reproducible, require_callable, run_cases)

__all__ = ["check_forgetting", "check_experiment", "BASELINES"]

#: Methods that count as baselines in task 4.2.
BASELINES = ("sgd", "adam", "adagrad", "ewc", "joint", "classp-no-threshold", "classp-no-decay")


# ================================================================================== task 4.1
def _forgetting_variants(R: np.ndarray) -> dict:
    """What students get wrong in task 4.1: ``{name: (their forgetting of R, hint)}``."""
    T = R.shape[0]
    if T < 2:
        return {}
    last = R[-1]
    return {
        "diagonal": (np.mean([R[j, j] - last[j] for j in range(T - 1)]),
                     "Forgetting (Chaudhry et al.) compares the final accuracy with the BEST accuracy the task had "
                     "before the last task (max over rows j … T−2), not with the accuracy right after training it."),
        "last row in max": (np.mean([R[j:, j].max() - last[j] for j in range(T - 1)]),
                            "The max runs over the rows before the last one (l = j … T−2); including the last row "
                            "makes forgetting never negative."),
        "divide by T": (np.sum([R[j:T - 1, j].max() - last[j] for j in range(T - 1)]) / T,
                        "Average over the T − 1 earlier tasks (the last task cannot have been forgotten yet)."),
        "last task included": (np.mean([R[j:max(T - 1, j + 1), j].max() - last[j] for j in range(T)]),
                               "Leave out the last task: average over j = 0 … T−2."),
        "sign": (-np.mean([R[j:T - 1, j].max() - last[j] for j in range(T - 1)]),
                 "Forgetting is the best earlier accuracy minus the final accuracy (positive = forgotten)."),
    }


def _matrices(rng: np.random.Generator) -> list:
    """(what, R) of task 4.1's random cases."""
    mats = [("3 tasks, random accuracies", rng.uniform(0.1, 1.0, (3, 3))),
            ("5 tasks, random accuracies", rng.uniform(0.1, 1.0, (5, 5))),
            ("4 tasks, a task improves after it was trained", None),
            ("2 tasks", rng.uniform(0.1, 1.0, (2, 2))),
            ("1 task (0 by convention)", rng.uniform(0.1, 1.0, (1, 1))),
            ("6 tasks, random accuracies", rng.uniform(0.1, 1.0, (6, 6)))]
    R3 = np.round(rng.uniform(0.3, 0.6, (4, 4)), 3)
    R3[1, 0] = 0.95  # task 0 peaks after task 1 was trained: max differs from the diagonal
    R3[2, 1] = 0.9
    mats[2] = (mats[2][0], R3)
    return mats


def check_forgetting(forgetting: Callable, *, seed: int | None = None, verbose: bool = True) -> CheckResult:
    """Check task 4.1: ``forgetting(R) -> float`` for an accuracy matrix ``R`` (numpy array T x T).

    Compared with :func:`classp.lab.metrics.forgetting` (Chaudhry et al. 2018:
    :math:`\\frac1{T-1}\\sum_{j<T-1} \\max_{l\\in j..T-2} R_{l,j} - R_{T-1,j}`, and 0 when T = 1) on
    random matrices and on matrices where a task improves after it was trained.

    Parameters
    ----------
    forgetting : callable
        Called as ``forgetting(R)`` with a float64 NumPy array.
    seed : int, optional
    verbose : bool, default True

    Returns
    -------
    CheckResult
    """
    from ..lab.metrics import forgetting as reference

    require_callable(forgetting, "forgetting")
    seed = case_seed(seed)
    cases = []
    for k, (what, R) in enumerate(_matrices(np.random.default_rng(seed))):

        def thunk(R=R):
            ref = float(reference(R))
            v = as_number(call_student(forgetting, "forgetting", R.copy()), "your forgetting")
            if not math.isclose(v, ref, rel_tol=1e-9, abs_tol=1e-9):
                hint = next((h for x, h in _forgetting_variants(R).values()
                             if math.isclose(v, float(x), rel_tol=1e-9, abs_tol=1e-9)),
                            "mean over j = 0 … T−2 of (max over l = j … T−2 of R[l, j]) − R[T−1, j]; 0 when T = 1.")
                raise CaseFailed(f"for R =\n{np.array2string(R, precision=3)}\nyours is {v:.6g}, "
                                 f"classp.lab.metrics.forgetting gives {ref:.6g}", hint)

        cases.append((f"case {k + 1}: {what}", thunk))
    return run_cases("4.1", cases, name="forgetting", seed=seed, verbose=verbose, answer=forgetting,
                     signature="forgetting(R)", args=("R",))


# ================================================================================== task 4.2
def _config_key(r) -> tuple:
    cfg = r.config
    opts = tuple(sorted((k, repr(v)) for k, v in (cfg.get("options") or {}).items()))
    return (r.method, repr(cfg.get("lr")), opts)


def _require_same_setting(rs: list) -> None:
    seqs = sorted({r.sequence for r in rs})
    if len(seqs) != 1:
        raise CaseFailed(f"the runs use several sequences: {seqs}", "Compare methods on one task sequence.")
    setting = {(repr(r.config.get("epochs")), r.config.get("batch_size"), r.config.get("model_name"),
                repr(r.config.get("sequence_options"))) for r in rs}
    if len(setting) != 1:
        raise CaseFailed("the runs differ in epochs, batch size, model or sequence options",
                         "Keep the training setting fixed; vary only the method and its hyper-parameters.")


def _require_seeds(rs: list, min_seeds: int) -> None:
    groups: dict = {}
    for r in rs:
        groups.setdefault(_config_key(r), []).append(int(r.seed))
    for key, s in groups.items():
        if len(set(s)) != len(s):
            raise CaseFailed(f"configuration {key[0]!r} ran seed(s) {sorted(s)} more than once", "One run per seed.")
        if len(s) < min_seeds:
            raise CaseFailed(f"configuration {key[0]!r} (lr {key[1]}, options {dict(key[2])}) ran {len(s)} seed(s); "
                             f"at least {min_seeds} are needed",
                             "Run every configuration with the same seeds, e.g. seeds=(0, 1, 2), so that you can "
                             "tell a difference from the spread between seeds.")
    seed_sets = {tuple(sorted(v)) for v in groups.values()}
    if len(seed_sets) != 1:
        raise CaseFailed(f"the configurations ran different seeds: {sorted(seed_sets)}", "Use the same seeds everywhere.")


def _require_sweep(rs: list, min_classp_settings: int, min_baselines: int) -> None:
    classp_keys = {_config_key(r) for r in rs if r.method == "classp"}
    if len(classp_keys) < min_classp_settings:
        raise CaseFailed(f"{len(classp_keys)} CLASSP configuration(s); at least {min_classp_settings} are needed",
                         "Sweep one hyper-parameter of CLASSP (e.g. threshold) over several values, so that CLASSP "
                         "draws a curve on the frontier rather than a point.")
    baselines = sorted({r.method for r in rs if r.method in BASELINES})
    if len(baselines) < min_baselines:
        raise CaseFailed(f"baselines found: {baselines or 'none'}; at least {min_baselines} are needed",
                         f"Add methods to compare with, from {', '.join(BASELINES)}.")


def check_experiment(results: Sequence, *, min_seeds: int = 3, min_classp_settings: int = 3, min_baselines: int = 2,
                     seed: int | None = None, verbose: bool = True) -> CheckResult:
    """Check task 4.2: the design of a stability-plasticity experiment (a list of Results).

    The rules: every run is a :class:`classp.lab.results.Result` on the same sequence with the same
    epochs, batch size and model; every configuration (method, learning rate, options) ran with
    the same ``min_seeds`` or more seeds; at least ``min_classp_settings`` CLASSP configurations
    (a sweep) and ``min_baselines`` baseline methods (:data:`BASELINES`); and every run reproduces
    when run again from its config (a changed or made-up accuracy matrix fails), within
    :data:`classp.teaching.checks.VERIFY_BUDGET_S` seconds.

    Parameters
    ----------
    results : sequence of Result
    min_seeds, min_classp_settings, min_baselines : int
        The assignment's rules (3, 3 and 2), each >= 1.
    seed : int, optional
        Not used any more (every run is repeated); kept so that old calls work.
    verbose : bool, default True

    Returns
    -------
    CheckResult
    """
    min_seeds = check_int("min_seeds", min_seeds, 1)
    min_classp_settings = check_int("min_classp_settings", min_classp_settings, 1)
    min_baselines = check_int("min_baselines", min_baselines, 1)
    seed = case_seed(seed)

    def runs():
        if results is Ellipsis or results is None:
            raise NotImplementedYet("results")
        if not isinstance(results, (list, tuple)) or not results or not all(is_result(r) for r in results):
            raise CaseFailed("results must be a non-empty list of the Results classp.run (or classp.compare) "
                             "returned", "Collect every run in one list.")
        return list(results)

    def reproduces():
        require_all_reproducible(runs(), "run")

    cases = [("a list of Results", runs),
             ("one sequence and one training setting", lambda: _require_same_setting(runs())),
             (f"every configuration with the same {min_seeds} or more seeds", lambda: _require_seeds(runs(), min_seeds)),
             (f"at least {min_classp_settings} CLASSP settings and {min_baselines} baselines",
              lambda: _require_sweep(runs(), min_classp_settings, min_baselines)),
             ("every run reproduces when run again from its config", reproduces)]
    return run_cases("4.2", cases, name="results", seed=seed, verbose=verbose,
                     not_implemented_msg="results is not set yet: run your experiment above, then run this check again.")
