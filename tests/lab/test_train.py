"""classp.lab.train: every method runs and yields a consistent Result; determinism; exact resume."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from classp.lab.methods import list_methods
from classp.lab.results import Result
from classp.data import Task, TaskSequence
from classp.lab.train import compare, evaluate, run, summarize


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
    ({"batch_size": 0}, "batch_size must be an int >= 1"),
    ({"seed": -1}, "seed must be an int >= 0"),
    ({"epochs": 0}, "epochs must be >= 1"),
    ({"epochs": [1, 2]}, "one per task"),
    ({"options": {"lam": 1.0}}, "does not accept option"),
    ({"resume": True}, "need checkpoint"),
    ({"eval_every": 0}, "eval_every"),
    ({"model": "resnet"}, "resnet"),
    ({"threads": 0}, "threads must be None or an int >= 1"),
])
def test_invalid_arguments(kwargs, message):
    kw = {"method": "sgd", "progress": False, **kwargs}
    with pytest.raises(ValueError, match=message):
        run(**kw)


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
