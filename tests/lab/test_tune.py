"""classp.lab.tune: equal budgets, selection on validation seeds, reporting on fresh test seeds, resume."""
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from classp.lab import methods as M
from classp.lab.tune import SEARCH_SPACES, _method, configurations, run_job, tune

TINY = dict(sequence_options={"n_tasks": 2}, tuning_seeds=(100,), test_seeds=(0, 1), workers=1)


def test_every_declared_space_gives_the_same_budget():
    for name, space in SEARCH_SPACES.items():
        m = _method(name)  # the registry's methods, and the released sentiment rule known to the tuner
        assert set(space) - {"lr"} <= set(m.option_names), name
        configs = configurations(space, 16)
        assert len(configs) == 16 and len({json.dumps(c, sort_keys=True) for c in configs}) == 16, name
        assert all(set(c) == set(space) for c in configs)


def test_lr_only_grids_span_three_decades():
    for name, space in SEARCH_SPACES.items():
        if set(space) == {"lr"}:
            assert max(space["lr"]) / min(space["lr"]) >= 1e3, name


def test_configurations_samples_a_larger_grid_reproducibly():
    space = {"a": (1, 2, 3), "b": (10, 20, 30)}
    one, two = configurations(space, 4, seed=3), configurations(space, 4, seed=3)
    assert one == two and len(one) == 4
    grid = [{"a": a, "b": b} for a in (1, 2, 3) for b in (10, 20, 30)]
    assert [grid.index(c) for c in one] == sorted(grid.index(c) for c in one)  # grid order
    assert configurations(space, 9) == grid


@pytest.mark.parametrize("space,budget,msg", [
    ({"lr": (0.1, 0.2)}, 3, "2 configurations, fewer than the budget 3"),
    ({}, 1, "space must be a non-empty dict"),
    ({"lr": ()}, 1, r"space\['lr'\] must be a non-empty sequence"),
    ({"lr": (0.1, 0.1)}, 1, "repeat"),
    ({"lr": (0.1,)}, 0, "budget must be an integer >= 1"),
])
def test_bad_spaces(space, budget, msg):
    with pytest.raises(ValueError, match=msg):
        configurations(space, budget)


def test_tune_chooses_on_validation_and_reports_on_test_seeds(tmp_path):
    tr = tune("sgd", "split-digits", space={"lr": (1e-4, 0.1)}, budget=2, jobs_dir=tmp_path, **TINY)
    sel = tr.selection
    assert [s["config"]["lr"] for s in sel["scores"]] == [1e-4, 0.1]
    best = max(sel["scores"], key=lambda s: s["score"])
    assert tr.lr == best["config"]["lr"] == 0.1          # lr 1e-4 barely moves the network in one epoch
    assert sel["at_edge"] == ["lr"]                      # and says that 0.1 is the grid's end
    assert sel["split"] == "validation" and sel["tuning_seeds"] == [100] and sel["test_seeds"] == [0, 1]
    assert [r.seed for r in tr.results] == [0, 1]
    assert all(r.config["lr"] == 0.1 and r.validation_matrix is not None for r in tr.results)
    # the selection score is the validation metric of the tuning run, not a test number
    job = json.loads(next(p for p in tmp_path.glob("*.json")).read_text())
    assert job["data"][0]["options"]["validation"] == 0.1


def test_tune_resumes_from_its_job_files(tmp_path, monkeypatch):
    first = tune("sgd", "split-digits", space={"lr": (0.03, 0.1)}, budget=2, jobs_dir=tmp_path, **TINY)
    n = len(list(tmp_path.glob("*.json")))
    assert n == 2 + 2  # two configurations on one tuning seed, then the chosen one on test seeds 0 and 1
    import classp.lab.train as T

    def boom(*a, **k):
        raise AssertionError("a finished job ran again")

    monkeypatch.setattr(T, "run", boom)
    again = tune("sgd", "split-digits", space={"lr": (0.03, 0.1)}, budget=2, jobs_dir=tmp_path, **TINY)
    assert again.selection["scores"] == first.selection["scores"]
    assert [r.accuracy_matrix.tolist() for r in again.results] == [r.accuracy_matrix.tolist() for r in first.results]


def test_any_concurrent_futures_executor_runs_the_jobs():
    with ThreadPoolExecutor(2) as ex:
        tr = tune("sgd", "split-digits", space={"lr": (0.03, 0.1)}, budget=2, executor=ex,
                  **{k: v for k, v in TINY.items() if k != "workers"})
    assert len(tr.results) == 2


def test_a_diverging_configuration_is_never_chosen():
    tr = tune("sgd", "split-digits", space={"lr": (0.1, 1e6)}, budget=2, **TINY)
    assert tr.selection["scores"][1]["diverged"] and tr.selection["scores"][1]["score"] is None
    assert tr.lr == 0.1


@pytest.mark.parametrize("kw,msg", [
    (dict(tuning_seeds=(0,), test_seeds=(0, 1)), r"overlap on \[0\]: report on seeds tuning never saw"),
    (dict(space={"lr": (0.1,), "lam": (1.0,)}, budget=1), r"no knob\(s\) \['lam'\]"),
    (dict(criterion="forgetting"), "criterion must be one of"),
    (dict(validation=0.0), r"validation must be a number in \(0, 0.5\]"),
    (dict(tuning_seeds=()), "tuning_seeds must hold at least one seed"),
])
def test_tune_refuses(kw, msg):
    args = {**dict(space={"lr": (0.1,)}, budget=1, **TINY), **kw}
    with pytest.raises(ValueError, match=msg):
        tune("sgd", "split-digits", **args)


def test_a_method_without_a_space_is_named(monkeypatch):
    monkeypatch.delitem(SEARCH_SPACES, "reference")
    with pytest.raises(ValueError, match="'reference' has no declared search space"):
        tune("reference", "split-digits", **TINY)


def test_the_cli_writes_the_selection(tmp_path):
    from classp.cli import main
    from classp.lab.results import load

    out = tmp_path / "t.json"
    assert main(["tune", "--methods", "sgd", "--n-tasks", "2", "--budget", "16", "--tuning-seeds", "100",
                 "--seeds", "0", "--workers", "2", "--out", str(out), "--quiet", "--jobs-dir", str(tmp_path / "jobs")]) == 0
    doc = json.loads(out.read_text())
    sel = doc["selection"]["sgd"]
    assert sel["budget"] == 16 and len(sel["scores"]) == 16 and sel["criterion"] == "average_accuracy"
    assert doc["command"].startswith("python -m classp tune --methods sgd")
    assert load(out).results[0].seed == 0
    assert main(["tune", "--methods", "sgd", "--tuning-seeds", "0", "--seeds", "0"]) == 2


def test_widen_shifts_an_edge_grid_by_a_decade_and_records_the_rounds(tmp_path):
    tr = tune("sgd", "split-digits", space={"lr": (0.01, 0.03)}, budget=2, jobs_dir=tmp_path, widen=1, **TINY)
    sel = tr.selection
    (first,) = sel["rounds"]  # a two-value grid always chooses an edge: one round of widening, then none left
    assert first["space"]["lr"] == [0.01, 0.03] and first["at_edge"] == ["lr"]
    factor = 0.1 if first["chosen"]["lr"] == 0.01 else 10.0   # the decade beyond the chosen edge
    assert sel["space"]["lr"] == [pytest.approx(0.01 * factor), pytest.approx(0.03 * factor)]
    assert first["chosen"]["lr"] * factor in [pytest.approx(v) for v in sel["space"]["lr"]]
    assert [s["config"]["lr"] for s in first["scores"]] == [0.01, 0.03]
    assert sel["configurations_tried"] == 4 and sel["budget"] == 2
    assert tr.lr in sel["space"]["lr"] and all(r.config["lr"] == tr.lr for r in tr.results)
    # an interior choice stops the widening, and the threshold (not on a log scale) is never shifted
    inner = tune("classp", "split-digits", space={"lr": (0.03, 0.3, 30.0), "threshold": (0.0, 1e-6)}, budget=6,
                 jobs_dir=tmp_path, widen=3, **TINY)
    assert inner.lr == 0.3 and "lr" not in inner.selection["at_edge"]
    assert inner.selection["rounds"] == [] and inner.selection["configurations_tried"] == 6


def test_widen_is_checked_before_any_run():
    with pytest.raises(ValueError, match="widen must be an integer >= 0; got -1"):
        tune("sgd", "split-digits", space={"lr": (0.1,)}, budget=1, widen=-1, **TINY)


def test_chosen_settings_are_what_the_reported_runs_used():
    from pathlib import Path

    from classp.lab.results import load
    from classp.lab.tune import chosen_settings

    path = Path(__file__).resolve().parents[2] / "book/results/tuned_permuted-digits.json"
    settings = chosen_settings(path)
    assert set(settings) == {r.method for r in load(path).results}
    for r in load(path).results:
        s = dict(settings[r.method])
        assert r.config["lr"] == s.pop("lr") and all(r.config["options"][k] == v for k, v in s.items()), r.method


@pytest.mark.parametrize("source, message", [
    ({"runs": []}, "records no selection"),
    ("/nonexistent/tuned.json", "could not read"),
])
def test_chosen_settings_refuses(source, message):
    from classp.lab.tune import chosen_settings

    with pytest.raises(ValueError, match=message):
        chosen_settings(source)
