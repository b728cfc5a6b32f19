"""What a failed check says, straight from dlscratch.grading (no nbgrader, no browser)."""
import pytest

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
