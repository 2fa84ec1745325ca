"""Grading in a fresh process (what an autograder's hidden test calls), and the notebook's summary.

:func:`grade` sends the student's answer to a new Python process (``python -m
classp.teaching.grading``) and runs the task's check there, with hidden cases (seeds students cannot
pass, :func:`classp.teaching.checks.case_seed`). Whatever the notebook changed in its own process
(``checks.tensors_close = lambda *a: True``, a patched ``torch.allclose``, a faked result) is not
there: the new process imports the package afresh.

- A function is sent as source: its own ``def`` (``inspect.getsource``) and, recursively, the
  notebook functions it calls, the modules and package objects it names (as imports) and the plain
  constants it reads. Nothing else of the notebook is run.
- A value (a threshold, a list of runs) is sent pickled, with the check's keyword arguments.

:func:`score` is what an nbgrader or otter test ends with: the points of a graded result (partial
credit), or, for a result of the instant check (no hidden test ran, e.g. ``nbgrader validate``),
an ``AssertionError`` when it did not pass.
"""
from __future__ import annotations

import inspect
import json
import os
import pickle
import subprocess
import sys
import textwrap
import types
from typing import Callable

from . import checks

from .._validation import check_bool, check_choice, check_int

__all__ = ["grade", "score", "summary", "function_source", "GRADE_TIMEOUT_S"]

#: Seconds one :func:`grade` may take in all (the fresh process is stopped after it).
GRADE_TIMEOUT_S = 1800.0

_PLAIN = (int, float, complex, str, bytes, bool, type(None))


def _code_names(code) -> set:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def function_source(fn: Callable) -> str:
    """Python source that defines ``fn`` (named as in the notebook) in a fresh namespace.

    Raises
    ------
    ValueError
        If ``fn`` is not a function written in Python source (a lambda in an expression, a builtin).
    """
    if not inspect.isfunction(fn):
        raise ValueError(f"grade needs a function defined with `def`; got {type(fn).__name__}")
    imports, defs, constants, seen = [], [], [], set()

    def add(f):
        if id(f) in seen:
            return
        seen.add(id(f))
        try:
            src = textwrap.dedent(inspect.getsource(f))
        except (OSError, TypeError):
            raise ValueError(f"the source of {f.__name__} cannot be read; define it with `def` in a cell") from None
        if f.__name__ == "<lambda>":
            raise ValueError("grade needs a function defined with `def`, not a lambda")
        defs.append(src)
        glob = dict(f.__globals__)
        for var, cell in zip(f.__code__.co_freevars, f.__closure__ or ()):
            try:
                glob[var] = cell.cell_contents
            except ValueError:
                pass
        for name in sorted(_code_names(f.__code__) | set(f.__code__.co_freevars)):
            if name not in glob or name == f.__name__:
                continue
            obj = glob[name]
            if isinstance(obj, types.ModuleType):
                imports.append(f"import {obj.__name__} as {name}" if obj.__name__ != name else f"import {name}")
            elif inspect.isfunction(obj) and obj.__globals__ is f.__globals__:
                add(obj)
            elif (inspect.isfunction(obj) or inspect.isclass(obj) or inspect.isbuiltin(obj)) and \
                    getattr(obj, "__module__", None) not in (None, "__main__", f.__globals__.get("__name__")) and \
                    "<" not in getattr(obj, "__qualname__", "<"):
                imports.append(f"from {obj.__module__} import {obj.__qualname__.split('.')[0]} as {name}"
                               if "." not in obj.__qualname__ else f"# {name}: not importable")
            elif isinstance(obj, _PLAIN) or (isinstance(obj, tuple) and all(isinstance(x, _PLAIN) for x in obj)):
                constants.append(f"{name} = {obj!r}")
            # anything else (a tensor, a model of the notebook) is left out: the fresh process then
            # reports a NameError naming it, as a failed case

    add(fn)
    return "\n".join(sorted(set(imports)) + constants + [""] + defs[::-1])


def _as_dict(r: checks.CheckResult) -> dict:
    return {"task": r.task, "title": r.title, "status": r.status, "points": r.points, "max_points": r.max_points,
            "cases": [[c.description, c.passed, c.detail] for c in r.cases], "hint": r.hint, "seed": r.seed}


def _from_dict(d: dict) -> checks.CheckResult:
    return checks.CheckResult(task=d["task"], title=d["title"], status=d["status"], points=d["points"],
                              max_points=d["max_points"], cases=[checks.Case(*c) for c in d["cases"]],
                              hint=d["hint"], seed=d["seed"], graded=True)


def _failed(task: str, message: str, hint: str = "") -> checks.CheckResult:
    info = checks.TASKS[task]
    return checks.CheckResult(task=task, title=info.title, status="failed", points=0.0,
                              max_points=float(info.points), cases=[checks.Case("grading", False, message)],
                              hint=hint, graded=True)


def grade(task: str, answer, *args, timeout_s: float | None = None, verbose: bool = True,
          **kwargs) -> checks.CheckResult:
    """Grade ``answer`` for ``task`` in a fresh process, with hidden cases.

    Parameters
    ----------
    task : str
        An auto-graded task of :data:`classp.teaching.checks.TASKS` (``"1.1"``, ...).
    answer : callable or value
        The student's function (sent as source, :func:`function_source`) or value (pickled).
    timeout_s : float, optional
        Limit for the whole grading (default :data:`GRADE_TIMEOUT_S`); past it the task scores 0.
    verbose : bool, default True
        Print the verdict.
    *args, **kwargs
        Further arguments of the check (e.g. ``dense_runs=``, ``sparse_runs=``, ``tau=`` for task 2.4).

    Returns
    -------
    CheckResult
        With ``graded=True``; never raises for a wrong answer (the points say it).
    """
    info = checks.TASKS.get(task)
    if info is None or info.check is None:
        auto = [t for t, i in checks.TASKS.items() if i.check]
        raise ValueError(f"task must be one of {', '.join(auto)}; got {task!r}")
    limit = GRADE_TIMEOUT_S if timeout_s is None else float(timeout_s)
    try:
        if callable(answer) and not checks.is_result(answer):
            payload = {"task": task, "kind": "function", "source": function_source(answer),
                       "name": answer.__name__, "args": args, "kwargs": kwargs}
        else:
            payload = {"task": task, "kind": "value", "value": answer, "args": args, "kwargs": kwargs}
        data = pickle.dumps(payload)
    except (ValueError, pickle.PicklingError, TypeError, AttributeError) as exc:
        result = _failed(task, f"the answer cannot be sent to the grader: {exc}",
                         "Define the function with `def` in a cell, and keep values to numbers and runs.")
    else:
        env = {k: v for k, v in os.environ.items() if k != checks.GRADING_ENV}
        try:
            proc = subprocess.run([sys.executable, "-m", "classp.teaching.grading"], input=data,
                                  capture_output=True, timeout=limit, env=env)
        except subprocess.TimeoutExpired:
            result = _failed(task, f"grading took longer than {limit:g} s and was stopped")
        else:
            lines = [ln for ln in proc.stdout.decode("utf-8", "replace").splitlines() if ln.startswith("{")]
            if proc.returncode != 0 or not lines:
                tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
                result = _failed(task, "the grader's process failed: " + " | ".join(tail))
            else:
                result = _from_dict(json.loads(lines[-1]))
    if verbose:
        print(result.report())
    return result


def score(result: checks.CheckResult) -> float:
    """The points an autograder gives for ``result``.

    A graded result (:func:`grade`) gives its points (partial credit). The instant check's result
    (what ``nbgrader validate`` sees, without the hidden tests) raises ``AssertionError`` unless it
    passed, so that validating a wrong answer fails.
    """
    if not isinstance(result, checks.CheckResult):
        raise AssertionError(f"expected the result of a check; got {type(result).__name__}")
    if not result.graded and not result.passed:
        raise AssertionError(f"task {result.task} did not pass its check ({result.status})")
    return float(result.points)


def summary(assignment: int | None = None, *, verbose: bool = True) -> dict:
    """The points of the checks run so far in this kernel, per task and in total.

    Parameters
    ----------
    assignment : int, optional
        1 to 4; default: every assignment with a task checked so far.
    verbose : bool, default True
        Print the table (checked tasks with their points, tasks not checked yet, written answers).

    Returns
    -------
    dict
        ``tasks`` ({task: points or None when not checked yet}), ``checked`` (points of the checked
        tasks), ``checked_max`` (their worth when every check passes), ``written_max`` (points of the
        written answers, read by the teacher) and ``max`` (the assignment's total).
    """
    verbose = check_bool("verbose", verbose)
    numbers = [check_choice("assignment", check_int("assignment", assignment), [1, 2, 3, 4])] \
        if assignment is not None else sorted({checks.TASKS[t].assignment for t in checks._RESULTS})
    out = {"tasks": {}, "checked": 0.0, "checked_max": 0.0, "written_max": 0.0, "max": 0.0}
    lines = []
    for n in numbers:
        lines.append(f"Assignment {n}")
        for t in checks.tasks_of(n):
            out["max"] += t.points
            if t.graded == "manual":
                out["written_max"] += t.points
                lines.append(f"  task {t.task} {t.title}: written answer, {t.points} points (read by your teacher)")
                continue
            out["checked_max"] += t.points
            r = checks._RESULTS.get(t.task)
            out["tasks"][t.task] = None if r is None else r.points
            if r is None:
                lines.append(f"  task {t.task} {t.title}: not checked yet (0/{t.points})")
            else:
                out["checked"] += r.points
                lines.append(f"  task {t.task} {t.title}: {r.status}, {checks._fmt_points(r.points)}/{t.points}")
    lines.append(f"Checked tasks: {checks._fmt_points(round(out['checked'], 2))}/{checks._fmt_points(out['checked_max'])} points; "
                 f"written answers: {checks._fmt_points(out['written_max'])} more points, read by your teacher.")
    if verbose:
        print("\n".join(lines))
    return out


def _main() -> int:
    payload = pickle.load(sys.stdin.buffer)
    real_stdout, sys.stdout = sys.stdout, sys.stderr  # the student's prints go to stderr
    task = payload["task"]
    checks._CURRENT["hidden"] = True
    if payload["kind"] == "function":
        import linecache

        filename = f"<answer to task {task}>"
        src = payload["source"]
        linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
        ns = {"__name__": "__answer__"}
        try:
            exec(compile(src, filename, "exec"), ns)
            answer = ns[payload["name"]]
        except Exception as exc:  # noqa: BLE001  (the student's module-level code)
            result = _failed(task, f"your answer cannot be defined in a fresh process: {type(exc).__name__}: {exc}")
            real_stdout.write(json.dumps(_as_dict(result)) + "\n")
            return 0
    else:
        answer = payload["value"]
    check = getattr(checks, checks.TASKS[task].check)
    try:
        result = check(answer, *payload["args"], verbose=False, **payload["kwargs"])
    except ValueError as exc:
        result = _failed(task, f"the check refused the answer: {exc}")
    real_stdout.write(json.dumps(_as_dict(result)) + "\n")
    real_stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_main())
