"""What a failed check says, straight from dlscratch.grading (no nbgrader, no browser)."""
import json
from pathlib import Path

import numpy as np
import pytest

import dlscratch as ds
from dlscratch import grading
from dlscratch.grading.sample_graphs import build

from . import submissions as s


def test_a_recursion_is_pinned_on_the_function_that_recursed():
    """A recursive topological order first breaks inside backprop (on the long chain): the message must
    point at the student's recursing helper, not only at backprop."""
    namespace = {}
    exec(s.RECURSIVE_ORDER, namespace)  # noqa: S102 (the submission under test)
    exec("def backprop(loss, values):\n    return topological_order(loss)\n", namespace)  # noqa: S102
    with pytest.raises(grading.CheckFailed) as failed:
        grading.check_backprop(namespace["backprop"], "long chain")
    message = " ".join(str(failed.value).split())  # lines joined: messages are wrapped
    assert "your backprop" in message and "too deep a recursion in your function place()" in message, message


def test_an_order_that_walks_through_consumers_fails_the_visible_dead_branch_case():
    namespace = {}
    exec(s.CONSUMER_WALKING_ORDER, namespace)  # noqa: S102 (the submission under test)
    grading.check_topological_order(namespace["topological_order"], "diamond")  # no dead branch: passes
    with pytest.raises(grading.CheckFailed) as failed:
        grading.check_topological_order(namespace["topological_order"], "dead branch")
    message = " ".join(str(failed.value).split())  # lines joined: messages are wrapped
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
    message = " ".join(str(failed.value).split())  # lines joined: messages are wrapped
    assert "has no attribute 'value'" in message and "wrt=variables" in message, message


# --- every message is short lines ---------------------------------------------------------------

LONGEST_LINE = 80  # `nbgrader validate` cuts lines at the terminal's width (about 88 characters)
SOURCE = Path(__file__).resolve().parents[2] / "solutions"
NOTEBOOK_FILES = {"01-backward-passes": "backward_passes", "02-backprop": "backprop", "03-training": "training",
                  "04-forward-engine": "forward_engine"}


def _mistakes():
    """(assignment, {answer cell: code}) for each scenario of the pipeline tests, plus untouched stubs."""
    yield from (("01-backward-passes", {f"{op}_backward": code}) for op, (code, _) in s.OP_MISTAKES.items())
    yield "01-backward-passes", {"exp_backward": s.RAISES}
    yield "01-backward-passes", s.NOISY_RULES
    for code in (s.RECURSIVE_ORDER, s.CONSUMER_WALKING_ORDER):
        yield "02-backprop", {"topological_order": code}
    for code in (s.OVERWRITING_BACKPROP, s.BREADTH_FIRST_BACKPROP, s.PULLING_BACKPROP):
        yield "02-backprop", {"backprop": code}
    yield "03-training", {"cross_entropy": s.NAIVE_CROSS_ENTROPY}
    for code in (s.IN_PLACE_BACKPROP, s.FORWARDS_BACKPROP, s.FORWARDS_ZEROS_BACKPROP):
        yield "02-backprop", {"backprop": code}
    for name, (answer, _) in A3_MISTAKES.items():
        yield "03-training", {answer: getattr(s, name)}
    yield "03-training", {"gradient_descent_step": s.IN_PLACE_STEP}
    for code in (s.EVERY_NODE_TRAIN, s.ASCENDING_TRAIN):
        yield "03-training", {"train": code}
    for code in (s.RECURSIVE_POST_ORDER, s.PRE_ORDER):
        yield "04-forward-engine", {"post_order": code}
    for code in (s.RECOMPUTING_EVALUATE, s.UNCHECKED_FEED_EVALUATE, s.MUTATING_EVALUATE, s.OWN_OPS_EVALUATE):
        yield "04-forward-engine", {"evaluate": code}
    stub = "def {name}(*args, **kwargs):\n    raise NotImplementedError()\n"
    for assignment in NOTEBOOK_FILES:
        nb = json.loads((SOURCE / assignment / f"{NOTEBOOK_FILES[assignment]}.ipynb").read_text())
        answers = [s.grade_id(c) for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("solution")]
        yield assignment, {gid: stub.format(name=gid) for gid in answers}


def provoked_messages(assignment, answers):
    """Run the source notebook's code with `answers` in place of the solutions, hidden tests included;
    return the message of every check that failed."""
    nb = json.loads((SOURCE / assignment / f"{NOTEBOOK_FILES[assignment]}.ipynb").read_text())
    solved = s.solutions(nb)
    namespace, messages = {}, []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code" or "viz." in "".join(cell["source"]):
            continue  # drawings: slow, and they check nothing
        gid = s.grade_id(cell)
        code = answers.get(gid, solved.get(gid, "".join(cell["source"])))
        try:
            exec(code, namespace)  # noqa: S102 (the notebook under test)
        except grading.CheckFailed as failed:
            messages.append(str(failed))
        except Exception:  # noqa: BLE001 (a student's exception outside a check is not our message)
            pass
    return messages


def test_every_failure_message_is_short_lines(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")  # as under nbgrader: no widgets, no long demos
    messages = [m for assignment, answers in _mistakes() for m in provoked_messages(assignment, answers)]
    assert len(messages) >= 40, f"only {len(messages)} messages provoked: the scenarios no longer fail"
    long = [(len(line), line) for m in messages for i, line in enumerate(m.splitlines())
            if len(line) + (len("CheckFailed: ") if i == 0 else 0) > LONGEST_LINE]
    assert not long, f"{len(long)} lines longer than {LONGEST_LINE} characters, e.g. {long[:5]}"
    hints = [m for m in messages if "Hint:" in m]
    assert hints and all(line.startswith("Hint:") for m in hints for line in m.splitlines() if "Hint:" in line)


@pytest.mark.parametrize("message, lines", [
    ("short", ["short"]),
    ("where: " + "word " * 30 + "\n  expected: [1. 2.]\nHint: " + "do this " * 12,
     None),
])
def test_wrap_keeps_words_indents_and_puts_the_hint_on_its_own_line(message, lines):
    wrapped = grading.report.wrap(message + " Hint: last")
    assert " ".join(wrapped.split()) == " ".join((message + " Hint: last").split())  # no word lost or cut
    assert all(len(line) <= grading.report.WIDTH for line in wrapped.splitlines())
    assert wrapped.splitlines()[-1].startswith("Hint:") or "Hint: last" in wrapped.splitlines()[-1]
    if lines:
        assert wrapped.splitlines() == lines + ["Hint: last"]
    else:
        assert "  expected: [1. 2.]" in wrapped.splitlines()


# --- grades that can be trusted: each typical mistake is named, and the hint points at its cause ----

def _solved(assignment, **answers):
    """The notebook's namespace with the solution's answer cells, some replaced by `answers`."""
    nb = json.loads((SOURCE / assignment / f"{NOTEBOOK_FILES[assignment]}.ipynb").read_text())
    namespace = {"ds": ds, "np": np}
    for code in {**s.solutions(nb), **answers}.values():
        exec(code, namespace)  # noqa: S102 (the submission under test)
    return namespace


def _failure(check, *args, **kwargs):
    with pytest.raises(grading.CheckFailed) as failed:
        check(*args, **kwargs)
    return " ".join(str(failed.value).split())  # lines joined: messages are wrapped


def test_adding_in_place_in_backprop_is_named_as_the_cause():
    backprop = _solved("02-backprop", backprop=s.IN_PLACE_BACKPROP)["backprop"]
    message = _failure(grading.check_backprop, backprop, "skip connection")
    assert "the gradient of 'add' (Add) is wrong" in message and "expected: [1. 1. 1.]" in message, message
    assert "changed in place" in message and "Hint: write grads[x] = grads[x] + g" in message, message
    assert "breadth-first" not in message and "overwrite" not in message, message


def test_backprop_walking_the_order_forwards_is_told_to_reverse_it():
    namespace = _solved("02-backprop", backprop=s.FORWARDS_BACKPROP)
    message = _failure(grading.check_backprop, namespace["backprop"], "chain")
    assert "KeyError" in message and "'sigmoid' (Sigmoid)" in message, message
    assert "reversed(topological_order(loss))" in message and "does not depend on" not in message, message
    namespace = _solved("02-backprop", backprop=s.FORWARDS_ZEROS_BACKPROP)
    message = _failure(grading.check_backprop, namespace["backprop"], "diamond")
    assert "is wrong (relative error" in message and "expected:" in message, message
    assert "called before that of" in message and "you walk the nodes in topological order" in message, message
    assert "overwrite" not in message, message


@pytest.mark.parametrize("graph", ["chain", "diamond", "skip connection", "dead branch", "long chain", "mlp",
                                   "random 0"])
def test_the_solution_backprop_still_passes(graph):
    grading.check_backprop(_solved("02-backprop")["backprop"], graph)


def _changed(k, change):
    """The solution's backprop, with the gradient of the k-th node of the loss's topological order changed."""
    solved = _solved("02-backprop")

    def backprop(loss, values):
        grads = dict(solved["backprop"](loss, values))
        node = solved["topological_order"](loss)[k]
        if change is None:
            del grads[node]
        else:
            grads[node] = change(grads[node])
        return grads
    return backprop


@pytest.mark.parametrize("change, passes", [
    (lambda g: g * (1 + 5e-8), True), (lambda g: g * (1 + 1e-6), False), (lambda g: g * np.nan, False),
    (lambda g: g[:1], False), (None, False), (lambda g: [list(g)], False)])
def test_the_gradients_compared_all_at_once_pass_and_fail_as_node_by_node(change, passes):
    """check_backprop first compares every gradient in one vectorized step, and only goes node by node
    (to name the first wrong one) if that fails: a change in the middle of the long chain still fails,
    with the message of the node that is wrong, and a rounding-level one still passes."""
    backprop = _changed(900, change)
    if passes:
        grading.check_backprop(backprop, "long chain")
        return
    message = _failure(grading.check_backprop, backprop, "long chain")
    _, problem = build("long chain")
    node = _solved("02-backprop")["topological_order"](problem.loss)[900]
    assert f"'{node.name}' ({node.op_type})" in message, message
    assert any(what in message for what in ("is wrong", "no gradient", "should have its value's shape")), message


# Assignment 3: (submission, answer cell) -> (the check's arguments, what the message must say)
A3_MISTAKES = {
    "LIBRARY_CROSS_ENTROPY": ("cross_entropy", "your loss uses ds.log_softmax (the op 'log_softmax' (LogSoftmax))"),
    "MEAN_CROSS_ENTROPY": ("cross_entropy", "that is the mean over every entry (ds.reduce_mean)"),
    "AFTER_STEP_TRAIN": ("train", "your losses are measured after each step"),
    "FORGETFUL_MOMENTUM": ("momentum_step", "that is plain gradient descent: the velocity was not kept"),
    "DAMPENED_MOMENTUM": ("momentum_step", "without a factor (1 − momentum) on the gradient"),
    "UNCORRECTED_ADAM": ("adam_step", "the bias correction is missing"),
    "UNCOUNTED_ADAM": ("adam_step", "t counts the steps taken so far"),
    "UNSHUFFLED_MINIBATCHES": ("train_minibatches", "visits the examples in their original order"),
    "SEPARATELY_SHUFFLED_MINIBATCHES": ("train_minibatches", "shuffle X and Y with the same permutation"),
    "SAME_ORDER_MINIBATCHES": ("train_minibatches", "every epoch visits the examples in the same order"),
    "SHORT_MINIBATCHES": ("train_minibatches", "it should be 3 × 4 = 12"),
}
A3_CHECKS = {
    "cross_entropy": lambda f: grading.check_cross_entropy(f, logits=[[1000.0, 0.0]], labels=[[0.0, 1.0]]),
    "train": lambda f: grading.check_train(f, "red/blue", steps=20, learning_rate=0.01, min_accuracy=0.0),
    "momentum_step": grading.check_momentum_step,
    "adam_step": grading.check_adam_step,
    "train_minibatches": lambda f: grading.check_train_minibatches(f, batch_size=32, epochs=3, min_accuracy=0.0),
}


@pytest.mark.parametrize("name", A3_MISTAKES)
def test_assignment_3_mistakes_are_named_with_the_right_hint(name):
    answer, said = A3_MISTAKES[name]
    message = _failure(A3_CHECKS[answer], _solved("03-training", **{answer: getattr(s, name)})[answer])
    assert said in message, message
    assert "clipping" not in message and "epsilon hides" not in message, message  # the old, wrong-way hint


@pytest.mark.parametrize("answer", A3_CHECKS)
def test_the_assignment_3_solution_passes_the_same_checks(answer):
    A3_CHECKS[answer](_solved("03-training")[answer])


def test_a_wrong_optimizer_shows_the_variable_the_step_and_the_values():
    message = _failure(grading.check_adam_step, _solved("03-training", adam_step=s.UNCORRECTED_ADAM)["adam_step"])
    assert "adam_step(gradients, state, learning_rate=0.01" in message and "after step 1 of 4" in message, message
    assert "W.value is wrong" in message and "expected: [[" in message and "yours: [[" in message, message


def test_a_loss_from_the_library_is_refused_even_when_its_value_is_right():
    namespace = _solved("03-training", cross_entropy=s.LIBRARY_CROSS_ENTROPY)
    fused = "def cross_entropy(logits, labels):\n    return ds.nn.softmax_cross_entropy(labels=labels, logits=logits)\n"
    exec(fused, namespace)  # noqa: S102 (the submission under test)
    message = _failure(grading.check_cross_entropy, namespace["cross_entropy"],
                       logits=[[2.0, 1.0]], labels=[[1.0, 0.0]])
    assert "your loss uses ds.nn.softmax_cross_entropy" in message and "ds.reduce_max" in message, message
