"""Tests of classp.lab.models: sizes, seeding, the paper's CNN and the text model."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from classp.lab.models import MLP, MnistCNN, TextClassifier, list_models, make_model, model_for
from classp.data import Task, TaskSequence, get_sequence


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def token_sequence(vocab_size: int = 12, max_len: int = 5) -> TaskSequence:
    x = torch.tensor([[2, 3, 0, 0, 0], [4, 5, 6, 0, 0]])
    y = torch.tensor([0, 1])
    task = Task("t", x, y, x, y, (0, 1))
    return TaskSequence("toy-text", [task], n_outputs=2, input_shape=(max_len,),
                        meta={"vocab_size": vocab_size, "input_kind": "tokens"})


def test_list_models():
    assert list_models() == ["mlp", "cnn", "text"]


def test_unknown_model_and_option_are_rejected():
    with pytest.raises(ValueError) as e:
        make_model("resnet", (64,), 10)
    assert all(n in str(e.value) for n in ("mlp", "cnn", "text"))
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['width'\].*hidden"):
        make_model("mlp", (64,), 10, width=3)
    with pytest.raises(ValueError, match=r"^hidden must be an integer >= 1; got 0$"):
        make_model("mlp", (64,), 10, hidden=(100, 0))
    with pytest.raises(ValueError, match=r"^seed must be None or an integer >= 0; got -1$"):
        make_model("mlp", (64,), 10, seed=-1)


def test_shape_information_is_required_and_must_agree():
    s = get_sequence("split-digits")
    with pytest.raises(ValueError, match="input_shape and n_outputs"):
        make_model("mlp", (64,))
    with pytest.raises(ValueError, match="n_outputs 5 conflicts"):
        make_model("mlp", s, 5)
    with pytest.raises(ValueError, match=r"^n_outputs must be an integer >= 1; got 0$"):
        make_model("mlp", (64,), 0)
    with pytest.raises(ValueError, match=r"^input_shape\[1\] must be an integer >= 1; got 0$"):
        make_model("mlp", (8, 0), 10)
    with pytest.raises(ValueError, match="non-empty"):
        make_model("mlp", (), 10)


def test_numbers_from_numpy_and_torch_are_accepted():
    m = make_model("mlp", (64,), np.int64(10))
    assert m.layers[-1].out_features == 10
    m = make_model("mlp", np.array([8, 8]), torch.tensor(3), hidden=np.array([5]), seed=np.int32(1))
    assert (m.layers[0].in_features, m.layers[0].out_features, m.layers[-1].out_features) == (64, 5, 3)
    a, b = make_model("mlp", (64,), 10, seed=np.int64(4)), make_model("mlp", (64,), 10, seed=4)
    assert torch.equal(a.layers[0].weight, b.layers[0].weight)
    t = make_model("text", (5,), np.int64(2), vocab_size=np.int64(20), embed_dim=np.int16(4), hidden=np.int64(3),
                   padding_idx=np.int64(1))
    assert t.embedding.num_embeddings == 20 and t.embedding.padding_idx == 1 and t.head[0].out_features == 3
    # the same sequence's n_outputs given as a numpy integer agrees with it
    assert make_model("mlp", get_sequence("split-digits"), np.int64(10)).layers[-1].out_features == 10


@pytest.mark.parametrize("kwargs, message", [
    ({"n_outputs": True}, r"^n_outputs must be an integer >= 1; got True$"),
    ({"n_outputs": 10.0}, r"^n_outputs must be an integer >= 1; got 10.0$"),
    ({"n_outputs": 10, "hidden": (True,)}, r"^hidden must be an integer >= 1; got True$"),
    ({"n_outputs": 10, "seed": 1.5}, r"^seed must be None or an integer >= 0; got 1.5$"),
    ({"n_outputs": 10, "input_shape": (64.0,)}, r"^input_shape\[0\] must be an integer >= 1; got 64.0$"),
])
def test_bools_and_floats_are_not_integers(kwargs, message):
    kwargs.setdefault("input_shape", (64,))
    with pytest.raises(ValueError, match=message):
        make_model("mlp", **kwargs)


def test_mlp_for_digits_is_64_100_100_10():
    m = make_model("mlp", get_sequence("split-digits"), seed=0)
    assert isinstance(m, MLP)
    assert [tuple(p.shape) for p in m.parameters()] == [(100, 64), (100,), (100, 100), (100,), (10, 100), (10,)]
    assert n_params(m) == 64 * 100 + 100 + 100 * 100 + 100 + 100 * 10 + 10 == 17610
    assert make_model("mlp", (64,), 10, hidden=(32,)).layers[0].out_features == 32
    assert n_params(make_model("mlp", (64,), 10, hidden=())) == 650  # a linear model


def test_mlp_flattens_images():
    m = make_model("mlp", input_shape=(1, 28, 28), n_outputs=10, seed=0)
    assert m.layers[0].in_features == 784
    x = torch.randn(3, 1, 28, 28)
    assert torch.equal(m(x), m(x.reshape(3, 784)))


def test_cnn_is_the_papers_network():
    m = make_model("cnn", (1, 28, 28), 10, seed=0)
    assert isinstance(m, MnistCNN)
    assert n_params(m) == 1_199_882
    assert [n for n, _ in m.named_children()] == ["conv1", "conv2", "dropout1", "dropout2", "fc1", "fc2"]
    assert isinstance(m.dropout1, nn.Dropout2d) and m.dropout1.p == 0.25 and m.dropout2.p == 0.5
    assert (m.fc1.in_features, m.fc1.out_features) == (9216, 128)
    m.eval()
    x = torch.randn(4, 1, 28, 28)
    out = m(x)
    assert out.shape == (4, 10)
    # plain logits (not log-probabilities); CrossEntropy on them equals the paper's log_softmax + CrossEntropy
    assert not torch.allclose(out.logsumexp(1), torch.zeros(4))
    y = torch.tensor([0, 1, 2, 3])
    ce = nn.CrossEntropyLoss()
    assert torch.allclose(ce(out, y), ce(torch.log_softmax(out, 1), y))


def test_cnn_on_8x8_digits():
    m = make_model("cnn", get_sequence("split-digits"), seed=0)
    # conv1 320 + conv2 18,496 + fc1 (64*2*2)*128+128 + fc2 1,290
    assert n_params(m) == 320 + 18496 + 256 * 128 + 128 + 1290
    assert m(torch.rand(2, 64)).shape == (2, 10)
    with pytest.raises(ValueError, match="input_shape for 'cnn'"):
        make_model("cnn", (10,), 10)


def test_seed_gives_identical_weights_and_keeps_global_rng():
    state = torch.get_rng_state()
    a, b = make_model("mlp", (64,), 10, seed=7), make_model("mlp", (64,), 10, seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    c = make_model("mlp", (64,), 10, seed=8)
    assert not torch.equal(a.layers[0].weight, c.layers[0].weight)
    cnn1, cnn2 = make_model("cnn", (1, 28, 28), 10, seed=1), make_model("cnn", (1, 28, 28), 10, seed=1)
    assert torch.equal(cnn1.fc1.weight, cnn2.fc1.weight)


def test_text_model_is_mean_embedding_then_linear():
    s = token_sequence()
    m = make_model("text", s, seed=0, embed_dim=4)
    assert isinstance(m, TextClassifier) and m.embedding.num_embeddings == 12
    assert n_params(m) == 12 * 4 + 4 * 2 + 2
    x = s[0].x_train
    e = m.embedding.weight.detach()
    expected = torch.stack([e[[2, 3]].mean(0), e[[4, 5, 6]].mean(0)]) @ m.head.weight.detach().T + m.head.bias.detach()
    assert torch.allclose(m(x), expected, atol=1e-6)
    # padding (id 0) is ignored by the mean: more padding, same logits
    assert torch.allclose(m(torch.cat([x, torch.zeros(2, 3, dtype=torch.int64)], 1)), m(x), atol=1e-6)


def test_text_model_options_and_mismatches():
    s = token_sequence()
    assert make_model("text", s, hidden=8).head[0].out_features == 8
    assert make_model("text", (5,), 3, vocab_size=20).embedding.num_embeddings == 20
    with pytest.raises(ValueError, match="needs vocab_size"):
        make_model("text", (5,), 2)
    with pytest.raises(ValueError, match="use name='text'"):
        make_model("mlp", s)
    with pytest.raises(ValueError, match="image inputs"):
        make_model("text", get_sequence("split-digits"))
    with pytest.raises(ValueError, match=r"^padding_idx must be an integer in \[0, 11\]; got 12$"):
        make_model("text", s, padding_idx=12)
    with pytest.raises(ValueError, match=r"^embed_dim must be an integer >= 1; got 0$"):
        make_model("text", s, embed_dim=0)


def test_model_for_picks_the_sequences_default():
    s = get_sequence("split-digits", n_tasks=2)
    net, name = model_for(s, None, seed=0)
    assert name == "mlp" and isinstance(net, MLP) and net.layers[-1].out_features == s.n_outputs
    net, name = model_for(s, "cnn", seed=0)
    assert name == "cnn" and isinstance(net, MnistCNN)
    mine = nn.Linear(64, 10)
    assert model_for(s, mine) == (mine, "custom")
    text = token_sequence()
    text = TaskSequence("toy-text", text.tasks, n_outputs=2, input_shape=(5,),
                        meta={**text.meta, "default_model": "text"})
    net, name = model_for(text, None, seed=0)  # the sequence's meta names its default
    assert name == "text" and isinstance(net, TextClassifier)
    with pytest.raises(ValueError, match="model must be None, a model name or a torch.nn.Module; got int"):
        model_for(s, 3)
