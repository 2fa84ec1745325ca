"""Tests of classp.teaching.checks, the driver of the checks: the registry of tasks, the verdict, running
a student's code, the helpers the assignment modules share, and the re-export of every check."""
from __future__ import annotations

import importlib
import subprocess
import sys

import numpy as np
import pytest
import torch

from classp.teaching import checks
from classp.teaching.checks import CaseFailed, CheckFailed, CheckResult, NotImplementedYet, TASKS


def adagrad_ok(w, g, grad_sq_sum, lr, eps):
    s = grad_sq_sum + g**2
    return w - lr * g / (torch.sqrt(s) + eps), s


# ------------------------------------------------------------------------------------------------
# the registry and the re-exported checks
# ------------------------------------------------------------------------------------------------
def test_registry_points_and_checks_exist():
    assert sum(t.points for t in TASKS.values()) == 120
    for a in (1, 2, 3, 4):
        assert sum(t.points for t in checks.tasks_of(a)) == 30
    assert checks.tasks_of(np.int64(2)) == checks.tasks_of(2)
    for t in TASKS.values():
        assert t.graded in ("auto", "manual")
        assert (t.check is not None) == (t.graded == "auto")
        if t.check:
            assert callable(getattr(checks, t.check))
    with pytest.raises(ValueError, match=r"assignment must be one of 1, 2, 3, 4; got 5"):
        checks.tasks_of(5)
    with pytest.raises(ValueError, match=r"assignment must be an integer; got 2.0"):
        checks.tasks_of(2.0)


def test_every_check_lives_in_its_assignment_module_and_is_re_exported():
    for t in TASKS.values():
        if t.check:
            module = importlib.import_module(f"classp.teaching.a{t.assignment}")
            assert getattr(checks, t.check) is getattr(module, t.check)
            assert t.check in checks.__all__ and t.check in dir(checks) and t.check in module.__all__
    from classp.teaching.checks import BASELINES, DENSITY_TASK, check_forgetting  # noqa: F401  (from-imports work)

    assert check_forgetting is importlib.import_module("classp.teaching.a4").check_forgetting
    with pytest.raises(AttributeError, match="has no attribute 'check_nothing'"):
        checks.check_nothing  # noqa: B018


def test_no_import_cycle_when_an_assignment_module_comes_first():
    """a2 imports the driver, which loads a1 and a4 only when asked for their checks (here, in this order)."""
    code = ("import classp.teaching.a2\nfrom classp.teaching import checks\n"
            "print(checks.check_adagrad_step.__module__, checks.check_experiment.__module__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["classp.teaching.a1", "classp.teaching.a4"]


# ------------------------------------------------------------------------------------------------
# the verdict, through a real check
# ------------------------------------------------------------------------------------------------
def test_result_points_repr_and_report():
    r = checks.check_adagrad_step(adagrad_ok, seed=0, verbose=False)
    assert isinstance(r, CheckResult)
    assert r.passed and r.status == "passed" and r.points == 10.0 and r.max_points == 10.0
    assert repr(r) == "CheckResult(task='1.1', status='passed', points=10/10)"
    text = r.report()
    assert text.splitlines()[0] == "Task 1.1 (AdaGrad step): PASSED, 10/10 points"
    assert f"{len(r.cases)} of {len(r.cases)} cases passed" in text
    assert all(c.passed for c in r.cases)


def test_verdict_is_printed(capsys):
    r = checks.check_adagrad_step(adagrad_ok, seed=0)
    assert capsys.readouterr().out.strip() == r.report()


def test_fresh_seed_each_call_and_seed_repeats(monkeypatch):
    monkeypatch.setattr(checks.secrets, "randbelow", lambda n: 4321)
    assert checks.check_adagrad_step(adagrad_ok, verbose=False).seed == 4321
    wrong = lambda **k: adagrad_ok(**k)[::-1]  # noqa: E731
    a = checks.check_adagrad_step(wrong, seed=7, verbose=False)
    b = checks.check_adagrad_step(wrong, seed=7, verbose=False)
    assert a.report() == b.report() and a.seed == 7 and "seed=7" in a.report()
    for same in (np.int64(7), torch.tensor(7)):  # numpy integers and 0-d tensors are seeds too
        c = checks.check_adagrad_step(wrong, seed=same, verbose=False)
        assert c.report() == a.report() and type(c.seed) is int


@pytest.mark.parametrize("seed, shown", [(-1, "-1"), (1.5, "1.5"), (True, "True"), ("3", "'3'")])
def test_seed_must_be_an_integer(seed, shown):
    with pytest.raises(ValueError, match=rf"^seed must be None or an integer in \[0, 999999\]; got {shown}$"):
        checks.check_adagrad_step(adagrad_ok, seed=seed, verbose=False)


def test_not_callable_is_a_value_error():
    with pytest.raises(ValueError, match="pass the function itself"):
        checks.check_adagrad_step((1.0, 2.0), verbose=False)


def test_grading_mode_raises_on_failure_only(monkeypatch, capsys):
    monkeypatch.setenv(checks.GRADING_ENV, "1")
    assert checks.check_adagrad_step(adagrad_ok, seed=1, verbose=False).passed
    with pytest.raises(CheckFailed, match=r"task 1.1: failed \(0/10 points\)"):
        checks.check_adagrad_step(lambda **k: (2 * adagrad_ok(**k)[0], adagrad_ok(**k)[1]), seed=1)
    assert "FAILED" in capsys.readouterr().out  # the verdict is printed before the error

    def stub(**k):
        raise NotImplementedError

    with pytest.raises(CheckFailed, match="not implemented"):
        checks.check_adagrad_step(stub, verbose=False)


# ------------------------------------------------------------------------------------------------
# run_cases and the shared helpers, on their own
# ------------------------------------------------------------------------------------------------
def fail(message, hint=""):
    def thunk():
        raise CaseFailed(message, hint)
    return thunk


def test_run_cases_records_every_case_and_details_the_first_failure():
    cases = [("one", lambda: None), ("two", fail("first\nsecond line", "look here")), ("three", fail("later", "no"))]
    r = checks.run_cases("4.1", cases, name="f", seed=5, verbose=False)
    assert r.status == "failed" and r.points == 3.33 and r.max_points == 10 and r.hint == "look here"
    assert [(c.description, c.passed) for c in r.cases] == [("one", True), ("two", False), ("three", False)]
    text = r.report()
    assert "  1 of 3 cases passed:" in text and "      second line" in text and "later" not in text
    assert text.endswith("(Random cases drawn with seed=5; pass seed=5 to the check to repeat them.)")


def test_run_cases_stops_at_a_stub():
    def stub():
        raise NotImplementedYet("f")

    r = checks.run_cases("4.1", [("one", lambda: None), ("two", stub), ("three", fail("x"))], name="f",
                         seed=None, verbose=False, not_implemented_msg="not yet")
    assert r.status == "not implemented" and [c.detail for c in r.cases] == ["not yet"]
    with pytest.raises(ValueError, match="verbose must be True or False; got 'yes'"):
        checks.run_cases("4.1", [], name="f", seed=None, verbose="yes")


def test_call_student_maps_errors():
    def student(x):
        return x[3]  # the student's line

    assert checks.call_student(student, "f", [0, 1, 2, 3]) == 3
    with pytest.raises(CaseFailed) as info:
        checks.call_student(student, "f", [0])
    assert info.value.message.startswith("f raised IndexError: list index out of range (line ")
    assert "`return x[3]  # the student's line`" in info.value.message
    with pytest.raises(NotImplementedYet):
        checks.call_student(lambda: (_ for _ in ()).throw(NotImplementedError()), "f")


@pytest.mark.parametrize("value, expected", [
    (0.5, 0.5), (2, 2.0), (np.float32(0.25), 0.25), (np.int64(3), 3.0), (torch.tensor(1.5), 1.5),
    (np.array([0.75]), 0.75), (torch.tensor([[2.0]]), 2.0),
])
def test_as_number_accepts_one_number(value, expected):
    assert checks.as_number(value, "tau") == expected


@pytest.mark.parametrize("value, words", [
    (torch.ones(3), "tensor with 3 entries"), (np.ones(2), "array with 2 entries"), ([1e-3, 1e-4], "list of 2 items"),
    (True, "is bool True"), ("0.1", "is str '0.1'"), (float("inf"), "expected a finite number"),
])
def test_as_number_refuses_the_rest(value, words):
    with pytest.raises(CaseFailed, match="tau"):
        checks.as_number(value, "tau")
    try:
        checks.as_number(value, "tau")
    except CaseFailed as exc:
        assert words in exc.message


def test_as_tensor_like():
    like = torch.zeros(2, 3)
    assert checks.as_tensor_like(np.ones((2, 3)), "w", like).dtype == torch.float32
    for bad, words in ((torch.zeros(3, 2), "has shape (3, 2); expected (2, 3)"), ([0.0] * 6, "not a torch.Tensor"),
                       (torch.full((2, 3), float("nan")), "NaN or infinity")):
        with pytest.raises(CaseFailed, match=r"^w ") as info:
            checks.as_tensor_like(bad, "w", like)
        assert words in info.value.message


def test_match_variant_returns_the_first_matching_hint():
    variants = {"undefined": (lambda x: 1 / 0, "never"), "double": (lambda x: (2 * x,), "doubled"),
                "also double": (lambda x: (x + x,), "second")}
    x = torch.arange(3.0)
    assert checks.match_variant(variants, (2 * x,), lambda f: f(x)) == "doubled"
    assert checks.match_variant(variants, (3 * x,), lambda f: f(x)) == ""


def test_compare_helpers():
    a, b = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.5, 3.5])
    assert checks.tensors_close(a, a.clone()) and not checks.tensors_close(a, b)
    assert checks.first_difference(a, b) == (1,)
    assert checks.fmt_num(torch.tensor(1 / 3)) == "0.333333"
