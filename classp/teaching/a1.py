"""Checks of assignment 1, *AdaGrad and CLASSP from scratch* (``book/assignments/a1_from_scratch.ipynb``).

========================================  =====  ===========================================
check                                     task   what it checks
========================================  =====  ===========================================
:func:`check_adagrad_step`                1.1    one AdaGrad step, as ``torch.optim.Adagrad``
:func:`check_classp_step`                 1.2    one CLASSP step, as :class:`classp.CLASSP`
========================================  =====  ===========================================

Each check applies the student's update rule for a few steps in a row (feeding back its own sum)
and compares every step with the package's optimizer; a difference is diagnosed with a table of
known wrong variants (:data:`ADAGRAD_VARIANTS`, :data:`CLASSP_VARIANTS`). Notebooks call the
checks through :mod:`classp.teaching.checks`.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .checks import (CaseFailed, CheckResult, as_tensor_like, call_student, case_seed, first_difference, fmt_num,
                     hidden, match_variant, require_callable, run_cases, tensors_close)

__all__ = ["check_adagrad_step", "check_classp_step", "ADAGRAD_VARIANTS", "CLASSP_VARIANTS"]


def _unpack_pair(out, name: str, shape_text: str):
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        got = "None" if out is None else type(out).__name__
        raise CaseFailed(f"{name} returned {got}; it must return a pair {shape_text}",
                         "End your function with `return new_w, new_sum` (two tensors).")
    return out


def _compare_steps(step_fn: Callable, name: str, sum_name: str, w0, grads, reference: list, hparams: dict, *,
                   describe_g: Callable, reference_name: str, variants: dict, formula: str) -> None:
    """Apply the student's ``step_fn`` step after step and compare each step with ``reference``.

    ``reference`` holds (w, sum) after every step; ``hparams`` are the keyword arguments after the
    sum, in the order the ``variants`` take them. Each step starts from the reference's state after
    the step before (so rounding differences of a correct answer written another way, e.g. in
    float64 or in another order, do not compound over the steps), and a step's outputs may differ
    from the reference's by a few float32 roundings of its inputs (``_atol``): a result that is small
    because two larger numbers cancel is not held to a precision its inputs do not have. Raises
    :class:`CaseFailed` at the first step that differs, naming the entry, its input, both outputs and
    the matching variant's hint (else ``formula``).
    """
    w, s = w0.clone(), torch.zeros_like(w0)
    for t, g in enumerate(grads):
        out = call_student(step_fn, name, w=w.clone(), g=g.clone(), **{sum_name: s.clone()}, **hparams)
        new_w, new_s = _unpack_pair(out, name, f"(new_w, new_{sum_name})")
        new_w = as_tensor_like(new_w, "new_w", w0)
        new_s = as_tensor_like(new_s, f"new_{sum_name}", w0)
        rw, rs = reference[t]
        aw, as_ = _atol(w, rw), _atol(s, rs)
        if not (tensors_close(new_w, rw, atol=aw) and tensors_close(new_s, rs, atol=as_)):
            which = "new_w" if not tensors_close(new_w, rw, atol=aw) else f"new_{sum_name}"
            mine, theirs = (new_w, rw) if which == "new_w" else (new_s, rs)
            i = first_difference(mine, theirs, atol=aw if which == "new_w" else as_)
            msg = (f"step {t + 1}: {which} differs at index {i}: with {describe_g(g, i)}{sum_name} before the step "
                   f"= {fmt_num(s[i])}, w = {fmt_num(w[i])}: yours is {fmt_num(mine[i])}, {reference_name} gives "
                   f"{fmt_num(theirs[i])}")
            hint = match_variant(variants, (new_w, new_s), lambda f: f(w, g, s, *hparams.values())) or formula
            raise CaseFailed(msg, hint)
        w, s = rw.clone(), rs.clone()  # the next step starts from the reference's state


def _atol(before: torch.Tensor, after: torch.Tensor) -> float:
    """Absolute tolerance of one step: the checks' 1e-7, or 16 float32 roundings (2**-20 relative)
    of the largest value the step reads or writes, whichever is larger."""
    scale = float(torch.cat([before.abs().flatten(), after.abs().flatten()]).max()) if before.numel() else 0.0
    return max(1e-7, scale * 2.0 ** -20)


# ================================================================================== task 1.1
def _adagrad_reference(w0, grads, lr, eps):
    p = nn.Parameter(w0.clone())
    opt = torch.optim.Adagrad([p], lr=lr, eps=eps)
    out = []
    for g in grads:
        p.grad = g.clone()
        opt.step()
        out.append((p.detach().clone(), opt.state[p]["sum"].clone()))
    return out


#: What students get wrong in task 1.1: ``{name: (step(w, g, s, lr, eps) -> (w, s), hint)}``.
ADAGRAD_VARIANTS = {
    "current left out": (
        lambda w, g, s, lr, eps: (w - lr * g / (s.sqrt() + eps), s + g * g),
        "Add the current g² to the sum before you divide: the denominator is sqrt(sum of g² up to and "
        "including this step) + eps. Without the current gradient the first step divides by eps alone."),
    "eps inside the root": (
        lambda w, g, s, lr, eps: (w - lr * g / (s + g * g + eps).sqrt(), s + g * g),
        "torch.optim.Adagrad puts eps outside the square root: lr * g / (sqrt(sum) + eps)."),
    "no square root": (
        lambda w, g, s, lr, eps: (w - lr * g / (s + g * g + eps), s + g * g),
        "The denominator is the square root of the sum of squared gradients, not the sum itself."),
    "|g| instead of g²": (
        lambda w, g, s, lr, eps: (w - lr * g / ((s + g.abs()).sqrt() + eps), s + g.abs()),
        "AdaGrad accumulates squared gradients g², not |g|."),
    "wrong sign": (
        lambda w, g, s, lr, eps: (w + lr * g / ((s + g * g).sqrt() + eps), s + g * g),
        "Gradient descent moves against the gradient: subtract the step."),
}


def check_adagrad_step(adagrad_step: Callable, *, seed: int | None = None, verbose: bool = True) -> CheckResult:
    """Check task 1.1: ``adagrad_step(w, g, grad_sq_sum, lr, eps) -> (new_w, new_grad_sq_sum)``.

    The student's function is applied for a few steps in a row (feeding back its own sum) on
    random weights and gradients, and compared after every step with ``torch.optim.Adagrad``
    (PyTorch's AdaGrad: ``sum += g**2``, ``w -= lr * g / (sqrt(sum) + eps)``).

    Parameters
    ----------
    adagrad_step : callable
        The student's function, called with keyword arguments ``w, g, grad_sq_sum, lr, eps``.
    seed : int, optional
        Seed of the random cases (default: a fresh one, printed with the verdict).
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    CheckResult
    """
    require_callable(adagrad_step, "adagrad_step")
    seed = case_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    specs = [((5,), 0.1, 1e-10, 3), ((3, 4), 0.5, 0.1, 3), ((2, 3, 2), 0.01, 1e-10, 4), ((6,), 1.0, 1.0, 2),
             ((4, 4), 0.05, 1e-3, 3)]
    if hidden():  # grading adds cases no student has seen
        specs += [((7, 3), 0.3, 1e-6, 3), ((1,), 2.0, 1e-2, 5)]
    cases = []
    for k, (shape, lr, eps, n_steps) in enumerate(specs):
        w0 = torch.randn(shape, generator=gen)
        scale = 10 ** (torch.rand((), generator=gen).item() * 2 - 1.5)
        grads = [torch.randn(shape, generator=gen) * scale for _ in range(n_steps)]
        grads[0].view(-1)[0] = 0.0  # a weight without gradient at the first step
        desc = f"case {k + 1}: shape {shape}, lr={lr:g}, eps={eps:g}, {n_steps} steps"

        def thunk(w0=w0, grads=grads, lr=lr, eps=eps):
            _compare_steps(adagrad_step, "adagrad_step", "grad_sq_sum", w0, grads, _adagrad_reference(w0, grads, lr, eps),
                           {"lr": lr, "eps": eps}, describe_g=lambda g, i: f"g = {fmt_num(g[i])} and ",
                           reference_name="torch.optim.Adagrad", variants=ADAGRAD_VARIANTS,
                           formula="Compare your formula with sum ← sum + g², w ← w − lr·g / (sqrt(sum) + eps), "
                                   "elementwise.")

        cases.append((desc, thunk))
    return run_cases("1.1", cases, name="adagrad_step", seed=seed, verbose=verbose, answer=adagrad_step,
                     signature="adagrad_step(w, g, grad_sq_sum, lr, eps)",
                     kwargs=("w", "g", "grad_sq_sum", "lr", "eps"))


# ================================================================================== task 1.2
def _classp_reference(w0, grads, lr, threshold, power, eps):
    from ..optim import CLASSP

    p = nn.Parameter(w0.clone())
    opt = CLASSP([p], lr=lr, threshold=threshold, power=power, eps=eps)
    out = []
    for g in grads:
        p.grad = g.clone()
        opt.step()
        out.append((p.detach().clone(), opt.state[p]["grad_sum"].clone()))
    return out


def _cl(w, g, s, lr, tau, p, eps, *, mask=None, acc_all=False, current=True, eps_out=False, root=None,
        decay=True, sign=-1.0, absg=True):
    """A CLASSP step with one switch flipped (the mistake variants)."""
    m = (g * g > tau).to(g.dtype) if mask is None else mask
    mag = g.abs() ** p if absg else g ** p
    s_new = s + (mag if acc_all else m * mag)
    base = s_new if current else s
    if root is None:
        den = (base ** (1.0 / p) + eps) if eps_out else (eps + base) ** (1.0 / p)
    else:
        den = root(eps + base)
    step = lr * g / den if decay else lr * g
    return w + sign * m * step, s_new


_CLASSP_PER_TENSOR = (
    "The threshold is tested for each weight on its own: a weight moves (and adds |g|^p to its own sum) only "
    "where its own g² > threshold; the other weights of the same tensor keep their value and their sum. Your "
    "function seems to decide for the whole tensor at once.")

#: What students get wrong in task 1.2: ``{name: (step(w, g, s, lr, threshold, power, eps) -> (w, s), hint)}``.
CLASSP_VARIANTS = {
    "per-tensor (any)": (lambda w, g, s, lr, tau, p, eps: _cl(w, g, s, lr, tau, p, eps, mask=torch.full_like(
        g, float(bool((g * g > tau).any())))), _CLASSP_PER_TENSOR),
    "per-tensor (mean)": (lambda w, g, s, lr, tau, p, eps: _cl(w, g, s, lr, tau, p, eps, mask=torch.full_like(
        g, float(bool((g * g).mean() > tau)))), _CLASSP_PER_TENSOR),
    "current left out": (lambda w, g, s, lr, tau, p, eps: _cl(w, g, s, lr, tau, p, eps, current=False),
                         "The sum in the denominator must include the current gradient: first add m·|g|^p to "
                         "grad_sum, then divide by (eps + grad_sum)^(1/p). Without it the first update of a weight "
                         "divides by eps^(1/p) and throws the weight far away."),
    "accumulate always": (lambda w, g, s, lr, tau, p, eps: _cl(w, g, s, lr, tau, p, eps, acc_all=True),
                          "Only the weights that are updated (g² > threshold) add |g|^p to their sum; a masked "
                          "weight keeps its sum unchanged."),
    "eps outside the root": (lambda w, g, s, lr, tau, p, eps: _cl(w, g, s, lr, tau, p, eps, eps_out=True),
                             "eps goes inside the root: (eps + grad_sum)^(1/p), not grad_sum^(1/p) + eps."),
    ">= instead of >": (lambda w, g, s, lr, tau, p, eps: _cl(w, g, s, lr, tau, p, eps,
                                                             mask=(g * g >= tau).to(g.dtype)),
                        "The test is strict: a weight whose g² equals the threshold is not updated (use >, not >=)."),
    "square root whatever p": (lambda w, g, s, lr, tau, p, eps: _cl(w, g, s, lr, tau, p, eps, root=torch.sqrt),
                               "The root is the p-th root, (eps + grad_sum) ** (1 / power); it is a square root "
                               "only when power = 2."),
    "g² accumulated": (lambda w, g, s, lr, tau, p, eps: _cl(w, g, s, lr, tau, 2.0, eps, root=lambda x: x ** (1.0 / p)),
                       "The sum accumulates |g| ** power, not g² (they agree only for power = 2)."),
    "no |.|": (lambda w, g, s, lr, tau, p, eps: _cl(w, g, s, lr, tau, p, eps, absg=False),
               "Accumulate the absolute value |g| ** power; g ** power is negative (or NaN) for negative g."),
    "no decay": (lambda w, g, s, lr, tau, p, eps: _cl(w, g, s, lr, tau, p, eps, decay=False),
                 "Divide the step by (eps + grad_sum)^(1/p): that is the adjustment suppression."),
    "wrong sign": (lambda w, g, s, lr, tau, p, eps: _cl(w, g, s, lr, tau, p, eps, sign=1.0),
                   "Gradient descent moves against the gradient: subtract the step."),
}


def _classp_cases(gen: torch.Generator) -> list:
    """(description, w0, grads, lr, threshold, power, eps) of task 1.2's random cases."""
    # shape, lr, power, eps, threshold (float, or quantile of g² at the first step), steps, ties
    specs = [((6,), 0.03, 1.0, 1e-8, "q0.5", 3, False),
             ((4, 5), 0.1, 2.0, 0.1, "q0.5", 3, False),
             ((3, 4), 0.05, 0.5, 1e-3, "q0.25", 4, False),
             ((8,), 0.03, 1.0, 1e-8, 0.0, 2, False),
             ((2, 3, 2), 0.2, 1.5, 1e-2, "q0.75", 3, False),
             ((10,), 0.1, 1.0, 1e-8, 0.25, 2, True)]
    if hidden():  # grading adds cases no student has seen
        specs += [((5, 3), 0.07, 3.0, 1e-4, "q0.6", 3, False), ((9,), 0.02, 1.0, 1e-8, "q0.1", 3, False)]
    out = []
    for k, (shape, lr, power, eps, tau_spec, n_steps, ties) in enumerate(specs):
        w0 = torch.randn(shape, generator=gen)
        scale = 10 ** (torch.rand((), generator=gen).item() - 1.0)
        grads = [torch.randn(shape, generator=gen) * scale for _ in range(n_steps)]
        grads[0].view(-1)[-1] = 0.0
        if ties:  # entries exactly at the threshold: 0.5**2 == 0.25 in floating point
            for g in grads:
                g.view(-1)[:3] = torch.tensor([0.5, -0.5, 0.5])
                g.view(-1)[3:6] = torch.tensor([0.9, -0.7, 0.1])
        if isinstance(tau_spec, str):
            tau = float(torch.quantile((grads[0] * grads[0]).flatten(), float(tau_spec[1:])))
        else:
            tau = float(tau_spec)
        desc = (f"case {k + 1}: shape {shape}, lr={lr:g}, threshold={tau:.3g}, power={power:g}, eps={eps:g}, "
                f"{n_steps} steps" + (", some g² = threshold" if ties else ""))
        out.append((desc, w0, grads, lr, tau, power, eps))
    return out


def check_classp_step(classp_step: Callable, *, seed: int | None = None, verbose: bool = True) -> CheckResult:
    """Check task 1.2: ``classp_step(w, g, grad_sum, lr, threshold, power, eps) -> (new_w, new_grad_sum)``.

    The student's function is applied for a few steps in a row on random weights and gradients
    (with thresholds inside the range of g², so that some weights are masked and others not, and
    with entries exactly at the threshold) and compared after every step with
    :class:`classp.CLASSP` (``decay=True``, ``accumulate="updated"``).

    Parameters
    ----------
    classp_step : callable
        Called with keyword arguments ``w, g, grad_sum, lr, threshold, power, eps``.
    seed : int, optional
        Seed of the random cases (default: a fresh one, printed with the verdict).
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    CheckResult
    """
    require_callable(classp_step, "classp_step")
    seed = case_seed(seed)
    cases = []
    for desc, w0, grads, lr, tau, power, eps in _classp_cases(torch.Generator().manual_seed(seed)):

        def describe_g(g, i, tau=tau):
            side = "above" if bool(g[i] * g[i] > tau) else "not above"
            return f"g = {fmt_num(g[i])} (g² = {fmt_num(g[i] ** 2)}, {side} the threshold), "

        def thunk(w0=w0, grads=grads, lr=lr, tau=tau, power=power, eps=eps, describe_g=describe_g):
            _compare_steps(classp_step, "classp_step", "grad_sum", w0, grads,
                           _classp_reference(w0, grads, lr, tau, power, eps),
                           {"lr": lr, "threshold": tau, "power": power, "eps": eps}, describe_g=describe_g,
                           reference_name="classp.CLASSP", variants=CLASSP_VARIANTS,
                           formula="Work elementwise: m = (g² > threshold); grad_sum ← grad_sum + m·|g|^p; "
                                   "w ← w − m·lr·g / (eps + grad_sum)^(1/p).")

        cases.append((desc, thunk))
    return run_cases("1.2", cases, name="classp_step", seed=seed, verbose=verbose, answer=classp_step,
                     signature="classp_step(w, g, grad_sum, lr, threshold, power, eps)",
                     kwargs=("w", "g", "grad_sum", "lr", "threshold", "power", "eps"))
