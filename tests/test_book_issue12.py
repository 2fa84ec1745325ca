"""Issue 12, "experiments the book opens and never runs": the class-incremental split (chapter 1, section 6)
and the twenty permuted tasks (chapter 8, section 7).

The unmarked tests read the committed results files (``book/results/tuned_split-digits-class.json``,
``book/results/tuned_permuted-digits-20.json``) and the chapters' sources: the tuning procedure is the
one of chapter 8 (same budget, validation selection, disjoint seeds), the files record commands that
regenerate them, and the new sections sit where the chapters' grammar puts them. The ``book`` tests
read the built HTML and look for the sections' glued numbers, recomputed here from the files.
"""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from classp.cli import build_parser
from classp.lab.metrics import plasticity_slope

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "book" / "results"
HEAD_TO_HEAD = ["sgd", "adam", "adagrad", "ewc", "si", "mas", "sgd-decay", "classp",
                "classp-no-threshold", "classp-no-decay", "joint"]
LONG = ["sgd", "adagrad", "classp", "classp-no-threshold", "ewc", "si", "mas"]
FILES = {  # file -> (methods, tasks, sequence options besides validation)
    "tuned_split-digits-class.json": (HEAD_TO_HEAD, 5, {"scenario": "class"}),
    "tuned_permuted-digits-20.json": (LONG, 20, {"n_tasks": 20}),
}


def _doc(name):
    return json.loads((RESULTS / name).read_text(encoding="utf8"))


@pytest.fixture(scope="module", params=sorted(FILES))
def named_doc(request):
    return request.param, _doc(request.param)


def test_every_method_was_tuned_with_one_procedure(named_doc):
    name, doc = named_doc
    methods, n_tasks, options = FILES[name]
    sel = doc["selection"]
    assert list(sel) == methods and doc["config"]["methods"] == methods
    first = sel[methods[0]]
    for m, x in sel.items():
        for key in ("budget", "criterion", "split", "validation", "tuning_seeds", "test_seeds"):
            assert x[key] == first[key], (m, key)
        assert x["split"] == "validation" and x["budget"] == 16 == len(x["scores"]), m
        assert not set(x["tuning_seeds"]) & set(x["test_seeds"]), m
        ok = [c for c in x["scores"] if not c["diverged"]]
        assert x["chosen"] == max(ok, key=lambda c: c["score"])["config"], m
    assert doc["config"]["sequence_options"] == {**options, "validation": first["validation"]}
    for r in doc["runs"]:
        x = sel[r["method"]]
        assert r["seed"] in x["test_seeds"]
        assert r["config"]["lr"] == x["chosen"]["lr"]
        assert all(r["config"]["options"][k] == v for k, v in x["chosen"].items() if k != "lr")
        assert len(r["accuracy_matrix"]) == n_tasks


def test_the_recorded_command_regenerates_the_file(named_doc):
    name, doc = named_doc
    argv = shlex.split(doc["command"])
    assert argv[:3] == ["python", "-m", "classp"]
    args = build_parser().parse_args(argv[3:])
    assert args.command == "tune" and args.out == f"book/results/{name}"
    assert args.methods == FILES[name][0] and args.workers in (1, 2)
    assert (args.budget, args.tuning_seeds, args.seeds) == (16, [100, 101], list(range(10)))


def test_the_long_sequence_measures_plasticity_per_run():
    doc = _doc("tuned_permuted-digits-20.json")
    assert doc["config"]["epochs"] in (1, 2, 5)
    for r in doc["runs"]:
        R = np.asarray(r["accuracy_matrix"])
        # the slope of the diagonal: what the chapter reports, by hand
        j = np.arange(len(R))
        assert plasticity_slope(R) == pytest.approx(np.polyfit(j, np.diag(R), 1)[0], abs=1e-12)


# ----------------------------------------------------------------------- the sources
def _headings(name):
    cells = json.loads((REPO / "book" / f"{name}.ipynb").read_text(encoding="utf8"))["cells"]
    return [line for c in cells if c["cell_type"] == "markdown"
            for line in "".join(c["source"]).splitlines() if line.startswith("## ")]


@pytest.mark.parametrize("name, before, new", [
    ("01_forgetting", "## 5. Why is the forgetting so complete?", "## 6. Does any method avoid it?"),
    ("08_head_to_head", "## 6. The stability–plasticity frontier", "## 7. Twenty tasks: does the accumulator run out?"),
])
def test_the_new_section_follows_the_last_numbered_one(name, before, new):
    heads = _headings(name)
    assert new in heads, heads
    i = heads.index(new)
    assert heads[i - 1] == before and heads.index("## Exercises") > i, heads


# ----------------------------------------------------------------------- the built pages
def _page(book_html, docname):
    from bs4 import BeautifulSoup

    path = book_html / f"{docname}.html"
    assert path.is_file(), f"{path} was not built"
    soup = BeautifulSoup(path.read_text(encoding="utf8"), "html.parser")
    node = soup.select_one("article") or soup
    for bad in node.select("script, style"):
        bad.decompose()
    return re.sub(r"\s+", " ", node.get_text(" "))


def _mean_metric(doc, method, metric):
    return float(np.mean([r["metrics"][metric] for r in doc["runs"] if r["method"] == method]))


@pytest.mark.book
def test_chapter_1_section_6_shows_the_files_numbers(book_html):
    doc = _doc("tuned_split-digits-class.json")
    text = _page(book_html, "book/01_forgetting")
    assert "6. Does any method avoid it?" in text
    acc = {m: _mean_metric(doc, m, "average_accuracy") for m in HEAD_TO_HEAD}
    best = max((m for m in HEAD_TO_HEAD if m != "joint"), key=acc.get)
    pattern = (rf"the best of them,\s*{re.escape(best)}\s*, ends with an average accuracy of\s*{acc[best]:.2f}\s*,"
               rf"\s*against\s*{acc['joint']:.2f}\s*for joint training")
    assert re.search(pattern, text), text[text.find("No sequential method"):][:300]
    last = np.mean([r["accuracy_matrix"][-1][-1] for r in doc["runs"] if r["method"] == "classp"])
    assert re.search(rf"it learns\s*{last:.2f}\s*of it", text)
    others = len(HEAD_TO_HEAD) - 2  # CLASSP against every other sequential method
    assert re.search(rf"Bonferroni.s correction for .{{0,40}}\b{others}\s*comparisons", text)


@pytest.mark.book
def test_chapter_8_section_7_shows_the_files_numbers(book_html):
    doc = _doc("tuned_permuted-digits-20.json")
    text = _page(book_html, "book/08_head_to_head")
    assert "7. Twenty tasks: does the accumulator run out?" in text
    diag = {m: np.mean([np.diag(r["accuracy_matrix"]) for r in doc["runs"] if r["method"] == m], axis=0)
            for m in ("adagrad", "sgd")}
    d = diag["adagrad"]
    assert re.search(rf"AdaGrad loses plasticity.{{0,40}}from\s*{d[0]:.2f}\s*on task 1 to\s*{d[-1]:.2f}\s*on task 20", text)
    d = diag["sgd"]
    assert re.search(rf"to only\s*{d[0]:.2f}\s*; later tasks.{{0,80}}reach\s*{d[-1]:.2f}", text)
    assert re.search(r"Bonferroni.s correction for the .{0,20}\b21\s*comparisons of this section", text)
    slope = np.mean([plasticity_slope(r["accuracy_matrix"]) for r in doc["runs"] if r["method"] == "adagrad"])
    assert f"{slope:+.4f}" in text
    assert "Dohare" in text  # the citation


def test_the_control_run_matches_classps_tuned_setting_and_data():
    tuned, ctrl = _doc("tuned_permuted-digits-20.json"), _doc("long_classp-no-threshold_lr0.03.json")
    chosen = tuned["selection"]["classp"]["chosen"]
    seq_opts = tuned["runs"][0]["config"]["sequence_options"]
    args = build_parser().parse_args(shlex.split(ctrl["command"])[3:])
    assert args.command == "compare" and args.out == "book/results/long_classp-no-threshold_lr0.03.json"
    for r in ctrl["runs"]:
        assert r["method"] == "classp-no-threshold" and "threshold" not in r["config"]["options"]  # fixed at 0
        assert r["config"]["lr"] == chosen["lr"] and r["config"]["options"]["power"] == chosen["power"]
        assert r["config"]["sequence_options"] == seq_opts and r["config"]["epochs"] == tuned["config"]["epochs"]
    assert sorted(r["seed"] for r in ctrl["runs"]) == tuned["selection"]["classp"]["test_seeds"]
