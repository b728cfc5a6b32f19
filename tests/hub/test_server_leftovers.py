"""What a stopped server leaves running is ended by the hub's post-stop hook (course_hub.end_what_the_server_left).

A kernel exits when its server dies, but only once it has begun to watch it; a kernel still
starting when the hub stopped 30 servers at once on 2 cores once lived on. The hook ends the
processes that came from that user's server (they carry its JUPYTERHUB_USER and
JUPYTERHUB_SERVER_NAME) and nothing else of theirs. No hub is needed: the processes are
started here, as `nobody`, and stopped by PID whatever happens.
"""
import os
import subprocess
import time
import types

import pytest

from .conftest import load_course_hub

USER = "nobody"


def start_as_nobody(env):
    return subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sleep", "120"],
                            env={"PATH": os.environ["PATH"], **env}, start_new_session=True)


def test_the_hook_ends_what_came_from_that_server_only():
    if os.geteuid() != 0:
        pytest.skip("running processes as another user, and reading their environment, needs root")
    hub = load_course_hub()
    started = {
        "kernel": start_as_nobody({"JUPYTERHUB_USER": USER, "JUPYTERHUB_SERVER_NAME": ""}),
        "another server's kernel": start_as_nobody({"JUPYTERHUB_USER": USER, "JUPYTERHUB_SERVER_NAME": "gpu"}),
        "not from a server": start_as_nobody({}),
        "another user's server": start_as_nobody({"JUPYTERHUB_USER": "someone-else", "JUPYTERHUB_SERVER_NAME": ""}),
    }
    try:
        for _ in range(50):  # setpriv has exec'd sleep: the environment is the one given
            if all(open(f"/proc/{p.pid}/cmdline", "rb").read().startswith(b"sleep") for p in started.values()):
                break
            time.sleep(0.05)
        assert started["kernel"].pid in hub.processes_of_server(USER)
        hub.end_what_the_server_left(types.SimpleNamespace(user=types.SimpleNamespace(name=USER), name=""))
        assert started["kernel"].wait(timeout=10) != 0  # killed
        assert all(p.poll() is None for what, p in started.items() if what != "kernel")
    finally:
        for process in started.values():
            process.kill()
            process.wait()
