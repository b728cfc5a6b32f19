"""scripts/my_work.py: a student's my-work/ copy gets every course update, and never loses an edit."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.my_work import MANIFEST, course_files, sync

ROOT = Path(__file__).resolve().parent.parent
TODAY = "2026-12-01"


def notebook(*sources, outputs=()):
    """A small notebook: one code cell per source; `outputs` (text) go on the first cell."""
    cells = [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
              "source": source.splitlines(keepends=True)} for i, source in enumerate(sources)]
    if outputs:
        cells[0]["outputs"] = [{"name": "stdout", "output_type": "stream", "text": list(outputs)}]
        cells[0]["execution_count"] = 1
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"


@pytest.fixture
def repo(tmp_path):
    """A course with two chapters, a README, and one exercise; plus files a student never works on."""
    repo = tmp_path / "repo"
    files = {
        "course/01_graphs.ipynb": notebook("x = 1", "print(x)"),
        "course/02_perceptrons.ipynb": notebook("w = 2"),
        "course/README.md": "# The course\n",
        "course/sanitize.cfg": "[x]\n",
        "exercises/01-backward/backward.ipynb": notebook("# YOUR CODE HERE\nraise NotImplementedError()"),
        "exercises/01-backward/.ipynb_checkpoints/backward-checkpoint.ipynb": notebook("old"),
        "solutions/01-backward/backward.ipynb": notebook("the answer"),
    }
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    return repo


def work_files(work):
    return sorted(p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file() and p.name != MANIFEST)


def test_the_first_run_copies_the_chapters_the_readme_and_the_exercises(repo):
    lines = sync(repo, today=TODAY)
    work = repo / "my-work"
    expected = ["course/01_graphs.ipynb", "course/02_perceptrons.ipynb", "course/README.md",
                "exercises/01-backward/backward.ipynb"]
    assert course_files(repo) == expected
    assert work_files(work) == expected  # no solutions, no checkpoints, no test config
    for name in expected:
        assert (work / name).read_bytes() == (repo / name).read_bytes()
    assert len(lines) == 1 and "my-work/" in lines[0] and "4 files" in lines[0], lines


def test_a_second_run_without_changes_does_nothing_and_says_nothing(repo):
    sync(repo, today=TODAY)
    before = {n: (repo / "my-work" / n).stat().st_mtime_ns for n in course_files(repo)}
    assert sync(repo, today=TODAY) == []
    assert {n: (repo / "my-work" / n).stat().st_mtime_ns for n in course_files(repo)} == before


def test_a_students_edit_stays_when_the_course_has_not_changed(repo):
    sync(repo, today=TODAY)
    mine = repo / "my-work" / "exercises/01-backward/backward.ipynb"
    mine.write_text(notebook("def f(): return 42"))
    assert sync(repo, today=TODAY) == []
    assert "return 42" in mine.read_text()


def test_a_course_update_replaces_a_copy_the_student_has_not_edited(repo):
    sync(repo, today=TODAY)
    mine = repo / "my-work" / "course/01_graphs.ipynb"
    # The student ran the chapter (outputs and execution counts changed) and JupyterLab re-saved it
    # in its own layout: not an edit of theirs.
    ran = json.loads(notebook("x = 1", "print(x)", outputs=["1\n"]))
    mine.write_text(json.dumps(ran, indent=2))
    (repo / "course/01_graphs.ipynb").write_text(notebook("x = 1", "print(x + 1)"))

    lines = sync(repo, today=TODAY)
    assert mine.read_bytes() == (repo / "course/01_graphs.ipynb").read_bytes()
    assert lines == ["my-work/course/01_graphs.ipynb: updated to the course's new version (you had not edited it)"]
    assert work_files(repo / "my-work") == course_files(repo), "nothing should be put beside an unedited copy"


def test_a_course_update_never_overwrites_a_students_edit(repo):
    sync(repo, today=TODAY)
    mine = repo / "my-work" / "course/01_graphs.ipynb"
    edited = notebook("x = 1", "print(x)", "# my own notes\ny = x * 10")
    mine.write_text(edited)
    update = notebook("x = 1", "print('x is', x)")
    (repo / "course/01_graphs.ipynb").write_text(update)

    lines = sync(repo, today=TODAY)
    assert mine.read_text() == edited, "the student's edited copy was changed"
    delivered = repo / "my-work" / f"course/01_graphs (course update {TODAY}).ipynb"
    assert delivered.read_text() == update
    assert len(lines) == 1 and "you have edited yours, so yours is kept" in lines[0]
    assert delivered.name in lines[0]

    # Next run: the update was delivered once; nothing more happens, and the student's copy stays.
    assert sync(repo, today=TODAY) == []
    assert mine.read_text() == edited

    # A second update on the same day gets a name of its own; the first delivered copy is left alone.
    second = notebook("x = 2", "print('x is', x)")
    (repo / "course/01_graphs.ipynb").write_text(second)
    sync(repo, today=TODAY)
    assert mine.read_text() == edited
    assert delivered.read_text() == update
    assert (repo / "my-work" / f"course/01_graphs (course update {TODAY} 2).ipynb").read_text() == second


def test_new_outputs_alone_are_not_put_beside_an_edited_copy(repo):
    """Re-executing the chapters changes only their stored outputs: a student who edited the chapter gets
    no copy beside theirs for that (running their own copy makes the outputs anew)."""
    sync(repo, today=TODAY)
    mine = repo / "my-work" / "course/01_graphs.ipynb"
    edited = notebook("x = 1", "print(x)", "# my notes")
    mine.write_text(edited)
    (repo / "course/01_graphs.ipynb").write_text(notebook("x = 1", "print(x)", outputs=["1\n"]))
    assert sync(repo, today=TODAY) == []
    assert mine.read_text() == edited
    assert work_files(repo / "my-work") == course_files(repo)


def test_an_edited_copy_that_no_longer_parses_is_kept_too(repo):
    sync(repo, today=TODAY)
    mine = repo / "my-work" / "course/02_perceptrons.ipynb"
    mine.write_text("{ half a notebook")
    (repo / "course/02_perceptrons.ipynb").write_text(notebook("w = 3"))
    sync(repo, today=TODAY)
    assert mine.read_text() == "{ half a notebook"
    assert (repo / "my-work" / f"course/02_perceptrons (course update {TODAY}).ipynb").exists()


def test_a_new_chapter_and_a_new_exercise_are_copied_in(repo):
    sync(repo, today=TODAY)
    (repo / "course/03_training.ipynb").write_text(notebook("loss = 0"))
    (repo / "exercises/02-backprop").mkdir()
    (repo / "exercises/02-backprop/backprop.ipynb").write_text(notebook("# YOUR CODE HERE"))
    lines = sync(repo, today=TODAY)
    assert (repo / "my-work/course/03_training.ipynb").read_text() == notebook("loss = 0")
    assert (repo / "my-work/exercises/02-backprop/backprop.ipynb").exists()
    assert lines == ["my-work/course/03_training.ipynb: new in the course, copied in",
                     "my-work/exercises/02-backprop/backprop.ipynb: new in the course, copied in"]


def test_a_deleted_copy_comes_back_fresh_which_is_how_to_start_over(repo):
    sync(repo, today=TODAY)
    mine = repo / "my-work" / "exercises/01-backward/backward.ipynb"
    mine.write_text(notebook("a wrong start"))
    mine.unlink()
    lines = sync(repo, today=TODAY)
    assert mine.read_bytes() == (repo / "exercises/01-backward/backward.ipynb").read_bytes()
    assert lines == ["my-work/exercises/01-backward/backward.ipynb: a fresh copy (yours was gone)"]


def test_without_its_record_an_existing_copy_is_still_never_overwritten(repo):
    sync(repo, today=TODAY)
    (repo / "my-work" / MANIFEST).unlink()
    mine = repo / "my-work" / "course/02_perceptrons.ipynb"
    mine.write_text(notebook("my version"))
    lines = sync(repo, today=TODAY)
    assert mine.read_text() == notebook("my version")
    assert len(lines) == 1 and "yours is kept" in lines[0]
    # the copies equal to the course are simply recorded again
    assert work_files(repo / "my-work") == sorted(course_files(repo) + [
        f"course/02_perceptrons (course update {TODAY}).ipynb"])


def test_the_script_runs_on_the_real_course(tmp_path):
    """As course.sh runs it, on a copy of this repository's course: the chapters and exercises arrive."""
    import shutil
    repo = tmp_path / "repo"
    for folder in ("course", "exercises"):
        shutil.copytree(ROOT / folder, repo / folder)
    work = tmp_path / "elsewhere"
    work.mkdir()  # course.sh makes the folder first (DLSCRATCH_MY_WORK may name one outside the repository)
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "my_work.py"), "--repo", str(repo),
                             "--work", str(work)], capture_output=True, text=True, check=True)
    chapters = sorted(p.name for p in (ROOT / "course").glob("*.ipynb"))
    assert sorted(p.name for p in (work / "course").glob("*.ipynb")) == chapters
    exercises = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "exercises").rglob("*.ipynb"))
    assert sorted(p.relative_to(work).as_posix() for p in (work / "exercises").rglob("*.ipynb")) == exercises
    assert result.stdout.startswith(f"{work}/: your own copy") and result.stderr == ""
    assert not (repo / "my-work").exists()


def test_git_ignores_my_work():
    ignored = subprocess.run(["git", "check-ignore", "-q", "my-work/course/01.ipynb"], cwd=ROOT)
    assert ignored.returncode == 0, "my-work/ must be git-ignored, or a student's edits conflict with a git pull"
