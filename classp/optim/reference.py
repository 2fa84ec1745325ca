r"""The released CLASSP code, bug for bug, so that the book can show it and rerun its experiments.

:class:`ReferenceCLASSP` computes what ``CLASSP.py`` in the author's repository
(github.com/oswaldoludwig/CLASSP, ``CLASSP_optimizer``) computes, including where that differs from
the paper's equation. Use :class:`classp.CLASSP` for the rule as published.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor
from torch.optim import Optimizer

from .._validation import check_int
from .classp import state_bytes

__all__ = ["ReferenceCLASSP"]


class ReferenceCLASSP(Optimizer):
    r"""What the released ``CLASSP_optimizer`` does, deviations included.

    For every parameter tensor :math:`w` with gradient :math:`g`, one call of :meth:`step` does:

    .. math::

        \text{gate} &= \big[\operatorname{float}(\operatorname{any}(g^2 \ne 0)) > \tau\big]
            \quad\text{(one boolean for the whole tensor)} \\
        \text{if gate:}\quad S &\leftarrow S + |g| \\
        w &\leftarrow w - s\,g, \qquad
            s = \frac{\alpha}{(S + \epsilon)^{1/p}} \text{ if apply\_scaling else } \alpha

    Deviations from the paper's equation (arXiv:2405.09637), each reproduced on purpose:

    1. **The threshold gates whole tensors, not weights.** ``(grad ** 2).any() > threshold``
       reduces the tensor to "is any gradient non-zero?" (0 or 1) before comparing with
       :math:`\tau`. For :math:`0 \le \tau < 1` the gate passes whenever any element of the tensor
       has a non-zero gradient, so thresholds 0, 0.5 and 0.99 give identical trajectories; for
       :math:`\tau \ge 1` the tensor never moves. No weight is ever masked individually: the
       sparsity promotion is not implemented.
    2. **The power is never applied to the accumulator.** ``grad_sum.add_(grad.abs()) ** power``
       adds :math:`|g|` in place and throws the power away, so :math:`S = \sum |g|` for every
       :math:`p` and only the root :math:`(\cdot)^{1/p}` depends on :math:`p`; with :math:`p = 2`
       this is :math:`\alpha/\sqrt{\epsilon + \sum|g|}`, not AdaGrad.
    3. **The current gradient is in the sum** (:math:`k = 0 \dots t`, the printed equation says
       :math:`t-1`), as in AdaGrad and the README's pseudocode.
    4. **The accumulator grows only when the (tensor) gate passes**, as in the pseudocode; the
       printed sum runs over every past step.
    5. ``apply_scaling=False`` gives the plain step :math:`\alpha g` while :math:`S` keeps
       accumulating; the vision script uses it for the whole first task (see
       :meth:`upstream_cv_schedule`), which needs the task boundary.
    6. **Per-call overrides leak across parameter groups**: ``step(lr=None, ...)`` sets a local
       variable from the first group's value and keeps it for the later groups, so with several
       groups every group uses group 0's hyper-parameters.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr, threshold, epsilon, power, apply_scaling
        As in the released code (``lr=0.2, threshold=0.5, epsilon=1e-5, power=1,
        apply_scaling=True``). They are not validated, as upstream.
    """

    def __init__(self, params, lr: float = 0.2, threshold: float = 0.5, epsilon: float = 1e-5,
                 power: float = 1, apply_scaling: bool = True):
        defaults = dict(lr=lr, threshold=threshold, epsilon=epsilon, power=power,
                        apply_scaling=apply_scaling)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Optional[Callable[[], Tensor]] = None, *, lr=None, threshold=None,
             epsilon=None, power=None, apply_scaling=None):
        """One step of the released code; keyword arguments override the groups' values per call
        (and, as upstream, leak from the first group into the next ones)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            # Deviation 6: once set from group 0, these locals are reused for later groups.
            lr = lr if lr is not None else group["lr"]
            threshold = threshold if threshold is not None else group["threshold"]
            epsilon = epsilon if epsilon is not None else group["epsilon"]
            power = power if power is not None else group["power"]
            apply_scaling = apply_scaling if apply_scaling is not None else group["apply_scaling"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                state = self.state[p]
                if "grad_sum" not in state:
                    state["grad_sum"] = torch.zeros_like(p)
                # Deviation 1: a tensor-level gate (bool compared with the threshold).
                if (grad ** 2).any() > threshold:
                    # Deviation 2: the power is computed on the result and discarded.
                    state["grad_sum"].add_(grad.abs()) ** power
                    if apply_scaling:
                        scaling_factor = lr / (state["grad_sum"] + epsilon).pow(1 / power)
                    else:
                        scaling_factor = lr
                    p.add_(-scaling_factor * grad)
        return loss

    def average_grad_sum(self) -> float:
        """Mean accumulator value over the parameters with a gradient (printed by the scripts)."""
        total, count = 0.0, 0
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "grad_sum" in state:
                    total += state["grad_sum"].sum().item()
                    count += p.numel()
        return total / count if count else 0.0

    @staticmethod
    def upstream_cv_schedule(task_index: int) -> dict:
        """Per-call overrides of ``experiment_CV.py`` for a step in task ``task_index``.

        The script trains the first task (MNIST) with ``apply_scaling=False`` (plain SGD at
        ``lr=0.2`` while the accumulator fills) and later tasks with ``threshold=0`` and
        ``apply_scaling=True``.
        """
        if check_int("task_index", task_index, 0) == 0:
            return dict(lr=0.2, threshold=0.5, epsilon=1e-5, power=1, apply_scaling=False)
        return dict(threshold=0, apply_scaling=True)

    def state_bytes(self) -> int:
        """Bytes held in the optimizer state; see :func:`classp.optim.state_bytes`."""
        return state_bytes(self)
