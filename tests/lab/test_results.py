"""classp.lab.results: Result, summaries and tables, results files (round trip and schema refusal)."""
import json

import numpy as np
import pytest

from classp.lab import results as res
from classp.lab.results import Result, format_table, load, save, summarize, validate


def _result(method="sgd", seed=0, R=None, losses=None, label=""):
    R = np.array([[0.9, 0.5], [0.7, 0.8]]) if R is None else np.asarray(R)
    T = len(R)
    losses = np.linspace(1.0, 0.1, 10) if losses is None else np.asarray(losses)
    n = len(losses)
    return Result(method=method, sequence="toy", seed=seed, config={"epochs": 1, "batch_size": 4, "n_steps": n},
                  task_names=[f"t{i}" for i in range(T)], accuracy_matrix=R, initial_accuracy=np.full(T, 0.5),
                  losses=losses, density=np.full(n, 0.25), task_boundaries=[0, n // 2], eval_steps=[0, n // 2, n],
                  accuracy_curve=np.vstack([np.full(T, 0.5), R]), update_counts=[np.array([1, 0, 2]), np.array([0, 0, 3])],
                  last_changed=np.array([0, -1, 1]), state_bytes=120, n_params=3, wall_s=0.5, label=label,
                  source="hand-made")


def test_metrics_of_a_hand_made_result():
    m = _result().metrics()
    assert m["average_accuracy"] == pytest.approx(0.75)
    assert m["backward_transfer"] == pytest.approx(-0.2)
    assert m["forgetting"] == pytest.approx(0.2)
    assert m["forward_transfer"] == pytest.approx(0.5 - 0.5)
    assert m["mean_density"] == pytest.approx(0.25)
    assert _result().label == "sgd"


def test_result_checks_lengths():
    with pytest.raises(ValueError, match="initial_accuracy"):
        Result(method="m", sequence="s", seed=0, config={}, task_names=["a", "b"], accuracy_matrix=[[1, 0], [0, 1]],
               initial_accuracy=[0.5], losses=[], density=[], task_boundaries=[], eval_steps=[], accuracy_curve=[])
    with pytest.raises(ValueError, match="R must"):
        Result(method="m", sequence="s", seed=0, config={}, task_names=["a"], accuracy_matrix=[[0.1, 0.2]],
               initial_accuracy=[0.5], losses=[], density=[], task_boundaries=[], eval_steps=[], accuracy_curve=[])


def test_to_dict_from_dict_round_trip_full():
    r = _result()
    d = json.loads(json.dumps(r.to_dict()))
    r2 = Result.from_dict(d)
    np.testing.assert_array_equal(r2.accuracy_matrix, r.accuracy_matrix)
    np.testing.assert_array_equal(r2.losses, r.losses)
    np.testing.assert_array_equal(r2.last_changed, r.last_changed)
    np.testing.assert_array_equal(r2.update_counts[1], r.update_counts[1])
    assert r2.metrics() == r.metrics()
    assert (r2.method, r2.seed, r2.task_names, r2.state_bytes, r2.source) == (r.method, r.seed, r.task_names, 120, "hand-made")


def test_compact_dict_downsamples_by_block_means():
    losses = np.arange(2500, dtype=float)
    d = _result(losses=losses).to_dict(compact=True, max_points=1000)
    # ceil(2500 / 1000) = 3 steps per block: 833 full blocks and a last block of one step
    assert d["curve_stride"] == 3
    assert len(d["losses"]) == 834
    assert d["losses"][0] == pytest.approx(1.0)  # mean of 0, 1, 2
    assert d["losses"][1] == pytest.approx(4.0)
    assert d["losses"][-1] == pytest.approx(2499.0)
    assert "update_counts" not in d and "last_changed" not in d
    r = Result.from_dict(d)
    assert r.curve_stride == 3 and r.update_counts is None
    assert r.n_steps == 2500  # from config


def test_summarize_mean_and_sample_std():
    a = _result(seed=0, R=[[1.0, 0.0], [0.6, 0.8]])
    b = _result(seed=1, R=[[1.0, 0.0], [0.8, 1.0]])
    c = _result(method="adam", seed=0)
    rows = summarize([a, b, c])
    assert [r["method"] for r in rows] == ["sgd", "adam"]
    sgd = rows[0]
    assert sgd["seeds"] == 2
    # average accuracies 0.7 and 0.9: mean 0.8, sample std sqrt(((.1)^2 + (.1)^2) / 1)
    assert sgd["average_accuracy"] == pytest.approx(0.8)
    assert sgd["average_accuracy_std"] == pytest.approx(np.sqrt(0.02))
    # forgetting 0.4 and 0.2
    assert sgd["forgetting"] == pytest.approx(0.3)
    assert rows[1]["average_accuracy_std"] is None  # one run: no std
    table = format_table(rows)
    assert "0.800 ± 0.141" in table
    assert table.splitlines()[0].startswith("method")
    assert "adam" in table.splitlines()[3]


def test_summarize_groups_by_label():
    rows = summarize([_result(label="sgd lr=0.1"), _result(label="sgd lr=0.3")])
    assert [r["method"] for r in rows] == ["sgd lr=0.1", "sgd lr=0.3"]
    with pytest.raises(ValueError, match="Result"):
        summarize([{"method": "x"}])


def test_save_load_round_trip(tmp_path):
    rs = [_result(seed=0), _result(seed=1, R=[[1.0, 0.0], [0.8, 1.0]])]
    path = tmp_path / "sub" / "results.json"
    doc = save(path, rs, command="python -m classp run --method sgd")
    assert doc["schema"] == res.SCHEMA
    f = load(path)
    assert f.command == "python -m classp run --method sgd"
    assert set(f.versions) >= {"python", "torch", "classp", "numpy"}
    assert f.machine["cpu_count"] >= 1
    assert f.data == [{"sequence": "toy", "source": "hand-made", "options": {}}]
    assert f.config["seeds"] == [0, 1]
    assert len(f.results) == 2
    np.testing.assert_array_equal(f.results[1].accuracy_matrix, rs[1].accuracy_matrix)
    assert f.runs[0]["metrics"]["average_accuracy"] == pytest.approx(0.75)
    assert f.summary[0]["average_accuracy"] == pytest.approx((0.75 + 0.9) / 2)
    assert "±" in f.table()


def test_default_command_regenerates(tmp_path):
    r = _result()
    r.config.update({"lr": 0.3, "lr_given": True, "options_given": {"momentum": 0.9}, "sequence_options": {"n_tasks": 2}})
    doc = save(tmp_path / "r.json", [r])
    assert doc["command"].startswith("python -m classp run --method sgd --sequence toy --seeds 0")
    assert "--lr 0.3" in doc["command"] and "--set momentum=0.9" in doc["command"] and "--seq n_tasks=2" in doc["command"]


def _doc(tmp_path):
    save(tmp_path / "ok.json", [_result()], command="x")
    return json.loads((tmp_path / "ok.json").read_text())


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("schema"), "not a classp results file"),
    (lambda d: d.update(schema="classp-results/2"), "schema version 2 was written by a newer classp"),
    (lambda d: d.update(schema="other/1"), "not a classp results schema"),
    (lambda d: d.pop("versions"), "missing required key.*'versions'"),
    (lambda d: d.update(runs=[]), "at least one run"),
    (lambda d: d.update(config=[]), "'config' must be an object"),
    (lambda d: d["runs"][0].pop("accuracy_matrix"), r"runs\[0\]: missing required key.*accuracy_matrix"),
    (lambda d: d["runs"][0].update(accuracy_matrix=[[0.1, 0.2]]), r"runs\[0\].accuracy_matrix.*square"),
    (lambda d: d["runs"][0].update(initial_accuracy=[0.5]), r"initial_accuracy must have T = 2"),
    (lambda d: d["runs"][0].update(seed="0"), r"'seed' must be an integer"),
])
def test_schema_refusal(tmp_path, mutate, message):
    doc = _doc(tmp_path)
    mutate(doc)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=message):
        load(bad)


def test_not_json_and_not_an_object(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load(p)
    with pytest.raises(ValueError, match="JSON object"):
        validate([1, 2])


def test_save_refuses_bad_input(tmp_path):
    with pytest.raises(ValueError, match="at least one"):
        save(tmp_path / "r.json", [])
    with pytest.raises(ValueError, match="Result objects"):
        save(tmp_path / "r.json", [{"method": "sgd"}])
