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
