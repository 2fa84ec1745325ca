"""Checks of assignment 3, *EWC's diagonal Fisher and penalty* (``book/assignments/a3_ewc.ipynb``).

========================================  =====  ===========================================
check                                     task   what it checks
========================================  =====  ===========================================
:func:`check_fisher_diagonal`             3.1    EWC's diagonal empirical Fisher
:func:`check_ewc_penalty`                 3.2    EWC's penalty λ/2 Σ F (θ − θ*)²
========================================  =====  ===========================================

Both compare with the lab's EWC (:mod:`classp.lab.regularisers`) on small random networks.
Notebooks call the checks through :mod:`classp.teaching.checks`.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from .checks import (CaseFailed, CheckResult, as_tensor_like, call_student, case_seed, first_difference, fmt_num,
                     require_callable, run_cases, tensors_close)

__all__ = ["check_fisher_diagonal", "check_ewc_penalty", "FISHER_HINTS"]


# ================================================================================== task 3.1
def _fisher_variant(model, x, y, how: str):
    """The Fisher diagonal computed one known wrong way (a key of :data:`FISHER_HINTS`)."""
    import torch.nn.functional as F

    params = [p for p in model.parameters() if p.requires_grad]
    if how == "batch":
        loss = F.cross_entropy(model(x), y)
        gs = torch.autograd.grad(loss, params)
        return [g.detach() ** 2 for g in gs]
    sums = [torch.zeros_like(p) for p in params]
    for i in range(len(x)):
        out = model(x[i:i + 1])
        target = out.argmax(1) if how == "predicted" else y[i:i + 1]
        loss = F.cross_entropy(out, target)
        gs = torch.autograd.grad(loss, params)
        for s, g in zip(sums, gs):
            s += g.detach() if how == "unsquared" else g.detach() ** 2
    if how == "sum":
        return sums
    return [s / len(x) for s in sums]


#: What students get wrong in task 3.1 (each computed by ``_fisher_variant``), with its hint.
FISHER_HINTS = {
    "batch": "Square the gradient of EACH sample's log-likelihood, then average the squares. Squaring the gradient "
             "of the batch's mean loss gives (mean g)², which is much smaller than mean(g²).",
    "sum": "Average over the samples (divide the sum of squared gradients by N).",
    "predicted": "Use the true label y of each sample (the empirical Fisher), not the network's prediction.",
    "unsquared": "Square each per-sample gradient before averaging.",
}


def _fisher_cases(gen: torch.Generator) -> list:
    """(description, model, x, y) of task 3.1's random cases."""

    def net(kind):
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (), generator=gen)))
        if kind == "linear":
            return nn.Linear(5, 4)
        if kind == "tanh":
            return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
        return nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 5))

    out = []
    for k, (kind, d_in, d_out, n) in enumerate([("linear", 5, 4, 7), ("tanh", 4, 3, 12), ("relu", 3, 5, 20),
                                                ("tanh", 4, 3, 2)]):
        with torch.random.fork_rng(devices=[]):
            model = net(kind)
        x = torch.randn(n, d_in, generator=gen)
        y = torch.randint(0, d_out, (n,), generator=gen)
        n_par = len(list(model.parameters()))
        out.append((f"case {k + 1}: {kind} network {d_in}→{d_out}, {n_par} parameter tensors, {n} samples", model, x, y))
    return out


def _compare_fisher(out, ref: list, model, x, y) -> None:
    """:class:`CaseFailed` unless the student's ``out`` is ``ref``, one tensor per parameter."""
    if isinstance(out, torch.Tensor) or not isinstance(out, (list, tuple)):
        raise CaseFailed(f"fisher_diagonal returned {type(out).__name__}; expected a list with one tensor per "
                         f"parameter ({len(ref)} here)", "Return [F_1, F_2, ...] in model.parameters() order.")
    if len(out) != len(ref):
        raise CaseFailed(f"fisher_diagonal returned {len(out)} tensors; the model has {len(ref)} parameters",
                         "One tensor per parameter, in model.parameters() order.")
    outs = [as_tensor_like(o, f"tensor {j} of your list", r) for j, (o, r) in enumerate(zip(out, ref))]
    for j, (o, r) in enumerate(zip(outs, ref)):
        if tensors_close(o, r, rtol=1e-4, atol=1e-8):
            continue
        i = first_difference(o, r, rtol=1e-4, atol=1e-8)
        name = [nm for nm, _ in model.named_parameters()][j]
        hint = next((h for how, h in FISHER_HINTS.items()
                     if all(tensors_close(a, b, rtol=1e-4, atol=1e-8)
                            for a, b in zip(outs, _fisher_variant(model, x, y, how)))),
                    "F_i = (1/N) Σ_n (∂ log p(y_n | x_n) / ∂θ_i)², one sample at a time.")
        raise CaseFailed(f"parameter {name!r} (shape {tuple(r.shape)}) differs at index {i}: yours is "
                         f"{fmt_num(o[i])}, classp.lab.regularisers.fisher_diagonal gives {fmt_num(r[i])}", hint)


def check_fisher_diagonal(fisher_diagonal: Callable, *, seed: int | None = None, verbose: bool = True) -> CheckResult:
    """Check task 3.1: ``fisher_diagonal(model, x, y) -> list of tensors``.

    On small random networks and data, the answer must equal
    :func:`classp.lab.regularisers.fisher_diagonal`: one tensor per parameter (in
    ``model.parameters()`` order), the mean over samples of the squared gradient of the sample's
    log-likelihood ``log softmax(model(x_n))[y_n]``. The weights must not change.

    Parameters
    ----------
    fisher_diagonal : callable
        Called as ``fisher_diagonal(model, x, y)``.
    seed : int, optional
    verbose : bool, default True

    Returns
    -------
    CheckResult
    """
    from ..lab.regularisers import fisher_diagonal as reference

    require_callable(fisher_diagonal, "fisher_diagonal")
    seed = case_seed(seed)
    cases = []
    for desc, model, x, y in _fisher_cases(torch.Generator().manual_seed(seed)):

        def thunk(model=model, x=x, y=y):
            ref = reference(model, x, y)
            before = [p.detach().clone() for p in model.parameters()]
            out = call_student(fisher_diagonal, "fisher_diagonal", model, x.clone(), y.clone())
            if any(not torch.equal(b, p.detach()) for b, p in zip(before, model.parameters())):
                raise CaseFailed("the model's weights changed during fisher_diagonal",
                                 "Only compute gradients (loss.backward() or torch.autograd.grad); take no optimizer "
                                 "step.")
            _compare_fisher(out, ref, model, x, y)

        cases.append((desc, thunk))
    return run_cases("3.1", cases, name="fisher_diagonal", seed=seed, verbose=verbose, answer=fisher_diagonal,
                     signature="fisher_diagonal(model, x, y)", args=("model", "x", "y"))


# ================================================================================== task 3.2
class _Holder(nn.Module):
    def __init__(self, params):
        super().__init__()
        self.ps = nn.ParameterList(params)


def _penalty_reference(theta, fisher, anchor, lam) -> float:
    """``EWC.penalty()`` with one consolidated (Fisher, anchor) pair."""
    from ..lab.regularisers import EWC

    ewc = EWC(_Holder([nn.Parameter(t.clone()) for t in theta]), lam=lam)
    ewc.fishers, ewc.anchors = [[f.clone() for f in fisher]], [[a.clone() for a in anchor]]
    return float(ewc.penalty().detach())


def _penalty_hint(v: float, ref: float, theta, anchor, fisher, lam) -> str:
    """The hint for a wrong penalty value (its known wrong variants)."""
    variants = [(2 * ref, "The EWC penalty has a factor ½: lam / 2 · Σ F (θ − θ*)². (With the ½, its gradient is "
                          "lam · F · (θ − θ*).)"),
                (ref / 2, "The penalty is lam / 2 · Σ F (θ − θ*)²; yours is half of that."),
                (ref / lam if lam else float("nan"), "Multiply by lam."),
                (0.5 * lam * sum(float((f * (t - a).abs()).sum()) for t, a, f in zip(theta, anchor, fisher)),
                 "Square the distance to the anchor: (θ − θ*)², not |θ − θ*|.")]
    return next((h for x, h in variants if math.isclose(v, x, rel_tol=1e-5, abs_tol=1e-7)),
                "lam / 2 · Σ over all parameters and weights of F · (θ − θ*)².")


def _compare_penalty(out, params, theta, anchor, fisher, lam) -> None:
    """:class:`CaseFailed` unless ``out`` is EWC's penalty, with EWC's gradient with respect to ``params``."""
    ref = _penalty_reference(theta, fisher, anchor, lam)
    if not isinstance(out, torch.Tensor):
        raise CaseFailed(f"ewc_penalty returned {type(out).__name__}; expected a scalar torch.Tensor",
                         "Build the penalty from the tensors with torch operations (no .item(), no float()), so "
                         "that autograd can differentiate it.")
    if out.numel() != 1:
        raise CaseFailed(f"ewc_penalty returned a tensor of shape {tuple(out.shape)}; expected a scalar",
                         "Sum over every weight of every parameter tensor.")
    v = float(out.detach())
    if not math.isclose(v, ref, rel_tol=1e-5, abs_tol=1e-7):
        raise CaseFailed(f"yours is {v:.6g}, EWC.penalty() gives {ref:.6g}",
                         _penalty_hint(v, ref, theta, anchor, fisher, lam))
    if lam == 0:
        return
    if out.grad_fn is None:
        raise CaseFailed("the penalty has no gradient (grad_fn is None)",
                         "Compute it from `params` with torch operations, without .detach(), .item() or "
                         "torch.no_grad(), so that loss + penalty can be back-propagated.")
    grads = torch.autograd.grad(out.sum(), params, allow_unused=True)
    for j, (gr, t, a, f) in enumerate(zip(grads, theta, anchor, fisher)):
        if gr is None or not tensors_close(gr, lam * f * (t - a), rtol=1e-4, atol=1e-6):
            raise CaseFailed(f"the gradient of your penalty with respect to parameter {j} is not lam·F·(θ − θ*)",
                             "Use params (the tensors that require grad) in the formula, not copies of them.")


def check_ewc_penalty(ewc_penalty: Callable, *, seed: int | None = None, verbose: bool = True) -> CheckResult:
    """Check task 3.2: ``ewc_penalty(params, fisher, anchor, lam) -> scalar tensor``.

    The value must equal :meth:`classp.lab.regularisers.EWC.penalty` (``lam / 2 * Σ F (θ − θ*)²``)
    and its gradient with respect to ``params`` must be ``lam * F * (θ − θ*)`` (so it can be added
    to a loss).

    Parameters
    ----------
    ewc_penalty : callable
        Called as ``ewc_penalty(params, fisher, anchor, lam)`` with lists of tensors (``params``
        require grad).
    seed : int, optional
    verbose : bool, default True

    Returns
    -------
    CheckResult
    """
    require_callable(ewc_penalty, "ewc_penalty")
    seed = case_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    cases = []
    for k, (shapes, lam) in enumerate([([(3,)], 1.0), ([(4, 3), (3,)], 30.0), ([(2, 5), (5,), (5, 2)], 0.5),
                                       ([(6,)], 0.0)]):
        theta = [torch.randn(s, generator=gen) for s in shapes]
        anchor = [t + 0.3 * torch.randn(t.shape, generator=gen) for t in theta]
        fisher = [torch.rand(t.shape, generator=gen) ** 2 for t in theta]

        def thunk(theta=theta, anchor=anchor, fisher=fisher, lam=lam):
            params = [t.clone().requires_grad_(True) for t in theta]
            out = call_student(ewc_penalty, "ewc_penalty", params, [f.clone() for f in fisher],
                               [a.clone() for a in anchor], lam)
            _compare_penalty(out, params, theta, anchor, fisher, lam)

        cases.append((f"case {k + 1}: parameter shapes {shapes}, lam={lam:g}", thunk))
    return run_cases("3.2", cases, name="ewc_penalty", seed=seed, verbose=verbose, answer=ewc_penalty,
                     signature="ewc_penalty(params, fisher, anchor, lam)", args=("params", "fisher", "anchor", "lam"))
