"""End-to-end fixtures: a real JupyterLab server and headless Chromium, driven with Playwright.

    lab_server    one JupyterLab for the whole run, serving a temporary COPY of course/ and
                  exercises/ (the browser never touches the repository's notebooks)
    browser       one Chromium (Debian's /usr/bin/chromium; never `playwright install`)
    lab           a fresh page on lab_server; closed, and every kernel shut down, after the test
    newcomer_lab  a page on JupyterLab started as the README says, `bash course.sh`, with no
                  system Graphviz and no environment on PATH, and no settings of ours: it serves
                  the student's own copy, my-work/ (made in a temporary folder through
                  DLSCRATCH_MY_WORK), and the fixture checks the repository's notebooks stay untouched

`Lab` (below) is what a test drives: open a notebook, run all cells, read outputs, set a
cell's source, take screenshots (saved under test-artifacts/e2e/, which git ignores).
The window is 1400x1000 px with the file browser open, which leaves a 968 px notebook column:
graphs and widgets must fit in it.
"""
import base64
import contextlib
import hashlib
import html
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
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
SERVER_START_TIMEOUT = 60  # s; JupyterLab starts in 3-7 s here
SETUP_TIMEOUT = 600  # s; course.sh first brings .venv up to date (pip), which can take minutes on a fresh clone
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


def jupyter_environment(base, as_student=False):
    """Environment variables for a server whose config, data, runtime and settings are fresh and
    private (so no user settings leak in and nothing is written to $HOME). Unless `as_student`,
    autosave is off (tests change notebooks they must not keep) and the news toast disabled here
    (setup.sh disables it for the environment too; as_student checks that this is enough)."""
    dirs = {name: base / name for name in ("config", "data", "runtime", "ipython")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    if not as_student:
        labconfig = dirs["config"] / "labconfig"
        labconfig.mkdir()
        (labconfig / "page_config.json").write_text(json.dumps(
            {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
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


def server_arguments(port, token, allow_root=True):
    args = ["--no-browser", "--ServerApp.ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}", "--LabApp.expose_app_in_browser=True"]
    if allow_root and hasattr(os, "getuid") and os.getuid() == 0:
        args.append("--allow-root")
    return args


class LabServer:
    """A JupyterLab process in its own process group; stop() ends it and its kernels."""

    def __init__(self, command, env, cwd, log_path, port, token, root, start_timeout=SERVER_START_TIMEOUT):
        self.port, self.token, self.root = port, token, Path(root)
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(command, env=env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        try:
            self._wait_until_up(start_timeout)
        except BaseException:
            self.stop()
            raise

    def log(self, tail=4000):
        text = Path(self.log_path).read_text(errors="replace")
        return text[-tail:] if tail else text

    def _wait_until_up(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}:\n{self.log()}")
            try:
                self.api("GET", "/api/status")
                return
            except OSError:
                time.sleep(0.25)
        raise RuntimeError(f"JupyterLab did not answer on {self.url} within {timeout} s:\n{self.log()}")

    def api(self, method, path, timeout=10):
        request = urllib.request.Request(self.url + path, method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self):
        """End every session, kernel and terminal, so they don't pile up from test to test (a terminal's
        shell runs in a session of its own, which stopping the server's process group would miss)."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")
        for terminal in self.api("GET", "/api/terminals"):
            self.api("DELETE", f"/api/terminals/{terminal['name']}")

    def lab_url(self, path):
        return f"{self.url}/lab/tree/{path}?token={self.token}&reset"

    def stop(self):
        if self.process.poll() is None:
            with contextlib.suppress(Exception):
                self.shutdown_kernels()
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


def start_lab(base, root, command_prefix, cwd, env=None, extra_args=(), start_timeout=SERVER_START_TIMEOUT,
              allow_root=True):
    """Start JupyterLab with `command_prefix + arguments`; returns a running LabServer."""
    port, token = free_port(), uuid.uuid4().hex
    env = env if env is not None else jupyter_environment(base)
    command = [*command_prefix, *server_arguments(port, token, allow_root), *extra_args]
    return LabServer(command, env, cwd, base / "jupyterlab.log", port, token, root, start_timeout)


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

# JavaScript run in the page; window.jupyterapp is there thanks to expose_app_in_browser.
JS_CURRENT = "window.jupyterapp.shell.currentWidget"
JS_KERNEL_IDLE = f"""(path) => {{
    const w = window.jupyterapp && {JS_CURRENT};
    const kernel = w && w.context && w.context.path === path && w.sessionContext && w.sessionContext.session
                   && w.sessionContext.session.kernel;
    return !!kernel && kernel.status === 'idle' && w.content.widgets.length > 0;
}}"""
JS_WITH_TIMEOUT = """(promise, ms, what) => Promise.race([promise, new Promise((_, reject) =>
    setTimeout(() => reject(new Error(what + ' timed out after ' + ms + ' ms')), ms))])"""
JS_RUN_ALL = f"""async (ms) => await ({JS_WITH_TIMEOUT})(
    window.jupyterapp.commands.execute('notebook:run-all-cells'), ms, 'run all cells')"""
JS_RUN_CELL = f"""async ([index, ms]) => {{
    const notebook = {JS_CURRENT}.content;
    notebook.activeCellIndex = index;
    notebook.deselectAll();
    return await ({JS_WITH_TIMEOUT})(window.jupyterapp.commands.execute('notebook:run-cell'), ms, 'run cell');
}}"""
# The code cells as the notebook model holds them: source, tags, execution count, outputs (nbformat JSON).
JS_CODE_CELLS = f"""() => {{
    const cells = {JS_CURRENT}.content.model.cells;
    const result = [];
    for (let i = 0; i < cells.length; i++) {{
        const cell = cells.get(i);
        if (cell.type !== 'code') continue;
        result.push({{index: i, source: cell.sharedModel.getSource(), tags: cell.getMetadata('tags') || [],
                     executionCount: cell.executionCount, outputs: cell.outputs.toJSON()}});
    }}
    return result;
}}"""
JS_SET_SOURCE = f"""([index, source]) => {JS_CURRENT}.content.model.cells.get(index).sharedModel.setSource(source)"""
JS_IMAGE_DIGEST = """async (img) => {
    const bytes = await (await fetch(img.src)).arrayBuffer();
    const digest = await crypto.subtle.digest('SHA-256', bytes);
    return Array.from(new Uint8Array(digest)).map(b => b.toString(16).padStart(2, '0')).join('');
}"""
JS_IMAGE_LOADED = "(img) => img.complete && img.naturalWidth > 0"
JS_IMAGES_LOADED = "(el) => [...el.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)"
# What would spoil a widget for a learner even though it is there: cut off, or a stretched picture.
JS_LAYOUT_PROBLEMS = """(el) => {
    const problems = [];
    const root = el.querySelector('.jupyter-widgets');
    if (root.scrollWidth > root.clientWidth + 2)
        problems.push(`it is ${root.scrollWidth} px wide but only ${root.clientWidth} px are shown: the right part is `
                      + 'cut off, behind a sideways scroll bar');
    for (const img of el.querySelectorAll('img.widget-image')) {
        const natural = img.naturalWidth / img.naturalHeight, shown = img.clientWidth / img.clientHeight;
        if (Math.abs(shown / natural - 1) > 0.03)
            problems.push(`a ${img.naturalWidth}x${img.naturalHeight} px picture is shown stretched to `
                          + `${img.clientWidth}x${img.clientHeight} px`);
    }
    return problems;
}"""
JS_WIDE_GRAPHS = """(el) => [...el.querySelectorAll('.jp-RenderedSVG img')].map(img => {
    const cell = img.closest('.jp-Cell'), column = img.closest('.jp-OutputArea-output').clientWidth;
    return img.naturalWidth > column + 2 ? `cell ${cell.dataset.windowedListIndex}: ${img.naturalWidth} px wide `
                                           + `in a ${column} px column` : null;
}).filter(Boolean)"""
JS_IMAGE_BASE64 = """async (img) => {
    const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
    let text = '';
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(text);
}"""
JS_IMAGE_TEXT = "async (img) => await (await fetch(img.src)).text()"
JS_KERNEL_STDOUT = f"""async ([code, ms]) => {{
    // Run code in the notebook's kernel, leaving the notebook alone; return what it printed.
    const future = {JS_CURRENT}.sessionContext.session.kernel.requestExecute({{code, store_history: false}});
    let text = '';
    future.onIOPub = (msg) => {{
        if (msg.header.msg_type === 'stream') text += msg.content.text;
        if (msg.header.msg_type === 'error') text += msg.content.ename + ': ' + msg.content.evalue;
    }};
    await ({JS_WITH_TIMEOUT})(future.done, ms, 'kernel code');
    return text;
}}"""
LOADING = "Loading widget"
WIDGET_ERROR = "Error displaying widget"


class Lab:
    """One browser page on a JupyterLab server, and the steps a learner takes in it."""

    def __init__(self, server, page):
        self.server, self.page, self.path = server, page, None
        self.layout_problems = []

    def open(self, path):
        """Open a notebook (path relative to the server's root) and wait until its kernel is idle."""
        self.path = path
        self.page.goto(self.server.lab_url(path), wait_until="domcontentloaded", timeout=60_000)
        self.wait_idle(timeout=90_000)
        self.notebook = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first
        return self.notebook

    def wait_idle(self, timeout=60_000):
        self.page.wait_for_function(JS_KERNEL_IDLE, arg=self.path, timeout=timeout, polling=200)

    def run_all(self):
        """Run all cells like Run > Run All Cells; wait until every one is done. Returns the code cells."""
        self.page.evaluate(JS_RUN_ALL, RUN_ALL_TIMEOUT * 1000)
        self.wait_idle()
        return self.code_cells()

    def run_cell(self, index, timeout=60):
        """Run one cell like Shift+Enter; returns that cell's outputs."""
        self.page.evaluate(JS_RUN_CELL, [index, timeout * 1000])
        self.wait_idle()
        return self.code_cell(index)["outputs"]

    def code_cells(self):
        return self.page.evaluate(JS_CODE_CELLS)

    def code_cell(self, index):
        return next(c for c in self.code_cells() if c["index"] == index)

    def cell_index(self, text):
        """The index of the first code cell whose source contains `text`."""
        found = [c["index"] for c in self.code_cells() if text in c["source"]]
        assert found, f"no code cell of {self.path} contains {text!r}"
        return found[0]

    def cell(self, index):
        """The cell's element (input and outputs)."""
        return self.notebook.locator(f'.jp-Cell[data-windowed-list-index="{index}"]')

    def set_source(self, index, source):
        """Replace a cell's source, as typing it in the editor would."""
        self.page.evaluate(JS_SET_SOURCE, [index, source])

    def kernel_stdout(self, code, timeout=30):
        return self.page.evaluate(JS_KERNEL_STDOUT, [code, timeout * 1000])

    def run_chapter(self, path):
        """Open a notebook, run all cells, and check what a learner would see: every cell ran, errors
        only where a cell is tagged raises-exception, nothing on stderr, every widget and every SVG
        drawn. Returns the code cells."""
        self.open(path)
        cells = self.run_all()
        problems = not_run(cells) + unexpected_errors(cells) + stderr_outputs(cells)
        assert not problems, f"{path}, after Run All Cells:\n" + "\n".join(problems)
        self.check_widgets_drawn()
        svgs = sum("image/svg+xml" in o.get("data", {}) for c in cells for o in c["outputs"])
        images = self.notebook.locator(".jp-RenderedSVG img")
        assert images.count() == svgs, f"{path}: {svgs} SVG outputs but {images.count()} drawn"
        # Measured now, in the standard window; check_layout() reports it after a test's other checks.
        self.wait_until(lambda: self.notebook.evaluate(JS_IMAGES_LOADED), "showing every picture")
        self.layout_problems += [f"graph in {p}; JupyterLab does not shrink SVG, so its right part is cut off"
                                 for p in self.notebook.evaluate(JS_WIDE_GRAPHS)]
        return cells

    def check_layout(self):
        """Nothing measured by run_chapter() or widget_output() was cut off or stretched: graphs fit the
        notebook column (JupyterLab shrinks PNG to fit, but shows SVG at its own size), and widgets
        fit and show their pictures undistorted. Called last, so a test's other checks run first."""
        assert not self.layout_problems, (f"{self.path}, in a {VIEWPORT['width']} px wide window with the file "
                                          "browser open:\n  " + "\n  ".join(self.layout_problems))

    def check_widgets_drawn(self, timeout=20_000):
        """No "Loading widget..." left and no "Error displaying widget" anywhere in the notebook."""
        loading = self.notebook.get_by_text(LOADING)
        try:
            loading.first.wait_for(state="detached", timeout=timeout)
        except Exception:
            raise AssertionError(f"{self.path}: {loading.count()} widget(s) still show '{LOADING}...' after "
                                 f"{timeout / 1000:.0f} s") from None
        assert self.notebook.get_by_text(WIDGET_ERROR).count() == 0, f"{self.path}: '{WIDGET_ERROR}' shown"

    def widget_output(self, call):
        """The output of the code cell whose source contains `call` (e.g. "PerceptronPlayground("), once a
        widget is drawn there, checked to show no raw text repr instead of (or beside) the widget."""
        output = self.cell(self.cell_index(call)).locator(".jp-OutputArea")
        output.locator(".jupyter-widgets").first.wait_for(timeout=20_000)
        output.scroll_into_view_if_needed()  # an output far from the view is not painted: its text reads as ''
        self.check_widgets_drawn()
        name = call.split("(")[0].split(".")[0]
        text = output.inner_text()
        assert f"<{name}" not in text and f"{name}(" not in text, f"{self.path}: the text repr of {name} is shown"
        self.wait_until(lambda: output.evaluate(JS_IMAGES_LOADED), f"showing the pictures of {name}")
        self.layout_problems += [f"{name}: {p}" for p in output.evaluate(JS_LAYOUT_PROBLEMS)]
        return output

    def wait_until(self, condition, what, timeout=30):
        """Poll `condition()` until it is truthy (exceptions count as not yet); fail saying `what`."""
        deadline, error = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            try:
                result = condition()
                if result:
                    return result
            except Exception as e:  # e.g. an <img> whose blob URL was just replaced
                error = e
            self.page.wait_for_timeout(200)
        raise AssertionError(f"{self.path}: after {timeout} s, still not {what}" + (f" (last error: {error})"
                                                                                   if error else ""))

    def svg_texts(self, locator=None):
        """The SVG behind each rendered SVG output (JupyterLab shows SVG as an <img> with a data URL)."""
        images = (locator or self.notebook).locator(".jp-RenderedSVG img")
        return [self.svg_of(src) for src in images.evaluate_all("imgs => imgs.map(i => i.src)")]

    def image_digest(self, img):
        """SHA-256 of the bytes an <img> shows (data: and blob: URLs alike): changes when the picture does."""
        return img.evaluate(JS_IMAGE_DIGEST)

    def settled(self, img, after="", timeout=30):
        """Wait until the kernel is idle and `img` shows a loaded picture that stays the same for a
        moment (a widget may redraw several times after one action), and check it is not blank.
        Returns its digest. `after` says what happened before, for the failure message."""
        shown = [None]

        def still():
            self.wait_idle()
            if not img.evaluate(JS_IMAGE_LOADED):
                return False
            now, before = self.image_digest(img), shown[0]
            shown[0] = now
            return now == before
        self.wait_until(still, "a settled picture", timeout)
        empty = blank(self.image_bytes(img))
        assert not empty, f"{self.path}: the picture is blank{' after ' + after if after else ''}"
        return shown[0]

    def image_bytes(self, img):
        return base64.b64decode(img.evaluate(JS_IMAGE_BASE64))

    def image_text(self, img):
        """The text behind an <img> (for SVG pictures, such as an Image widget with format svg+xml)."""
        return img.evaluate(JS_IMAGE_TEXT)

    def screenshot(self, name, *locators):
        """Save a PNG under test-artifacts/e2e/ for a person to look at: the window, or the region that
        holds the given elements (scrolled into view). Returns its path."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        clip = None
        if locators:
            locators[-1].scroll_into_view_if_needed()
            locators[0].scroll_into_view_if_needed()
            self.page.wait_for_timeout(500)  # cells just scrolled into view paint a moment later
            boxes = [loc.bounding_box() for loc in locators]
            left, top = min(b["x"] for b in boxes), min(b["y"] for b in boxes)
            right, bottom = max(b["x"] + b["width"] for b in boxes), max(b["y"] + b["height"] for b in boxes)
            size = self.page.viewport_size  # JupyterLab scrolls inside the notebook: only the window can be shot
            left, top = max(left, 0), max(top, 0)
            clip = {"x": left, "y": top, "width": min(right, size["width"]) - left,
                    "height": min(bottom, size["height"]) - top}
        self.page.screenshot(path=str(path), clip=clip)
        return path

    @staticmethod
    def chapter_using(text):
        """The chapter (path under the server root, e.g. "course/04_x.ipynb") whose code uses `text`."""
        for path in sorted((REPO / "course").glob("*.ipynb")):
            cells = json.loads(path.read_text())["cells"]
            if any(c["cell_type"] == "code" and text in "".join(c["source"]) for c in cells):
                return f"course/{path.name}"
        raise AssertionError(f"no chapter in course/ uses {text}: a learner never sees it")

    @staticmethod
    def svg_of(img_src):
        """The SVG text in a data URL (URL-encoded or base64)."""
        header, _, data = img_src.partition(",")
        return base64.b64decode(data).decode() if header.endswith(";base64") else urllib.parse.unquote(data)

    @staticmethod
    def svg_labels(svg):
        """The text of every <text> element of an SVG, unescaped."""
        return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]

    @staticmethod
    def text_of(outputs):
        """Everything the outputs show as text: streams, plain-text results, error names and messages."""
        parts = []
        for o in outputs:
            if o["output_type"] == "stream":
                parts.append(o["text"])
            elif o["output_type"] == "error":
                parts.append(f"{o['ename']}: {o['evalue']}")
            else:
                parts.append(str(o.get("data", {}).get("text/plain", "")))
        return "\n".join(parts)


def blank(picture):
    """True for a PNG of (almost) one colour, as a figure drawn while another thread draws it comes out.
    Not a PNG (e.g. SVG): False."""
    from PIL import Image

    if not picture.startswith(b"\x89PNG"):
        return False
    image = Image.open(io.BytesIO(picture)).convert("RGBA")
    return image.getcolors(maxcolors=8) is not None  # a plot has thousands of colours


def expects_error(cell):
    return "raises-exception" in cell["tags"]


def not_run(cells):
    return [f"  cell {c['index']} did not run" for c in cells if c["source"].strip() and c["executionCount"] is None]


def unexpected_errors(cells):
    return [f"  cell {c['index']} failed: {o['ename']}: {o['evalue']}" for c in cells if not expects_error(c)
            for o in c["outputs"] if o["output_type"] == "error"]


def stderr_outputs(cells):
    return [f"  cell {c['index']} wrote to stderr: {o['text'][:300]!r}" for c in cells if not expects_error(c)
            for o in c["outputs"] if o["output_type"] == "stream" and o["name"] == "stderr"]


@contextlib.contextmanager
def page_on(server, browser):
    """A fresh page on `server`. Afterwards the page is closed (without saving: autosave is off and
    nothing presses save) and every kernel is shut down."""
    page = browser.new_page()
    try:
        yield Lab(server, page)
    finally:
        page.close()
        server.shutdown_kernels()


@pytest.fixture
def lab(lab_server, browser):
    with page_on(lab_server, browser) as lab:
        yield lab


# --- the newcomer path: JupyterLab started the way the README says, with no system Graphviz ------------

GRAPHVIZ_PROGRAMS = {"dot", "neato", "twopi", "circo", "fdp", "sfdp", "patchwork", "osage"}


def path_without_graphviz(folder):
    """A PATH of one folder that links every program on the current PATH except Graphviz's and this
    environment's own (a newcomer's shell has neither)."""
    folder.mkdir()
    venv_bin = Path(sys.executable).parent
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        directory = Path(directory)
        if not directory.is_dir() or directory.resolve() == venv_bin.resolve():
            continue
        for program in directory.iterdir():
            link = folder / program.name
            if program.name not in GRAPHVIZ_PROGRAMS and not link.exists() and os.access(program, os.X_OK):
                link.symlink_to(program)
    return str(folder)


def course_files_state():
    """Every file under the repository's course/ and exercises/ (checkpoints included), with its bytes' digest."""
    return {p.relative_to(REPO).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in ("course", "exercises") for p in sorted((REPO / folder).rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def newcomer_server(chromium_executable, tmp_path_factory):
    """`bash course.sh --no-browser --port=... ...` from the repository, as the README says, with no `dot`
    and no environment on PATH and JupyterLab's own settings (autosave on). It serves the student's copy,
    my-work/, here made in a temporary folder through DLSCRATCH_MY_WORK (the repository's own my-work/
    belongs to whoever works in it). Afterwards the fixture checks that the repository's course/ and
    exercises/ are byte for byte as before: a student's work never changes a tracked notebook."""
    base = tmp_path_factory.mktemp("newcomer")
    env = jupyter_environment(base, as_student=True)
    env["PATH"] = path_without_graphviz(base / "bin")
    assert shutil.which("dot", path=env["PATH"]) is None
    work = base / "my-work"
    env["DLSCRATCH_MY_WORK"] = str(work)
    before = course_files_state()
    # No --allow-root from us: run as root (as in a container), course.sh must add it itself.
    server = start_lab(base, work, ["bash", str(REPO / "course.sh")], cwd=base, env=env,
                       start_timeout=SETUP_TIMEOUT, allow_root=False)
    try:
        yield server
    finally:
        server.stop()
        after = course_files_state()
        changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
        assert not changed, ("the newcomer's JupyterLab changed the repository's course files:\n  "
                             + "\n  ".join(changed))


@pytest.fixture
def newcomer_lab(newcomer_server, browser):
    with page_on(newcomer_server, browser) as lab:
        yield lab
