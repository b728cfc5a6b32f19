"""Re-execute chapter notebooks in place, so their stored outputs match the library.

    .venv/bin/python scripts/run_chapters.py                 # every chapter in course/
    .venv/bin/python scripts/run_chapters.py course/05_*.ipynb

Each notebook runs top to bottom in a fresh kernel from its own folder. Saved
widget state and timing metadata are left out: they change on every run and
nbval does not compare them. A stored error keeps only its last line: the frames
above it would show the paths of the machine that ran it. Progress bars are switched off (TQDM_DISABLE):
stored without their widget state they would read 0% for ever; a learner
running the chapter sees them live.
"""
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def run(path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=False,
                            store_widget_state=False, resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            if output.output_type == "error":  # keep the error's last line: the frames name this machine's paths
                output.traceback = output.traceback[-1:]
    nbformat.write(nb, path)


def main(args):
    os.environ["TQDM_DISABLE"] = "1"  # inherited by the kernels
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as test.sh runs them
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    paths = [Path(a).resolve() for a in args] or sorted((ROOT / "course").glob("[0-9]*.ipynb"))
    for path in paths:
        start = time.perf_counter()
        run(path)
        print(f"{path.relative_to(ROOT)}: {time.perf_counter() - start:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
