"""``python -m classp tune`` with sequence options (issue 12: the class-incremental split and a 20-task sequence).

The options reach every job and are recorded in the results file; a bad sequence option ends the command
before any job runs, with exit status 2 and one line naming the option and its valid values.
"""
from __future__ import annotations

import json

import pytest

from classp.cli import main

TINY = ["--methods", "sgd", "--budget", "1", "--tuning-seeds", "100", "--seeds", "0", "--epochs", "1",
        "--workers", "1", "--quiet"]


def test_scenario_and_n_tasks_reach_every_job_and_the_file(tmp_path):
    out = tmp_path / "t.json"
    assert main(["tune", "--sequence", "split-digits", "--scenario", "class", "--n-tasks", "2", *TINY,
                 "--jobs-dir", str(tmp_path / "jobs"), "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["config"]["sequence_options"] == {"scenario": "class", "n_tasks": 2, "validation": 0.1}
    assert "--scenario class --n-tasks 2" in doc["command"]
    jobs = [json.loads(p.read_text()) for p in (tmp_path / "jobs").glob("*.json")]
    assert len(jobs) == 2  # one tuning run, one test run
    assert all(j["config"]["sequence_options"]["scenario"] == "class" for j in jobs)
    run = doc["runs"][0]
    assert len(run["accuracy_matrix"]) == 2


def test_n_tasks_of_a_long_permuted_sequence(tmp_path):
    out = tmp_path / "p.json"
    assert main(["tune", "--sequence", "permuted-digits", "--n-tasks", "4", *TINY, "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert len(doc["runs"][0]["accuracy_matrix"]) == 4


BAD = [
    (["--sequence", "permuted-digits", "--scenario", "class"], r"unknown option\(s\) \['scenario'\]"),
    (["--sequence", "split-digits", "--n-tasks", "3"], "n_tasks must be one of 2, 5; got 3"),
    (["--sequence", "split-digits", "--n-tasks", "0"], "--n-tasks must be an integer >= 1; got 0"),
    (["--sequence", "permuted-digits", "--n-tasks", "-4"], "--n-tasks must be an integer >= 1; got -4"),
    (["--sequence", "permuted-digits", "--n-tasks", "101"], r"n_tasks must be an integer in \[1, 100\]; got 101"),
    (["--sequence", "permuted-digits", "--seq", "n_tasks=2.5"], "n_tasks must be an integer"),
    (["--sequence", "split-digits", "--seq", "scenario=domain"], "scenario must be one of"),
    (["--sequence", "split-digits", "--seq", "colour=red"], r"unknown option\(s\) \['colour'\]"),
    (["--sequence", "split-digits", "--seq", "nokey"], "--seq expects KEY=VALUE"),
    (["--sequence", "no-such-sequence"], "sequence must be one of"),
]


@pytest.mark.parametrize("extra, message", BAD, ids=[" ".join(b[0][1:]) for b in BAD])
def test_a_bad_sequence_option_stops_before_any_job(tmp_path, capsys, extra, message):
    import re

    jobs, out = tmp_path / "jobs", tmp_path / "t.json"
    assert main(["tune", *TINY, *extra, "--jobs-dir", str(jobs), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m classp tune: error: ") and len(err.strip().splitlines()) == 1
    assert re.search(message, err), err
    assert not out.exists()
    assert not jobs.exists() or not any(jobs.iterdir())  # no job ran


@pytest.mark.parametrize("value", ["two", "", "1e3"])
def test_a_non_integer_n_tasks_is_refused_by_the_parser(capsys, value):
    with pytest.raises(SystemExit) as exc:
        main(["tune", *TINY, "--sequence", "permuted-digits", "--n-tasks", value])
    assert exc.value.code == 2
    assert "--n-tasks" in capsys.readouterr().err
