"""`bash scripts/student_release.sh DEST`: the course for students, without the instructor's material."""
import json
import subprocess

import pytest

from .nbgrader_course import NOTEBOOKS, REPO, read_notebook
from .test_release import blocks

pytestmark = pytest.mark.grading


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    dest = tmp_path_factory.mktemp("student") / "dlscratch"
    done = subprocess.run(["bash", str(REPO / "scripts" / "student_release.sh"), str(dest)],
                          text=True, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return dest


def committed(path):
    return subprocess.run(["git", "show", f"HEAD:{path}"], cwd=REPO, capture_output=True, check=True).stdout


def test_students_get_the_course_the_exercises_and_the_library(copy):
    for path in ["course.sh", "scripts/setup.sh", "pyproject.toml", "README.md", "nbgrader_config.py",
                 "dlscratch/__init__.py", "dlscratch/grading/__init__.py", "course/01_computational_graphs.ipynb"]:
        assert (copy / path).is_file(), path
    for assignment, notebook in NOTEBOOKS.items():
        path = f"exercises/{assignment}/{notebook}.ipynb"
        assert (copy / path).read_bytes() == committed(path), f"{path} is not the committed release"


def test_students_get_no_solutions_no_hidden_tests_and_no_grading_tests(copy):
    for path in ["solutions", "tests", "test.sh", ".ci", "scripts/grade.sh", "scripts/student_release.sh"]:
        assert not (copy / path).exists(), f"{path} was handed out"
    files = [p for p in copy.rglob("*") if p.is_file()]
    assert len(files) > 20
    markers = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
    leaks = [(str(p.relative_to(copy)), m) for p in files for m in markers
             if m.encode() in p.read_bytes()]
    assert not leaks, f"markers in the students' copy: {leaks}"


def test_no_hidden_test_reaches_students_in_any_file(copy):
    """Every check a hidden test makes (a `grading.check_...` line) is absent from every file."""
    texts = [p.read_text(encoding="utf-8", errors="ignore") for p in copy.rglob("*") if p.is_file()]
    for assignment, notebook in NOTEBOOKS.items():
        inside, outside = blocks(read_notebook(REPO / "solutions" / assignment / f"{notebook}.ipynb"),
                                 "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
        hidden = {line for line in inside - outside if "grading." in line}
        assert hidden, f"found no hidden checks in {assignment}: the test itself is broken"
        leaked = [line for line in hidden if any(line in text for text in texts)]
        # notebooks store each source line as a JSON string: look for that form too
        leaked += [line for line in hidden if any(json.dumps(line)[1:-1] in text for text in texts)]
        assert not leaked, f"hidden tests of {assignment} in the students' copy: {leaked}"


def test_a_copy_is_never_made_into_a_folder_in_use(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    done = subprocess.run(["bash", str(REPO / "scripts" / "student_release.sh"), str(tmp_path)],
                          text=True, capture_output=True, timeout=60)
    assert done.returncode != 0 and "not empty" in done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
