"""The source notebooks pass their own tests, the releases pass none, exercises/ is current, and nothing leaks."""
import filecmp
import json
import shutil

import pytest
from nbgrader.validator import Validator

from .nbgrader_course import NOTEBOOKS, REPO, nbgrader, read_notebook

pytestmark = pytest.mark.grading

REGENERATE = "cd {repo} && PATH={bin}:$PATH nbgrader generate_assignment '[0-9]*' --force --no-db"


def notebook_path(folder, assignment):
    return REPO / folder / assignment / f"{NOTEBOOKS[assignment]}.ipynb"


@pytest.mark.parametrize("assignment", NOTEBOOKS)
def test_source_notebook_passes_every_test(assignment):
    results = Validator().validate(str(notebook_path("solutions", assignment)))
    assert results == {}, f"the solution fails its own tests:\n{json.dumps(results, indent=1)[:4000]}"


@pytest.mark.parametrize("assignment", NOTEBOOKS)
def test_release_notebook_passes_no_test(assignment):
    # invert=True reports every grade cell that passes; an untouched release must pass none.
    results = Validator(invert=True).validate(str(notebook_path("exercises", assignment)))
    assert results == {}, f"test cells pass without any work:\n{json.dumps(results, indent=1)[:4000]}"


def test_exercises_are_a_fresh_generation_of_solutions(tmp_path):
    shutil.copytree(REPO / "solutions", tmp_path / "solutions", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copy(REPO / "nbgrader_config.py", tmp_path)
    nbgrader("generate_assignment", "[0-9]*", "--force", "--no-db", cwd=tmp_path)
    fresh, committed = tmp_path / "exercises", REPO / "exercises"

    def files(root):
        return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())

    stale = [str(p) for p in files(fresh) if not (committed / p).is_file()
             or not filecmp.cmp(fresh / p, committed / p, shallow=False)]
    extra = [str(p) for p in files(committed) if not (fresh / p).is_file()]
    assert not stale and not extra, (
        f"exercises/ is not what `nbgrader generate_assignment` makes of solutions/ "
        f"(differs: {stale}, not generated: {extra}). Regenerate it and commit the result:\n"
        + REGENERATE.format(repo=REPO, bin=REPO / ".venv" / "bin"))


# --- leaks ---------------------------------------------------------------------------------

def blocks(source_nb, begin, end):
    """Lines inside begin/end marker blocks, and lines outside them, over every cell."""
    inside, outside = set(), set()
    for cell in source_nb["cells"]:
        within = False
        for line in "".join(cell["source"]).splitlines():
            text = line.strip()
            if begin in text:
                within = True
            elif end in text:
                within = False
            elif text:
                (inside if within else outside).add(text)
    return inside, outside


def release_lines(assignment):
    nb = read_notebook(notebook_path("exercises", assignment))
    return {line.strip() for cell in nb["cells"] for line in "".join(cell["source"]).splitlines()}


@pytest.mark.parametrize("what, begin, end", [("solution code", "### BEGIN SOLUTION", "### END SOLUTION"),
                                              ("hidden test", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")])
@pytest.mark.parametrize("assignment", NOTEBOOKS)
def test_release_leaks_no_solution_and_no_hidden_test(assignment, what, begin, end):
    inside, outside = blocks(read_notebook(notebook_path("solutions", assignment)), begin, end)
    distinctive = inside - outside  # lines that appear nowhere else in the source notebook
    assert distinctive, f"found no {what} in the source notebook: the check itself is broken"
    leaked = distinctive & release_lines(assignment)
    assert not leaked, f"{what} leaked into exercises/{assignment}: {sorted(leaked)}"


def test_exercises_hold_only_clean_notebooks():
    files = [p for p in (REPO / "exercises").rglob("*") if p.is_file()]
    assert sorted(p.name for p in files) == sorted(f"{nb}.ipynb" for nb in NOTEBOOKS.values()), (
        "exercises/ holds other files than the notebooks; nbgrader copies every file of an assignment "
        "folder unchanged, solutions and all. Keep helper code in the dlscratch package.")
    for path in files:
        text = path.read_text(encoding="utf-8")
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
                       "application/vnd.jupyter.widget"):
            assert marker not in text, f"{path.relative_to(REPO)} contains {marker!r}"
        nb = json.loads(text)
        assert "widgets" not in nb["metadata"], f"{path.relative_to(REPO)} carries saved widget state"
        assert all(not cell.get("outputs") for cell in nb["cells"]), f"{path.relative_to(REPO)} has outputs"


@pytest.mark.parametrize("assignment", NOTEBOOKS)
def test_source_notebooks_are_stripped(assignment):
    """No outputs or widget state in solutions/: they would be shipped to students as they are."""
    nb = read_notebook(notebook_path("solutions", assignment))
    assert "widgets" not in nb["metadata"]
    with_output = [i for i, cell in enumerate(nb["cells"]) if cell.get("outputs") or cell.get("execution_count")]
    assert not with_output, f"cells {with_output} of solutions/{assignment} have outputs: clear them before committing"


# --- what a student sees before finishing anything ----------------------------------------------

@pytest.mark.parametrize("assignment", NOTEBOOKS)
def test_run_all_on_the_release_shows_every_drawing(assignment, tmp_path):
    """Run All stops at the first test cell that fails, i.e. at the first unfinished function; every
    drawing of the library's (`viz.draw_graph`) must come before that, so a student sees it at once."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(str(notebook_path("exercises", assignment)), as_version=4)
    drawings = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and "viz.draw_graph" in cell.source]
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    with pytest.raises(CellExecutionError):  # an untouched release stops somewhere
        client.execute()
    shown = [i for i in drawings if any(k.startswith("image/") for o in nb.cells[i].get("outputs", [])
                                        for k in o.get("data", {}))]
    assert shown == drawings, (f"Run All on exercises/{assignment} stops before the drawings in cells "
                               f"{sorted(set(drawings) - set(shown))}: move them above the first exercise")
