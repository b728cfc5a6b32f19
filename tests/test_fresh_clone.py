"""The README's test command on a fresh clone with nothing pre-installed: `bash test.sh` makes the
environment itself (PyTorch and TensorFlow included) and its tests pass; `bash course.sh`'s set-up
then finds nothing more to install, because the course and the tests use one environment.

This installs everything once more (a few minutes), so it runs a small selection of tests in the
clone; the whole suite is what the outer `bash test.sh` runs."""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Small, quick, and importing what a fresh environment could lack: the library, the benchmark
# (PyTorch's side of it runs where torch imports), the my-work copy.
SELECTION = ["tests/core/test_graph.py", "tests/test_benchmarks.py", "tests/test_my_work.py"]


def newcomer_environment():
    """This process's environment as a newcomer's shell would have it: no virtual environment on PATH,
    and nothing from the pytest running now."""
    venv_bin = Path(sys.executable).parent.resolve()
    virtual_env = os.environ.get("VIRTUAL_ENV")
    path = [d for d in os.environ.get("PATH", "").split(os.pathsep)
            if d and Path(d).resolve() != venv_bin and not (virtual_env and d.startswith(virtual_env))]
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST")}
    env["PATH"] = os.pathsep.join(path)
    return env


@pytest.mark.timeout(1800)
def test_test_sh_sets_up_a_fresh_clone_and_its_tests_pass():
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
    folder = Path(tempfile.mkdtemp(prefix="dlscratch-fresh-clone-"))
    try:
        clone = folder / "dlscratch"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        subprocess.run(["git", "checkout", "-q", head.stdout.strip()], cwd=clone, check=True)
        assert not (clone / ".venv").exists()
        env = newcomer_environment()

        tests = subprocess.run(["bash", "test.sh", *SELECTION, "-q", "-p", "no:cacheprovider"], cwd=clone,
                               env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        output = tests.stdout + tests.stderr
        assert tests.returncode == 0, f"`bash test.sh` failed in a fresh clone:\n{output[-6000:]}"
        assert " passed" in tests.stdout.splitlines()[-1] and " failed" not in tests.stdout.splitlines()[-1], output

        frameworks = subprocess.run(
            [str(clone / ".venv" / "bin" / "python"), "-c",
             "import torch, tensorflow as tf; print(torch.__version__, tf.__version__, torch.ones(2).sum().item())"],
            env=dict(env, TF_CPP_MIN_LOG_LEVEL="2"), capture_output=True, text=True)
        assert frameworks.returncode == 0, \
            f"PyTorch and TensorFlow do not import in the new .venv:\n{frameworks.stderr}"
        torch_version, tf_version, total = frameworks.stdout.split()
        assert torch_version.startswith("2.") and tf_version.startswith("2."), frameworks.stdout
        assert total == "2.0", frameworks.stdout

        course = subprocess.run(["bash", "scripts/setup.sh", "course"], cwd=clone, env=env, capture_output=True,
                                text=True, stdin=subprocess.DEVNULL)
        assert course.returncode == 0, course.stdout + course.stderr
        assert "installing dlscratch" not in course.stdout, \
            f"course.sh's set-up installed more after test.sh's: they should share one environment:\n{course.stdout}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
