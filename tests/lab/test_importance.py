"""classp.lab.importance: Synaptic Intelligence and Memory Aware Synapses against hand computations on
tiny linear models, and the penalty base they share with EWC.

Conventions under test: SI accumulates omega += -g * dtheta per step with g the gradient of the task
loss alone, Omega += omega / (Delta^2 + xi) clipped at 0 at consolidation, penalty c * sum Omega
(theta - theta~)^2; MAS Omega += mean_n |d ||f(x_n)||^2 / d theta|, penalty lam * sum Omega
(theta - theta*)^2.
"""
import io

import numpy as np
import pytest
import torch
from torch import nn

from classp.lab.importance import MAS, SI, ImportancePenalty, output_sensitivity, per_sample_grad_sums
from classp.lab.regularisers import EWC, Regulariser
from classp.lab import regularisers

W0 = np.array([[1.0, 2.0]])
X = torch.tensor([[1.0, 2.0], [-1.0, 0.5], [0.0, -2.0]])
WM = torch.tensor([[0.1, -0.2], [0.3, 0.0], [-0.1, 0.4]])


def _row(weight=W0):
    m = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        m.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
    return m


def _hand_step(si, grad, delta):
    """A step made by hand: gradient ``grad`` in p.grad, the weight moved by ``delta``."""
    w = si.model.weight
    w.grad = torch.tensor([grad], dtype=torch.float32)
    with torch.no_grad():
        w.add_(torch.tensor([delta], dtype=torch.float32))
    si.after_step()


# ------------------------------------------------------------------------------------------ SI
def test_si_path_integral_over_two_hand_made_steps_and_consolidation():
    si = SI(_row(), c=2.0, xi=0.1)
    assert si.penalty() is None
    _hand_step(si, [0.5, -1.0], [-0.1, 0.3])   # omega = -(0.5*-0.1, -1*0.3) = (0.05, 0.3)
    _hand_step(si, [0.2, 0.4], [-0.2, -0.1])   # omega += (0.04, 0.04)
    np.testing.assert_allclose(si.omega[0].numpy(), [[0.09, 0.34]], rtol=1e-6)
    new = si.consolidate()
    # Delta over the task = (-0.3, 0.2): Omega = omega / (Delta^2 + 0.1)
    expected = np.array([[0.09 / (0.09 + 0.1), 0.34 / (0.04 + 0.1)]])
    np.testing.assert_allclose(new[0].numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(si.importances[0][0].numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(si.anchors[0][0].numpy(), W0 + [[-0.3, 0.2]], rtol=1e-6)
    assert si.omega[0].abs().sum() == 0 and si.start is None
    # penalty c * sum Omega d^2 (no 1/2) and its gradient 2 c Omega d
    with torch.no_grad():
        si.model.weight.add_(torch.tensor([[1.0, -0.5]]))
    si.model.weight.grad = None
    pen = si.penalty()
    assert float(pen.detach()) == pytest.approx(2.0 * (expected[0, 0] * 1.0 + expected[0, 1] * 0.25), rel=1e-5)
    pen.backward()
    np.testing.assert_allclose(si.model.weight.grad.numpy(), 2 * 2.0 * expected * [[1.0, -0.5]], rtol=1e-5)


def test_si_uses_the_task_gradient_without_the_penalty():
    # model y = w.x, task loss (w.x - t)^2, gradient 2 (w.x - t) x; SGD on loss + penalty
    si = SI(_row(), c=0.5, xi=0.1)
    si.importances, si.anchors = [[torch.tensor([[2.0, 3.0]])]], [[torch.tensor([[0.0, 1.0]])]]
    opt = torch.optim.SGD(si.model.parameters(), lr=0.1)
    x, t = torch.tensor([[1.0, -1.0]]), torch.tensor([[0.5]])
    loss = ((si.model(x) - t) ** 2).sum() + si.penalty()
    loss.backward()
    opt.step()
    si.after_step()
    w = W0
    g_task = 2 * (w @ [1.0, -1.0] - 0.5) * np.array([[1.0, -1.0]])   # 2 * (-1 - 0.5) * x = (-3, 3)
    g_pen = 2 * 0.5 * np.array([[2.0, 3.0]]) * (w - [[0.0, 1.0]])     # 2 c Omega (w - anchor) = (2, 3)
    delta = -0.1 * (g_task + g_pen)
    np.testing.assert_allclose(si.omega[0].numpy(), -g_task * delta, rtol=1e-5)
    assert not np.allclose(-(g_task + g_pen) * delta, -g_task * delta)  # the test can tell them apart


def test_si_penalty_not_backpropagated_is_not_subtracted():
    si = SI(_row())
    si.importances, si.anchors = [[torch.ones(1, 2)]], [[torch.zeros(1, 2)]]
    si.penalty()  # computed (for a log, say) but never part of a backward pass
    _hand_step(si, [1.0, 2.0], [0.1, 0.1])
    np.testing.assert_allclose(si.omega[0].numpy(), [[-0.1, -0.2]], rtol=1e-6)


def test_si_importance_accumulates_from_the_last_anchor_and_is_clipped_at_zero():
    si = SI(_row(), xi=1.0)
    _hand_step(si, [-1.0, 1.0], [1.0, 1.0])   # omega = (1, -1): the second weight raised the loss
    si.consolidate()
    np.testing.assert_allclose(si.importances[0][0].numpy(), [[0.5, 0.0]])  # 1/(1+1), max(0, -1/2)
    _hand_step(si, [-1.0, -2.0], [1.0, 1.0])  # omega = (1, 2), Delta from the anchor = (1, 1)
    si.consolidate()
    np.testing.assert_allclose(si.importances[0][0].numpy(), [[1.0, 1.0]])
    np.testing.assert_allclose(si.anchors[0][0].numpy(), W0 + 2.0)
    assert si.n_consolidated == 1


def test_si_state_bytes_and_round_trip_mid_task():
    si = SI(_row(), c=0.3, xi=0.01)
    assert si.state_bytes() == 3 * 2 * 4          # omega, previous, start
    _hand_step(si, [0.5, -1.0], [-0.1, 0.3])
    si.consolidate()
    _hand_step(si, [0.2, 0.4], [-0.2, -0.1])
    assert si.state_bytes() == 4 * 2 * 4          # Omega, anchor, omega, previous
    other = SI(_row([[5.0, 5.0]]))
    other.model.load_state_dict(si.model.state_dict())
    other.load_state_dict(si.state_dict())
    assert (other.c, other.xi, other.start, other.n_consolidated) == (0.3, 0.01, None, 1)
    for name in ("omega", "previous"):
        assert all(torch.equal(u, v) for u, v in zip(getattr(si, name), getattr(other, name)))
    _hand_step(si, [1.0, 1.0], [0.1, 0.1])
    _hand_step(other, [1.0, 1.0], [0.1, 0.1])
    torch.testing.assert_close(other.consolidate()[0], si.consolidate()[0], rtol=0, atol=0)


# ----------------------------------------------------------------------------------------- MAS
def _hand_mas(weight, bias, xs, rows=None):
    """d ||Wx + b||^2 / dW = 2 (Wx + b) x^T and / db = 2 (Wx + b), restricted to ``rows``; mean of |.|."""
    weight, bias, xs = (np.asarray(a, dtype=np.float64) for a in (weight, bias, xs))
    gw, gb = np.zeros_like(weight), np.zeros_like(bias)
    head = np.ones(len(bias))
    if rows is not None:
        head[:] = 0.0
        head[list(rows)] = 1.0
    for x in xs:
        out = (weight @ x + bias) * head
        gw += np.abs(2 * np.outer(out, x))
        gb += np.abs(2 * out)
    return gw / len(xs), gb / len(xs)


def _linear(bias=True):
    m = nn.Linear(2, 3, bias=bias)
    with torch.no_grad():
        m.weight.copy_(WM)
        if bias:
            m.bias.copy_(torch.tensor([0.5, -1.0, 0.2]))
    return m


@pytest.mark.parametrize("classes", [None, (0, 1)])
def test_mas_importance_of_a_linear_model_by_hand(classes):
    m = _linear()
    omega = output_sensitivity(m, X, classes=classes)
    gw, gb = _hand_mas(WM, [0.5, -1.0, 0.2], X, rows=classes)
    np.testing.assert_allclose(omega[0].numpy(), gw, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(omega[1].numpy(), gb, rtol=1e-5, atol=1e-7)
    if classes is not None:
        assert np.all(omega[0][2].numpy() == 0.0)  # the other head gets no importance


def test_mas_importance_is_not_the_batch_gradient():
    m = _linear(bias=False)
    (m(X) ** 2).sum().backward()
    assert not np.allclose(output_sensitivity(m, X)[0].numpy(), m.weight.grad.abs().numpy() / len(X))


def test_mas_consolidation_sums_and_penalty_by_hand():
    m = _linear(bias=False)
    mas = MAS(m, lam=3.0)
    assert mas.penalty() is None
    first = mas.consolidate(X, torch.zeros(3))
    with torch.no_grad():
        m.weight.add_(1.0)
    second = mas.consolidate(X[:2], None)
    np.testing.assert_allclose(second[0].numpy(), _hand_mas(WM + 1.0, np.zeros(3), X[:2])[0], rtol=1e-5)
    torch.testing.assert_close(mas.importances[0][0], first[0] + second[0])
    torch.testing.assert_close(mas.anchors[0][0], WM + 1.0)
    assert mas.n_consolidated == 1 and mas.state_bytes() == 2 * 6 * 4
    with torch.no_grad():
        m.weight.add_(0.5)
    pen = mas.penalty()
    omega = (first[0] + second[0]).numpy()
    assert float(pen.detach()) == pytest.approx(3.0 * (omega * 0.25).sum(), rel=1e-5)   # lam * sum, no 1/2
    pen.backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), 2 * 3.0 * omega * 0.5, rtol=1e-5)


def test_mas_samples_takes_a_seeded_subset_and_round_trips():
    x = torch.randn(7, 2, generator=torch.Generator().manual_seed(1))
    mas = MAS(_linear(bias=False), lam=2.0, samples=3)
    new = mas.consolidate(x, torch.zeros(7))
    idx = torch.randperm(7, generator=torch.Generator().manual_seed(0))[:3]
    np.testing.assert_allclose(new[0].numpy(), _hand_mas(WM, np.zeros(3), x[idx])[0], rtol=1e-5)
    other = MAS(_linear(bias=False))
    other.load_state_dict(mas.state_dict())
    assert (other.lam, other.samples, other.n_consolidated) == (2.0, 3, 1)
    assert float(other.penalty().detach()) == float(mas.penalty().detach())


def test_vmap_and_loop_agree_for_the_output_norm():
    m = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 3))
    torch.manual_seed(0)
    for p in m.parameters():
        nn.init.normal_(p)
    y = torch.zeros(3, dtype=torch.long)

    def norm(out, _):
        return out.pow(2).sum()

    a = per_sample_grad_sums(m, X, y, norm, torch.abs, batch_size=2, how="vmap")
    b = per_sample_grad_sums(m, X, y, norm, torch.abs, how="loop")
    for u, v in zip(a, b):
        torch.testing.assert_close(u, v)


# ---------------------------------------------------------------------------- shared behaviour
@pytest.mark.parametrize("cls", [EWC, SI, MAS])
def test_every_importance_regulariser_follows_the_protocol(cls):
    reg = cls(_linear())
    assert isinstance(reg, Regulariser) and isinstance(reg, ImportancePenalty)
    assert regularisers.SI is SI and regularisers.MAS is MAS
    reg.consolidate(X, torch.tensor([0, 2, 1]))
    assert reg.n_consolidated == 1 and reg.penalty() is not None
    state = reg.state_dict()
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    assert set(torch.load(buf, weights_only=True)) == set(state)


@pytest.mark.parametrize("cls, kwargs, message", [
    (SI, {"c": -1.0}, r"^c must be a number >= 0; got -1.0$"),
    (SI, {"c": True}, r"^c must be a number >= 0; got True$"),
    (SI, {"xi": 0.0}, r"^xi must be a number > 0; got 0.0$"),
    (SI, {"xi": float("nan")}, r"^xi must be a finite number > 0; got nan$"),
    (MAS, {"lam": -0.5}, r"^lam must be a number >= 0; got -0.5$"),
    (MAS, {"samples": 0}, r"^samples must be None or an integer >= 1; got 0$"),
    (MAS, {"samples": 2.5}, r"^samples must be None or an integer >= 1; got 2.5$"),
    (MAS, {"batch_size": 0}, r"^batch_size must be an integer >= 1; got 0$"),
])
def test_invalid_arguments(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(_linear(), **kwargs)


def test_invalid_model_and_inputs():
    for cls in (SI, MAS):
        with pytest.raises(ValueError, match="^model must be a torch.nn.Module; got str$"):
            cls("mlp")
    with pytest.raises(ValueError, match="^x must hold at least one sample; got 0$"):
        output_sensitivity(_linear(), X[:0])
    with pytest.raises(ValueError, match="^how must be one of 'auto', 'vmap', 'loop'; got 'fast'$"):
        per_sample_grad_sums(_linear(), X, torch.zeros(3), lambda o, t: o.sum(), torch.abs, how="fast")


def test_numpy_and_tensor_numbers_are_accepted():
    si = SI(_linear(), c=np.float32(0.5), xi=torch.tensor(0.25))
    mas = MAS(_linear(), lam=np.int64(2), samples=np.int32(5))
    assert (si.c, si.xi, mas.lam, mas.samples) == (0.5, 0.25, 2.0, 5)
    assert all(type(v) in (int, float) for v in (si.c, si.xi, mas.lam, mas.samples))
