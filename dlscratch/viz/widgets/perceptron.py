"""Perceptron playground: set the weights of a 2-D linear classifier by hand and watch the result."""
import ipywidgets as widgets
import numpy as np

import dlscratch as ds

from ...train import accuracy
from ..plots import BoundaryPlot, boundary_grid, grid_probabilities
from ._common import FigureImage, Widget, button, guarded, new_figure

SIGMOID_PARAMS = ("w1", "w2", "b")
SOFTMAX_PARAMS = ("W11", "W12", "W21", "W22", "b1", "b2")  # Wij: from input i to class j (j = 1 is class 0)
LIMIT = 10.0  # the sliders' range is [-LIMIT, LIMIT]
TRAIN_STEPS = 100  # gradient-descent steps per click of "Train"
LEARNING_RATE = 0.5


class PerceptronModel:
    """A linear classifier of 2-D points whose parameters are set by hand; plain Python, no widgets.

    mode "sigmoid":  P(class 1) = sigmoid(w1 x1 + w2 x2 + b)            parameters w1, w2, b
    mode "softmax":  P = softmax(x @ W + b), W of shape (2, 2), b (2,)  parameters W11 ... b2
    The loss is the mean cross-entropy; both versions live in one graph and run in one Session.
    train() is plain gradient descent on that loss, with no penalty added: on data a line separates, the
    loss has no minimum at finite weights, and each call makes the weights longer and the loss smaller.

    Example:
        model = PerceptronModel(*ds.data.red_blue())
        model.set(w1=1.0, w2=1.0, b=0.0)
        model.loss, model.accuracy
    """

    def __init__(self, X, y, mode="sigmoid"):
        self.X, self.y = np.asarray(X, dtype=float), np.asarray(y).astype(int).ravel()
        self.graph = ds.Graph()
        with self.graph.as_default():
            self.x = ds.placeholder(shape=(None, 2), name="x")
            self.labels = ds.placeholder(shape=(None,), name="labels")
            self.one_hot = ds.placeholder(shape=(None, 2), name="one_hot")
            self.w = ds.Variable(np.zeros(2), name="w")
            self.b = ds.Variable(0.0, name="b")
            p1 = ds.sigmoid(ds.reduce_sum(self.x * self.w, axis=1) + self.b, name="p")
            p1c = ds.clip_by_value(p1, 1e-12, 1 - 1e-12)
            sigmoid_loss = -ds.reduce_mean(self.labels * ds.log(p1c) + (1 - self.labels) * ds.log(1 - p1c))
            self.W = ds.Variable(np.zeros((2, 2)), name="W")
            self.b2 = ds.Variable(np.zeros(2), name="b2")
            logits = self.x @ self.W + self.b2
            softmax_loss = ds.nn.softmax_cross_entropy(labels=self.one_hot, logits=logits)
            self.heads = {"sigmoid": (p1, sigmoid_loss), "softmax": (ds.softmax(logits), softmax_loss)}
            # The loss shown, nothing added: the button must not find a different optimum from the one the
            # read-out measures (with a penalty, a hand-set w = (5, 5) could "beat" the trained weights).
            self.trainers = {m: ds.train.GradientDescentOptimizer(LEARNING_RATE).minimize(
                loss, var_list=self.variables(m)) for m, (_, loss) in self.heads.items()}
        self.session = ds.Session(self.graph)
        self.feed = {self.x: self.X, self.labels: self.y.astype(float), self.one_hot: ds.data.one_hot(self.y, 2)}
        self.xs, self.ys, self.grid = boundary_grid(self.X, resolution=80, margin=1.0)
        self.mode = mode
        self.steps_trained = 0
        self.set(w1=1.0, w2=-0.5, b=0.0, W11=0.5, W12=-0.5, W21=-0.5, W22=0.5)

    def variables(self, mode=None):
        return [self.w, self.b] if (mode or self.mode) == "sigmoid" else [self.W, self.b2]

    @property
    def names(self):
        return SIGMOID_PARAMS if self.mode == "sigmoid" else SOFTMAX_PARAMS

    @property
    def params(self):
        """The current parameters of both versions, by slider name."""
        values = [*self.w.value, self.b.value, *self.W.value.ravel(), *self.b2.value]
        return {name: float(v) for name, v in zip(SIGMOID_PARAMS + SOFTMAX_PARAMS, values)}

    def set(self, **params):
        """Set parameters by name, e.g. set(w1=2.0, b=-1.0)."""
        unknown = set(params) - set(SIGMOID_PARAMS + SOFTMAX_PARAMS)
        if unknown:
            raise ValueError(f"unknown parameters {sorted(unknown)}; use {SIGMOID_PARAMS + SOFTMAX_PARAMS}")
        p = {**self.params, **params}
        self.w.assign([p["w1"], p["w2"]])
        self.b.assign(p["b"])
        self.W.assign([[p["W11"], p["W12"]], [p["W21"], p["W22"]]])
        self.b2.assign([p["b1"], p["b2"]])

    def evaluate(self):
        """(loss, accuracy) of the current parameters on the data, from one run."""
        probabilities, loss = self.heads[self.mode]
        with np.errstate(all="ignore"):
            p, value = self.session.run([probabilities, loss], self.feed)
        return float(value), accuracy(p, self.y)

    @property
    def loss(self):
        return self.evaluate()[0]

    @property
    def accuracy(self):
        return self.evaluate()[1]

    def probabilities(self):
        """P(class 1) over the plot's grid, from one run."""
        return grid_probabilities(self.session, self.heads[self.mode][0], self.x, self.grid)

    def boundary_normal(self):
        """(a, b, c) with the decision line a x1 + b x2 + c = 0."""
        if self.mode == "sigmoid":
            return (*self.w.value, float(self.b.value))
        W, b2 = self.W.value, self.b2.value
        return W[0, 1] - W[0, 0], W[1, 1] - W[1, 0], b2[1] - b2[0]

    def decision_line(self):
        """Two points of the decision line clipped to the plot, or None when every point gets one class."""
        a, b, c = self.boundary_normal()
        (x0, x1), (y0, y1) = (self.xs[0], self.xs[-1]), (self.ys[0], self.ys[-1])
        if abs(b) >= abs(a) and b != 0:
            xs = np.array([x0, x1])
            return xs, -(a * xs + c) / b
        if a != 0:
            ys = np.array([y0, y1])
            return -(b * ys + c) / a, ys
        return None

    def train(self, steps=TRAIN_STEPS):
        """`steps` steps of gradient descent on the loss shown, from the current weights; returns the parameters."""
        for _ in range(steps):
            self.session.run(self.trainers[self.mode], self.feed)
        self.steps_trained += steps
        return {name: self.params[name] for name in self.names}


class PerceptronPlayground(Widget):
    """Sliders for the weights and bias of a linear classifier, with its decision line, the class
    probabilities as background, and the current loss and accuracy. "Train 100 steps" runs gradient
    descent from the current weights; it finds no optimum, because on separable data there is none at
    finite weights: each click lowers the loss further. A toggle switches to the softmax version (W and b).

    Example (the last line of a cell):
        PerceptronPlayground()                        # the red/blue points of ds.data.red_blue()
        PerceptronPlayground(X, y, mode="softmax")
    """

    def __init__(self, X=None, y=None, mode="sigmoid"):
        if X is None:
            X, y = ds.data.red_blue()
        self.model = PerceptronModel(X, y, mode)
        self.mode = widgets.ToggleButtons(options=[("sigmoid: w, b", "sigmoid"), ("softmax: W, b", "softmax")],
                                          value=mode, style={"button_width": "150px"})
        # Wide sliders (a track of about 330 px: a 0.1 step is 1.65 px) and a fast redraw keep a drag smooth.
        self.sliders = {name: widgets.FloatSlider(value=0.0, min=-LIMIT, max=LIMIT, step=0.1, description=name,
                                                  continuous_update=True, readout_format=".1f",
                                                  layout=widgets.Layout(width="470px"),
                                                  style={"description_width": "40px"})
                        for name in SIGMOID_PARAMS + SOFTMAX_PARAMS}
        self.train_button = button(f"Train {TRAIN_STEPS} steps", "forward",
                                   f"{TRAIN_STEPS} steps of gradient descent on the loss shown, from these weights")
        self.readout = widgets.HTML()
        fig, (ax,) = new_figure(5.6, 4.6)
        self.plot = BoundaryPlot(ax, self.model.xs, self.model.ys, self.model.X, self.model.y,
                                 title="Decision boundary")
        (self.line,) = ax.plot([], [], color="black", linewidth=2, label="decision line")
        legend = ax.legend(loc="upper right", fontsize=8)
        fig.colorbar(self.plot.image, ax=ax, label="P(class 1)", shrink=0.8)
        # Only the background, the line and the title change; the axes, colour bar and points are kept as pixels.
        figure = FigureImage(fig, moving=[self.plot.image, *self.plot.points, self.line, legend, ax.title])
        self.slider_box = widgets.VBox()
        controls = widgets.VBox([self.mode, self.slider_box, self.train_button, self.readout],
                                layout=widgets.Layout(flex="0 0 480px"))
        super().__init__([widgets.HBox([controls, figure.widget], layout=widgets.Layout(align_items="flex-start"))],
                         figure)
        self._holding = True
        self._show_params()
        self._holding = False
        for s in self.sliders.values():
            s.observe(self._on_slider, names="value")
        self.mode.observe(self._on_mode, names="value")
        self.train_button.on_click(self._on_train)
        self._on_mode()

    def _show_params(self):
        for name, value in self.model.params.items():
            self.sliders[name].value = float(np.clip(value, -LIMIT, LIMIT))

    @guarded
    def _on_slider(self, change=None):
        if self._holding:
            return
        self.model.set(**{name: s.value for name, s in self.sliders.items()})
        if change is None or change["owner"].description in self.model.names:  # the other version is hidden
            self.redraw()

    @guarded
    def _on_mode(self, change=None):
        self.model.mode = self.mode.value
        self.slider_box.children = [self.sliders[n] for n in self.model.names]
        self.redraw()

    @guarded
    def _on_train(self, _button=None):
        self.model.train()
        self._holding = True  # one redraw, not one per slider
        try:
            self._show_params()
        finally:
            self._holding = False
        clipped = [n for n in self.model.names if abs(self.model.params[n]) > LIMIT]
        self.model.set(**{name: s.value for name, s in self.sliders.items()})
        self.redraw()
        self.show_status(f"{self.model.steps_trained} steps of gradient descent so far. "
                         + (f"{', '.join(clipped)} stopped at the end of the slider (±{LIMIT:g}). " if clipped else "")
                         + "Click again and the loss falls further: when a line separates the classes, making the "
                           "weights longer always helps, so the loss has no minimum at finite weights (chapter 3).")

    def draw(self):
        loss, acc = self.model.evaluate()
        shape = (len(self.model.ys), len(self.model.xs))
        self.plot.image.set_data(self.model.probabilities().reshape(shape))  # the line marks the boundary
        line = self.model.decision_line()
        self.line.set_data(*(line if line is not None else ([], [])))
        mode = "sigmoid(w·x + b)" if self.model.mode == "sigmoid" else "softmax(x W + b)"
        self.plot.ax.set_title(f"{mode}: loss {loss:.3f}, accuracy {acc:.0%}")
        self.readout.value = (f"<b>loss</b> (mean cross-entropy) {loss:.4f}<br><b>accuracy</b> {acc:.1%}")
        self.show_status("" if line is not None else
                         "All weights are 0: every point gets the same probability, so there is no decision line.")

    def __repr__(self):
        loss, acc = self.model.evaluate()
        return f"<PerceptronPlayground {self.model.mode}: loss {loss:.4f}, accuracy {acc:.0%}>"
