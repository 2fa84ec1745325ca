"""CLASSP as a torch optimizer: complex parameters, atomic steps, and torch's options
(``maximize``, ``foreach``, ``check_finite``, ``compile``) kept by copies and state dicts."""
import copy
import io
import pickle

import numpy as np
import pytest
import torch

import classp.optim.classp as classp_module
from classp import CLASSP, NonFiniteGradientError

OPTIONS = dict(maximize=True, foreach=True, check_finite=False, compile=False)


def test_complex_parameters_are_updated_through_their_real_views():
    # real view: w = [[1, 2], [-1, 0.5]], g = [[0.5, -0.05], [0, 0.3]]; lr 0.1, tau 0.01, p 1, eps 0
    # mask: 0.25 > 0.01 yes, 0.0025 no, 0 no, 0.09 yes; S = [0.5, 0, 0, 0.3]
    # w = [1 - 0.1*0.5/0.5, 2, -1, 0.5 - 0.1*0.3/0.3] = [0.9, 2, -1, 0.4]
    w = torch.nn.Parameter(torch.tensor([1 + 2j, -1 + 0.5j], dtype=torch.complex128))
    for foreach in (False, True):
        p = torch.nn.Parameter(w.detach().clone())
        opt = CLASSP([p], lr=0.1, threshold=0.01, power=1, eps=0.0, **({"foreach": True} if foreach else {}))
        p.grad = torch.tensor([0.5 - 0.05j, 0.3j], dtype=torch.complex128)
        opt.step()
        assert torch.view_as_real(p.detach()).flatten().tolist() == pytest.approx([0.9, 2.0, -1.0, 0.4], abs=1e-12)
        s = opt.state[p]["grad_sum"]
        assert s.dtype == torch.complex128
        assert torch.view_as_real(s).flatten().tolist() == pytest.approx([0.5, 0.0, 0.0, 0.3], abs=1e-12)


def _bits(t):
    """The tensor's bytes, comparable for every dtype (torch.equal has no complex32 kernel)."""
    return t.detach().reshape(-1).view(torch.uint8).clone()


def _snapshot(params, opt):
    return ([_bits(p) for p in params],
            {id(p): {k: v.clone() for k, v in st.items()} for p, st in opt.state.items()})


def _assert_unchanged(params, opt, snap):
    ws, states = snap
    for p, w in zip(params, ws):
        assert torch.equal(_bits(p), w)
    assert {id(p) for p in opt.state} == set(states)
    for p, st in opt.state.items():
        assert st.keys() == states[id(p)].keys()
        for k, v in st.items():
            assert torch.equal(v, states[id(p)][k]), k


def _refused_setup(kind):
    """A float32 parameter stepped twice (group 0), then a parameter that makes the next step refused."""
    a = torch.nn.Parameter(torch.ones(3))
    if kind == "dtype":
        b = torch.nn.Parameter(torch.zeros(2, dtype=torch.complex32))
        bad_grad = torch.ones(2, dtype=torch.complex32)
    elif kind == "sparse":
        b = torch.nn.Parameter(torch.zeros(4, 2))
        bad_grad = torch.sparse_coo_tensor([[1]], [[1.0, 1.0]], (4, 2))
    else:  # "nonfinite" and "state": a float32 parameter that already has state
        b = torch.nn.Parameter(torch.zeros(2))
        bad_grad = torch.tensor([1.0, float("nan")]) if kind == "nonfinite" else torch.ones(2)
    opt = CLASSP([{"params": [a]}, {"params": [b], "lr": 0.1}], threshold=0.0)
    for _ in range(2):
        a.grad = torch.full((3,), 0.5)
        if kind in ("nonfinite", "state"):
            b.grad = torch.ones(2)
        opt.step()
    if kind == "state":
        opt.state[b]["grad_sum"] = torch.zeros(5)  # e.g. the state dict of another model
    a.grad = torch.full((3,), 0.5)
    b.grad = bad_grad
    return [a, b], opt


@pytest.mark.filterwarnings("ignore:ComplexHalf support is experimental", "ignore:Sparse invariant checks")
@pytest.mark.parametrize("kind, error, match", [
    ("dtype", TypeError, "got torch.complex32 .group 1, parameter 0"),
    ("sparse", RuntimeError, "sparse gradients .group 1, parameter 0"),
    ("nonfinite", NonFiniteGradientError, "group 1 parameter 0"),
    ("state", RuntimeError, "does not fit its parameter: grad_sum has shape .5,."),
])
def test_a_refused_step_changes_nothing(kind, error, match):
    params, opt = _refused_setup(kind)
    snap = _snapshot(params, opt)
    with pytest.raises(error, match=match):
        opt.step()
    _assert_unchanged(params, opt, snap)  # parameters, accumulators, step counters


def test_maximize_is_minimizing_the_negated_gradient():
    a, b = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(3))
    up = CLASSP([a], lr=0.1, threshold=0.01, maximize=True)
    down = CLASSP([b], lr=0.1, threshold=0.01)
    for g in ([0.5, -0.05, 0.2], [0.3, 0.3, -0.01]):
        a.grad, b.grad = torch.tensor(g), -torch.tensor(g)
        up.step()
        down.step()
    assert torch.equal(a, b)
    assert a[0].item() > 0  # uphill
    assert torch.equal(up.state[a]["grad_sum"], down.state[b]["grad_sum"])


def test_check_finite_can_be_turned_off():
    p = torch.nn.Parameter(torch.zeros(2))
    opt = CLASSP([p], check_finite=False)
    p.grad = torch.tensor([float("nan"), 1.0])
    opt.step()  # not refused: the caller checks elsewhere
    assert opt.state[p]["step"].item() == 1


def test_foreach_none_chooses_like_torch(monkeypatch):
    """On the CPU torch's optimizers default to the single-tensor path; so does CLASSP(foreach=None)."""
    calls = []
    monkeypatch.setattr(classp_module, "classp_update_foreach", lambda *a, **k: calls.append("foreach"))
    p = torch.nn.Parameter(torch.zeros(2))
    for foreach, expected in ((None, []), (False, []), (True, ["foreach"])):
        calls.clear()
        opt = CLASSP([p], foreach=foreach)
        p.grad = torch.ones(2)
        opt.step()
        assert calls == expected, foreach


@pytest.mark.parametrize("clone", [copy.deepcopy, lambda o: pickle.loads(pickle.dumps(o))], ids=["deepcopy", "pickle"])
def test_options_survive_copies_and_state_dicts(clone):
    p = torch.nn.Parameter(torch.zeros(2))
    opt = CLASSP([p], **OPTIONS)
    for key, value in OPTIONS.items():
        assert opt.defaults[key] == value and opt.param_groups[0][key] == value
    twin = clone(opt)
    for key, value in OPTIONS.items():
        assert twin.defaults[key] == value and twin.param_groups[0][key] == value
    buffer = io.BytesIO()
    torch.save(opt.state_dict(), buffer)
    buffer.seek(0)
    fresh = CLASSP([torch.nn.Parameter(torch.zeros(2))])
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    for key, value in OPTIONS.items():
        assert fresh.param_groups[0][key] == value


@pytest.mark.parametrize("name, value, message", [
    ("maximize", 1, "maximize must be True or False; got 1"),
    ("check_finite", None, "check_finite must be True or False; got None"),
    ("compile", "yes", "compile must be True or False; got 'yes'"),
    ("foreach", 0, "foreach must be one of None, True, False; got 0"),
])
def test_invalid_options(name, value, message):
    with pytest.raises(ValueError, match=message):
        CLASSP([torch.nn.Parameter(torch.zeros(2))], **{name: value})


def test_numpy_numbers_are_accepted_as_torch_does():
    p = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    opt = CLASSP([p], lr=np.float32(0.5), threshold=np.int64(0), power=np.float64(1.0), eps=np.float32(0))
    p.grad = torch.tensor([2.0, -1.0], dtype=torch.float64)
    opt.step()
    assert p.tolist() == [-0.5, 0.5]  # first step with p = 1, eps = 0: -lr * sign(g)


@pytest.mark.slow
def test_compiled_path_follows_single_tensor_and_a_scheduler_does_not_recompile():
    """compile=True: the learning rate is a tensor input of the compiled graph, so 5 scheduler steps
    after the first compile raise no recompilation (``error_on_recompile``)."""
    import torch._dynamo

    finals = []
    for compiled in (False, True):
        torch.manual_seed(3)
        model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4))
        opt = CLASSP(model.parameters(), lr=0.05, threshold=1e-4, maximize=True, compile=compiled)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        gen = torch.Generator().manual_seed(0)
        for i in range(6):
            with torch._dynamo.config.patch(error_on_recompile=compiled and i > 0):
                opt.zero_grad()
                model(torch.randn(16, 6, generator=gen)).pow(2).mean().backward()
                opt.step()
                sched.step()
        finals.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05 / 2 ** 6)
    torch.testing.assert_close(finals[1], finals[0], rtol=1e-5, atol=1e-6)
    assert "_compiled_update" not in copy.deepcopy(opt).__dict__  # the compiled function is the instance's


@pytest.mark.slow
def test_a_refused_compiled_step_changes_nothing():
    """compile=True checks finiteness inside the compiled step, over all compiled groups at once: a NaN
    in the second compiled group leaves the first one, the eager group, the step counters and the
    states made for this step as they were."""
    a, b, c = (torch.nn.Parameter(torch.ones(3) * k) for k in (1.0, 2.0, 3.0))
    fresh = torch.nn.Parameter(torch.ones(2))
    opt = CLASSP([{"params": [a], "compile": True}, {"params": [b, fresh], "compile": True},
                  {"params": [c], "foreach": True}], threshold=0.0)
    for p in (a, b, c):
        p.grad = torch.full((3,), 0.5)
    opt.step()  # compiles; fresh has no gradient yet
    params = [a, b, c, fresh]
    for p in params:
        p.grad = torch.full(p.shape, 0.25)
    b.grad[1] = float("nan")
    snap = _snapshot(params, opt)
    with pytest.raises(NonFiniteGradientError, match="group 1 parameter 0 .shape .3,..: 1 non-finite"):
        opt.step()
    _assert_unchanged(params, opt, snap)  # fresh got no state either
    b.grad[1] = 0.25
    opt.step()
    assert [opt.state[p]["step"].item() for p in params] == [2.0, 2.0, 2.0, 1.0]
    # every weight has seen 0.5 then 0.25 (p = 1, eps ~ 0): w = w0 - lr (1 + 0.25 / 0.75)
    for p, w0 in zip((a, b, c), (1.0, 2.0, 3.0)):
        assert p.tolist() == pytest.approx([w0 - 0.03 * (1 + 1 / 3)] * 3, rel=1e-6)


@pytest.mark.slow
def test_the_compiled_step_is_called_directly_only_for_inputs_like_those_it_was_compiled_for():
    """CompiledStep calls Inductor's function itself while the inputs match the compiled ones (same
    results as torch.compile), and goes through torch.compile (recompiling) for anything else."""
    from classp.optim._compiled import CompiledStep

    traces = []

    def step(groups):
        traces.append(1)  # runs only when Dynamo traces
        for ws, gs, ss, lr, hp, check in groups:
            for w, g, s in zip(ws, gs, ss):
                s.add_(g * g)
                w.sub_(lr * hp["scale"] * g)
        return None

    fn = CompiledStep(step)
    lr = torch.tensor(0.5)

    def run(w, g, scale=1.0):
        s = torch.zeros_like(w)
        fn([([w], [g], [s], lr, {"scale": scale}, False)])
        return w, s

    w, s = run(torch.ones(3), torch.tensor([1.0, 2.0, 3.0]))
    assert w.tolist() == [0.5, 0.0, -0.5] and s.tolist() == [1.0, 4.0, 9.0] and len(traces) == 1
    assert fn._direct is not None
    w, s = run(torch.ones(3), torch.tensor([2.0, 0.0, -2.0]))  # direct
    assert w.tolist() == [0.0, 1.0, 2.0] and s.tolist() == [4.0, 0.0, 4.0] and len(traces) == 1
    w, s = run(torch.ones(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64))  # another graph
    assert w.tolist() == [0.5] * 4 and w.dtype == torch.float64 and len(traces) == 2
    w, s = run(torch.ones(3), torch.ones(3), scale=2.0)  # another constant
    assert w.tolist() == [0.0] * 3 and len(traces) == 3
    g = torch.ones(3)
    w, s = run(g, g)  # the same tensor twice: never the direct call
    assert fn._key([([g], [g], [s], lr, {}, False)], [g, g, s, lr]) is None
    assert w.tolist() == [0.5] * 3
