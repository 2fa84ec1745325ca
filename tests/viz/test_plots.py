"""classp.viz.plots: every figure returns labelled Axes and draws what it claims."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from classp.viz import plots  # noqa: E402
from classp.lab.results import Result  # noqa: E402
from classp.lab.train import run  # noqa: E402


@pytest.fixture(scope="module")
def result():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield run("classp", "split-digits", seed=0, eval_every=4, progress=False)
    finally:
        torch.set_num_threads(n)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _labelled(ax):
    assert isinstance(ax, matplotlib.axes.Axes)
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


def test_accuracy_matrix_heatmap():
    R = [[0.9, 0.1], [0.7, 0.8]]
    ax = plots.plot_accuracy_matrix(R, task_names=["a", "b"])
    _labelled(ax)
    np.testing.assert_array_equal(ax.images[0].get_array(), np.array(R))
    assert [t.get_text() for t in ax.texts] == ["0.90", "0.10", "0.70", "0.80"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    with pytest.raises(ValueError, match="task_names must have T = 2"):
        plots.plot_accuracy_matrix(R, task_names=["a"])
    with pytest.raises(ValueError, match="R must"):
        plots.plot_accuracy_matrix([[0.1, 0.2]])


def test_accuracy_matrix_of_a_result(result):
    ax = plots.plot_accuracy_matrix(result)
    assert [t.get_text() for t in ax.get_yticklabels()] == result.task_names


def test_accuracy_curves_have_one_line_per_task_and_boundaries(result):
    fig, ax = plt.subplots()
    assert plots.plot_accuracy_curves(result, ax=ax) is ax
    _labelled(ax)
    lines = [l for l in ax.lines if l.get_marker() == "o"]
    assert len(lines) == result.n_tasks
    np.testing.assert_array_equal(lines[0].get_xdata(), result.eval_steps)
    boundaries = [l for l in ax.lines if l.get_linestyle() == "--"]
    assert [l.get_xdata()[0] for l in boundaries] == result.task_boundaries[1:]


def test_density_and_losses(result):
    ax = plots.plot_density(result, smooth=1)
    _labelled(ax)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), result.density)
    _labelled(plots.plot_losses(result, log=True))
    with pytest.raises(ValueError, match="smooth must be None or an integer >= 1; got 0"):
        plots.plot_density(result, smooth=0)


def test_smooth_and_width_take_numpy_integers_and_refuse_bools(result):
    a = plots.plot_density(result, smooth=5).lines[1].get_ydata()
    np.testing.assert_array_equal(plots.plot_density(result, smooth=np.int64(5)).lines[1].get_ydata(), a)
    assert plots.plot_last_changed(result, width=np.int32(40)).images[0].get_array().shape[1] == 40
    for bad in (True, 2.0, "3"):
        with pytest.raises(ValueError, match=f"smooth must be None or an integer >= 1; got {bad!r}"):
            plots.plot_losses(result, smooth=bad)
    with pytest.raises(ValueError, match="width must be None or an integer >= 1; got False"):
        plots.plot_last_changed(result, width=False)


def test_last_changed_map(result):
    ax = plots.plot_last_changed(result)
    _labelled(ax)
    img = ax.images[0].get_array()
    n = result.n_params
    side = int(np.ceil(np.sqrt(n)))
    assert img.shape == (int(np.ceil(n / side)), side)
    np.testing.assert_array_equal(np.asarray(img).ravel()[:n], result.last_changed)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    never = (result.last_changed == -1).mean()
    assert labels[0] == f"never ({never:.0%})" and len(labels) == result.n_tasks + 1
    stripped = Result.from_dict(result.to_dict(compact=True))
    with pytest.raises(ValueError, match="last_changed is None"):
        plots.plot_last_changed(stripped)


def test_frontier(result):
    new, old = plots.frontier_point([[0.9, 0.1], [0.7, 0.8]])
    assert (new, old) == (0.8, 0.7)
    ax = plots.plot_frontier([(0.8, 0.7), (0.6, 0.9)], labels=["x", "y"], connect=True)
    _labelled(ax)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["x", "y"]
    ax = plots.plot_frontier([result, result])
    _labelled(ax)
    with pytest.raises(ValueError, match="at least one"):
        plots.plot_frontier([])
    with pytest.raises(ValueError, match="T >= 2"):
        plots.frontier_point([[1.0]])
