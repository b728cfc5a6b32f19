"""A class acting at once on one machine: 30 students spawn, fetch, work and submit concurrently.

Every student's server is started through the hub's REST API at the same moment; each then
fetches the assignment, opens a kernel (what opening the notebook does), saves a notebook that
carries a token of its own, and submits. The instructor collects, and each collected notebook
must be its student's, with that token: no submission lost or mixed up.

Measured and written to test-artifacts/hub/load.json (and turned into the sizing table of
docs/jupyterhub.md): time to spawn, hub and proxied response times, memory per student
(server + idle kernel, PSS) and of the hub and proxy. Last, stopping the hub must stop every
server and kernel it started. The machine the tests run on may be
shared, so the times are pessimistic. All traffic is on 127.0.0.1; every loop is bounded.
"""
import json
import os
import secrets
import statistics
import threading
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor

from . import term
from .conftest import ARTIFACTS
from .term import ASSIGNMENT, NOTEBOOK

STUDENTS = 30
SPAWN_DEADLINE = 300  # s for all servers to be ready; the hub's own start_timeout is 180 s per server
P95_LIMIT = 10.0  # s; a class must not wait longer than this for one request
# ... except the request that starts a server: the hub answers it when the server is up or after
# its slow_spawn_timeout (10 s), whichever comes first; spawn time is measured on its own.
SPAWN_REQUEST = "hub: POST /hub/api/users/NAME/server"


class Timings:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls = {}

    def time(self, kind, call, *args, **kwargs):
        start = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            with self.lock:
                self.calls.setdefault(kind, []).append(time.perf_counter() - start)


def summary(values):
    values = sorted(values)
    return {"n": len(values), "median": round(statistics.median(values), 3),
            "p95": round(values[min(len(values) - 1, int(0.95 * len(values)))], 3), "max": round(values[-1], 3)}


def memory_kib(pids):
    """(PSS, RSS) in KiB summed over `pids`, from /proc/PID/smaps_rollup."""
    pss = rss = 0
    for pid in pids:
        try:
            for line in open(f"/proc/{pid}/smaps_rollup"):
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss += int(line.split()[1])
        except OSError:
            pass
    return pss, rss


def test_thirty_students_at_once(new_hub, hub_tools):
    names = [f"s{i:02d}" for i in range(1, STUDENTS + 1)]
    hub = new_hub(names)
    timings = Timings()
    hub.spawn(hub.instructor)
    term.formgrader(hub, "assign")
    term.formgrader(hub, "release")
    tokens = {user: secrets.token_hex(8) for user in hub.students}
    spawn_seconds = {}

    def wait_ready(user, deadline):
        while time.monotonic() < deadline:
            server = timings.time("hub: GET /hub/api/users/NAME", hub.api, "GET", f"/hub/api/users/{user}")
            if server.get("servers", {}).get("", {}).get("ready"):
                return
            time.sleep(1)
        raise TimeoutError(f"{user}'s server was not ready in time:\n{hub.log_tail()}")

    start_all = time.monotonic()

    def student(user):
        start = time.monotonic()
        timings.time("hub: POST /hub/api/users/NAME/server", hub.api, "POST", f"/hub/api/users/{user}/server")
        wait_ready(user, start_all + SPAWN_DEADLINE)
        spawn_seconds[user] = time.monotonic() - start
        timings.time("server: fetch", term.assignment_action, hub, user, "fetch")
        path = f"{ASSIGNMENT}/{NOTEBOOK}"
        nb = timings.time("server: GET contents", term.read_notebook, hub, user, path)
        nb["cells"].append({"cell_type": "markdown", "id": "student-token", "metadata": {},
                            "source": f"written by {user}: {tokens[user]}"})
        timings.time("server: POST kernel", hub.api, "POST", f"/user/{user}/api/kernels", {"name": "python3"})
        timings.time("server: PUT contents", term.save_notebook, hub, user, path, nb)
        after = timings.time("server: submit", term.assignment_action, hub, user, "submit")
        assert any(a["status"] == "submitted" for a in after), (user, after)

    with ThreadPoolExecutor(STUDENTS) as pool:
        failures = [f.exception() for f in [pool.submit(student, u) for u in hub.students]]
    errors = [repr(e) for e in failures if e is not None]
    assert not errors, f"{len(errors)} students failed: {errors[:3]}\n{hub.log_tail()}"
    everyone_seconds = time.monotonic() - start_all

    # Memory, with every server and kernel up.
    per_student = [memory_kib(hub_tools.processes_of(u)) for u in hub.students]
    hub_pids = [p for p in map(int, filter(str.isdigit, os.listdir("/proc")))
                if _session(p) == hub.process.pid]
    hub_pss, hub_rss = memory_kib(hub_pids)
    kernels = [len(hub.api("GET", f"/user/{u}/api/kernels")) for u in hub.students]

    # The instructor collects: every submission there, each its own student's.
    term.formgrader(hub, "collect")
    mixed, lost = [], []
    for user, token in tokens.items():
        path = hub.course_dir / "submitted" / user / ASSIGNMENT / NOTEBOOK
        if not path.exists():
            lost.append(user)
            continue
        cells = json.loads(path.read_text())["cells"]
        if "".join(cells[-1]["source"]) != f"written by {user}: {token}":
            mixed.append(user)

    figures = {
        "students": STUDENTS, "cpu cores": os.cpu_count(),
        "seconds until all had spawned, fetched and submitted": round(everyone_seconds, 1),
        "spawn seconds (request to ready, all at once)": summary(spawn_seconds.values()),
        "response seconds": {kind: summary(v) for kind, v in sorted(timings.calls.items())},
        "MiB per student (server + idle kernel), PSS": summary([p / 1024 for p, _ in per_student]),
        "MiB per student (server + idle kernel), RSS": summary([r / 1024 for _, r in per_student]),
        "MiB hub + proxy, PSS": round(hub_pss / 1024, 1),
        "MiB hub + proxy, RSS": round(hub_rss / 1024, 1),
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "load.json").write_text(json.dumps(figures, indent=1) + "\n")
    print(json.dumps(figures, indent=1))

    assert not lost and not mixed, f"lost: {lost}; mixed up: {mixed}"
    assert kernels == [1] * STUDENTS, kernels
    assert all(p > 10 * 1024 for p, _ in per_student), per_student  # a server and a kernel were measured
    slow = {k: v["p95"] for k, v in figures["response seconds"].items() if v["p95"] > P95_LIMIT and k != SPAWN_REQUEST}
    assert not slow, f"95th-percentile response times over {P95_LIMIT} s: {slow}"

    # Stopping the hub (SIGTERM, by PID) stops every server and kernel it started.
    hub.stop_hub(timeout=120)
    deadline = time.monotonic() + 60
    while any(hub_tools.processes_of(u) for u in hub.students) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = {u: [_describe(pid) for pid in hub_tools.processes_of(u)] for u in hub.students
            if hub_tools.processes_of(u)}
    assert not left, f"still running after the hub stopped: {left}\n{hub.log_tail()}"
    try:
        hub.api("GET", "/hub/api/", timeout=5)
        raise AssertionError("the hub still answers after SIGTERM")
    except (urllib.error.URLError, OSError):
        pass


def _describe(pid):
    """A process as `pid (parent pid, state): command line`, to tell a server from a kernel."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        command = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        return f"{pid} (parent {fields[1]}, {fields[0]}): {command.strip()[:200]}"
    except OSError:
        return f"{pid} (gone)"


def _session(pid):
    try:
        return os.getsid(pid)
    except (ProcessLookupError, PermissionError):
        return None
