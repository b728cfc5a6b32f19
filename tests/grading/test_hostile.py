"""Hostile and unusual submissions of assignment 1, graded with real `nbgrader autograde`.

Each case (hostile.py) must lose exactly the points of the part it did not earn, scores read
through the gradebook; an honest submission of the same shape keeps full marks. The cases are
graded in two nbgrader runs side by side, each in its own copy of the course.
"""
import socket

import pytest

from . import hostile
from . import submissions as s
from .nbgrader_course import nbgrader_in_parallel
from .sandbox_tools import require_bwrap

pytestmark = pytest.mark.grading

A1 = "01-backward-passes"
CASES = list(hostile.cases("/course", 1))


class Graded:
    def __init__(self, courses, fails, ports):
        self.courses, self.fails, self.ports = courses, fails, ports

    def scores(self, student):
        return self.courses[student].scores(student, A1)

    def errors(self, student, cells):
        nb = self.courses[student].autograded(student, A1)
        return [o for c in nb["cells"] if s.grade_id(c) in cells for o in c.get("outputs", [])
                if o["output_type"] == "error"]


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    require_bwrap()
    listener = socket.socket()  # the network case may reach this only without the sandbox
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        port = listener.getsockname()[1]
        shards = [course.copy(tmp_path_factory.mktemp("hostile")) for _ in range(2)]
        solved = s.solutions(course.source(A1))
        release = course.release(A1)
        courses, fails = {}, {}
        for i, student in enumerate(CASES):
            shard = shards[i % 2]
            answers, changes, fails[student] = hostile.cases(shard.root, port)[student]
            shard.submit(student, A1, hostile.build(release, solved, answers, changes))
            courses[student] = shard
        nbgrader_in_parallel([("autograde", A1, "--force")] * 2, [shard.root for shard in shards])
        yield Graded(courses, fails, port)
    finally:
        listener.close()


@pytest.mark.parametrize("student", CASES)
def test_each_case_loses_exactly_the_points_it_did_not_earn(graded, student):
    scores = graded.scores(student)
    fails = graded.fails[student]
    assert fails <= set(scores), f"unknown cells {fails - set(scores)}"
    wrong = {cell: score for cell, score in scores.items() if score[0] != (0 if cell in fails else score[1])}
    assert not wrong, (f"{student}: these cells scored (score, max) {wrong}; "
                       f"expected 0 exactly for {sorted(fails)} and full marks elsewhere")


def test_the_honest_submission_keeps_full_marks(graded):
    scores = graded.scores("honest")
    assert sum(score for score, _ in scores.values()) == 35 == sum(top for _, top in scores.values())


def test_an_extra_graded_cell_of_the_students_is_ignored(graded):
    assert "my_own_test" not in graded.scores("tampered-cells")
    assert sum(top for _, top in graded.scores("tampered-cells").values()) == 35  # points as the instructor set


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
])
def test_the_feedback_says_what_went_wrong(graded, student, cell, text):
    errors = graded.errors(student, {cell})
    assert errors and any(text in f"{o['ename']}: {o['evalue']}" for o in errors), [o["evalue"] for o in errors]


def test_a_cell_that_kills_its_process_is_reported_on_that_cell(graded):
    nb = graded.courses["exit-in-answer-cell"].autograded("exit-in-answer-cell", A1)
    [cell] = [c for c in nb["cells"] if s.grade_id(c) == "negative_backward"]
    assert [o["ename"] for o in cell["outputs"]] == ["NotRun"], cell["outputs"]
