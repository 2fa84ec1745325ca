"""classp.lab.bench: the report of one timed optimizer step and its file (provenance header first).

Tiny budgets (the book's MLP, two rounds) and no assertion on times: only on what the report says.
"""
import datetime as dt
import json

import pytest
import torch

from classp import _provenance
from classp.lab import bench
from classp.lab.bench import BENCH_SCHEMA, OPTIMIZERS, bench_report, bench_step, format_bench, save_bench

N, TENSORS = 17610, 6  # the MLP 64-100-100-10: three weights, three biases


@pytest.fixture(scope="module")
def report():
    return bench_step(repeats=2, warmup=0, model="mlp", threads=1)  # with the compiled kernel (seconds)


def test_report_names_every_optimizer_with_its_state(report):
    assert (report["model"], report["n_params"], report["repeats"], report["warmup"], report["threads"]) == \
        ("mlp", N, 2, 0, 1)
    by = {r["name"]: r for r in report["results"]}
    assert list(by) == list(OPTIMIZERS) == ["CLASSP (single-tensor)", "CLASSP (foreach)", "CLASSP (compiled)",
                                            "CLASSP (compiled, check_finite=False)", "Adagrad (foreach)",
                                            "Adagrad (fused)", "Adam (foreach)", "SGD (foreach)"]
    assert by["Adagrad (foreach)"]["ratio_to_adagrad"] == 1.0
    for r in by.values():
        assert r["median_ms"] > 0 and r["iqr_ms"] >= 0
        assert r["ratio_to_adagrad"] == pytest.approx(r["median_ms"] / by["Adagrad (foreach)"]["median_ms"])
    for name in OPTIMIZERS[:4]:
        assert by[name]["state_bytes"] == 4 * N + 4 * TENSORS  # grad_sum + step
    assert by["Adam (foreach)"]["state_bytes"] == 8 * N + 4 * TENSORS
    assert by["SGD (foreach)"]["state_bytes"] == 0


def test_threads_are_restored():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert bench_step(repeats=1, warmup=0, model="mlp", threads=1, include_compiled=False)["threads"] == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_the_file_starts_with_the_provenance_header(report, tmp_path):
    path = tmp_path / "out" / "bench.json"
    doc = save_bench(path, report, command="python -m classp bench --model mlp")
    on_disk = json.loads(path.read_text(encoding="utf-8"))
    assert on_disk == doc
    assert list(doc)[:5] == ["schema", "command", "created", "versions", "machine"]
    assert doc["schema"] == BENCH_SCHEMA == "classp-bench/2"
    assert doc["command"] == "python -m classp bench --model mlp"
    assert dt.datetime.fromisoformat(doc["created"]).utcoffset() == dt.timedelta(0)
    assert doc["versions"] == _provenance.versions() and "git" in doc["versions"]
    assert set(doc["machine"]) == set(_provenance.machine())
    # then the report, unchanged
    assert {k: doc[k] for k in report} == json.loads(json.dumps(report))
    assert "vs Adagrad" in format_bench(doc)  # a saved report prints like a fresh one
    assert [p.name for p in path.parent.iterdir()] == ["bench.json"]


def test_bench_report_refuses_a_report_with_header_keys(report):
    with pytest.raises(ValueError, match="must not hold the header's keys; got command, schema"):
        bench_report({**report, "schema": "x", "command": "y"})
    assert bench_report(report, None)["command"]  # None: how this process was started


def test_format_bench_is_one_line_per_optimizer(report):
    lines = format_bench(report).splitlines()
    assert "17,610 parameters" in lines[0] and "median of 2" in lines[0] and "1 threads" in lines[0]
    assert lines[1].split()[:3] == ["optimizer", "median", "ms"]
    assert [line.split("  ")[0].strip() for line in lines[3:3 + len(OPTIMIZERS)]] == list(OPTIMIZERS)
    assert lines[3 + len(OPTIMIZERS):] == [
        f"{t['name']} / {t['baseline']}: {t['ratio']:.2f} (target <= {t['target']:.2f}: {'met' if t['met'] else 'not met'})"
        for t in report["targets"]]


def test_the_report_holds_the_targets(report):
    by = {r["name"]: r["median_ms"] for r in report["results"]}
    assert [(t["name"], t["baseline"], t["target"]) for t in report["targets"]] == [
        ("CLASSP (foreach)", "Adagrad (foreach)", 1.15), ("CLASSP (compiled)", "Adagrad (fused)", 1.25),
        ("CLASSP (compiled, check_finite=False)", "Adagrad (fused)", 1.25)]
    for t in report["targets"]:
        assert t["ratio"] == pytest.approx(by[t["name"]] / by[t["baseline"]])
        assert t["met"] == (t["ratio"] <= t["target"])
    without = bench_step(repeats=1, warmup=0, model="mlp", include_compiled=False)
    assert [t["name"] for t in without["targets"]] == ["CLASSP (foreach)"]
    assert all("compiled" not in r["name"] for r in without["results"])


@pytest.mark.parametrize("kwargs, message", [
    ({"repeats": 0}, r"^repeats must be an integer >= 1; got 0$"),
    ({"warmup": -1}, r"^warmup must be an integer >= 0; got -1$"),
    ({"grad_scale": 0.0}, r"^grad_scale must be a number > 0; got 0.0$"),
    ({"model": "resnet"}, r"^model must be one of 'cnn', 'mlp'; got 'resnet'$"),
    ({"include_compiled": 1}, r"^include_compiled must be True or False; got 1$"),
    ({"threads": 0}, r"^threads must be None or an integer >= 1; got 0$"),
    ({"steady_malloc": "yes"}, r"^steady_malloc must be True or False; got 'yes'$"),
    ({"repeats": 1.0}, r"^repeats must be an integer >= 1; got 1.0$"),
])
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bench_step(**{"model": "mlp", **kwargs})


def test_numpy_numbers_are_accepted():
    import numpy as np

    r = bench_step(repeats=np.int64(1), warmup=np.int32(0), grad_scale=np.float32(1e-3), model="mlp",
                   seed=np.int64(2), threads=np.int64(1), include_compiled=np.bool_(False))
    assert r["repeats"] == 1 and type(r["repeats"]) is int and type(r["grad_scale"]) is float
    json.dumps(r)  # plain Python numbers: JSON-ready


def test_steady_malloc_is_recorded(report, monkeypatch):
    assert report["malloc"] == "default"
    calls = []
    monkeypatch.setattr(bench, "fix_malloc_thresholds", lambda: calls.append(1) or True)  # no process-wide change here
    r = bench_step(repeats=1, warmup=0, model="mlp", include_compiled=False, steady_malloc=True)
    assert calls == [1] and r["malloc"] == "steady" and "steady malloc" in format_bench(r).splitlines()[0]
    monkeypatch.setattr(bench, "fix_malloc_thresholds", lambda: False)  # not glibc: nothing was fixed
    assert bench_step(repeats=1, warmup=0, model="mlp", include_compiled=False, steady_malloc=True)["malloc"] == "default"


def test_the_module_measures_state_with_the_optimizer_rooms_function():
    import classp.optim

    assert bench.state_bytes is classp.optim.state_bytes
