"""The ready-made sliders and frames (classp.viz.sliders): the numbers they show come from the real
optimizer and real runs; the machinery they are built on is tested in test_kernel_free.py.
"""
import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from classp.viz import kernel_free, sliders  # noqa: E402
from classp.lab.results import Result  # noqa: E402


def test_the_machinery_is_re_exported_from_its_home():
    for name in ("KernelFreeSlider", "slider_figure", "figure_to_png", "DEFAULT_DPI", "DEFAULT_MAX_BYTES"):
        assert getattr(sliders, name) is getattr(kernel_free, name), name
        assert name in sliders.__all__
    for name in sliders.__all__:
        assert getattr(sliders, name) is not None


def test_torch_threads_sets_and_restores():
    import torch

    before = torch.get_num_threads()
    with sliders.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with sliders.torch_threads(np.int64(1)):
        assert torch.get_num_threads() == 1
    with sliders.torch_threads(None):
        assert torch.get_num_threads() == before
    for bad in (0, True, 1.0):
        with pytest.raises(ValueError, match=f"n must be None or an integer >= 1; got {bad!r}"):
            sliders.torch_threads(bad)


@pytest.mark.parametrize("p", [0.5, 1.0, 2.0, 3.0])
def test_effective_lr_trace_matches_the_formula(p):
    lr, eps, g, steps = 0.03, 1e-8, 0.5, 50
    eff, moves = sliders.effective_lr_trace(p, grad=g, lr=lr, eps=eps, steps=steps)
    t = np.arange(1, steps + 1)
    expected = lr / (eps + t * g ** p) ** (1 / p)
    np.testing.assert_allclose(eff, expected, rtol=1e-10)
    np.testing.assert_allclose(moves, expected * g, rtol=1e-10)


def test_effective_lr_frame_numbers():
    fig, nums = sliders.effective_lr_frame(2.0, 4.0, lr=0.1, eps=0.0, steps=100)
    assert nums["effective lr at step 1"] == pytest.approx(0.1 / 4.0)
    assert nums["effective lr at step 100"] == pytest.approx(0.1 / (100 * 16) ** 0.5)
    # step size lr * t^(-1/2), independent of |g|
    assert nums["distance after 100 steps"] == pytest.approx(0.1 * np.sum(np.arange(1, 101) ** -0.5))
    assert "effective lr at step 10" in nums
    assert [ax.get_xlabel() for ax in fig.axes][0].startswith("step t")


def test_effective_lr_frame_takes_numpy_numbers_and_0d_tensors():
    import torch

    _, expected = sliders.effective_lr_frame(1.0, 2.0, lr=0.1, eps=0.0, steps=20, compare=())
    _, nums = sliders.effective_lr_frame(np.float32(1.0), np.int64(2), lr=np.float64(0.1), eps=np.int32(0),
                                         steps=np.int64(20), compare=())
    assert nums == expected
    _, nums = sliders.effective_lr_frame(torch.tensor(1.0), torch.tensor(2), lr=0.1, eps=0.0,
                                         steps=torch.tensor(20), compare=())
    assert nums == pytest.approx(expected)


@pytest.mark.parametrize("kw, message", [
    ({"power": True}, "power must be a number > 0; got True"),
    ({"power": 0}, "power must be a number > 0; got 0"),
    ({"power": "2"}, "power must be a number > 0; got '2'"),
    ({"power": float("nan")}, "power must be a finite number > 0; got nan"),
    ({"grad": np.bool_(True)}, f"grad must be a number > 0; got {np.bool_(True)!r}"),
    ({"lr": -0.1}, "lr must be a number > 0; got -0.1"),
    ({"eps": -1e-8}, "eps must be a number >= 0; got -1e-08"),
    ({"steps": 2.0}, "steps must be an integer in [2, 100000]; got 2.0"),
    ({"steps": True}, "steps must be an integer in [2, 100000]; got True"),
    ({"compare": (1.0, False)}, "compare must be a number > 0; got False"),
])
def test_effective_lr_frame_refuses_bools_and_out_of_range_numbers(kw, message):
    import re

    args = {"power": 1.0, **kw}
    with pytest.raises(ValueError, match=re.escape(message)):
        sliders.effective_lr_frame(args.pop("power"), **args)
    if "compare" not in kw:
        args = {"power": 1.0, **kw}
        with pytest.raises(ValueError, match=re.escape(message)):
            sliders.effective_lr_trace(args.pop("power"), **args)


def test_effective_lr_slider_grid():
    s = sliders.effective_lr_slider(powers=(1.0, 2.0), grads=(1.0, 10.0), steps=20, dpi=40)
    assert s.n_frames == 4 and s.param_names == ["p", "|g|"]
    # same p: the step is independent of |g|, so the distance is the same; the effective lr is not
    d = dict(zip(s.keys, s.numbers))
    assert d[(2.0, 1.0)]["distance after 20 steps"] == pytest.approx(d[(2.0, 10.0)]["distance after 20 steps"])
    assert d[(2.0, 1.0)]["effective lr at step 1"] == pytest.approx(10 * d[(2.0, 10.0)]["effective lr at step 1"])


def fake_result():
    return Result(method="classp", sequence="toy", seed=0, config={"n_steps": 4}, task_names=["a", "b"],
                  accuracy_matrix=np.array([[0.9, 0.5], [0.6, 0.8]]), initial_accuracy=np.array([0.5, 0.5]),
                  losses=np.array([1.0, 0.8, 0.9, 0.7]), density=np.array([0.5, 0.25, 0.75, 0.5]),
                  task_boundaries=[0, 2], eval_steps=np.array([0, 2, 4]),
                  accuracy_curve=np.array([[0.5, 0.5], [0.9, 0.5], [0.6, 0.8]]),
                  last_changed=np.array([-1, 0, 1, 1]), n_params=4)


def test_density_frame_numbers_from_a_known_result():
    fig, nums = sliders.density_frame(1e-6, 1.0, result=fake_result())
    assert nums == {"mean density": pytest.approx(0.5), "weights never changed": pytest.approx(0.25),
                    "forgetting": pytest.approx(0.3), "average accuracy": pytest.approx(0.7)}
    assert len(fig.axes) >= 2 and fig.axes[0].get_ylabel() == "fraction of weights changed"


def test_density_slider_runs_classp_at_every_grid_point():
    from classp.lab.train import run

    s = sliders.density_slider(thresholds=(0.0, 1e-3), powers=(1.0,), dpi=40, initial={"τ": 0.0, "p": 1.0})
    assert s.n_frames == 2
    dens = {k[0]: n["mean density"] for k, n in zip(s.keys, s.numbers)}
    # a threshold of 1e-3 on g^2 silences almost every weight of the digits MLP; 0 lets most move
    assert dens[1e-3] < 0.01 < 0.2 < dens[0.0]
    direct = run("classp", "split-digits", seed=0, options={"threshold": 1e-3, "power": 1.0}, progress=False)
    assert dens[1e-3] == direct.metrics()["mean_density"]
    with pytest.raises(ValueError, match="thresholds must be a number >= 0; got -1.0"):
        sliders.density_slider(thresholds=(-1.0,))


def test_ready_made_sliders_check_every_value_before_computing_a_frame(monkeypatch):
    import classp.lab.train

    def no_run(*args, **kwargs):
        raise AssertionError("a bad argument must be refused before any run")

    monkeypatch.setattr(classp.lab.train, "run", no_run)
    with pytest.raises(ValueError, match="powers must be a number > 0; got True"):
        sliders.density_slider(thresholds=(0.0,), powers=(1.0, True))
    with pytest.raises(ValueError, match="seed must be an integer >= 0; got 0.5"):
        sliders.density_slider(thresholds=(0.0,), powers=(1.0,), seed=0.5)
    with pytest.raises(ValueError, match="dpi must be a number"):
        sliders.density_slider(thresholds=(0.0,), powers=(1.0,), dpi=1)
    with pytest.raises(ValueError, match="threshold must be a number >= 0; got -1"):
        sliders.density_frame(-1, 1.0)
    with pytest.raises(ValueError, match="grads must be a number > 0; got 0"):
        sliders.effective_lr_slider(powers=(1.0,), grads=(0,))


def test_density_frame_takes_numpy_numbers():
    _, expected = sliders.density_frame(1e-6, 1.0, result=fake_result())
    fig, nums = sliders.density_frame(np.float64(1e-6), np.int64(1), result=fake_result())
    assert nums == expected
    assert "τ = 1e-06, p = 1" in fig.axes[0].get_title()
