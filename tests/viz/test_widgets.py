"""The live widgets (classp.viz.widgets) driven from Python, without a browser or a frontend.

Values are set on the controls, the Train button is pressed with ``button.click()`` (exactly what
a click in Jupyter triggers), and the tests check that training ran with those settings, that the
figures and numbers changed, and that the lab refuses a second run while one is training.
"""
import base64
import re

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

import classp.viz.widgets as cw  # noqa: E402
from classp.lab.train import run  # noqa: E402


def img_bytes(html_widget) -> bytes:
    m = re.search(r'src="data:image/png;base64,([^"]+)"', html_widget.value)
    assert m, f"no <img> in {html_widget.value[:80]!r}"
    return base64.b64decode(m.group(1))


def alt_text(html_widget) -> str:
    return re.search(r'alt="([^"]*)"', html_widget.value).group(1)


FIGURES = ("matrix", "curves", "density", "last_changed")


# ------------------------------------------------------------------------------------------ the lab
def test_click_trains_with_the_chosen_settings_and_redraws(monkeypatch):
    import threading

    import classp.lab.train

    # hold the background run at its start until the checks made "while training" are done
    go, real_run = threading.Event(), classp.lab.train.run

    def gated_run(*args, **kwargs):
        assert go.wait(60)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(classp.lab.train, "run", gated_run)
    lab = cw.lab(epochs=1)
    assert all(lab.figures[k].value == "" for k in FIGURES) and lab.result is None
    lab.threshold.value = 1e-4
    lab.power.value = 2.0
    lab.seed.value = 3
    lab.button.click()
    # training: everything disabled, and a second click does not start a second run
    assert lab.busy and lab.button.disabled and lab.button.description == "Training…"
    assert all(c.disabled for c in lab.controls)
    lab.button.click()
    lab.button.click()
    assert lab.ignored_clicks == 2
    go.set()
    r = lab.wait(timeout=120)
    assert not lab.busy and lab.error is None, lab.status.value
    assert lab.runs == 1 and r is lab.result
    assert r.method == "classp" and r.seed == 3
    assert r.config["options"]["threshold"] == 1e-4 and r.config["options"]["power"] == 2.0
    assert r.config["epochs"] == 1 and r.config["lr"] == pytest.approx(0.03)
    # the same settings through classp.lab.train.run give the same run (deterministic on CPU)
    direct = run("classp", "split-digits", seed=3, epochs=1, lr=0.03, options={"threshold": 1e-4, "power": 2.0},
                 eval_every=r.config["eval_every"], progress=False)
    np.testing.assert_array_equal(r.accuracy_matrix, direct.accuracy_matrix)
    np.testing.assert_array_equal(r.density, direct.density)
    # four figures drawn, with alt text; metrics printed from the result
    for k in FIGURES:
        assert img_bytes(lab.figures[k]).startswith(b"\x89PNG")
        assert "seed 3" in alt_text(lab.figures[k])
    m = r.metrics()
    assert f"{m['average_accuracy']:.3f}" in lab.metrics.value
    assert f"{m['mean_density']:.3f}" in lab.metrics.value
    assert f"{np.mean(r.last_changed < 0):.1%}" in lab.metrics.value
    assert "Trained" in lab.status.value
    # the tqdm bar (an ipywidgets HBox inside the lab) went to the end: one update per step
    bar = lab.progress.children[0]
    assert bar.children[1].max == r.n_steps == 5 * 8 and bar.children[1].value == r.n_steps
    # controls back on: CLASSP's knobs enabled, EWC's λ not (it does not apply)
    assert not lab.button.disabled and lab.button.description == "Train"
    assert not lab.threshold.disabled and not lab.power.disabled and not lab.decay.disabled
    assert lab.ewc_lambda.disabled


def test_second_run_redraws_in_place():
    lab = cw.lab(epochs=1, background=False)
    lab.button.click()  # background=False: trains before click() returns
    first = {k: img_bytes(lab.figures[k]) for k in FIGURES}
    first_metrics = lab.metrics.value
    lab.threshold.value = 0.0
    lab.button.click()
    assert lab.runs == 2 and lab.result.config["options"]["threshold"] == 0.0
    for k in ("curves", "density", "last_changed"):
        assert img_bytes(lab.figures[k]) != first[k], k
    assert lab.metrics.value != first_metrics
    # τ = 0 lets more weights move than τ = 1e-6
    assert lab.result.metrics()["mean_density"] > 0.3


def test_decay_off_runs_the_no_decay_ablation():
    lab = cw.lab(epochs=1, decay=False, threshold=1e-5, power=1.5)
    assert lab.settings()["method"] == "classp-no-decay"
    r = lab.train()
    assert r.method == "classp-no-decay" and r.config["options"]["threshold"] == 1e-5
    assert r.config["options"]["power"] == 1.5


def test_defaults_come_from_the_registry():
    # EWC's λ is the registry's (30 when this was written, a value that trains stably; 100 diverges,
    # chapter 7), and unticking CLASSP's decay moves the learning rate to classp-no-decay's own
    from classp.lab.methods import get_method

    lab = cw.lab(epochs=1)
    assert lab.ewc_lambda.value == get_method("ewc").defaults["lam"] == 30.0
    assert lab.lr.value == pytest.approx(get_method("classp").defaults["lr"]) == pytest.approx(0.03)
    lab.decay.value = False
    assert lab.lr.value == pytest.approx(get_method("classp-no-decay").defaults["lr"]) == pytest.approx(0.1)
    assert lab.settings()["method"] == "classp-no-decay" and lab.settings()["lr"] == pytest.approx(0.1)
    lab.decay.value = True
    assert lab.lr.value == pytest.approx(0.03)
    assert cw.lab(decay=False).lr.value == pytest.approx(0.1)
    assert cw.lab(decay=False, lr=0.02).lr.value == pytest.approx(0.02)  # an explicit lr is kept


def test_method_choice_sets_options_lr_and_enabled_controls():
    lab = cw.lab(epochs=1)
    lab.method.value = "ewc"
    assert lab.lr.value == pytest.approx(0.1)  # EWC's default learning rate
    assert not lab.ewc_lambda.disabled and lab.threshold.disabled and lab.decay.disabled
    lab.ewc_lambda.value = 1000.0
    s = lab.settings()
    assert s["method"] == "ewc" and s["options"] == {"lam": 1000.0}
    lab.method.value = "adam"
    assert lab.lr.value == pytest.approx(1e-3) and lab.settings()["options"] is None
    assert lab.ewc_lambda.disabled
    lab.sequence.value = "split-digits-class"
    s = lab.settings()
    assert s["sequence"] == "split-digits" and s["sequence_options"] == {"scenario": "class"}


def test_joint_progress_total_counts_the_growing_union():
    lab = cw.lab(method="joint", epochs=1, background=False)
    lab.button.click()
    r = lab.result
    assert r.method == "joint" and lab.error is None
    sizes = [252, 252, 254, 252, 248]
    expected = sum(-(-int(n) // 32) for n in np.cumsum(sizes))
    assert r.n_steps == expected
    assert lab.progress.children[0].children[1].max == expected


def test_a_failing_run_is_reported_and_the_lab_stays_usable(monkeypatch):
    import classp.lab.train

    def boom(*args, **kwargs):
        raise FloatingPointError("training loss became nan; lower the learning rate")

    lab = cw.lab(epochs=1, background=False)
    monkeypatch.setattr(classp.lab.train, "run", boom)
    lab.button.click()
    assert isinstance(lab.error, FloatingPointError) and lab.runs == 0 and lab.result is None
    assert "Training failed: FloatingPointError" in lab.status.value and "lower the learning rate" in lab.status.value
    assert not lab.busy and not lab.button.disabled and not lab.method.disabled
    monkeypatch.undo()
    assert lab.train() is not None and lab.error is None and lab.runs == 1


@pytest.mark.parametrize("kw, message", [
    ({"method": "rmsprop"}, "method must be one of 'classp', 'sgd', 'adam', 'adagrad', 'ewc', 'joint'; got 'rmsprop'"),
    ({"sequence": "mnist"}, "sequence must be one of 'split-digits', "),
    ({"threshold": 3e-6}, "threshold must be one of 0.0, 1e-09, 1e-08, "),
    ({"threshold": True}, "threshold must be a number; got True"),
    ({"power": 2.5}, "power must be one of 0.5, 1.0, 1.5, 2.0, 3.0, 4.0; got 2.5"),
    ({"decay": 1}, "decay must be True or False; got 1"),
    ({"ewc_lambda": 0.5}, "ewc_lambda must be None or a number in [1, 100000]; got 0.5"),
    ({"ewc_lambda": True}, "ewc_lambda must be None or a number in [1, 100000]; got True"),
    ({"seed": -1}, "seed must be an integer in [0, 99]; got -1"),
    ({"seed": 1.0}, "seed must be an integer in [0, 99]; got 1.0"),
    ({"seed": False}, "seed must be an integer in [0, 99]; got False"),
    ({"epochs": 0}, "epochs must be an integer in [1, 10]; got 0"),
    ({"lr": 5.0}, "lr must be None or a number in [0.0001, 1]; got 5.0"),
    ({"background": "yes"}, "background must be True or False; got 'yes'"),
    ({"threads": 0}, "threads must be None or an integer >= 1; got 0"),
    ({"dpi": 1}, "dpi must be a number in [10, 600]; got 1"),
])
def test_lab_rejects_invalid_arguments(kw, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        cw.lab(**kw)


def test_lab_takes_numpy_numbers_and_0d_tensors():
    import torch

    lab = cw.lab(lr=np.float32(0.05), threshold=np.float32(1e-5), power=torch.tensor(2.0), decay=np.bool_(False),
                 ewc_lambda=np.int64(1000), seed=np.int64(3), epochs=torch.tensor(1), threads=np.int32(1))
    assert lab.threshold.value == 1e-5 and lab.power.value == 2.0  # the offered values themselves
    assert lab.decay.value is False and lab.ewc_lambda.value == 1000.0
    s = lab.settings()
    assert s["method"] == "classp-no-decay" and s["seed"] == 3 and s["epochs"] == 1
    assert s["lr"] == pytest.approx(0.05) and s["options"] == {"threshold": 1e-5, "power": 2.0}


# ------------------------------------------------------------------------------------------ explorers
def test_effective_lr_explorer_redraws_on_change():
    w = cw.effective_lr_explorer(lr=0.1, eps=1e-8, steps=100, power=2.0, grad=1.0)
    assert w.draws == 1
    before = img_bytes(w.figure)
    assert f"{0.1 / (1e-8 + 1.0) ** 0.5:.4g}" in w.numbers.value  # effective lr at step 1
    w.power.value = 1.0
    assert w.draws == 2 and img_bytes(w.figure) != before
    assert "p = 1" in alt_text(w.figure)
    # at step 100 with p = 1 and |g| = 1: lr / (eps + 100)
    assert f"{0.1 / (1e-8 + 100.0):.4g}" in w.numbers.value
    with pytest.raises(ValueError, match=re.escape("power must be a number in [0.25, 4]; got 0")):
        cw.effective_lr_explorer(power=0)
    with pytest.raises(ValueError, match=re.escape("steps must be an integer in [2, 100000]; got True")):
        cw.effective_lr_explorer(steps=True)
    w = cw.effective_lr_explorer(lr=np.float32(0.1), eps=np.float64(1e-8), steps=np.int64(100), power=np.int64(2),
                                 grad=np.float32(1.0), dpi=np.int64(40))
    assert w.power.value == 2.0 and f"{0.1 / (1e-8 + 1.0) ** 0.5:.4g}" in w.numbers.value


def test_density_explorer_trains_once_per_setting():
    w = cw.density_explorer(threshold=1e-6, power=1.0)
    assert w.runs == 1
    first = img_bytes(w.figure)
    w.threshold.value = 1e-3
    assert w.runs == 2 and img_bytes(w.figure) != first
    assert w.result.config["options"]["threshold"] == 1e-3
    assert f"{w.result.metrics()['mean_density']:.3f}" in w.numbers.value
    w.threshold.value = 1e-6  # seen before: from the cache
    assert w.runs == 2 and img_bytes(w.figure) == first
    with pytest.raises(ValueError, match="threshold must be one of"):
        cw.density_explorer(threshold=0.5)
    with pytest.raises(ValueError, match=re.escape("seed must be an integer in [0, 99]; got True")):
        cw.density_explorer(seed=True)


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=100), "lr must be a number in [0.001, 1]; got 100"),
    (dict(lr=1e-4), "lr must be a number in [0.001, 1]; got 0.0001"),
    (dict(power=8), "power must be a number in [0.25, 4]; got 8"),
    (dict(grad=1000.0), "grad must be a number in [0.01, 100]; got 1000.0"),
])
def test_effective_lr_explorer_refuses_values_its_sliders_would_clamp(kwargs, message):
    """Before: effective_lr_explorer(lr=100).lr.value was 1.0, silently."""
    with pytest.raises(ValueError) as e:
        cw.effective_lr_explorer(**kwargs)
    assert str(e.value) == message


def test_every_slider_backed_argument_is_checked_against_its_slider():
    """Each widget's numeric arguments are refused outside the range of the control that shows them."""
    for make, kwargs in ((cw.density_explorer, dict(seed=100)), (cw.lab, dict(seed=100)), (cw.lab, dict(lr=2.0)),
                         (cw.lab, dict(epochs=11)), (cw.lab, dict(ewc_lambda=1e6)), (cw.density_explorer, dict(power=3.3))):
        with pytest.raises(ValueError):
            make(**kwargs)
