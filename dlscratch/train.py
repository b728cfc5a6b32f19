"""Optimizers. `minimize(loss)` returns an op; running it does one step of training.

The step backpropagates from the loss values of the *same* run, so
`session.run([train_op, loss], feed)` returns the loss that the step used.
"""
import math

import numpy as np

from .core import GraphError, Operation, Variable, backprop, topological_order


class TrainStep(Operation):
    """One optimizer step: backpropagate the loss of this run, then update the Variables."""

    changes_state = True  # the Session runs it after every value it fetches

    def __init__(self, optimizer, loss, var_list, name=None):
        self.optimizer, self.var_list = optimizer, tuple(var_list)
        super().__init__(type(optimizer).__name__, (loss,), name=name or "train")

    def compute(self, values):
        grads = backprop(self.inputs[0], values, self.var_list)
        self.optimizer.apply_gradients([(grads.get(v), v) for v in self.var_list])
        return None


class Optimizer:
    def __init__(self, learning_rate):
        self.learning_rate = learning_rate
        self.iterations = 0
        self.slots = {}  # per-Variable state, e.g. momentum

    def minimize(self, loss, var_list=None, name=None):
        """An op that updates `var_list` (default: every trainable Variable the loss depends on)."""
        if var_list is None:
            var_list = [n for n in topological_order([loss]) if isinstance(n, Variable) and n.trainable]
        if not var_list:
            raise GraphError(f"the loss {loss.name!r} depends on no trainable Variable, so there is "
                             "nothing to train. Build the model from ds.Variable(...) parameters.")
        return TrainStep(self, loss, var_list, name)

    def apply_gradients(self, grads_and_vars):
        """Update each Variable from its gradient (None means: leave it alone)."""
        self.iterations += 1
        for grad, var in grads_and_vars:
            if grad is not None:
                var.value = self.updated(var, var.value, grad)

    def updated(self, var, value, grad):
        raise NotImplementedError


class GradientDescentOptimizer(Optimizer):
    """w <- w - learning_rate * grad"""

    def updated(self, var, value, grad):
        return value - self.learning_rate * grad


class MomentumOptimizer(Optimizer):
    """velocity <- momentum * velocity + grad;  w <- w - learning_rate * velocity (as TensorFlow 1)."""

    def __init__(self, learning_rate, momentum=0.9):
        super().__init__(learning_rate)
        self.momentum = momentum

    def updated(self, var, value, grad):
        velocity = self.slots.get(var)
        velocity = grad if velocity is None else self.momentum * velocity + grad
        self.slots[var] = velocity
        return value - self.learning_rate * velocity


class AdamOptimizer(Optimizer):
    """Adam (Kingma & Ba): steps scaled by running estimates of the gradient's mean and variance."""

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
        super().__init__(learning_rate)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon

    def updated(self, var, value, grad):
        m, v = self.slots.get(var, (0.0, 0.0))
        m = self.beta1 * m + (1 - self.beta1) * grad
        v = self.beta2 * v + (1 - self.beta2) * grad * grad
        self.slots[var] = (m, v)
        t = self.iterations
        # math.sqrt gives a Python float, which keeps float32 variables float32 (np.sqrt would upcast)
        step = self.learning_rate * math.sqrt(1 - self.beta2 ** t) / (1 - self.beta1 ** t)
        return value - step * m / (np.sqrt(v) + self.epsilon)
