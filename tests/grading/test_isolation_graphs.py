"""Assignment 2's isolation on its own: graphs crossing as data (graphs.py), in an order that says
nothing, and the library the sandbox sees for assignment 2 (rules given, traversal refused)."""
import random
import subprocess
import sys
import time

import numpy as np
import pytest

import dlscratch as ds
from dlscratch.grading.isolation import graphs, protocol, strip
from dlscratch.grading.isolation.sandbox import Child, Limits
from dlscratch.grading.sample_graphs import build

from . import submissions as s
from .nbgrader_course import REPO, read_notebook


def send(value, rng=None):
    """`value` as the grader sends it, rebuilt as the sandbox sees it: (rebuilt value, reader, writer)."""
    arrays = []
    writer = graphs.GraphWriter(arrays, rng)
    tree = protocol.encode(value, arrays, ds.OpContext, nodes=writer)
    reader = graphs.GraphReader(writer.descriptions, [np.array(a) for a in arrays])
    return protocol.decode(tree, arrays, nodes=reader), reader, writer


def answer(value, reader, writer):
    """`value` (built in the sandbox) as the grader receives it, the nodes it made built on the grader's side."""
    arrays = []
    tree = protocol.encode(value, arrays, nodes=reader.begin(arrays))
    writer.receive(reader.outgoing, arrays)
    return protocol.decode(tree, arrays, nodes=writer)


def is_topological(nodes):
    position = {n: i for i, n in enumerate(nodes)}
    return all(position.get(x, -1) < i for i, n in enumerate(nodes) for x in n.inputs)


@pytest.mark.parametrize("name", ["chain", "diamond", "dead branch", "mlp", "random 2"])
def test_a_graph_crosses_whole_and_comes_back_as_the_same_nodes(name):
    graph, problem = build(name)
    values = ds.Session(graph).evaluate_all(problem.loss, problem.feed)
    (loss, got_values), reader, writer = send((problem.loss, values))
    assert len(loss.graph.nodes) == len(graph.nodes)  # dead branches included
    assert isinstance(got_values, ds.RunValues) and set(got_values.contexts) == {
        n for n in got_values if isinstance(n, ds.Operation)}
    for node in graph.nodes:
        twin = reader.nodes[writer.ids[node]]
        assert type(twin) is type(node) and twin.name == node.name and twin.op_type == node.op_type
        assert [reader.ids[x] for x in twin.inputs] == [writer.ids[x] for x in node.inputs]
        assert {reader.ids[c] for c in twin.consumers} == {writer.ids[c] for c in node.consumers}
        assert getattr(twin, "attrs", None) == getattr(node, "attrs", None)
        if isinstance(node, (ds.Variable, ds.Constant)):
            assert np.array_equal(twin.value, node.value) and np.shape(twin.value) == np.shape(node.value)
    # the sandbox's library works on the rebuilt graph as on the original: rules, contexts, values
    expected = ds.backprop(problem.loss, values)
    rebuilt = ds.backprop(loss, got_values)
    assert {writer.nodes[reader.ids[n]] for n in rebuilt} == set(expected)
    for n, g in rebuilt.items():
        assert np.allclose(g, expected[writer.nodes[reader.ids[n]]])
    # and the answer's nodes come back as the grader's own
    back = answer({n: g for n, g in rebuilt.items()}, reader, writer)
    assert set(back) == set(expected)


def test_nodes_made_in_the_sandbox_come_back_built_by_the_graders_own_ops():
    graph, problem = build("diamond")
    loss, reader, writer = send(problem.loss)
    with loss.graph.as_default():
        scale = ds.constant(2.0, name="scale")
        made = ds.negative(ds.reduce_max(loss * scale, keepdims=True), name="made")
    back = answer([loss, made], reader, writer)
    assert back[0] is problem.loss and isinstance(back[1], ds.Operation) and back[1].graph is graph
    assert back[1].op_type == "Neg" and back[1].inputs[0].op_type == "Max"
    assert back[1].inputs[0].attrs == {"axis": None, "keepdims": True}
    values = ds.Session(graph).run([problem.loss, back[1]], problem.feed)
    assert np.allclose(values[1], -2 * values[0])
    # the same node sent again is the sandbox's own node, not a copy
    arrays = []
    tree = protocol.encode(back[1], arrays, nodes=writer.begin(arrays))
    assert not writer.descriptions and protocol.decode(tree, arrays, nodes=reader) is made


def test_a_node_of_an_op_only_the_students_code_knows_comes_back_as_no_node():
    graph, problem = build("chain")
    loss, reader, writer = send(problem.loss)
    with loss.graph.as_default():
        made = ds.Operation("CubeOfMyOwn", [loss], name="cube")
    back = answer(made, reader, writer)
    assert not isinstance(back, ds.Node) and "CubeOfMyOwn" in type(back).__name__


def test_a_made_node_that_the_library_refuses_is_not_data():
    graph, problem = build("chain")
    loss, reader, writer = send(problem.loss)
    with loss.graph.as_default():
        made = ds.Operation("MatMul", [loss, loss], attrs={"name": "sneaky"})
    with pytest.raises(protocol.ProtocolError):
        answer(made, reader, writer)


def test_a_made_node_too_big_for_the_grader_to_run_is_not_data():
    graph, problem = build("chain")
    loss, reader, writer = send(problem.loss)
    with loss.graph.as_default():
        column, row = ds.reshape(loss, (1, 1)) * np.ones((50_000, 1)), np.ones((1, 50_000))
        made = ds.matmul(column, row)  # 2.5e9 numbers, from a few small ones
    with pytest.raises(protocol.ProtocolError, match="would hold 2,500,000,000 numbers"):
        answer(made, reader, writer)


def test_variables_changed_in_the_sandbox_change_on_the_graders_side_the_same_way():
    with ds.Graph().as_default():
        W, b = ds.Variable(np.ones((2, 2)), name="W"), ds.Variable(np.zeros(2), name="b")
    (W2, b2), reader, writer = send((W, b))
    original_W, original_b = W.value, b.value
    snapshot = reader.variable_snapshot()
    W2.value = W2.value * 3  # replaced
    b2.value += 1  # in place
    arrays = []
    changes = reader.begin(arrays).variable_changes(snapshot)
    writer.apply_variable_changes(changes, arrays)
    assert W.value is not original_W and np.array_equal(W.value, 3 * np.ones((2, 2)))
    assert b.value is original_b and np.array_equal(b.value, np.ones(2))
    # and what the grader changes reaches the sandbox before the next call
    W.value = np.full((2, 2), 7.0)
    arrays = []
    updates = writer.begin(arrays).variable_updates()
    assert [i for i, _ in updates] == [writer.ids[W]]
    reader.set_values(updates, arrays)
    assert np.array_equal(W2.value, np.full((2, 2), 7.0))


@pytest.mark.parametrize("name", ["chain", "diamond", "skip connection", "dead branch", "mlp"])
def test_no_order_in_the_sandbox_is_a_topological_one(name):
    """graph.nodes, node ids and the values' order are each in a kernel a topological order (the
    creation order, the forward pass's order). In the sandbox, none of them is, nor its reverse,
    for the whole graph or for the nodes behind the loss, with or without the leaves: over 200 draws."""
    graph, problem = build(name)
    values = ds.Session(graph).evaluate_all(problem.loss, problem.feed)
    assert is_topological(graph.nodes) and is_topological(list(values))  # what a kernel gives away
    for seed in range(200):
        (loss, got), _, _ = send((problem.loss, dict(values)), random.Random(seed))
        behind = set(got)
        for order in (loss.graph.nodes, sorted(loss.graph.nodes, key=lambda n: n.id), list(got)):
            kept = [n for n in order if n in behind]
            for o in (order, kept, [n for n in order if isinstance(n, ds.Operation)],
                      [n for n in kept if isinstance(n, ds.Operation)]):  # a backprop skips the leaves
                assert not (is_topological(o) or is_topological(o[::-1])), (seed, o)


def test_the_library_for_assignment_2_gives_rules_but_no_traversal(tmp_path):
    folder = strip.make_stripped_library(str(tmp_path), strip.profile_for("02-backprop"))
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import numpy as np, dlscratch as ds\n"
            "g = ds.Graph()\nwith g.as_default():\n    x = ds.Variable([1.0, 2.0])\n    y = ds.reduce_sum(-x)\n"
            "ctx = ds.OpContext(y.inputs[0], (x.value,), -x.value)\n"
            "assert list(ds.gradient_rule('Neg')(ctx, np.ones(2))[0]) == [-1.0, -1.0]  # the rules are given\n"
            "refused = []\n"
            "for name, call in [('order', lambda: ds.topological_order([y])),\n"
            "                   ('backprop', lambda: ds.backprop(y, {})), ('session', lambda: ds.Session(g).run(y)),\n"
            "                   ('gradients', lambda: ds.gradients(y, [x])),\n"
            "                   ('compute', lambda: ds.compute_gradients(y)),\n"
            "                   ('minimize', lambda: ds.train.GradientDescentOptimizer(0.1).minimize(y))]:\n"
            "    try:\n        call()\n"
            "    except Exception as e:\n        refused += [name] * (type(e).__name__ == 'ReferenceUnavailable')\n"
            "print(' '.join(refused))")
    out = subprocess.run([sys.executable, "-I", "-c", code, folder], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["order", "backprop", "session", "gradients", "compute", "minimize"], out.stderr


def test_assignment_1s_library_is_unchanged_and_an_unknown_assignment_gets_every_refusal():
    assert strip.profile_for("01-backward-passes") is strip.RULES
    union = strip.profile_for("99-something-new")
    assert union["*classes*"] == {"backward"} and "topological_order" in union["core/traversal.py"]


def test_the_solution_runs_in_a_child_on_every_graph_of_the_checks(tmp_path):
    """The instructor's solution, in a child with the stripped library (without bubblewrap: fast), checked
    on each graph as the grader would, answers mapped back to the grader's nodes."""
    solved = s.solutions(read_notebook(REPO / "solutions" / "02-backprop" / "backprop.ipynb"))
    library = strip.make_stripped_library(str(tmp_path), strip.profile_for("02-backprop"))
    child = Child("subprocess", library, Limits())
    try:
        for i, cell in enumerate(["import numpy as np\nimport dlscratch as ds\n", solved["topological_order"],
                                  solved["backprop"]]):
            reply, _ = child.request({"op": "run", "index": i, "source": cell}, (), time.monotonic() + 60)
            assert reply["ok"], reply

        def call(name, *args):
            arrays = []
            writer = graphs.GraphWriter(arrays)
            header = {"op": "call", "name": name, "reset": True, "args": protocol.encode(args, arrays, nodes=writer),
                      "kwargs": protocol.encode({}, arrays), "graph": writer.descriptions}
            reply, got = child.request(header, arrays, time.monotonic() + 60)
            assert reply["ok"], reply
            return protocol.decode(reply["value"], got, nodes=writer)

        for name in ["chain", "dead branch", "long chain", "mlp", "random 4"]:
            graph, problem = build(name)
            order = call("topological_order", problem.loss)
            assert is_topological(order) and set(order) == set(ds.topological_order([problem.loss]))
            values = ds.Session(graph).evaluate_all(problem.loss, problem.feed)
            grads, expected = call("backprop", problem.loss, values), ds.backprop(problem.loss, values)
            assert set(grads) == set(expected)
            assert all(np.allclose(grads[n], expected[n]) for n in expected), name
    finally:
        child.kill()
