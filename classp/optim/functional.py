"""The CLASSP update as functions on tensors (the kernels :class:`classp.CLASSP` dispatches to).

- :func:`classp_update`: the readable single-tensor eager kernel (the one the book shows);
- :func:`classp_update_fused`: the same update without in-place temporaries, for ``torch.compile``;
- :func:`classp_update_tensors`: the fused update over one parameter group, and
  :func:`compiled_update`, its compiled version.

Each updates the weight ``w`` and the accumulator ``s`` in place from the gradient ``g``; none
checks its inputs (the optimizer does, before anything changes).
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor

__all__ = ["classp_update", "classp_update_fused", "classp_update_tensors", "compiled_update"]


def classp_update(w: Tensor, g: Tensor, s: Tensor, *, lr: float, threshold: float, power: float,
                   eps: float, decay: bool, accumulate: str) -> None:
    """One CLASSP update of one tensor, in place on ``w`` and ``s`` (the accumulator).

    The eager kernel: few passes over memory and two temporaries. ``g*g`` is turned in place into
    the float mask (``gt_`` writes 1.0 or 0.0) and then into ``g*m``; the second temporary holds
    ``|g*m|**p`` and then the denominator.
    """
    a = g * g
    if accumulate == "always":  # every |g|**p enters S, so add it before g*g becomes the mask
        if power == 2.0:
            s.add_(a)
        elif power == 1.0:
            s.add_(torch.abs(g))
        else:
            s.add_(torch.abs(g).pow_(power))
        t = None
        gm = a.gt_(threshold).mul_(g)  # g*m: the gradient where the weight is updated, 0 elsewhere
    else:
        gm = a.gt_(threshold).mul_(g)
        if power == 2.0:
            t = torch.mul(gm, gm)  # (g*m)**2 = m*g**2
        elif power == 1.0:
            t = torch.abs(gm)  # |g*m| = m*|g|
        else:
            t = torch.abs(gm).pow_(power)  # |g*m|**p = m*|g|**p since p > 0
        s.add_(t)
    if not decay:
        w.add_(gm, alpha=-lr)
        return
    denom = torch.add(s, eps) if t is None else torch.add(s, eps, out=t)
    if power == 2.0:
        denom.sqrt_()
    elif power != 1.0:
        denom.pow_(1.0 / power)
    if eps == 0.0:
        # (0 + S)**(1/p) is 0 where a weight never had a gradient; there gm is 0 too and the step
        # must be 0, not 0/0.
        denom.masked_fill_(denom == 0, 1.0)
    w.addcdiv_(gm, denom, value=-lr)


def classp_update_fused(w: Tensor, g: Tensor, s: Tensor, *, lr: float, threshold: float, power: float,
                         eps: float, decay: bool, accumulate: str) -> None:
    """The same update written without ``out=`` or in-place temporaries, for ``torch.compile``.

    Inductor fuses it into one loop that reads ``w``, ``g``, ``s`` and writes ``w``, ``s``: the
    memory traffic of one AdaGrad step.
    """
    m = (g * g > threshold).to(g.dtype)
    gm = g * m
    src = gm if accumulate == "updated" else g
    s.add_(src * src if power == 2.0 else (src.abs() if power == 1.0 else src.abs().pow(power)))
    if not decay:
        w.sub_(lr * gm)
        return
    denom = s + eps
    if power == 2.0:
        denom = denom.sqrt()
    elif power != 1.0:
        denom = denom.pow(1.0 / power)
    if eps == 0.0:
        denom = torch.where(denom == 0, torch.ones_like(denom), denom)
    w.sub_(lr * gm / denom)


def classp_update_tensors(ws: list, gs: list, ss: list, *, lr: float, threshold: float, power: float,
                           eps: float, decay: bool, accumulate: str) -> None:
    """:func:`classp_update_fused` over the tensors of one parameter group (what is compiled):
    one compiled call per group instead of one per tensor."""
    for w, g, s in zip(ws, gs, ss):
        classp_update_fused(w, g, s, lr=lr, threshold=threshold, power=power, eps=eps, decay=decay,
                             accumulate=accumulate)


_compiled_update: Optional[Callable] = None


def compiled_update() -> Callable:
    """:func:`classp_update_tensors` compiled with ``torch.compile`` (compiled once, at first use)."""
    global _compiled_update
    if _compiled_update is None:
        _compiled_update = torch.compile(classp_update_tensors, dynamic=False, fullgraph=True)
    return _compiled_update
