"""One cgroup per sandboxed child: a cap on the memory and the processes of everything it starts, together.

Resource limits (rlimits) count per process (address space) or per user across the machine
(processes): a student's code that forks up to the process limit could hold that many times the
memory limit. A cgroup counts the child and all it starts as one.

Each child gets its own group, `dlscratch/<grader's pid>-<n>`, below the grader's own cgroup in
the hierarchy that has the controller (cgroup v1 mounts memory and pids apart; v2 has one tree),
so whatever caps the grader has hold for its children too. The child enters its group before
`exec` (subprocess's preexec_fn): bwrap's first fork is counted already. Where no group can be
made (not root, no memory controller, a v2 cgroup that holds processes and so cannot hand control
to a group below it), `unavailable()` says why and the child has its rlimits only.
"""
import errno
import itertools
import os
import signal
import subprocess
import time

CONTROLLERS = ("memory", "pids")
PARENT = "dlscratch"
SANDBOX_PROCESSES = 2  # bwrap's own: the one we start, and the init of its process namespace
_numbers = itertools.count(1)
_setup = None  # (the grader's own cgroup per controller, and the version of each), or the reason why not


class Group:
    """A fresh cgroup (one folder per hierarchy) with a cap on memory and processes."""

    def __init__(self, memory_bytes, processes):
        places, versions = _places()
        name, made = f"{os.getpid()}-{next(_numbers)}", {}
        self.folders = []
        try:
            for own in sorted(set(places.values())):
                made[own] = _make(own, versions[own], name)
                self.folders.append(made[own])
            for controller, own in places.items():
                _limit(made[own], controller, versions[own], memory_bytes, processes + SANDBOX_PROCESSES)
        except BaseException:
            self.remove()
            raise

    def enter(self):
        """In the child, before exec: this process (and all it starts from now on) joins the group."""
        for folder in self.folders:
            with open(os.path.join(folder, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

    def remove(self, seconds=5):
        """Kill what is left in the group (by PID: only the child's processes can be there) and remove it."""
        deadline = time.monotonic() + seconds
        for folder in self.folders:
            while True:
                try:
                    os.rmdir(folder)
                    break
                except FileNotFoundError:
                    break
                except OSError as e:  # EBUSY: processes dying; a pid namespace's are reaped asynchronously
                    if e.errno != errno.EBUSY or time.monotonic() > deadline:
                        break
                    _kill_members(folder)
                    time.sleep(0.001)
            try:
                os.rmdir(os.path.dirname(folder))  # the parent too, unless another child still uses it
            except OSError:
                pass
        self.folders = []


def unavailable():
    """None where each child can have its group; otherwise why not (said once, in the grading log)."""
    if _setup is None:
        _probe()
    return _setup if isinstance(_setup, str) else None


def create(memory_bytes, processes):
    """A Group, or None where groups cannot be made (see unavailable())."""
    if unavailable():
        return None
    try:
        return Group(memory_bytes, processes)
    except OSError:
        return None


def _probe():
    """Find the grader's own cgroups, then put a process in a fresh group: does it all work here?"""
    global _setup
    try:
        _setup = _find()
        _sweep()
        group = Group(2 ** 30, 4)
        try:
            subprocess.run(["true"], preexec_fn=group.enter, check=True, timeout=30)
        finally:
            group.remove()
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as e:
        _setup = f"cgroups cannot be used here ({e})"


def _sweep():
    """Remove the groups of graders that died before they could (empty ones only: rmdir refuses the rest)."""
    for own in set(_setup[0].values()):
        parent = os.path.join(own, PARENT)
        for name in os.listdir(parent) if os.path.isdir(parent) else ():
            if not os.path.exists(f"/proc/{name.split('-')[0]}"):
                try:
                    os.rmdir(os.path.join(parent, name))
                except OSError:
                    pass


def _places():
    if _setup is None:
        _probe()
    if isinstance(_setup, str):
        raise OSError(_setup)
    return _setup


def _find():
    """{controller: the grader's own cgroup folder}, {folder: 1 or 2}, from /proc/self/{cgroup,mountinfo}."""
    mounts = {}  # (version, controller or "") -> (root of the mount in the hierarchy, mount point)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            kind, options = fields[fields.index("-") + 1], fields[fields.index("-") + 3].split(",")
            if kind == "cgroup2":
                mounts[(2, "")] = (fields[3], fields[4])
            elif kind == "cgroup":
                for controller in set(options) & set(CONTROLLERS):
                    mounts[(1, controller)] = (fields[3], fields[4])
    places, versions = {}, {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            number, controllers, path = line.rstrip("\n").split(":", 2)
            for controller in (controllers.split(",") if number != "0" else CONTROLLERS):
                key = (1, controller) if number != "0" else (2, "")
                if controller not in CONTROLLERS or controller in places or key not in mounts:
                    continue
                root, point = mounts[key]
                inside = os.path.relpath(path, root)
                if inside.startswith(".."):  # our cgroup is outside what is mounted here
                    continue
                folder = os.path.normpath(os.path.join(point, inside))
                if number == "0":
                    with open(os.path.join(folder, "cgroup.controllers")) as c:
                        if controller not in c.read().split():
                            continue
                places[controller], versions[folder] = folder, key[0]
    missing = [c for c in CONTROLLERS if c not in places]
    if missing:
        raise ValueError(f"no {' or '.join(missing)} controller for this process")
    return places, versions


def _make(own, version, name):
    """Make own/dlscratch/name; with cgroup v2, first hand memory and pids control down to it."""
    parent = os.path.join(own, PARENT)
    for _ in range(3):  # another grader may remove the empty parent between our two mkdirs
        if version == 2:
            _write(os.path.join(own, "cgroup.subtree_control"), "+memory +pids")  # EBUSY if own holds processes
        os.makedirs(parent, exist_ok=True)
        if version == 2:
            _write(os.path.join(parent, "cgroup.subtree_control"), "+memory +pids")
        try:
            os.mkdir(os.path.join(parent, name))
            return os.path.join(parent, name)
        except FileNotFoundError:
            continue
    raise OSError(f"could not make {parent}/{name}")


def _limit(folder, controller, version, memory_bytes, processes):
    if controller == "pids":
        _write(os.path.join(folder, "pids.max"), str(processes))
    elif version == 2:
        _write(os.path.join(folder, "memory.max"), str(memory_bytes))
        if os.path.exists(os.path.join(folder, "memory.swap.max")):
            _write(os.path.join(folder, "memory.swap.max"), "0")
    else:
        _write(os.path.join(folder, "memory.limit_in_bytes"), str(memory_bytes))
        if os.path.exists(os.path.join(folder, "memory.memsw.limit_in_bytes")):  # memory + swap: no swap beyond
            _write(os.path.join(folder, "memory.memsw.limit_in_bytes"), str(memory_bytes))


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _kill_members(folder):
    try:
        with open(os.path.join(folder, "cgroup.procs")) as f:
            pids = [int(p) for p in f.read().split()]
    except OSError:
        return
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
