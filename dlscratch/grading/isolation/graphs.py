"""Graphs as data, for student functions that take or return graph nodes (assignment 2's
`backprop(loss, values)`, assignment 3's `cross_entropy(logits, labels)` and update steps,
assignment 4's `evaluate(fetches, feed_dict)`).

Grader side, `GraphWriter`: the first node a call's arguments mention brings its whole graph along
(dead branches included: a consumer off the path to the loss is part of the exercise), each node as

    {"id", "graph", "kind": Variable | Constant | Placeholder | Operation | Node, "type": op type,
     "name", "inputs": [ids], "attrs", "value", "shape", "dtype", "trainable", "default"}

with values and attrs as protocol trees (arrays as raw bytes). The node itself crosses as
{"t": "node", "id": id}; a {node: value} dict as its pairs.

Sandbox side, `GraphReader`: rebuilds the nodes with the library's own classes (so `node.inputs`,
`node.consumers`, `isinstance(node, ds.Operation)`, `ds.gradient_rule(node.op_type)` and
`ds.OpContext` work as in a kernel), and sends the nodes of the answer back as their ids.

Both tables live for one test cell, so the nodes of one call are the same objects in the next (an
optimizer's `state` dict, keyed by Variables, keeps working). Around each call:

- Variables: the writer sends the values the grader changed since the last call; the reader sends
  back the Variables the student's code changed, saying whether the array was replaced or changed
  in place, and the writer does the same to the grader's Variables (the checks look for both).
- Nodes the student's code made (a loss built from ops) come back described like the grader's, with
  negative ids; the writer builds them in the grader's graph with the grader's own op registry
  (`OPS[type].apply`), so the checks run them on the grader's engine. Only registered op types and
  data attrs are accepted.
- Functions of the grader's (a check's `step`) cross as callbacks: calling one in the sandbox asks
  the grader to run it with data and waits for its answer. A function that says what it is
  (`function.mirror = (kind, args)`, of a kind the child knows) is mirrored instead: the sandbox
  runs its own copy, records what each call was given, and puts the copy's Variables back when
  the student's call returns; the grader then makes the same calls to its own function, in order
  (preprocessor.py: `IsolatedRun._replay`). So the grader's state is its own, reached without a
  round trip per call (a mini-batch loop makes hundreds). The copy only saves time: it decides nothing.
- Dicts keep their identity: a dict the grader passes again is the sandbox's same dict, with what
  the student's code put in it.

Nothing about the order crosses: the ids are a random permutation, the nodes are described (and
so listed in `graph.nodes` and in each `consumers`) in a random order, and {node: value} dicts go
in a random order. A kernel's graph lists its nodes in creation order, its ids count up, and the
values of a forward pass come in the order the Session ran them: each a topological order for the
taking. The rebuilding itself follows no order either (nodes first, then their inputs), so the
sandbox holds no traversal a student could borrow; the nodes the student made are described in a
random order too, and put in order on the grader's side.

This module must not import nbgrader or Jupyter: the sandbox imports it from the stripped library.
"""
import itertools
import math
import random
import secrets
import types

import numpy as np

from ...core.graph import Constant, Graph, Node, Operation, Placeholder, Variable
from .protocol import ProtocolError, decode, encode, opaque

KINDS = (("Variable", Variable), ("Constant", Constant), ("Placeholder", Placeholder), ("Operation", Operation),
         ("Node", Node))
CLASSES = dict(KINDS)
NEW_NODE = "node_made_by_your_code"  # a node of the answer's that cannot be rebuilt on the grader's side
MAX_NEW_ELEMENTS = 2 ** 24  # numbers in one op the student's code made, run on the grader's side (128 MiB)
CALLBACKS = (types.FunctionType, types.MethodType, types.BuiltinFunctionType)


def _shape(shape):
    return None if shape is None else [None if d is None else int(d) for d in shape]


def _ordered(nodes):
    """Whether each of `nodes` comes after those of its inputs that are in the list."""
    position = {n: i for i, n in enumerate(nodes)}
    return all(position.get(x, -1) < i for i, n in enumerate(nodes) for x in n.inputs)


def _has_edge(nodes):
    """Whether some node of `nodes` has an input among them (else every order of them is as good)."""
    members = set(nodes)
    return any(x in members for n in nodes for x in n.inputs)


def _description(node, i, graph, ids, arrays):
    """One node as data: what the other side needs to rebuild it."""
    kind = next(name for name, cls in KINDS if isinstance(node, cls))
    d = {"id": i, "graph": graph, "kind": kind, "type": str(node.op_type), "name": str(node.name),
         "inputs": [ids[x] for x in node.inputs]}
    if kind == "Operation":
        d["attrs"] = encode(dict(node.attrs), arrays)
        d["shape"] = _shape(getattr(node, "shape", None))
    if kind in ("Variable", "Constant"):
        d["value"] = encode(node.value, arrays)
    if kind == "Variable":
        d["trainable"] = bool(node.trainable)
    if kind == "Placeholder":
        d["shape"] = _shape(node.shape)
        d["default"] = encode(node.default, arrays)
    dtype = getattr(node, "dtype", None)
    try:
        d["dtype"] = None if dtype is None else np.dtype(dtype).str
    except TypeError:
        d["dtype"] = None
    return d


_ndarray = np.ndarray  # bound now: the student's code, in the same process, may rebind numpy's names


def _same(a, b):
    """Whether `a` is still what its copy `b` was, bit for bit, by ndarray's own methods only (which no
    student code can patch: numpy's module functions it can)."""
    return isinstance(a, _ndarray) and a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _copy(value):
    return value.copy() if isinstance(value, _ndarray) else value


class GraphWriter:
    """The grader's side: nodes to ids (describing their graphs into `arrays` as they come), ids back
    to nodes, the student's new nodes built here, Variables kept in step, callbacks and dicts."""

    def __init__(self, arrays=None, rng=None):
        self.rng = rng or random.Random(secrets.randbits(64))
        self.ids, self.nodes, self.graphs, self.graph_objects = {}, {}, {}, {}
        self.synced = {}  # Variable -> (its array, a copy) as the sandbox last saw it
        self.callbacks, self.dicts = {}, {}  # id -> function; id(dict) -> (dict, handle)
        self.begin(arrays if arrays is not None else [])

    def begin(self, arrays):
        """Start a message whose arrays go into `arrays`."""
        self.arrays, self.descriptions = arrays, []
        return self

    # --- nodes out -------------------------------------------------------------------------------

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
        both. Where a graph allows no such order for one of these lists (a single op, one edge), the
        others still get one: of 64 draws, the one that gives the fewest of them away is kept."""
        best, best_score = list(nodes), None
        for _ in range(64):
            self.rng.shuffle(nodes)
            kept = nodes if behind is None else [n for n in nodes if n in behind]
            orders = (nodes, kept, [n for n in nodes if isinstance(n, Operation)],
                      [n for n in kept if isinstance(n, Operation)])
            score = sum(_ordered(order) or _ordered(order[::-1]) for order in orders if _has_edge(order))
            if best_score is None or score < best_score:
                best, best_score = list(nodes), score
            if score == 0:
                break
        nodes[:] = best
        return nodes

    def make_dict(self, pairs, run):
        return dict(pairs)

    def graph_index(self, graph):
        """The index of `graph` if its nodes have crossed (the sandbox has it), else None."""
        index = self.graphs.get(id(graph))
        return index if index is not None and self.graph_objects.get(index) is graph else None

    def _describe(self, node):
        """Describe the graph of `node` (every node in it, and any input outside it) in a random order."""
        graph = self.graphs.setdefault(id(node.graph), len(self.graphs))
        self.graph_objects[graph] = node.graph
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
        first = max(self.nodes, default=-1) + 1
        by_id = self._scramble(list(new), behind)  # the order of the ids, then of graph.nodes: neither says anything
        ids = dict(zip(by_id, range(first, first + len(new))))
        new = self._scramble(new, behind)
        for n, i in ((n, ids[n]) for n in new):
            self.ids[n], self.nodes[i] = i, n
        for n in new:
            self.descriptions.append(_description(n, self.ids[n], graph, self.ids, self.arrays))
            if isinstance(n, Variable):
                self._seen(n)

    # --- Variables, callbacks, dicts -------------------------------------------------------------

    def variable_updates(self):
        """[[id, value]] for the Variables the grader changed since the sandbox last saw them."""
        updates = []
        for v, (array, copy) in self.synced.items():
            if v.value is not array or not _same(v.value, copy):
                updates.append([self.ids[v], encode(v.value, self.arrays)])
                self._seen(v)
        return updates

    def _seen(self, v):
        """The sandbox now has the Variable `v` with its present value."""
        self.synced[v] = (v.value, np.array(v.value, copy=True))

    def apply_variable_changes(self, changes, arrays):
        """Do to the grader's Variables what the student's code did to the sandbox's: replace the
        value, or change the same array in place."""
        for i, tree, in_place in changes:
            v = self.nodes.get(i)
            if not isinstance(v, Variable):
                raise ProtocolError("a changed Variable that is not one")
            new = decode(tree, arrays)
            old = v.value
            if in_place and isinstance(new, np.ndarray) and isinstance(old, np.ndarray) and old.flags.writeable \
                    and old.shape == new.shape:
                old[...] = new
            else:
                v.value = new
            self._seen(v)

    def encode_callable(self, value):
        if isinstance(value, CALLBACKS) and not isinstance(value, type):
            handle = len(self.callbacks)
            self.callbacks[handle] = value
            tree = {"t": "callback", "id": handle}
            mirror = getattr(value, "mirror", None)
            if isinstance(mirror, tuple) and len(mirror) == 2:
                tree["mirror"] = {"kind": str(mirror[0]), "args": encode(tuple(mirror[1]), self.arrays, nodes=self)}
            return tree
        return None

    def dict_handle(self, value):
        """The same handle every time the same dict is sent (kept alive here, so ids stay unique)."""
        entry = self.dicts.get(id(value))
        if entry is None or entry[0] is not value:
            entry = self.dicts[id(value)] = (value, len(self.dicts))
        return entry[1]

    def decoded_dict(self, handle, build):
        return build()

    def decode_callback(self, handle, mirror=None):
        return opaque("function")  # the sandbox's functions stay there

    # --- the student's nodes in ----------------------------------------------------------------------

    def receive(self, descriptions, arrays):
        """Build the nodes the student's code made, described by the sandbox, in the grader's graphs."""
        from ...core.registry import OPS
        pending = {}
        for d in descriptions or ():
            if not isinstance(d, dict) or type(d.get("id")) is not int or d["id"] >= 0 or d["id"] in self.nodes:
                raise ProtocolError("a new node needs a new negative id")
            pending[d["id"]] = d
        while pending:  # inputs first; in the order of no one's traversal but this loop's
            ready = [d for d in pending.values() if all(i in self.nodes for i in d.get("inputs", ()))]
            if not ready:
                raise ProtocolError("the new nodes' inputs are not all known (a cycle?)")
            for d in ready:
                del pending[d["id"]]
                node = self._build(d, arrays, OPS)
                self.ids[node], self.nodes[d["id"]] = d["id"], node
                if isinstance(node, Variable):
                    self._seen(node)

    def _build(self, d, arrays, ops):
        inputs = [self.nodes[i] for i in d.get("inputs", ())]
        if any(not isinstance(x, Node) for x in inputs):
            return opaque(NEW_NODE)
        graph = inputs[0].graph if inputs else self.graph_objects.get(d.get("graph"))
        if graph is None:
            graph = self.graph_objects[d.get("graph")] = Graph()
        kind, name = str(d.get("kind")), str(d.get("name", ""))[:200] or None
        try:
            with graph.as_default():
                if kind == "Operation":
                    cls = ops.get(str(d.get("type")))
                    if cls is None:  # an op only the student's code knows: nothing here can compute it
                        return opaque(f"node_of_the_unknown_op_{d.get('type')}")
                    attrs = decode(d.get("attrs", {"t": "dict", "v": {}}), arrays)
                    if not isinstance(attrs, dict) or "name" in attrs:
                        raise ProtocolError("an op's attrs are not a dict of settings")
                    node = cls.apply(*inputs, name=name, **attrs)
                    shape = getattr(node, "shape", None)  # the grader will run it: refuse what cannot fit
                    if shape is not None and None not in shape and math.prod(shape) > MAX_NEW_ELEMENTS:
                        raise ProtocolError(f"a node your code made, {node.name!r} ({node.op_type}), would hold "
                                            f"{math.prod(shape):,} numbers (shape {tuple(shape)})")
                    return node
                if kind == "Variable":
                    return Variable(decode(d.get("value"), arrays), name=name, trainable=bool(d.get("trainable")))
                if kind == "Constant":
                    return Constant(decode(d.get("value"), arrays), name=name)
                if kind == "Placeholder":
                    dtype = None if d.get("dtype") is None else np.dtype(str(d["dtype"]))
                    shape = d.get("shape")
                    shape = None if shape is None else tuple(None if s is None else int(s) for s in shape)
                    return Placeholder(shape=shape, dtype=dtype, name=name, default=decode(d.get("default"), arrays))
        except ProtocolError:
            raise
        except Exception as e:  # the library refused it (another graph, float32 with float64, ...)
            raise ProtocolError(f"a node your code made cannot be rebuilt: {type(e).__name__}: {e}") from None
        return opaque(NEW_NODE)


class GraphReader:
    """The sandbox's side: the graphs of one test cell rebuilt from their descriptions; nodes to ids
    and back; the student's new nodes described; Variables watched."""

    def __init__(self, descriptions=(), arrays=(), call_back=None, mirrors=None):
        self.nodes, self.ids, self.graphs, self.graph_ids = {}, {}, {}, {}
        self.outgoing, self.arrays, self.dicts, self.call_back = [], [], {}, call_back
        self.mirrors = mirrors or {}  # kind -> make(record, *args): a local copy of a grader's function
        self.mirrored, self.restores = [], []  # this call's: [handle, [[args, failed], ...]]; Variables to put back
        self.rng = random.Random(secrets.randbits(64))
        self.add(descriptions, arrays)

    def add(self, descriptions, arrays):
        """Rebuild the nodes described (the graphs the grader sent with one call)."""
        added = []
        for d in descriptions:  # first the nodes, in the random order they came in
            node = self._node(d, arrays, self.graphs)
            self.nodes[d["id"]], self.ids[node] = node, d["id"]
            added.append((d, node))
        for graph_index, graph in self.graphs.items():
            self.graph_ids[id(graph)] = graph_index
        for d, node in added:  # then their inputs (and so the consumers)
            try:
                node.inputs = tuple(self.nodes[int(i)] for i in d["inputs"])
            except (KeyError, TypeError, ValueError):
                raise ProtocolError("a node's input is not in the graph") from None
            for x in node.inputs:
                if node not in x.consumers:
                    x.consumers.append(node)
        for graph in self.graphs.values():
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

    def begin(self, arrays):
        """Start a message whose arrays go into `arrays` (the new nodes it mentions are described too)."""
        self.arrays, self.outgoing = arrays, []
        return self

    def encode_node(self, value):
        if not isinstance(value, Node):
            return None
        if value not in self.ids:
            self._describe_new(value)
        return {"t": "node", "id": self.ids[value]}

    def _describe_new(self, node):
        """Give `node` and the new nodes behind it negative ids, and describe them (in a random order:
        the grader puts them in order)."""
        new, todo = [], [node]
        while todo:
            n = todo.pop()
            if n in self.ids or not isinstance(n, Node):
                continue
            self.ids[n] = -(len(self.ids) + 1)
            self.nodes[self.ids[n]] = n
            new.append(n)
            todo.extend(n.inputs)
        self.rng.shuffle(new)
        for n in new:
            graph = self.graph_ids.setdefault(id(n.graph), -(len(self.graph_ids) + 1))
            self.graphs.setdefault(graph, n.graph)
            self.outgoing.append(_description(n, self.ids[n], graph, self.ids, self.arrays))

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

    def encode_callable(self, value):
        return None

    def decode_callback(self, handle, mirror=None):
        call_back = self.call_back

        def grader_function(*args, **kwargs):
            return call_back(handle, args, kwargs)
        make = self.mirrors.get(mirror[0]) if mirror is not None else None
        if make is None:
            return grader_function
        calls = []

        def record(*args):
            """Note a call's arguments, as the grader's function is to get them (copies: the student's code may
            change its arrays later); returns what to call when the call worked."""
            entry = [list(args), True]
            calls.append(entry)
            return lambda: entry.__setitem__(1, False)
        try:
            local, variables = make(record, *mirror[1])
        except (LookupError, TypeError):  # the library here cannot run it, or not as described: call back
            return grader_function
        self.mirrored.append([handle, calls])
        self.restores.extend((v, v.value) for v in variables)
        return local

    def end_call(self):
        """The student's call returned: [[handle, [[args, failed], ...]], ...] for the mirrored functions it
        got, each with the calls it made; their Variables are as they were (the grader replays the calls)."""
        for v, value in reversed(self.restores):
            v.value = value
        mirrored, self.mirrored, self.restores = self.mirrored, [], []
        return mirrored

    def dict_handle(self, value):
        return None

    def decoded_dict(self, handle, build):
        """The dict the grader sent before under this handle (what the student put in it kept), or a new one."""
        if handle not in self.dicts:
            self.dicts[handle] = build()
        return self.dicts[handle]

    # --- Variables ---------------------------------------------------------------------------------

    def set_values(self, updates, arrays):
        for i, tree in updates:
            node = self.decode_node(i)
            if isinstance(node, Variable):
                node.value = decode(tree, arrays)

    def variable_snapshot(self):
        return {v: (v.value, _copy(v.value)) for v in self.ids if isinstance(v, Variable)}

    def variable_changes(self, snapshot):
        """[[id, value, in place?]] for the Variables whose value the student's code replaced or changed."""
        changes = []
        for v in [v for v in self.ids if isinstance(v, Variable)]:
            array, copy = snapshot.get(v, (None, None))
            if v.value is not array:
                changes.append([self.ids[v], encode(v.value, self.arrays), False])
            elif isinstance(array, _ndarray) and not _same(array, copy):
                changes.append([self.ids[v], encode(v.value, self.arrays), True])
        return changes
