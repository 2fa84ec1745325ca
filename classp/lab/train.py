"""Run a method over a task sequence: the one training loop of the book.

:func:`run` trains a model on the tasks of a sequence one after the other with a method from
:mod:`classp.lab.methods` and returns a :class:`classp.lab.results.Result`; :func:`compare` runs
several methods over several seeds.  Every chapter, widget, slider, check and the command line use
these (tables of the results: :mod:`classp.lab.tables`).

The loop, in plain tensors (no DataLoader):

* **Data order.** Each epoch draws a permutation of the task's training examples from a
  ``torch.Generator`` seeded with ``seed``; mini-batches of ``batch_size`` follow that order (the
  last one may be smaller).
* **Loss.** Cross-entropy on the logits (``model.train()`` mode), plus the method's regulariser
  penalty (EWC); the regulariser's ``after_step`` hook runs after every optimizer step.
  If ``sequence.scenario == "task"``, logits outside the task's ``classes`` are set to ``-inf``
  (in the loss and at evaluation): a multi-head setting with known task identity.
* **Evaluation.** ``model.eval()`` under ``torch.no_grad()`` on the held-out test split of every
  task: before training (``initial_accuracy``), after each task (a row of the accuracy matrix) and,
  with ``eval_every=k``, every ``k`` steps (``accuracy_curve``).
* **Update density.** A flat copy of the parameters is kept before every optimizer step and compared
  with the parameters after it: the fraction of entries that changed is the step's density, and
  the same comparison counts, per task, how often each weight changed (``update_counts``) and
  records which task changed it last (``last_changed``).
* **Determinism.** On CPU a run is a function of its arguments and ``seed``: the seed is passed to
  :func:`classp.data.get_sequence` (unless ``sequence_options`` holds a ``seed``; it draws e.g. the
  pixel permutations, never the held-out split) and sets the model's initialisation, the data
  order and dropout.  The global RNG state of the caller is restored afterwards.
* **Checkpoints** (:mod:`classp.lab.checkpoints`). With ``checkpoint=PATH`` the full state (model,
  optimizer, regulariser, RNG states, progress, curves) is written at the end of every task and every
  ``checkpoint_every`` steps; ``resume=True`` continues from it to exactly the uninterrupted result.
"""
from __future__ import annotations

import os
import time
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .checkpoints import fingerprint, read_checkpoint, write_checkpoint
from .methods import Method, get_method, list_methods
from .models import model_for
from .results import Result
from .._validation import MAX_SEED, check_choice, check_distinct, check_int

__all__ = ["run", "compare", "route_options", "evaluate", "has_validation", "OPTION_ALIASES"]

_EVAL_BATCH = 1024


@lru_cache(maxsize=4)
def _cached_sequence(name: str, seed: int, frozen_options: tuple):
    from ..data import get_sequence

    return get_sequence(name, seed=seed, **dict(frozen_options))


def _freeze(d: dict) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in d.items()))


def _get_sequence(sequence, seed: int, sequence_options: dict | None):
    from ..data import TaskSequence

    if isinstance(sequence, TaskSequence):
        if sequence_options:
            raise ValueError("sequence_options apply only when sequence is given by name")
        return sequence
    if not isinstance(sequence, str):
        raise ValueError(f"sequence must be a sequence name or a TaskSequence; got {type(sequence).__name__}")
    opts = dict(sequence_options or {})
    data_seed = int(opts.pop("seed", seed))
    try:
        key = _freeze(opts)
        hash(key)
    except TypeError:  # unhashable option values: no caching
        from ..data import get_sequence

        return get_sequence(sequence, seed=data_seed, **opts)
    return _cached_sequence(sequence, data_seed, key)


def _class_masks(seq) -> torch.Tensor | None:
    """(T, n_outputs) bool table of allowed logits per task, or None (all logits)."""
    if seq.scenario != "task":
        return None
    masks = torch.zeros(len(seq.tasks), seq.n_outputs, dtype=torch.bool)
    for i, t in enumerate(seq.tasks):
        masks[i, list(t.classes)] = True
    return masks


@torch.no_grad()
def evaluate(model: nn.Module, sequence, batch_size: int = _EVAL_BATCH, split: str = "test") -> np.ndarray:
    """Accuracy of ``model`` on the test (or validation) split of every task of ``sequence``.

    Parameters
    ----------
    model : torch.nn.Module
        Evaluated in ``eval()`` mode under ``torch.no_grad()``; its mode is restored.
    sequence : TaskSequence
        With ``scenario == "task"`` the logits outside each task's classes are masked.
    batch_size : int, default 1024
        Examples per forward pass.
    split : {"test", "validation"}, default "test"
        Which held-out split; "validation" needs a sequence built with ``validation > 0``.

    Returns
    -------
    numpy.ndarray, shape (T,)
        Fraction of correctly classified examples of each task's split.
    """
    batch_size = check_int("batch_size", batch_size, 1)
    split = check_choice("split", split, ("test", "validation"))
    if split == "validation" and not has_validation(sequence):
        raise ValueError(f"sequence {sequence.name!r} has no validation split; build it with "
                         "get_sequence(name, validation=0.1) (or sequence_options={'validation': 0.1} in run)")
    masks = _class_masks(sequence)
    was_training = model.training
    model.eval()
    accs = []
    try:
        for i, task in enumerate(sequence.tasks):
            x, y = (task.x_test, task.y_test) if split == "test" else (task.x_val, task.y_val)
            correct = 0
            for s in range(0, len(x), batch_size):
                xb, yb = x[s : s + batch_size], y[s : s + batch_size]
                out = model(xb) if masks is None else model(xb).masked_fill(~masks[i], float("-inf"))
                correct += int((out.argmax(dim=1) == yb).sum())
            accs.append(correct / max(1, len(x)))
    finally:
        model.train(was_training)
    return np.asarray(accs, dtype=np.float64)


def has_validation(sequence) -> bool:
    """True when every task of ``sequence`` has a validation split."""
    return all(getattr(t, "x_val", None) is not None for t in sequence.tasks)


def _flat(params) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in params])


def _epochs_per_task(epochs, T: int) -> list[int]:
    """One number of epochs per task: ``epochs`` itself (a list of ``T``) or ``T`` copies of one number."""
    if isinstance(epochs, (list, tuple)) or getattr(epochs, "ndim", 0) == 1:
        eps = [check_int(f"epochs[{i}]", e, 1) for i, e in enumerate(epochs)]
        if len(eps) != T:
            raise ValueError(f"epochs must be an integer or a list of T = {T} integers (one per task); "
                             f"got {len(eps)} values")
        return eps
    return [check_int("epochs", epochs, 1)] * T


def _stage_data(seq, i: int, joint: bool):
    """Training inputs, labels and per-example task ids for stage ``i``."""
    if not joint:
        t = seq.tasks[i]
        return t.x_train, t.y_train, torch.full((len(t.y_train),), i, dtype=torch.long)
    xs = [seq.tasks[k].x_train for k in range(i + 1)]
    ys = [seq.tasks[k].y_train for k in range(i + 1)]
    ids = [torch.full((len(seq.tasks[k].y_train),), k, dtype=torch.long) for k in range(i + 1)]
    return torch.cat(xs), torch.cat(ys), torch.cat(ids)


def run(method: str | Method = "classp", sequence="split-digits", *, seed: int = 0, model=None, epochs=1,
        batch_size: int = 32, lr: float | None = None, options: dict | None = None,
        sequence_options: dict | None = None, shuffle: bool = True, eval_every: int | None = None,
        progress: bool = True, checkpoint: str | os.PathLike | None = None, resume: bool = False,
        checkpoint_every: int | None = None, label: str | None = None,
        callback: Callable[[dict], None] | None = None, threads: int | None = None) -> Result:
    """Train with ``method`` on the tasks of ``sequence`` in order and measure everything.

    Parameters
    ----------
    method : str or Method, default "classp"
        A name from :func:`classp.lab.methods.list_methods`, or a :class:`~classp.lab.methods.Method`
        (registered or not).
    sequence : str or TaskSequence, default "split-digits"
        A name from :func:`classp.data.list_sequences` or a built sequence.
    seed : int, default 0
        Seed of the sequence (unless ``sequence_options["seed"]`` is given), the model's
        initialisation, the data order and dropout.
    model : None, str or torch.nn.Module
        None: the sequence's default model (``"mlp"`` for the digits sequences, ``"cnn"`` for
        ``mnist-fashion``, ``"text"`` for ``sentiment``); a name for :func:`classp.lab.models.make_model`;
        or a module, which is trained in place (and not re-initialised by ``seed``).
    epochs : int or list of int, default 1
        Passes over each task's training data (one value per task allowed).  For ``joint``, passes
        over the union at each stage.
    batch_size : int, default 32
        Mini-batch size (>= 1).
    lr : float, optional
        Learning rate; default: the method's (see ``get_method(method).defaults``).
    options : dict, optional
        Method hyper-parameters, e.g. ``{"threshold": 1e-6}`` or ``{"lam": 100, "mode": "online"}``;
        unknown keys raise ``ValueError`` listing the accepted ones.
    sequence_options : dict, optional
        Keyword arguments for :func:`classp.data.get_sequence` (only with a sequence name).
    shuffle : bool, default True
        Shuffle the training examples each epoch (False: the stored order).
    eval_every : int, optional
        Also evaluate on every task every ``eval_every`` steps (for ``accuracy_curve``).
    progress : bool, default True
        Show a tqdm progress bar (``tqdm.auto``: a widget in notebooks).
    checkpoint : path, optional
        File for checkpoints (written at the end of each task and every ``checkpoint_every`` steps).
    resume : bool, default False
        Continue from ``checkpoint`` if the file exists (its settings must match these); a finished
        checkpoint returns its result without training.
    checkpoint_every : int, optional
        Also checkpoint every this many steps (needs ``checkpoint``).
    label : str, optional
        Row label for tables and plots (default: the method name).
    callback : callable, optional
        Called after every step with a dict ``step``, ``task``, ``epoch``, ``loss``, ``density``
        (e.g. for live plots); an exception raised in it stops the run (the last checkpoint stays).
    threads : int, optional
        Torch CPU threads during the run (restored afterwards); None keeps the current setting.
        The book's models are small: ``threads=1`` is the fastest on a busy 2-core machine (about
        5x faster than 2 threads for the default split-digits run).

    Returns
    -------
    Result
        Accuracy matrix, initial accuracy, losses, density, update counts, state bytes, wall time.

    Raises
    ------
    ValueError
        For an unknown method, sequence, model or option, or an invalid setting.
    FloatingPointError
        If the training loss becomes NaN or infinite (lower the learning rate).

    Examples
    --------
    >>> from classp.lab import run
    >>> r = run("classp", "split-digits", seed=0, progress=False)   # doctest: +SKIP
    >>> r.metrics()["average_accuracy"]                              # doctest: +SKIP
    """
    m = get_method(method)
    seed = check_int("seed", seed, 0, MAX_SEED)
    batch_size = check_int("batch_size", batch_size, 1)
    eval_every = check_int("eval_every", eval_every, 1, allow_none=True)
    checkpoint_every = check_int("checkpoint_every", checkpoint_every, 1, allow_none=True)
    threads = check_int("threads", threads, 1, allow_none=True)
    if (checkpoint_every is not None or resume) and checkpoint is None:
        raise ValueError("checkpoint_every and resume need checkpoint=PATH")
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        return _run(m, sequence, seed, model, epochs, batch_size, lr, options, sequence_options, shuffle, eval_every,
                    progress, checkpoint, resume, checkpoint_every, label, callback)
    finally:
        if threads is not None:
            torch.set_num_threads(old_threads)


def _run(m, sequence, seed, model, epochs, batch_size, lr, options, sequence_options, shuffle, eval_every,
         progress, checkpoint, resume, checkpoint_every, label, callback) -> Result:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        seq = _get_sequence(sequence, seed, sequence_options)
        T = len(seq.tasks)
        if T < 1:
            raise ValueError("the sequence has no tasks")
        ep = _epochs_per_task(epochs, T)
        lr_value, opts = m.resolve(lr, options, seq.name)
        net, model_name = model_for(seq, model, seed)
        params = [p for p in net.parameters() if p.requires_grad]
        n_params = int(sum(p.numel() for p in params))
        learner = m.make(net, lr, options, seq.name)
        config = {
            "method": m.name, "label": label or m.name, "sequence": seq.name, "seed": seed,
            "model_name": model_name, "epochs": ep[0] if len(set(ep)) == 1 else ep, "batch_size": int(batch_size),
            "lr": lr_value, "lr_given": lr is not None, "options": opts, "options_given": dict(options or {}),
            "sequence_options": dict(sequence_options or {}), "shuffle": bool(shuffle),
            "eval_every": None if eval_every is None else int(eval_every), "scenario": seq.scenario,
            "n_outputs": int(seq.n_outputs), "n_params": n_params,
            "task_sizes": [[len(t.y_train), len(t.y_test)] for t in seq.tasks],
        }
        if has_validation(seq):
            config["validation_sizes"] = [len(t.y_val) for t in seq.tasks]
        loop = _Loop(m, seq, net, params, learner, ep, int(batch_size), bool(shuffle), eval_every, seed, config,
                     checkpoint, checkpoint_every, callback)
        if resume and checkpoint is not None and Path(checkpoint).exists():
            loop.load(checkpoint)
        return loop.run(progress)


class _Loop:
    """State of one run (everything a checkpoint holds)."""

    def __init__(self, method, seq, model, params, learner, epochs, batch_size, shuffle, eval_every, seed, config,
                 checkpoint, checkpoint_every, callback):
        self.method, self.seq, self.model, self.params, self.learner = method, seq, model, params, learner
        self.epochs, self.batch_size, self.shuffle, self.eval_every = epochs, batch_size, shuffle, eval_every
        self.config, self.checkpoint, self.checkpoint_every, self.callback = config, checkpoint, checkpoint_every, callback
        self.T = len(seq.tasks)
        self.masks = _class_masks(seq)
        self.gen = torch.Generator().manual_seed(seed)
        n = config["n_params"]
        # progress: next (task, epoch, batch) to run, the current epoch's order, steps taken,
        # whether the initial evaluation (started) and the last task (done) are behind us
        self.task, self.epoch, self.batch, self.perm, self.step, self.started, self.done = 0, 0, 0, None, 0, False, False
        # curves: per step (losses, density), per task (task_boundaries), per evaluation (eval_steps, curve)
        self.losses, self.density, self.task_boundaries, self.eval_steps, self.curve = [], [], [], [], []
        self.R = torch.zeros(self.T, self.T, dtype=torch.float64)
        # the same matrix on the validation splits, when the sequence has them (hyper-parameter choice)
        self.R_val = torch.zeros(self.T, self.T, dtype=torch.float64) if has_validation(seq) else None
        self.initial = torch.zeros(self.T, dtype=torch.float64)
        self.update_counts = torch.zeros(self.T, n, dtype=torch.int64)
        self.last_changed = torch.full((n,), -1, dtype=torch.int64)
        self.wall_s = 0.0

    # ------------------------------------------------------------------ checkpoints
    def state(self) -> dict:
        return {
            "fingerprint": fingerprint(self.config),
            "model": self.model.state_dict(),
            "learner": self.learner.state_dict(),
            "rng_torch": torch.get_rng_state(),
            "rng_shuffle": self.gen.get_state(),
            "progress": {"task": self.task, "epoch": self.epoch, "batch": self.batch, "step": self.step,
                         "started": self.started, "done": self.done},
            "perm": self.perm,
            "losses": torch.tensor(self.losses, dtype=torch.float64),
            "density": torch.tensor(self.density, dtype=torch.float64),
            "task_boundaries": list(self.task_boundaries),
            "eval_steps": list(self.eval_steps),
            "curve": torch.tensor(self.curve, dtype=torch.float64).reshape(len(self.curve), self.T),
            "R": self.R.clone(),
            "R_val": None if self.R_val is None else self.R_val.clone(),
            "initial": self.initial.clone(),
            "update_counts": self.update_counts.clone(),
            "last_changed": self.last_changed.clone(),
            "wall_s": self.wall_s + (time.perf_counter() - self._t0 if hasattr(self, "_t0") else 0.0),
        }

    def save(self) -> None:
        write_checkpoint(self.checkpoint, self.state())

    def load(self, path) -> None:
        st = read_checkpoint(path, self.config)
        self.model.load_state_dict(st["model"])
        self.learner.load_state_dict(st["learner"])
        torch.set_rng_state(st["rng_torch"])
        self.gen.set_state(st["rng_shuffle"])
        p = st["progress"]
        self.task, self.epoch, self.batch, self.step = p["task"], p["epoch"], p["batch"], p["step"]
        self.started, self.done = p["started"], p["done"]
        self.perm = st["perm"]
        self.losses = st["losses"].tolist()
        self.density = st["density"].tolist()
        self.task_boundaries = list(st["task_boundaries"])
        self.eval_steps = list(st["eval_steps"])
        self.curve = st["curve"].tolist()
        self.R, self.initial = st["R"], st["initial"]
        if self.R_val is not None:
            self.R_val = st["R_val"]
        self.update_counts, self.last_changed = st["update_counts"], st["last_changed"]
        self.wall_s = float(st["wall_s"])

    # ------------------------------------------------------------------ the loop
    def _evaluate(self) -> np.ndarray:
        accs = evaluate(self.model, self.seq)
        if not self.eval_steps or self.eval_steps[-1] != self.step:
            self.eval_steps.append(self.step)
            self.curve.append([float(a) for a in accs])
        return accs

    def run(self, progress: bool) -> Result:
        from tqdm.auto import tqdm

        self._t0 = time.perf_counter()
        sizes = [self._stage_n(i) for i in range(self.T)]
        total = sum(e * -(-n // self.batch_size) for e, n in zip(self.epochs, sizes))
        bar = tqdm(total=total, initial=self.step, disable=not progress, leave=False,
                   desc=f"{self.config['label']} · {self.seq.name} · seed {self.config['seed']}", unit="step")
        try:
            if not self.done:
                self._train(bar)
        finally:
            bar.close()
        self.wall_s += time.perf_counter() - self._t0
        del self._t0
        return self._result()

    def _stage_n(self, i: int) -> int:
        if self.method.joint:
            return sum(len(self.seq.tasks[k].y_train) for k in range(i + 1))
        return len(self.seq.tasks[i].y_train)

    def _train(self, bar) -> None:
        if not self.started:
            self.initial = torch.as_tensor(self._evaluate(), dtype=torch.float64)
            self.started = True
        model, learner = self.model, self.learner
        model.train()
        for i in range(self.task, self.T):
            x, y, ids = _stage_data(self.seq, i, self.method.joint)
            n = len(y)
            if self.epoch == 0 and self.batch == 0:
                learner.begin_task(i)
                self.task_boundaries.append(self.step)
            for e in range(self.epoch, self.epochs[i]):
                if self.perm is None:
                    self.perm = torch.randperm(n, generator=self.gen) if self.shuffle else torch.arange(n)
                perm = self.perm
                n_batches = -(-n // self.batch_size)
                for b in range(self.batch, n_batches):
                    idx = perm[b * self.batch_size : (b + 1) * self.batch_size]
                    self._one_step(x[idx], y[idx], ids[idx], i, e)
                    self.batch = b + 1
                    bar.update(1)
                    if self.checkpoint is not None and self.checkpoint_every and self.step % self.checkpoint_every == 0:
                        self.save()
                    if self.callback is not None:
                        self.callback({"step": self.step, "task": i, "epoch": e, "loss": self.losses[-1],
                                       "density": self.density[-1]})
                self.epoch, self.batch, self.perm = e + 1, 0, None
            # task (stage) finished
            t = self.seq.tasks[i]
            classes = None if self.masks is None else list(t.classes)
            learner.end_task(i, t.x_train, t.y_train, classes=classes, generator=self.gen)
            self.R[i] = torch.as_tensor(self._evaluate(), dtype=torch.float64)
            if self.R_val is not None:
                self.R_val[i] = torch.as_tensor(evaluate(self.model, self.seq, split="validation"), dtype=torch.float64)
            model.train()
            self.task, self.epoch, self.batch, self.perm = i + 1, 0, 0, None
            if i == self.T - 1:
                self.done = True
            if self.checkpoint is not None:
                self.save()

    def _one_step(self, xb, yb, idb, task_index, epoch) -> None:
        model, learner = self.model, self.learner
        learner.zero_grad()
        out = model(xb)
        if self.masks is not None:
            out = out.masked_fill(~self.masks[idb], float("-inf"))
        loss = F.cross_entropy(out, yb)
        lval = float(loss.detach())
        if not np.isfinite(lval):
            raise FloatingPointError(
                f"training loss became {lval} at step {self.step} (task {task_index}) with method "
                f"{self.method.name!r} and lr={self.config['lr']}; lower the learning rate")
        pen = learner.penalty()
        total = loss if pen is None else loss + pen
        total.backward()
        before = _flat(self.params)
        learner.step()
        changed = _flat(self.params) != before
        self.update_counts[task_index] += changed
        self.last_changed[changed] = task_index
        self.losses.append(lval)
        self.density.append(float(changed.sum()) / max(1, changed.numel()))
        self.step += 1
        if self.eval_every and self.step % self.eval_every == 0:
            self._evaluate()
            model.train()

    def _result(self) -> Result:
        cfg = dict(self.config)
        cfg["n_steps"] = self.step
        return Result(
            method=self.method.name, sequence=self.seq.name, seed=cfg["seed"], config=cfg,
            task_names=[t.name for t in self.seq.tasks], accuracy_matrix=self.R.numpy().copy(),
            validation_matrix=None if self.R_val is None else self.R_val.numpy().copy(),
            initial_accuracy=self.initial.numpy().copy(), losses=np.asarray(self.losses, dtype=np.float64),
            density=np.asarray(self.density, dtype=np.float64), task_boundaries=list(self.task_boundaries),
            eval_steps=np.asarray(self.eval_steps, dtype=np.int64),
            accuracy_curve=np.asarray(self.curve, dtype=np.float64).reshape(len(self.curve), self.T),
            update_counts=[u.numpy().copy() for u in self.update_counts], last_changed=self.last_changed.numpy().copy(),
            state_bytes=self.learner.state_bytes(), n_params=cfg["n_params"], wall_s=self.wall_s,
            label=cfg["label"], source=getattr(self.seq, "source", ""),
        )


#: Option names that a method may know under another name: a flat ``eps`` reaches a method that
#: accepts ``epsilon`` instead (``reference``, in the released code's vocabulary).
OPTION_ALIASES = {"eps": "epsilon"}


def _methods(methods: str | Method | Iterable[str | Method]) -> list[Method]:
    """``methods`` (one name or Method, or an iterable of them) as a non-empty list of Method."""
    items = [methods] if isinstance(methods, (str, Method)) else list(methods)
    if not items:
        raise ValueError("methods must name at least one method")
    return [get_method(m) for m in items]


def route_options(methods: str | Method | Iterable[str | Method], options: dict | None = None) -> dict[str, dict]:
    """Which hyper-parameters go to which method, as :func:`compare` and the command line route them.

    Parameters
    ----------
    methods : str, Method or iterable of them
        The methods of a comparison (names from :func:`classp.lab.methods.list_methods` or
        :class:`~classp.lab.methods.Method` objects, registered or not).
    options : dict, optional
        Either per method, ``{method name: {option: value}}`` (every key a method name, every
        value a dict), or one flat ``{option: value}``: each option then goes to every method that
        accepts it, under its own name or its alias in :data:`OPTION_ALIASES` (``eps`` reaches
        ``reference`` as ``epsilon`` unless ``epsilon`` is given too).

    Returns
    -------
    dict
        ``{method name: {option: value}}`` with one (possibly empty) entry per method, in order.

    Raises
    ------
    ValueError
        For a flat option that none of the methods accepts (naming the options they do accept),
        or per-method options for a method that is not compared.

    Examples
    --------
    >>> route_options(["sgd", "ewc", "reference"], {"lam": 5, "momentum": 0.9, "eps": 1e-6})
    {'sgd': {'momentum': 0.9}, 'ewc': {'lam': 5, 'momentum': 0.9}, 'reference': {'epsilon': 1e-06}}
    """
    ms = _methods(methods)
    names = [m.name for m in ms]
    options = dict(options or {})
    known = set(names) | set(list_methods())
    if options and all(k in known and isinstance(v, dict) for k, v in options.items()):
        stray = [k for k in options if k not in names]
        if stray:
            raise ValueError(f"options given for method(s) {', '.join(map(repr, stray))}, which are not among the "
                             f"methods compared ({', '.join(names)})")
        return {m.name: dict(options.get(m.name, {})) for m in ms}
    routed = {m.name: {} for m in ms}
    used = set()
    for m in ms:
        for key, value in options.items():
            alias = OPTION_ALIASES.get(key)
            if key in m.option_names:
                routed[m.name][key] = value
            elif alias in m.option_names and alias not in options:
                routed[m.name][alias] = value
            else:
                continue
            used.add(key)
    unused = [k for k in options if k not in used]
    if unused:
        accepted = sorted({o for m in ms for o in m.option_names})
        raise ValueError(f"option(s) {', '.join(map(repr, unused))} accepted by none of the methods "
                         f"{', '.join(names)}; their options: {', '.join(accepted) or 'none'}")
    return routed


def compare(methods: str | Method | Iterable[str | Method] | None = None, sequence="split-digits",
            seeds: Iterable[int] = (0, 1, 2), *, lr: float | dict | None = None, options: dict | None = None,
            progress: bool = True, checkpoint_dir: str | os.PathLike | None = None, failures: list | None = None,
            **run_kwargs) -> list[Result]:
    """Run several methods over several seeds on one sequence.

    Parameters
    ----------
    methods : iterable of str or Method, optional
        Method names or :class:`~classp.lab.methods.Method` objects (registered or not); default
        :data:`classp.lab.methods.MAIN_METHODS`. Distinct, like ``seeds``: a repeat is refused, not counted twice.
    sequence : str or TaskSequence, default "split-digits"
    seeds : iterable of int, default (0, 1, 2)
    lr : float or dict, optional
        One learning rate for every method, or ``{method name: lr}``; default: each method's.
    options : dict, optional
        Per method or flat, routed by :func:`route_options` (an option no listed method accepts
        raises ``ValueError``).
    progress : bool, default True
        Progress bars.
    checkpoint_dir : path, optional
        Checkpoint every run in this folder (``<method>-<sequence>-seed<seed>.pt``, at the end of
        each task) and resume from there: an interrupted comparison continues where it stopped.
    failures : list, optional
        If given, a run whose loss diverges (``FloatingPointError``) is appended to it as
        ``{"method", "label", "seed", "error"}`` and the comparison goes on; otherwise it raises.
    **run_kwargs
        Passed to :func:`run` (``epochs``, ``batch_size``, ``sequence_options``, ``model``,
        ``threads``, ...).

    Returns
    -------
    list of Result
        Method-major order: all seeds of the first method, then the next method.
    """
    from .methods import MAIN_METHODS

    ms = _methods(MAIN_METHODS if methods is None else methods)
    check_distinct("methods", [m.name for m in ms])
    seeds = check_distinct("seeds", [check_int(f"seeds[{i}]", s, 0, MAX_SEED) for i, s in enumerate(seeds)])
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    routed = route_options(ms, options)
    lrs = _route_lr(ms, lr)
    if checkpoint_dir is not None and ({"checkpoint", "resume"} & set(run_kwargs)):
        raise ValueError("give either checkpoint_dir (one checkpoint per run) or checkpoint/resume, not both")
    seq_name = sequence if isinstance(sequence, str) else getattr(sequence, "name", "sequence")
    out = []
    for m in ms:
        for s in seeds:
            if checkpoint_dir is not None:
                ckpt = Path(checkpoint_dir) / f"{m.name}-{seq_name}-seed{s}.pt"
                run_kwargs.update(checkpoint=ckpt, resume=True)
            try:
                out.append(run(m, sequence, seed=s, lr=lrs[m.name], options=routed[m.name] or None,
                               progress=progress, **run_kwargs))
            except FloatingPointError as exc:
                if failures is None:
                    raise
                failures.append({"method": m.name, "label": run_kwargs.get("label") or m.name, "seed": s,
                                 "error": str(exc)})
    return out


def _route_lr(ms: list[Method], lr) -> dict:
    """``{method name: lr or None}`` from one learning rate or a ``{method name: lr}`` dict."""
    if not isinstance(lr, dict):
        return {m.name: lr for m in ms}
    names = [m.name for m in ms]
    stray = [k for k in lr if k not in names]
    if stray:
        raise ValueError(f"lr given for method(s) {', '.join(map(repr, stray))}, which are not among the methods "
                         f"compared ({', '.join(names)})")
    return {m.name: lr.get(m.name) for m in ms}
