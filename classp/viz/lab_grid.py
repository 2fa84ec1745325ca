"""The kernel-free lab's data: a grid of precomputed runs of the stability-plasticity lab (issue 14).

The live lab (:func:`classp.viz.widgets.lab`) trains a run when the reader presses *Train*; the
website has no kernel, so it draws the same four pictures from a grid of runs stored in
``book/results/lab_grid.json`` (:mod:`classp.viz.lab_page` draws them).  The grid covers every
method of the book's head-to-head on the three digits sequences, and the knobs that matter:

* the learning rate, as a factor of the method's tuned value (``book/results/tuned_<sequence>.json``,
  field ``selection``; the registry's default without tuned files);
* CLASSP's threshold τ, power p and decay (decay off runs ``classp-no-decay``, where p plays no role);
* the strength of EWC's and MAS's penalty λ and of SI's c, as a factor of the tuned value;
* the seed.

Each run is stored compactly: its accuracy matrix, the accuracy of every task measured about 20
times during training, the update density averaged over blocks of steps (at most 40 values), and
the task that last changed each of an evenly spaced sample of the weights (one character per
weight: ``.`` never changed, ``0``-``9`` the task).  Its numbers (average accuracy, forgetting,
mean density, the shares of weights never changed and last changed by the last task) are computed
from the full run before it is compacted.

Regenerate the file with ``python scripts/lab_grid.py`` (both cores, a few minutes).
"""
from __future__ import annotations

import itertools
import json
import math
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .._validation import check_bool, check_choice, check_distinct, check_int, check_number, MAX_SEED

__all__ = ["LAB_GRID", "GRID_METHODS", "GRID_SEQUENCES", "REGULARISED", "STRENGTH_OPTION", "SCHEMA",
           "grid_jobs", "run_grid_point", "make_lab_grid", "load_lab_grid", "check_lab_grid", "find_run", "run_key",
           "compact"]

SCHEMA = "classp-lab-grid/1"

#: Methods of the kernel-free lab (CLASSP with decay off runs the registry's ``classp-no-decay``).
GRID_METHODS = ("classp", "sgd", "sgd-decay", "adam", "adagrad", "ewc", "si", "mas", "joint")

#: The three digits sequences (all built offline).
GRID_SEQUENCES = ("split-digits", "permuted-digits", "digits-shared-head")

#: Methods with a penalty strength, and the option that holds it.
STRENGTH_OPTION = {"ewc": "lam", "si": "c", "mas": "lam"}
REGULARISED = tuple(STRENGTH_OPTION)

#: The grid the book's file holds (see :func:`make_lab_grid`).
LAB_GRID = {
    "methods": GRID_METHODS,
    "sequences": GRID_SEQUENCES,
    "lr_factors": (0.3, 1.0, 3.0),
    "thresholds": (0.0, 1e-8, 1e-6, 1e-5, 1e-4, 1e-3),
    "powers": (1.0, 2.0, 3.0),
    "decay": (True, False),
    "strength_factors": (0.1, 1.0, 10.0, 100.0),
    "seeds": (0, 1, 2),
    "epochs": 2,
    "batch_size": 32,
    "map_size": 576,
    "density_points": 40,
    "curve_points": 20,
}

_DIGITS = 4  # decimals kept of accuracies, densities and shares


# ------------------------------------------------------------------------------------------ the grid
def _check_values(name: str, values, check) -> tuple:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"{name} must be a list of values; got {values!r}")
    out = check_distinct(name, [check(f"{name}[{i}]", v) for i, v in enumerate(values)])
    if not out:
        raise ValueError(f"{name} must hold at least one value")
    return tuple(out)


def _check_grid(grid: Mapping | None) -> dict:
    """``grid`` merged over :data:`LAB_GRID`, every entry checked."""
    if grid is not None and not isinstance(grid, Mapping):
        raise ValueError(f"grid must be a dict of grid entries; got {type(grid).__name__}")
    unknown = sorted(set(grid or {}) - set(LAB_GRID))
    if unknown:
        raise ValueError(f"grid has unknown entr{'y' if len(unknown) == 1 else 'ies'} {unknown}; "
                         f"accepted: {sorted(LAB_GRID)}")
    g = dict(LAB_GRID, **(grid or {}))
    pos = lambda n, v: check_number(n, v, 0, 1000, low_open=True)  # noqa: E731
    out = {
        "methods": _check_values("methods", g["methods"], lambda n, v: check_choice(n, v, GRID_METHODS)),
        "sequences": _check_values("sequences", g["sequences"], lambda n, v: check_choice(n, v, GRID_SEQUENCES)),
        "lr_factors": _check_values("lr_factors", g["lr_factors"], pos),
        "thresholds": _check_values("thresholds", g["thresholds"], lambda n, v: check_number(n, v, 0, 1)),
        "powers": _check_values("powers", g["powers"], lambda n, v: check_number(n, v, 0.25, 8)),
        "decay": _check_values("decay", g["decay"], check_bool),
        "strength_factors": _check_values("strength_factors", g["strength_factors"], pos),
        "seeds": _check_values("seeds", g["seeds"], lambda n, v: check_int(n, v, 0, MAX_SEED)),
        "epochs": check_int("epochs", g["epochs"], 1, 20),
        "batch_size": check_int("batch_size", g["batch_size"], 1, 4096),
        "map_size": check_int("map_size", g["map_size"], 1, 10_000),
        "density_points": check_int("density_points", g["density_points"], 1, 1000),
        "curve_points": check_int("curve_points", g["curve_points"], 1, 1000),
    }
    return out


def _check_tuned_dir(tuned_dir) -> None:
    if tuned_dir is not None and (not isinstance(tuned_dir, (str, Path)) or not str(tuned_dir)):
        raise ValueError(f"tuned_dir must be None or a folder path; got {tuned_dir!r}")
    if tuned_dir is not None and Path(tuned_dir).exists() and not Path(tuned_dir).is_dir():
        raise ValueError(f"tuned_dir must be a folder; {tuned_dir} is a file")


def _centres(sequence: str, tuned_dir) -> dict:
    """``{method: chosen settings}`` from ``tuned_<sequence>.json`` (None: the registry's defaults)."""
    from ..lab.methods import get_method

    names = set(GRID_METHODS) | {"classp-no-decay"}
    if tuned_dir is None:
        return {m: {k: v for k, v in get_method(m).defaults.items() if k == "lr" or k == STRENGTH_OPTION.get(m)}
                for m in names}
    path = Path(tuned_dir) / f"tuned_{sequence}.json"
    try:
        selection = json.loads(path.read_text(encoding="utf-8"))["selection"]
        centres = {m: dict(selection[m]["chosen"]) for m in names}
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} does not exist: the lab grid centres its learning rates on the tuned "
                                "settings (python -m classp tune ...), or pass tuned_dir=None for the registry's") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a tuning results file with a 'selection' for every lab method ({exc!r})") from None
    for m, c in centres.items():
        check_number(f"{path.name}: selection[{m!r}].chosen.lr", c.get("lr"), 0, low_open=True)
    return centres


def run_key(method: str, sequence: str, seed: int, lr_i: int, tau_i: int = -1, p_i: int = -1, decay: int = -1,
            strength_i: int = -1) -> str:
    """The string that names one grid point; knobs the method does not use are -1.

    >>> run_key("sgd", "split-digits", 0, 1)
    'sgd|split-digits|0|1|-1|-1|-1|-1'
    """
    return "|".join(str(v) for v in (method, sequence, seed, lr_i, tau_i, p_i, decay, strength_i))


def grid_jobs(grid: Mapping | None = None, tuned_dir=None) -> list[dict]:
    """One job per grid point: the arguments of :func:`classp.lab.train.run` and the point's indices.

    Parameters
    ----------
    grid : dict, optional
        Entries that replace those of :data:`LAB_GRID` (e.g. ``{"seeds": [0], "methods": ["sgd"]}``).
    tuned_dir : str or os.PathLike, optional
        Folder of ``tuned_<sequence>.json``; learning rates and strengths are factors of the chosen
        values there.  None: factors of the registry's defaults.

    Returns
    -------
    list of dict
        Each with ``point`` (the lab's names for it: method, sequence, seed, indices, ``key``) and
        ``run`` (method, sequence, seed, lr, options, epochs, batch_size, eval_every) plus the
        compaction sizes.

    Raises
    ------
    ValueError
        If an entry of ``grid`` is unknown or out of range, or a tuned file is corrupt.
    FileNotFoundError
        If ``tuned_dir`` lacks a sequence's tuned file.
    """
    g = _check_grid(grid)
    _check_tuned_dir(tuned_dir)
    jobs = []
    sizes = {k: g[k] for k in ("map_size", "density_points", "curve_points")}
    for seq in g["sequences"]:
        centres = _centres(seq, tuned_dir)
        for m, seed, (lr_i, f) in itertools.product(g["methods"], g["seeds"], enumerate(g["lr_factors"])):
            for point, name, opts in _method_points(m, g, centres):
                lr = float(f"{f * centres[name]['lr']:.4g}")
                point = dict(point, method=m, sequence=seq, seed=seed, lr_i=lr_i)
                point["key"] = run_key(m, seq, seed, lr_i, point["tau_i"], point["p_i"], point["decay"],
                                       point["strength_i"])
                jobs.append({"point": point, "run": {"method": name, "sequence": seq, "seed": seed, "lr": lr,
                                                     "options": opts, "epochs": g["epochs"],
                                                     "batch_size": g["batch_size"]}, **sizes})
    return jobs


def _method_points(m: str, g: dict, centres: dict):
    """(indices, registry method, options) of every knob setting of lab method ``m``."""
    none = {"tau_i": -1, "p_i": -1, "decay": -1, "strength_i": -1}
    extra = {k: v for k, v in centres.get(m, {}).items() if k not in ("lr", STRENGTH_OPTION.get(m))}
    if m == "classp":
        for decay in g["decay"]:
            powers = list(enumerate(g["powers"])) if decay else [(-1, None)]
            for (t_i, tau), (p_i, p) in itertools.product(enumerate(g["thresholds"]), powers):
                opts = {"threshold": tau} if p is None else {"threshold": tau, "power": p}
                yield (dict(none, tau_i=t_i, p_i=p_i, decay=int(decay)),
                       "classp" if decay else "classp-no-decay", opts)
    elif m in STRENGTH_OPTION:
        key = STRENGTH_OPTION[m]
        for s_i, f in enumerate(g["strength_factors"]):
            yield dict(none, strength_i=s_i), m, dict(extra, **{key: float(f"{f * centres[m][key]:.4g}")})
    else:
        yield dict(none), m, extra


# ------------------------------------------------------------------------------------------ one run
def run_grid_point(job: dict) -> dict:
    """Train one grid point and return it compacted (a module-level function: process pools ship it).

    A run whose loss diverges is returned with ``diverged: True`` and no pictures.
    """
    import torch

    from ..lab.train import run

    torch.set_num_threads(1)
    from ..data import get_sequence
    from ..lab.methods import get_method

    _check_job(job)
    torch.set_num_threads(1)
    kw = dict(job["run"])
    t0 = time.perf_counter()
    method, seq = kw.pop("method"), get_sequence(kw.pop("sequence"), seed=kw["seed"])
    sizes = [len(t.y_train) for t in seq.tasks]
    if get_method(method).joint:
        sizes = list(np.cumsum(sizes))
    total = sum(kw["epochs"] * -(-int(n) // kw["batch_size"]) for n in sizes)
    try:
        r = run(method, seq, **kw, eval_every=max(1, total // job["curve_points"]), progress=False, threads=1)
    except FloatingPointError:
        return dict(job["point"], **_run_fields(job), diverged=True, wall_s=round(time.perf_counter() - t0, 3))
    out = dict(job["point"], **_run_fields(job), diverged=False, **compact(r, job["map_size"], job["density_points"]))
    out["wall_s"] = round(time.perf_counter() - t0, 3)
    return out


def _check_job(job) -> None:
    need = {"point", "run", "map_size", "density_points", "curve_points"}
    if not isinstance(job, Mapping) or not need <= set(job) or not isinstance(job["run"], Mapping) \
            or not {"method", "sequence", "seed", "lr", "options", "epochs", "batch_size"} <= set(job["run"]):
        raise ValueError("job must be one of the dicts grid_jobs() returns (keys point, run, map_size, "
                         f"density_points, curve_points); got {type(job).__name__}")


def _run_fields(job: dict) -> dict:
    r = job["run"]
    return {"registry_method": r["method"], "lr": r["lr"], "options": r["options"]}


def _round(x) -> Any:
    return np.round(np.asarray(x, dtype=float), _DIGITS).tolist()


def compact(result, map_size: int = 576, density_points: int = 40) -> dict:
    """The fields of one run that the kernel-free lab draws, from an in-memory :class:`Result`.

    Parameters
    ----------
    result : Result
        A run with its per-weight arrays (``last_changed``).
    map_size : int, default 576
        Weights sampled (evenly spaced in ``model.parameters()`` order) for the per-weight map.
    density_points : int, default 40
        Most values kept of the update density (means over blocks of consecutive steps).

    Returns
    -------
    dict
        ``accuracy_matrix``, ``metrics``, ``n_steps``, ``n_params``, ``task_boundaries``,
        ``curve`` (``steps``, ``accuracy``: one row per measurement), ``density`` (``stride``,
        ``values``) and ``map`` (one character per sampled weight).
    """
    map_size = check_int("map_size", map_size, 1, 10_000)
    density_points = check_int("density_points", density_points, 1, 1000)
    if getattr(result, "last_changed", None) is None:
        raise ValueError("result.last_changed is None: compact needs an in-memory run with its per-weight arrays")
    last = np.asarray(result.last_changed)
    m = result.metrics()
    dens = np.asarray(result.density, dtype=float)
    stride = max(1, math.ceil(len(dens) / density_points))
    blocks = [float(dens[i:i + stride].mean()) for i in range(0, len(dens), stride)]
    sample = last[np.unique(np.linspace(0, len(last) - 1, min(map_size, len(last))).round().astype(int))]
    metrics = {"average_accuracy": m["average_accuracy"], "forgetting": m["forgetting"],
               "mean_density": m["mean_density"], "never_changed": float(np.mean(last < 0)),
               "last_task_share": float(np.mean(last == result.n_tasks - 1))}
    return {"accuracy_matrix": _round(result.accuracy_matrix), "metrics": {k: round(float(v), _DIGITS) for k, v in metrics.items()},
            "n_steps": int(result.n_steps), "n_params": int(result.n_params),
            "task_boundaries": [int(b) for b in result.task_boundaries],
            "curve": {"steps": [int(s) for s in result.eval_steps], "accuracy": _round(result.accuracy_curve)},
            "density": {"stride": stride, "values": _round(blocks)},
            "map": "".join("." if v < 0 else str(int(v) % 10) for v in sample)}


# ------------------------------------------------------------------------------------------ the file
def make_lab_grid(path=None, grid: Mapping | None = None, *, tuned_dir=None, workers: int | None = None,
                  executor=None, command: str | None = None) -> dict:
    """Run the grid (a process pool over every core by default) and return, or write, the document.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Where to write the JSON document (atomically); None: only return it.
    grid : dict, optional
        Entries replacing those of :data:`LAB_GRID` (see :func:`grid_jobs`).
    tuned_dir : str or os.PathLike, optional
        Folder of the tuned files the learning rates and strengths are centred on (None: registry).
    workers : int, optional
        Processes (default: the CPU count; 1 runs in this process).
    executor : optional
        A ``concurrent.futures``-style executor instead of the pool.
    command : str, optional
        The command line recorded as the file's ``command`` (default: how this process was started).

    Returns
    -------
    dict
        The document: the provenance header, ``config`` (the grid and the centres' source),
        ``wall_s`` (the whole grid, as measured here) and ``runs``.
    """
    import os

    from .._io import check_writable, write_json
    from .._provenance import header
    from ..lab.tune import execute

    if path is not None:
        path = check_writable("path", path)
    _check_tuned_dir(tuned_dir)
    if command is not None and not isinstance(command, str):
        raise ValueError(f"command must be None or a str; got {type(command).__name__}")
    workers = (os.cpu_count() or 1) if workers is None else check_int("workers", workers, 1, 256)
    g = _check_grid(grid)
    jobs = grid_jobs(g, tuned_dir)
    t0 = time.perf_counter()
    runs = execute(run_grid_point, [(j,) for j in jobs], executor=executor, workers=workers)
    wall = time.perf_counter() - t0
    doc = header(SCHEMA, command)
    doc["data"] = [{"sequence": s, "source": "scikit-learn's bundled 8x8 digits (load_digits), split by classp.data"}
                   for s in g["sequences"]]
    doc["config"] = dict(g, centres="registry defaults" if tuned_dir is None else
                         [f"{Path(tuned_dir).name}/tuned_{s}.json: selection.<method>.chosen" for s in g["sequences"]],
                         strength_option=STRENGTH_OPTION, workers=workers, wall_s_total=round(wall, 1))
    doc["wall_s"] = round(wall, 1)
    doc["runs"] = runs
    if path is not None:
        write_json(path, doc)
    return doc


_RUN_FIELDS = {"method": str, "sequence": str, "seed": int, "lr_i": int, "tau_i": int, "p_i": int, "decay": int,
               "strength_i": int, "key": str, "registry_method": str, "lr": (int, float), "options": dict,
               "diverged": bool}
_PICTURE_FIELDS = ("accuracy_matrix", "metrics", "curve", "density", "map", "task_boundaries", "n_steps")


def check_lab_grid(doc, where: str = "doc") -> dict:
    """``doc`` if it is a lab grid document (schema, provenance fields, every run well formed), else ValueError.

    :func:`load_lab_grid` calls it on the file it reads; the page calls it on the document it is given.
    """
    return _check_doc(doc, where)


def _check_doc(doc, where: str) -> dict:
    if not isinstance(doc, dict):
        raise ValueError(f"{where}: not a lab grid (a JSON object is expected)")
    if doc.get("schema") != SCHEMA:
        raise ValueError(f"{where}: schema must be {SCHEMA!r}; got {doc.get('schema')!r}")
    for k in ("command", "created", "versions", "config", "runs"):
        if k not in doc:
            raise ValueError(f"{where}: the field {k!r} is missing")
    if not isinstance(doc["runs"], list) or not doc["runs"]:
        raise ValueError(f"{where}: runs must be a non-empty list")
    keys = set()
    for i, r in enumerate(doc["runs"]):
        _check_run(r, f"{where}: runs[{i}]")
        if r["key"] in keys:
            raise ValueError(f"{where}: runs[{i}]: the grid point {r['key']!r} appears twice")
        keys.add(r["key"])
    return doc


def _check_run(r, where: str) -> None:
    if not isinstance(r, dict):
        raise ValueError(f"{where}: a run must be an object")
    for k, t in _RUN_FIELDS.items():
        if not isinstance(r.get(k), t) or (t is int and isinstance(r.get(k), bool)):
            raise ValueError(f"{where}: field {k!r} is missing or not {getattr(t, '__name__', 'a number')}")
    if r["key"] != run_key(r["method"], r["sequence"], r["seed"], r["lr_i"], r["tau_i"], r["p_i"], r["decay"],
                           r["strength_i"]):
        raise ValueError(f"{where}: key {r['key']!r} does not match the run's fields")
    if r["diverged"]:
        return
    missing = [k for k in _PICTURE_FIELDS if k not in r]
    if missing:
        raise ValueError(f"{where}: fields {missing} are missing")
    acc = np.asarray(r["accuracy_matrix"], dtype=float)
    if acc.ndim != 2 or acc.shape[0] != acc.shape[1] or not np.all((acc >= 0) & (acc <= 1)):
        raise ValueError(f"{where}: accuracy_matrix must be a square matrix of values in [0, 1]")
    T = acc.shape[0]
    curve = np.asarray(r["curve"].get("accuracy"), dtype=float) if isinstance(r["curve"], dict) else None
    if curve is None or curve.ndim != 2 or curve.shape[1] != T or len(r["curve"].get("steps", ())) != len(curve):
        raise ValueError(f"{where}: curve must hold steps and one accuracy row of {T} tasks per step")
    if not isinstance(r["density"], dict) or not r["density"].get("values"):
        raise ValueError(f"{where}: density must hold stride and values")
    if not isinstance(r["map"], str) or set(r["map"]) - set(".0123456789"):
        raise ValueError(f"{where}: map must be a string of '.' and task digits")


def load_lab_grid(path) -> dict:
    """Read and check the kernel-free lab's data file (:func:`make_lab_grid` writes it).

    Parameters
    ----------
    path : str or os.PathLike
        ``book/results/lab_grid.json``.

    Returns
    -------
    dict
        The document (provenance header, ``config``, ``wall_s``, ``runs``).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (the message names the script that makes it).
    ValueError
        If it is not UTF-8 JSON or does not match the schema (the message names the problem).
    """
    if not isinstance(path, (str, Path)) or not str(path):
        raise ValueError(f"path must be a non-empty str or os.PathLike; got {path!r}")
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} does not exist: make it with `python scripts/lab_grid.py --out {path}`") from None
    except IsADirectoryError:
        raise ValueError(f"path must be a file; {path} is a folder") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (offset {exc.start}); the lab grid is UTF-8 JSON") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise ValueError(f"{path}: JSON nested too deeply to be a lab grid") from None
    return _check_doc(doc, str(path))


def find_run(doc: Mapping, method: str, sequence: str, seed: int, lr_i: int = 1, tau_i: int = -1, p_i: int = -1,
             decay: int = -1, strength_i: int = -1) -> dict:
    """The run of ``doc`` at one grid point (indices into the grid's value lists; -1 for unused knobs).

    Raises
    ------
    ValueError
        If the grid has no such point (the message lists the grid's methods and sequences).
    """
    if not isinstance(doc, Mapping) or not isinstance(doc.get("runs"), list) or "config" not in doc:
        raise ValueError("doc must be a lab grid (load_lab_grid's result)")
    key = run_key(method, sequence, seed, lr_i, tau_i, p_i, decay, strength_i)
    for r in doc["runs"]:
        if r["key"] == key:
            return r
    raise ValueError(f"the lab grid has no run {key!r} (methods {list(doc['config']['methods'])}, "
                     f"sequences {list(doc['config']['sequences'])})")
