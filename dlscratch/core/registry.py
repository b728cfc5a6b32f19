"""The one registry of ops: each op type's forward and backward, side by side in one class.

    @register_op
    class Cube(Op):
        @staticmethod
        def forward(ctx, x):          # input values, then the node's attrs as keywords
            return x ** 3             # ctx.save_for_backward(...) keeps work for backward
        @staticmethod
        def backward(ctx, grad):      # d loss / d output -> one d loss / d input per input
            (x,) = ctx.inputs
            return (3 * x ** 2 * grad,)

    cube = lambda x, name=None: Cube.apply(x, name=name)   # builds a graph node

The engine looks an op's class up in OPS on every run, so `override_gradients`
swaps in a student's backward for the real engine, training included.
"""
import contextlib
import functools

import numpy as np

from .errors import GradientError, GraphError, describe
from .graph import Operation, float_dtype, to_node

OPS = {}  # op type -> its Op class


class Op:
    """An op type. Subclasses define `forward` and `backward` as static methods."""

    op_type = "Op"
    keeps_float_dtype = False  # True: the output has the inputs' float dtype (known as the graph is built)

    @staticmethod
    def forward(ctx, *inputs, **attrs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise GradientError(f"op {describe(ctx.node)} has no gradient rule; register one with "
                            f"@ds.register_gradient({ctx.node.op_type!r}).")

    @staticmethod
    def explain(shapes, attrs):
        """Why numpy refused inputs of these shapes, in words (used by ShapeError)."""
        return "their shapes do not fit together"

    @staticmethod
    def infer_shape(shapes, attrs):
        """The output's static shape (node.shape) from the inputs' (None for a size known only when
        the graph runs), or None when even the number of axes is unknown."""
        return None

    @classmethod
    def apply(cls, *inputs, name=None, **attrs):
        """A graph node that computes this op from `inputs` (nodes, numbers or arrays)."""
        dtype = float_dtype(inputs, cls.op_type, name)  # float32 with float64 is refused, as in TensorFlow
        nodes = [to_node(x, cls.op_type, i, dtype) for i, x in enumerate(inputs)]
        node = Operation(cls.op_type, nodes, attrs, name=name or _snake(cls.op_type))
        if cls.keeps_float_dtype:
            node.dtype = dtype
        return node


def register_op(cls):
    """Class decorator: make an Op subclass the op type named after it."""
    if not (isinstance(cls, type) and issubclass(cls, Op)):
        raise GraphError(f"register_op() takes a subclass of ds.Op, not {cls!r}.")
    cls.op_type = cls.__name__
    OPS[cls.op_type] = cls
    return cls


def op_class(op_type):
    """The Op class of an op type (a string, or an op function such as ds.matmul)."""
    op_type = getattr(op_type, "op_type", op_type)
    try:
        return OPS[op_type]
    except KeyError:
        raise GraphError(f"no op type {op_type!r} is registered; define it with @ds.register_op.") from None


class OpContext:
    """What one op saw in one run. The Session makes a fresh one per op per run;
    forward may save work in it, and backward reads it."""

    __slots__ = ("node", "inputs", "output", "needs", "_saved")

    def __init__(self, node, inputs, output=None, needs=None):
        self.node, self.inputs, self.output = node, tuple(inputs), output
        self.needs = needs if needs is not None else (True,) * len(self.inputs)
        self._saved = None

    @property
    def attrs(self):
        return self.node.attrs

    def save_for_backward(self, *values):
        self._saved = values

    @property
    def saved_values(self):
        """What forward saved. On a context made by hand, forward is rerun to fill it."""
        if self._saved is None:
            OPS[self.node.op_type].forward(self, *self.inputs, **self.node.attrs)
        return self._saved

    def __repr__(self):
        shapes = ", ".join(str(np.shape(x)) for x in self.inputs)
        return f"<OpContext {self.node.op_type} inputs {shapes} -> {np.shape(self.output)} attrs {self.attrs}>"


def gradient_rule(op_type):
    """The backward rule currently registered for an op type (a string or an op function like ds.matmul)."""
    cls = op_class(op_type)
    if cls.backward is Op.backward:
        raise GradientError(f"op type {cls.op_type!r} has no gradient rule; register one with "
                            f"@ds.register_gradient({cls.op_type!r}).")
    return cls.backward


def register_gradient(op_type):
    """Decorator: make `rule(ctx, grad)` the backward of every op of `op_type`."""
    cls = op_class(op_type)

    def decorate(rule):
        cls.backward = staticmethod(rule)
        return rule
    return decorate


@contextlib.contextmanager
def override_gradients(rules):
    """Use other backward rules inside a `with` block: {"MatMul": my_rule} or {ds.matmul: my_rule}."""
    classes = {op_class(k): rule for k, rule in rules.items()}
    previous = {cls: cls.__dict__.get("backward") for cls in classes}
    for cls, rule in classes.items():
        cls.backward = staticmethod(rule)
    try:
        yield
    finally:
        for cls, rule in previous.items():
            if rule is None:
                del cls.backward  # it was inherited
            else:
                cls.backward = rule


def _snake(camel):
    if camel == "MatMul":
        return "matmul"
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(camel))


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
