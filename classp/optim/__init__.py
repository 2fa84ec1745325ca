"""The optimizers: :class:`CLASSP` (the paper's per-weight rule) and :class:`ReferenceCLASSP`
(the released ``CLASSP.py``, bug for bug). This room imports torch and nothing else: a
practitioner who wants only the optimizer needs nothing of the lab.

- :mod:`classp.optim.classp`: the optimizer class (the rule, validation, options, dispatch);
- :mod:`classp.optim.functional`: the update kernels it dispatches to;
- :mod:`classp.optim.reference`: the released code, for comparison;
- :func:`state_bytes`: the bytes any optimizer keeps in its state (one measure for every optimizer).
"""
from .classp import CLASSP, DEFAULTS, SUPPORTED_DTYPES, NonFiniteGradientError, accumulator_dtype, state_bytes
from .reference import ReferenceCLASSP

__all__ = ["CLASSP", "ReferenceCLASSP", "NonFiniteGradientError", "DEFAULTS", "SUPPORTED_DTYPES", "accumulator_dtype",
           "state_bytes"]
