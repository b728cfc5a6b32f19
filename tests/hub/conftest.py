"""Fixtures for the multi-user course tests: a real JupyterHub with real Linux users.

    hub_tools   runs scripts/setup_hub.sh once (the course venv from Debian's Python, JupyterHub,
                configurable-http-proxy from npm); needs root, like the course itself
    new_hub     makes a CourseHub (deploy/local/course_hub.py) with a unique user-name prefix,
                starts it, and always removes its users, homes, exchange and hub state afterwards

Everything listens on 127.0.0.1 only.
"""
import importlib.util
import os
import secrets
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "hub"
CELL_TIMEOUT = 8  # s per cell at grading; the hostile submission's infinite loop costs this twice


def load_course_hub():
    spec = importlib.util.spec_from_file_location("course_hub", REPO / "deploy" / "local" / "course_hub.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def hub_tools():
    if os.geteuid() != 0:
        pytest.skip("the multi-user course creates Linux users: run the hub tests as root")
    setup = subprocess.run(["bash", str(REPO / "scripts" / "setup_hub.sh")], capture_output=True, text=True,
                           timeout=1200)
    assert setup.returncode == 0, f"scripts/setup_hub.sh failed:\n{setup.stdout}\n{setup.stderr}"
    return load_course_hub()


@pytest.fixture
def new_hub(hub_tools):
    """new_hub(students) -> a started CourseHub; removed again after the test, pass or fail."""
    made = []

    def make(students, **kwargs):
        hub = hub_tools.CourseHub(students, prefix=f"dlst{secrets.token_hex(3)}", cell_timeout=CELL_TIMEOUT, **kwargs)
        made.append(hub)
        hub.create()
        return hub.start()

    yield make
    for hub in made:
        log = hub.log_tail(400)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"hub-{hub.prefix}.log").write_text(log, encoding="utf-8")
        hub.close()
        assert not any(u in {e.split(":")[0] for e in Path("/etc/passwd").read_text().splitlines()}
                       for u in hub.users), "a course user was left behind"
        assert not hub.base.exists(), f"{hub.base} was left behind"


CHROMIUM = os.environ.get("DLSCRATCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def in_browser_thread():
    """in_browser_thread(fn) runs fn(browser) with Debian's Chromium under Playwright, in a thread of its own.

    Playwright's sync API allows one instance per thread, and tests/e2e keeps one open in the
    main thread for the whole session; so the hub tests drive theirs from another thread."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM}: `apt-get install chromium` (scripts/setup.sh dev does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the Python package playwright is missing: pip install -e '.[dev]'")

    def run(fn):
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                return fn(browser)
            finally:
                browser.close()

    def in_thread(fn):
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(run, fn).result()

    return in_thread
