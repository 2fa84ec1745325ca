"""CLASSP in float16 and bfloat16: a float32 accumulator, masks of the exact gradient, never 0/0.

The reproductions of issue 11 first, then the book's MLP trained in pure float16 / bfloat16
against float32.
"""
import io

import pytest
import torch
import torch.nn.functional as F

from classp import CLASSP

LOW = [torch.float16, torch.bfloat16]


def test_float16_first_step_has_no_nan():
    # eps = 1e-8 rounds to 0 in float16; a weight without gradient used to compute 0/0
    p = torch.nn.Parameter(torch.ones(2, dtype=torch.float16))
    opt = CLASSP([p])
    p.grad = torch.tensor([0.0, 0.5], dtype=torch.float16)
    opt.step()
    # w1 = 1 - 0.03 * 0.5 / (1e-8 + 0.5) = 0.97, rounded to float16
    assert p.tolist() == [1.0, torch.tensor(0.97, dtype=torch.float16).item()]


def test_bfloat16_accumulator_keeps_growing():
    # 2,000 steps of |g| = 0.01: S = 20 (a bfloat16 sum stops at 4, where 0.01 is below its resolution)
    p = torch.nn.Parameter(torch.zeros(3, dtype=torch.bfloat16))
    opt = CLASSP([p], lr=1e-4, threshold=0.0)
    g = torch.tensor([0.01, -0.01, 0.01], dtype=torch.bfloat16)  # 0.01 in bfloat16 is 0.010009765625
    for _ in range(2000):
        p.grad = g.clone()
        opt.step()
    s = opt.state[p]["grad_sum"]
    assert s.dtype == torch.float32
    assert s.tolist() == pytest.approx([20.0] * 3, rel=0.01)


def test_float16_small_gradients_pass_threshold_zero():
    # g*g underflows in float16 for |g| < 1.7e-4 (1e-4**2 = 1e-8 < 6e-8, the smallest subnormal)
    p = torch.nn.Parameter(torch.zeros(2, dtype=torch.float16))
    opt = CLASSP([p], lr=0.01, threshold=0.0, eps=0.0)
    p.grad = torch.tensor([1e-4, -1e-4], dtype=torch.float16)
    opt.step()
    assert p.tolist() == [-0.01, 0.01] or p.tolist() == pytest.approx([-0.01, 0.01], rel=1e-3)
    assert opt.state[p]["grad_sum"].tolist() == pytest.approx([1e-4, 1e-4], rel=1e-3)


@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_accumulator_is_float32_and_survives_a_state_dict_round_trip(dtype):
    from classp.optim import accumulator_dtype

    p = torch.nn.Parameter(torch.ones(4, dtype=dtype))
    opt = CLASSP([p], threshold=0.0)
    p.grad = torch.full((4,), 1e-3, dtype=dtype)
    opt.step()
    assert opt.state[p]["grad_sum"].dtype == torch.float32 == accumulator_dtype(dtype)
    assert opt.state_bytes() == 4 * 4 + 4  # 4 bytes per weight, and the step counter
    buffer = io.BytesIO()
    torch.save(opt.state_dict(), buffer)
    buffer.seek(0)
    q = torch.nn.Parameter(p.detach().clone())
    again = CLASSP([q])
    again.load_state_dict(torch.load(buffer, weights_only=True))
    assert again.state[q]["grad_sum"].dtype == torch.float32
    assert torch.equal(again.state[q]["grad_sum"], opt.state[p]["grad_sum"])
    assert again.state[q]["grad_sum"].data_ptr() != opt.state[p]["grad_sum"].data_ptr()


def _digits():
    from classp.data import get_sequence

    seq = get_sequence("split-digits", seed=0)
    cat = lambda name: torch.cat([getattr(t, name) for t in seq.tasks])
    return seq, cat("x_train"), cat("y_train"), cat("x_test"), cat("y_test")


def _train_mlp(dtype, epochs, feed=None):
    """The book's MLP on the five digit tasks at once, pure ``dtype``; ``feed``: a float32 twin's gradients."""
    from classp.lab.models import make_model

    seq, x, y, xt, yt = _digits()
    model = make_model("mlp", seq, seed=0).to(dtype)
    twin = make_model("mlp", seq, seed=0) if feed else None
    opt = CLASSP(model.parameters())
    twin_opt = CLASSP(twin.parameters()) if feed else None
    for epoch in range(epochs):
        for idx in torch.randperm(len(y), generator=torch.Generator().manual_seed(epoch)).split(32):
            net = twin if feed else model
            net.zero_grad()
            F.cross_entropy(net(x[idx].to(next(net.parameters()).dtype)).float(), y[idx]).backward()
            if feed:
                for p, q in zip(model.parameters(), twin.parameters()):
                    p.grad = q.grad.to(dtype)
                twin_opt.step()
            opt.step()
    with torch.no_grad():
        acc = (model(xt.to(dtype)).argmax(1) == yt).double().mean().item()
    s = sum(opt.state[p]["grad_sum"].double().sum().item() for p in model.parameters())
    assert all(torch.isfinite(p).all() for p in model.parameters())
    return acc, s


@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_pure_low_precision_training_tracks_float32(dtype):
    """Same accuracy within 2 points; S within 1 % after the first step, within 10 % at the end.

    S itself drifts further than 1 % over a run: the low-precision forward and backward passes
    and weights that cannot store steps below half their resolution give another trajectory
    (measured: -1 % for float16 and -4.5 % for bfloat16 after 40 steps). The accumulator on the
    *same* gradients is tested below.
    """
    acc32, s32 = _train_mlp(torch.float32, 2)
    acc, s = _train_mlp(dtype, 2)
    assert abs(acc - acc32) <= 0.02
    assert s == pytest.approx(s32, rel=0.10)
    one32, one = (_first_step_sum(d) for d in (torch.float32, dtype))
    assert one == pytest.approx(one32, rel=0.01)


def _first_step_sum(dtype):
    from classp.lab.models import make_model

    seq, x, y, _, _ = _digits()
    model = make_model("mlp", seq, seed=0).to(dtype)
    opt = CLASSP(model.parameters())
    F.cross_entropy(model(x[:32].to(dtype)).float(), y[:32]).backward()
    opt.step()
    return sum(opt.state[p]["grad_sum"].double().sum().item() for p in model.parameters())


@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_low_precision_accumulator_tracks_float32_on_the_same_gradients(dtype):
    """A float16/bfloat16 optimizer fed a float32 run's gradients (rounded): S within 1 % after 200 steps."""
    _, s32 = _train_mlp(torch.float32, 5)
    _, s = _train_mlp(dtype, 5, feed=True)
    assert s == pytest.approx(s32, rel=0.01)
