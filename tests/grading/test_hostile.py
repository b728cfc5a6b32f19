"""Hostile and unusual submissions of assignment 1, graded with real `nbgrader autograde`.

Each case (hostile.py) must lose exactly the points of the part it did not earn, scores read
through the gradebook; an honest submission of the same shape keeps full marks. The cases are
graded in two nbgrader runs side by side, each in its own copy of the course (hostile_suite.py).
"""
import socket

import pytest

from . import hostile
from . import hostile_suite as suite

pytestmark = pytest.mark.grading

A1 = "01-backward-passes"
POINTS = 35
CASES = list(hostile.cases("/course", 1))


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    listener = socket.socket()  # the network case may reach this only without the sandbox
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        port = listener.getsockname()[1]
        yield suite.grade(course, A1, lambda root: hostile.cases(root, port), tmp_path_factory)
    finally:
        listener.close()


@pytest.mark.parametrize("student", CASES)
def test_each_case_loses_exactly_the_points_it_did_not_earn(graded, student):
    suite.assert_loses_exactly_what_it_did_not_earn(graded, student)


def test_the_honest_submission_keeps_full_marks(graded):
    suite.assert_full_marks(graded, "honest", POINTS)


def test_an_extra_graded_cell_of_the_students_is_ignored(graded):
    suite.assert_extra_graded_cell_ignored(graded, "tampered-cells", POINTS)


def test_nothing_was_written_outside_the_scratch_folder(graded):
    course = graded.courses["writes-outside"]
    assert not (course.root / "written-by-a-student.txt").exists()


@pytest.mark.parametrize("student, cell, text", [
    ("calls-rule", "test_negative", "Neg.backward is not available"),
    ("unbroadcast", "test_add", "dlscratch's own unbroadcast is not available"),
    ("os-exit-in-rule", "test_multiply", "ended the process it ran in"),
    ("sys-exit-in-rule", "test_add", "SystemExit"),
    ("memory-bomb", "test_sigmoid", "MemoryError"),
    ("fork-bomb", "test_log", "BlockingIOError"),
    ("network", "test_exp", "Errno"),
    ("reads-solutions", "test_exp", "NameError"),
    ("tampered-cells", "test_negative", "Hint:"),
    ("patched-traversal", "test_training_with_your_rules", "one value when"),
])
def test_the_feedback_says_what_went_wrong(graded, student, cell, text):
    suite.assert_feedback(graded, student, cell, text)


def test_a_cell_that_kills_its_process_is_reported_on_that_cell(graded):
    suite.assert_not_run(graded, "exit-in-answer-cell", "negative_backward")
