"""classp.lab.methods: the registry, its defaults, what each factory builds, and the Learner's hooks."""
import numpy as np
import pytest
import torch
from torch import nn

import classp.optim
from classp import CLASSP, ReferenceCLASSP
from classp.lab.methods import MAIN_METHODS, Learner, get_method, list_methods, state_bytes
from classp.lab.regularisers import EWC, MAS, SI

ALL = ["sgd", "adam", "adagrad", "ewc", "classp", "classp-no-threshold", "classp-no-decay", "reference", "joint",
       "si", "mas", "sgd-decay"]


def test_registry_names_and_documentation():
    assert list_methods() == ALL
    assert set(MAIN_METHODS) <= set(ALL)
    for name in ALL:
        m = get_method(name)
        assert m.name == name
        assert len(m.description) > 40
        assert m.defaults["lr"] > 0
    assert get_method("joint").joint and not get_method("sgd").joint


def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown method 'sgdd'; valid methods: sgd, adam, adagrad, ewc, classp"):
        get_method("sgdd")


def test_resolve_merges_defaults_and_checks_options():
    m = get_method("ewc")
    lr, opts = m.resolve(options={"lam": 5.0})
    assert lr == m.defaults["lr"] and opts["lam"] == 5.0 and opts["mode"] == "separate"
    assert m.resolve(lr=0.5)[0] == 0.5
    with pytest.raises(ValueError, match="method 'sgd' does not accept option.*'lam'.*accepted options: momentum"):
        get_method("sgd").resolve(options={"lam": 1.0})
    with pytest.raises(ValueError, match=r"^lr must be a number > 0; got 0.0$"):
        get_method("sgd").resolve(lr=0.0)
    with pytest.raises(ValueError, match=r"^lr must be a number > 0; got True$"):
        get_method("sgd").resolve(lr=True)
    with pytest.raises(ValueError, match=r"^lr must be a number > 0; got '0.1'$"):
        get_method("sgd").resolve(lr="0.1")
    # numpy and 0-d tensor learning rates are numbers, returned as float
    for lr in (np.float32(0.5), np.int64(2), torch.tensor(0.25)):
        value, _ = get_method("sgd").resolve(lr=lr)
        assert type(value) is float and value == float(lr)


def _model():
    torch.manual_seed(0)
    return nn.Linear(3, 2)


def test_factories_build_the_documented_optimizers():
    assert isinstance(get_method("sgd").make(_model()).optimizer, torch.optim.SGD)
    assert isinstance(get_method("adam").make(_model()).optimizer, torch.optim.Adam)
    assert isinstance(get_method("adagrad").make(_model()).optimizer, torch.optim.Adagrad)
    ewc = get_method("ewc").make(_model(), options={"lam": 7.0, "mode": "online", "gamma": 0.5})
    assert isinstance(ewc.optimizer, torch.optim.SGD) and isinstance(ewc.regulariser, EWC)
    assert (ewc.regulariser.lam, ewc.regulariser.mode, ewc.regulariser.gamma) == (7.0, "online", 0.5)
    c = get_method("classp").make(_model(), options={"threshold": 1e-4, "power": 2.0}).optimizer
    assert isinstance(c, CLASSP)
    g = c.param_groups[0]
    assert (g["threshold"], g["power"], g["decay"]) == (1e-4, 2.0, True)
    g = get_method("classp-no-threshold").make(_model()).optimizer.param_groups[0]
    assert g["threshold"] == 0.0 and g["decay"] is True
    g = get_method("classp-no-decay").make(_model()).optimizer.param_groups[0]
    assert g["decay"] is False and g["threshold"] == get_method("classp").defaults["threshold"]
    ref = get_method("reference").make(_model()).optimizer
    assert isinstance(ref, ReferenceCLASSP) and ref.param_groups[0]["lr"] == 0.2
    assert isinstance(get_method("joint").make(_model()).optimizer, torch.optim.SGD)
    assert isinstance(get_method("joint").make(_model(), options={"optimizer": "adam"}).optimizer, torch.optim.Adam)
    with pytest.raises(ValueError, match=r"^optimizer must be one of 'sgd', 'adam'; got 'rmsprop'$"):
        get_method("joint").make(_model(), options={"optimizer": "rmsprop"})
    si = get_method("si").make(_model(), options={"c": 0.5, "xi": 1e-3})
    assert isinstance(si.optimizer, torch.optim.SGD) and isinstance(si.regulariser, SI)
    assert (si.regulariser.c, si.regulariser.xi) == (0.5, 1e-3)
    mas = get_method("mas").make(_model(), options={"lam": 2.0, "samples": 10})
    assert isinstance(mas.optimizer, torch.optim.SGD) and isinstance(mas.regulariser, MAS)
    assert (mas.regulariser.lam, mas.regulariser.samples) == (2.0, 10)
    decay = get_method("sgd-decay").make(_model())
    assert isinstance(decay.optimizer, torch.optim.SGD) and decay.regulariser is None
    assert isinstance(decay.scheduler, torch.optim.lr_scheduler.LambdaLR)


def test_baselines_are_documented_as_not_tuned_and_main_methods_are_unchanged():
    assert MAIN_METHODS == ("sgd", "adam", "adagrad", "ewc", "classp", "joint")
    for name in ("si", "mas", "sgd-decay"):
        assert "NOT tuned" in get_method(name).description
        assert get_method(name).defaults["lr"] == get_method("sgd").defaults["lr"]
        assert get_method(name).resolve(sequence="sentiment")[0] == get_method("sgd").resolve(sequence="sentiment")[0]
    assert get_method("adam").resolve(sequence="sentiment")[0] == 3e-3


@pytest.mark.parametrize("options, message", [
    ({"t0": 0.0}, r"^t0 must be a number > 0; got 0.0$"),
    ({"t0": -5}, r"^t0 must be a number > 0; got -5$"),
])
def test_sgd_decay_refuses_a_bad_t0(options, message):
    with pytest.raises(ValueError, match=message):
        get_method("sgd-decay").make(_model(), options=options)


def test_sgd_decay_lowers_the_global_rate_per_step_and_resumes_exactly():
    m = _model()
    learner = get_method("sgd-decay").make(m, lr=0.4, options={"t0": 2.0})
    w = [m.weight.detach().clone()]
    for _ in range(3):
        m.weight.grad, m.bias.grad = torch.ones_like(m.weight), torch.zeros_like(m.bias)
        learner.step()
        w.append(m.weight.detach().clone())
    # step t (0, 1, 2) uses lr / sqrt(1 + t / t0)
    for t in range(3):
        torch.testing.assert_close(w[t] - w[t + 1], torch.full_like(w[0], 0.4 / np.sqrt(1 + t / 2.0)))
    state = learner.state_dict()
    fresh = get_method("sgd-decay").make(m, lr=0.4, options={"t0": 2.0})
    fresh.load_state_dict(state)
    assert fresh.optimizer.param_groups[0]["lr"] == pytest.approx(0.4 / np.sqrt(1 + 3 / 2.0))
    m.weight.grad, m.bias.grad = torch.ones_like(m.weight), torch.zeros_like(m.bias)
    fresh.step()
    assert fresh.scheduler.last_epoch == learner.scheduler.last_epoch + 1 == 4
    assert fresh.optimizer.param_groups[0]["lr"] == pytest.approx(0.4 / np.sqrt(1 + 4 / 2.0))


def test_reference_schedule_is_sgd_on_the_first_task_then_scaled():
    m = _model()
    learner = get_method("reference").make(m, lr=0.2)
    learner.begin_task(0)
    assert learner.step_kwargs == {"apply_scaling": False, "lr": 0.2}
    w0 = m.weight.detach().clone()
    m.weight.grad = torch.full_like(m.weight, 0.25)
    m.bias.grad = torch.zeros_like(m.bias)
    learner.step()
    # plain SGD: w - lr * g, while grad_sum accumulates |g|
    torch.testing.assert_close(m.weight.detach(), w0 - 0.2 * 0.25)
    torch.testing.assert_close(learner.optimizer.state[m.weight]["grad_sum"], torch.full_like(w0, 0.25))
    learner.begin_task(1)
    assert learner.step_kwargs == {"threshold": 0, "apply_scaling": True, "lr": 0.2}
    w1 = m.weight.detach().clone()
    learner.step()
    # scaled: lr * g / (S + eps) with S = 0.5 after the second accumulation
    torch.testing.assert_close(m.weight.detach(), w1 - 0.2 * 0.25 / (0.5 + 1e-5))


def test_state_bytes_is_the_optimizer_rooms_one_function():
    assert state_bytes is classp.optim.state_bytes
    m = _model()
    m(torch.ones(1, 3)).sum().backward()
    for opt in (CLASSP(m.parameters()), ReferenceCLASSP(m.parameters())):
        opt.step()
        n = state_bytes(opt)
        assert n > 0 and opt.state_bytes() == n
    assert state_bytes(torch.optim.SGD(m.parameters(), lr=0.1)) == 0


def test_state_bytes_counts_optimizer_tensors_and_ewc():
    m = _model()  # 3*2 + 2 = 8 parameters in two tensors
    learner = get_method("adam").make(m)
    m(torch.ones(1, 3)).sum().backward()
    learner.step()
    # exp_avg and exp_avg_sq (8 floats each) + one float32 step counter per tensor
    assert state_bytes(learner.optimizer) == 2 * 8 * 4 + 2 * 4
    ewc = get_method("ewc").make(m)
    assert ewc.state_bytes() == 0
    ewc.end_task(0, torch.ones(4, 3), torch.tensor([0, 1, 0, 1]))
    assert ewc.state_bytes() == 2 * 8 * 4  # Fisher + anchor
    si = get_method("si").make(m)
    assert si.state_bytes() == 3 * 8 * 4  # running omega, weights after the last step, weights at the start
    si.end_task(0, torch.ones(4, 3), torch.tensor([0, 1, 0, 1]))
    assert si.state_bytes() == 4 * 8 * 4  # Omega + anchor + omega + weights after the last step


def test_per_sequence_defaults_and_overrides():
    m = get_method("classp")
    lr, opts = m.resolve(sequence="sentiment")
    assert (lr, opts["threshold"]) == (0.3, 1e-8)
    lr, opts = m.resolve(sequence="split-digits")
    assert (lr, opts["threshold"]) == (m.defaults["lr"], m.defaults["threshold"])
    lr, opts = m.resolve(lr=0.05, options={"threshold": 1e-4}, sequence="sentiment")
    assert (lr, opts["threshold"]) == (0.05, 1e-4)  # arguments win over per-sequence defaults


class Recorder:
    """A fake regulariser that records the hooks the Learner calls, in order."""

    def __init__(self, model):
        self.model, self.events = model, []

    def penalty(self):
        self.events.append("penalty")
        return None if "consolidate" not in self.events else 3.0 * self.model.weight.sum()

    def after_step(self):
        self.events.append(("after_step", float(self.model.weight.detach()[0, 0])))

    def consolidate(self, x, y, classes=None, generator=None):
        self.events.append("consolidate")
        self.seen = (x, y, classes, generator)

    def state_bytes(self):
        return 7

    def state_dict(self):
        return {"events": len(self.events)}

    def load_state_dict(self, state):
        self.loaded = state


def test_learner_calls_the_regulariser_hooks():
    m = _model()
    reg = Recorder(m)
    learner = Learner(torch.optim.SGD(m.parameters(), lr=0.5), reg)
    assert learner.penalty() is None  # nothing consolidated: the Learner passes the None through
    w0 = float(m.weight.detach()[0, 0])
    m.weight.grad, m.bias.grad = torch.ones_like(m.weight), torch.zeros_like(m.bias)
    learner.step()
    # after_step runs after the optimizer step: it sees the updated weight
    assert reg.events[-1] == ("after_step", pytest.approx(w0 - 0.5))
    x, y, gen = torch.ones(2, 3), torch.tensor([0, 1]), torch.Generator()
    learner.end_task(0, x, y, classes=[0, 1], generator=gen)
    assert reg.seen[0] is x and reg.seen[1] is y and reg.seen[2] == [0, 1] and reg.seen[3] is gen
    pen = learner.penalty()
    assert float(pen.detach()) == pytest.approx(3.0 * float(m.weight.detach().sum()))
    assert learner.state_bytes() == state_bytes(learner.optimizer) + 7
    learner.load_state_dict(learner.state_dict())
    assert reg.loaded == {"events": len(reg.events)}
    assert [e if isinstance(e, str) else e[0] for e in reg.events] == ["penalty", "after_step", "consolidate",
                                                                       "penalty"]


def test_learner_refuses_an_object_that_is_not_a_regulariser():
    class NoHook(Recorder):
        after_step = None

    with pytest.raises(ValueError, match="Regulariser protocol.*NoHook lacks after_step"):
        Learner(torch.optim.SGD(_model().parameters(), lr=0.1), NoHook(_model()))
    with pytest.raises(ValueError, match="lacks penalty, after_step, consolidate"):
        Learner(torch.optim.SGD(_model().parameters(), lr=0.1), object())
