"""Tests of classp.lab.protocols: the paper's vision and sentiment protocols, running them, their results
files, and their command line (the ``protocol`` sub-command of ``python -m classp``)."""
from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from classp.cli import build_parser, main
from classp.data import Task, TaskSequence
from classp.lab import protocols
from classp.lab.protocols import (ProtocolRun, probe_steps, protocol_methods, run_protocol, save_protocol,
                                  training_set_accuracy)
from classp.lab.results import Result, load

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "book" / "results"
PREFIX = ["python", "-m", "classp", "protocol"]


@pytest.fixture(autouse=True)
def restore_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


# ------------------------------------------------------------------------------------ small pieces
def test_probe_steps_hand_computed():
    # task 1: 8 steps -> 1 and quarters 2, 4, 6, 8; task 2 (starts after 8): 4 steps -> 9 and 9, 10, 11, 12
    assert probe_steps([8, 4]) == [1, 2, 4, 6, 8, 9, 10, 11, 12]
    # 1000 + 1875 steps: 1, 10, 50, 200 after each start, plus the quarters of each task
    assert probe_steps([1000, 1875]) == [1, 10, 50, 200, 250, 500, 750, 1000, 1001, 1010, 1050, 1200, 1469,
                                         1938, 2406, 2875]
    # quick mode: 1 and 10 steps after each start, and each task's end
    assert probe_steps([8, 20], dense=False) == [1, 8, 9, 18, 28]
    # numbers as numpy and torch users pass them
    assert probe_steps([np.int64(8), torch.tensor(4)]) == [1, 2, 4, 6, 8, 9, 10, 11, 12]


@pytest.mark.parametrize("steps, message", [
    ([5, 0], r"task_steps\[1\] must be an integer >= 1; got 0"),
    ([True, 4], r"task_steps\[0\] must be an integer >= 1; got True"),
    ([5.0, 4], r"task_steps\[0\] must be an integer >= 1; got 5.0"),
])
def test_probe_steps_rejects(steps, message):
    with pytest.raises(ValueError, match=message):
        probe_steps(steps)


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
    for seven in (np.int64(7), torch.tensor(7)):
        ewc = protocol_methods("sentiment", fisher_samples=seven)[2]
        assert ewc.options["fisher_samples"] == 7 and type(ewc.options["fisher_samples"]) is int


@pytest.mark.parametrize("kwargs, message", [
    (dict(protocol="speech"), r"protocol must be one of 'vision', 'sentiment'; got 'speech'"),
    (dict(protocol="vision", fisher_samples=0), r"fisher_samples must be an integer >= 1; got 0"),
    (dict(protocol="vision", fisher_samples=True), r"fisher_samples must be an integer >= 1; got True"),
    (dict(protocol="vision", fisher_samples=7.0), r"fisher_samples must be an integer >= 1; got 7.0"),
])
def test_protocol_methods_rejects(kwargs, message):
    with pytest.raises(ValueError, match=message):
        protocol_methods(**kwargs)


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


def _toy_sequence():
    y = torch.tensor([0, 0, 0, 1, 1, 0, 1, 0])  # 5 zeros of 8
    t = Task("a", torch.zeros(8, 3), y, torch.zeros(2, 3), torch.tensor([0, 1]), (0, 1))
    return TaskSequence("toy", [t, t], 2, (3,)), y


def test_training_set_accuracy_eval_and_dropout():
    seq, y = _toy_sequence()
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
    got = training_set_accuracy(model, seq, dropout=True, seed=np.int64(3))
    assert got[0] == expected


@pytest.mark.parametrize("kwargs, message", [
    (dict(dropout=1), r"dropout must be True or False; got 1"),
    (dict(dropout=False, seed=-1), r"seed must be an integer in \[0, 4294967295\]; got -1"),
    (dict(dropout=False, batch_size=0), r"batch_size must be an integer >= 1; got 0"),
])
def test_training_set_accuracy_rejects(kwargs, message):
    seq, _ = _toy_sequence()
    with pytest.raises(ValueError, match=message):
        training_set_accuracy(_Constant(), seq, **kwargs)


# ------------------------------------------------------------------------------------ run_protocol
@pytest.mark.parametrize("kwargs, message", [
    (dict(protocol="speech"), r"protocol must be one of 'vision', 'sentiment'; got 'speech'"),
    (dict(quick=1), r"quick must be True or False; got 1"),
    (dict(seeds=[]), r"seeds must hold at least one integer >= 0; got \[\]"),
    (dict(seeds=[0, -1]), r"seeds\[1\] must be an integer in \[0, 4294967295\]; got -1"),
    (dict(seeds=[True]), r"seeds\[0\] must be an integer in \[0, 4294967295\]; got True"),
    (dict(seeds=[0, 0]), r"seeds must be distinct \(each one is counted once\); got \[0, 0\] \(0 repeats\)"),
    (dict(methods=["sgd", "sgd"]), r"methods must be distinct \(each one is counted once\); got \['sgd', 'sgd'\]"),
    (dict(methods=["lbfgs"]), r"methods must be one of 'classp', 'reference', 'ewc', 'sgd', 'adam', 'adagrad'; "
                              r"got 'lbfgs'"),
    (dict(methods=[]), r"methods must name at least one of 'classp'"),
    (dict(epochs=(1,)), r"epochs must be two integers >= 1 \(one per task\); got \[1\]"),
    (dict(epochs=(1, 0)), r"epochs\[1\] must be an integer >= 1; got 0"),
    (dict(epochs=(1, 2.5)), r"epochs\[1\] must be an integer >= 1; got 2.5"),
    (dict(train_limit=0), r"train_limit must be None or an integer >= 1; got 0"),
    (dict(test_limit=True), r"test_limit must be None or an integer >= 1; got True"),
    (dict(data="cloud"), r"data must be one of 'auto', 'real', 'offline'; got 'cloud'"),
    (dict(download=1), r"download must be True or False; got 1"),
    (dict(threads=0), r"threads must be None or an integer >= 1; got 0"),
    (dict(progress="no"), r"progress must be True or False; got 'no'"),
    (dict(log="print"), r"log must be None or a callable; got 'print'"),
])
def test_run_protocol_checks_every_argument_before_loading_data(kwargs, message, monkeypatch):
    def no_loading(*args, **kw):
        raise AssertionError("data loaded before the arguments were checked")

    monkeypatch.setattr(protocols, "_load_sequence", no_loading)
    threads = torch.get_num_threads()
    kwargs = {"protocol": "vision", "quick": True, **kwargs}
    with pytest.raises(ValueError, match=message):
        run_protocol(kwargs.pop("protocol"), **kwargs)
    assert torch.get_num_threads() == threads  # refused: nothing changed


def test_run_protocol_accepts_numbers_as_numpy_and_torch_users_pass_them(monkeypatch):
    class Loaded(Exception):
        pass

    def stop(settings, root):
        raise Loaded(settings)

    monkeypatch.setattr(protocols, "_load_sequence", stop)
    with pytest.raises(Loaded) as exc:
        run_protocol("sentiment", quick=np.bool_(True), seeds=[np.int64(1), torch.tensor(2)], methods="sgd",
                     train_limit=np.int32(64), test_limit=torch.tensor(32), epochs=[np.int64(3), 1], threads=np.int64(1))
    settings = exc.value.args[0]
    assert (settings["seeds"], settings["epochs"], settings["train_limit"], settings["test_limit"]) == \
        ((1, 2), (3, 1), 64, 32)
    assert all(type(v) is int for v in (*settings["seeds"], *settings["epochs"], settings["train_limit"]))
    assert (settings["mode"], settings["model_name"], settings["download"]) == ("quick", "text", None)


def _tiny_run(**kwargs) -> ProtocolRun:
    """The vision protocol on the offline analogue, two methods, a few steps (seconds)."""
    return run_protocol("vision", quick=True, data="offline", methods=["classp", "sgd"], seeds=[np.int64(0)],
                        train_limit=np.int64(20), epochs=(1, torch.tensor(1)), **kwargs)


def test_run_protocol_builds_complete_results_that_round_trip(tmp_path):
    lines = []
    prun = _tiny_run(threads=1, log=lines.append)
    assert [r.label for r in prun.results] == ["CLASSP", "SGD"] and len(lines) == 2
    cfg = prun.config
    assert (cfg["protocol"], cfg["mode"], cfg["data_kind"], cfg["seeds"], cfg["epochs"]) == \
        ("vision", "quick", "offline", [0], [1, 1])
    assert cfg["torch_threads"] == 1 and cfg["wall_s_total"] > 0
    probes = probe_steps(cfg["task_steps"], dense=False)
    for r in prun.results:
        assert isinstance(r, Result) and type(r.seed) is int
        # built complete: the arrays are what Result's own checks make of them
        assert r.eval_steps.dtype == np.int64 and r.eval_steps.tolist() == [0] + probes
        assert r.accuracy_curve.shape == (len(probes) + 1, 2)
        # the curve's test subset holds every test example here, so its last point is the final evaluation
        np.testing.assert_allclose(r.accuracy_curve[-1], r.accuracy_matrix[-1])
        assert (r.config["protocol"], r.config["model_name"]) == ("vision", "cnn")
        assert r.config["sequence_options"] == cfg["sequence_options"] == {"train_limit": 20}
        tsa = r.config["training_set_accuracy"]
        assert len(tsa["eval_mode"]) == len(tsa["train_mode_dropout"]) == 2
        assert Result.from_dict(r.to_dict()).to_dict() == r.to_dict()  # the Result's checks accept it
    out = tmp_path / "tiny.json"
    doc = save_protocol(out, prun, command="python -m classp protocol vision --quick --out tiny.json")
    loaded = load(out)  # validates the schema
    assert loaded.command == doc["command"] and loaded.config["method_table"][0]["key"] == "classp"
    for before, after in zip(prun.results, loaded.results):
        np.testing.assert_array_equal(after.eval_steps, before.eval_steps)
        np.testing.assert_allclose(after.accuracy_curve, before.accuracy_curve)
        np.testing.assert_allclose(after.accuracy_matrix, before.accuracy_matrix)
        assert after.config["training_set_accuracy"] == before.config["training_set_accuracy"]


def test_save_protocol_rejects(tmp_path):
    with pytest.raises(ValueError, match="prun must be a ProtocolRun; got list"):
        save_protocol(tmp_path / "x.json", [], command="python -m classp protocol vision")
    prun = ProtocolRun("vision", [], {})
    with pytest.raises(ValueError, match="command must be a non-empty string"):
        save_protocol(tmp_path / "x.json", prun, command="")
    assert not (tmp_path / "x.json").exists()


# ------------------------------------------------------------------------------------ command line
def test_protocol_is_a_sub_command_of_the_one_command_line():
    parser = build_parser()
    sub = parser._subparsers._group_actions[0]
    args = parser.parse_args(["protocol", "vision", "--quick", "--task-epochs", "2", "1", "--seeds", "0", "1"])
    assert (args.command, args.protocol, args.quick, args.task_epochs, args.seeds) == ("protocol", "vision", True,
                                                                                        [2, 1], [0, 1])
    options = {o for a in sub.choices["protocol"]._actions for o in a.option_strings}
    assert {"--quick", "--seeds", "--out", "--quiet", "--data", "--threads"} <= options and "--epochs" not in options
    # the protocols module has no command line of its own any more
    for name in ("cli", "build_parser", "add_subparser", "run_args"):
        assert not hasattr(protocols, name), name
    assert "__main__" not in Path(protocols.__file__).read_text(encoding="utf-8")


def test_protocol_command_rejects_bad_arguments(capsys):
    assert main(["protocol", "vision", "--threads", "0"]) == 2
    assert "python -m classp protocol: error: threads must be None or an integer >= 1; got 0" in capsys.readouterr().err
    assert main(["protocol", "vision", "--methods", "lbfgs", "--quick"]) == 2
    assert "methods must be one of 'classp', 'reference'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["protocol", "speech"])
    assert exc.value.code == 2


def test_python_m_classp_protocol_help_works_and_classp_protocols_is_gone():
    def python_m(*args):
        return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=REPO, timeout=300)

    ok = python_m("classp", "protocol", "--help")
    assert ok.returncode == 0, ok.stderr
    assert "--quick" in ok.stdout and "{vision,sentiment}" in ok.stdout
    gone = python_m("classp.protocols", "vision", "--help")
    assert gone.returncode != 0 and "--quick" not in gone.stdout


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


@pytest.mark.book
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
    args = args[3:]
    out = tmp_path / "quick.json"
    args[args.index("--out") + 1] = str(out)
    assert main(args + ["--quick"]) == 0
    quick = json.loads(out.read_text(encoding="utf-8"))
    load(out)
    assert _structure(quick) == _structure(committed)
    assert quick["config"]["mode"] == "quick" and committed["config"]["mode"] == "full"
    assert quick["command"] == shlex.join(["python", "-m", "classp", *args, "--quick"])
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


@pytest.mark.parametrize("protocol", ["vision", "sentiment"])
def test_protocol_reasons_quote_the_values_the_runs_use(protocol):
    # Issue 13: the "why" texts once said "the lab's default lr 0.05" for a run at 0.01 and "the lab's
    # default 100" for a λ whose registry default is 30. Every reason must quote the resolved values.
    from classp.lab.methods import get_method

    sequence = {"vision": "mnist-fashion", "sentiment": "sentiment"}[protocol]
    for m in protocol_methods(protocol):
        if not isinstance(m.method, str):  # the released SA optimizer: its values are the ProtocolMethod's
            lr, opts = m.lr, m.options
        else:
            lr, opts = get_method(m.method).resolve(m.lr, m.options, sequence)
        assert f"lr {lr:g}" in m.why or f"lr={lr:g}" in m.why, (m.key, lr, m.why)
        if "lam" in opts:
            assert f"lam {opts['lam']:g}" in m.why, (m.key, m.why)
            assert f"registry's {get_method('ewc').defaults['lam']:g}" in m.why
        assert "default 100" not in m.why and "default lr 0.05" not in m.why
