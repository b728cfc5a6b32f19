"""A local multi-user dlscratch course: JupyterHub, real Linux users and the nbgrader exchange.

    sudo bash deploy/local/hub.sh            # the one command (see docs/jupyterhub.md)

`CourseHub` creates an instructor and students as Linux users with private (700) homes, an
nbgrader exchange folder every user can reach, each user's nbgrader and Jupyter settings for
their role, and the instructor's course folder (the repository's nbgrader_config.py and
solutions/); then it runs JupyterHub (deploy/local/jupyterhub_config.py) with the hub's own
state in a private folder. `close()` stops the hub (by PID; the hub stops the servers it
started), kills what is left of the users' processes, and removes the users and every folder
it made. The tests use it too (tests/hub), so this file uses the standard library only.

Roles: students get nbgrader's assignment list and Validate; the instructor gets the
formgrader, Create Assignment, the course list and Validate.
"""
import argparse
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HUB_CONFIG = Path(__file__).resolve().parent / "jupyterhub_config.py"
VENV = Path(os.environ.get("DLSCRATCH_HUB_PREFIX", "/opt/dlscratch-hub")) / "venv"
PROXY = REPO / ".hub" / "node_modules" / ".bin" / "configurable-http-proxy"
COURSE_ID = "dlscratch"
COURSE_FOLDER = "dlscratch"  # the instructor's course directory, in their home

# What each role sees. The lab extensions are hidden per user in ~/.jupyter/labconfig; the
# server extensions behind them are switched off in ~/.jupyter/jupyter_server_config.json.
LAB_EXTENSIONS_OFF = {
    "student": ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                "@jupyter/nbgrader:course-list"],
    "instructor": ["@jupyter/nbgrader:assignment-list"],
}
SERVER_EXTENSIONS_OFF = {
    "student": ["nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list"],
    "instructor": ["nbgrader.server_extensions.assignment_list"],
}



def write_role_config(folder, role, exchange, course_root, plugin_dir=None, uid_map=None):
    """Write a user's nbgrader and Jupyter settings for their role into a Jupyter config folder.

    Used here (each user's ~/.jupyter) and in the Kubernetes image (deploy/kubernetes/dlscratch-start).
    plugin_dir: where owner_checked_collect.py is, if it is not importable anyway;
    uid_map: a JSON file {user: uid} for uids without an /etc/passwd entry (Kubernetes)."""
    nbgrader = ["c = get_config()  # noqa: F821",
                f"c.Exchange.root = {str(exchange)!r}",
                f"c.CourseDirectory.course_id = {COURSE_ID!r}"]
    if role == "instructor":
        nbgrader += [f"c.CourseDirectory.root = {str(course_root)!r}",
                     "# Collect a submission only from the student it names (see owner_checked_collect.py)."]
        if plugin_dir:
            nbgrader += ["import sys  # noqa: E402", f"sys.path.insert(0, {str(plugin_dir)!r})"]
        nbgrader += ['c.ExchangeFactory.collect = "owner_checked_collect.OwnerCheckedCollect"']
        if uid_map:
            nbgrader += [f"c.OwnerCheckedCollect.uid_map = {str(uid_map)!r}"]
    files = {
        "nbgrader_config.py": "\n".join(nbgrader) + "\n",
        "labconfig/page_config.json": json.dumps(
            {"disabledExtensions": {name: True for name in LAB_EXTENSIONS_OFF[role]
                                    + ["@jupyterlab/apputils-extension:announcements"]}}, indent=1),
        "jupyter_server_config.json": json.dumps(
            {"ServerApp": {"jpserver_extensions": {name: False for name in SERVER_EXTENSIONS_OFF[role]}}}, indent=1),
    }
    for name, text in files.items():
        path = Path(folder) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*cmd, **kwargs):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kwargs)


class CourseHub:
    """One course on one machine. Use as a context manager, or call start() and close()."""

    def __init__(self, students, prefix="dls", base=None, password=None, port=None, cell_timeout=None):
        if not (prefix.isascii() and prefix.replace("-", "").isalnum() and prefix[0].isalpha() and len(prefix) <= 20):
            raise ValueError(f"user-name prefix {prefix!r}: letters, digits and '-' only, at most 20 characters")
        self.prefix = prefix.lower()
        self.instructor = f"{self.prefix}-instructor"
        self.students = [f"{self.prefix}-{name}" for name in students]
        self.base = Path(base or f"/srv/dlscratch-hub/{self.prefix}")
        self.state = self.base / "state"  # 700: the hub's database, cookie secret and log
        self.exchange = self.base / "exchange"  # 1777: nbgrader's exchange
        self.password = password or secrets.token_urlsafe(12)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_hex(32)  # the course-admin service's API token
        self.cell_timeout = cell_timeout
        self.venv = VENV
        self.process = None
        self.created_users = []

    # --- set-up --------------------------------------------------------------------------

    @property
    def users(self):
        return {self.instructor: "instructor", **{s: "student" for s in self.students}}

    def home(self, user):
        return Path(pwd.getpwnam(user).pw_dir)

    @property
    def course_dir(self):
        return self.home(self.instructor) / COURSE_FOLDER

    def create(self):
        if os.geteuid() != 0:
            raise PermissionError("the local course hub creates Linux users: run it as root")
        for tool in (VENV / "bin" / "jupyterhub", PROXY):
            if not os.access(tool, os.X_OK):
                raise FileNotFoundError(f"{tool} is missing: run `bash scripts/setup_hub.sh` first (as root)")
        existing = [u for u in self.users if _user_exists(u)]
        if existing:
            raise FileExistsError(f"users {existing} already exist: pick another prefix, or remove them "
                                  f"(python3 deploy/local/course_hub.py remove --prefix {self.prefix})")
        self.base.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o755)
        self.state.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.state, 0o700)
        self.exchange.mkdir(exist_ok=True)
        os.chmod(self.exchange, 0o1777)  # everyone may create the course folder; no one may remove another's
        for user, role in self.users.items():
            run("useradd", "--create-home", "--shell", "/bin/bash", "--comment", f"dlscratch {role}", user)
            self.created_users.append(user)
            home = self.home(user)
            os.chmod(home, 0o700)  # Debian's default is 755: students would read each other's work
            self._write_user_config(user, role, home)
        # The course's folder in the exchange belongs to the instructor from the start: in a
        # 1777 exchange a student could otherwise create it first and own it.
        (self.exchange / COURSE_ID).mkdir()
        os.chmod(self.exchange / COURSE_ID, 0o755)
        _chown_tree(self.exchange / COURSE_ID, self.instructor)
        self._write_course()
        self._write_hub_settings()

    def _write_user_config(self, user, role, home):
        jupyter = home / ".jupyter"
        write_role_config(jupyter, role, self.exchange, home / COURSE_FOLDER, plugin_dir=jupyter)
        if role == "instructor":
            self._write_user_plugins(jupyter)
        _chown_tree(jupyter, user)

    def _write_user_plugins(self, jupyter):
        shutil.copy(Path(__file__).with_name("owner_checked_collect.py"), jupyter / "owner_checked_collect.py")

    def _write_course(self):
        course = self.course_dir
        course.mkdir()
        shutil.copytree(REPO / "solutions", course / "solutions", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        config = (REPO / "nbgrader_config.py").read_text(encoding="utf-8")
        if self.cell_timeout:
            config += f"\nc.Execute.timeout = {int(self.cell_timeout)}  # set by the local course hub\n"
        (course / "nbgrader_config.py").write_text(config, encoding="utf-8")
        _chown_tree(course, self.instructor)

    def _write_hub_settings(self):
        settings = {
            "port": self.port, "hub_port": free_port(), "proxy_api_port": free_port(),
            "state": str(self.state), "venv": str(VENV), "proxy": str(PROXY),
            "instructor": self.instructor, "students": self.students,
            "password": self.password, "service_token": self.token,
        }
        path = self.state / "settings.json"
        path.write_text(json.dumps(settings, indent=1), encoding="utf-8")
        os.chmod(path, 0o600)

    # --- the hub ---------------------------------------------------------------------------

    def start(self, timeout=60):
        """Start JupyterHub and wait until its REST API answers."""
        env = {**os.environ, "DLSCRATCH_HUB_SETTINGS": str(self.state / "settings.json")}
        env.pop("JUPYTERHUB_API_TOKEN", None)
        log = open(self.state / "hub.log", "ab")
        self.process = subprocess.Popen([str(VENV / "bin" / "jupyterhub"), "-f", str(HUB_CONFIG)],
                                        cwd=self.state, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyterhub exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                self.api("GET", "/hub/api/")
                return self
            except (OSError, urllib.error.URLError):
                time.sleep(0.5)
        raise TimeoutError(f"jupyterhub did not answer within {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines=40):
        try:
            return "\n".join((self.state / "hub.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no hub log)"

    def api(self, method, path, body=None, timeout=60, raw=False):
        """Call the hub (or, through its proxy, a user's server) as the course-admin service.

        Returns the decoded JSON answer (or bytes with raw=True); raises HTTPError on 4xx/5xx."""
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Authorization": f"token {self.token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = response.read()
        if raw:
            return answer
        return json.loads(answer) if answer.strip() else None

    def spawn(self, user, timeout=180):
        """Start a user's server through the hub's REST API and wait until it is ready."""
        try:
            self.api("POST", f"/hub/api/users/{user}/server")
        except urllib.error.HTTPError as error:
            if error.code != 400:  # 400: already running
                raise
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self.api("GET", f"/hub/api/users/{user}").get("servers", {}).get("")
            if server and server.get("ready"):
                return server
            time.sleep(0.5)
        raise TimeoutError(f"{user}'s server was not ready within {timeout} s:\n{self.log_tail()}")

    def stop_hub(self, timeout=30):
        """SIGTERM the hub we started (it stops the user servers it spawned), by PID."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()  # our own process; its proxy is in its session
            self.process.wait(10)
        _kill_session(self.process.pid)

    # --- tear-down --------------------------------------------------------------------------

    def close(self):
        """Stop everything this course started and remove its users and folders. Safe to call twice."""
        errors = []
        try:
            self.stop_hub()
        except Exception as error:  # keep going: the users and folders must go anyway
            errors.append(error)
        for user in self.created_users:
            try:
                _kill_user_processes(user)
                run("userdel", "--remove", user)
            except Exception as error:
                errors.append(error)
        self.created_users = []
        shutil.rmtree(self.base, ignore_errors=True)
        try:
            self.base.parent.rmdir()  # /srv/dlscratch-hub, when no other course is left in it
        except OSError:
            pass
        if errors:
            raise RuntimeError(f"clean-up was incomplete: {errors}")

    def __enter__(self):
        try:
            self.create()
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc):
        self.close()


# --- helpers -----------------------------------------------------------------------------------

def _user_exists(user):
    try:
        pwd.getpwnam(user)
        return True
    except KeyError:
        return False


def _chown_tree(path, user):
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)]:
            os.chown(name, entry.pw_uid, entry.pw_gid)


def processes_of(user):
    """PIDs of the processes running as `user` (read from /proc)."""
    uid = pwd.getpwnam(user).pw_uid
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
            except FileNotFoundError:
                pass
    return pids


def processes_of_server(user, server_name=""):
    """PIDs of `user`'s processes that came from that Jupyter server of theirs (kernels, terminals and what
    those started): the hub put JUPYTERHUB_USER and JUPYTERHUB_SERVER_NAME in the server's environment, and
    they inherit it. Reading another user's environment needs root, as the hub is."""
    marker = {f"JUPYTERHUB_USER={user}".encode(), f"JUPYTERHUB_SERVER_NAME={server_name}".encode()}
    found = []
    for pid in processes_of(user):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if marker <= set(f.read().split(b"\0")):
                    found.append(pid)
        except OSError:  # gone, or not ours to read
            pass
    return found


def end_what_the_server_left(spawner):
    """The hub's Spawner.post_stop_hook: kill what a user's stopped server left running, by PID. A kernel
    exits when its server dies, but only once it has begun to watch it: a kernel still starting when the
    server stopped (30 kernels starting at once on 2 cores take ~20 s) lived on with no one to talk to."""
    for pid in processes_of_server(spawner.user.name, spawner.name):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _kill_user_processes(user, timeout=10):
    """Stop what is left running as one of the course's own users (each PID found by its uid)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = processes_of(user)
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while pids and time.monotonic() < deadline:
            pids = processes_of(user)
            time.sleep(0.2)
        if not pids:
            return


def _kill_session(sid):
    """Kill what is left in the session our hub process led (the proxy), found by its session id."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getsid(int(entry)) == sid:
                    os.kill(int(entry), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def remove_leftovers(prefix):
    """Remove users `<prefix>-*` and /srv/dlscratch-hub/<prefix>, e.g. after a crash."""
    for entry in pwd.getpwall():
        if entry.pw_name.startswith(prefix + "-") and entry.pw_gecos.startswith("dlscratch "):
            _kill_user_processes(entry.pw_name)
            run("userdel", "--remove", entry.pw_name)
            print(f"removed user {entry.pw_name}")
    shutil.rmtree(f"/srv/dlscratch-hub/{prefix}", ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="create the users and run the hub until Ctrl-C; then remove everything")
    start.add_argument("--students", type=int, default=3, help="how many students (default 3)")
    start.add_argument("--prefix", default="dls", help="user names are PREFIX-instructor, PREFIX-student01, ...")
    start.add_argument("--port", type=int, default=8000)
    start.add_argument("--password", help="the password every user logs in with (default: a random one)")
    remove = sub.add_parser("remove", help="remove the users and folders a crashed run left behind")
    remove.add_argument("--prefix", default="dls")
    role = sub.add_parser("role-config", help="write one user's settings for their role into a config folder")
    for option in ("--role", "--exchange", "--course-root", "--into"):
        role.add_argument(option, required=True)
    role.add_argument("--uid-map")
    args = parser.parse_args(argv)
    if args.command == "role-config":
        write_role_config(args.into, args.role, args.exchange, args.course_root, uid_map=args.uid_map)
        return
    if args.command == "remove":
        remove_leftovers(args.prefix)
        return
    hub = CourseHub([f"student{i:02d}" for i in range(1, args.students + 1)], prefix=args.prefix,
                    port=args.port, password=args.password)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    with hub:
        print(f"\nJupyterHub for the dlscratch course: {hub.url}/hub/login  (loopback only)\n"
              f"  instructor: {hub.instructor}\n  students:   {', '.join(hub.students)}\n"
              f"  password:   {hub.password}   (every user)\n"
              f"  hub log:    {hub.state / 'hub.log'}\n"
              f"Ctrl-C stops the hub and removes these users, their homes and the exchange.\n", flush=True)
        try:
            while not stop and hub.process.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    print("stopped; users and folders removed")


if __name__ == "__main__":
    sys.exit(main())
