"""Runs on a sequence with a validation split (issue 12): a validation accuracy matrix beside the test one."""
import json

import numpy as np
import pytest
import torch

from classp.data import get_sequence
from classp.lab import evaluate, load, make_model, run, save
from classp.lab.results import Result, validate

OPTS = {"validation": 0.1}


@pytest.fixture(scope="module")
def result():
    return run("sgd", "split-digits", seed=0, epochs=1, sequence_options=OPTS, progress=False)


def test_the_validation_matrix_is_measured_on_the_validation_split(result):
    seq = get_sequence("split-digits", validation=0.1)
    R, V = result.accuracy_matrix, result.validation_matrix
    assert V.shape == R.shape == (5, 5) and not np.array_equal(V, R)
    # every entry is a fraction of the task's validation examples
    for j, t in enumerate(seq.tasks):
        assert np.allclose(V[:, j] * len(t.y_val), np.round(V[:, j] * len(t.y_val)))
    m, v = result.metrics(), result.metrics("validation")
    assert v["average_accuracy"] == pytest.approx(V[-1].mean()) and m["average_accuracy"] == pytest.approx(R[-1].mean())
    assert result.config["validation_sizes"] == [len(t.y_val) for t in seq.tasks]


def test_evaluate_on_either_split():
    seq = get_sequence("split-digits", validation=0.1)
    net = make_model("mlp", (64,), 10)
    torch.manual_seed(0)
    test, val = evaluate(net, seq), evaluate(net, seq, split="validation")
    assert test.shape == val.shape == (5,)
    with pytest.raises(ValueError, match="has no validation split; build it with"):
        evaluate(net, get_sequence("split-digits"), split="validation")
    with pytest.raises(ValueError, match="split must be one of"):
        evaluate(net, seq, split="train")


def test_a_run_without_validation_has_none():
    r = run("sgd", "split-digits", seed=0, epochs=1, progress=False, sequence_options={"n_tasks": 2})
    assert r.validation_matrix is None and "validation_sizes" not in r.config
    with pytest.raises(ValueError, match="has no validation matrix"):
        r.metrics("validation")


def test_results_file_round_trip_keeps_the_validation_matrix(result, tmp_path):
    path = tmp_path / "v.json"
    save(path, [result])
    doc = json.loads(path.read_text())
    run0 = doc["runs"][0]
    assert np.allclose(run0["validation_accuracy_matrix"], result.validation_matrix)
    assert run0["validation_metrics"]["average_accuracy"] == pytest.approx(result.metrics("validation")["average_accuracy"])
    sizes = doc["data"][0]["split_sizes"]
    assert [s["validation"] for s in sizes] == result.config["validation_sizes"]
    assert all(s["train"] + s["validation"] > s["test"] for s in sizes)
    back = load(path).results[0]
    assert np.allclose(back.validation_matrix, result.validation_matrix)


def test_an_impossible_validation_value_is_refused(result, tmp_path):
    path = tmp_path / "v.json"
    save(path, [result])
    doc = json.loads(path.read_text())
    doc["runs"][0]["validation_accuracy_matrix"][1][0] = 1.5
    with pytest.raises(ValueError, match=r"runs\[0\]\.validation_accuracy_matrix\[1\]\[0\] must be a number in \[0, 1\]"):
        validate(doc, "v.json")


def test_result_refuses_a_validation_matrix_of_another_shape(result):
    d = result.to_dict()
    d["validation_accuracy_matrix"] = [[0.5, 0.5], [0.5, 0.5]]
    with pytest.raises(ValueError, match="validation_matrix must be T x T"):
        Result.from_dict(d)


def test_resume_keeps_the_validation_matrix(tmp_path):
    ck = tmp_path / "ck.pt"
    full = run("sgd", "split-digits", seed=1, epochs=1, sequence_options=OPTS, progress=False)
    run("sgd", "split-digits", seed=1, epochs=1, sequence_options=OPTS, progress=False, checkpoint=ck,
        checkpoint_every=20)
    again = run("sgd", "split-digits", seed=1, epochs=1, sequence_options=OPTS, progress=False, checkpoint=ck,
                resume=True)
    assert np.array_equal(again.validation_matrix, full.validation_matrix)
