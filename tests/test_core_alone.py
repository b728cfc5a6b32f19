"""`pytest tests/core` runs in an environment with only numpy, pytest and hypothesis installed."""
import os
import subprocess
import sys
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_core_tests_need_only_numpy_pytest_and_hypothesis(tmp_path):
    venv.create(tmp_path / "env", with_pip=True)
    python = tmp_path / "env" / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "numpy", "pytest", "hypothesis"], check=True,
                   capture_output=True)
    listed = subprocess.run([python, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True).stdout
    assert "nbval" not in listed and "matplotlib" not in listed and "torch" not in listed
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env.pop("CI", None)  # the inner run is not CI: its skips (no torch there) are expected
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run([python, "-m", "pytest", "tests/core", "-q", "-x", "-p", "no:cacheprovider"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" in result.stdout  # the torch cross-checks skip there
    assert sys.executable != str(python)
