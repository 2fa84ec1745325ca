"""The package's top level: light to import, and every advertised name resolves."""
from __future__ import annotations

import subprocess
import sys

import pytest

import classp


def test_import_classp_loads_only_the_optimizers():
    code = "import sys, classp; print(sorted(m for m in ('sklearn', 'matplotlib', 'classp.lab.train') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", classp.__all__)
def test_every_name_in_all_resolves(name):
    assert getattr(classp, name) is not None


def test_lazy_names_are_the_modules_own():
    from classp.lab import metrics, train

    assert classp.run is train.run
    assert classp.forgetting is metrics.forgetting


def test_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        classp.nope
