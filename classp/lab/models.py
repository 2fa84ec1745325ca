"""The book's models: a small MLP, the paper's CNN and a small text classifier.

* ``"mlp"`` -- flatten, then ``Linear -> ReLU`` per hidden layer, then ``Linear`` to the logits. The book's
  default for the 8x8 digits is 64-100-100-10 (17,610 parameters).
* ``"cnn"`` -- the PyTorch MNIST-example CNN that the paper's ``experiment_CV.py`` trains
  (``conv1 -> relu -> conv2 -> relu -> max_pool -> dropout1 -> fc1 -> relu -> dropout2 -> fc2``),
  1,199,882 parameters on 1x28x28 inputs.
* ``"text"`` -- the mean of learned word embeddings (``nn.EmbeddingBag``, padding ignored) followed by a
  linear layer (optionally one hidden ReLU layer); trains in seconds on a CPU.

Every model returns **logits**. Seeded construction (``seed=``) gives identical weights and leaves the
global torch random state untouched.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from .._validation import check_int

__all__ = ["make_model", "model_for", "list_models", "MLP", "MnistCNN", "TextClassifier", "DEFAULT_MODELS"]

#: The model a sequence is trained with by default, by sequence name (any other sequence: its
#: ``meta["default_model"]`` if it has one, else ``"mlp"``).
DEFAULT_MODELS = {"mnist-fashion": "cnn", "sentiment": "text"}


class MLP(nn.Module):
    """Fully connected ReLU network on flattened inputs.

    Parameters
    ----------
    in_features : int
        Number of input features after flattening.
    n_outputs : int
        Number of logits.
    hidden : sequence of int
        Widths of the hidden layers (empty: a linear model).
    """

    def __init__(self, in_features: int, n_outputs: int, hidden: Sequence[int] = (100, 100)):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, n_outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(N, n_outputs)`` for inputs of shape ``(N, *input_shape)``."""
        return self.layers(x.reshape(x.shape[0], -1))


class MnistCNN(nn.Module):
    """The PyTorch MNIST-example CNN used by the paper (``MyModel`` in ``experiment_CV.py``).

    ``Conv2d(C, 32, 3) -> ReLU -> Conv2d(32, 64, 3) -> ReLU -> MaxPool2d(2) -> Dropout2d(0.25) -> flatten
    -> Linear(9216, 128) -> ReLU -> Dropout(0.5) -> Linear(128, n_outputs)``; 1,199,882 parameters for
    1x28x28 inputs and 10 outputs. The module names (conv1, conv2, dropout1, dropout2, fc1, fc2) match the
    paper's code, so state dicts are interchangeable.

    Two documented differences from the paper's code, neither of which changes what is computed:

    * ``forward`` returns logits. The paper applies ``log_softmax`` and then ``CrossEntropyLoss``, which
      applies ``log_softmax`` again; ``log_softmax`` is idempotent (its outputs already log-sum-exp to 0),
      so the loss, the gradients and the arg-max predictions are the same as with plain logits.
    * ``dropout2`` is ``nn.Dropout(0.5)``. The paper uses ``nn.Dropout2d(0.5)`` on the 2-D ``(N, 128)``
      tensor, which PyTorch 2.x treats as element-wise dropout while warning that this use is deprecated;
      ``nn.Dropout`` is the same operation without the warning. ``dropout1`` is ``nn.Dropout2d(0.25)``
      (channel dropout) exactly as in the paper.

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, H, W)`` with H, W >= 6; ``(1, 28, 28)`` gives the paper's network.
    n_outputs : int
        Number of logits.
    """

    def __init__(self, input_shape=(1, 28, 28), n_outputs: int = 10):
        super().__init__()
        c, h, w = input_shape
        self.input_shape = tuple(input_shape)
        self.conv1 = nn.Conv2d(c, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout2d(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(64 * ((h - 4) // 2) * ((w - 4) // 2), 128)
        self.fc2 = nn.Linear(128, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(N, n_outputs)``; inputs ``(N, C, H, W)`` or ``(N, C*H*W)`` (reshaped)."""
        x = x.reshape(x.shape[0], *self.input_shape)
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        x = self.dropout1(torch.max_pool2d(x, 2))
        x = torch.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(self.dropout2(x))


class TextClassifier(nn.Module):
    """Mean of word embeddings, then a linear layer (a "neural bag of words").

    Parameters
    ----------
    vocab_size : int
        Number of token ids (including padding 0 and unknown 1).
    n_outputs : int
        Number of logits.
    embed_dim : int
        Embedding width.
    hidden : int or None
        Width of an optional hidden ReLU layer between the mean embedding and the logits.
    padding_idx : int
        Token id ignored by the mean (its embedding row stays zero and gets no gradient).
    """

    def __init__(self, vocab_size: int, n_outputs: int, embed_dim: int = 64, hidden: int | None = None,
                 padding_idx: int = 0):
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, mode="mean", padding_idx=padding_idx)
        self.head = (nn.Linear(embed_dim, n_outputs) if hidden is None
                     else nn.Sequential(nn.Linear(embed_dim, hidden), nn.ReLU(), nn.Linear(hidden, n_outputs)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, n_outputs)`` for int64 token ids ``(N, L)``; an all-padding row embeds to zeros."""
        return self.head(self.embedding(x.long()))


# --------------------------------------------------------------------------------------------
_MODEL_OPTIONS = {
    "mlp": {"hidden": (100, 100)},
    "cnn": {},
    "text": {"embed_dim": 64, "hidden": None, "vocab_size": None, "padding_idx": 0},
}


def list_models() -> list[str]:
    """Names accepted by :func:`make_model`.

    Returns
    -------
    list of str
        ``["mlp", "cnn", "text"]``.
    """
    return list(_MODEL_OPTIONS)


def _resolve_shape(sequence, input_shape, n_outputs):
    from ..data import TaskSequence

    meta = {}
    if n_outputs is not None:
        n_outputs = check_int("n_outputs", n_outputs, 1)
    if isinstance(sequence, TaskSequence):
        if input_shape is not None and _shape(input_shape) != tuple(sequence.input_shape):
            raise ValueError(f"input_shape {input_shape!r} conflicts with the sequence's {sequence.input_shape!r}")
        if n_outputs is not None and n_outputs != sequence.n_outputs:
            raise ValueError(f"n_outputs {n_outputs!r} conflicts with the sequence's {sequence.n_outputs!r}")
        input_shape, n_outputs, meta = sequence.input_shape, sequence.n_outputs, sequence.meta
    elif sequence is not None:
        if input_shape is not None:
            raise ValueError("give the input shape once: as the second argument or as input_shape=")
        input_shape = sequence
    if input_shape is None or n_outputs is None:
        raise ValueError("make_model needs a TaskSequence, or both input_shape and n_outputs")
    return _shape(input_shape), n_outputs, meta


def _shape(input_shape) -> tuple[int, ...]:
    """``input_shape`` as a non-empty tuple of ints >= 1 (one int is a one-dimensional shape)."""
    input_shape = tuple(_as_sequence(input_shape))
    if not input_shape:
        raise ValueError("input_shape must be a non-empty tuple of integers >= 1 or a TaskSequence; got ()")
    return tuple(check_int(f"input_shape[{i}]", d, 1) for i, d in enumerate(input_shape))


def _ints(name: str, value) -> tuple[int, ...]:
    """The MLP's ``hidden``: an int or a sequence of ints, each >= 1 (empty: a linear model)."""
    return tuple(check_int(name, v, 1) for v in _as_sequence(value))


def _as_sequence(value):
    """``value`` itself if it is a sequence (tuple, list, torch.Size, 1-d array), else ``(value,)``."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__") or getattr(value, "ndim", 1) == 0:
        return (value,)
    return value


def make_model(name: str = "mlp", sequence=None, n_outputs: int | None = None, seed: int | None = None, *,
               input_shape=None, **options) -> nn.Module:
    """Build a model by name, sized for a task sequence or for an explicit shape.

    Parameters
    ----------
    name : {"mlp", "cnn", "text"}
        ``"mlp"``: :class:`MLP`, option ``hidden`` (tuple of positive ints, default ``(100, 100)``).
        ``"cnn"``: :class:`MnistCNN`, the paper's CNN (1,199,882 parameters on ``(1, 28, 28)``); accepts
        ``(C, H, W)`` with H, W >= 6, or ``(D,)`` with D a square (e.g. 64 -> 1x8x8 digits). No options.
        ``"text"``: :class:`TextClassifier`, options ``embed_dim`` (default 64), ``hidden`` (None or int),
        ``vocab_size`` (taken from ``sequence.meta["vocab_size"]`` when a sequence is given),
        ``padding_idx`` (default 0).
    sequence : TaskSequence or tuple of int, optional
        A sequence (supplies ``input_shape``, ``n_outputs`` and, for text, the vocabulary size), or the
        input shape of one example.
    n_outputs : int, optional
        Number of logits; required when no sequence is given.
    seed : int, optional
        Seed for the initial weights. The same seed gives the same weights; the global torch random
        state is left as it was. None uses (and advances) the global random state.
    input_shape : tuple of int, optional
        Keyword alternative to passing the shape as ``sequence``.
    **options
        Model options, see ``name``.

    Returns
    -------
    torch.nn.Module
        A model in training mode that maps ``(N, *input_shape)`` inputs to ``(N, n_outputs)`` logits.

    Raises
    ------
    ValueError
        Unknown name or option, invalid option value, missing or conflicting shape information, or a
        model that does not fit the sequence's inputs (e.g. "mlp" on token ids).
    """
    if name not in _MODEL_OPTIONS:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(_MODEL_OPTIONS)}")
    accepted = _MODEL_OPTIONS[name]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for model {name!r}; accepted options: "
                         f"{', '.join(accepted) if accepted else '(none)'}")
    seed = check_int("seed", seed, 0, allow_none=True)
    shape, n_out, meta = _resolve_shape(sequence, input_shape, n_outputs)
    opts = {**accepted, **options}

    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        return _BUILDERS[name](shape, n_out, meta, opts)


def _mlp(shape, n_out, meta, opts) -> nn.Module:
    if meta.get("input_kind") == "tokens":
        raise ValueError("model 'mlp' cannot read token ids; use name='text' for this sequence")
    return MLP(math.prod(shape), n_out, _ints("hidden", opts["hidden"]))


def _cnn(shape, n_out, meta, opts) -> nn.Module:
    if meta.get("input_kind") == "tokens":
        raise ValueError("model 'cnn' cannot read token ids; use name='text' for this sequence")
    cshape = shape
    if len(shape) == 1 and math.isqrt(shape[0]) ** 2 == shape[0]:
        cshape = (1, math.isqrt(shape[0]), math.isqrt(shape[0]))
    if len(cshape) != 3 or cshape[1] < 6 or cshape[2] < 6:
        raise ValueError(f"input_shape for 'cnn' must be (C, H, W) with H, W >= 6 or (D,) with D a "
                         f"square >= 36, got {shape!r}")
    return MnistCNN(cshape, n_out)


def _text(shape, n_out, meta, opts) -> nn.Module:
    kind = meta.get("input_kind")
    if kind is not None and kind != "tokens":
        raise ValueError("model 'text' reads token ids; this sequence has image inputs (use 'mlp' or 'cnn')")
    vocab = opts["vocab_size"] if opts["vocab_size"] is not None else meta.get("vocab_size")
    if vocab is None:
        raise ValueError("model 'text' needs vocab_size (or a sequence whose meta has 'vocab_size')")
    if len(shape) != 1:
        raise ValueError(f"input_shape for 'text' must be (max_len,), got {shape!r}")
    vocab = check_int("vocab_size", vocab, 1)
    return TextClassifier(vocab, n_out, check_int("embed_dim", opts["embed_dim"], 1),
                          check_int("hidden", opts["hidden"], 1, allow_none=True),
                          check_int("padding_idx", opts["padding_idx"], 0, vocab - 1))


_BUILDERS = {"mlp": _mlp, "cnn": _cnn, "text": _text}


def model_for(sequence, model=None, seed: int | None = None) -> tuple[nn.Module, str]:
    """The model a run trains on ``sequence``, and its name (what :func:`classp.lab.train.run` does).

    Parameters
    ----------
    sequence : TaskSequence
    model : None, str or torch.nn.Module
        None: the sequence's default (``meta["default_model"]``, else :data:`DEFAULT_MODELS`, else
        ``"mlp"``); a name: :func:`make_model` sized for the sequence; a module: itself, named
        ``"custom"``.
    seed : int, optional
        Seed of the initial weights (see :func:`make_model`); unused for a module.

    Returns
    -------
    (torch.nn.Module, str)
    """
    if isinstance(model, nn.Module):
        return model, "custom"
    name = model if model is not None else sequence.meta.get("default_model", DEFAULT_MODELS.get(sequence.name, "mlp"))
    if not isinstance(name, str):
        raise ValueError(f"model must be None, a model name or a torch.nn.Module; got {type(model).__name__}")
    return make_model(name, sequence, sequence.n_outputs, seed), name
