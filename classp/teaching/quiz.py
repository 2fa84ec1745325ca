"""Quick checks: questions a reader answers on the page, with immediate feedback, offline and without a kernel.

The questions are shown by `jupyterquiz <https://github.com/jmshea/jupyterquiz>`_ (its JavaScript
ships inside the Python package, so the built page needs no network). This module builds its
question dictionaries from plain arguments, refuses bad ones before anything is shown, and
displays one chapter's questions with one call::

    from classp.teaching import quiz
    quiz.quick_checks([
        quiz.choice("Under AdaGrad, what happens to a weight's effective learning rate as its squared gradients pile up?",
                    right=("It falls like 1/√(Σg²)", "Yes: the step is α·g/√(Σg²)."),
                    wrong=[("It stays the same", "That is plain SGD, whose rate is α at every step.")]),
        quiz.numeric("After 100 equal gradients, by what factor has AdaGrad's effective learning rate fallen?",
                     10.0, "√(100 g²) / √(g²) = 10.", tol=0.05, mistakes=[(100.0, "That is 1/t: CLASSP with p = 1.")]),
    ], name="ch02")

Text (questions, answers, feedback) is plain text: ``<``, ``>`` and ``&`` are shown as typed, and
`` `code` `` spans become ``<code>``. Write math with Unicode (τ, g², √), not LaTeX: the feedback
must read the same in a notebook without MathJax.

What the page gets (:func:`quick_checks_html`):

* the jupyterquiz container and its styles (``text/html``), with the questions also written as
  JSON in ``<script type="application/json" class="classp-quick-checks">`` (``data-name``,
  ``data-container``) so that tests and tools can read the right answers;
* jupyterquiz's script (``application/javascript``), wrapped so that on a static page it runs
  after the page (and MathJax) has loaded. jupyterquiz typesets each question with MathJax and,
  if it finds a MathJax 3 that has not finished starting, loads another MathJax from a CDN;
  waiting for ``load`` keeps it on the vendored one. In a live notebook the page has long
  loaded, and the script runs at once.

Numeric answers are accepted in ``[value − tol, value + tol]`` (jupyterquiz compares half-open
ranges; the upper end is nudged up by a rounding so that ``value + tol`` itself counts).
Known wrong numbers (``mistakes``) get their own explanation; any other number gets
``otherwise``.
"""
from __future__ import annotations

import html
import json
import math
import re
import uuid
from typing import Any, Sequence

from .._validation import check_int, check_number

__all__ = ["choice", "numeric", "quick_checks", "quick_checks_html", "MAX_QUESTIONS"]

MAX_QUESTIONS = 10
"""The most questions one :func:`quick_checks` call shows (a chapter's quick checks are 3 to 5)."""

_NAME = re.compile(r"[A-Za-z0-9_]{1,40}")
_CODE = re.compile(r"`([^`]+)`")
MAX_TEXT = 2000


def _text(name: str, value: Any) -> str:
    """Plain text, non-empty after stripping, escaped for HTML, with `code` spans as <code>."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        shown = repr(value) if not isinstance(value, str) or len(value) <= 80 else f"a string of {len(value)} characters"
        raise ValueError(f"{name} must be a non-empty string of at most {MAX_TEXT} characters; got {shown}")
    return _CODE.sub(r"<code>\1</code>", html.escape(value.strip(), quote=False))


def _pair(name: str, value: Any) -> tuple[str, str]:
    """An (answer, feedback) pair of texts."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{name} must be a pair (answer text, feedback text); got {value!r}")
    return _text(f"{name}[0] (the answer)", value[0]), _text(f"{name}[1] (the feedback)", value[1])


def _pairs(name: str, value: Any, low: int, high: int) -> list[tuple[str, str]]:
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, (tuple, list)):
        raise ValueError(f"{name} must be a list of (answer text, feedback text) pairs; got {value!r}")
    check_int(f"the number of {name}", len(value), low, high)
    return [_pair(f"{name}[{i}]", v) for i, v in enumerate(value)]


def choice(question: str, right, wrong: Sequence) -> dict:
    """A multiple-choice question: one right answer (or a list of them), 1 to 7 wrong ones, each with its feedback.

    Parameters
    ----------
    question : str
        Plain text (see the module's notes).
    right : (str, str) or list of (str, str)
        The right answer and what the reader reads on choosing it; a list (1 to 4) makes a
        question with several right answers ("select all that apply").
    wrong : list of (str, str)
        Each wrong answer and its explanation: why it is wrong, what it would take to be right.
        jupyterquiz shows the answers in a new random order at every page load.

    Returns
    -------
    dict
        A jupyterquiz question (``type`` ``"multiple_choice"`` or ``"many_choice"``).

    >>> q = choice("2 + 2?", right=("4", "Yes."), wrong=[("5", "One too many.")])
    >>> q["type"], [a["correct"] for a in q["answers"]]
    ('multiple_choice', [True, False])
    """
    text = _text("question", question)
    rights = [_pair("right", right)] if _is_pair(right) else _pairs("right", right, 1, 4)
    wrongs = _pairs("wrong", wrong, 1, 7)
    seen: set[str] = set()
    for answer, _ in rights + wrongs:
        if answer in seen:
            raise ValueError(f"answers must be distinct (a reader could not tell them apart); got {answer!r} twice")
        seen.add(answer)
    answers = [{"answer": a, "correct": True, "feedback": f} for a, f in rights]
    answers += [{"answer": a, "correct": False, "feedback": f} for a, f in wrongs]
    return {"question": text, "type": "many_choice" if len(rights) > 1 else "multiple_choice", "answers": answers}


def _is_pair(value: Any) -> bool:
    """A tuple (text, ...) of length 2 is one pair; a list, or a tuple of pairs, is a list of pairs."""
    return isinstance(value, tuple) and len(value) == 2 and not any(isinstance(v, (tuple, list)) for v in value)


def numeric(question: str, value, explanation: str, *, tol, mistakes: Sequence = (),
            otherwise: str = "Not quite: work it out from the chapter's numbers, then try again.") -> dict:
    """A numeric question: the answer ``value`` ± ``tol``, known wrong numbers with their explanation.

    Parameters
    ----------
    question, explanation : str
        The question, and what the reader reads on a right answer (the working).
    value : float
        The right answer (finite), computed from the chapter's own data.
    tol : float
        The accepted distance from ``value`` (> 0); say in the question how to round.
    mistakes : list of (float, str)
        Numbers that a known mistake gives (forgetting the square root, using n − 1 …) and what
        to tell the reader who types one; each accepted within ``tol`` and not within ``2·tol``
        of the answer or of another mistake.
    otherwise : str
        What any other number gets.

    Returns
    -------
    dict
        A jupyterquiz question (``type`` ``"numeric"``) with ``range`` answers and a default.

    >>> q = numeric("√100?", 10, "√100 = 10.", tol=0.01, mistakes=[(100, "That is 100 itself.")])
    >>> [a.get("correct") for a in q["answers"]]
    [True, False, None]
    """
    text = _text("question", question)
    x = check_number("value", value)
    t = check_number("tol", tol, 0, low_open=True)
    if not math.isfinite(x - t) or not math.isfinite(x + t) or (x + t) - (x - t) <= 0:
        raise ValueError(f"tol must be a number > 0 that widens value into a range of floats; got tol={tol!r} for value={value!r}")
    answers = [_range(x, t, True, _text("explanation", explanation))]
    if isinstance(mistakes, (str, bytes, dict)) or not isinstance(mistakes, (tuple, list)):
        raise ValueError(f"mistakes must be a list of (number, feedback text) pairs; got {mistakes!r}")
    check_int("the number of mistakes", len(mistakes), 0, 8)
    centres = [x]
    for i, m in enumerate(mistakes):
        if isinstance(m, (str, bytes)) or not isinstance(m, (tuple, list)) or len(m) != 2:
            raise ValueError(f"mistakes[{i}] must be a pair (number, feedback text); got {m!r}")
        v = check_number(f"mistakes[{i}][0] (the wrong number)", m[0])
        near = [c for c in centres if abs(v - c) < 2 * t]
        if near:
            raise ValueError(f"mistakes[{i}][0] (the wrong number) must be at least 2·tol = {2 * t:g} from the answer "
                             f"and from the other mistakes; got {v!r}, within {2 * t:g} of {near[0]!r}")
        centres.append(v)
        answers.append(_range(v, t, False, _text(f"mistakes[{i}][1] (the feedback)", m[1])))
    answers.append({"type": "default", "feedback": _text("otherwise", otherwise)})
    return {"question": text, "type": "numeric", "answers": answers}


def _range(centre: float, tol: float, correct: bool, feedback: str) -> dict:
    high = math.nextafter(centre + tol, math.inf)  # jupyterquiz's ranges are [low, high)
    return {"range": [centre - tol, high], "correct": correct, "feedback": feedback}


def _questions(questions: Any) -> list[dict]:
    if isinstance(questions, (str, bytes, dict)) or not isinstance(questions, (tuple, list)):
        raise ValueError(f"questions must be a list of questions made by choice() or numeric(); got {questions!r}")
    check_int("the number of questions", len(questions), 1, MAX_QUESTIONS)
    for i, q in enumerate(questions):
        if not _well_formed(q):
            shown = repr(q) if len(repr(q)) <= 200 else repr(q)[:200] + "…"
            raise ValueError(f"questions[{i}] must be a question made by choice() or numeric(); got {shown}")
    return [json.loads(json.dumps(q, allow_nan=False)) for q in questions]  # a copy, JSON-clean


def _well_formed(q: Any) -> bool:
    """The shape choice() and numeric() give (a hand-edited question must keep it, or the page breaks)."""
    def text(v):
        return isinstance(v, str) and bool(v.strip()) and len(v) <= 2 * MAX_TEXT

    def real(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

    if not (isinstance(q, dict) and text(q.get("question")) and isinstance(q.get("answers"), list)):
        return False
    answers = q["answers"]
    if not answers or not all(isinstance(a, dict) and text(a.get("feedback")) for a in answers):
        return False
    if q.get("type") in ("multiple_choice", "many_choice"):
        flags = [a.get("correct") for a in answers]
        return (all(text(a.get("answer")) and isinstance(a.get("correct"), bool) for a in answers)
                and True in flags and False in flags
                and (q["type"] == "many_choice") == (flags.count(True) > 1))
    if q.get("type") == "numeric":
        ranges = [a for a in answers if a.get("type") != "default"]
        return (sum(a.get("type") == "default" for a in answers) == 1 and answers[-1].get("type") == "default"
                and all(isinstance(a.get("range"), list) and len(a["range"]) == 2 and all(map(real, a["range"]))
                        and a["range"][0] < a["range"][1] and isinstance(a.get("correct"), bool) for a in ranges)
                and [a["correct"] for a in ranges].count(True) == 1)
    return False


def quick_checks_html(questions: Sequence[dict], name: str) -> tuple[str, str]:
    """The page parts of a set of quick checks: ``(html, javascript)``.

    ``html`` holds jupyterquiz's container and styles and the questions as JSON (for tests);
    ``javascript`` is jupyterquiz's script, run once the page has loaded.
    """
    from jupyterquiz.dynamic.loader import load_questions_script
    from jupyterquiz.dynamic.renderer import build_script, build_styles, render_div

    qs = _questions(questions)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"name must be 1 to 40 letters, digits or underscores (it names the page element); got {name!r}")
    div_id = f"jq_{name}_{uuid.uuid4().hex[:8]}"  # a JS identifier: jupyterquiz passes it bare
    prefix, static, _ = load_questions_script(qs, div_id)
    prefix = prefix.replace("</", "<\\/")  # the questions' JSON cannot close the script
    div = render_div(div_id, False, True, False, 1_000_000, 640, 10, "left") + "</div>"
    styles = build_styles(div_id, _COLORS) + _EXTRA_CSS.format(id=div_id)
    data = json.dumps({"name": name, "container": div_id, "questions": qs}).replace("</", "<\\/")
    page = (f'{div}{styles}\n<script type="application/json" class="classp-quick-checks" '
            f'data-name="{name}" data-container="{div_id}">{data}</script>')
    body = build_script(prefix, static, "", div_id, True)
    script = ("(function () {\nfunction classpQuickChecks() {\n" + body + "\n}\n"
              "if (document.readyState === 'complete') { classpQuickChecks(); }\n"
              "else { window.addEventListener('load', classpQuickChecks); }\n})();\n")
    return page, script


def quick_checks(questions: Sequence[dict], name: str) -> None:
    """Show a chapter's quick checks (made by :func:`choice` and :func:`numeric`) in the notebook or page."""
    from IPython.display import HTML, Javascript, display

    page, script = quick_checks_html(questions, name)
    display(HTML(page))
    display(Javascript(script))


# jupyterquiz 2.9's default palette (display_quiz keeps it inside the function), with right/wrong
# colours readable both as text on the white page (the feedback) and behind white text (a chosen
# answer): contrast about 5:1 either way, where jupyterquiz's #009113 gives 4:1
_COLORS = {
    "--jq-multiple-choice-bg": "#392061",
    "--jq-mc-button-bg": "#fafafa",
    "--jq-mc-button-border": "#e0e0e0e0",
    "--jq-mc-button-inset-shadow": "#555555",
    "--jq-many-choice-bg": "#f75c03ff",
    "--jq-numeric-bg": "#392061ff",
    "--jq-numeric-input-bg": "#c0c0c0",
    "--jq-numeric-input-label": "#101010",
    "--jq-numeric-input-shadow": "#999999",
    "--jq-string-bg": "#4c1a57",
    "--jq-incorrect-color": "#c62828",
    "--jq-correct-color": "#2e7d32",
    "--jq-text-color": "#fafafa",
    "--jq-link-color": "#9abafa",
}
# jupyterquiz types the reader's number in its text colour (near white) on light grey: dark on light instead
_EXTRA_CSS = "<style>\n#{id} .Input-text {{ color: #101010; background-color: #f0f0f0; }}\n</style>"
