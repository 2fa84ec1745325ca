"""Per-weight importance penalties: the quadratic pull towards anchors that EWC, SI and MAS share,
Synaptic Intelligence (SI) and Memory Aware Synapses (MAS).

The three regularisers differ only in how they measure the importance ``Omega_i`` of a weight; once
a task is finished each of them records the weights as an anchor ``theta*`` and, while later tasks
are trained, adds

.. math::

    \\text{penalty}(\\theta) = s \\sum_k \\sum_i \\Omega_{k,i}\\,(\\theta_i - \\theta^*_{k,i})^2

to the loss, with the scale ``s`` of each paper (EWC ``lam/2``, SI ``c``, MAS ``lam``).
:class:`ImportancePenalty` holds the (importance, anchor) pairs, computes that penalty and saves
and restores them; :class:`classp.lab.regularisers.EWC`, :class:`SI` and :class:`MAS` add the
measure. All three follow :class:`classp.lab.regularisers.Regulariser` (and are re-exported there).

* **SI** (Zenke, Poole & Ganguli 2017, "Continual learning through synaptic intelligence", ICML)
  measures how much each weight's movement lowered the loss along the training path.
* **MAS** (Aljundi, Babiloni, Elhoseiny, Rohrbach & Tuytelaars 2018, "Memory aware synapses:
  learning what (not) to forget", ECCV) measures how sensitive the network's output is to each
  weight, on the finished task's inputs (no labels needed).

Per-sample gradients (:func:`per_sample_grad_sums`, used by MAS here and by EWC's Fisher) use
:func:`torch.func.vmap`, with a plain loop as a fall-back for models ``vmap`` cannot handle.
"""
from __future__ import annotations

import warnings
from typing import Callable, Sequence

import torch
from torch import nn

from .._validation import check_choice, check_int, check_number

__all__ = ["ImportancePenalty", "SI", "MAS", "output_sensitivity", "per_sample_grad_sums", "draw_subset",
           "named_trainable"]


def named_trainable(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """``(name, parameter)`` pairs of the model's parameters that require gradients, in order."""
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def draw_subset(x: torch.Tensor, y: torch.Tensor, limit: int | None,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """At most ``limit`` of the examples ``(x, y)``, drawn without replacement.

    All of them when ``limit`` is None or not smaller than ``len(x)``; otherwise the first
    ``limit`` of ``torch.randperm(len(x), generator=generator)`` (default generator: seeded with 0,
    so the subset is deterministic).
    """
    if limit is None or len(x) <= limit:
        return x, y
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    idx = torch.randperm(len(x), generator=generator)[:limit]
    return x[idx], y[idx]


def per_sample_grad_sums(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                         loss_one: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                         transform: Callable[[torch.Tensor], torch.Tensor], *, batch_size: int = 64,
                         named: list | None = None, how: str = "auto") -> list[torch.Tensor]:
    """``sum_n transform(d loss_one(model(x_n), y_n) / d theta)`` for every parameter.

    Parameters
    ----------
    model : torch.nn.Module
        Evaluated in ``eval()`` mode (no dropout); its mode is restored afterwards.
    x, y : torch.Tensor
        Inputs and per-example targets (``y`` is handed to ``loss_one``, which may ignore it).
    loss_one : callable
        ``loss_one(out, target) -> scalar`` for one example: ``out`` has shape ``(1, C)`` and
        ``target`` shape ``(1,)``.
    transform : callable
        Applied elementwise to each per-sample gradient before summing (``torch.square`` for the
        Fisher, ``torch.abs`` for MAS).
    batch_size : int, default 64
        Samples per vectorised chunk, lowered so that a chunk holds at most about 2**24
        per-sample gradient entries (64 MB).
    named : list of (name, parameter), optional
        The parameters to differentiate; default :func:`named_trainable`.
    how : {"auto", "vmap", "loop"}, default "auto"
        ``"auto"`` tries ``vmap`` and falls back to the loop.

    Returns
    -------
    list of torch.Tensor
        One sum per parameter of ``named``, same shapes.
    """
    batch_size = check_int("batch_size", batch_size, 1)
    check_choice("how", how, ("auto", "vmap", "loop"))
    named = named_trainable(model) if named is None else list(named)
    was_training = model.training
    model.eval()
    try:
        if how == "loop":
            return _sums_loop(model, named, x, y, loss_one, transform)
        try:
            return _sums_vmap(model, named, x, y, loss_one, transform, batch_size)
        except Exception:  # models torch.func cannot transform (e.g. some fused kernels)
            if how == "vmap":
                raise
            return _sums_loop(model, named, x, y, loss_one, transform)
    finally:
        model.train(was_training)


def _sums_vmap(model, named, x, y, loss_one, transform, batch_size):
    from torch.func import functional_call, grad, vmap

    params = {n: p.detach() for n, p in named}
    buffers = dict(model.named_buffers())

    def one(p, xi, yi):
        return loss_one(functional_call(model, (p, buffers), (xi.unsqueeze(0),)), yi.unsqueeze(0))

    per_sample = vmap(grad(one), in_dims=(None, 0, 0))
    sums = {n: torch.zeros_like(p) for n, p in named}
    n_params = max(1, sum(p.numel() for p in params.values()))
    chunk = max(1, min(batch_size, 2**24 // n_params))
    with warnings.catch_warnings():
        # ops without a vmap batching rule (e.g. embedding_bag) still work, through a slower loop
        warnings.filterwarnings("ignore", message="There is a performance drop")
        for start in range(0, len(x), chunk):
            g = per_sample(params, x[start : start + chunk], y[start : start + chunk])
            for n in sums:
                sums[n] += transform(g[n]).sum(0)
    return [sums[n] for n, _ in named]


def _sums_loop(model, named, x, y, loss_one, transform):
    params = [p for _, p in named]
    sums = [torch.zeros_like(p) for p in params]
    for i in range(len(x)):
        loss = loss_one(model(x[i : i + 1]), y[i : i + 1])
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        for s, g in zip(sums, grads):
            if g is not None:
                s += transform(g.detach())
    return sums


def _clones(tensors):
    return None if tensors is None else [t.detach().clone() for t in tensors]


class ImportancePenalty:
    """Quadratic pull towards anchors weighted by per-weight importance (the base of EWC, SI, MAS).

    Holds pairs ``(Omega_k, theta*_k)`` (one list of per-parameter tensors each) in
    :attr:`importances` and :attr:`anchors` and computes ``scale * sum_k sum_i Omega_ki
    (theta_i - theta*_ki)^2``. A subclass sets :attr:`scale`, measures the importance in
    ``consolidate`` and stores it with :meth:`_store`; it names its scalar settings in
    ``_settings`` and any further tensor lists it keeps in ``_tensor_lists``, so that
    :meth:`state_bytes`, :meth:`state_dict` and :meth:`load_state_dict` cover them.

    Parameters
    ----------
    model : torch.nn.Module
        The network being trained; the penalty covers its trainable parameters.
    """

    _importance_key = "importances"  # the key of the importances in state_dict
    _settings: tuple[str, ...] = ()
    _tensor_lists: tuple[str, ...] = ()

    def __init__(self, model: nn.Module):
        if not isinstance(model, nn.Module):
            raise ValueError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        self.model = model
        self.importances: list[list[torch.Tensor]] = []  # one list of per-parameter tensors per pair
        self.anchors: list[list[torch.Tensor]] = []

    @property
    def scale(self) -> float:
        """The factor in front of the sum (each paper's convention)."""
        raise NotImplementedError

    @property
    def params(self) -> list[torch.Tensor]:
        """The model's trainable parameters, in order."""
        return [p for _, p in named_trainable(self.model)]

    @property
    def n_consolidated(self) -> int:
        """Number of stored (importance, anchor) pairs."""
        return len(self.importances)

    def _store(self, importance: list[torch.Tensor], combine: Callable | None = None) -> None:
        """Record the current weights as an anchor with ``importance``.

        ``combine=None`` appends a new pair; otherwise a single pair is kept, its importance
        becoming ``combine(old, importance)`` (``old`` is zero at the first call) and its anchor the
        current weights.
        """
        anchor = [p.detach().clone() for p in self.params]
        if combine is None:
            self.importances.append(importance)
            self.anchors.append(anchor)
            return
        old = self.importances[0] if self.importances else [torch.zeros_like(t) for t in importance]
        self.importances = [[combine(o, n) for o, n in zip(old, importance)]]
        self.anchors = [anchor]

    def _difference(self, index: int, diff: torch.Tensor) -> torch.Tensor:
        """Hook on ``theta_i - theta*_i`` of parameter ``index`` while the penalty is built (identity)."""
        return diff

    def penalty(self) -> torch.Tensor | None:
        """``scale * sum_k sum_i Omega_ki (theta_i - theta*_ki)^2`` (differentiable).

        Returns
        -------
        torch.Tensor or None
            A scalar; None before the first consolidation (there is nothing to hold on to).
        """
        if not self.importances:
            return None
        params = self.params
        total = params[0].new_zeros(()) if params else torch.zeros(())
        for importance, anchor in zip(self.importances, self.anchors):
            for i, (p, w, a) in enumerate(zip(params, importance, anchor)):
                total = total + (w * self._difference(i, p - a) ** 2).sum()
        return self.scale * total

    def after_step(self) -> None:
        """Nothing by default (EWC and MAS learn their importances at ``consolidate``)."""

    def _all_tensors(self):
        yield from (t for pair in self.importances + self.anchors for t in pair)
        for name in self._tensor_lists:
            yield from (getattr(self, name) or [])

    def state_bytes(self) -> int:
        """Bytes held by the stored importances and anchors (and the subclass's other tensors)."""
        return int(sum(t.nbytes for t in self._all_tensors()))

    def state_dict(self) -> dict:
        """Settings and tensors, loadable with ``torch.load(..., weights_only=True)``."""
        state = {k: getattr(self, k) for k in self._settings}
        state[self._importance_key] = [_clones(pair) for pair in self.importances]
        state["anchors"] = [_clones(pair) for pair in self.anchors]
        state.update({k: _clones(getattr(self, k)) for k in self._tensor_lists})
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore from :meth:`state_dict`."""
        for k in self._settings:
            setattr(self, k, state[k])
        self.importances = [_clones(pair) for pair in state[self._importance_key]]
        self.anchors = [_clones(pair) for pair in state["anchors"]]
        for k in self._tensor_lists:
            setattr(self, k, _clones(state[k]))


class SI(ImportancePenalty):
    """Synaptic Intelligence (Zenke, Poole & Ganguli 2017): importance from the path integral.

    During a task, after every optimizer step (:meth:`after_step`) each weight accumulates

    .. math::

        \\omega_i \\mathrel{+}= -g_i\\,\\Delta\\theta_i ,

    the step's change ``Delta theta_i`` times the gradient ``g_i`` of the **task loss alone**
    (without the penalty) at the weights before the step: the weight's share of the drop in loss.
    At :meth:`consolidate` (end of the task, ``Delta_i`` the weight's change over the whole task)

    .. math::

        \\Omega_i \\leftarrow \\max\\bigl(0,\\ \\Omega_i + \\frac{\\omega_i}{\\Delta_i^2 + \\xi}\\bigr),
        \\qquad \\tilde\\theta \\leftarrow \\theta, \\qquad \\omega \\leftarrow 0,

    and later tasks pay ``penalty() = c * sum_i Omega_i (theta_i - theta~_i)^2``.

    Conventions:

    * **No ½**: ``c * sum(...)``, the paper's eq. (4) and its code.
    * **The gradient without the penalty**, as the authors' code (``pathint``, its
      ``unreg_grads``): ``p.grad`` after ``backward()`` holds the penalty's gradient too, so
      :meth:`penalty` hooks the difference ``theta - theta~`` and records the gradient that reaches
      it during ``backward()``; :meth:`after_step` subtracts it from ``p.grad``. A penalty that is
      computed but not backpropagated therefore changes nothing.
    * **Omega is clipped at 0** after each consolidation, as the authors' code does (its
      ``tf.nn.relu``); the paper's formula does not say so. A weight whose movement raised the
      loss would otherwise get a negative importance, which pushes it away from its anchor.
    * **The importances add up over tasks** (the code's ``omega_decay="sum"``); one anchor, the
      weights at the end of the last task. Before the first consolidation ``theta~`` is the
      weights at construction (the start of the first task).

    Parameters
    ----------
    model : torch.nn.Module
        The network being trained; the penalty covers its trainable parameters.
    c : float, default 0.1
        Strength of the penalty (>= 0).
    xi : float, default 0.1
        Damping ``xi`` (> 0) of the denominator ``Delta^2 + xi``; the authors' code uses 0.1 on
        permuted MNIST and 1e-3 on split MNIST and CIFAR.

    Examples
    --------
    >>> si = SI(model, c=0.1)                                # doctest: +SKIP
    >>> loss = F.cross_entropy(model(x), y)                  # task 0: no penalty yet  # doctest: +SKIP
    >>> loss.backward(); opt.step(); si.after_step()         # doctest: +SKIP
    >>> si.consolidate(task0.x_train, task0.y_train)         # the data are not used  # doctest: +SKIP
    """

    _settings = ("c", "xi")
    _tensor_lists = ("omega", "previous", "start")

    def __init__(self, model: nn.Module, c: float = 0.1, xi: float = 0.1):
        super().__init__(model)
        self.c = check_number("c", c, 0)
        self.xi = check_number("xi", xi, 0, low_open=True)
        params = self.params
        #: running path integral of the current task, one tensor per parameter
        self.omega: list[torch.Tensor] = [torch.zeros_like(p) for p in params]
        #: the weights after the last step (the start of the next step)
        self.previous: list[torch.Tensor] = [p.detach().clone() for p in params]
        #: the weights at the start of the first task; None once an anchor holds the task's start
        self.start: list[torch.Tensor] | None = [p.detach().clone() for p in params]
        self._penalty_grads: list[torch.Tensor | None] = [None] * len(params)

    @property
    def scale(self) -> float:
        """``c`` (no ½)."""
        return self.c

    def _difference(self, index: int, diff: torch.Tensor) -> torch.Tensor:
        if diff.requires_grad:
            diff.register_hook(lambda g: self._record(index, g))
        return diff

    def _record(self, index: int, grad: torch.Tensor) -> None:
        held = self._penalty_grads[index]
        self._penalty_grads[index] = grad.detach().clone() if held is None else held + grad.detach()

    def after_step(self) -> None:
        """``omega_i += -(p.grad - penalty gradient) * (theta_i - theta_i before the step)``."""
        with torch.no_grad():
            for i, p in enumerate(self.params):
                pen = self._penalty_grads[i]
                if p.grad is not None:
                    g = p.grad if pen is None else p.grad - pen
                    self.omega[i] -= g * (p - self.previous[i])
                self.previous[i].copy_(p)
        self._penalty_grads = [None] * len(self._penalty_grads)

    def consolidate(self, x=None, y=None, classes=None, generator=None) -> list[torch.Tensor]:
        """End of a task: ``Omega += omega / (Delta^2 + xi)`` (clipped at 0), anchor, ``omega = 0``.

        The arguments of the :class:`~classp.lab.regularisers.Regulariser` hook are accepted and
        ignored: SI's importance comes from the training path, not from data.

        Returns
        -------
        list of torch.Tensor
            This task's contribution ``omega / (Delta^2 + xi)`` (before clipping).
        """
        start = self.anchors[0] if self.anchors else self.start
        new = [w / ((p.detach() - s) ** 2 + self.xi) for w, p, s in zip(self.omega, self.params, start)]
        self._store(new, combine=lambda old, n: (old + n).clamp_min(0.0))
        self.omega = [torch.zeros_like(w) for w in self.omega]
        self.start = None
        return new

    def load_state_dict(self, state: dict) -> None:
        """Restore from :meth:`state_dict`."""
        super().load_state_dict(state)
        self._penalty_grads = [None] * len(self.omega)

    def __repr__(self) -> str:
        return f"SI(c={self.c}, xi={self.xi}, consolidated={self.n_consolidated})"


def output_sensitivity(model: nn.Module, x: torch.Tensor, classes: Sequence[int] | torch.Tensor | None = None,
                       batch_size: int = 64) -> list[torch.Tensor]:
    """MAS importance: mean over samples of ``|d ||f(x_n)||_2^2 / d theta_i|``.

    Parameters
    ----------
    model : torch.nn.Module
        The network ``f``; evaluated in ``eval()`` mode (its mode is restored afterwards).
    x : torch.Tensor
        Inputs (``N >= 1``); no labels are needed.
    classes : sequence of int or bool tensor of shape (C,), optional
        The task's output units: ``f(x)`` is then the output restricted to them (the task's head
        in a task-incremental sequence). None uses every output.
    batch_size : int, default 64
        Chunk size of the per-sample gradient computation.

    Returns
    -------
    list of torch.Tensor
        One tensor per trainable parameter, ``Omega_i = (1/N) sum_n |d ||f(x_n)||^2 / d theta_i|``.
    """
    if len(x) == 0:
        raise ValueError("x must hold at least one sample; got 0")
    if classes is None:
        cols = None
    elif isinstance(classes, torch.Tensor) and classes.dtype == torch.bool:
        cols = classes.nonzero().flatten()
    else:
        cols = torch.as_tensor(list(classes), dtype=torch.long)

    def squared_norm(out, _target):
        return (out if cols is None else out[:, cols]).pow(2).sum()

    dummy = torch.zeros(len(x), dtype=torch.long)
    sums = per_sample_grad_sums(model, x, dummy, squared_norm, torch.abs, batch_size=batch_size)
    return [s / len(x) for s in sums]


class MAS(ImportancePenalty):
    """Memory Aware Synapses (Aljundi et al. 2018), the global version: output sensitivity.

    After a task, on (up to ``samples`` of) its training inputs,

    .. math::

        \\Omega_i \\leftarrow \\Omega_i + \\frac{1}{N} \\sum_{n=1}^{N}
        \\Bigl| \\frac{\\partial \\lVert f(x_n) \\rVert_2^2}{\\partial \\theta_i} \\Bigr| ,
        \\qquad \\theta^* \\leftarrow \\theta ,

    and later tasks pay ``penalty() = lam * sum_i Omega_i (theta_i - theta*_i)^2``.

    Conventions:

    * **No ½**: ``lam * sum(...)``, the paper's eq. (3) and the authors' code (its gradient
      ``2 * lam * Omega * (theta - theta*)``).
    * **Per-sample gradients** (:func:`output_sensitivity`), as the paper's formula; the authors'
      code takes the absolute value of each mini-batch's summed gradient instead, which is
      smaller where samples disagree in sign.
    * **The importances add up over tasks** (the authors' code, ``accumelate_reg_params``); one
      anchor, the weights at the end of the last task. Computed in ``eval()`` mode.
    * With a task-incremental sequence the task's ``classes`` restrict ``f(x)`` to its head.

    Parameters
    ----------
    model : torch.nn.Module
        The network being trained; the penalty covers its trainable parameters.
    lam : float, default 1.0
        Strength λ of the penalty (>= 0); the paper's object-recognition experiments use 1.
    samples : int or None, default 1000
        Use at most this many training inputs of a task (a seeded random subset); None uses all.
    batch_size : int, default 64
        Chunk size of the per-sample gradient computation.
    """

    _settings = ("lam", "samples", "batch_size")

    def __init__(self, model: nn.Module, lam: float = 1.0, samples: int | None = 1000, batch_size: int = 64):
        super().__init__(model)
        self.lam = check_number("lam", lam, 0)
        self.samples = check_int("samples", samples, 1, allow_none=True)
        self.batch_size = check_int("batch_size", batch_size, 1)

    @property
    def scale(self) -> float:
        """``lam`` (no ½)."""
        return self.lam

    def consolidate(self, x: torch.Tensor, y: torch.Tensor | None = None, classes=None,
                    generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """Add the finished task's output sensitivity to the importance and anchor the weights.

        Parameters
        ----------
        x : torch.Tensor
            The finished task's training inputs.
        y : torch.Tensor, optional
            Its labels (not used: MAS needs none; drawn along with ``x`` for the subset).
        classes : sequence of int, optional
            The task's output units (task-incremental head).
        generator : torch.Generator, optional
            Draws the subset when the task has more than ``samples`` examples (default: seeded with 0).

        Returns
        -------
        list of torch.Tensor
            This task's importance (before accumulation).
        """
        x, _ = draw_subset(x, torch.zeros(len(x)) if y is None else y, self.samples, generator)
        new = output_sensitivity(self.model, x, classes=classes, batch_size=self.batch_size)
        self._store(new, combine=torch.add)
        return new

    def __repr__(self) -> str:
        return f"MAS(lam={self.lam}, samples={self.samples}, consolidated={self.n_consolidated})"
