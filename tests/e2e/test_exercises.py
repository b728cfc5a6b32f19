"""An exercise as a student meets it: the release version of the backward-passes assignment in
JupyterLab. A right answer makes its visible test cell pass silently; a wrong one shows the
message of dlscratch.grading that says what is wrong."""
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

EXERCISES = Path(__file__).resolve().parents[2] / "exercises"

RIGHT = '''def sigmoid_backward(ctx, grad):
    y = ctx.output
    return (grad * y * (1 - y),)
'''
# A factor of the derivative forgotten: grading.py recognises this mistake and says so.
WRONG = '''def sigmoid_backward(ctx, grad):
    return (grad * ctx.output,)
'''
WRONG_MESSAGE = "a factor is missing"


def release_notebook():
    found = sorted(EXERCISES.glob("*/backward_passes.ipynb"))
    assert found, "exercises/ has no backward_passes.ipynb: run nbgrader generate_assignment"
    return found[0].relative_to(EXERCISES.parent).as_posix()


def visible_test_cell(lab, function):
    """The first test cell after the answer cell of `function`."""
    answer = lab.cell_index(f"def {function}(")
    return answer, next(c["index"] for c in lab.code_cells() if c["index"] > answer and function in c["source"])


def test_backward_passes_exercise_right_then_wrong(lab):
    lab.open(release_notebook())
    lab.run_cell(lab.cell_index("from dlscratch import grading"))
    answer, test = visible_test_cell(lab, "sigmoid_backward")
    assert "NotImplementedError" in lab.code_cell(answer)["source"], "the release should hold a stub here"

    # The stub as released fails, with NotImplementedError.
    lab.run_cell(answer)
    outputs = lab.run_cell(test)
    assert "NotImplementedError" in lab.text_of(outputs)

    # A right answer: the test cell runs and shows nothing (no error, nothing on stderr).
    lab.set_source(answer, RIGHT)
    assert not lab.run_cell(answer)
    cell = lab.code_cell(test)
    outputs = lab.run_cell(test)
    assert outputs == [], f"the test cell should pass silently with a right answer, but shows:\n{lab.text_of(outputs)}"
    assert lab.code_cell(test)["executionCount"] != cell["executionCount"], "the test cell did not run"
    test_cell = lab.cell(test)
    assert test_cell.locator(".jp-OutputArea-output").count() == 0
    lab.screenshot("exercise-backward-passes-right", lab.cell(answer), test_cell)

    # A wrong answer: the student sees grading's message, naming the mistake, not a long traceback.
    lab.set_source(answer, WRONG)
    lab.run_cell(answer)
    outputs = lab.run_cell(test)
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert errors and errors[0]["ename"] == "CheckFailed", lab.text_of(outputs)
    shown = test_cell.locator(".jp-OutputArea-output").inner_text()
    assert "CheckFailed" in shown and WRONG_MESSAGE in shown, f"the page shows:\n{shown}"
    assert "sigmoid_backward" in shown, "the message should name the student's function"
    assert len(shown.splitlines()) < 15, f"a short message was expected, the page shows:\n{shown}"
    lab.screenshot("exercise-backward-passes-wrong", lab.cell(answer), test_cell)
