"""The isolation pieces on their own: the data-only protocol, the stripped library, the sandbox's
walls and limits, and the loud fallback without bubblewrap (graded with real nbgrader)."""
import ast
import io
import json
import logging
import os
import pwd
import select
import socket
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

import dlscratch as ds
from dlscratch.grading.isolation import cgroups, protocol, sandbox, strip
from dlscratch.grading.isolation.preprocessor import IsolatedExecute
from dlscratch.grading.isolation.sandbox import FALLBACK_WARNING, Child, ChildDied, Limits

from . import hostile, hostile_suite
from . import submissions as s
from .nbgrader_course import REPO, nbgrader
from .sandbox_tools import require_bwrap

A1 = "01-backward-passes"


# --- the protocol ------------------------------------------------------------------------------

def round_trip(value):
    read, write = os.pipe()
    try:
        arrays = []
        protocol.write_message(write, {"value": protocol.encode(value, arrays, ds.OpContext)}, arrays)
        header, got = protocol.read_message(read, time.monotonic() + 5)
        return protocol.decode(header["value"], got)
    finally:
        os.close(read)
        os.close(write)


def test_data_crosses_unchanged():
    value = (np.arange(6.0).reshape(2, 3), np.float32(2.5), None, [1, "a", float("nan")], {"axis": (0, 2)},
             np.array([True, False]), np.zeros((0, 3), np.int64))
    got = round_trip(value)
    assert type(got) is tuple and len(got) == len(value)
    assert np.array_equal(got[0], value[0]) and got[0].dtype == np.float64
    assert got[1] == np.float32(2.5) and got[1].dtype == np.float32
    assert got[2] is None and got[3][:2] == [1, "a"] and np.isnan(got[3][2])
    assert got[4] == {"axis": (0, 2)} and got[5].dtype == bool and got[6].shape == (0, 3)


def test_anything_but_data_arrives_as_a_name_only():
    got = round_trip((lambda: 1, np.array([object()], dtype=object), ds))
    assert [type(g).__name__ for g in got] == ["function", "object", "module"]
    assert all(isinstance(g, protocol.Opaque) for g in got)


def test_a_gradient_rule_context_crosses_as_its_fields():
    ctx, grad = ds.grading.example(ds.reduce_sum, np.arange(6.0).reshape(2, 3), axis=1)
    arrays = []
    tree = protocol.encode((ctx, grad), arrays, ds.OpContext)
    fields = protocol.decode(tree, arrays, lambda *f: f)[0]
    assert fields[0] == "Sum" and np.array_equal(fields[1][0], ctx.inputs[0])
    assert fields[3] == {"axis": 1, "keepdims": False} and fields[4] == (True,)


def forged(header, blob=b""):
    head = json.dumps(header).encode()
    body = struct.pack("<Q", len(head)) + head + blob
    return struct.pack("<Q", len(body)) + body


@pytest.mark.parametrize("frame", [
    forged({"arrays": [["|O", [1], 8]]}, b"\0" * 8),                 # an object array
    forged({"arrays": [["<f8", [2], 8]]}, b"\0" * 8),                # sizes that do not add up
    forged({"arrays": [["V8", [1], 8]]}, b"\0" * 8),                 # raw bytes
    forged({"arrays": "nope"}),
    struct.pack("<Q", protocol.MAX_MESSAGE + 1),                     # too big to read
    struct.pack("<Q", 5) + b"\xff" * 5,                              # not JSON
])
def test_malformed_messages_are_refused(frame):
    read, write = os.pipe()
    try:
        os.write(write, frame)
        with pytest.raises(protocol.ProtocolError):
            protocol.read_message(read, time.monotonic() + 5)
    finally:
        os.close(read)
        os.close(write)


def test_pickles_are_never_loaded():
    source = (REPO / "dlscratch" / "grading" / "isolation" / "protocol.py").read_text()
    assert "pickle" not in source.replace("allow_pickle", "").replace("no pickle", "")


# --- the stripped library ----------------------------------------------------------------------

def test_the_stripped_library_refuses_every_reference_answer(tmp_path):
    folder = strip.make_stripped_library(str(tmp_path))
    ops = (tmp_path / "dlscratch" / "core" / "ops.py").read_text()
    backwards = [f for f in ast.walk(ast.parse(ops)) if isinstance(f, ast.FunctionDef) and f.name == "backward"]
    assert len(backwards) >= 20
    assert all(len(f.body) == 1 and isinstance(f.body[0], ast.Raise) for f in backwards)
    assert "grad * 2 * x" not in ops and "unbroadcast(grad" not in ops
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import numpy as np, dlscratch as ds\n"
            "g = ds.Graph()\nwith g.as_default():\n    y = ds.negative(ds.constant([1.0, 2.0]))\n"
            "assert list(ds.Session(g).run(y)) == [-1.0, -2.0]  # forward passes still work\n"
            "refused = 0  # the traversal is there (assignment 1 gives it), but finds no rule of the library's\n"
            "for call in [lambda: ds.gradient_rule('Neg')(None, None), lambda: ds.OPS['Mul'].backward(None, None),\n"
            "             lambda: ds.unbroadcast(np.ones((2, 3)), (3,)),\n"
            "             lambda: ds.gradcheck.numerical_gradient(lambda: 0.0, np.ones(2)),\n"
            "             lambda: ds.backprop(y, ds.Session(g).evaluate_all(y))]:\n"
            "    try:\n        call()\n"
            "    except Exception as e:\n        refused += type(e).__name__ == 'ReferenceUnavailable'\n"
            "print(refused)")
    out = subprocess.run([sys.executable, "-I", "-c", code, folder], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "5", out.stderr


# --- the sandbox -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def library(tmp_path_factory):
    require_bwrap()
    return strip.make_stripped_library(str(tmp_path_factory.mktemp("lib")))


# Every child of the tests below is started both ways: in a sandbox of its own, and forked by a fork server
# (forkserver.py: what grading as root uses).
HOW = ["own sandbox", "forked"]


def new_child(library, how="own sandbox", limits=None):
    limits = limits or Limits(memory_bytes=1024 * 2 ** 20, processes=8)
    if how == "own sandbox":
        return Child("bwrap", library, limits)
    if os.geteuid() != 0:
        pytest.skip("a fork server is for graders that run as root (only root can give each child a uid)")
    return Child("bwrap", library, limits, server=sandbox.shared_fork_server(library, limits))


@pytest.fixture(scope="module", params=HOW)
def child(library, request):
    child = new_child(library, request.param)
    yield child
    child.kill()
    sandbox.stop_fork_servers()


def run_in(child, source):
    """Run `source` in the child; return the value of its last line's name `result`, or the error's text."""
    reply, _ = child.request({"op": "run", "index": 0, "source": source + "\ndef answer():\n    return result\n"},
                             (), time.monotonic() + 60)
    if not reply["ok"]:
        return f"{reply['error']['type']}: {reply['error']['message']}"
    reply, arrays = child.request({"op": "call", "name": "answer", "args": protocol.encode((), []),
                                   "kwargs": protocol.encode({}, [])}, (), time.monotonic() + 60)
    return protocol.decode(reply["value"], arrays)


def test_the_sandbox_runs_as_a_user_of_its_own_without_capabilities(child):
    assert os.geteuid() != 0 or child.uid >= sandbox.SANDBOX_UIDS
    assert run_in(child, "import os\nresult = [os.getuid(), os.getgid(), os.getgroups()]") == [child.uid, child.uid, []]
    with pytest.raises(KeyError):
        pwd.getpwuid(child.uid)  # no account of the host's
    status = run_in(child, "result = [l.split() for l in open('/proc/self/status') if l.startswith(('Cap', 'NoNew'))]")
    assert {name: value for name, value in status} == {
        "CapInh:": "0" * 16, "CapPrm:": "0" * 16, "CapEff:": "0" * 16, "CapBnd:": "0" * 16, "CapAmb:": "0" * 16,
        "NoNewPrivs:": "1"}, status


@pytest.mark.parametrize("path", [str(REPO / "solutions"), str(REPO / "nbgrader_config.py"), str(REPO / "tests"),
                                  str(REPO / ".git"), str(REPO / "dlscratch" / "core" / "ops.py")])
def test_the_course_and_the_real_library_are_not_there(child, path):
    assert run_in(child, f"import os\nresult = os.path.exists({path!r})") is False


def test_the_sandbox_sees_only_the_system_and_python(child):
    """Folders above Python's own (e.g. a home folder holding pyenv) show nothing but the way to it."""
    python = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)} | {sys.prefix}
    system = {"usr", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "dev", "proc", "tmp", "sandbox"}
    top = run_in(child, "import os\nresult = sorted(os.listdir('/'))")
    assert set(top) <= system | {p.split("/")[1] for p in python}, top
    for path in python:
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts)):
            folder = "/" + "/".join(parts[:depth])
            listing = run_in(child, f"import os\nresult = os.listdir({folder!r})")
            assert set(listing) <= {p.strip("/").split("/")[depth] for p in python
                                    if p.startswith(folder + "/")}, (folder, listing)


def test_etc_holds_only_what_python_needs_and_no_real_users(child):
    allowed = {"ld.so.cache", "localtime", "fonts", "passwd", "group", "nsswitch.conf"}
    listing = run_in(child, "import os\nresult = sorted(os.listdir('/etc'))")
    assert set(listing) <= allowed and {"passwd", "group", "nsswitch.conf"} <= set(listing), listing
    assert run_in(child, "import os\nresult = os.path.exists('/etc/shadow')") is False
    assert run_in(child, "result = open('/etc/shadow').read()").startswith("FileNotFoundError")
    host_users = {p.pw_name for p in pwd.getpwall()} - {"root", "nobody"}
    assert host_users, "this host has no users but root and nobody: the check below would prove nothing"
    users = run_in(child, "import pwd\nresult = sorted({p.pw_name for p in pwd.getpwall()})")
    assert users == ["root", "student"], users  # a fork server's children take turns among a few uids
    assert "daemon" not in run_in(child, "result = open('/etc/passwd').read()")
    text = run_in(child, "open('/etc/passwd', 'a').write('x')\nresult = 1")
    assert "Read-only file system" in text or "Permission denied" in text, text


def test_numpy_matplotlib_and_user_lookups_still_work(child):
    source = ("import getpass, os, pwd\nimport numpy as np, dlscratch\nfrom dlscratch import grading\n"
              "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
              "figure = plt.figure()\nplt.plot(np.arange(3.0))\nplt.title('loss')\nfigure.savefig('/tmp/loss.png')\n"
              "result = [pwd.getpwuid(os.getuid()).pw_name, getpass.getuser(), os.path.getsize('/tmp/loss.png') > 0]")
    assert run_in(child, source) == ["student", "student", True]
    assert "Fontconfig" not in child.stderr_tail()


def test_drawings_do_nothing_in_the_sandbox_and_cost_no_imports(child):
    source = ("import sys, time\nstart = time.perf_counter()\nimport dlscratch as ds\nimport dlscratch.viz as viz\n"
              "drawn = viz.draw_graph(ds.constant(1.0), gradients=True)\nviz.plot_loss([1.0, 0.5])\n"
              "result = [drawn, viz.accuracy is ds.train.accuracy, 'dlscratch.viz.render' in sys.modules,\n"
              "          'dlscratch.viz.widgets' in sys.modules]")
    assert run_in(child, source) == [None, True, False, False]


def test_the_filesystem_is_read_only_outside_the_scratch_folder(child):
    assert run_in(child, "open('/tmp/notes.txt', 'w').write('ok')\nresult = open('/tmp/notes.txt').read()") == "ok"
    assert "Read-only file system" in run_in(child, "open('/usr/lib/evil', 'w')\nresult = 1")
    for folder in [REPO, REPO / ".venv"]:  # a folder made for the sandbox's view, and a read-only one
        text = run_in(child, f"open({str(folder / 'evil')!r}, 'w')\nresult = 1")
        assert "Read-only file system" in text or "Permission denied" in text, text
        assert not (folder / "evil").exists()


def test_there_is_no_network(child):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        port = listener.getsockname()[1]
        text = run_in(child, f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\nresult = 1")
        assert "ConnectionRefusedError" in text or "unreachable" in text, text
        text = run_in(child, "import socket\nsocket.create_connection(('pypi.org', 443), timeout=2)\nresult = 1")
        assert "gaierror" in text or "unreachable" in text, text
    finally:
        listener.close()


def test_every_resource_limit_is_set(child):
    wanted = child.limits.rlimits(child.tasks_already)
    got = run_in(child, f"import resource\nresult = [resource.getrlimit(r) for r in {[r for r, _ in wanted]}]")
    assert got == [(value, value) for _, value in wanted]


def test_memory_processes_and_file_sizes_are_limited(child):
    assert run_in(child, "x = bytearray(2 ** 31)\nresult = 1").startswith("MemoryError")
    assert "BlockingIOError" in run_in(child, "import os, time\nfor _ in range(50):\n    if os.fork() == 0:\n"
                                              "        time.sleep(3)\n        os._exit(0)\nresult = 1")
    assert "File too large" in run_in(child, "open('/tmp/big', 'wb').write(b'0' * 32 * 2 ** 20)\nresult = 1")



def test_student_code_gets_a_fair_share_of_the_cpu(child):
    """The child runs at the grader's priority, in a session of its own (Linux's autogroup shares the CPU out per
    session): busy graders cannot starve a slow but honest submission into its cell timeout. Grades must not
    depend on how busy the grading machine is. (At nice 19 the grader took 98% of a CPU they shared.)"""
    assert run_in(child, "import os\nresult = os.nice(0)") == os.nice(0)
    cpu, ours = min(os.sched_getaffinity(0)), os.sched_getaffinity(0)
    spin = (f"import os, time\nos.sched_setaffinity(0, {{{cpu}}})\nend = time.time() + 3\n"
            "while time.time() < end:\n    pass\n")
    child.send({"op": "run", "index": 0, "source": spin}, (), time.monotonic() + 60)
    try:
        os.sched_setaffinity(0, {cpu})
        time.sleep(0.5)  # the child is spinning on this CPU by now
        wall, used = time.monotonic(), time.process_time()
        while time.monotonic() - wall < 1:
            pass
        share = (time.process_time() - used) / (time.monotonic() - wall)
    finally:
        os.sched_setaffinity(0, ours)
    reply, _ = child.receive(time.monotonic() + 60)
    assert reply["ok"]
    assert 0.3 < share < 0.7, f"the grader got {share:.0%} of a CPU a spinning child shares with it (fair: half)"


def timed_run(library, source, seconds, competing=False, how="own sandbox"):
    """Run `source` in a new child with a deadline `seconds` away; (wall seconds it took, raised Timeout?). With
    `competing`, the child shares one CPU with a process that spins at the grader's priority."""
    cpu = min(os.sched_getaffinity(0))
    rival = subprocess.Popen([sys.executable, "-c", f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass"]
                             ) if competing else None
    child = new_child(library, how)
    try:
        start = time.monotonic()
        try:
            pinned = f"import os\nos.sched_setaffinity(0, {{{cpu}}})\n" + source
            reply, _ = child.request({"op": "run", "index": 0, "source": pinned}, (), start + seconds)
            assert reply["ok"], reply
            return time.monotonic() - start, False
        except protocol.Timeout:
            return time.monotonic() - start, True
    finally:
        child.kill()
        if rival is not None:
            rival.kill()
            rival.wait()


BURN_ONE_CPU_SECOND = "import time\nend = time.process_time() + 1.0\nwhile time.process_time() < end:\n    pass\n"


@pytest.mark.parametrize("how", HOW)
def test_a_call_that_waits_for_a_cpu_is_not_charged_for_it(library, how):
    """A slow but honest call on a busy machine keeps the time it is allowed, counted in its own CPU time: 1 s of
    work, allowed 1.6 s, finishes in over 1.6 s of wall time while a rival process takes half its CPU."""
    wall, timed_out = timed_run(library, BURN_ONE_CPU_SECOND, 1.6, competing=True, how=how)
    assert not timed_out and wall > 1.6, f"took {wall:.1f} s of wall time; timed out: {timed_out}"
    wall, timed_out = timed_run(library, BURN_ONE_CPU_SECOND, 0.6, competing=True, how=how)  # but only its time
    assert timed_out and wall < 1.9, f"stopped after {wall:.1f} s; timed out: {timed_out}"


@pytest.mark.parametrize("how", HOW)
def test_a_call_that_spins_or_sleeps_is_still_stopped(library, how):
    """Spinning: stopped by its CPU time, before the cap of 3 times its time (on a busy machine it may take
    longer than its time to use it). Sleeping: stopped at that cap."""
    wall, timed_out = timed_run(library, "while True:\n    pass\n", 1.0, how=how)
    assert timed_out and 0.9 < wall < 2.9, f"a spinning call stopped after {wall:.1f} s"
    wall, timed_out = timed_run(library, "import time\ntime.sleep(60)\n", 0.5, how=how)  # 3 times its time
    assert timed_out and 1.4 < wall < 2.5, f"a sleeping call stopped after {wall:.1f} s"
    # the CPU time of every process the call starts counts: one that spins while the call waits for it ...
    wall, timed_out = timed_run(library, "import os\npid = os.fork()\nif pid == 0:\n    while True:\n        pass\n"
                                         "os.waitpid(pid, 0)\n", 1.0, how=how)
    assert timed_out and 0.9 < wall < 2.9, f"a call whose forked process spins stopped after {wall:.1f} s"
    # ... and those that ended (3 of 0.5 s each), before the call sleeps
    wall, timed_out = timed_run(library, "import os, time\nfor _ in range(3):\n    if os.fork() == 0:\n"
                                         "        end = time.process_time() + 0.5\n"
                                         "        while time.process_time() < end:\n            pass\n"
                                         "        os._exit(0)\n    os.wait()\ntime.sleep(60)\n", 1.0, how=how)
    assert timed_out and 0.9 < wall < 2.9, f"a call whose ended processes used its time stopped after {wall:.1f} s"


FORK_THREE = ("import os, time\npids = []\nfor _ in range(3):\n    pid = os.fork()\n    if pid == 0:\n"
              "        block = b'x' * (150 * 2 ** 20)  # written, so really taken\n        time.sleep(1)\n"
              "        os._exit(0)\n    pids.append(pid)\nresult = sorted(os.waitpid(pid, 0)[1] for pid in pids)")


def require_cgroups():
    why = cgroups.unavailable()
    if why:
        pytest.skip(f"optional: this machine gives no cgroup for a total memory cap, so the sandbox has rlimits "
                    f"only (as the grading log says): {why}")


def group_of(child):
    """The cgroup a child is in: its own, or its fork server's."""
    return child.server.group if child.server is not None else child.group


@pytest.mark.parametrize("how", HOW)
def test_all_the_processes_of_a_sandbox_share_one_memory_cap(tmp_path, how):
    """Three processes of 150 MiB each: each is well within its own limit (1.5 GiB of address space),
    so only a cap on them together stops them."""
    require_bwrap()
    require_cgroups()
    library = strip.make_stripped_library(str(tmp_path))
    child = new_child(library, how, Limits(total_memory_bytes=300 * 2 ** 20))
    try:
        folders = list(group_of(child).folders)
        limits = {name: open(os.path.join(folder, name)).read().strip() for folder in folders
                  for name in ("memory.limit_in_bytes", "memory.max", "pids.max") if os.path.exists(f"{folder}/{name}")}
        server = 1 if how == "forked" else 0  # the fork server is in its children's group
        assert set(limits.values()) == {str(300 * 2 ** 20), str(16 + cgroups.SANDBOX_PROCESSES + server)}, limits
        statuses = run_in(child, FORK_THREE)
        assert 9 in statuses, statuses  # killed by SIGKILL: the kernel's out-of-memory killer, in this group only
        assert run_in(child, "result = 'still here'") == "still here"
    finally:
        child.kill()
        sandbox.stop_fork_servers()
    assert not any(os.path.exists(folder) for folder in folders)
    uncapped = new_child(library, how, Limits(total_memory_bytes=0))  # the same, with rlimits only: all succeed
    try:
        assert group_of(uncapped) is None and run_in(uncapped, FORK_THREE) == [0, 0, 0]
    finally:
        uncapped.kill()
        sandbox.stop_fork_servers()


def test_without_cgroups_the_child_has_its_rlimits_and_the_log_says_so_once(tmp_path, monkeypatch, caplog):
    require_bwrap()
    sandbox.stop_fork_servers()  # a server made before holds a cgroup
    monkeypatch.setattr(cgroups, "_setup", "cgroups cannot be used here (a test says so)")
    monkeypatch.setattr(IsolatedExecute, "_mode", None)
    monkeypatch.setattr(IsolatedExecute, "_library", strip.make_stripped_library(str(tmp_path)))
    execute = IsolatedExecute(log=logging.getLogger("test-isolation"))
    with caplog.at_level(logging.INFO, logger="test-isolation"):
        assert execute.mode() == execute.mode() == "bwrap"
    notes = [r for r in caplog.records if "No cap on the total memory" in r.getMessage()]
    assert len(notes) == 1 and notes[0].levelno == logging.INFO and "a test says so" in notes[0].getMessage()
    child = execute.new_child()
    try:
        assert group_of(child) is None
        assert run_in(child, "x = bytearray(2 ** 31)\nresult = 1").startswith("MemoryError")
    finally:
        child.kill()
        sandbox.stop_fork_servers()


def test_a_sandbox_that_fails_to_start_once_is_tried_again_before_any_fallback(tmp_path, monkeypatch, caplog):
    """The probe decides a grader's mode for all its notebooks: one failed start (a moment's want of
    processes or memory) must not send them all to the unsandboxed fallback."""
    require_bwrap()
    from dlscratch.grading.isolation import preprocessor
    failures, real_child = [], preprocessor.Child

    def failing_once(*args, **kwargs):
        if not failures:
            failures.append(1)
            raise ChildDied("the sandbox did not start (a test says so)")
        return real_child(*args, **kwargs)

    monkeypatch.setattr(preprocessor, "Child", failing_once)
    monkeypatch.setattr(IsolatedExecute, "_mode", None)
    monkeypatch.setattr(IsolatedExecute, "_library", strip.make_stripped_library(str(tmp_path)))
    execute = IsolatedExecute(log=logging.getLogger("test-isolation"))
    with caplog.at_level(logging.INFO, logger="test-isolation"):
        assert execute.mode() == "bwrap" and failures == [1]
    assert any("trying again" in r.getMessage() for r in caplog.records)
    assert not any("does not work here" in r.getMessage() for r in caplog.records)


def test_the_groups_a_dead_grader_left_behind_are_removed(monkeypatch):
    require_cgroups()
    finished = subprocess.Popen(["true"])
    finished.wait()
    left = [os.path.join(own, cgroups.PARENT, f"{finished.pid}-1") for own in set(cgroups._setup[0].values())]
    for folder in left:
        os.makedirs(folder)
    try:
        monkeypatch.setattr(cgroups, "_setup", None)  # the next grader process starts
        assert cgroups.unavailable() is None
        assert not any(os.path.exists(folder) for folder in left)
    finally:
        for folder in left:
            for empty in (folder, os.path.dirname(folder)):
                try:
                    os.rmdir(empty)
                except OSError:  # gone already, or the parent still holds a live child's group
                    pass


def test_the_folders_of_a_grader_that_was_killed_are_removed_by_the_next_one(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    finished = subprocess.Popen(["true"])
    finished.wait()  # a grader killed before its atexit could remove its folders
    dead = [tmp_path / f"dlscratch-{kind}-{finished.pid}-x1" for kind in ("sandbox-lib", "scratch")]
    live = tmp_path / f"dlscratch-scratch-{os.getppid()}-x2"  # a grader still at work
    for folder in [*dead, live]:
        folder.mkdir()
    for kind in ("sandbox-lib", "scratch"):
        new = sandbox.grader_folder(kind)
        assert os.path.basename(new).startswith(f"dlscratch-{kind}-{os.getpid()}-")
    assert not any(folder.exists() for folder in dead) and live.exists()


def test_on_cgroup_v2_a_group_gets_memory_and_pids_control_and_caps(tmp_path, monkeypatch):
    """The v2 path on a stand-in hierarchy (this machine mounts v1, so the kernel's side is not tested here):
    the grader's own group is found from /proc/self's v2 lines, control is handed down, the caps written."""
    mount, own = tmp_path / "unified", tmp_path / "unified" / "system.slice" / "grader.service"
    own.mkdir(parents=True)
    (own / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (own / "cgroup.subtree_control").write_text("")
    (own / "dlscratch").mkdir()
    (own / "dlscratch" / "cgroup.subtree_control").write_text("")
    proc = {"/proc/self/mountinfo": f"29 23 0:26 / {mount} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
            "/proc/self/cgroup": "0::/system.slice/grader.service\n"}
    real_open = open
    monkeypatch.setattr(cgroups, "open", lambda path, *a, **k: io.StringIO(proc[path]) if path in proc
                        else real_open(path, *a, **k), raising=False)
    places, versions = cgroups._find()
    assert places == {"memory": str(own), "pids": str(own)} and versions == {str(own): 2}
    monkeypatch.setattr(cgroups, "_setup", (places, versions))
    group = cgroups.Group(300 * 2 ** 20, 8)
    folder = own / "dlscratch" / f"{os.getpid()}-{group.folders[0].rsplit('-', 1)[1]}"
    assert group.folders == [str(folder)]
    assert (own / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert (own / "dlscratch" / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert (folder / "memory.max").read_text() == str(300 * 2 ** 20)
    assert (folder / "pids.max").read_text() == str(8 + cgroups.SANDBOX_PROCESSES)


def _groups_of_this_process():
    """The cgroups this process made for its children (cgroups.py) that still exist."""
    if cgroups.unavailable():
        return []
    return sorted(os.path.join(own, cgroups.PARENT, name) for own in set(cgroups._setup[0].values())
            if os.path.isdir(os.path.join(own, cgroups.PARENT))
            for name in os.listdir(os.path.join(own, cgroups.PARENT)) if name.startswith(f"{os.getpid()}-"))


@pytest.mark.parametrize("how", HOW)
def test_a_hung_child_is_killed_with_everything_it_started(tmp_path, how):
    require_bwrap()
    sandbox.stop_fork_servers()
    groups = _groups_of_this_process()
    child = new_child(strip.make_stripped_library(str(tmp_path)), how, Limits())
    pid = child.process.pid  # bwrap's, or the forked child's
    source = ("import subprocess\nsleeper = subprocess.Popen(['sleep', '120'])\n"
              "def spin():\n    while True:\n        pass\n")
    child.request({"op": "run", "index": 0, "source": source}, (), time.monotonic() + 60)
    started = _processes_of(child.uid) & (_descendants_of(pid) | {str(pid)})
    assert len(started) == 2  # the child and its sleeper
    with pytest.raises(protocol.Timeout):
        child.request({"op": "call", "name": "spin", "args": protocol.encode((), []),
                       "kwargs": protocol.encode({}, [])}, (), time.monotonic() + 1)
    assert not child.alive and not os.path.exists(f"/proc/{pid}")
    for _ in range(50):  # the kernel reaps the namespace's processes asynchronously
        if not started & _processes_of(child.uid):
            break
        time.sleep(0.1)
    assert not started & _processes_of(child.uid)
    if how == "forked":
        assert child.server.usable  # nothing is left of the child: its server forks the next one
        sandbox.stop_fork_servers()
    assert _groups_of_this_process() == groups  # its cgroup is gone


def _descendants_of(pid):
    """The processes below `pid` (its children, theirs, and so on), as /proc names."""
    parents = {}
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{p}/stat") as f:
                parents[p] = f.read().rsplit(")", 1)[1].split()[1]
        except (OSError, IndexError):
            pass
    found, todo = set(), [str(pid)]
    while todo:
        parent = todo.pop()
        children = [p for p, pp in parents.items() if pp == parent and p not in found]
        found.update(children)
        todo.extend(children)
    return found


def _processes_of(uid):
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as f:
                if next(line for line in f if line.startswith("Uid:")).split()[1] == str(uid):
                    found.add(pid)
        except (OSError, StopIteration):
            pass
    return found


@pytest.mark.parametrize("how", HOW)
def test_children_do_not_share_their_process_limit(tmp_path, how):
    """Linux counts processes per user. With every child running as `nobody`, a fork bomb in one grader's
    child, or the host's own `nobody` daemons, used up the process limit of the others: a sandbox could not
    start, and the grader fell back to running student code unsandboxed. Each child is a user of its own."""
    require_bwrap()
    if os.geteuid() != 0:
        pytest.skip("only root can run the sandbox as another user (and only then does bwrap's setpriv apply)")
    limits, library = Limits(processes=4), strip.make_stripped_library(str(tmp_path))
    fork = ("import os, subprocess\nsleepers = []\nfor _ in range(20):\n    try:\n"
            "        sleepers.append(subprocess.Popen(['sleep', '60']))\n    except OSError:\n        break\n"
            "result = len(sleepers)\n")
    host_nobody = [subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sleep", "60"])
                   for _ in range(limits.processes + 1)]
    bomb = other = None
    try:
        bomb = new_child(library, how, limits)  # starts although `nobody` is over the limit
        assert run_in(bomb, fork) < limits.processes  # the child itself counts
        other = new_child(library, how, limits)  # starts beside a child at its limit
        assert other.uid != bomb.uid
        assert run_in(other, fork) == run_in(bomb, "result = len(sleepers)")  # the same room as the first
    finally:
        for process in host_nobody:
            process.kill()
            process.wait()
        for c in (bomb, other):
            if c is not None:
                c.kill()
        sandbox.stop_fork_servers()


def test_a_live_childs_uid_is_not_given_to_another(monkeypatch):
    held = sandbox.sandbox_uid()
    monkeypatch.setattr(sandbox, "_uids_held", {held})  # e.g. a child kept for a whole test module
    given = {sandbox.sandbox_uid() for _ in range(3 * sandbox.CHILD_SLOTS)}
    assert held not in given and len(given) == sandbox.CHILD_SLOTS - 1


@pytest.mark.parametrize("start", [Child, sandbox.ForkServer], ids=["own sandbox", "fork server"])
def test_a_child_that_cannot_start_says_why(tmp_path, start):
    require_bwrap()
    groups = _groups_of_this_process()
    with pytest.raises(ChildDied, match="did not start.*no-library-here"):  # bwrap's own complaint is quoted
        if start is Child:
            Child("bwrap", str(tmp_path / "no-library-here"), Limits(), startup_seconds=30)
        else:
            sandbox.ForkServer(str(tmp_path / "no-library-here"), Limits(), startup_seconds=30)
    assert _groups_of_this_process() == groups  # its cgroup is gone


# --- the fork server (forkserver.py) ----------------------------------------------------------------

def forked(library, limits=None):
    return new_child(library, "forked", limits)


def test_grading_as_root_forks_children_unless_told_not_to(library, monkeypatch):
    if os.geteuid() != 0:
        pytest.skip("a fork server is for graders that run as root")
    monkeypatch.setattr(IsolatedExecute, "_library", library)
    for setting, expected in [(True, True), (False, False)]:
        child = IsolatedExecute(fork_server=setting).new_child("bwrap")
        try:
            assert (child.server is not None) is expected and run_in(child, "result = 7") == 7
        finally:
            child.kill()
    sandbox.stop_fork_servers()


def test_a_forked_child_cannot_reach_its_server(library):
    """The server is root in the sandbox: its children, other users, can neither stop it, trace it, read its
    memory or file descriptors, nor change its limits, priority or CPUs (all of which they could if it were
    their own user), so no child can spoil the next one's start."""
    child = forked(library)
    source = ("import ctypes, os, resource\nlibc = ctypes.CDLL(None, use_errno=True)\n"
              "server = [int(p) for p in os.listdir('/proc') if p.isdigit() and int(p) not in (1, os.getpid())\n"
              "          and os.stat(f'/proc/{p}').st_uid == 0]\n"
              "def trace():\n    if libc.ptrace(16, server[0], 0, 0) != 0:\n"
              "        raise OSError(ctypes.get_errno(), 'ptrace')\n"
              "tries = {'stop': lambda: os.kill(server[0], 19), 'trace': trace,\n"
              "         'limit': lambda: resource.prlimit(server[0], resource.RLIMIT_NOFILE, (3, 3)),\n"
              "         'priority': lambda: os.setpriority(os.PRIO_PROCESS, server[0], 19),\n"
              "         'cpus': lambda: os.sched_setaffinity(server[0], {0}),\n"
              "         'descriptors': lambda: os.listdir(f'/proc/{server[0]}/fd'),\n"
              "         'memory': lambda: open(f'/proc/{server[0]}/mem', 'rb').read(1)}\n"
              "outcome = {}\nfor name, attempt in tries.items():\n    try:\n        attempt()\n"
              "        outcome[name] = 'done'\n    except OSError as e:\n        outcome[name] = type(e).__name__\n"
              "result = [len(server), outcome]")
    try:
        count, outcome = run_in(child, source)
    finally:
        child.kill()
    assert count == 1 and set(outcome.values()) == {"PermissionError"}, outcome
    assert child.server.usable
    sandbox.stop_fork_servers()


def test_the_next_child_meets_nothing_of_the_last(library):
    """What a child leaves is gone before the next one is forked: its processes (the server kills them all), and,
    as the server forks again only when nothing else is left, its files and System V IPC objects (the sandbox
    is thrown away and a new one started)."""
    sandbox.stop_fork_servers()
    first = forked(library)
    server = first.server
    empty = run_in(first, "import os\nresult = os.listdir('/tmp')")  # [], or the way to a Python under /tmp
    run_in(first, "import subprocess\nsubprocess.Popen(['sleep', '60'], start_new_session=True)\nresult = 1")
    left = _processes_of(first.uid)
    assert len(left) == 2  # the child and its sleeper, in a session of its own
    first.kill()
    for _ in range(50):  # the sandbox's init reaps the sleeper
        if not left & _processes_of(first.uid):
            break
        time.sleep(0.1)
    assert not left & _processes_of(first.uid)
    second = forked(library)
    try:
        assert second.server is server  # only processes were left, and they are gone: the same sandbox
        assert len(run_in(second, "import os\nresult = [p for p in os.listdir('/proc') if p.isdigit()]")) == 3
        run_in(second, "open('/tmp/notes', 'w').write('mine')\nresult = 1")  # init, the server, itself
    finally:
        second.kill()
    assert not server.usable  # it left a file: that sandbox is gone
    third = forked(library)
    try:
        assert third.server is not server and run_in(third, "import os\nresult = os.listdir('/tmp')") == empty
        assert run_in(third, "import ctypes\nresult = ctypes.CDLL(None).shmget(0, 4096, 0o1600)") >= 0
    finally:
        third.kill()
    assert not third.server.usable  # it left a shared memory segment
    sandbox.stop_fork_servers()


def test_a_forked_child_that_exits_says_how_and_its_server_goes_on(library):
    sandbox.stop_fork_servers()
    child = forked(library)
    with pytest.raises(ChildDied, match="exited with code 3"):
        run_in(child, "import os\nos._exit(3)")
    assert not child.alive and child.server.usable
    again = forked(library)
    try:
        assert again.server is child.server and run_in(again, "result = 2") == 2
    finally:
        again.kill()
    sandbox.stop_fork_servers()


# --- without bubblewrap: the loud fallback, graded with real nbgrader ------------------------------

def test_without_the_sandbox_grading_still_works_and_says_so_loudly(course, tmp_path):
    fallback = course.copy(tmp_path / "fallback")
    config = fallback.root / "nbgrader_config.py"
    config.write_text(config.read_text() + '\nc.IsolatedExecute.sandbox = "subprocess"\n')
    solved, release = s.solutions(course.source(A1)), course.release(A1)
    plan = hostile.cases(fallback.root, 1)
    for student in ["honest", "calls-rule", "patched-checks", "input-transformer"]:
        answers, changes, _ = plan[student]
        fallback.submit(student, A1, hostile_suite.build(release, solved, answers, changes))
    result = nbgrader("autograde", A1, "--force", cwd=fallback.root)
    assert result.stderr.count("NOT SANDBOXED") == 4, result.stderr[-3000:]
    assert FALLBACK_WARNING.split(".")[0] in result.stderr
    for student in ["honest", "calls-rule", "patched-checks", "input-transformer"]:
        scores = fallback.scores(student, A1)
        zero = {cell for cell, (score, _) in scores.items() if score == 0}
        assert zero == plan[student][2], (student, zero)


def test_a_python_under_tmp_is_not_hidden_by_the_scratch_folder():
    """CI may clone the course (and its .venv) under /tmp: the sandbox's scratch tmpfs on /tmp must be
    mounted before the Python it runs is bound in, or that Python disappears."""
    from dlscratch.grading.isolation import sandbox
    args = sandbox.bwrap_command("/tmp/course/.venv/bin/python", "/nowhere/lib", sandbox.Limits(),
                                 sandbox.SANDBOX_UIDS)
    tmpfs = args.index("--tmpfs")
    assert args[tmpfs + 1] == "/tmp"
    under_tmp = [i for i, a in enumerate(args) if a == "--ro-bind" and args[i + 2].startswith("/tmp/")]
    assert under_tmp, "the Python's folder under /tmp is not bound at all"
    assert all(i > tmpfs for i in under_tmp), "a bind under /tmp comes before the tmpfs that hides it"


def test_the_graders_own_memory_cap_holds_inside_a_test_cell_only():
    """The checks run graphs the student's code built: inside a test cell the grader may map 1 GiB more, and
    numpy refuses past that; outside (nbgrader's own work) the limit is what it was."""
    import resource

    from dlscratch.grading.isolation.preprocessor import address_space_cap
    before = resource.getrlimit(resource.RLIMIT_AS)
    with address_space_cap(2 ** 30):
        assert resource.getrlimit(resource.RLIMIT_AS)[0] != resource.RLIM_INFINITY
        np.empty(2 ** 26)  # 512 MiB: room for it
        with pytest.raises(MemoryError):
            np.empty(2 ** 28)  # 2 GiB: not
    assert resource.getrlimit(resource.RLIMIT_AS) == before
    assert np.empty(2 ** 28).nbytes == 2 ** 31  # mapped, never touched


def test_a_test_cell_that_runs_too_long_in_the_grader_is_stopped():
    """A check may run graphs the student's code built, on the grader's side, and one can be made slow to
    compute: the test cell stops after (CELL_CALLS_FACTOR + 1) cell timeouts in all, fails with that reason,
    and the child (which the alarm may have caught mid-call) is replaced."""
    import signal
    import types

    from nbformat import NotebookNode

    from dlscratch.grading.isolation.preprocessor import CELL_CALLS_FACTOR, GraderTimeout, IsolatedRun
    killed = []
    run = IsolatedRun.__new__(IsolatedRun)
    run.execute = types.SimpleNamespace(grader_memory_limit=2 ** 30)
    run.log, run.timeout, run.names, run.trusted_names = logging.getLogger("test-isolation"), 0.1, {}, set()
    run.namespace, run.overran, run.holding, run.deferred = {"__name__": "__main__"}, False, False, None
    run.child = types.SimpleNamespace(kill=lambda: killed.append(True))
    source = "while True:\n    pass  # stands for a slow graph\n"
    cell = NotebookNode(source=source, outputs=[])
    handler = signal.getsignal(signal.SIGALRM)
    start = time.monotonic()
    run.run_test("test_slow", source, cell)
    took = time.monotonic() - start
    assert (CELL_CALLS_FACTOR + 1) * 0.1 <= took < 10, took
    assert [(o.ename, o.evalue.split("\n")[0]) for o in cell.outputs] == [
        ("GraderTimeout", "this test cell took more than 1 s in all.")]
    assert killed == [True] and run.child is None
    assert signal.getsignal(signal.SIGALRM) is handler and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    quick = NotebookNode(source="x = 1\n", outputs=[])
    run.run_test("test_quick", "x = 1\n", quick)
    assert quick.outputs == [] and not run.overran

    def rings_while_reporting(source, cell, filename):  # the alarm in _exec_here's own error handling
        raise GraderTimeout("this test cell took more than 1 s in all.")
    run._exec_here = rings_while_reporting
    unlucky = NotebookNode(source="x = 1\n", outputs=[])
    run.run_test("test_unlucky", "x = 1\n", unlucky)
    assert [o.ename for o in unlucky.outputs] == ["GraderTimeout"]  # a failure all the same, never a pass


def test_the_alarm_waits_while_a_child_starts():
    """Rung in the middle of a child's start, the test cell's alarm would leave a sandbox that nothing holds:
    it is held off until the child is the run's (then run_test kills it). Python runs signal handlers in the
    main thread whichever thread the signal reaches, so another thread of the grader changes nothing."""
    import signal
    import threading
    import types

    from dlscratch.grading.isolation.preprocessor import GraderTimeout, IsolatedRun
    run = IsolatedRun.__new__(IsolatedRun)
    run.child, run.sent, run.fatal, run.overran, run.timeout = None, [], set(), False, 0.1
    run.holding, run.deferred = False, None
    started, reached, stop = types.SimpleNamespace(kill=lambda: None), [], threading.Event()

    def new_child():
        os.kill(os.getpid(), signal.SIGALRM)  # the alarm rings while the child starts
        time.sleep(0.05)  # its handler runs here
        reached.append("the end of the start")
        return started

    other = threading.Thread(target=stop.wait)  # a thread the signal may be delivered to
    other.start()
    run.execute = types.SimpleNamespace(new_child=new_child)
    try:
        with pytest.raises(GraderTimeout):
            with run._alarm(100):
                run._start_child()
    finally:
        stop.set()
        other.join()
    assert reached == ["the end of the start"] and run.child is started and run.overran
    assert run.deferred is None and not run.holding


def assert_a_new_server_forks(library, stopped):
    """The next child comes from a new server, not from `stopped`, and works."""
    child = forked(library)
    try:
        assert child.server is not stopped and run_in(child, "result = 3") == 3
    finally:
        child.kill()
    sandbox.stop_fork_servers()


def test_a_server_interrupted_mid_question_is_never_asked_again(library, monkeypatch):
    """A test cell's alarm may ring while the grader waits for the server's answer: that answer, left unread,
    must not be taken for the answer to the next question. The server is thrown away instead."""
    sandbox.stop_fork_servers()
    child = forked(library)
    server, real_select = child.server, select.select

    def ringing(*args):
        monkeypatch.setattr(select, "select", real_select)
        raise KeyboardInterrupt("the alarm rang")

    monkeypatch.setattr(select, "select", ringing)
    with pytest.raises(KeyboardInterrupt):
        child.kill()
    assert not server.usable
    assert_a_new_server_forks(library, server)


def test_a_server_whose_fork_went_wrong_forks_no_more(library, monkeypatch):
    """If the grader cannot confirm the child the server says it forked, that server is stopped (its child with
    it), and the next notebook gets a new one."""
    sandbox.stop_fork_servers()
    server = sandbox.shared_fork_server(library, Limits(memory_bytes=1024 * 2 ** 20, processes=8))
    monkeypatch.setattr(sandbox, "_only_child", lambda pid: os.getpid())  # not the server's child
    with pytest.raises(ChildDied, match="not the one it said"):
        forked(library)
    monkeypatch.undo()
    assert not server.usable and server.process is None
    assert_a_new_server_forks(library, server)


def test_only_what_a_child_added_to_the_scratch_folders_is_a_leftover(tmp_path, monkeypatch):
    """bubblewrap makes the way to a Python that lives under /tmp (a CI's fresh clone, say) inside the sandbox's
    /tmp: the server must not take that for a child's file, or it would start a new sandbox for every notebook."""
    from dlscratch.grading.isolation import forkserver
    monkeypatch.setattr(forkserver, "SYSV_IPC", ())  # this host's own IPC objects are not a child's
    scratch = tmp_path / "tmp"
    (scratch / "ciclone").mkdir(parents=True)  # as bwrap made it, before any child
    before = forkserver.listing([str(scratch)])
    assert forkserver.leftovers(before) == []
    (scratch / "notes.txt").write_text("a child's")
    assert forkserver.leftovers(before) == [str(scratch / "notes.txt")]
