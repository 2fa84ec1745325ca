"""Instant checks for the book's assignments.

One function per graded task. Each takes the student's function (or value), runs it on fresh
random cases against the package's own implementation (:class:`classp.CLASSP`,
``torch.optim.Adagrad``, :func:`classp.ewc.fisher_diagonal`, :class:`classp.ewc.EWC`,
:func:`classp.metrics.forgetting`, :func:`classp.train.run`) and prints a verdict: which cases
passed, which failed and on which input, with a hint. It never prints the solution: for a
function it shows the student's and the package's output on one entry of one small input, and
for a value task (a threshold, a measured difference) it never shows the expected value.

Every check returns a :class:`CheckResult` (``passed``, ``points``, ``max_points``, ``status``,
``cases``) for notebooks and graders. A stub that raises ``NotImplementedError`` gives the
verdict "not implemented yet", not a traceback.

========================================  =====  ===========================================
check                                     task   what it checks
========================================  =====  ===========================================
:func:`check_adagrad_step`                1.1    one AdaGrad step, as ``torch.optim.Adagrad``
:func:`check_classp_step`                 1.2    one CLASSP step, as :class:`classp.CLASSP`
:func:`check_threshold_for_density`       2.1    a threshold that masks a given share of weights
:func:`check_threshold_density`           2.3    a threshold whose run has a target mean density
:func:`check_forgetting_bought`           2.4    the forgetting a threshold removes (3 seeds)
:func:`check_fisher_diagonal`             3.1    EWC's diagonal empirical Fisher
:func:`check_ewc_penalty`                 3.2    EWC's penalty λ/2 Σ F (θ − θ*)²
:func:`check_forgetting`                  4.1    Chaudhry et al.'s forgetting of an accuracy matrix
:func:`check_experiment`                  4.2    the design of a frontier experiment
========================================  =====  ===========================================

Cases are drawn with a fresh seed at every call (printed with the verdict); pass ``seed=`` to
repeat them. Set the environment variable ``CLASSP_GRADING=1`` (for example in an nbgrader
autograde run) to make a failed check raise :class:`CheckFailed` after printing its verdict, so
that an autograder that grades by errors gives it zero points.
"""
from __future__ import annotations

import math
import os
import secrets
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

__all__ = [
    "CheckResult", "Case", "CheckFailed", "TaskInfo", "TASKS", "GRADING_ENV", "tasks_of",
    "check_adagrad_step", "check_classp_step", "check_threshold_for_density", "check_threshold_density",
    "check_forgetting_bought", "check_fisher_diagonal", "check_ewc_penalty", "check_forgetting",
    "check_experiment",
]

#: Environment variable that makes failed checks raise :class:`CheckFailed` (for autograders).
GRADING_ENV = "CLASSP_GRADING"


# ================================================================================== the registry
@dataclass(frozen=True)
class TaskInfo:
    """One task of an assignment.

    Attributes
    ----------
    task : str
        Its number, ``"<assignment>.<task>"``, e.g. ``"1.2"``.
    title : str
        A few words.
    points : int
        What it is worth.
    graded : {"auto", "manual"}
        ``"auto"``: by the check named in ``check``; ``"manual"``: a written answer the teacher reads.
    check : str or None
        Name of the check function in this module (``None`` for manual tasks).
    """

    task: str
    title: str
    points: int
    graded: str
    check: str | None = None

    @property
    def assignment(self) -> int:
        """The assignment's number."""
        return int(self.task.split(".")[0])


_TASK_LIST = [
    TaskInfo("1.1", "AdaGrad step", 10, "auto", "check_adagrad_step"),
    TaskInfo("1.2", "CLASSP step", 15, "auto", "check_classp_step"),
    TaskInfo("1.3", "Your optimizers in the lab", 5, "manual"),
    TaskInfo("2.1", "Threshold for a share of weights", 10, "auto", "check_threshold_for_density"),
    TaskInfo("2.2", "Density over a run", 5, "manual"),
    TaskInfo("2.3", "Threshold for a target density", 5, "auto", "check_threshold_density"),
    TaskInfo("2.4", "The forgetting it buys", 5, "auto", "check_forgetting_bought"),
    TaskInfo("2.5", "Is it worth it?", 5, "manual"),
    TaskInfo("3.1", "Diagonal Fisher", 15, "auto", "check_fisher_diagonal"),
    TaskInfo("3.2", "EWC penalty", 10, "auto", "check_ewc_penalty"),
    TaskInfo("3.3", "Forgetting against λ", 5, "manual"),
    TaskInfo("4.1", "Forgetting of an accuracy matrix", 10, "auto", "check_forgetting"),
    TaskInfo("4.2", "A frontier experiment", 10, "auto", "check_experiment"),
    TaskInfo("4.3", "Your argument", 10, "manual"),
]

#: Every task of every assignment, by task number.
TASKS: dict[str, TaskInfo] = {t.task: t for t in _TASK_LIST}


def tasks_of(assignment: int) -> list[TaskInfo]:
    """The tasks of one assignment, in order.

    Parameters
    ----------
    assignment : int
        1 to 4.

    Returns
    -------
    list of TaskInfo
    """
    numbers = sorted({t.assignment for t in _TASK_LIST})
    if assignment not in numbers:
        raise ValueError(f"assignment must be one of {numbers}; got {assignment!r}")
    return [t for t in _TASK_LIST if t.assignment == assignment]


# ================================================================================== results
@dataclass
class Case:
    """One case of a check: which input, whether it passed, and what went wrong."""

    description: str
    passed: bool
    detail: str = ""


class CheckFailed(AssertionError):
    """Raised by a failed check when ``CLASSP_GRADING`` is set (for autograders)."""


@dataclass
class CheckResult:
    """The verdict of a check.

    Attributes
    ----------
    task, title : str
        The task checked (see :data:`TASKS`).
    status : {"passed", "failed", "not implemented"}
    points, max_points : float
        Points earned (all or nothing) and the task's worth.
    cases : list of Case
    hint : str
        What to look at first when the check failed ("" when it passed).
    seed : int or None
        Seed the random cases were drawn with (pass it back as ``seed=`` to repeat them).
    """

    task: str
    title: str
    status: str
    points: float
    max_points: float
    cases: list = field(default_factory=list)
    hint: str = ""
    seed: int | None = None

    @property
    def passed(self) -> bool:
        """True when every case passed."""
        return self.status == "passed"

    def report(self) -> str:
        """The verdict as text (what :func:`print` shows)."""
        head = {"passed": "PASSED", "failed": "FAILED", "not implemented": "NOT IMPLEMENTED YET"}[self.status]
        pts = f"{_fmt_points(self.points)}/{_fmt_points(self.max_points)} points"
        lines = [f"Task {self.task} ({self.title}): {head}, {pts}"]
        if self.status == "not implemented":
            lines.append("  " + (self.cases[0].detail if self.cases else "The function still raises NotImplementedError."))
        else:
            n_ok = sum(c.passed for c in self.cases)
            lines.append(f"  {n_ok} of {len(self.cases)} cases passed:")
            shown = False
            for c in self.cases:
                lines.append(f"  {'✓' if c.passed else '✗'} {c.description}")
                if not c.passed and not shown:  # details of the first failure only
                    for d in c.detail.splitlines():
                        lines.append(f"      {d}")
                    shown = True
        if self.hint:
            lines.append("  Hint: " + self.hint)
        if self.seed is not None and self.status == "failed":
            lines.append(f"  (Random cases drawn with seed={self.seed}; pass seed={self.seed} to the check to repeat them.)")
        return "\n".join(lines)

    __str__ = report

    def __repr__(self) -> str:
        return (f"CheckResult(task={self.task!r}, status={self.status!r}, "
                f"points={_fmt_points(self.points)}/{_fmt_points(self.max_points)})")


def _fmt_points(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


# ================================================================================== the driver
class _Fail(Exception):
    """A case failed: ``message`` says how, ``hint`` what to look at."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message, self.hint = message, hint


class _Stub(Exception):
    """The student's function raised NotImplementedError."""


_PKG_DIR = str(Path(__file__).resolve().parent)
_LIB_MARKERS = (_PKG_DIR, os.sep + "torch" + os.sep, os.sep + "numpy" + os.sep, os.sep + "site-packages" + os.sep)


def _where(exc: BaseException) -> str:
    """' (line N: `code`)' of the last frame of the traceback that is the student's code."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if not any(m in (f.filename or "") for m in _LIB_MARKERS)]
    if not mine:
        return ""
    f = mine[-1]
    code = (f.line or "").strip()
    return f" (line {f.lineno}: `{code}`)" if code else f" (line {f.lineno})"


def _call(fn: Callable, name: str, *args, **kwargs):
    """Call the student's ``fn``; map NotImplementedError to _Stub and other errors to _Fail."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise _Stub(name) from None
    except Exception as exc:  # the student's bug, reported as a failed case
        raise _Fail(f"{name} raised {type(exc).__name__}: {exc}{_where(exc)}",
                    "Read the error message above; it comes from your code, on the input of this case.") from None


def _fresh_seed(seed) -> int:
    if seed is None:
        return secrets.randbelow(1_000_000)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be None or an int >= 0; got {seed!r}")
    return int(seed)


def _grading() -> bool:
    return os.environ.get(GRADING_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _finish(task: str, cases: list, *, name: str, seed: int | None, verbose: bool,
            not_implemented_msg: str | None = None) -> CheckResult:
    """Run the (description, thunk) cases, build the CheckResult, print it, raise if grading."""
    info = TASKS[task]
    records: list[Case] = []
    hint = ""
    status = "passed"
    for desc, thunk in cases:
        try:
            thunk()
        except _Stub:
            status = "not implemented"
            msg = not_implemented_msg or (
                f"{name} still raises NotImplementedError: replace the `raise NotImplementedError(...)` line "
                "with your code, run that cell, then run this check again.")
            records = [Case(desc, False, msg)]
            hint = ""
            break
        except _Fail as f:
            status = "failed"
            records.append(Case(desc, False, f.message))
            hint = hint or f.hint
        else:
            records.append(Case(desc, True))
    points = float(info.points) if status == "passed" else 0.0
    result = CheckResult(task=task, title=info.title, status=status, points=points, max_points=float(info.points),
                         cases=records, hint=hint, seed=seed)
    if verbose:
        print(result.report())
    if _grading() and not result.passed:
        raise CheckFailed(f"task {task}: {status} ({_fmt_points(points)}/{_fmt_points(info.points)} points)")
    return result


def _require_callable(fn, name: str) -> None:
    if not callable(fn):
        raise ValueError(f"pass the function itself (e.g. {name}), not {type(fn).__name__} {fn!r:.60}")


# ---------------------------------------------------------------------------------- comparisons
def _as_tensor(x, what: str, like: torch.Tensor) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise _Fail(f"{what} is a {type(x).__name__}, not a torch.Tensor",
                    "Return tensors with the shape of the weights.")
    if tuple(x.shape) != tuple(like.shape):
        raise _Fail(f"{what} has shape {tuple(x.shape)}; expected {tuple(like.shape)} (the shape of the weights)",
                    "Work elementwise: every weight has its own gradient and its own sum; do not reduce over the tensor.")
    x = x.detach().to(like.dtype)
    if not bool(torch.isfinite(x).all()):
        raise _Fail(f"{what} holds NaN or infinity",
                    "Look for a division by zero or by a tiny number (for example a sum that is still 0).")
    return x


def _close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-5, atol: float = 1e-7) -> bool:
    return bool(torch.allclose(a, b, rtol=rtol, atol=atol))


def _first_diff(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-5, atol: float = 1e-7):
    bad = ~torch.isclose(a, b, rtol=rtol, atol=atol)
    idx = torch.nonzero(bad)[0].tolist()
    return tuple(idx)


def _num(x) -> str:
    return f"{float(x):.6g}"


def _match_variant(variants: dict, out: tuple, compute: Callable[[Callable], tuple], rtol=1e-5, atol=1e-7) -> str:
    """The hint of the first mistake variant whose output equals the student's, else ''."""
    for _, (fn, hint) in variants.items():
        try:
            ref = compute(fn)
        except Exception:  # a variant can be undefined on an input (e.g. 0/0)
            continue
        if all(torch.isfinite(r).all() and r.shape == o.shape and _close(o, r, rtol, atol) for o, r in zip(out, ref)):
            return hint
    return ""


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


_ADAGRAD_VARIANTS = {
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
    _require_callable(adagrad_step, "adagrad_step")
    seed = _fresh_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    specs = [((5,), 0.1, 1e-10, 3), ((3, 4), 0.5, 0.1, 3), ((2, 3, 2), 0.01, 1e-10, 4), ((6,), 1.0, 1.0, 2),
             ((4, 4), 0.05, 1e-3, 3)]
    cases = []
    for k, (shape, lr, eps, n_steps) in enumerate(specs):
        w0 = torch.randn(shape, generator=gen)
        scale = 10 ** (torch.rand((), generator=gen).item() * 2 - 1.5)
        grads = [torch.randn(shape, generator=gen) * scale for _ in range(n_steps)]
        grads[0].view(-1)[0] = 0.0  # a weight without gradient at the first step
        desc = f"case {k + 1}: shape {shape}, lr={lr:g}, eps={eps:g}, {n_steps} steps"

        def thunk(w0=w0, grads=grads, lr=lr, eps=eps):
            ref = _adagrad_reference(w0, grads, lr, eps)
            w, s = w0.clone(), torch.zeros_like(w0)
            for t, g in enumerate(grads):
                out = _call(adagrad_step, "adagrad_step", w=w.clone(), g=g.clone(), grad_sq_sum=s.clone(), lr=lr, eps=eps)
                new_w, new_s = _unpack_pair(out, "adagrad_step", "(new_w, new_grad_sq_sum)")
                new_w = _as_tensor(new_w, "new_w", w0)
                new_s = _as_tensor(new_s, "new_grad_sq_sum", w0)
                rw, rs = ref[t]
                if not (_close(new_w, rw) and _close(new_s, rs)):
                    which = "new_w" if not _close(new_w, rw) else "new_grad_sq_sum"
                    mine, theirs = (new_w, rw) if which == "new_w" else (new_s, rs)
                    i = _first_diff(mine, theirs)
                    msg = (f"step {t + 1}: {which} differs at index {i}: with g = {_num(g[i])} and grad_sq_sum "
                           f"before the step = {_num(s[i])}, w = {_num(w[i])}: yours is {_num(mine[i])}, "
                           f"torch.optim.Adagrad gives {_num(theirs[i])}")
                    hint = _match_variant(_ADAGRAD_VARIANTS, (new_w, new_s),
                                          lambda f: f(w, g, s, lr, eps)) or (
                        "Compare your formula with sum ← sum + g², w ← w − lr·g / (sqrt(sum) + eps), elementwise.")
                    raise _Fail(msg, hint)
                w, s = new_w, new_s

        cases.append((desc, thunk))
    return _finish("1.1", cases, name="adagrad_step", seed=seed, verbose=verbose)


def _unpack_pair(out, name: str, shape_text: str):
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        got = "None" if out is None else type(out).__name__
        raise _Fail(f"{name} returned {got}; it must return a pair {shape_text}",
                    f"End your function with `return new_w, new_sum` (two tensors).")
    return out


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
_CLASSP_VARIANTS = {
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
    _require_callable(classp_step, "classp_step")
    seed = _fresh_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    # shape, lr, power, eps, threshold (float, or quantile of g² at the first step), steps, ties
    specs = [((6,), 0.03, 1.0, 1e-8, "q0.5", 3, False),
             ((4, 5), 0.1, 2.0, 0.1, "q0.5", 3, False),
             ((3, 4), 0.05, 0.5, 1e-3, "q0.25", 4, False),
             ((8,), 0.03, 1.0, 1e-8, 0.0, 2, False),
             ((2, 3, 2), 0.2, 1.5, 1e-2, "q0.75", 3, False),
             ((10,), 0.1, 1.0, 1e-8, 0.25, 2, True)]
    cases = []
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
            q = float(tau_spec[1:])
            tau = float(torch.quantile((grads[0] * grads[0]).flatten(), q))
        else:
            tau = float(tau_spec)
        desc = (f"case {k + 1}: shape {shape}, lr={lr:g}, threshold={tau:.3g}, power={power:g}, eps={eps:g}, "
                f"{n_steps} steps" + (", some g² = threshold" if ties else ""))

        def thunk(w0=w0, grads=grads, lr=lr, tau=tau, power=power, eps=eps):
            ref = _classp_reference(w0, grads, lr, tau, power, eps)
            w, s = w0.clone(), torch.zeros_like(w0)
            for t, g in enumerate(grads):
                out = _call(classp_step, "classp_step", w=w.clone(), g=g.clone(), grad_sum=s.clone(), lr=lr,
                            threshold=tau, power=power, eps=eps)
                new_w, new_s = _unpack_pair(out, "classp_step", "(new_w, new_grad_sum)")
                new_w = _as_tensor(new_w, "new_w", w0)
                new_s = _as_tensor(new_s, "new_grad_sum", w0)
                rw, rs = ref[t]
                if not (_close(new_w, rw) and _close(new_s, rs)):
                    which = "new_w" if not _close(new_w, rw) else "new_grad_sum"
                    mine, theirs = (new_w, rw) if which == "new_w" else (new_s, rs)
                    i = _first_diff(mine, theirs)
                    moved = bool(g[i] * g[i] > tau)
                    msg = (f"step {t + 1}: {which} differs at index {i}: with g = {_num(g[i])} (g² = {_num(g[i] ** 2)}, "
                           f"{'above' if moved else 'not above'} the threshold), grad_sum before the step = "
                           f"{_num(s[i])}, w = {_num(w[i])}: yours is {_num(mine[i])}, classp.CLASSP gives "
                           f"{_num(theirs[i])}")
                    hint = _match_variant(_CLASSP_VARIANTS, (new_w, new_s),
                                          lambda f: f(w, g, s, lr, tau, power, eps)) or (
                        "Work elementwise: m = (g² > threshold); grad_sum ← grad_sum + m·|g|^p; "
                        "w ← w − m·lr·g / (eps + grad_sum)^(1/p).")
                    raise _Fail(msg, hint)
                w, s = new_w, new_s

        cases.append((desc, thunk))
    return _finish("1.2", cases, name="classp_step", seed=seed, verbose=verbose)


# ================================================================================== task 2.1
def _as_number(x, what: str) -> float:
    if isinstance(x, torch.Tensor):
        if x.numel() != 1:
            raise _Fail(f"{what} is a tensor with {x.numel()} entries (shape {tuple(x.shape)}); expected one number",
                        "Return one threshold for all the weights of the network (a Python float), not one per "
                        "tensor or per weight.")
        x = x.item()
    if isinstance(x, np.ndarray):
        if x.size != 1:
            raise _Fail(f"{what} is an array with {x.size} entries; expected one number",
                        "Return one threshold for all the weights of the network (a Python float).")
        x = x.item()
    if isinstance(x, (list, tuple, dict)):
        raise _Fail(f"{what} is a {type(x).__name__} of {len(x)} items; expected one number",
                    "Return one threshold for all the weights of the network, not one per tensor: CLASSP compares "
                    "every weight's g² with the same threshold.")
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise _Fail(f"{what} is {type(x).__name__} {x!r:.60}; expected a number",
                    "Return a float (for example `float(tensor)`).")
    x = float(x)
    if not math.isfinite(x):
        raise _Fail(f"{what} is {x}; expected a finite number", "")
    return x


def _density_variants(grads, density):
    flat2 = torch.cat([g.flatten() for g in grads]).double() ** 2
    flat_abs = flat2.sqrt()
    per_tensor = [float(torch.quantile((g.double().flatten() ** 2), 1 - density)) for g in grads]
    return {
        "per tensor (mean)": (float(np.mean(per_tensor)),
                              "Compute one quantile over all the weights of all tensors together (concatenate "
                              "the flattened tensors first). A threshold computed per tensor and then averaged "
                              "masks a different share of the weights."),
        "per tensor (median)": (float(np.median(per_tensor)),
                                "Compute one quantile over all the weights of all tensors together, not per tensor."),
        "|g| instead of g²": (float(torch.quantile(flat_abs, 1 - density)),
                              "CLASSP tests g² > threshold: take the quantile of the squared gradients, not of |g|."),
        "quantile at density": (float(torch.quantile(flat2, density)),
                                "A share `density` of the weights must have g² ABOVE the threshold, so the threshold "
                                "is the (1 − density) quantile of g², not the `density` quantile."),
    }


def check_threshold_for_density(threshold_for_density: Callable, *, seed: int | None = None,
                                verbose: bool = True) -> CheckResult:
    """Check task 2.1: ``threshold_for_density(grads, density) -> float``.

    ``grads`` is a list of gradient tensors (one per parameter, of different shapes and scales);
    the answer ``tau`` must make the share of all entries with ``g**2 > tau`` equal ``density``
    within 0.01 (there are many right answers; any threshold between the right order statistics
    passes).

    Parameters
    ----------
    threshold_for_density : callable
        Called as ``threshold_for_density(grads, density)``.
    seed : int, optional
        Seed of the random cases (default: a fresh one, printed with the verdict).
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    CheckResult
    """
    _require_callable(threshold_for_density, "threshold_for_density")
    seed = _fresh_seed(seed)
    gen = torch.Generator().manual_seed(seed)

    def layers(shapes, scales, zeros=0.0):
        out = []
        for sh, sc in zip(shapes, scales):
            g = torch.randn(sh, generator=gen) * sc
            if zeros:
                g[torch.rand(sh, generator=gen) < zeros] = 0.0
            out.append(g)
        return out

    specs = [
        ("3 tensors of very different scales", layers([(20, 30), (30,), (10, 20)], [1e-3, 1e-1, 1.0]), 0.10),
        ("2 tensors with 40% exact zeros", layers([(50, 20), (200,)], [0.01, 0.02], zeros=0.4), 0.30),
        ("1 tensor of 5000 heavy-tailed gradients", [torch.randn(5000, generator=gen) ** 3 * 1e-2], 0.01),
        ("4 tensors", layers([(16, 8), (8,), (8, 40), (40,)], [0.3, 0.01, 0.05, 0.002]), 0.50),
        ("2 tensors, most weights kept", layers([(30, 30), (30,)], [1e-4, 1e-2]), 0.90),
    ]
    cases = []
    for k, (what, grads, density) in enumerate(specs):
        n = sum(g.numel() for g in grads)
        desc = f"case {k + 1}: {what}, {n} weights, density={density:g}"

        def thunk(grads=grads, density=density, n=n):
            out = _call(threshold_for_density, "threshold_for_density", [g.clone() for g in grads], density)
            tau = _as_number(out, "the threshold")
            flat2 = torch.cat([g.flatten() for g in grads]).double() ** 2
            achieved = float((flat2 > tau).double().mean())
            if abs(achieved - density) > 0.01:
                hint = ""
                for _, (v, h) in _density_variants(grads, density).items():
                    if math.isclose(tau, v, rel_tol=1e-3, abs_tol=1e-30):
                        hint = h
                        break
                if not hint:
                    hint = ("The share of weights with g² > τ falls as τ grows; τ is a quantile of the squared "
                            "gradients of all weights together.")
                raise _Fail(f"your threshold {tau:.4g} gives g² > threshold for a share {achieved:.4f} of the "
                            f"{n} weights; the target is {density:g} ± 0.01", hint)

        cases.append((desc, thunk))
    return _finish("2.1", cases, name="threshold_for_density", seed=seed, verbose=verbose)


# ================================================================================== runs
def _run_kwargs(cfg: dict) -> dict:
    """Keyword arguments of :func:`classp.train.run` that repeat a run from its config."""
    if cfg.get("model_name") in (None, "custom"):
        raise _Fail("this run used a model object, so it cannot be repeated from its config",
                    "Pass a model name (or nothing) to run(), not a torch.nn.Module.")
    kw = dict(method=cfg["method"], sequence=cfg["sequence"], seed=int(cfg["seed"]), model=cfg["model_name"],
              epochs=cfg["epochs"], batch_size=int(cfg["batch_size"]), options=dict(cfg.get("options_given") or {}),
              sequence_options=dict(cfg.get("sequence_options") or {}) or None, shuffle=bool(cfg.get("shuffle", True)),
              eval_every=cfg.get("eval_every"), progress=False)
    if cfg.get("lr_given"):
        kw["lr"] = float(cfg["lr"])
    return kw


def _rerun_matches(result, what: str) -> None:
    """Repeat ``result`` from its config and compare accuracy matrices (raise _Fail if they differ)."""
    from ..lab.train import run

    kw = _run_kwargs(result.config)
    try:
        again = run(**kw)
    except ValueError as exc:  # e.g. a method that is not in the registry
        raise _Fail(f"{what} (method {result.method!r}, seed {result.seed}) cannot be run again from its config: {exc}",
                    "Use registered methods (classp.methods.list_methods()) so that every run can be repeated.") from None
    if again.accuracy_matrix.shape != result.accuracy_matrix.shape or not np.allclose(
            again.accuracy_matrix, result.accuracy_matrix, rtol=0, atol=1e-12):
        raise _Fail(f"{what} (method {result.method!r}, seed {result.seed}) does not reproduce: running it again "
                    "from its config gives another accuracy matrix",
                    "Pass the runs exactly as classp.run returned them, and do not change them afterwards.")


def _is_result(x) -> bool:
    from ..lab.results import Result

    return isinstance(x, Result)


def _threshold_of(r) -> float | None:
    """Effective CLASSP threshold of a run (None if it is not a CLASSP run with a threshold)."""
    if r.method == "classp-no-threshold":
        return 0.0
    if r.method == "classp":
        return float(r.config.get("options", {}).get("threshold"))
    return None


# ================================================================================== task 2.3
#: Settings of task 2.3 (the lab setting the threshold is searched in).
DENSITY_TASK = dict(sequence="permuted-digits", seed=0, target=0.10, tol=0.01)


def check_threshold_density(tau, *, target: float = DENSITY_TASK["target"], tol: float = DENSITY_TASK["tol"],
                            sequence: str = DENSITY_TASK["sequence"], seed: int = DENSITY_TASK["seed"],
                            verbose: bool = True) -> CheckResult:
    """Check task 2.3: a threshold ``tau`` whose CLASSP run has the target mean update density.

    Runs ``classp.run("classp", sequence, seed=seed, options={"threshold": tau})`` (the method's
    other defaults) and passes when the run's mean update density is within ``tol`` of ``target``.
    The expected threshold is never printed; the density the student's ``tau`` gives is.

    Parameters
    ----------
    tau : float
        The student's threshold (>= 0).
    target, tol : float
        Target mean density and tolerance (the assignment's: 0.10 ± 0.01).
    sequence : str, default "permuted-digits"
    seed : int, default 0
    verbose : bool, default True

    Returns
    -------
    CheckResult
    """
    if not 0 < target < 1:
        raise ValueError(f"target must be in (0, 1); got {target!r}")
    if not tol > 0:
        raise ValueError(f"tol must be > 0; got {tol!r}")

    def thunk():
        if tau is Ellipsis or tau is None:
            raise _Stub("tau")
        t = _as_number(tau, "tau")
        if t < 0:
            raise _Fail(f"tau = {t:g} is negative", "A threshold on g² is >= 0.")
        from ..lab.train import run

        r = run("classp", sequence, seed=seed, options={"threshold": t}, progress=False)
        d = r.metrics()["mean_density"]
        if abs(d - target) > tol:
            direction = "raise" if d > target else "lower"
            raise _Fail(f"with threshold {t:.4g} the run's mean update density is {d:.4f}; the target is "
                        f"{target:g} ± {tol:g}",
                        f"{direction.capitalize()} the threshold: more weights pass a lower one. The density "
                        "changes by orders of magnitude of τ, so search log10(τ) (bisection).")

    desc = f"mean update density of classp on {sequence} (seed {seed}) is {target:g} ± {tol:g}"
    return _finish("2.3", [(desc, thunk)], name="tau", seed=None, verbose=verbose,
                   not_implemented_msg="tau is not set yet: finish task 2.3 above, then run this check again.")


# ================================================================================== task 2.4
def check_forgetting_bought(value, dense_runs: Sequence, sparse_runs: Sequence, tau, *,
                            sequence: str = DENSITY_TASK["sequence"], seeds: Sequence[int] = (0, 1, 2),
                            seed: int | None = None, verbose: bool = True) -> CheckResult:
    """Check task 2.4: the forgetting the threshold ``tau`` removes, averaged over seeds.

    ``value`` must equal mean forgetting of ``dense_runs`` (CLASSP with threshold 0) minus mean
    forgetting of ``sparse_runs`` (CLASSP with ``tau``), forgetting as :func:`classp.metrics.forgetting`.
    The runs must be CLASSP runs on ``sequence`` with ``seeds`` and the same training setting; one
    of them, drawn at random, is run again to confirm it reproduces.

    Parameters
    ----------
    value : float
        The student's number (positive: the threshold reduces forgetting).
    dense_runs, sparse_runs : sequence of Result
        The runs it was computed from.
    tau : float
        The threshold of the sparse runs.
    sequence : str, default "permuted-digits"
    seeds : sequence of int, default (0, 1, 2)
    seed : int, optional
        Seed of the choice of the run that is repeated.
    verbose : bool, default True

    Returns
    -------
    CheckResult
    """
    seed = _fresh_seed(seed)
    rng = np.random.default_rng(seed)
    want_seeds = sorted(int(s) for s in seeds)
    state = {}

    def stub_guard():
        for x in (value, dense_runs, sparse_runs, tau):
            if x is Ellipsis or x is None:
                raise _Stub("value")

    def runs_ok():
        stub_guard()
        t = _as_number(tau, "tau")
        for name, runs, thr in (("dense_runs", dense_runs, 0.0), ("sparse_runs", sparse_runs, t)):
            if not isinstance(runs, (list, tuple)) or not runs or not all(_is_result(r) for r in runs):
                raise _Fail(f"{name} must be a list of the Results classp.run returned",
                            "Collect the runs in a list: [run(...) for seed in (0, 1, 2)].")
            got = sorted(int(r.seed) for r in runs)
            if got != want_seeds:
                raise _Fail(f"{name} has seeds {got}; expected {want_seeds}", "Run every seed once.")
            for r in runs:
                if r.sequence != sequence:
                    raise _Fail(f"{name} holds a run on {r.sequence!r}; expected {sequence!r}", "")
                th = _threshold_of(r)
                if th is None or not math.isclose(th, thr, rel_tol=1e-9, abs_tol=0.0):
                    raise _Fail(f"{name} holds a run of method {r.method!r} with threshold {th}; expected a CLASSP "
                                f"run with threshold {thr:g}",
                                "dense: run('classp', ..., options={'threshold': 0.0}); sparse: "
                                "options={'threshold': tau}.")
        settings = {(r.config["epochs"] if not isinstance(r.config["epochs"], list) else tuple(r.config["epochs"]),
                     r.config["batch_size"], r.config["lr"], r.config.get("model_name"))
                    for r in list(dense_runs) + list(sparse_runs)}
        if len(settings) != 1:
            raise _Fail("the runs differ in epochs, batch size, learning rate or model",
                        "Change only the threshold between the two groups of runs.")
        state["ok"] = True

    def reproduces():
        stub_guard()
        if not state.get("ok"):
            raise _Fail("skipped: the runs are not the expected ones (see the case above)", "")
        allruns = list(dense_runs) + list(sparse_runs)
        _rerun_matches(allruns[int(rng.integers(len(allruns)))], "a run")

    def value_ok():
        stub_guard()
        if not state.get("ok"):
            raise _Fail("skipped: the runs are not the expected ones (see the first case)", "")
        v = _as_number(value, "your value")
        from ..lab.metrics import backward_transfer, forgetting

        f_dense = np.mean([forgetting(r.accuracy_matrix) for r in dense_runs])
        f_sparse = np.mean([forgetting(r.accuracy_matrix) for r in sparse_runs])
        expected = float(f_dense - f_sparse)
        if not math.isclose(v, expected, rel_tol=0, abs_tol=1e-6):
            variants = {
                "sign": (-expected, "The forgetting the threshold 'buys' is forgetting without it minus forgetting "
                                    "with it (positive when the threshold helps); your sign is reversed."),
                "bwt": (float(np.mean([backward_transfer(r.accuracy_matrix) for r in sparse_runs])
                              - np.mean([backward_transfer(r.accuracy_matrix) for r in dense_runs])),
                        "Use forgetting (Chaudhry et al.: best earlier accuracy minus final accuracy), "
                        "classp.metrics.forgetting or result.metrics()['forgetting'], not backward transfer."),
                "seed 0": (float(forgetting(sorted(dense_runs, key=lambda r: r.seed)[0].accuracy_matrix)
                                 - forgetting(sorted(sparse_runs, key=lambda r: r.seed)[0].accuracy_matrix)),
                           "Average over all the seeds, not only the first."),
            }
            hint = next((h for _, (x, h) in variants.items() if math.isclose(v, x, rel_tol=0, abs_tol=1e-6)),
                        "mean over seeds of forgetting (threshold 0) minus mean over seeds of forgetting "
                        "(threshold τ), with classp.metrics.forgetting.")
            raise _Fail(f"your value {v:.6g} does not match the forgetting difference of the runs you passed", hint)

    cases = [(f"the runs: classp on {sequence}, seeds {want_seeds}, threshold 0 and τ", runs_ok),
             ("a run drawn at random reproduces when run again", reproduces),
             ("value = mean forgetting (threshold 0) − mean forgetting (τ)", value_ok)]
    return _finish("2.4", cases, name="forgetting_bought", seed=seed, verbose=verbose,
                   not_implemented_msg="Task 2.4 is not done yet: compute the runs and the value above, then run "
                                       "this check again.")


# ================================================================================== task 3.1
def _fisher_variant(model, x, y, how: str):
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


_FISHER_HINTS = {
    "batch": "Square the gradient of EACH sample's log-likelihood, then average the squares. Squaring the gradient "
             "of the batch's mean loss gives (mean g)², which is much smaller than mean(g²).",
    "sum": "Average over the samples (divide the sum of squared gradients by N).",
    "predicted": "Use the true label y of each sample (the empirical Fisher), not the network's prediction.",
    "unsquared": "Square each per-sample gradient before averaging.",
}


def check_fisher_diagonal(fisher_diagonal: Callable, *, seed: int | None = None, verbose: bool = True) -> CheckResult:
    """Check task 3.1: ``fisher_diagonal(model, x, y) -> list of tensors``.

    On small random networks and data, the answer must equal :func:`classp.ewc.fisher_diagonal`:
    one tensor per parameter (in ``model.parameters()`` order), the mean over samples of the squared
    gradient of the sample's log-likelihood ``log softmax(model(x_n))[y_n]``. The weights must not change.

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

    _require_callable(fisher_diagonal, "fisher_diagonal")
    seed = _fresh_seed(seed)
    gen = torch.Generator().manual_seed(seed)

    def net(kind):
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (), generator=gen)))
        if kind == "linear":
            return nn.Linear(5, 4)
        if kind == "tanh":
            return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
        return nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 5))

    specs = [("linear", 5, 4, 7), ("tanh", 4, 3, 12), ("relu", 3, 5, 20), ("tanh", 4, 3, 2)]
    cases = []
    for k, (kind, d_in, d_out, n) in enumerate(specs):
        with torch.random.fork_rng(devices=[]):
            model = net(kind)
        x = torch.randn(n, d_in, generator=gen)
        y = torch.randint(0, d_out, (n,), generator=gen)
        n_par = len(list(model.parameters()))
        desc = f"case {k + 1}: {kind} network {d_in}→{d_out}, {n_par} parameter tensors, {n} samples"

        def thunk(model=model, x=x, y=y):
            ref = reference(model, x, y)
            before = [p.detach().clone() for p in model.parameters()]
            out = _call(fisher_diagonal, "fisher_diagonal", model, x.clone(), y.clone())
            if any(not torch.equal(b, p.detach()) for b, p in zip(before, model.parameters())):
                raise _Fail("the model's weights changed during fisher_diagonal",
                            "Only compute gradients (loss.backward() or torch.autograd.grad); take no optimizer step.")
            if isinstance(out, torch.Tensor) or not isinstance(out, (list, tuple)):
                raise _Fail(f"fisher_diagonal returned {type(out).__name__}; expected a list with one tensor per "
                            f"parameter ({len(ref)} here)", "Return [F_1, F_2, ...] in model.parameters() order.")
            if len(out) != len(ref):
                raise _Fail(f"fisher_diagonal returned {len(out)} tensors; the model has {len(ref)} parameters",
                            "One tensor per parameter, in model.parameters() order.")
            outs = [_as_tensor(o, f"tensor {j} of your list", r) for j, (o, r) in enumerate(zip(out, ref))]
            for j, (o, r) in enumerate(zip(outs, ref)):
                if not _close(o, r, rtol=1e-4, atol=1e-8):
                    i = _first_diff(o, r, rtol=1e-4, atol=1e-8)
                    name = [nm for nm, _ in model.named_parameters()][j]
                    hint = ""
                    for how, h in _FISHER_HINTS.items():
                        v = _fisher_variant(model, x, y, how)
                        if all(_close(a, b, rtol=1e-4, atol=1e-8) for a, b in zip(outs, v)):
                            hint = h
                            break
                    raise _Fail(f"parameter {name!r} (shape {tuple(r.shape)}) differs at index {i}: yours is "
                                f"{_num(o[i])}, classp.ewc.fisher_diagonal gives {_num(r[i])}",
                                hint or "F_i = (1/N) Σ_n (∂ log p(y_n | x_n) / ∂θ_i)², one sample at a time.")

        cases.append((desc, thunk))
    return _finish("3.1", cases, name="fisher_diagonal", seed=seed, verbose=verbose)


# ================================================================================== task 3.2
class _Holder(nn.Module):
    def __init__(self, params):
        super().__init__()
        self.ps = nn.ParameterList(params)


def check_ewc_penalty(ewc_penalty: Callable, *, seed: int | None = None, verbose: bool = True) -> CheckResult:
    """Check task 3.2: ``ewc_penalty(params, fisher, anchor, lam) -> scalar tensor``.

    The value must equal :meth:`classp.ewc.EWC.penalty` (``lam / 2 * Σ F (θ − θ*)²``) and its
    gradient with respect to ``params`` must be ``lam * F * (θ − θ*)`` (so it can be added to a loss).

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
    from ..lab.regularisers import EWC

    _require_callable(ewc_penalty, "ewc_penalty")
    seed = _fresh_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    specs = [([(3,)], 1.0), ([(4, 3), (3,)], 30.0), ([(2, 5), (5,), (5, 2)], 0.5), ([(6,)], 0.0)]
    cases = []
    for k, (shapes, lam) in enumerate(specs):
        theta = [torch.randn(s, generator=gen) for s in shapes]
        anchor = [t + 0.3 * torch.randn(t.shape, generator=gen) for t in theta]
        fisher = [torch.rand(t.shape, generator=gen) ** 2 for t in theta]
        desc = f"case {k + 1}: parameter shapes {shapes}, lam={lam:g}"

        def thunk(theta=theta, anchor=anchor, fisher=fisher, lam=lam):
            holder = _Holder([nn.Parameter(t.clone()) for t in theta])
            ewc = EWC(holder, lam=lam)
            ewc.fishers, ewc.anchors = [[f.clone() for f in fisher]], [[a.clone() for a in anchor]]
            ref = float(ewc.penalty().detach())
            params = [t.clone().requires_grad_(True) for t in theta]
            out = _call(ewc_penalty, "ewc_penalty", params, [f.clone() for f in fisher], [a.clone() for a in anchor], lam)
            if not isinstance(out, torch.Tensor):
                raise _Fail(f"ewc_penalty returned {type(out).__name__}; expected a scalar torch.Tensor",
                            "Build the penalty from the tensors with torch operations (no .item(), no float()), so "
                            "that autograd can differentiate it.")
            if out.numel() != 1:
                raise _Fail(f"ewc_penalty returned a tensor of shape {tuple(out.shape)}; expected a scalar",
                            "Sum over every weight of every parameter tensor.")
            v = float(out.detach())
            if not math.isclose(v, ref, rel_tol=1e-5, abs_tol=1e-7):
                hints = [(2 * ref, "The EWC penalty has a factor ½: lam / 2 · Σ F (θ − θ*)². (With the ½, its "
                                   "gradient is lam · F · (θ − θ*).)"),
                         (ref / 2, "The penalty is lam / 2 · Σ F (θ − θ*)²; yours is half of that."),
                         (ref / lam if lam else float("nan"), "Multiply by lam."),
                         (0.5 * lam * sum(float((f * (t - a).abs()).sum()) for t, a, f in zip(theta, anchor, fisher)),
                          "Square the distance to the anchor: (θ − θ*)², not |θ − θ*|.")]
                hint = next((h for x, h in hints if math.isclose(v, x, rel_tol=1e-5, abs_tol=1e-7)),
                            "lam / 2 · Σ over all parameters and weights of F · (θ − θ*)².")
                raise _Fail(f"yours is {v:.6g}, EWC.penalty() gives {ref:.6g}", hint)
            if lam == 0:
                return
            if out.grad_fn is None:
                raise _Fail("the penalty has no gradient (grad_fn is None)",
                            "Compute it from `params` with torch operations, without .detach(), .item() or "
                            "torch.no_grad(), so that loss + penalty can be back-propagated.")
            grads = torch.autograd.grad(out.sum(), params, allow_unused=True)
            for j, (gr, t, a, f) in enumerate(zip(grads, theta, anchor, fisher)):
                want = lam * f * (t - a)
                if gr is None or not _close(gr, want, rtol=1e-4, atol=1e-6):
                    raise _Fail(f"the gradient of your penalty with respect to parameter {j} is not lam·F·(θ − θ*)",
                                "Use params (the tensors that require grad) in the formula, not copies of them.")

        cases.append((desc, thunk))
    return _finish("3.2", cases, name="ewc_penalty", seed=seed, verbose=verbose)


# ================================================================================== task 4.1
def _forgetting_variants(R: np.ndarray) -> dict:
    T = R.shape[0]
    if T < 2:
        return {}
    last = R[-1]
    return {
        "diagonal": (np.mean([R[j, j] - last[j] for j in range(T - 1)]),
                     "Forgetting (Chaudhry et al.) compares the final accuracy with the BEST accuracy the task had "
                     "before the last task (max over rows j … T−2), not with the accuracy right after training it."),
        "last row in max": (np.mean([R[j:, j].max() - last[j] for j in range(T - 1)]),
                            "The max runs over the rows before the last one (l = j … T−2); including the last row "
                            "makes forgetting never negative."),
        "divide by T": (np.sum([R[j:T - 1, j].max() - last[j] for j in range(T - 1)]) / T,
                        "Average over the T − 1 earlier tasks (the last task cannot have been forgotten yet)."),
        "last task included": (np.mean([R[j:max(T - 1, j + 1), j].max() - last[j] for j in range(T)]),
                               "Leave out the last task: average over j = 0 … T−2."),
        "sign": (-np.mean([R[j:T - 1, j].max() - last[j] for j in range(T - 1)]),
                 "Forgetting is the best earlier accuracy minus the final accuracy (positive = forgotten)."),
    }


def check_forgetting(forgetting: Callable, *, seed: int | None = None, verbose: bool = True) -> CheckResult:
    """Check task 4.1: ``forgetting(R) -> float`` for an accuracy matrix ``R`` (numpy array T x T).

    Compared with :func:`classp.metrics.forgetting` (Chaudhry et al. 2018:
    :math:`\\frac1{T-1}\\sum_{j<T-1} \\max_{l\\in j..T-2} R_{l,j} - R_{T-1,j}`, and 0 when T = 1) on
    random matrices and on matrices where a task improves after it was trained.

    Parameters
    ----------
    forgetting : callable
        Called as ``forgetting(R)`` with a float64 NumPy array.
    seed : int, optional
    verbose : bool, default True

    Returns
    -------
    CheckResult
    """
    from ..lab.metrics import forgetting as reference

    _require_callable(forgetting, "forgetting")
    seed = _fresh_seed(seed)
    rng = np.random.default_rng(seed)
    mats = [("3 tasks, random accuracies", rng.uniform(0.1, 1.0, (3, 3))),
            ("5 tasks, random accuracies", rng.uniform(0.1, 1.0, (5, 5))),
            ("4 tasks, a task improves after it was trained", None),
            ("2 tasks", rng.uniform(0.1, 1.0, (2, 2))),
            ("1 task (0 by convention)", rng.uniform(0.1, 1.0, (1, 1))),
            ("6 tasks, random accuracies", rng.uniform(0.1, 1.0, (6, 6)))]
    R3 = np.round(rng.uniform(0.3, 0.6, (4, 4)), 3)
    R3[1, 0] = 0.95  # task 0 peaks after task 1 was trained: max differs from the diagonal
    R3[2, 1] = 0.9
    mats[2] = (mats[2][0], R3)
    cases = []
    for k, (what, R) in enumerate(mats):
        desc = f"case {k + 1}: {what}"

        def thunk(R=R):
            ref = float(reference(R))
            out = _call(forgetting, "forgetting", R.copy())
            v = _as_number(out, "your forgetting")
            if not math.isclose(v, ref, rel_tol=1e-9, abs_tol=1e-9):
                hint = next((h for _, (x, h) in _forgetting_variants(R).items()
                             if math.isclose(v, float(x), rel_tol=1e-9, abs_tol=1e-9)),
                            "mean over j = 0 … T−2 of (max over l = j … T−2 of R[l, j]) − R[T−1, j]; 0 when T = 1.")
                raise _Fail(f"for R =\n{np.array2string(R, precision=3)}\nyours is {v:.6g}, "
                            f"classp.metrics.forgetting gives {ref:.6g}", hint)

        cases.append((desc, thunk))
    return _finish("4.1", cases, name="forgetting", seed=seed, verbose=verbose)


# ================================================================================== task 4.2
#: Methods that count as baselines in task 4.2.
BASELINES = ("sgd", "adam", "adagrad", "ewc", "joint", "classp-no-threshold", "classp-no-decay")


def _config_key(r) -> tuple:
    cfg = r.config
    opts = tuple(sorted((k, repr(v)) for k, v in (cfg.get("options") or {}).items()))
    return (r.method, repr(cfg.get("lr")), opts)


def check_experiment(results: Sequence, *, min_seeds: int = 3, min_classp_settings: int = 3, min_baselines: int = 2,
                     seed: int | None = None, verbose: bool = True) -> CheckResult:
    """Check task 4.2: the design of a stability-plasticity experiment (a list of Results).

    The rules: every run is a :class:`classp.results.Result` on the same sequence with the same
    epochs, batch size and model; every configuration (method, learning rate, options) ran with
    the same ``min_seeds`` or more seeds; at least ``min_classp_settings`` CLASSP configurations
    (a sweep) and ``min_baselines`` baseline methods (:data:`BASELINES`); and one run, drawn at
    random, reproduces when run again from its config.

    Parameters
    ----------
    results : sequence of Result
    min_seeds, min_classp_settings, min_baselines : int
        The assignment's rules (3, 3 and 2).
    seed : int, optional
        Seed of the choice of the run that is repeated.
    verbose : bool, default True

    Returns
    -------
    CheckResult
    """
    for name, value in (("min_seeds", min_seeds), ("min_classp_settings", min_classp_settings),
                        ("min_baselines", min_baselines)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an int >= 1; got {value!r}")
    seed = _fresh_seed(seed)
    rng = np.random.default_rng(seed)

    def runs():
        if results is Ellipsis or results is None:
            raise _Stub("results")
        if not isinstance(results, (list, tuple)) or not results or not all(_is_result(r) for r in results):
            raise _Fail("results must be a non-empty list of the Results classp.run (or classp.compare) returned",
                        "Collect every run in one list.")
        return list(results)

    def same_setting():
        rs = runs()
        seqs = sorted({r.sequence for r in rs})
        if len(seqs) != 1:
            raise _Fail(f"the runs use several sequences: {seqs}", "Compare methods on one task sequence.")
        setting = {(repr(r.config.get("epochs")), r.config.get("batch_size"), r.config.get("model_name"),
                    repr(r.config.get("sequence_options"))) for r in rs}
        if len(setting) != 1:
            raise _Fail("the runs differ in epochs, batch size, model or sequence options",
                        "Keep the training setting fixed; vary only the method and its hyper-parameters.")

    def seeds_ok():
        rs = runs()
        groups: dict = {}
        for r in rs:
            groups.setdefault(_config_key(r), []).append(int(r.seed))
        seed_sets = {tuple(sorted(v)) for v in groups.values()}
        for key, s in groups.items():
            if len(set(s)) != len(s):
                raise _Fail(f"configuration {key[0]!r} ran seed(s) {sorted(s)} more than once", "One run per seed.")
            if len(s) < min_seeds:
                raise _Fail(f"configuration {key[0]!r} (lr {key[1]}, options {dict(key[2])}) ran {len(s)} seed(s); "
                            f"at least {min_seeds} are needed",
                            "Run every configuration with the same seeds, e.g. seeds=(0, 1, 2), so that you can "
                            "tell a difference from the spread between seeds.")
        if len(seed_sets) != 1:
            raise _Fail(f"the configurations ran different seeds: {sorted(seed_sets)}", "Use the same seeds everywhere.")

    def sweep_ok():
        rs = runs()
        classp_keys = {_config_key(r) for r in rs if r.method == "classp"}
        if len(classp_keys) < min_classp_settings:
            raise _Fail(f"{len(classp_keys)} CLASSP configuration(s); at least {min_classp_settings} are needed",
                        "Sweep one hyper-parameter of CLASSP (e.g. threshold) over several values, so that CLASSP "
                        "draws a curve on the frontier rather than a point.")
        baselines = sorted({r.method for r in rs if r.method in BASELINES})
        if len(baselines) < min_baselines:
            raise _Fail(f"baselines found: {baselines or 'none'}; at least {min_baselines} are needed",
                        f"Add methods to compare with, from {', '.join(BASELINES)}.")

    def reproduces():
        rs = runs()
        _rerun_matches(rs[int(rng.integers(len(rs)))], "a run")

    cases = [("a list of Results", lambda: runs()),
             ("one sequence and one training setting", same_setting),
             (f"every configuration with the same {min_seeds} or more seeds", seeds_ok),
             (f"at least {min_classp_settings} CLASSP settings and {min_baselines} baselines", sweep_ok),
             ("a run drawn at random reproduces when run again", reproduces)]
    return _finish("4.2", cases, name="results", seed=seed, verbose=verbose,
                   not_implemented_msg="results is not set yet: run your experiment above, then run this check again.")
