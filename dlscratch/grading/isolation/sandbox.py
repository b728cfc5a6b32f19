"""Starting the sandboxed child that runs student code, and talking to it.

With bubblewrap (`bwrap`), the child sees a filesystem made only of the system's /usr, a
minimal /etc (ETC_FROM_HOST and the generated etc_files), Python and its packages
(read-only), the stripped copy of dlscratch, and an empty scratch /tmp of limited size: no
course folder, no solutions/, no gradebook, no hidden tests, no home folders, no user list.
It has no network, its own process namespace, runs without capabilities as a user id of its
own (sandbox_uid), and has limits on CPU time, memory, processes, open files and file size;
where cgroups can be used (cgroups.py), also on the memory and processes of everything it
starts, together.

Without bubblewrap the child is a plain subprocess with the same resource limits and the
stripped library first on its path, but it can read (and, as the grader's user, write)
whatever the grader can. That fallback is announced loudly wherever grading output goes.
"""
import atexit
import contextlib
import itertools
import json
import os
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from . import cgroups
from .protocol import ProtocolError, Timeout, read_message, write_message

# Each child runs as a user id no account has: this base, plus a slot per grader process and child.
SANDBOX_UIDS = 1_900_000_000
CHILD_SLOTS = 8  # a grader reuses a free uid only 8 children later, long after the child that had it was killed
PID_LIMIT = 2 ** 22  # Linux's largest pid_max: grader pids below it never share a slot
SANDBOX_LIB = "/sandbox/lib"
WALL_FACTOR = 3  # a call that waits without running (sleeps, blocks) is stopped at 3 times its time
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")  # the unit of CPU times in /proc/<pid>/stat
FALLBACK_WARNING = (
    "NOT SANDBOXED: bubblewrap (bwrap) is missing or does not work here, so student code runs in a plain "
    "subprocess with resource limits only. It can read the course folder (solutions, gradebook, hidden tests) "
    "and use the network. Install bubblewrap (apt-get install bubblewrap) before grading for real. "
    "See docs/grading-isolation.md.")

# What Python, numpy, matplotlib and setpriv read from /etc (traced with strace), and nothing else:
# the host's users, groups, shadow, ssh keys, ssl keys and configs stay out of view.
ETC_FROM_HOST = ("/etc/ld.so.cache",  # the dynamic loader's index of shared libraries
                 "/etc/localtime",  # time.localtime() as on the host
                 "/etc/fonts")  # fontconfig's configuration (matplotlib asks fc-list for the system fonts)
ENVIRONMENT = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "MPLBACKEND": "Agg", "NBGRADER_EXECUTION": "autograde"}
_child_numbers = itertools.count()
_uids_held = set()  # the uids of this process's children not killed yet


def sandbox_uid():
    """The user id the next child runs as: one of its own. Linux counts processes per user across the machine
    (RLIMIT_NPROC), so with one shared id (`nobody`) a fork bomb in one grader's child, or the host's own
    `nobody` daemons, used up the process limit of every other child, and a sandbox could fail to start."""
    base = SANDBOX_UIDS + (os.getpid() % PID_LIMIT) * CHILD_SLOTS
    for _ in range(CHILD_SLOTS):
        uid = base + next(_child_numbers) % CHILD_SLOTS
        if uid not in _uids_held:
            return uid
    return uid  # more than CHILD_SLOTS children alive at once: two of them share a uid


def etc_files(uids):
    """The generated /etc files: pwd.getpwuid(), getpass.getuser() and setpriv work (each of `uids` is
    `student`: a fork server's children take turns), without listing the host's users."""
    return {"/etc/passwd": "root:x:0:0:root:/root:/usr/sbin/nologin\n" +
                           "".join(f"student:x:{uid}:{uid}:student:/tmp:/usr/sbin/nologin\n" for uid in uids),
            "/etc/group": "root:x:0:\n" + "".join(f"student:x:{uid}:\n" for uid in uids),
            "/etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n"}  # no NSS modules, no DNS


def slot_uids():
    """Every uid sandbox_uid() can give in this process."""
    base = SANDBOX_UIDS + (os.getpid() % PID_LIMIT) * CHILD_SLOTS
    return list(range(base, base + CHILD_SLOTS))


BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); "
        "from dlscratch.grading.isolation import child; child.main(int(sys.argv[2]), int(sys.argv[3]))")
SERVER_BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); "
               "from dlscratch.grading.isolation import forkserver; forkserver.main(int(sys.argv[2]))")
# The fork server is the sandbox's root with these capabilities only (forkserver.py): to give each child its
# uid, empty the child's bounding set, and kill what a child leaves behind.
SERVER_CAPABILITIES = ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_KILL")


def grader_folder(kind):
    """A new temporary folder for `kind` ("sandbox-lib", "scratch") named after this process, after removing
    those of graders that died without removing theirs (killed: their atexit never ran)."""
    prefix, root = f"dlscratch-{kind}-", tempfile.gettempdir()
    for name in os.listdir(root):
        pid = name[len(prefix):].split("-")[0] if name.startswith(prefix) else ""
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-")


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ChildDied(Exception):
    """The child process ended (os._exit, a crash, a resource limit)."""


class Limits:
    """Resource limits of the child: rlimits per process (processes counted per user: the child's own), and
    `total_memory_bytes` for all its processes together (its cgroup, where there can be one; 0: none)."""

    def __init__(self, cpu_seconds=600, memory_bytes=1536 * 2 ** 20, processes=16, file_bytes=16 * 2 ** 20,
                 open_files=256, scratch_bytes=64 * 2 ** 20, total_memory_bytes=2 * 2 ** 30):
        self.cpu_seconds, self.memory_bytes, self.processes = cpu_seconds, memory_bytes, processes
        self.file_bytes, self.open_files, self.scratch_bytes = file_bytes, open_files, scratch_bytes
        self.total_memory_bytes = total_memory_bytes

    def apply(self, tasks_already=0, server=False):
        """In the child, before exec (subprocess preexec_fn). `tasks_already`: what its user runs already, which
        counts against the process limit too (a grader that is not root shares its user with the child).
        `server`: for a fork server, which sets the CPU time and process limits in each child it forks (it runs
        as root: a process limit would count every root process of the machine)."""
        for which, value in self.rlimits(tasks_already):
            if not (server and which in (resource.RLIMIT_CPU, resource.RLIMIT_NPROC)):
                resource.setrlimit(which, (value, value))

    def rlimits(self, tasks_already=0):
        """[(resource, value)]: what `apply` sets (a fork server sets them in each child it forks)."""
        return [(resource.RLIMIT_CPU, self.cpu_seconds), (resource.RLIMIT_AS, self.memory_bytes),
                (resource.RLIMIT_NPROC, self.processes + tasks_already), (resource.RLIMIT_FSIZE, self.file_bytes),
                (resource.RLIMIT_NOFILE, self.open_files), (resource.RLIMIT_CORE, 0)]

    def key(self):
        return tuple(sorted(vars(self).items()))


def tasks_of_user(uid):
    """How many tasks (processes and their threads) run as `uid` now: what Linux counts against RLIMIT_NPROC."""
    count = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid != uid:  # cheap: most of a shared machine's processes are others'
                continue
            with open(f"/proc/{pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if line.startswith(("Uid:", "Threads:")))
            if int(fields["Uid"].split()[0]) == uid:
                count += int(fields["Threads"])
        except (OSError, KeyError, ValueError):  # gone meanwhile
            pass
    return count


def bwrap_available():
    return shutil.which("bwrap") is not None


def _ancestors(path):
    parts, here = [], os.path.dirname(path)
    while here not in ("/", ""):
        parts.append(here)
        here = os.path.dirname(here)
    return parts[::-1]


def bwrap_command(python, library, limits, uid, etc_fds=None):
    """The bwrap arguments that put `python` in the sandbox, with `library` at SANDBOX_LIB, run as `uid` when
    the grader is root (else as the grader's user; uid None: as a fork server). `etc_fds` maps each of
    etc_files' paths to a readable fd holding its text."""
    args = ["bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--ro-bind", "/usr", "/usr", "--perms", "0755", "--dir", "/etc"]
    for path in ETC_FROM_HOST:
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    for path, fd in (etc_fds or {}).items():
        args += ["--perms", "0444", "--ro-bind-data", str(fd), path]
    # the scratch folder before Python: a Python or venv that lives under /tmp is bound on top of it below
    args += ["--size", str(limits.scratch_bytes), "--perms", "1777", "--tmpfs", "/tmp"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    made = {"/usr", "/etc", "/tmp", "/dev", "/proc"}
    shown = sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)} |
                   {sys.prefix, os.path.dirname(os.path.dirname(os.path.realpath(python)))})
    for path in shown:
        if path == "/usr" or path.startswith("/usr/"):
            continue
        for parent in _ancestors(path):  # bwrap would make these 0700: the child could not pass through
            if parent not in made:
                args += ["--perms", "0755", "--dir", parent]
                made.add(parent)
        args += ["--ro-bind", path, path]
        made.add(path)
    args += ["--perms", "0755", "--dir", "/sandbox", "--ro-bind", library, SANDBOX_LIB,
             "--dev", "/dev", "--proc", "/proc", "--chdir", "/tmp"]
    if os.geteuid() == 0 and uid is None:  # a fork server: it drops each child to its own uid (forkserver.py)
        args += ["--cap-drop", "ALL"]
        for capability in SERVER_CAPABILITIES:
            args += ["--cap-add", capability]
        args += ["--"]
    elif os.geteuid() == 0:  # drop to the child's own uid, without capabilities, for good
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--",
                 "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
                 "--inh-caps=-all", "--bounding-set=-all"]
    else:
        args += ["--"]
    return args


def etc_pipes(uids):
    """etc_files(uids) as {path: read end of a pipe holding its text}, for bwrap's --ro-bind-data."""
    fds = {}
    for path, text in etc_files(uids).items():
        read, write = os.pipe()
        os.write(write, text.encode())  # far below a pipe's buffer: never blocks
        os.close(write)
        fds[path] = read
    return fds


class Child:
    """One sandboxed child process: start it, send it requests, kill it. With a `server` (a ForkServer, in
    bwrap mode as root), it is forked there instead of started in a sandbox of its own."""

    def __init__(self, mode, library, limits, startup_seconds=60, server=None):
        self.mode, self.library, self.limits, self.server = mode, library, limits, server
        self.process, self.uid = None, os.geteuid()  # the uid: the grader's, until a bwrap child gets its own
        self.clock = None  # (when the call began, the child's CPU seconds then): start_clock
        self.stderr = tempfile.TemporaryFile()
        self.group = (cgroups.create(limits.total_memory_bytes, limits.processes)
                      if limits.total_memory_bytes and server is None else None)  # a server's children share its own
        self._start(startup_seconds)

    def _enter_limits(self):
        """In the child, before exec (subprocess preexec_fn): its cgroup first, then its rlimits."""
        if self.group is not None:
            self.group.enter()
        self.limits.apply(self.tasks_already)

    def _start(self, startup_seconds):
        python = sys.executable
        to_child, from_parent = os.pipe()[::-1]  # (write end, read end)
        from_child, to_parent = os.pipe()
        etc_fds = {}
        # Root's children get users of their own; another grader's share its user, and all it runs already
        # (a Jupyter server and kernels have many threads) would leave the child no room, not even to start.
        self.tasks_already = 0 if os.geteuid() == 0 else tasks_of_user(os.getuid())
        if self.mode == "bwrap" and os.geteuid() == 0:
            self.uid = sandbox_uid()
            _uids_held.add(self.uid)
        if self.server is not None:
            command = cwd = None  # forked, not started (ForkServer)
        elif self.mode == "bwrap":
            etc_fds = etc_pipes([self.uid])
            command = [*bwrap_command(python, self.library, self.limits, self.uid, etc_fds),
                       python, "-I", "-B", "-c", BOOT, SANDBOX_LIB, str(from_parent), str(to_parent)]
            cwd = "/"
        else:
            self.scratch = grader_folder("scratch")
            command = [python, "-I", "-B", "-c", BOOT, self.library, str(from_parent), str(to_parent)]
            cwd = self.scratch
        try:
            if self.server is not None:
                self.process = self.server.fork(self.uid, (from_parent, to_parent, self.stderr.fileno()))
            else:
                self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                stderr=self.stderr,
                                                pass_fds=(from_parent, to_parent, *etc_fds.values()),
                                                cwd=cwd, env=ENVIRONMENT, preexec_fn=self._enter_limits,
                                                start_new_session=True)
        except BaseException:
            for fd in (to_child, from_child):
                os.close(fd)
            self.kill()  # removes the cgroup
            raise
        finally:
            for fd in (from_parent, to_parent, *etc_fds.values()):
                os.close(fd)
        self.to_child, self.from_child = to_child, from_child
        os.set_blocking(to_child, False)  # writes wait (with a deadline) only when the pipe is full
        try:
            hello, _ = read_message(self.from_child, time.monotonic() + startup_seconds)
        except (Timeout, EOFError, ProtocolError) as e:
            self.process.wait(timeout=5) if not isinstance(e, Timeout) else None
            why = self.stderr_tail()
            self.kill()
            raise ChildDied(f"the sandbox did not start ({type(e).__name__}): {why}") from None
        if not hello.get("ready"):
            self.kill()
            raise ChildDied("the sandbox did not start")

    def stderr_tail(self, size=2000):
        return _tail(self.stderr, size)

    @property
    def alive(self):
        return self.process is not None and self.process.poll() is None

    def request(self, header, arrays=(), deadline=None):
        """Send one request and wait for its answer until `deadline` (time.monotonic(), counted as in
        `receive`). Kills the child and raises Timeout, ChildDied or ProtocolError if that fails."""
        self.start_clock()
        self.send(header, arrays, deadline)
        return self.receive(deadline)

    def start_clock(self):
        """A call of the student's code begins: until the next one, `receive` counts its deadline in the time
        the child runs."""
        self.clock = (time.monotonic(), self.cpu_seconds())

    def send(self, header, arrays=(), deadline=None):
        with self._failing():
            write_message(self.to_child, header, arrays, deadline)

    def receive(self, deadline=None):
        with self._failing():
            if deadline is not None and self.clock is not None:
                deadline = self._wait_while_running(deadline)
            return read_message(self.from_child, deadline)

    def _wait_while_running(self, deadline):
        """Wait for the child's answer. A grade must not depend on how busy the grading machine is, so the
        time the call had (from start_clock to `deadline`) is counted in the CPU time of the child and all it
        started: waiting for a CPU, or for the grader's answer to a call back, does not count. A child that
        waits some other way (sleeps, blocks) is stopped at WALL_FACTOR times that time. Returns the deadline
        for reading the answer; raises Timeout."""
        start, ran_before = self.clock
        allowed, cap = deadline - start, start + WALL_FACTOR * (deadline - start)
        while not select.select([self.from_child], [], [], max(0.0, deadline - time.monotonic()))[0]:
            now, used = time.monotonic(), self.cpu_seconds() - ran_before
            if used >= allowed or now >= cap:
                raise Timeout()
            deadline = min(cap, now + allowed - used)
        return cap

    def cpu_seconds(self):
        """The CPU time of the child's processes, those that ended included (their parents collected it)."""
        total, todo, seen = 0, [self.process.pid] if self.process is not None else [], set()
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
                total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
                for task in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{task}/children", "rb") as f:
                        todo.extend(int(p) for p in f.read().split())
            except (OSError, ValueError, IndexError):  # it just ended
                continue
        return total / CLOCK_TICKS

    @contextlib.contextmanager
    def _failing(self):
        """Any failure to talk to the child kills it, and says how it ended."""
        try:
            yield
        except Timeout:
            self.kill()
            raise
        except (EOFError, BrokenPipeError):
            try:
                self.process.wait(timeout=2)  # let it finish dying, to report how
            except subprocess.TimeoutExpired:
                pass
            code = self.kill()
            raise ChildDied(_describe_exit(code)) from None
        except ProtocolError:
            self.kill()
            raise

    def kill(self):
        """Stop the child and everything it started, and remove its cgroup; returns its exit code."""
        try:
            return self._stop()
        finally:
            _uids_held.discard(self.uid)
            if self.group is not None:
                self.group.remove()  # after the child: a cgroup can only be removed once it is empty
                self.group = None

    def _stop(self):
        if self.process is None:
            return None
        if isinstance(self.process, Forked):
            code = self.process.end()
        else:
            if self.process.poll() is None:
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)  # bwrap: its sandbox dies with it
                except ProcessLookupError:
                    pass
            code = self.process.wait()
        for fd in (self.to_child, self.from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        self.to_child = self.from_child = -1
        if getattr(self, "scratch", None):
            shutil.rmtree(self.scratch, ignore_errors=True)
        self.stderr.close()
        self.process = None
        return code


def _tail(file, size):
    """The last `size` bytes of a process's stderr file, as text ("" once it is closed)."""
    try:
        file.seek(0, os.SEEK_END)
        file.seek(max(0, file.tell() - size))
        return file.read().decode(errors="replace").strip()
    except (OSError, ValueError):
        return ""


def _describe_exit(code):
    if code is None:
        return "it ended"
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        return f"it was killed by {name}"
    return f"it exited with code {code}"


class Forked:
    """A child of a ForkServer, with what Child uses of subprocess.Popen: pid (the host's), poll and wait."""

    def __init__(self, server, pid):
        self.server, self.pid, self.pidfd = server, pid, os.pidfd_open(pid)

    def poll(self):
        """None while it runs, else true (its exit code is known only once `end` asks the server)."""
        return None if not select.select([self.pidfd], [], [], 0)[0] else "ended"

    def wait(self, timeout=None):
        if not select.select([self.pidfd], [], [], timeout)[0]:
            raise subprocess.TimeoutExpired("the forked child", timeout)

    def end(self):
        """Kill it and all it left; its exit code (None if the server failed us, and was stopped)."""
        os.close(self.pidfd)
        return self.server.end()


class ForkServer:
    """A sandbox that has imported numpy and the library once, and forks each notebook's child (forkserver.py):
    a child starts in about a twentieth of the CPU time a sandbox of its own takes. Root only (see there). It
    forks only while nothing of the last child is left; otherwise `end` stops it, and a new
    one (shared_fork_server). Its children share its cgroup: it holds one child at a time."""

    def __init__(self, library, limits, startup_seconds=60):
        self.library, self.limits, self.key = library, limits, (library, limits.key())
        self.process, self.usable, self.busy, self.forks = None, False, False, 0
        self.stderr = tempfile.TemporaryFile()
        self.group = (cgroups.create(limits.total_memory_bytes, limits.processes + 1)  # + 1: the server
                      if limits.total_memory_bytes else None)
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        etc_fds = etc_pipes(slot_uids())
        command = [*bwrap_command(sys.executable, library, limits, None, etc_fds),
                   sys.executable, "-I", "-B", "-c", SERVER_BOOT, SANDBOX_LIB, str(theirs.fileno())]
        try:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=self.stderr, pass_fds=(theirs.fileno(), *etc_fds.values()),
                                            cwd="/", env=ENVIRONMENT, preexec_fn=self._enter_limits,
                                            start_new_session=True)
            theirs.close()
            self._ask(None, startup_seconds)
            self.pid = _only_child(_only_child(self.process.pid))  # bwrap, the namespace's init, the server
            try:
                with open(f"/proc/{self.pid}/oom_score_adj", "w") as f:
                    f.write("-1000")  # out of memory, the kernel kills a child, not the server
            except OSError:  # not allowed here (some VMs): killed, the server just costs a restart
                pass
        except (OSError, Timeout, EOFError, ValueError) as e:
            why = self.stderr_tail()
            self.stop()
            raise ChildDied(f"the sandbox did not start ({type(e).__name__}: {e}): {why}") from None
        except BaseException:
            self.stop()
            raise
        finally:
            theirs.close()
            for fd in etc_fds.values():
                os.close(fd)
        self.usable = True

    def _enter_limits(self):
        if self.group is not None:
            self.group.enter()
        self.limits.apply(server=True)

    def _ask(self, request, seconds, fds=()):
        try:
            if request is not None:
                socket.send_fds(self.control, [json.dumps(request).encode()], list(fds))
            if not select.select([self.control], [], [], seconds)[0]:
                raise Timeout()
            message = self.control.recv(4096)
            if not message:
                raise EOFError("the fork server ended")
            return json.loads(message)
        except BaseException:  # e.g. a test cell's alarm: an answer left unread must never answer the next question
            self.usable = False
            raise

    def fork(self, uid, fds, seconds=10):
        """A new child as `uid`, with `fds` (its read pipe, its write pipe, its stderr) as its own."""
        try:
            if not self.usable:
                raise ChildDied("this fork server is stopped")
            reply = self._ask({"fork": uid, "rlimits": self.limits.rlimits()}, seconds, fds)
            if "pid" not in reply:
                raise ChildDied(f"the fork server refused: {reply.get('error')}")
            pid = _only_child(self.pid)
            with open(f"/proc/{pid}/status") as f:
                inside = next(line for line in f if line.startswith("NSpid:")).split()[-1]
            if int(inside) != reply["pid"]:
                raise ChildDied("the fork server's child is not the one it said")
            self.forks, self.busy = self.forks + 1, True
            return Forked(self, pid)
        except BaseException as e:  # whatever went wrong, this server's state is unknown: it forks no more
            self.stop()
            if isinstance(e, (OSError, Timeout, EOFError, ValueError, StopIteration)):
                raise ChildDied(f"the sandbox did not start ({type(e).__name__}: {e})") from None
            raise

    def end(self, seconds=10):
        """Kill the child and all it left; its exit code. Stops this server if the child left anything behind
        (or the server does not answer), so no other student's code ever meets it."""
        self.busy = False
        try:
            reply = self._ask({"end": True}, seconds)
            if not reply.get("clean"):
                self.stop()
            return reply.get("code")
        except (OSError, Timeout, EOFError, ValueError):
            self.stop()
            return None

    def stderr_tail(self, size=2000):
        return _tail(self.stderr, size)

    def stop(self):
        """Kill the whole sandbox, and remove its cgroup."""
        self.usable = False
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
            self.process = None
        self.control.close()
        self.stderr.close()
        if self.group is not None:
            self.group.remove()
            self.group = None


def _only_child(pid):
    """The one child process of `pid` (a single-threaded process)."""
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        children = f.read().split()
    if len(children) != 1:
        raise OSError(f"process {pid} has {len(children)} children, not one")
    return int(children[0])


_servers = []  # this grader process's ForkServers


def shared_fork_server(library, limits):
    """An idle ForkServer of this process for `library` and `limits`, or a new one. (A grader holds one child at
    a time; a second server appears only where two children are held at once, as in some tests.)"""
    key = (library, limits.key())
    for server in list(_servers):
        if not server.usable or (server.key != key and not server.busy):
            server.stop()
            _servers.remove(server)
    for server in _servers:
        if server.key == key and not server.busy:
            return server
    _servers.append(ForkServer(library, limits))
    return _servers[-1]


@atexit.register
def stop_fork_servers():
    while _servers:
        _servers.pop().stop()
