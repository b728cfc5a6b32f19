"""Checking gradients against finite differences, in float64."""
import numpy as np

from .core import Graph, Session, Variable, compute_gradients, multiply, reduce_sum


def rel_error(a, b, floor=1e-8):
    """The largest element-wise relative error, as CS231n defines it: |a-b| / max(floor, |a|+|b|).
    `floor` may be an array of a's shape: a size below which each element counts as zero."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error needs arrays of the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(floor, np.abs(a) + np.abs(b))))


def numerical_gradient(f, x, eps=1e-5, weights=None):
    """d f() / d x by central differences; `x` is a float64 array that f reads, changed in place and restored.

    With `weights`, f returns an array and this is d sum(weights * f()) / d x. The two outputs are
    subtracted before they are summed, so the outputs a nudge does not reach cancel exactly instead
    of adding their rounding error to every element (which swamps an element whose weight is tiny)."""
    if x.dtype != np.float64:
        raise TypeError(f"numerical gradients need float64 values to be accurate, got {x.dtype}")
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        up = f()
        flat[i] = saved - eps
        down = f()
        flat[i] = saved
        difference = up - down if weights is None else np.sum(weights * (up - down))
        gflat[i] = difference / (2 * eps)
    return grad


def check_gradients(loss, feed_dict=None, var_list=None, eps=1e-5):
    """{Variable name: relative error} between backprop and finite differences for a scalar loss."""
    if var_list is None:
        var_list = [v for v in loss.graph.variables if v.trainable]
    for v in var_list:
        if v.value.dtype != np.float64:
            raise TypeError(f"Variable {v.name!r} is {v.value.dtype}; gradient checks need float64 "
                            "to tell a real error from rounding. Build the graph in float64.")
    analytic = compute_gradients(loss, feed_dict, wrt=var_list)
    session = Session(loss.graph)

    def f():
        return float(np.sum(session.run(loss, feed_dict)))

    errors = {}
    for v in var_list:
        v.value = v.value.copy()  # perturbed in place below; don't touch arrays the caller holds
        numeric = numerical_gradient(f, v.value, eps)
        a = analytic[v] if analytic[v] is not None else np.zeros_like(numeric)
        errors[v.name] = rel_error(a, numeric)
    return errors


def check_op_gradient(op, *inputs, seed=0, eps=1e-5, **attrs):
    """Relative error of each input's gradient for `op(*inputs, **attrs)`, e.g. check_op_gradient(ds.matmul, a, b).

    The op's output is weighted by fixed random numbers and summed, so every
    output element reaches the loss with a different weight.
    """
    graph = Graph()
    with graph.as_default():
        xs = [Variable(np.array(x, dtype=np.float64)) for x in inputs]
        out = op(*xs, **attrs)
        shape = np.shape(Session(graph).run(out))
        weights = np.random.default_rng(seed).normal(size=shape)
        loss = reduce_sum(multiply(out, weights))
        errors = check_gradients(loss, var_list=xs, eps=eps)
    return [errors[x.name] for x in xs]
