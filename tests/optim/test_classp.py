"""The specification of classp.CLASSP: every rule of the update checked against hand computations.

The expected values are worked out by hand (in plain Python floats, element by element) from the
rule in the issue and the docstring, never by calling the code under test.
"""
import copy
import math

import pytest
import torch

from classp import CLASSP, NonFiniteGradientError

torch.set_default_dtype(torch.float32)


def _set_grad(p, values):
    p.grad = torch.tensor(values, dtype=p.dtype).reshape(p.shape)


def _hand_rule(ws, grads, *, lr, threshold, power, eps, decay=True, accumulate="updated"):
    """The rule in plain Python for a list of weights and a sequence of gradient lists."""
    ws = [float(w) for w in ws]
    s = [0.0] * len(ws)
    history = []
    for g in grads:
        for i, gi in enumerate(g):
            m = gi * gi > threshold
            if accumulate == "always" or m:
                s[i] += abs(gi) ** power
            if m:
                step = lr * gi / (eps + s[i]) ** (1.0 / power) if decay else lr * gi
                ws[i] -= step
        history.append((list(ws), list(s)))
    return history


def _run(ws, grads, dtype=torch.float64, **hp):
    w = torch.nn.Parameter(torch.tensor(ws, dtype=dtype))
    opt = CLASSP([w], **hp)
    out = []
    for g in grads:
        _set_grad(w, g)
        opt.step()
        out.append((w.detach().clone(), opt.state[w]["grad_sum"].clone()))
    return out


GRADS = [[0.5, -0.02, 0.0, 1.5], [0.3, 0.4, -0.001, -2.0], [-0.7, 0.05, 0.9, 0.2]]
W0 = [1.0, -1.0, 0.5, 0.0]


def test_first_step_by_hand():
    # lr 0.1, tau 0.01, p 1, eps 0.0: mask = [T, F, F, T];
    # w0: 1 - 0.1*0.5/0.5 = 0.9 ; w3: 0 - 0.1*1.5/1.5 = -0.1 ; S = [0.5, 0, 0, 1.5]
    (w, s), = _run(W0, GRADS[:1], lr=0.1, threshold=0.01, power=1, eps=0.0)
    assert w.tolist() == pytest.approx([0.9, -1.0, 0.5, -0.1], abs=1e-12)
    assert s.tolist() == pytest.approx([0.5, 0.0, 0.0, 1.5], abs=1e-12)


def test_second_step_by_hand_power_two():
    # p 2, eps 1e-2, tau 0.05, lr 0.2.
    # step 1: mask [T, F, F, T]; S = [0.25, 0, 0, 2.25]
    #   w0 = 1 - 0.2*0.5/sqrt(0.26); w3 = -0.2*1.5/sqrt(2.26)
    # step 2: g = [0.3, 0.4, -0.001, -2.0]; mask [T, T, F, T]; S = [0.34, 0.16, 0, 6.25]
    #   w0 -= 0.2*0.3/sqrt(0.35); w1 = -1 - 0.2*0.4/sqrt(0.17); w3 -= 0.2*(-2)/sqrt(6.26)
    res = _run(W0, GRADS[:2], lr=0.2, threshold=0.05, power=2, eps=1e-2)
    w0 = 1 - 0.2 * 0.5 / math.sqrt(0.26) - 0.2 * 0.3 / math.sqrt(0.35)
    w1 = -1 - 0.2 * 0.4 / math.sqrt(0.17)
    w3 = -0.2 * 1.5 / math.sqrt(2.26) + 0.4 / math.sqrt(6.26)
    assert res[1][0].tolist() == pytest.approx([w0, w1, 0.5, w3], abs=1e-12)
    assert res[1][1].tolist() == pytest.approx([0.34, 0.16, 0.0, 6.25], abs=1e-12)


@pytest.mark.parametrize("power", [0.5, 1.0, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("accumulate", ["updated", "always"])
@pytest.mark.parametrize("decay", [True, False])
@pytest.mark.parametrize("threshold", [0.0, 0.01, 0.2])
def test_three_steps_match_the_rule(power, accumulate, decay, threshold):
    hp = dict(lr=0.07, threshold=threshold, power=power, eps=1e-3, decay=decay, accumulate=accumulate)
    got = _run(W0, GRADS, **hp)
    want = _hand_rule(W0, GRADS, **hp)
    for (w, s), (ww, ss) in zip(got, want):
        assert w.tolist() == pytest.approx(ww, abs=1e-12, rel=1e-12)
        assert s.tolist() == pytest.approx(ss, abs=1e-12, rel=1e-12)


def test_threshold_is_strict_and_per_weight():
    # g^2 = [0.25, 0.25 + tiny, 0.01]; tau = 0.25 -> only the middle weight moves
    w = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    opt = CLASSP([w], lr=1.0, threshold=0.25, power=1, eps=0.0)
    _set_grad(w, [0.5, 0.5000001, -0.1])
    opt.step()
    assert w.tolist() == pytest.approx([0.0, -1.0, 0.0], abs=1e-12)
    assert opt.state[w]["grad_sum"].tolist() == pytest.approx([0.0, 0.5000001, 0.0], abs=1e-15)


def test_masked_weights_keep_their_exact_value():
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(1000))
    before = w.detach().clone()
    opt = CLASSP([w], lr=0.05, threshold=0.5)
    w.grad = torch.randn(1000)
    opt.step()
    masked = w.grad.pow(2) <= 0.5
    assert masked.any() and (~masked).any()
    assert torch.equal(w.detach()[masked], before[masked])
    assert (w.detach()[~masked] != before[~masked]).all()


def test_no_step_is_larger_than_lr_with_decay():
    torch.manual_seed(1)
    w = torch.nn.Parameter(torch.zeros(10_000))
    opt = CLASSP([w], lr=0.01, threshold=0.0, power=1, eps=1e-8)
    for _ in range(5):
        before = w.detach().clone()
        w.grad = torch.randn(10_000) * 100
        opt.step()
        assert (w.detach() - before).abs().max() <= 0.01 * (1 + 1e-6)


def test_parameter_without_grad_is_untouched_and_gets_no_state():
    a = torch.nn.Parameter(torch.ones(2))
    b = torch.nn.Parameter(torch.ones(2))
    opt = CLASSP([a, b], lr=0.1, threshold=0.0)
    a.grad = torch.tensor([1.0, 2.0])
    opt.step()
    assert b.tolist() == [1.0, 1.0]
    assert b not in opt.state
    assert a.tolist() == pytest.approx([0.9, 0.9])


def test_param_groups_use_their_own_values():
    a = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    b = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    opt = CLASSP([{"params": [a]}, {"params": [b], "lr": 0.5, "threshold": 0.3, "decay": False}],
                 lr=0.1, threshold=0.0, eps=0.0)
    for p in (a, b):
        _set_grad(p, [0.5, 0.7])
    opt.step()
    # group 0: lr 0.1, p 1, eps 0: w = -0.1 * g/|g| = -0.1 * sign(g)
    assert a.tolist() == pytest.approx([-0.1, -0.1], abs=1e-12)
    # group 1: tau 0.3 masks 0.5 (0.25 <= 0.3); no decay: w = -0.5 * 0.7
    assert b.tolist() == pytest.approx([0.0, -0.35], abs=1e-12)


def test_adagrad_special_case_matches_torch():
    # p = 2, tau = 0, accumulate="always", eps inside the root; torch puts eps outside, so
    # use eps = 0 in both (torch: lr*g/(sqrt(S)+0)). Gradients are never zero here.
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    twin = copy.deepcopy(model)
    ours = CLASSP(model.parameters(), lr=0.1, threshold=0.0, power=2, eps=0.0, accumulate="always")
    ref = torch.optim.Adagrad(twin.parameters(), lr=0.1, eps=0.0)
    x, y = torch.randn(64, 5), torch.randint(0, 3, (64,))
    for i in range(20):
        for m, o in ((model, ours), (twin, ref)):
            o.zero_grad()
            torch.nn.functional.cross_entropy(m(x[i:i + 32]), y[i:i + 32]).backward()
            o.step()
    for p, q in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    for p, q in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(ours.state[p]["grad_sum"], ref.state[q]["sum"], rtol=1e-5, atol=1e-7)


def test_adagrad_with_eps_inside_the_root_by_hand():
    res = _run([0.0], [[2.0], [1.0]], lr=1.0, threshold=0.0, power=2, eps=0.5, accumulate="always")
    assert res[-1][0].item() == pytest.approx(-2 / math.sqrt(4.5) - 1 / math.sqrt(5.5), abs=1e-12)


def _train(model, opt, steps, seed=0):
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.randn(16, 6, generator=g)
        y = torch.randint(0, 4, (16,), generator=g)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def _make_model():
    torch.manual_seed(3)
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4))


def test_resume_from_state_dict_is_bit_for_bit(tmp_path):
    hp = dict(lr=0.05, threshold=1e-4, power=1.5)
    full = _make_model()
    opt = CLASSP(full.parameters(), **hp)
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(16, 6, generator=g), torch.randint(0, 4, (16,), generator=g)) for _ in range(30)]

    def steps(model, o, bs):
        for x, y in bs:
            o.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            o.step()

    steps(full, opt, batches)

    half = _make_model()
    o1 = CLASSP(half.parameters(), **hp)
    steps(half, o1, batches[:13])
    torch.save({"model": half.state_dict(), "opt": o1.state_dict()}, tmp_path / "ck.pt")
    ck = torch.load(tmp_path / "ck.pt", weights_only=True)
    resumed = _make_model()
    resumed.load_state_dict(ck["model"])
    o2 = CLASSP(resumed.parameters(), lr=1.0)  # hyper-parameters come back from the state dict
    o2.load_state_dict(ck["opt"])
    assert o2.param_groups[0]["lr"] == 0.05 and o2.param_groups[0]["power"] == 1.5
    steps(resumed, o2, batches[13:])
    for p, q in zip(full.parameters(), resumed.parameters()):
        assert torch.equal(p, q)
    for p, q in zip(full.parameters(), resumed.parameters()):
        assert torch.equal(opt.state[p]["grad_sum"], o2.state[q]["grad_sum"])


def test_closure_and_zero_grad():
    model = _make_model()
    opt = CLASSP(model.parameters())
    x, y = torch.randn(8, 6), torch.randint(0, 4, (8,))

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert isinstance(loss, torch.Tensor) and loss.ndim == 0
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_state_is_one_float_per_weight():
    model = _make_model()
    opt = CLASSP(model.parameters())
    _train(model, opt, 2)
    n = sum(p.numel() for p in model.parameters())
    assert sum(opt.state[p]["grad_sum"].numel() for p in model.parameters()) == n
    for p in model.parameters():
        assert opt.state[p]["grad_sum"].shape == p.shape and opt.state[p]["grad_sum"].dtype == p.dtype
        assert opt.state[p]["step"].item() == 2
    assert opt.state_bytes() == 4 * n + 4 * len(list(model.parameters()))


@pytest.mark.parametrize("name,value,fragment", [
    ("lr", -0.1, "lr must be a number >= 0"), ("lr", float("nan"), "lr"), ("lr", float("inf"), "lr"),
    ("threshold", -1e-9, "threshold must be a number >= 0"), ("threshold", float("nan"), "threshold"),
    ("power", 0.0, "power must be a number > 0"), ("power", -1.0, "power must be a number > 0"), ("power", float("nan"), "power"),
    ("eps", -1e-8, "eps must be a number >= 0"), ("eps", float("nan"), "eps"),
    ("accumulate", "sometimes", "accumulate"), ("decay", "yes", "decay"), ("lr", "0.1", "lr"),
])
def test_invalid_hyper_parameters_raise_value_error(name, value, fragment):
    w = torch.nn.Parameter(torch.zeros(2))
    with pytest.raises(ValueError, match=fragment) as info:
        CLASSP([w], **{name: value})
    assert name in str(info.value)
    opt = CLASSP([w])
    extra = torch.nn.Parameter(torch.zeros(2))
    with pytest.raises(ValueError, match=fragment):
        opt.add_param_group({"params": [extra], name: value})
    assert len(opt.param_groups) == 1  # nothing was added


def test_sparse_gradient_raises():
    emb = torch.nn.Embedding(10, 3, sparse=True)
    opt = CLASSP(emb.parameters())
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match="sparse"):
        opt.step()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_gradient_changes_nothing(bad):
    model = _make_model()
    opt = CLASSP(model.parameters(), lr=0.05, threshold=0.0)
    _train(model, opt, 3)
    params_before = [p.detach().clone() for p in model.parameters()]
    state_before = copy.deepcopy(opt.state_dict())
    x, y = torch.randn(8, 6), torch.randint(0, 4, (8,))
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    last = list(model.parameters())[-1]
    last.grad[0] = bad  # only the last tensor is bad: the earlier ones must not move either
    with pytest.raises(NonFiniteGradientError, match="non-finite") as info:
        opt.step()
    assert "parameter 3" in str(info.value) and "No parameter" in str(info.value)
    for p, q in zip(model.parameters(), params_before):
        assert torch.equal(p, q)
    after = opt.state_dict()
    for k, st in state_before["state"].items():
        for name, v in st.items():
            assert torch.equal(after["state"][k][name], v)
    # and the run goes on after a good batch
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    assert any(not torch.equal(p, q) for p, q in zip(model.parameters(), params_before))


def test_float32_and_float64_agree():
    got32 = _run(W0, GRADS, dtype=torch.float32, lr=0.07, threshold=0.01, power=1, eps=1e-3)
    got64 = _run(W0, GRADS, dtype=torch.float64, lr=0.07, threshold=0.01, power=1, eps=1e-3)
    assert got32[-1][0].dtype == torch.float32
    torch.testing.assert_close(got32[-1][0].double(), got64[-1][0], rtol=1e-6, atol=1e-6)


def test_zero_eps_never_produces_nan():
    w = torch.nn.Parameter(torch.zeros(3))
    opt = CLASSP([w], lr=0.1, threshold=0.0, eps=0.0, accumulate="always")
    w.grad = torch.tensor([0.0, 1.0, 0.0])
    opt.step()
    assert torch.isfinite(w).all() and w.tolist() == pytest.approx([0.0, -0.1, 0.0])


def test_threshold_changes_the_trajectory():
    """Unlike the released code (see test_reference.py), different thresholds differ here."""
    finals = []
    for tau in (0.0, 1e-4, 1e-2):
        model = _make_model()
        opt = CLASSP(model.parameters(), lr=0.05, threshold=tau)
        _train(model, opt, 10)
        finals.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert not torch.equal(finals[0], finals[1])
    assert not torch.equal(finals[1], finals[2])


# ------------------------------------------------------------------ the compiled path
# (the kernels against each other for every option and dtype: test_functional.py)
@pytest.mark.slow
def test_compile_true_follows_the_eager_trajectory():
    """CLASSP(compile=True) (torch.compile of the fused kernel) matches the default path."""
    finals = []
    for compiled in (False, True):
        model = _make_model()
        opt = CLASSP(model.parameters(), lr=0.05, threshold=1e-4, compile=compiled)
        _train(model, opt, 5)
        finals.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    torch.testing.assert_close(finals[1], finals[0], rtol=1e-5, atol=1e-6)


def test_huge_but_finite_gradients_are_not_refused():
    """The quick finiteness check sums each gradient; a sum that overflows is looked at closely."""
    w = torch.nn.Parameter(torch.zeros(4))
    v = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))  # groups of mixed dtypes
    opt = CLASSP([w, v], lr=0.1, threshold=0.0)
    w.grad = torch.full((4,), 3e38)  # float32: each finite, their sum is inf
    v.grad = torch.tensor([1.0, -1.0], dtype=torch.float64)
    opt.step()
    assert torch.isfinite(w).all() and (w < 0).all()
    assert v.tolist() == pytest.approx([-0.1, 0.1])
