"""The viz room as a whole: cheap to import, and its place in the house (no import of classp.teaching,
no private names taken from another module)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import classp.viz

ROOM = Path(classp.viz.__file__).parent
MODULES = sorted(ROOM.glob("*.py"))


def _loaded_after(statement: str) -> list[str]:
    heavy = ("matplotlib", "ipywidgets", "PIL", "classp.viz.plots", "classp.viz.sliders", "classp.viz.widgets")
    code = f"import sys; {statement}; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return eval(out)


def test_import_classp_viz_loads_no_plotting_or_widget_library():
    assert _loaded_after("import classp.viz") == []


def test_the_slider_machinery_loads_matplotlib_only_to_render():
    assert _loaded_after("import classp.viz.kernel_free") == []


def test_submodules_load_on_first_access():
    from classp.viz import kernel_free, plots, sliders

    assert classp.viz.plots is plots and classp.viz.sliders is sliders and classp.viz.kernel_free is kernel_free
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        classp.viz.nope


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            yield base, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_the_room_imports_no_teaching_and_no_private_names(path):
    for module, names in _imports(path):
        assert "teaching" not in module.split("."), f"{path.name} imports {module}: viz sits below teaching"
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        assert not private, f"{path.name} imports private names {private} from {module}"
