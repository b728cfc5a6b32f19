"""Chapter 4's practice checks: they pass right answers, reject wrong ones, and report a placeholder as not done.

The chapter's code runs here as a learner would run it (the stored notebook ships the placeholders), then the
check functions it defines are called with answers the notebook does not store.
"""
import contextlib
import io
import json
from pathlib import Path

import matplotlib
import numpy as np
import pytest

CHAPTER = Path(__file__).resolve().parents[1] / "course" / "04_gradient_descent.ipynb"


@pytest.fixture(scope="module")
def chapter(monkeypatch_module):
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    monkeypatch_module.setattr(plt, "show", lambda *a, **k: plt.close("all"))
    monkeypatch_module.setenv("TQDM_DISABLE", "1")
    cells = [c for c in json.loads(CHAPTER.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    namespace, printed = {}, {}
    for i, cell in enumerate(cells):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile("".join(cell["source"]), f"{CHAPTER.name} code cell {i}", "exec"), namespace)
        printed[i] = out.getvalue()
    plt.close("all")
    yield namespace, printed
    import dlscratch as ds
    ds.reset_default_graph()  # the chapter makes its graphs the default, as a learner's session would


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def said(check, *args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        check(*args)
    return out.getvalue()


def test_the_stored_placeholders_are_reported_as_not_done(chapter):
    _, printed = chapter
    not_done = [text for text in printed.values() if text.startswith("Not done yet")]
    assert len(not_done) == 3, printed


def test_the_gradient_check_accepts_the_right_formulas_and_rejects_wrong_ones(chapter):
    ns, _ = chapter

    def right(w, b, x, y):
        r = w * x + b - y
        return 2 * np.mean(r * x), 2 * np.mean(r)

    def forgot_the_two(w, b, x, y):
        r = w * x + b - y
        return np.mean(r * x), np.mean(r)

    assert said(ns["check_squared_error_gradients"], right).startswith("Correct")
    assert said(ns["check_squared_error_gradients"], forgot_the_two).startswith("Not yet")
    assert said(ns["check_squared_error_gradients"], lambda w, b, x, y: 1.0).startswith("Return two numbers")


@pytest.mark.parametrize("answer, verdict", [(0.02, "Correct"), (2 / 100, "Correct"), (0.01, "Too small"),
                                             (0.03, "Too large"), (None, "Not done yet")])
def test_the_limit_check_knows_the_ravines_limit(chapter, answer, verdict):
    ns, _ = chapter
    assert said(ns["check_limit"], answer).startswith(verdict)


def test_the_schedule_check_passes_decaying_rates_and_fails_constant_ones(chapter):
    ns, _ = chapter
    check = ns["check_schedule"]
    assert said(check, lambda step: 0.5 ** (step / 50)).startswith("Well done")   # the chapter's own schedule
    assert said(check, lambda step: 1.0 if step < 100 else 0.1 if step < 200 else 0.01).startswith("Well done")
    assert said(check, lambda step: 0.03).startswith("Not yet")  # the text says both constant rates fail
    assert said(check, lambda step: 1.0).startswith("Not yet")
