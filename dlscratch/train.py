"""Optimizers, the training loop and the accuracy of a classifier.

`minimize(loss)` returns an op; running it does one step of training. The step backpropagates
from the loss values of the *same* run, so `session.run([train_op, loss], feed)` returns the
loss that the step used. `fit(...)` runs such steps and records a History; every training
loop of the library (viz.fit's progress bar, the widgets, grading) is this one.
"""
import contextlib
import math
import numbers

import numpy as np

from .core import GraphError, Node, Operation, ShapeError, Variable, backprop, describe, format_shape, topological_order


class TrainStep(Operation):
    """One optimizer step: backpropagate the loss of this run, then update the Variables."""

    changes_state = True  # the Session runs it after every value it fetches

    def __init__(self, optimizer, loss, var_list, name=None):
        self.optimizer, self.var_list = optimizer, tuple(var_list)
        rate = optimizer.learning_rate
        inputs = (loss, rate) if isinstance(rate, Node) else (loss,)  # a node's rate is computed in the same run
        super().__init__(type(optimizer).__name__, inputs, name=name or "train")

    def compute(self, values):
        grads = backprop(self.inputs[0], values, self.var_list)
        self.optimizer.apply_gradients([(grads.get(v), v) for v in self.var_list], self._rate(values))
        return None

    def _rate(self, values):
        rate = self.optimizer.learning_rate
        if not isinstance(rate, Node):
            return rate
        if rate not in values:
            raise GraphError(f"the learning rate of {describe(self)} became {describe(rate)} after minimize(); "
                             "call minimize() again to train with it.")
        value = values[rate]
        if np.ndim(value) != 0:
            raise ShapeError(f"the learning rate {describe(rate)} of {describe(self)} has shape "
                             f"{format_shape(np.shape(value))}; it must be a single number (shape ()).")
        return float(value)  # a Python float keeps float32 Variables float32

    def reset_state(self):
        """Called by ds.global_variables_initializer(): training starts afresh, as in TensorFlow 1."""
        self.optimizer.iterations = 0
        self.optimizer.slots.clear()


class Optimizer:
    def __init__(self, learning_rate):
        if not isinstance(learning_rate, Node) and (
                not isinstance(learning_rate, numbers.Real) or isinstance(learning_rate, bool)):
            raise TypeError(f"learning_rate must be a number or a node (e.g. a placeholder fed a new value "
                            f"each step), not {learning_rate!r}.")
        self.learning_rate = learning_rate  # a number, or a node evaluated in each training run
        self.iterations = 0
        self.slots = {}  # per-Variable state, e.g. momentum

    def minimize(self, loss, var_list=None, name=None):
        """An op that updates `var_list` (default: every trainable Variable the loss depends on).

        As in TensorFlow 1, a Variable named in `var_list` is updated even if it is not
        trainable, and a `var_list` the loss does not depend on at all is an error.
        """
        if not isinstance(loss, Node):
            raise TypeError(f"minimize() needs the loss as a graph node, not a {type(loss).__name__}.")
        behind_loss = topological_order([loss])
        if var_list is None:
            var_list = [n for n in behind_loss if isinstance(n, Variable) and n.trainable]
            if not var_list and not any(v.trainable for v in loss.graph.variables):
                raise ValueError(f"No variables to optimize: the graph of the loss {describe(loss)} has no "
                                 "trainable Variable. Build the model from ds.Variable(...) parameters.")
        var_list = [var_list] if isinstance(var_list, Node) else list(var_list)
        for v in var_list:
            if not isinstance(v, Variable):
                raise TypeError(f"minimize() can only update Variables, but var_list holds {v!r}. "
                                "Make it a ds.Variable, or leave it out of var_list.")
        connected = set(behind_loss)
        if not any(v in connected for v in var_list):
            names = f"any of [{', '.join(describe(v) for v in var_list)}]" if var_list else "any trainable Variable"
            raise ValueError(f"No gradients provided for any variable: the loss {describe(loss)} does not "
                             f"depend on {names}. Pass the Variables the loss is computed from.")
        return TrainStep(self, loss, var_list, name)

    def apply_gradients(self, grads_and_vars, learning_rate=None):
        """Update each Variable from its gradient (None means: leave it alone). A Variable keeps its
        dtype: a float64 gradient or learning rate does not turn a float32 Variable into float64.

        `learning_rate`, if given, is this step's rate (a TrainStep passes the value of a node rate).
        """
        rate = self.learning_rate if learning_rate is None else learning_rate
        if isinstance(rate, Node):
            raise TypeError(f"the learning rate is the node {describe(rate)}: pass its value as "
                            "apply_gradients(grads_and_vars, learning_rate=value), or run minimize()'s op.")
        self.iterations += 1
        for grad, var in grads_and_vars:
            if grad is not None:
                new = self.updated(var, var.value, grad, rate)
                var.value = new if new.dtype == var.value.dtype else new.astype(var.value.dtype)

    def updated(self, var, value, grad, learning_rate):
        raise NotImplementedError


class GradientDescentOptimizer(Optimizer):
    """w <- w - learning_rate * grad"""

    def updated(self, var, value, grad, learning_rate):
        return value - learning_rate * grad


class MomentumOptimizer(Optimizer):
    """velocity <- momentum * velocity + grad;  w <- w - learning_rate * velocity (as TensorFlow 1)."""

    def __init__(self, learning_rate, momentum=0.9):
        super().__init__(learning_rate)
        self.momentum = momentum

    def updated(self, var, value, grad, learning_rate):
        velocity = self.slots.get(var)
        velocity = grad if velocity is None else self.momentum * velocity + grad
        self.slots[var] = velocity
        return value - learning_rate * velocity


class AdamOptimizer(Optimizer):
    """Adam (Kingma & Ba): steps scaled by running estimates of the gradient's mean and variance."""

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
        super().__init__(learning_rate)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon

    def updated(self, var, value, grad, learning_rate):
        m, v = self.slots.get(var, (0.0, 0.0))
        m = self.beta1 * m + (1 - self.beta1) * grad
        v = self.beta2 * v + (1 - self.beta2) * grad * grad
        self.slots[var] = (m, v)
        t = self.iterations
        # math.sqrt gives a Python float, which keeps float32 variables float32 (np.sqrt would upcast)
        step = learning_rate * math.sqrt(1 - self.beta2 ** t) / (1 - self.beta1 ** t)
        return value - step * m / (np.sqrt(v) + self.epsilon)


# --- the training loop and its measurements ---------------------------------------------

class History(dict):
    """What fit() recorded, as lists by name (plots take it as it is).

    history["step"], history["loss"]:  every step, and the loss that step computed its gradients from
    history["eval_step"]:              the steps at which the metrics were measured
    history[name]:                     each metric, measured at those steps, before that step's update
    history.diverged:                  the step whose loss was not finite (or blew up), else None
    history.status:                    one line saying how the last fit() ended
    """

    def __init__(self, metric_names=()):
        super().__init__(step=[], loss=[], eval_step=[], **{name: [] for name in metric_names})
        self.diverged = None
        self.status = "not trained yet"

    @property
    def steps_done(self):
        return len(self["step"])


def fit(session, train_op, loss, feed_dict, steps, *, metrics=None, every=None, callback=None,
        callback_every=1, history=None, blow_up=None, silence_numpy=True):
    """Run `steps` training steps; return a History of the loss at every step.

    train_op:   the op from optimizer.minimize(loss); each step is session.run([train_op, loss], feed_dict),
                so the loss recorded for a step is the one it computed its gradients from (before the update).
                It may also be a function with no arguments that takes one step and returns that loss.
    metrics:    {name: function()} measured before the update at the first step, every `every` steps
                and the last one, e.g. {"test_loss": lambda: session.run(loss, test_feed)}; or
                {name: (node, function(value))}: the node is fetched in the step's own run (the same values,
                e.g. the same dropout mask, and no extra run), e.g. (probabilities, lambda p: accuracy(p, y)).
    callback:   callback(history) after every `callback_every` steps, e.g. to redraw a plot.
    history:    a History to continue (its steps go on counting), e.g. for a "train more" button.
    blow_up:    also stop when the loss exceeds blow_up × max(first loss, 1).
    silence_numpy: a diverging run is reported in history.status, not as numpy overflow warnings.

    Training stops early, with history.diverged set to the step, when the loss stops being a finite
    number (usually: the learning rate is too large).

    Example:
        history = ds.train.fit(sess, train_op, loss, {x: X, y: Y}, steps=500)
        history["loss"][0], history["loss"][-1], history.status
    """
    metrics = metrics or {}
    history = History(metrics) if history is None else history
    every = every or max(1, steps // 50)
    if history.diverged is not None:
        history.status = f"stopped: the loss diverged at step {history.diverged}; start afresh"
        return history
    same_run = {name: m for name, m in metrics.items() if isinstance(m, tuple)}
    if callable(train_op) and same_run:
        raise ValueError(f"fit: metrics {sorted(same_run)} are fetched in the step's own run, which needs a "
                         "train_op from optimizer.minimize(loss); with a step function, measure them with functions.")

    def one_step(evaluate):
        """Take one step; return its loss and, at an evaluation step, the same-run metrics' values."""
        if callable(train_op):
            return train_op(), []
        nodes = [node for node, _ in same_run.values()] if evaluate else []
        results = session.run([train_op, loss, *nodes], feed_dict)
        return results[1], results[2:]

    first = history["step"][-1] if history["step"] else 0
    with np.errstate(all="ignore") if silence_numpy else contextlib.nullcontext():
        for i in range(1, steps + 1):
            step = first + i
            evaluate = step == 1 or step % every == 0 or i == steps
            if evaluate:
                history["eval_step"].append(step)
                for name, measure in metrics.items():
                    if name not in same_run:
                        history.setdefault(name, []).append(float(measure()))
            value, fetched = one_step(evaluate)
            for (name, (_, measure)), result in zip(same_run.items(), fetched):
                history.setdefault(name, []).append(float(measure(result)))
            if np.size(value) != 1:
                raise ValueError(f"fit: the loss has shape {np.shape(value)}, but training needs one number per "
                                 "step. Reduce it first, e.g. ds.reduce_mean(loss).")
            value = float(np.reshape(value, ()))
            history["step"].append(step)
            history["loss"].append(value)
            if not math.isfinite(value) or (blow_up and value > blow_up * max(history["loss"][0], 1.0)):
                history.diverged = step
                history.status = (f"diverged at step {step}: the loss is {value:.3g}. "
                                  "Lower the learning rate and start afresh.")
                return history
            if callback is not None and i % callback_every == 0:
                callback(history)
    losses = history["loss"]
    history.status = f"{len(losses)} steps" + (f", loss {losses[0]:.4g} → {losses[-1]:.4g}" if losses else "")
    return history


def accuracy(predictions, labels):
    """The fraction of examples whose predicted class is the true one (numpy arrays in, a float out).

    predictions: class scores (N, C) (probabilities or logits: the largest wins),
                 or P(class 1) as (N,) or (N, 1) for two classes (above 0.5 means class 1).
    labels:      integer classes (N,), or one-hot rows (N, C).

    Example:
        ds.train.accuracy(sess.run(probabilities, {x: X}), y)
    """
    p, labels = np.asarray(predictions), np.asarray(labels)
    predicted = (p.ravel() > 0.5).astype(int) if p.ndim == 1 or p.shape[-1] == 1 else p.argmax(axis=-1)
    true = labels.argmax(axis=-1) if labels.ndim == 2 and labels.shape[1] > 1 else labels.ravel().astype(int)
    if predicted.shape != true.shape:
        raise ValueError(f"accuracy: {predicted.shape[0]} predictions but {true.shape[0]} labels; "
                         "pass the predictions and labels of the same examples.")
    return float(np.mean(predicted == true))
