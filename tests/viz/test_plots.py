"""Plots: titles and labels, one session.run for a decision boundary, figures closed, sized to the column."""
import io

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

import dlscratch as ds
from dlscratch.viz import plot_accuracy, plot_decision_boundary, plot_history, plot_loss, plot_trajectory
from dlscratch.viz.plots import COLUMN_WIDTH, boundary_grid
from dlscratch.viz.render import COLUMN_PX


class CountingSession(ds.Session):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.runs = []

    def run(self, fetches, feed_dict=None):
        self.runs.append({k: np.shape(v) for k, v in (feed_dict or {}).items()})
        return super().run(fetches, feed_dict)


def logistic_model():
    """p = sigmoid(x1 + 2 x2 + 0.5), of shape (N, 1)."""
    g = ds.Graph()
    with g.as_default():
        x = ds.placeholder(shape=(None, 2), name="x")
        w = ds.Variable([[1.0], [2.0]], name="w")
        p = ds.sigmoid(x @ w + 0.5)
    return g, x, p


def assert_titled(ax):
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_decision_boundary_uses_one_run_over_the_whole_grid():
    g, x, p = logistic_model()
    X, y = ds.data.red_blue(20)
    session = CountingSession(g)
    fig = plot_decision_boundary(session, p, x, X, y, resolution=60)
    assert len(session.runs) == 1 and session.runs[0][x] == (3600, 2)
    ax = fig.axes[0]
    assert_titled(ax)
    assert plt.get_fignums() == []  # closed, but still a Figure to display
    image = ax.images[0].get_array()
    xs, ys, points = boundary_grid(X, 60)
    expected = 1 / (1 + np.exp(-(points @ [1.0, 2.0] + 0.5)))
    np.testing.assert_allclose(np.asarray(image).ravel(), expected)
    assert len(ax.collections) >= 2  # the points of both classes (and the boundary line)
    assert any(c.get_offsets().shape == (20, 2) for c in ax.collections)


def test_decision_boundary_with_several_classes_blends_their_colours():
    g = ds.Graph()
    with g.as_default():
        x = ds.placeholder(shape=(None, 2))
        p = ds.softmax(x @ ds.constant([[3.0, -3.0, 0.0], [0.0, 2.0, -2.0]]))
    X, y = ds.data.spiral(60, classes=3)
    fig = plot_decision_boundary(ds.Session(g), p, x, X, y, resolution=40, title="spiral")
    image = np.asarray(fig.axes[0].images[0].get_array())
    assert image.shape == (40, 40, 3)
    assert fig.axes[0].get_title() == "spiral"


def test_plots_draw_into_a_given_axes_and_leave_that_figure_open():
    fig, ax = plt.subplots()
    g, x, p = logistic_model()
    X, y = ds.data.red_blue(5)
    assert plot_decision_boundary(ds.Session(g), p, x, X, y, ax=ax, resolution=10) is fig
    assert plt.get_fignums() == [fig.number]
    plt.close(fig)


def test_loss_curves_from_lists_and_from_a_history():
    fig = plot_loss([3.0, 2.0, 1.5, 1.0], [3.5, 2.5, 2.0, 1.8], log=True)
    ax = fig.axes[0]
    assert_titled(ax)
    train, test = ax.get_lines()
    np.testing.assert_array_equal(train.get_ydata(), [3.0, 2.0, 1.5, 1.0])
    np.testing.assert_array_equal(test.get_xdata(), [1, 2, 3, 4])
    assert ax.get_yscale() == "log"
    history = {"step": [1, 2, 3], "loss": [1.0, 0.5, np.nan], "eval_step": [1, 3], "test_loss": [1.2, 0.9],
               "accuracy": [0.5, 0.75], "test_accuracy": [0.4, 0.6]}
    ax = plot_loss(history).axes[0]
    train, test = ax.get_lines()
    np.testing.assert_array_equal(train.get_ydata(), [1.0, 0.5])  # non-finite points are left out
    np.testing.assert_array_equal(test.get_xdata(), [1, 3])
    ax = plot_accuracy(history).axes[0]
    assert_titled(ax)
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), [0.4, 0.6])
    assert ax.get_ylim() == pytest.approx((-0.02, 1.02))
    assert len(plot_history(history).axes) == 2
    assert len(plot_history({"step": [1], "loss": [1.0]}).axes) == 1


def test_trajectory_over_the_loss_contours():
    path = np.array([[-4.0, 2.0], [-3.0, 0.5], [-1.0, 0.1], [0.0, 0.0]])
    fig = plot_trajectory(lambda a, b: a**2 + 10 * b**2, path, xlim=(-5, 5), ylim=(-3, 3))
    ax = fig.axes[0]
    assert_titled(ax)
    line = ax.get_lines()[0]
    np.testing.assert_array_equal(line.get_xdata(), path[:, 0])
    assert ax.get_xlim() == (-5, 5)


def test_a_diverged_trajectory_is_cut_at_its_first_non_finite_point():
    path = np.array([[1.0, 1.0], [-3.0, 3.0], [1e200, -1e200], [np.inf, np.nan], [np.nan, np.nan]])
    fig = plot_trajectory(lambda a, b: a**2 + b**2, path, xlim=(-5, 5), ylim=(-5, 5))
    assert len(fig.axes[0].get_lines()[0].get_xdata()) == 3
    fig = plot_trajectory(lambda a, b: a**2 + b**2, path[:2])  # limits from the path
    lo, hi = fig.axes[0].get_xlim()
    assert lo < -3 and hi > 1


def shown_width_px(fig):
    """The width JupyterLab shows a figure at: the inline backend's PNG (100 dpi, tight bounding box)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return Image.open(io.BytesIO(buffer.getvalue())).width


def test_every_plot_fits_the_notebook_column_at_its_own_size():
    g, x, p = logistic_model()
    X, y = ds.data.xor_clusters(5)
    history = {"step": [1, 2, 3], "loss": [3.0, 2.0, 1.0], "accuracy": [0.5, 0.9],
               "eval_step": [1, 3], "test_loss": [3.1, 1.2], "test_accuracy": [0.5, 0.8]}
    figures = {"boundary": plot_decision_boundary(ds.Session(g), p, x, X, y),
               "loss": plot_loss(history), "accuracy": plot_accuracy(history), "history": plot_history(history),
               "trajectory": plot_trajectory(lambda a, b: a**2 + b**2, [[1.0, 1.0], [0.0, 0.0]])}
    widths = {name: shown_width_px(fig) for name, fig in figures.items()}
    assert all(w <= COLUMN_PX for w in widths.values()), widths
    assert widths["history"] > 0.9 * COLUMN_PX  # the widest: two panels use the column


def test_several_panels_of_one_loss_can_share_one_colour_scale():
    fig, axes = plt.subplots(1, 3, figsize=(COLUMN_WIDTH, 3))
    for ax in axes:
        plot_trajectory(lambda a, b: a**2 + b**2, [[1.0, 1.0], [0.0, 0.0]], ax=ax, colorbar=ax is axes[-1])
    assert len(fig.axes) == 4  # three panels and one colour bar
    assert shown_width_px(fig) <= COLUMN_PX
    plt.close(fig)
