"""The result of a run and the results file (JSON with provenance).

* :class:`Result` -- what :func:`classp.lab.train.run` returns: the accuracy matrix, the curves
  (losses, update density, accuracy over time), the per-weight update counts, state size and time.
* :func:`save` / :func:`load` / :func:`validate` -- the results file.
* Tables of runs (mean ± std over seeds) are :mod:`classp.lab.tables`.

The results file (schema ``classp-results/1``) is one JSON object; its first five keys are the
provenance header every file of the project starts with (:func:`classp._provenance.header`)::

    {
      "schema":   "classp-results/1",
      "command":  "python -m classp compare ...",      # regenerates the file
      "created":  "2025-01-01T12:00:00+00:00",          # ISO 8601, UTC
      "versions": {"python": ..., "torch": ..., "classp": ..., "git": ..., "numpy": ...},
      "machine":  {"platform": ..., "processor": ..., "cpu_count": ..., "torch_threads": ...},
      "data":     [{"sequence": ..., "source": ..., "options": {...}}],   # where the data came from
      "config":   {...},                                # what was run (shared settings)
      "runs":     [ {one run per method and seed, see Result.to_dict(compact=True)} ],
      "summary":  [ {one row per method: mean and std of each metric, see classp.lab.tables.summarize} ]
    }

Each run holds ``method``, ``label``, ``sequence``, ``seed``, ``config``, ``task_names``,
``accuracy_matrix`` (T x T), ``initial_accuracy`` (T), ``metrics``, ``state_bytes``, ``n_params``,
``wall_s`` and compact curves: ``losses`` and ``density`` averaged over blocks of ``curve_stride``
steps when a run is longer than ``max_points`` steps, ``task_boundaries``, ``eval_steps``,
``accuracy_curve``.  Per-weight arrays (``update_counts``, ``last_changed``) are not stored in
files (they have one entry per weight). Files written before the header gained ``versions.git``
load as they are.
"""
from __future__ import annotations

import json
import math
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import metrics as _metrics
from .._io import write_json
from .._provenance import header
from .._validation import check_choice, check_int

__all__ = ["Result", "ResultsFile", "SCHEMA", "METRIC_NAMES", "save", "load", "validate", "command_for",
           ]

#: Name and version of the results-file schema written by :func:`save`.
SCHEMA = "classp-results/1"
SCHEMA_NAME, SCHEMA_VERSION = SCHEMA.split("/")
SCHEMA_VERSION = int(SCHEMA_VERSION)

#: Metrics reported by :meth:`Result.metrics`, in table order.
METRIC_NAMES = ("average_accuracy", "backward_transfer", "forgetting", "forward_transfer", "mean_density")


def _arr(x, dtype=np.float64):
    if x is None:
        return None
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


@dataclass
class Result:
    """The outcome of running one method over one task sequence with one seed.

    Attributes
    ----------
    method : str
        Registry name of the method (see :func:`classp.lab.methods.list_methods`).
    sequence : str
        Name of the task sequence.
    seed : int
        Seed of the run (model initialisation, data order, data split).
    config : dict
        Everything needed to rerun: the keyword arguments of :func:`classp.lab.train.run` after
        defaults were filled in (``lr``, ``options``, ``epochs``, ``batch_size``, ...).
    task_names : list of str
        Names of the ``T`` tasks.
    accuracy_matrix : numpy.ndarray, shape (T, T)
        ``R[i, j]`` = test accuracy on task ``j`` after training task ``i``.
    initial_accuracy : numpy.ndarray, shape (T,)
        Test accuracy on each task before any training.
    losses : numpy.ndarray, shape (steps,)
        Training loss (cross-entropy on the mini-batch, without any regulariser penalty) of each
        step, measured before the step.
    density : numpy.ndarray, shape (steps,)
        Update density of each step: the fraction of the model's parameters whose value changed.
    task_boundaries : list of int
        Index of the first step of each task.
    eval_steps : numpy.ndarray, shape (n,)
        Number of steps taken at each evaluation (0 = before training).
    accuracy_curve : numpy.ndarray, shape (n, T)
        Test accuracy on every task at each evaluation step.
    update_counts : list of numpy.ndarray or None
        ``T`` integer arrays of length ``n_params``: how many steps of task ``i`` changed each
        weight (flattened in ``model.parameters()`` order).  ``None`` when loaded from a file.
    last_changed : numpy.ndarray or None
        Length ``n_params``: index of the last task whose training changed each weight, ``-1``
        if no step changed it.  ``None`` when loaded from a file.
    state_bytes : int
        Bytes held by the optimizer state (tensors in ``optimizer.state``) plus the regulariser
        (EWC's Fisher diagonals and anchors) at the end of the run.
    n_params : int
        Number of model parameters.
    wall_s : float
        Wall-clock seconds of training and evaluation (summed over resumed segments).
    label : str
        Row label in tables (defaults to ``method``; e.g. ``"classp τ=1e-6"``).
    source : str
        Where the sequence's data came from (``TaskSequence.source``).
    curve_stride : int
        ``losses[k]`` and ``density[k]`` average steps ``k*curve_stride ... (k+1)*curve_stride-1``
        (1 for an in-memory run; larger for long runs loaded from a compact file).
    validation_matrix : numpy.ndarray or None
        The accuracy matrix on the tasks' validation splits (T x T), for runs of a sequence built
        with ``validation > 0``; hyper-parameters are chosen on it, never on ``accuracy_matrix``.
    """

    method: str
    sequence: str
    seed: int
    config: dict
    task_names: list
    accuracy_matrix: np.ndarray
    initial_accuracy: np.ndarray
    losses: np.ndarray
    density: np.ndarray
    task_boundaries: list
    eval_steps: np.ndarray
    accuracy_curve: np.ndarray
    update_counts: list | None = None
    last_changed: np.ndarray | None = None
    state_bytes: int = 0
    n_params: int = 0
    wall_s: float = 0.0
    label: str = ""
    source: str = ""
    curve_stride: int = 1
    validation_matrix: np.ndarray | None = None

    def __post_init__(self):
        if not self.label:
            self.label = self.method
        self.accuracy_matrix = _metrics.as_matrix(self.accuracy_matrix)
        if self.validation_matrix is not None:
            self.validation_matrix = _metrics.as_matrix(self.validation_matrix)
            if self.validation_matrix.shape != self.accuracy_matrix.shape:
                raise ValueError(f"validation_matrix must be T x T like accuracy_matrix; got shape "
                                 f"{self.validation_matrix.shape}")
        self.initial_accuracy = _arr(self.initial_accuracy)
        self.losses = _arr(self.losses)
        self.density = _arr(self.density)
        self.eval_steps = _arr(self.eval_steps, np.int64)
        self.accuracy_curve = _arr(self.accuracy_curve)
        if self.accuracy_curve.size == 0:
            self.accuracy_curve = self.accuracy_curve.reshape(0, self.n_tasks)
        if self.update_counts is not None:
            self.update_counts = [_arr(u, np.int64) for u in self.update_counts]
        if self.last_changed is not None:
            self.last_changed = _arr(self.last_changed, np.int64)
        self.task_boundaries = [int(s) for s in self.task_boundaries]
        self.task_names = [str(n) for n in self.task_names]
        T = self.n_tasks
        if self.initial_accuracy.shape != (T,):
            raise ValueError(f"initial_accuracy must have length T = {T}; got shape {self.initial_accuracy.shape}")
        if len(self.task_names) != T:
            raise ValueError(f"task_names must have T = {T} entries; got {len(self.task_names)}")

    @property
    def n_tasks(self) -> int:
        """Number of tasks ``T``."""
        return int(self.accuracy_matrix.shape[0])

    @property
    def n_steps(self) -> int:
        """Number of optimizer steps taken (before any downsampling of the curves)."""
        return int(self.config.get("n_steps", len(self.losses) * self.curve_stride))

    def metrics(self, split: str = "test") -> dict:
        """The run's continual-learning metrics.

        Parameters
        ----------
        split : {"test", "validation"}, default "test"
            Computed from ``accuracy_matrix`` or from ``validation_matrix`` (which must exist).

        Returns
        -------
        dict
            ``average_accuracy``, ``backward_transfer``, ``forgetting``, ``forward_transfer``
            (see :mod:`classp.lab.metrics`) and ``mean_density`` (mean update density over all steps).
        """
        R = self.accuracy_matrix
        if check_choice("split", split, ("test", "validation")) == "validation":
            if self.validation_matrix is None:
                raise ValueError(f"run {self.label!r} (seed {self.seed}) has no validation matrix: its sequence "
                                 "was built without a validation split")
            R = self.validation_matrix
        return {
            "average_accuracy": _metrics.average_accuracy(R),
            "backward_transfer": _metrics.backward_transfer(R),
            "forgetting": _metrics.forgetting(R),
            "forward_transfer": _metrics.forward_transfer(R, self.initial_accuracy),
            "mean_density": float(np.mean(self.density)) if len(self.density) else 0.0,
        }

    # ------------------------------------------------------------------ serialisation
    def to_dict(self, compact: bool = False, max_points: int = 1000) -> dict:
        """A JSON-ready dict of the run.

        Parameters
        ----------
        compact : bool, default False
            If True (the form stored in results files), drop the per-weight arrays and average
            ``losses``/``density`` over blocks of consecutive steps so that at most
            ``max_points`` values remain (rounded to 6 significant digits); ``curve_stride``
            records the block length.
        max_points : int, default 1000
            Maximum length of the compact curves (>= 1).

        Returns
        -------
        dict
            Plain Python types only; ``metrics`` is included for readers of the file.
        """
        max_points = check_int("max_points", max_points, 1)
        losses, density, stride = self.losses, self.density, self.curve_stride
        if compact and len(losses) > max_points:
            k = math.ceil(len(losses) / max_points)
            losses, density = _block_mean(losses, k), _block_mean(density, k)
            stride = stride * k
        d = {
            "method": self.method,
            "label": self.label,
            "sequence": self.sequence,
            "seed": int(self.seed),
            "source": self.source,
            "config": _jsonable(self.config),
            "task_names": list(self.task_names),
            "accuracy_matrix": self.accuracy_matrix.tolist(),
            "initial_accuracy": self.initial_accuracy.tolist(),
            "metrics": self.metrics(),
            "state_bytes": int(self.state_bytes),
            "n_params": int(self.n_params),
            "wall_s": float(self.wall_s),
            "curve_stride": int(stride),
            "losses": [_round(v) if compact else float(v) for v in losses],
            "density": [_round(v) if compact else float(v) for v in density],
            "task_boundaries": list(self.task_boundaries),
            "eval_steps": [int(s) for s in self.eval_steps],
            "accuracy_curve": self.accuracy_curve.tolist(),
        }
        if self.validation_matrix is not None:
            d["validation_accuracy_matrix"] = self.validation_matrix.tolist()
            d["validation_metrics"] = self.metrics("validation")
        if not compact:
            d["update_counts"] = None if self.update_counts is None else [u.tolist() for u in self.update_counts]
            d["last_changed"] = None if self.last_changed is None else self.last_changed.tolist()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Result":
        """Rebuild a :class:`Result` from :meth:`to_dict` output (full or compact).

        Parameters
        ----------
        d : dict
            A run dict; ``metrics`` is ignored (recomputed), missing per-weight arrays become None.

        Returns
        -------
        Result
        """
        return cls(
            method=d["method"],
            sequence=d["sequence"],
            seed=int(d["seed"]),
            config=dict(d.get("config", {})),
            task_names=list(d["task_names"]),
            accuracy_matrix=d["accuracy_matrix"],
            initial_accuracy=d["initial_accuracy"],
            losses=d.get("losses", []),
            density=d.get("density", []),
            task_boundaries=d.get("task_boundaries", []),
            eval_steps=d.get("eval_steps", []),
            accuracy_curve=d.get("accuracy_curve", []),
            update_counts=d.get("update_counts"),
            last_changed=d.get("last_changed"),
            state_bytes=int(d.get("state_bytes", 0)),
            n_params=int(d.get("n_params", 0)),
            wall_s=float(d.get("wall_s", 0.0)),
            label=d.get("label", ""),
            source=d.get("source", ""),
            curve_stride=int(d.get("curve_stride", 1)),
            validation_matrix=d.get("validation_accuracy_matrix"),
        )

    def __repr__(self) -> str:  # the default repr would print every array
        m = self.metrics()
        return (
            f"Result(method={self.method!r}, sequence={self.sequence!r}, seed={self.seed}, T={self.n_tasks}, "
            f"steps={self.n_steps}, average_accuracy={m['average_accuracy']:.3f}, "
            f"forgetting={m['forgetting']:.3f}, state_bytes={self.state_bytes}, wall_s={self.wall_s:.2f})"
        )


def _round(v, digits: int = 6) -> float:
    """``v`` to ``digits`` significant digits (compact curves in files)."""
    return float(f"{float(v):.{digits}g}")




def _block_mean(x: np.ndarray, k: int) -> np.ndarray:
    n = len(x)
    pad = (-n) % k
    if pad:
        # the last block is shorter: average only its real entries
        sums = np.add.reduceat(x, np.arange(0, n, k))
        counts = np.minimum(k, n - np.arange(0, n, k))
        return sums / counts
    return x.reshape(-1, k).mean(axis=1)


def _jsonable(obj):
    """Convert numpy/torch scalars and containers to plain JSON types (non-finite floats -> None)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "detach"):
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    return str(obj)


def command_for(results: Sequence[Result]) -> str:
    """A ``python -m classp`` command line that regenerates ``results``.

    Parameters
    ----------
    results : sequence of Result
        Runs that share one sequence and one training setting (as from :func:`classp.lab.train.compare`).

    Returns
    -------
    str
        ``python -m classp run ...`` for a single method, ``python -m classp compare ...`` for
        several, with every non-default setting spelled out as an option.
    """
    results = list(results)
    if not results:
        raise ValueError("results must hold at least one Result")
    methods = list(dict.fromkeys(r.method for r in results))
    seeds = list(dict.fromkeys(int(r.seed) for r in results))
    cfg = results[0].config
    args = ["python", "-m", "classp"]
    args += ["run", "--method", methods[0]] if len(methods) == 1 else ["compare", "--methods", *methods]
    args += ["--sequence", results[0].sequence, "--seeds", *map(str, seeds)]
    for key in ("epochs", "batch_size"):
        if key in cfg:
            values = cfg[key] if isinstance(cfg[key], (list, tuple)) else [cfg[key]]
            args += [f"--{key.replace('_', '-')}", *map(str, values)]
    if len(methods) == 1 and cfg.get("lr_given"):
        args += ["--lr", repr(cfg["lr"])]
    if len(methods) == 1:
        for k, v in sorted((cfg.get("options_given") or {}).items()):
            args += ["--set", f"{k}={v}"]
    for k, v in sorted((cfg.get("sequence_options") or {}).items()):
        args += ["--seq", f"{k}={v}"]
    if cfg.get("model_name"):
        args += ["--model", str(cfg["model_name"])]
    return shlex.join(args)


# ---------------------------------------------------------------------- files
@dataclass
class ResultsFile:
    """A loaded and validated results file.

    Attributes mirror the file's keys (see the module docstring); :attr:`results` rebuilds the
    runs as :class:`Result` objects (compact curves, no per-weight arrays).
    """

    schema: str
    command: str
    created: str
    versions: dict
    machine: dict
    data: list
    config: dict
    runs: list
    summary: list
    path: str = ""
    results: list = field(default_factory=list)

    def table(self, digits: int = 3) -> str:
        """The summary as a plain-text table (see :func:`classp.lab.tables.format_table`)."""
        from .tables import format_table  # tables reads Results: imported here, not at the top

        return format_table(self.summary, digits=digits)


def save(path, results: Sequence[Result], command: str | None = None, config: dict | None = None,
         max_points: int = 1000, failures: Sequence[dict] | None = None, selection: dict | None = None) -> dict:
    """Write runs to a results file (JSON, schema :data:`SCHEMA`).

    Parameters
    ----------
    path : str or os.PathLike
        Output file; parent directories are created.
    results : sequence of Result
        The runs (one per method and seed).
    command : str, optional
        The command that regenerates the file; by default :func:`command_for` ``(results)``.
    config : dict, optional
        Shared settings to record; by default the methods, seeds, sequence and the first run's
        training settings.
    max_points : int, default 1000
        Maximum length of the stored loss and density curves per run (see :meth:`Result.to_dict`).
    failures : sequence of dict, optional
        Runs that did not finish (``{"method", "label", "seed", "error"}``, as :func:`classp.lab.train.compare`
        records them), stored under ``"failures"``.
    selection : dict, optional
        How the runs' hyper-parameters were chosen (:func:`classp.lab.tune.tune`: the search space,
        budget, criterion, tuning seeds and every configuration's validation score), stored under
        ``"selection"``.

    Returns
    -------
    dict
        The document that was written.
    """
    from .tables import summarize  # tables reads Results: imported here, not at the top

    results = list(results)
    if not results:
        raise ValueError("results must hold at least one Result")
    for r in results:
        if not isinstance(r, Result):
            raise ValueError(f"results must be Result objects; got {type(r).__name__}")
    max_points = check_int("max_points", max_points, 1)
    doc = {
        **header(SCHEMA, command_for(results) if command is None else command),
        "data": _data_sources(results),
        "config": _default_config(results) if config is None else config,
        "runs": [r.to_dict(compact=True, max_points=max_points) for r in results],
        "summary": summarize(results),
    }
    if failures:
        doc["failures"] = [dict(f) for f in failures]
    if selection is not None:
        doc["selection"] = dict(selection)
    doc = _jsonable(doc)
    validate(doc)
    write_json(path, doc)
    return doc


def _default_config(results: Sequence[Result]) -> dict:
    """The methods, labels, sequences and seeds of ``results`` and the first run's training settings."""
    first = results[0].config
    return {
        "methods": list(dict.fromkeys(r.method for r in results)),
        "labels": list(dict.fromkeys(r.label for r in results)),
        "sequences": list(dict.fromkeys(r.sequence for r in results)),
        "seeds": list(dict.fromkeys(int(r.seed) for r in results)),
        **{k: first[k] for k in ("epochs", "batch_size", "sequence_options", "model_name", "shuffle") if k in first},
    }


def _data_sources(results: Sequence[Result]) -> list[dict]:
    """One entry per (sequence, source) of ``results``: where the data came from and its options."""
    data, seen = [], set()
    for r in results:
        if (r.sequence, r.source) not in seen:
            seen.add((r.sequence, r.source))
            entry = {"sequence": r.sequence, "source": r.source, "options": r.config.get("sequence_options") or {}}
            sizes, val = r.config.get("task_sizes"), r.config.get("validation_sizes")
            if sizes is not None and len(sizes) == r.n_tasks:
                entry["split_sizes"] = [{"task": name, "train": int(tr), "validation": int(val[i]) if val else 0,
                                         "test": int(te)} for i, (name, (tr, te)) in enumerate(zip(r.task_names, sizes))]
            data.append(entry)
    return data


_TOP = {"schema": str, "command": str, "created": str, "versions": dict, "machine": dict, "data": list,
        "config": dict, "runs": list, "summary": list}
_RUN = {"method": str, "sequence": str, "seed": int, "config": dict, "task_names": list, "accuracy_matrix": list,
        "initial_accuracy": list, "metrics": dict, "state_bytes": int, "wall_s": (int, float)}
_TYPE_NAMES = {str: "a string", dict: "an object", list: "a list", int: "an integer", (int, float): "a number"}


def validate(doc: Any, where: str = "results file") -> None:
    """Check that ``doc`` is a results document of schema :data:`SCHEMA`.

    Parameters
    ----------
    doc : object
        The parsed JSON.
    where : str
        How to name the document in error messages (e.g. its path).

    Raises
    ------
    ValueError
        Naming the first problem: wrong or missing ``schema``, a missing key, a value of the
        wrong type, a non-square accuracy matrix, or lengths that do not match ``T``.
    """
    if not isinstance(doc, dict):
        raise ValueError(f"{where}: expected a JSON object at the top level; got {type(doc).__name__}")
    schema = doc.get("schema")
    if not isinstance(schema, str) or "/" not in schema:
        raise ValueError(f"{where}: not a classp results file (missing or malformed 'schema'; expected {SCHEMA!r})")
    name, _, ver = schema.partition("/")
    if name != SCHEMA_NAME:
        raise ValueError(f"{where}: schema {schema!r} is not a classp results schema (expected {SCHEMA!r})")
    if not ver.isdigit():
        raise ValueError(f"{where}: malformed schema version in {schema!r} (expected {SCHEMA!r})")
    if int(ver) != SCHEMA_VERSION:
        newer = "a newer" if int(ver) > SCHEMA_VERSION else "an older"
        raise ValueError(f"{where}: schema version {ver} was written by {newer} classp; this classp reads {SCHEMA!r}")
    _check_keys(doc, _TOP, where)
    if not doc["runs"]:
        raise ValueError(f"{where}: 'runs' must hold at least one run")
    for i, run in enumerate(doc["runs"]):
        w = f"{where}: runs[{i}]"
        if not isinstance(run, dict):
            raise ValueError(f"{w} must be an object; got {type(run).__name__}")
        _check_keys(run, _RUN, w)
        _check_run_values(run, w)
        R = run["accuracy_matrix"]
        try:
            arr = _metrics.as_matrix(R)
        except ValueError as exc:
            raise ValueError(f"{w}.accuracy_matrix: {exc}") from None
        T = arr.shape[0]
        for key in ("initial_accuracy", "task_names"):
            if len(run[key]) != T:
                raise ValueError(f"{w}.{key} must have T = {T} entries (the accuracy matrix is {T} x {T}); got {len(run[key])}")
        curve = run.get("accuracy_curve")
        if curve is not None and any((not isinstance(row, list)) or len(row) != T for row in curve):
            raise ValueError(f"{w}.accuracy_curve must be a list of rows of length T = {T}")
    for i, row in enumerate(doc["summary"]):
        if not isinstance(row, dict) or "method" not in row:
            raise ValueError(f"{where}: summary[{i}] must be an object with a 'method' key")


def _check_accuracies(values, where: str, depth: int) -> None:
    """Every entry of the nested list ``values`` (``depth`` levels deep) is a finite number in [0, 1]."""
    if not isinstance(values, list):
        raise ValueError(f"{where} must be a list; got {values!r:.40}")
    for i, v in enumerate(values):
        if depth > 1:
            _check_accuracies(v, f"{where}[{i}]", depth - 1)
        elif isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
            raise ValueError(f"{where}[{i}] must be a number in [0, 1]; got {v!r:.40}")


def _check_run_values(run: dict, where: str) -> None:
    """Accuracies in [0, 1], counts and times finite and >= 0: an impossible value is refused, not averaged."""
    _check_accuracies(run["accuracy_matrix"], f"{where}.accuracy_matrix", 2)
    _check_accuracies(run["initial_accuracy"], f"{where}.initial_accuracy", 1)
    if run.get("validation_accuracy_matrix") is not None:
        _check_accuracies(run["validation_accuracy_matrix"], f"{where}.validation_accuracy_matrix", 2)
        if len(run["validation_accuracy_matrix"]) != len(run["accuracy_matrix"]):
            raise ValueError(f"{where}.validation_accuracy_matrix must be T x T like the accuracy matrix")
    if run.get("accuracy_curve") is not None:
        _check_accuracies(run["accuracy_curve"], f"{where}.accuracy_curve", 2)
    for key in ("state_bytes", "wall_s", "seed"):
        if not 0 <= run[key] < float("inf"):
            raise ValueError(f"{where}.{key} must be a finite number >= 0; got {run[key]!r}")


def _check_keys(d: dict, spec: dict, where: str) -> None:
    missing = [k for k in spec if k not in d]
    if missing:
        raise ValueError(f"{where}: missing required key(s) {', '.join(map(repr, missing))}")
    for k, t in spec.items():
        v = d[k]
        ok = isinstance(v, t) and not (isinstance(v, bool) and t is not bool)
        if not ok:
            raise ValueError(f"{where}: {k!r} must be {_TYPE_NAMES.get(t, t)}; got {type(v).__name__}")


def load(path) -> ResultsFile:
    """Read and validate a results file.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save` (or by ``python -m classp run/compare --out``).

    Returns
    -------
    ResultsFile
        The document's fields plus ``results`` (a list of :class:`Result`).

    Raises
    ------
    ValueError
        If the file is not JSON or does not match the schema (the message names the problem).
    FileNotFoundError
        If ``path`` does not exist.
    """
    from .tables import summarize  # tables reads Results: imported here, not at the top

    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                         "a results file is UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise ValueError(f"{path}: JSON nested too deeply to be a results file") from None
    validate(doc, where=str(path))
    results = []
    for i, run in enumerate(doc["runs"]):
        try:
            results.append(Result.from_dict(run))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: runs[{i}]: {exc}") from None
    # the summary is recomputed from the runs: a stored one that disagrees with them is never shown
    fields = dict({k: doc[k] for k in _TOP}, summary=summarize(results))
    return ResultsFile(**fields, path=str(path), results=results)
