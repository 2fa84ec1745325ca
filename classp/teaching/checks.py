"""Instant checks for the book's assignments: the driver.

One function per graded task. Each takes the student's function (or value), runs it on fresh
random cases against the package's own implementation (:class:`classp.CLASSP`,
``torch.optim.Adagrad``, :func:`classp.lab.regularisers.fisher_diagonal`,
:class:`classp.lab.regularisers.EWC`, :func:`classp.lab.metrics.forgetting`,
:func:`classp.lab.train.run`) and prints a verdict: which cases passed, which failed and on which
input, with a hint. It never prints the solution: for a function it shows the student's and the
package's output on one entry of one small input, and for a value task (a threshold, a measured
difference) it never shows the expected value.

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

The checks live in one module per assignment (:mod:`classp.teaching.a1` … :mod:`classp.teaching.a4`);
this module is the driver they share (the registry of tasks, the verdict, running a student's code,
comparing and diagnosing) and re-exports every check, so that a notebook's
``checks.check_adagrad_step(...)`` finds it here. An assignment module imports this one; this one
loads an assignment module only when one of its checks is first asked for (no import cycle).

Cases are drawn with a fresh seed at every call (printed with the verdict); pass ``seed=`` to
repeat them. Set the environment variable ``CLASSP_GRADING=1`` (for example in an nbgrader
autograde run) to make a failed check raise :class:`CheckFailed` after printing its verdict, so
that an autograder that grades by errors gives it zero points.

Writing a check (the assignment modules): describe each case as ``(description, thunk)``; in the
thunk, call the student's code with :func:`call_student`, convert what it returns with
:func:`as_tensor_like` or :func:`as_number`, and raise :class:`CaseFailed` (message and hint) when
it is wrong, taking the hint from a table of known wrong variants with :func:`match_variant`;
then hand the cases to :func:`run_cases`.
"""
from __future__ import annotations

import importlib
import math
import os
import secrets
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch

from .._validation import check_bool, check_choice, check_int
from . import guard

if TYPE_CHECKING:  # the re-exported checks, for type checkers and IDEs
    from .a1 import check_adagrad_step, check_classp_step
    from .a2 import DENSITY_TASK, check_forgetting_bought, check_threshold_density, check_threshold_for_density
    from .a3 import check_ewc_penalty, check_fisher_diagonal
    from .a4 import BASELINES, check_experiment, check_forgetting

__all__ = [
    "CheckResult", "Case", "CheckFailed", "TaskInfo", "TASKS", "GRADING_ENV", "tasks_of",
    "check_adagrad_step", "check_classp_step", "check_threshold_for_density", "check_threshold_density",
    "check_forgetting_bought", "check_fisher_diagonal", "check_ewc_penalty", "check_forgetting",
    "check_experiment", "summary", "score", "grade",
]

#: Environment variable that makes failed checks raise :class:`CheckFailed` (for autograders).
GRADING_ENV = "CLASSP_GRADING"

#: Every name this module re-exports from an assignment module, with that module.
_EXPORTS = {
    "check_adagrad_step": "a1", "check_classp_step": "a1",
    "check_threshold_for_density": "a2", "check_threshold_density": "a2", "check_forgetting_bought": "a2",
    "DENSITY_TASK": "a2",
    "check_fisher_diagonal": "a3", "check_ewc_penalty": "a3",
    "check_forgetting": "a4", "check_experiment": "a4", "BASELINES": "a4",
    "grade": "grading", "score": "grading", "summary": "grading",
}


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __package__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))


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
        Name of the check function (in this module; it lives in the assignment's module,
        ``classp.teaching.a<assignment>``), ``None`` for manual tasks.
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
        1 to 4 (Python or numpy integer).

    Returns
    -------
    list of TaskInfo
    """
    number = check_choice("assignment", check_int("assignment", assignment),
                          sorted({t.assignment for t in _TASK_LIST}))
    return [t for t in _TASK_LIST if t.assignment == number]


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
        Points earned (the task's points times the share of cases passed; 0 when not implemented
        or when the answer uses the reference implementation) and the task's worth.
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
    graded: bool = False  #: True when computed by :func:`classp.teaching.grading.grade` in a fresh process

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


# ================================================================================== running cases
class CaseFailed(Exception):
    """A case failed: ``message`` says how (shown to the student), ``hint`` what to look at."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message, self.hint = message, hint


class NotImplementedYet(Exception):
    """The student's function raised NotImplementedError (or a value task is not set yet)."""


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


def call_student(fn: Callable, name: str, *args, **kwargs):
    """Call the student's ``fn`` with a time limit (:func:`classp.teaching.guard.time_limit_s`):
    NotImplementedError becomes :class:`NotImplementedYet`; running past the limit, ``sys.exit()``,
    building the task's reference optimizer or any other error a :class:`CaseFailed` that says
    what happened (quoting the student's line)."""
    limit = guard.time_limit_s()
    try:
        with guard.reference_trap(_CURRENT["task"]):
            return guard.run_limited(fn, args, kwargs, limit)
    except NotImplementedError:
        raise NotImplementedYet(name) from None
    except guard.StudentTimeout:
        raise CaseFailed(f"{name} did not return within {limit:g} s on this case, so the check stopped it",
                         "Look for a loop that never ends (a `while` whose condition never becomes false) or for "
                         "work that grows with the size of the tensors; one call should take well under a "
                         "second.") from None
    except guard.ReferenceUsed as exc:
        raise CaseFailed(f"{name} built {exc.args[0]}, the implementation this task asks you to write yourself",
                         "Write the computation with tensor operations; do not call the reference.") from None
    except SystemExit as exc:
        raise CaseFailed(f"{name} called sys.exit({exc.code!r}) (or exit() / quit()) instead of returning",
                         "Return the result; a function in a notebook never calls sys.exit().") from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the student's bug, reported as a failed case
        raise CaseFailed(f"{name} raised {type(exc).__name__}: {exc}{_where(exc)}",
                         "Read the error message above; it comes from your code, on the input of this case.") from None


#: Seeds a student may pass (``seed=``); grading draws its hidden cases from seeds above this range.
VISIBLE_SEEDS = 1_000_000


def case_seed(seed) -> int:
    """The seed of a check's random cases: ``seed`` itself (an integer in [0, 999999]), or a fresh one
    if None (while grading, :func:`classp.teaching.grading.grade`, a secret one above that range: the
    hidden cases are never among those a student can draw)."""
    seed = check_int("seed", seed, 0, VISIBLE_SEEDS - 1, allow_none=True)
    if seed is not None:
        return seed
    if _CURRENT["hidden"]:
        return VISIBLE_SEEDS + secrets.randbelow(2**31 - VISIBLE_SEEDS)
    return secrets.randbelow(VISIBLE_SEEDS)


def hidden() -> bool:
    """True while grading (the checks add hidden cases, drawn from seeds students cannot pass)."""
    return bool(_CURRENT["hidden"])


def require_callable(fn, name: str) -> None:
    """Refuse (``ValueError``) anything but a function: the student passed a value or a call's result."""
    if not callable(fn):
        raise ValueError(f"pass the function itself (e.g. {name}), not {type(fn).__name__} {fn!r:.60}")


#: The task whose check is running, and whether hidden (grading) cases are drawn.
_CURRENT: dict = {"task": "", "hidden": False}
#: The last verdict of every task checked in this process (what :func:`summary` adds up).
_RESULTS: dict = {}


def _grading() -> bool:
    return os.environ.get(GRADING_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def run_cases(task: str, cases: list, *, name: str, seed: int | None, verbose: bool,
              not_implemented_msg: str | None = None, answer: Callable | None = None,
              signature: str = "", args: tuple = (), kwargs: tuple = ()) -> CheckResult:
    """Run the ``(description, thunk)`` cases of a task, print the verdict, raise if grading.

    Parameters
    ----------
    task : str
        The task's number (a key of :data:`TASKS`: its title and points).
    cases : list of (str, callable)
        A thunk passes by returning; it fails by raising :class:`CaseFailed`; it raises
        :class:`NotImplementedYet` when the student's code is a stub, which ends the check.
    name : str
        What the student wrote (shown when it is not implemented yet).
    seed : int or None
        The seed the cases were drawn with (shown with a failure).
    verbose : bool
        Print the verdict.
    not_implemented_msg : str, optional
        What to say when the task is not done yet (default: replace the ``raise NotImplementedError``).
    answer : callable, optional
        The student's function: before any case runs it is screened (its signature must accept the
        call ``args`` (by position) and ``kwargs`` (by keyword) the cases make, else the verdict
        states ``signature``; and it must not use the task's reference implementation or the
        checks, :func:`classp.teaching.guard.reference_calls`). A screened-out answer scores 0.

    Returns
    -------
    CheckResult
        Points are partial: the task's points times the share of cases that passed (0 when the
        task is not implemented or the answer was screened out).
    """
    verbose = check_bool("verbose", verbose)
    info = TASKS[task]
    records: list[Case] = []
    hint = ""
    status = "passed"
    screened = False
    _CURRENT["task"] = task
    try:
        problem = guard.signature_problem(answer, signature, args, kwargs) if answer is not None and signature else ""
        uses = guard.reference_calls(answer, task) if answer is not None else []
        if problem:
            status, screened, hint = "failed", True, f"Define it as `{signature}`, then run its cell and this check again."
            records = [Case("the function's signature", False, problem)]
        elif uses:
            status, screened = "failed", True
            hint = ("The task asks you to write this computation yourself, with tensor operations; the package's "
                    "implementation is what the check compares with.")
            records = [Case("written without the reference implementation", False, "; ".join(uses))]
        for desc, thunk in ([] if screened else cases):
            try:
                thunk()
            except NotImplementedYet:
                status = "not implemented"
                msg = not_implemented_msg or (
                    f"{name} still raises NotImplementedError: replace the `raise NotImplementedError(...)` line "
                    "with your code, run that cell, then run this check again.")
                records = [Case(desc, False, msg)]
                hint = ""
                break
            except CaseFailed as f:
                status = "failed"
                records.append(Case(desc, False, f.message))
                hint = hint or f.hint
            else:
                records.append(Case(desc, True))
    finally:
        _CURRENT["task"] = ""
    if status == "passed":
        points = float(info.points)
    elif status == "failed" and not screened and records:
        points = round(info.points * sum(c.passed for c in records) / len(records), 2)
    else:
        points = 0.0
    result = CheckResult(task=task, title=info.title, status=status, points=points, max_points=float(info.points),
                         cases=records, hint=hint, seed=seed)
    _RESULTS[task] = result
    if verbose:
        print(result.report())
    if _grading() and not result.passed:
        raise CheckFailed(f"task {task}: {status} ({_fmt_points(points)}/{_fmt_points(info.points)} points)")
    return result


# ================================================================================== what the student returned
def as_tensor_like(x, what: str, like: torch.Tensor) -> torch.Tensor:
    """The student's ``x`` as a finite tensor of ``like``'s shape and dtype, else :class:`CaseFailed`."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise CaseFailed(f"{what} is a {type(x).__name__}, not a torch.Tensor",
                         "Return tensors with the shape of the weights.")
    if tuple(x.shape) != tuple(like.shape):
        raise CaseFailed(f"{what} has shape {tuple(x.shape)}; expected {tuple(like.shape)} (the shape of the weights)",
                         "Work elementwise: every weight has its own gradient and its own sum; do not reduce over "
                         "the tensor.")
    x = x.detach().to(like.dtype)
    if not bool(torch.isfinite(x).all()):
        raise CaseFailed(f"{what} holds NaN or infinity",
                         "Look for a division by zero or by a tiny number (for example a sum that is still 0).")
    return x


def as_number(x, what: str) -> float:
    """The student's ``x`` as one finite ``float`` (a Python, numpy or one-element tensor number),
    else :class:`CaseFailed` with a hint (one threshold, not one per tensor)."""
    if isinstance(x, torch.Tensor):
        if x.numel() != 1:
            raise CaseFailed(f"{what} is a tensor with {x.numel()} entries (shape {tuple(x.shape)}); expected one "
                             "number", "Return one threshold for all the weights of the network (a Python float), "
                             "not one per tensor or per weight.")
        x = x.item()
    if isinstance(x, np.ndarray):
        if x.size != 1:
            raise CaseFailed(f"{what} is an array with {x.size} entries; expected one number",
                             "Return one threshold for all the weights of the network (a Python float).")
        x = x.item()
    if isinstance(x, (list, tuple, dict)):
        raise CaseFailed(f"{what} is a {type(x).__name__} of {len(x)} items; expected one number",
                         "Return one threshold for all the weights of the network, not one per tensor: CLASSP "
                         "compares every weight's g² with the same threshold.")
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise CaseFailed(f"{what} is {type(x).__name__} {x!r:.60}; expected a number",
                         "Return a float (for example `float(tensor)`).")
    x = float(x)
    if not math.isfinite(x):
        raise CaseFailed(f"{what} is {x}; expected a finite number", "")
    return x


# ================================================================================== comparing and diagnosing
def tensors_close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-5, atol: float = 1e-7) -> bool:
    """``torch.allclose`` with the checks' default tolerances."""
    return bool(torch.allclose(a, b, rtol=rtol, atol=atol))


def first_difference(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-5, atol: float = 1e-7) -> tuple:
    """The index of the first entry where ``a`` and ``b`` differ (they must differ somewhere)."""
    bad = ~torch.isclose(a, b, rtol=rtol, atol=atol)
    return tuple(torch.nonzero(bad)[0].tolist())


def fmt_num(x) -> str:
    """One entry of a tensor, as a message shows it."""
    return f"{float(x):.6g}"


def match_variant(variants: dict, out: tuple, compute: Callable[[Callable], tuple], rtol=1e-5, atol=1e-7) -> str:
    """The hint of the first known wrong variant whose output equals the student's, else ''.

    Parameters
    ----------
    variants : dict
        A table of what students get wrong: ``{name: (variant, hint)}``, in the order to try them.
    out : tuple of Tensor
        The student's output.
    compute : callable
        ``compute(variant)`` -> the variant's output on the same input, as a tuple like ``out``.
    """
    for _, (fn, hint) in variants.items():
        try:
            ref = compute(fn)
        except Exception:  # a variant can be undefined on an input (e.g. 0/0)
            continue
        if all(torch.isfinite(r).all() and r.shape == o.shape and tensors_close(o, r, rtol, atol)
               for o, r in zip(out, ref)):
            return hint
    return ""


# ================================================================================== runs
def is_result(x) -> bool:
    """True if ``x`` is a :class:`classp.lab.results.Result` (what :func:`classp.lab.train.run` returns)."""
    from ..lab.results import Result

    return isinstance(x, Result)


def _run_kwargs(cfg: dict) -> dict:
    """Keyword arguments of :func:`classp.lab.train.run` that repeat a run from its config."""
    if cfg.get("model_name") in (None, "custom"):
        raise CaseFailed("this run used a model object, so it cannot be repeated from its config",
                         "Pass a model name (or nothing) to run(), not a torch.nn.Module.")
    kw = dict(method=cfg["method"], sequence=cfg["sequence"], seed=int(cfg["seed"]), model=cfg["model_name"],
              epochs=cfg["epochs"], batch_size=int(cfg["batch_size"]), options=dict(cfg.get("options_given") or {}),
              sequence_options=dict(cfg.get("sequence_options") or {}) or None, shuffle=bool(cfg.get("shuffle", True)),
              eval_every=cfg.get("eval_every"), progress=False)
    if cfg.get("lr_given"):
        kw["lr"] = float(cfg["lr"])
    return kw


def require_reproducible(result, what: str) -> None:
    """Run ``result`` again from its config; :class:`CaseFailed` if the accuracy matrices differ."""
    from ..lab.train import run

    kw = _run_kwargs(result.config)
    try:
        again = run(**kw)
    except ValueError as exc:  # e.g. a method that is not in the registry
        raise CaseFailed(f"{what} (method {result.method!r}, seed {result.seed}) cannot be run again from its "
                         f"config: {exc}", "Use registered methods (classp.lab.methods.list_methods()) so that every "
                         "run can be repeated.") from None
    if again.accuracy_matrix.shape != result.accuracy_matrix.shape or not np.allclose(
            again.accuracy_matrix, result.accuracy_matrix, rtol=0, atol=1e-12):
        raise CaseFailed(f"{what} (method {result.method!r}, seed {result.seed}) does not reproduce: running it "
                         "again from its config gives another accuracy matrix",
                         "Pass the runs exactly as classp.run returned them, and do not change them afterwards.")


#: Seconds the checks may spend re-running a student's runs (all of them), unless overridden by
#: the environment variable ``CLASSP_VERIFY_BUDGET``.
VERIFY_BUDGET_S = 900.0


def require_all_reproducible(results: list, what: str, budget_s: float | None = None) -> None:
    """Run every one of ``results`` again from its config (within ``budget_s`` seconds in all);
    :class:`CaseFailed` at the first that does not reproduce, or when the budget runs out."""
    import time

    if budget_s is None:
        budget_s = float(os.environ.get("CLASSP_VERIFY_BUDGET", VERIFY_BUDGET_S))
    start = time.perf_counter()
    for k, r in enumerate(results):
        if time.perf_counter() - start > budget_s:
            raise CaseFailed(f"re-running the {len(results)} runs took more than {budget_s:g} s; {k} of them were "
                             "verified", "Use the assignment's setting (its epochs and sequence), so that every run "
                             "can be repeated within the budget.")
        require_reproducible(r, f"{what} {k + 1} of {len(results)}")

