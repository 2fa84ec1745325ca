"""The kernel-free lab's data (classp.viz.lab_grid): the grid, one compacted run, the file and its checks."""
from __future__ import annotations

import json

import numpy as np
import pytest

from classp.viz import lab_grid as lg

TINY = {"methods": ["sgd", "classp", "ewc"], "sequences": ["digits-shared-head"], "seeds": [0], "lr_factors": [1.0],
        "thresholds": [0.0, 1e-4], "powers": [1.0], "decay": [True, False], "strength_factors": [1.0], "epochs": 1}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("grid") / "lab_grid.json"
    doc = lg.make_lab_grid(path, TINY, workers=1, command="python scripts/lab_grid.py --tiny")
    return path, doc


def test_the_books_grid_covers_every_method_sequence_and_knob():
    jobs = lg.grid_jobs()  # registry centres: no tuned files needed
    points = [j["point"] for j in jobs]
    assert {p["method"] for p in points} == set(lg.GRID_METHODS)
    assert {p["sequence"] for p in points} == set(lg.GRID_SEQUENCES)
    assert len({p["key"] for p in points}) == len(points)
    g = lg.LAB_GRID
    per = len(g["seeds"]) * len(g["lr_factors"]) * len(g["sequences"])
    classp = len(g["thresholds"]) * (len(g["powers"]) + 1)  # decay off: p plays no role
    n_plain = len(set(lg.GRID_METHODS) - {"classp"} - set(lg.REGULARISED))
    assert len(jobs) == per * (classp + n_plain + len(lg.REGULARISED) * len(g["strength_factors"]))
    off = [j for j in jobs if j["point"]["decay"] == 0]
    assert off and all(j["run"]["method"] == "classp-no-decay" and "power" not in j["run"]["options"] for j in off)


def test_tiny_grid_file_round_trips_and_matches_a_direct_run(tiny):
    path, doc = tiny
    again = lg.load_lab_grid(path)
    assert again["runs"] == json.loads(json.dumps(doc["runs"]))
    assert again["schema"] == lg.SCHEMA and again["command"].startswith("python scripts/lab_grid.py")
    assert {"python", "torch", "classp", "git"} <= set(again["versions"])
    assert len(doc["runs"]) == 1 + 2 + 2 + 1  # sgd, classp tau x decay on (p=1) and off, ewc
    r = lg.find_run(again, "classp", "digits-shared-head", 0, 0, tau_i=1, p_i=0, decay=1)
    assert r["registry_method"] == "classp" and r["options"] == {"threshold": 1e-4, "power": 1.0}
    from classp.lab.train import run
    direct = run("classp", "digits-shared-head", seed=0, epochs=1, lr=r["lr"], options=r["options"], progress=False)
    assert np.allclose(r["accuracy_matrix"], direct.accuracy_matrix, atol=1e-4)
    assert r["metrics"]["never_changed"] == pytest.approx(float(np.mean(direct.last_changed < 0)), abs=1e-4)
    assert len(r["map"]) == min(576, direct.n_params) and set(r["map"]) <= set(".01")
    assert len(r["density"]["values"]) <= 40 and len(r["curve"]["steps"]) == len(r["curve"]["accuracy"])


@pytest.mark.parametrize("grid, match", [
    ({"methods": ["nope"]}, "methods\\[0\\] must be one of"),
    ({"seeds": [-1]}, "seeds\\[0\\] must be an integer"),
    ({"seeds": []}, "seeds must hold at least one value"),
    ({"seeds": 3}, "seeds must be a list"),
    ({"lr_factors": [0]}, "lr_factors\\[0\\] must be a number"),
    ({"thresholds": [2.0]}, "thresholds\\[0\\] must be a number in \\[0, 1\\]"),
    ({"epochs": 0}, "epochs must be an integer"),
    ({"decay": ["yes"]}, "decay\\[0\\] must be"),
    ({"colour": 1}, "unknown entry"),
    ("all", "grid must be a dict"),
    ({"seeds": [0, 0]}, "seeds"),
])
def test_bad_grids_are_refused_naming_the_entry(grid, match):
    with pytest.raises(ValueError, match=match):
        lg.grid_jobs(grid)


def test_make_lab_grid_checks_workers_and_path_before_running(tmp_path):
    with pytest.raises(ValueError, match="workers must be an integer"):
        lg.make_lab_grid(tmp_path / "g.json", TINY, workers=0)
    with pytest.raises(ValueError, match="path must be a file name"):
        lg.make_lab_grid(tmp_path, TINY, workers=1)


def test_missing_tuned_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="tuned_digits-shared-head.json"):
        lg.grid_jobs(TINY, tuned_dir=tmp_path)
    (tmp_path / "tuned_digits-shared-head.json").write_text("{}")
    with pytest.raises(ValueError, match="not a tuning results file"):
        lg.grid_jobs(TINY, tuned_dir=tmp_path)


def _corrupt(doc, how):
    doc = json.loads(json.dumps(doc))
    r = next(r for r in doc["runs"] if not r["diverged"])
    if how == "schema":
        doc["schema"] = "other/1"
    elif how == "no runs":
        doc["runs"] = []
    elif how == "key":
        r["key"] = "x"
    elif how == "acc":
        r["accuracy_matrix"][0][0] = 1.5
    elif how == "map":
        r["map"] = "ab"
    elif how == "twice":
        doc["runs"].append(dict(r))
    elif how == "seed":
        r["seed"] = "0"
    elif how == "curve":
        r["curve"]["steps"] = r["curve"]["steps"][:-1]
    elif how == "list":
        doc = [doc]
    return doc


@pytest.mark.parametrize("how", ["schema", "no runs", "key", "acc", "map", "twice", "seed", "curve", "list"])
def test_corrupt_files_give_a_clear_error(tiny, tmp_path, how):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_corrupt(tiny[1], how)))
    with pytest.raises(ValueError, match="bad.json"):
        lg.load_lab_grid(bad)


def test_unreadable_and_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="scripts/lab_grid.py"):
        lg.load_lab_grid(tmp_path / "none.json")
    (tmp_path / "t.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        lg.load_lab_grid(tmp_path / "t.json")
    (tmp_path / "b.json").write_bytes(b"\xff\xfe")
    with pytest.raises(ValueError, match="not UTF-8"):
        lg.load_lab_grid(tmp_path / "b.json")
    with pytest.raises(ValueError, match="path must be"):
        lg.load_lab_grid(None)
    with pytest.raises(ValueError, match="path must be a file"):
        lg.load_lab_grid(tmp_path)


def test_find_run_refuses_an_unknown_point(tiny):
    with pytest.raises(ValueError, match="no run"):
        lg.find_run(tiny[1], "adam", "digits-shared-head", 0)


def test_compact_needs_the_per_weight_arrays():
    from types import SimpleNamespace
    with pytest.raises(ValueError, match="last_changed"):
        lg.compact(SimpleNamespace(last_changed=None))
    with pytest.raises(ValueError, match="map_size"):
        lg.compact(SimpleNamespace(last_changed=None), map_size=0)


def test_script_reports_bad_arguments(tmp_path, capsys):
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location("lab_grid_script", Path(__file__).parents[2] / "scripts" / "lab_grid.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--out", str(tmp_path / "g.json"), "--seeds", "x"]) == 2
    assert "seeds must be an integer" in capsys.readouterr().err
    assert mod.main(["--out", str(tmp_path / "g.json"), "--methods", "nope"]) == 2
    assert "methods[0] must be one of" in capsys.readouterr().err
    assert mod.main(["--out", str(tmp_path / "g.json"), "--workers", "0", "--tuned-dir", "none"]) == 2


def test_more_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="tuned_dir must be None or a folder"):
        lg.grid_jobs(TINY, tuned_dir=3)
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match="tuned_dir must be a folder"):
        lg.grid_jobs(TINY, tuned_dir=tmp_path / "f")
    with pytest.raises(ValueError, match="command must be None or a str"):
        lg.make_lab_grid(None, TINY, workers=1, command=3)
    with pytest.raises(ValueError, match="job must be one of the dicts"):
        lg.run_grid_point({"run": {}})
    with pytest.raises(ValueError, match="doc must be a lab grid"):
        lg.find_run([], "sgd", "split-digits", 0)
    with pytest.raises(ValueError, match="doc: schema must be"):
        lg.check_lab_grid({"schema": "x"})


def test_execute_checks_its_arguments():
    from classp.lab.tune import execute
    assert execute(abs, [(-1,), (2,)]) == [1, 2]
    with pytest.raises(ValueError, match="fn must be a callable"):
        execute(3, [(1,)])
    with pytest.raises(ValueError, match="jobs must be a list"):
        execute(abs, 3)
    with pytest.raises(ValueError, match="workers must be an integer"):
        execute(abs, [(1,)], workers=0)
    with pytest.raises(ValueError, match="executor must have a submit"):
        execute(abs, [(1,)], executor=object())
