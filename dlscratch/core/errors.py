"""Errors that explain themselves.

Every message names the node, its op, the shapes involved and what to do,
so a learner never has to read a traceback from deep inside numpy. Where
Python has a matching built-in error, ours is also one of those, so code
that catches ValueError, MemoryError, ... keeps working.

    GraphError             a node is used with the wrong graph (Session(graph=...) for nodes built
                           elsewhere); an op or a fetch got something that is not a node; an op mixes
                           float32 and float64 nodes (TensorFlow 1 refuses that too)
    FeedError              feed_dict is not a dict; a placeholder was not fed; a fed value has the wrong
                           shape or dtype, or is itself a node (run it first)
    ShapeError             an op's inputs do not fit: broadcasting, matmul's inner sizes, reshape's sizes,
                           an axis out of range; labels whose shape is not the logits' (class indices)
    InvalidArgumentError   a value is out of its range: class labels outside [0, num_classes),
                           test_size or batch_size that leave nothing, lengths of X and y that differ
    NumericsError          an op produced NaN or inf (Session(check_numerics=True) or
                           ds.debugging.enable_check_numerics()), or numpy's np.errstate stopped it
    ResourceExhaustedError numpy ran out of memory inside an op
    GradientError          a gradient rule is missing or returned something unusable
    SessionError           the session was closed
"""


class DLScratchError(Exception):
    """Base class for every error dlscratch raises on purpose."""


class GraphError(DLScratchError):
    """A node is used with the wrong graph, an op or a fetch got something that is not a node,
    or an op mixes float32 and float64 nodes."""


class FeedError(DLScratchError):
    """feed_dict is not a dict, a placeholder was not fed, or a fed value has the wrong shape or dtype."""


class ShapeError(DLScratchError):
    """An op's inputs have shapes that do not fit together (also labels shaped unlike their logits)."""


class InvalidArgumentError(DLScratchError, ValueError):
    """A value outside its range, e.g. a class label >= num_classes (TensorFlow's name for it)."""


class GradientError(DLScratchError):
    """A gradient rule is missing or returned something unusable."""


class NumericsError(DLScratchError, FloatingPointError):
    """An op produced NaN or inf while the numerics check was on (Session(check_numerics=True),
    ds.debugging.enable_check_numerics()), or numpy stopped it under np.errstate(...='raise')."""


class ResourceExhaustedError(DLScratchError, MemoryError):
    """numpy ran out of memory inside an op (TensorFlow's name for an out-of-memory error)."""


class SessionError(DLScratchError, RuntimeError):
    """A closed session was used (as TensorFlow 1, which raises for it too)."""


def format_shape(shape):
    """How every message writes a shape: (2, 3), (5,), or (None, 2) for a placeholder's declared shape."""
    dims = ["None" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def describe(node):
    """'name' (OpType) — how nodes are named in every message."""
    return f"'{node.name}' ({node.op_type})"
