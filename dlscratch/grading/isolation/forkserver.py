"""The sandboxed fork server: one sandbox that imports numpy and the library once, then forks a child per notebook.

A fresh sandbox per notebook spends most of its start (about 0.1 s of CPU) importing numpy. The
server pays that once: `sandbox.ForkServer` starts it in bubblewrap like a child, and for each
notebook sends it {"fork": uid} with the child's three file descriptors (its two pipes and its
stderr). The forked child drops every privilege for good (drop_privileges), becomes `uid`, a user
of its own, and runs child.main, as a freshly started child would.

The server is the sandbox's root, with only the capabilities it needs to do that (set the uid,
drop the bounding set, kill what the child leaves). It never runs student code, and no child can
reach it: they are other users, so they cannot signal, trace or re-limit it, and they cannot read
its file descriptors. Once a child has ended ({"end": true}, or it exited), the server kills every
other process in the sandbox, and reports {"code": exit status, "clean": ...}. The grader forks
the next notebook's child here only when "clean" is true: nothing of the last child is left (no
process, no file in /tmp or /dev/shm, no System V IPC object). Otherwise it throws the whole
sandbox away and starts a new one, so one student's leftovers never meet another's code.

Root only: run as the grader's own user, the children would share the server's user and could
tamper with it; a grader that is not root starts one sandbox per notebook instead (sandbox.Child).
"""
import ctypes
import json
import os
import resource
import select
import signal
import socket
import sys
import time

import dlscratch  # noqa: F401,E402 (the student's first import, also paid once)

from . import child  # imports numpy and the library: every forked child has them already

MESSAGE = 4096
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE = 24, 38, 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_libc = ctypes.CDLL(None, use_errno=True)
SCRATCH = ("/tmp", "/dev/shm")
SYSV_IPC = ("/proc/sysvipc/shm", "/proc/sysvipc/sem", "/proc/sysvipc/msg")


def _check(result):
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


def drop_privileges(uid):
    """Become `uid` with no capabilities, none to gain back (bounding set empty, no new privileges), and
    dumpable again (the uid change made it not), as setpriv does for a freshly started child."""
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    for capability in range(last + 1):  # while CAP_SETPCAP is still ours
        _check(_libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0))
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # the permitted, effective and ambient capabilities go with root
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    _check(_libc.capset(header, (ctypes.c_uint32 * 6)()))  # and the inheritable ones
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
    _check(_libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))


def _start_child(uid, rlimits, rfd, wfd, errfd, control):
    """In the forked process: keep only the child's own file descriptors, set its limits, drop privileges, serve
    the grader."""
    try:
        control.close()
        os.dup2(errfd, 2)
        keep = {0, 1, 2, rfd, wfd}
        for fd in map(int, os.listdir("/proc/self/fd")):
            if fd not in keep:
                try:
                    os.close(fd)
                except OSError:  # the listing's own descriptor, closed already
                    pass
        os.setsid()  # a session of its own: Linux's autogroup gives it a fair share of the CPU
        os.chdir("/tmp")
        for which, value in rlimits:  # the CPU time and process limits are new; the others, the server's own
            resource.setrlimit(int(which), (int(value), int(value)))
        drop_privileges(uid)
        child.main(rfd, wfd)
    except BaseException as e:
        print(f"the forked child could not start: {e!r}", file=sys.stderr, flush=True)
    os._exit(70)


def others():
    """The processes of this sandbox besides its init (pid 1, bubblewrap's) and this server."""
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid())]


def kill_others(seconds=2.0):
    """Kill every process in the sandbox but init and the server; True once none is left (dead ones are
    reaped by init)."""
    deadline = time.monotonic() + seconds
    while others():
        try:
            os.kill(-1, signal.SIGKILL)  # all this sandbox's processes it may signal, but itself and init
        except ProcessLookupError:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def listing(folders=SCRATCH):
    """{folder: the names in it}, for those of `folders` that exist."""
    return {folder: set(os.listdir(folder)) for folder in folders if os.path.isdir(folder)}


def leftovers(before):
    """What a child left that the next one could meet: files in the scratch folders that were not there at the
    start (`before`, a listing: bubblewrap makes the way to a Python that lives under /tmp, read-only and root's),
    System V IPC objects."""
    found = [os.path.join(folder, name) for folder, names in listing(before.keys()).items()
             for name in sorted(names - before[folder])]
    for table in SYSV_IPC:
        if os.path.exists(table):
            with open(table) as f:
                found += [f"{table}: {line.split()[1]}" for line in f.readlines()[1:]]
    return found


def reap(pid, pidfd):
    """Wait for the ended (or killed) child `pid` and close its pidfd; its exit code."""
    os.close(pidfd)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def main(control_fd):
    control = socket.socket(fileno=control_fd)
    empty = listing()  # the scratch folders as the sandbox began
    control.sendall(json.dumps({"ready": True}).encode())
    pid = pidfd = code = None
    while True:
        ready = select.select([control] + ([pidfd] if pidfd is not None else []), [], [])[0]
        if pidfd is not None and pidfd in ready:  # the child ended: the grader's pipes close once all is gone
            code, pid, pidfd = reap(pid, pidfd), None, None
            kill_others()
        if control not in ready:
            continue
        message, fds, _, _ = socket.recv_fds(control, MESSAGE, 3)
        if not message:  # the grader is gone
            os._exit(0)
        request = json.loads(message)
        if "fork" in request and pid is None and len(fds) == 3:
            code = None
            pid = os.fork()
            if pid == 0:
                _start_child(int(request["fork"]), request["rlimits"], *fds, control)
            pidfd = os.pidfd_open(pid)
            reply = {"pid": pid}
        elif "end" in request:
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
                code, pid, pidfd = reap(pid, pidfd), None, None
            gone = kill_others()
            left = leftovers(empty)
            reply = {"code": code, "clean": gone and not left, "left": left[:5] + ([] if gone else ["processes"])}
        else:
            reply = {"error": f"not a request now: {sorted(request)}"}
        for fd in fds:
            os.close(fd)
        control.sendall(json.dumps(reply).encode())
