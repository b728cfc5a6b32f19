"""Training playground, in the spirit of TensorFlow Playground: data, network and optimizer to play with."""
import time

import ipywidgets as widgets

import dlscratch as ds

from ...train import History, accuracy, fit
from ..plots import BoundaryPlot, CurvesPlot, boundary_grid, grid_probabilities
from ._common import OPTIMIZERS, FigureImage, Widget, button, guarded, new_figure

DEFAULT_NOISE = {"blobs": 1.0, "xor": 0.2, "circles": 0.1, "moons": 0.1, "spiral": 0.1}  # ds.data.make's scale
ACTIVATIONS = ("tanh", "relu", "sigmoid")
L2_CHOICES = (0.0, 1e-4, 1e-3, 1e-2, 1e-1)
DATA_SETTINGS = {"dataset", "noise", "test_fraction", "n_points", "seed"}
NETWORK_SETTINGS = {"hidden_layers", "units", "activation"}
TRAINING_SETTINGS = {"learning_rate", "optimizer", "l2"}
REDRAW_INTERVAL = 0.5  # seconds between live redraws while training
BLOW_UP = 1e3  # a loss this many times the first one counts as diverged


class PlaygroundModel:
    """A small network learning a 2-D data set, step by step; plain Python, no widgets.

    Changing the data or the network starts afresh (new weights); changing the learning rate,
    optimizer or L2 strength keeps the weights and trains on from where they are.
    history has "step" and "loss" (every step, the data loss without the L2 term) and
    "eval_step", "test_loss", "accuracy", "test_accuracy" (every eval_every steps).

    Example:
        model = PlaygroundModel("xor", hidden_layers=1, units=4)
        model.train(300)
        model.history["test_accuracy"][-1]
    """

    def __init__(self, dataset="circles", noise=None, test_fraction=0.3, hidden_layers=1, units=4,
                 activation="tanh", learning_rate=0.03, optimizer="Adam", l2=0.0, n_points=200, seed=0,
                 eval_every=10, resolution=60):
        self.settings = dict(dataset=dataset, noise=DEFAULT_NOISE.get(dataset) if noise is None else noise,
                             test_fraction=test_fraction, hidden_layers=hidden_layers, units=units,
                             activation=activation, learning_rate=learning_rate, optimizer=optimizer, l2=l2,
                             n_points=n_points, seed=seed)
        self.eval_every, self.resolution = eval_every, resolution
        self.reset()

    def configure(self, **changes):
        """Change settings by name; returns True when that started training afresh."""
        unknown = set(changes) - DATA_SETTINGS - NETWORK_SETTINGS - TRAINING_SETTINGS
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}")
        changed = {k for k, v in changes.items() if self.settings[k] != v}
        self.settings.update(changes)
        if changed & (DATA_SETTINGS | NETWORK_SETTINGS):
            self.reset()
            return True
        if "optimizer" in changed:
            self._new_optimizer()
        elif "learning_rate" in changed:
            self.optimizer.learning_rate = self.settings["learning_rate"]  # keeps momentum / Adam state
        return False

    def reset(self):
        """New data split, new network with fresh (seeded) weights, empty history."""
        s = self.settings
        if s["dataset"] not in DEFAULT_NOISE:
            raise ValueError(f"unknown data set {s['dataset']!r}; choose one of {list(DEFAULT_NOISE)}")
        X, y = ds.data.make(s["dataset"], s["n_points"], s["noise"], s["seed"])
        self.X, self.X_test, self.y, self.y_test = ds.data.train_test_split(X, y, s["test_fraction"], s["seed"])
        self.xs, self.ys, self.grid = boundary_grid(X, self.resolution, margin=0.3)
        self.graph = ds.Graph()
        with self.graph.as_default():
            self.x = ds.placeholder(shape=(None, 2), name="x")
            self.labels = ds.placeholder(shape=(None, 2), name="labels")
            self.l2 = ds.placeholder_with_default(0.0, shape=(), name="l2_strength")
            sizes = [s["units"]] * s["hidden_layers"] + [2]
            logits = ds.nn.mlp(self.x, sizes, activation=s["activation"], seed=s["seed"])
            self.probabilities = ds.softmax(logits, name="probabilities")
            self.loss = ds.nn.softmax_cross_entropy(labels=self.labels, logits=logits)
            self.total_loss = self.loss + ds.nn.l2_regularizer(self.l2, ds.nn.weights(self.graph))
        self.session = ds.Session(self.graph)
        self.feed = {self.x: self.X, self.labels: ds.data.one_hot(self.y, 2)}
        self.test_feed = {self.x: self.X_test, self.labels: ds.data.one_hot(self.y_test, 2)}
        self.history = History(["test_loss", "accuracy", "test_accuracy"])
        self._new_optimizer()

    @property
    def steps_done(self):
        return self.history.steps_done

    @property
    def diverged(self):
        return self.history.diverged

    def _new_optimizer(self):
        self.optimizer = OPTIMIZERS[self.settings["optimizer"]](self.settings["learning_rate"])
        with self.graph.as_default():
            self.train_op = self.optimizer.minimize(self.total_loss)

    def train(self, steps, callback=None, every=None):
        """Train `steps` steps with ds.train.fit (fewer if the loss diverges); callback(model) every `every` steps."""
        session = self.session
        metrics = {"test_loss": lambda: session.run(self.loss, self.test_feed),
                   "accuracy": (self.probabilities, lambda p: accuracy(p, self.y)),  # from the step's own run
                   "test_accuracy": lambda: accuracy(session.run(self.probabilities, self.test_feed), self.y_test)}
        fit(session, self.train_op, self.loss, {**self.feed, self.l2: self.settings["l2"]}, steps, metrics=metrics,
            every=self.eval_every, history=self.history, blow_up=BLOW_UP,
            callback=None if callback is None else lambda history: callback(self), callback_every=every or 1)

    def grid_probabilities(self):
        """P(class 1) over the plot's grid (one run)."""
        return grid_probabilities(self.session, self.probabilities, self.x, self.grid)

    @property
    def message(self):
        if self.diverged is not None:
            return (f"Diverged at step {self.diverged}: the loss blew up to {self.history['loss'][-1]:.3g}. "
                    "Lower the learning rate and press Reset.")
        h = self.history
        if not h["step"]:
            return "Press Train (or Step) to start."
        text = (f"step {self.steps_done}: train loss {h['loss'][-1]:.3g}, test loss {h['test_loss'][-1]:.3g}, "
                f"train accuracy {h['accuracy'][-1]:.0%}, test accuracy {h['test_accuracy'][-1]:.0%}")
        if h["loss"][-1] > 1.5 * h["loss"][0]:
            text += ". The loss went up: the learning rate is probably too large."
        return text


def _control(kind, description, **kwargs):
    if kind.class_traits().get("continuous_update"):
        kwargs["continuous_update"] = False  # a change resets or retrains: only on release
    return kind(description=description, style={"description_width": "100px"},
                layout=widgets.Layout(width="330px"), **kwargs)


class TrainingPlayground(Widget):
    """A small TensorFlow Playground. Pick a data set (blobs, XOR, circles, moons, spiral) and its
    noise, the train/test split, the hidden layers, units and activation, the learning rate,
    optimizer and L2 strength; then Train (a number of steps, with a progress bar), Step (one
    step) or Reset (fresh weights). It shows the decision boundary (test points hollow) and the
    train and test loss curves, live while training.

    Example (the last line of a cell):
        TrainingPlayground()
        TrainingPlayground(dataset="spiral", hidden_layers=2, units=8)
    """

    def __init__(self, dataset="circles", hidden_layers=1, units=4, activation="tanh", learning_rate=0.03,
                 optimizer="Adam", **settings):
        self.model = PlaygroundModel(dataset, hidden_layers=hidden_layers, units=units, activation=activation,
                                     learning_rate=learning_rate, optimizer=optimizer, **settings)
        s = self.model.settings
        self.controls = {
            "dataset": _control(widgets.Dropdown, "data set", options=list(DEFAULT_NOISE), value=s["dataset"]),
            "noise": _control(widgets.FloatSlider, "noise", min=0.0, max=1.5, step=0.05, value=s["noise"]),
            "test_fraction": _control(widgets.FloatSlider, "test fraction", min=0.1, max=0.5, step=0.05,
                                     value=s["test_fraction"]),
            "hidden_layers": _control(widgets.IntSlider, "hidden layers", min=0, max=4, value=s["hidden_layers"]),
            "units": _control(widgets.IntSlider, "units per layer", min=1, max=16, value=s["units"]),
            "activation": _control(widgets.Dropdown, "activation", options=ACTIVATIONS, value=s["activation"]),
            "learning_rate": _control(widgets.FloatLogSlider, "learning rate", base=10, min=-3, max=1, step=0.1,
                                     value=s["learning_rate"], readout_format=".3g"),
            "optimizer": _control(widgets.Dropdown, "optimizer", options=list(OPTIMIZERS), value=s["optimizer"]),
            "l2": _control(widgets.SelectionSlider, "L2 strength", options=[(f"{v:g}", v) for v in L2_CHOICES],
                          value=s["l2"]),
        }
        self.steps = _control(widgets.BoundedIntText, "steps per Train", min=1, max=5000, value=300)
        self.train_button = button("Train", "play", "train for the number of steps above", "primary")
        self.step_button = button("Step", "step-forward", "one training step")
        self.reset_button = button("Reset", "refresh", "fresh weights, empty history")
        self.progress = widgets.IntProgress(min=0, max=1, value=0, layout=widgets.Layout(width="330px"))
        fig, (ax_boundary, ax_loss) = new_figure(8.6, 4.0, columns=2)
        self.boundary = BoundaryPlot(ax_boundary, self.model.xs, self.model.ys, self.model.X, self.model.y,
                                     title="Decision boundary (hollow points: test set)")
        self.curves = CurvesPlot(ax_loss, "Loss (without the L2 term)", "cross-entropy")
        figure = FigureImage(fig)
        panel = widgets.VBox([*self.controls.values(), self.steps,
                              widgets.HBox([self.train_button, self.step_button, self.reset_button]),
                              self.progress],
                             layout=widgets.Layout(flex="0 0 345px"))  # the picture must not squeeze the controls
        super().__init__([widgets.HBox([panel, figure.widget], layout=widgets.Layout(align_items="flex-start"))],
                         figure)
        self._holding = False
        for control in self.controls.values():
            control.observe(self._on_setting, names="value")
        self.train_button.on_click(self._on_train)
        self.step_button.on_click(self._on_step)
        self.reset_button.on_click(self._on_reset)
        self.start_afresh()

    @guarded
    def _on_setting(self, change):
        if self._holding:
            return
        name = next(k for k, c in self.controls.items() if c is change["owner"])
        changes = {name: change["new"]}
        if name == "dataset":  # each data set has its own natural noise scale
            changes["noise"] = DEFAULT_NOISE[change["new"]]
            self._holding = True
            try:
                self.controls["noise"].value = changes["noise"]
            finally:
                self._holding = False
        if self.model.configure(**changes):
            self.start_afresh()
        else:
            self.redraw()

    @guarded
    def _on_train(self, _button=None):
        steps = self.steps.value
        self.progress.max, self.progress.value = steps, 0
        start, last_redraw = self.model.steps_done, [time.perf_counter()]

        def live(model):
            self.progress.value = model.steps_done - start
            if time.perf_counter() - last_redraw[0] > REDRAW_INTERVAL:  # drawing costs more than training
                self.redraw()
                last_redraw[0] = time.perf_counter()

        for b in (self.train_button, self.step_button):
            b.disabled = True
        try:
            self.model.train(steps, callback=live, every=5)
        finally:
            for b in (self.train_button, self.step_button):
                b.disabled = False
        self.progress.value = self.model.steps_done - start
        self.redraw()

    @guarded
    def _on_step(self, _button=None):
        self.model.train(1)
        self.redraw()

    @guarded
    def _on_reset(self, _button=None):
        self.model.reset()
        self.start_afresh()

    def start_afresh(self):
        """After new data, a new network or Reset: the new points, empty curves and an empty progress bar."""
        m = self.model
        self.boundary.set_data(m.X, m.y, m.X_test, m.y_test)
        self.boundary.set_grid(m.xs, m.ys)
        self.progress.max, self.progress.value = 1, 0
        self.redraw()

    def draw(self):
        m = self.model
        self.boundary.update(m.grid_probabilities())
        h = m.history
        self.curves.update(h["step"], h["loss"], h["eval_step"], h["test_loss"])
        if not h["step"]:  # empty: a plain 0..1 frame, not the old run's scale; training rescales it
            self.curves.ax.set_xlim(0, 1, auto=True)
            self.curves.ax.set_ylim(0, 1, auto=True)
        self.show_status(m.message, "error" if m.diverged is not None else "info")

    def __repr__(self):
        return f"<TrainingPlayground: {self.model.message}>"
