"""Making sure bubblewrap is there for the isolation tests (scripts/install_sandbox.sh, idempotent)."""
import shutil
import subprocess

import pytest

from .nbgrader_course import REPO


def require_bwrap():
    """Install bubblewrap if it is missing and this machine lets us; skip (with the reason) otherwise."""
    if shutil.which("bwrap") is None:
        subprocess.run(["bash", str(REPO / "scripts" / "install_sandbox.sh")], check=False, timeout=600)
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed and scripts/install_sandbox.sh could not install it "
                    "(it needs root and apt-get)")
