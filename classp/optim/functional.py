"""The CLASSP update as functions on tensors (the kernels :class:`classp.CLASSP` dispatches to).

- :func:`classp_update`: the readable single-tensor kernel (the one the book shows);
- :func:`classp_update_foreach`: the same update over lists of tensors, with ``torch._foreach_*``
  multi-tensor operations (a few kernel launches per dtype instead of several per tensor);
- :func:`classp_update_fused`: the same update over lists of tensors, written without in-place
  temporaries and with a tensor learning rate, for ``torch.compile`` (what ``compile=True`` compiles).

Conventions shared by all three. Every tensor is real: the optimizer passes complex parameters as
real views (``torch.view_as_real``), as torch's Adagrad does. Each kernel updates the weights
``w`` and the accumulators ``s`` in place from the gradients ``g``. The arithmetic is done in the
accumulator's dtype: float32 for float16/bfloat16 weights (the gradient is upcast first, so
``g*g`` does not underflow and the mask is that of the exact gradient), the weight's own dtype
otherwise; the weight is rounded once, when it is written. No kernel checks its inputs (the
optimizer does, before anything changes), and none divides 0 by 0: the denominator is never below
the smallest normal number of its dtype, and where it would be 0 the masked gradient is 0 too.
"""
from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["classp_update", "classp_update_foreach", "classp_update_fused"]


def classp_update(w: Tensor, g: Tensor, s: Tensor, *, lr: float, threshold: float, power: float,
                  eps: float, decay: bool, accumulate: str, maximize: bool = False) -> None:
    """One CLASSP update of one tensor, in place on ``w`` and ``s`` (the accumulator)."""
    g = g.to(s.dtype)  # float16/bfloat16 gradients are upcast to the accumulator's float32
    if maximize:
        g = -g
    m = (g * g > threshold).to(g.dtype)  # the mask: 1 where the weight is updated, 0 elsewhere
    gm = g * m  # the gradient where the weight is updated
    added = gm if accumulate == "updated" else g  # what enters S
    if power == 2.0:
        s.addcmul_(added, added)
    elif power == 1.0:
        s.add_(added.abs())
    else:
        s.add_(added.abs().pow_(power))
    if not decay:
        w.add_(gm, alpha=-lr)
        return
    denom = torch.add(s, eps)
    if power == 2.0:
        denom.sqrt_()
    elif power != 1.0:
        denom.pow_(1.0 / power)
    # (eps + S)**(1/p) is 0 only where nothing was ever accumulated; gm is 0 there too, and the
    # step must be 0, not 0/0 (eps may be 0, or round to 0)
    denom.clamp_min_(torch.finfo(denom.dtype).tiny)
    w.addcdiv_(gm, denom, value=-lr)


def _by_dtype(ws: list, gs: list, ss: list) -> list[tuple[list, list, list]]:
    """The three lists split by (device, weight dtype, accumulator dtype), order kept within each."""
    groups: dict = {}
    for w, g, s in zip(ws, gs, ss):
        lists = groups.setdefault((s.device, w.dtype, s.dtype), ([], [], []))
        for lst, t in zip(lists, (w, g, s)):
            lst.append(t)
    return list(groups.values())


def classp_update_foreach(ws: list, gs: list, ss: list, *, lr: float, threshold: float, power: float,
                          eps: float, decay: bool, accumulate: str, maximize: bool = False) -> None:
    """:func:`classp_update` over lists of tensors, with multi-tensor (``torch._foreach_*``) operations.

    The mask is computed without a comparison: :math:`\\mathrm{sign}(\\max(g^2 - \\tau, 0))` is 1
    where :math:`g^2 > \\tau` and 0 elsewhere (exactly: :math:`g^2 - \\tau` is 0 only where
    :math:`g^2 = \\tau`), and the masked gradient is that mask times :math:`g`. At most two
    temporaries per tensor are alive at once (the masked gradient, then :math:`|g|^p` reused as the
    denominator), besides the upcast gradient of float16/bfloat16 weights: fewer and smaller
    allocations matter on the CPU, where fresh memory costs page faults.
    """
    for w, g, s in _by_dtype(ws, gs, ss):
        if s[0].dtype != g[0].dtype:
            g = [x.to(s[0].dtype) for x in g]
        gm = torch._foreach_mul(g, g)
        torch._foreach_sub_(gm, threshold)
        torch._foreach_clamp_min_(gm, 0.0)
        torch._foreach_sign_(gm)
        torch._foreach_mul_(gm, g)  # gm = m * g
        if maximize:  # the update of -g: |.| and squares are unchanged
            torch._foreach_neg_(gm)
        added = gm if accumulate == "updated" else g
        if power == 2.0:
            torch._foreach_addcmul_(s, added, added)
            denom = torch._foreach_add(s, eps) if decay else None
        else:
            denom = torch._foreach_abs(added)
            if power != 1.0:
                torch._foreach_pow_(denom, power)
            torch._foreach_add_(s, denom)
            if decay:  # the |g|**p buffer becomes eps + S
                torch._foreach_copy_(denom, s)
                torch._foreach_add_(denom, eps)
        if not decay:
            _foreach_step(w, gm, None, lr)
            continue
        if power == 2.0:
            torch._foreach_sqrt_(denom)
        elif power != 1.0:
            torch._foreach_pow_(denom, 1.0 / power)
        tiny = torch.finfo(s[0].dtype).tiny
        if eps < tiny:  # otherwise eps + S >= eps is never below it: the clamp would change nothing
            torch._foreach_clamp_min_(denom, tiny)
        _foreach_step(w, gm, denom, lr)


def _foreach_step(w: list, gm: list, denom: list | None, lr: float) -> None:
    """``w -= lr * gm / denom`` (or ``lr * gm`` without ``denom``), rounded once into ``w``'s dtype."""
    if w[0].dtype == gm[0].dtype:
        if denom is None:
            torch._foreach_add_(w, gm, alpha=-lr)
        else:
            torch._foreach_addcdiv_(w, gm, denom, value=-lr)
        return
    if denom is not None:  # low-precision weights: the step in float32, then one rounding per weight
        torch._foreach_div_(gm, denom)
    for wi, step in zip(w, gm):
        wi.add_(step, alpha=-lr)


def classp_update_fused(ws: list, gs: list, ss: list, lr: Tensor, *, threshold: float, power: float,
                        eps: float, decay: bool, accumulate: str, maximize: bool = False) -> None:
    """The update over lists of tensors, without ``out=`` or in-place temporaries, for ``torch.compile``.

    ``lr`` is a 0-d tensor, so that a scheduler changing the learning rate changes an input of the
    compiled graph, not a constant baked into it (no recompilation). Inductor fuses the update of
    each tensor into one loop that reads ``w``, ``g``, ``s`` and writes ``w``, ``s``: the memory
    traffic of one AdaGrad step.
    """
    for w, g, s in zip(ws, gs, ss):
        g = g.to(s.dtype)
        if maximize:
            g = -g
        gm = torch.where(g * g > threshold, g, torch.zeros_like(g))
        added = gm if accumulate == "updated" else g
        s.add_(added * added if power == 2.0 else (added.abs() if power == 1.0 else added.abs().pow(power)))
        if not decay:
            w.sub_(lr * gm)
            continue
        denom = s + eps
        if power == 2.0:
            denom = denom.sqrt()
        elif power != 1.0:
            denom = denom.pow(1.0 / power)
        w.sub_(lr * (gm / denom.clamp_min(torch.finfo(s.dtype).tiny)))
