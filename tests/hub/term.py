"""What the people in a course do, through the hub: the REST calls behind nbgrader's buttons.

Students use the assignment-list server extension (`/user/NAME/assignments/...`: what the
Assignments tab calls); the instructor uses the formgrader's API (`/user/NAME/formgrader/api/...`:
what its buttons call); notebooks are read and saved through Jupyter's contents API, as the
browser does. Autograding is `nbgrader autograde` run as the instructor in the course folder,
so it goes through the course's nbgrader_config.py (and whatever grading path that sets up).
"""
import json
import subprocess
import time
from pathlib import Path

from tests.grading import submissions as s

REPO = Path(__file__).resolve().parents[2]
COURSE_ID = "dlscratch"
ASSIGNMENT = "01-backward-passes"
NOTEBOOK = "backward_passes.ipynb"


def source_notebook():
    return json.loads((REPO / "solutions" / ASSIGNMENT / NOTEBOOK).read_text(encoding="utf-8"))


def answers():
    return s.solutions(source_notebook())


def assignment_action(hub, student, action):
    answer = hub.api("POST", f"/user/{student}/assignments/{action}",
                     {"course_id": COURSE_ID, "assignment_id": ASSIGNMENT}, timeout=120)
    assert answer.get("success"), f"{student}: {action} failed: {answer}"
    return answer["value"]


def listed(hub, student):
    answer = hub.api("GET", f"/user/{student}/assignments?course_id={COURSE_ID}", timeout=120)
    assert answer.get("success"), answer
    return answer["value"]


def read_notebook(hub, user, path):
    return hub.api("GET", f"/user/{user}/api/contents/{path}?content=1", timeout=60)["content"]


def save_notebook(hub, user, path, nb):
    hub.api("PUT", f"/user/{user}/api/contents/{path}", {"type": "notebook", "format": "json", "content": nb},
            timeout=60)


def formgrader(hub, action, assignment=ASSIGNMENT):
    answer = hub.api("POST", f"/user/{hub.instructor}/formgrader/api/assignment/{assignment}/{action}", b"",
                     timeout=300)
    assert answer.get("success"), f"formgrader {action} failed: {answer}"
    return answer


def as_user(hub, user, *command, cwd=None, timeout=600, check=True):
    """Run a command as one of the course's users, with the course environment first on PATH."""
    home = hub.home(user)
    env = ["env", "-i", f"HOME={home}", f"USER={user}", f"LOGNAME={user}",
           f"PATH={hub.venv / 'bin'}:/usr/bin:/bin", "OPENBLAS_NUM_THREADS=1", "LANG=C.UTF-8"]
    result = subprocess.run(["runuser", "-u", user, "--", *env, *command], cwd=cwd or home, text=True,
                            capture_output=True, timeout=timeout)
    if check:
        assert result.returncode == 0, f"{' '.join(command)} as {user} failed:\n{result.stdout}\n{result.stderr}"
    return result


def autograde(hub, assignment=ASSIGNMENT):
    """The instructor grades everyone who was collected: `nbgrader autograde` in the course folder."""
    start = time.perf_counter()
    result = as_user(hub, hub.instructor, "nbgrader", "autograde", assignment, cwd=hub.course_dir)
    seconds = time.perf_counter() - start
    # as the instructor (not root), beside their own server and kernels: still in the sandbox
    assert "NOT SANDBOXED" not in result.stderr, result.stderr[-3000:]
    return seconds


class Person:
    """Someone using the hub in their own browser window: logs in, clicks nbgrader's buttons."""

    def __init__(self, browser, hub, user, artifacts):
        self.hub, self.user, self.artifacts = hub, user, artifacts
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.context.set_default_timeout(180_000)  # a busy 2-core machine
        self.page = self.context.new_page()

    def log_in(self):
        page = self.page
        page.goto(f"{self.hub.url}/hub/login")
        page.fill("#username_input", self.user)
        page.fill("#password_input", self.hub.password)
        page.click("#login_submit")
        page.wait_for_url("**/lab**")  # the hub starts the server, then sends the browser to JupyterLab
        page.wait_for_selector(".jp-LabShell")

    def screenshot(self, name):
        self.artifacts.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(self.artifacts / f"{name}.png"))

    # the instructor: the formgrader's Manage Assignments page
    def formgrader_click(self, column, success, assignment=ASSIGNMENT):
        page = self.page
        if "/formgrader" not in page.url:
            page.goto(f"{self.hub.url}/user/{self.user}/formgrader")
        row = page.locator("tr", has=page.locator("td.name", has_text=assignment))
        row.locator(f"td.{column} a").click()
        dialog = page.locator(".modal-dialog")
        dialog.wait_for()
        page.wait_for_function(  # faded in, for the screenshot
            "() => { const m = document.querySelector('.modal.in'); return m && getComputedStyle(m).opacity === '1'; }")
        text = dialog.inner_text()
        self.screenshot(f"formgrader-{column}")
        assert success in text, f"formgrader {column}: {text[:2000]}"
        dialog.locator("button", has_text="OK").first.click()
        dialog.wait_for(state="detached")

    # a student: the Assignments panel
    def open_assignment_list(self):
        self.page.get_by_role("menuitem", name="Nbgrader").click()
        self.page.get_by_text("Assignment List").click()

    def click(self, button, then):
        self.page.get_by_role("button", name=button).first.click()
        self.page.get_by_role("button", name=then).first.wait_for()

    def close(self):
        self.context.close()
