"""The CLASSP update as functions on tensors (the kernels :class:`classp.CLASSP` dispatches to).

- :func:`classp_update`: the readable single-tensor kernel (the one the book shows);
- :func:`classp_update_foreach`: the same update over lists of tensors, with ``torch._foreach_*``
  multi-tensor operations (a few kernel launches per dtype instead of several per tensor) and a
  one-pass mask (``hardshrink`` at :func:`mask_bound`);
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

import functools

import torch
from torch import Tensor

__all__ = ["classp_update", "classp_update_foreach", "classp_update_fused", "all_finite", "mask_bound"]


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


_BITS = {2: torch.int16, 4: torch.int32, 8: torch.int64}


@functools.lru_cache(maxsize=64)
def mask_bound(threshold: float, dtype: torch.dtype) -> float:
    """The largest ``x >= 0`` of ``dtype`` whose square, rounded to ``dtype``, is not above ``threshold``.

    So ``|g| > mask_bound(threshold, g.dtype)`` exactly where ``g * g > threshold`` (the
    single-tensor kernel's mask, computed in ``dtype`` with ``threshold`` rounded to it): the
    rounded square is non-decreasing in ``|g|``. Found by bisection on the bit patterns (non-negative
    floats are ordered like their bits), once per threshold and dtype. This is what lets the
    foreach kernel mask in one pass (``hardshrink``) instead of four.

    >>> mask_bound(0.25, torch.float64)
    0.5
    >>> mask_bound(0.0, torch.float32) > 0.0   # squares of float32 below about 8e-23 round to 0
    True
    """
    tau = torch.tensor(threshold, dtype=dtype)
    if torch.isinf(tau):  # no square is above it: every weight is masked
        return float("inf")
    bits = _BITS[torch.finfo(dtype).bits // 8]
    lo = 0  # the bits of 0.0, whose square is not above tau
    hi = int(torch.tensor(float("inf"), dtype=dtype).view(bits))  # inf, whose square is
    while hi - lo > 1:
        mid = (lo + hi) // 2
        x = torch.tensor(mid, dtype=bits).view(dtype)
        lo, hi = (mid, hi) if bool(x * x <= tau) else (lo, mid)
    return torch.tensor(lo, dtype=bits).view(dtype).item()


def classp_update_foreach(ws: list, gs: list, ss: list, *, lr: float, threshold: float, power: float,
                          eps: float, decay: bool, accumulate: str, maximize: bool = False) -> None:
    r""":func:`classp_update` over lists of tensors, with multi-tensor (``torch._foreach_*``) operations.

    Few passes over memory (what a step costs on the CPU, where a foreach operation is a loop over
    the tensors):

    - the masked gradient in one pass: ``hardshrink(g, b)`` keeps ``g`` where ``|g| > b`` and
      writes 0 elsewhere, and with ``b = mask_bound(threshold, dtype)`` that is exactly where
      ``g * g > threshold`` (:func:`mask_bound`); it is the one per-tensor operation (torch has no
      foreach ``hardshrink``);
    - ``maximize`` changes the sign of the step, not the gradient (``|-g| = |g|``, and negation
      is exact): no pass;
    - with ``power`` 1 or 2 no power is taken (:math:`|g|` and :math:`g^2`, :math:`S` and
      :math:`\sqrt S`); the clamp of the denominator only when ``eps`` is below the smallest
      normal number (otherwise :math:`\epsilon + S \ge \epsilon` already).

    With the defaults that is five passes (mask, :math:`|g_m|`, :math:`S`, :math:`\epsilon + S`,
    the step), against AdaGrad's four (:math:`S`, :math:`\sqrt S`, :math:`+\epsilon`, the step).
    """
    for w, g, s in _by_dtype(ws, gs, ss):
        acc = s[0].dtype
        if g[0].dtype != acc:
            g = [x.to(acc) for x in g]
        bound = mask_bound(float(threshold), acc)
        gm = [torch.nn.functional.hardshrink(x, bound) for x in g]  # m * g, in one pass
        added = gm if accumulate == "updated" else g
        if power == 2.0:
            torch._foreach_addcmul_(s, added, added)
        else:
            grown = torch._foreach_abs(added)
            if power != 1.0:
                torch._foreach_pow_(grown, power)
            torch._foreach_add_(s, grown)
            del grown
        step = lr if maximize else -lr  # the update of -g: |.| and squares are unchanged
        if not decay:
            _foreach_step(w, gm, None, step)
            continue
        denom = torch._foreach_add(s, eps)
        if power == 2.0:
            torch._foreach_sqrt_(denom)
        elif power != 1.0:
            torch._foreach_pow_(denom, 1.0 / power)
        tiny = torch.finfo(acc).tiny
        if eps < tiny:  # otherwise eps + S >= eps is never below it: the clamp would change nothing
            torch._foreach_clamp_min_(denom, tiny)
        _foreach_step(w, gm, denom, step)


def _foreach_step(w: list, gm: list, denom: list | None, value: float) -> None:
    """``w += value * gm / denom`` (or ``value * gm`` without ``denom``), rounded once into ``w``'s dtype."""
    if w[0].dtype == gm[0].dtype:
        if denom is None:
            torch._foreach_add_(w, gm, alpha=value)
        else:
            torch._foreach_addcdiv_(w, gm, denom, value=value)
        return
    if denom is not None:  # low-precision weights: the step in float32, then one rounding per weight
        torch._foreach_div_(gm, denom)
    for wi, step in zip(w, gm):
        wi.add_(step, alpha=value)


def all_finite(gs: list) -> Tensor:
    """A 0-d bool tensor: True when no tensor of ``gs`` holds NaN or infinity.

    ``g * 0`` is 0 where ``g`` is finite and NaN where it is not, so its sum is 0 exactly when
    every element is finite, and it cannot overflow as a sum of ``g`` can. Compiled into the fused
    step (``compile=True``), it is one vectorised read of each gradient.
    """
    if not gs:
        return torch.ones((), dtype=torch.bool)
    total = sum((g.float() if g.element_size() < 4 else g).mul(0).sum() for g in gs)
    return total == 0


def classp_update_fused(ws: list, gs: list, ss: list, lr: Tensor, *, threshold: float, power: float,
                        eps: float, decay: bool, accumulate: str, maximize: bool = False,
                        ok: Tensor | None = None) -> None:
    """The update over lists of tensors, without ``out=`` or in-place temporaries, for ``torch.compile``.

    ``lr`` is a 0-d tensor, so that a scheduler changing the learning rate changes an input of the
    compiled graph, not a constant baked into it (no recompilation). Inductor fuses the update of
    each tensor into one loop that reads ``w``, ``g``, ``s`` and writes ``w``, ``s``: the memory
    traffic of one AdaGrad step.

    ``ok`` (a 0-d bool tensor, e.g. :func:`all_finite` of the gradients, computed in the same
    compiled function) makes the update conditional: where it is False every ``w`` and ``s`` is
    written back unchanged (``torch.where(ok, new, old)``), so a refused step changes nothing
    without a synchronisation between the check and the update.
    """
    for w, g, s in zip(ws, gs, ss):
        g = g.to(s.dtype)
        gm = torch.where(g * g > threshold, g, 0.0)
        added = gm if accumulate == "updated" else g
        s_new = s + (added * added if power == 2.0 else (added.abs() if power == 1.0 else added.abs().pow(power)))
        step = gm
        if decay:
            denom = s_new + eps
            if power == 2.0:
                denom = denom.sqrt()
            elif power != 1.0:
                denom = denom.pow(1.0 / power)
            step = gm / denom.clamp_min(torch.finfo(s.dtype).tiny)
        w_new = w + lr * step if maximize else w - lr * step  # the update of -g: |.| and squares are unchanged
        if ok is not None:
            s_new, w_new = torch.where(ok, s_new, s), torch.where(ok, w_new, w)
        s.copy_(s_new)
        w.copy_(w_new)
