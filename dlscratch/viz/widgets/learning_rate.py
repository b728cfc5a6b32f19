"""Learning-rate explorer: how the step size and the optimizer move a point down a loss surface."""
import ipywidgets as widgets
import numpy as np

import dlscratch as ds

from ...train import fit
from ..plots import CurvesPlot, TrajectoryPlot
from ._common import OPTIMIZERS, FigureImage, Widget, guarded, new_figure


class Surface:
    """A two-parameter loss written with operators only, so one function serves numpy grids and ds nodes."""

    def __init__(self, name, fn, start, minimum, xlim, ylim, formula):
        self.name, self.fn, self.start, self.minimum = name, fn, start, minimum
        self.xlim, self.ylim, self.formula = xlim, ylim, formula


SURFACES = {
    # condition number 100: plain gradient descent must step below 2/100 for w2, which starves w1
    "ravine": Surface("ravine", lambda a, b: 0.5 * (a**2 + 100 * b**2), (-4.0, 2.0), (0, 0), (-5, 5), (-3, 3),
                      "½(w₁² + 100 w₂²): a hundred times steeper across than along"),
    "bowl": Surface("bowl", lambda a, b: 0.5 * (a**2 + b**2), (-4.0, 2.0), (0, 0), (-5, 5), (-3, 3),
                    "½(w₁² + w₂²): equally steep in every direction"),
    "rosenbrock": Surface("rosenbrock", lambda a, b: (1 - a)**2 + 100 * (b - a**2)**2, (-1.5, 2.0), (1, 1), (-2, 2),
                          (-1, 3), "(1 − w₁)² + 100 (w₂ − w₁²)²: a curved valley, minimum at (1, 1)"),
}
BLOW_UP = 1e3  # a loss this many times the starting loss counts as diverged


class LearningRateModel:
    """Runs an optimizer of the library on a two-parameter loss and keeps the path it took.

    After run(): path (one row of parameters per step, start included), losses (the loss at each
    row), diverged (the step at which the loss blew up, or None) and message.

    Example:
        model = LearningRateModel(learning_rate=0.025, steps=30)   # above 2/100: too large for the ravine
        model.diverged
    """

    def __init__(self, surface="ravine", learning_rate=0.015, steps=50, optimizer="GD"):
        self.surface, self.learning_rate, self.steps, self.optimizer = surface, learning_rate, steps, optimizer
        self.run()

    def run(self):
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {list(OPTIMIZERS)}")
        if self.surface not in SURFACES:
            raise ValueError(f"unknown surface {self.surface!r}; choose one of {list(SURFACES)}")
        surface = SURFACES[self.surface]
        graph = ds.Graph()
        with graph.as_default():
            a, b = ds.Variable(surface.start[0], name="w1"), ds.Variable(surface.start[1], name="w2")
            loss = surface.fn(a, b)
            train = OPTIMIZERS[self.optimizer](self.learning_rate).minimize(loss)
        session = ds.Session(graph)
        path = [surface.start]  # the point after each step; the loss of each step is that of the point before it
        history = fit(session, train, loss, {}, self.steps, blow_up=BLOW_UP,
                      callback=lambda _: path.append((float(a.value), float(b.value))))
        losses = history["loss"]
        if history.diverged is None:
            with np.errstate(all="ignore"):
                losses = losses + [float(session.run(loss))]  # the loss at the last point
            blown_up = not np.isfinite(losses[-1]) or losses[-1] > BLOW_UP * max(losses[0], 1.0)
            self.diverged = self.steps if blown_up else None
        else:
            self.diverged = history.diverged - 1  # the steps taken before the loss blew up
        self.path, self.losses = np.array(path), np.array(losses)
        self.message = self._message()
        return self

    def _message(self):
        lr = f"learning rate {self.learning_rate:.3g}"
        if self.diverged is not None:
            return (f"Diverged after {_steps(self.diverged)}: with {lr} every step overshoots the valley and "
                    f"lands higher than it started. Lower the learning rate.")
        summary = f"{self.optimizer}, {lr}: after {_steps(self.steps)} the loss is {self.losses[-1]:.4g}"
        if self.losses[-1] > self.losses[0]:
            return summary + f", up from {self.losses[0]:.4g}: the steps overshoot. Lower the learning rate."
        return summary + f" (it started at {self.losses[0]:.4g})."


class LearningRateSweep:
    """One optimizer on one surface, run for the same number of steps with each of several learning rates.

    rates, final_losses: one entry per learning rate tried (the loss after the last step; inf if it diverged).
    best_rate, best_loss: the rate with the lowest final loss (best_rate is None if every run diverged).

    Example:
        sweep = LearningRateSweep("ravine", "GD", rates=np.logspace(-3, 0, 13), steps=100)
        sweep.best_rate, sweep.best_loss
    """

    def __init__(self, surface="ravine", optimizer="GD", rates=None, steps=100):
        self.surface, self.optimizer, self.steps = surface, optimizer, steps
        self.rates = np.logspace(-3, 0, 13) if rates is None else np.array(rates, dtype=float)
        if self.rates.ndim != 1 or self.rates.size == 0 or not np.all(self.rates > 0):
            raise ValueError(f"LearningRateSweep: rates must be a list of positive learning rates, got {rates!r}")
        runs = [LearningRateModel(surface, rate, steps, optimizer) for rate in self.rates]
        self.final_losses = np.array([np.inf if run.diverged is not None else run.losses[-1] for run in runs])
        best = int(np.argmin(self.final_losses))
        self.best_loss = float(self.final_losses[best])
        self.best_rate = float(self.rates[best]) if np.isfinite(self.best_loss) else None

    def __repr__(self):
        if self.best_rate is None:
            return f"<LearningRateSweep {self.optimizer} on the {self.surface}: every learning rate diverged>"
        return (f"<LearningRateSweep {self.optimizer} on the {self.surface}: best learning rate {self.best_rate:.3g}, "
                f"loss {self.best_loss:.3g} after {_steps(self.steps)}>")


def _steps(n):
    return f"{n} step" + ("" if n == 1 else "s")


class LearningRateExplorer(Widget):
    """A log-scale learning-rate slider, the number of steps and the optimizer (GD, momentum, Adam):
    the path taken over the loss surface's contours and the loss after each step. Too large a
    learning rate visibly diverges, with a message saying so.

    Example (the last line of a cell):
        LearningRateExplorer()
        LearningRateExplorer(surface="rosenbrock", optimizer="Adam", learning_rate=0.05)
    """

    def __init__(self, surface="ravine", learning_rate=0.015, steps=50, optimizer="GD"):
        self.model = LearningRateModel(surface, learning_rate, steps, optimizer)
        self.surface = widgets.Dropdown(options=list(SURFACES), value=surface, description="surface")
        self.learning_rate = widgets.FloatLogSlider(value=learning_rate, base=10, min=-3, max=1, step=0.05,
                                                    description="learning rate", readout_format=".3g",
                                                    continuous_update=False, style={"description_width": "90px"})
        self.steps = widgets.IntSlider(value=steps, min=1, max=200, description="steps", continuous_update=False,
                                       style={"description_width": "90px"})
        self.optimizer = widgets.ToggleButtons(options=list(OPTIMIZERS), value=optimizer,
                                               style={"button_width": "110px"})
        fig, (self.ax_path, self.ax_loss) = new_figure(10, 4.2, columns=2)
        self.curve = CurvesPlot(self.ax_loss, "Loss after each step", "loss", log=True, legend=False)
        self.trajectory = None
        figure = FigureImage(fig)
        super().__init__([widgets.HBox([self.surface, self.optimizer]), widgets.HBox([self.learning_rate, self.steps]),
                          figure.widget], figure)
        for control in (self.learning_rate, self.steps, self.optimizer):
            control.observe(self._on_change, names="value")
        self.surface.observe(self._on_surface, names="value")
        self._on_surface()

    @guarded
    def _on_surface(self, change=None):
        surface = SURFACES[self.surface.value]
        self.ax_path.clear()
        self.trajectory = TrajectoryPlot(self.ax_path, surface.fn, surface.xlim, surface.ylim,
                                         title=surface.formula)
        self.ax_path.title.set_fontsize(10)
        self.ax_path.plot(*surface.minimum, "x", color="white", markersize=9, markeredgewidth=2, zorder=1)
        self.warning = self.ax_path.text(0.5, 0.5, "diverged", transform=self.ax_path.transAxes, ha="center",
                                         va="center", fontsize=28, color="#b91c1c", fontweight="bold",
                                         visible=False, bbox={"facecolor": "white", "alpha": 0.85,
                                                              "edgecolor": "#b91c1c", "boxstyle": "round"})
        self._on_change()

    @guarded
    def _on_change(self, change=None):
        m = self.model
        m.surface, m.learning_rate = self.surface.value, self.learning_rate.value
        m.steps, m.optimizer = self.steps.value, self.optimizer.value
        m.run()
        self.redraw()

    def draw(self):
        m = self.model
        self.trajectory.update(m.path)
        self.warning.set_visible(m.diverged is not None)
        shown = np.clip(m.losses, 1e-12, None)  # a log axis cannot show 0
        self.curve.update(np.arange(len(shown)), shown)
        self.ax_loss.set_xlim(0, max(m.steps, 1))
        self.show_status(m.message, "error" if m.diverged is not None else "info")

    def __repr__(self):
        return f"<LearningRateExplorer: {self.model.message}>"
