"""Session: runs parts of a graph. The forward pass is one plain loop over a cached order."""
import contextlib
import threading

import numpy as np

from .errors import (
    DLScratchError,
    FeedError,
    GraphError,
    NumericsError,
    ResourceExhaustedError,
    SessionError,
    ShapeError,
    describe,
)
from .graph import Constant, Node, Placeholder, Variable, get_default_graph
from .registry import OPS, OpContext
from .traversal import topological_order

# What numpy raises when an op's inputs don't fit; Session explains it in the graph's terms.
NUMPY_ERRORS = (ValueError, TypeError, IndexError, FloatingPointError, MemoryError)

CHECK_NUMERICS = {"always": False}  # ds.debugging.enable_check_numerics() turns it on for every session


def watching_numerics(check):
    """A `with` block in which numpy raises (FloatingPointError) where it would make inf or NaN, if `check`."""
    return np.errstate(divide="raise", over="raise", invalid="raise") if check else _UNWATCHED


_UNWATCHED = contextlib.nullcontext()  # reusable, and cheaper than np.errstate() for the usual run


class RunValues(dict):
    """{node: value} for one run, plus `contexts`: {op node: the OpContext of its forward},
    which backprop hands to each op's backward. Nothing of a run outlives it."""

    __slots__ = ("contexts", "check_numerics")

    def __init__(self, values=(), check_numerics=False):
        super().__init__(values)
        self.contexts = {}
        self.check_numerics = check_numerics  # backprop checks the gradients too


class Session:
    """Runs parts of a graph: `session.run(fetches, feed_dict)`.

    `fetches` is a node, or a list, tuple, namedtuple or dict of them (nested as
    you like); the result has the same structure. Every node is computed at most
    once per run. With check_numerics=True (or after ds.debugging.enable_check_numerics()),
    the first op whose output, or whose gradient, holds a NaN or an infinity stops
    the run with a NumericsError that names it; so does a fed value with NaN or inf.
    """

    def __init__(self, graph=None, check_numerics=False):
        self.graph = graph or get_default_graph()
        self.check_numerics = check_numerics
        self.closed = False

    def __enter__(self):  # inside `with`, it is the default session: node.eval() and op.run() use it
        _default_sessions().append(self)
        return self

    def __exit__(self, *exc):
        _default_sessions().remove(self)
        self.close()

    def close(self):
        """Nothing to release, but as in TensorFlow a closed session refuses to run."""
        self.closed = True

    def run(self, fetches, feed_dict=None):
        values = self.evaluate_all(fetches, feed_dict)
        return _rebuild(fetches, values)

    def evaluate_all(self, fetches, feed_dict=None):
        """{node: value} for every node evaluated to compute `fetches`: the forward pass."""
        self._refuse_if_closed()
        check = self.check_numerics or CHECK_NUMERICS["always"]
        values = RunValues(self._feeds(feed_dict, check), check)
        order, node = self._order(fetches, values), None
        try:
            with watching_numerics(check):
                for node in order:
                    if node in values:  # fed: as in TensorFlow, any node may be fed
                        continue
                    op = OPS.get(node.op_type)
                    if op is not None:  # an op: computed from its inputs, with a fresh context for backprop
                        ctx = OpContext(node, [values[x] for x in node.inputs])
                        ctx.output = values[node] = op.forward(ctx, *ctx.inputs, **node.attrs)
                        values.contexts[node] = ctx
                        if check:
                            check_finite(node, ctx.output, ctx.inputs)
                    elif isinstance(node, Placeholder):
                        values[node] = self._unfed(node, fetches)
                    elif isinstance(node, (Variable, Constant)):
                        values[node] = node.value
                    else:  # gradients and training steps work on the run so far
                        values[node] = node.compute(values)
        except NUMPY_ERRORS as e:
            if isinstance(e, DLScratchError) or (node.op_type not in OPS and not isinstance(e, FloatingPointError)):
                raise  # explained where it happened (a training step's own inf or NaN is explained below)
            raise _forward_error(node, values, e) from e
        return values

    def _refuse_if_closed(self):
        if self.closed:  # as in TensorFlow
            raise SessionError("this session was closed (by session.close(), or at the end of its `with` "
                               "block), so it cannot run anything. Make a new one: ds.Session().")

    def _order(self, fetches, fed):
        """The nodes to evaluate, inputs first; worked out once per (fetches, fed nodes)."""
        nodes = tuple(_flatten(fetches, []))
        key = ("forward", nodes, tuple(fed))
        order = self.graph.cache.get(key)
        if order is None:
            for node in nodes:
                if node.graph is not self.graph:
                    raise GraphError(f"cannot fetch {describe(node)}: it belongs to another graph than this "
                                     "session's. Create the Session after building the graph, or pass "
                                     "Session(graph=...).")
            order = topological_order(nodes, leaves=fed)
            order.sort(key=lambda n: getattr(n, "changes_state", False))  # training steps go last
            self.graph.cache[key] = order
        return order

    def _feeds(self, feed_dict, check=False):
        if feed_dict is None:
            return {}
        if not isinstance(feed_dict, dict):
            raise FeedError(f"feed_dict must be a dict {{placeholder: value}}, not a {type(feed_dict).__name__} "
                            f"({feed_dict!r}); e.g. session.run(y, feed_dict={{x: [[1.0, 2.0]]}}).")
        feeds = {}
        for node, value in feed_dict.items():
            if not isinstance(node, Node):
                raise FeedError(f"feed_dict's keys must be nodes (placeholders, usually), but one is "
                                f"{node!r}. Make that value a ds.placeholder and feed it{_by_name(node)}.")
            if node.graph is not self.graph:
                raise GraphError(f"feed_dict has {describe(node)}, which belongs to another graph than "
                                 "this session's.")
            if isinstance(value, Node):
                raise FeedError(f"the value fed for {describe(node)} is the node {describe(value)}; a feed's value "
                                "must be a number or an array, not a node. Compute it first, "
                                f"value = session.run({value.name}), and feed that value.")
            feeds[node] = node.check_feed(value)
            if check:
                check_finite(node, feeds[node])
        return feeds

    def _unfed(self, node, fetches):
        if node.default is not None:
            return node.default
        wanted = ", ".join(describe(f) for f in _flatten(fetches, [])) or "the fetches"
        shape = "" if node.shape is None else f" of shape {tuple(node.shape)}"
        raise FeedError(f"placeholder {describe(node)} needs a value to compute {wanted}: pass it in "
                        f"feed_dict, e.g. session.run(..., feed_dict={{{node.name}: an array{shape}}}).")


_thread = threading.local()


def _default_sessions():
    """This thread's stack of default sessions, innermost last (per thread, as in TensorFlow)."""
    if not hasattr(_thread, "sessions"):
        _thread.sessions = []
    return _thread.sessions


def get_default_session():
    """The session node.eval() and op.run() use: the innermost `with ds.Session()`, or an InteractiveSession."""
    stack = _default_sessions()
    return stack[-1] if stack else None


class InteractiveSession(Session):
    """A Session that makes itself the default until closed, for notebooks and short scripts (as in TensorFlow 1)."""

    def __init__(self, graph=None, check_numerics=False):
        super().__init__(graph, check_numerics)
        _default_sessions().append(self)

    def close(self):
        super().close()
        stack = _default_sessions()
        if self in stack:
            stack.remove(self)


def _by_name(key):
    """A hint for a node given by its name, as TensorFlow's 'x:0'."""
    if not isinstance(key, str):
        return ""
    name = key[:-2] if key.endswith(":0") else key
    return f"; for the node named {name!r}, use graph.get_node({name!r})"


def check_finite(node, value, inputs=None):
    """check_numerics: stop at the first op (or fed value) with a NaN or an infinity, and name it."""
    if np.all(np.isfinite(value)):
        return
    raise NumericsError(numerics_message(node, _nonfinite(value), inputs, np.shape(value)))


def _nonfinite(value):
    return "NaN" if np.any(np.isnan(value)) else "inf"


def numerics_message(node, what, inputs, shape=None):
    """Which node made `what` (NaN, inf, or numpy's complaint) from which inputs, and what to do."""
    if inputs is None:  # a fed value
        return (f"the value fed for {describe(node)} (shape {shape}) has {what}: it was fed that way. Clean the "
                "data before feeding it (np.isnan, np.isinf show where).")
    listed = ", ".join(f"{describe(x)} of shape {np.shape(v)} ({'finite' if np.all(np.isfinite(v)) else 'NOT finite'})"
                       for x, v in zip(node.inputs, inputs))
    output = "" if shape is None else f" in its output of shape {shape}"
    stored = [x for x, v in zip(node.inputs, inputs)
              if isinstance(x, (Variable, Constant)) and not np.all(np.isfinite(v))]
    if stored:  # not made in this run: it was already in the graph's state
        return (f"op {describe(node)} produced {what}{output}, because its input {describe(stored[0])} already "
                f"holds it (inputs: {listed}). A Variable gets NaN or inf from a diverging update: lower the "
                "learning rate, and re-initialise it.")
    return (f"op {describe(node)} produced {what}{output}, from its inputs {listed}. It is the first op in "
            "this run to do so: look at its inputs' values, or use a stable form (log_softmax, clip_by_value "
            "before log, a smaller learning rate).")


def _forward_error(node, values, error):
    shapes = [np.shape(values[x]) for x in node.inputs]
    inputs = ", ".join(f"{describe(x)} of shape {s}" for x, s in zip(node.inputs, shapes))
    if isinstance(error, FloatingPointError):  # np.errstate(... = "raise"), or check_numerics
        what = f"inf or NaN (numpy's floating-point check, np.errstate or check_numerics, stopped it: {error})"
        return NumericsError(numerics_message(node, what, [values[x] for x in node.inputs]))
    if isinstance(error, MemoryError):
        return ResourceExhaustedError(f"op {describe(node)} ran out of memory on its inputs {inputs} ({error}). "
                                      "Feed smaller batches, or check the shapes for an accidental broadcast, "
                                      "e.g. (N, 1) against (N,) makes an (N, N) array.")
    why = OPS[node.op_type].explain(shapes, node.attrs) if node.op_type in OPS else str(error)
    return ShapeError(f"op {describe(node)} failed on its inputs {inputs}: {why}. (numpy said: {error})")


def _flatten(fetches, nodes):
    """The nodes in a (nested) node, list, tuple, namedtuple or dict of nodes, in order."""
    if isinstance(fetches, Node):
        nodes.append(fetches)
    elif isinstance(fetches, dict):
        for f in fetches.values():
            _flatten(f, nodes)
    elif isinstance(fetches, (list, tuple)):
        for f in fetches:
            _flatten(f, nodes)
    else:
        raise GraphError(f"session.run() can fetch nodes, or lists, tuples and dicts of nodes, "
                         f"not a {type(fetches).__name__} ({fetches!r}){_by_name(fetches)}.")
    return nodes


def _rebuild(fetches, values):
    """The fetched values in the structure of `fetches`, each the caller's own copy."""
    if isinstance(fetches, Node):
        value = values[fetches]
        return None if value is None else np.array(value)  # a copy: never the graph's own state
    if isinstance(fetches, dict):
        return type(fetches)((k, _rebuild(f, values)) for k, f in fetches.items())
    rebuilt = [_rebuild(f, values) for f in fetches]
    if hasattr(fetches, "_fields"):  # a namedtuple
        return type(fetches)(*rebuilt)
    return rebuilt if type(fetches) is list else type(fetches)(rebuilt)

