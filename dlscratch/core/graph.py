"""The graph: nodes, the default graph, and turning Python values into nodes.

A node never changes once built: its inputs are fixed, so whatever is worked
out about the nodes behind it (evaluation order, gradient paths) can be cached.
"""
import itertools
import numbers

import numpy as np

from .errors import GraphError, describe, format_shape

_default_graph = None


def get_default_graph():
    """The graph new nodes go into (created on first use)."""
    global _default_graph
    if _default_graph is None:
        _default_graph = Graph()
    return _default_graph


def reset_default_graph():
    """Start afresh: make a new, empty graph the default and return it."""
    global _default_graph
    _default_graph = Graph()
    return _default_graph


class _Restore:
    """Returned by Graph.as_default(): a `with` block restores the previous default."""

    def __init__(self, graph, previous):
        self.graph, self.previous = graph, previous

    def __enter__(self):
        return self.graph

    def __exit__(self, *exc):
        global _default_graph
        _default_graph = self.previous


class _Scope:
    def __init__(self, graph, name):
        self.graph, self.name = graph, name

    def __enter__(self):
        self.previous = self.graph._scope
        base = self.previous + self.name
        i = self.graph._counters.get(base + "/", 0)  # a second 'layer' scope becomes 'layer_1'
        self.graph._counters[base + "/"] = i + 1
        self.graph._scope = (base if i == 0 else f"{base}_{i}") + "/"
        return self.graph._scope

    def __exit__(self, *exc):
        self.graph._scope = self.previous


def name_scope(name):
    """`with ds.name_scope("layer1"):` prefixes the names of the nodes built inside."""
    return get_default_graph().name_scope(name)


class Graph:
    """A collection of nodes. Names are unique within a graph."""

    def __init__(self):
        self.nodes = []
        self._by_name = {}
        self._counters = {}
        self._scope = ""
        self.cache = {}  # evaluation orders and backward plans, keyed by the nodes they start from
        self._ids = itertools.count()

    def as_default(self):
        """Make this the default graph now; as a `with` block, only until the block ends."""
        global _default_graph
        previous, _default_graph = _default_graph, self
        return _Restore(self, previous)

    def name_scope(self, name):
        """Prefix the names of nodes built inside the `with` block: 'layer1/matmul'."""
        return _Scope(self, name)

    def unique_name(self, base):
        """'add', then 'add_1', 'add_2', ... as TensorFlow names them, inside the current scope."""
        base = self._scope + base
        i = self._counters.get(base, 0)
        name = base if i == 0 else f"{base}_{i}"
        while name in self._by_name:
            i += 1
            name = f"{base}_{i}"
        self._counters[base] = i + 1
        return name

    @property
    def variables(self):
        return [n for n in self.nodes if isinstance(n, Variable)]

    @property
    def trainable_variables(self):
        return [v for v in self.variables if v.trainable]

    def get_node(self, name):
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no node named {name!r} in this graph") from None

    def __repr__(self):
        return f"<Graph with {len(self.nodes)} nodes>"


class Node:
    """Anything in the graph that has a value: placeholders, Variables, constants and ops."""

    op_type = "Node"
    __array_ufunc__ = None  # numpy array <op> node defers to the node's operators

    def __init__(self, inputs=(), name=None, graph=None):
        self.graph = graph or get_default_graph()
        for x in inputs:
            if x.graph is not self.graph:
                raise GraphError(
                    f"{describe(x)} belongs to another graph than the one this "
                    f"{self.op_type} op is being added to. Build every node of a "
                    "model inside the same `with graph.as_default():` block."
                )
        self.inputs = tuple(inputs)
        self.consumers = []
        for x in self.inputs:
            if self not in x.consumers:
                x.consumers.append(self)
        self.id = next(self.graph._ids)
        self.name = self.graph.unique_name(name or self.op_type.lower())
        self.graph.nodes.append(self)
        self.graph._by_name[self.name] = self

    def __repr__(self):
        return f"<{type(self).__name__} {describe(self)}>"

    def eval(self, feed_dict=None, session=None):
        """This node's value, computed by `session` or the default session (TensorFlow 1's tensor.eval())."""
        return _session(self, session, "eval").run(self, feed_dict)

    def check_feed(self, value):
        """A value fed for this node (TensorFlow lets you feed any node), as an array of its shape if known."""
        from .errors import FeedError, GraphError
        try:
            array = _as_array(value, f"the value fed for {describe(self)}")
        except GraphError as e:
            raise FeedError(str(e)) from None
        shape, dtype = getattr(self, "shape", None), getattr(self, "dtype", None)
        if shape is not None and not _shape_fits(array.shape, tuple(shape)):
            raise FeedError(f"{describe(self)} has shape {format_shape(shape)} but was fed shape {array.shape}; "
                            "feed a value of the node's shape.")
        return array if dtype is None or array.dtype == dtype else array.astype(dtype)  # a float32 Variable stays so

    # Python operators build ops. Imported late: ops.py builds on this module.
    def __add__(self, other): return _ops().add(self, other)
    def __radd__(self, other): return _ops().add(other, self)
    def __sub__(self, other): return _ops().subtract(self, other)
    def __rsub__(self, other): return _ops().subtract(other, self)
    def __mul__(self, other): return _ops().multiply(self, other)
    def __rmul__(self, other): return _ops().multiply(other, self)
    def __truediv__(self, other): return _ops().divide(self, other)
    def __rtruediv__(self, other): return _ops().divide(other, self)
    def __matmul__(self, other): return _ops().matmul(self, other)
    def __rmatmul__(self, other): return _ops().matmul(other, self)
    def __neg__(self): return _ops().negative(self)
    def __pow__(self, exponent): return _ops().pow(self, exponent)

    @property
    def T(self):
        return _ops().transpose(self)


def _ops():
    from . import ops
    return ops


class Placeholder(Node):
    """A value supplied at run time through `feed_dict`."""

    op_type = "Placeholder"

    def __init__(self, shape=None, dtype=None, name=None, default=None):
        self.shape = None if shape is None else tuple(shape)
        self.dtype = None if dtype is None else np.dtype(dtype)
        self._fitting_shapes = set()  # shapes already fed and found to fit
        super().__init__(name=name)
        self.default = None if default is None else self.check_feed(default)

    def check_feed(self, value):
        """Convert a fed value to an array, or explain why it does not fit."""
        if (type(value) is np.ndarray and value.dtype.kind == "f" and (self.dtype is None or value.dtype == self.dtype)
                and (self.shape is None or value.shape in self._fitting_shapes)):
            return value  # the common case in a training loop, kept cheap
        from .errors import FeedError
        try:
            array = np.asarray(value)
        except Exception as e:  # ragged lists and the like
            raise FeedError(f"placeholder {describe(self)} was fed something numpy cannot turn "
                            f"into an array ({e}). Feed a numpy array or a rectangular list.") from None
        if array.dtype.kind not in "biuf":
            raise FeedError(f"placeholder {describe(self)} was fed values of dtype {array.dtype}; "
                            "feed numbers (a numpy array of ints or floats).")
        if self.dtype is not None:
            if array.dtype != self.dtype:
                if not np.can_cast(array.dtype, self.dtype, "same_kind"):
                    raise FeedError(f"placeholder {describe(self)} expects dtype {self.dtype} but was "
                                    f"fed {array.dtype}; convert with .astype({self.dtype.name!r}).")
                array = array.astype(self.dtype)
        elif array.dtype.kind != "f":
            array = array.astype(np.float64)
        if self.shape is not None:
            if not _shape_fits(array.shape, self.shape):
                raise FeedError(f"placeholder {describe(self)} expects shape {format_shape(self.shape)} but was "
                                f"fed shape {array.shape}. None in the expected shape means any size; "
                                "reshape the value or declare the placeholder with the shape you feed.")
            if len(self._fitting_shapes) < 64:  # remembered, so the next feed of this shape takes the fast path
                self._fitting_shapes.add(array.shape)
        return array


def _shape_fits(actual, expected):
    if len(actual) != len(expected):
        return False
    for a, e in zip(actual, expected):
        if e is not None and e != a:
            return False
    return True


def _as_array(value, what):
    if isinstance(value, (str, bytes)) or value is None:
        raise GraphError(f"{what} got {value!r}, a {type(value).__name__}; "
                         "give it a node, a number or a numpy array.")
    try:
        array = np.asarray(value)
    except Exception as e:
        raise GraphError(f"{what} got a {type(value).__name__} that is not an array ({e}); "
                         "give it a node, a number or a numpy array.") from None
    if array.dtype.kind not in "biuf":
        raise GraphError(f"{what} got a {type(value).__name__} of dtype {array.dtype}; "
                         "give it a node, a number or a numpy array of numbers.")
    return array if array.dtype.kind == "f" else array.astype(np.float64)


class Variable(Node):
    """A value that persists across runs; trainable Variables are what optimizers update.

    `initial_value` is a number, an array or a constant node such as ds.zeros([2, 3]).
    """

    op_type = "Variable"

    def __init__(self, initial_value, name=None, trainable=True, dtype=None):
        super().__init__(name=name)
        if isinstance(initial_value, Constant):
            initial_value = initial_value.value
        elif isinstance(initial_value, Node):
            raise GraphError(f"Variable {self.name!r} got the node {describe(initial_value)} as its initial "
                             "value; give it a number, an array or a constant node (ds.zeros, ds.constant).")
        value = _as_array(initial_value, f"Variable {name or ''}".strip())
        self.value = value.astype(dtype) if dtype is not None else value.copy()
        self.initial_value = self.value.copy()  # what ds.global_variables_initializer() restores
        self.trainable = trainable

    @property
    def shape(self):
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    def assign(self, value):
        """Set the value (shape and dtype are kept)."""
        new = np.asarray(value, dtype=self.value.dtype)
        if new.shape != self.value.shape:
            from .errors import ShapeError
            raise ShapeError(f"cannot assign a value of shape {new.shape} to Variable {describe(self)} "
                             f"of shape {self.value.shape}.")
        self.value = new.copy()


class Constant(Node):
    """A fixed value. Python numbers stay Python numbers, so they don't upcast float32 arrays."""

    op_type = "Const"

    def __init__(self, value, name=None):
        super().__init__(name=name)
        if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.ndarray)):
            self.value = float(value)
        else:
            self.value = np.array(_as_array(value, f"constant {name or ''}".strip()))  # a copy: not the caller's buffer
            self.value.flags.writeable = False

    @property
    def shape(self):
        return np.shape(self.value)

    @property
    def dtype(self):
        """None for a Python number: it takes the dtype of what it meets, as in TensorFlow."""
        return getattr(self.value, "dtype", None)


class Operation(Node):
    """A node computed from its inputs by the op named `op_type` (see ops.py)."""

    dtype = None  # the output's float dtype where known before running (set by Op.apply)

    def __init__(self, op_type, inputs, attrs=None, name=None):
        self.op_type = op_type
        self.attrs = attrs or {}
        super().__init__(inputs, name=name)
        self.shape = _static_shape(self)

    def run(self, feed_dict=None, session=None):
        """Run this op in `session` or the default session (TensorFlow 1's op.run())."""
        _session(self, session, "run").run(self, feed_dict)


def _static_shape(node):
    """The output's shape as far as it is known before running (None for a size known only then),
    or None if not even the number of axes is known: the op's `infer_shape` works it out."""
    from .registry import OPS
    op = OPS.get(node.op_type)
    shapes = [getattr(x, "shape", None) for x in node.inputs]
    if op is None or any(s is None for s in shapes):
        return None
    try:
        shape = op.infer_shape([tuple(s) for s in shapes], node.attrs)
    except (ValueError, TypeError, IndexError):  # shapes that do not fit: the run explains it
        return None
    return None if shape is None else tuple(shape)


def _session(node, session, method):
    from .session import get_default_session
    session = session or get_default_session()
    if session is None:
        raise GraphError(f"cannot {method} {describe(node)}: no session is the default. Create a "
                         f"ds.InteractiveSession() first, run it inside `with ds.Session():`, or pass "
                         f"session=... (or use session.run({node.name})).")
    if node.graph is not session.graph:
        raise GraphError(f"cannot {method} {describe(node)} in the default session: the node belongs to another "
                         f"graph than the session's. Pass session=... for the node's graph.")
    return session


def float_dtype(inputs, op_type="op", name=None):
    """The one float dtype among the inputs' known dtypes, or None. As in TensorFlow 1, an op refuses
    to mix float32 and float64 nodes: numpy would quietly compute in float64."""
    found = {}
    for x in inputs:
        dtype = getattr(x, "dtype", None) if isinstance(x, Node) else None
        if dtype is not None and dtype.kind == "f":
            found.setdefault(dtype, x)
    if len(found) > 1:
        (a, x), (b, y) = list(found.items())[:2]
        raise GraphError(f"a {op_type} op{'' if name is None else f' {name!r}'} cannot mix {_typed(x)} with "
                         f"{_typed(y)}, as TensorFlow refuses to. Make them the same dtype: e.g. "
                         f"ds.constant(value.astype(np.{a.name})), or build both in {b.name}.")
    return next(iter(found), None)


def _typed(node):
    shape = getattr(node, "shape", None)
    return f"{describe(node)} of dtype {node.dtype}" + ("" if shape is None else f" and shape {format_shape(shape)}")


def to_node(value, op_type="op", position=0, dtype=None):
    """A node as it is, or a Python/numpy value wrapped as a constant (in `dtype`, a float dtype
    the op's other inputs have: as in TensorFlow, an array meeting a float32 node becomes float32)."""
    if isinstance(value, Node):
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return Constant(value)
    array = _as_array(value, f"{op_type} input #{position + 1}")
    return Constant(array if dtype is None or dtype.kind != "f" or array.dtype == dtype else array.astype(dtype))


# dtypes, named as in TensorFlow: ds.float32 is numpy's float32
float16, float32, float64 = np.float16, np.float32, np.float64
int32, int64 = np.int32, np.int64


def placeholder(dtype=None, shape=None, name=None):
    """A node whose value is fed at run time: `session.run(y, {x: value})`.

    `shape` may contain None for "any size", e.g. (None, 2) for a batch of 2-D points.
    TensorFlow 1's order, placeholder(ds.float32, (None, 2)), works; so does the shape alone
    or first, placeholder((None, 2)), since a shape (a tuple or list) is never a dtype.
    """
    if isinstance(dtype, (tuple, list)) and not isinstance(shape, (tuple, list)):
        dtype, shape = shape, dtype  # placeholder(shape) or placeholder(shape, dtype)
    if shape is not None and (not isinstance(shape, (tuple, list)) or
                              not all(d is None or (isinstance(d, numbers.Integral) and d >= 0) for d in shape)):
        raise TypeError(f"placeholder() got the shape {shape!r}; a shape is a tuple or list of sizes, "
                        "None for any size, e.g. placeholder(ds.float32, (None, 2)).")
    if dtype is not None:
        try:
            kind = np.dtype(dtype).kind
        except TypeError:
            kind = None
        if kind not in ("f", "i", "u", "b"):
            raise TypeError(f"placeholder() got the dtype {dtype!r}; give a numeric dtype such as ds.float32, "
                            "e.g. placeholder(ds.float32, (None, 2)).")
    return Placeholder(shape=shape, dtype=dtype, name=name)


def placeholder_with_default(default, shape=None, name=None):
    """A placeholder that takes `default` when it is not fed (e.g. a training flag)."""
    array = np.asarray(default)
    return Placeholder(shape=array.shape if shape is None else shape, dtype=array.dtype,
                       name=name, default=array)


def constant(value, name=None):
    """A node with a fixed value."""
    return Constant(value, name=name)


def zeros(shape, dtype=float32, name=None):
    """A constant of zeros; float32 unless told otherwise, as in TensorFlow (ds.Variable(ds.zeros([3])))."""
    return Constant(np.zeros(shape, dtype), name=name or "zeros")


class Initializer(Operation):
    """Running it sets each Variable back to its initial value, and resets the state of the nodes
    that keep some (reset_state(): an optimizer's momentum, for one)."""

    changes_state = True

    def __init__(self, graph, name=None):
        self.variables = tuple(graph.variables)
        self.stateful = tuple(n for n in graph.nodes if hasattr(n, "reset_state"))
        super().__init__("Initializer", (), name=name or "init")

    def compute(self, values):
        for v in self.variables:
            v.value = v.initial_value.copy()
        for node in self.stateful:
            node.reset_state()


def global_variables_initializer():
    """TensorFlow 1's init op. Our Variables hold a value from the start, so running it is needed
    only to start again: it resets every Variable of the graph (and the optimizers' state)."""
    return Initializer(get_default_graph())
