"""Autograding synthetic submissions: scores asserted through the gradebook.

The full solution is graded alone first, to time it. Then everyone else is
graded in two nbgrader runs side by side, each in its own copy of the course
(two processes must not write to one sqlite gradebook), and each test reads
the gradebook its student was graded in.
"""
import csv
import json

import pytest

from . import submissions as s
from .nbgrader_course import NOTEBOOKS, REPO, TEST_CELL_TIMEOUT, nbgrader_in_parallel

pytestmark = pytest.mark.grading

A1, A2, A3, A4 = NOTEBOOKS
FULL_SUBMISSION_SECONDS = 30


def grade_cells(nb):
    return {s.grade_id(c) for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")}


def scenarios(course):
    """{student: {assignment: (submitted notebook, test cells that must score 0)}}; all others: full marks."""
    src = {a: course.source(a) for a in NOTEBOOKS}
    rel = {a: course.release(a) for a in NOTEBOOKS}
    solved = {a: s.solutions(src[a]) for a in NOTEBOOKS}

    def sub(a, fails=(), answers=None, **changes):
        return s.submission(rel[a], {**solved[a], **(answers or {})}, **changes), set(fails)

    plan = {"untouched": {a: (rel[a], grade_cells(rel[a])) for a in NOTEBOOKS}}
    for op, (code, fails) in s.OP_MISTAKES.items():
        plan[f"wrong-{op}"] = {A1: sub(A1, fails, {f"{op}_backward": code})}
    # Everything a student can break, each in a different op, all in one notebook: exp_backward raises
    # and its tests were edited to pass; relu_backward never returns; sigmoid's visible test was deleted.
    plan["mischief"] = {A1: sub(A1, {"test_exp", "test_exp_hidden", "test_relu", "test_relu_hidden", "test_sigmoid"},
                                {"exp_backward": s.RAISES, "relu_backward": s.INFINITE_LOOP},
                                replace={"test_exp": "pass", "test_exp_hidden": "pass  # all good!"},
                                drop={"test_sigmoid"})}
    plan["noisy"] = {A1: sub(A1, answers=s.NOISY_RULES, insert_after={"setup": s.NOISY_CELL})}
    plan["recursive"] = {A2: sub(A2, {"test_topological_order_hidden", "test_backprop_long_chain"},
                                 {"topological_order": s.RECURSIVE_ORDER})}
    plan["overwriting"] = {A2: sub(A2, {"test_backprop_diamond", "test_backprop_skip_connection",
                                        "test_backprop_dead_branch", "test_backprop_hidden"},
                                   {"backprop": s.OVERWRITING_BACKPROP})}
    plan["breadth-first"] = {A2: sub(A2, {"test_backprop_skip_connection", "test_backprop_hidden"},
                                     {"backprop": s.BREADTH_FIRST_BACKPROP})}
    plan["pulling"] = {A2: sub(A2, {"test_backprop_dead_branch", "test_backprop_hidden"},
                               {"backprop": s.PULLING_BACKPROP})}
    plan["naive-loss"] = {A3: sub(A3, {"test_cross_entropy_hidden"}, {"cross_entropy": s.NAIVE_CROSS_ENTROPY})}
    plan["in-place"] = {A3: sub(A3, {"test_gradient_descent_step", "test_gradient_descent_step_hidden"},
                                {"gradient_descent_step": s.IN_PLACE_STEP})}
    plan["ascent"] = {A3: sub(A3, {"test_train_loss_decreases", "test_train_red_blue", "test_train_xor"},
                              {"train": s.ASCENDING_TRAIN})}
    # Grades that can be trusted: the typical mistakes of assignments 2 and 3 cost exactly their cells.
    plan["in-place-backprop"] = {A2: sub(A2, {"test_backprop_skip_connection", "test_backprop_hidden"},
                                         {"backprop": s.IN_PLACE_BACKPROP})}
    plan["forwards-backprop"] = {A2: sub(A2, {"test_backprop_chain", "test_backprop_diamond",
                                              "test_backprop_skip_connection", "test_backprop_dead_branch",
                                              "test_backprop_long_chain", "test_backprop_hidden",
                                              "test_training_with_your_backprop"},
                                         {"backprop": s.FORWARDS_BACKPROP})}
    plan["library-loss"] = {A3: sub(A3, {"test_cross_entropy", "test_cross_entropy_hidden"},
                                    {"cross_entropy": s.LIBRARY_CROSS_ENTROPY})}
    plan["mean-loss"] = {A3: sub(A3, {"test_cross_entropy", "test_cross_entropy_hidden"},
                                 {"cross_entropy": s.MEAN_CROSS_ENTROPY})}
    plan["loss-after-step"] = {A3: sub(A3, {"test_train_loss_decreases", "test_train_red_blue", "test_train_xor"},
                                       {"train": s.AFTER_STEP_TRAIN})}
    plan["optimizer-slips"] = {A3: sub(A3, {"test_momentum_step", "test_momentum_step_hidden", "test_adam_step",
                                            "test_adam_step_hidden"},
                                       {"momentum_step": s.FORGETFUL_MOMENTUM, "adam_step": s.UNCORRECTED_ADAM})}
    plan["unshuffled"] = {A3: sub(A3, {"test_train_minibatches", "test_train_minibatches_hidden"},
                                  {"train_minibatches": s.UNSHUFFLED_MINIBATCHES})}
    every_evaluate_cell = {c for c in grade_cells(rel[A4]) if c.startswith("test_evaluate") or c == "test_trained_mlp"}
    plan["recursive-order"] = {A4: sub(A4, {"test_post_order_hidden", "test_evaluate_long_chain"},
                                       {"post_order": s.RECURSIVE_POST_ORDER})}
    plan["recomputing"] = {A4: sub(A4, {"test_evaluate_diamond", "test_evaluate_hidden", "test_trained_mlp"},
                                   {"evaluate": s.RECOMPUTING_EVALUATE})}
    plan["unchecked-feed"] = {A4: sub(A4, {"test_evaluate_unfed_placeholder"},
                                      {"evaluate": s.UNCHECKED_FEED_EVALUATE})}
    plan["mutating"] = {A4: sub(A4, {"test_evaluate_fed_variable"}, {"evaluate": s.MUTATING_EVALUATE})}
    plan["own-ops"] = {A4: sub(A4, every_evaluate_cell - {"test_evaluate_unfed_placeholder"},
                               {"evaluate": s.OWN_OPS_EVALUATE})}
    return plan


class Graded:
    """Who was graded where, what they were expected to fail, and how long the full solution took."""

    def __init__(self, plan, courses, seconds):
        self.plan, self.courses, self.seconds = plan, courses, seconds

    def scores(self, student, assignment):
        return self.courses[student].scores(student, assignment)

    def autograded(self, student, assignment):
        return self.courses[student].autograded(student, assignment)

    def fails(self, student, assignment):
        return self.plan[student][assignment][1]


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    """Submit and autograde everyone."""
    for a in NOTEBOOKS:
        course.submit("full", a, s.submission(course.release(a), s.solutions(course.source(a))))
    seconds = course.autograde("--student", "full", "--force")

    plan = scenarios(course)
    shards = [course.copy(tmp_path_factory.mktemp("shard")) for _ in range(2)]
    courses = {"full": course}
    for student, work in plan.items():
        shard = shards[0] if A1 in work and student != "untouched" else shards[1]  # about half the work each
        courses[student] = shard
        for a, (nb, _) in work.items():
            shard.submit(student, a, nb)
    nbgrader_in_parallel([("autograde", "*", "--force")] * len(shards), [shard.root for shard in shards])
    return Graded(plan, courses, seconds)


def assert_scores(graded, student, assignment, fails=None):
    fails = graded.fails(student, assignment) if fails is None else fails
    scores = graded.scores(student, assignment)
    assert fails <= set(scores), f"unknown cells {fails - set(scores)}"
    wrong = {cell: score for cell, score in scores.items()
             if score[0] != (0 if cell in fails else score[1])}
    assert not wrong, (f"{student} on {assignment}: these cells scored (score, max) {wrong}; "
                       f"expected 0 exactly for {sorted(fails)} and full marks elsewhere")


def test_grading_one_full_submission_is_fast(graded):
    report = REPO / "test-artifacts" / "grading" / "timing.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    timing = {f"seconds to autograde one full submission ({len(NOTEBOOKS)} notebooks)": round(graded.seconds, 1)}
    report.write_text(json.dumps(timing) + "\n")
    assert graded.seconds < FULL_SUBMISSION_SECONDS, f"grading one full submission took {graded.seconds:.1f} s"


@pytest.mark.parametrize("assignment", NOTEBOOKS)
def test_full_solution_gets_full_marks(graded, assignment):
    assert_scores(graded, "full", assignment, set())
    assert all(top > 0 for _, top in graded.scores("full", assignment).values())


@pytest.mark.parametrize("assignment", NOTEBOOKS)
def test_untouched_release_gets_zero(graded, assignment):
    assert_scores(graded, "untouched", assignment)


@pytest.mark.parametrize("op", s.OP_MISTAKES)
def test_one_wrong_rule_fails_exactly_the_cells_that_test_it(graded, op):
    assert_scores(graded, f"wrong-{op}", A1)


def error_outputs(graded, student, assignment, cells):
    return [o for cell in graded.autograded(student, assignment)["cells"] if s.grade_id(cell) in cells
            for o in cell.get("outputs", []) if o["output_type"] == "error"]


@pytest.mark.parametrize("student, hint", [
    ("wrong-add", "Did you sum over the broadcast axis?"),
    ("wrong-matmul", "Of the products of grad with the other input"),
    ("wrong-sigmoid", "the typo in the source text"),
    ("wrong-softmax", "only the diagonal of the Jacobian"),
    ("wrong-reduce_sum", "ctx.attrs['axis']"),
])
def test_failures_explain_themselves(graded, student, hint):
    """What a student reads in the feedback: the op, the input, shapes or values, and a hint."""
    op = student.removeprefix("wrong-")
    errors = error_outputs(graded, student, A1, {f"test_{op}", f"test_{op}_hidden"})
    assert errors, f"no error output in the cells of {op}"
    texts = [" ".join(o["evalue"].split()) for o in errors]  # lines joined: messages are wrapped
    for o, text in zip(errors, texts):
        assert o["ename"] == "CheckFailed", o
        assert f"{op}_backward" in text and "\nHint:" in o["evalue"], o["evalue"]
    assert any(hint in text for text in texts), texts


@pytest.mark.parametrize("student, assignment, cell, hint", [
    ("in-place-backprop", A2, "test_backprop_skip_connection", "Hint: write grads[x] = grads[x] + g"),
    ("forwards-backprop", A2, "test_backprop_chain", "reversed(topological_order(loss))"),
    ("library-loss", A3, "test_cross_entropy", "your loss uses ds.log_softmax"),
    ("mean-loss", A3, "test_cross_entropy_hidden", "the mean over every entry (ds.reduce_mean)"),
    ("loss-after-step", A3, "test_train_loss_decreases", "Record each loss before that step's update."),
    ("optimizer-slips", A3, "test_momentum_step", "the velocity was not kept"),
    ("optimizer-slips", A3, "test_adam_step", "the bias correction is missing"),
    ("unshuffled", A3, "test_train_minibatches", "in their original order"),
])
def test_typical_mistakes_are_named_in_the_feedback(graded, student, assignment, cell, hint):
    errors = error_outputs(graded, student, assignment, {cell})
    assert errors and errors[0]["ename"] == "CheckFailed", errors
    text = " ".join(errors[0]["evalue"].split())  # lines joined: messages are wrapped
    assert hint in text, text


def test_mischief_costs_only_the_cells_it_touches(graded):
    """Code that raises, an infinite loop, an edited and a deleted test cell, each in another op."""
    assert_scores(graded, "mischief", A1)  # every other cell, including those after the loop: full marks


def test_code_that_raises_is_reported_with_the_students_line(graded):
    [error, *_] = error_outputs(graded, "mischief", A1, {"test_exp"})
    assert "KeyError" in error["evalue"] and "ctx.attrs['scale']" in error["evalue"], error["evalue"]


def test_infinite_loop_is_stopped_by_the_cell_timeout(graded):
    errors = error_outputs(graded, "mischief", A1, {"test_relu"})
    assert errors and TEST_CELL_TIMEOUT < 60, errors


def test_edited_test_cell_is_restored(graded):
    original = {s.grade_id(c): "".join(c["source"]) for c in graded.courses["full"].source(A1)["cells"]}
    restored = {s.grade_id(c): "".join(c["source"]) for c in graded.autograded("mischief", A1)["cells"]}
    assert restored["test_exp"] == original["test_exp"]
    assert restored["test_exp_hidden"] == original["test_exp_hidden"]  # hidden tests included


def test_deleted_test_cell_is_put_back_and_scores_zero(graded):
    cells = [s.grade_id(c) for c in graded.autograded("mischief", A1)["cells"]]
    assert cells.index("test_sigmoid") == cells.index("sigmoid_backward") + 1  # back in its place
    [error] = error_outputs(graded, "mischief", A1, {"test_sigmoid"})
    assert "deleted" in error["evalue"], error


def test_warnings_and_stderr_output_cost_nothing(graded):
    assert_scores(graded, "noisy", A1, set())


@pytest.mark.parametrize("student", ["recursive", "overwriting", "breadth-first", "pulling", "in-place-backprop",
                                     "forwards-backprop"])
def test_traversal_mistakes_fail_the_graphs_that_expose_them(graded, student):
    assert_scores(graded, student, A2)


@pytest.mark.parametrize("student", ["naive-loss", "in-place", "ascent", "library-loss", "mean-loss",
                                     "loss-after-step", "optimizer-slips", "unshuffled"])
def test_training_mistakes_cost_only_their_part(graded, student):
    assert_scores(graded, student, A3)


@pytest.mark.parametrize("student", ["recursive-order", "recomputing", "unchecked-feed", "mutating", "own-ops"])
def test_forward_engine_mistakes_fail_the_cases_that_expose_them(graded, student):
    assert_scores(graded, student, A4)


@pytest.mark.parametrize("student, cell, says", [
    ("recursive-order", "test_evaluate_long_chain", ("too deep a recursion in your function post_order()",
                                                     "use a loop with an explicit stack")),
    ("recomputing", "test_evaluate_diamond", ("'x' (Mul) was computed 2 times", "Hint: go through one post-order")),
    ("unchecked-feed", "test_evaluate_unfed_placeholder", ("does not say that 'x' needs a value", "Hint:")),
    ("mutating", "test_evaluate_fed_variable", ("your evaluate changed the Variable 'w' (Variable)", "Hint:")),
    ("own-ops", "test_evaluate_affine", ("not computed by the op's forward in the registry", "Hint:")),
])
def test_forward_engine_failures_name_the_mistake(graded, student, cell, says):
    [error] = error_outputs(graded, student, A4, {cell})
    text = " ".join(error["evalue"].split())  # lines joined: messages are wrapped
    assert error["ename"] == "CheckFailed" and all(part in text for part in says), error["evalue"]


def test_grades_export_and_feedback(graded):
    """The instructor's last two steps (solutions/README.md): grades to CSV, feedback to HTML."""
    course = graded.courses["full"]
    nbgrader_in_parallel([("export", "--to", "grades.csv"), ("generate_feedback", "*", "--student", "full", "--force")],
                         [course.root] * 2)  # both only read the gradebook
    rows = list(csv.DictReader((course.root / "grades.csv").open()))
    full = {r["assignment"]: float(r["score"]) for r in rows if r["student_id"] == "full"}
    assert full == {"01-backward-passes": 35.0, "02-backprop": 12.0, "03-training": 18.0,
                    "04-forward-engine": 13.0}, full
    for a, nb in NOTEBOOKS.items():
        assert (course.root / "feedback" / "full" / a / f"{nb}.html").is_file()


def test_no_failure_message_has_a_line_that_viewers_cut_off(graded):
    """Every error a check raised in any graded notebook, as the feedback and `nbgrader validate`
    show it ("CheckFailed: " and the message): no line longer than 80 characters."""
    checked, long = 0, []
    for student, work in graded.plan.items():
        for assignment in work:
            for cell in graded.autograded(student, assignment)["cells"]:
                for o in cell.get("outputs", []):
                    if o["output_type"] == "error" and o["ename"] == "CheckFailed":
                        checked += 1
                        shown = f"{o['ename']}: {o['evalue']}"
                        long += [(student, s.grade_id(cell), line) for line in shown.splitlines() if len(line) > 80]
    assert checked >= 50, f"only {checked} failure messages: the scenarios no longer fail"
    assert not long, f"{len(long)} lines longer than 80 characters, e.g. {long[:3]}"
