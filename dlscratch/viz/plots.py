"""Plots: decision boundaries, loss and accuracy curves, and gradient-descent trajectories.

Every function returns a closed matplotlib Figure: make it the last line of a
cell (or `display(fig)`) to show it once, and nothing piles up in pyplot.
Pass `ax=` to draw into an axes of your own instead (that figure stays yours).
Each plot is also an object with `update(...)`, which the widgets use to
redraw by changing the artists rather than building a new figure.
"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgb

CLASS_COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]  # red, blue, ...
BACKGROUND_MAP = "RdBu"  # P(class 1): 0 is red, 1 is blue, like the points
# The widest figure, in inches, that JupyterLab shows at its own size in a 968 px notebook column: the inline
# backend draws at 100 dpi and its tight bounding box adds about 11 px. A wider one is squeezed, text and all.
COLUMN_WIDTH = 9.4


def new_axes(ax=None, figsize=(5.5, 4.5)):
    """(figure, axes, owned): a fresh figure unless `ax` is given."""
    if ax is not None:
        return ax.figure, ax, False
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax, True


def finish(fig, owned):
    """Close a figure we created: it still displays as a cell's result, but pyplot forgets it."""
    if owned:
        plt.close(fig)
    return fig


# --- decision boundary ----------------------------------------------------------------

def boundary_grid(X, resolution=150, margin=0.5):
    """A square grid over the data: (xs, ys, points) with points of shape (resolution**2, 2)."""
    X = np.asarray(X, dtype=float)
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    xs, ys = np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    xx, yy = np.meshgrid(xs, ys)
    return xs, ys, np.column_stack([xx.ravel(), yy.ravel()])


def grid_probabilities(session, probabilities, x, points, feed_dict=None):
    """The model's class probabilities at every grid point, from ONE session.run over the whole grid.

    Returns shape (n_points,) for a two-class model (the probability of class 1)
    or (n_points, n_classes) for more classes.
    """
    feed = dict(feed_dict or {})
    feed[x] = points
    with np.errstate(all="ignore"):  # a diverged model gives nan; the plot shows that, no warning
        p = np.asarray(session.run(probabilities, feed), dtype=float)
    if p.ndim == 2 and p.shape[1] == 1:
        p = p[:, 0]
    elif p.ndim == 2 and p.shape[1] == 2:
        p = p[:, 1]
    return p


def _colour(c):
    return CLASS_COLOURS[int(c) % len(CLASS_COLOURS)]


class BoundaryPlot:
    """Class probabilities as the background, the decision boundary as a line, the data points on top."""

    def __init__(self, ax, xs, ys, X, y, title="Decision boundary", labels=("$x_1$", "$x_2$")):
        self.ax, self.xs, self.ys = ax, xs, ys
        extent = (xs[0], xs[-1], ys[0], ys[-1])
        self.image = ax.imshow(np.full((len(ys), len(xs)), 0.5), origin="lower", extent=extent, aspect="auto",
                               cmap=BACKGROUND_MAP, vmin=0, vmax=1, alpha=0.55, interpolation="bilinear")
        self.contour = None
        self.points = []
        self.set_data(X, y)
        self.set_grid(xs, ys)
        ax.set_title(title)
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])

    def set_grid(self, xs, ys):
        """Move the background to a new grid (e.g. after the data changed)."""
        self.xs, self.ys = xs, ys
        self.image.set_extent((xs[0], xs[-1], ys[0], ys[-1]))
        self.ax.set_xlim(xs[0], xs[-1])
        self.ax.set_ylim(ys[0], ys[-1])

    def set_data(self, X, y, X_test=None, y_test=None):
        """Draw the points (filled) and, if given, held-out test points (hollow)."""
        for artist in self.points:
            artist.remove()
        X, y = np.asarray(X), np.asarray(y).ravel()
        self.points = [self.ax.scatter(*X[y == c].T, s=22, color=_colour(c), edgecolors="white",
                                       linewidths=0.6, label=f"class {c}", zorder=3) for c in np.unique(y)]
        if X_test is not None:
            X_test, y_test = np.asarray(X_test), np.asarray(y_test).ravel()
            self.points += [self.ax.scatter(*X_test[y_test == c].T, s=22, facecolors="white", edgecolors=_colour(c),
                                            linewidths=1.2, label=f"class {c} (test)", zorder=3)
                            for c in np.unique(y_test)]

    def update(self, p):
        """Show new probabilities: p of shape (n_points,) (class 1) or (n_points, n_classes)."""
        shape = (len(self.ys), len(self.xs))
        if self.contour is not None:
            self.contour.remove()
            self.contour = None
        with np.errstate(all="ignore"):
            if p.ndim == 1:
                field = p.reshape(shape)
                self.image.set_data(field)
                levels = [0.5]
            else:  # several classes: blend the class colours by probability
                colours = np.array([to_rgb(c) for c in CLASS_COLOURS[:p.shape[1]]])
                rgb = np.clip(p @ colours, 0, 1).reshape(shape + (3,))
                self.image.set_data(rgb)
                field = np.argmax(p, axis=1).reshape(shape).astype(float)
                levels = np.arange(p.shape[1] - 1) + 0.5
            if np.isfinite(field).all() and any(field.min() < level < field.max() for level in levels):
                self.contour = self.ax.contour(self.xs, self.ys, field, levels=levels, colors="black",
                                               linewidths=1.2)


def plot_decision_boundary(session, probabilities, x, X, y, *, feed_dict=None, ax=None,
                           title="Decision boundary", resolution=150, margin=0.5):
    """The decision boundary of a 2-D classifier, with one vectorised session.run over the whole grid.

    probabilities: the model's output node (sigmoid (N,) / (N, 1), or softmax (N, C)).
    x:             the placeholder the points are fed to; X, y the data drawn on top.
    feed_dict:     anything else the model needs (e.g. a dropout flag).

    Example:
        fig = plot_decision_boundary(sess, probs, x, X, y)
    """
    fig, ax, owned = new_axes(ax)
    xs, ys, points = boundary_grid(X, resolution, margin)
    plot = BoundaryPlot(ax, xs, ys, X, y, title=title)
    p = grid_probabilities(session, probabilities, x, points, feed_dict)
    plot.update(p)
    if p.ndim == 1:
        fig.colorbar(plot.image, ax=ax, label="P(class 1)", shrink=0.8)
    ax.legend(loc="upper right", fontsize=8, framealpha=0.8)
    return finish(fig, owned)


# --- training curves ------------------------------------------------------------------

class CurvesPlot:
    """Train and test curves of one quantity (loss or accuracy) against the step."""

    def __init__(self, ax, title="Loss", ylabel="loss", log=False, legend=True):
        self.ax, self.legend = ax, legend
        (self.train,) = ax.plot([], [], color="#1f77b4", label="train")
        (self.test,) = ax.plot([], [], color="#ff7f0e", marker="o", markersize=3, label="test")
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        if log:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)

    def update(self, steps, train, test_steps=(), test=()):
        self.train.set_data(*_finite(steps, train))
        self.test.set_data(*_finite(test_steps, test))
        shown = [self.train] + ([self.test] if len(test) else [])
        self.test.set_visible(len(test) > 0)
        legend = self.ax.get_legend()
        if self.legend and (legend is None or len(legend.legend_handles) != len(shown)):  # rebuilt only if needed
            self.ax.legend(handles=shown, loc="upper right", fontsize=8)
        self.ax.relim()
        self.ax.autoscale_view()


def _finite(x, y):
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(y)
    return x[keep], y[keep]


def _series(train, test, steps, test_steps, key):
    """Unpack a fit() history or plain lists into (steps, train, test_steps, test)."""
    if isinstance(train, dict):
        history = train
        train, steps = history.get(key, []), history.get("step")
        test, test_steps = history.get("test_" + key, []), history.get("eval_step")
        if key == "accuracy":
            steps = test_steps  # accuracy is measured at evaluation steps only
    train = list(train)
    test = [] if test is None else list(test)
    steps = list(range(1, len(train) + 1)) if steps is None else list(steps)
    if test_steps is None:
        test_steps = steps if len(test) == len(train) else list(np.linspace(1, max(len(train), 1), len(test)))
    return steps, train, list(test_steps), test


def plot_loss(train, test=None, *, steps=None, test_steps=None, ax=None, title="Loss", log=False):
    """Training (and test) loss against the step.

    train: a list of losses, or the history dict returned by fit() (then test is taken from it too).

    Example:
        history = fit(sess, train_op, loss, feed, steps=500, test_feed=test_feed, eval_every=25)
        plot_loss(history)
    """
    fig, ax, owned = new_axes(ax, figsize=(5.5, 3.5))
    CurvesPlot(ax, title, "loss", log).update(*_series(train, test, steps, test_steps, "loss"))
    return finish(fig, owned)


def plot_accuracy(train, test=None, *, steps=None, test_steps=None, ax=None, title="Accuracy"):
    """Training (and test) accuracy against the step: lists of fractions in [0, 1], or a fit() history."""
    fig, ax, owned = new_axes(ax, figsize=(5.5, 3.5))
    plot = CurvesPlot(ax, title, "accuracy")
    plot.update(*_series(train, test, steps, test_steps, "accuracy"))
    ax.set_ylim(-0.02, 1.02)
    return finish(fig, owned)


def plot_history(history, title="Training"):
    """Loss and accuracy curves of a fit() history side by side (accuracy only if it was measured)."""
    has_accuracy = bool(history.get("accuracy") or history.get("test_accuracy"))
    fig, axes = plt.subplots(1, 2 if has_accuracy else 1, figsize=(COLUMN_WIDTH if has_accuracy else 5.5, 3.5),
                             layout="constrained", squeeze=False)
    plot_loss(history, ax=axes[0, 0], title=f"{title}: loss")
    if has_accuracy:
        plot_accuracy(history, ax=axes[0, 1], title=f"{title}: accuracy")
    return finish(fig, True)


# --- loss surface and trajectory -------------------------------------------------------

class TrajectoryPlot:
    """The contour plot of a two-parameter loss, with the path gradient descent took over it."""

    def __init__(self, ax, loss_fn, xlim, ylim, title="Gradient descent on the loss surface",
                 labels=("$w_1$", "$w_2$"), levels=25, resolution=200):
        self.ax = ax
        xs, ys = np.linspace(*xlim, resolution), np.linspace(*ylim, resolution)
        W1, W2 = np.meshgrid(xs, ys)
        with np.errstate(all="ignore"):
            Z = np.asarray(loss_fn(W1, W2), dtype=float)
        self.surface = Z
        lo, hi = np.nanmin(Z), np.nanmax(Z)
        if lo >= 0 and hi > 0:  # log-spaced levels show the valley floor as well as the walls
            level_values = np.geomspace(max(lo, hi * 1e-3), hi, levels)
        else:
            level_values = np.linspace(lo, hi, levels)
        self.filled = ax.contourf(W1, W2, Z, levels=level_values, cmap="viridis", alpha=0.85, extend="min")
        ax.contour(W1, W2, Z, levels=level_values, colors="white", linewidths=0.4, alpha=0.6)
        (self.path,) = ax.plot([], [], color="#ff3b30", marker="o", markersize=3, linewidth=1.5, label="path")
        (self.start,) = ax.plot([], [], "o", color="white", markeredgecolor="black", markersize=8, label="start")
        (self.end,) = ax.plot([], [], "*", color="#ffd60a", markeredgecolor="black", markersize=14, label="end")
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        ax.set_title(title)
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
        ax.legend(loc="upper right", fontsize=8)

    def update(self, path):
        """Draw a new path: an array of shape (steps + 1, 2), cut at its first non-finite point."""
        path = finite_prefix(np.asarray(path, dtype=float).reshape(-1, 2))
        self.path.set_data(path[:, 0], path[:, 1])
        self.start.set_data(path[:1, 0], path[:1, 1])
        self.end.set_data(path[-1:, 0], path[-1:, 1])


def finite_prefix(path):
    """The rows of `path` before the first one with a nan or inf."""
    bad = ~np.isfinite(path).all(axis=1)
    return path[:np.argmax(bad)] if bad.any() else path


def plot_trajectory(loss_fn, path, *, xlim=None, ylim=None, ax=None, title="Gradient descent on the loss surface",
                    labels=("$w_1$", "$w_2$"), levels=25, colorbar=True):
    """A gradient-descent path over the contour plot of a two-parameter loss.

    loss_fn:  a vectorised numpy function of two parameter grids, e.g. lambda a, b: a**2 + 10 * b**2.
    path:     the parameters after each step, shape (steps + 1, 2).
    colorbar: False leaves out the loss scale, e.g. in all but one of several panels of the same loss.

    Example:
        plot_trajectory(lambda a, b: a**2 + 10 * b**2, path, xlim=(-5, 5), ylim=(-3, 3))
    """
    fig, ax, owned = new_axes(ax)
    path = np.asarray(path, dtype=float).reshape(-1, 2)
    finite = finite_prefix(path)
    if xlim is None or ylim is None:
        lo, hi = finite.min(axis=0), finite.max(axis=0)
        pad = np.maximum((hi - lo) * 0.15, 0.5)
        xlim = xlim or (lo[0] - pad[0], hi[0] + pad[0])
        ylim = ylim or (lo[1] - pad[1], hi[1] + pad[1])
    plot = TrajectoryPlot(ax, loss_fn, xlim, ylim, title=title, labels=labels, levels=levels)
    plot.update(path)
    if colorbar:
        fig.colorbar(plot.filled, ax=ax, label="loss", shrink=0.8)
    return finish(fig, owned)
