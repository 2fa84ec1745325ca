"""The quick checks' question builder (classp.teaching.quiz): the exact jupyterquiz dictionaries,
the page parts (offline, answers readable as JSON), and a ValueError naming the parameter for
every bad input."""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from classp.teaching import quiz


def test_choice_builds_the_exact_jupyterquiz_question():
    q = quiz.choice("Which weights move when g² < τ?", right=("None of them", "Right: `g²` must exceed τ."),
                    wrong=[("All of them", "That is AdaGrad."), ("Half", "No rule says half.")])
    assert q == {
        "question": "Which weights move when g² &lt; τ?",
        "type": "multiple_choice",
        "answers": [
            {"answer": "None of them", "correct": True, "feedback": "Right: <code>g²</code> must exceed τ."},
            {"answer": "All of them", "correct": False, "feedback": "That is AdaGrad."},
            {"answer": "Half", "correct": False, "feedback": "No rule says half."},
        ],
    }


def test_choice_with_several_right_answers_is_many_choice():
    q = quiz.choice("Pick the even ones", right=[("2", "even"), ("4", "even")], wrong=[("3", "odd")])
    assert q["type"] == "many_choice"
    assert [a["correct"] for a in q["answers"]] == [True, True, False]


def test_text_is_escaped_and_stripped():
    q = quiz.choice("  a <b> & c  ", right=("x", "</script>"), wrong=[("y", "z")])
    assert q["question"] == "a &lt;b&gt; &amp; c"
    assert q["answers"][0]["feedback"] == "&lt;/script&gt;"


def test_numeric_builds_ranges_a_mistake_and_a_default():
    q = quiz.numeric("√100?", 10, "√100 = 10.", tol=0.5, mistakes=[(100, "That is 100 itself.")], otherwise="No.")
    assert q == {
        "question": "√100?",
        "type": "numeric",
        "answers": [
            {"range": [9.5, math.nextafter(10.5, math.inf)], "correct": True, "feedback": "√100 = 10."},
            {"range": [99.5, math.nextafter(100.5, math.inf)], "correct": False, "feedback": "That is 100 itself."},
            {"type": "default", "feedback": "No."},
        ],
    }


def test_numeric_accepts_numpy_and_tensor_numbers():
    torch = pytest.importorskip("torch")
    q = quiz.numeric("q", np.float32(0.25), "e", tol=torch.tensor(0.01))
    lo, hi = q["answers"][0]["range"]
    assert lo == pytest.approx(0.24) and hi == pytest.approx(0.26)
    assert isinstance(lo, float) and json.dumps(q)


def _three():
    return [quiz.choice("a?", right=("1", "y"), wrong=[("2", "n")]),
            quiz.numeric("b?", 2.0, "two", tol=0.1),
            quiz.choice("c?", right=("x", "y"), wrong=[("z", "n")])]


def test_page_parts_hold_the_container_the_json_and_the_wrapped_script():
    qs = _three()
    page, script = quiz.quick_checks_html(qs, "ch01")
    m = re.search(r'<script type="application/json" class="classp-quick-checks" data-name="ch01" '
                  r'data-container="(jq_ch01_[0-9a-f]{8})">(.*?)</script>', page, re.S)
    assert m, page[-500:]
    div_id, data = m.group(1), json.loads(m.group(2))
    assert data == {"name": "ch01", "container": div_id, "questions": qs}
    assert f'<div id="{div_id}"' in page and "</div>" in page
    assert "--jq-correct-color: #2e7d32" in page
    assert script.startswith("(function () {") and "window.addEventListener('load'" in script
    assert f"var questions{div_id}=" in script and "show_questions" in script
    # the page needs no network: no URL is fetched (jupyterquiz's CDN fallback for MathJax is only
    # reached when MathJax is half-started, which waiting for `load` avoids)
    assert "fetch(" not in script
    assert not re.search(r"https?://", page)


def test_page_parts_cannot_be_closed_by_question_text():
    qs = [quiz.choice("</script><script>alert(1)</script>", right=("a", "b"), wrong=[("c", "d")])]
    page, script = quiz.quick_checks_html(qs, "x")
    assert "</script><script>" not in script
    assert page.count("</script>") == 1


def test_quick_checks_displays_html_then_javascript(monkeypatch):
    shown = []
    import IPython.display
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    assert quiz.quick_checks(_three(), "ch02") is None
    assert [type(o).__name__ for o in shown] == ["HTML", "Javascript"]
    assert "classp-quick-checks" in shown[0].data


def test_questions_are_copied_not_shared():
    qs = _three()
    page, _ = quiz.quick_checks_html(qs, "a")
    qs[0]["question"] = "changed"
    assert "changed" not in page


# ---------------------------------------------------------------------------------------- bad input
GOOD_PAIR = ("yes", "because")
BAD_TEXTS = [None, "", "   ", 3, 2.5, b"bytes", ["a"], ("a",), {"a": 1}, True, "x" * 2001]


@pytest.mark.parametrize("bad", BAD_TEXTS)
def test_choice_refuses_a_bad_question(bad):
    with pytest.raises(ValueError, match=r"^question must be a non-empty string of at most 2000 characters"):
        quiz.choice(bad, right=GOOD_PAIR, wrong=[GOOD_PAIR[::-1]])


@pytest.mark.parametrize("bad", BAD_TEXTS)
def test_choice_refuses_a_bad_answer_or_feedback(bad):
    with pytest.raises(ValueError, match=r"^right\[0\]\[0\] \(the answer\) must be a non-empty string"):
        quiz.choice("q", right=[(bad, "f")], wrong=[("w", "f")])
    with pytest.raises(ValueError, match=r"^wrong\[1\]\[1\] \(the feedback\) must be a non-empty string"):
        quiz.choice("q", right=("r", "f"), wrong=[("w", "f"), ("w2", bad)])


@pytest.mark.parametrize("bad", [None, "ab", ("a",), ("a", "b", "c"), 3, {"a": "b"}, ["a"]])
def test_choice_refuses_a_right_answer_that_is_not_a_pair(bad):
    with pytest.raises(ValueError, match=r"^(right|right\[0\]|the number of right) must be"):
        quiz.choice("q", right=bad, wrong=[("w", "f")])


@pytest.mark.parametrize("bad", [None, "ab", 3, {"a": "b"}, [], [("a", "b")] * 8, [("a",)], [("a", "b", "c")], ["ab"]])
def test_choice_refuses_bad_wrong_answers(bad):
    with pytest.raises(ValueError, match=r"^(wrong|wrong\[0\]|the number of wrong) must be"):
        quiz.choice("q", right=("r", "f"), wrong=bad)


def test_choice_refuses_no_right_answer_and_too_many():
    with pytest.raises(ValueError, match=r"^the number of right must be an integer in \[1, 4\]; got 0"):
        quiz.choice("q", right=[], wrong=[("w", "f")])
    with pytest.raises(ValueError, match=r"^the number of right must be an integer in \[1, 4\]; got 5"):
        quiz.choice("q", right=[(str(i), "f") for i in range(5)], wrong=[("w", "f")])


def test_choice_refuses_repeated_answers():
    with pytest.raises(ValueError, match=r"^answers must be distinct .* got 'a' twice"):
        quiz.choice("q", right=("a", "f"), wrong=[("a", "g")])
    with pytest.raises(ValueError, match=r"^answers must be distinct"):
        quiz.choice("q", right=("a", "f"), wrong=[("b", "g"), (" b ", "h")])


BAD_NUMBERS = [None, "1", float("nan"), float("inf"), -float("inf"), True, [1.0], np.array([1.0, 2.0]), 1 + 2j, object()]


@pytest.mark.parametrize("bad", BAD_NUMBERS)
def test_numeric_refuses_a_bad_value(bad):
    with pytest.raises(ValueError, match=r"^value must be a (finite )?number; got"):
        quiz.numeric("q", bad, "e", tol=0.1)


@pytest.mark.parametrize("bad", BAD_NUMBERS + [0, 0.0, -0.1, -1])
def test_numeric_refuses_a_bad_tolerance(bad):
    with pytest.raises(ValueError, match=r"^tol must be a (finite )?number > 0; got"):
        quiz.numeric("q", 1.0, "e", tol=bad)


def test_numeric_refuses_a_tolerance_lost_in_rounding_or_overflowing():
    with pytest.raises(ValueError, match=r"^tol must be a number > 0 that widens value"):
        quiz.numeric("q", 1e20, "e", tol=1e-10)
    with pytest.raises(ValueError, match=r"^tol must be a number > 0 that widens value"):
        quiz.numeric("q", 1.7e308, "e", tol=1e308)


@pytest.mark.parametrize("bad", BAD_TEXTS)
def test_numeric_refuses_bad_texts(bad):
    with pytest.raises(ValueError, match=r"^question must be"):
        quiz.numeric(bad, 1.0, "e", tol=0.1)
    with pytest.raises(ValueError, match=r"^explanation must be"):
        quiz.numeric("q", 1.0, bad, tol=0.1)
    with pytest.raises(ValueError, match=r"^otherwise must be"):
        quiz.numeric("q", 1.0, "e", tol=0.1, otherwise=bad)


@pytest.mark.parametrize("bad, message", [
    (None, r"^mistakes must be a list"), ("ab", r"^mistakes must be a list"), ({1: "a"}, r"^mistakes must be a list"),
    (3, r"^mistakes must be a list"), ([(2.0,)], r"^mistakes\[0\] must be a pair"), (["ab"], r"^mistakes\[0\] must be a pair"),
    ([(2.0, "a", "b")], r"^mistakes\[0\] must be a pair"), ([("2", "a")], r"^mistakes\[0\]\[0\] \(the wrong number\) must be"),
    ([(float("nan"), "a")], r"^mistakes\[0\]\[0\] \(the wrong number\) must be a finite number"),
    ([(2.0, "")], r"^mistakes\[0\]\[1\] \(the feedback\) must be"), ([(2.0, None)], r"^mistakes\[0\]\[1\] \(the feedback\) must be"),
    ([(1.1, "close")], r"^mistakes\[0\]\[0\] \(the wrong number\) must be at least 2·tol = 0.2 from the answer"),
    ([(2.0, "a"), (2.05, "b")], r"^mistakes\[1\]\[0\] \(the wrong number\) must be at least 2·tol"),
    ([(float(i + 3), "m") for i in range(9)], r"^the number of mistakes must be an integer in \[0, 8\]; got 9"),
])
def test_numeric_refuses_bad_mistakes(bad, message):
    with pytest.raises(ValueError, match=message):
        quiz.numeric("q", 1.0, "e", tol=0.1, mistakes=bad)


@pytest.mark.parametrize("bad", [None, "abc", {"type": "numeric"}, 3, [], [{}], [{"type": "string", "question": "q",
                                 "answers": []}], [{"type": "numeric", "question": 3, "answers": []}], ["q"]])
def test_quick_checks_refuses_bad_questions(bad):
    with pytest.raises(ValueError, match=r"^(questions|questions\[0\]|the number of questions) must be"):
        quiz.quick_checks_html(bad, "ch01")


def test_quick_checks_refuses_too_many_questions_and_non_json_ones():
    q = quiz.choice("a?", right=("1", "y"), wrong=[("2", "n")])
    with pytest.raises(ValueError, match=r"^the number of questions must be an integer in \[1, 10\]; got 11"):
        quiz.quick_checks_html([q] * 11, "ch01")
    bad = dict(q, answers=[{"range": [float("nan"), 1.0]}])
    with pytest.raises(ValueError):
        quiz.quick_checks_html([bad], "ch01")


@pytest.mark.parametrize("bad", [None, "", "ch 01", "ch-01", "a" * 41, 'x"y', "<b>", 1, b"ch01", "ch01\n", "é"])
def test_quick_checks_refuses_a_bad_name(bad):
    with pytest.raises(ValueError, match=r"^name must be 1 to 40 letters, digits or underscores"):
        quiz.quick_checks_html(_three(), bad)


def test_choice_reports_the_feedback_of_a_single_pair():
    with pytest.raises(ValueError, match=r"^right\[1\] \(the feedback\) must be a non-empty string"):
        quiz.choice("q", right=("a", 3), wrong=[("w", "f")])
    with pytest.raises(ValueError, match=r"^right\[1\] \(the feedback\) must be a non-empty string"):
        quiz.choice("q", right=("a", ""), wrong=[("w", "f")])
    with pytest.raises(ValueError, match=r"^right\[0\] \(the answer\) must be a non-empty string .*; got 3$"):
        quiz.choice("q", right=(3, "f"), wrong=[("w", "f")])
    q = quiz.choice("q", right=(("a", "f"), ("b", "g")), wrong=[("w", "f")])  # a tuple of pairs: two right answers
    assert q["type"] == "many_choice"


def _edited(index, **change):
    qs = _three()
    q = qs[index]
    q.update(change)
    return qs


@pytest.mark.parametrize("qs", [
    _edited(0, answers=[]), _edited(0, answers=[1, 2]), _edited(0, answers=[{"answer": "a", "correct": True}]),
    _edited(0, answers=[{"answer": "a", "correct": True, "feedback": "f"}]),  # no wrong answer
    _edited(0, answers=[{"answer": "a", "correct": "yes", "feedback": "f"}, {"answer": "b", "correct": False, "feedback": "g"}]),
    _edited(0, answers=[{"answer": "", "correct": True, "feedback": "f"}, {"answer": "b", "correct": False, "feedback": "g"}]),
    _edited(0, type="many_choice"),  # one right answer is multiple choice
    _edited(0, question=""), _edited(0, question=None),
    _edited(1, answers=[{"range": [1.0, 2.0], "correct": True, "feedback": "f"}]),  # no default
    _edited(1, answers=[{"range": [2.0, 1.0], "correct": True, "feedback": "f"}, {"type": "default", "feedback": "d"}]),
    _edited(1, answers=[{"range": [1.0, float("inf")], "correct": True, "feedback": "f"}, {"type": "default", "feedback": "d"}]),
    _edited(1, answers=[{"range": [1.0, "2"], "correct": True, "feedback": "f"}, {"type": "default", "feedback": "d"}]),
    _edited(1, answers=[{"range": [1.0, 2.0], "correct": False, "feedback": "f"}, {"type": "default", "feedback": "d"}]),
    _edited(1, answers=[{"range": [1.0], "correct": True, "feedback": "f"}, {"type": "default", "feedback": "d"}]),
    _edited(1, answers=[{"type": "default", "feedback": "d"}, {"range": [1.0, 2.0], "correct": True, "feedback": "f"}]),
    _edited(1, type="string"),
], ids=lambda qs: "edited")
def test_quick_checks_refuses_hand_edited_questions_that_would_break_the_page(qs):
    with pytest.raises(ValueError, match=r"^questions\[[01]\] must be a question made by choice\(\) or numeric\(\)"):
        quiz.quick_checks_html(qs, "ch01")
