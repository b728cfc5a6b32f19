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
    as_user(hub, hub.instructor, "nbgrader", "autograde", assignment, cwd=hub.course_dir)
    return time.perf_counter() - start
