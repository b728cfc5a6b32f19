"""Graphs as data, for student functions that take graph nodes (assignment 2's `topological_order(loss)`
and `backprop(loss, values)`).

Grader side, `GraphWriter`: the first node a call's arguments mention brings its whole graph along
(dead branches included: a consumer off the path to the loss is part of the exercise), each node as

    {"id", "graph", "kind": Variable | Constant | Placeholder | Operation | Node, "type": op type,
     "name", "inputs": [ids], "attrs", "value", "shape", "dtype", "trainable", "default"}

with values and attrs as protocol trees (arrays as raw bytes). The node itself crosses as
{"t": "node", "id": id}; a {node: value} dict as its pairs.

Sandbox side, `GraphReader`: rebuilds the nodes with the library's own classes (so `node.inputs`,
`node.consumers`, `isinstance(node, ds.Operation)`, `ds.gradient_rule(node.op_type)` and
`ds.OpContext` work as in a kernel), and sends the nodes of the answer back as their ids.

Nothing about the order crosses: the ids are a random permutation, the nodes are described (and
so listed in `graph.nodes` and in each `consumers`) in a random order, and {node: value} dicts go
in a random order. A kernel's graph lists its nodes in creation order, its ids count up, and the
values of a forward pass come in the order the Session ran them: each a topological order for the
taking. The rebuilding itself follows no order either (nodes first, then their inputs), so the
sandbox holds no traversal a student could borrow.

This module must not import nbgrader or Jupyter: the sandbox imports it from the stripped library.
"""
import itertools
import random
import secrets

import numpy as np

from ...core.graph import Constant, Graph, Node, Operation, Placeholder, Variable
from .protocol import ProtocolError, decode, encode, opaque

KINDS = (("Variable", Variable), ("Constant", Constant), ("Placeholder", Placeholder), ("Operation", Operation),
         ("Node", Node))
CLASSES = dict(KINDS)
NEW_NODE = "node_made_by_your_code"  # a node the answer holds that is not in the graphs sent


def _shape(shape):
    return None if shape is None else [None if d is None else int(d) for d in shape]


def _ordered(nodes):
    """Whether each of `nodes` comes after those of its inputs that are in the list."""
    position = {n: i for i, n in enumerate(nodes)}
    return all(position.get(x, -1) < i for i, n in enumerate(nodes) for x in n.inputs)


class GraphWriter:
    """The grader's side: nodes to ids (describing their graphs into `arrays` as they come), ids back to nodes."""

    def __init__(self, arrays, rng=None):
        self.arrays = arrays
        self.rng = rng or random.Random(secrets.randbits(64))
        self.ids, self.nodes, self.graphs, self.descriptions = {}, {}, {}, []

    def encode_node(self, value):
        if not isinstance(value, Node):
            return None
        if value not in self.ids:
            self._describe(value)
        return {"t": "node", "id": self.ids[value]}

    def decode_node(self, i):
        node = self.nodes.get(i)
        return node if node is not None else opaque(NEW_NODE)

    def order(self, items):
        if any(isinstance(k, Node) for k, _ in items):
            order = self._scramble([k for k, _ in items])
            values = dict(items)
            items = [(k, values[k]) for k in order]
        return items

    def _scramble(self, nodes, behind=None):
        """`nodes` in a random order that is neither a topological order nor its reverse, also when only the
        nodes `behind` the node asked about are kept, or only the ops (a backprop skips the leaves), or
        both (where such an order exists: a graph of one edge has no other). So no order a student
        could borrow is left by chance."""
        for _ in range(64):
            self.rng.shuffle(nodes)
            kept = nodes if behind is None else [n for n in nodes if n in behind]
            orders = (nodes, kept, [n for n in nodes if isinstance(n, Operation)],
                      [n for n in kept if isinstance(n, Operation)])
            if not any(_ordered(order) or _ordered(order[::-1]) for order in orders):
                break
        return nodes

    def make_dict(self, pairs, run):
        return dict(pairs)

    def _describe(self, node):
        """Describe the graph of `node` (every node in it, and any input outside it) in a random order."""
        graph = self.graphs.setdefault(id(node.graph), len(self.graphs))
        todo, seen = [n for n in getattr(node.graph, "nodes", ()) if n not in self.ids] + [node], set()
        new = []
        while todo:  # the graph's nodes, and inputs from elsewhere (not expected, but then still described)
            n = todo.pop()
            if n in seen or n in self.ids:
                continue
            seen.add(n)
            new.append(n)
            todo.extend(x for x in n.inputs if x not in seen and x not in self.ids)
        behind, todo = set(), [node]  # the nodes `node` depends on (the loss's, usually)
        while todo:
            n = todo.pop()
            if n not in behind:
                behind.add(n)
                todo.extend(n.inputs)
        by_id = self._scramble(list(new), behind)  # the order of the ids, then of graph.nodes: neither says anything
        ids = dict(zip(by_id, range(len(self.nodes), len(self.nodes) + len(new))))
        new = self._scramble(new, behind)
        for n, i in ((n, ids[n]) for n in new):
            self.ids[n], self.nodes[i] = i, n
        for n in new:
            self.descriptions.append(self._description(n, graph))

    def _description(self, node, graph):
        kind = next(name for name, cls in KINDS if isinstance(node, cls))
        d = {"id": self.ids[node], "graph": graph, "kind": kind, "type": str(node.op_type), "name": str(node.name),
             "inputs": [self.ids[x] for x in node.inputs]}
        if kind == "Operation":
            d["attrs"] = encode(dict(node.attrs), self.arrays)
            d["shape"] = _shape(getattr(node, "shape", None))
        if kind in ("Variable", "Constant"):
            d["value"] = encode(node.value, self.arrays)
        if kind == "Variable":
            d["trainable"] = bool(node.trainable)
        if kind == "Placeholder":
            d["shape"] = _shape(node.shape)
            d["default"] = encode(node.default, self.arrays)
        dtype = getattr(node, "dtype", None)
        d["dtype"] = None if dtype is None else np.dtype(dtype).str
        return d


class GraphReader:
    """The sandbox's side: the graphs of one call rebuilt from their descriptions; nodes to ids and back."""

    def __init__(self, descriptions, arrays):
        self.nodes, self.ids, graphs = {}, {}, {}
        for d in descriptions:  # first the nodes, in the random order they came in
            node = self._node(d, arrays, graphs)
            self.nodes[d["id"]], self.ids[node] = node, d["id"]
        for d in descriptions:  # then their inputs (and so the consumers)
            node = self.nodes[d["id"]]
            try:
                node.inputs = tuple(self.nodes[int(i)] for i in d["inputs"])
            except (KeyError, TypeError, ValueError):
                raise ProtocolError("a node's input is not in the graph") from None
            for x in node.inputs:
                if node not in x.consumers:
                    x.consumers.append(node)
        for graph in graphs.values():
            graph._ids = itertools.count(max((n.id for n in graph.nodes), default=-1) + 1)

    @staticmethod
    def _node(d, arrays, graphs):
        cls = CLASSES.get(str(d.get("kind")), Node)
        node = cls.__new__(cls)
        graph = graphs.get(d.get("graph"))
        if graph is None:
            graph = graphs[d.get("graph")] = Graph()
        node.graph, node.id, node.name = graph, int(d["id"]), str(d["name"])
        node.inputs, node.consumers = (), []
        dtype = None if d.get("dtype") is None else np.dtype(str(d["dtype"]))
        shape = None if d.get("shape") is None else tuple(None if s is None else int(s) for s in d["shape"])
        if cls is Operation:
            node.op_type, node.attrs, node.shape = str(d["type"]), decode(d["attrs"], arrays), shape
            if dtype is not None:
                node.dtype = dtype
        elif cls is Variable:
            value = decode(d["value"], arrays)
            node.value = value if isinstance(value, np.ndarray) else np.asarray(value)
            node.initial_value, node.trainable = node.value.copy(), bool(d.get("trainable", True))
        elif cls is Constant:
            node.value = decode(d["value"], arrays)
        elif cls is Placeholder:
            node.shape, node.dtype, node._fitting_shapes = shape, dtype, set()
            node.default = decode(d.get("default"), arrays)
        else:
            node.op_type = str(d["type"])
        graph.nodes.append(node)
        graph._by_name[node.name] = node
        return node

    def encode_node(self, value):
        if not isinstance(value, Node):
            return None
        i = self.ids.get(value)
        return {"t": "opaque", "type": NEW_NODE} if i is None else {"t": "node", "id": i}

    def decode_node(self, i):
        try:
            return self.nodes[i]
        except KeyError:
            raise ProtocolError("no such node") from None

    def order(self, items):
        return items

    def make_dict(self, pairs, run):
        """A {node: value} dict; as the Session's RunValues (with a context per op) where the grader's was one."""
        if not run:
            return dict(pairs)
        from ...core.registry import OPS, OpContext
        from ...core.session import RunValues
        values = RunValues(pairs)
        values.contexts = {node: OpContext(node, [values[x] for x in node.inputs], value)
                           for node, value in values.items()
                           if isinstance(node, Operation) and node.op_type in OPS
                           and all(x in values for x in node.inputs)}
        return values
