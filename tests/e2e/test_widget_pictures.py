"""What a reader sees of each widget in JupyterLab: in a stored notebook opened before anything runs
(not trusted, no widget state) a picture of the widget; after running, the live widget, and never
the widget's text repr."""
import os
import re

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.e2e

CALLS = ["PerceptronPlayground(", "LearningRateExplorer(", "TrainingPlayground(", "BackpropStepper.example("]
CELLS = ["import dlscratch as ds\n"
         "from dlscratch.viz.widgets import (BackpropStepper, LearningRateExplorer, PerceptronPlayground,\n"
         "                                   TrainingPlayground)",
         "PerceptronPlayground()", "LearningRateExplorer()", "TrainingPlayground()", "BackpropStepper.example()"]
NOTEBOOK = "widget_pictures.ipynb"
JS_SHOWN_SCALE = "(img) => img.clientWidth / img.naturalWidth"  # 1: shown at its own size


def stored_notebook(folder):
    """The widgets' cells executed as scripts/run_chapters.py does (no widget state kept), saved
    unsigned: what a reader finds in a chapter before running anything."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    saved = os.environ.get("TQDM_DISABLE")
    NotebookClient(nb, timeout=300, kernel_name="python3", record_timing=False, store_widget_state=False,
                   resources={"metadata": {"path": str(folder)}}).execute()
    assert os.environ.get("TQDM_DISABLE") == saved
    nb.metadata.pop("widgets", None)
    for cell in nb.cells[1:]:
        (output,) = cell.outputs
        assert {"image/png", "application/vnd.jupyter.widget-view+json"} <= set(output["data"]), cell.source
    nbformat.write(nb, folder / NOTEBOOK)


def test_each_widget_shows_a_picture_before_running_and_itself_after(lab):
    stored_notebook(lab.server.root)
    lab.open(NOTEBOOK)
    outputs = {}
    for call in CALLS:
        name = call.split("(")[0].split(".")[0]
        output = lab.cell(lab.cell_index(call)).locator(".jp-OutputArea")
        picture = output.locator(".jp-RenderedImage img")
        picture.wait_for(timeout=20_000)
        lab.settled(picture, f"opening the stored notebook ({name})")  # loaded and not blank
        assert f"<{name}" not in output.inner_text(), f"{name}: its text repr is shown in the stored notebook"
        assert picture.evaluate("(i) => i.clientWidth") >= 400, f"{name}: the picture is shown too small"
        outputs[name] = output
    lab.screenshot("widget-pictures-stored", outputs["PerceptronPlayground"], outputs["LearningRateExplorer"])
    lab.screenshot("widget-pictures-stored-stepper", outputs["BackpropStepper"])

    lab.run_all()
    for call in CALLS:
        name = call.split("(")[0].split(".")[0]
        output = lab.widget_output(call)  # the live widget, no text repr
        assert output.locator(".jp-RenderedImage").count() == 0, f"{name}: the static picture is shown live too"

    # the live perceptron answers its sliders
    perceptron = lab.widget_output("PerceptronPlayground(")
    picture = perceptron.locator("img.widget-image")
    before = lab.settled(picture)
    handle = perceptron.locator(".widget-slider .noUi-handle").first
    track = handle.evaluate("(h) => h.closest('.noUi-target').getBoundingClientRect().width")
    print(f"perceptron slider track: {track:.0f} px")
    assert track >= 300, f"the perceptron's sliders are {track:.0f} px long: a drag jumps"
    handle.focus()
    handle.press("ArrowRight")
    assert lab.settled(picture, "a slider step") != before, "the picture did not change with the slider"

    # the stepper's graph is shown big enough to read
    stepper = lab.widget_output("BackpropStepper.example(")
    graph = stepper.locator("img.widget-image")
    svg = lab.image_text(graph)
    smallest_pt = min(float(s) for s in re.findall(r'font-size="([\d.]+)"', svg))
    scale = graph.evaluate(JS_SHOWN_SCALE)
    text_px = smallest_pt * 4 / 3 * scale
    width = graph.evaluate("(i) => i.clientWidth")
    print(f"stepper graph: {width} px wide, smallest text {text_px:.1f} px")
    assert text_px >= 11, f"the stepper's graph text is {text_px:.1f} px ({width} px wide graph)"
    lab.screenshot("widget-pictures-live-stepper", stepper)
    lab.check_layout()


FIT_CELLS = ["import dlscratch as ds\n"
             "from dlscratch import viz\n"
             "g = ds.Graph()\n"
             "with g.as_default():\n"
             "    w = ds.Variable([1.0, -2.0], name='w')\n"
             "    loss = ds.reduce_sum(ds.square(w))\n"
             "    train_op = ds.train.GradientDescentOptimizer(0.05).minimize(loss)\n"
             "session = ds.Session(g)",
             "history = viz.fit(session, train_op, loss, {}, steps=3000, description='demo')"]


def test_a_finished_progress_bar_is_replaced_by_its_summary(lab):
    """Live, the bar runs; when training ends the output (and so a saved notebook) holds one line of
    text, not a bar whose widget state is lost (it would read 0% for ever)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in FIT_CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, lab.server.root / "fit_summary.ipynb")
    lab.open("fit_summary.ipynb")
    cells = lab.run_all()
    outputs = next(c for c in cells if "viz.fit" in c["source"])["outputs"]
    assert [o["output_type"] for o in outputs] == ["display_data"], outputs
    data = outputs[0]["data"]
    assert set(data) == {"text/plain"}, f"the finished bar left {sorted(data)}"
    text = "".join(data["text/plain"]) if isinstance(data["text/plain"], list) else data["text/plain"]
    assert text.startswith("demo: 3000 steps, loss 5 → ") and "%" not in text, text
    cell = lab.cell(lab.cell_index("viz.fit"))
    assert cell.locator(".widget-progress").count() == 0
    assert text in cell.locator(".jp-OutputArea").inner_text()
    lab.screenshot("fit-summary", cell)
