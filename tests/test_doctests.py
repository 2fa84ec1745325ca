"""The examples in the package's docstrings run and print what they say (in a fresh interpreter,
so that an example's side effects, such as registering a sequence, stay out of the other tests)."""
from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import doctest, importlib, json, pkgutil, classp
report = {}
for info in pkgutil.walk_packages(classp.__path__, "classp."):
    if info.name == "classp.__main__":
        continue
    module = importlib.import_module(info.name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False, report=True)
    report[info.name] = [result.failed, result.attempted]
print("REPORT" + json.dumps(report))
"""


def test_docstring_examples_run():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.split("REPORT")[-1])
    failed = {name: f for name, (f, _) in report.items() if f}
    assert not failed, f"failing docstring examples: {failed}\n{proc.stdout[-4000:]}"
    assert sum(n for _, n in report.values()) >= 20  # the examples are really there
    for room in ("optim", "data", "lab", "viz", "teaching"):
        assert any(name.startswith(f"classp.{room}") for name in report)
