"""Equal-budget hyper-parameter selection on validation data, reported on test seeds it never saw.

One procedure for every method (issue 12), so that a comparison is fair by construction:

1. **Space.** Each method declares a grid over all its knobs (:data:`SEARCH_SPACES`; EWC: lr × λ,
   CLASSP: lr × τ × p, the torch optimizers: lr on a grid wide enough that the best value is
   interior). Every method gets the same **budget** of configurations: the whole grid when it has
   exactly ``budget`` points, else a seeded sample of ``budget`` distinct grid points.
2. **Selection.** Every configuration runs on every *tuning seed* on a sequence built with a
   validation split (``validation=0.1`` by default); the configuration with the best mean
   *validation* criterion (average accuracy after the last task) is chosen. A configuration with a
   diverging run is never chosen. A chosen value at the edge of its grid is flagged (``at_edge``): the grid should
   then be widened.
3. **Report.** The chosen configuration runs on the *test seeds* — disjoint from the tuning
   seeds — and is reported on the **test** split.

Runs are independent jobs, executed through any ``concurrent.futures``-style executor (an object
with ``submit(fn, *args)`` returning futures with ``result()``): a process pool on both cores by
default, or a user's Dask ``distributed.Client`` or Ray executor to spread a full-size sweep over a
cluster. With ``jobs_dir`` each job writes its result atomically as a results file, and a job whose
file exists is read instead of run: an interrupted tuning resumes where it stopped.

Examples
--------
>>> space = {"lr": (0.01, 0.1), "threshold": (0.0, 1e-6)}
>>> [c["lr"] for c in configurations(space, budget=4)]
[0.01, 0.01, 0.1, 0.1]
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from .._validation import check_choice, check_distinct, check_int, check_number, MAX_SEED
from .results import Result

__all__ = ["SEARCH_SPACES", "CRITERIA", "SHIFTABLE", "configurations", "tune", "TuneResult", "execute", "run_job",
           "chosen_settings"]


def _log_grid(low: float, high: float, n: int) -> tuple:
    """``n`` values evenly spaced in log scale from ``low`` to ``high`` (3 significant digits)."""
    return tuple(float(f"{v:.3g}") for v in np.geomspace(low, high, n))


#: The declared search spaces: knob -> values. Learning-rate-only methods get 16 log-spaced values
#: over three or more decades; methods with several knobs get a grid of at least 16 points, of which
#: the tuner draws ``budget`` (16 by default), so every method is tuned with the same budget.
SEARCH_SPACES: dict[str, dict[str, tuple]] = {
    "sgd": {"lr": _log_grid(1e-3, 1.0, 16)},
    "adam": {"lr": _log_grid(1e-5, 1e-1, 16)},
    "adagrad": {"lr": _log_grid(1e-3, 1.0, 16)},
    "ewc": {"lr": (0.01, 0.03, 0.1, 0.3, 1.0), "lam": (0.1, 1.0, 10.0, 100.0, 1000.0)},
    "si": {"lr": (0.01, 0.03, 0.1, 0.3, 1.0), "c": (0.01, 0.1, 1.0, 10.0, 100.0)},
    "mas": {"lr": (0.01, 0.03, 0.1, 0.3, 1.0), "lam": (0.01, 0.1, 1.0, 10.0, 100.0)},
    "sgd-decay": {"lr": (0.03, 0.1, 0.3, 1.0, 3.0, 10.0), "t0": (1.0, 10.0, 100.0, 1000.0)},
    "classp": {"lr": (0.003, 0.01, 0.03, 0.1, 0.3), "threshold": (0.0, 1e-8, 1e-6, 1e-4), "power": (1.0, 2.0, 3.0)},
    "classp-no-threshold": {"lr": (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0), "power": (1.0, 2.0, 3.0)},
    "classp-no-decay": {"lr": (0.01, 0.03, 0.1, 0.3, 1.0), "threshold": (1e-10, 1e-8, 1e-6, 1e-4)},
    "joint": {"lr": _log_grid(1e-3, 1.0, 16)},
    # the released code keeps its released threshold, epsilon and power (and, for vision, its task switch)
    "reference": {"lr": _log_grid(1e-3, 1.0, 16)},
    "reference-sa": {"lr": _log_grid(1e-3, 1.0, 16)},
}

#: Protocol settings a tuned protocol run keeps from :data:`classp.lab.protocols.FULL`: the order of the
#: training stream (the vision protocol is unshuffled) and EWC's Fisher sample.
_PROTOCOL_KEEP = ("shuffle", "fisher_samples")

#: Knobs on a positive, log-spaced scale: with ``widen``, a choice at the edge of one of these grids shifts the
#: grid by a decade in that direction (the threshold and the power have natural ends: 0, and p >= 1).
SHIFTABLE = ("lr", "lam", "c", "t0")

#: Selection criteria: metric of :meth:`Result.metrics` on the validation split, and its direction.
CRITERIA = {"average_accuracy": "max"}


def configurations(space: dict, budget: int = 16, seed: int = 0) -> list[dict]:
    """``budget`` distinct configurations of a grid: all of it, or a seeded sample in grid order.

    Parameters
    ----------
    space : dict
        Knob name -> non-empty sequence of values (``lr`` is one of the knobs).
    budget : int, default 16
        Number of configurations (>= 1); the grid must have at least this many points.
    seed : int, default 0
        Draws the sample when the grid is larger than the budget.

    Returns
    -------
    list of dict

    Raises
    ------
    ValueError
        For an empty or malformed space, or a grid smaller than the budget (an unequal budget).
    """
    budget = check_int("budget", budget, 1)
    if not isinstance(space, dict) or not space:
        raise ValueError(f"space must be a non-empty dict of knob -> values; got {space!r}")
    for knob, values in space.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or len(values) == 0:
            raise ValueError(f"space[{knob!r}] must be a non-empty sequence of values; got {values!r}")
        check_distinct(f"space[{knob!r}]", list(values))
    knobs = list(space)
    grid = [dict(zip(knobs, combo)) for combo in itertools.product(*(space[k] for k in knobs))]
    if len(grid) < budget:
        raise ValueError(f"the space has {len(grid)} configurations, fewer than the budget {budget}: every "
                         "method must be tuned with the same budget, so widen the space or lower the budget")
    if len(grid) == budget:
        return grid
    pick = np.sort(np.random.default_rng(check_int("seed", seed, 0)).choice(len(grid), budget, replace=False))
    return [grid[i] for i in pick]


@dataclass(frozen=True)
class TuneResult:
    """What :func:`tune` chose and measured.

    Attributes
    ----------
    method : str
    lr : float
        The chosen learning rate.
    options : dict
        The chosen values of the other knobs.
    selection : dict
        ``space``, ``budget``, ``criterion``, ``split`` ("validation"), ``tuning_seeds``,
        ``test_seeds``, ``scores`` (one entry per configuration: its values, mean validation score
        and per-seed scores, or ``diverged``), ``chosen`` and ``at_edge`` (knobs whose chosen value
        is the smallest or largest of the grid).
    results : list of Result
        The chosen configuration's runs on the test seeds (report their ``metrics()``: test split).
    """

    method: str
    lr: float
    options: dict
    selection: dict
    results: list = field(repr=False)


def _job_key(job: dict) -> str:
    return hashlib.sha256(json.dumps(job, sort_keys=True).encode()).hexdigest()[:16]


def run_job(job: dict, jobs_dir: str | None = None) -> dict | None:
    """Run one job (a module-level function, so that process pools and clusters can ship it).

    Returns the run as a dict (:meth:`Result.to_dict`), or None if its loss diverged. With
    ``jobs_dir`` the run is stored there as a results file (atomic write), and an existing file is
    read instead of running again.
    """
    from . import results as _results
    from .train import run

    path = None if jobs_dir is None else Path(jobs_dir) / f"{job['method']}-{_job_key(job)}.json"
    if path is not None and path.exists():
        doc = _results.load(path)
        return doc.results[0].to_dict() if doc.results else None
    seq, seq_opts = job["sequence"], job["sequence_options"]
    if job.get("protocol"):  # built here, in the worker: only the job's small description travels
        from .protocol_data import protocol_sequence

        seq, seq_opts = protocol_sequence(job["protocol"], seed=job["seed"], **seq_opts), None
    try:
        r = run(_method(job["method"]), seq, seed=job["seed"], lr=job["lr"], options=job["options"] or None,
                epochs=job["epochs"], batch_size=job["batch_size"], sequence_options=seq_opts,
                shuffle=job.get("shuffle", True), progress=False, threads=1)
    except FloatingPointError:
        return None
    if path is not None:
        _results.save(path, [r], command=f"classp.lab.tune.run_job({json.dumps(job, sort_keys=True)})")
    return r.to_dict()


def execute(fn, jobs: list, *, executor=None, workers: int = 1) -> list:
    """``[fn(*args) for args in jobs]``, run by ``executor`` or a process pool of ``workers`` processes.

    The one scheduler of the package's sweeps (tuning here, the kernel-free lab's grid in
    :mod:`classp.viz.lab_grid`). ``fn`` must be a module-level function (pools ship it by name).

    Parameters
    ----------
    fn : callable
        Called once per job with the job's arguments.
    jobs : list of tuple
        The arguments of each call; results come back in this order.
    executor : optional
        Any ``concurrent.futures``-style executor (``submit(fn, *args)`` returning futures).
    workers : int, default 1
        Without ``executor``: 1 runs the jobs one after the other in this process, more a spawned
        process pool of that size (>= 1).

    Returns
    -------
    list
        The results of the calls, in the order of ``jobs``.
    """
    workers = check_int("workers", workers, 1)
    if not callable(fn):
        raise ValueError(f"fn must be a callable; got {type(fn).__name__}")
    if isinstance(jobs, (str, bytes)) or not hasattr(jobs, "__iter__"):
        raise ValueError(f"jobs must be a list of argument tuples; got {type(jobs).__name__}")
    jobs = [tuple(args) if isinstance(args, (tuple, list)) else (args,) for args in jobs]
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise ValueError("executor must have a submit(fn, *args) method (a concurrent.futures-style executor)")
    if executor is not None:
        return [f.result() for f in [executor.submit(fn, *args) for args in jobs]]
    if workers == 1:  # in this process, one job after the other
        return [fn(*args) for args in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawned, not forked: a forked child of a process that has run autograd cannot run it again
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return [f.result() for f in [pool.submit(fn, *args) for args in jobs]]


def _execute(jobs: list[dict], executor, workers: int, jobs_dir) -> list[dict | None]:
    jobs_dir = None if jobs_dir is None else str(Path(jobs_dir))
    if jobs_dir is not None:
        Path(jobs_dir).mkdir(parents=True, exist_ok=True)
    return execute(run_job, [(j, jobs_dir) for j in jobs], executor=executor, workers=workers)


def _method(name: str):
    """A registered method, or a protocol-only one (``reference-sa``: the released sentiment script's rule)."""
    from .methods import get_method

    if name == "reference-sa":
        from .protocols import _reference_sa_method

        return _reference_sa_method()
    return get_method(name)


def _seeds(name: str, seeds: Iterable[int]) -> list[int]:
    out = check_distinct(name, [check_int(f"{name}[{i}]", s, 0, MAX_SEED) for i, s in enumerate(seeds)])
    if not out:
        raise ValueError(f"{name} must hold at least one seed")
    return out


def tune(method: str, sequence: str = "split-digits", *, space: dict | None = None, budget: int = 16,
         tuning_seeds: Sequence[int] = (100, 101), test_seeds: Sequence[int] = tuple(range(10)),
         criterion: str = "average_accuracy", validation: float = 0.1, epochs=1, batch_size: int = 32,
         sequence_options: dict | None = None, executor: Any = None, workers: int | None = None,
         jobs_dir: str | os.PathLike | None = None, sample_seed: int = 0,
         protocol: str | None = None, widen: int = 0, _rounds: tuple = ()) -> TuneResult:
    """Choose a method's hyper-parameters on validation data with a fixed budget, then report on test seeds.

    Parameters
    ----------
    method : str
        A registered method with a declared space (or pass ``space``).
    sequence : str, default "split-digits"
        A sequence name (a validation split is added with ``validation``).
    space : dict, optional
        Knob -> values; default :data:`SEARCH_SPACES` ``[method]``. Knobs other than ``lr`` must be
        options the method accepts.
    budget : int, default 16
        Configurations tried (the same for every method).
    tuning_seeds, test_seeds : sequence of int
        Seeds of the selection runs and of the reported runs; they must not overlap.
    criterion : {"average_accuracy"}
        Validation metric to maximise (mean over tuning seeds).
    validation : float, default 0.1
        Share of each task's training data held out for selection, in (0, 0.5].
    epochs, batch_size, sequence_options
        Passed to :func:`classp.lab.train.run` for every job.
    executor : concurrent.futures-style executor, optional
        Runs the jobs (``submit``/``result``); default: a process pool of ``workers`` processes.
    workers : int, optional
        Processes of the default pool (default: the CPU count; 1 runs in this process).
    jobs_dir : path, optional
        One results file per job; existing ones are reused (resume).
    sample_seed : int, default 0
        Draws the configurations when the grid is larger than the budget.
    protocol : {"vision", "sentiment"}, optional
        Tune on one of the paper's protocols (:mod:`classp.lab.protocols`) instead of ``sequence``:
        its real data (:func:`classp.lab.protocol_data.protocol_sequence`, with ``sequence_options``
        ``train_limit`` / ``test_limit`` / ``root`` to run at a smaller scale), its model, its stream
        order (vision: unshuffled) and EWC's Fisher sample; ``epochs`` as given (the protocols: (4, 1)
        and (5, 5)). The released code is ``reference`` (vision) or ``reference-sa`` (sentiment).
    widen : int, default 0
        Rounds of widening allowed (>= 0): when the choice sits at the edge of a :data:`SHIFTABLE`
        knob's grid, that grid is multiplied by 0.1 (lower edge) or 10 (upper edge), so that the old
        choice becomes interior, and the method is tuned again with the same budget (configurations
        already run are read from ``jobs_dir``). ``selection["rounds"]`` records every earlier round
        (space, chosen, at_edge, scores) and ``selection["configurations_tried"]`` the total, so that a
        widened method's larger total is stated.

    Returns
    -------
    TuneResult

    Raises
    ------
    ValueError
        For an unknown method or knob, overlapping seeds, a space smaller than the budget, or
        when every configuration diverged.
    """
    m = _method(method)
    if space is None:
        if m.name not in SEARCH_SPACES:
            raise ValueError(f"method {m.name!r} has no declared search space; pass space={{...}} "
                             f"(declared: {', '.join(SEARCH_SPACES)})")
        space = SEARCH_SPACES[m.name]
    unknown = sorted(set(space) - {"lr"} - set(m.option_names))
    if unknown:
        raise ValueError(f"method {m.name!r} has no knob(s) {unknown}; its knobs: lr, {', '.join(m.option_names)}")
    check_choice("criterion", criterion, tuple(CRITERIA))
    widen = check_int("widen", widen, 0)
    validation = check_number("validation", validation, 0, 0.5, low_open=True)
    tuning, test = _seeds("tuning_seeds", tuning_seeds), _seeds("test_seeds", test_seeds)
    shared = sorted(set(tuning) & set(test))
    if shared:
        raise ValueError(f"tuning_seeds and test_seeds overlap on {shared}: report on seeds tuning never saw")
    workers = (os.cpu_count() or 1) if workers is None else check_int("workers", workers, 1)
    configs = configurations(space, budget, sample_seed)
    seq_opts = {**(sequence_options or {}), "validation": validation}
    common = {"method": m.name, "sequence": sequence, "epochs": epochs, "batch_size": int(batch_size),
              "sequence_options": seq_opts}
    fixed = {}
    if protocol is not None:
        from .protocols import FULL, PROTOCOLS

        check_choice("protocol", protocol, PROTOCOLS)
        unknown = sorted(set(seq_opts) - {"validation", "train_limit", "test_limit", "root"})
        if unknown:
            raise ValueError(f"sequence_options {unknown} do not apply to a protocol; accepted: train_limit, "
                             "test_limit, root")
        settings = {k: FULL[protocol][k] for k in _PROTOCOL_KEEP}
        common.update(sequence=f"protocol:{protocol}", protocol=protocol, shuffle=settings["shuffle"])
        if "fisher_samples" in m.option_names and "fisher_samples" not in space:
            fixed["fisher_samples"] = settings["fisher_samples"]
    jobs = [{**common, "seed": s, "lr": float(c["lr"]) if "lr" in c else None,
             "options": {**fixed, **{k: v for k, v in c.items() if k != "lr"}}} for c in configs for s in tuning]
    runs = _execute(jobs, executor, workers, jobs_dir)
    scores = _scores(configs, tuning, runs, criterion)
    ranked = [-math.inf if sc["diverged"] else sc["score"] for sc in scores]
    best = max(range(len(configs)), key=lambda i: ranked[i])  # the first of equals: grid order
    if not math.isfinite(ranked[best]):
        raise ValueError(f"every configuration of {m.name!r} diverged on the tuning seeds; lower the learning rates")
    chosen = configs[best]
    at_edge = [k for k, v in chosen.items() if len(space[k]) > 1 and v in (min(space[k]), max(space[k]))]
    shift = {k: (0.1 if chosen[k] == min(space[k]) else 10.0) for k in at_edge if k in SHIFTABLE}
    if widen and shift:
        this_round = {"space": {k: list(v) for k, v in space.items()}, "chosen": dict(chosen), "at_edge": at_edge,
                      "scores": scores}
        wider = {k: (tuple(float(f"{x * shift[k]:.3g}") for x in v) if k in shift else tuple(v))
                 for k, v in space.items()}
        return tune(method, sequence, space=wider, budget=budget, tuning_seeds=tuning_seeds, test_seeds=test_seeds,
                    criterion=criterion, validation=validation, epochs=epochs, batch_size=batch_size,
                    sequence_options=sequence_options, executor=executor, workers=workers, jobs_dir=jobs_dir,
                    sample_seed=sample_seed, protocol=protocol, widen=widen - 1, _rounds=(*_rounds, this_round))
    lr = float(chosen["lr"]) if "lr" in chosen else m.resolve(sequence=sequence)[0]
    options = {**fixed, **{k: v for k, v in chosen.items() if k != "lr"}}
    test_jobs = [{**common, "seed": s, "lr": lr, "options": options} for s in test]
    test_runs = _execute(test_jobs, executor, workers, jobs_dir)
    results = [Result.from_dict(d) for d in test_runs if d is not None]
    selection = {"space": {k: list(v) for k, v in space.items()}, "budget": budget, "criterion": criterion,
                 "split": "validation", "validation": validation, "tuning_seeds": tuning, "test_seeds": test,
                 "sample_seed": sample_seed, "scores": scores, "chosen": dict(chosen),
                 **({"protocol": protocol, "shuffle": common["shuffle"], "fixed": fixed} if protocol else {}),
                 "at_edge": at_edge, "rounds": list(_rounds), "configurations_tried": budget * (len(_rounds) + 1),
                 "test_diverged": [s for s, d in zip(test, test_runs) if d is None]}
    return TuneResult(m.name, lr, options, selection, results)


def _scores(configs: list[dict], seeds: list[int], runs: list, criterion: str) -> list[dict]:
    """Mean validation criterion per configuration (``score`` None and ``diverged`` True if a tuning run diverged)."""
    out = []
    per = len(seeds)
    for i, c in enumerate(configs):
        chunk = runs[i * per:(i + 1) * per]
        if any(d is None for d in chunk):
            out.append({"config": dict(c), "score": None, "per_seed": None, "diverged": True})
            continue
        vals = [Result.from_dict(d).metrics("validation")[criterion] for d in chunk]
        out.append({"config": dict(c), "score": float(np.mean(vals)), "per_seed": vals, "diverged": False})
    return out


def chosen_settings(source) -> dict:
    """The setting tuning chose for each method of a tuned results file: ``{method: {"lr": ..., **options}}``.

    Parameters
    ----------
    source : str, path or dict
        A file written by ``python -m classp tune --out`` (or its parsed JSON).

    Returns
    -------
    dict
        Method -> the chosen learning rate and options (fixed protocol options such as EWC's
        ``fisher_samples`` included), ready for ``classp.run(method, ..., lr=..., options=...)``.

    Raises
    ------
    ValueError
        If the file cannot be read or records no selection (it was not written by ``tune``).

    Examples
    --------
    >>> doc = {"selection": {"sgd": {"chosen": {"lr": 0.1}}, "ewc": {"chosen": {"lr": 0.03, "lam": 10.0},
    ...                                                              "fixed": {"fisher_samples": 1000}}}}
    >>> chosen_settings(doc)["ewc"]
    {'lr': 0.03, 'fisher_samples': 1000, 'lam': 10.0}
    """
    if isinstance(source, dict):
        doc = source
    else:
        try:
            doc = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError) as exc:
            raise ValueError(f"source must be a tuned results file or its JSON; could not read {source!r}: "
                             f"{exc}") from None
    selection = doc.get("selection") if isinstance(doc, dict) else None
    if not isinstance(selection, dict) or not selection:
        raise ValueError("the file records no selection: only files written by 'python -m classp tune --out' do")
    out = {}
    for method, x in selection.items():
        chosen = dict(x["chosen"])
        lr = chosen.pop("lr", None)
        out[method] = {"lr": lr, **dict(x.get("fixed") or {}), **chosen}
    return out
