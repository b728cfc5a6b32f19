"""`bash scripts/grade.sh --all --jobs 2 --report FILE`: a whole class at once, then the class report.

A small simulated class (benchmarks/grading.py: correct work and typical mistakes in each of the
three assignments) is graded by worker processes, each into its own copy of the gradebook, and
merged from one writer. The scores must be exactly those of stock `nbgrader autograde` run on
the same submissions in a copy of the course.
"""
import os
import shutil
import subprocess
import sys

import pytest

from benchmarks.grading import make_course
from dlscratch.grading.parallel import Merge

from .nbgrader_course import BIN, NOTEBOOKS, REPO, environment

pytestmark = pytest.mark.grading

STUDENTS = 4  # per assignment: correct, a mistake, correct, another mistake
COMPARED = "student00[0-1]"  # also graded by stock nbgrader

# The points of each assignment (solutions/README.md's table).
FULL_MARKS = {"01-backward-passes": 35, "02-backprop": 12, "03-training": 18, "04-forward-engine": 13}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("grade-class")
    kinds = make_course(root / "ours", STUDENTS)
    shutil.copytree(root / "ours", root / "stock")
    done = subprocess.run(["bash", str(REPO / "scripts" / "grade.sh"), "--all", "--course", str(root / "ours"),
                           "--jobs", "2", "--report", "class-report.html"],
                          env=environment(), text=True, capture_output=True, timeout=1800)
    assert done.returncode == 0, f"grade.sh failed:\n{done.stdout}\n{done.stderr}"
    stock = root / "stock"
    for args in (["generate_assignment", "[0-9]*", "--force"],
                 *(["autograde", a, "--student", COMPARED, "--force"] for a in NOTEBOOKS)):
        ran = subprocess.run([str(BIN / "nbgrader"), *args], cwd=stock, env=environment(), text=True,
                             capture_output=True, timeout=900)
        assert ran.returncode == 0, ran.stderr
    return root, kinds, done


def cell_scores(course):
    """{(assignment, student, cell): (score, max score)} and {(assignment, student): total} from a gradebook."""
    from nbgrader.api import Gradebook
    cells, totals = {}, {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for assignment in NOTEBOOKS:
            for submission in gb.assignment_submissions(assignment):
                totals[assignment, submission.student.id] = submission.score
                for nb in submission.notebooks:
                    for g in nb.grades:
                        cells[assignment, submission.student.id, g.name] = (g.score, g.max_score)
    return cells, totals


def test_every_submission_is_graded_once_with_feedback(graded):
    root, kinds, _ = graded
    _, totals = cell_scores(root / "ours")
    assert set(totals) == set(kinds), set(kinds) ^ set(totals)
    for assignment, student in kinds:
        assert (root / "ours" / "feedback" / student / assignment / f"{NOTEBOOKS[assignment]}.html").is_file()
    # correct work gets full marks, a mistake loses points
    full = FULL_MARKS
    for (assignment, student), kind in kinds.items():
        if kind.startswith("correct"):
            assert totals[assignment, student] == full[assignment], (assignment, student)
        else:
            assert totals[assignment, student] < full[assignment], (assignment, student, kind)


def test_the_scores_are_stock_nbgraders(graded):
    root, _, _ = graded
    ours, _ = cell_scores(root / "ours")
    stock, stock_totals = cell_scores(root / "stock")
    assert len(stock_totals) == 2 * len(NOTEBOOKS)  # two students compared in each assignment
    assert {k: ours[k] for k in stock} == stock


def test_no_gradebook_copies_are_left_and_one_summary_per_assignment(graded):
    root, _, done = graded
    assert sorted(p.name for p in (root / "ours").glob("*.db")) == ["gradebook.db"]
    for assignment, points in FULL_MARKS.items():
        assert f"{assignment}: {STUDENTS} submissions graded, {points} points possible" in done.stdout
    assert f"grade: {STUDENTS * len(NOTEBOOKS)} submission(s) graded, 0 could not be graded" in done.stderr, done.stderr


def test_the_class_report_is_written(graded):
    root, _, done = graded
    page = root / "ours" / "class-report.html"
    assert "class report written to" in done.stderr
    html = page.read_text(encoding="utf-8")
    for assignment in NOTEBOOKS:
        assert f'<section id="{assignment}">' in html
    # student001 forgot negative's sign: assignment 1's report names the op and what was recognised
    assert "<td>negative</td><td>Yours passes grad through unchanged</td><td>1</td>" in html
    assert "<td>gradient_descent_step</td>" in html


def test_merge_copies_a_regraded_submission_over_the_old_one(graded, tmp_path):
    """The one writer: the scores in a worker's copy replace those in the gradebook."""
    from nbgrader.api import Gradebook
    root, _, _ = graded
    shard, target = tmp_path / "shard.db", tmp_path / "gradebook.db"
    shutil.copyfile(root / "ours" / "gradebook.db", shard)
    shutil.copyfile(root / "ours" / "gradebook.db", target)
    with Gradebook(f"sqlite:///{shard}") as gb:
        grade = gb.find_grade("test_backprop_diamond", "backprop", "02-backprop", "student000")
        points = grade.max_score
        assert grade.score == points
        grade.auto_score = 0.0
        gb.db.commit()
    with Merge(target) as merged:
        merged.add(("02-backprop", "student000"), str(shard))
    with Gradebook(f"sqlite:///{target}") as gb:
        assert gb.find_grade("test_backprop_diamond", "backprop", "02-backprop", "student000").score == 0
        assert gb.find_submission("02-backprop", "student000").score == 12 - points
        assert gb.find_submission("02-backprop", "student002").score == 12  # untouched


def _everything_merged(gb, assignment, student):
    """Every field of a submission that merge copies, by cell name."""
    sub = gb.find_submission(assignment, student)
    rows = {"submission": (sub.timestamp, sub.extension)}
    for nb in sub.notebooks:
        rows[nb.name] = (nb.flagged, nb.late_submission_penalty)
        rows.update({("grade", g.name): (g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade)
                     for g in nb.grades})
        rows.update({("comment", c.name): (c.auto_comment, c.manual_comment) for c in nb.comments})
    return rows


@pytest.mark.parametrize("target_has_it", [True, False], ids=["regraded", "new"])
def test_merge_copies_every_field_of_a_submission(graded, tmp_path, target_has_it):
    """Grades, comments (automatic and manual), manual grades, flags and the late penalty all reach the
    gradebook, whether it holds the submission already or not."""
    from datetime import datetime

    from nbgrader.api import Gradebook
    root, _, _ = graded
    shard, target = tmp_path / "shard.db", tmp_path / "gradebook.db"
    shutil.copyfile(root / "ours" / "gradebook.db", shard)
    shutil.copyfile(root / "ours" / "gradebook.db", target)
    who = ("03-training", "student001")
    with Gradebook(f"sqlite:///{shard}") as gb:
        sub = gb.find_submission(*who)
        sub.timestamp = datetime(2026, 11, 30, 23, 59)
        for nb in sub.notebooks:
            nb.flagged, nb.late_submission_penalty = True, 2.5
            for i, g in enumerate(nb.grades):
                g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade = i / 10, i / 5, i / 20, i % 2 == 0
            for i, c in enumerate(nb.comments):
                c.auto_comment, c.manual_comment = f"auto {i}", f"manual {i}"
        gb.db.commit()
        expected = _everything_merged(gb, *who)
    if not target_has_it:
        with Gradebook(f"sqlite:///{target}") as gb:
            gb.remove_submission(*who)
    with Merge(target) as merged:
        merged.add(who, str(shard))
    with Gradebook(f"sqlite:///{target}") as gb:
        assert _everything_merged(gb, *who) == expected
        assert len([k for k in expected if k[0] == "comment"]) > 1 and len(expected) > 10


def test_a_missing_gradebook_is_a_clear_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "dlscratch.grading.class_report", "--course", str(tmp_path)],
                          text=True, capture_output=True, cwd=REPO)
    assert done.returncode == 1 and "grade first" in done.stderr


def test_a_workers_gradebook_copy_is_written_without_waiting_for_the_disk(tmp_path):
    """Each worker's copy is scratch (merged, then deleted): its commits skip the disk sync, nbgrader's
    dozens per submission. Only the worker's process is changed, never the course's gradebook."""
    script = ("import sys; from sqlalchemy import create_engine, text\n"
              "from dlscratch.grading import parallel\n"
              "if sys.argv[1] == 'worker': parallel._unsynced_sqlite()\n"
              f"engine = create_engine('sqlite:///{tmp_path / 'copy.db'}')\n"
              "with engine.connect() as c: print(c.execute(text('PRAGMA synchronous')).scalar())\n")
    modes = {who: subprocess.run([sys.executable, "-c", script, who], capture_output=True, text=True, check=True,
                                 cwd=REPO).stdout.strip() for who in ("worker", "merger")}
    assert modes == {"worker": "0", "merger": "2"}  # OFF in a worker; FULL, sqlite's default, elsewhere


def test_a_worker_keeps_one_engine_per_gradebook_and_its_compiled_sql(tmp_path):
    """nbgrader opens a Gradebook (and an engine) about ten times per submission; in a worker they share one
    engine, so SQL compiled for one submission serves the next, only the first opening checks the tables, and
    a connection is not made again for each opening. Nested gradebooks still work after the inner one's close()."""
    script = ("import sys; from nbgrader.api import Gradebook\n"
              "from sqlalchemy import event\nfrom sqlalchemy.engine import Engine\n"
              "from dlscratch.grading import parallel\n"
              "connects = []\nevent.listen(Engine, 'connect', lambda *args: connects.append(1))\n"
              "if sys.argv[1] == 'worker': parallel._one_engine_per_database()\n"
              f"url = 'sqlite:///{tmp_path}/' + sys.argv[1] + '.db'\n"
              "with Gradebook(url) as outer:\n"
              "    outer.add_student('ada')\n"
              "    with Gradebook(url) as inner:\n"
              "        inner.add_student('bob')\n"
              "        shared = inner.engine is outer.engine\n"
              "    outer.add_student('cy')\n"
              "    cache = outer.engine._compiled_cache\n"
              "    compiled = len(cache)\n"
              "checks = []\n"
              "event.listen(Engine, 'before_cursor_execute', lambda c, cursor, statement, *a: checks.append(\n"
              "             statement) if 'PRAGMA' in statement or 'sqlite_master' in statement else None)\n"
              "for _ in range(3):\n"
              "    with Gradebook(url) as again:\n"
              "        names = sorted(s.id for s in again.students)\n"
              "print(shared, again.engine._compiled_cache is cache and compiled > 0, names, len(checks) > 0,\n"
              "      len(connects))\n")
    seen = {who: subprocess.run([sys.executable, "-c", script, who], capture_output=True, text=True, check=True,
                                cwd=REPO).stdout.strip() for who in ("worker", "merger")}
    assert seen == {"worker": "True True ['ada', 'bob', 'cy'] False 1",  # one connection in all
                    "merger": "False False ['ada', 'bob', 'cy'] True 5"}  # one per opening


def test_the_default_is_one_worker_more_than_the_cpus(monkeypatch):
    """The extra worker keeps the CPUs busy while the others wait for their children or the gradebook."""
    from dlscratch.grading.parallel import default_jobs
    assert default_jobs() == len(os.sched_getaffinity(0)) + 1
    monkeypatch.delattr(os, "sched_getaffinity")  # not on every system: then all of os.cpu_count()
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    assert default_jobs() == 5
