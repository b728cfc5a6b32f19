"""The course's OverwriteCells and SaveAutoGrades (dlscratch/grading/gradebook_steps.py) read the gradebook
once per notebook instead of once per cell. They must leave exactly what nbgrader's own leave: the same
grades, comments and flags in the gradebook, and the same autograded notebook, also for submissions whose
cells nbgrader has to put right (a deleted test cell, an edited locked cell, changed points)."""
import copy

from nbgrader.api import Gradebook

from . import submissions as s
from .nbgrader_course import NOTEBOOKS, nbgrader_in_parallel

A3 = "03-training"
NOTEBOOK = NOTEBOOKS[A3]
# appended to one course's config: nbgrader's own steps in place of the course's
NBGRADERS_OWN = """
import nbgrader.preprocessors as _own
c.Autograde.sanitize_preprocessors = [_own.OverwriteCells if p is OverwriteCells else p
                                      for p in c.Autograde.sanitize_preprocessors]
c.Autograde.autograde_preprocessors = [_own.SaveAutoGrades if p is SaveAutoGrades else p
                                       for p in c.Autograde.autograde_preprocessors]
"""


def _tampered(notebook):
    """A test cell worth 100 points instead of its own, and a locked set-up cell edited."""
    notebook = copy.deepcopy(notebook)
    cells = [c for c in notebook["cells"] if "nbgrader" in c["metadata"]]
    graded = next(c for c in cells if c["metadata"]["nbgrader"].get("grade"))
    graded["metadata"]["nbgrader"]["points"] = 100
    locked = next(c for c in cells if c["metadata"]["nbgrader"].get("locked") and c["cell_type"] == "code"
                  and not c["metadata"]["nbgrader"].get("grade"))
    locked["source"] = "GRADE = 'full marks'\n" + "".join(locked["source"])
    return notebook


def _gradebook_rows(course, student):
    with Gradebook(course.db_url) as gb:
        nb = gb.find_submission_notebook(NOTEBOOK, A3, student)
        grades = {g.name: (g.auto_score, g.manual_score, g.needs_manual_grade, g.max_score) for g in nb.grades}
        comments = {c.name: (c.auto_comment, c.manual_comment) for c in nb.comments}
        return grades, comments, nb.score, nb.needs_manual_grade


def _cells(course, student):
    return [(c["cell_type"], "".join(c["source"]), c["metadata"].get("nbgrader"))
            for c in course.autograded(student, A3)["cells"]]


def test_the_course_steps_leave_what_nbgraders_own_leave(course, tmp_path):
    ours, theirs = course.copy(tmp_path / "ours"), course.copy(tmp_path / "theirs")
    config = theirs.root / "nbgrader_config.py"
    config.write_text(config.read_text(encoding="utf-8") + NBGRADERS_OWN, encoding="utf-8")
    release, solved = course.release(A3), s.solutions(course.source(A3))
    handed_in = {
        "correct": s.submission(release, solved),
        "mistake": s.submission(release, {**solved, "cross_entropy": s.NAIVE_CROSS_ENTROPY}),
        "untouched": release,  # every answer cell unanswered: "No response." comments
        "deleted-test": s.submission(release, solved, drop={"test_adam_step"}),
        "tampered": _tampered(s.submission(release, solved)),
    }
    for student, notebook in handed_in.items():
        for c in (ours, theirs):
            c.submit(student, A3, notebook)
    nbgrader_in_parallel([("autograde", A3, "--force")] * 2, [ours.root, theirs.root])

    for student in handed_in:
        assert _gradebook_rows(ours, student) == _gradebook_rows(theirs, student), student
        assert _cells(ours, student) == _cells(theirs, student), student
    # the cases did what they are here for
    grades, comments, score, _ = _gradebook_rows(ours, "untouched")
    assert score == 0 and set(comments.values()) == {("No response.", None)}
    grades, _, _, _ = _gradebook_rows(ours, "tampered")
    assert max(g[3] for g in grades.values()) < 100
    assert all("full marks" not in source for _, source, _ in _cells(ours, "tampered"))
    assert _gradebook_rows(ours, "deleted-test")[0]["test_adam_step"][0] == 0
    assert _gradebook_rows(ours, "mistake")[2] < _gradebook_rows(ours, "correct")[2]
