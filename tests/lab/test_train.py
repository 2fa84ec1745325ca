"""classp.lab.train: every method runs and yields a consistent Result; determinism; exact resume;
the regulariser hooks; compare and its option routing."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from classp.data import Task, TaskSequence
from classp.lab import train
from classp.lab.methods import Learner, Method, get_method, list_methods
from classp.lab.results import Result
from classp.lab.tables import summarize
from classp.lab.train import compare, evaluate, route_options, run


@pytest.fixture(autouse=True)
def one_thread():
    """The book's models are tiny: one thread is fastest and avoids oversubscribing 2 cores."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


class Constant(nn.Module):
    """Ignores its input; always the same logits."""

    def __init__(self, logits):
        super().__init__()
        self.logits = nn.Parameter(torch.tensor(logits))

    def forward(self, x):
        return self.logits.expand(len(x), -1)


def _toy(scenario):
    x = torch.zeros(4, 3)
    t0 = Task("a", x, torch.tensor([0, 1, 0, 1]), x, torch.tensor([1, 1, 0, 0]), (0, 1))
    t1 = Task("b", x, torch.tensor([2, 2, 2, 2]), x, torch.tensor([2, 2, 2, 1]), (2,))
    return TaskSequence("toy", [t0, t1], n_outputs=3, input_shape=(3,), scenario=scenario)


def test_evaluate_masks_logits_in_the_task_scenario():
    model = Constant([0.0, 1.0, 5.0])  # unmasked it always predicts class 2
    # task scenario: task a predicts 1 among (0, 1) -> 2 of 4 right; task b predicts 2 -> 3 of 4
    np.testing.assert_array_equal(evaluate(model, _toy("task")), [0.5, 0.75])
    # shared head: class 2 everywhere -> task a 0 of 4, task b 3 of 4
    np.testing.assert_array_equal(evaluate(model, _toy("domain")), [0.0, 0.75])


def test_loss_masks_logits_in_the_task_scenario():
    # with the mask, task b (one class) has loss exactly 0 and no gradient
    r = run("sgd", _toy("task"), model=Constant([0.0, 1.0, 5.0]), batch_size=4, progress=False)
    assert r.losses[1] == 0.0 and r.density[1] == 0.0
    # task a: CE of logits (0, 1) for labels 0, 1, 0, 1 = mean(log(1+e), log(1+e^-1))
    expected = 0.5 * (math.log(1 + math.e) + math.log(1 + math.exp(-1)))
    assert r.losses[0] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("method", list_methods())
def test_every_method_gives_a_valid_result(method):
    r = run(method, "split-digits", seed=0, progress=False)
    T = 5
    assert isinstance(r, Result) and r.method == method and r.n_tasks == T
    assert r.accuracy_matrix.shape == (T, T) and r.initial_accuracy.shape == (T,)
    assert np.all((r.accuracy_matrix >= 0) & (r.accuracy_matrix <= 1))
    assert r.task_names == ["digits 0/1", "digits 2/3", "digits 4/5", "digits 6/7", "digits 8/9"]
    sizes = [252, 252, 254, 252, 248]
    stage = [sum(sizes[: i + 1]) for i in range(T)] if method == "joint" else sizes
    steps = [math.ceil(n / 32) for n in stage]
    assert r.n_steps == len(r.losses) == len(r.density) == sum(steps)
    assert r.task_boundaries == list(np.cumsum([0] + steps[:-1]))
    assert np.all(np.isfinite(r.losses)) and np.all((r.density >= 0) & (r.density <= 1))
    # the accuracy curve holds the initial accuracy and one row per task
    np.testing.assert_array_equal(r.eval_steps, [0] + list(np.cumsum(steps)))
    np.testing.assert_array_equal(r.accuracy_curve[0], r.initial_accuracy)
    np.testing.assert_array_equal(r.accuracy_curve[1:], r.accuracy_matrix)
    # update counts and last_changed come from the same comparison as the density
    assert r.n_params == 17610 and len(r.update_counts) == T and r.last_changed.shape == (r.n_params,)
    bounds = r.task_boundaries + [r.n_steps]
    for i in range(T):
        assert r.update_counts[i].sum() == round(r.density[bounds[i] : bounds[i + 1]].sum() * r.n_params)
    counts = np.stack(r.update_counts)
    expected_last = np.where(counts.any(0), T - 1 - np.argmax(counts[::-1] > 0, axis=0), -1)
    np.testing.assert_array_equal(r.last_changed, expected_last)
    assert r.wall_s > 0
    assert set(r.metrics()) == {"average_accuracy", "backward_transfer", "forgetting", "forward_transfer", "mean_density"}


def test_state_bytes_by_hand():
    n, tensors = 17610, 6  # the MLP 64-100-100-10: three weights and three biases
    assert run("sgd", progress=False).state_bytes == 0
    assert run("adam", progress=False).state_bytes == 2 * 4 * n + 4 * tensors
    assert run("adagrad", progress=False).state_bytes == 4 * n + 4 * tensors
    assert run("classp", progress=False).state_bytes == 4 * n + 4 * tensors
    # separate EWC: one (Fisher, anchor) pair per task; online: one pair
    assert run("ewc", progress=False).state_bytes == 5 * 2 * 4 * n
    assert run("ewc", options={"mode": "online"}, progress=False).state_bytes == 2 * 4 * n
    # SI: importance, anchor, running omega, weights after the last step; MAS: importance and anchor
    assert run("si", progress=False).state_bytes == 4 * 4 * n
    assert run("mas", progress=False).state_bytes == 2 * 4 * n
    assert run("sgd-decay", progress=False).state_bytes == 0  # the scheduler holds no tensors


def test_classp_updates_fewer_weights_than_sgd():
    assert run("classp", progress=False).metrics()["mean_density"] < run("sgd", progress=False).metrics()["mean_density"]
    assert run("classp-no-threshold", progress=False).metrics()["mean_density"] > \
        run("classp", progress=False).metrics()["mean_density"]


def test_deterministic_for_a_seed_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    a = run("classp", seed=1, model="cnn", progress=False)  # dropout uses the RNG
    assert torch.equal(torch.rand(3), expected_next)
    b = run("classp", seed=1, model="cnn", progress=False)
    np.testing.assert_array_equal(a.accuracy_matrix, b.accuracy_matrix)
    np.testing.assert_array_equal(a.losses, b.losses)
    np.testing.assert_array_equal(a.last_changed, b.last_changed)
    c = run("classp", seed=2, model="cnn", progress=False)
    assert not np.array_equal(a.losses, c.losses)


def test_eval_every_and_epochs_per_task():
    r = run("sgd", epochs=[2, 1, 1, 1, 1], eval_every=5, progress=False)
    assert r.n_steps == 16 + 8 + 8 + 8 + 8
    assert list(r.eval_steps[:5]) == [0, 5, 10, 15, 16]
    assert r.accuracy_curve.shape == (len(r.eval_steps), 5)


class Stop(Exception):
    pass


def _stopper(at):
    def callback(info):
        if info["step"] == at:
            raise Stop

    return callback


@pytest.mark.parametrize("method, kwargs", [
    ("ewc", {"checkpoint_every": 5}),                                # mid-task, with the regulariser
    ("si", {"checkpoint_every": 5}),                                 # mid-task, with SI's running omega
    ("mas", {}),                                                     # at a task boundary
    ("sgd-decay", {"checkpoint_every": 5}),                          # mid-task, with the lr scheduler
    ("reference", {}),                                               # at a task boundary, with the schedule
    ("classp", {"checkpoint_every": 3, "model": "cnn", "epochs": 2}),  # mid-epoch, dropout RNG
    ("joint", {"checkpoint_every": 7}),
])
def test_resume_gives_exactly_the_uninterrupted_result(tmp_path, method, kwargs):
    every = kwargs.pop("checkpoint_every", None)
    full = run(method, seed=3, progress=False, **kwargs)
    kwargs["checkpoint_every"] = every
    ckpt = tmp_path / "run.pt"
    with pytest.raises(Stop):
        run(method, seed=3, progress=False, checkpoint=ckpt, callback=_stopper(13), **kwargs)
    assert ckpt.exists()
    state = torch.load(ckpt, weights_only=True)
    assert 0 < state["progress"]["step"] <= 13
    resumed = run(method, seed=3, progress=False, checkpoint=ckpt, resume=True, **kwargs)
    np.testing.assert_array_equal(resumed.accuracy_matrix, full.accuracy_matrix)
    np.testing.assert_array_equal(resumed.initial_accuracy, full.initial_accuracy)
    np.testing.assert_array_equal(resumed.losses, full.losses)
    np.testing.assert_array_equal(resumed.density, full.density)
    for u, v in zip(resumed.update_counts, full.update_counts):
        np.testing.assert_array_equal(u, v)
    np.testing.assert_array_equal(resumed.last_changed, full.last_changed)
    assert resumed.task_boundaries == full.task_boundaries
    assert resumed.state_bytes == full.state_bytes
    # a finished checkpoint returns its result without training again
    calls = []
    again = run(method, seed=3, progress=False, checkpoint=ckpt, resume=True, callback=calls.append, **kwargs)
    assert calls == []
    np.testing.assert_array_equal(again.losses, full.losses)


def test_resume_refuses_other_settings(tmp_path):
    ckpt = tmp_path / "run.pt"
    run("sgd", seed=0, progress=False, checkpoint=ckpt)
    with pytest.raises(ValueError, match="other settings.*lr"):
        run("sgd", seed=0, lr=0.3, progress=False, checkpoint=ckpt, resume=True)


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "nope"}, "unknown method 'nope'; valid methods: sgd"),
    ({"sequence": "nope"}, "nope"),
    ({"batch_size": 0}, r"^batch_size must be an integer >= 1; got 0$"),
    ({"batch_size": 32.0}, r"^batch_size must be an integer >= 1; got 32.0$"),
    ({"seed": -1}, r"^seed must be an integer in \[0, 4294967295\]; got -1$"),
    ({"seed": True}, r"^seed must be an integer in \[0, 4294967295\]; got True$"),
    ({"epochs": 0}, r"^epochs must be an integer >= 1; got 0$"),
    ({"epochs": [1, 1, 0, 1, 1]}, r"^epochs\[2\] must be an integer >= 1; got 0$"),
    ({"epochs": [1, 2]}, "one per task"),
    ({"options": {"lam": 1.0}}, "does not accept option"),
    ({"resume": True}, "need checkpoint"),
    ({"eval_every": 0}, r"^eval_every must be None or an integer >= 1; got 0$"),
    ({"checkpoint_every": 0}, r"^checkpoint_every must be None or an integer >= 1; got 0$"),
    ({"model": "resnet"}, "resnet"),
    ({"threads": 0}, r"^threads must be None or an integer >= 1; got 0$"),
])
def test_invalid_arguments(kwargs, message):
    kw = {"method": "sgd", "progress": False, **kwargs}
    with pytest.raises(ValueError, match=message):
        run(**kw)


def test_numbers_from_numpy_and_torch_are_accepted():
    a = run("sgd", seed=np.int64(1), batch_size=np.int64(64), epochs=[np.int64(1)] * 5, eval_every=np.int32(50),
            threads=np.int64(1), lr=np.float32(0.1), progress=False)
    b = run("sgd", seed=1, batch_size=torch.tensor(64), epochs=np.array([1, 1, 1, 1, 1]), eval_every=50, threads=1,
            lr=0.1, progress=False)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert a.config["seed"] == 1 and type(a.config["seed"]) is int and a.config["batch_size"] == 64


def test_train_has_no_second_home_for_tables():
    assert not hasattr(train, "summarize") and not hasattr(train, "format_table")
    assert "summarize" not in train.__all__ and "format_table" not in train.__all__


class Pull:
    """A fake regulariser: after the first task, penalty = strength * Σ w² (pulls weights to 0); records hooks."""

    def __init__(self, model, strength):
        self.model, self.strength = model, strength
        self.penalties = self.after_steps = 0
        self.consolidated = []

    def penalty(self):
        self.penalties += 1
        if not self.consolidated:
            return None
        return self.strength * sum((p ** 2).sum() for p in self.model.parameters())

    def after_step(self):
        self.after_steps += 1

    def consolidate(self, x, y, classes=None, generator=None):
        self.consolidated.append((len(x), sorted(set(y.tolist())), classes))

    def state_bytes(self):
        return 11

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


def _pull_method(strength, holder):
    def factory(model, lr, options):
        holder.append(Pull(model, strength))
        return Learner(torch.optim.SGD(model.parameters(), lr=lr), holder[-1])

    return Method("pull", "SGD with a fake regulariser that pulls the weights to zero.", {"lr": 0.1}, factory)


def test_the_loop_calls_the_regulariser_hooks():
    held = []
    r = run(_pull_method(0.0, held), "split-digits", progress=False)
    reg = held[0]
    # penalty and after_step once per step, consolidate once per task with that task's training data
    assert reg.penalties == reg.after_steps == r.n_steps
    assert [c[1] for c in reg.consolidated] == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]
    assert [c[0] for c in reg.consolidated] == [252, 252, 254, 252, 248] and reg.consolidated[0][2] == [0, 1]
    assert r.state_bytes == 11  # SGD keeps nothing; the regulariser's bytes are counted
    # the penalty is added to the loss: a strong pull shrinks the weights after the first task
    strong = []
    run(_pull_method(1.0, strong), "split-digits", progress=False)
    norm = [sum(float((p.detach() ** 2).sum()) for p in h.model.parameters()) for h in (reg, strong[0])]
    assert norm[1] < 0.5 * norm[0]


def test_compare_runs_method_objects_outside_the_registry():
    custom = Method("sgd-half", "SGD at half the learning rate (not registered).", {"lr": 0.05, "momentum": 0.0},
                    get_method("sgd").factory)
    assert "sgd-half" not in list_methods()
    rs = compare([custom, "sgd"], seeds=(0,), options={"momentum": 0.5}, progress=False,
                 sequence_options={"n_tasks": 2})
    assert [(r.method, r.config["lr"], r.config["options"]["momentum"]) for r in rs] == [
        ("sgd-half", 0.05, 0.5), ("sgd", 0.1, 0.5)]
    per = compare([custom], seeds=[np.int64(1)], lr={"sgd-half": 0.2}, options={"sgd-half": {"momentum": 0.9}},
                  progress=False, sequence_options={"n_tasks": 2})
    assert (per[0].seed, per[0].config["lr"], per[0].config["options"]["momentum"]) == (1, 0.2, 0.9)
    assert compare("sgd", seeds=(0,), progress=False, sequence_options={"n_tasks": 2})[0].method == "sgd"


def test_route_options_flat_per_method_and_aliases():
    assert route_options(["sgd", "ewc", "classp"], {"lam": 5, "momentum": 0.9, "threshold": 1e-5}) == {
        "sgd": {"momentum": 0.9}, "ewc": {"lam": 5, "momentum": 0.9}, "classp": {"threshold": 1e-5}}
    # eps reaches reference as epsilon (the released code's name) unless epsilon is given too
    assert route_options(["classp", "reference", "adam"], {"eps": 1e-6}) == {
        "classp": {"eps": 1e-6}, "reference": {"epsilon": 1e-6}, "adam": {"eps": 1e-6}}
    assert route_options(["classp", "reference"], {"eps": 1e-6, "epsilon": 1e-3}) == {
        "classp": {"eps": 1e-6}, "reference": {"epsilon": 1e-3}}
    assert route_options(["sgd", "ewc"], {"ewc": {"lam": 3}}) == {"sgd": {}, "ewc": {"lam": 3}}
    assert route_options(["sgd"], None) == {"sgd": {}}


@pytest.mark.parametrize("methods, options, message", [
    (["sgd"], {"lam": 1.0}, r"option\(s\) 'lam' accepted by none of the methods sgd; their options: momentum"),
    (["sgd", "adam"], {"threshold": 1.0, "lam": 2},
     r"'threshold', 'lam' accepted by none of the methods sgd, adam; their options: beta1, beta2, eps, momentum"),
    (["sgd"], {"ewc": {"lam": 3}}, r"options given for method\(s\) 'ewc', which are not among the methods compared"),
    ([], {}, "at least one method"),
    (["nope"], {}, "unknown method 'nope'"),
])
def test_route_options_refusals(methods, options, message):
    with pytest.raises(ValueError, match=message):
        route_options(methods, options)


def test_compare_refusals():
    with pytest.raises(ValueError, match=r"lr given for method\(s\) 'adam'"):
        compare(["sgd"], seeds=(0,), lr={"adam": 0.1}, progress=False)
    with pytest.raises(ValueError, match="at least one seed"):
        compare(["sgd"], seeds=(), progress=False)
    with pytest.raises(ValueError, match=r"^seeds\[1\] must be an integer in \[0, 4294967295\]; got -1$"):
        compare(["sgd"], seeds=(0, -1), progress=False)
    with pytest.raises(ValueError, match="either checkpoint_dir"):
        compare(["sgd"], seeds=(0,), checkpoint_dir="x", checkpoint="y", progress=False)


def test_compare_checkpoints_every_run_and_resumes(tmp_path):
    first = compare(["sgd", "adam"], seeds=(0, 1), progress=False, checkpoint_dir=tmp_path,
                    sequence_options={"n_tasks": 2})
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "adam-split-digits-seed0.pt", "adam-split-digits-seed1.pt", "sgd-split-digits-seed0.pt",
        "sgd-split-digits-seed1.pt"]
    calls = []
    again = compare(["sgd", "adam"], seeds=(0, 1), progress=False, checkpoint_dir=tmp_path,
                    sequence_options={"n_tasks": 2}, callback=calls.append)
    assert calls == []  # finished checkpoints: nothing trained again
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a.accuracy_matrix, b.accuracy_matrix)


def test_compare_and_summarize():
    rs = compare(["sgd", "ewc"], "split-digits", seeds=(0, 1), options={"lam": 10.0}, progress=False)
    assert [(r.method, r.seed) for r in rs] == [("sgd", 0), ("sgd", 1), ("ewc", 0), ("ewc", 1)]
    assert rs[2].config["options"]["lam"] == 10.0
    rows = summarize(rs)
    assert [row["method"] for row in rows] == ["sgd", "ewc"]
    assert rows[0]["average_accuracy"] == pytest.approx(np.mean([r.metrics()["average_accuracy"] for r in rs[:2]]))
    with pytest.raises(ValueError, match="accepted by none"):
        compare(["sgd"], seeds=(0,), options={"threshold": 1.0}, progress=False)
    per = compare(["sgd", "adam"], seeds=(0,), lr={"sgd": 0.3}, options={"sgd": {"momentum": 0.5}}, progress=False)
    assert per[0].config["lr"] == 0.3 and per[0].config["options"]["momentum"] == 0.5
    assert per[1].config["lr"] == 1e-3


def test_threads_are_restored():
    torch.set_num_threads(2)
    run("sgd", threads=1, progress=False)
    assert torch.get_num_threads() == 2


def test_progress_bar_can_be_shown_and_silenced(capsys):
    run("sgd", progress=True)
    assert "sgd · split-digits · seed 0" in capsys.readouterr().err
    run("sgd", progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("kwargs, message", [
    (dict(methods=["sgd", "sgd"]), "methods must be distinct (each one is counted once); got ['sgd', 'sgd'] ('sgd' repeats)"),
    (dict(methods=["sgd"], seeds=[1, 2, 1]), "seeds must be distinct (each one is counted once); got [1, 2, 1] (1 repeats)"),
])
def test_compare_refuses_duplicates_before_training(kwargs, message, monkeypatch):
    """Before: duplicates were run and reported as replicates (n = 2, ± 0.000)."""
    monkeypatch.setattr(train, "run", lambda *a, **k: pytest.fail("training started"))
    with pytest.raises(ValueError) as e:
        compare(progress=False, **kwargs)
    assert str(e.value) == message


def test_compare_records_a_diverging_run_and_keeps_the_others(monkeypatch):
    real = train.run

    def run(method, *a, seed=0, **k):
        if seed == 1:
            raise FloatingPointError("training loss became nan")
        return real(method, *a, seed=seed, **k)

    monkeypatch.setattr(train, "run", run)
    failures = []
    out = compare(["sgd"], seeds=[0, 1], progress=False, failures=failures, sequence_options={"n_tasks": 2})
    assert [r.seed for r in out] == [0]
    assert failures == [{"method": "sgd", "label": "sgd", "seed": 1, "error": "training loss became nan"}]
    with pytest.raises(FloatingPointError):
        compare(["sgd"], seeds=[1], progress=False, sequence_options={"n_tasks": 2})


@pytest.mark.parametrize("options, message", [
    ({"momentum": float("inf")}, "momentum must be a finite number in [0, 1); got inf"),
    ({"momentum": 1.0}, "momentum must be a number in [0, 1); got 1.0"),
    ({"momentum": "0.9"}, "momentum must be a number in [0, 1); got '0.9'"),
])
def test_torch_optimizer_options_are_checked_by_name(options, message):
    """Before: an infinite momentum reached torch and surfaced as 'lower the learning rate'."""
    with pytest.raises(ValueError) as e:
        run("sgd", options=options, progress=False, sequence_options={"n_tasks": 2})
    assert str(e.value) == message
