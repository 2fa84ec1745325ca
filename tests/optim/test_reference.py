"""classp.ReferenceCLASSP reproduces the released CLASSP.py, deviations included."""
import math

import pytest
import torch

from classp import CLASSP, ReferenceCLASSP


def _model():
    torch.manual_seed(7)
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4))


def _trajectory(make_opt, steps=15, **step_kwargs):
    model = _model()
    opt = make_opt(model.parameters())
    g = torch.Generator().manual_seed(0)
    traj = []
    for _ in range(steps):
        x, y = torch.randn(16, 6, generator=g), torch.randint(0, 4, (16,), generator=g)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step(**step_kwargs)
        traj.append(torch.cat([p.detach().flatten().clone() for p in model.parameters()]))
    return traj


def test_defaults_are_the_released_ones():
    opt = ReferenceCLASSP([torch.nn.Parameter(torch.zeros(1))])
    g = opt.param_groups[0]
    assert (g["lr"], g["threshold"], g["epsilon"], g["power"], g["apply_scaling"]) == (0.2, 0.5, 1e-5, 1, True)


def test_one_step_by_hand():
    # gate passes (any g != 0 and 1 > 0.5); S = |g| (the current gradient included);
    # w -= 0.2 / (|g| + 1e-5) * g
    w = torch.nn.Parameter(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    opt = ReferenceCLASSP([w])
    w.grad = torch.tensor([0.001, -0.5, 0.0], dtype=torch.float64)
    opt.step()
    want = [1.0 - 0.2 * 0.001 / (0.001 + 1e-5), 2.0 + 0.2 * 0.5 / (0.5 + 1e-5), 3.0]
    assert w.tolist() == pytest.approx(want, abs=1e-12)
    assert opt.state[w]["grad_sum"].tolist() == pytest.approx([0.001, 0.5, 0.0], abs=1e-15)
    # a weight with g^2 = 1e-6, far below 0.5, moved: the gate is not per weight
    assert w[0].item() != 1.0


def test_power_is_never_applied_to_the_accumulator():
    # power 2: S = |g1| + |g2| (not g^2), scale = lr / sqrt(S + eps)
    w = torch.nn.Parameter(torch.tensor([0.0], dtype=torch.float64))
    opt = ReferenceCLASSP([w], lr=0.1, threshold=0.0, epsilon=0.0, power=2)
    for g in (0.5, 0.25):
        w.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
    assert opt.state[w]["grad_sum"].item() == pytest.approx(0.75)
    want = -0.1 * 0.5 / math.sqrt(0.5) - 0.1 * 0.25 / math.sqrt(0.75)
    assert w.item() == pytest.approx(want, abs=1e-12)
    # ... which is not AdaGrad (sum of squares: sqrt(0.25) then sqrt(0.3125))
    adagrad = -0.1 * 0.5 / math.sqrt(0.25) - 0.1 * 0.25 / math.sqrt(0.3125)
    assert abs(w.item() - adagrad) > 1e-3


def test_thresholds_below_one_give_identical_trajectories():
    trajs = [_trajectory(lambda p, t=t: ReferenceCLASSP(p, threshold=t)) for t in (0.0, 0.5, 0.99)]
    for a, b, c in zip(*trajs):
        assert torch.equal(a, b) and torch.equal(b, c)
    # it does train: weights moved
    assert not torch.equal(trajs[0][0], trajs[0][-1])


def test_threshold_one_freezes_every_tensor():
    traj = _trajectory(lambda p: ReferenceCLASSP(p, threshold=1.0))
    start = torch.cat([p.detach().flatten() for p in _model().parameters()])
    assert all(torch.equal(t, start) for t in traj)


def test_the_faithful_optimizer_differs_where_the_reference_does_not():
    ours = [_trajectory(lambda p, t=t: CLASSP(p, lr=0.2, threshold=t, eps=1e-5, power=1))[-1]
            for t in (0.0, 1e-3, 0.99)]
    assert not torch.equal(ours[0], ours[1])
    assert not torch.equal(ours[1], ours[2])


def test_apply_scaling_false_is_plain_sgd_while_the_sum_grows():
    w = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    opt = ReferenceCLASSP([w], lr=0.2)
    w.grad = torch.tensor([0.5], dtype=torch.float64)
    opt.step(apply_scaling=False)
    assert w.item() == pytest.approx(0.9)
    assert opt.state[w]["grad_sum"].item() == pytest.approx(0.5)
    opt.step()  # now scaled by the accumulated 1.0
    assert w.item() == pytest.approx(0.9 - 0.2 * 0.5 / (1.0 + 1e-5))


def test_overrides_leak_from_the_first_group():
    a = torch.nn.Parameter(torch.tensor([0.0], dtype=torch.float64))
    b = torch.nn.Parameter(torch.tensor([0.0], dtype=torch.float64))
    opt = ReferenceCLASSP([{"params": [a], "lr": 0.1}, {"params": [b], "lr": 1.0}], apply_scaling=False)
    a.grad = torch.tensor([1.0], dtype=torch.float64)
    b.grad = torch.tensor([1.0], dtype=torch.float64)
    opt.step()
    assert a.item() == pytest.approx(-0.1)
    assert b.item() == pytest.approx(-0.1)  # group 1's lr = 1.0 is ignored, as upstream


def test_upstream_cv_schedule():
    first = ReferenceCLASSP.upstream_cv_schedule(0)
    later = ReferenceCLASSP.upstream_cv_schedule(1)
    assert first["apply_scaling"] is False and first["lr"] == 0.2
    assert later == {"threshold": 0, "apply_scaling": True}
    with pytest.raises(ValueError, match="task_index"):
        ReferenceCLASSP.upstream_cv_schedule(-1)


def test_average_grad_sum():
    w = torch.nn.Parameter(torch.zeros(4))
    opt = ReferenceCLASSP([w])
    w.grad = torch.tensor([1.0, -1.0, 2.0, 0.0])
    opt.step()
    assert opt.average_grad_sum() == pytest.approx(1.0)


def test_upstream_schedule_checks_the_task_index():
    import numpy as np

    assert ReferenceCLASSP.upstream_cv_schedule(np.int64(0))["apply_scaling"] is False
    assert ReferenceCLASSP.upstream_cv_schedule(torch.tensor(2)) == dict(threshold=0, apply_scaling=True)
    for bad in (-1, True, 1.0):
        with pytest.raises(ValueError, match=r"^task_index must be an integer >= 0; got "):
            ReferenceCLASSP.upstream_cv_schedule(bad)
