"""The source material's two classifiers, and the plain gradient descent that trains them in the
training checks: a perceptron on the red/blue points and an MLP on the XOR-like clusters."""
from collections import namedtuple

import numpy as np

from ..core import Graph, Session, Variable, log, matmul, multiply, negative, placeholder, reduce_sum, softmax
from ..data import one_hot, red_blue, xor_clusters
from ..nn import mlp
from ..train import accuracy as fraction_correct
from ..train import fit
from .report import CheckFailed
from .student_code import quietly

Classifier = namedtuple("Classifier", "loss probabilities x feed X y")
TrainingResult = namedtuple("TrainingResult", "accuracy losses warnings error")


def inputs():
    """Placeholders for the points X and their one-hot classes c."""
    return placeholder((None, 2), name="X"), placeholder((None, 2), name="c")


def perceptron_logits(x, seed=0):
    """x @ W + b, with W drawn from `seed` and b zero."""
    W = Variable(np.random.default_rng(seed).normal(size=(2, 2)), name="W")
    return matmul(x, W) + Variable(np.zeros(2), name="b")


def classifier(data, logits):
    """Softmax of `logits(x)` on (X, y) = `data`, with the source's loss J = −ΣΣ c·log p."""
    X, y = data
    x, c = inputs()
    p = softmax(logits(x))
    loss = negative(reduce_sum(reduce_sum(multiply(c, log(p)), axis=1)), name="J")
    return Classifier(loss, p, x, {x: X, c: one_hot(y, 2)}, X, y)


def perceptron():
    return classifier(red_blue(), perceptron_logits)


def xor_mlp(hidden_units=2, seed=0):
    return classifier(xor_clusters(), lambda x: mlp(x, [hidden_units, 2], activation="sigmoid", seed=seed))


def accuracy(graph, scores, x, X, y):
    """The fraction of the points X whose largest score is their class y."""
    return fraction_correct(Session(graph).run(scores, {x: X}), y)


def gradient_descent(loss, variables, feed, learning_rate, steps, backprop):
    """Plain gradient descent with a given backprop function, run by ds.train.fit; returns the loss
    before each step (fewer than `steps` values if the loss stops being finite)."""
    session = Session(loss.graph)

    def step():
        values = session.evaluate_all(loss, feed)
        grads = backprop(loss, values)
        for v in variables:
            v.value = v.value - learning_rate * grads[v]
        return values[loss]

    # numpy's warnings stay on: the checks quote them in their hints
    return fit(session, step, loss, feed, steps, silence_numpy=False)["loss"]


def train(build, steps, learning_rate, backprop):
    """Build a classifier on a fresh graph, train it, and collect what went wrong, if anything."""
    graph, losses, error = Graph(), [], None
    with graph.as_default(), quietly() as caught:
        model = build()
        variables = graph.trainable_variables
        try:
            losses = gradient_descent(model.loss, variables, model.feed, learning_rate, steps, backprop)
        except CheckFailed:
            raise
        except Exception as e:
            error = e
        reached = 0.0 if error else accuracy(graph, model.probabilities, model.x, model.X, model.y)
    return TrainingResult(reached, losses, caught, error)
