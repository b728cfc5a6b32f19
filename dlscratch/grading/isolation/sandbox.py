"""Starting the sandboxed child that runs student code, and talking to it.

With bubblewrap (`bwrap`), the child sees a filesystem made only of the system's /usr and
/etc, Python and its packages (read-only), the stripped copy of dlscratch, and an empty
scratch /tmp of limited size: no course folder, no solutions/, no gradebook, no hidden tests,
no home folders. It has no network, its own process namespace, runs as `nobody` without
capabilities, and has limits on CPU time, memory, processes, open files and file size.

Without bubblewrap the child is a plain subprocess with the same resource limits and the
stripped library first on its path, but it can read (and, as the grader's user, write)
whatever the grader can. That fallback is announced loudly wherever grading output goes.
"""
import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from .protocol import ProtocolError, Timeout, read_message, write_message

NOBODY = 65534
SANDBOX_LIB = "/sandbox/lib"
FALLBACK_WARNING = (
    "NOT SANDBOXED: bubblewrap (bwrap) is missing or does not work here, so student code runs in a plain "
    "subprocess with resource limits only. It can read the course folder (solutions, gradebook, hidden tests) "
    "and use the network. Install bubblewrap (apt-get install bubblewrap) before grading for real. "
    "See docs/grading-isolation.md.")

BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); "
        "from dlscratch.grading.isolation import child; child.main(int(sys.argv[2]), int(sys.argv[3]))")


class ChildDied(Exception):
    """The child process ended (os._exit, a crash, a resource limit)."""


class Limits:
    """Resource limits of the child (per process; processes counted per user)."""

    def __init__(self, cpu_seconds=600, memory_bytes=1536 * 2 ** 20, processes=16, file_bytes=16 * 2 ** 20,
                 open_files=256, scratch_bytes=64 * 2 ** 20):
        self.cpu_seconds, self.memory_bytes, self.processes = cpu_seconds, memory_bytes, processes
        self.file_bytes, self.open_files, self.scratch_bytes = file_bytes, open_files, scratch_bytes

    def apply(self):
        """In the child, before exec (subprocess preexec_fn)."""
        for which, value in [(resource.RLIMIT_CPU, self.cpu_seconds), (resource.RLIMIT_AS, self.memory_bytes),
                             (resource.RLIMIT_NPROC, self.processes), (resource.RLIMIT_FSIZE, self.file_bytes),
                             (resource.RLIMIT_NOFILE, self.open_files), (resource.RLIMIT_CORE, 0)]:
            resource.setrlimit(which, (value, value))


def bwrap_available():
    return shutil.which("bwrap") is not None


def _ancestors(path):
    parts, here = [], os.path.dirname(path)
    while here not in ("/", ""):
        parts.append(here)
        here = os.path.dirname(here)
    return parts[::-1]


def bwrap_command(python, library, limits):
    """The bwrap arguments that put `python` in the sandbox, with `library` at SANDBOX_LIB."""
    args = ["bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
            # the scratch folder first: a Python or venv that lives under /tmp is bound on top of it below
            "--size", str(limits.scratch_bytes), "--perms", "1777", "--tmpfs", "/tmp"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    made = {"/usr", "/etc", "/tmp", "/dev", "/proc"}
    shown = sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)} |
                   {sys.prefix, os.path.dirname(os.path.dirname(os.path.realpath(python)))})
    for path in shown:
        if any(path == m or path.startswith(m + "/") for m in ("/usr", "/etc")):
            continue
        for parent in _ancestors(path):  # bwrap would make these 0700: nobody could pass through
            if parent not in made:
                args += ["--perms", "0755", "--dir", parent]
                made.add(parent)
        args += ["--ro-bind", path, path]
        made.add(path)
    args += ["--perms", "0755", "--dir", "/sandbox", "--ro-bind", library, SANDBOX_LIB,
             "--dev", "/dev", "--proc", "/proc", "--chdir", "/tmp"]
    if os.geteuid() == 0:  # drop to nobody, without capabilities, for good
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--",
                 "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--no-new-privs",
                 "--inh-caps=-all", "--bounding-set=-all"]
    else:
        args += ["--"]
    return args


class Child:
    """One sandboxed child process: start it, send it requests, kill it."""

    def __init__(self, mode, library, limits, startup_seconds=60):
        self.mode, self.library, self.limits = mode, library, limits
        self.process = None
        self.stderr = tempfile.TemporaryFile()
        self._start(startup_seconds)

    def _start(self, startup_seconds):
        python = sys.executable
        to_child, from_parent = os.pipe()[::-1]  # (write end, read end)
        from_child, to_parent = os.pipe()
        env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "MPLBACKEND": "Agg", "NBGRADER_EXECUTION": "autograde"}
        if self.mode == "bwrap":
            command = [*bwrap_command(python, self.library, self.limits), python, "-I", "-B", "-c", BOOT,
                       SANDBOX_LIB, str(from_parent), str(to_parent)]
            cwd = "/"
        else:
            self.scratch = tempfile.mkdtemp(prefix="dlscratch-scratch-")
            command = [python, "-I", "-B", "-c", BOOT, self.library, str(from_parent), str(to_parent)]
            cwd = self.scratch
        try:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=self.stderr, pass_fds=(from_parent, to_parent), cwd=cwd,
                                            env=env, preexec_fn=self.limits.apply, start_new_session=True)
        finally:
            os.close(from_parent)
            os.close(to_parent)
        self.to_child, self.from_child = to_child, from_child
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
        try:
            self.stderr.seek(0, os.SEEK_END)
            self.stderr.seek(max(0, self.stderr.tell() - size))
            return self.stderr.read().decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""

    @property
    def alive(self):
        return self.process is not None and self.process.poll() is None

    def request(self, header, arrays=(), deadline=None):
        """Send one request and wait for its answer until `deadline` (time.monotonic()).
        Kills the child and raises Timeout, ChildDied or ProtocolError if that fails."""
        self.send(header, arrays, deadline)
        return self.receive(deadline)

    def send(self, header, arrays=(), deadline=None):
        with self._failing():
            write_message(self.to_child, header, arrays, deadline)

    def receive(self, deadline=None):
        with self._failing():
            return read_message(self.from_child, deadline)

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
        """Stop the child and everything it started; returns its exit code."""
        if self.process is None:
            return None
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


def _describe_exit(code):
    if code is None:
        return "it ended"
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        return f"it was killed by {name}"
    return f"it exited with code {code}"
