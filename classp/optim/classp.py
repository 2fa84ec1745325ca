r"""The CLASSP optimizer, exactly as the paper's rule (with its two documented readings).

CLASSP (Continual Learning through Adjustment Suppression and Sparsity Promotion; O. Ludwig,
arXiv:2405.09637) gives every weight its own learning rate, which decays with the gradient it has
already received (*adjustment suppression*, a generalised AdaGrad), and it updates a weight only
where its squared gradient passes a threshold (*sparsity promotion*).
"""
from __future__ import annotations

from typing import Callable, Iterable, Optional

import torch
from torch import Tensor
from torch.optim import Optimizer

from .._validation import check_bool, check_choice, check_number
from .functional import classp_update, compiled_update

__all__ = ["CLASSP", "NonFiniteGradientError", "DEFAULTS", "state_bytes"]

#: Default hyper-parameters of :class:`CLASSP` (see the class docstring for why).
DEFAULTS = dict(lr=0.03, threshold=1e-6, power=1.0, eps=1e-8)

_ACCUMULATE = ("updated", "always")


def state_bytes(optimizer: Optimizer) -> int:
    """Bytes held by the tensors in ``optimizer.state`` (accumulators, moments, step counters).

    The one measure of optimizer memory in the package: :meth:`CLASSP.state_bytes`,
    :meth:`ReferenceCLASSP.state_bytes`, the lab's ``Result.state_bytes`` and the benchmark use it,
    for CLASSP and for any ``torch.optim`` optimizer alike.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer

    Returns
    -------
    int
        Sum of ``numel() * element_size()`` over every tensor in every parameter's state.

    >>> p = torch.nn.Parameter(torch.zeros(10))
    >>> opt = torch.optim.Adagrad([p])
    >>> state_bytes(opt)            # 10 float32 sums + one float32 step counter
    44
    """
    return int(sum(v.numel() * v.element_size() for st in optimizer.state.values()
                   for v in st.values() if isinstance(v, Tensor)))


class NonFiniteGradientError(FloatingPointError):
    """A gradient held NaN or infinity; the optimizer step was refused and nothing changed."""


def _validate_group(group: dict) -> None:
    check_number("lr", group["lr"], 0.0)
    check_number("threshold", group["threshold"], 0.0)
    check_number("power", group["power"], 0.0, low_open=True)
    check_number("eps", group["eps"], 0.0)
    check_bool("decay", group["decay"])
    check_choice("accumulate", group["accumulate"], _ACCUMULATE)


class CLASSP(Optimizer):
    r"""CLASSP: per-weight adjustment suppression and sparsity promotion.

    For every parameter tensor :math:`w` with a dense gradient :math:`g`, elementwise, with the
    group's learning rate :math:`\alpha`, threshold :math:`\tau`, power :math:`p` and :math:`\epsilon`:

    .. math::

        m_t &= \mathbb{1}\left[g_t^2 > \tau\right] \\
        S_t &= S_{t-1} + m_t\,|g_t|^p
            \quad(\text{``accumulate="updated"''; } S_t = S_{t-1} + |g_t|^p \text{ for ``"always"''}) \\
        w_{t+1} &= w_t - m_t\,\frac{\alpha\, g_t}{(\epsilon + S_t)^{1/p}}
            \quad(\text{or } w_t - m_t\,\alpha\, g_t \text{ with ``decay=False''})

    with :math:`S_0 = 0`. The mask is per weight (not per tensor): weights with :math:`g^2 \le \tau`
    keep their value. Parameters whose ``.grad`` is ``None`` are untouched.

    With ``power=2``, ``threshold=0`` and ``accumulate="always"`` this is AdaGrad
    (Duchi, Hazan & Singer 2011) with :math:`\epsilon` inside the square root.

    Two readings of the paper's equation, both documented in the book:

    * The sum in the denominator includes the current gradient (:math:`S_t`, not :math:`S_{t-1}`),
      as in the paper's pseudocode, the released code and AdaGrad. The printed equation sums
      :math:`k = 0 \dots t-1`; taken literally, the first update of a weight divides by
      :math:`\epsilon^{1/p}` and diverges. Including :math:`g_t` bounds every step by :math:`\alpha`.
    * ``accumulate="updated"`` (default) accumulates only where the weight is updated, as in the
      pseudocode; ``"always"`` accumulates every gradient, as in the printed sum.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups (dicts), as for any ``torch.optim`` optimizer. Each group may
        set its own ``lr``, ``threshold``, ``power``, ``eps``, ``decay`` and ``accumulate``.
    lr : float, default 0.03
        Base learning rate :math:`\alpha \ge 0`. With ``decay=True`` no single step of a weight is
        larger than ``lr`` (:math:`|g_t| \le (\epsilon+S_t)^{1/p}`), so ``lr`` is the largest step.
    threshold : float, default 1e-6
        :math:`\tau \ge 0`: a weight moves only where :math:`g^2 > \tau`.
    power : float, default 1
        :math:`p > 0`. With :math:`p = 1` a weight that keeps receiving gradients of the same size
        moves about :math:`\alpha \ln n` after :math:`n` updates (saturating); :math:`p = 2` is
        AdaGrad's :math:`2\alpha\sqrt{n}`; :math:`p < 1` bounds the total movement.
    eps : float, default 1e-8
        :math:`\epsilon \ge 0`, inside the root.
    decay : bool, default True
        ``False`` removes the adjustment suppression (the ablation "no decay"): the step is
        :math:`\alpha g`, while :math:`S` still accumulates.
    accumulate : {"updated", "always"}, default "updated"
        Which gradients enter :math:`S` (see above).
    compile : bool, default False
        Opt-in fused path: the update of each parameter group is compiled with ``torch.compile``
        into one pass that reads the weight, its gradient and its accumulator and writes the
        weight and the accumulator (a one-off compile of tens of seconds per group, again when the
        group's shapes change). Same results up to floating point rounding.

    Notes
    -----
    **Why these defaults differ from the released code's** (``lr=0.2, threshold=0.5,
    epsilon=1e-5, power=1``): the released code gates whole tensors on ``any(g**2 != 0)``, so its
    threshold only ever compares 0 or 1 with 0.5 and never masks a single weight. Applied per
    weight as the paper's equation says, :math:`\tau = 0.5` means :math:`|g| > 0.71`, which almost
    no mini-batch gradient reaches: it freezes almost every weight of a typical network. The book
    measures the scale of :math:`g^2` (chapter "Sparsity promotion") and chooses :math:`\tau` relative
    to it. On the book's MLP (64-100-100-10) with the bundled digits and batches of 32, ``1e-6``
    lies inside the range of per-weight :math:`g^2` at initialisation (that chapter measures it),
    so it masks a sizeable share of the weights at every step while training still converges.
    ``lr=0.03`` is the largest per-step move of one weight and was among the best of a small sweep
    (0.003 to 0.1) on that task; with :math:`p = 1` the first update of a weight is about
    :math:`\alpha\,\mathrm{sign}(g)`, so 0.2 throws the weights of a small network far at their
    first update. ``eps`` only guards against a zero denominator.

    **State** per parameter: ``"grad_sum"`` (:math:`S`, one float per weight, like AdaGrad) and
    ``"step"`` (a scalar tensor).

    **Bad input.** Invalid hyper-parameters raise ``ValueError`` naming the parameter and the
    accepted range, at construction and in :meth:`add_param_group`. A sparse gradient raises
    ``RuntimeError``. A NaN or infinite gradient in any parameter raises
    :class:`NonFiniteGradientError` before anything changes: no parameter and no state moves in
    that step.

    Examples
    --------
    >>> import torch
    >>> from classp import CLASSP
    >>> model = torch.nn.Linear(4, 2)
    >>> opt = CLASSP(model.parameters(), lr=0.03, threshold=1e-6)
    >>> model(torch.randn(8, 4)).pow(2).mean().backward()
    >>> opt.step(); opt.zero_grad()
    """

    def __init__(self, params: Iterable, lr: float = DEFAULTS["lr"],
                 threshold: float = DEFAULTS["threshold"], power: float = DEFAULTS["power"],
                 eps: float = DEFAULTS["eps"], decay: bool = True, accumulate: str = "updated",
                 *, compile: bool = False):
        defaults = dict(lr=lr, threshold=threshold, power=power, eps=eps, decay=decay,
                        accumulate=accumulate)
        _validate_group(defaults)
        self._compile = check_bool("compile", compile)
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict) -> None:
        """Add a parameter group, after checking its hyper-parameters (nothing is added on error)."""
        if isinstance(param_group, dict):
            merged = {**self.defaults, **param_group}
            _validate_group(merged)
        super().add_param_group(param_group)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self.__dict__.setdefault("_compile", False)
        for group in self.param_groups:
            group.setdefault("decay", True)
            group.setdefault("accumulate", "updated")

    def _active(self):
        """(group, param) pairs with a gradient, after checking every gradient first."""
        pairs = []
        for gi, group in enumerate(self.param_groups):
            for pi, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("CLASSP does not support sparse gradients "
                                       f"(group {gi}, parameter {pi}); use dense gradients")
                pairs.append((gi, pi, group, p))
        if not pairs:
            return pairs
        # A sum is finite only if every term is (NaN and inf propagate), and it costs one fast
        # read pass in the gradient's own dtype; only when it is not finite do we look closer (a
        # huge but finite gradient can overflow the sum without being bad).
        sums = torch.stack([p.grad.sum() for _, _, _, p in pairs])
        if bool(torch.isfinite(sums).all()):
            return pairs
        bad = [(gi, pi, tuple(p.shape), int((~torch.isfinite(p.grad)).sum()))
               for gi, pi, _, p in pairs]
        bad = [b for b in bad if b[3] > 0]
        if bad:
            where = "; ".join(f"group {gi} parameter {pi} (shape {shape}): {n} non-finite values"
                              for gi, pi, shape, n in bad)
            raise NonFiniteGradientError(
                "CLASSP step refused: non-finite gradient (NaN or inf) in " + where
                + ". No parameter and no optimizer state was changed. Check the loss and the "
                "learning rate, or skip this batch.")
        return pairs

    @torch.no_grad()
    def step(self, closure: Optional[Callable[[], Tensor]] = None) -> Optional[Tensor]:
        """Perform one CLASSP step.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss (as for any ``torch.optim`` optimizer).

        Returns
        -------
        The closure's loss, or ``None``.

        Raises
        ------
        NonFiniteGradientError
            When any gradient holds NaN or infinity; nothing is changed.
        RuntimeError
            For a sparse gradient.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        pairs = self._active()
        by_group: dict = {}
        for gi, _, group, p in pairs:
            state = self.state[p]
            if len(state) == 0:
                state["step"] = torch.tensor(0.0)
                state["grad_sum"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["step"] += 1
            by_group.setdefault(gi, (group, []))[1].append(p)
        for group, params in by_group.values():
            hp = dict(lr=float(group["lr"]), threshold=float(group["threshold"]), power=float(group["power"]),
                      eps=float(group["eps"]), decay=group["decay"], accumulate=group["accumulate"])
            sums = [self.state[p]["grad_sum"] for p in params]
            if self._compile:  # one compiled call per group (recompiled when its shapes change)
                compiled_update()(params, [p.grad for p in params], sums, **hp)
            else:
                for p, s in zip(params, sums):
                    classp_update(p, p.grad, s, **hp)
        return loss

    def state_bytes(self) -> int:
        """Bytes held in the optimizer state (the accumulators and step counters); see :func:`state_bytes`."""
        return state_bytes(self)
