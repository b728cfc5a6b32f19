"""Assignment 4: the student's forward engine (post-order and evaluation), checked against Session.

Each check builds its own graph, works out the right values with the library's Session first, then
runs the student's function with the Session and the library's traversal out of reach, and counts
how often each op's `forward` is called, so that a shared node computed twice, or a value computed
without the op registry, can be named.
"""
import contextlib
import functools
import re
from collections import namedtuple

import numpy as np

from ..core import OPS, Graph, OpContext, Operation, Placeholder, Session, Variable, describe
from ..core import topological_order as library_topological_order
from ..core.ops import add, exp, matmul, multiply, negative, reduce_sum, sigmoid, softmax
from ..data import one_hot, red_blue, xor_clusters
from ..nn import cross_entropy, mlp
from ..train import GradientDescentOptimizer, fit
from .classifiers import classifier
from .report import CheckFailed, close, expected_and_yours, numpy_warnings
from .sample_graphs import LONG_CHAIN_OPS, random_graph
from .student_code import (
    FORWARD_COUNTERS,
    counting_forward_calls,
    library_unavailable,
    quiet_check,
    quietly,
    run_student,
    student_code,
)

REFUSED = ("evaluate_all", "run", "topological_order")
FINE = "ds.op_class, ds.OpContext and node.value are fine to use"
FORWARD_CALL = "ds.op_class(node.op_type).forward(ds.OpContext(node, inputs), *inputs, **node.attrs)"
SLOW_SECONDS = 5

Case = namedtuple("Case", "fetches feed description")


# --- the graphs ------------------------------------------------------------------------------------

def _chain():
    w = Variable([0.5, -1.0, 2.0], name="w")
    out = reduce_sum(exp(negative(sigmoid(w))), name="out")
    return Case([out], {}, "the chain out = sum(exp(-σ(w)))")


def _affine():
    """The source material's example, z = A·x + b."""
    A = Variable([[1.0, 0.0], [0.0, -1.0]], name="A")
    b = Variable([1.0, 1.0], name="b")
    x = Placeholder(shape=(2,), name="x")
    z = add(matmul(A, x, name="y"), b, name="z")
    return Case([z], {x: np.array([1.0, 2.0])}, "z = A·x + b, A = [[1, 0], [0, -1]], b = [1, 1], x fed [1, 2]")


def _layers(depth):
    """x through `depth` sigmoid layers W·h + b (x fed [1, 2]): the unfed-placeholder check's deeper graphs."""
    x = Placeholder(shape=(2,), name="x")
    h, formula = x, "x"
    for i in range(1, depth + 1):
        W, b = Variable([[1.0, -0.5], [0.5, 1.0]], name=f"W{i}"), Variable([0.1, -0.1], name=f"b{i}")
        h, formula = sigmoid(add(matmul(W, h), b), name=f"h{i}"), f"σ(W{i}·{formula} + b{i})"
    return Case([h], {x: np.array([1.0, 2.0])}, f"h{depth} = {formula}, x fed [1, 2]")


def _late_input():
    """x joins only the last op, after a chain on w."""
    w = Variable([0.5, -1.0], name="w")
    x = Placeholder(shape=(2,), name="x")
    h = w
    for _ in range(4):
        h = sigmoid(h)
    z = add(multiply(h, 2.0), x, name="z")
    return Case([z], {x: np.array([1.0, 2.0])}, "z = 2·σ(σ(σ(σ(w)))) + x, x fed [1, 2]")


def _diamond():
    w = Variable([0.5, -1.0, 2.0], name="w")
    x = multiply(w, 1.5, name="x")
    out = reduce_sum(multiply(negative(x), sigmoid(x)), name="out")
    second = exp(x, name="second")
    return Case([out, second], {}, "x = 1.5·w used by 3 ops, fetching out = sum(-x·σ(x)) and second = exp(x)")


def _fed_variable():
    w = Variable([1.0, 2.0, 3.0], name="w")
    y = multiply(w, 2.0, name="y")
    return Case([y], {w: np.array([10.0, 20.0, 30.0])}, "y = 2·w, with the Variable w fed [10, 20, 30]")


def _long_chain(n=LONG_CHAIN_OPS):
    w = Variable([0.5, -1.0], name="w")
    h = w
    for i in range(n):
        h = negative(h) if i % 2 else multiply(h, 1.0001)
    return Case([reduce_sum(h, name="out")], {}, f"a chain of {n:,} ops")


def _mlp():
    model = classifier(red_blue(5), lambda x: mlp(x, [3, 2], activation="sigmoid", seed=3))
    return Case([model.loss, model.probabilities], model.feed,
                "a small MLP on 10 points, fetching its loss and probabilities")


def _random(seed):
    loss, feed, description = random_graph(seed)
    return Case([loss], feed, description)


GRAPHS = {"chain": _chain, "affine": _affine, "diamond": _diamond, "fed variable": _fed_variable,
          "long chain": _long_chain, "mlp": _mlp, "two layers": lambda: _layers(2), "three layers": lambda: _layers(3),
          "late input": _late_input}
# The unfed-placeholder check's graphs, each with a placeholder x. Several, so that an evaluate that walks the
# nodes in whatever order the graph lists them (not an order at all under isolated grading) cannot meet x
# first by luck on all of them: about 3 in 10 on the affine graph alone, 1 in 1,400 on all four (simulated).
UNFED_GRAPHS = ("affine", "two layers", "three layers", "late input")


def build(name):
    """A fresh graph holding the case `name`: a key of GRAPHS, or "random N"."""
    graph = Graph()
    with graph.as_default():
        case = _random(int(name.split()[-1])) if name.startswith("random") else GRAPHS[name]()
    return graph, case


# --- watching the student's engine -----------------------------------------------------------------

@contextlib.contextmanager
def counting_forwards(graph):
    """Inside the block, count each op node's forward calls: yields {node: calls} (None: calls whose
    first argument was not an OpContext, so the node is unknown)."""
    classes = {OPS[n.op_type] for n in graph.nodes if isinstance(n, Operation) and n.op_type in OPS}
    with counting_forward_calls(classes, lambda ctx: ctx.node if isinstance(ctx, OpContext) else None) as counts:
        FORWARD_COUNTERS.append(counts)  # calls counted in the grading sandbox are added to `counts` too
        try:
            yield counts
        finally:
            FORWARD_COUNTERS.remove(counts)


def _evaluate_hint(error):
    """A hint for an exception from the student's evaluate."""
    if isinstance(error, KeyError) and error.args and isinstance(error.args[0], str) and error.args[0] in OPS:
        return (f"{error.args[0]!r} is an op type your own table lacks. The registry knows every op: "
                f"{FORWARD_CALL}.")
    if isinstance(error, KeyError):
        return ("a value was looked up before it was computed. Go through the nodes in post-order "
                "(every node after its inputs) and store each value in your dict.")
    if isinstance(error, AttributeError) and "value" in str(error):
        return ("only Variables and constants have node.value. A placeholder's value comes from "
                "feed_dict, an op's from its forward.")
    if isinstance(error, TypeError) and ("argument" in str(error) or "NoneType" in str(error)):
        return (f"compute an op as {FORWARD_CALL}: the input values in the order of node.inputs, then "
                "the node's attrs as keywords. A placeholder's value is feed_dict[node].")
    return f"compute each op as {FORWARD_CALL}."


def _run_evaluate(evaluate, case, description=None):
    __tracebackhide__ = True
    return run_student(evaluate, (list(case.fetches), dict(case.feed)), "evaluate",
                       description or case.description, _evaluate_hint, REFUSED, FINE)


def _snapshot(graph):
    return {v: (v.value, v.value.copy()) for v in graph.variables}


def _check_variables_kept(where, snapshot):
    for v, (array, copy) in snapshot.items():
        if v.value is not array or not np.array_equal(array, copy):
            raise CheckFailed(f"{where}: your evaluate changed the Variable {describe(v)}.\n"
                              f"{expected_and_yours(copy, v.value)}\n"
                              "Hint: a run must leave the graph as it was: keep every value, fed ones "
                              "included, in your own dict, never in node.value.")


def _compare(where, values, expected, counts, fed, caught):
    """The student's {node: value} against the library's, first wrong node first; then the forward calls."""
    if not isinstance(values, dict):
        raise CheckFailed(f"{where} returned a {type(values).__name__}; it should return a dict "
                          "{node: value} with every node it evaluated.")
    order = library_topological_order(list(expected), leaves=set(fed))
    for node in order:
        if node not in values:
            users = [describe(c) for c in node.consumers if c in expected]
            needed = f", which {users[0]} needs" if users else ", which you were asked for"
            raise CheckFailed(f"{where}: your dict has no value for {describe(node)}{needed}. Store the "
                              "value of every node you evaluate, leaves included.")
        actual = values[node]
        if actual is None or np.shape(actual) != np.shape(expected[node]) or not close(
                np.asarray(actual, dtype=float), np.asarray(expected[node], dtype=float), 1e-9):
            raise CheckFailed(_wrong_value(where, node, actual, expected, values, fed) + numpy_warnings(caught))
    _check_forward_calls(where, order, counts, fed)


def _wrong_value(where, node, actual, expected, values, fed):
    shape = "None" if actual is None else np.shape(actual)
    message = (f"{where}: the value of {describe(node)} is wrong (shape {np.shape(expected[node])} "
               f"expected, yours {shape}).\n")
    if actual is not None and np.size(actual) < 50:
        message += expected_and_yours(expected[node], actual) + "\n"
    if node in fed:
        return message + "Hint: a node in feed_dict takes the value fed for it, whatever kind of node it is."
    if isinstance(node, Placeholder):
        return message + "Hint: a placeholder's value is feed_dict[node]."
    if not isinstance(node, Operation):
        return message + "Hint: a Variable's or a constant's value is node.value."
    inputs = ", ".join(f"{describe(x)} {np.shape(expected[x])}" for x in node.inputs)
    return message + (f"Its inputs {inputs} are right, so look at how it was computed. Hint: "
                      f"{FORWARD_CALL}, with the inputs in the order of node.inputs.")


def _check_forward_calls(where, order, counts, fed):
    if counts.get(None):
        raise CheckFailed(f"{where}: an op's forward got something else than an OpContext as its first "
                          f"argument. Hint: {FORWARD_CALL}.")
    for node in order:
        if not isinstance(node, Operation) or node in fed or node.op_type not in OPS:
            continue
        calls = counts.get(node, 0)
        if calls == 0:
            raise CheckFailed(f"{where}: the value of {describe(node)} is right, but it was not computed by "
                              f"the op's forward in the registry. Hint: compute every op, whatever its "
                              f"type, as {FORWARD_CALL}.")
        if calls > 1:
            raise CheckFailed(f"{where}: {describe(node)} was computed {calls} times; each node must be "
                              "computed once per run, however many ops or fetches need it.\n"
                              "Hint: go through one post-order list of all the fetches' nodes, and skip "
                              "a node that already has a value in your dict.")


# --- the checks ------------------------------------------------------------------------------------

@quiet_check
def check_post_order(post_order, graph="diamond"):
    """Check `post_order(node)`: every node behind it exactly once, each after its inputs."""
    __tracebackhide__ = True
    _, case = build(graph)
    fetch = case.fetches[0]
    order, seconds, _ = run_student(post_order, (fetch,), "post_order", case.description, (
        "follow node.inputs from the node you were given; leaves have none."), REFUSED, FINE)
    where = f"post_order({fetch.name}) on {case.description}"
    if not isinstance(order, (list, tuple)):
        raise CheckFailed(f"{where} returned a {type(order).__name__}; it should return a list of nodes.")
    expected = set(library_topological_order([fetch]))
    position = {}
    for i, node in enumerate(order):
        if node in position:
            raise CheckFailed(f"{where}: {describe(node)} appears more than once. A node used by several ops "
                              "must be listed once. Hint: keep the nodes already placed in a set.")
        if node not in expected:
            raise CheckFailed(f"{where}: your list contains {describe(node)}, which {describe(fetch)} does "
                              "not depend on. Hint: walk through node.inputs, not node.consumers.")
        position[node] = i
    missing = [n for n in library_topological_order([fetch]) if n not in position]
    if missing:
        raise CheckFailed(f"{where}: {len(missing)} node(s) it depends on are missing, e.g. "
                          f"{describe(missing[0])}. Hint: follow every input of every node, down to the leaves.")
    late = [(node, x) for node in order for x in node.inputs if position[x] > position[node]]
    if late:
        node, x = late[0]
        message = f"{where}: {describe(node)} comes before its input {describe(x)}."
        if order[0] is fetch:
            message += (f" Your list starts with {describe(fetch)}, the node asked for: that is pre-order "
                        "(a node before its inputs), while evaluation needs its inputs first.")
        raise CheckFailed(message + " Hint: place a node only after all of its inputs are placed "
                          "(post-order), as chapter 1's post_order does.")
    if seconds > SLOW_SECONDS:
        raise CheckFailed(f"{where} took {seconds:.1f} s. Hint: `node in a_list` scans the whole list; "
                          "keep the placed nodes in a set.")


@quiet_check
def check_evaluate(evaluate, graph="affine"):
    """Check `evaluate(fetches, feed_dict)` against Session.evaluate_all on one of GRAPHS (or "random N")."""
    __tracebackhide__ = True
    g, case = build(graph)
    expected = Session(g).evaluate_all(case.fetches, case.feed)
    snapshot = _snapshot(g)
    with counting_forwards(g) as counts:
        values, seconds, caught = _run_evaluate(evaluate, case)
    where = f"evaluate(fetches, feed_dict) on {case.description}"
    _check_variables_kept(where, snapshot)
    _compare(where, values, dict(expected), counts, set(case.feed), caught)
    if seconds > SLOW_SECONDS:
        raise CheckFailed(f"{where} took {seconds:.1f} s. Hint: `node in a_list` scans the whole list; "
                          "keep the nodes already placed in a set.")


@quiet_check
def check_unfed_placeholder(evaluate):
    """Check that evaluate, asked for a graph's output without a value for its placeholder x, raises an error
    naming x: on z = A·x + b, then on the deeper graphs of UNFED_GRAPHS."""
    __tracebackhide__ = True
    for graph in UNFED_GRAPHS:
        _check_unfed(evaluate, graph)


def _check_unfed(evaluate, graph):
    __tracebackhide__ = True
    g, case = build(graph)
    formula = case.description.split(",")[0]
    where = f"evaluate([{case.fetches[0].name}], {{}}) on {formula}, with nothing fed for the placeholder 'x'"
    snapshot = _snapshot(g)
    with contextlib.ExitStack() as stack:
        stack.enter_context(quietly())
        stack.enter_context(student_code(where))
        with _refusing():
            try:
                values = evaluate(list(case.fetches), {})
            except (NotImplementedError, RecursionError, CheckFailed):
                raise
            except Exception as e:  # noqa: BLE001 (an error is what we want; which one is checked below)
                error = e
            else:
                error = None
    _check_variables_kept(where, snapshot)
    if error is None:
        got = values.get(case.fetches[0]) if isinstance(values, dict) else values
        shown = f"{case.fetches[0].name} = {got}" if got is not None else got
        raise CheckFailed(f"{where}: your evaluate returned ({shown}) instead of raising an error. Without x there "
                          f"is no {case.fetches[0].name}. Hint: when a placeholder is not in feed_dict, raise an "
                          "error that names it, e.g.\n"
                          "  raise ds.FeedError(f\"placeholder {node.name!r} needs a value in feed_dict\")")
    text = f"{type(error).__name__}: {_first_line(error)}"
    fix = ("check for a missing feed yourself, before anything is computed with it, and raise an error "
           "that names the placeholder, e.g.\n  raise ds.FeedError(f\"placeholder {node.name!r} needs a "
           "value in feed_dict\")")
    if isinstance(error, (KeyError, TypeError, AttributeError, IndexError)):
        raise CheckFailed(f"{where}: your evaluate raised {text}. That is Python failing somewhere, not a "
                          f"clear error.\nHint: {fix}")
    if not re.search(r"\bx\b", str(error)):
        raise CheckFailed(f"{where}: your evaluate raised {text}, which does not say that 'x' needs a value."
                          f"\nHint: {fix}")


def _first_line(error, length=70):
    text = str(error).strip().split("\n")[0]
    return text if len(text) <= length else text[:length - 1] + "…"


def _refusing():
    return library_unavailable("evaluate", REFUSED, FINE)


# --- something real: chapter 6's network ------------------------------------------------------

TrainedMLP = namedtuple("TrainedMLP", "graph loss probabilities feed y")


@functools.lru_cache(maxsize=1)
def _trained_weights():
    """Chapter 6's MLP (2 sigmoid hidden units, softmax output, seed 0), trained by the library
    on the XOR-like clusters: 1000 gradient-descent steps at 0.03. {variable name: value}."""
    net = _xor_network()
    session = Session(net.graph)
    with net.graph.as_default():
        step = GradientDescentOptimizer(0.03).minimize(net.loss)
    fit(session, step, net.loss, net.feed, 1000)
    return {v.name: v.value.copy() for v in net.graph.variables}


def _xor_network():
    graph = Graph()
    with graph.as_default():
        X, y = xor_clusters(n_per_cluster=25, sigma=0.2, seed=0)
        x = Placeholder(shape=(None, 2), name="x")
        labels = Placeholder(shape=(None, 2), name="labels")
        p = mlp(x, [2, 2], activation="sigmoid", output_activation=softmax, seed=0)
        loss = cross_entropy(p, labels)
    return TrainedMLP(graph, loss, p, {x: X, labels: one_hot(y, 2)}, y)


def trained_mlp():
    """A fresh graph of chapter 6's network, with its trained weights."""
    net = _xor_network()
    for v in net.graph.variables:
        v.assign(_trained_weights()[v.name])
    return net


@quiet_check
def check_trained_mlp(evaluate):
    """Your engine computes the loss and the predictions of chapter 6's trained MLP, as Session.run does."""
    __tracebackhide__ = True
    net = trained_mlp()
    fetches = [net.loss, net.probabilities]
    expected = Session(net.graph).evaluate_all(fetches, net.feed)
    snapshot = _snapshot(net.graph)
    case = Case(fetches, net.feed, "chapter 6's trained MLP on the 100 XOR-like points")
    with counting_forwards(net.graph) as counts:
        values, _, caught = _run_evaluate(evaluate, case)
    where = f"evaluate([loss, p], feed_dict) on {case.description}"
    _check_variables_kept(where, snapshot)
    _compare(where, values, dict(expected), counts, set(net.feed), caught)
