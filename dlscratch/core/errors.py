"""Errors that explain themselves.

Every message names the node, its op, the shapes involved and what to do,
so a learner never has to read a traceback from deep inside numpy.
"""


class DLScratchError(Exception):
    """Base class for every error dlscratch raises on purpose."""


class GraphError(DLScratchError):
    """A node is used with the wrong graph, or an op got something that is not a node."""


class FeedError(DLScratchError):
    """A placeholder was not fed, or was fed a value of the wrong shape or dtype."""


class ShapeError(DLScratchError):
    """An op's inputs have shapes that do not fit together."""


class GradientError(DLScratchError):
    """A gradient rule is missing or returned something unusable."""


class NumericsError(DLScratchError):
    """An op produced NaN or inf while the numerics check was on (Session(check_numerics=True))."""


def format_shape(shape):
    """How every message writes a shape: (2, 3), (5,), or (None, 2) for a placeholder's declared shape."""
    dims = ["None" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def describe(node):
    """'name' (OpType) — how nodes are named in every message."""
    return f"'{node.name}' ({node.op_type})"
