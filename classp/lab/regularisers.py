"""Regularisers: the :class:`Regulariser` protocol the training loop knows, and Elastic Weight
Consolidation (EWC), its first implementation.

A regulariser is a small object with hooks (in the spirit of Avalanche's plugins): the loop adds
:meth:`~Regulariser.penalty` to the loss, calls :meth:`~Regulariser.after_step` after each
optimizer step and :meth:`~Regulariser.consolidate` when a task is finished. Nothing else about
a regulariser is known to :class:`classp.lab.methods.Learner` or :func:`classp.lab.train.run`.

After training on a task, :meth:`EWC.consolidate` estimates how much each weight mattered for it
(the diagonal of the *empirical* Fisher information) and records the weights as an anchor.  While
later tasks are trained, :meth:`EWC.penalty` pulls every weight back towards its anchor in
proportion to that importance (Kirkpatrick et al. 2017):

.. math::

    \\Omega(\\theta) = \\frac{\\lambda}{2} \\sum_{k} \\sum_i F_{k,i}\\,(\\theta_i - \\theta^*_{k,i})^2 .

Conventions (they differ between papers and codes, so they are explicit here):

* **The ½ is included**: ``penalty() = lam / 2 * sum(F * (theta - anchor)**2)``.  (The released
  CLASSP code's EWC baseline uses ``lam * sum(...)`` without the ½ and divides its Fisher by the
  number of samples while summing batch gradients; ``lam`` values do not transfer 1:1.)
* **The Fisher diagonal is the mean of squared per-sample gradients** of the log-likelihood of the
  true label (the "empirical Fisher"): ``F_i = (1/N) sum_n (d/dtheta_i log p(y_n | x_n))**2``,
  computed with the model in ``eval()`` mode (no dropout) on up to ``fisher_samples`` training
  examples of the finished task.  Per-sample gradients use :func:`torch.func.vmap` (with a plain
  loop as a fall-back for models ``vmap`` cannot handle).  The squared gradient of a mini-batch
  *mean* loss would be smaller by about the batch size.
* **Modes.** ``"separate"`` keeps one ``(F_k, theta*_k)`` pair per consolidated task (memory grows
  with the number of tasks).  ``"online"`` (Schwarz et al. 2018) keeps a single pair:
  ``F <- gamma * F + F_new`` and ``theta* <- theta`` at each consolidation.
* With a task-incremental sequence, pass the task's ``classes`` so that the log-likelihood uses the
  same masked logits as training.
"""
from __future__ import annotations

import warnings
from typing import Any, Protocol, Sequence, runtime_checkable

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import check_choice, check_int, check_number

__all__ = ["Regulariser", "EWC", "fisher_diagonal", "masked_logits"]

_MODES = ("separate", "online")


@runtime_checkable
class Regulariser(Protocol):
    """What the training loop needs from a regulariser (EWC today; SI and MAS fit the same hooks).

    The loop (:class:`classp.lab.methods.Learner`, driven by :func:`classp.lab.train.run`) calls,
    for each task: ``penalty()`` at every step and adds it to the loss unless it is None;
    ``after_step()`` after every optimizer step; ``consolidate(x, y, classes, generator)`` once the
    task is trained. ``state_bytes``, ``state_dict`` and ``load_state_dict`` serve the results
    (memory) and checkpoints (exact resume).

    ``after_step`` is the optional hook: a regulariser that needs nothing per step (EWC) leaves it
    empty; path-integral methods such as SI accumulate their importance there (the gradients of the
    step are still in ``p.grad``). ``isinstance(obj, Regulariser)`` checks that every method exists.
    """

    def penalty(self) -> torch.Tensor | None:
        """The term to add to the training loss (differentiable), or None while nothing is consolidated."""
        ...

    def after_step(self) -> None:
        """Called after every optimizer step (the step's gradients are still in ``p.grad``)."""
        ...

    def consolidate(self, x: torch.Tensor, y: torch.Tensor, classes=None,
                    generator: torch.Generator | None = None) -> Any:
        """Called once a task is trained, with its training inputs, labels and (task scenario) classes."""
        ...

    def state_bytes(self) -> int:
        """Bytes of tensors the regulariser keeps (for the results' memory column)."""
        ...

    def state_dict(self) -> dict:
        """Everything needed to resume, loadable with ``torch.load(..., weights_only=True)``."""
        ...

    def load_state_dict(self, state: dict) -> None:
        """Restore from :meth:`state_dict`."""
        ...


def masked_logits(logits: torch.Tensor, classes: Sequence[int] | torch.Tensor | None) -> torch.Tensor:
    """Set the logits of classes outside ``classes`` to ``-inf`` (task-incremental heads).

    Parameters
    ----------
    logits : torch.Tensor, shape (N, C)
        Network outputs.
    classes : sequence of int, bool tensor of shape (C,) or (N, C), or None
        The allowed output units; None keeps all logits.

    Returns
    -------
    torch.Tensor
        ``logits`` (unchanged when ``classes`` is None) or a masked copy.
    """
    if classes is None:
        return logits
    if isinstance(classes, torch.Tensor) and classes.dtype == torch.bool:
        allowed = classes
    else:
        allowed = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
        allowed[list(classes)] = True
    return logits.masked_fill(~allowed, float("-inf"))


def _named_trainable(model: nn.Module):
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def fisher_diagonal(model: nn.Module, x: torch.Tensor, y: torch.Tensor, classes=None,
                    batch_size: int = 64) -> list[torch.Tensor]:
    """Diagonal of the empirical Fisher information: mean of squared per-sample gradients.

    Parameters
    ----------
    model : torch.nn.Module
        The network; evaluated in ``eval()`` mode (its mode is restored afterwards).
    x, y : torch.Tensor
        Inputs and integer labels of the samples (``N >= 1``).
    classes : sequence of int, optional
        Allowed output units (task-incremental masking), see :func:`masked_logits`.
    batch_size : int, default 64
        Samples per vectorised chunk; smaller for big models so that a chunk holds at most about
        2**24 per-sample gradient entries (64 MB).

    Returns
    -------
    list of torch.Tensor
        One tensor per trainable parameter (in ``model.parameters()`` order), same shape,
        ``F_i = (1/N) sum_n (d log p(y_n|x_n) / d theta_i)**2``.
    """
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must be non-empty and of equal length; got {len(x)} and {len(y)}")
    batch_size = check_int("batch_size", batch_size, 1)
    named = _named_trainable(model)
    was_training = model.training
    model.eval()
    try:
        try:
            sums = _fisher_vmap(model, named, x, y, classes, batch_size)
        except Exception:  # models torch.func cannot transform (e.g. some fused kernels)
            sums = _fisher_loop(model, named, x, y, classes)
    finally:
        model.train(was_training)
    return [s / len(x) for s in sums]


def _fisher_vmap(model, named, x, y, classes, batch_size):
    from torch.func import functional_call, grad, vmap

    params = {n: p.detach() for n, p in named}
    buffers = dict(model.named_buffers())

    def loss_one(p, xi, yi):
        out = functional_call(model, (p, buffers), (xi.unsqueeze(0),))
        return F.cross_entropy(masked_logits(out, classes), yi.unsqueeze(0))

    per_sample = vmap(grad(loss_one), in_dims=(None, 0, 0))
    sums = {n: torch.zeros_like(p) for n, p in named}
    # at most about 2**24 per-sample gradient entries (64 MB in float32) at a time
    n_params = max(1, sum(p.numel() for p in params.values()))
    chunk = max(1, min(batch_size, 2**24 // n_params))
    with warnings.catch_warnings():
        # ops without a vmap batching rule (e.g. embedding_bag) still work, through a slower loop
        warnings.filterwarnings("ignore", message="There is a performance drop")
        for start in range(0, len(x), chunk):
            g = per_sample(params, x[start : start + chunk], y[start : start + chunk])
            for n in sums:
                sums[n] += (g[n] ** 2).sum(0)
    return [sums[n] for n, _ in named]


def _fisher_loop(model, named, x, y, classes):
    params = [p for _, p in named]
    sums = [torch.zeros_like(p) for p in params]
    for i in range(len(x)):
        out = model(x[i : i + 1])
        loss = F.cross_entropy(masked_logits(out, classes), y[i : i + 1])
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        for s, g in zip(sums, grads):
            if g is not None:
                s += g.detach() ** 2
    return sums


class EWC:
    """Elastic Weight Consolidation penalty for a model.

    Parameters
    ----------
    model : torch.nn.Module
        The network being trained; the penalty covers its trainable parameters.
    lam : float, default 100.0
        Strength λ of the penalty (>= 0); the penalty is ``lam/2 * sum F (theta - theta*)^2``.
    mode : {"separate", "online"}, default "separate"
        One (Fisher, anchor) pair per task, or one running pair (see the module docstring).
    gamma : float, default 1.0
        Decay of the old Fisher in online mode, ``0 <= gamma <= 1`` (ignored in separate mode).
    fisher_samples : int or None, default 1000
        Use at most this many training samples of a task for its Fisher (a seeded random subset);
        None uses all.
    batch_size : int, default 64
        Chunk size of the per-sample gradient computation.

    Examples
    --------
    >>> ewc = EWC(model, lam=100)                            # doctest: +SKIP
    >>> ewc.penalty() is None                                # nothing consolidated yet  # doctest: +SKIP
    True
    >>> ewc.consolidate(task0.x_train, task0.y_train)        # after finishing task 0  # doctest: +SKIP
    >>> loss = F.cross_entropy(model(x), y) + ewc.penalty()  # while training task 1  # doctest: +SKIP
    """

    def __init__(self, model: nn.Module, lam: float = 100.0, mode: str = "separate", gamma: float = 1.0,
                 fisher_samples: int | None = 1000, batch_size: int = 64):
        if not isinstance(model, nn.Module):
            raise ValueError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        self.lam = check_number("lam", lam, 0)
        self.mode = check_choice("mode", mode, _MODES)
        self.gamma = check_number("gamma", gamma, 0, 1)
        self.fisher_samples = check_int("fisher_samples", fisher_samples, 1, allow_none=True)
        self.batch_size = check_int("batch_size", batch_size, 1)
        self.model = model
        self.fishers: list[list[torch.Tensor]] = []  # one list of per-parameter tensors per pair
        self.anchors: list[list[torch.Tensor]] = []

    @property
    def params(self) -> list[torch.Tensor]:
        """The model's trainable parameters, in order."""
        return [p for _, p in _named_trainable(self.model)]

    @property
    def n_consolidated(self) -> int:
        """Number of stored (Fisher, anchor) pairs (tasks in separate mode; 0 or 1 online)."""
        return len(self.fishers)

    def consolidate(self, x: torch.Tensor, y: torch.Tensor, classes=None,
                    generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """Record the current weights as an anchor with their Fisher diagonal.

        Call it once after finishing a task, with that task's training data.

        Parameters
        ----------
        x, y : torch.Tensor
            The finished task's training inputs and labels.
        classes : sequence of int, optional
            The task's output units (task-incremental masking).
        generator : torch.Generator, optional
            Draws the subset when the task has more than ``fisher_samples`` examples (default: a
            generator seeded with 0, so the subset is deterministic).

        Returns
        -------
        list of torch.Tensor
            The new task's Fisher diagonal (before any online accumulation).
        """
        if self.fisher_samples is not None and len(x) > self.fisher_samples:
            if generator is None:
                generator = torch.Generator().manual_seed(0)
            idx = torch.randperm(len(x), generator=generator)[: self.fisher_samples]
            x, y = x[idx], y[idx]
        fisher = fisher_diagonal(self.model, x, y, classes=classes, batch_size=self.batch_size)
        anchor = [p.detach().clone() for p in self.params]
        if self.mode == "online" and self.fishers:
            old = self.fishers[0]
            self.fishers[0] = [self.gamma * fo + fn for fo, fn in zip(old, fisher)]
            self.anchors[0] = anchor
        else:
            self.fishers.append(fisher)
            self.anchors.append(anchor)
        return fisher

    def penalty(self) -> torch.Tensor | None:
        """The EWC penalty ``lam/2 * sum_k sum_i F_ki (theta_i - theta*_ki)^2`` (differentiable).

        Returns
        -------
        torch.Tensor or None
            A scalar; None before the first consolidation (there is nothing to hold on to).
        """
        if not self.fishers:
            return None
        params = self.params
        total = params[0].new_zeros(()) if params else torch.zeros(())
        for fisher, anchor in zip(self.fishers, self.anchors):
            for p, f, a in zip(params, fisher, anchor):
                total = total + (f * (p - a) ** 2).sum()
        return 0.5 * self.lam * total

    def after_step(self) -> None:
        """Nothing: EWC learns its importances at :meth:`consolidate`, not during training."""

    def state_bytes(self) -> int:
        """Bytes held by the stored Fisher diagonals and anchors."""
        return int(sum(t.nbytes for pair in (self.fishers + self.anchors) for t in pair))

    def state_dict(self) -> dict:
        """Tensors and settings, loadable with ``torch.load(..., weights_only=True)``."""
        return {"lam": self.lam, "mode": self.mode, "gamma": self.gamma, "fisher_samples": self.fisher_samples,
                "batch_size": self.batch_size,
                "fishers": [[t.clone() for t in pair] for pair in self.fishers],
                "anchors": [[t.clone() for t in pair] for pair in self.anchors]}

    def load_state_dict(self, state: dict) -> None:
        """Restore from :meth:`state_dict`."""
        self.lam, self.mode, self.gamma = float(state["lam"]), state["mode"], float(state["gamma"])
        self.fisher_samples, self.batch_size = state["fisher_samples"], int(state["batch_size"])
        self.fishers = [[t.clone() for t in pair] for pair in state["fishers"]]
        self.anchors = [[t.clone() for t in pair] for pair in state["anchors"]]

    def __repr__(self) -> str:
        return f"EWC(lam={self.lam}, mode={self.mode!r}, gamma={self.gamma}, pairs={self.n_consolidated})"
