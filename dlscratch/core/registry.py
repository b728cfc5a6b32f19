"""Where the engine looks up how to compute an op, forward and backward.

A gradient rule has one signature for every op:

    def rule(ctx, grad):
        # ctx.inputs: the input values (numpy arrays) of this run
        # ctx.output: the op's output value
        # ctx.attrs:  the op's settings, e.g. {"axis": 1, "keepdims": False}
        # ctx.needs:  which inputs need a gradient (a rule may skip the others)
        # ctx.saved:  what the forward pass kept for the backward pass (see Op.saves)
        # grad:       d loss / d output, shaped like ctx.output
        return (d loss / d input for each input)   # same shape as that input

Rules are looked up by op type on every backward pass, so `override_gradients`
swaps in a student's rule for the real engine, training included.
"""
import contextlib
import functools

import numpy as np

from .errors import GradientError

FORWARD = {}
GRADIENTS = {}


class OpContext:
    """What a gradient rule gets to see about one op in one run."""

    __slots__ = ("node", "inputs", "output", "attrs", "needs", "saved")

    def __init__(self, node, inputs, output, needs, saved=None):
        self.node, self.inputs, self.output = node, inputs, output
        self.attrs, self.needs, self.saved = node.attrs, needs, saved

    def __repr__(self):
        shapes = ", ".join(str(np.shape(x)) for x in self.inputs)
        return f"<OpContext {self.node.op_type} inputs {shapes} -> {np.shape(self.output)} attrs {self.attrs}>"


def register_op(op_type, forward, backward=None):
    FORWARD[op_type] = forward
    if backward is not None:
        GRADIENTS[op_type] = backward


def register_gradient(op_type):
    """Decorator: make `rule(ctx, grad)` the gradient of every op of `op_type`."""
    op_type = _op_type(op_type)

    def decorate(rule):
        GRADIENTS[op_type] = rule
        return rule
    return decorate


def gradient_rule(op_type):
    """The rule currently registered for an op type (a string or an op function like ds.matmul)."""
    op_type = _op_type(op_type)
    try:
        return GRADIENTS[op_type]
    except KeyError:
        raise GradientError(f"no gradient rule is registered for op type {op_type!r}. "
                            "Register one with @ds.register_gradient(...).") from None


@contextlib.contextmanager
def override_gradients(rules):
    """Use other gradient rules inside a `with` block: {"MatMul": my_rule} or {ds.matmul: my_rule}."""
    rules = {_op_type(k): v for k, v in rules.items()}
    saved = {k: GRADIENTS.get(k) for k in rules}
    GRADIENTS.update(rules)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                GRADIENTS.pop(k, None)
            else:
                GRADIENTS[k] = v


def _op_type(key):
    return getattr(key, "op_type", key)


def unbroadcast(grad, shape):
    """Sum `grad` down to `shape`, undoing numpy broadcasting.

    Broadcasting copies an input along new leading axes and along axes of
    size 1; the gradient of a copy is the sum over all the copies.
    """
    if grad.shape == shape:
        return grad
    if grad.ndim == 2 and len(shape) == 1 and grad.shape[1] == shape[0]:  # a bias added to a batch
        return ones_vector(grad.shape[0], grad.dtype) @ grad  # a BLAS call sums faster than .sum(axis=0)
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


@functools.lru_cache(maxsize=32)
def ones_vector(n, dtype):
    """n ones, read-only and reused: a matrix times it sums along an axis in one fast BLAS call."""
    ones = np.ones(n, dtype)
    ones.flags.writeable = False
    return ones
