"""The class report: failure messages parsed into (op, mistake), and the page built from them.

The messages below are copied from autograded notebooks (see test_grade_class.py for the report
of a really graded class). No nbgrader run is needed here.
"""
import base64
import re

import pytest

from dlscratch.grading.class_report import AssignmentData, Failure, failures_in_notebook, parse_failure, render

NEGATIVE_SIGN = """negative_backward, for negative(x) with x of shape (1, 3): the
gradient for x is wrong (relative error 1 against finite differences; it
must be below 1e-05).
  expected: [[ 0.261  -0.2612 -0.0742]]
  yours:    [[-0.261   0.2612  0.0742]]
Hint: Yours passes grad through unchanged. negative(x) flips the sign of
every element: what does that do to a small change in x?"""

SIGMOID_TYPO = """sigmoid_backward, for sigmoid(x) with x of shape (2, 3): the gradient
for x is wrong (relative error 0.31 against finite differences; it must be below 1e-05).
  expected: [[0.1 0.2 0.3]]
  yours:    [[0.2 0.1 0.3]]
Hint: Yours computes grad·σ(x)·σ(1−x), the typo in the source text: σ(1−x) is
not 1−σ(x). σ'(x) can be written with σ(x) alone, and ctx.output already holds σ(x)."""

SCALED = """relu_backward, for relu(x) with x of shape (4,): the gradient for x is wrong
(relative error 0.5 against finite differences; it must be below 1e-05).
Hint: Yours is 2.5 times the right one. relu has slope 1 where x > 0."""

ADD_SHAPE = """add_backward, for add(x, y) with x of shape (2, 3), y of shape
(3,): your gradient for y has shape (2, 3), but y has shape (3,); a gradient
always has the shape of its input.
Hint: y of shape (3,) was broadcast to the output's shape (2, 3) in the
forward pass."""

OVERWRITING = """backprop(loss, values) on the diamond x = 1.5·w, loss = sum(−x
· σ(x)): the gradient of 'x' (Mul) is wrong (relative error 0.78).
  expected: [-0.8426  0.0413 -1.0881]
  yours:    [-0.1634  0.2237 -0.1355]
'x' (Mul) is used by 2 ops on the way to the loss: 'neg' (Neg), 'sigmoid'
(Sigmoid). Its gradient is the sum of what each of them passes back.
Yours is only part of that sum: did you overwrite the gradient instead of
adding to it?"""

RAISED = """your backprop, on a graph where h = σ(w) also feeds
'second_head' and 'third_head', which the loss does not use: your code
raised KeyError: <Variable 'v' (Variable)>
  in your line: ctx = ds.OpContext(node, tuple(values[x] for x in"""

IN_PLACE = """gradient_descent_step(gradients, learning_rate=0.1): you
changed W.value in place (e.g. v.value -= ...). Give the Variable a new
array instead."""

TRAINING = """training the MLP on the XOR-like clusters reached 50% accuracy;
it needs at least 95%.
The loss went from 70.07 to nan in 84 steps (nan or inf: some gradients blew
up).
These of your rules fail a gradient check; fix them first:
negative_backward."""

LOSS_UP = """train(loss, variables, feed_dict, learning_rate=0.5, steps=20) on the XOR data: the loss
went from 0.6931 to 3.172; it should decrease."""


@pytest.mark.parametrize("ename, message, op, mistake", [
    ("CheckFailed", NEGATIVE_SIGN, "negative", "Yours passes grad through unchanged"),
    ("CheckFailed", SIGMOID_TYPO, "sigmoid", "Yours computes grad·σ(x)·σ(1−x), the typo in the source text"),
    ("CheckFailed", SCALED, "relu", "Yours is k times the right one"),
    ("CheckFailed", ADD_SHAPE, "add", "your gradient for y has shape (…), but y has shape (…)"),
    ("CheckFailed", OVERWRITING, "backprop", "Yours is only part of that sum"),
    ("CheckFailed", RAISED, "backprop", "your code raised KeyError"),
    ("CheckFailed", IN_PLACE, "gradient_descent_step", "you changed W.value in place (e.g. v.value -= ...)"),
    ("CheckFailed", TRAINING, "training", "training did not reach the accuracy needed"),
    ("CheckFailed", LOSS_UP, "train", "the loss went from # to #"),
    ("ReferenceUnavailable", "dlscratch's own Neg.backward is not available\nwhile your work is graded.",
     "dlscratch", "ReferenceUnavailable: dlscratch's own Neg.backward is not available while your work is graded"),
])
def test_a_failure_message_names_the_op_and_the_mistake(ename, message, op, mistake):
    assert parse_failure(ename, message, "test_cell") == Failure(op, mistake)


def test_the_same_mistake_on_other_cases_is_grouped():
    other = NEGATIVE_SIGN.replace("(1, 3)", "(2, 1, 3)").replace("relative error 1 ", "relative error 0.99 ")
    assert parse_failure("CheckFailed", other) == parse_failure("CheckFailed", NEGATIVE_SIGN)
    other = ADD_SHAPE.replace("(3,)", "(1, 3)")
    assert parse_failure("CheckFailed", other) == parse_failure("CheckFailed", ADD_SHAPE)


def cell(grade_id, outputs, grade=True, solution=False):
    return {"cell_type": "code", "source": "", "outputs": outputs,
            "metadata": {"nbgrader": {"grade": grade, "solution": solution, "grade_id": grade_id}}}


def test_failures_are_read_from_test_cells_only():
    error = {"output_type": "error", "ename": "CheckFailed", "evalue": NEGATIVE_SIGN, "traceback": []}
    stderr = {"output_type": "stream", "name": "stderr", "text": "RuntimeWarning: overflow"}
    nb = {"cells": [cell("negative_backward", [error], grade=False, solution=True),  # an answer cell
                    cell("test_negative", [error]),
                    cell("test_exp", [stderr]),
                    cell("test_relu", [])]}
    found = failures_in_notebook(nb)
    assert found == {"test_negative": [Failure("negative", "Yours passes grad through unchanged")],
                     "test_exp": [Failure("test_exp", "wrote to stderr (nbgrader scores that 0)")]}


def test_the_page_shows_scores_cells_and_mistakes_with_inline_plots():
    item = AssignmentData("01-backward-passes", 35.0, cells=["test_negative", "test_add_hidden"])
    item.scores = {"ann": 35.0, "bob": 29.0, "cy": 29.0, "dee": 33.0}
    item.failed_cells = {"test_negative": {"bob", "cy"}, "test_add_hidden": {"dee"}}
    item.mistakes["negative"]["Yours passes grad through unchanged"] = {"bob", "cy"}
    item.mistakes["add"]["your gradient for y has shape (…), but y has shape (…)"] = {"dee"}
    empty = AssignmentData("02-backprop", 12.0)
    page = render([item, empty])
    assert "4 submissions; average 31.5 of 35 (90%), median 31; full marks: 1 of 4." in page
    assert "<td>test_negative</td><td>2</td><td>50%</td>" in page
    assert "<td>test_add_hidden</td><td>1</td><td>25%</td>" in page
    assert "<td>negative</td><td>Yours passes grad through unchanged</td><td>2</td>" in page
    assert "but y has shape (…)</td><td>1</td>" in page
    assert "No submissions graded yet." in page
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 3  # scores, failed cells, mistakes
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert not re.search(r"(src|href)=\"(https?:)?//", page), "the page must load nothing from the network"
    assert "/work/" not in page and "/tmp/" not in page  # no machine paths
