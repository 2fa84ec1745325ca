"""Tests of classp.lab.protocols: the paper's vision and sentiment protocols and their results files."""
from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from classp.lab import protocols
from classp.lab.protocols import (ORDER_SEED, cli, probe_steps, protocol_methods, training_set_accuracy,
                              vision_sequence)
from classp.lab.results import load
from classp.data import DatasetNotFound, Task, TaskSequence

RESULTS = Path(__file__).resolve().parents[2] / "book" / "results"
PREFIX = ["python", "-m", "classp", "protocol"]


# ------------------------------------------------------------------------------------ small pieces
def test_probe_steps_hand_computed():
    # task 1: 8 steps -> 1 and quarters 2, 4, 6, 8; task 2 (starts after 8): 4 steps -> 9 and 9, 10, 11, 12
    assert probe_steps([8, 4]) == [1, 2, 4, 6, 8, 9, 10, 11, 12]
    # 1000 + 1875 steps: 1, 10, 50, 200 after each start, plus the quarters of each task
    assert probe_steps([1000, 1875]) == [1, 10, 50, 200, 250, 500, 750, 1000, 1001, 1010, 1050, 1200, 1469,
                                         1938, 2406, 2875]
    # quick mode: 1 and 10 steps after each start, and each task's end
    assert probe_steps([8, 20], dense=False) == [1, 8, 9, 18, 28]
    with pytest.raises(ValueError, match="task_steps"):
        probe_steps([5, 0])


def test_protocol_methods_use_the_released_scripts_values():
    vision = {m.key: m for m in protocol_methods("vision")}
    assert list(vision) == ["classp", "reference", "ewc", "sgd", "adam", "adagrad"]
    ref = vision["reference"]
    assert (ref.method, ref.lr) == ("reference", 0.2)
    assert ref.options == {"threshold": 0.5, "epsilon": 1e-5, "power": 1}  # experiment_CV.py
    assert vision["sgd"].lr == 0.2  # experiment_CV.py's customOptimizer=False baseline
    assert vision["ewc"].options["lam"] == 100.0
    sent = {m.key: m for m in protocol_methods("sentiment", fisher_samples=7)}
    assert sent["reference"].lr == 0.025  # experiment_SA.py's "optimal CLASSP"
    assert sent["reference"].options == {"threshold": 0.99, "epsilon": 1e-4, "power": 1}
    assert sent["ewc"].options == {"lam": 10.0, "fisher_samples": 7}
    with pytest.raises(ValueError, match="protocol must be one of vision, sentiment"):
        protocol_methods("speech")
    with pytest.raises(ValueError, match="fisher_samples"):
        protocol_methods("vision", fisher_samples=0)


def test_reference_sa_thresholds_below_one_are_identical_and_one_freezes():
    """experiment_SA.py's threshold 0.99 and the 'no threshold' ablation run the same algorithm (bug B1)."""
    method = protocol_methods("sentiment")[1].method
    torch.manual_seed(0)
    x, y = torch.randn(64, 5), torch.randint(0, 2, (64,))
    finals = {}
    for thr in (0.0, 0.5, 0.99, 1.0):
        net = nn.Linear(5, 2)
        with torch.no_grad():
            net.weight.copy_(torch.arange(10.0).reshape(2, 5) / 10)
            net.bias.zero_()
        learner = method.make(net, lr=0.025, options={"threshold": thr})
        for s in range(0, 64, 16):
            learner.zero_grad()
            nn.functional.cross_entropy(net(x[s:s + 16]), y[s:s + 16]).backward()
            learner.step()
        finals[thr] = torch.cat([p.detach().flatten() for p in net.parameters()])
    assert torch.equal(finals[0.0], finals[0.5]) and torch.equal(finals[0.0], finals[0.99])
    start = torch.cat([torch.arange(10.0) / 10, torch.zeros(2)])
    assert torch.equal(finals[1.0], start)  # threshold >= 1: the gate never passes
    assert not torch.equal(finals[0.0], start)


class _Constant(nn.Module):
    """Predicts class 0 in eval mode; in train mode uses dropout on a constant to pick class 0 or 1."""

    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        n = x.shape[0]
        z = self.drop(torch.ones(n, 1))  # 0 or 2 in train mode, 1 in eval mode
        return torch.cat([torch.full((n, 1), 1.5), z], dim=1)  # class 1 wins only where z == 2


def test_training_set_accuracy_eval_and_dropout():
    y = torch.tensor([0, 0, 0, 1, 1, 0, 1, 0])  # 5 zeros of 8
    t = Task("a", torch.zeros(8, 3), y, torch.zeros(2, 3), torch.tensor([0, 1]), (0, 1))
    seq = TaskSequence("toy", [t, t], 2, (3,))
    model = _Constant()
    model.train()
    acc = training_set_accuracy(model, seq, dropout=False)
    np.testing.assert_array_equal(acc, [5 / 8, 5 / 8])  # eval mode: always class 0
    assert model.training  # mode restored
    # dropout on: the mask drawn from manual_seed(3) decides; recompute it by hand
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        z = nn.functional.dropout(torch.ones(8, 1), 0.5, training=True)
    expected = float(((z[:, 0] > 1.5).long() == y).float().mean())
    got = training_set_accuracy(model, seq, dropout=True, seed=3)
    assert got[0] == expected


def test_vision_sequence_offline_and_invalid():
    seq, note = vision_sequence("offline", train_limit=40)
    assert note["kind"] == "offline" and seq.name == "digits-shared-head"
    assert seq.source.startswith("OFFLINE ANALOGUE")
    assert [len(t.y_train) for t in seq.tasks] == [40, 40]
    with pytest.raises(ValueError, match="data must be one of"):
        vision_sequence("cloud")


def test_vision_sequence_real_mixes_npm_order():
    try:
        seq, note = vision_sequence("real", train_limit=200, test_limit=50)
    except DatasetNotFound as exc:
        pytest.skip(f"real MNIST/Fashion-MNIST not on this machine: {str(exc)[:120]}")
    assert note["kind"] == "real" and seq.name == "mnist-fashion"
    y0 = seq.tasks[0].y_train.numpy()
    if seq.meta["sources"][0]["source"] == "npm":
        from classp.data import get_sequence

        raw = get_sequence("mnist-fashion", train_limit=200, test_limit=50).tasks[0]
        assert np.all(np.diff(raw.y_train.numpy()) >= 0)  # npm's copy: grouped by class
        order = np.random.default_rng(ORDER_SEED).permutation(200)
        np.testing.assert_array_equal(y0, raw.y_train.numpy()[order])
        assert torch.equal(seq.tasks[0].x_train, raw.x_train[torch.from_numpy(order)])
        assert "class-mixed order" in seq.source


def test_cli_rejects_bad_arguments(capsys):
    assert cli(["vision", "--threads", "0"]) == 2
    assert "--threads" in capsys.readouterr().err
    assert cli(["vision", "--methods", "lbfgs", "--quick"]) == 2
    assert "methods must be" in capsys.readouterr().err


def test_add_subparser_registers_protocol_in_the_main_parser():
    from classp.cli import build_parser

    parser = build_parser()
    sub = parser._subparsers._group_actions[0]
    if "protocol" not in sub.choices:  # the hook in classp/__main__.py, emulated when absent
        protocols.add_subparser(sub)
    args = parser.parse_args(["protocol", "vision", "--quick", "--task-epochs", "2", "1", "--seeds", "0", "1"])
    assert (args.command, args.protocol, args.quick, args.task_epochs, args.seeds) == ("protocol", "vision", True,
                                                                                        [2, 1], [0, 1])
    assert args.handler is protocols.run_args
    options = {o for a in sub.choices["protocol"]._actions for o in a.option_strings}
    assert {"--quick", "--seeds", "--out", "--quiet"} <= options and "--epochs" not in options


# ------------------------------------------------------------- the documented commands, quick mode
def _structure(doc: dict) -> dict:
    run = doc["runs"][0]
    return {
        "top": sorted(doc),
        "config": sorted(doc["config"]),
        "methods": doc["config"]["methods"],
        "labels": [r["label"] for r in doc["runs"] if r["seed"] == doc["runs"][0]["seed"]],
        "run": sorted(run),
        "run_config": sorted(run["config"]),
        "training_set_accuracy": sorted(run["config"]["training_set_accuracy"]),
        "T": len(run["accuracy_matrix"]),
        "summary": sorted(doc["summary"][0]),
    }


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["vision", "sentiment"])
def test_documented_command_quick_mode_reproduces_the_schema(protocol, tmp_path):
    path = RESULTS / f"protocol_{protocol}.json"
    if not path.exists():
        pytest.skip(f"{path} not generated yet")
    committed = json.loads(path.read_text(encoding="utf-8"))
    load(path)  # validates the schema
    args = shlex.split(committed["command"])
    assert args[:4] == PREFIX and args[4] == protocol, committed["command"]
    args = args[4:]
    out = tmp_path / "quick.json"
    args[args.index("--out") + 1] = str(out)
    assert cli(args + ["--quick"]) == 0
    quick = json.loads(out.read_text(encoding="utf-8"))
    load(out)
    assert _structure(quick) == _structure(committed)
    assert quick["config"]["mode"] == "quick" and committed["config"]["mode"] == "full"
    assert quick["command"].startswith(" ".join(PREFIX + [protocol]))
    for doc in (quick, committed):
        assert doc["config"]["wall_s_total"] > 0
        assert {"python", "torch", "classp"} <= set(doc["versions"])
        assert doc["config"]["data_note"] and doc["data"][0]["source"] == doc["config"]["data_note"]
        for r in doc["runs"]:
            R = np.asarray(r["accuracy_matrix"])
            assert R.shape == (2, 2) and np.all((R >= 0) & (R <= 1))
            curve = np.asarray(r["accuracy_curve"])
            assert curve.shape == (len(r["eval_steps"]), 2)
            if max(n_test for _, n_test in doc["config"]["task_sizes"]) <= doc["config"]["curve_test_limit"]:
                np.testing.assert_allclose(curve[-1], R[-1])  # the last probe is the final evaluation
            assert r["eval_steps"] == sorted(set(r["eval_steps"]))
