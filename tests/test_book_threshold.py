"""The threshold question of issue 12: the results file is what its command makes, and the book says what it holds.

Unmarked: ``book/results/threshold_study.json`` is complete (every setting, rule, τ and seed) and
its summary is what :func:`classp.lab.threshold_study.summarise` computes from its runs, so a hand
edit of either shows. Book-marked: chapter 4 section 6 and chapter 8 section 5 print the file's
numbers (read from the built HTML).
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "book" / "results" / "threshold_study.json"
sys.path.insert(0, str(REPO / "scripts"))

import threshold_study as script  # noqa: E402  (scripts/ is not a package)

from classp.lab.threshold_study import summarise  # noqa: E402


@pytest.fixture(scope="module")
def study():
    return json.loads(STUDY.read_text(encoding="utf-8"))


def test_the_study_file_holds_every_run_and_its_provenance(study):
    assert study["schema"] == script.SCHEMA and study["command"].startswith("python scripts/threshold_study.py")
    assert study["versions"]["torch"] and study["created"]
    cfg = study["config"]
    expected = {(s["sequence"], s["lr"], s["power"], a, t, seed) for s in cfg["settings"] for a in cfg["accumulate"]
                for t in cfg["thresholds"] for seed in cfg["seeds"]}
    got = [(r["sequence"], r["lr"], r["power"], r["accumulate"], r["threshold"], r["seed"]) for r in study["runs"]]
    assert len(got) == len(set(got)) and set(got) == expected
    assert cfg["thresholds"] == list(script.THRESHOLDS) and cfg["seeds"] == list(range(10))
    assert {s["sequence"] for s in cfg["settings"]} == set(script.SEQUENCES)


def test_the_stored_summary_is_what_the_runs_give(study):
    fresh = summarise(study["runs"])
    for stored, row in zip(study["summary"]["means"], fresh["means"], strict=True):
        assert stored.keys() == row.keys()
        for k, v in row.items():
            assert stored[k] == (pytest.approx(v) if isinstance(v, float) else v), k
    family = script._family(study["runs"], summarise)
    stored = study["summary"]["family"]
    assert stored["comparisons"] == family["comparisons"] == 18
    for a, b in zip(stored["differences"], family["differences"], strict=True):
        assert {k: (pytest.approx(v) if isinstance(v, float) else v) for k, v in b.items()} == a


def _text(book_html: Path, docname: str) -> str:
    path = book_html / f"{docname}.html"
    if not path.exists():
        pytest.skip(f"{path} not built")
    return " ".join(BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser").get_text(" ").split())


@pytest.mark.book
def test_chapter_4_reports_the_study(book_html, study):
    text = _text(book_html, "book/04_sparsity")
    start = text.index("6. Does the gate protect old tasks? #")  # the heading, not the sidebar's entry
    means = {(m["sequence"], m["accumulate"], m["threshold"]): m for m in study["summary"]["means"]
             if m["power"] == 1.0}
    for key, metric in [(("permuted-digits", "updated", 0.0), "forgetting"), (("permuted-digits", "updated", 1e-4), "forgetting"),
                        (("permuted-digits", "always", 1e-4), "learning_accuracy"),
                        (("digits-shared-head", "always", 1e-4), "learning_accuracy")]:
        assert f"{means[key][metric]:.3f}" in text, (key, metric)
    section = text[start:text.index("Exercises #", start)]
    assert re.search(r"on average \d+\.\d times as large", section)
    html = (book_html / "book/04_sparsity.html").read_text(encoding="utf-8")
    soup = BeautifulSoup(html, "html.parser")
    fig = soup.find(id="fig-spa-gate-mechanism")
    assert fig is not None and fig.find("img") is not None and len(fig.find("img").get("alt", "")) > 100


@pytest.mark.book
def test_chapter_8_says_why_the_threshold_does_not_protect(book_html, study):
    text = _text(book_html, "book/08_head_to_head")
    m = study["summary"]["family"]["comparisons"]
    assert f"registry setting, ten seeds, \\(m\\) = {m} )" in text
    assert "keeps weights plastic rather than protected" in text
    assert "chapter 4, section 6" in text  # the summary's bullet
