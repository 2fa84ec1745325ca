"""Quick checks in a real browser: every chapter's questions answered right and wrong, offline.

The questions come from ``classp.teaching.quiz`` (jupyterquiz underneath). Each set of quick checks
writes its questions, with the right answers, as JSON into the page
(``<script type="application/json" class="classp-quick-checks">``); the tests read that JSON, then
click and type like a reader and compare the feedback jupyterquiz shows with the JSON's text and
its colour with the quiz's palette.

* ``quick_check_problems`` (unmarked tests feed it broken pages, so it cannot pass whatever the
  page holds) and, ``book``-marked, every chapter page of the built book has 3 to 5 well-formed
  quick checks.
* ``browser``-marked, with every request that is not ``file:``/``data:``/``blob:`` aborted and
  recorded: a standalone page made here (no book build needed), the same questions inserted after
  the page has loaded (as JupyterLab shows an output), and every chapter page of the built book
  (``book_html`` fixture, the offline build), where every quick check is answered right and wrong.

Uses Debian's Chromium (``/usr/bin/chromium``); never downloads a browser.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from classp.teaching import quiz



def _sibling(name: str):
    """A test module next to this one (the project runs pytest with --import-mode=importlib)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"_classp_{name}", Path(__file__).with_name(f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_tb = _sibling("test_browser")  # one browser set-up (Chromium, launch flags, offline page) for all browser tests
REPO, CHROMIUM, browser = _tb.REPO, _tb.CHROMIUM, _tb.browser
CHAPTERS = sorted(p.stem for p in (REPO / "book").glob("[0-9][0-9]_*.ipynb"))
RIGHT_COLOUR, WRONG_COLOUR = "rgb(46, 125, 50)", "rgb(198, 40, 40)"  # quiz's --jq-correct/incorrect-color
MIN_QUESTIONS, MAX_QUESTIONS = 3, 5

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent: install Debian's Chromium with `apt-get install -y "
                                  "chromium` (the browser tests never download a browser)")


# ------------------------------------------------------------------------------------------ the page check
def quick_check_sets(html: str) -> list[dict]:
    """The quick-check sets of a page: the JSON of each ``classp-quick-checks`` script."""
    soup = BeautifulSoup(html, "html.parser")
    return [json.loads(s.string or "null") for s in soup.find_all("script", class_="classp-quick-checks")]


def quick_check_problems(html: str) -> list[str]:
    """What is wrong with a chapter page's quick checks (empty: one set of 3 to 5 well-formed questions)."""
    soup = BeautifulSoup(html, "html.parser")
    sets = quick_check_sets(html)
    if len(sets) != 1:
        return [f"expected one set of quick checks, found {len(sets)}"]
    data, problems = sets[0], []
    qs = data.get("questions") or []
    if not MIN_QUESTIONS <= len(qs) <= MAX_QUESTIONS:
        problems.append(f"{len(qs)} questions, expected {MIN_QUESTIONS} to {MAX_QUESTIONS}")
    if not soup.find("div", id=data.get("container")):
        problems.append(f"no container div {data.get('container')!r}")
    if not any(f"questions{data.get('container')}=" in (s.string or "") for s in soup.find_all("script")):
        problems.append("jupyterquiz's script for the container is missing")
    for i, q in enumerate(qs):
        answers = q.get("answers") or []
        if q.get("type") in ("multiple_choice", "many_choice"):
            right = [a for a in answers if a.get("correct") is True]
            wrong = [a for a in answers if a.get("correct") is False]
            if not right or not wrong or not all(a.get("feedback") for a in answers):
                problems.append(f"question {i}: needs a right and a wrong answer, each with feedback")
        elif q.get("type") == "numeric":
            right = [a for a in answers if a.get("correct") is True and "range" in a]
            if len(right) != 1 or not all(a.get("feedback") for a in answers):
                problems.append(f"question {i}: needs one right range, and feedback on every answer")
            if not any(a.get("type") == "default" for a in answers):
                problems.append(f"question {i}: needs feedback for any other number")
        else:
            problems.append(f"question {i}: unknown type {q.get('type')!r}")
    return problems


def _page(questions, name="t") -> str:
    html, script = quiz.quick_checks_html(questions, name)
    return f'<!doctype html><html><head><meta charset="utf-8"></head><body>{html}<script>{script}</script></body></html>'


def _questions(n=3):
    qs = [quiz.choice("Which weights move when g² ≤ τ?", right=("None", "Right: the gate is strict."),
                      wrong=[("All", "That is SGD."), ("Half", "No rule says half.")]),
          quiz.numeric("√100?", 10.0, "√100 = 10.", tol=0.05, mistakes=[(100.0, "That is 100 itself.")],
                       otherwise="Not √100."),
          quiz.numeric("A negative one: −0.25?", -0.25, "Yes, −0.25.", tol=0.001),
          quiz.choice("Select the even numbers", right=[("2", "2 is even."), ("4", "4 is even.")], wrong=[("3", "3 is odd.")])]
    return qs[:n] if n <= len(qs) else qs + qs[: n - len(qs)]


def test_problems_accept_a_good_page():
    assert quick_check_problems(_page(_questions(4))) == []


def test_problems_report_missing_too_few_too_many_and_two_sets():
    assert quick_check_problems("<html><body><p>no quiz</p></body></html>") == ["expected one set of quick checks, found 0"]
    assert quick_check_problems(_page(_questions(2))) == ["2 questions, expected 3 to 5"]
    assert quick_check_problems(_page(_questions(6))) == ["6 questions, expected 3 to 5"]
    assert quick_check_problems(_page(_questions(3)) + _page(_questions(3), "u")) == ["expected one set of quick checks, found 2"]


def test_problems_report_a_broken_question_and_a_missing_script():
    page = _page(_questions(3))
    data = quick_check_sets(page)[0]
    broken = json.loads(json.dumps(data))
    broken["questions"][0]["answers"] = [a for a in broken["questions"][0]["answers"] if a["correct"]]
    broken["questions"][1]["answers"] = broken["questions"][1]["answers"][:1]
    broken["questions"][2]["type"] = "string"
    soup = BeautifulSoup(page, "html.parser")
    soup.find("script", class_="classp-quick-checks").string = json.dumps(broken)
    assert quick_check_problems(str(soup)) == [
        "question 0: needs a right and a wrong answer, each with feedback",
        "question 1: needs feedback for any other number",
        "question 2: unknown type 'string'"]
    for s in soup.find_all("script"):
        if "classp-quick-checks" not in (s.get("class") or []):
            s.decompose()
    assert "jupyterquiz's script for the container is missing" in quick_check_problems(str(soup))


def placement_problems(html: str) -> list[str]:
    """Where the quick checks sit on a chapter page: in their own section, the one just before the exercises."""
    soup = BeautifulSoup(html, "html.parser")
    section = soup.find("section", id="quick-checks")
    if section is None:
        return ["no section 'Quick checks'"]
    problems = []
    sets = section.find_all("script", class_="classp-quick-checks")
    if len(sets) != 1 or not section.find("div", id=json.loads(sets[0].string or "{}").get("container")):
        problems.append("the quick checks are not inside their section")
    following = section.find_next_sibling("section")
    if following is None or following.get("id") != "exercises":
        problems.append(f"the section after the quick checks is {following.get('id') if following else None!r}, not 'exercises'")
    return problems


def _chapter_page(body: str) -> str:
    return f"<html><body><article>{body}</article></body></html>"


def test_placement_accepts_checks_before_the_exercises_and_reports_the_rest():
    checks = _page(_questions(3)).split("<body>")[1].split("</body>")[0]
    good = _chapter_page(f'<section id="quick-checks"><h2>Quick checks</h2>{checks}</section>'
                         '<section id="exercises"><h2>Exercises</h2></section>')
    assert placement_problems(good) == []
    assert placement_problems(_chapter_page(checks)) == ["no section 'Quick checks'"]
    late = _chapter_page(f'<section id="quick-checks"><h2>Quick checks</h2>{checks}</section>'
                         '<section id="summary"><h2>Summary</h2></section>')
    assert placement_problems(late) == ["the section after the quick checks is 'summary', not 'exercises'"]
    outside = _chapter_page(f'<section id="quick-checks"><h2>Quick checks</h2></section>{checks}'
                            '<section id="exercises"><h2>Exercises</h2></section>')
    assert placement_problems(outside) == ["the quick checks are not inside their section"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_notebook_shows_its_quick_checks_before_the_exercises(chapter):
    """In the notebook (no build needed): a "## Quick checks" cell, then one code cell with its input
    removed that calls quiz.quick_checks once, then the exercises."""
    cells = json.loads((REPO / "book" / f"{chapter}.ipynb").read_text(encoding="utf8"))["cells"]
    source = ["".join(c["source"]) for c in cells]
    heads = [i for i, s in enumerate(source) if cells[i]["cell_type"] == "markdown" and s.startswith("## Quick checks")]
    assert len(heads) == 1, f"{chapter}: {len(heads)} 'Quick checks' headings"
    i = heads[0]
    code = cells[i + 1]
    assert code["cell_type"] == "code" and "remove-input" in code["metadata"].get("tags", []), chapter
    assert source[i + 1].count("quiz.quick_checks(") == 1 and not code.get("outputs"), chapter
    assert source[i + 2].startswith("## Exercises"), f"{chapter}: the exercises do not follow the quick checks"


@pytest.mark.book
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_has_three_to_five_quick_checks(book_html, chapter):
    page = book_html / "book" / f"{chapter}.html"
    assert page.exists(), f"{page} was not built"
    html = page.read_text(encoding="utf8")
    assert quick_check_problems(html) == []
    assert placement_problems(html) == []


# ------------------------------------------------------------------------------------------ the reader
def text_of(html: str) -> str:
    """What the reader sees of a question's text (it is stored as escaped HTML with <code>)."""
    return " ".join(BeautifulSoup(html, "html.parser").get_text().split())


def typed(value: float, tol: float) -> str:
    """The shortest decimal a reader would type for ``value`` that is within ``tol / 2`` of it."""
    for digits in range(1, 18):
        s = f"{value:.{digits}g}"
        if "e+" in s:
            s = f"{value:.{digits}f}"
        if abs(float(s) - value) <= tol / 2:
            return s
    return repr(value)


def a_wrong_number(q: dict) -> float:
    """A number in none of a numeric question's ranges (right or known-wrong)."""
    ranges = [a["range"] for a in q["answers"] if "range" in a]
    centre = next(sum(a["range"]) / 2 for a in q["answers"] if a.get("correct"))
    width = max(hi - lo for lo, hi in ranges)
    for k in (7, 13, 29, 101, 1009):
        x = centre + k * width + 1
        if not any(lo <= x < hi for lo, hi in ranges):
            return x
    raise AssertionError("no wrong number found")


class Reader(_tb.OfflinePage):
    """A Chromium page with every request other than file:, data: and blob: aborted and recorded,
    and the gestures of a reader answering quick checks."""

    def quiz_of(self, data: dict):
        box = self.page.locator(f"#{data['container']}")
        n = len(data["questions"])
        self.page.wait_for_function(f"document.querySelectorAll('#{data['container']} .Quiz').length === {n}",
                                    timeout=30_000)
        return [box.locator(".Quiz").nth(i) for i in range(n)]

    def feedback(self, question):
        fb = question.locator(".Feedback")
        return (" ".join(fb.inner_text().split()), fb.get_attribute("class"),
                fb.evaluate("e => getComputedStyle(e).color"))

    def choose(self, question, answer_html: str):
        text = text_of(answer_html)
        label = question.locator("label.MCButton").filter(has_text=re.compile("^" + re.escape(text) + "$"))
        assert label.count() == 1, f"{label.count()} buttons read {text!r}"
        label.click()
        return self.feedback(question)

    def type_number(self, question, text: str):
        box = question.locator("input.Input-text")
        box.click()  # jupyterquiz clears the box on focus
        box.press_sequentially(text)
        box.press("Enter")
        return self.feedback(question)


def answer_every_question(reader: Reader, data: dict) -> int:
    """Answer every question of a set right and wrong, asserting the feedback; the number of answers given."""
    given = 0
    for i, (q, box) in enumerate(zip(data["questions"], reader.quiz_of(data))):
        where = f"{data['name']} question {i} ({text_of(q['question'])[:60]}…)"
        assert " ".join(box.inner_text().split()).startswith(text_of(q["question"])), where
        if q["type"] in ("multiple_choice", "many_choice"):
            for a in (next(a for a in q["answers"] if a["correct"]), next(a for a in q["answers"] if not a["correct"])):
                text, cls, colour = reader.choose(box, a["answer"])
                assert text.startswith(text_of(a["feedback"])), (where, a, text)
                assert ("correct" if a["correct"] else "incorrect") in cls.split(), (where, cls)
                assert colour == (RIGHT_COLOUR if a["correct"] else WRONG_COLOUR), (where, colour)
                given += 1
        else:
            right = next(a for a in q["answers"] if a.get("correct"))
            lo, hi = right["range"]
            attempts = [(typed((lo + hi) / 2, hi - lo), right["feedback"], True)]
            attempts += [(typed(sum(a["range"]) / 2, a["range"][1] - a["range"][0]), a["feedback"], False)
                         for a in q["answers"] if "range" in a and not a["correct"]]
            default = next(a["feedback"] for a in q["answers"] if a.get("type") == "default")
            attempts.append((typed(a_wrong_number(q), 1e-9), default, False))
            for number, feedback, correct in attempts:
                text, cls, colour = reader.type_number(box, number)
                assert text == text_of(feedback), (where, number, text)
                assert ("correct" if correct else "incorrect") in cls.split(), (where, number, cls)
                assert colour == (RIGHT_COLOUR if correct else WRONG_COLOUR), (where, number, colour)
                given += 1
    return given


@pytest.fixture
def reader(browser):
    r = Reader(browser)
    yield r
    r.close()


@pytest.mark.browser
@needs_chromium
def test_standalone_quick_checks_answer_right_and_wrong_offline(tmp_path, reader):
    page = tmp_path / "quiz.html"
    page.write_text(_page(_questions(4), "standalone"), encoding="utf8")
    reader.page.goto(page.as_uri(), wait_until="load")
    data = quick_check_sets(page.read_text(encoding="utf8"))[0]
    assert answer_every_question(reader, data) == 2 + 3 + 2 + 2  # clicks and numbers typed
    assert reader.blocked == [] and reader.our_errors == []


@pytest.mark.browser
@needs_chromium
def test_two_sets_on_one_page_work_independently(tmp_path, reader):
    """The print edition puts every chapter on one page: each set must find its own questions."""
    parts = [quiz.quick_checks_html(_questions(3), name) for name in ("first", "second")]
    body = "".join(f"{h}<script>{js}</script>" for h, js in parts)
    page = tmp_path / "two.html"
    page.write_text(f'<!doctype html><html><head><meta charset="utf-8"></head><body>{body}</body></html>', encoding="utf8")
    reader.page.goto(page.as_uri(), wait_until="load")
    for html, _ in parts:
        assert answer_every_question(reader, quick_check_sets(html)[0]) == 2 + 3 + 2
    assert reader.blocked == [] and reader.our_errors == []


@pytest.mark.browser
@needs_chromium
def test_quick_checks_work_when_inserted_after_load_like_jupyterlab(tmp_path, reader):
    blank = tmp_path / "blank.html"
    blank.write_text('<!doctype html><html><head><meta charset="utf-8"></head><body><div id="out"></div></body></html>')
    reader.page.goto(blank.as_uri(), wait_until="load")
    html, script = quiz.quick_checks_html(_questions(3), "live")
    # JupyterLab puts the text/html output into the page, then runs the application/javascript output
    reader.page.evaluate("([html, js]) => { document.getElementById('out').innerHTML = html; new Function(js)(); }",
                         [html, script])
    data = quick_check_sets(html)[0]
    assert answer_every_question(reader, data) == 2 + 3 + 2
    assert reader.blocked == [] and reader.our_errors == []


@pytest.fixture(scope="module")
def site(book_html) -> Path:
    if not (book_html / "_static" / "mathjax").is_dir():
        pytest.fail(f"{book_html} was built without the offline option (no _static/mathjax): build it with "
                    "`bash scripts/vendor_js.sh && jupyter-book build . --config book/_vendor/_config_offline.yml`",
                    pytrace=False)
    return book_html


@pytest.mark.book
@pytest.mark.browser
@needs_chromium
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_quick_check_answers_right_and_wrong_offline(site, reader, chapter):
    page = site / "book" / f"{chapter}.html"
    sets = quick_check_sets(page.read_text(encoding="utf8"))
    assert len(sets) == 1, f"{chapter}: {len(sets)} sets of quick checks"
    reader.page.goto(page.resolve().as_uri(), wait_until="load")
    given = answer_every_question(reader, sets[0])
    assert given >= 2 * len(sets[0]["questions"])
    assert reader.blocked == [], f"{chapter}: requests left the disk: {reader.blocked[:5]}"
    assert reader.our_errors == [], f"{chapter}: page errors: {reader.our_errors[:5]}"
