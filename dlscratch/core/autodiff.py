"""Reverse-mode differentiation: walk the graph backwards, summing gradients over consumers."""
import numpy as np

from .errors import DLScratchError, GradientError, NumericsError, ResourceExhaustedError, describe
from .graph import Operation
from .registry import OPS, Op, OpContext, register_op
from .session import RunValues, Session, numerics_message, watching_numerics
from .traversal import topological_order


def backprop(loss, values, wrt=None, trace=None):
    """Gradients of `loss` from one forward pass: {node: d loss / d node}.

    values: what Session.evaluate_all returned (or any {node: value} dict for the nodes behind the loss).
    wrt:    the nodes whose gradients are wanted (a tuple), or None for all of them.
    trace:  optional callback trace(node, ctx, grad, input_grads) after each op, for teaching tools.
    A node the loss does not depend on is absent from the result. (gradients(), compute_gradients()
    and the optimizers hand on each gradient in its node's dtype: float32 stays float32.)
    """
    contexts = values.contexts if isinstance(values, RunValues) else _contexts(values)
    check = getattr(values, "check_numerics", False)  # Session(check_numerics=True) watches gradients too
    grads = {loss: _seed(values[loss])}
    with watching_numerics(check):
        for node, needs in _backward_order(loss, wrt):
            grad, ctx = grads.get(node), contexts.get(node)
            if grad is None or ctx is None:  # no gradient reached this op, or its value was fed
                continue
            ctx.needs = needs
            input_grads = input_gradients(node, _call_rule(node, ctx, grad))
            if trace is not None:
                trace(node, ctx, grad, input_grads)
            for x, value, g, need in zip(node.inputs, ctx.inputs, input_grads, needs):
                if need and g is not None:
                    _check_gradient(node, x, g, value, check)
                    grads[x] = g if x not in grads else grads[x] + g  # a sum over x's consumers
    return grads


def _backward_order(loss, wrt):
    """The ops behind `loss`, consumers before inputs, each with which inputs need a gradient.

    Only ops on a path from `wrt` to the loss take part: a second output head,
    or a placeholder nobody asked about, costs nothing. Cached: the nodes
    behind a loss never change.
    """
    key = ("backward", loss, wrt)
    plan = loss.graph.cache.get(key)
    if plan is None:
        order = topological_order([loss])
        relevant = set(order) if wrt is None else set(wrt)
        for node in order:
            if any(x in relevant for x in node.inputs):
                relevant.add(node)
        plan = [(node, tuple(x in relevant for x in node.inputs)) for node in reversed(order)
                if isinstance(node, Operation) and node in relevant and any(x in relevant for x in node.inputs)]
        loss.graph.cache[key] = plan
    return plan


def _contexts(values):
    """OpContexts for a plain {node: value} dict (one not made by a Session)."""
    return {node: OpContext(node, [values[x] for x in node.inputs], value) for node, value in values.items()
            if isinstance(node, Operation) and node.op_type in OPS and all(x in values for x in node.inputs)}


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


def _call_rule(node, ctx, grad):
    try:
        return OPS[node.op_type].backward(ctx, grad)
    except DLScratchError:
        raise
    except FloatingPointError as e:  # check_numerics, or the caller's np.errstate(... = "raise")
        raise NumericsError("in the backward pass, the gradient rule of " +
                            numerics_message(node, f"inf or NaN ({e})", ctx.inputs)) from e
    except MemoryError as e:
        shapes = ", ".join(str(np.shape(v)) for v in ctx.inputs)
        raise ResourceExhaustedError(f"the gradient rule of {describe(node)} ran out of memory ({e}) for inputs "
                                     f"of shapes {shapes}. Feed smaller batches.") from e
    except Exception as e:
        e.add_note(f"(raised by the gradient rule of {describe(node)})")
        raise


def in_own_dtypes(grads, values, wrt=None):
    """Each wanted gradient in the dtype of its node's value (float32 stays float32, whatever the
    loss mixed in); what the user is handed."""
    for x in grads if wrt is None else wrt:
        g = grads.get(x)
        if g is not None:
            dtype = getattr(values[x], "dtype", g.dtype)
            if g.dtype is not dtype and g.dtype != dtype and dtype.kind == "f":
                grads[x] = g.astype(dtype)
    return grads


def input_gradients(node, result):
    """A gradient rule's result as a tuple with one entry per input: a list, or a bare array
    from a one-input rule, is accepted; a wrong count is explained."""
    if type(result) is tuple and len(result) == len(node.inputs):
        return result
    if isinstance(result, list):
        result = tuple(result)
    elif not isinstance(result, tuple) and len(node.inputs) == 1 and result is not None:
        result = (result,)
    if not isinstance(result, tuple) or len(result) != len(node.inputs):
        got = f"{len(result)} value(s)" if isinstance(result, tuple) else f"a {type(result).__name__}"
        raise GradientError(f"the gradient rule of {describe(node)} must return one gradient per input "
                            f"({len(node.inputs)}), as a tuple; it returned {got}.")
    return result


def _check_gradient(node, x, g, value, check_numerics=False):
    if getattr(g, "shape", None) == getattr(value, "shape", ()):  # () for a Python number
        if check_numerics and not np.all(np.isfinite(g)):
            raise NumericsError(f"in the backward pass, the gradient rule of {describe(node)} returned "
                                f"{'NaN' if np.any(np.isnan(g)) else 'inf'} in the gradient for its input "
                                f"{describe(x)} of shape {np.shape(value)}; it is the first gradient of this run "
                                "to do so. Look at that input's values (e.g. sqrt or log at 0), or use a stable "
                                "form, or a smaller learning rate.")
        return
    if not hasattr(g, "shape"):
        raise GradientError(f"the gradient rule of {describe(node)} returned a {type(g).__name__} for its "
                            f"input {describe(x)}; return a numpy array of shape {np.shape(value)}.")
    hint = ("did you sum over the broadcast axes? (ds.unbroadcast(grad, shape) does it)"
            if np.size(g) > np.size(value) else "a gradient always has the shape of the input it belongs to")
    raise GradientError(f"the gradient rule of {describe(node)} returned a gradient of shape {np.shape(g)} "
                        f"for its input {describe(x)}, whose value has shape {np.shape(value)}: {hint}.")


# --- the graph-building API: gradients as nodes ------------------------------------------------

class Gradients(Operation):
    """Computes d loss / d x for several x in one backward pass, from the same run's forward pass."""

    def __init__(self, loss, wrt, name=None):
        self.wrt = tuple(wrt)
        super().__init__("Gradients", (loss,), name=name or "gradients")

    def compute(self, values):
        grads = in_own_dtypes(backprop(self.inputs[0], values, self.wrt), values, self.wrt)
        return tuple(grads.get(x) for x in self.wrt)


@register_op
class GradientSelect(Op):
    """Picks one gradient out of a Gradients node's tuple."""

    @staticmethod
    def forward(ctx, grads, index):
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
    result = [GradientSelect.apply(shared, index=connected.index(x), name=f"grad_{x.name}")
              if x in behind_loss else None for x in xs]
    return result[0] if single else result


def compute_gradients(loss, feed_dict=None, wrt=None):
    """Run the forward pass and backpropagate: {node: d loss / d node} for every node behind the loss.

    With `wrt` (a list of nodes), only those gradients are worked out and returned.
    Each gradient is the caller's own array.
    """
    values = Session(loss.graph).evaluate_all(loss, feed_dict)
    targets = None if wrt is None else tuple(wrt)
    grads = in_own_dtypes(backprop(loss, values, targets), values, targets)
    if targets is not None:
        grads = {x: grads.get(x) for x in targets}
    return {x: None if g is None else np.array(g) for x, g in grads.items()}
