"""A grader that is not root (an instructor grading on the hub) can start its sandbox however much it runs.

Such a grader's child keeps the grader's user, and Linux counts every task of that user (a Jupyter
server's and its kernels' threads too) against the child's process limit. With the limit at 16 in
all, an instructor with a server and two kernels open could not start a sandbox at all, and grading
fell back to running student code unsandboxed. The limit is now 16 on top of what the user runs
already (sandbox.tasks_of_user).

Run as `nobody`, with the course environment every user can read (hub_tools) and a copy of the
package in a folder `nobody` can read; its processes are stopped by PID, and the folder removed.
"""
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .conftest import REPO

SCRIPT = """
import shutil, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
from dlscratch.grading.isolation import strip
from dlscratch.grading.isolation.sandbox import Child, ChildDied, Limits
busy = [subprocess.Popen(["sleep", "60"]) for _ in range(24)]  # more than the limit of 16, before the child
child, library = None, strip.make_stripped_library()  # a folder of nobody's own in /tmp
try:
    child = Child("bwrap", library, Limits(total_memory_bytes=0))
    reply, _ = child.request({"op": "run", "index": 0, "source": "import subprocess\\n"
                              "subprocess.run(['true'], check=True)"}, (), time.monotonic() + 60)
    print(json.dumps({"started": True, "forked": reply.get("ok")}))
except ChildDied as e:
    print(json.dumps({"started": False, "why": str(e)}))
finally:
    if child is not None:
        child.kill()
    for process in busy:
        process.kill()
        process.wait()
    shutil.rmtree(library)
"""


def test_a_grader_that_is_not_root_starts_its_sandbox_beside_its_other_processes(hub_tools):
    python = hub_tools.VENV / "bin" / "python"
    folder = tempfile.mkdtemp(prefix="dlscratch-not-root-")
    try:
        os.chmod(folder, 0o755)
        shutil.copytree(REPO / "dlscratch", Path(folder) / "dlscratch",
                        ignore=shutil.ignore_patterns("__pycache__"))
        (Path(folder) / "check.py").write_text("import json\n" + SCRIPT)
        subprocess.run(["chmod", "-R", "a+rX", folder], check=True)
        done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               str(python), "-I", str(Path(folder) / "check.py"), folder],
                              capture_output=True, text=True, timeout=300, cwd=folder, env={"PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, done.stderr[-3000:]
        assert json.loads(done.stdout.strip().splitlines()[-1]) == {"started": True, "forked": True}, done.stdout
    finally:
        shutil.rmtree(folder, ignore_errors=True)
