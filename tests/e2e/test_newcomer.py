"""The README's first command, `bash course.sh`, as a newcomer meets it: no system Graphviz and no
environment on PATH, JupyterLab's own settings. JupyterLab opens on the student's copy of the course
(my-work/), chapter 1 runs and draws its graphs with the pip-installed graphviz-pure, the student's
work is saved there and not in the repository, no news toast appears, and a terminal finds the
course's `nbgrader`, `jupyter` and `python`."""
import json
import re
import urllib.parse

import pytest

from .conftest import REPO

pytestmark = pytest.mark.e2e

FIRST_CHAPTER = "course/01_computational_graphs.ipynb"
# The nodes chapter 1 builds for z = A x + b, and the ops between them.
FIRST_GRAPH_LABELS = {"A", "x", "b", "y", "z", "MatMul", "Add", "Variable", "Placeholder"}
ANNOUNCEMENTS = "@jupyterlab/apputils-extension:announcements"
JS_DISABLED_EXTENSIONS = """() => {
    const disabled = JSON.parse(document.getElementById('jupyter-config-data').textContent).disabledExtensions;
    return Array.isArray(disabled) ? disabled : Object.keys(disabled || {});
}"""
JS_OPEN_TERMINAL = "async () => (await window.jupyterapp.commands.execute('terminal:create-new')).id"
# What the terminal shows: xterm's buffer, line by line (its canvas renderer puts no text in the page).
JS_TERMINAL_TEXT = """(id) => {
    const widget = [...window.jupyterapp.shell.widgets('main')].find(w => w.id === id);
    const term = widget && widget.content && widget.content._term;
    if (!term) return document.querySelector('.jp-Terminal .xterm-rows')?.innerText || '';
    const buffer = term.buffer.active, lines = [];
    for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
    return lines.join('\\n');
}"""


def no_toast(lab):
    """No notification toast is shown, and the page config says the news announcements are off."""
    toasts = lab.page.locator(".Toastify__toast")
    assert toasts.count() == 0, "a notification toast is shown: " + " | ".join(toasts.all_inner_texts())
    assert ANNOUNCEMENTS in lab.page.evaluate(JS_DISABLED_EXTENSIONS), \
        "JupyterLab's news announcements are not disabled in the environment course.sh made"


def test_course_sh_opens_the_students_copy_and_chapter_1_draws_its_graphs(newcomer_lab):
    lab = newcomer_lab
    work = lab.server.root
    assert (work / FIRST_CHAPTER).read_bytes() == (REPO / FIRST_CHAPTER).read_bytes(), \
        "course.sh should have copied chapter 1 into my-work/ as it is in the course"
    lab.run_chapter(FIRST_CHAPTER)

    # The file browser beside the notebook shows the student's course/, with every chapter.
    listed = set(lab.page.locator(".jp-DirListing-itemName").all_inner_texts())
    chapters = {p.name for p in (REPO / "course").glob("*.ipynb")}
    assert chapters <= listed, f"chapters missing from the file browser: {sorted(chapters - listed)}"

    # No `dot` on PATH, so the kernel draws with graphviz-pure from the environment course.sh made.
    dot = lab.kernel_stdout("from dlscratch import viz; print(viz.current_dot())").strip()
    assert dot.endswith("graphviz-pure"), f"graphs were drawn by {dot!r}, not by the pip-installed graphviz-pure"

    svgs = lab.svg_texts()
    assert svgs, "chapter 1 shows no graph"
    labels = set(lab.svg_labels(svgs[0]))
    assert FIRST_GRAPH_LABELS <= labels, f"the first graph lacks the labels {sorted(FIRST_GRAPH_LABELS - labels)}"

    first_graph = lab.notebook.locator(".jp-RenderedSVG img").first
    first_graph.scroll_into_view_if_needed()
    assert first_graph.bounding_box()["width"] > 100, "the graph is drawn too small to read"
    lab.screenshot("newcomer-chapter1-graph")
    no_toast(lab)

    # The student's run is saved in their copy (the fixture checks the repository's stayed as it was).
    lab.page.evaluate("async () => await window.jupyterapp.commands.execute('docmanager:save')")
    lab.wait_until(lambda: any(c.get("execution_count") for c in
                               json.loads((work / FIRST_CHAPTER).read_text())["cells"]),
                   "saving the run chapter in my-work/")
    lab.check_layout()


def test_a_terminal_finds_the_course_environment_and_validates_an_exercise(newcomer_lab):
    lab = newcomer_lab
    work = lab.server.root
    exercise = sorted(work.glob("exercises/*/backward_passes.ipynb"))
    assert exercise, "course.sh did not copy the exercises into my-work/"
    exercise = exercise[0].relative_to(work).as_posix()

    lab.path = "a terminal"
    lab.page.goto(f"{lab.server.url}/lab?token={lab.server.token}&reset", wait_until="domcontentloaded",
                  timeout=60_000)
    lab.page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started", timeout=60_000)
    terminal = lab.page.evaluate(JS_OPEN_TERMINAL)
    screen = lab.page.locator(f"#{terminal} .xterm")
    screen.wait_for()
    lab.wait_until(lambda: lab.page.evaluate(JS_TERMINAL_TEXT, terminal).strip(), "showing a prompt")
    screen.click()

    def run(command, done):
        """Type a command as a person would, and wait until `done` appears; returns the screen's text."""
        lab.page.keyboard.type(command + "\n")

        def shown():
            text = lab.page.evaluate(JS_TERMINAL_TEXT, terminal)
            return text if done in text else None
        return lab.wait_until(shown, f"showing {done!r} after `{command}`", timeout=120)

    text = run("pwd; nbgrader --version; which python jupyter; echo FOUND-$((6 * 7))", "FOUND-42")
    assert f"\n{work}\n" in text, f"the terminal should open in the student's copy, {work}:\n{text}"
    assert "command not found" not in text, text
    assert re.search(r"nbgrader version 0\.9\.\d", text), f"`nbgrader --version` did not answer:\n{text}"
    venv_bin = REPO / ".venv" / "bin"
    assert f"{venv_bin}/python\n" in text + "\n" and f"{venv_bin}/jupyter" in text, \
        f"the terminal's python and jupyter are not the course environment's ({venv_bin}):\n{text}"
    lab.screenshot("newcomer-terminal-environment")

    # Validate from the terminal: the untouched release fails, with nbgrader's own message.
    text = run(f"nbgrader validate {exercise}; echo VALIDATED-$((6 * 7))", "VALIDATED-42")
    validated = text[text.index("nbgrader validate"):]
    assert "VALIDATION FAILED" in validated and "NotImplemented" in validated, \
        f"`nbgrader validate` on the untouched exercise should fail, naming the stub:\n{validated}"
    lab.screenshot("newcomer-terminal-validate")
    no_toast(lab)


def test_the_validate_button_validates_the_students_copy(newcomer_lab):
    """What nbgrader's Validate button asks the server: the untouched release in my-work/ fails validation;
    with every answer filled in from the instructor's solution, it passes."""
    lab = newcomer_lab
    work = lab.server.root
    exercise = sorted(work.glob("exercises/*/backward_passes.ipynb"))[0]
    path = urllib.parse.quote(exercise.relative_to(work).as_posix())
    result = lab.server.api("POST", f"/assignments/validate?path={path}", timeout=300)
    assert result["success"], result["value"]
    assert result["value"].get("failed"), f"the untouched release should fail validation: {result['value']}"

    solution = REPO / "solutions" / exercise.parent.name / exercise.name
    answers = {c["metadata"]["nbgrader"]["grade_id"]: c["source"] for c in json.loads(solution.read_text())["cells"]
               if c["metadata"].get("nbgrader", {}).get("solution")}
    mine = json.loads(exercise.read_text())
    for cell in mine["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    exercise.write_text(json.dumps(mine))
    result = lab.server.api("POST", f"/assignments/validate?path={path}", timeout=300)
    assert result["success"] and not result["value"].get("failed"), \
        f"the release with the instructor's answers should pass validation: {result['value']}"
