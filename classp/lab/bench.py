"""Speed and memory of one optimizer step: CLASSP's three kernels against torch's Adagrad, Adam and SGD.

:func:`bench_step` times ``optimizer.step()`` on copies of the parameters of the paper's CNN
(:class:`classp.lab.models.MnistCNN`, 1,199,882 weights) with fixed random gradients: CLASSP with
its single-tensor kernel, its ``foreach`` kernel and ``compile=True`` (with and without the
finiteness check, which torch's optimizers do not make), against
``torch.optim.Adagrad`` (foreach and fused), ``Adam`` (foreach) and ``SGD`` (foreach). The
optimizers are timed **interleaved** (one step of each in turn, ``repeats`` rounds, after
``warmup`` rounds) so that a slow-down of the machine affects them alike; the report gives the
median time per step, its ratio to ``torch.optim.Adagrad`` (foreach), the bytes each optimizer
keeps in its state (:func:`classp.optim.state_bytes`), and the two ratios the project targets
(:data:`TARGETS`): CLASSP foreach against Adagrad foreach, CLASSP compiled (with and without its
finiteness check) against Adagrad fused.

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

__all__ = ["bench_step", "format_bench", "bench_report", "save_bench", "fix_malloc_thresholds", "OPTIMIZERS", "BENCH_SCHEMA",
           "TARGETS"]

#: Name and version of the benchmark report written by :func:`save_bench`.
BENCH_SCHEMA = "classp-bench/2"

#: The project's targets, as (CLASSP kernel, torch yardstick, largest ratio of their median times). The
#: compiled kernel is held to the target twice: as shipped (its finiteness check reads every gradient
#: once more before anything changes) and doing the same work as ``Adagrad(fused=True)``, which checks
#: nothing (``check_finite=False``).
TARGETS = (("CLASSP (foreach)", "Adagrad (foreach)", 1.15), ("CLASSP (compiled)", "Adagrad (fused)", 1.25),
           ("CLASSP (compiled, check_finite=False)", "Adagrad (fused)", 1.25))

COMPILED = "CLASSP (compiled)"


def _optimizers(include_compiled: bool) -> dict[str, Callable[[list], torch.optim.Optimizer]]:
    opts = {
        "CLASSP (single-tensor)": lambda p: CLASSP(p, foreach=False),
        "CLASSP (foreach)": lambda p: CLASSP(p, foreach=True),
        COMPILED: lambda p: CLASSP(p, compile=True),
        "CLASSP (compiled, check_finite=False)": lambda p: CLASSP(p, compile=True, check_finite=False),
        "Adagrad (foreach)": lambda p: torch.optim.Adagrad(p, lr=0.01, foreach=True),
        "Adagrad (fused)": lambda p: torch.optim.Adagrad(p, lr=0.01, fused=True),
        "Adam (foreach)": lambda p: torch.optim.Adam(p, lr=1e-3, foreach=True),
        "SGD (foreach)": lambda p: torch.optim.SGD(p, lr=0.1, foreach=True),
    }
    return {name: make for name, make in opts.items() if include_compiled or "compiled" not in name}


#: Names of the optimizers timed by default.
OPTIMIZERS = tuple(_optimizers(True))


def bench_step(repeats: int = 200, warmup: int = 10, include_compiled: bool = True, grad_scale: float = 1e-3,
               seed: int = 0, model: str = "cnn", threads: int | None = None, steady_malloc: bool = False) -> dict:
    """Time one optimizer step of several optimizers on the same parameters and gradients.

    Parameters
    ----------
    repeats : int, default 200
        Timed rounds (>= 1); each round steps every optimizer once, in turn.
    warmup : int, default 10
        Untimed rounds (>= 0) after one untimed step of each optimizer (which allocates its state
        and, for ``compile=True``, compiles).
    include_compiled : bool, default True
        Also time ``CLASSP(compile=True)``, with and without ``check_finite`` (its one-off ``torch.compile``, seconds to tens of
        seconds, happens in its first, untimed, step).
    grad_scale : float, default 1e-3
        Standard deviation of the random gradients (> 0).  With CLASSP's default threshold 1e-6,
        about 32 % of the weights pass the threshold (``|g| > 1e-3``).
    seed : int, default 0
        Seed of the parameters and gradients.
    model : {"cnn", "mlp"}, default "cnn"
        Whose parameters: the paper's CNN (1x28x28 input) or the book's MLP (64 inputs).
    threads : int, optional
        Torch CPU threads while timing (restored afterwards); None keeps the current setting.
    steady_malloc : bool, default False
        Fix glibc's allocator thresholds for the rest of the process (:func:`fix_malloc_thresholds`), so
        that temporaries are not returned to the system and page-faulted back at every step. Without
        it, on Linux, which optimizer pays for fresh memory depends on what the others freed before
        it, and the medians of the optimizers that allocate temporaries (the eager and foreach
        ones) can swing by a factor of two between runs.

    Returns
    -------
    dict
        ``model``, ``n_params``, ``repeats``, ``warmup``, ``grad_scale``, ``threads`` and
        ``results``: one dict per optimizer with ``name``, ``median_ms``, ``iqr_ms`` (interquartile
        range), ``ratio_to_adagrad`` (median / median of Adagrad foreach) and ``state_bytes``; and
        ``targets``: one dict per :data:`TARGETS` entry (whose optimizers were timed) with
        ``name``, ``baseline``, ``ratio`` (of the medians), ``target`` and ``met``; and ``malloc``
        ("steady" or "default").
    """
    repeats, warmup = check_int("repeats", repeats, 1), check_int("warmup", warmup, 0)
    include_compiled = check_bool("include_compiled", include_compiled)
    grad_scale = check_number("grad_scale", grad_scale, 0, low_open=True)
    seed, model = check_int("seed", seed, 0), check_choice("model", model, ("cnn", "mlp"))
    threads = check_int("threads", threads, 1, allow_none=True)
    malloc = "steady" if check_bool("steady_malloc", steady_malloc) and fix_malloc_thresholds() else "default"
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
    medians = {r["name"]: r["median_ms"] for r in results}
    targets = [{"name": name, "baseline": yardstick, "ratio": medians[name] / medians[yardstick], "target": target,
                "met": medians[name] / medians[yardstick] <= target}
               for name, yardstick, target in TARGETS if name in medians]
    return {"model": model, "n_params": int(sum(p.numel() for p in base)), "repeats": repeats, "warmup": warmup,
            "grad_scale": grad_scale, "threads": n_threads, "malloc": malloc, "results": results, "targets": targets}


def fix_malloc_thresholds() -> bool:
    """Fix glibc's ``malloc`` thresholds for this process (mmap above 1 GiB, trim above 2 GiB); False elsewhere.

    glibc adapts both thresholds to the sizes freed so far and gives the top of the heap back to the
    system when more than the trim threshold is free; a step that allocates a few temporaries of
    the CNN's 4.7 MB weight matrix then page-faults them back in, or not, depending on the order of
    earlier frees. Fixed thresholds (``mallopt``, the same as the environment variables
    ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_``) keep freed memory in the process. This
    cannot be undone: it is meant for a benchmark process.
    """
    import ctypes
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL("libc.so.6")
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 1 << 30)) and bool(libc.mallopt(m_trim_threshold, 1 << 31))


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
    """Seconds per ``step()`` of each optimizer over ``repeats`` interleaved rounds after ``warmup``.

    Every optimizer first takes one untimed step of its own (state allocation, compilation).
    """
    times: dict[str, list[float]] = {name: [] for name in setups}
    with torch.no_grad():
        for opt in setups.values():
            opt.step()
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
             f"(median of {report['repeats']} interleaved rounds, {report['threads']} threads"
             f"{', steady malloc' if report.get('malloc') == 'steady' else ''})"]
    w = max(len(r["name"]) for r in report["results"])
    lines.append(f"{'optimizer'.ljust(w)}  {'median ms':>9}  {'IQR ms':>7}  {'vs Adagrad':>10}  {'state MB':>8}")
    lines.append("-" * len(lines[-1]))
    for r in report["results"]:
        lines.append(f"{r['name'].ljust(w)}  {r['median_ms']:9.3f}  {r['iqr_ms']:7.3f}  {r['ratio_to_adagrad']:9.2f}x"
                     f"  {r['state_bytes'] / 1e6:8.2f}")
    for t in report.get("targets", []):
        lines.append(f"{t['name']} / {t['baseline']}: {t['ratio']:.2f} (target <= {t['target']:.2f}: "
                     f"{'met' if t['met'] else 'not met'})")
    return "\n".join(lines)
