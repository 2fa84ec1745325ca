"""Ready-made kernel-free sliders of the chapters, and the frames the live widgets draw.

The kernel-free twins of the live widgets in :mod:`classp.viz.widgets`:

* :func:`effective_lr_slider`: CLASSP's effective learning rate against the power p and the
  gradient size (chapter 3); its frame :func:`effective_lr_frame` draws :func:`effective_lr_trace`,
  the step sizes of the real optimizer on one weight;
* :func:`density_slider`: update density and forgetting against the threshold τ and p, one real run
  per grid point (chapters 4 and 12); its frame is :func:`density_frame`.

:class:`torch_threads` runs torch with few threads while a frame trains.  The machinery
(:class:`~classp.viz.kernel_free.KernelFreeSlider`, :func:`~classp.viz.kernel_free.slider_figure`,
:func:`~classp.viz.kernel_free.figure_to_png`) lives in :mod:`classp.viz.kernel_free` and is
re-exported here, so ``classp.viz.sliders.KernelFreeSlider`` keeps working.
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from .._validation import check_int, check_number
from .kernel_free import DEFAULT_DPI, DEFAULT_MAX_BYTES, KernelFreeSlider, figure_to_png, format_value, slider_figure

__all__ = ["effective_lr_trace", "effective_lr_frame", "effective_lr_slider", "density_frame", "density_slider",
           "torch_threads",
           # re-exported from classp.viz.kernel_free, their home
           "KernelFreeSlider", "slider_figure", "figure_to_png", "DEFAULT_DPI", "DEFAULT_MAX_BYTES"]


class torch_threads:
    """Context manager: run torch with ``n`` intra-op threads, then restore the previous number.

    The book's digits models are tiny (about 17,000 weights); for them one thread is faster than
    two, and much faster when other processes compete for the cores.

    Parameters
    ----------
    n : int or None, default 1
        Threads (>= 1); None leaves the setting alone.
    """

    def __init__(self, n: int | None = 1):
        self.n = check_int("n", n, 1, allow_none=True)
        self._old = None

    def __enter__(self):
        if self.n is not None:
            import torch

            self._old = torch.get_num_threads()
            torch.set_num_threads(self.n)
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            import torch

            torch.set_num_threads(self._old)
        return False


def _positive(name: str, value) -> float:
    return check_number(name, value, 0, low_open=True)


def effective_lr_trace(power: float, grad: float = 1.0, lr: float = 0.03, eps: float = 1e-8,
                       steps: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Step sizes of :class:`classp.CLASSP` on one weight that always receives the gradient ``grad``.

    The real optimizer runs (threshold 0, ``accumulate="updated"``); with the accumulator
    ``S_t = t |g|^p`` the effective learning rate is ``lr / (eps + t |g|^p)^(1/p)``.

    Parameters
    ----------
    power : float
        CLASSP's ``power`` p (> 0).
    grad : float, default 1.0
        The constant gradient (its sign does not matter; > 0).
    lr : float, default 0.03
    eps : float, default 1e-8
    steps : int, default 200
        Number of optimizer steps (2..100,000).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``effective_lr[t] = |w_{t+1} - w_t| / |g|`` and ``step[t] = |w_{t+1} - w_t|`` for t = 0..steps-1.
    """
    import torch

    from ..optim import CLASSP

    power, grad, lr = _positive("power", power), _positive("grad", grad), _positive("lr", lr)
    eps = check_number("eps", eps, 0)
    steps = check_int("steps", steps, 2, 100_000)
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = CLASSP([w], lr=lr, threshold=0.0, power=power, eps=eps)
    g = torch.full((1,), grad, dtype=torch.float64)
    moves = np.empty(steps)
    for t in range(steps):
        before = float(w.detach())
        w.grad = g.clone()
        opt.step()
        moves[t] = abs(float(w.detach()) - before)
    return moves / grad, moves


def effective_lr_frame(power: float, grad: float = 1.0, *, lr: float = 0.03, eps: float = 1e-8, steps: int = 200,
                       compare: Sequence[float] = (1.0, 2.0), figsize=(7.0, 2.6)):
    """Figure and numbers: CLASSP's effective learning rate and step size against the step, for one p.

    Left: effective learning rate ``lr/(eps + S_t)^(1/p)`` (log-log) for ``power`` and, thin, for
    the powers in ``compare``; right: the distance the weight has travelled, ``sum of |Δw|``.

    Parameters
    ----------
    power : float
        p (> 0).
    grad : float, default 1.0
        The constant gradient |g| the weight receives at every step (> 0).
    lr, eps, steps
        See :func:`effective_lr_trace`.
    compare : sequence of float, default (1, 2)
        Other powers drawn as thin grey references.
    figsize : (float, float), default (7, 2.6)

    Returns
    -------
    (matplotlib.figure.Figure, dict)
        The figure (not managed by pyplot) and the numbers ``effective lr at step 1``, ``... 10``,
        ``... 100`` (when ``steps`` reaches them) and ``distance after N steps``.
    """
    from matplotlib.figure import Figure

    power, grad = _positive("power", power), _positive("grad", grad)
    compare = [_positive("compare", q) for q in compare]
    eff, moves = effective_lr_trace(power, grad, lr, eps, steps)
    t = np.arange(1, len(eff) + 1)
    fig = Figure(figsize=figsize, layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    styles = ["--", ":", "-.", (0, (5, 1, 1, 1))]
    for q, ls in zip(compare, itertools.cycle(styles)):
        if q != power:
            e_q, m_q = effective_lr_trace(q, grad, lr, eps, steps)
            ax1.loglog(t, e_q, color="0.45", lw=1.2, ls=ls, label=f"p = {format_value(q)}")
            ax2.plot(t, np.cumsum(m_q), color="0.45", lw=1.2, ls=ls, label=f"p = {format_value(q)}")
    ax1.loglog(t, eff, color="C3", lw=2, label=f"p = {format_value(power)}")
    ax1.set_xlabel("step t (the weight is updated every step)")
    ax1.set_ylabel("effective learning rate")
    ax1.set_title(f"lr / (ε + S_t)^(1/p), |g| = {format_value(grad)}", fontsize=10)
    ax1.legend(fontsize=8, frameon=False)
    ax2.plot(t, np.cumsum(moves), color="C3", lw=2, label=f"p = {format_value(power)}")
    ax2.legend(fontsize=8, frameon=False)
    ax2.set_xlabel("step t")
    ax2.set_ylabel("distance travelled Σ|Δw|")
    ax2.set_title("How far the weight can still move", fontsize=10)
    nums = {}
    for s in (1, 10, 100):
        if s <= len(eff):
            nums[f"effective lr at step {s}"] = float(eff[s - 1])
    nums[f"distance after {len(eff)} steps"] = float(moves.sum())
    return fig, nums


def effective_lr_slider(powers: Sequence[float] = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0),
                        grads: Sequence[float] = (0.1, 1.0, 10.0), *, lr: float = 0.03, eps: float = 1e-8,
                        steps: int = 200, dpi: int = DEFAULT_DPI, initial: Mapping | None = None) -> KernelFreeSlider:
    """Kernel-free slider over p x |g| of CLASSP's effective learning rate (twin of
    :func:`classp.viz.widgets.effective_lr_explorer`).

    Parameters
    ----------
    powers : sequence of float
        Values of p on the first slider.
    grads : sequence of float
        Values of the constant gradient |g| on the second slider.
    lr, eps, steps
        See :func:`effective_lr_trace`.
    dpi : int, default 100
    initial : dict, optional
        E.g. ``{"p": 2.0, "|g|": 1.0}``.

    Returns
    -------
    KernelFreeSlider
        One small frame per (p, |g|) pair (18 by default), each a matplotlib render: the default
        slider takes seconds to build (the book's build times are in ``book/results/timings.json``).
    """
    powers = [_positive("powers", p) for p in powers]
    grads = [_positive("grads", g) for g in grads]
    lr, eps, steps = _positive("lr", lr), check_number("eps", eps, 0), check_int("steps", steps, 2, 100_000)
    return KernelFreeSlider.from_function(
        lambda p, g: effective_lr_frame(p, g, lr=lr, eps=eps, steps=steps),
        {"p": powers, "|g|": grads},
        title="CLASSP's effective learning rate against the power p",
        caption=f"One weight receiving the same gradient |g| at every step (lr = {lr:g}, ε = {eps:g}, "
                "threshold 0). Grey, dashed and dotted: p = 1 and p = 2 for reference.",
        alt="Log-log plot of CLASSP's effective learning rate against the step, and the distance the weight "
            "has travelled, for {values}",
        initial=initial or ({"p": 2.0} if 2.0 in powers else None),
        number_format=".4g", dpi=dpi)


def density_frame(threshold: float, power: float, *, sequence: str = "split-digits", seed: int = 0, epochs: int = 1,
                  lr: float | None = None, sequence_options: Mapping | None = None, figsize=(7.5, 2.7),
                  result=None, threads: int | None = 1):
    """Figure and numbers: update density per step and the per-weight "last task" map of one CLASSP run.

    Parameters
    ----------
    threshold : float
        CLASSP's τ (>= 0).
    power : float
        CLASSP's p (> 0).
    sequence : str, default "split-digits"
        A sequence name for :func:`classp.lab.train.run`.
    seed : int, default 0
    epochs : int, default 1
    lr : float, optional
        Default: the ``classp`` method's.
    sequence_options : dict, optional
    figsize : (float, float), default (7.5, 2.7)
    result : Result, optional
        Draw this run instead of training (for callers that already ran it).
    threads : int or None, default 1
        Torch threads while training (see :class:`torch_threads`; results do not depend on it).

    Returns
    -------
    (matplotlib.figure.Figure, dict)
        The figure (not managed by pyplot) and the numbers ``mean density``, ``weights never changed``,
        ``forgetting``, ``average accuracy``.
    """
    from matplotlib.figure import Figure

    from . import plots

    threshold, power = check_number("threshold", threshold, 0), _positive("power", power)
    if result is None:
        from ..lab.train import run

        with torch_threads(threads):
            result = run("classp", sequence, seed=seed, epochs=epochs, lr=lr,
                         options={"threshold": threshold, "power": power},
                         sequence_options=dict(sequence_options or {}) or None, progress=False)
    m = result.metrics()
    fig = Figure(figsize=figsize, layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.2, 1])
    plots.plot_density(result, ax=ax1, title=f"Update density, τ = {format_value(threshold)}, p = {format_value(power)}")
    plots.plot_last_changed(result, ax=ax2, title="Task that last changed each weight")
    for a in (ax1, ax2):
        a.title.set_fontsize(9)
        a.xaxis.label.set_fontsize(8)
        a.yaxis.label.set_fontsize(8)
        a.tick_params(labelsize=7)
    never = float(np.mean(np.asarray(result.last_changed) < 0))
    nums = {"mean density": float(m["mean_density"]), "weights never changed": never,
            "forgetting": float(m["forgetting"]), "average accuracy": float(m["average_accuracy"])}
    return fig, nums


def density_slider(thresholds: Sequence[float] = (0.0, 1e-8, 1e-6, 1e-5, 1e-4, 1e-3),
                   powers: Sequence[float] = (1.0, 2.0, 4.0), *, sequence: str = "split-digits", seed: int = 0,
                   epochs: int = 1, lr: float | None = None, sequence_options: Mapping | None = None,
                   dpi: int = DEFAULT_DPI, initial: Mapping | None = None, progress: bool = False) -> KernelFreeSlider:
    """Kernel-free slider over τ x p of CLASSP's update density and forgetting (one run per grid point;
    twin of :func:`classp.viz.widgets.density_explorer`).

    Parameters
    ----------
    thresholds : sequence of float
        Values of τ (>= 0).
    powers : sequence of float
        Values of p (> 0).
    sequence, seed, epochs, lr, sequence_options
        Passed to :func:`classp.lab.train.run` with method ``"classp"``.
    dpi : int, default 100
    initial : dict, optional
        E.g. ``{"τ": 1e-6, "p": 1.0}`` (default: τ = 1e-6 if present, the first p).
    progress : bool, default False
        A tqdm bar over the grid.

    Returns
    -------
    KernelFreeSlider
        One training run per grid point (18 by default): the default slider takes seconds to build
        (the book's build times are in ``book/results/timings.json``).
    """
    thresholds = [check_number("thresholds", t, 0) for t in thresholds]
    powers = [_positive("powers", p) for p in powers]
    seed = check_int("seed", seed, 0)
    seq_label = sequence + (f" ({', '.join(f'{k}={v}' for k, v in sequence_options.items())})" if sequence_options else "")
    if initial is None and 1e-6 in thresholds:
        initial = {"τ": 1e-6}
    return KernelFreeSlider.from_function(
        lambda tau, p: density_frame(tau, p, sequence=sequence, seed=seed, epochs=epochs, lr=lr,
                                     sequence_options=sequence_options),
        {"τ": thresholds, "p": powers},
        title=f"Update density and forgetting against τ and p (CLASSP on {seq_label}, seed {seed})",
        caption="Left: fraction of the weights changed by each step (dashed lines: task boundaries). "
                "Right: every weight of the network, coloured by the last task that changed it "
                "(grey: never changed, capacity left for future tasks).",
        alt="Update density per training step and a per-weight map of the task that last changed each weight, "
            "for CLASSP with {values}",
        initial=initial, number_format={"mean density": ".3f", "weights never changed": ".1%",
                                        "forgetting": ".3f", "average accuracy": ".3f"},
        dpi=dpi, progress=progress)
