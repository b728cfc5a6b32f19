"""JupyterHub settings for the local dlscratch course (deploy/local/course_hub.py writes the
settings file this reads and starts the hub with it).

Loopback only. Real Linux users; each user's server is `jupyterhub-singleuser` from the course
environment (DLSCRATCH_HUB_PREFIX/venv, made from Debian's Python by scripts/setup_hub.sh,
readable by everyone), started as that user by LocalProcessSpawner. The hub's own state
(database, cookie secret, log) stays in the private settings folder.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # course_hub.py, beside this file
from course_hub import end_what_the_server_left  # noqa: E402 (standard library only)

c = get_config()  # noqa: F821 (provided by JupyterHub when it loads this file)

settings = json.load(open(os.environ["DLSCRATCH_HUB_SETTINGS"], encoding="utf-8"))
state = settings["state"]
venv_bin = os.path.join(settings["venv"], "bin")

c.JupyterHub.bind_url = f"http://127.0.0.1:{settings['port']}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{settings['hub_port']}"
c.JupyterHub.db_url = "sqlite:///" + os.path.join(state, "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(state, "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.command = [settings["proxy"]]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings['proxy_api_port']}"
c.ConfigurableHTTPProxy.pid_file = os.path.join(state, "proxy.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops the users' servers

# Who may log in. A shared password is enough on loopback for trying the course out; a real
# class uses PAM, LDAP or its university's OAuth (see docs/jupyterhub.md).
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = settings["password"]
c.Authenticator.allowed_users = {settings["instructor"], *settings["students"]}

# The course-admin service: what the tests and scripts use to start servers and call them.
c.JupyterHub.services = [{"name": "course-admin", "api_token": settings["service_token"]}]
c.JupyterHub.load_roles = [{
    "name": "course-admin",
    "scopes": ["admin:users", "admin:servers", "access:servers", "list:users", "read:users"],
    "services": ["course-admin"],
}]

# Every user's server: the course environment, run as that user, in their home.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [os.path.join(venv_bin, "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.ip = "127.0.0.1"  # user servers on loopback too (the default; said here because it matters)
c.Spawner.environment = {
    "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",  # nbgrader runs `jupyter` and `alembic` by name
    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",  # one BLAS thread per kernel on a shared machine
}
c.Spawner.start_timeout = 180  # a class logging in at once on 2 cores


def _port_of_user(spawner):
    """Each student's server gets a port of its own, below Linux's ephemeral range (32768-60999) that
    kernels take theirs from. With random ports, 30 servers and their kernels starting at once on one
    machine can collide: a server was once given a port a kernel already held, and never came up."""
    import pwd
    spawner.port = 20000 + pwd.getpwnam(spawner.user.name).pw_uid % 10000


c.Spawner.pre_spawn_hook = _port_of_user
c.Spawner.post_stop_hook = end_what_the_server_left  # no kernel outlives its server
c.Spawner.http_timeout = 180
c.JupyterHub.concurrent_spawn_limit = 100
