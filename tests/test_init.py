"""The package's top level: light to import, every advertised name resolves, old paths still work."""
from __future__ import annotations

import importlib
import json
import subprocess
import sys
import warnings

import pytest

import classp

HEAVY = ("sklearn", "matplotlib", "ipywidgets", "nbformat", "nbclient", "classp.lab", "classp.data",
         "classp.viz", "classp.teaching")


@pytest.mark.parametrize("statement", ["import classp", "import classp.optim", "from classp import CLASSP",
                                       "from classp.optim import CLASSP, ReferenceCLASSP"])
def test_importing_the_optimizer_loads_nothing_of_the_lab(statement):
    # (torch alone, with nothing else installed, is tested on the installed wheel: test_packaging.py)
    code = f"import sys; {statement}; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", classp.__all__)
def test_every_name_in_all_resolves(name):
    assert getattr(classp, name) is not None


@pytest.mark.parametrize("room", ["optim", "data", "lab", "viz", "teaching", "cli"])
def test_rooms_are_attributes(room):
    assert getattr(classp, room) is importlib.import_module(f"classp.{room}")


def test_lazy_names_are_the_rooms_own():
    from classp.lab import metrics, train

    assert classp.run is train.run
    assert classp.forgetting is metrics.forgetting
    assert classp.get_sequence is importlib.import_module("classp.data").get_sequence


def test_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        classp.nope


def test_old_module_paths_are_aliases_of_the_new():
    """Every old path imports (in a fresh interpreter), warns once naming the new path, and is the new module."""
    code = ("import importlib, json, warnings\n"
            "from classp._compat import MOVED\n"
            "out = {}\n"
            "for old, new in MOVED.items():\n"
            "    with warnings.catch_warnings(record=True) as w:\n"
            "        warnings.simplefilter('always')\n"
            "        mod = importlib.import_module(old)\n"
            "    out[old] = [[str(x.message) for x in w if x.category is DeprecationWarning],\n"
            "                mod is importlib.import_module(new), mod.__spec__.name]\n"
            "print(json.dumps(out))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    moved = importlib.import_module("classp._compat").MOVED
    assert set(seen) == set(moved)
    for old, new in moved.items():
        messages, same, spec_name = seen[old]
        assert [m for m in messages if m.startswith(f"{old} moved to {new}")], (old, messages)
        assert same, f"{old} is not {new}"
        assert spec_name == new  # the alias did not overwrite the module's own spec


def test_readers_old_calls_keep_working():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import classp.tasks
        import classp.train
    assert classp.train.run is classp.run
    assert classp.tasks.get_sequence is classp.get_sequence
    assert classp.CLASSP is classp.optim.CLASSP and classp.ReferenceCLASSP is classp.optim.ReferenceCLASSP
