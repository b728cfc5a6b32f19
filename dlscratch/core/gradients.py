"""Reverse-mode differentiation: walk the graph backwards, summing gradients over consumers."""
from operator import itemgetter

import numpy as np

from .errors import GradientError, describe
from .graph import Operation
from .ops import Op
from .registry import GRADIENTS, OpContext
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
                # (position, input) of each input that needs a gradient
                targets = tuple((i, x) for i, x in enumerate(node.inputs) if x in relevant)
                if targets:
                    ctx = OpContext(node, None, None, tuple(x in relevant for x in node.inputs))
                    plan.append((node, _gather(node.inputs), ctx, targets))
        loss.graph.cache[key] = plan
    return plan


def _gather(nodes):
    """A function values -> the tuple of the values of `nodes` (itemgetter: the loop's hot spot)."""
    if len(nodes) == 1:
        get = itemgetter(nodes[0])
        return lambda values: (get(values),)
    return itemgetter(*nodes)


_SEEDS = {}


def _seed(out):
    """d loss / d loss: ones shaped like the loss, in its dtype (float32 stays float32)."""
    shape, dtype = np.shape(out), getattr(out, "dtype", None)
    if shape:
        return np.ones(shape, dtype)
    seed = _SEEDS.get(dtype)
    if seed is None:  # a scalar loss, the usual case: one read-only 1.0 per dtype serves every run
        seed = _SEEDS[dtype] = np.ones((), dtype)
        seed.flags.writeable = False
    return seed


def backprop(loss, values, wrt=None, trace=None):
    """Gradients of `loss` from the values of one forward pass.

    values: {node: value} for every node behind the loss (a Session run fills it).
    wrt:    the nodes whose gradients are wanted (tuple), or None for all of them.
    trace:  optional callback trace(node, ctx, grad, input_grads) after each op, for teaching tools.
    Returns {node: d loss / d node}; a node the loss does not depend on is absent.
    """
    grads = {loss: _seed(values[loss])}
    saved = getattr(values, "saved", None) or {}
    for node, gather, ctx, targets in _backward_plan(loss, wrt):
        grad = grads.get(node)
        if grad is None:  # no path from here reached the loss, e.g. a rule returned None
            continue
        ctx.inputs = inputs = gather(values)
        ctx.output = values[node]
        ctx.saved = saved.get(node)
        try:
            result = GRADIENTS[node.op_type](ctx, grad)
        except Exception as e:
            if node.op_type not in GRADIENTS:
                raise GradientError(f"op {describe(node)} has no gradient rule; register one with "
                                    f"@ds.register_gradient({node.op_type!r}).") from None
            e.add_note(f"(raised by the gradient rule of {describe(node)})")
            raise
        if type(result) is not tuple or len(result) != len(inputs):
            result = _as_tuple(node, result)
        if trace is not None:  # a fresh context: the plan's own is reused by the next run
            trace(node, OpContext(node, ctx.inputs, ctx.output, ctx.needs, ctx.saved), grad, result)
        for i, x in targets:
            g = result[i]
            if g is not None:
                if getattr(g, "shape", None) != getattr(inputs[i], "shape", ()):
                    raise GradientError(_shape_message(node, x, g, inputs[i]))
                previous = grads.get(x)
                grads[x] = g if previous is None else previous + g
    return grads


def _as_tuple(node, result):
    """Accept a list, or a bare array from a one-input rule; refuse a wrong count."""
    if isinstance(result, list):
        result = tuple(result)
    elif not isinstance(result, tuple) and len(node.inputs) == 1 and result is not None:
        result = (result,)
    if not isinstance(result, tuple) or len(result) != len(node.inputs):
        raise GradientError(_count_message(node, result))
    return result


def _count_message(node, result):
    got = f"{len(result)} value(s)" if isinstance(result, (tuple, list)) else f"a {type(result).__name__}"
    return (f"the gradient rule of {describe(node)} must return one gradient per input "
            f"({len(node.inputs)}), as a tuple; it returned {got}.")


def _shape_message(node, x, g, value):
    if not hasattr(g, "shape"):
        return (f"the gradient rule of {describe(node)} returned a {type(g).__name__} for its input "
                f"{describe(x)}; return a numpy array of shape {np.shape(value)}.")
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


class GradientSelect(Op):
    """Picks one gradient out of a Gradients node's tuple."""

    def forward(grads, index):
        return grads[index]


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
