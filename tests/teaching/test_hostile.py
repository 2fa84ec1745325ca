"""The checks hold against what a careless or hostile student does (issue 15): a function that
never returns, ``sys.exit()``, the reference implementation called under any alias or old module
path, a wrong signature, helpers patched in the notebook's process, faked runs; and they give
partial credit, a per-notebook summary and hidden grading cases."""
from __future__ import annotations

import copy
import sys

import numpy as np
import pytest
import torch

import classp
from classp.teaching import checks, grading, guard
from classp.teaching.a1 import check_adagrad_step, check_classp_step
from classp.teaching.a3 import check_fisher_diagonal
from classp.teaching.a4 import check_experiment, check_forgetting


def adagrad_ok(w, g, grad_sq_sum, lr, eps):
    s = grad_sq_sum + g * g
    return w - lr * g / (s.sqrt() + eps), s


def adagrad_wrong_sign(w, g, grad_sq_sum, lr, eps):
    s = grad_sq_sum + g * g
    return w + lr * g / (s.sqrt() + eps), s


def forgetting_ok(R):
    T = len(R)
    return 0.0 if T == 1 else float(np.mean([R[j:T - 1, j].max() - R[-1, j] for j in range(T - 1)]))


# ------------------------------------------------------------------------------------------------ time and exits
def test_a_function_that_never_returns_fails_within_the_time_limit(monkeypatch, quiet):
    monkeypatch.setenv(guard.TIMEOUT_ENV, "0.2")

    def forever(w, g, grad_sq_sum, lr, eps):
        while True:
            pass

    r = quiet(check_adagrad_step, forever, seed=0)
    assert r.status == "failed" and r.points == 0
    assert all("did not return within 0.2 s" in c.detail for c in r.cases)
    assert "loop that never ends" in r.hint


def test_the_time_limit_also_holds_outside_the_main_thread(monkeypatch):
    import threading

    with pytest.raises(guard.StudentTimeout):
        res = {}

        def runner():
            try:
                guard.run_limited(lambda: __import__("time").sleep(5), (), {}, 0.1)
            except guard.StudentTimeout as exc:
                res["e"] = exc

        th = threading.Thread(target=runner)
        th.start(), th.join()
        raise res["e"]


@pytest.mark.parametrize("how", ["sys.exit", "exit", "SystemExit"])
def test_sys_exit_in_the_students_function_is_a_failed_case(how, quiet):
    def leave(R):
        if how == "sys.exit":
            sys.exit(3)
        raise SystemExit(0)

    r = quiet(check_forgetting, leave, seed=0)
    assert r.status == "failed" and r.points == 0
    assert "called sys.exit(" in r.cases[0].detail


def test_the_time_limit_is_validated(monkeypatch):
    monkeypatch.setenv(guard.TIMEOUT_ENV, "-1")
    with pytest.raises(ValueError, match="CLASSP_CHECK_TIMEOUT must be a number of seconds > 0"):
        guard.time_limit_s()


# ------------------------------------------------------------------------------------------------ signature
def test_a_wrong_signature_states_the_expected_one(quiet):
    def adagrad_step(w, g, s, lr, eps):  # the sum named otherwise
        return adagrad_ok(w, g, s, lr, eps)

    r = quiet(check_adagrad_step, adagrad_step, seed=0)
    assert r.status == "failed" and r.points == 0 and len(r.cases) == 1
    assert "the expected signature is adagrad_step(w, g, grad_sq_sum, lr, eps)" in r.cases[0].detail
    assert "missing a required argument: 's'" in r.cases[0].detail
    r = quiet(check_forgetting, lambda R, T: 0.0, seed=0)
    assert "the expected signature is forgetting(R)" in r.cases[0].detail


# ------------------------------------------------------------------------------------------------ the reference
import torch.optim as optim_alias  # noqa: E402
from classp.optim import CLASSP as Reference  # noqa: E402
from torch.optim import Adagrad as Ada  # noqa: E402


def adagrad_by_torch(w, g, grad_sq_sum, lr, eps):
    p = torch.nn.Parameter(w.clone())
    opt = torch.optim.Adagrad([p], lr=lr, eps=eps)
    opt.state[p]["sum"] = grad_sq_sum.clone()
    opt.state[p]["step"] = torch.tensor(0.0)
    p.grad = g.clone()
    opt.step()
    return p.detach(), opt.state[p]["sum"]


def adagrad_by_alias(w, g, grad_sq_sum, lr, eps):
    opt = Ada([torch.nn.Parameter(w.clone())], lr=lr, eps=eps)
    return helper(opt, w, g, grad_sq_sum)


def helper(opt, w, g, s):
    return w, s


def adagrad_through_a_helper(w, g, grad_sq_sum, lr, eps):
    return build(w, lr, eps), grad_sq_sum


def build(w, lr, eps):
    return optim_alias.Adagrad([torch.nn.Parameter(w)], lr=lr, eps=eps) and w


def adagrad_by_getattr(w, g, grad_sq_sum, lr, eps):
    cls = getattr(torch.optim, "Ada" + "grad")  # not visible to a static screen: the runtime trap
    cls([torch.nn.Parameter(w.clone())], lr=lr)
    return adagrad_ok(w, g, grad_sq_sum, lr, eps)


def classp_by_classp(w, g, grad_sum, lr, threshold, power, eps):
    p = torch.nn.Parameter(w.clone())
    opt = classp.CLASSP([p], lr=lr, threshold=threshold, power=power, eps=eps)
    p.grad = g.clone()
    opt.step()
    return p.detach(), opt.state[p]["grad_sum"] + grad_sum


def classp_by_import_inside(w, g, grad_sum, lr, threshold, power, eps):
    from classp.optim.functional import classp_update as upd
    return upd, grad_sum


def classp_by_alias(w, g, grad_sum, lr, threshold, power, eps):
    return Reference([torch.nn.Parameter(w)], lr=lr), grad_sum


@pytest.mark.parametrize("check, answer, words", [
    (check_adagrad_step, adagrad_by_torch, "torch.optim.Adagrad"),
    (check_adagrad_step, adagrad_by_alias, "`Ada` is torch.optim.Adagrad"),
    (check_adagrad_step, adagrad_through_a_helper, "`optim_alias.Adagrad` is torch.optim.Adagrad"),
    (check_classp_step, classp_by_classp, "`classp.CLASSP` is classp.optim.CLASSP"),
    (check_classp_step, classp_by_import_inside, "classp.optim.functional.classp_update"),
    (check_classp_step, classp_by_alias, "`Reference` is classp.optim.CLASSP"),
])
def test_calling_the_reference_scores_zero(check, answer, words, quiet):
    r = quiet(check, answer, seed=0)
    assert r.status == "failed" and r.points == 0 and len(r.cases) == 1, r.report()
    assert words in r.cases[0].detail and "write yourself" in r.cases[0].detail
    assert "write this computation yourself" in r.hint


def test_a_reference_reached_by_getattr_is_caught_while_it_runs(quiet):
    r = quiet(check_adagrad_step, adagrad_by_getattr, seed=0)
    assert r.status == "failed" and r.points == 0, r.report()
    assert "built torch.optim.adagrad.Adagrad" in r.cases[0].detail
    assert torch.optim.Adagrad([torch.nn.Parameter(torch.zeros(1))], lr=0.1)  # the trap is gone afterwards


def test_the_old_module_paths_are_caught_too(quiet):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import classp.ewc as old_ewc
        import classp.metrics as old_metrics
    fisher_old = lambda model, x, y: old_ewc.fisher_diagonal(model, x, y)  # noqa: E731
    r = quiet(check_fisher_diagonal, fisher_old, seed=0)
    assert r.points == 0 and "classp.lab.regularisers.fisher_diagonal" in r.cases[0].detail
    r = quiet(check_forgetting, lambda R: float(old_metrics.forgetting(R)), seed=0)
    assert r.points == 0 and "classp.lab.metrics.forgetting" in r.cases[0].detail
    from classp.lab.metrics import forgetting as f2
    r = quiet(check_forgetting, lambda R: f2(R), seed=0)
    assert r.points == 0 and "`f2` is classp.lab.metrics.forgetting" in r.cases[0].detail


def test_reading_the_checks_scores_zero(quiet):
    def sneaky(R):
        checks.tensors_close = lambda *a, **k: True
        return 0.0

    r = quiet(check_forgetting, sneaky, seed=0)
    assert r.points == 0 and "the checks themselves" in r.cases[0].detail


def test_an_answer_written_with_its_own_tools_is_not_flagged(quiet):
    def fisher_loop(model, x, y):
        import torch.nn.functional as F
        params = [p for p in model.parameters() if p.requires_grad]
        sums = [torch.zeros_like(p) for p in params]
        for i in range(len(x)):
            gs = torch.autograd.grad(F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]), params)
            for s, gi in zip(sums, gs):
                s += gi ** 2
        return [s / len(x) for s in sums]

    assert guard.reference_calls(fisher_loop, "3.1") == []
    assert quiet(check_fisher_diagonal, fisher_loop, seed=0).passed
    assert guard.reference_calls(adagrad_ok, "1.1") == []


# ------------------------------------------------------------------------------------------------ partial credit
def test_partial_credit_and_the_summary(quiet, capsys):
    checks._RESULTS.clear()

    def forgetting_wrong_for_one_task(R):
        return 0.5 if len(R) == 1 else forgetting_ok(R)  # wrong only on the 1-task case

    r = quiet(check_forgetting, forgetting_wrong_for_one_task, seed=0)
    n = len(r.cases)
    assert r.status == "failed" and sum(c.passed for c in r.cases) == n - 1
    assert r.points == round(10 * (n - 1) / n, 2)
    out = checks.summary(4)
    text = capsys.readouterr().out
    assert out["tasks"] == {"4.1": r.points, "4.2": None}
    assert out["checked"] == r.points and out["checked_max"] == 20 and out["written_max"] == 10 and out["max"] == 30
    assert "task 4.2 A frontier experiment: not checked yet (0/10)" in text
    assert "task 4.3 Your argument: written answer, 10 points (read by your teacher)" in text
    with pytest.raises(ValueError, match="assignment must be one of 1, 2, 3, 4; got 7"):
        checks.summary(7)


# ------------------------------------------------------------------------------------------------ grading process
def test_grading_ignores_what_the_notebook_patched(monkeypatch):
    monkeypatch.setattr(checks, "tensors_close", lambda *a, **k: True)
    monkeypatch.setattr(torch, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(checks, "run_cases", lambda *a, **k: "patched")
    # the patches fool the instant check in this process ...
    assert checks.tensors_close(torch.zeros(1), torch.ones(1))
    # ... but grading runs the check in a fresh process, with hidden cases
    wrong = grading.grade("1.1", adagrad_wrong_sign, verbose=False)
    right = grading.grade("1.1", adagrad_ok, verbose=False)
    assert wrong.graded and wrong.status == "failed" and wrong.points == 0
    assert right.graded and right.passed and right.points == 10
    assert len(right.cases) == 7  # the 5 cases students see and 2 hidden ones
    assert right.seed >= checks.VISIBLE_SEEDS
    assert grading.score(right) == 10 and grading.score(wrong) == 0


def test_grading_sends_helpers_imports_and_constants():
    import math as m
    SCALE = 1.0

    def helper_sum(s, g):
        return s + g * g * SCALE_G

    def adagrad_step(w, g, grad_sq_sum, lr, eps):
        s = helper_sum(grad_sq_sum, g)
        return w - lr * g / (torch.sqrt(s) + eps) * m.exp(0.0), s

    globals()["SCALE_G"] = SCALE
    try:
        src = grading.function_source(adagrad_step)
        assert "def helper_sum" in src and "SCALE_G = 1.0" in src and "import torch" in src
        assert grading.grade("1.1", adagrad_step, verbose=False).passed
    finally:
        del globals()["SCALE_G"]


def test_score_fails_an_ungraded_wrong_result(quiet):
    r = quiet(check_adagrad_step, adagrad_wrong_sign, seed=0)
    with pytest.raises(AssertionError, match="task 1.1 did not pass its check"):
        grading.score(r)
    assert grading.score(quiet(check_adagrad_step, adagrad_ok, seed=0)) == 10


def test_grade_refuses_unknown_tasks():
    with pytest.raises(ValueError, match="task must be one of 1.1, 1.2, 2.1"):
        grading.grade("1.3", adagrad_ok)


def test_students_cannot_ask_for_the_hidden_seeds():
    with pytest.raises(ValueError, match=r"seed must be None or an integer in \[0, 999999\]"):
        check_adagrad_step(adagrad_ok, seed=checks.VISIBLE_SEEDS)


# ------------------------------------------------------------------------------------------------ faked runs
@pytest.fixture(scope="module")
def tiny_experiment():
    """Fifteen Results of one real run (split-digits), relabelled; ``classp.lab.train.run`` is
    replaced by a table lookup so that re-running them is instant."""
    from classp.lab.train import run

    base = run("sgd", "split-digits", seed=0, epochs=1, progress=False)
    table, rs = {}, []
    for method, opts in [("sgd", {}), ("adagrad", {}), ("classp", {"threshold": 0.0}),
                         ("classp", {"threshold": 1e-6}), ("classp", {"threshold": 1e-5})]:
        for s in (0, 1, 2):
            r = copy.deepcopy(base)
            r.config.update(method=method, seed=s, options=dict(opts), options_given=dict(opts))
            r.method, r.seed, r.label = method, s, f"{method} {opts}"
            key = (method, s, repr(sorted(opts.items())))
            r.accuracy_matrix = r.accuracy_matrix + 0.001 * len(table)
            table[key] = copy.deepcopy(r)
            rs.append(r)
    return rs, table


def test_check_experiment_verifies_every_run(tiny_experiment, monkeypatch, quiet):
    import classp.lab.train as train

    rs, table = tiny_experiment

    def fake_run(method, sequence, *, seed, options=None, **kw):
        return copy.deepcopy(table[(method, seed, repr(sorted((options or {}).items())))])

    monkeypatch.setattr(train, "run", fake_run)
    assert quiet(check_experiment, rs, seed=0).passed
    for k in range(len(rs)):  # a faked matrix is found wherever it is in the list
        faked = copy.deepcopy(rs)
        faked[k].accuracy_matrix = np.clip(faked[k].accuracy_matrix + 0.1, 0, 1)
        r = quiet(check_experiment, faked, seed=0)
        assert r.status == "failed" and f"run {k + 1} of {len(rs)}" in r.cases[-1].detail, (k, r.report())
        assert "does not reproduce" in r.cases[-1].detail
