"""End-to-end fixtures: a real JupyterLab server and headless Chromium, driven with Playwright.

    lab_server    one JupyterLab for the whole run, serving a temporary COPY of course/ and
                  exercises/ (the browser never touches the repository's notebooks)
    browser       one Chromium (Debian's /usr/bin/chromium; never `playwright install`)
    lab           a fresh page on lab_server; closed, and every kernel shut down, after the test

`Lab` (below) is what a test drives: open a notebook, run all cells, read outputs, set a
cell's source, take screenshots (saved under test-artifacts/e2e/, which git ignores).
"""
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "e2e"
CHROMIUM = os.environ.get("DLSCRATCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 1000}
SERVER_START_TIMEOUT = 60  # s; a first start compiles nothing, it takes about 3 s here
RUN_ALL_TIMEOUT = 240  # s for one notebook's "run all cells"


# --- the tools: skip, saying how to install, where they are missing ---------------------------

@pytest.fixture(scope="session")
def chromium_executable():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"no Chromium at {CHROMIUM}: install it with `apt-get install chromium` (Debian/Ubuntu), "
                    "or point DLSCRATCH_CHROMIUM at a Chromium binary. Never `playwright install`.")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the Python package playwright is missing: `pip install playwright` "
                    "(or `pip install -e '.[dev]'`). Never `playwright install`: the tests use the system Chromium.")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_executable, tmp_path_factory):
    """One headless Chromium with a fresh profile for the whole run."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=chromium_executable, headless=True,
            args=CHROMIUM_ARGS, viewport=VIEWPORT)
        context.set_default_timeout(30_000)
        try:
            yield context
        finally:
            context.close()


# --- JupyterLab servers --------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def jupyter_environment(base):
    """Environment variables for a server whose config, data, runtime and settings are fresh and
    private (so no user settings leak in and nothing is written to $HOME), with autosave off
    and the news toast disabled."""
    dirs = {name: base / name for name in ("config", "data", "runtime", "ipython")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    labconfig = dirs["config"] / "labconfig"
    labconfig.mkdir()
    (labconfig / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    # Autosave off: the newcomer test runs the repository's own notebooks and must never save them.
    docmanager = dirs["config"] / "lab" / "user-settings" / "@jupyterlab" / "docmanager-extension"
    docmanager.mkdir(parents=True)
    (docmanager / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}))
    env = {k: v for k, v in os.environ.items()
           # the kernel must behave as a learner's does: progress bars on, not "under pytest"
           if k not in ("PYTEST_CURRENT_TEST", "PYTEST_ADDOPTS", "NBGRADER_EXECUTION", "JUPYTERLAB_SETTINGS_DIR",
                        "JUPYTERLAB_WORKSPACES_DIR", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH")}
    env.update(JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_DATA_DIR=str(dirs["data"]),
               JUPYTER_RUNTIME_DIR=str(dirs["runtime"]), IPYTHONDIR=str(dirs["ipython"]),
               JUPYTER_PLATFORM_DIRS="1", PYTHONUNBUFFERED="1")
    return env


def server_arguments(port, token):
    args = ["--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}", "--LabApp.expose_app_in_browser=True",
            "--ServerApp.open_browser=False"]
    if hasattr(os, "getuid") and os.getuid() == 0:
        args.append("--allow-root")
    return args


class LabServer:
    """A JupyterLab process in its own process group; stop() ends it and its kernels."""

    def __init__(self, command, env, cwd, log_path, port, token, root):
        self.port, self.token, self.root = port, token, Path(root)
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(command, env=env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()
            raise

    def log(self, tail=4000):
        return Path(self.log_path).read_text(errors="replace")[-tail:]

    def _wait_until_up(self):
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}:\n{self.log()}")
            try:
                self.api("GET", "/api/status")
                return
            except OSError:
                time.sleep(0.25)
        raise RuntimeError(f"JupyterLab did not answer on {self.url} within {SERVER_START_TIMEOUT} s:\n{self.log()}")

    def api(self, method, path, timeout=10):
        request = urllib.request.Request(self.url + path, method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self):
        """End every session and kernel, so kernels don't pile up from test to test."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def lab_url(self, path):
        return f"{self.url}/lab/tree/{path}?token={self.token}&reset"

    def stop(self):
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass
        # kernels are in the server's process group; make sure none outlives it
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._log.close()


def start_lab(base, root, command_prefix, cwd, env=None, extra_args=()):
    """Start JupyterLab with `command_prefix + arguments`; returns a running LabServer."""
    port, token = free_port(), uuid.uuid4().hex
    env = env if env is not None else jupyter_environment(base)
    command = [*command_prefix, *server_arguments(port, token), *extra_args]
    return LabServer(command, env, cwd, base / "jupyterlab.log", port, token, root)


@pytest.fixture(scope="session")
def lab_server(chromium_executable, tmp_path_factory):
    """JupyterLab from this environment, serving a temporary copy of course/ and exercises/."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    for folder in ("course", "exercises"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    server = start_lab(base, root, [sys.executable, "-m", "jupyterlab"], cwd=root,
                       extra_args=[f"--ServerApp.root_dir={root}"])
    try:
        yield server
    finally:
        server.stop()


# --- driving the page ------------------------------------------------------------------------------

# JavaScript helpers, evaluated in the page. `app` is window.jupyterapp (expose_app_in_browser).
JS_CURRENT = "window.jupyterapp.shell.currentWidget"
JS_KERNEL_IDLE = f"""(path) => {{
    const w = window.jupyterapp && {JS_CURRENT};
    const kernel = w && w.context && w.context.path === path && w.sessionContext && w.sessionContext.session
                   && w.sessionContext.session.kernel;
    return !!kernel && kernel.status === 'idle' && w.content.widgets.length > 0;
}}"""
JS_RUN_ALL = """async (timeoutMs) => {
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('run all cells timed out')),
                                                          timeoutMs));
    return await Promise.race([window.jupyterapp.commands.execute('notebook:run-all-cells'), timeout]);
}"""
# Each code cell's outputs in the model: errors and stderr text, by cell index.
JS_OUTPUTS = f"""() => {{
    const cells = {JS_CURRENT}.content.model.cells;
    const result = [];
    for (let i = 0; i < cells.length; i++) {{
        const cell = cells.get(i);
        if (cell.type !== 'code') continue;
        result.push({{index: i, source: cell.sharedModel.getSource(), outputs: cell.outputs.toJSON(),
                     executionCount: cell.executionCount}});
    }}
    return result;
}}"""
JS_SET_SOURCE = f"""([index, source]) => {{
    {JS_CURRENT}.content.model.cells.get(index).sharedModel.setSource(source);
}}"""
JS_RUN_CELL = f"""async ([index, timeoutMs]) => {{
    const panel = {JS_CURRENT};
    panel.content.activeCellIndex = index;
    panel.content.deselectAll();
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('cell timed out')), timeoutMs));
    return await Promise.race([window.jupyterapp.commands.execute('notebook:run-cell'), timeout]);
}}"""
JS_IMAGE_DIGEST = """async (img) => {
    const bytes = await (await fetch(img.src)).arrayBuffer();
    const digest = await crypto.subtle.digest('SHA-256', bytes);
    return Array.from(new Uint8Array(digest)).map(b => b.toString(16).padStart(2, '0')).join('');
}"""
JS_KERNEL_EXEC = f"""async ([code, timeoutMs]) => {{
    // Run code in the notebook's kernel without touching the notebook; return its stdout.
    const kernel = {JS_CURRENT}.sessionContext.session.kernel;
    let text = '';
    const future = kernel.requestExecute({{code, silent: false, store_history: false}});
    future.onIOPub = (msg) => {{
        if (msg.header.msg_type === 'stream') text += msg.content.text;
        if (msg.header.msg_type === 'error') text += 'ERROR ' + msg.content.ename + ': ' + msg.content.evalue;
    }};
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('kernel code timed out')),
                                                          timeoutMs));
    await Promise.race([future.done, timeout]);
    return text;
}}"""


class Lab:
    """One browser page on a JupyterLab server, with the steps a learner takes."""

    def __init__(self, server, page, name):
        self.server, self.page, self.name = server, page, name
        self.console = []
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}") if m.type == "error" else None)

    def open(self, path):
        """Open a notebook (path relative to the server's root) and wait for its kernel to be idle."""
        self.path = path
        self.page.goto(self.server.lab_url(path), wait_until="domcontentloaded", timeout=60_000)
        self.page.wait_for_function(JS_KERNEL_IDLE, arg=path, timeout=90_000, polling=200)
        self.notebook = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").first
        return self.notebook

    def run_all(self):
        """Run every cell, wait until all are done, and return the code cells' outputs."""
        ok = self.page.evaluate(JS_RUN_ALL, RUN_ALL_TIMEOUT * 1000)
        self.wait_idle()
        outputs = self.outputs()
        assert ok, f"'run all cells' stopped at an error in {self.path}:\n{self.describe_errors(outputs)}"
        return outputs

    def wait_idle(self, timeout=60_000):
        self.page.wait_for_function(JS_KERNEL_IDLE, arg=self.path, timeout=timeout, polling=200)

    def outputs(self):
        return self.page.evaluate(JS_OUTPUTS)

    def run_cell(self, index, timeout=60):
        ok = self.page.evaluate(JS_RUN_CELL, [index, timeout * 1000])
        self.wait_idle()
        return ok, next(c for c in self.outputs() if c["index"] == index)["outputs"]

    def set_source(self, index, source):
        self.page.evaluate(JS_SET_SOURCE, [index, source])

    def kernel_stdout(self, code, timeout=30):
        return self.page.evaluate(JS_KERNEL_EXEC, [code, timeout * 1000])

    @staticmethod
    def errors(outputs):
        """[(cell index, 'Ename: value')] for every error output."""
        return [(c["index"], f"{o['ename']}: {o['evalue']}") for c in outputs for o in c["outputs"]
                if o["output_type"] == "error"]

    @staticmethod
    def stderr(outputs):
        return [(c["index"], o["text"]) for c in outputs for o in c["outputs"]
                if o["output_type"] == "stream" and o["name"] == "stderr"]

    def describe_errors(self, outputs):
        return "\n".join(f"  cell {i}: {e}" for i, e in self.errors(outputs)) or "  (no error output)"

    def image_digest(self, img_locator):
        """SHA-256 of the bytes an <img> shows (works for data: and blob: URLs alike)."""
        return img_locator.evaluate(JS_IMAGE_DIGEST)

    def screenshot(self, name, locator=None, full_page=False):
        """Save a PNG under test-artifacts/e2e/ for a person to look at; returns its path."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        (locator or self.page).screenshot(path=str(path), **({} if locator else {"full_page": full_page}))
        return path

    def page_text(self):
        return self.notebook.inner_text()


def digest(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def lab(lab_server, browser, request):
    """A fresh page on the shared server. Afterwards the page is closed (without saving: autosave is
    off and nothing presses save) and every kernel is shut down."""
    page = browser.new_page()
    try:
        yield Lab(lab_server, page, request.node.name)
    finally:
        page.close()
        lab_server.shutdown_kernels()
