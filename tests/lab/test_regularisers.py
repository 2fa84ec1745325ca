"""classp.lab.regularisers: the Regulariser protocol, and EWC's Fisher diagonal and penalty against
hand computations on tiny models.

Conventions under test: F_i = mean over samples of the squared per-sample gradient of
log p(y|x) (the empirical Fisher), and penalty = lam / 2 * sum F (theta - theta*)^2.
"""
import numpy as np
import pytest
import torch
from torch import nn

from classp.lab.regularisers import EWC, Regulariser, _fisher_loop, _fisher_vmap, fisher_diagonal

X = torch.tensor([[1.0, 2.0], [-1.0, 0.5], [0.0, -2.0]])
Y = torch.tensor([0, 2, 1])
W = torch.tensor([[0.1, -0.2], [0.3, 0.0], [-0.1, 0.4]])


def _linear(weight=W):
    m = nn.Linear(2, 3, bias=False)
    with torch.no_grad():
        m.weight.copy_(weight)
    return m


def _hand_fisher(weight, xs, ys, classes=None):
    """The per-sample CE gradient of a linear model is (softmax(z) - onehot(y)) x^T, in numpy."""
    weight, xs = np.asarray(weight, dtype=np.float64), np.asarray(xs, dtype=np.float64)
    total = np.zeros_like(weight)
    for x, y in zip(xs, ys):
        z = weight @ x
        allowed = np.arange(len(z)) if classes is None else np.asarray(classes)
        p = np.zeros_like(z)
        e = np.exp(z[allowed] - z[allowed].max())
        p[allowed] = e / e.sum()
        onehot = np.zeros_like(z)
        onehot[int(y)] = 1.0
        g = np.outer(p - onehot, x)
        total += g ** 2
    return total / len(xs)


def test_fisher_is_the_mean_of_squared_per_sample_gradients():
    F = fisher_diagonal(_linear(), X, Y)
    np.testing.assert_allclose(F[0].numpy(), _hand_fisher(W, X, Y), rtol=1e-5, atol=1e-7)


def test_fisher_is_not_the_squared_batch_gradient():
    F = fisher_diagonal(_linear(), X, Y)[0].numpy()
    m = _linear()
    nn.functional.cross_entropy(m(X), Y).backward()
    assert not np.allclose(F, m.weight.grad.numpy() ** 2)


def test_fisher_with_task_classes_masks_the_other_logits():
    xs, ys = X[:1], torch.tensor([1])
    F = fisher_diagonal(_linear(), xs, ys, classes=(0, 1))[0].numpy()
    np.testing.assert_allclose(F, _hand_fisher(W, xs, ys, classes=[0, 1]), rtol=1e-5, atol=1e-7)
    assert np.all(F[2] == 0.0)  # the masked row gets no gradient


def test_vmap_and_loop_agree_and_mode_is_restored():
    m = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4, 3))
    torch.manual_seed(0)
    for p in m.parameters():
        nn.init.normal_(p)
    named = [(n, p) for n, p in m.named_parameters()]
    m.eval()
    a = _fisher_vmap(m, named, X, Y, None, batch_size=2)
    b = _fisher_loop(m, named, X, Y, None)
    for u, v in zip(a, b):
        torch.testing.assert_close(u, v)
    m.train()
    fisher_diagonal(m, X, Y)
    assert m.training  # eval() only during the computation


def test_penalty_by_hand():
    m = nn.Linear(2, 1)
    with torch.no_grad():
        m.weight.copy_(torch.tensor([[1.0, 2.0]]))
        m.bias.copy_(torch.tensor([0.5]))
    ewc = EWC(m, lam=10.0)
    assert ewc.penalty() is None  # nothing consolidated yet: nothing to add to the loss
    ewc.fishers = [[torch.tensor([[2.0, 3.0]]), torch.tensor([4.0])]]
    ewc.anchors = [[torch.tensor([[0.0, 1.0]]), torch.tensor([0.5])]]
    # 10/2 * (2*(1-0)^2 + 3*(2-1)^2 + 4*(0.5-0.5)^2) = 5 * 5
    pen = ewc.penalty()
    assert float(pen.detach()) == pytest.approx(25.0)
    pen.backward()
    # d/dθ = lam * F * (θ - θ*)
    np.testing.assert_allclose(m.weight.grad.numpy(), [[20.0, 30.0]])
    np.testing.assert_allclose(m.bias.grad.numpy(), [0.0])


def test_consolidate_separate_keeps_one_pair_per_task():
    m = _linear()
    ewc = EWC(m, lam=2.0, mode="separate")
    F1 = ewc.consolidate(X, Y)
    with torch.no_grad():
        m.weight.add_(1.0)
    F2 = ewc.consolidate(X[:2], Y[:2])
    assert ewc.n_consolidated == 2
    torch.testing.assert_close(ewc.anchors[0][0], W)
    torch.testing.assert_close(ewc.anchors[1][0], W + 1.0)
    np.testing.assert_allclose(F2[0].numpy(), _hand_fisher(W + 1.0, X[:2], Y[:2]), rtol=1e-5, atol=1e-7)
    with torch.no_grad():
        m.weight.add_(0.5)
    expected = 1.0 * (float((F1[0] * 1.5 ** 2).sum()) + float((F2[0] * 0.5 ** 2).sum()))
    assert float(ewc.penalty().detach()) == pytest.approx(expected, rel=1e-6)
    assert ewc.state_bytes() == 2 * 2 * 6 * 4  # two pairs of (F, anchor), 6 float32 each


def test_consolidate_online_keeps_one_decayed_pair():
    m = _linear()
    ewc = EWC(m, lam=2.0, mode="online", gamma=0.5)
    F1 = ewc.consolidate(X, Y)
    with torch.no_grad():
        m.weight.add_(1.0)
    F2 = ewc.consolidate(X, Y)
    assert ewc.n_consolidated == 1
    torch.testing.assert_close(ewc.fishers[0][0], 0.5 * F1[0] + F2[0])
    torch.testing.assert_close(ewc.anchors[0][0], W + 1.0)
    assert ewc.state_bytes() == 2 * 6 * 4


def test_fisher_samples_takes_a_seeded_subset():
    x = torch.randn(7, 2, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0])
    ewc = EWC(_linear(), fisher_samples=3)
    F = ewc.consolidate(x, y)
    idx = torch.randperm(7, generator=torch.Generator().manual_seed(0))[:3]
    np.testing.assert_allclose(F[0].numpy(), _hand_fisher(W, x[idx], y[idx]), rtol=1e-5, atol=1e-7)


def test_state_dict_round_trip():
    ewc = EWC(_linear(), lam=3.0, mode="online", gamma=0.9)
    ewc.consolidate(X, Y)
    other = EWC(_linear(), lam=1.0)
    other.load_state_dict(ewc.state_dict())
    assert (other.lam, other.mode, other.gamma, other.n_consolidated) == (3.0, "online", 0.9, 1)
    assert float(other.penalty().detach()) == float(ewc.penalty().detach())


@pytest.mark.parametrize("kwargs, message", [
    ({"lam": -1.0}, r"^lam must be a number >= 0; got -1.0$"),
    ({"lam": True}, r"^lam must be a number >= 0; got True$"),
    ({"mode": "both"}, r"^mode must be one of 'separate', 'online'; got 'both'$"),
    ({"gamma": 1.5}, r"^gamma must be a number in \[0, 1\]; got 1.5$"),
    ({"fisher_samples": 0}, r"^fisher_samples must be None or an integer >= 1; got 0$"),
    ({"fisher_samples": 2.5}, r"^fisher_samples must be None or an integer >= 1; got 2.5$"),
    ({"batch_size": 0}, r"^batch_size must be an integer >= 1; got 0$"),
])
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EWC(_linear(), **kwargs)
    with pytest.raises(ValueError, match="non-empty"):
        fisher_diagonal(_linear(), X[:0], Y[:0])
    with pytest.raises(ValueError, match=r"^batch_size must be an integer >= 1; got 0$"):
        fisher_diagonal(_linear(), X, Y, batch_size=0)


def test_numpy_and_tensor_numbers_are_accepted():
    ewc = EWC(_linear(), lam=np.float32(2.5), gamma=torch.tensor(0.5), fisher_samples=np.int64(2),
              batch_size=np.int32(2), mode="online")
    assert (ewc.lam, ewc.gamma, ewc.fisher_samples, ewc.batch_size) == (2.5, 0.5, 2, 2)
    assert all(type(v) in (int, float) for v in (ewc.lam, ewc.gamma, ewc.fisher_samples, ewc.batch_size))
    assert len(fisher_diagonal(_linear(), X, Y, batch_size=np.int64(1))) == 1


def test_ewc_follows_the_regulariser_protocol():
    ewc = EWC(_linear())
    assert isinstance(ewc, Regulariser)
    w = ewc.model.weight.detach().clone()
    assert ewc.after_step() is None  # EWC needs nothing per step and changes nothing
    assert torch.equal(ewc.model.weight, w) and ewc.n_consolidated == 0


def test_the_protocol_names_every_hook():
    class Partial:  # everything but after_step
        def penalty(self):
            return None

        def consolidate(self, x, y, classes=None, generator=None):
            pass

        def state_bytes(self):
            return 0

        def state_dict(self):
            return {}

        def load_state_dict(self, state):
            pass

    assert not isinstance(Partial(), Regulariser)
    Partial.after_step = lambda self: None
    assert isinstance(Partial(), Regulariser)
    assert not isinstance(object(), Regulariser)
