"""Speed and memory of one optimizer step: CLASSP against torch's Adagrad, Adam and SGD.

:func:`bench_step` times ``optimizer.step()`` on copies of the parameters of the paper's CNN
(:class:`classp.lab.models.MnistCNN`, 1,199,882 weights) with fixed random gradients.  The
optimizers are timed **interleaved** (one step of each in turn, ``repeats`` rounds, after
``warmup`` rounds) so that a slow-down of the machine affects them alike; the report gives the
median time per step, its ratio to ``torch.optim.Adagrad`` (foreach) and the bytes each optimizer
keeps in its state (:func:`classp.optim.state_bytes`).

This is a benchmark, not a test: numbers depend on the machine and its load.  Run it with
``python -m classp bench`` (``--json OUT`` saves the report with provenance: :func:`save_bench`
writes the project's header, schema :data:`BENCH_SCHEMA`, before the report's keys).
"""
from __future__ import annotations

import statistics
import time
from typing import Callable

import torch

from .results import write_json
from .._provenance import header
from .._validation import check_bool, check_choice, check_int, check_number
from ..optim import CLASSP, state_bytes

__all__ = ["bench_step", "format_bench", "bench_report", "save_bench", "OPTIMIZERS", "BENCH_SCHEMA"]

#: Name and version of the benchmark report written by :func:`save_bench`.
BENCH_SCHEMA = "classp-bench/1"


def _optimizers(include_compiled: bool) -> dict[str, Callable[[list], torch.optim.Optimizer]]:
    opts = {
        "CLASSP": lambda p: CLASSP(p),
        "Adagrad (foreach)": lambda p: torch.optim.Adagrad(p, lr=0.01, foreach=True),
        "Adagrad (fused)": lambda p: torch.optim.Adagrad(p, lr=0.01, fused=True),
        "Adam (foreach)": lambda p: torch.optim.Adam(p, lr=1e-3, foreach=True),
        "SGD (foreach)": lambda p: torch.optim.SGD(p, lr=0.1, foreach=True),
    }
    if include_compiled:
        opts["CLASSP (compile=True)"] = lambda p: CLASSP(p, compile=True)
    return opts


#: Names of the optimizers timed by default.
OPTIMIZERS = tuple(_optimizers(False))


def bench_step(repeats: int = 50, warmup: int = 5, include_compiled: bool = False, grad_scale: float = 1e-3,
               seed: int = 0, model: str = "cnn", threads: int | None = None) -> dict:
    """Time one optimizer step of several optimizers on the same parameters and gradients.

    Parameters
    ----------
    repeats : int, default 50
        Timed rounds (>= 1); each round steps every optimizer once, in turn.
    warmup : int, default 5
        Untimed rounds first (>= 0); state is allocated in the first one.
    include_compiled : bool, default False
        Also time ``CLASSP(compile=True)`` (its one-off ``torch.compile`` takes tens of seconds and
        happens in the warm-up).
    grad_scale : float, default 1e-3
        Standard deviation of the random gradients (> 0).  With CLASSP's default threshold 1e-6,
        about 32 % of the weights pass the threshold (``|g| > 1e-3``).
    seed : int, default 0
        Seed of the parameters and gradients.
    model : {"cnn", "mlp"}, default "cnn"
        Whose parameters: the paper's CNN (1x28x28 input) or the book's MLP (64 inputs).
    threads : int, optional
        Torch CPU threads while timing (restored afterwards); None keeps the current setting.

    Returns
    -------
    dict
        ``model``, ``n_params``, ``repeats``, ``warmup``, ``grad_scale``, ``threads`` and
        ``results``: one dict per optimizer with ``name``, ``median_ms``, ``iqr_ms`` (interquartile
        range), ``ratio_to_adagrad`` (median / median of Adagrad foreach) and ``state_bytes``.
    """
    repeats, warmup = check_int("repeats", repeats, 1), check_int("warmup", warmup, 0)
    include_compiled = check_bool("include_compiled", include_compiled)
    grad_scale = check_number("grad_scale", grad_scale, 0, low_open=True)
    seed, model = check_int("seed", seed, 0), check_choice("model", model, ("cnn", "mlp"))
    threads = check_int("threads", threads, 1, allow_none=True)
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        base, setups = _setups(model, seed, grad_scale, include_compiled)
        times = _time_steps(setups, repeats, warmup)
        n_threads = torch.get_num_threads()
    finally:
        torch.set_num_threads(old_threads)
    ref = statistics.median(times["Adagrad (foreach)"])
    results = []
    for name, opt in setups.items():
        ts = sorted(times[name])
        q = statistics.quantiles(ts, n=4) if len(ts) >= 2 else [ts[0], ts[0], ts[0]]
        med = statistics.median(ts)
        results.append({"name": name, "median_ms": med * 1e3, "iqr_ms": (q[2] - q[0]) * 1e3,
                        "ratio_to_adagrad": med / ref, "state_bytes": state_bytes(opt)})
    return {"model": model, "n_params": int(sum(p.numel() for p in base)), "repeats": repeats, "warmup": warmup,
            "grad_scale": grad_scale, "threads": n_threads, "results": results}


def _setups(model: str, seed: int, grad_scale: float, include_compiled: bool):
    """The model's parameters and, per optimizer, an optimizer over its own copy with fixed gradients."""
    from .models import make_model

    shape = (1, 28, 28) if model == "cnn" else (64,)
    base = [p.detach() for p in make_model(model, shape, 10, seed=seed).parameters()]
    gen = torch.Generator().manual_seed(seed)
    grads = [torch.randn(p.shape, generator=gen) * grad_scale for p in base]
    setups = {}
    for name, make in _optimizers(include_compiled).items():
        params = [torch.nn.Parameter(p.clone()) for p in base]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        setups[name] = make(params)
    return base, setups


def _time_steps(setups: dict, repeats: int, warmup: int) -> dict[str, list[float]]:
    """Seconds per ``step()`` of each optimizer over ``repeats`` interleaved rounds after ``warmup``."""
    times: dict[str, list[float]] = {name: [] for name in setups}
    with torch.no_grad():
        for r in range(warmup + repeats):
            for name, opt in setups.items():
                t0 = time.perf_counter()
                opt.step()
                dt = time.perf_counter() - t0
                if r >= warmup:
                    times[name].append(dt)
    return times


def bench_report(report: dict, command: str | None = None) -> dict:
    """A :func:`bench_step` report as a document: the provenance header, then the report's keys.

    Parameters
    ----------
    report : dict
        The output of :func:`bench_step`.
    command : str, optional
        The command line that regenerates it (default: how this process was started).

    Returns
    -------
    dict
        ``schema`` (:data:`BENCH_SCHEMA`), ``command``, ``created`` (UTC), ``versions``, ``machine``
        (see :func:`classp._provenance.header`), then ``model``, ``n_params``, ..., ``results``.
    """
    clash = sorted(set(report) & {"schema", "command", "created", "versions", "machine"})
    if clash:
        raise ValueError(f"report must not hold the header's keys; got {', '.join(clash)}")
    return {**header(BENCH_SCHEMA, command), **report}


def save_bench(path, report: dict, command: str | None = None) -> dict:
    """Write a :func:`bench_step` report with its provenance header as JSON (atomically).

    Parameters
    ----------
    path : str or os.PathLike
        Output file; parent directories are created.
    report : dict
        The output of :func:`bench_step`.
    command : str, optional
        The command line that regenerates the file (default: how this process was started).

    Returns
    -------
    dict
        The document that was written (see :func:`bench_report`).
    """
    doc = bench_report(report, command)
    write_json(path, doc)
    return doc


def format_bench(report: dict) -> str:
    """A plain-text table of a :func:`bench_step` report.

    Parameters
    ----------
    report : dict
        The output of :func:`bench_step`.

    Returns
    -------
    str
    """
    lines = [f"one optimizer step on the {report['model']}'s {report['n_params']:,} parameters "
             f"(median of {report['repeats']} interleaved rounds, {report['threads']} threads)"]
    w = max(len(r["name"]) for r in report["results"])
    lines.append(f"{'optimizer'.ljust(w)}  {'median ms':>9}  {'IQR ms':>7}  {'vs Adagrad':>10}  {'state MB':>8}")
    lines.append("-" * len(lines[-1]))
    for r in report["results"]:
        lines.append(f"{r['name'].ljust(w)}  {r['median_ms']:9.3f}  {r['iqr_ms']:7.3f}  {r['ratio_to_adagrad']:9.2f}x"
                     f"  {r['state_bytes'] / 1e6:8.2f}")
    return "\n".join(lines)
