"""classp: the CLASSP optimizer and the continual-learning lab behind the CLASSP book.

CLASSP (Continual Learning through Adjustment Suppression and Sparsity Promotion) is due to
O. Ludwig, arXiv:2405.09637 (2024).
"""
from .optim import CLASSP, DEFAULTS, NonFiniteGradientError
from .reference import ReferenceCLASSP

__version__ = "0.1.0"

__all__ = ["CLASSP", "ReferenceCLASSP", "NonFiniteGradientError", "DEFAULTS", "__version__"]
