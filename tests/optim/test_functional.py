"""classp.optim.functional: the foreach and the fused kernels compute the single-tensor kernel's update.

The single-tensor kernel is pinned down by hand computations (test_classp.py); here the two fast
paths are compared with it, through the optimizer (foreach) and directly (the function that
``compile=True`` compiles, uncompiled), for every option and every supported dtype.
"""
import itertools

import pytest
import torch

from classp import CLASSP
from classp.optim.functional import all_finite, classp_update, classp_update_foreach, classp_update_fused, mask_bound

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.complex64]
OPTIONS = [dict(threshold=t, power=p, decay=d, accumulate=a, maximize=m, eps=e)
           for t, p, d, a, m, e in itertools.product((0.0, 0.01), (1.0, 2.0, 1.5), (True, False),
                                                     ("updated", "always"), (False, True), (1e-3, 0.0))]
SHAPES = [(5, 3), (7,), (2, 2, 2)]


def _tolerance(dtype):
    # the two kernels round in different orders: compare up to a few units in the last place
    return {torch.float16: dict(rtol=2e-3, atol=2e-3), torch.bfloat16: dict(rtol=1.6e-2, atol=1e-2),
            torch.float64: dict(rtol=1e-12, atol=1e-14)}.get(dtype, dict(rtol=1e-5, atol=1e-6))


def _grads(dtype, steps=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(steps):
        gs = []
        for shape in SHAPES:
            real = torch.float32 if dtype in (torch.float16, torch.bfloat16, torch.complex64) else dtype
            g = torch.randn(shape + ((2,) if dtype.is_complex else ()), generator=gen, dtype=real) * 0.15
            g.view(-1)[:2] = 0.0  # weights without a gradient (0/0 with eps = 0)
            gs.append(torch.view_as_complex(g) if dtype.is_complex else g.to(dtype))
        out.append(gs)
    return out


def _train(dtype, foreach, grads, **options):
    gen = torch.Generator().manual_seed(1)
    params = [torch.nn.Parameter(torch.randn(shape, generator=gen, dtype=torch.float32).to(dtype)
                                 if not dtype.is_complex else torch.randn(shape, generator=gen, dtype=dtype))
              for shape in SHAPES]
    opt = CLASSP(params, lr=0.05, foreach=foreach, **options)
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = g.clone()
        opt.step()
    return params, [opt.state[p]["grad_sum"] for p in params if p in opt.state]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_foreach_equals_single_tensor(dtype, options):
    grads = _grads(dtype)
    w1, s1 = _train(dtype, False, grads, **options)
    w2, s2 = _train(dtype, True, grads, **options)
    for a, b in zip(w1 + s1, w2 + s2):
        assert a.dtype == b.dtype
        assert torch.isfinite(torch.view_as_real(b) if b.is_complex() else b).all()
        torch.testing.assert_close(b, a, **_tolerance(dtype))
    assert any(not torch.equal(a, b.detach()) for a, b in zip(w1, _train(dtype, False, [])[0]))  # it moved


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("ok", [None, True], ids=["unconditional", "ok"])
def test_fused_function_equals_single_tensor(dtype, options, ok):
    """The function ``compile=True`` compiles, run eagerly, on the kernels' own calling convention."""
    grads = _grads(dtype)
    acc = torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype
    gen = torch.Generator().manual_seed(1)
    w0 = [torch.randn(shape, generator=gen).to(dtype) for shape in SHAPES]
    w1, w2 = [w.clone() for w in w0], [w.clone() for w in w0]
    s1, s2 = [torch.zeros(w.shape, dtype=acc) for w in w0], [torch.zeros(w.shape, dtype=acc) for w in w0]
    for gs in grads:
        for w, g, s in zip(w1, gs, s1):
            classp_update(w, g, s, lr=0.05, **options)
        classp_update_fused(w2, gs, s2, torch.tensor(0.05, dtype=torch.float64),
                            ok=None if ok is None else torch.tensor(ok), **options)
    for a, b in zip(w1 + s1, w2 + s2):
        torch.testing.assert_close(b, a, **_tolerance(dtype))


def test_the_foreach_mask_is_strict_without_a_comparison():
    # g^2 = tau exactly is masked; the smallest float64 above it is not
    tau = 0.25
    g = torch.tensor([0.5, torch.nextafter(torch.tensor(0.5, dtype=torch.float64),
                                           torch.tensor(1.0, dtype=torch.float64)).item(), -0.1, 0.0],
                     dtype=torch.float64)
    w, s = torch.zeros(4, dtype=torch.float64), torch.zeros(4, dtype=torch.float64)
    classp_update_foreach([w], [g], [s], lr=1.0, threshold=tau, power=1.0, eps=0.0, decay=True,
                          accumulate="updated")
    assert w.tolist() == [0.0, -1.0, 0.0, 0.0]
    assert s.tolist() == [0.0, g[1].item(), 0.0, 0.0]


def test_kernels_accept_empty_lists():
    kw = dict(threshold=0.0, power=1.0, eps=0.0, decay=True, accumulate="updated")
    classp_update_foreach([], [], [], lr=0.1, **kw)
    classp_update_fused([], [], [], torch.tensor(0.1), **kw)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("threshold", [0.0, 1e-30, 1e-6, 0.01, 0.25, 3.0, 1e30])
def test_mask_bound_is_exactly_where_the_square_passes_the_threshold(dtype, threshold):
    """|g| > mask_bound(tau) exactly where g * g > tau: at the bound, its neighbours and at random."""
    b = torch.tensor(mask_bound(threshold, dtype), dtype=dtype)
    up, down = (torch.nextafter(b, torch.tensor(x, dtype=dtype)) for x in (float("inf"), 0.0))
    assert bool(b * b <= threshold) and bool(up * up > threshold)  # the largest such float
    gen = torch.Generator().manual_seed(0)
    near = b * (1 + torch.randn(2000, generator=gen, dtype=dtype) * 1e-6)
    g = torch.cat([torch.stack([b, up, down, torch.zeros((), dtype=dtype)]), near, -near,
                   torch.randn(2000, generator=gen, dtype=dtype) * max(b.item(), 1e-30)])
    g = g[torch.isfinite(g)]
    kept = torch.nn.functional.hardshrink(g, b.item()) != 0
    assert torch.equal(kept, g * g > threshold)
    assert kept.any() and (~kept).any()


def test_mask_bound_by_hand():
    assert mask_bound(0.25, torch.float64) == 0.5  # 0.5 ** 2 = 0.25 is not above 0.25
    assert mask_bound(1e-6, torch.float64) == 1e-3
    assert mask_bound(float("inf"), torch.float32) == float("inf")  # everything is masked
    # float32: squares below half the smallest subnormal (2**-150) round to 0, so are not above 0
    assert mask_bound(0.0, torch.float32) == pytest.approx(2.0 ** -75, rel=1e-6)


def test_all_finite():
    assert bool(all_finite([torch.ones(3), torch.full((4,), 3e38)]))  # its sum overflows; g * 0 does not
    assert bool(all_finite([torch.tensor([6e4, -6e4], dtype=torch.float16)]))
    for bad in (float("nan"), float("inf"), float("-inf")):
        assert not bool(all_finite([torch.ones(3), torch.tensor([1.0, bad])]))
        assert not bool(all_finite([torch.tensor([bad], dtype=torch.bfloat16)]))
    assert bool(all_finite([]))


def test_the_fused_update_with_ok_false_changes_nothing():
    w, s = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([0.0, 3.0, 1.0])
    w0, s0 = w.clone(), s.clone()
    g = torch.tensor([0.5, float("nan"), -1.0])
    classp_update_fused([w], [g], [s], torch.tensor(0.1), threshold=0.0, power=1.0, eps=0.0, decay=True,
                        accumulate="updated", ok=all_finite([g]))
    assert torch.equal(w, w0) and torch.equal(s, s0)
