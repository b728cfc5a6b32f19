"""Hostile and unusual submissions of assignment 3, graded with real `nbgrader autograde` the isolated way.

Each case (hostile_training.py) must lose exactly the points of the part it did not earn, scores read
through the gradebook; an honest submission of the same shape keeps all 18. Graded in two nbgrader runs
side by side, each in its own copy of the course (hostile_suite.py).
"""
import pytest

from . import hostile_suite as suite
from . import hostile_training as cases

pytestmark = pytest.mark.grading

A3 = cases.A3
POINTS = 18
STUDENTS = list(cases.cases("/course"))


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    return suite.grade(course, A3, cases.cases, tmp_path_factory)


def test_the_cases_know_every_test_cell(course):
    assert set().union(*cases.CELLS.values()) == suite.graded_cells(course.release(A3))
    assert suite.points(course.release(A3)) == POINTS


@pytest.mark.parametrize("student", STUDENTS)
def test_each_case_loses_exactly_the_points_it_did_not_earn(graded, student):
    suite.assert_loses_exactly_what_it_did_not_earn(graded, student)


def test_the_honest_submission_keeps_full_marks(graded):
    suite.assert_full_marks(graded, "honest", POINTS)


def test_an_extra_graded_cell_of_the_students_is_ignored(graded):
    suite.assert_extra_graded_cell_ignored(graded, "tampered-cells", POINTS)


@pytest.mark.parametrize("student, cell, texts", [
    ("library-loss", "test_cross_entropy", ["ds.nn.softmax_cross_entropy"]),
    ("log-softmax", "test_cross_entropy", ["ds.log_softmax"]),
    ("numpy-loss", "test_cross_entropy", ["your cross_entropy returned a"]),
    ("constant-loss", "test_cross_entropy", ["your loss does not depend on the logits"]),
    ("grader-memory-bomb", "test_cross_entropy", ["(Mul) ran out of memory", "Unable to allocate 2.00 GiB"]),
    ("optimizer-step", "test_gradient_descent_step", ["is not available"]),
    ("momentum-optimizer", "test_momentum_step", ["is not available"]),
    ("captured-adam", "test_adam_step", ["is not available"]),
    ("fit-as-train", "test_train_red_blue", ["is not available"]),
    ("captured-fit", "test_train_red_blue", ["is not available"]),
    ("captured-batches", "test_train_minibatches", ["is not available"]),
    ("patched-checks", "test_train_red_blue", ["it should decrease"]),
    ("patched-numpy", "test_gradient_descent_step", ["in place"]),
    ("reads-solutions", "test_train_xor", ["NameError"]),
    ("reads-gradebook", "test_cross_entropy", ["NameError"]),
    ("os-exit-in-function", "test_gradient_descent_step", ["ended the process it ran in"]),
    ("os-exit-in-function", "test_train_xor", ["ended the process it ran in"]),
    ("sys-exit-in-function", "test_adam_step", ["SystemExit"]),
    ("keyboard-interrupt", "test_train_minibatches", ["KeyboardInterrupt"]),
    ("loop-in-function", "test_cross_entropy", ["GraderTimeout"]),
    ("memory-bomb", "test_momentum_step", ["MemoryError"]),
    ("hard-coded", "test_train_loss_decreases", ["CheckFailed"]),
    ("tampered-cells", "test_adam_step", ["Hint:"]),
    ("deleted-cells", "test_train_xor", ["was deleted from the submission"]),
    ("in-place-momentum", "test_momentum_step", ["in place"]),
    ("loss-after-step", "test_train_loss_decreases", ["measured after each step"]),
])
def test_the_feedback_says_what_went_wrong(graded, student, cell, texts):
    suite.assert_feedback(graded, student, cell, *texts)


def test_a_cell_that_kills_its_process_is_reported_on_that_cell(graded):
    suite.assert_not_run(graded, "exit-in-answer-cell", "momentum_step")
