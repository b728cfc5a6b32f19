"""The practice cells of chapters 1-3: their self-checks say "correct" to a right answer and "not yet" to a wrong one.

Each chapter runs once in a fresh kernel, with every exercise cell run three times in a row: as stored (it must
say "not done yet"), with a wrong answer, and with a right one. No cell may write to stderr.
"""
from pathlib import Path

import nbformat
import pytest

nbclient = pytest.importorskip("nbclient")

COURSE = Path(__file__).resolve().parents[1] / "course"

# chapter: [(the placeholder line as stored, a wrong answer, a right answer)]
ANSWERS = {
    "01_computational_graphs.ipynb": [
        ("    q = None  # your node, built from A1, x1 and b1",
         "    q = ds.reduce_sum(ds.square(A1 @ x1 + b1))",
         "    q = ds.reduce_sum(ds.square(A1 @ x1 - b1))"),
        ('my_order = None  # e.g. ["w", "p", ...]',
         'my_order = ["v", "m", "s", "p", "w"]',
         'my_order = ["p", "w", "s", "m", "v"]'),
    ],
    "02_perceptrons.ipynb": [
        ("my_w, my_b = None, None  # e.g. np.array([..., ...]), 0.0",
         "my_w, my_b = np.array([1.0, 1.0]), -1.0",
         "my_w, my_b = np.array([-2.0, -2.0]), 2.0"),
        ("    return None  # your numpy code",
         "    return np.exp(A) / np.exp(A).sum(axis=1, keepdims=True)",
         "    e = np.exp(A - A.max(axis=1, keepdims=True))\n    return e / e.sum(axis=1, keepdims=True)"),
    ],
    "03_training_criterion.ipynb": [
        ("my_dJ_db = None  # your numpy expression, from P and C",
         "my_dJ_db = np.sum(C - P, axis=0)",
         "my_dJ_db = np.sum(P - C, axis=0)"),
        ("my_mean_J = None      # a graph node built from J, e.g. with ds.multiply or ds.divide\n"
         "my_mean_dJ_dW = None  # your numpy expression, from X, P and C",
         "my_mean_J = 0.05\nmy_mean_dJ_dW = X.T @ (P - C)",  # a number, not a node
         "my_mean_J = ds.divide(J, float(len(X)))\nmy_mean_dJ_dW = X.T @ (P - C) / len(X)"),
    ],
}


def _text(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


@pytest.mark.parametrize("chapter", sorted(ANSWERS))
def test_self_checks_tell_right_from_wrong(chapter):
    nb = nbformat.read(COURSE / chapter, as_version=4)
    runs = []  # (index of the stored cell, of the wrong-answer copy, of the right-answer copy)
    for placeholder, wrong, right in ANSWERS[chapter]:
        (i,) = [i for i, c in enumerate(nb.cells) if placeholder in c.source]
        stored = nb.cells[i]
        copies = [nbformat.v4.new_code_cell(stored.source.replace(placeholder, answer)) for answer in (wrong, right)]
        nb.cells[i + 1:i + 1] = copies
        runs.append(i)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(COURSE)}}).execute()
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not [o for o in cell.outputs if o.get("name") == "stderr"], f"stderr in:\n{cell.source}"
    for i in runs:
        stored, wrong, right = (_text(nb.cells[j]) for j in (i, i + 1, i + 2))
        assert "not done yet" in stored and "correct" not in stored, stored
        assert "not yet" in wrong and "correct" not in wrong, wrong
        assert "correct" in right and "not yet" not in right and "not done" not in right, right
