"""Tests of classp.teaching.a3 (tasks 3.1 diagonal Fisher, 3.2 EWC penalty): solutions pass, stubs are "not
implemented yet", the common mistakes fail with the matching hint."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from classp.teaching.a3 import check_ewc_penalty, check_fisher_diagonal

NOTEBOOK = "a3_ewc.ipynb"


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


FUNCTION_CHECKS = [(check_fisher_diagonal, fisher_ok, "fisher_diagonal"), (check_ewc_penalty, penalty_ok, "ewc_penalty")]


@pytest.mark.parametrize("check, solution, name", FUNCTION_CHECKS, ids=[c[2] for c in FUNCTION_CHECKS])
def test_solutions_pass(check, solution, name, passes):
    passes(check, solution, NOTEBOOK, name)


@pytest.mark.parametrize("check, solution, name", FUNCTION_CHECKS, ids=[c[2] for c in FUNCTION_CHECKS])
def test_stub_is_not_implemented_yet(check, solution, name, not_implemented_yet):
    not_implemented_yet(check)


# ------------------------------------------------------------------------------------------------ task 3.1
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
def test_fisher_mistakes(mistake, words, fails_with):
    fails_with(check_fisher_diagonal, mistake, words)


def test_fisher_wrong_shapes(quiet):
    r = quiet(check_fisher_diagonal, lambda model, x, y: fisher_ok(model, x, y)[:-1], seed=0)
    assert r.status == "failed" and "tensors; the model has" in r.cases[0].detail
    r = quiet(check_fisher_diagonal, lambda model, x, y: torch.cat([f.flatten() for f in fisher_ok(model, x, y)]),
              seed=0)
    assert r.status == "failed" and "expected a list with one tensor per parameter" in r.cases[0].detail


# ------------------------------------------------------------------------------------------------ task 3.2
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
def test_ewc_penalty_mistakes(mistake, words, fails_with):
    fails_with(check_ewc_penalty, mistake, words)
