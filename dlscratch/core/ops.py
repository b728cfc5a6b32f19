"""Every op, its forward and its gradient side by side.

An op is a class with two static methods (see registry.py):
    forward(ctx, *input_values, **attrs) -> output value
    backward(ctx, grad) -> one gradient per input
`@register_op` registers it. The public function below each class builds the
graph node; nothing is computed until a Session runs it.
"""
import functools
import math
import numbers

import numpy as np

from .errors import GraphError, InvalidArgumentError, NumericsError, ShapeError, describe, format_shape
from .graph import float_dtype, to_node
from .registry import Op, ones_vector, register_op, unbroadcast


def _broadcast(a, b):
    """numpy's broadcasting of two static shapes, where None is a size known only at run time."""
    a, b = (1,) * (len(b) - len(a)) + tuple(a), (1,) * (len(a) - len(b)) + tuple(b)
    out = []
    for m, n in zip(a, b):
        if m == 1 or m == n:
            out.append(n)
        elif n == 1:
            out.append(m)
        elif m is None or n is None:
            out.append(m if n is None else n)
        else:
            raise ValueError(f"sizes {m} and {n} do not broadcast")
    return tuple(out)


def _without_axes(shape, axis, keepdims=False):
    """A shape after reducing over `axis` (an int, a tuple, or None for every axis)."""
    axes = range(len(shape)) if axis is None else [a % len(shape) for a in np.atleast_1d(axis)]
    return tuple(1 if i in axes else n for i, n in enumerate(shape) if keepdims or i not in axes)


class _SameShape(Op):
    """An op whose output has its (first) input's shape: element-wise functions, softmax, cast."""

    @staticmethod
    def infer_shape(shapes, attrs):
        return shapes[0]


def _explain_axis(shapes, attrs):
    """Why numpy refused the `axis` attr of an op for this input shape."""
    shape, axis = shapes[0], attrs["axis"]
    n = len(shape)
    outside = [a for a in ((axis,) if np.isscalar(axis) else axis or ()) if not -n <= a < n]
    if not outside:
        return "the axes do not fit the input (is an axis given twice?)"
    return (f"axis {outside[0]} is out of range for an input of shape {format_shape(shape)} with {n} "
            f"dimension{'' if n == 1 else 's'}: use an axis from {-n} to {n - 1}")


class _Reduction(Op):
    """An op that reduces over `axis`, keeping the reduced axes as size 1 with keepdims."""

    explain = staticmethod(_explain_axis)

    @staticmethod
    def infer_shape(shapes, attrs):
        return _without_axes(shapes[0], attrs["axis"], attrs["keepdims"])


class _Broadcasting(Op):
    @staticmethod
    def explain(shapes, attrs):
        a, b = (format_shape(s) for s in shapes)
        return (f"shapes {a} and {b} cannot be broadcast together. numpy lines shapes up from the "
                "right and each pair of sizes must be equal or 1; reshape or transpose one input")

    @staticmethod
    def infer_shape(shapes, attrs):
        return _broadcast(*shapes)


# --- arithmetic ---------------------------------------------------------------

@register_op
class Add(_Broadcasting):
    @staticmethod
    def forward(ctx, x, y):
        return x + y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.inputs
        return unbroadcast(grad, np.shape(x)), unbroadcast(grad, np.shape(y))


@register_op
class Sub(_Broadcasting):
    @staticmethod
    def forward(ctx, x, y):
        return x - y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.inputs
        return unbroadcast(grad, np.shape(x)), unbroadcast(-grad, np.shape(y))


@register_op
class Mul(_Broadcasting):
    @staticmethod
    def forward(ctx, x, y):
        return x * y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.inputs
        dx = unbroadcast(grad * y, np.shape(x)) if ctx.needs[0] else None
        dy = unbroadcast(grad * x, np.shape(y)) if ctx.needs[1] else None
        return dx, dy


@register_op
class Div(_Broadcasting):
    @staticmethod
    def forward(ctx, x, y):
        return x / y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.inputs
        dx = unbroadcast(grad / y, np.shape(x)) if ctx.needs[0] else None
        dy = unbroadcast(-grad * ctx.output / y, np.shape(y)) if ctx.needs[1] else None
        return dx, dy


@register_op
class Neg(_SameShape):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return (-grad,)


@register_op
class Square(_SameShape):
    @staticmethod
    def forward(ctx, x):
        return x * x

    @staticmethod
    def backward(ctx, grad):
        return (2 * grad * ctx.inputs[0],)


@register_op
class Pow(_SameShape):
    @staticmethod
    def forward(ctx, x, exponent):
        return x ** float(exponent)  # a float exponent: integer inputs may take negative powers too

    @staticmethod
    def backward(ctx, grad):
        p, x = float(ctx.attrs["exponent"]), ctx.inputs[0]
        if p == 0:  # x ** 0 is constant; x ** -1 would divide by zero at x = 0
            return (np.zeros_like(x),)
        return (grad * p * x ** (p - 1),)


@register_op
class MatMul(Op):
    @staticmethod
    def forward(ctx, a, b):
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.inputs
        if a.ndim == 2 and b.ndim == 2:  # the common case, kept fast
            return (grad @ b.T if ctx.needs[0] else None,
                    a.T @ grad if ctx.needs[1] else None)
        # Vectors act as a one-row / one-column matrix; stacked matrices broadcast.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad[..., None] if b.ndim == 1 else grad
        g = g[..., None, :] if a.ndim == 1 else g
        da = unbroadcast(g @ b2.mT, a2.shape).reshape(a.shape) if ctx.needs[0] else None
        db = unbroadcast(a2.mT @ g, b2.shape).reshape(b.shape) if ctx.needs[1] else None
        return da, db

    @staticmethod
    def infer_shape(shapes, attrs):
        a, b = shapes
        if len(a) == 0 or len(b) == 0:
            return None
        inner = a[-1], b[0] if len(b) == 1 else b[-2]
        if None not in inner and inner[0] != inner[1]:
            return None  # they do not fit: the run explains why
        if len(a) == 1 or len(b) == 1:  # a vector: its axis is multiplied away
            return b[:-2] + b[-1:] if len(a) == 1 else a[:-1]
        return _broadcast(a[:-2], b[:-2]) + (a[-2], b[-1])

    @staticmethod
    def explain(shapes, attrs):
        a, b = shapes
        if len(a) == 0 or len(b) == 0:
            return "matmul needs arrays of at least 1 dimension; use multiply for scalars"
        inner_a, inner_b = a[-1], (b[0] if len(b) == 1 else b[-2])
        return (f"a {format_shape(a)} matrix times a {format_shape(b)} matrix needs the inner sizes to match, "
                f"but they are {inner_a} and {inner_b}. Check the order of the inputs, or transpose one")


# --- element-wise functions -----------------------------------------------------

@register_op
class Sigmoid(_SameShape):
    @staticmethod
    def forward(ctx, x):
        # 1 / (1 + exp(-x)), with -x capped so exp() cannot overflow (the result there is ~0 anyway)
        cap = 80.0 if getattr(x, "dtype", None) == np.float32 else 700.0
        return 1 / (1 + np.exp(np.minimum(-x, cap)))

    @staticmethod
    def backward(ctx, grad):
        y = ctx.output
        return (grad * y * (1 - y),)


@register_op
class Tanh(_SameShape):
    @staticmethod
    def forward(ctx, x):
        return np.tanh(x)

    @staticmethod
    def backward(ctx, grad):
        y = ctx.output
        return (grad * (1 - y * y),)


@register_op
class Relu(_SameShape):
    @staticmethod
    def forward(ctx, x):
        return np.maximum(x, 0)

    @staticmethod
    def backward(ctx, grad):
        return (grad * (ctx.inputs[0] > 0),)


@register_op
class Exp(_SameShape):
    @staticmethod
    def forward(ctx, x):
        return np.exp(x)

    @staticmethod
    def backward(ctx, grad):
        return (grad * ctx.output,)


@register_op
class Log(_SameShape):
    @staticmethod
    def forward(ctx, x):
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        return (grad / ctx.inputs[0],)


@register_op
class ClipByValue(_SameShape):
    @staticmethod
    def forward(ctx, x, lo, hi):
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, grad):
        x, a = ctx.inputs[0], ctx.attrs
        return (grad * ((x >= a["lo"]) & (x <= a["hi"])),)


# --- softmax family ---------------------------------------------------------------

def _rowwise(x, axis):
    """True for the common case of a 2-D batch reduced over a short last axis (classes).

    numpy reduces such an axis with a slow per-row loop; combining the columns
    instead is 3-10x faster, which matters for small networks.
    """
    return x.ndim == 2 and axis in (-1, 1) and x.shape[1] <= 64


def _max(x, axis):
    if _rowwise(x, axis):
        return functools.reduce(np.maximum, x.T)[:, None]
    return x.max(axis=axis, keepdims=True)


def _sum(x, axis):
    if _rowwise(x, axis):
        return (x @ ones_vector(x.shape[1], x.dtype))[:, None]
    return x.sum(axis=axis, keepdims=True)


def _shifted_exp(x, axis):
    """x minus its max along `axis` (the shift keeps exp() finite), the exp of that, and the exp's sum."""
    shifted = x - _max(x, axis)
    e = np.exp(shifted)
    return shifted, e, _sum(e, axis)


def _log_softmax(x, axis):
    shifted, _, total = _shifted_exp(x, axis)
    return shifted - np.log(total)


def _softmax(x, axis):
    _, e, total = _shifted_exp(x, axis)
    return e / total


@register_op
class Softmax(_SameShape):
    explain = staticmethod(_explain_axis)

    @staticmethod
    def forward(ctx, x, axis):
        return _softmax(x, axis)

    @staticmethod
    def backward(ctx, grad):
        y, axis = ctx.output, ctx.attrs["axis"]
        return (y * (grad - _sum(grad * y, axis)),)


@register_op
class LogSoftmax(_SameShape):
    explain = staticmethod(_explain_axis)

    @staticmethod
    def forward(ctx, x, axis):
        return _log_softmax(x, axis)

    @staticmethod
    def backward(ctx, grad):
        y, axis = ctx.output, ctx.attrs["axis"]
        return (grad - np.exp(y) * _sum(grad, axis),)


LABELS_HINT = ("For class indices such as [0, 2, 1], make one-hot rows with ds.data.one_hot(y, num_classes), "
               "or use ds.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)")


class _LabelsLikeLogits(Op):
    """A loss whose labels must have the logits' shape, as TensorFlow requires: class indices of shape
    (N,) or (N, 1) would otherwise broadcast against (N, C) logits into a finite, wrong loss."""

    @classmethod
    def apply(cls, labels, logits, name=None, **attrs):
        dtype = float_dtype((labels, logits), cls.op_type, name)  # numpy labels meeting float32 logits: float32
        labels, logits = to_node(labels, cls.op_type, 0, dtype), to_node(logits, cls.op_type, 1, dtype)
        cls.check(labels, logits, f"ds.{cls.op_type} (the loss being built)")
        return super().apply(labels, logits, name=name, **attrs)

    @staticmethod
    def check(labels, logits, loss, what="logits"):
        """As the graph is built: refuse labels whose known shape differs from the logits' known shape."""
        a, b = _known_shape(labels), _known_shape(logits)
        if a is not None and b is not None and not _compatible(a, b):
            raise ShapeError(f"{loss}: the labels {describe(labels)} have shape {format_shape(a)} but the {what} "
                             f"{describe(logits)} have shape {format_shape(b)}; they must be the same, one row of "
                             f"class scores per example. {LABELS_HINT}.")

    @staticmethod
    def explain(shapes, attrs):
        return (f"the labels' shape {format_shape(shapes[0])} is not the logits' shape "
                f"{format_shape(shapes[1])}; they must be the same, one row of class scores per example. {LABELS_HINT}")


def _same_shape(labels, logits):
    """As the op runs: the shapes known only now (explained by _LabelsLikeLogits.explain)."""
    if getattr(labels, "shape", ()) != getattr(logits, "shape", ()):
        raise ValueError(f"labels of shape {np.shape(labels)} for logits of shape {np.shape(logits)}")


def _known_shape(node):
    """The shape a node is known to have before it runs (None for an unknown size), or None."""
    shape = getattr(node, "shape", None)
    if shape is None:
        shape = getattr(node, "static_shape", None)
    try:
        return None if shape is None else tuple(None if d is None else int(d) for d in shape)
    except TypeError:  # a shape of unknown rank
        return None


def _compatible(a, b):
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


@register_op
class SoftmaxCrossEntropyWithLogits(_LabelsLikeLogits):
    """-sum(labels * log_softmax(logits)) along `axis`; labels are usually one-hot rows."""

    @staticmethod
    def forward(ctx, labels, logits, axis):
        _same_shape(labels, logits)
        shifted, e, total = _shifted_exp(logits, axis)
        ctx.save_for_backward(e / total)  # the softmax, which the gradient needs
        return -_sum(labels * (shifted - np.log(total)), axis).squeeze(axis)

    @staticmethod
    def backward(ctx, grad):
        labels, logits = ctx.inputs
        axis = ctx.attrs["axis"]
        (p,) = ctx.saved_values
        g = grad[..., None] if axis == -1 else np.expand_dims(grad, axis)
        d_labels = -g * _log_softmax(logits, axis) if ctx.needs[0] else None
        # p * sum(labels) - labels; the sum is 1 for one-hot labels, but need not be
        d_logits = g * (p * _sum(labels, axis) - labels) if ctx.needs[1] else None
        return (None if d_labels is None else unbroadcast(d_labels, labels.shape),
                None if d_logits is None else unbroadcast(d_logits, logits.shape))

    @staticmethod
    def infer_shape(shapes, attrs):
        return _without_axes(_broadcast(*shapes), attrs["axis"])


@register_op
class SoftmaxCrossEntropyLoss(_LabelsLikeLogits):
    """The batch's loss in one op: the sum ("sum") or mean ("mean") over the examples of
    SoftmaxCrossEntropyWithLogits. Fusing the reduction saves numpy calls in both passes,
    which is most of the work for a small network. Built by ds.nn.softmax_cross_entropy."""

    @staticmethod
    def forward(ctx, labels, logits, axis, reduction):
        _same_shape(labels, logits)
        shifted, e, total = _shifted_exp(logits, axis)
        label_sums = _sum(labels, axis)  # 1 per example for one-hot labels
        # the sum over examples of -sum(labels * log p), with log p = shifted - log(total)
        loss = _dot(label_sums, np.log(total)) - _dot(labels, shifted)
        count = 1 if reduction == "sum" else _size(total, label_sums)
        ctx.save_for_backward(e / total, label_sums, count)
        return loss / count if count else loss * np.nan  # the mean over an empty batch is NaN, as in TensorFlow

    @staticmethod
    def backward(ctx, grad):
        labels, logits = ctx.inputs
        p, label_sums, count = ctx.saved_values
        scale = grad / max(count, 1)  # no examples: every gradient is empty anyway
        d_labels = scale * -_log_softmax(logits, ctx.attrs["axis"]) if ctx.needs[0] else None
        d_logits = scale * (p * label_sums - labels) if ctx.needs[1] else None
        return (None if d_labels is None else unbroadcast(d_labels, labels.shape),
                None if d_logits is None else unbroadcast(d_logits, logits.shape))

    @staticmethod
    def infer_shape(shapes, attrs):
        return ()


@register_op
class SparseSoftmaxCrossEntropyWithLogits(Op):
    """-log_softmax(logits)[label] for each example: labels are class indices, one per row of logits."""

    @classmethod
    def apply(cls, labels, logits, name=None):
        logits = to_node(logits, cls.op_type, 1)
        labels = to_node(labels, cls.op_type, 0, getattr(logits, "dtype", None))  # as numbers in the logits' dtype
        a, b = _known_shape(labels), _known_shape(logits)
        if a is not None and b is not None and len(a) != len(b) - 1:
            raise ShapeError(f"ds.nn.sparse_softmax_cross_entropy_with_logits: the labels {describe(labels)} "
                             f"have shape {format_shape(a)} but must be class indices, one per row of the logits "
                             f"{describe(logits)} of shape {format_shape(b)}. For one-hot labels use "
                             "ds.softmax_cross_entropy_with_logits.")
        return super().apply(labels, logits, name=name)

    @staticmethod
    def forward(ctx, labels, logits):
        classes = _class_indices(ctx.node, labels, logits)[..., None]
        shifted, e, total = _shifted_exp(logits, -1)
        ctx.save_for_backward(e / total, classes)
        return (np.log(total) - np.take_along_axis(shifted, classes, -1))[..., 0]

    @staticmethod
    def backward(ctx, grad):
        p, classes = ctx.saved_values
        d_logits = p.copy()  # softmax minus the one-hot row of the label
        np.put_along_axis(d_logits, classes, np.take_along_axis(p, classes, -1) - 1, -1)
        return None, grad[..., None] * d_logits

    @staticmethod
    def explain(shapes, attrs):
        return (f"labels of shape {format_shape(shapes[0])} must be class indices, one per row of the logits: shape "
                f"{format_shape(shapes[1][:-1])}. For one-hot labels (shaped like the logits) use "
                "ds.softmax_cross_entropy_with_logits")


def _class_indices(node, labels, logits):
    """labels as integer indices into the last axis of logits, or an error that says what is wrong."""
    labels, logits = np.asarray(labels), np.asarray(logits)
    if labels.shape != logits.shape[:-1]:
        raise ValueError("labels are not one class index per row of logits")  # explained by explain()
    if labels.dtype.kind not in "iub" and (labels.dtype.kind != "f" or np.any(labels != np.round(labels))):
        bad = labels.ravel()[np.flatnonzero(labels != np.round(labels))[0]] if labels.dtype.kind == "f" else labels
        raise InvalidArgumentError(f"op {describe(node)} needs integer class indices as labels, but got {bad} "
                                   f"(dtype {labels.dtype}, shape {labels.shape}). Feed whole numbers, e.g. "
                                   "from a placeholder declared with dtype=np.int64.")
    n = logits.shape[-1]
    outside = labels[(labels < 0) | (labels >= n)]
    if outside.size:
        raise InvalidArgumentError(f"op {describe(node)} got the class label {outside.flat[0]:g}, outside the "
                                   f"valid range [0, {n}) for logits of shape {logits.shape} ({n} classes). Check "
                                   "the labels, or give the model as many outputs as there are classes.")
    return labels.astype(np.intp)


def _dot(a, b):
    """sum(a * b) over all elements; one BLAS call when the shapes agree."""
    return np.vdot(a, b) if a.shape == b.shape else np.sum(a * b)


def _size(*arrays):
    """The number of elements of the arrays broadcast together."""
    shapes = {a.shape for a in arrays}
    shape = shapes.pop() if len(shapes) == 1 else np.broadcast_shapes(*shapes)
    return math.prod(shape)


# --- reductions and shape -----------------------------------------------------------

def _expand_reduced(grad, x, axis, keepdims):
    """Spread the gradient of a reduction back over the input's shape: every element contributed once."""
    if axis is not None and not keepdims:  # put back the reduced axes as size 1
        kept = list(x.shape)
        for a in (axis,) if np.isscalar(axis) else axis:
            kept[a] = 1
        grad = grad.reshape(kept)
    out = np.empty_like(x)
    out[...] = grad
    return out


@register_op
class Sum(_Reduction):
    @staticmethod
    def forward(ctx, x, axis, keepdims):
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        x, a = ctx.inputs[0], ctx.attrs
        return (_expand_reduced(grad, x, a["axis"], a["keepdims"]),)


@register_op
class Mean(_Reduction):
    @staticmethod
    def forward(ctx, x, axis, keepdims):
        if np.size(x) == 0:  # the mean of nothing (an empty batch) is NaN, as in TensorFlow, without numpy's warning
            return np.sum(x, axis=axis, keepdims=keepdims) * np.nan
        return np.mean(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        x, a = ctx.inputs[0], ctx.attrs
        if x.size == 0:
            return (np.zeros_like(x),)
        count = x.size // max(np.size(ctx.output), 1)
        return (_expand_reduced(grad / count, x, a["axis"], a["keepdims"]),)


@register_op
class Max(_Reduction):
    @staticmethod
    def forward(ctx, x, axis, keepdims):
        return np.max(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        # As TensorFlow: the gradient goes to the maxima, split equally where several tie.
        x, a = ctx.inputs[0], ctx.attrs
        top = _expand_reduced(ctx.output, x, a["axis"], a["keepdims"])
        is_max = (x == top).astype(x.dtype)
        ties = np.sum(is_max, axis=a["axis"], keepdims=True)
        return (is_max / ties * _expand_reduced(grad, x, a["axis"], a["keepdims"]),)


@register_op
class Transpose(Op):
    @staticmethod
    def forward(ctx, x, perm):
        return np.transpose(x, perm)

    @staticmethod
    def backward(ctx, grad):
        perm = ctx.attrs["perm"]
        return (np.transpose(grad, None if perm is None else np.argsort(perm)),)

    @staticmethod
    def infer_shape(shapes, attrs):
        perm = attrs["perm"]
        return shapes[0][::-1] if perm is None else tuple(shapes[0][i] for i in perm)

    @staticmethod
    def explain(shapes, attrs):
        n = len(shapes[0])
        return (f"perm={attrs['perm']} must list each of the {n} axes of the input of shape "
                f"{format_shape(shapes[0])} once, i.e. be an ordering of {tuple(range(n))}")


@register_op
class Reshape(Op):
    @staticmethod
    def forward(ctx, x, shape):
        return np.reshape(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return (np.reshape(grad, np.shape(ctx.inputs[0])),)

    @staticmethod
    def explain(shapes, attrs):
        size, target = math.prod(shapes[0]), tuple(attrs["shape"])
        if target.count(-1) > 1:
            return f"the new shape {format_shape(target)} has more than one -1; only one size can be left open"
        if -1 in target:
            rest = math.prod(d for d in target if d != -1)
            return (f"an array of shape {format_shape(shapes[0])} ({size} elements) cannot be reshaped to "
                    f"{format_shape(target)}: {size} is not a multiple of {rest}, the product of the other sizes")
        return (f"an array of shape {format_shape(shapes[0])} ({size} elements) cannot be reshaped to "
                f"{format_shape(attrs['shape'])} ({math.prod(attrs['shape'])} elements): the sizes differ. Give a "
                f"shape with {size} elements; one -1 in it stands for whatever size fits")

    @staticmethod
    def infer_shape(shapes, attrs):
        shape = attrs["shape"]
        if -1 in shape and None not in shapes[0]:
            return np.empty(shapes[0], dtype=np.bool_).reshape(shape).shape  # numpy works out the -1
        return tuple(None if n == -1 else n for n in shape)


@register_op
class CheckNumerics(_SameShape):
    """x unchanged, after checking that it holds no NaN or inf (tf.debugging.check_numerics)."""

    @staticmethod
    def forward(ctx, x, message):
        if not np.all(np.isfinite(x)):
            what = "NaN" if np.any(np.isnan(x)) else "inf"
            raise NumericsError(f"{message}: op {describe(ctx.node)} found {what} in its input "
                                f"{describe(ctx.node.inputs[0])} of shape {np.shape(x)}. Look at the ops before "
                                "it; Session(check_numerics=True) names the first one that made it.")
        return x

    @staticmethod
    def backward(ctx, grad):
        return (grad,)


# --- comparisons and conversions (no gradient flows through an index or a bool) ----------

@register_op
class ArgMax(Op):
    @staticmethod
    def forward(ctx, x, axis):
        return np.argmax(x, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return (None,)

    @staticmethod
    def infer_shape(shapes, attrs):
        return _without_axes(shapes[0], attrs["axis"])


@register_op
class Equal(_Broadcasting):
    @staticmethod
    def forward(ctx, x, y):
        return np.equal(x, y)

    @staticmethod
    def backward(ctx, grad):
        return None, None


@register_op
class Cast(_SameShape):
    @staticmethod
    def forward(ctx, x, dtype):
        return np.asarray(x).astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        x = np.asarray(ctx.inputs[0])
        if x.dtype.kind != "f" or grad.dtype.kind != "f":  # counts and truth values have no gradient
            return (None,)
        return (grad.astype(x.dtype),)


# The ops whose output has their inputs' float dtype: a float32 model is known to stay float32 through them.
for _op in (Add, Sub, Mul, Div, Neg, Square, Pow, MatMul, Sigmoid, Tanh, Relu, Exp, Log, ClipByValue, Softmax,
            LogSoftmax, SoftmaxCrossEntropyWithLogits, SoftmaxCrossEntropyLoss, SparseSoftmaxCrossEntropyWithLogits,
            Sum, Mean, Max, Transpose, Reshape, CheckNumerics):
    _op.keeps_float_dtype = True


# --- the public functions -------------------------------------------------------------

def add(x, y, name=None):
    """x + y, element-wise with broadcasting."""
    return Add.apply(x, y, name=name)


def subtract(x, y, name=None):
    """x - y, element-wise with broadcasting."""
    return Sub.apply(x, y, name=name)


def multiply(x, y, name=None):
    """x * y, element-wise with broadcasting."""
    return Mul.apply(x, y, name=name)


def divide(x, y, name=None):
    """x / y, element-wise with broadcasting."""
    return Div.apply(x, y, name=name)


def negative(x, name=None):
    """-x."""
    return Neg.apply(x, name=name)


def square(x, name=None):
    """x ** 2."""
    return Square.apply(x, name=name)


def pow(x, exponent, name=None):
    """x ** exponent, for a constant (Python number) exponent."""
    if not isinstance(exponent, numbers.Real) or isinstance(exponent, bool):  # numpy numbers are welcome
        raise GraphError(f"pow() needs a constant number as exponent, not a {type(exponent).__name__}; "
                         "write exp(y * log(x)) for a variable exponent.")
    return Pow.apply(x, name=name, exponent=exponent if isinstance(exponent, (int, float)) else exponent.item())


def matmul(a, b, name=None):
    """The matrix product a @ b."""
    return MatMul.apply(a, b, name=name)


def sigmoid(x, name=None):
    """1 / (1 + exp(-x)), computed without overflow."""
    return Sigmoid.apply(x, name=name)


def tanh(x, name=None):
    return Tanh.apply(x, name=name)


def relu(x, name=None):
    """max(x, 0)."""
    return Relu.apply(x, name=name)


def exp(x, name=None):
    return Exp.apply(x, name=name)


def log(x, name=None):
    """The natural logarithm."""
    return Log.apply(x, name=name)


def clip_by_value(x, clip_value_min, clip_value_max, name=None):
    """x limited to [min, max]; the gradient is zero where x was clipped."""
    return ClipByValue.apply(x, name=name, lo=clip_value_min, hi=clip_value_max)


def softmax(x, axis=-1, name=None):
    """exp(x) / sum(exp(x)) along `axis`, shifted by the max so it never overflows."""
    return Softmax.apply(x, name=name, axis=_axis(axis))


def log_softmax(x, axis=-1, name=None):
    """log(softmax(x)), computed directly so it stays finite for large logits."""
    return LogSoftmax.apply(x, name=name, axis=_axis(axis))


def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None):
    """-sum(labels * log_softmax(logits)) along `axis`: one loss per example, numerically stable."""
    return SoftmaxCrossEntropyWithLogits.apply(labels, logits, name=name, axis=axis)


def sparse_softmax_cross_entropy_with_logits(labels, logits, name=None):
    """softmax_cross_entropy_with_logits for labels given as class indices (shape: the logits' without
    the last axis), as in TensorFlow; labels outside [0, classes) are an InvalidArgumentError."""
    return SparseSoftmaxCrossEntropyWithLogits.apply(labels, logits, name=name)


def check_numerics(tensor, message, name=None):
    """`tensor` unchanged; running it raises a NumericsError with `message` if it holds NaN or inf."""
    return CheckNumerics.apply(tensor, name=name, message=message)


def reduce_sum(x, axis=None, keepdims=False, name=None):
    """Sum over `axis` (an int, a tuple, or None for all axes)."""
    return Sum.apply(x, name=name or "reduce_sum", axis=_axis(axis), keepdims=keepdims)


def reduce_mean(x, axis=None, keepdims=False, name=None):
    """Mean over `axis` (an int, a tuple, or None for all axes)."""
    return Mean.apply(x, name=name or "reduce_mean", axis=_axis(axis), keepdims=keepdims)


def reduce_max(x, axis=None, keepdims=False, name=None):
    """The largest value over `axis` (an int, a tuple, or None for all axes); its gradient goes to the
    largest entries, shared equally among ties, as in TensorFlow."""
    return Max.apply(x, name=name or "reduce_max", axis=_axis(axis), keepdims=keepdims)


def transpose(x, perm=None, name=None):
    """Reverse the axes, or permute them by `perm`."""
    return Transpose.apply(x, name=name, perm=None if perm is None else tuple(perm))


def reshape(x, shape, name=None):
    """The same values in a new shape; -1 stands for "whatever size fits"."""
    return Reshape.apply(x, name=name, shape=tuple(shape))


def argmax(x, axis=None, name=None):
    """The index of the largest value along `axis` (0 if not given, as in TensorFlow), as int64."""
    if axis is not None and not isinstance(axis, (int, np.integer)):
        raise TypeError(f"argmax() takes one axis, an int, not {axis!r}.")
    return ArgMax.apply(x, name=name, axis=0 if axis is None else int(axis))


def equal(x, y, name=None):
    """x == y, element-wise with broadcasting: an array of bools (ds.cast turns them into numbers)."""
    return Equal.apply(x, y, name=name)


def cast(x, dtype, name=None):
    """x converted to `dtype`, e.g. ds.cast(correct, ds.float32) to average bools."""
    try:
        kind = np.dtype(dtype).kind
    except TypeError:
        kind = None
    if kind not in ("b", "i", "u", "f"):
        raise TypeError(f"cast() needs a numeric dtype such as ds.float32, not {dtype!r}.")
    return Cast.apply(x, name=name, dtype=np.dtype(dtype))


def _axis(axis):
    """An axis attr: None, an int, or a tuple of ints (a list is accepted), checked as the graph is built."""
    axes = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    for a in () if axes is None else axes if isinstance(axes, tuple) else (axes,):
        if not isinstance(a, numbers.Integral) or isinstance(a, bool):
            raise GraphError(f"an axis must be a whole number (or a tuple of them, or None for all axes), "
                             f"not {a!r}; axes count from 0, and -1 is the last.")
    return axes


for _f, _op in [(add, Add), (subtract, Sub), (multiply, Mul), (divide, Div), (negative, Neg),
                (square, Square), (pow, Pow), (matmul, MatMul), (sigmoid, Sigmoid), (tanh, Tanh),
                (relu, Relu), (exp, Exp), (log, Log), (clip_by_value, ClipByValue),
                (softmax, Softmax), (log_softmax, LogSoftmax),
                (softmax_cross_entropy_with_logits, SoftmaxCrossEntropyWithLogits),
                (reduce_sum, Sum), (reduce_mean, Mean), (reduce_max, Max), (transpose, Transpose), (reshape, Reshape),
                (argmax, ArgMax), (equal, Equal), (cast, Cast)]:
    _f.op_type = _op.op_type  # lets override_gradients({ds.matmul: rule}) work
