"""The kernel-free lab's page (classp.viz.lab_page): the Vega-Lite spec, its data and its controls."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from classp.viz import lab_grid as lg
from classp.viz import lab_page as lp

REPO = Path(__file__).resolve().parents[2]
TINY = {"methods": ["sgd", "classp", "ewc"], "sequences": ["digits-shared-head"], "seeds": [0, 1],
        "lr_factors": [1.0], "thresholds": [0.0, 1e-6], "powers": [1.0], "decay": [True, False],
        "strength_factors": [1.0, 10.0], "epochs": 1}


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    path = tmp_path_factory.mktemp("grid") / "lab_grid.json"
    lg.make_lab_grid(path, TINY, workers=1, command="python scripts/lab_grid.py --tiny")
    return path, lg.load_lab_grid(path)


def test_spec_has_one_dataset_and_every_control_of_both_settings(grid):
    _, doc = grid
    spec = lp.lab_spec(doc, "x")
    assert list(spec["datasets"]) == ["runs"] and len(spec["datasets"]["runs"]) == len(doc["runs"])
    params = {p["name"]: p for p in spec["params"]}
    for side in "ab":
        for knob in ("m", "s", "lr", "tau", "p", "decay", "str", "seed"):
            p = params[f"{side}_{knob}"]
            assert p["bind"]["element"] == f"#x-ctl-{side}"
        assert "expr" in params[f"{side}_key"]
    assert params["a_m"]["bind"]["options"] == ["classp", "sgd", "ewc"]
    assert params["a_seed"]["bind"]["options"] == [0, 1]
    assert spec["$schema"].endswith(f"v{lp.VEGA_VERSIONS['vega-lite']}.json")


def test_page_rows_are_the_files_numbers(grid):
    _, doc = grid
    rows = {r["k"]: r for r in lp.page_rows(doc)}
    for run in doc["runs"]:
        row = rows[run["key"]]
        assert row["div"] == run["diverged"]
        if not run["diverged"]:
            assert row["acc"] == [v for line in run["accuracy_matrix"] for v in line]
            assert row["avg"] == run["metrics"]["average_accuracy"] and row["mp"] == run["map"]


def test_html_is_self_contained_and_marked_for_the_book(grid):
    h = lp.kernel_free_lab(grid[0]).html()
    assert 'class="classp-vega classp-lab"' in h and "<script>" in h
    assert "</script" not in h[h.index("<script>") + 8:-len("</script></div>")]
    ids = re.findall(r'id="(classp-lab-\d+)"', h)
    assert ids and h.count(f'id="{ids[0]}-ctl-a"') == 1
    assert h != lp.kernel_free_lab(grid[0]).html()  # fresh ids: two labs on one page do not collide
    assert 'renderer: "canvas"' in h and 'renderer: "svg"' in lp.kernel_free_lab(grid[0], renderer="svg").html()


def test_vendored_versions_are_the_cdn_fallbacks_versions():
    script = (REPO / "scripts" / "vendor_js.sh").read_text()
    for name, var in (("vega", "VEGA_VERSION"), ("vega-lite", "VEGA_LITE_VERSION"), ("vega-embed", "VEGA_EMBED_VERSION")):
        assert f"{var}={lp.VEGA_VERSIONS[name]}" in script
    import altair as alt
    assert lp.VEGA_VERSIONS["vega-lite"] == alt.VEGALITE_VERSION.lstrip("v")


@pytest.mark.parametrize("kwargs, match", [
    ({"initial_a": {"method": "adam"}}, "method must be one of"),
    ({"initial_a": {"colour": 1}}, "unknown key"),
    ({"initial_b": {"tau_i": 5}}, "tau_i must be an integer in \\[0, 1\\]"),
    ({"initial_b": {"seed": 7}}, "seed must be one of"),
    ({"initial_a": {"sequence": "split-digits"}}, "sequence must be one of"),
    ({"width": 10}, "width must be an integer in \\[150, 600\\]"),
    ({"width": "wide"}, "width must be an integer"),
    ({"renderer": "webgl"}, "renderer must be one of"),
])
def test_bad_settings_are_refused(grid, kwargs, match):
    with pytest.raises(ValueError, match=match):
        lp.kernel_free_lab(grid[0], **kwargs)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="lab_grid.py"):
        lp.kernel_free_lab(tmp_path / "nope.json")
    (tmp_path / "g.json").write_text(json.dumps({"schema": "x"}))
    with pytest.raises(ValueError, match="schema must be"):
        lp.kernel_free_lab(tmp_path / "g.json")


def test_the_books_file_loads_and_covers_the_grid():
    path = REPO / "book" / "results" / "lab_grid.json"
    if not path.exists():
        pytest.skip("book/results/lab_grid.json not made yet (python scripts/lab_grid.py)")
    doc = lg.load_lab_grid(path)
    cfg = {k: doc["config"][k] for k in lg.LAB_GRID}
    assert {r["key"] for r in doc["runs"]} == {j["point"]["key"] for j in lg.grid_jobs(cfg)}
    assert path.stat().st_size < 4_000_000


def test_bad_documents_and_element_ids(grid):
    with pytest.raises(ValueError, match="element_id must be"):
        lp.lab_spec(grid[1], "1 bad;")
    with pytest.raises(ValueError, match="schema must be"):
        lp.KernelFreeLab({"schema": "nope"})
    with pytest.raises(ValueError, match="not a lab grid"):
        lp.KernelFreeLab([1, 2])
