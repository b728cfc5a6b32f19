"""Suite-wide settings.

In CI (CI=true) a test may not skip for want of a tool: CI installs them all,
so a skip there means a broken install. Skips whose reason starts with
"optional:" are allowed (none does today).
"""
import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if not reason.removeprefix("Skipped: ").startswith("optional:"):
            report.outcome = "failed"
            report.longrepr = f"skipped in CI, where every tool is installed: {reason}"
