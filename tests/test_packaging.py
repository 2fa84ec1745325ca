"""The installed package: the wheel holds the package only, and the optimizer works beside torch alone.

A practitioner runs ``pip install classp`` (not editable, no repository) into an environment that
has torch and nothing of the lab. These tests build the wheel from a copy of the sources and
install it into a new virtual environment that sees only torch and torch's own runtime
dependencies (linked from this environment, so no 5 GB copy), then train one step there.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROOMS = ("optim", "data", "lab", "viz", "teaching")

pytestmark = pytest.mark.slow


def _run(cmd, **kw):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of pyproject.toml, README.md and classp/ (the checkout stays clean)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "classp", src / "classp", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", dist, src])
    wheels = list(dist.glob("classp-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_holds_the_package_and_nothing_else(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    outside = [n for n in names if not re.match(r"classp/|classp-[^/]+\.dist-info/", n)]
    assert outside == [], f"files outside the package: {outside}"
    for room in ROOMS:
        assert f"classp/{room}/__init__.py" in names
    for module in ("classp/__init__.py", "classp/cli.py", "classp/__main__.py", "classp/_validation.py",
                   "classp/_provenance.py", "classp/optim/classp.py", "classp/optim/functional.py",
                   "classp/optim/reference.py"):
        assert module in names
    assert not [n for n in names if n.endswith((".ipynb", ".pyc")) or "/tests/" in n or "scripts/" in n]


def test_wheel_metadata_needs_torch_alone(wheel):
    z = zipfile.ZipFile(wheel)
    meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    required = [line.split(":", 1)[1].strip() for line in meta.splitlines()
                if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert [re.split(r"[<>=!; ]", r)[0] for r in required] == ["torch"], required
    entry_points = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert re.search(r"^classp = classp\.cli:main$", entry_points, re.M), entry_points


def _torch_only_dir(target: Path) -> Path:
    """A folder that links torch and its runtime dependencies (by their installed files), nothing else."""
    from importlib import metadata

    packaging_requirements = pytest.importorskip("packaging.requirements")
    target.mkdir()
    seen, todo = set(), ["torch"]
    while todo:
        name = todo.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        for text in dist.requires or []:
            req = packaging_requirements.Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
        base = Path(dist.locate_file(""))
        for f in dist.files or []:
            top = f.parts[0]
            if top in ("..", "__pycache__") or top.endswith(".pth"):
                continue
            link = target / top
            if not link.exists() and (base / top).exists():
                link.symlink_to(base / top)
    assert "torch" in seen and not {"numpy", "scikit-learn", "matplotlib", "ipywidgets", "nbformat"} & seen
    return target


def test_pip_install_into_an_environment_with_torch_alone_trains_one_step(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    torch_only = _torch_only_dir(tmp_path / "torch-only")
    (site / "torch_only.pth").write_text(f"{torch_only}\n")
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel])
    code = textwrap.dedent("""
        import importlib.util, sys
        for absent in ("numpy", "sklearn", "matplotlib", "ipywidgets", "nbformat", "tqdm"):
            assert importlib.util.find_spec(absent) is None, absent + " is installed"
        import torch
        from classp import CLASSP
        import classp.optim
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 2)
        before = model.weight.detach().clone()
        opt = CLASSP(model.parameters(), lr=0.03, threshold=0.0)
        model(torch.randn(8, 4)).pow(2).mean().backward()
        opt.step()
        assert not torch.equal(before, model.weight), "one step changed nothing"
        assert classp.__file__.startswith(sys.prefix), classp.__file__
        print("ok", classp.__version__)
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    out = _run([python, "-c", code], cwd=tmp_path, env=env).stdout
    assert out.startswith("ok 0.1.0")
    # the console script exists; without the lab it says which extra to install, in one line
    script = subprocess.run([venv / "bin" / "classp", "list"], capture_output=True, text=True, env=env, timeout=300)
    assert script.returncode == 2, script.stderr
    assert "pip install 'classp[lab]'" in script.stderr and "Traceback" not in script.stderr
