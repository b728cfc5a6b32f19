"""Hostile and unusual submissions of assignment 2, graded with real `nbgrader autograde` the isolated way.

Each case (hostile_backprop.py) must lose exactly the points of the part it did not earn, scores read
through the gradebook; an honest submission of the same shape keeps every point. Graded in two nbgrader
runs side by side, each in its own copy of the course (hostile_suite.py).
"""
import pytest

from . import hostile_backprop as cases
from . import hostile_suite as suite

pytestmark = pytest.mark.grading

A2 = "02-backprop"
POINTS = 12
STUDENTS = list(cases.cases("/course"))


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    test_cells = suite.graded_cells(course.release(A2))
    return suite.grade(course, A2, lambda root: cases.cases(root, test_cells), tmp_path_factory)


@pytest.mark.parametrize("student", STUDENTS)
def test_each_case_loses_exactly_the_points_it_did_not_earn(graded, student):
    suite.assert_loses_exactly_what_it_did_not_earn(graded, student)


def test_the_honest_submission_keeps_full_marks(graded):
    suite.assert_full_marks(graded, "honest", POINTS)


@pytest.mark.parametrize("student, cell, text", [
    ("captured-order", "test_topological_order", "topological_order is not available"),
    ("session-order", "test_topological_order", "topological_order is not available"),
    ("captured-backprop", "test_backprop_chain", "backprop is not available"),
    ("alias-backprop", "test_backprop_diamond", "backprop is not available"),
    ("patched-checks", "test_backprop_diamond", "CheckFailed: backprop(loss, values) on the diamond"),
    ("reads-solutions", "test_backprop_chain", "NameError"),
])
def test_the_feedback_says_what_went_wrong(graded, student, cell, text):
    suite.assert_feedback(graded, student, cell, text)


def test_a_cell_that_kills_its_process_is_reported_on_that_cell(graded):
    suite.assert_not_run(graded, "exit-in-answer-cell", "backprop")
