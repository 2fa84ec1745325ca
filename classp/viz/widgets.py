"""Live ipywidgets for a running notebook (Jupyter, JupyterLab, Colab, VS Code).

* :func:`lab` -> :class:`StabilityPlasticityLab`: the stability-plasticity lab of chapter 12.
  Controls for the method, the task sequence, the learning rate, CLASSP's threshold τ, power p
  and decay, EWC's λ, the seed and the epochs; a *Train* button; a tqdm progress bar; and four
  figures redrawn in place: the accuracy matrix, accuracy over time with task boundaries, update
  density per step, and a per-weight map of the task that last changed each weight.
* :func:`effective_lr_explorer` -> :class:`EffectiveLrExplorer`: CLASSP's effective learning rate
  against the power p (and the gradient size), for part one.
* :func:`density_explorer` -> :class:`DensityExplorer`: update density against τ and p, one real
  run on split-digits per setting, for part one.

Each function returns the widget itself (an ``ipywidgets.VBox`` subclass), so the last line of a
cell displays it; its controls are attributes (``lab.method``, ``lab.button``, ...), so tests and
readers can drive it from code (``lab.threshold.value = 1e-4; lab.button.click(); lab.wait()``).
Figures are PNGs inside ``ipywidgets.HTML`` ``<img>`` elements, with alt text, so a built page
shows the last state (the book embeds widget state) and the redraw is thread-safe.

On the static website there is no kernel, so the book shows these widgets in Jupyter only (their
cells are tagged ``remove-cell`` and ``skip-execution``) and the website shows their kernel-free
twins, which draw precomputed grids: :func:`classp.viz.lab_page.kernel_free_lab` for the lab,
:func:`classp.viz.sliders.effective_lr_slider` and :func:`classp.viz.sliders.density_slider` for the
explorers.

Needs ``ipywidgets>=8`` (``pip install classp[widgets]``).
"""
from __future__ import annotations

import base64
import html
import math
import threading
import time
from typing import Any, Mapping

import numpy as np

try:
    import ipywidgets as widgets
except ImportError as _e:  # pragma: no cover - exercised only without ipywidgets
    raise ImportError("classp.viz.widgets needs ipywidgets>=8: pip install 'classp[widgets]' (or ipywidgets)") from _e

from .._validation import check_bool, check_choice, check_int, check_number
from .kernel_free import figure_to_png, format_value
from .sliders import density_frame, effective_lr_frame, torch_threads

__all__ = ["lab", "StabilityPlasticityLab", "effective_lr_explorer", "EffectiveLrExplorer", "density_explorer",
           "DensityExplorer", "LAB_METHODS", "LAB_SEQUENCES", "THRESHOLDS", "POWERS"]

#: Methods offered by the lab (registry names; CLASSP with "decay" unticked runs "classp-no-decay").
LAB_METHODS = ("classp", "sgd", "adam", "adagrad", "ewc", "joint")

#: Sequences offered by the lab: key -> (sequence name, sequence options, label).  All run offline.
LAB_SEQUENCES = {
    "split-digits": ("split-digits", {}, "split digits, task-incremental (a head per task)"),
    "split-digits-class": ("split-digits", {"scenario": "class"}, "split digits, class-incremental (one head)"),
    "permuted-digits": ("permuted-digits", {}, "permuted digits (3 domains)"),
    "digits-shared-head": ("digits-shared-head", {}, "digits → permuted digits, one head"),
}

#: Values of CLASSP's threshold τ offered by the sliders.
THRESHOLDS = (0.0, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2)

#: Values of CLASSP's power p offered by the sliders.
POWERS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)

_BATCH = 32


def _img_html(png: bytes, alt: str, max_width: str = "100%") -> str:
    return (f'<img src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}" alt="{html.escape(alt)}" '
            f'style="max-width:{max_width};height:auto">')


def _numbers_html(numbers: Mapping[str, Any], caption: str = "") -> str:
    rows = "".join(f'<tr><th scope="row" style="text-align:left;padding-right:1em;font-weight:normal">{html.escape(k)}'
                   f'</th><td style="text-align:right;font-family:monospace">{html.escape(v if isinstance(v, str) else f"{v:.4g}")}'
                   "</td></tr>" for k, v in numbers.items())
    cap = f'<caption style="text-align:left">{html.escape(caption)}</caption>' if caption else ""
    return f'<table style="border-collapse:collapse">{cap}{rows}</table>'


def _option_pairs(values) -> list[tuple[str, float]]:
    return [(format_value(v), v) for v in values]


def _one_of(name: str, value, choices) -> float:
    """The element of ``choices`` equal to the number ``value`` (float32 rounding forgiven), else ValueError."""
    x = check_number(name, value)
    for c in choices:
        if math.isclose(x, c, rel_tol=1e-6):
            return c
    return check_choice(name, x, choices)  # refuses, in the one message format


# ================================================================================ part-one explorers
class EffectiveLrExplorer(widgets.VBox):
    """CLASSP's effective learning rate ``lr/(eps + S_t)^(1/p)`` against the step, live.

    Attributes
    ----------
    power, grad, lr : ipywidgets controls
        The power p, the constant gradient |g| the weight receives, the learning rate.
    figure : ipywidgets.HTML
        The figure (an ``<img>`` with alt text); redrawn whenever a control changes.
    numbers : ipywidgets.HTML
        The effective learning rate at steps 1, 10, 100 and the distance travelled.
    draws : int
        How many times the figure was drawn.
    """

    def __init__(self, lr: float = 0.03, eps: float = 1e-8, steps: int = 200, power: float = 2.0,
                 grad: float = 1.0, dpi: int = 80):
        # the sliders' ranges: a value outside is refused, never clamped silently by the slider
        lr, power = check_number("lr", lr, 1e-3, 1), check_number("power", power, 0.25, 4)
        grad = check_number("grad", grad, 0.01, 100)
        self._eps, self._steps = check_number("eps", eps, 0), check_int("steps", steps, 2, 100_000)
        self._dpi = check_number("dpi", dpi, 10, 600)
        style = {"description_width": "9em"}
        self.power = widgets.FloatSlider(value=power, min=0.25, max=4.0, step=0.25, description="power p",
                                         continuous_update=False, style=style, readout_format=".2f")
        self.grad = widgets.FloatLogSlider(value=grad, base=10, min=-2, max=2, step=0.25, description="gradient |g|",
                                           continuous_update=False, style=style, readout_format=".3g")
        self.lr = widgets.FloatLogSlider(value=lr, base=10, min=-3, max=0, step=0.25, description="learning rate",
                                         continuous_update=False, style=style, readout_format=".3g")
        self.figure = widgets.HTML()
        self.numbers = widgets.HTML()
        self.draws = 0
        for c in (self.power, self.grad, self.lr):
            c.observe(self._redraw, names="value")
        super().__init__([widgets.HTML("<b>CLASSP's effective learning rate against the power p</b>"),
                          widgets.HBox([self.power, self.grad, self.lr], layout=widgets.Layout(flex_flow="row wrap")),
                          self.figure, self.numbers])
        self._redraw()

    def _redraw(self, change=None) -> None:
        fig, nums = effective_lr_frame(self.power.value, self.grad.value, lr=self.lr.value, eps=self._eps,
                                       steps=self._steps)
        alt = (f"Log-log plot of CLASSP's effective learning rate against the step and the distance travelled, "
               f"for p = {self.power.value:g}, |g| = {self.grad.value:.3g}, lr = {self.lr.value:.3g}")
        self.figure.value = _img_html(figure_to_png(fig, dpi=self._dpi), alt)
        self.numbers.value = _numbers_html(nums)
        self.draws += 1


def effective_lr_explorer(lr: float = 0.03, eps: float = 1e-8, steps: int = 200, power: float = 2.0,
                          grad: float = 1.0, dpi: int = 80) -> EffectiveLrExplorer:
    """A live widget: CLASSP's effective learning rate against the step for a chosen power p.

    One weight receives the same gradient |g| at every step (threshold 0); the real
    :class:`classp.CLASSP` runs, so the curve is ``lr / (eps + t|g|^p)^(1/p)``, which falls like
    ``t^(-1/p)``: fast for small p, slowly for large p.  Sliders: p, |g|, lr.

    Parameters
    ----------
    lr : float, default 0.03
        Initial learning rate, in [0.001, 1] (the slider's range).
    eps : float, default 1e-8
        CLASSP's eps (>= 0).
    steps : int, default 200
        Steps drawn (2..100,000).
    power : float, default 2.0
        Initial p, in [0.25, 4] (the slider's range).
    grad : float, default 1.0
        Initial |g|, in [0.01, 100] (the slider's range).
    dpi : int, default 80
        Resolution of the figure.

    Returns
    -------
    EffectiveLrExplorer
        An ``ipywidgets.VBox``; display it as the last line of a cell.
    """
    return EffectiveLrExplorer(lr=lr, eps=eps, steps=steps, power=power, grad=grad, dpi=dpi)


class DensityExplorer(widgets.VBox):
    """Update density and the per-weight "last task" map of one CLASSP run, against τ and p, live.

    Attributes
    ----------
    threshold, power, seed : ipywidgets controls
    figure, numbers, status : ipywidgets.HTML
    result : Result
        The run shown.
    runs : int
        Runs trained so far (settings seen before come from a cache).
    """

    def __init__(self, sequence: str = "split-digits", seed: int = 0, epochs: int = 1, threshold: float = 1e-6,
                 power: float = 1.0, sequence_options: Mapping | None = None, dpi: int = 80, threads: int | None = 1):
        threshold, power = _one_of("threshold", threshold, THRESHOLDS), _one_of("power", power, POWERS)
        seed = check_int("seed", seed, 0, 99)
        self._kw = dict(sequence=sequence, epochs=check_int("epochs", epochs, 1),
                        sequence_options=dict(sequence_options or {}) or None,
                        threads=check_int("threads", threads, 1, allow_none=True))
        self._dpi = check_number("dpi", dpi, 10, 600)
        self._cache: dict = {}
        self.runs = 0
        self.result = None
        style = {"description_width": "7em"}
        self.threshold = widgets.SelectionSlider(options=_option_pairs(THRESHOLDS), value=threshold,
                                                 description="threshold τ", continuous_update=False, style=style)
        self.power = widgets.SelectionSlider(options=_option_pairs(POWERS), value=power, description="power p",
                                             continuous_update=False, style=style)
        self.seed = widgets.BoundedIntText(value=seed, min=0, max=99, description="seed", style=style,
                                           layout=widgets.Layout(width="14em"))
        self.figure, self.numbers, self.status = widgets.HTML(), widgets.HTML(), widgets.HTML()
        for c in (self.threshold, self.power, self.seed):
            c.observe(self._redraw, names="value")
        super().__init__([widgets.HTML(f"<b>Update density against τ and p (CLASSP on {html.escape(sequence)})</b>"),
                          widgets.HBox([self.threshold, self.power, self.seed],
                                       layout=widgets.Layout(flex_flow="row wrap")),
                          self.status, self.figure, self.numbers])
        self._redraw()

    def _redraw(self, change=None) -> None:
        from ..lab.train import run

        tau, p, seed = self.threshold.value, self.power.value, int(self.seed.value)
        key = (tau, p, seed)
        if key not in self._cache:
            self.status.value = "<i>training…</i>"
            with torch_threads(self._kw["threads"]):
                self._cache[key] = run("classp", self._kw["sequence"], seed=seed, epochs=self._kw["epochs"],
                                       options={"threshold": tau, "power": p},
                                       sequence_options=self._kw["sequence_options"], progress=False)
            self.runs += 1
        self.result = self._cache[key]
        fig, nums = density_frame(tau, p, result=self.result)
        alt = (f"Update density per training step and per-weight map of the task that last changed each weight, "
               f"CLASSP with τ = {format_value(tau)}, p = {format_value(p)}, seed {seed}")
        self.figure.value = _img_html(figure_to_png(fig, dpi=self._dpi), alt)
        self.numbers.value = _numbers_html({"mean density": f"{nums['mean density']:.3f}",
                                            "weights never changed": f"{nums['weights never changed']:.1%}",
                                            "forgetting": f"{nums['forgetting']:.3f}",
                                            "average accuracy": f"{nums['average accuracy']:.3f}"})
        self.status.value = ""


def density_explorer(sequence: str = "split-digits", seed: int = 0, epochs: int = 1, threshold: float = 1e-6,
                     power: float = 1.0, sequence_options: Mapping | None = None, dpi: int = 80) -> DensityExplorer:
    """A live widget: CLASSP's update density per step against the threshold τ and the power p.

    Every new (τ, p, seed) trains CLASSP on the sequence once (about half a second on split-digits)
    and draws the density per step and the per-weight map of the task that last changed each
    weight, with the mean density, the fraction of weights never changed, forgetting and average
    accuracy.  Settings seen before are redrawn from a cache.

    Parameters
    ----------
    sequence : str, default "split-digits"
        Sequence name for :func:`classp.lab.train.run`.
    seed : int, default 0
        Initial seed (0..99).
    epochs : int, default 1
    threshold : float, default 1e-6
        Initial τ, one of :data:`THRESHOLDS`.
    power : float, default 1.0
        Initial p, one of :data:`POWERS`.
    sequence_options : dict, optional
    dpi : int, default 80

    Returns
    -------
    DensityExplorer
        An ``ipywidgets.VBox``; display it as the last line of a cell.
    """
    return DensityExplorer(sequence=sequence, seed=seed, epochs=epochs, threshold=threshold, power=power,
                           sequence_options=sequence_options, dpi=dpi)


# ================================================================================ the lab
def _run_name(method: str, decay: bool) -> str:
    """The registry method the lab runs: ``classp-no-decay`` for CLASSP with its decay off."""
    return "classp-no-decay" if method == "classp" and not decay else method


class StabilityPlasticityLab(widgets.VBox):
    """The stability-plasticity lab: pick a method and its knobs, train, see what was kept.

    Build it with :func:`lab`.  Pressing *Train* (or calling :meth:`train`) trains the chosen
    method over the chosen sequence with :func:`classp.lab.train.run` and redraws the four figures
    and the metrics in place.  While a run trains, every control is disabled and further clicks
    are ignored (counted in :attr:`ignored_clicks`).  With ``background=True`` (the default) a
    click trains in a background thread, so the kernel stays responsive and the progress bar
    moves; :meth:`wait` blocks until it is done.

    Attributes
    ----------
    method, sequence, lr, threshold, power, decay, ewc_lambda, seed, epochs : ipywidgets controls
    button : ipywidgets.Button
    progress : ipywidgets.Box
        Holds the tqdm progress bar of the current run.
    status, metrics : ipywidgets.HTML
    figures : dict of ipywidgets.HTML
        ``"matrix"``, ``"curves"``, ``"density"``, ``"last_changed"``: ``<img>`` elements with alt text.
    result : Result or None
        The last finished run.
    runs : int
        Runs finished.
    ignored_clicks : int
        Clicks that arrived while a run was training.
    error : Exception or None
        The exception of the last run, if it failed (shown in :attr:`status`).
    """

    def __init__(self, method: str = "classp", sequence: str = "split-digits", lr: float | None = None,
                 threshold: float = 1e-6, power: float = 1.0, decay: bool = True, ewc_lambda: float | None = None,
                 seed: int = 0, epochs: int = 2, background: bool = True, threads: int | None = 1, dpi: int = 72):
        from ..lab.methods import get_method

        method = check_choice("method", method, LAB_METHODS)
        sequence = check_choice("sequence", sequence, tuple(LAB_SEQUENCES))
        threshold, power = _one_of("threshold", threshold, THRESHOLDS), _one_of("power", power, POWERS)
        decay = check_bool("decay", decay)
        ewc_lambda = check_number("ewc_lambda", ewc_lambda, 1, 1e5, allow_none=True)
        if ewc_lambda is None:  # the registry's EWC default (the value the book's EWC runs use)
            ewc_lambda = get_method("ewc").defaults["lam"]
        seed, epochs = check_int("seed", seed, 0, 99), check_int("epochs", epochs, 1, 10)
        lr = check_number("lr", lr, 1e-4, 1, allow_none=True)
        self.background = check_bool("background", background)
        self.threads = check_int("threads", threads, 1, allow_none=True)
        self.dpi = check_number("dpi", dpi, 10, 600)
        self.result = None
        self.runs = 0
        self.ignored_clicks = 0
        self.error: Exception | None = None
        self._busy = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._sequences: dict = {}

        st = {"description_width": "8.5em"}
        wide = widgets.Layout(width="26em")
        self.method = widgets.Dropdown(options=list(LAB_METHODS), value=method, description="method", style=st,
                                       layout=wide)
        self.sequence = widgets.Dropdown(options=[(v[2], k) for k, v in LAB_SEQUENCES.items()], value=sequence,
                                         description="task sequence", style=st, layout=wide)
        self.lr = widgets.FloatLogSlider(value=lr or get_method(_run_name(method, decay)).defaults["lr"], base=10,
                                         min=-4, max=0,
                                         step=0.05, description="learning rate", readout_format=".3g", style=st,
                                         layout=wide, continuous_update=False)
        self.threshold = widgets.SelectionSlider(options=_option_pairs(THRESHOLDS), value=threshold,
                                                 description="CLASSP τ", style=st, layout=wide)
        self.power = widgets.SelectionSlider(options=_option_pairs(POWERS), value=power, description="CLASSP p",
                                             style=st, layout=wide)
        self.decay = widgets.Checkbox(value=decay, description="CLASSP decay (adjustment suppression)",
                                      indent=True, style=st, layout=wide)
        self.ewc_lambda = widgets.FloatLogSlider(value=ewc_lambda, base=10, min=0, max=5, step=0.25,
                                                 description="EWC λ", readout_format=".3g", style=st, layout=wide,
                                                 continuous_update=False)
        self.seed = widgets.BoundedIntText(value=seed, min=0, max=99, description="seed", style=st,
                                           layout=widgets.Layout(width="14em"))
        self.epochs = widgets.IntSlider(value=epochs, min=1, max=10, description="epochs per task", style=st,
                                        layout=wide, continuous_update=False)
        self.button = widgets.Button(description="Train", button_style="primary", icon="play",
                                     tooltip="Train the chosen method on the chosen sequence")
        self.progress = widgets.Box(layout=widgets.Layout(min_height="2.2em"))
        self.status = widgets.HTML("Choose the settings and press <b>Train</b>.")
        self.metrics = widgets.HTML()
        self.figures = {k: widgets.HTML(layout=widgets.Layout(width="48%", min_width="300px"))
                        for k in ("matrix", "curves", "density", "last_changed")}
        self.controls = (self.method, self.sequence, self.lr, self.threshold, self.power, self.decay,
                         self.ewc_lambda, self.seed, self.epochs)

        self.method.observe(self._method_changed, names="value")
        self.decay.observe(self._method_changed, names="value")
        self.button.on_click(self._on_click)
        self._enable(True)

        controls = widgets.VBox([self.method, self.sequence, self.lr, self.threshold, self.power, self.decay,
                                 self.ewc_lambda, self.seed, self.epochs,
                                 widgets.HBox([self.button, self.progress])])
        grid = widgets.HBox([self.figures["matrix"], self.figures["curves"], self.figures["density"],
                             self.figures["last_changed"]], layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([widgets.HTML("<b>Stability–plasticity lab</b>"),
                          widgets.HBox([controls, widgets.VBox([self.status, self.metrics])],
                                       layout=widgets.Layout(flex_flow="row wrap")),
                          grid])

    # ------------------------------------------------------------------ settings
    def settings(self) -> dict:
        """The keyword arguments of :func:`classp.lab.train.run` for the current controls.

        Returns
        -------
        dict
            ``method`` (``"classp-no-decay"`` when CLASSP's decay is off), ``sequence``,
            ``sequence_options``, ``seed``, ``epochs``, ``lr``, ``options``, ``batch_size``.
        """
        m = _run_name(self.method.value, self.decay.value)
        options = None
        if m in ("classp", "classp-no-decay"):
            options = {"threshold": float(self.threshold.value), "power": float(self.power.value)}
        elif m == "ewc":
            options = {"lam": float(self.ewc_lambda.value)}
        name, seq_opts, _ = LAB_SEQUENCES[self.sequence.value]
        return {"method": m, "sequence": name, "sequence_options": dict(seq_opts) or None,
                "seed": int(self.seed.value), "epochs": int(self.epochs.value), "lr": float(self.lr.value),
                "options": options, "batch_size": _BATCH}

    def _method_changed(self, change=None) -> None:
        # a new method, or CLASSP's decay ticked or unticked: the learning rate jumps to the default
        # of the method that will run (classp-no-decay has its own, SGD-like rate)
        from ..lab.methods import get_method

        self.lr.value = get_method(_run_name(self.method.value, self.decay.value)).defaults["lr"]
        self._enable(not self._busy)

    def _enable(self, on: bool) -> None:
        m = self.method.value
        relevant = {"classp": (self.threshold, self.power, self.decay), "ewc": (self.ewc_lambda,)}.get(m, ())
        for c in self.controls:
            specific = c in (self.threshold, self.power, self.decay, self.ewc_lambda)
            c.disabled = not on or (specific and c not in relevant)
        self.button.disabled = not on
        self.button.description = "Train" if on else "Training…"

    @property
    def busy(self) -> bool:
        """True while a run is training."""
        return self._busy

    # ------------------------------------------------------------------ training
    def _on_click(self, _button=None) -> None:
        if not self._begin():
            return
        if self.background:
            self._thread = threading.Thread(target=self._train_body, name="classp-lab", daemon=True)
            self._thread.start()
        else:
            self._train_body()

    def _begin(self) -> bool:
        with self._lock:
            if self._busy:
                self.ignored_clicks += 1
                return False
            self._busy = True
        self._enable(False)
        return True

    def train(self):
        """Train with the current settings now (in this thread) and redraw.

        Returns
        -------
        Result or None
            The run, or None if a run was already training (nothing happens then) or the run failed
            (see :attr:`error` and :attr:`status`).
        """
        if not self._begin():
            return None
        self._train_body()
        return None if self.error is not None else self.result

    def wait(self, timeout: float | None = None):
        """Block until a run started by a click has finished.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait at most.

        Returns
        -------
        Result or None
            The last finished run.
        """
        t = self._thread
        if t is not None:
            t.join(timeout)
        return self.result

    def _total_steps(self, kw: dict) -> int:
        from ..lab.methods import get_method
        from ..data import get_sequence

        key = (kw["sequence"], kw["seed"], tuple(sorted((kw["sequence_options"] or {}).items())))
        if key not in self._sequences:
            self._sequences[key] = get_sequence(kw["sequence"], seed=kw["seed"], **(kw["sequence_options"] or {}))
        sizes = [len(t.y_train) for t in self._sequences[key].tasks]
        if get_method(kw["method"]).joint:
            sizes = list(np.cumsum(sizes))
        return int(sum(kw["epochs"] * -(-n // kw["batch_size"]) for n in sizes))

    def _train_body(self) -> None:
        from tqdm.notebook import tqdm as tqdm_notebook

        from ..lab.train import run

        self.error = None
        bar = None
        try:
            kw = self.settings()
            total = self._total_steps(kw)
            # smoothing=0: the rate shown is the run's average (evaluations pause the steps)
            bar = tqdm_notebook(total=total, display=False, leave=True, unit="step", mininterval=0.2,
                                smoothing=0, desc=f"{kw['method']} · {kw['sequence']}")
            self.progress.children = (bar.container,)
            self.status.value = f"Training <code>{html.escape(kw['method'])}</code>…"
            eval_every = max(1, total // 40)
            t0 = time.perf_counter()
            with torch_threads(self.threads):
                result = run(kw["method"], kw["sequence"], seed=kw["seed"], epochs=kw["epochs"], lr=kw["lr"],
                             options=kw["options"], sequence_options=kw["sequence_options"],
                             batch_size=kw["batch_size"], eval_every=eval_every, progress=False,
                             callback=lambda info: bar.update(1))
            wall = time.perf_counter() - t0
            bar.close()
            self._draw(result, kw)
            self.result = result
            self.runs += 1
            self.status.value = (f"Trained <code>{html.escape(kw['method'])}</code> on "
                                 f"{html.escape(LAB_SEQUENCES[self.sequence.value][2])} in {wall:.1f} s "
                                 f"({result.n_steps} steps).")
        except Exception as e:  # shown to the reader; the lab stays usable
            self.error = e
            if bar is not None:
                bar.close()
            self.status.value = (f'<span style="color:#b00020">Training failed: {html.escape(type(e).__name__)}: '
                                 f"{html.escape(str(e))}</span>")
        finally:
            with self._lock:
                self._busy = False
            self._enable(True)

    def _draw(self, r, kw: dict) -> None:
        from matplotlib.figure import Figure

        from . import plots

        what = f"{r.label}, {r.sequence}, seed {r.seed}"
        T = r.n_tasks
        fig = Figure(figsize=(1.6 + 0.55 * T, 1.2 + 0.5 * T), layout="constrained")
        plots.plot_accuracy_matrix(r, ax=fig.add_subplot(), title="Accuracy matrix")
        pngs = {"matrix": (figure_to_png(fig, dpi=self.dpi),
                           f"Accuracy matrix of {what}: row i is the test accuracy on every task after training task i")}
        fig = Figure(figsize=(5.2, 3.2), layout="constrained")
        plots.plot_accuracy_curves(r, ax=fig.add_subplot(), title="Accuracy over time")
        pngs["curves"] = (figure_to_png(fig, dpi=self.dpi),
                          f"Test accuracy on every task over the training steps of {what}, dashed lines at task boundaries")
        fig = Figure(figsize=(5.2, 3.2), layout="constrained")
        plots.plot_density(r, ax=fig.add_subplot(), title="Update density per step")
        pngs["density"] = (figure_to_png(fig, dpi=self.dpi),
                           f"Fraction of the weights changed by each training step of {what}")
        fig = Figure(figsize=(5.8, 3.4), layout="constrained")
        plots.plot_last_changed(r, ax=fig.add_subplot(), title="Task that last changed each weight")
        pngs["last_changed"] = (figure_to_png(fig, dpi=self.dpi),
                                f"Every weight of the network coloured by the last task that changed it, grey if "
                                f"never changed, for {what}")
        for k, (png, alt) in pngs.items():
            self.figures[k].value = _img_html(png, alt)
        m = r.metrics()
        never = float(np.mean(np.asarray(r.last_changed) < 0))
        self.metrics.value = _numbers_html({
            "average accuracy": f"{m['average_accuracy']:.3f}",
            "forgetting": f"{m['forgetting']:.3f}",
            "backward transfer": f"{m['backward_transfer']:.3f}",
            "mean update density": f"{m['mean_density']:.3f}",
            "weights never changed": f"{never:.1%}",
            "optimizer state": f"{r.state_bytes:,} bytes",
        }, caption=f"{r.label} · lr {kw['lr']:.3g} · {r.n_steps} steps")


def lab(method: str = "classp", sequence: str = "split-digits", *, lr: float | None = None, threshold: float = 1e-6,
        power: float = 1.0, decay: bool = True, ewc_lambda: float | None = None, seed: int = 0, epochs: int = 2,
        background: bool = True, threads: int | None = 1, dpi: int = 72) -> StabilityPlasticityLab:
    """The stability-plasticity lab widget (chapter 12).

    Parameters
    ----------
    method : str, default "classp"
        Initial method, one of :data:`LAB_METHODS`.
    sequence : str, default "split-digits"
        Initial sequence, a key of :data:`LAB_SEQUENCES`.
    lr : float, optional
        Initial learning rate in [1e-4, 1] (default: the registry's for the method that runs, i.e.
        ``classp-no-decay``'s when CLASSP's decay is off). Changing the method or the decay later
        resets it to that default.
    threshold : float, default 1e-6
        CLASSP's τ, one of :data:`THRESHOLDS`.
    power : float, default 1.0
        CLASSP's p, one of :data:`POWERS`.
    decay : bool, default True
        CLASSP's decay (False runs ``classp-no-decay``).
    ewc_lambda : float, optional
        EWC's λ in [1, 1e5] (default: the registry's, ``get_method("ewc").defaults["lam"]``).
    seed : int, default 0
        In [0, 99].
    epochs : int, default 2
        Epochs per task in [1, 10].
    background : bool, default True
        Train clicks in a background thread (False: in the kernel's thread).
    threads : int or None, default 1
        Torch threads while training (see :class:`classp.viz.sliders.torch_threads`).
    dpi : int, default 72
        Resolution of the figures.

    Returns
    -------
    StabilityPlasticityLab
        An ``ipywidgets.VBox``: display it, then press *Train* (or call ``.train()``).
    """
    return StabilityPlasticityLab(method=method, sequence=sequence, lr=lr, threshold=threshold, power=power,
                                  decay=decay, ewc_lambda=ewc_lambda, seed=seed, epochs=epochs,
                                  background=background, threads=threads, dpi=dpi)
