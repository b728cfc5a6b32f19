"""The chapters in JupyterLab, as a learner sees them: Run All Cells, then every widget is drawn and
answers its controls (slider by keyboard, buttons by click) with a new picture and new text.

Chapters are found by what their code uses, so renaming or renumbering one doesn't lose its test;
a widget that no chapter uses fails, since no learner would ever see it.
"""
import json
import os
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

COURSE = Path(__file__).resolve().parents[2] / "course"
WIDGETS = ["PerceptronPlayground(", "LearningRateExplorer(", "TrainingPlayground(", "BackpropStepper("]
NEWCOMER_CHAPTER = "01_computational_graphs.ipynb"  # test_newcomer.py runs this one, through course.sh
HIGHLIGHT = "#db2777"
LOSS = r"mean cross-entropy\)\s*([\d.]+)"  # the perceptron playground's read-outs
ACCURACY = r"accuracy\s*([\d.]+)%"  # dlscratch.viz.render.HIGHLIGHT: the node being processed, in pink


def code_of(path):
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def chapters_using(call):
    found = [f"course/{p.name}" for p in sorted(COURSE.glob("*.ipynb")) if any(call in s for s in code_of(p))]
    return found or [pytest.param(None, id="no-chapter")]


def chapters_without_widgets():
    return [f"course/{p.name}" for p in sorted(COURSE.glob("*.ipynb"))
            if p.name != NEWCOMER_CHAPTER and not any(w in s for s in code_of(p) for w in WIDGETS)]


def require(chapter, call):
    assert chapter is not None, f"no chapter in course/ calls {call}...): a learner never sees this widget"


def name_of(chapter):
    return Path(chapter).stem


def number(pattern, text):
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not found in {text!r}"
    return float(match.group(1))


def highlighted(svg):
    """The first label (the node's name) of every node drawn in the highlight colour."""
    nodes = re.findall(r'<g id="[^"]*" class="node">(.*?)</g>', svg, flags=re.S)
    return [re.search(r"<text[^>]*>([^<]*)</text>", n).group(1) for n in nodes if HIGHLIGHT in n.lower()]


@pytest.mark.parametrize("chapter", chapters_using("PerceptronPlayground("))
def test_perceptron_playground(lab, chapter):
    require(chapter, "PerceptronPlayground(")
    lab.run_chapter(chapter)
    widget = lab.widget_output("PerceptronPlayground(")
    handles = widget.locator(".widget-slider .noUi-handle")
    assert handles.count() == 3, "the sigmoid version has three sliders: w1, w2 and b"
    picture = widget.locator("img.widget-image")
    before = lab.settled(picture)
    loss_before = number(LOSS, widget.inner_text())

    handles.first.focus()
    for _ in range(5):
        handles.first.press("ArrowRight")
    moved = lab.settled(picture, "moving w1 by keyboard")
    assert moved != before, "the plot did not change when w1 moved"
    assert number(LOSS, widget.inner_text()) != loss_before, "the loss read-out did not change when w1 moved"

    widget.get_by_role("button", name="Train 100 steps").click()
    lab.wait_until(lambda: lab.image_digest(picture) != moved, "a new plot after 'Train 100 steps'")
    lab.settled(picture, "'Train 100 steps'")
    assert number(ACCURACY, widget.inner_text()) >= 90, "100 steps of gradient descent should separate red from blue"
    lab.screenshot(f"{name_of(chapter)}-perceptron-playground", widget)
    lab.check_layout()


@pytest.mark.parametrize("chapter", chapters_using("LearningRateExplorer("))
def test_learning_rate_explorer(lab, chapter):
    require(chapter, "LearningRateExplorer(")
    lab.run_chapter(chapter)
    widget = lab.widget_output("LearningRateExplorer(")
    learning_rate = widget.locator(".widget-slider .noUi-handle").first
    for optimizer in ("GD", "momentum", "Adam"):
        assert widget.get_by_role("button", name=optimizer).is_visible(), f"no {optimizer} button"
    picture = widget.locator("img.widget-image")
    first = lab.settled(picture)
    assert "Diverged" not in widget.inner_text()

    learning_rate.focus()
    learning_rate.press("ArrowRight")  # one step up the log scale
    lab.wait_until(lambda: lab.image_digest(picture) != first, "a new path after a larger learning rate")
    learning_rate.press("End")  # the largest learning rate, 10: far too large
    widget.get_by_text("Diverged").wait_for()
    assert "Lower the learning rate" in widget.inner_text()
    diverged = lab.settled(picture, "the largest learning rate")
    lab.screenshot(f"{name_of(chapter)}-learning-rate-explorer-diverged", widget)

    learning_rate.press("Home")  # back to the smallest, 0.001: no divergence
    lab.wait_until(lambda: "Diverged" not in widget.inner_text() and lab.image_digest(picture) != diverged,
                   "back to a converging path at the smallest learning rate")
    lab.check_layout()


@pytest.mark.parametrize("chapter", chapters_using("TrainingPlayground("))
def test_training_playground(lab, chapter):
    require(chapter, "TrainingPlayground(")
    lab.run_chapter(chapter)
    widget = lab.widget_output("TrainingPlayground(")
    assert widget.locator(".widget-slider .noUi-handle").count() >= 5, "the sliders for the settings are missing"
    picture = widget.locator("img.widget-image")
    before = lab.settled(picture)
    assert "Press Train" in widget.inner_text()

    widget.get_by_role("button", name="Train").click()
    lab.wait_until(lambda: re.search(r"step \d+: train loss", widget.inner_text()), "trained (status line)", 60)
    assert lab.settled(picture, "Train") != before, "the decision boundary did not change after Train"
    text = widget.inner_text()
    assert "Diverged" not in text, text
    lab.screenshot(f"{name_of(chapter)}-training-playground", widget)

    trained = lab.image_digest(picture)
    widget.get_by_role("button", name="Reset").click()
    lab.wait_until(lambda: "Press Train" in widget.inner_text(), "reset (status line)")
    assert lab.settled(picture, "Reset") != trained, "the picture did not change after Reset"
    lab.check_layout()


@pytest.mark.parametrize("chapter", chapters_using("BackpropStepper("))
def test_backprop_stepper(lab, chapter):
    require(chapter, "BackpropStepper(")
    lab.run_chapter(chapter)
    widget = lab.widget_output("BackpropStepper(")
    button = {name: widget.get_by_role("button", name=name) for name in ("Start", "Previous", "Next", "End")}
    assert button["Previous"].is_disabled() and button["Next"].is_enabled()
    picture = widget.locator("img.widget-image")
    start = lab.image_text(picture)
    assert "<svg" in start, "the stepper's picture is not an SVG graph"
    at_start = highlighted(start)
    assert at_start, "no node is highlighted at the start (the loss should be)"
    total = int(number(r"Step 0 of (\d+)", widget.inner_text()))

    # Next until the highlight moves off the loss: the first step processes the loss op itself.
    for step in range(1, total + 1):
        previous = lab.image_text(picture)
        button["Next"].click()
        widget.get_by_text(f"Step {step} of {total}", exact=True).wait_for()
        lab.wait_until(lambda shown=previous: lab.image_text(picture) != shown, f"a new graph after Next (step {step})")
        if highlighted(lab.image_text(picture)) != at_start:
            break
    now = highlighted(lab.image_text(picture))
    assert now and now != at_start, f"the highlight never moved from {at_start}"
    assert "∂" in widget.inner_text(), "no chain-rule explanation beside the graph"
    lab.settled(picture)
    lab.screenshot(f"{name_of(chapter)}-backprop-stepper", widget)

    readme_screenshot(lab, chapter, widget)

    button["End"].click()
    widget.get_by_text("every gradient is known").wait_for()
    assert button["Next"].is_disabled()
    lab.check_layout()


def readme_screenshot(lab, chapter, widget):
    """The README's picture: the stepper (a widget drawing a graph) in JupyterLab, with the text above it,
    as a small PNG: test-artifacts/e2e/readme-screenshot.png, and docs/screenshot.png when
    DLSCRATCH_UPDATE_SCREENSHOT=1."""
    from PIL import Image

    stepper = lab.cell_index("BackpropStepper(")
    width = 1300
    lab.page.set_viewport_size({"width": width, "height": 1000})
    lab.page.evaluate("window.jupyterapp.commands.execute('application:toggle-left-area')")

    def show_from_text_above():  # the text cell just above the stepper at the top of the notebook
        lab.cell(stepper - 1).evaluate("el => el.scrollIntoView({block: 'start'})")
        lab.page.wait_for_timeout(800)
    show_from_text_above()
    bottom = widget.bounding_box()
    height = round(bottom["y"] + bottom["height"] + 40)  # and the status bar below it
    lab.page.set_viewport_size({"width": width, "height": height})
    show_from_text_above()
    raw = lab.screenshot("readme-screenshot-raw")
    picture = Image.open(raw).convert("RGB")
    picture = picture.resize((1000, round(height * 1000 / width)), Image.LANCZOS)
    small = picture.quantize(colors=160, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    targets = [raw.with_name("readme-screenshot.png")]
    if os.environ.get("DLSCRATCH_UPDATE_SCREENSHOT"):
        targets.append(COURSE.parent / "docs" / "screenshot.png")
    for target in targets:
        target.parent.mkdir(exist_ok=True)
        small.save(target, optimize=True)
        assert target.stat().st_size < 200_000, f"{target} is {target.stat().st_size} bytes: too big for the README"



@pytest.mark.parametrize("chapter", chapters_without_widgets())
def test_chapter_runs_and_draws(lab, chapter):
    """Chapters without a widget: every cell runs, nothing on stderr, every graph drawn."""
    cells = lab.run_chapter(chapter)
    assert any(c["outputs"] for c in cells), f"{chapter} shows no output at all"
    lab.screenshot(f"{name_of(chapter)}-end")
    lab.check_layout()
