"""Hostile and unusual submissions of assignment 4, graded with real `nbgrader autograde` the isolated way.

Each case (hostile_forward.py) must lose exactly the points of the part it did not earn, scores read
through the gradebook; an honest submission of the same shape keeps all 13. Graded in two nbgrader runs
side by side, each in its own copy of the course (hostile_suite.py).
"""
import random

import pytest

from dlscratch.core import topological_order
from dlscratch.grading.forward import GRAPHS, build
from dlscratch.grading.isolation.graphs import GraphWriter

from . import hostile_forward as cases
from . import hostile_suite as suite

pytestmark = pytest.mark.grading

A4 = cases.A4
POINTS = 13
STUDENTS = list(cases.cases("/course"))


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    return suite.grade(course, A4, cases.cases, tmp_path_factory)


def test_the_cases_know_every_test_cell(course):
    assert set().union(*cases.CELLS.values()) == suite.graded_cells(course.release(A4))
    assert suite.points(course.release(A4)) == POINTS


@pytest.mark.parametrize("student", STUDENTS)
def test_each_case_loses_exactly_the_points_it_did_not_earn(graded, student):
    suite.assert_loses_exactly_what_it_did_not_earn(graded, student)


def test_the_honest_submission_keeps_full_marks(graded):
    suite.assert_full_marks(graded, "honest", POINTS)


def test_an_extra_graded_cell_of_the_students_is_ignored(graded):
    suite.assert_extra_graded_cell_ignored(graded, "tampered-cells", POINTS)


@pytest.mark.parametrize("student, cell, texts", [
    ("calls-order", "test_post_order", ["topological_order is not available", "library's own"]),
    ("captured-order", "test_post_order", ["topological_order is not available"]),
    ("captured-order", "test_evaluate_affine", ["topological_order is not available"]),
    ("session-evaluate", "test_evaluate_chain", ["is not available", "library's own"]),
    ("session-run", "test_evaluate_chain", ["is not available", "library's own"]),
    ("captured-run", "test_evaluate_diamond", ["Session.run is not available"]),
    ("captured-evaluate-all", "test_evaluate_affine", ["Session.evaluate_all is not available"]),
    ("creation-order", "test_post_order", ["comes before its input"]),
    ("cached-order", "test_evaluate_chain", ["ValueError"]),
    ("patched-checks", "test_evaluate_diamond", ["was computed 2 times"]),
    ("patched-numpy", "test_evaluate_fed_variable", ["is wrong"]),
    ("reads-solutions", "test_evaluate_chain", ["NameError"]),
    ("reads-gradebook", "test_post_order", ["NameError"]),
    ("os-exit-in-function", "test_post_order_hidden", ["ended the process it ran in"]),
    ("sys-exit-in-function", "test_evaluate_fed_variable", ["SystemExit"]),
    ("keyboard-interrupt", "test_trained_mlp", ["KeyboardInterrupt"]),
    ("loop-in-function", "test_evaluate_unfed_placeholder", ["GraderTimeout"]),
    ("memory-bomb", "test_evaluate_affine", ["MemoryError"]),
    ("hard-coded", "test_evaluate_affine", ["not computed by the op's forward"]),
    ("tampered-cells", "test_evaluate_chain", ["Hint:"]),
    ("deleted-cells", "test_trained_mlp", ["was deleted from the submission"]),
])
def test_the_feedback_says_what_went_wrong(graded, student, cell, texts):
    suite.assert_feedback(graded, student, cell, *texts)


def test_a_cell_that_kills_its_process_is_reported_on_that_cell(graded):
    suite.assert_not_run(graded, "exit-in-answer-cell", "evaluate")


def inputs_first(nodes):
    position = {n: i for i, n in enumerate(nodes)}
    return all(position.get(x, -1) < i for i, n in enumerate(nodes) for x in n.inputs)


@pytest.mark.parametrize("name", [*(g for g in GRAPHS if g != "long chain"), "random 0"])
def test_no_graph_of_the_checks_crosses_in_an_order_to_borrow(name):
    """What the creation-order case counts on, draw by draw: the sandbox lists a graph's nodes in the order
    they were described, and for the nodes behind the fetch that is never an order inputs-first."""
    borrowable = 0
    for draw in range(100):
        _, case = build(name)
        writer = GraphWriter(rng=random.Random(draw))
        writer.encode_node(case.fetches[0])
        behind = set(topological_order(case.fetches[:1]))
        listed = [writer.decode_node(d["id"]) for d in writer.descriptions]
        borrowable += inputs_first([n for n in listed if n in behind])
    assert borrowable == 0, f"{borrowable} of 100 descriptions of {name!r} list the nodes inputs first"
