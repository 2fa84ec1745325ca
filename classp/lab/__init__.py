"""How to learn, and what happened: methods (optimizer + regulariser + schedule), models, the
training loop (:func:`run`, :func:`compare`, checkpoint and resume), results files, tables,
metrics, paired statistics over seeds (:mod:`classp.lab.stats`), the paper's two protocols
(:mod:`classp.lab.protocols`) and the optimizer benchmark (:mod:`classp.lab.bench`). Imports the optimizers and the data, never the viewing or teaching layers.
"""
from .methods import MAIN_METHODS, Learner, Method, get_method, list_methods
from .metrics import as_matrix, average_accuracy, backward_transfer, forgetting, forward_transfer, plasticity_slope
from .models import MLP, MnistCNN, TextClassifier, list_models, make_model
from .regularisers import (EWC, MAS, SI, ImportancePenalty, Regulariser, fisher_diagonal, masked_logits,
                           output_sensitivity)
from .results import Result, ResultsFile, load, save
from .stats import PairedDifference, align_by_seed, paired_difference
from .tables import format_table, summarize
from .train import compare, evaluate, route_options, run

__all__ = ["Method", "Learner", "get_method", "list_methods", "MAIN_METHODS",
           "average_accuracy", "backward_transfer", "forgetting", "forward_transfer", "plasticity_slope", "as_matrix",
           "make_model", "list_models", "MLP", "MnistCNN", "TextClassifier",
           "Regulariser", "EWC", "SI", "MAS", "ImportancePenalty", "fisher_diagonal", "output_sensitivity",
           "masked_logits",
           "Result", "ResultsFile", "save", "load", "summarize", "format_table",
           "run", "compare", "route_options", "evaluate",
           "PairedDifference", "paired_difference", "align_by_seed"]
