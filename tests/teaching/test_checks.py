"""Tests of classp.teaching.checks: every check passes the solutions, fails the stubs with a friendly verdict,
and fails the common mistakes with the matching hint, without printing the solution."""
from __future__ import annotations

import math
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from classp.teaching import checks
from classp.teaching.checks import CheckFailed, CheckResult, TASKS
from classp.lab.metrics import forgetting as pkg_forgetting
from classp.lab.train import run

BOOK = Path(__file__).resolve().parents[2] / "book" / "assignments"
SEEDS = (0, 1, 2)


@pytest.fixture(autouse=True)
def _not_grading(monkeypatch):
    monkeypatch.delenv(checks.GRADING_ENV, raising=False)


# ------------------------------------------------------------------------------------------------
# solutions written here (independently of the notebooks) and the notebooks' own solutions
# ------------------------------------------------------------------------------------------------
def adagrad_ok(w, g, grad_sq_sum, lr, eps):
    s = grad_sq_sum + g**2
    return w - lr * g / (torch.sqrt(s) + eps), s


def classp_ok(w, g, grad_sum, lr, threshold, power, eps):
    m = (g * g > threshold).float()
    s = grad_sum + m * torch.abs(g) ** power
    return w - m * lr * g / (eps + s) ** (1 / power), s


def density_ok(grads, density):
    flat = torch.cat([g.reshape(-1) for g in grads]) ** 2
    k = int(round((1 - density) * flat.numel()))
    return float(torch.sort(flat).values[k - 1])


def fisher_ok(model, x, y):
    params = list(model.parameters())
    acc = [torch.zeros_like(p) for p in params]
    for i in range(len(x)):
        model.zero_grad()
        F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
        for a, p in zip(acc, params):
            a += p.grad**2
    model.zero_grad()
    return [a / len(x) for a in acc]


def penalty_ok(params, fisher, anchor, lam):
    total = 0
    for p, f, a in zip(params, fisher, anchor):
        total = total + (f * (p - a) ** 2).sum()
    return lam / 2 * total


def forgetting_ok(R):
    T = len(R)
    return 0.0 if T == 1 else sum(max(R[l][j] for l in range(j, T - 1)) - R[T - 1][j] for j in range(T - 1)) / (T - 1)


def stub(*args, **kwargs):
    """A student's function before they started."""
    raise NotImplementedError("task: write your code here")


def notebook_function(notebook: str, name: str):
    """The function ``name`` as the book's source notebook defines it (its solution cell)."""
    nb = nbformat.read(str(BOOK / notebook), as_version=4)
    ns = {"torch": torch, "np": np, "F": F}
    for cell in nb.cells:
        if cell.cell_type == "code" and "solution" in cell.metadata.get("tags", []) and f"def {name}(" in cell.source:
            exec(compile(cell.source, f"{notebook}:{name}", "exec"), ns)
            return ns[name]
    raise LookupError(f"no solution cell defines {name} in {notebook}")


def quiet(check, *args, **kwargs):
    return check(*args, verbose=False, **kwargs)


# ------------------------------------------------------------------------------------------------
# the result object and the registry
# ------------------------------------------------------------------------------------------------
def test_registry_points_and_checks_exist():
    assert sum(t.points for t in TASKS.values()) == 120
    for a in (1, 2, 3, 4):
        assert sum(t.points for t in checks.tasks_of(a)) == 30
    for t in TASKS.values():
        assert t.graded in ("auto", "manual")
        assert (t.check is not None) == (t.graded == "auto")
        if t.check:
            assert callable(getattr(checks, t.check))
    with pytest.raises(ValueError, match="assignment must be one of"):
        checks.tasks_of(5)


def test_result_points_repr_and_report():
    r = quiet(checks.check_adagrad_step, adagrad_ok, seed=0)
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
    assert quiet(checks.check_classp_step, classp_ok).seed == 4321
    a = quiet(checks.check_classp_step, lambda **k: classp_ok(**k)[::-1], seed=7)
    b = quiet(checks.check_classp_step, lambda **k: classp_ok(**k)[::-1], seed=7)
    assert a.report() == b.report() and a.seed == 7
    with pytest.raises(ValueError, match="seed must be None or an int >= 0"):
        quiet(checks.check_classp_step, classp_ok, seed=-1)


def test_not_callable_is_a_value_error():
    with pytest.raises(ValueError, match="pass the function itself"):
        quiet(checks.check_adagrad_step, (1.0, 2.0))


def test_grading_mode_raises_on_failure_only(monkeypatch, capsys):
    monkeypatch.setenv(checks.GRADING_ENV, "1")
    assert quiet(checks.check_ewc_penalty, penalty_ok, seed=1).passed
    with pytest.raises(CheckFailed, match=r"task 3.2: failed \(0/10 points\)"):
        checks.check_ewc_penalty(lambda p, f, a, lam: 2 * penalty_ok(p, f, a, lam), seed=1)
    assert "FAILED" in capsys.readouterr().out  # the verdict is printed before the error
    with pytest.raises(CheckFailed, match="not implemented"):
        quiet(checks.check_ewc_penalty, stub)


# ------------------------------------------------------------------------------------------------
# every function check: solutions pass, stubs are "not implemented yet", mistakes fail with a hint
# ------------------------------------------------------------------------------------------------
FUNCTION_CHECKS = [
    (checks.check_adagrad_step, adagrad_ok, "a1_from_scratch.ipynb", "adagrad_step"),
    (checks.check_classp_step, classp_ok, "a1_from_scratch.ipynb", "classp_step"),
    (checks.check_threshold_for_density, density_ok, "a2_threshold.ipynb", "threshold_for_density"),
    (checks.check_fisher_diagonal, fisher_ok, "a3_ewc.ipynb", "fisher_diagonal"),
    (checks.check_ewc_penalty, penalty_ok, "a3_ewc.ipynb", "ewc_penalty"),
    (checks.check_forgetting, forgetting_ok, "a4_frontier.ipynb", "forgetting"),
]


@pytest.mark.parametrize("check, solution, notebook, name", FUNCTION_CHECKS, ids=[c[3] for c in FUNCTION_CHECKS])
def test_solutions_pass(check, solution, notebook, name):
    book_solution = notebook_function(notebook, name)
    for seed in SEEDS:
        for fn in (solution, book_solution):
            r = quiet(check, fn, seed=seed)
            assert r.passed, r.report()
            assert r.points == r.max_points == TASKS[r.task].points


@pytest.mark.parametrize("check, solution, notebook, name", FUNCTION_CHECKS, ids=[c[3] for c in FUNCTION_CHECKS])
def test_stub_is_not_implemented_yet(check, solution, notebook, name, capsys):
    r = check(stub, seed=0)
    out = capsys.readouterr().out
    assert r.status == "not implemented" and not r.passed and r.points == 0
    assert "NOT IMPLEMENTED YET" in out and "NotImplementedError" in out
    assert "Traceback" not in out


def mistakes_fail_with(check, mistake, hint_words, seed=0):
    r = quiet(check, mistake, seed=seed)
    assert r.status == "failed" and r.points == 0, r.report()
    for word in hint_words:
        assert word in r.hint, (word, r.hint)
    assert any(not c.passed for c in r.cases)
    return r


# --- task 1.1
def adagrad_current_left_out(w, g, grad_sq_sum, lr, eps):
    new_w = w - lr * g / (grad_sq_sum.sqrt() + eps)
    return new_w, grad_sq_sum + g**2


def adagrad_eps_inside(w, g, grad_sq_sum, lr, eps):
    s = grad_sq_sum + g**2
    return w - lr * g / (s + eps).sqrt(), s


def adagrad_no_root(w, g, grad_sq_sum, lr, eps):
    s = grad_sq_sum + g**2
    return w - lr * g / (s + eps), s


@pytest.mark.parametrize("mistake, words", [
    (adagrad_current_left_out, ["current g²", "before you divide"]),
    (adagrad_eps_inside, ["eps outside the square root"]),
    (adagrad_no_root, ["square root"]),
])
def test_adagrad_mistakes(mistake, words):
    for seed in SEEDS:
        mistakes_fail_with(checks.check_adagrad_step, mistake, words, seed)


def test_adagrad_failure_names_the_input():
    r = quiet(checks.check_adagrad_step, adagrad_current_left_out, seed=0)
    first_bad = next(c for c in r.cases if not c.passed)
    assert first_bad.description.startswith("case 1: shape (5,), lr=0.1, eps=1e-10")
    assert first_bad.detail.startswith("step 1: new_w differs at index")
    assert "torch.optim.Adagrad gives" in first_bad.detail


# --- task 1.2
def classp_per_tensor(w, g, grad_sum, lr, threshold, power, eps):
    if (g**2).max() > threshold:  # one decision for the whole tensor
        s = grad_sum + g.abs() ** power
        return w - lr * g / (eps + s) ** (1 / power), s
    return w, grad_sum


def classp_per_tensor_mean(w, g, grad_sum, lr, threshold, power, eps):
    if (g**2).mean() > threshold:
        s = grad_sum + g.abs() ** power
        return w - lr * g / (eps + s) ** (1 / power), s
    return w, grad_sum


def classp_current_left_out(w, g, grad_sum, lr, threshold, power, eps):
    m = (g * g > threshold).float()
    new_w = w - m * lr * g / (eps + grad_sum) ** (1 / power)
    return new_w, grad_sum + m * g.abs() ** power


def classp_accumulate_always(w, g, grad_sum, lr, threshold, power, eps):
    m = (g * g > threshold).float()
    s = grad_sum + g.abs() ** power
    return w - m * lr * g / (eps + s) ** (1 / power), s


def classp_eps_outside(w, g, grad_sum, lr, threshold, power, eps):
    m = (g * g > threshold).float()
    s = grad_sum + m * g.abs() ** power
    return w - m * lr * g / (s ** (1 / power) + eps), s


def classp_greater_equal(w, g, grad_sum, lr, threshold, power, eps):
    m = (g * g >= threshold).float()
    s = grad_sum + m * g.abs() ** power
    return w - m * lr * g / (eps + s) ** (1 / power), s


def classp_square_root(w, g, grad_sum, lr, threshold, power, eps):
    m = (g * g > threshold).float()
    s = grad_sum + m * g.abs() ** power
    return w - m * lr * g / torch.sqrt(eps + s), s


@pytest.mark.parametrize("mistake, words", [
    (classp_per_tensor, ["each weight on its own", "whole tensor"]),
    (classp_per_tensor_mean, ["each weight on its own"]),
    (classp_current_left_out, ["include the current gradient"]),
    (classp_accumulate_always, ["Only the weights that are updated"]),
    (classp_eps_outside, ["eps goes inside the root"]),
    (classp_greater_equal, ["strict", "use >, not >="]),
    (classp_square_root, ["p-th root"]),
])
def test_classp_mistakes(mistake, words):
    for seed in SEEDS:
        mistakes_fail_with(checks.check_classp_step, mistake, words, seed)


def test_classp_error_in_student_code_is_a_failed_case_not_a_traceback():
    def broken(w, g, grad_sum, lr, threshold, power, eps):
        m = g * g > threshold
        return w - m * lr * g, grad_sum + m * g.abs() ** power[0]  # noqa: the bug

    r = quiet(checks.check_classp_step, broken, seed=0)
    assert r.status == "failed"
    detail = r.cases[0].detail
    assert detail.startswith("classp_step raised TypeError:")
    assert "power[0]" in detail  # the student's own line is quoted


def test_classp_wrong_return_type():
    r = quiet(checks.check_classp_step, lambda **k: classp_ok(**k)[0], seed=0)
    assert r.status == "failed"
    assert "must return a pair (new_w, new_grad_sum)" in r.cases[0].detail


# --- task 2.1
def density_per_tensor(grads, density):
    return float(np.mean([torch.quantile(g.flatten().double() ** 2, 1 - density).item() for g in grads]))


def density_abs(grads, density):
    return float(torch.quantile(torch.cat([g.flatten() for g in grads]).abs().double(), 1 - density))


def density_inverted(grads, density):
    return float(torch.quantile(torch.cat([g.flatten() for g in grads]).double() ** 2, density))


def density_list(grads, density):
    return [float(torch.quantile(g.flatten().double() ** 2, 1 - density)) for g in grads]


@pytest.mark.parametrize("mistake, words", [
    (density_per_tensor, ["all tensors together"]),
    (density_abs, ["squared gradients, not of |g|"]),
    (density_inverted, ["(1 − density) quantile"]),
    (density_list, ["one threshold for all the weights"]),
])
def test_threshold_for_density_mistakes(mistake, words):
    for seed in SEEDS:
        mistakes_fail_with(checks.check_threshold_for_density, mistake, words, seed)


def test_threshold_for_density_accepts_any_threshold_with_the_right_share():
    # a threshold halfway between two order statistics is as right as the quantile itself
    def between(grads, density):
        flat = torch.sort(torch.cat([g.flatten() for g in grads]).double() ** 2).values
        k = int(round((1 - density) * flat.numel()))
        return float((flat[k - 1] + flat[k]) / 2)

    assert quiet(checks.check_threshold_for_density, between, seed=0).passed


# --- task 3.1
def fisher_batch(model, x, y):
    grads = torch.autograd.grad(F.cross_entropy(model(x), y), list(model.parameters()))
    return [g**2 for g in grads]


def fisher_sum(model, x, y):
    return [f * len(x) for f in fisher_ok(model, x, y)]


def fisher_predicted(model, x, y):
    with torch.no_grad():
        y_hat = model(x).argmax(1)
    return fisher_ok(model, x, y_hat)


def fisher_steps(model, x, y):
    out = fisher_ok(model, x, y)
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.01  # e.g. an optimizer step left in
    return out


@pytest.mark.parametrize("mistake, words", [
    (fisher_batch, ["EACH sample", "(mean g)²"]),
    (fisher_sum, ["divide the sum"]),
    (fisher_predicted, ["true label"]),
    (fisher_steps, ["take no optimizer step"]),
])
def test_fisher_mistakes(mistake, words):
    for seed in SEEDS:
        mistakes_fail_with(checks.check_fisher_diagonal, mistake, words, seed)


# --- task 3.2
def penalty_no_half(params, fisher, anchor, lam):
    return 2 * penalty_ok(params, fisher, anchor, lam)


def penalty_abs(params, fisher, anchor, lam):
    return lam / 2 * sum((f * (p - a).abs()).sum() for p, f, a in zip(params, fisher, anchor))


def penalty_detached(params, fisher, anchor, lam):
    return torch.tensor(float(penalty_ok(params, fisher, anchor, lam).detach()))


def penalty_float(params, fisher, anchor, lam):
    return float(penalty_ok(params, fisher, anchor, lam).detach())


@pytest.mark.parametrize("mistake, words", [
    (penalty_no_half, ["factor ½"]),
    (penalty_abs, ["(θ − θ*)², not |θ − θ*|"]),
    (penalty_detached, ["without .detach(), .item()"]),
    (penalty_float, ["no .item(), no float()"]),
])
def test_ewc_penalty_mistakes(mistake, words):
    for seed in SEEDS:
        mistakes_fail_with(checks.check_ewc_penalty, mistake, words, seed)


# --- task 4.1
def forgetting_diagonal(R):
    T = len(R)
    return 0.0 if T == 1 else float(np.mean([R[j, j] - R[-1, j] for j in range(T - 1)]))


def forgetting_last_row_in_max(R):
    T = len(R)
    return 0.0 if T == 1 else float(np.mean([R[j:, j].max() - R[-1, j] for j in range(T - 1)]))


def forgetting_over_T(R):
    T = len(R)
    return 0.0 if T == 1 else float(sum(R[j:T - 1, j].max() - R[-1, j] for j in range(T - 1)) / T)


@pytest.mark.parametrize("mistake, words", [
    (forgetting_diagonal, ["BEST accuracy"]),
    (forgetting_last_row_in_max, ["rows before the last one"]),
    (forgetting_over_T, ["T − 1 earlier tasks"]),
])
def test_forgetting_mistakes(mistake, words):
    for seed in SEEDS:
        mistakes_fail_with(checks.check_forgetting, mistake, words, seed)


def test_forgetting_reference_agrees_with_hand_computation():
    R = np.array([[0.9, 0.1, 0.1], [0.6, 0.8, 0.2], [0.7, 0.5, 0.9]])
    assert pkg_forgetting(R) == pytest.approx(((0.9 - 0.7) + (0.8 - 0.5)) / 2)
    assert forgetting_ok(R) == pytest.approx(0.25)


# ------------------------------------------------------------------------------------------------
# checks of values and runs (they train; a second or two per run)
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def density_runs():
    """Mean densities of CLASSP on permuted-digits (seed 0) for two thresholds."""
    return {tau: run("classp", "permuted-digits", seed=0, options={"threshold": tau}, progress=False).metrics()[
        "mean_density"] for tau in (1e-6, 1e-4)}


@pytest.mark.slow
def test_threshold_density_value_check(density_runs):
    d = density_runs[1e-4]
    assert quiet(checks.check_threshold_density, 1e-4, target=d, tol=0.001).passed
    low = quiet(checks.check_threshold_density, 1e-6, target=d, tol=0.01)
    assert low.status == "failed" and low.hint.startswith("Raise the threshold")
    assert f"{density_runs[1e-6]:.4f}" in low.cases[0].detail  # the student's own density is shown
    high = quiet(checks.check_threshold_density, 1e-4, target=density_runs[1e-6], tol=0.01)
    assert high.hint.startswith("Lower the threshold")


def test_threshold_density_stub_and_bad_values(capsys):
    r = checks.check_threshold_density(None)
    assert r.status == "not implemented" and "tau is not set yet" in capsys.readouterr().out
    assert quiet(checks.check_threshold_density, -1e-5).cases[0].detail == "tau = -1e-05 is negative"
    assert "one number" in quiet(checks.check_threshold_density, [1e-5, 1e-4]).cases[0].detail
    with pytest.raises(ValueError, match="target must be in"):
        quiet(checks.check_threshold_density, 1e-5, target=1.5)


@pytest.fixture(scope="module")
def bought_runs():
    tau = 1e-4
    dense = [run("classp", "permuted-digits", seed=s, options={"threshold": 0.0}, progress=False) for s in (0, 1)]
    sparse = [run("classp", "permuted-digits", seed=s, options={"threshold": tau}, progress=False) for s in (0, 1)]
    value = np.mean([r.metrics()["forgetting"] for r in dense]) - np.mean([r.metrics()["forgetting"] for r in sparse])
    return dense, sparse, tau, float(value)


@pytest.mark.slow
def test_forgetting_bought(bought_runs, capsys):
    dense, sparse, tau, value = bought_runs
    assert quiet(checks.check_forgetting_bought, value, dense, sparse, tau, seeds=(0, 1), seed=0).passed

    wrong = quiet(checks.check_forgetting_bought, -value, dense, sparse, tau, seeds=(0, 1), seed=0)
    assert wrong.status == "failed" and "sign is reversed" in wrong.hint

    off = checks.check_forgetting_bought(value + 0.1234, dense, sparse, tau, seeds=(0, 1), seed=0)
    out = capsys.readouterr().out
    assert off.status == "failed" and "does not match" in out
    for fmt in (".6g", ".5f", ".4f", ".3f"):  # the expected value is never printed
        assert format(value, fmt) not in out

    only_first = float(pkg_forgetting(dense[0].accuracy_matrix) - pkg_forgetting(sparse[0].accuracy_matrix))
    assert "all the seeds" in quiet(checks.check_forgetting_bought, only_first, dense, sparse, tau,
                                    seeds=(0, 1), seed=0).hint
    swapped = quiet(checks.check_forgetting_bought, value, sparse, dense, tau, seeds=(0, 1), seed=0)
    assert "threshold 0" in swapped.cases[0].detail
    missing = quiet(checks.check_forgetting_bought, value, dense[:1], sparse, tau, seeds=(0, 1), seed=0)
    assert "seeds [0]; expected [0, 1]" in missing.cases[0].detail


@pytest.mark.slow
def test_forgetting_bought_detects_tampered_runs(bought_runs):
    import copy

    dense, sparse, tau, value = bought_runs
    fake = copy.deepcopy(sparse)
    for r in fake:
        r.accuracy_matrix = np.clip(r.accuracy_matrix + 0.05, 0, 1)
    # the check repeats run number rng.integers(4) of dense + fake: pick a seed that draws a fake one
    seed = next(k for k in range(100) if np.random.default_rng(k).integers(4) >= 2)
    bad = quiet(checks.check_forgetting_bought, value, dense, fake, tau, seeds=(0, 1), seed=seed)
    assert bad.status == "failed" and bad.cases[0].passed
    assert "does not reproduce" in bad.cases[1].detail


def test_forgetting_bought_stub():
    r = quiet(checks.check_forgetting_bought, None, None, None, None)
    assert r.status == "not implemented" and "Task 2.4 is not done yet" in r.cases[0].detail


@pytest.fixture(scope="module")
def experiment():
    seq, seeds = "split-digits", (0, 1)
    runs = [run(m, seq, seed=s, progress=False) for m in ("sgd", "adagrad") for s in seeds]
    runs += [run("classp", seq, seed=s, options={"threshold": t}, label=f"classp {t:g}", progress=False)
             for t in (0.0, 1e-6, 1e-5) for s in seeds]
    return runs


@pytest.mark.slow
def test_experiment_rules(experiment):
    ok = quiet(checks.check_experiment, experiment, min_seeds=2, seed=0)
    assert ok.passed, ok.report()
    three_seeds = quiet(checks.check_experiment, experiment, seed=0)  # the assignment's rule: 3 seeds
    assert three_seeds.status == "failed" and "at least 3 are needed" in three_seeds.cases[2].detail

    no_sweep = [r for r in experiment if r.label != "classp 1e-05"]
    r = quiet(checks.check_experiment, no_sweep, min_seeds=2, seed=0)
    assert "2 CLASSP configuration(s); at least 3 are needed" in r.cases[3].detail
    one_baseline = [r for r in experiment if r.method != "adagrad"]
    r = quiet(checks.check_experiment, one_baseline, min_seeds=2, seed=0)
    assert "baselines found: ['sgd']" in r.cases[3].detail
    uneven = experiment[:-1]
    r = quiet(checks.check_experiment, uneven, min_seeds=1, seed=0)
    assert "different seeds" in r.cases[2].detail
    mixed = experiment + [run("sgd", "permuted-digits", seed=0, progress=False)]
    r = quiet(checks.check_experiment, mixed, min_seeds=1, seed=0)
    assert "several sequences" in r.cases[1].detail


def test_experiment_stub_and_types():
    assert quiet(checks.check_experiment, None).status == "not implemented"
    with pytest.raises(ValueError, match="min_seeds must be an int >= 1"):
        quiet(checks.check_experiment, [], min_seeds=0)
    r = quiet(checks.check_experiment, ["not a run"])
    assert r.status == "failed" and "list of the Results" in r.cases[0].detail
