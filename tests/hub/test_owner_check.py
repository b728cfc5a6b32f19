"""The collect that checks owners, against nbgrader's own, on a forged submission.

Two real users and an exchange inbound laid out as nbgrader writes it: Ada's submission, owned
by Ada, and a newer one in Ada's name, owned by Eve. nbgrader 0.9.6's collect takes the forgery
(it only warns); deploy/local/owner_checked_collect.py takes Ada's own. No hub is needed.
"""
import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture
def users():
    if os.geteuid() != 0:
        pytest.skip("creates Linux users: run as root")
    prefix = f"dlso{secrets.token_hex(3)}"
    names = {short: f"{prefix}-{short}" for short in ("ada", "eve")}
    made = []
    try:
        for name in names.values():
            subprocess.run(["useradd", "--no-create-home", "--comment", "dlscratch test", name], check=True)
            made.append(name)
        yield names
    finally:
        for name in made:
            subprocess.run(["userdel", name], check=False)


def submission(inbound, student, stamp, owner, marker):
    folder = inbound / f"{student}+A1+{stamp}+{secrets.token_hex(4)}"
    folder.mkdir()
    (folder / "nb.ipynb").write_text(json.dumps({"cells": [], "metadata": {"marker": marker},
                                                 "nbformat": 4, "nbformat_minor": 5}))
    entry = pwd.getpwnam(owner)
    for path in (folder, folder / "nb.ipynb"):
        os.chown(path, entry.pw_uid, entry.pw_gid)


@pytest.mark.parametrize("collect, expected", [
    ("nbgrader.exchange.default.collect.ExchangeCollect", "forged by eve"),  # nbgrader's own: fooled
    ("owner_checked_collect.OwnerCheckedCollect", "ada's own"),
])
def test_collect_takes_the_students_own_submission(users, tmp_path, collect, expected):
    inbound = tmp_path / "exchange" / "course" / "inbound"
    inbound.mkdir(parents=True)
    submission(inbound, users["ada"], "2026-12-01 08:00:00.000000 UTC", users["ada"], "ada's own")
    submission(inbound, users["ada"], "2026-12-02 08:00:00.000000 UTC", users["eve"], "forged by eve")
    course = tmp_path / "course"
    course.mkdir()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(REPO / "deploy" / "local"), "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter")}
    result = subprocess.run(
        [str(BIN / "nbgrader"), "collect", "A1", f"--Exchange.root={tmp_path / 'exchange'}",
         "--CourseDirectory.course_id=course", f"--CourseDirectory.root={course}",
         f"--ExchangeFactory.collect={collect}"], cwd=course, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    collected = json.loads((course / "submitted" / users["ada"] / "A1" / "nb.ipynb").read_text())
    assert collected["metadata"]["marker"] == expected, result.stderr
    shutil.rmtree(tmp_path / "exchange")
