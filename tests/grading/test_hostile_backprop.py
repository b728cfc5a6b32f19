"""Hostile and unusual submissions of assignment 2, graded with real `nbgrader autograde` the isolated way.

Each case (hostile_backprop.py) must lose exactly the points of the part it did not earn, scores read
through the gradebook; an honest submission of the same shape keeps every point. Graded in two nbgrader
runs side by side, each in its own copy of the course.
"""
import pytest

from . import hostile
from . import hostile_backprop as cases
from . import submissions as s
from .nbgrader_course import nbgrader_in_parallel
from .sandbox_tools import require_bwrap

pytestmark = pytest.mark.grading

A2 = "02-backprop"
STUDENTS = list(cases.cases("/course"))


class Graded:
    def __init__(self, courses, fails):
        self.courses, self.fails = courses, fails

    def scores(self, student):
        return self.courses[student].scores(student, A2)

    def outputs(self, student, cells):
        nb = self.courses[student].autograded(student, A2)
        return [o for c in nb["cells"] if s.grade_id(c) in cells for o in c.get("outputs", [])
                if o["output_type"] == "error"]


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    require_bwrap()
    shards = [course.copy(tmp_path_factory.mktemp("hostile-backprop")) for _ in range(2)]
    solved = s.solutions(course.source(A2))
    release = course.release(A2)
    test_cells = {s.grade_id(c) for c in release["cells"] if c["metadata"].get("nbgrader", {}).get("grade")}
    courses, fails = {}, {}
    for i, student in enumerate(STUDENTS):
        shard = shards[i % 2]
        answers, changes, fails[student] = cases.cases(shard.root, test_cells)[student]
        shard.submit(student, A2, hostile.build(release, solved, answers, changes))
        courses[student] = shard
    nbgrader_in_parallel([("autograde", A2, "--force")] * 2, [shard.root for shard in shards])
    return Graded(courses, fails)


@pytest.mark.parametrize("student", STUDENTS)
def test_each_case_loses_exactly_the_points_it_did_not_earn(graded, student):
    scores = graded.scores(student)
    fails = graded.fails[student]
    assert fails <= set(scores), f"unknown cells {fails - set(scores)}"
    wrong = {cell: score for cell, score in scores.items() if score[0] != (0 if cell in fails else score[1])}
    assert not wrong, (f"{student}: these cells scored (score, max) {wrong}; "
                       f"expected 0 exactly for {sorted(fails)} and full marks elsewhere")


def test_the_honest_submission_keeps_full_marks(graded):
    scores = graded.scores("honest")
    assert sum(score for score, _ in scores.values()) == sum(top for _, top in scores.values()) >= 12


@pytest.mark.parametrize("student, cell, text", [
    ("captured-order", "test_topological_order", "topological_order is not available"),
    ("session-order", "test_topological_order", "topological_order is not available"),
    ("captured-backprop", "test_backprop_chain", "backprop is not available"),
    ("alias-backprop", "test_backprop_diamond", "backprop is not available"),
    ("patched-checks", "test_backprop_diamond", "CheckFailed: backprop(loss, values) on the diamond"),
    ("reads-solutions", "test_backprop_chain", "NameError"),
])
def test_the_feedback_says_what_went_wrong(graded, student, cell, text):
    errors = graded.outputs(student, {cell})
    shown = [" ".join(f"{o['ename']}: {o['evalue']}".split()) for o in errors]  # messages are wrapped
    assert errors and any(text in line for line in shown), shown


def test_a_cell_that_kills_its_process_is_reported_on_that_cell(graded):
    nb = graded.courses["exit-in-answer-cell"].autograded("exit-in-answer-cell", A2)
    [cell] = [c for c in nb["cells"] if s.grade_id(c) == "backprop"]
    assert [o["ename"] for o in cell["outputs"]] == ["NotRun"], cell["outputs"]
