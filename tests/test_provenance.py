"""classp._provenance: one header for every file the project writes."""
from __future__ import annotations

import datetime as dt
import subprocess

import classp
from classp import _provenance


def test_header_keys_and_order():
    h = _provenance.header("classp-test/1", "python -m classp list")
    assert list(h) == ["schema", "command", "created", "versions", "machine"]
    assert h["schema"] == "classp-test/1" and h["command"] == "python -m classp list"


def test_created_is_utc_to_the_second():
    created = dt.datetime.fromisoformat(_provenance.header("s/1", "c")["created"])
    assert created.utcoffset() == dt.timedelta(0)
    assert abs((dt.datetime.now(dt.timezone.utc) - created).total_seconds()) < 60
    assert created.microsecond == 0


def test_versions_name_what_a_result_depends_on():
    import torch

    v = _provenance.versions()
    assert v["torch"] == torch.__version__ and v["classp"] == classp.__version__
    assert {"python", "git"} <= set(v)


def test_git_revision_is_the_checkouts_commit():
    head = subprocess.run(["git", "-C", str(_provenance.Path(classp.__file__).parents[1]), "rev-parse", "HEAD"],
                          capture_output=True, text=True)
    rev = _provenance.git_revision()
    if head.returncode != 0:
        assert rev is None
    else:
        assert rev.split("+")[0] == head.stdout.strip()


def test_machine_records_threads():
    import torch

    m = _provenance.machine()
    assert m["torch_threads"] == torch.get_num_threads() and m["cpu_count"] >= 1


def test_command_defaults_to_how_this_process_started():
    assert _provenance.header("s/1", None)["command"]
