"""Assignment 4's checks (dlscratch/grading/forward.py) on their own: no nbgrader, no notebook kernel."""
import json
from pathlib import Path

import numpy as np
import pytest

import dlscratch as ds
from dlscratch import grading
from dlscratch.grading import forward

from . import submissions as s

SOURCE = Path(__file__).resolve().parents[2] / "solutions" / "04-forward-engine" / "forward_engine.ipynb"


def student(*codes):
    """The namespace of a student who wrote the solution, with `codes` (mistakes) in place of parts of it."""
    namespace = {"np": np, "ds": ds}
    for code in (*_solution(), *codes):
        exec(code, namespace)  # noqa: S102 (the submission under test)
    return namespace


def _solution():
    answers = s.solutions(json.loads(SOURCE.read_text()))
    return answers["post_order"], answers["evaluate"]


def failure(check, *args):
    with pytest.raises(grading.CheckFailed) as failed:
        check(*args)
    return " ".join(str(failed.value).split())  # lines joined: messages are wrapped


@pytest.mark.parametrize("graph", [*forward.GRAPHS, "random 0"])
def test_the_solution_passes_every_case(graph):
    namespace = student()
    grading.check_post_order(namespace["post_order"], graph)
    grading.check_evaluate(namespace["evaluate"], graph)


def test_pre_order_is_named():
    message = failure(grading.check_post_order, student(s.PRE_ORDER)["post_order"], "diamond")
    assert "that is pre-order" in message and "'out' (Sum) comes before its input" in message, message


def test_an_unfed_placeholder_must_raise_a_clear_error():
    grading.check_unfed_placeholder(student()["evaluate"])
    message = failure(grading.check_unfed_placeholder, student(s.UNCHECKED_FEED_EVALUATE)["evaluate"])
    assert "does not say that 'x' needs a value" in message and "ds.FeedError" in message, message
    looked_up = "def evaluate(fetches, feed_dict):\n    return {f: feed_dict[f.inputs[0].inputs[1]] for f in fetches}\n"
    message = failure(grading.check_unfed_placeholder, student(looked_up)["evaluate"])
    assert "raised KeyError" in message and "not a clear error" in message, message
    quiet = "def evaluate(fetches, feed_dict):\n    return {f: 0.0 for f in fetches}\n"
    message = failure(grading.check_unfed_placeholder, student(quiet)["evaluate"])
    assert "returned (z = 0.0) instead of raising an error" in message, message


BY_NAME_EVALUATE = """
def evaluate(fetches, feed_dict):
    behind, todo = set(), list(fetches)  # which nodes: a walk; their order: by name, which is no order at all
    while todo:
        node = todo.pop()
        if node not in behind:
            behind.add(node)
            todo.extend(node.inputs)
    values = {}
    for node in sorted(behind, key=lambda n: n.name):
        if node in feed_dict:
            values[node] = np.asarray(feed_dict[node])
        elif isinstance(node, ds.Placeholder):
            raise ds.FeedError(f"placeholder {node.name!r} needs a value in feed_dict")
        elif isinstance(node, ds.Operation):
            values[node] = ds.op_class(node.op_type).forward(ds.OpContext(node, [values[x] for x in node.inputs]),
                                                             *[values[x] for x in node.inputs], **node.attrs)
        else:
            values[node] = node.value
    return values
"""


def test_an_evaluate_that_meets_x_first_by_luck_fails_on_a_deeper_graph():
    """Isolated grading lists a graph's nodes in a random order that is never inputs-first; an evaluate that
    walks that listing meets x before any op on the affine graph about 3 times in 10. The deeper graphs make
    luck on all of them about 1 in 1,400. Here the order is by name: lucky on the affine graph, not after."""
    evaluate = student(BY_NAME_EVALUATE)["evaluate"]
    forward._check_unfed(evaluate, "affine")  # A, b, x: x before any op
    message = failure(grading.check_unfed_placeholder, evaluate)
    assert "on h2 = σ(W2·σ(W1·x + b1) + b2), with nothing fed" in message, message
    assert "raised KeyError" in message and "not a clear error" in message, message
    assert forward.UNFED_GRAPHS[0] == "affine" and len(forward.UNFED_GRAPHS) == 4


def test_a_fed_variable_that_is_ignored_is_a_wrong_value_with_the_rule_for_feeds():
    ignoring = s.MUTATING_EVALUATE.replace("node.value = np.asarray(feed_dict[node])  # stored on the node, "
                                           "as TensorSlow does\n                values[node] = node.value",
                                           "values[node] = node.value  # the feed ignored")
    assert ignoring != s.MUTATING_EVALUATE
    message = failure(grading.check_evaluate, student(ignoring)["evaluate"], "fed variable")
    assert "the value of 'w' (Variable) is wrong" in message, message
    assert "a node in feed_dict takes the value fed for it" in message, message


def test_a_wrong_op_value_names_the_node_and_its_inputs():
    first_input_only = s.RECOMPUTING_EVALUATE.replace(
        "for node in post_order(fetch):", "for node in post_order(fetch):\n            if node in values:\n"
                                          "                continue").replace(
        "inputs = [values[x] for x in node.inputs]", "inputs = [values[node.inputs[0]]] * len(node.inputs)")
    message = failure(grading.check_evaluate, student(first_input_only)["evaluate"], "affine")
    assert "the value of 'y' (MatMul) is wrong (shape (2,) expected, yours (2, 2))" in message, message
    assert "Its inputs 'A' (Variable) (2, 2), 'x' (Placeholder) (2,) are right" in message, message


def test_the_library_is_out_of_reach_while_student_code_runs_and_back_afterwards():
    cheat = ("def evaluate(fetches, feed_dict):\n"
             "    return ds.Session(fetches[0].graph).evaluate_all(fetches, feed_dict)\n")
    message = failure(grading.check_evaluate, student(cheat)["evaluate"], "chain")
    assert "called the library's own version" in message, message
    for name in ("ds.topological_order", "ds.core.topological_order", "ds.core.traversal.topological_order"):
        order = f"def post_order(node):\n    return {name}([node])\n"
        message = failure(grading.check_post_order, student(order)["post_order"])
        assert "called the library's own version" in message, (name, message)
    graph = ds.Graph()
    with graph.as_default():
        w = ds.Variable([1.0, 2.0])
        out = ds.reduce_sum(w * 3.0)
    assert ds.Session(graph).run(out) == 9.0 and len(ds.topological_order([out])) == 4


def test_counting_forward_calls_leaves_the_ops_as_they_were():
    classes = {name: cls.__dict__.get("forward") for name, cls in ds.OPS.items()}
    graph, case = forward.build("mlp")
    with pytest.raises(RuntimeError), forward.counting_forwards(graph) as counts:
        ds.Session(graph).evaluate_all(case.fetches, case.feed)
        assert counts and all(n == 1 for n in counts.values())
        raise RuntimeError("an error inside the block")
    assert {name: cls.__dict__.get("forward") for name, cls in ds.OPS.items()} == classes


def test_the_trained_network_is_a_trained_one():
    net = grading.trained_mlp()
    session = ds.Session(net.graph)
    assert ds.train.accuracy(session.run(net.probabilities, net.feed), net.y) >= 0.95
    assert session.run(net.loss, net.feed) < 10  # an untrained one: about 70 (100 points at 50/50)
    grading.check_trained_mlp(student()["evaluate"])
