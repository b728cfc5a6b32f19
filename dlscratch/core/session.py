"""Session: evaluates nodes, each once per run, in an order worked out once per set of fetches."""
import functools

import numpy as np

from .errors import FeedError, GraphError, ShapeError, describe
from .graph import Constant, Node, Operation, Placeholder, Variable, get_default_graph
from .ops import OPS, saves_for_backward
from .registry import FORWARD
from .traversal import topological_order

# How each step of a run gets its value.
_FEED, _STATE, _STATE_COPY, _OP1, _OP2, _OPN, _SAVES, _RUNNER = range(8)


class RunValues(dict):
    """{node: value} of one run, plus `saved`: what ops kept for their backward pass (Op.saves)."""

    __slots__ = ("saved",)  # set by Session.evaluate (a Python __init__ would cost every run)

class Session:
    """Runs parts of a graph: `session.run(fetches, feed_dict)`.

    `fetches` is a node, or a list, tuple or dict of nodes; the result has the
    same structure. Every node is computed at most once per run.
    """

    def __init__(self, graph=None):
        self.graph = graph or get_default_graph()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        pass  # nothing to release; kept for TensorFlow-style code

    def run(self, fetches, feed_dict=None):
        nodes = []
        _collect(fetches, nodes)
        steps = self._plan(tuple(nodes))
        values = self.evaluate(steps, feed_dict or {}, nodes)
        return _rebuild(fetches, values)

    def evaluate_all(self, fetches, feed_dict=None):
        """{node: value} for every node evaluated to compute `fetches`, for renderings and teaching."""
        nodes = []
        _collect(fetches, nodes)
        return self.evaluate(self._plan(tuple(nodes)), feed_dict or {}, nodes)

    def _plan(self, fetches):
        key = ("forward", fetches)
        steps = self.graph.cache.get(key)
        if steps is None:
            for node in fetches:
                if node.graph is not self.graph:
                    raise GraphError(f"cannot fetch {describe(node)}: it belongs to another graph than this "
                                     "session's. Create the Session after building the graph, or pass "
                                     "Session(graph=...).")
            order = topological_order(fetches)
            # Steps that change state (training) go last, after every value fetched.
            order.sort(key=lambda n: getattr(n, "changes_state", False))
            fetched = set(fetches)
            steps = [_step(node, node in fetched) for node in order]
            self.graph.cache[key] = steps
        return steps

    def evaluate(self, steps, feed_dict, fetches=()):
        """Run the steps; return {node: value} for every node evaluated."""
        values = RunValues()
        values.saved = {}
        for key, value in feed_dict.items():
            if not isinstance(key, Placeholder):
                raise FeedError(f"only placeholders can be fed, but feed_dict has a key {key!r}. "
                                "Make that value a ds.placeholder and feed it.")
            if key.graph is not self.graph:
                raise GraphError(f"feed_dict has {describe(key)}, which belongs to another graph than "
                                 "this session's.")
            values[key] = key.check_feed(value)
        kind = node = None
        try:
            for kind, node, fn, a, b in steps:
                if kind == _OP2:
                    values[node] = fn(values[a], values[b])
                elif kind == _OP1:
                    values[node] = fn(values[a])
                elif kind == _STATE:  # Variables and constants
                    values[node] = node.value
                elif kind == _FEED:
                    if node not in values:
                        values[node] = self._unfed(node, fetches)
                elif kind == _OPN:
                    values[node] = fn(*[values[x] for x in a])
                elif kind == _STATE_COPY:  # a fetched Variable: the caller gets its own copy
                    values[node] = node.value.copy()
                elif kind == _SAVES:
                    values[node], values.saved[node] = fn(*[values[x] for x in a])
                else:
                    values[node] = node.compute(values, self)
        except (ValueError, TypeError, IndexError) as e:
            if kind in (_OP1, _OP2, _OPN, _SAVES):  # numpy failed inside an op: explain it in our terms
                raise _forward_error(node, values, e) from e
            raise  # from a gradient rule or a feed: already explained where it happened
        return values

    def _unfed(self, node, fetches):
        if node.default is not None:
            return node.default
        wanted = ", ".join(describe(f) for f in fetches) or "the fetches"
        shape = "" if node.shape is None else f" of shape {tuple(node.shape)}"
        raise FeedError(f"placeholder {describe(node)} needs a value to compute {wanted}: pass it in "
                        f"feed_dict, e.g. session.run(..., feed_dict={{{node.name}: an array{shape}}}).")


def _step(node, fetched):
    """(kind, node, function, input a, input b): the ops' attrs are bound once, here."""
    if isinstance(node, Operation):
        if hasattr(node, "compute"):
            return (_RUNNER, node, None, None, None)
        fn = FORWARD[node.op_type]
        if node.attrs:
            fn = functools.partial(fn, **node.attrs)
        inputs = node.inputs
        if saves_for_backward(node.op_type):
            return (_SAVES, node, fn, inputs, None)
        if len(inputs) == 1:
            return (_OP1, node, fn, inputs[0], None)
        if len(inputs) == 2:
            return (_OP2, node, fn, inputs[0], inputs[1])
        return (_OPN, node, fn, inputs, None)
    if isinstance(node, Placeholder):
        return (_FEED, node, None, None, None)
    if isinstance(node, Variable) and fetched:
        return (_STATE_COPY, node, None, None, None)
    if isinstance(node, (Variable, Constant)):
        return (_STATE, node, None, None, None)
    raise GraphError(f"do not know how to evaluate {describe(node)}")


def _forward_error(node, values, error):
    shapes = [np.shape(values[x]) for x in node.inputs]
    inputs = ", ".join(f"{describe(x)} of shape {s}" for x, s in zip(node.inputs, shapes))
    op = OPS.get(node.op_type)
    why = op.explain(shapes, node.attrs) if op is not None else str(error)
    return ShapeError(f"op {describe(node)} failed on its inputs {inputs}: {why}. (numpy said: {error})")


def _collect(fetches, nodes):
    if isinstance(fetches, Node):
        nodes.append(fetches)
    elif isinstance(fetches, dict):
        for f in fetches.values():
            _collect(f, nodes)
    elif isinstance(fetches, (list, tuple)):
        for f in fetches:
            _collect(f, nodes)
    else:
        raise GraphError(f"session.run() can fetch nodes, or lists, tuples and dicts of nodes, "
                         f"not a {type(fetches).__name__} ({fetches!r}).")


def _rebuild(fetches, values):
    if isinstance(fetches, Node):
        value = values[fetches]
        return np.asarray(value) if isinstance(value, float) else value
    if isinstance(fetches, dict):
        return {k: _rebuild(f, values) for k, f in fetches.items()}
    rebuilt = [_rebuild(f, values) for f in fetches]
    return rebuilt if type(fetches) is list else type(fetches)(rebuilt)
