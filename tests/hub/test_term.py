"""A whole term on a real JupyterHub with real Linux users and nbgrader's exchange.

The instructor generates and releases assignment 1 (formgrader API); four students log in,
fetch it, work and submit (assignment-list API): Ada solves it, Ben and Cyd each get one
rule wrong, and Eve is hostile: her notebook raises, loops forever, edits one test cell and
deletes another, and from her account she tries to read everyone else's work, to list the
exchange, to overwrite the release, and to forge a newer submission in Ada's name. The
instructor collects, autogrades (`nbgrader autograde` through the course's
nbgrader_config.py) and releases feedback; each student fetches their own. Scores are
asserted per test cell from the gradebook and in each student's feedback.
"""
import datetime
import json
import pwd
import re
import secrets
import time
import urllib.error
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest

from dlscratch.grading.isolation.sandbox import Limits, tasks_of_user
from tests.grading import submissions as s

from . import term
from .conftest import ARTIFACTS, CELL_TIMEOUT
from .term import ASSIGNMENT, COURSE_ID, NOTEBOOK

# student -> (answers changed from the solution, test cells that must score 0; every other: full marks)
WORK = {
    "ada": ({}, set()),
    "ben": ({"matmul_backward": s.OP_MISTAKES["matmul"][0]}, s.OP_MISTAKES["matmul"][1]),
    "cyd": ({"softmax_backward": s.OP_MISTAKES["softmax"][0]}, s.OP_MISTAKES["softmax"][1]),
    "eve": ({"exp_backward": s.RAISES, "relu_backward": s.INFINITE_LOOP},
            {"test_exp", "test_exp_hidden", "test_relu", "test_relu_hidden", "test_sigmoid"}),
}
EVE_EDITS = {"replace": {"test_exp": "pass", "test_exp_hidden": "pass  # all good!"}, "drop": {"test_sigmoid"}}

# Run as Eve with Debian's python3: each probe is (name, action, path); prints {name: outcome}.
PROBE = r"""
import json, os, sys
outcome = {}
for name, action, path in json.loads(sys.argv[1]):
    try:
        if action == "list":
            os.listdir(path)
        elif action == "read":
            open(path, "rb").read(1)
        elif action == "write":
            open(path, "ab").close()
        elif action == "forge":
            os.makedirs(os.path.dirname(path))
            with open(path, "w") as f:
                f.write(sys.argv[2])
        outcome[name] = "allowed"
    except OSError as e:
        outcome[name] = type(e).__name__
print(json.dumps(outcome))
"""


def student_work(release, name):
    changed, _ = WORK[name]
    edits = EVE_EDITS if name == "eve" else {}
    return s.submission(release, {**term.answers(), **changed}, **edits)


def sources(nb):
    return ["".join(c["source"]) for c in nb["cells"]]


def probe(hub, user, probes, payload=""):
    result = term.as_user(hub, user, "/usr/bin/python3", "-c", PROBE, json.dumps(probes), payload)
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def course(hub_tools, in_browser_thread):
    """Run the whole term once; the tests below check what it left."""
    hub = hub_tools.CourseHub(list(WORK), prefix=f"dlst{secrets.token_hex(3)}", cell_timeout=CELL_TIMEOUT)
    try:
        hub.create()
        hub.start()
        yield in_browser_thread(lambda browser: run_term(hub, browser))
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "term-hub.log").write_text(hub.log_tail(2000), encoding="utf-8")
        hub.close()


class Term:
    pass


def run_term(hub, browser):
    t = Term()
    t.hub = hub
    t.name = {short: f"{hub.prefix}-{short}" for short in WORK}
    inst = hub.instructor
    with ThreadPoolExecutor(len(WORK) + 1) as pool:
        list(pool.map(hub.spawn, [inst, *t.name.values()]))

    # The instructor, in a browser: generate the student version and the gradebook, then release.
    teacher = term.Person(browser, hub, inst, ARTIFACTS)
    teacher.log_in()
    t.sidebar = {"instructor": teacher.page.locator(".lm-TabBar-tab", has_text="Create Assignment").count()}
    teacher.formgrader_click("assign", "Success")
    teacher.formgrader_click("release", "Successfully released")

    # The students: see it, fetch it, work, save, submit. Ada clicks through her browser, the
    # others (at the same time) make the same calls the Assignments panel makes.
    path = f"{ASSIGNMENT}/{NOTEBOOK}"

    def study(short):
        user = t.name[short]
        before = term.listed(hub, user)
        term.assignment_action(hub, user, "fetch")
        release = term.read_notebook(hub, user, path)
        term.save_notebook(hub, user, path, student_work(release, short))
        if short == "ben":  # checks his work first with Validate
            t.validated = hub.api("POST", f"/user/{user}/assignments/validate", {"path": path}, timeout=300)
        after = term.assignment_action(hub, user, "submit")
        return before, release, after

    with ThreadPoolExecutor(len(WORK)) as pool:
        others = {short: pool.submit(study, short) for short in WORK if short != "ada"}
        ada = term.Person(browser, hub, t.name["ada"], ARTIFACTS)
        ada.log_in()
        t.sidebar["student"] = ada.page.locator(".lm-TabBar-tab", has_text="Create Assignment").count()
        before = term.listed(hub, ada.user)
        ada.open_assignment_list()
        ada.click("Fetch", then="Submit")
        ada.screenshot("student-fetched")
        release = term.read_notebook(hub, ada.user, path)
        term.save_notebook(hub, ada.user, path, student_work(release, "ada"))  # her work, saved
        ada.click("Submit", then="Fetch Feedback")
        ada.screenshot("student-submitted")
        t.studied = {"ada": (before, release, term.listed(hub, ada.user))}
        t.studied.update({short: future.result() for short, future in others.items()})

    # Eve, from her own account, before and after grading.
    ex = hub.exchange / COURSE_ID
    ada_home = hub.home(t.name["ada"])
    later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1))
    forged = ex / "inbound" / f"{t.name['ada']}+{ASSIGNMENT}+{later:%Y-%m-%d %H:%M:%S.%f} UTC+forged" / NOTEBOOK
    untouched = t.studied["ada"][1]
    t.eve_before = probe(hub, t.name["eve"], [
        ("her own home", "list", str(hub.home(t.name["eve"]))),
        ("Ada's home", "list", str(ada_home)),
        ("Ada's notebook", "read", str(ada_home / ASSIGNMENT / NOTEBOOK)),
        ("the inbound submissions", "list", str(ex / "inbound")),
        ("the release, to overwrite it", "write", str(ex / "outbound" / ASSIGNMENT / NOTEBOOK)),
        ("the instructor's course", "list", str(hub.course_dir)),
        ("the solutions", "read", str(hub.course_dir / "solutions" / ASSIGNMENT / NOTEBOOK)),
        ("the gradebook", "read", str(hub.course_dir / "gradebook.db")),
        ("a submission forged in Ada's name", "forge", str(forged)),
    ], json.dumps(untouched))

    # The instructor: collect (browser), autograde (nbgrader autograde), feedback (browser).
    teacher.formgrader_click("collect", "Successfully collected")
    t.collected = {short: json.loads((hub.course_dir / "submitted" / user / ASSIGNMENT / NOTEBOOK).read_text())
                   for short, user in t.name.items()}
    # with two notebooks of her own open: a kernel has ~13 threads, and a process limit counts them all
    kernels = [hub.api("POST", f"/user/{hub.instructor}/api/kernels", {"name": "python3"}) for _ in range(2)]
    uid, deadline = pwd.getpwnam(hub.instructor).pw_uid, time.monotonic() + 120
    while tasks_of_user(uid) <= Limits().processes and time.monotonic() < deadline:
        time.sleep(0.5)
    assert tasks_of_user(uid) > Limits().processes  # what the sandbox's process limit must leave room for
    t.grading_seconds = term.autograde(hub)
    for kernel in kernels:
        hub.api("DELETE", f"/user/{hub.instructor}/api/kernels/{kernel['id']}", raw=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "term.json").write_text(json.dumps(
        {"seconds to autograde the term's submissions": round(t.grading_seconds, 1), "submissions": len(WORK),
         "cell timeout (the hostile loop costs it twice)": CELL_TIMEOUT}) + "\n")
    teacher.formgrader_click("generate-feedback", "Success")
    teacher.formgrader_click("release-feedback", "Success")
    teacher.close()

    # The students fetch their feedback.
    def feedback(short):
        term.assignment_action(hub, t.name[short], "fetch_feedback")
        return read_feedback(hub, t.name[short])

    def read_feedback(hub, user):
        folder = hub.api("GET", f"/user/{user}/api/contents/{ASSIGNMENT}/feedback")["content"]
        [stamp] = [entry["path"] for entry in folder if entry["type"] == "directory"]
        path = urllib.parse.quote(f"{stamp}/{NOTEBOOK[:-6]}.html")
        return hub.api("GET", f"/user/{user}/api/contents/{path}?type=file&format=text")["content"]

    with ThreadPoolExecutor(len(WORK)) as pool:
        others = [short for short in WORK if short != "ada"]
        t.feedback = dict(zip(others, pool.map(feedback, others)))
    ada.page.get_by_role("button", name="Fetch Feedback").first.click()  # Ada, in her browser
    ada.page.get_by_text("view feedback").first.wait_for()
    ada.screenshot("student-feedback")
    ada.close()
    t.feedback["ada"] = read_feedback(hub, t.name["ada"])

    t.eve_after = probe(hub, t.name["eve"], [
        ("Ada's feedback", "list", str(ada_home / ASSIGNMENT / "feedback")),
        ("the released feedback", "list", str(ex / "feedback")),
        ("the graded notebooks", "list", str(hub.course_dir / "autograded")),
    ])

    t.formgrader_status = {}
    for role, user in (("instructor", inst), ("student", t.name["eve"])):
        try:
            t.formgrader_status[role] = hub.api("GET", f"/user/{user}/formgrader/api/assignments", raw=True) and 200
        except urllib.error.HTTPError as error:
            t.formgrader_status[role] = error.code

    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{hub.course_dir / 'gradebook.db'}") as gb:
        t.scores = {short: {g.name: (g.score, g.max_score)
                            for g in gb.find_submission_notebook(NOTEBOOK[:-6], ASSIGNMENT, user).grades}
                    for short, user in t.name.items()}
    return t


def test_students_see_fetch_and_submit_the_release(course):
    for short, (before, release, after) in course.studied.items():
        assert [a["assignment_id"] for a in before] == [ASSIGNMENT], (short, before)
        assert before[0]["status"] == "released"
        assert "### BEGIN SOLUTION" not in json.dumps(release) and "HIDDEN TESTS" not in json.dumps(release)
        assert any(a["status"] == "submitted" for a in after), (short, after)


def test_each_role_gets_its_own_nbgrader_tools(course):
    """The instructor has Create Assignment and the formgrader; a student has neither."""
    assert course.sidebar == {"instructor": 1, "student": 0}
    assert course.formgrader_status == {"instructor": 200, "student": 404}


def test_validate_shows_a_student_what_fails(course):
    answer = course.validated
    assert answer["success"], answer
    failed = answer["value"].get("failed", [])
    assert failed and any("matmul_backward" in f.get("error", "") for f in failed), failed


def test_each_collected_submission_is_the_students_own(course):
    release = course.studied["ada"][1]
    for short, nb in course.collected.items():
        expected = student_work(release, short)
        assert sources(nb) == sources(expected), short


@pytest.mark.parametrize("short", WORK)
def test_scores(course, short):
    scores = course.scores[short]
    fails = WORK[short][1]
    assert fails <= set(scores), fails - set(scores)
    wrong = {cell: sc for cell, sc in scores.items() if sc[0] != (0 if cell in fails else sc[1])}
    assert not wrong, f"{short}: cells scored (score, max) {wrong}; expected 0 exactly for {sorted(fails)}"


@pytest.mark.parametrize("short", WORK)
def test_each_student_gets_their_own_feedback(course, short):
    html = course.feedback[short]
    total = sum(sc[0] for sc in course.scores[short].values())
    top = sum(sc[1] for sc in course.scores[short].values())
    shown = re.search(r"Score:\s*([\d.]+)\s*/\s*([\d.]+)", html)
    assert shown, "no total score in the feedback"
    assert (float(shown[1]), float(shown[2])) == (total, top), (short, shown[0])


def test_the_hostile_student_reads_and_changes_nothing_of_others(course):
    expected = {name: "PermissionError" for name in course.eve_before}
    expected["her own home"] = "allowed"  # the probe works
    expected["a submission forged in Ada's name"] = "allowed"  # the inbound is writable; collect checks owners
    assert course.eve_before == expected
    assert course.eve_after == {name: "PermissionError" for name in course.eve_after}


def test_a_forged_submission_is_not_collected(course):
    assert course.scores["ada"] and all(sc[0] == sc[1] for sc in course.scores["ada"].values())
