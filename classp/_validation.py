"""One checker for every public argument of the package (in the spirit of scikit-learn's ``check_scalar``).

Numbers are accepted the way numpy and torch users pass them: Python ``int``/``float``, numpy
scalars (``np.float32(0.01)``, ``np.int64(10)``) and 0-d (or one-element) tensors. ``bool`` is
never a number here. Every refusal is a ``ValueError`` in one format, naming the argument and the
accepted range::

    lr must be a number >= 0; got -1.0
    batch_size must be an integer >= 1; got 0
    gamma must be a number in [0, 1]; got 1.5
    threads must be None or an integer >= 1; got 0
    mode must be one of 'separate', 'online'; got 'both'

This module imports nothing but the standard library at import time (torch is looked up only
when a tensor is passed), so :mod:`classp.optim` can use it and stay torch-only.
"""
from __future__ import annotations

import math
import numbers
import sys
from typing import Any, Iterable

__all__ = ["check_number", "check_int", "check_choice", "check_bool", "check_distinct", "describe_range", "MAX_SEED"]

MAX_SEED = 2**32 - 1
"""The largest seed (numpy's and torch's generators both accept every seed in [0, MAX_SEED])."""


def describe_range(low=None, high=None, *, low_open: bool = False, high_open: bool = False) -> str:
    """The accepted range in words: ``">= 0"``, ``"> 0"``, ``"<= 1"``, ``"in [0, 1]"``, ``"in (0, 1]"``.

    >>> describe_range(0, None, low_open=True)
    '> 0'
    >>> describe_range(0, 1, high_open=True)
    'in [0, 1)'
    """
    def fmt(x):
        return str(x) if isinstance(x, int) and not isinstance(x, bool) else f"{x:g}"

    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{fmt(low)}, {fmt(high)}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {fmt(low)}"
    if high is not None:
        return f"{'<' if high_open else '<='} {fmt(high)}"
    return ""


def _is_bool(value: Any) -> bool:
    t = type(value)
    return isinstance(value, bool) or (t.__module__ == "numpy" and t.__name__ in ("bool_", "bool"))


def _scalar(value: Any):
    """``value`` as a Python number if it is one (numpy scalars and one-element tensors too), else None."""
    if _is_bool(value):
        return None
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        if value.numel() != 1 or value.dtype == torch.bool or value.is_complex():
            return None
        return value.item()
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return None


def _refuse(name: str, what: str, rng: str, value: Any, allow_none: bool) -> ValueError:
    kind = f"None or {what}" if allow_none else what
    shown = f"a tensor of shape {tuple(value.shape)}" if hasattr(value, "shape") and getattr(value, "ndim", 0) else repr(value)
    return ValueError(f"{name} must be {kind}{' ' + rng if rng else ''}; got {shown}")


def check_number(name: str, value: Any, low=None, high=None, *, low_open: bool = False, high_open: bool = False,
                 allow_none: bool = False, finite: bool = True) -> float | None:
    """``value`` as a ``float`` if it is a real number in the range, else ``ValueError``.

    Parameters
    ----------
    name : str
        The argument's name, as the user wrote it (it starts the message).
    value : Any
        Python or numpy real number, or a one-element real tensor.
    low, high : float, optional
        Bounds; ``None`` for none. ``low_open`` / ``high_open`` exclude the bound itself.
    allow_none : bool
        Accept ``None`` (returned as is).
    finite : bool
        Refuse NaN and infinities (default). Without it, ``inf`` passes if the bounds allow it.

    Returns
    -------
    float or None

    >>> check_number("lr", 0.5, 0)
    0.5
    >>> check_number("lr", -1, 0)
    Traceback (most recent call last):
    ...
    ValueError: lr must be a number >= 0; got -1
    """
    if value is None and allow_none:
        return None
    rng = describe_range(low, high, low_open=low_open, high_open=high_open)
    x = _scalar(value)
    if x is None or math.isnan(x) or (finite and math.isinf(x)):
        raise _refuse(name, "a finite number" if x is not None else "a number", rng, value, allow_none)
    x = float(x)
    if (low is not None and (x < low or (low_open and x == low))) or \
            (high is not None and (x > high or (high_open and x == high))):
        raise _refuse(name, "a number", rng, value, allow_none)
    return x


def check_int(name: str, value: Any, low=None, high=None, *, allow_none: bool = False) -> int | None:
    """``value`` as an ``int`` if it is an integer in ``[low, high]``, else ``ValueError``.

    Python and numpy integers and one-element integer tensors are integers; ``3.0`` and ``True``
    are not.

    >>> check_int("seed", 3, 0)
    3
    >>> check_int("seed", 3.0, 0)
    Traceback (most recent call last):
    ...
    ValueError: seed must be an integer >= 0; got 3.0
    """
    if value is None and allow_none:
        return None
    rng = describe_range(low, high)
    x = _scalar(value)
    if not isinstance(x, int):
        raise _refuse(name, "an integer", rng, value, allow_none)
    if (low is not None and x < low) or (high is not None and x > high):
        raise _refuse(name, "an integer", rng, value, allow_none)
    return x


def check_choice(name: str, value: Any, choices: Iterable) -> Any:
    """``value`` if it is one of ``choices``, else ``ValueError`` listing them.

    >>> check_choice("mode", "both", ("separate", "online"))
    Traceback (most recent call last):
    ...
    ValueError: mode must be one of 'separate', 'online'; got 'both'
    """
    choices = list(choices)
    try:
        ok = any(value is c or (not isinstance(value, bool) and not isinstance(c, bool) and bool(value == c))
                 for c in choices)
    except Exception:  # an object whose == raises (a tensor, an array) is not a choice
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """``value`` if it is ``True`` or ``False`` (numpy bools too), else ``ValueError``.

    >>> check_bool("decay", 1)
    Traceback (most recent call last):
    ...
    ValueError: decay must be True or False; got 1
    """
    if _is_bool(value):
        return bool(value)
    raise ValueError(f"{name} must be True or False; got {value!r}")


def check_distinct(name: str, values: Iterable) -> list:
    """``values`` as a list if none repeats, else ``ValueError`` naming the repeated one.

    Seeds and methods are replicates and rows: a repeated one would be counted twice.

    >>> check_distinct("seeds", [0, 0])
    Traceback (most recent call last):
    ...
    ValueError: seeds must be distinct (each one is counted once); got [0, 0] (0 repeats)
    """
    values = list(values)
    for i, v in enumerate(values):
        if v in values[:i]:
            raise ValueError(f"{name} must be distinct (each one is counted once); got {values!r} ({v!r} repeats)")
    return values
