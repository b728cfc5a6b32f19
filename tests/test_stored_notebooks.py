"""What a reader sees in a stored notebook, before running anything: nothing of the machine that ran it."""
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "course").glob("*.ipynb")) + sorted((REPO / "exercises").glob("*/*.ipynb"))
MACHINE_PATH = re.compile(r"(/work/|/root/|/home/\w+/|/tmp/|site-packages|\.venv/)")
FROZEN_BAR = re.compile(r"\b0%\|")


def _texts(output):
    """Every piece of text an output shows."""
    if output["output_type"] == "stream":
        yield "".join(output["text"])
    elif output["output_type"] == "error":
        yield output["evalue"]
        yield from output["traceback"]
    else:
        for kind, value in output.get("data", {}).items():
            if kind.startswith("text/") or kind.endswith(("+xml", "+json")):
                yield value if isinstance(value, str) else json.dumps(value)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_no_stored_output_shows_a_machine_path_or_a_frozen_progress_bar(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb["cells"]):
        for output in cell.get("outputs", []):
            for text in _texts(output):
                plain = re.sub(r"\x1b\[[0-9;]*m", "", "".join(text))
                found = MACHINE_PATH.search(plain)
                context = plain[max(0, found.start() - 60):found.end() + 40] if found else ""
                assert not found, f"cell {i} shows a path of the machine that ran it: ...{context}..."
                assert not FROZEN_BAR.search(plain), f"cell {i} stores a progress bar frozen at 0%"
