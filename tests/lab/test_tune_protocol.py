"""classp.lab.tune on the paper's protocols: their real data with a validation split, their stream order,
EWC's Fisher sample, the released code as a tunable method, and the command line's refusals."""
from __future__ import annotations

import json

import pytest

from classp.data import DatasetNotFound
from classp.lab.protocol_data import protocol_sequence
from classp.lab.protocols import FULL
from classp.lab.tune import SEARCH_SPACES, _method, configurations, tune


@pytest.fixture
def vision_root(tmp_path, write_image_set):
    """A data folder with small MNIST and Fashion-MNIST IDX files (8 training, 2 test images per class)."""
    write_image_set(tmp_path / "mnist", 1, gz=True, n_train_per_class=8, n_test_per_class=2)
    write_image_set(tmp_path / "fashion-mnist", 2, gz=False, n_train_per_class=8, n_test_per_class=2)
    return tmp_path


def test_protocol_sequence_carves_a_stratified_validation_split(vision_root):
    seq = protocol_sequence("vision", root=vision_root, validation=0.25)
    assert seq.name == "mnist-fashion" and seq.source.startswith("real data")
    for task in seq.tasks:
        assert (len(task.y_train), len(task.y_val), len(task.y_test)) == (60, 20, 20)
        assert sorted(task.y_val.tolist()) == sorted(list(range(10)) * 2)   # stratified: 2 per class
    again = protocol_sequence("vision", root=vision_root, validation=0.25, seed=5)
    assert all(a.y_val.tolist() == b.y_val.tolist() for a, b in zip(seq.tasks, again.tasks))  # not the run's seed


def test_protocol_sequence_never_falls_back_to_the_digits(tmp_path):
    with pytest.raises(DatasetNotFound, match="fetch-data mnist"):
        protocol_sequence("vision", root=tmp_path)


@pytest.mark.parametrize("kwargs, message", [
    (dict(protocol="audio"), r"protocol must be one of 'vision', 'sentiment'; got 'audio'"),
    (dict(protocol="vision", validation=0.7), r"validation must be a number in \[0, 0.5\]; got 0.7"),
])
def test_protocol_sequence_rejects(kwargs, message):
    with pytest.raises(ValueError, match=message):
        protocol_sequence(**kwargs)


def test_tune_on_the_vision_protocol_keeps_its_stream_and_fisher_sample(vision_root, tmp_path):
    opts = {"root": str(vision_root)}
    tr = tune("ewc", protocol="vision", sequence_options=opts, space={"lr": (0.01, 0.1), "lam": (1.0,)}, budget=2,
              tuning_seeds=(100,), test_seeds=(0, 1), epochs=(1, 1), workers=1, jobs_dir=tmp_path / "jobs")
    sel = tr.selection
    assert sel["protocol"] == "vision" and sel["shuffle"] is FULL["vision"]["shuffle"] is False
    assert sel["fixed"] == {"fisher_samples": FULL["vision"]["fisher_samples"]}
    assert tr.options == {"fisher_samples": 1000, "lam": 1.0}
    for r in tr.results:
        assert r.config["shuffle"] is False and r.config["model_name"] == "cnn" and r.sequence == "mnist-fashion"
        assert r.config["options"]["fisher_samples"] == 1000
        # validation 0.1 of 80 training images per domain
        assert r.validation_matrix is not None and r.config["task_sizes"] == [[72, 20], [72, 20]]
    jobs = [json.loads(p.read_text()) for p in (tmp_path / "jobs").glob("*.json")]
    assert len(jobs) == 2 + 2 and all("protocol:vision" in j["command"] for j in jobs)


def test_the_released_codes_are_tunable_on_learning_rate_only():
    assert SEARCH_SPACES["reference"] == SEARCH_SPACES["reference-sa"] == SEARCH_SPACES["sgd"]
    sa = _method("reference-sa")  # experiment_SA.py's rule: not in the registry, known to the tuner
    assert sa.name == "reference-sa"
    assert {k: sa.defaults[k] for k in ("threshold", "epsilon", "power")} == {"threshold": 0.99, "epsilon": 1e-4,
                                                                              "power": 1}
    assert len(configurations(SEARCH_SPACES["reference-sa"], 16)) == 16


def test_tune_refuses_sequence_options_a_protocol_does_not_take(vision_root):
    with pytest.raises(ValueError, match=r"sequence_options \['n_tasks'\] do not apply to a protocol"):
        tune("sgd", protocol="vision", sequence_options={"n_tasks": 2}, space={"lr": (0.1,)}, budget=1,
             tuning_seeds=(100,), test_seeds=(0,), workers=1)
    with pytest.raises(ValueError, match="protocol must be one of"):
        tune("sgd", protocol="audio", space={"lr": (0.1,)}, budget=1, tuning_seeds=(100,), test_seeds=(0,), workers=1)


@pytest.mark.parametrize("extra, rc, message", [
    (["--sequence", "split-digits"], 2, "--protocol and --sequence exclude each other"),
    (["--n-tasks", "2"], 2, "--protocol takes the sequence options train_limit, test_limit and root only; got n_tasks"),
    (["--seq", "root=/nonexistent/classp-data"], 1, "fetch-data mnist --root /nonexistent/classp-data"),
])
def test_the_cli_refuses_a_protocol_it_cannot_tune(extra, rc, message, capsys):
    from classp.cli import main

    assert main(["tune", "--protocol", "vision", "--methods", "sgd", "--seeds", "0", *extra]) == rc
    assert message in capsys.readouterr().err
