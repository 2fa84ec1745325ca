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
from ._compiled import CompiledStep
from .functional import all_finite, classp_update, classp_update_foreach, classp_update_fused

__all__ = ["CLASSP", "NonFiniteGradientError", "DEFAULTS", "SUPPORTED_DTYPES", "accumulator_dtype",
           "state_bytes"]

#: Default hyper-parameters of :class:`CLASSP` (see the class docstring for why).
DEFAULTS = dict(lr=0.03, threshold=1e-6, power=1.0, eps=1e-8)

_ACCUMULATE = ("updated", "always")

#: Parameter dtypes CLASSP updates (complex ones through their real views).
SUPPORTED_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64,
                    torch.complex128)
_LOW_PRECISION = (torch.float16, torch.bfloat16)


def accumulator_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype of the accumulator ``"grad_sum"`` kept for a parameter of ``dtype``.

    float32 for float16 and bfloat16 weights (their own resolution would stop the sum growing:
    bfloat16 cannot add 0.01 to 4), the parameter's dtype otherwise.

    >>> accumulator_dtype(torch.bfloat16)
    torch.float32
    >>> accumulator_dtype(torch.float64)
    torch.float64
    """
    return torch.float32 if dtype in _LOW_PRECISION else dtype


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
    for flag in ("maximize", "check_finite", "compile"):
        check_bool(flag, group[flag])
    if group["foreach"] is not None:
        check_choice("foreach", group["foreach"], (None, True, False))


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
        Base learning rate :math:`\alpha \ge 0` (Python or numpy number, or a one-element tensor). With ``decay=True`` no single step of a weight is
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
    maximize : bool, default False
        Maximise the objective instead (the update uses :math:`-g`), as in ``torch.optim``.
    foreach : bool or None, default None
        Use the multi-tensor kernel (:func:`~classp.optim.functional.classp_update_foreach`: the
        mask in one ``hardshrink`` per tensor, the rest a few ``torch._foreach_*`` launches per dtype,
        five passes over memory with the defaults instead of about ten). ``None`` chooses as
        torch's own optimizers do: foreach when every parameter is a plain tensor on a device with
        foreach kernels (CUDA, XPU, ...), the single-tensor kernel otherwise (CPU).
    check_finite : bool, default True
        Refuse a step whose gradients hold NaN or infinity, before anything changes (see "Bad
        input"). It is one extra read of every gradient (with ``compile=True`` a vectorised one,
        compiled into the step); turn it off if you check elsewhere (e.g. ``torch.amp.GradScaler``).
    compile : bool, default False
        Run the update of the groups with ``compile=True`` as one ``torch.compile``-d function
        (:func:`~classp.optim.functional.classp_update_fused`: one pass per tensor that reads the
        weight, its gradient and its accumulator and writes the weight and the accumulator; with
        ``check_finite`` the finiteness test is compiled in, and the update is written only if it
        passes), compiled on the first step (tens of seconds) and again only when shapes, dtypes or
        the other hyper-parameters change: the learning rate enters as a tensor, so a scheduler does
        not recompile it. Same results up to floating point rounding.

    All options are stored in ``defaults`` and in every parameter group, so ``state_dict``,
    ``copy.deepcopy`` and ``pickle`` keep them.

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

    **State** per parameter: ``"grad_sum"`` (:math:`S`, one number per weight, like AdaGrad's sum)
    and ``"step"`` (a scalar float32 tensor). ``"grad_sum"`` has the parameter's dtype, except for
    float16 and bfloat16 parameters, whose accumulator is float32: **4 bytes per weight** for
    float32, float16 and bfloat16 weights alike (8 for float64 and complex64). The update is
    computed in the accumulator's dtype (the gradient upcast, so the mask of a small float16
    gradient is the mask of its exact value) and rounded once into the weight. A ``state_dict``
    round trip keeps the accumulator's dtype.

    **Complex parameters** are updated through their real views (``torch.view_as_real``), as torch's
    Adagrad does: the real and the imaginary part are two weights. The supported parameter dtypes
    are :data:`SUPPORTED_DTYPES`.

    **Bad input.** Invalid hyper-parameters raise ``ValueError`` naming the parameter and the
    accepted range, at construction and in :meth:`add_param_group`. Every gradient is checked
    before anything changes: a sparse gradient raises ``RuntimeError``, a parameter of an
    unsupported dtype ``TypeError``, an accumulator of the wrong shape or dtype (a state dict of
    another model) ``RuntimeError``, and a NaN or infinite gradient (with ``check_finite=True``)
    :class:`NonFiniteGradientError`; a refused step leaves every parameter, every state tensor and
    every step counter as it was.

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
                 *, maximize: bool = False, foreach: Optional[bool] = None, check_finite: bool = True,
                 compile: bool = False):
        defaults = dict(lr=lr, threshold=threshold, power=power, eps=eps, decay=decay,
                        accumulate=accumulate, maximize=maximize, foreach=foreach,
                        check_finite=check_finite, compile=compile)
        _validate_group(defaults)
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict) -> None:
        """Add a parameter group, after checking its hyper-parameters (nothing is added on error)."""
        if isinstance(param_group, dict):
            merged = {**self.defaults, **param_group}
            _validate_group(merged)
        super().add_param_group(param_group)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:  # optimizers pickled by older versions
            for key, value in _OPTIONS.items():
                group.setdefault(key, value)
        for key, value in _OPTIONS.items():
            self.defaults.setdefault(key, value)

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state dict, keeping each accumulator in :func:`accumulator_dtype` of its parameter.

        (``torch.optim.Optimizer.load_state_dict`` casts floating state to the parameter's dtype,
        which would round the float32 accumulator of a float16 weight to float16.)
        """
        sums = {k: v["grad_sum"] for k, v in state_dict["state"].items()
                if isinstance(v, dict) and isinstance(v.get("grad_sum"), Tensor)}
        super().load_state_dict(state_dict)
        saved_ids = [i for g in state_dict["param_groups"] for i in g["params"]]
        params = [p for g in self.param_groups for p in g["params"]]
        for i, p in zip(saved_ids, params):
            if i in sums and p in self.state:
                self.state[p]["grad_sum"] = sums[i].to(device=p.device, dtype=accumulator_dtype(p.dtype),
                                                       copy=True)

    def _active(self) -> list:
        """``(group index, param index, group, param, state)`` with a gradient, after checking every one of them.

        Nothing changes here. The finiteness of the gradients of groups with ``compile=True`` is
        checked inside their compiled step (see :meth:`step`), the others' here.
        """
        pairs = []
        for gi, group in enumerate(self.param_groups):
            for pi, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError(f"CLASSP does not support sparse gradients (group {gi}, parameter {pi}); "
                                       "use dense gradients")
                if p.dtype not in SUPPORTED_DTYPES:
                    raise TypeError(f"CLASSP updates parameters of dtype {', '.join(map(str, SUPPORTED_DTYPES))}; "
                                    f"got {p.dtype} (group {gi}, parameter {pi})")
                state = self.state.get(p)
                s = state.get("grad_sum") if state is not None else None
                if s is not None and (s.shape != p.shape or s.dtype != accumulator_dtype(p.dtype)):
                    raise RuntimeError(
                        f"CLASSP state of group {gi}, parameter {pi} does not fit its parameter: grad_sum has shape "
                        f"{tuple(s.shape)} and dtype {s.dtype}, expected {tuple(p.shape)} and "
                        f"{accumulator_dtype(p.dtype)} (a state dict of another model?)")
                pairs.append((gi, pi, group, p, state))
        _check_finite([(gi, pi, p) for gi, pi, group, p, _ in pairs if group["check_finite"] and not group["compile"]])
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
            When any gradient holds NaN or infinity (with ``check_finite=True``); nothing is changed.
        RuntimeError, TypeError
            For a sparse gradient, an unsupported dtype or a state that does not fit; nothing is changed.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        pairs = self._active()  # every check first (but the compiled groups' finiteness)
        by_group: dict = {}
        new, steps = [], []
        for gi, _, group, p, state in pairs:
            if not state:
                state = self.state[p]
                state["step"] = torch.tensor(0.0)
                state["grad_sum"] = torch.zeros_like(p, dtype=accumulator_dtype(p.dtype),
                                                     memory_format=torch.preserve_format)
                new.append(p)
            steps.append(state["step"])
            entry = by_group.setdefault(gi, (group, [], []))
            entry[1].append(p)
            entry[2].append(state["grad_sum"])
        compiled = [entry for entry in by_group.values() if entry[0]["compile"]]
        if compiled:  # all compiled groups in one call: their finiteness is decided before any of them changes
            ok = self._compiled()([self._kernel_args(*entry, tensor_lr=True) for entry in compiled])
            if ok is not None and not bool(ok):
                for p in new:  # nothing was changed: the states made for this step go too
                    del self.state[p]
                _check_finite([(gi, pi, p) for gi, pi, group, p, _ in pairs if group["check_finite"] and group["compile"]])
                raise NonFiniteGradientError("CLASSP step refused: non-finite gradient (NaN or inf). "
                                             "No parameter and no optimizer state was changed.")
        for group, params, sums in by_group.values():  # from here on nothing is refused
            if not group["compile"]:
                self._update_group(group, params, sums)
        if steps:
            torch._foreach_add_(steps, 1.0)
        return loss

    def _kernel_args(self, group: dict, params: list, sums: list, tensor_lr: bool = False) -> tuple:
        """The real views of the group's parameters, gradients and accumulators, its lr and other hyper-parameters."""
        if any(p.is_complex() for p in params):
            ws, gs, ss = [_real(p) for p in params], [_real(p.grad) for p in params], [_real(s) for s in sums]
        else:
            ws, gs, ss = params, [p.grad for p in params], sums
        hp = dict(threshold=float(group["threshold"]), power=float(group["power"]), eps=float(group["eps"]),
                  decay=group["decay"], accumulate=group["accumulate"], maximize=group["maximize"])
        lr = float(group["lr"])
        if tensor_lr:  # a 0-d tensor, made again only when the value changes
            cache = self.__dict__.setdefault("_lr_tensors", {})
            known = cache.get(id(group))
            if known is None or known[0] != lr:
                known = cache[id(group)] = (lr, torch.tensor(lr, dtype=torch.float64))
            return ws, gs, ss, known[1], hp, group["check_finite"]
        return ws, gs, ss, lr, hp

    def _update_group(self, group: dict, params: list, sums: list) -> None:
        """The group's eager kernel (foreach or single-tensor) on its real views."""
        ws, gs, ss, lr, hp = self._kernel_args(group, params, sums)
        if group["foreach"] or (group["foreach"] is None and _default_foreach(params)):
            classp_update_foreach(ws, gs, ss, lr=lr, **hp)
        else:
            for w, g, s in zip(ws, gs, ss):
                classp_update(w, g, s, lr=lr, **hp)

    def _compiled(self) -> Callable:
        """This optimizer's compiled :func:`_fused_step` (a :class:`~classp.optim._compiled.CompiledStep`), made at first use.

        Kept on the instance (not pickled or copied: ``Optimizer.__getstate__`` keeps defaults,
        state and groups only), so it lives as long as the optimizer.
        """
        fn = self.__dict__.get("_compiled_update")
        if fn is None:
            fn = CompiledStep(_fused_step)
            self.__dict__["_compiled_update"] = fn
        return fn

    def state_bytes(self) -> int:
        """Bytes held in the optimizer state (the accumulators and step counters); see :func:`state_bytes`."""
        return state_bytes(self)


#: The options added after the first version, with their defaults (filled into old pickles).
_OPTIONS = dict(decay=True, accumulate="updated", maximize=False, foreach=None, check_finite=True, compile=False)


def _real(t: Tensor) -> Tensor:
    """``t`` itself, or its real view if it is complex (two real numbers per element)."""
    return torch.view_as_real(t) if t.is_complex() else t


def _default_foreach(params: list) -> bool:
    """Torch's default: foreach when every parameter is a plain tensor on a device with foreach kernels.

    (The rule of ``torch.optim.optimizer._default_to_fused_or_foreach``: CUDA, XPU and the
    registered private-use backend have foreach kernels; on the CPU torch's optimizers default to
    the single-tensor path.)
    """
    devices = ("cuda", "xpu", torch._C._get_privateuse1_backend_name())
    return all(type(p) in (Tensor, torch.nn.Parameter) and p.device.type in devices for p in params)


def _fused_step(groups: list) -> Optional[Tensor]:
    """The update of the compiled groups, each ``(ws, gs, ss, lr, hyper-parameters, check_finite)``.

    With ``check_finite`` in any group, the finiteness of those groups' gradients is computed in the
    same compiled function (:func:`~classp.optim.functional.all_finite`, a vectorised read of each
    gradient, no synchronisation) and every update is conditional on it: the returned 0-d bool is
    False when nothing was changed. ``None`` when no group checks.
    """
    checked = [g for ws, gs, ss, lr, hp, check in groups if check for g in gs]
    ok = all_finite(checked) if checked else None
    for ws, gs, ss, lr, hp, check in groups:
        classp_update_fused(ws, gs, ss, lr, ok=ok, **hp)
    return ok


def _check_finite(items: list) -> None:
    """Raise :class:`NonFiniteGradientError` naming every ``(group, parameter)`` whose gradient is not finite.

    A sum is finite only if every term is (NaN and inf propagate), so one fast reduction per
    gradient (accumulated in float32 at least, so float16 sums do not overflow) decides; only when
    one is not finite are the tensors looked at closely (a huge but finite gradient can overflow
    the sum without being bad).
    """
    if not items:
        return
    sums = torch.stack([_real(p.grad).sum(dtype=accumulator_dtype(_real(p).dtype)) for _, _, p in items])
    if bool(torch.isfinite(sums).all()):
        return
    bad = [(gi, pi, tuple(p.shape), int((~torch.isfinite(p.grad)).sum())) for gi, pi, p in items]
    bad = [b for b in bad if b[3] > 0]
    if bad:
        where = "; ".join(f"group {gi} parameter {pi} (shape {shape}): {n} non-finite values"
                          for gi, pi, shape, n in bad)
        raise NonFiniteGradientError(
            "CLASSP step refused: non-finite gradient (NaN or inf) in " + where
            + ". No parameter and no optimizer state was changed. Check the loss and the "
            "learning rate, or skip this batch.")
