"""classp.lab.results: Result, results files (provenance header, round trip, schema refusal), atomic writes."""
import datetime as dt
import json

import numpy as np
import pytest

from classp import _provenance
from classp.lab import results as res
from classp.lab.results import Result, command_for, load, save, validate


def test_metrics_of_a_hand_made_result(make_result):
    m = make_result().metrics()
    assert m["average_accuracy"] == pytest.approx(0.75)
    assert m["backward_transfer"] == pytest.approx(-0.2)
    assert m["forgetting"] == pytest.approx(0.2)
    assert m["forward_transfer"] == pytest.approx(0.5 - 0.5)
    assert m["mean_density"] == pytest.approx(0.25)
    assert make_result().label == "sgd"


def test_result_checks_lengths():
    with pytest.raises(ValueError, match="initial_accuracy"):
        Result(method="m", sequence="s", seed=0, config={}, task_names=["a", "b"], accuracy_matrix=[[1, 0], [0, 1]],
               initial_accuracy=[0.5], losses=[], density=[], task_boundaries=[], eval_steps=[], accuracy_curve=[])
    with pytest.raises(ValueError, match="R must"):
        Result(method="m", sequence="s", seed=0, config={}, task_names=["a"], accuracy_matrix=[[0.1, 0.2]],
               initial_accuracy=[0.5], losses=[], density=[], task_boundaries=[], eval_steps=[], accuracy_curve=[])


def test_to_dict_from_dict_round_trip_full(make_result):
    r = make_result()
    d = json.loads(json.dumps(r.to_dict()))
    r2 = Result.from_dict(d)
    np.testing.assert_array_equal(r2.accuracy_matrix, r.accuracy_matrix)
    np.testing.assert_array_equal(r2.losses, r.losses)
    np.testing.assert_array_equal(r2.last_changed, r.last_changed)
    np.testing.assert_array_equal(r2.update_counts[1], r.update_counts[1])
    assert r2.metrics() == r.metrics()
    assert (r2.method, r2.seed, r2.task_names, r2.state_bytes, r2.source) == (r.method, r.seed, r.task_names, 120, "hand-made")


def test_compact_dict_downsamples_by_block_means(make_result):
    losses = np.arange(2500, dtype=float)
    d = make_result(losses=losses).to_dict(compact=True, max_points=1000)
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


def test_save_load_round_trip(tmp_path, make_result):
    rs = [make_result(seed=0), make_result(seed=1, R=[[1.0, 0.0], [0.8, 1.0]])]
    path = tmp_path / "sub" / "results.json"
    doc = save(path, rs, command="python -m classp run --method sgd")
    assert doc["schema"] == res.SCHEMA
    f = load(path)
    assert f.command == "python -m classp run --method sgd"
    assert set(f.versions) >= {"python", "torch", "classp", "numpy", "git"}
    assert f.versions == _provenance.versions()
    assert f.machine["cpu_count"] >= 1 and set(f.machine) == set(_provenance.machine())
    # the header comes first, in the order every file of the project uses, and it is UTC
    assert list(doc)[:5] == ["schema", "command", "created", "versions", "machine"]
    created = dt.datetime.fromisoformat(f.created)
    assert created.utcoffset() == dt.timedelta(0)
    assert abs((dt.datetime.now(dt.timezone.utc) - created).total_seconds()) < 120
    assert f.data == [{"sequence": "toy", "source": "hand-made", "options": {}}]
    assert f.config["seeds"] == [0, 1]
    assert len(f.results) == 2
    np.testing.assert_array_equal(f.results[1].accuracy_matrix, rs[1].accuracy_matrix)
    assert f.runs[0]["metrics"]["average_accuracy"] == pytest.approx(0.75)
    assert f.summary[0]["average_accuracy"] == pytest.approx((0.75 + 0.9) / 2)
    assert "±" in f.table() and f.table().splitlines()[0].startswith("method")


def test_default_command_regenerates(tmp_path, make_result):
    r = make_result(config={"lr": 0.3, "lr_given": True, "options_given": {"momentum": 0.9},
                        "sequence_options": {"n_tasks": 2}})
    doc = save(tmp_path / "r.json", [r])
    assert doc["command"].startswith("python -m classp run --method sgd --sequence toy --seeds 0")
    assert "--lr 0.3" in doc["command"] and "--set momentum=0.9" in doc["command"] and "--seq n_tasks=2" in doc["command"]


def test_command_for_spells_out_epochs_per_task_and_several_methods(make_result):
    runs = [make_result(config={"epochs": [2, 1]}), make_result(method="adam", config={"epochs": [2, 1]}),
            make_result(method="adam", seed=1, config={"epochs": [2, 1]})]
    assert command_for(runs) == ("python -m classp compare --methods sgd adam --sequence toy --seeds 0 1 "
                                 "--epochs 2 1 --batch-size 4")
    with pytest.raises(ValueError, match="at least one"):
        command_for([])


def test_results_has_one_job():
    # tables and provenance have their own homes (classp.lab.tables, classp._provenance)
    for name in ("summarize", "format_table", "versions", "machine"):
        assert not hasattr(res, name) and name not in res.__all__


def test_compact_form_leaves_the_result_as_it_was(make_result):
    r = make_result(losses=np.arange(10.0))
    d = r.to_dict(compact=True, max_points=3)
    assert d["curve_stride"] == 4 and len(d["losses"]) == 3
    assert r.curve_stride == 1 and len(r.losses) == 10 and r.update_counts is not None


def _doc(tmp_path, make_result):
    save(tmp_path / "ok.json", [make_result()], command="x")
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
def test_schema_refusal(tmp_path, mutate, message, make_result):
    doc = _doc(tmp_path, make_result)
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


def test_save_refuses_bad_input(tmp_path, make_result):
    with pytest.raises(ValueError, match="at least one"):
        save(tmp_path / "r.json", [])
    with pytest.raises(ValueError, match="Result objects"):
        save(tmp_path / "r.json", [{"method": "sgd"}])
    with pytest.raises(ValueError, match=r"^max_points must be an integer >= 1; got 0$"):
        save(tmp_path / "r.json", [make_result()], max_points=0)
    assert not (tmp_path / "r.json").exists()


def test_to_dict_accepts_numpy_max_points(make_result):
    d = make_result(losses=np.arange(10.0)).to_dict(compact=True, max_points=np.int64(5))
    assert d["curve_stride"] == 2 and len(d["losses"]) == 5
    with pytest.raises(ValueError, match=r"^max_points must be an integer >= 1; got True$"):
        make_result().to_dict(max_points=True)


def test_files_written_before_the_git_key_still_load(tmp_path, make_result):
    save(tmp_path / "ok.json", [make_result()], command="x")
    doc = json.loads((tmp_path / "ok.json").read_text())
    doc["versions"].pop("git")
    doc["created"] = "2025-01-01T12:00:00+00:00"
    (tmp_path / "old.json").write_text(json.dumps(doc))
    assert load(tmp_path / "old.json").versions.get("git") is None


# ---------------------------------------------------------------------------------------------
# impossible, contradictory and malformed files (issue 16): refused naming the file and the key
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["runs"][0]["accuracy_matrix"][1].__setitem__(0, "abc"),
     "runs[0].accuracy_matrix[1][0] must be a number in [0, 1]; got 'abc'"),
    (lambda d: d["runs"][0]["accuracy_matrix"][0].__setitem__(1, 7.5),
     "runs[0].accuracy_matrix[0][1] must be a number in [0, 1]; got 7.5"),
    (lambda d: d["runs"][0]["accuracy_matrix"][0].__setitem__(0, -3.0),
     "runs[0].accuracy_matrix[0][0] must be a number in [0, 1]; got -3.0"),
    (lambda d: d["runs"][0]["accuracy_matrix"][0].__setitem__(0, True),
     "runs[0].accuracy_matrix[0][0] must be a number in [0, 1]; got True"),
    (lambda d: d["runs"][0]["accuracy_matrix"].__setitem__(0, 0.5),
     "runs[0].accuracy_matrix[0] must be a list; got 0.5"),
    (lambda d: d["runs"][0]["initial_accuracy"].__setitem__(1, 1.5),
     "runs[0].initial_accuracy[1] must be a number in [0, 1]; got 1.5"),
    (lambda d: d["runs"][0].update(wall_s=-1.0), "runs[0].wall_s must be a finite number >= 0; got -1.0"),
    (lambda d: d["runs"][0].update(losses=["abc"]), "runs[0]: "),
])
def test_impossible_values_are_refused_naming_file_and_key(tmp_path, mutate, message, make_result):
    doc = _doc(tmp_path, make_result)
    mutate(doc)
    bad = tmp_path / "r.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(ValueError) as e:
        load(bad)
    assert str(e.value).startswith(f"{bad}: {message}")
    assert "could not convert" not in str(e.value) or message == "runs[0]: "


def test_nan_accuracy_is_refused(tmp_path, make_result):
    doc = _doc(tmp_path, make_result)
    text = json.dumps(doc).replace('"accuracy_matrix": [[0.9', '"accuracy_matrix": [[NaN', 1)
    (tmp_path / "r.json").write_text(text)
    with pytest.raises(ValueError, match=r"accuracy_matrix\[0\]\[0\] must be a number in \[0, 1\]; got nan"):
        load(tmp_path / "r.json")


def test_the_summary_is_recomputed_from_the_runs(tmp_path, make_result):
    """Before: a stored summary that contradicted the runs was printed by table()."""
    doc = _doc(tmp_path, make_result)
    true_table = load(tmp_path / "ok.json").table()
    for row in doc["summary"]:
        for key, value in row.items():
            if isinstance(value, float):
                row[key] = 1.0
    (tmp_path / "lie.json").write_text(json.dumps(doc))
    f = load(tmp_path / "lie.json")
    assert f.table() == true_table and "0.750" in f.table()
    assert f.summary[0]["average_accuracy"] != 1.0


def test_non_utf8_and_deeply_nested_files_are_named(tmp_path):
    (tmp_path / "latin1.json").write_bytes('{"schema": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(ValueError, match=f"^{tmp_path / 'latin1.json'}: not UTF-8 text " + r"\(byte 0xe9"):
        load(tmp_path / "latin1.json")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match=f"^{tmp_path / 'deep.json'}: JSON nested too deeply"):
        load(tmp_path / "deep.json")
