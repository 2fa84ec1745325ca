"""scripts/regenerate_results.py: every results file's recorded command, in order, timed."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load():
    spec = importlib.util.spec_from_file_location("scripts_regenerate_results", ROOT / "scripts" / "regenerate_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


R = _load()


def test_the_plan_covers_every_committed_file_with_timings_last():
    steps = R.plan()
    names = [s["file"] for s in steps]
    assert sorted(names) == sorted(p.name for p in (ROOT / "book" / "results").glob("*.json"))
    assert names[-1] == "timings.json"
    assert all(s["command"].startswith(("python -m classp", "python scripts/")) for s in steps)
    split = next(s for s in steps if s["file"] == "head_to_head_split-digits.json")
    doc = json.loads((ROOT / "book/results/head_to_head_split-digits.json").read_text())
    assert split["recorded_s"] == pytest.approx(sum(r["wall_s"] for r in doc["runs"]), abs=0.1)


def _fake(tmp_path, monkeypatch, files):
    res = tmp_path / "book" / "results"
    res.mkdir(parents=True)
    for name, doc in files.items():
        (res / name).write_text(json.dumps(doc))
    monkeypatch.setattr(R, "RESULTS", res)
    monkeypatch.setattr(R, "REPO", tmp_path)
    return res


def test_runs_each_recorded_command_and_reports_times(tmp_path, monkeypatch, capsys):
    cmd = "python -c \"open('ran.txt', 'a').write('x')\""
    _fake(tmp_path, monkeypatch, {"a.json": {"schema": "classp-results/1", "command": cmd, "runs": [{"wall_s": 2.0}]},
                                  "timings.json": {"schema": "classp-timings/1", "command": cmd,
                                                   "notebooks": {"x": {"exec_s": 3.0}}}})
    report = tmp_path / "report.json"
    assert R.main(["--report", str(report)]) == 0
    assert (tmp_path / "ran.txt").read_text() == "xx"           # both commands ran, in the repository root
    doc = json.loads(report.read_text())
    assert doc["schema"] == "classp-regeneration/1" and [s["file"] for s in doc["steps"]] == ["a.json", "timings.json"]
    assert [s["recorded_s"] for s in doc["steps"]] == [2.0, 3.0] and all(s["returncode"] == 0 for s in doc["steps"])


def test_a_failing_command_stops_the_rest(tmp_path, monkeypatch, capsys):
    _fake(tmp_path, monkeypatch, {"a.json": {"schema": "classp-results/1", "command": "python -c \"raise SystemExit(3)\""},
                                  "b.json": {"schema": "classp-results/1", "command": "python -c \"open('b', 'w')\""}})
    assert R.main([]) == 1
    assert not (tmp_path / "b").exists()
    assert "failed; the files before it are regenerated" in capsys.readouterr().err


def test_dry_run_runs_nothing(tmp_path, monkeypatch, capsys):
    _fake(tmp_path, monkeypatch, {"a.json": {"schema": "classp-results/1", "command": "python -c \"open('a', 'w')\"",
                                             "config": {"wall_s_total": 7200}}})
    assert R.main(["--dry-run"]) == 0
    assert not (tmp_path / "a").exists() and "2.0 h" in capsys.readouterr().out


@pytest.mark.parametrize("files,args,msg", [
    ({"a.json": {"schema": "classp-results/1"}}, [], "records no 'command'"),
    ({"a.json": "not json"}, [], "not a readable JSON file"),
    ({}, ["missing.json"], "no such file"),
])
def test_bad_files_are_named(tmp_path, monkeypatch, capsys, files, args, msg):
    res = _fake(tmp_path, monkeypatch, {k: v for k, v in files.items() if isinstance(v, dict)})
    for k, v in files.items():
        if not isinstance(v, dict):
            (res / k).write_text(v)
    assert R.main(args) == 2
    assert msg in capsys.readouterr().err
