"""`bash scripts/grade.sh ASSIGNMENT`: one command grades an assignment end to end.

It runs on a fresh course (solutions/ and nbgrader_config.py only, no gradebook) with three
hand-placed submissions: a correct one, a partial one and a blank one. What it prints and
what it writes to grades.csv are checked against the gradebook, read through nbgrader's API.
"""
import csv
import json
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import pytest

from . import submissions as s
from .nbgrader_course import BIN, NOTEBOOKS, REPO, TEST_CELL_TIMEOUT, environment, read_notebook

pytestmark = pytest.mark.grading

ASSIGNMENT = "02-backprop"
NOTEBOOK = NOTEBOOKS[ASSIGNMENT]
PARTIAL_FAILS = {"test_backprop_diamond", "test_backprop_skip_connection", "test_backprop_dead_branch",
                 "test_backprop_hidden"}  # what OVERWRITING_BACKPROP fails (see test_autograde)
# When each student saved their notebook (the file's modification time); "correct" also has the
# timestamp.txt nbgrader's collect writes, which must win over the file's time.
SAVED = {"blank": datetime(2026, 11, 3, 9, 15, 0, tzinfo=timezone.utc),
         "correct": datetime(2026, 11, 4, 17, 30, 5, tzinfo=timezone.utc),
         "partial": datetime(2026, 11, 5, 23, 59, 30, tzinfo=timezone.utc)}
COLLECTED = datetime(2026, 11, 4, 18, 0, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("grade-command")
    shutil.copytree(REPO / "solutions", root / "solutions", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    config = (REPO / "nbgrader_config.py").read_text(encoding="utf-8")
    (root / "nbgrader_config.py").write_text(config + f"\nc.Execute.timeout = {TEST_CELL_TIMEOUT}\n")
    release = read_notebook(REPO / "exercises" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    solved = s.solutions(read_notebook(REPO / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"))
    work = {"correct": s.submission(release, solved),
            "partial": s.submission(release, {**solved, "backprop": s.OVERWRITING_BACKPROP}),
            "blank": release}
    for student, nb in work.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        path = folder / f"{NOTEBOOK}.ipynb"
        path.write_text(json.dumps(nb), encoding="utf-8")
        os.utime(path, (SAVED[student].timestamp(),) * 2)
    (root / "submitted" / "correct" / ASSIGNMENT / "timestamp.txt").write_text(
        COLLECTED.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
    done = subprocess.run(["bash", str(REPO / "scripts" / "grade.sh"), ASSIGNMENT, "--course", str(root),
                           "--jobs", "2"], env=environment(), text=True, capture_output=True, timeout=900)
    assert done.returncode == 0, f"grade.sh failed:\n{done.stdout}\n{done.stderr}"
    return root, done


def gradebook(root):
    from nbgrader.api import Gradebook
    return Gradebook(f"sqlite:///{root / 'gradebook.db'}")


def test_scores_in_the_gradebook_are_right(graded):
    root, _ = graded
    with gradebook(root) as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        assert assignment.max_score == 12
        points = {c.name: c.max_score for nb in assignment.notebooks for c in nb.grade_cells}
        scores = {st: gb.find_submission(ASSIGNMENT, st).score for st in SAVED}
    assert scores == {"correct": 12, "blank": 0, "partial": 12 - sum(points[c] for c in PARTIAL_FAILS)}, scores


def test_summary_shows_each_students_score_and_what_they_failed(graded):
    root, done = graded
    with gradebook(root) as gb:
        scores = {st: gb.find_submission(ASSIGNMENT, st).score for st in SAVED}
        cells = [c.name for nb in gb.find_assignment(ASSIGNMENT).notebooks for c in nb.grade_cells]
    out = done.stdout
    print(out)
    assert out.startswith(f"{ASSIGNMENT}: 3 submissions graded, 12 points possible"), out
    for student, score in scores.items():
        assert re.search(rf"^  {student} +{score:g} / 12 +\d{{4}}-\d\d-\d\d \d\d:\d\d$", out, re.M), (student, out)
    mean = sum(scores.values()) / 3
    assert f"average {mean:.1f} / 12 ({mean / 12:.0%}); full marks: 1 of 3" in out, out
    # blank fails every test cell, partial four of them
    for cell in cells:
        n = 2 if cell in PARTIAL_FAILS else 1
        assert re.search(rf"^  {cell} +{n} of 3$", out, re.M), (cell, n, out)


def test_grades_csv_has_scores_and_submission_times(graded):
    root, _ = graded
    rows = {r["student_id"]: r for r in csv.DictReader((root / "grades.csv").open())
            if r["assignment"] == ASSIGNMENT}
    with gradebook(root) as gb:
        for student in SAVED:
            submission = gb.find_submission(ASSIGNMENT, student)
            assert float(rows[student]["score"]) == submission.score
            assert float(rows[student]["max_score"]) == 12
            stamp = datetime.fromisoformat(rows[student]["timestamp"]).replace(tzinfo=timezone.utc)
            assert stamp == submission.timestamp.replace(tzinfo=timezone.utc)
            expected = COLLECTED if student == "correct" else SAVED[student]  # collect's timestamp wins
            assert stamp == expected, (student, rows[student])


def test_feedback_is_written_for_everyone(graded):
    root, _ = graded
    for student in SAVED:
        assert (root / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html").is_file()


def test_autograde_prints_no_sqlalchemy_warning(graded):
    """nbgrader 0.9.6 makes SQLAlchemy 2 warn for every submission; nbgrader_config.py silences
    exactly those warnings (a student new to the gradebook is what provokes them)."""
    root, _ = graded
    shutil.copytree(root / "submitted" / "blank", root / "submitted" / "newcomer")
    done = subprocess.run([str(BIN / "nbgrader"), "autograde", ASSIGNMENT, "--student", "newcomer"], cwd=root,
                          env=environment(), text=True, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Creating/updating student with ID 'newcomer'" in done.stderr  # the step that used to warn
    assert "SAWarning" not in done.stderr and "sqlalchemy" not in done.stderr.lower(), done.stderr


# --- the feedback pages work offline -------------------------------------------------------------

def feedback_page(root, student="partial"):
    return root / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html"


def test_feedback_loads_mathjax_from_beside_it(graded):
    root, _ = graded
    for student in SAVED:
        page = feedback_page(root, student)
        html = page.read_text(encoding="utf-8")
        # The CDN may appear only in the fallback that runs when mathjax/ is not beside the page.
        fallbacks = re.findall(r'onerror="([^"]*)"', html)
        assert len(fallbacks) == 1 and "https://" in fallbacks[0], fallbacks
        outside = re.sub(r'onerror="[^"]*"', "", html)
        assert not re.search(r"https?://[^\"'\s]*mathjax", outside, re.I), f"{page} loads MathJax from the internet"
        scripts = re.findall(r"<script[^>]*\ssrc=\"([^\"]+)\"", html)
        assert any("MathJax.js" in src for src in scripts), scripts
        for src in scripts:
            assert not re.match(r"[a-z]+:", src), f"{page} loads {src}"
            assert (page.parent / src.split("?")[0]).is_file(), f"{page} loads {src}, which is not there"
        config = re.search(r"MathJax\.js\?config=([\w,-]+)", html).group(1).split(",")
        for name in config:
            assert (page.parent / "mathjax" / "config" / f"{name}.js").is_file(), name


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium (scripts/setup.sh dev)")
def test_feedback_typesets_formulas_offline_in_a_browser(graded, tmp_path):
    from playwright.sync_api import sync_playwright
    root, _ = graded
    page_path = feedback_page(root)
    shot = REPO / "test-artifacts" / "grading" / "feedback-offline.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    remote, asked = [], []
    typeset = fonts = text = wrapped = None

    def look():  # on its own thread: the e2e tests may hold a sync Playwright on this one
        nonlocal typeset, fonts, text, wrapped
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            try:
                context = browser.new_context(viewport={"width": 900, "height": 700}, offline=True)
                page = context.new_page()
                page.on("request", lambda r: remote.append(r.url) if r.url.startswith("http") else None)
                page.goto(page_path.as_uri())
                page.wait_for_function("window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0"
                                       " && document.querySelectorAll('.MathJax').length > 0", timeout=30_000)
                typeset = page.evaluate("document.querySelectorAll('.MathJax').length")
                fonts = page.evaluate("[...document.fonts].filter(f => f.status == 'loaded').map(f => f.family)")
                text = page.evaluate("document.body.innerText")
                page.locator(".MathJax").first.scroll_into_view_if_needed()
                page.screenshot(path=str(shot))
                wrapped = page.evaluate("[...document.querySelectorAll('.output_error pre')]"
                                        ".every(pre => pre.scrollWidth <= pre.clientWidth + 1)")
                # The page alone, as nbgrader's exchange hands it out: it asks the CDN instead.
                alone = tmp_path / page_path.name
                shutil.copy(page_path, alone)
                lone = browser.new_context(offline=True).new_page()
                lone.on("request", lambda r: asked.append(r.url) if r.url.startswith("http") else None)
                lone.goto(alone.as_uri())
                for _ in range(50):
                    if asked:
                        break
                    lone.wait_for_timeout(100)  # lets Playwright handle the request
            finally:
                browser.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(look).result()
    assert not remote, f"the page asked the internet for {remote}"
    assert typeset >= 3, f"only {typeset} formulas typeset"  # the notebook has three
    assert any(f.startswith("STIXMathJax") for f in fonts), f"MathJax's fonts did not load: {fonts}"
    assert "\\sum" not in text and "\\partial" not in text, "raw LaTeX is showing"
    assert wrapped, "a failure message runs off the side of its box"
    assert any("mathjax" in url.lower() for url in asked), f"without mathjax/ the page asked for {asked}"


def test_the_log_names_a_few_students_and_counts_the_rest():
    from dlscratch.grading.cli import listed
    names = [f"student{i:03d}" for i in range(500)]
    assert listed(names) == ", ".join(names[:10]) + " and 490 more"
    assert listed(names[:10]) == ", ".join(names[:10]) and listed(names[:1]) == "student000"


def test_submissions_are_handed_out_with_the_assignments_in_turn():
    """Not assignment by assignment: one assignment's spinning submissions would hold several workers at once."""
    from dlscratch.grading.cli import in_turns
    folders = {"01-a": ["ann", "bo", "cy"], "02-b": ["ann", "cy"], "03-c": []}
    assert in_turns(folders) == [("01-a", "ann"), ("02-b", "ann"), ("01-a", "bo"), ("02-b", "cy"),
                                 ("01-a", "cy")]
    assert in_turns({}) == []


def test_each_submission_is_in_the_gradebook_as_soon_as_it_is_graded(graded, tmp_path):
    """The merge goes on while the workers grade: when the progress bar hears of a submission, the gradebook
    holds its scores (so grading that stops half-way keeps what it finished, and no merge is left for the end)."""
    from dlscratch.grading.parallel import grade_many
    root, _ = graded
    course = tmp_path / "course"
    shutil.copytree(root, course, ignore=shutil.ignore_patterns("autograded", "feedback"))
    with gradebook(course) as gb:
        expected = sorted((student, None, gb.find_submission(ASSIGNMENT, student).score) for student in SAVED)
        for student in SAVED:
            gb.remove_submission(ASSIGNMENT, student)
    found = []

    def progress(assignment, student, error):
        with gradebook(course) as gb:
            found.append((student, error, gb.find_submission(assignment, student).score))

    outcomes = grade_many(course, [(ASSIGNMENT, student) for student in SAVED], jobs=2, feedback=False,
                          progress=progress)
    assert set(outcomes.values()) == {None}
    assert sorted(found) == expected and expected[1] == ("correct", None, 12)
