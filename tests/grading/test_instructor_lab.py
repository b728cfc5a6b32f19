"""`bash scripts/instructor.sh NOTEBOOK`: JupyterLab on a source notebook, with nbgrader working."""
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from .nbgrader_course import REPO

pytestmark = pytest.mark.grading

NOTEBOOK = "solutions/02-backprop/backprop.ipynb"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    home = tmp_path_factory.mktemp("instructor-lab")
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "JUPYTER_DATA_DIR": str(home / "data"), "PATH": "/usr/bin:/bin"}  # no venv on PATH: the script adds it
    log = (home / "server.log").open("w")
    # Started from another folder, with a path relative to the repository: as an instructor would type it.
    server = subprocess.Popen(["bash", str(REPO / "scripts" / "instructor.sh"), str(REPO / NOTEBOOK), "--no-browser",
                               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
                               f"--IdentityProvider.token={token}"],
                              cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, (home / "server.log").read_text()
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start:\n" + (home / "server.log").read_text())
        yield base, token, server, home / "server.log"
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server this test started, and only it
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def get(lab, path):
    base, token, *_ = lab
    separator = "&" if "?" in path else "?"
    with urllib.request.urlopen(f"{base}{path}{separator}token={token}", timeout=30) as response:
        return response.read().decode()


def test_the_server_root_is_the_course_folder(lab):
    listing = json.loads(get(lab, "/api/contents"))
    names = {item["name"] for item in listing["content"]}
    assert {"nbgrader_config.py", "solutions", "exercises"} <= names, names
    assert json.loads(get(lab, "/api/contents/" + NOTEBOOK + "?content=0"))["type"] == "notebook"


def test_nbgrader_works_there(lab):
    *_, log = lab
    formgrader = get(lab, "/formgrader/manage_assignments")
    assert "Manage Assignments" in formgrader  # a bad set-up answers 500 here
    assert "will not work correctly" not in log.read_text(), log.read_text()
    assert "nbgrader" in get(lab, "/lab"), "nbgrader's JupyterLab extension (Create Assignment) is not loaded"


def test_the_environment_is_on_the_servers_path(lab):
    _, _, server, _ = lab
    environ = dict(item.split("=", 1) for item in
                   open(f"/proc/{server.pid}/environ", "rb").read().decode().split("\0") if "=" in item)
    assert environ["PATH"].split(os.pathsep)[0] == str(REPO / ".venv" / "bin"), environ["PATH"]
