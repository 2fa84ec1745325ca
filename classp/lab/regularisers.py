"""Regularisers: the :class:`Regulariser` protocol the training loop knows, and Elastic Weight
Consolidation (EWC); Synaptic Intelligence (:class:`SI`) and Memory Aware Synapses (:class:`MAS`)
live in :mod:`classp.lab.importance` with the penalty the three share, and are re-exported here.

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

from typing import Any, Protocol, Sequence, runtime_checkable

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import check_choice, check_int, check_number
from .importance import MAS, SI, ImportancePenalty, draw_subset, output_sensitivity, per_sample_grad_sums

__all__ = ["Regulariser", "EWC", "SI", "MAS", "ImportancePenalty", "fisher_diagonal", "output_sensitivity",
           "masked_logits"]

_MODES = ("separate", "online")


@runtime_checkable
class Regulariser(Protocol):
    """What the training loop needs from a regulariser (EWC, SI and MAS implement it).

    The loop (:class:`classp.lab.methods.Learner`, driven by :func:`classp.lab.train.run`) calls,
    for each task: ``penalty()`` at every step and adds it to the loss unless it is None;
    ``after_step()`` after every optimizer step; ``consolidate(x, y, classes, generator)`` once the
    task is trained. ``state_bytes``, ``state_dict`` and ``load_state_dict`` serve the results
    (memory) and checkpoints (exact resume).

    ``after_step`` is the optional hook: a regulariser that needs nothing per step (EWC, MAS) leaves
    it empty; path-integral methods such as SI accumulate their importance there (the gradients of
    the step are still in ``p.grad``, the penalty's share included). ``isinstance(obj,
    Regulariser)`` checks that every method exists.
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


def _log_likelihood_loss(classes):
    """Cross-entropy of one example with masked logits: ``-log p(y|x)``, the Fisher's per-sample loss."""
    def loss_one(out, target):
        return F.cross_entropy(masked_logits(out, classes), target)

    return loss_one


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
    sums = per_sample_grad_sums(model, x, y, _log_likelihood_loss(classes), torch.square, batch_size=batch_size)
    return [s / len(x) for s in sums]


def _fisher_vmap(model, named, x, y, classes, batch_size):
    """Sums of squared per-sample gradients through ``torch.func.vmap`` only (no fall-back)."""
    return per_sample_grad_sums(model, x, y, _log_likelihood_loss(classes), torch.square, batch_size=batch_size,
                                named=named, how="vmap")


def _fisher_loop(model, named, x, y, classes):
    """Sums of squared per-sample gradients, one example at a time."""
    return per_sample_grad_sums(model, x, y, _log_likelihood_loss(classes), torch.square, named=named, how="loop")


class EWC(ImportancePenalty):
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

    _importance_key = "fishers"
    _settings = ("lam", "mode", "gamma", "fisher_samples", "batch_size")

    def __init__(self, model: nn.Module, lam: float = 100.0, mode: str = "separate", gamma: float = 1.0,
                 fisher_samples: int | None = 1000, batch_size: int = 64):
        super().__init__(model)
        self.lam = check_number("lam", lam, 0)
        self.mode = check_choice("mode", mode, _MODES)
        self.gamma = check_number("gamma", gamma, 0, 1)
        self.fisher_samples = check_int("fisher_samples", fisher_samples, 1, allow_none=True)
        self.batch_size = check_int("batch_size", batch_size, 1)

    @property
    def fishers(self) -> list[list[torch.Tensor]]:
        """The stored Fisher diagonals (the importances), one list of per-parameter tensors per pair."""
        return self.importances

    @fishers.setter
    def fishers(self, value: list[list[torch.Tensor]]) -> None:
        self.importances = value

    @property
    def scale(self) -> float:
        """``lam / 2``: :meth:`penalty` is ``lam/2 * sum_k sum_i F_ki (theta_i - theta*_ki)^2``."""
        return 0.5 * self.lam

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
        x, y = draw_subset(x, y, self.fisher_samples, generator)
        fisher = fisher_diagonal(self.model, x, y, classes=classes, batch_size=self.batch_size)
        online = self.mode == "online"
        self._store(fisher, combine=(lambda old, new: self.gamma * old + new) if online else None)
        return fisher

    def after_step(self) -> None:
        """Nothing: EWC learns its importances at :meth:`consolidate`, not during training."""

    def __repr__(self) -> str:
        return f"EWC(lam={self.lam}, mode={self.mode!r}, gamma={self.gamma}, pairs={self.n_consolidated})"
