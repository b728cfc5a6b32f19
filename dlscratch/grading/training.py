"""Assignment 3: the student's cross-entropy, gradient-descent step and training loop."""
import numpy as np

from ..core import compute_gradients
from ..core.graph import Graph, Node, Variable, constant
from ..core.session import Session
from ..data import one_hot, red_blue, xor_clusters
from ..nn import mlp, softmax_cross_entropy
from . import classifiers
from .report import CheckFailed, close, expected_and_yours, numpy_warnings, one_line
from .student_code import quiet_check, quietly, run_student, student_code

DATA = {"red/blue": "the red/blue points", "xor": "the XOR-like clusters"}


@quiet_check
def check_cross_entropy(cross_entropy, logits, labels):
    """Check `cross_entropy(logits, labels)`: a scalar graph node with the right value and gradient."""
    __tracebackhide__ = True
    logits, labels = np.array(logits, dtype=np.float64), np.array(labels, dtype=np.float64)
    where = f"cross_entropy for logits {one_line(logits)} and labels {one_line(labels)}"
    graph = Graph()
    with graph.as_default():
        z, c = Variable(logits, name="logits"), constant(labels, name="labels")
        reference = softmax_cross_entropy(labels=c, logits=z, reduction="sum")
        with quietly() as caught, \
                student_code(where, "logits and labels are graph nodes: combine them with ds ops."):
            loss = cross_entropy(z, c)
            if not isinstance(loss, Node):
                raise CheckFailed(f"{where}: your cross_entropy returned a {type(loss).__name__}. It must build "
                                  "the loss from ds ops and return the graph node, so that the engine can "
                                  "differentiate it.")
            value, expected = Session(graph).run([loss, reference])
            if np.shape(value) != ():
                raise CheckFailed(f"{where}: your loss has shape {np.shape(value)}; it should be one number, "
                                  "the sum over all examples and classes (as the source's J = −ΣΣ c·log p).")
            grad = compute_gradients(loss, wrt=[z])[z]
            expected_grad = compute_gradients(reference, wrt=[z])[z]
    if grad is None:
        raise CheckFailed(f"{where}: your loss does not depend on the logits, so training could not change it.")
    if not np.isfinite(value):
        raise CheckFailed(f"{where}: your loss is {float(value)}.{numpy_warnings(caught)}\nHint: softmax of large "
                          "logits rounds to exactly 0 and 1 in floating point, and log(0) = −inf. Compute "
                          "log(softmax(z)) without forming softmax(z) first: is there an op for that?")
    if not close(value, expected, 1e-7):
        raise CheckFailed(f"{where}: your loss is {float(value):.6g}, but the cross-entropy is "
                          f"{float(expected):.6g}.\nHint: {_loss_hint(value, expected, logits)}"
                          f"{numpy_warnings(caught)}")
    if not np.all(np.isfinite(grad)) or not close(grad, expected_grad, 1e-6):
        raise CheckFailed(f"{where}: the value is right, but its gradient with respect to the logits is wrong.\n"
                          f"{expected_and_yours(expected_grad, grad)}{numpy_warnings(caught)}\n"
                          "Hint: a clipped or rounded step in the middle of the formula stops the gradient. "
                          "Build the loss only from ops that are smooth at these values.")


def _loss_hint(value, expected, logits):
    """What a wrong cross-entropy `value` most likely got wrong."""
    if close(value, -expected, 1e-7):
        return "yours has the wrong sign: the loss is minus the log-likelihood."
    if logits.shape[0] > 1 and close(value * logits.shape[0], expected, 1e-7):
        return "that is the mean over examples; this course sums (J = −ΣΣ c·log p)."
    if np.max(np.abs(logits)) > 30:
        return ("for logits this large, clipping the probabilities or adding a small epsilon hides the "
                "problem instead of fixing it. Compute log(softmax(z)) without forming softmax(z) first.")
    return "check the formula: −Σ labels · log(softmax(logits)), summed over examples and classes."


@quiet_check
def check_gradient_descent_step(gradient_descent_step, learning_rate=0.1, with_unused=False):
    """Check `gradient_descent_step(gradients, learning_rate)`: v.value becomes v.value − rate · gradient."""
    __tracebackhide__ = True
    rng = np.random.default_rng(7)
    graph = Graph()
    with graph.as_default():
        W, b = Variable(rng.normal(size=(2, 3)), name="W"), Variable(rng.normal(size=3), name="b")
        frozen = Variable(rng.normal(size=2), name="unused")
    gradients = {W: rng.normal(size=(2, 3)), b: rng.normal(size=3)}
    if with_unused:
        gradients[frozen] = None  # what ds.gradients gives for a Variable the loss does not depend on
    before = {v: v.value for v in (W, b, frozen)}
    copies = {v: v.value.copy() for v in (W, b, frozen)}
    given = {v: (None if g is None else g.copy()) for v, g in gradients.items()}
    where = f"gradient_descent_step(gradients, learning_rate={learning_rate})"
    hint = "one of the gradients is None: leave that Variable alone." if with_unused else ""
    with quietly(), student_code(where, hint):
        gradient_descent_step(given, learning_rate)
    for v in (W, b):
        expected = copies[v] - learning_rate * gradients[v]
        if not np.array_equal(before[v], copies[v]):
            raise CheckFailed(f"{where}: you changed {v.name}.value in place (e.g. v.value -= ...). Give the "
                              "Variable a new array instead (v.value = v.value - ...): the session hands out the "
                              "same array as the Variable's value, and in-place changes alter it behind your back.")
        if np.shape(v.value) != expected.shape:
            raise CheckFailed(f"{where}: {v.name}.value now has shape {np.shape(v.value)}; it had {expected.shape}.")
        if not close(v.value, expected, 1e-9):
            if close(v.value, copies[v], 1e-12):
                hint = "the Variable did not change: assign the new array to v.value."
            elif close(v.value, copies[v] + learning_rate * gradients[v], 1e-9):
                hint = "step against the gradient (subtract)."
            else:
                hint = "new value = old value − learning_rate · gradient."
            raise CheckFailed(f"{where}: {v.name}.value is wrong after the step.\n"
                              f"{expected_and_yours(expected, v.value)}\nHint: {hint}")
    if not np.array_equal(frozen.value, copies[frozen]):
        raise CheckFailed(f"{where}: the Variable 'unused' changed, but it had no gradient in the dict.")


def _training_problem(data, seed=0):
    """A model, its summed cross-entropy (the library's), and its data: (loss, variables, feed, accuracy)."""
    X, y = red_blue() if data == "red/blue" else xor_clusters()
    graph = Graph()
    with graph.as_default():
        x, c = classifiers.inputs()
        if data == "red/blue":
            logits = classifiers.perceptron_logits(x, seed)
        else:
            logits = mlp(x, [2, 2], activation="sigmoid", seed=seed)
        loss = softmax_cross_entropy(labels=c, logits=logits, reduction="sum")
    feed = {x: X, c: one_hot(y, 2)}
    return loss, graph.trainable_variables, feed, lambda: classifiers.accuracy(graph, logits, x, X, y)


def _train_hint(error):
    """A hint for an exception from the student's train, or ""."""
    if isinstance(error, AttributeError) and "attribute 'value'" in str(error):
        # the usual cause: gradients for every node, not only the Variables, were handed to the step
        return ("ds.compute_gradients(loss, feed_dict) gives the gradient of every node behind the loss, ops "
                "and placeholders too, and only Variables have a .value to step. Ask for the Variables' "
                "gradients alone: ds.compute_gradients(loss, feed_dict, wrt=variables).")
    return ""


@quiet_check
def check_train(train, data="red/blue", steps=100, learning_rate=0.01, min_accuracy=0.95, decreasing=False):
    """Check `train(loss, variables, feed_dict, learning_rate, steps) -> losses` on red/blue or XOR data."""
    __tracebackhide__ = True
    loss, variables, feed, accuracy = _training_problem(data)
    data_name = DATA[data]
    start = [v.value.copy() for v in variables]
    losses, _, caught = run_student(train, (loss, variables, feed, learning_rate, steps), "train", data_name,
                                    hint=_train_hint)
    where = f"train(loss, variables, feed_dict, learning_rate={learning_rate}, steps={steps}) on {data_name}"
    try:
        losses = [float(np.sum(v)) for v in losses]
    except TypeError:
        what = ("None" if losses is None else "one number" if np.ndim(losses) == 0
                else f"a {type(losses).__name__}")
        raise CheckFailed(f"{where} returned {what}; it should return a list of loss values, one per "
                          "step.") from None
    if len(losses) != steps:
        raise CheckFailed(f"{where} returned {len(losses)} loss values; it should return one per step ({steps}).")
    if all(np.array_equal(a, v.value) for a, v in zip(start, variables)):
        raise CheckFailed(f"{where}: no Variable changed. Each step should update every Variable in `variables` "
                          "(your gradient_descent_step does that).")
    if not all(np.isfinite(losses)):
        raise CheckFailed(f"{where}: the loss became nan or inf.{numpy_warnings(caught)}")
    if losses[-1] >= losses[0]:
        raise CheckFailed(f"{where}: the loss went from {losses[0]:.4g} to {losses[-1]:.4g}; it should decrease. "
                          "Step against the gradient, and compute a fresh gradient at every step.")
    if decreasing:
        rises = [i for i in range(1, steps) if losses[i] > losses[i - 1] * (1 + 1e-9)]
        if rises:
            i = rises[0]
            raise CheckFailed(f"{where}: the loss rose at step {i}, from {losses[i - 1]:.6g} to {losses[i]:.6g}. "
                              "With this small learning rate every step of gradient descent lowers it; are you "
                              "using the gradient of the current values?")
    reached = accuracy()
    if reached < min_accuracy:
        raise CheckFailed(f"{where}: accuracy {reached:.0%} after training; it needs at least {min_accuracy:.0%}. "
                          f"The loss went from {losses[0]:.4g} to {losses[-1]:.4g}.")
