"""Reverse-mode differentiation: walk the graph backwards, summing gradients over consumers."""
import numpy as np

from .errors import GradientError, describe
from .graph import Operation
from .registry import GRADIENTS, OpContext, register_op
from .traversal import topological_order

def _backward_plan(loss, wrt):
    """The ops to differentiate, in reverse topological order, with which inputs need a gradient.

    Only nodes on a path from `wrt` to the loss take part: a second output
    head, or a placeholder nobody asked about, costs nothing. Cached, since
    the nodes behind a loss never change.
    """
    key = ("backward", loss, wrt)
    plan = loss.graph.cache.get(key)
    if plan is None:
        order = topological_order([loss])
        if wrt is None:
            relevant = set(order)
        else:
            relevant = set(wrt)
            for node in order:
                if any(x in relevant for x in node.inputs):
                    relevant.add(node)
        plan = []
        for node in reversed(order):
            if isinstance(node, Operation) and node in relevant:
                needs = tuple(x in relevant for x in node.inputs)
                if any(needs):
                    plan.append((node, OpContext(node, None, None, needs)))
        loss.graph.cache[key] = plan
    return plan


def backprop(loss, values, wrt=None, trace=None):
    """Gradients of `loss` from the values of one forward pass.

    values: {node: value} for every node behind the loss (a Session run fills it).
    wrt:    the nodes whose gradients are wanted (tuple), or None for all of them.
    trace:  optional callback trace(node, ctx, grad, input_grads) after each op, for teaching tools.
    Returns {node: d loss / d node}; a node the loss does not depend on is absent.
    """
    out = values[loss]
    grads = {loss: np.ones_like(out)}  # ones_like keeps the loss's dtype: float32 stays float32
    for node, ctx in _backward_plan(loss, wrt):
        grad = grads.get(node)
        if grad is None:
            continue
        inputs = node.inputs
        ctx.inputs = tuple([values[x] for x in inputs])
        ctx.output = values[node]
        rule = GRADIENTS.get(node.op_type)
        if rule is None:
            raise GradientError(f"op {describe(node)} has no gradient rule; register one with "
                                f"@ds.register_gradient({node.op_type!r}).")
        try:
            result = rule(ctx, grad)
        except Exception as e:
            e.add_note(f"(raised by the gradient rule of {describe(node)})")
            raise
        if len(inputs) == 1 and not isinstance(result, (tuple, list)):
            result = (result,)
        if result is None or len(result) != len(inputs):
            raise GradientError(f"the gradient rule of {describe(node)} must return one gradient per "
                                f"input ({len(inputs)}), as a tuple; it returned {_summary(result)}.")
        if trace is not None:
            trace(node, ctx, grad, result)
        for x, need, g in zip(inputs, ctx.needs, result):
            if not need or g is None:
                continue
            if np.shape(g) != np.shape(values[x]):
                raise GradientError(_shape_message(node, x, g, values[x]))
            previous = grads.get(x)
            grads[x] = g if previous is None else previous + g
    return grads


def _summary(result):
    if isinstance(result, (tuple, list)):
        return f"{len(result)} value(s)"
    return type(result).__name__


def _shape_message(node, x, g, value):
    hint = ("did you sum over the broadcast axes? (ds.unbroadcast(grad, shape) does it)"
            if np.size(g) > np.size(value) else "a gradient always has the shape of the input it belongs to")
    return (f"the gradient rule of {describe(node)} returned a gradient of shape {np.shape(g)} for its "
            f"input {describe(x)}, whose value has shape {np.shape(value)}: {hint}.")


class Gradients(Operation):
    """Computes d loss / d x for several x in one backward pass, from the same run's forward pass."""

    def __init__(self, loss, wrt, name=None):
        self.wrt = tuple(wrt)
        super().__init__("Gradients", (loss,), name=name or "gradients")

    def compute(self, values, session):
        grads = backprop(self.inputs[0], values, self.wrt)
        return tuple(grads.get(x) for x in self.wrt)


register_op("GradientSelect", lambda grads, index: grads[index])


def gradients(loss, xs, name=None):
    """TensorFlow-style: a list of nodes whose values are d loss / d x for each x in `xs`.

    All of them share one backward pass per run. An x the loss does not depend
    on gets None, as in TensorFlow.
    """
    single = not isinstance(xs, (list, tuple))
    xs = [xs] if single else list(xs)
    behind_loss = set(topological_order([loss]))
    connected = [x for x in xs if x in behind_loss]
    shared = Gradients(loss, connected, name=name)
    result = [Operation("GradientSelect", (shared,), {"index": connected.index(x)}, name=f"grad_{x.name}")
              if x in behind_loss else None for x in xs]
    return result[0] if single else result


def compute_gradients(loss, feed_dict=None, wrt=None):
    """Run the forward pass and backpropagate: {node: d loss / d node} for every node behind the loss.

    With `wrt` (a list of nodes), only those gradients are worked out and returned.
    """
    from .session import Session
    session = Session(loss.graph)
    values = session.evaluate(session._plan((loss,)), feed_dict or {}, (loss,))
    targets = None if wrt is None else tuple(wrt)
    grads = backprop(loss, values, targets)
    if targets is not None:
        return {x: grads.get(x) for x in targets}
    return grads
