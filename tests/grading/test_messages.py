"""What a failed check says, straight from dlscratch.grading (no nbgrader, no browser)."""
import json
from pathlib import Path

import numpy as np
import pytest

import dlscratch as ds
from dlscratch import grading

from . import submissions as s


def test_a_recursion_is_pinned_on_the_function_that_recursed():
    """A recursive topological order first breaks inside backprop (on the long chain): the message must
    point at the student's recursing helper, not only at backprop."""
    namespace = {}
    exec(s.RECURSIVE_ORDER, namespace)  # noqa: S102 (the submission under test)
    exec("def backprop(loss, values):\n    return topological_order(loss)\n", namespace)  # noqa: S102
    with pytest.raises(grading.CheckFailed) as failed:
        grading.check_backprop(namespace["backprop"], "long chain")
    message = str(failed.value)
    assert "your backprop" in message and "too deep a recursion in your function place()" in message, message


def test_an_order_that_walks_through_consumers_fails_the_visible_dead_branch_case():
    namespace = {}
    exec(s.CONSUMER_WALKING_ORDER, namespace)  # noqa: S102 (the submission under test)
    grading.check_topological_order(namespace["topological_order"], "diamond")  # no dead branch: passes
    with pytest.raises(grading.CheckFailed) as failed:
        grading.check_topological_order(namespace["topological_order"], "dead branch")
    message = str(failed.value)
    assert "which the loss does not depend on" in message and "not to the nodes that consume them" in message


def test_the_dead_branch_case_is_visible_to_students():
    exercise = Path(__file__).resolve().parents[2] / "exercises" / "02-backprop" / "backprop.ipynb"
    visible = "".join("".join(c["source"]) for c in json.loads(exercise.read_text())["cells"])
    assert 'check_topological_order(topological_order, "dead branch")' in visible


def test_a_train_loop_that_steps_every_node_is_told_to_ask_for_the_variables_gradients():
    namespace = {"ds": ds, "np": np}
    exec(s.EVERY_NODE_TRAIN, namespace)  # noqa: S102 (the submission under test)
    exec("def gradient_descent_step(gradients, learning_rate):\n"  # noqa: S102 (a correct step)
         "    for variable, gradient in gradients.items():\n"
         "        if gradient is not None:\n"
         "            variable.value = variable.value - learning_rate * gradient\n", namespace)
    with pytest.raises(grading.CheckFailed) as failed:
        grading.check_train(namespace["train"])
    message = str(failed.value)
    assert "has no attribute 'value'" in message and "wrt=variables" in message, message
