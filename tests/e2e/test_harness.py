"""The harness itself, on a small notebook written here: a slider wired to an Output, and a Graphviz
graph. When this fails, the problem is the browser, the server or the widget manager, not a chapter."""
import nbformat
import pytest

pytestmark = pytest.mark.e2e

CELLS = [
    "import ipywidgets as widgets\n"
    "slider = widgets.IntSlider(value=3, min=0, max=10, description='n')\n"
    "out = widgets.Output()\n"
    "def show(change=None):\n"
    "    out.clear_output()\n"
    "    with out:\n"
    "        print(f'value is {slider.value}')\n"
    "slider.observe(show, names='value')\n"
    "show()\n"
    "widgets.VBox([slider, out])",
    "import graphviz\n"
    "import dlscratch.viz\n"
    "dlscratch.viz.configure_dot()\n"
    "g = graphviz.Digraph()\n"
    "g.edge('harness_in', 'harness_out')\n"
    "g",
]


def test_slider_output_and_graph(lab):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, lab.server.root / "harness.ipynb")

    lab.run_chapter("harness.ipynb")
    notebook = lab.notebook

    handle = notebook.locator(".widget-slider .noUi-handle")
    text = notebook.locator(".widget-output")
    handle.wait_for()
    assert "value is 3" in text.inner_text()
    handle.focus()
    handle.press("ArrowRight")
    notebook.get_by_text("value is 4").wait_for()

    (svg,) = lab.svg_texts()
    assert {"harness_in", "harness_out"} <= set(lab.svg_labels(svg))
    lab.screenshot("harness")
