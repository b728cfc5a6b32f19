"""Training playground, in the spirit of TensorFlow Playground: data, network and optimizer to play with."""
import time

import ipywidgets as widgets
import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

import dlscratch as ds

from ...train import History, accuracy, fit
from ..plots import BoundaryPlot, CurvesPlot, boundary_grid, grid_probabilities
from ._common import OPTIMIZERS, FigureImage, Widget, button, guarded

DEFAULT_NOISE = {"blobs": 1.0, "xor": 0.2, "circles": 0.1, "moons": 0.1, "spiral": 0.1}  # ds.data.make's scale
ACTIVATIONS = ("tanh", "relu", "sigmoid")
L2_CHOICES = (0.0, 1e-4, 1e-3, 1e-2, 1e-1)
DATA_SETTINGS = {"dataset", "noise", "test_fraction", "n_points", "seed"}
NETWORK_SETTINGS = {"hidden_layers", "units", "activation"}
TRAINING_SETTINGS = {"learning_rate", "optimizer", "l2"}
REDRAW_INTERVAL = 0.5  # seconds between live redraws while training
BLOW_UP = 1e3  # a loss this many times the first one counts as diverged
DEAD_SLOPE = 0.01  # a unit whose slope stays below this share of its activation's largest slope counts as dead
HEALTHY_RATIO = 1e-3  # the update-to-weight ratio a rule of thumb (CS231n) calls healthy


def activation_slopes(activation, h):
    """The activation's slope at each output value h, as a share of its largest slope (0..1).

    ReLU: 1 where the unit is on, 0 where it is off; sigmoid: h(1-h)/(1/4); tanh: 1-h².
    """
    if activation == "relu":
        return (h > 0).astype(float)
    if activation == "sigmoid":
        return h * (1 - h) / 0.25
    if activation == "tanh":
        return 1 - h ** 2
    raise ValueError(f"unknown activation {activation!r}; choose one of {list(ACTIVATIONS)}")


class PlaygroundModel:
    """A small network learning a 2-D data set, step by step; plain Python, no widgets.

    Changing the data or the network starts afresh (new weights); changing the learning rate,
    optimizer or L2 strength keeps the weights and trains on from where they are.
    history has "step" and "loss" (every step, the data loss without the L2 term) and
    "eval_step", "test_loss", "accuracy", "test_accuracy" (every eval_every steps).

    Diagnostics, per layer, also every eval_every steps (see diagnose()):
    "grad_norm/LAYER"     the norm of the gradient of the training loss (with L2) for the layer's W,
                          before the step's update;
    "update_ratio/LAYER"  ‖W after the step − W before‖ / ‖W before‖: the step's update relative to the weights;
    "dead/LAYER"          (hidden layers) the share of units that are dead on every training point:
                          a ReLU that never fires, a sigmoid or tanh saturated (slope < 1% of its largest).

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
            self.layers = [f"hidden{i + 1}" for i in range(s["hidden_layers"])] + ["output"]
            self.layer_weights = [self.graph.get_node(f"{layer}/W") for layer in self.layers]
            self.hidden_outputs = [self.graph.get_node(f"{layer}/{s['activation']}") for layer in self.layers[:-1]]
            self.probabilities = ds.softmax(logits, name="probabilities")
            self.loss = ds.nn.softmax_cross_entropy(labels=self.labels, logits=logits)
            self.total_loss = self.loss + ds.nn.l2_regularizer(self.l2, ds.nn.weights(self.graph))
        self.session = ds.Session(self.graph)
        self.feed = {self.x: self.X, self.labels: ds.data.one_hot(self.y, 2)}
        self.test_feed = {self.x: self.X_test, self.labels: ds.data.one_hot(self.y_test, 2)}
        self.history = History(["test_loss", "accuracy", "test_accuracy", *self.diagnostic_names()])
        self._new_optimizer()

    def diagnostic_names(self, kind=None):
        """The history's diagnostic series: "grad_norm/hidden1", ..., "dead/hidden1", ... (of one kind if given)."""
        names = [f"{k}/{layer}" for k in ("grad_norm", "update_ratio") for layer in self.layers]
        names += [f"dead/{layer}" for layer in self.layers[:-1]]
        return [n for n in names if kind is None or n.startswith(kind + "/")]

    def diagnose(self):
        """The current state's gradient norms and dead-unit shares, {"grad_norm/hidden1": ..., "dead/hidden1": ...},
        from one forward and backward pass over the training points (the loss the optimizer minimises)."""
        feed = {**self.feed, self.l2: self.settings["l2"]}
        values = self.session.evaluate_all(self.total_loss, feed)
        grads = ds.backprop(self.total_loss, values, tuple(self.layer_weights))
        result = {}
        for layer, W in zip(self.layers, self.layer_weights):
            result[f"grad_norm/{layer}"] = float(np.linalg.norm(grads[W]))
        for layer, node in zip(self.layers, self.hidden_outputs):
            slopes = activation_slopes(self.settings["activation"], np.asarray(values[node]))
            result[f"dead/{layer}"] = float(np.mean(slopes.max(axis=0) < DEAD_SLOPE))
        return result

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
        session, h = self.session, self.history
        before = {}  # the weights before an evaluation step's update, for its update ratio
        cache = {}

        def diagnostic(name):
            def measure():
                if cache.get("step") != self.steps_done:  # one pass per evaluation step serves every series
                    cache.update(step=self.steps_done, values=self.diagnose())
                    before.update({W: W.value.copy() for W in self.layer_weights})
                return cache["values"][name]
            return measure

        metrics = {"test_loss": lambda: session.run(self.loss, self.test_feed),
                   "accuracy": (self.probabilities, lambda p: accuracy(p, self.y)),  # from the step's own run
                   "test_accuracy": lambda: accuracy(session.run(self.probabilities, self.test_feed), self.y_test),
                   **{name: diagnostic(name) for name in self.diagnostic_names() if "update_ratio" not in name}}

        def after_step(history):
            if before:  # this step was an evaluation step: compare its update with the weights it started from
                for layer, W in zip(self.layers, self.layer_weights):
                    old = before[W]
                    ratio = np.linalg.norm(W.value - old) / max(np.linalg.norm(old), 1e-12)
                    h[f"update_ratio/{layer}"].append(float(ratio))
                before.clear()
            if callback is not None and (history.steps_done - first) % (every or 1) == 0:
                callback(self)

        first = self.steps_done
        fit(session, self.train_op, self.loss, {**self.feed, self.l2: self.settings["l2"]}, steps, metrics=metrics,
            every=self.eval_every, history=h, blow_up=BLOW_UP, callback=after_step, callback_every=1)
        before.clear()  # a diverged step has no update ratio

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


class DiagnosticsPlot:
    """The diagnostics panel: per layer, the gradient norm, the update-to-weight ratio and the dead-unit share
    against the step, one line per layer (darker = deeper)."""

    PANELS = (("grad_norm", "Gradient norm ‖∂L/∂W‖", True),
              ("update_ratio", "Update / weight ‖ΔW‖/‖W‖", True),
              ("dead", "Dead units (share)", False))

    def __init__(self, axes):
        self.axes = dict(zip((kind for kind, _, _ in self.PANELS), axes))
        self.lines = {}
        for (_, title, log), ax in zip(self.PANELS, axes):
            ax.set_title(title, fontsize=10)
            ax.set_xlabel("step")
            if log:
                ax.set_yscale("log")
                ax.set_ylim(1e-4, 1)
            ax.grid(alpha=0.3)
        ratio = self.axes["update_ratio"]  # the healthy level, as an artist outside the data limits (autoscaling)
        ratio.add_artist(Line2D([0, 1], [HEALTHY_RATIO] * 2, transform=ratio.get_yaxis_transform(), color="gray",
                                linestyle=":", linewidth=1))
        self.axes["dead"].set_ylim(-0.05, 1.05)

    def set_layers(self, layers):
        """New lines for a new network's layers (the dead-unit panel has the hidden ones only)."""
        for line in self.lines.values():
            line.remove()
        self.lines = {}
        colours = [_layer_colour(i, len(layers)) for i in range(len(layers))]
        for kind, ax in self.axes.items():
            for layer, colour in zip(layers if kind != "dead" else layers[:-1], colours):
                (self.lines[f"{kind}/{layer}"],) = ax.plot([], [], color=colour, label=layer)
            if ax.get_legend() is not None:
                ax.get_legend().remove()
        handles = [self.lines[f"grad_norm/{layer}"] for layer in layers]
        self.axes["grad_norm"].legend(handles=handles, loc="lower left", fontsize=7)

    def update(self, history):
        steps = history["eval_step"]
        for name, line in self.lines.items():
            values = history[name]
            line.set_data(*_positive(steps[:len(values)], values, log=not name.startswith("dead/")))
        for kind, ax in self.axes.items():
            if any(len(line.get_xdata()) for name, line in self.lines.items() if name.startswith(kind + "/")):
                ax.relim()
                ax.autoscale_view(scaley=kind != "dead")
            else:  # nothing to show yet: a plain frame, not the old run's scale; training rescales it
                if kind != "dead":
                    ax.set_ylim(1e-4, 1, auto=True)
                ax.set_xlim(0, 1, auto=True)


def _layer_colour(i, n):
    """Layer i of n: from light to dark, so depth reads at a glance."""
    return colormaps["viridis"](0.8 - 0.7 * i / max(n - 1, 1))


def _positive(x, y, log):
    """The points a plot can show: finite, and above 0 on a log axis (a gradient of exactly 0 is left out)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(y) & ((y > 0) if log else True)
    return x[keep], y[keep]


def _control(kind, description, **kwargs):
    if kind.class_traits().get("continuous_update"):
        kwargs["continuous_update"] = False  # a change resets or retrains: only on release
    return kind(description=description, style={"description_width": "100px"},
                layout=widgets.Layout(width="330px"), **kwargs)


class TrainingPlayground(Widget):
    """A small TensorFlow Playground. Pick a data set (blobs, XOR, circles, moons, spiral) and its
    noise, the train/test split, the hidden layers, units and activation, the learning rate,
    optimizer and L2 strength; then Train (a number of steps, with a progress bar), Step (one
    step) or Reset (fresh weights). It shows the decision boundary (test points hollow), the
    train and test loss curves and, below them, a diagnostics panel: per layer, the gradient norm,
    the update-to-weight ratio (dotted: the healthy 1e-3) and the share of dead units, live while training.

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
        fig = Figure(figsize=(8.6, 6.4), layout="constrained")
        grid = fig.add_gridspec(2, 6, height_ratios=[4.0, 2.4])
        ax_boundary, ax_loss = fig.add_subplot(grid[0, :3]), fig.add_subplot(grid[0, 3:])
        self.boundary = BoundaryPlot(ax_boundary, self.model.xs, self.model.ys, self.model.X, self.model.y,
                                     title="Decision boundary (hollow points: test set)")
        self.curves = CurvesPlot(ax_loss, "Loss (without the L2 term)", "cross-entropy")
        self.diagnostics = DiagnosticsPlot([fig.add_subplot(grid[1, 2 * i:2 * i + 2]) for i in range(3)])
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
        self.diagnostics.set_layers(m.layers)
        self.progress.max, self.progress.value = 1, 0
        self.redraw()

    def draw(self):
        m = self.model
        self.boundary.update(m.grid_probabilities())
        h = m.history
        self.curves.update(h["step"], h["loss"], h["eval_step"], h["test_loss"])
        self.diagnostics.update(h)
        if not h["step"]:  # empty: a plain 0..1 frame, not the old run's scale; training rescales it
            self.curves.ax.set_xlim(0, 1, auto=True)
            self.curves.ax.set_ylim(0, 1, auto=True)
        self.show_status(m.message, "error" if m.diverged is not None else "info")

    def __repr__(self):
        return f"<TrainingPlayground: {self.model.message}>"
