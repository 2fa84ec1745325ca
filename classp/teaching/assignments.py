"""The book's assignments: their registry, the timings file the book reads, and a lab adapter.

The assignment notebooks in ``book/assignments/`` are the single source of truth (they hold the
solutions, folded on the website). This module says which assignments there are, in which order,
after which chapters and for how many points (:data:`ASSIGNMENTS`; the tasks and their checks are
in :data:`classp.teaching.checks.TASKS`). The book's pages read it at build time, together with
the timings file (:func:`load_timings`) and the chapters' learning objectives
(:func:`chapter_outline`).

:func:`method_from_step` turns a student's functional update rule into a method that
:func:`classp.lab.train.run` accepts.

Repository tooling that needs the book's sources is not installed with the package: the student
and teacher editions are built by ``python scripts/editions.py build --out DIR``, and the timings
file is written by ``python scripts/timings.py``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from .._validation import check_choice, check_int, check_number
from . import checks

__all__ = [
    "Assignment", "ASSIGNMENTS", "get_assignment", "WORDS_PER_MINUTE", "TIMINGS_SCHEMA", "load_timings",
    "chapter_outline", "StepOptimizer", "method_from_step",
]

#: Reading speed used for reading-time estimates (words per minute; a stated assumption for
#: technical text with formulas, not a measurement).
WORDS_PER_MINUTE = 150
#: Schema of ``book/results/timings.json`` (written by ``scripts/timings.py``).
TIMINGS_SCHEMA = "classp-timings/1"


# ================================================================================== registry
@dataclass(frozen=True)
class Assignment:
    """One assignment notebook.

    Attributes
    ----------
    number : int
    slug : str
        File stem in ``book/assignments/``.
    title : str
    chapters : tuple of str
        Stems of the chapters it builds on (``"02_adagrad"``, ...).
    minutes : (int, int)
        Estimated student work in minutes (an author's estimate, not a measurement).
    summary : str
        One sentence: what the student does.
    """

    number: int
    slug: str
    title: str
    chapters: tuple
    minutes: tuple
    summary: str

    @property
    def notebook(self) -> str:
        """File name of the notebook."""
        return f"{self.slug}.ipynb"

    @property
    def tasks(self) -> list:
        """Its tasks (:class:`classp.teaching.checks.TaskInfo`), in order."""
        return checks.tasks_of(self.number)

    @property
    def points(self) -> int:
        """Total points."""
        return sum(t.points for t in self.tasks)


ASSIGNMENTS: tuple = (
    Assignment(1, "a1_from_scratch", "AdaGrad and CLASSP from scratch",
               ("02_adagrad", "03_suppression", "04_sparsity", "05_classp_in_pytorch"), (45, 75),
               "Write the AdaGrad and the CLASSP update of a tensor, check them against PyTorch and "
               "classp.CLASSP, and train with them in the lab."),
    Assignment(2, "a2_threshold", "A threshold for a target density, and the forgetting it buys",
               ("01_forgetting", "04_sparsity", "05_classp_in_pytorch"), (45, 75),
               "Turn a target share of updated weights into a threshold, find the threshold that gives a "
               "run a target update density, and measure over three seeds what it does to forgetting."),
    Assignment(3, "a3_ewc", "EWC's diagonal Fisher and penalty",
               ("01_forgetting", "07_ewc"), (45, 90),
               "Write the empirical Fisher diagonal and the EWC penalty, check them against classp.lab.regularisers, "
               "and relate the penalty's strength to forgetting and to the stability of SGD."),
    Assignment(4, "a4_frontier", "CLASSP on the stability–plasticity frontier",
               ("01_forgetting", "07_ewc", "08_head_to_head"), (60, 90),
               "Write the forgetting metric, design and run a small experiment that places CLASSP among "
               "baselines on the stability–plasticity frontier, and argue from it."),
)


def get_assignment(number: int) -> Assignment:
    """The assignment with this number.

    Parameters
    ----------
    number : int
        1 to ``len(ASSIGNMENTS)`` (Python or numpy integer).

    Returns
    -------
    Assignment
    """
    number = check_choice("number", check_int("number", number), [a.number for a in ASSIGNMENTS])
    return next(a for a in ASSIGNMENTS if a.number == number)


# ================================================================================== what the book reads
def load_timings(path) -> dict:
    """Read and check a timings file (``book/results/timings.json``, written by ``scripts/timings.py``).

    Parameters
    ----------
    path : path

    Returns
    -------
    dict
        ``schema``, ``command``, ``created``, ``versions``, ``machine`` (the provenance header),
        ``words_per_minute`` and ``notebooks``: per notebook (path from the repository's root)
        ``exec_s``, ``status`` (``"ok"`` or ``"error: ..."``), ``words`` and ``reading_min``.

    Raises
    ------
    ValueError
        If the file is not a timings file of schema :data:`TIMINGS_SCHEMA`.
    """
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or doc.get("schema") != TIMINGS_SCHEMA:
        raise ValueError(f"{path}: not a timings file of schema {TIMINGS_SCHEMA!r}")
    for key in ("command", "created", "machine", "versions", "words_per_minute", "notebooks"):
        if key not in doc:
            raise ValueError(f"{path}: missing key {key!r}")
    for name, e in doc["notebooks"].items():
        for key in ("exec_s", "status", "words", "reading_min"):
            if key not in e:
                raise ValueError(f"{path}: entry {name!r} misses {key!r}")
    return doc


def _objectives(src: str) -> list:
    """The bullet items after "Learning objectives" in a Markdown cell (continuation lines joined)."""
    block = src[src.lower().index("learning objectives"):]
    items, cur = [], None
    for line in block.split("\n")[1:]:
        s = line.strip()
        if s.startswith(("- ", "* ")):
            cur = s[2:].strip()
            items.append(cur)
        elif s.startswith(("```", ":::")):
            break
        elif s and cur is not None and line.startswith("  "):
            items[-1] = items[-1] + " " + s
        elif not s:
            cur = None
    return items


def chapter_outline(path) -> dict:
    """Title and learning objectives of a chapter notebook.

    The title is the first ``# `` heading; the objectives are the bullet items of the first
    Markdown block that mentions "Learning objectives" (the book's chapter grammar).

    Parameters
    ----------
    path : path
        A chapter ``.ipynb``.

    Returns
    -------
    dict
        ``title`` (str) and ``objectives`` (list of str, possibly empty).
    """
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    title, objectives = Path(path).stem, []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        src = cell.source
        if title == Path(path).stem:
            m = re.search(r"^# (.+)$", src, re.M)
            if m:
                title = m.group(1).strip()
        if not objectives and "learning objectives" in src.lower():
            objectives = _objectives(src)
        if objectives and title != Path(path).stem:
            break
    return {"title": title, "objectives": objectives}


# ================================================================================== lab adapter
class StepOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` around a functional update rule.

    ``step_fn(w, g, state_sum, lr=..., **hparams) -> (new_w, new_state_sum)`` is applied to every
    parameter with a gradient; ``state_sum`` starts at zero (one tensor per parameter, in
    ``self.state[p]["sum"]``). The function gets copies, so it may work in place or not.

    Parameters
    ----------
    params : iterable
        Parameters to optimize.
    step_fn : callable
        The update rule (e.g. a student's ``adagrad_step`` or ``classp_step``).
    lr : float
        Learning rate (> 0; Python or numpy number, or a one-element tensor), passed as ``lr=``.
    **hparams
        Further keyword arguments of ``step_fn`` (e.g. ``threshold=1e-6, power=1.0, eps=1e-8``).
    """

    def __init__(self, params, step_fn: Callable, lr: float, **hparams):
        if not callable(step_fn):
            raise ValueError(f"step_fn must be callable; got {type(step_fn).__name__}")
        lr = check_number("lr", lr, 0, low_open=True)
        self._step_fn = step_fn
        self._hparam_names = ("lr",) + tuple(hparams)
        super().__init__(params, dict(lr=lr, **hparams))

    @torch.no_grad()
    def step(self, closure=None):
        """Apply ``step_fn`` to every parameter that has a gradient.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss.

        Returns
        -------
        The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            hp = {k: group[k] for k in self._hparam_names}
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if "sum" not in st:
                    st["sum"] = torch.zeros_like(p)
                new_w, new_s = self._step_fn(p.detach().clone(), p.grad.detach().clone(), st["sum"].clone(), **hp)
                p.copy_(torch.as_tensor(new_w, dtype=p.dtype))
                st["sum"] = torch.as_tensor(new_s, dtype=p.dtype).detach().clone()
        return loss


def method_from_step(step_fn: Callable, *, name: str, lr: float, description: str = "", **hparams):
    """A :class:`classp.lab.methods.Method` that trains with a functional update rule.

    Parameters
    ----------
    step_fn : callable
        ``step_fn(w, g, state_sum, lr=..., **hparams) -> (new_w, new_state_sum)``.
    name : str
        The method's name (shown in results and tables).
    lr : float
        Default learning rate (> 0).
    description : str, optional
    **hparams
        Default values of the other keyword arguments of ``step_fn``; they become the method's
        options (``run(..., options={...})`` can override them).

    Returns
    -------
    classp.lab.methods.Method

    Examples
    --------
    >>> from classp.lab.train import run                               # doctest: +SKIP
    >>> m = method_from_step(classp_step, name="my-classp", lr=0.03,
    ...                      threshold=1e-6, power=1.0, eps=1e-8)      # doctest: +SKIP
    >>> result = run(m, "permuted-digits", seed=0)                     # doctest: +SKIP
    """
    from ..lab.methods import Learner, Method

    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string; got {name!r}")
    lr = check_number("lr", lr, 0, low_open=True)

    def factory(model, lr_value, options):
        params = [p for p in model.parameters() if p.requires_grad]
        return Learner(StepOptimizer(params, step_fn, lr=lr_value, **options))

    return Method(name, description or f"{name}: a functional update rule wrapped by "
                                       "classp.teaching.assignments.StepOptimizer",
                  {"lr": lr, **hparams}, factory)
