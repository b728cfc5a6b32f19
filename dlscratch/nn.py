"""Layers, losses and regularisers built from the core ops.

As in TensorFlow 1, the activation and loss ops are also here: ds.nn.relu, ds.nn.softmax_cross_entropy_with_logits.
"""
import numpy as np

from .core import (
    GraphError,
    Node,
    Op,
    Variable,
    add,
    clip_by_value,
    describe,
    get_default_graph,
    log,
    log_softmax,  # noqa: F401  (ds.nn.log_softmax, as in TensorFlow)
    matmul,
    multiply,
    negative,
    op_class,
    reduce_mean,
    reduce_sum,
    register_op,
    relu,
    sigmoid,
    softmax,  # noqa: F401  (ds.nn.softmax, as in TensorFlow)
    softmax_cross_entropy_with_logits,
    sparse_softmax_cross_entropy_with_logits,  # noqa: F401  (ds.nn.sparse_..., as tf.nn has it)
    square,
    subtract,
    tanh,
    to_node,
)

_rng = np.random.default_rng(0)


def set_random_seed(seed):
    """Seed the generator behind weight initialisation and dropout (seeded with 0 at import)."""
    global _rng
    _rng = np.random.default_rng(seed)


def _generator(seed):
    return _rng if seed is None else np.random.default_rng(seed)


ACTIVATIONS = {"sigmoid": sigmoid, "tanh": tanh, "relu": relu, None: None, "linear": None}


def _activation(activation):
    if callable(activation) or activation is None:
        return activation
    try:
        return ACTIVATIONS[activation]
    except KeyError:
        raise ValueError(f"unknown activation {activation!r}; use one of "
                         f"{sorted(k for k in ACTIVATIONS if k)} or a function") from None


def _last_dim(x):
    shape = getattr(x, "shape", None)
    if shape is None:
        shape = getattr(x, "static_shape", None)
    if not shape or shape[-1] is None:
        raise GraphError(f"dense() cannot tell how many features {describe(x)} has; "
                         "pass in_features=..., or give the placeholder a shape such as (None, 2).")
    return shape[-1]


def dense(x, units, activation=None, in_features=None, name="dense", seed=None, dtype=None):
    """activation(x @ W + b), with W initialised for the activation (He for ReLU, Glorot otherwise).

    The layer's nodes share a name scope ('dense/W', 'dense/b', ...), which the
    renderer can collapse into one box. W and b take `dtype`, by default the input's
    float dtype (float64 if it is not known), so a float32 input makes a float32 layer.
    """
    x = to_node(x)
    dtype = dtype or getattr(x, "dtype", None) or np.float64  # the input's float dtype, as TensorFlow's layers
    n_in = in_features or _last_dim(x)
    act = _activation(activation)
    rng = _generator(seed)
    scale = np.sqrt(2.0 / n_in) if act is relu else np.sqrt(2.0 / (n_in + units))
    with get_default_graph().name_scope(name):
        W = Variable(rng.normal(0.0, scale, size=(n_in, units)).astype(dtype), name="W")
        b = Variable(np.zeros(units, dtype=dtype), name="b")
        out = add(matmul(x, W), b)
        if act is not None:
            out = act(out)
    out.static_shape = (None, units)
    return out


def mlp(x, sizes, activation="sigmoid", output_activation=None, in_features=None, seed=None,
        dtype=None):
    """A multi-layer perceptron: dense layers of `sizes` units each; the last one gives the output.

    e.g. mlp(x, [3, 2]) is a hidden layer of 3 sigmoid units and 2 output logits.
    """
    rng = _generator(seed)
    h = to_node(x)
    for i, units in enumerate(sizes):
        last = i == len(sizes) - 1
        h = dense(h, units, output_activation if last else activation,
                  in_features=in_features if i == 0 else None,
                  name="output" if last else f"hidden{i + 1}", seed=rng, dtype=dtype)
    return h


# --- losses ---------------------------------------------------------------------

def _reduce(per_example, reduction):
    if reduction == "sum":
        return reduce_sum(per_example, name="loss")
    if reduction == "mean":
        return reduce_mean(per_example, name="loss")
    if reduction == "none":
        return per_example
    raise ValueError(f"reduction must be 'sum', 'mean' or 'none', not {reduction!r}")


def cross_entropy(probabilities, labels, reduction="sum", epsilon=1e-12):
    """-sum(c * log p): the source material's loss, for probabilities (e.g. a softmax output).

    p is clipped to [epsilon, 1] first, so a probability of 0 gives a large
    finite loss instead of inf, and no NaN gradients. labels must have the
    shape of the probabilities (one-hot rows), checked as the loss is built.
    """
    probabilities = to_node(probabilities)
    labels = to_node(labels, "cross_entropy", 1, getattr(probabilities, "dtype", None))  # a float32 model's dtype
    op_class("SoftmaxCrossEntropyWithLogits").check(labels, probabilities, "ds.nn.cross_entropy", "probabilities")
    p = clip_by_value(probabilities, epsilon, 1.0)
    per_example = negative(reduce_sum(multiply(labels, log(p)), axis=-1))
    return _reduce(per_example, reduction)


def softmax_cross_entropy(*, labels, logits, reduction="mean"):
    """Cross-entropy straight from logits, with the fused, numerically stable op.

    `labels=` and `logits=` are named, as in TensorFlow, so they cannot be swapped by accident.
    "sum" and "mean" give one node, SoftmaxCrossEntropyLoss, worth
    reduce_sum/reduce_mean(softmax_cross_entropy_with_logits(...)) and cheaper to run.
    """
    if reduction in ("sum", "mean"):
        return op_class("SoftmaxCrossEntropyLoss").apply(labels, logits, name="loss", axis=-1, reduction=reduction)
    return _reduce(softmax_cross_entropy_with_logits(labels=labels, logits=logits), reduction)


def mean_squared_error(*, labels, predictions):
    """mean((predictions - labels) ** 2); both named, as in TensorFlow's tf.losses.mean_squared_error."""
    return reduce_mean(square(subtract(predictions, labels)), name="mse")


def l2_loss(x):
    """sum(x ** 2) / 2, as TensorFlow defines it."""
    return multiply(0.5, reduce_sum(square(x)), name="l2_loss")


def l2_regularizer(scale, var_list):
    """scale * sum of l2_loss over `var_list` (usually the weight matrices, not the biases)."""
    total = None
    for v in var_list:
        term = l2_loss(v)
        total = term if total is None else add(total, term)
    return multiply(scale, total, name="l2_penalty")


def weights(graph=None):
    """The weight matrices of the dense layers (Variables named '.../W'), e.g. for L2 regularisation."""
    graph = graph or get_default_graph()
    return [v for v in graph.variables if v.name.split("/")[-1].startswith("W")]


# --- dropout --------------------------------------------------------------------------

@register_op
class DropoutMask(Op):
    """0 with probability `rate`, else 1/(1-rate); all ones when not training. No gradient flows into it."""

    @staticmethod
    def forward(ctx, x, training, rate, rng):
        if not training or rate == 0:
            return np.ones_like(x)
        keep = rng.random(x.shape) >= rate
        return keep.astype(x.dtype) / (1 - rate)

    @staticmethod
    def backward(ctx, grad):
        return None, None


def dropout(x, rate, training, seed=None, name="dropout"):
    """Zero each element with probability `rate` while `training`, scaling the rest by 1/(1-rate).

    `training` is a Python bool or a node, e.g. ds.placeholder_with_default(False, shape=()),
    fed True in the training step and left at False for evaluation.
    """
    if not 0 <= rate < 1:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
    x = to_node(x)
    flag = training if isinstance(training, Node) else to_node(float(bool(training)))
    mask = DropoutMask.apply(x, flag, name=name + "_mask", rate=rate, rng=_generator(seed))
    out = multiply(x, mask, name=name)
    out.static_shape = getattr(x, "static_shape", None) or getattr(x, "shape", None)  # so dense() can follow
    return out
