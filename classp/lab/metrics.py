"""Continual-learning metrics on an accuracy matrix.

The accuracy matrix ``R`` of a run over ``T`` tasks is a ``T x T`` array with ``R[i][j]`` the test
accuracy on task ``j`` after training on task ``i`` (rows: time, columns: tasks).  The accuracies
*before* any training, one per task, are a separate vector ``b`` (a run's ``initial_accuracy``).

=========================  ====================================================================
metric                      definition (mean over the tasks listed)
=========================  ====================================================================
``average_accuracy(R)``     :math:`\\frac1T \\sum_{j} R_{T-1,j}` (the last row)
``backward_transfer(R)``    :math:`\\frac1{T-1} \\sum_{j<T-1} R_{T-1,j} - R_{j,j}`
                            (Lopez-Paz & Ranzato 2017; negative = forgetting)
``forgetting(R)``           :math:`\\frac1{T-1} \\sum_{j<T-1} \\max_{l \\in j..T-2} R_{l,j} - R_{T-1,j}`
                            (Chaudhry et al. 2018; positive = forgetting)
``forward_transfer(R, b)``  :math:`\\frac1{T-1} \\sum_{j\\ge1} R_{j-1,j} - b_j`
                            (Lopez-Paz & Ranzato 2017)
``plasticity_slope(R)``     least-squares slope of the diagonal :math:`R_{j,j}` against :math:`j`
                            (per task; negative = loss of plasticity, Dohare et al. 2024)
=========================  ====================================================================

With a single task (``T = 1``) there is no earlier (or later) task to transfer to or to forget,
and ``backward_transfer``, ``forgetting``, ``forward_transfer`` and ``plasticity_slope`` return ``0.0``
by convention.
"""
from __future__ import annotations

import numpy as np

__all__ = ["average_accuracy", "backward_transfer", "forgetting", "forward_transfer", "plasticity_slope",
           "as_matrix"]


def as_matrix(R) -> np.ndarray:
    """Check and convert an accuracy matrix to a square float64 array.

    Parameters
    ----------
    R : array-like, shape (T, T)
        Accuracy matrix: ``R[i][j]`` is the accuracy on task ``j`` after training task ``i``.
        A NumPy array, a torch tensor or a list of lists.

    Returns
    -------
    numpy.ndarray
        A ``(T, T)`` float64 copy.

    Raises
    ------
    ValueError
        If ``R`` is empty, ragged, not two-dimensional, not square, or holds values that are not
        accuracies (non-finite, or outside [0, 1]).
    """
    if hasattr(R, "detach"):  # torch tensor
        R = R.detach().cpu().numpy()
    try:
        arr = np.array(R, dtype=np.float64)
    except (ValueError, TypeError) as exc:  # ragged lists, strings
        raise ValueError(f"R must be a square T x T matrix of numbers; got a ragged or non-numeric value ({exc})") from None
    if arr.size == 0:
        raise ValueError("R must be a non-empty square T x T matrix (T >= 1); got an empty matrix")
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"R must be a square T x T matrix (T >= 1); got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("R must hold finite numbers; got NaN or infinity")
    outside = (arr < 0) | (arr > 1)
    if outside.any():
        i, j = map(int, np.argwhere(outside)[0])
        raise ValueError(f"R must hold accuracies in [0, 1]; got R[{i}][{j}] = {float(arr[i, j])!r}")
    return arr


def average_accuracy(R) -> float:
    """Average accuracy over all tasks after training on the last task.

    Parameters
    ----------
    R : array-like, shape (T, T)
        Accuracy matrix, ``R[i][j]`` = accuracy on task ``j`` after training task ``i``.

    Returns
    -------
    float
        The mean of the last row, :math:`\\frac1T\\sum_j R_{T-1,j}`.

    Raises
    ------
    ValueError
        If ``R`` is empty or not square.

    Examples
    --------
    >>> average_accuracy([[0.9, 0.1], [0.7, 0.8]])
    0.75
    """
    arr = as_matrix(R)
    return float(arr[-1].mean())


def backward_transfer(R) -> float:
    """Backward transfer (BWT) of Lopez-Paz & Ranzato (2017).

    The mean change of accuracy on each earlier task between the moment it was learned and the
    end of the sequence; negative values mean forgetting.

    Parameters
    ----------
    R : array-like, shape (T, T)
        Accuracy matrix.

    Returns
    -------
    float
        :math:`\\frac1{T-1}\\sum_{j<T-1} (R_{T-1,j} - R_{j,j})`, or ``0.0`` when ``T = 1``.

    Raises
    ------
    ValueError
        If ``R`` is empty or not square.

    Examples
    --------
    >>> round(backward_transfer([[0.9, 0.1], [0.7, 0.8]]), 6)
    -0.2
    """
    arr = as_matrix(R)
    T = arr.shape[0]
    if T == 1:
        return 0.0
    j = np.arange(T - 1)
    return float(np.mean(arr[T - 1, j] - arr[j, j]))


def forgetting(R) -> float:
    """Average forgetting of Chaudhry et al. (2018).

    For each earlier task, the drop from its best accuracy at any stage before the last one
    (from the stage it was learned on) to its accuracy at the end.

    Parameters
    ----------
    R : array-like, shape (T, T)
        Accuracy matrix.

    Returns
    -------
    float
        :math:`\\frac1{T-1}\\sum_{j<T-1} (\\max_{l\\in j..T-2} R_{l,j} - R_{T-1,j})`, or ``0.0``
        when ``T = 1``.  Positive values mean forgetting; it can be negative when a task improves
        after its best earlier stage.

    Raises
    ------
    ValueError
        If ``R`` is empty or not square.

    Examples
    --------
    >>> round(forgetting([[0.9, 0.1, 0.2], [0.95, 0.8, 0.3], [0.6, 0.7, 0.9]]), 6)
    0.225
    """
    arr = as_matrix(R)
    T = arr.shape[0]
    if T == 1:
        return 0.0
    drops = [arr[j : T - 1, j].max() - arr[T - 1, j] for j in range(T - 1)]
    return float(np.mean(drops))


def forward_transfer(R, b) -> float:
    """Forward transfer (FWT) of Lopez-Paz & Ranzato (2017).

    How much training on tasks ``0..j-1`` helps task ``j`` before it is trained on, relative to
    the accuracy ``b[j]`` of the untrained model (in the original paper, a random
    initialisation; here, the run's own model before any training).

    Parameters
    ----------
    R : array-like, shape (T, T)
        Accuracy matrix.
    b : array-like, shape (T,)
        Accuracy on each task before any training (a run's ``initial_accuracy``).

    Returns
    -------
    float
        :math:`\\frac1{T-1}\\sum_{j\\ge1} (R_{j-1,j} - b_j)`, or ``0.0`` when ``T = 1``.

    Raises
    ------
    ValueError
        If ``R`` is empty or not square, or ``b`` does not have length ``T``.

    Examples
    --------
    >>> round(forward_transfer([[0.9, 0.6], [0.7, 0.8]], [0.5, 0.5]), 6)
    0.1
    """
    arr = as_matrix(R)
    T = arr.shape[0]
    if hasattr(b, "detach"):
        b = b.detach().cpu().numpy()
    try:
        bb = np.asarray(b, dtype=np.float64).reshape(-1)
    except (ValueError, TypeError):
        raise ValueError("b must be a vector of T numbers (accuracy on each task before training)") from None
    if bb.shape != (T,):
        raise ValueError(f"b must have length T = {T} (one accuracy per task before training); got {bb.size} values")
    if not np.all(np.isfinite(bb)):
        raise ValueError("b must hold finite numbers; got NaN or infinity")
    if T == 1:
        return 0.0
    j = np.arange(1, T)
    return float(np.mean(arr[j - 1, j] - bb[j]))


def plasticity_slope(R) -> float:
    """How fast the accuracy on each task right after learning it changes along the sequence.

    The least-squares slope of the diagonal :math:`R_{j,j}` (each task's accuracy just after it was
    trained) against the task index :math:`j`: the change of that accuracy per task. A negative
    slope means that later tasks are learned less well, the *loss of plasticity* of Dohare et al.
    (2024, Nature 632, 768-774); a plain SGD learner keeps a slope near zero on tasks of equal
    difficulty.

    Parameters
    ----------
    R : array-like, shape (T, T)
        Accuracy matrix.

    Returns
    -------
    float
        :math:`\\sum_j (j - \\bar j)(R_{j,j} - \\bar R) / \\sum_j (j - \\bar j)^2`, or ``0.0`` when
        ``T = 1``.

    Raises
    ------
    ValueError
        If ``R`` is empty or not square, or holds values that are not accuracies.

    Examples
    --------
    >>> round(plasticity_slope([[0.9, 0.1, 0.2], [0.5, 0.8, 0.3], [0.6, 0.5, 0.7]]), 6)
    -0.1
    """
    arr = as_matrix(R)
    T = arr.shape[0]
    if T == 1:
        return 0.0
    j = np.arange(T, dtype=np.float64)
    d = np.diag(arr)
    return float(np.sum((j - j.mean()) * (d - d.mean())) / np.sum((j - j.mean()) ** 2))
