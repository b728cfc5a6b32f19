"""A temporary nbgrader course for the pipeline tests.

Modelled on nbgrader's own tests: each run gets a temporary course directory
with its own sqlite gradebook, nbgrader is driven through its command line with
this environment's bin directory first on PATH (it runs `alembic` by name), and
scores are read back through `nbgrader.api.Gradebook`.
"""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NOTEBOOKS = {"01-backward-passes": "backward_passes", "02-backprop": "backprop", "03-training": "training",
             "04-forward-engine": "forward_engine"}

# Seconds a cell may run in the test course. The repository's config allows 60; the tests
# use less so that the infinite-loop submission doesn't cost minutes. The slowest graded
# cell takes under a second here.
TEST_CELL_TIMEOUT = 8


def environment():
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("NBGRADER_EXECUTION", None)
    return env


def nbgrader(*args, cwd):
    """Run an nbgrader command; fail with its output if it fails."""
    return nbgrader_in_parallel([args], [cwd])[0]


def nbgrader_in_parallel(commands, folders):
    """Run nbgrader commands side by side (one per folder); fail with the output of any that fails."""
    running = [subprocess.Popen([str(BIN / "nbgrader"), *args], cwd=cwd, env=environment(), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE) for args, cwd in zip(commands, folders)]
    results = []
    for args, process in zip(commands, running):
        stdout, stderr = process.communicate(timeout=900)
        if process.returncode != 0:
            pytest.fail(f"`nbgrader {' '.join(args)}` failed ({process.returncode}):\n{stdout}\n{stderr}")
        results.append(subprocess.CompletedProcess(args, process.returncode, stdout, stderr))
    return results


def read_notebook(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


class Course:
    """A temporary course directory: release, submit, autograde, read the gradebook."""

    def __init__(self, root):
        self.root = Path(root)
        self.db_url = f"sqlite:///{self.root / 'gradebook.db'}"

    def source(self, assignment):
        return read_notebook(self.root / "solutions" / assignment / f"{NOTEBOOKS[assignment]}.ipynb")

    def release(self, assignment):
        return read_notebook(self.root / "exercises" / assignment / f"{NOTEBOOKS[assignment]}.ipynb")

    def submit(self, student, assignment, notebook):
        folder = self.root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{NOTEBOOKS[assignment]}.ipynb").write_text(json.dumps(notebook), encoding="utf-8")

    def copy(self, folder):
        """The same course, released but with nothing submitted, in another folder with its own gradebook."""
        shutil.copytree(self.root, folder, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("submitted", "autograded", "feedback"))
        return Course(folder)

    def autograde(self, *options):
        """Autograde every assignment for the students given in `options`; returns the seconds taken."""
        start = time.perf_counter()
        nbgrader("autograde", "*", *options, cwd=self.root)
        return time.perf_counter() - start

    def autograded(self, student, assignment):
        return read_notebook(self.root / "autograded" / student / assignment / f"{NOTEBOOKS[assignment]}.ipynb")

    def scores(self, student, assignment):
        """{grade cell: (score, max score)} from the gradebook."""
        from nbgrader.api import Gradebook
        with Gradebook(self.db_url) as gb:
            nb = gb.find_submission_notebook(NOTEBOOKS[assignment], assignment, student)
            return {g.name: (g.score, g.max_score) for g in nb.grades}
