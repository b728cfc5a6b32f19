"""The chapters as a new reader first sees them: opened in JupyterLab, NOT run, so not trusted.

JupyterLab shows stored SVG only in a trusted notebook; in an untrusted one it falls back to the next
form in the output (draw_graph stores a PNG of the same layout beside the SVG). So for every chapter:
  (a) every stored drawing shows as a picture, and no output shows a text repr like
      `<graphviz.graphs.Digraph at 0x...>` instead;
  (b) the smallest text of every drawing is at least MIN_TEXT_PX as displayed in the 968 px column,
      both as the PNG (untrusted) and as the SVG (after Trust);
  (c) figures are shown at their own size, not squeezed into the column.
Screenshots go to test-artifacts/e2e/stored-*.png.
"""
import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

COURSE = Path(__file__).resolve().parents[2] / "course"
CHAPTERS = [f"course/{p.name}" for p in sorted(COURSE.glob("[0-9]*.ipynb"))]
MIN_TEXT_PX = 11  # dlscratch.viz.render.MIN_TEXT_PX (not imported: the browser tests check the product as is)
GRAPH = "image/svg+xml"
WIDGET = "application/vnd.jupyter.widget-view+json"

# For each code cell (by its notebook index): what each of its outputs shows in the page.
JS_SHOWN_OUTPUTS = """async (indices) => {
    const notebook = window.jupyterapp.shell.currentWidget.content;
    const shown = {};
    for (const index of indices) {
        await notebook.scrollToItem(index, 'start');
        const cell = notebook.widgets[index];
        await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
        const outputs = [...cell.node.querySelectorAll('.jp-OutputArea-child > .jp-OutputArea-output')];
        shown[index] = outputs.map(o => {
            const img = o.querySelector('img');
            return {classes: [...o.classList], text: o.innerText.slice(0, 300),
                    column: o.clientWidth,
                    img: img && {complete: img.complete, naturalWidth: img.naturalWidth,
                                 width: img.getBoundingClientRect().width,
                                 src: img.src.slice(0, 30)}};
        });
    }
    return shown;
}"""
JS_TRUSTED = "() => window.jupyterapp.shell.currentWidget.content.model.cells.get(0).trusted"


def stored_outputs(chapter):
    """{cell index: [output, ...]} of the chapter's code cells with outputs, as stored on disk, with
    consecutive stream outputs of one name merged, as JupyterLab shows them."""
    cells = json.loads((COURSE.parent / chapter).read_text())["cells"]
    return {i: merge_streams(c["outputs"]) for i, c in enumerate(cells)
            if c["cell_type"] == "code" and c.get("outputs")}


def merge_streams(outputs):
    merged = []
    for output in outputs:
        previous = merged[-1] if merged else {}
        if output["output_type"] == "stream" and previous.get("output_type") == "stream" \
                and previous["name"] == output["name"]:
            merged[-1] = {**previous, "text": "".join(previous["text"]) + "".join(output["text"])}
        else:
            merged.append(output)
    return merged


def smallest_svg_text(svg):
    """(smallest font-size x the drawing's own scale, viewBox width): the text in SVG user units
    per viewBox, so that shown px = text * displayed width / viewBox width."""
    scale = re.search(r'class="graph" transform="scale\(([\d.]+)', svg)
    sizes = [float(s) for s in re.findall(r'font-size="([\d.]+)"', svg)]
    assert sizes, "a drawing without text"
    view_box = re.search(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) [\d.]+"', svg)
    return min(sizes) * (float(scale.group(1)) if scale else 1.0), float(view_box.group(1))


def shown(lab, indices):
    """What the page shows for the given cells, once every picture in them has loaded."""
    def loaded():
        result = lab.page.evaluate(JS_SHOWN_OUTPUTS, list(indices))
        pictures = [o["img"] for outs in result.values() for o in outs if o["img"]]
        return result if all(p["complete"] and p["naturalWidth"] > 0 for p in pictures) else None
    return {int(k): v for k, v in lab.wait_until(loaded, "showing every stored picture").items()}


def graph_text_problems(stored, page, kind):
    """(b): for each drawing shown as `kind` ("PNG" or "SVG"), (its smallest text in px as displayed,
    cell index); and the problems found."""
    sizes, problems = [], []
    for index, outputs in stored.items():
        for output, seen in zip(outputs, page[index]):
            svg = output.get("data", {}).get(GRAPH)
            if svg is None or not seen["img"]:
                continue
            text, view_width = smallest_svg_text("".join(svg))
            px = text * seen["img"]["width"] / view_width
            sizes.append((px, index))
            if px < MIN_TEXT_PX:
                problems.append(f"cell {index}: the drawing's smallest text is {px:.1f} px as {kind} "
                                f"({seen['img']['width']:.0f} px wide in a {seen['column']} px column)")
    return sizes, problems


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_a_stored_chapter_shows_its_drawings_and_figures_before_anything_runs(lab, chapter):
    stored = stored_outputs(chapter)
    lab.open(chapter)
    assert not lab.page.evaluate(JS_TRUSTED), "the copy should be untrusted, as for a new reader"
    page = shown(lab, stored)

    problems = []
    graphs = figures = 0
    for index, outputs in stored.items():
        seen = page[index]
        if len(seen) != len(outputs):
            problems.append(f"cell {index}: {len(outputs)} stored outputs, {len(seen)} shown")
            continue
        for output, view in zip(outputs, seen):
            data = output.get("data", {})
            if re.search(r"<graphviz\.|at 0x[0-9a-f]+", view["text"]):  # (a) a repr instead of a picture
                problems.append(f"cell {index} shows the text {view['text'][:80]!r}")
            if GRAPH in data:  # (a) the drawing, as a picture (the PNG: the notebook is untrusted)
                graphs += 1
                if not view["img"] or "jp-RenderedImage" not in view["classes"]:
                    problems.append(f"cell {index}: a stored drawing shows as {view['classes']} "
                                    f"{view['text'][:60]!r}, not as a picture")
            elif "image/png" in data and WIDGET not in data:  # (c) a figure, at its own size
                figures += 1
                img = view["img"]
                if not img:
                    problems.append(f"cell {index}: a stored figure is not shown")
                elif img["width"] < img["naturalWidth"] - 1:
                    problems.append(f"cell {index}: a {img['naturalWidth']} px wide figure is squeezed to "
                                    f"{img['width']:.0f} px ({img['width'] / img['naturalWidth']:.0%})")
    sizes, small = graph_text_problems(stored, page, "PNG")
    problems += small
    name = Path(chapter).stem
    if sizes:  # the drawing with the smallest text, as the reader sees it
        lab.screenshot(f"stored-{name}-graph", lab.cell(min(sizes)[1]))
    if figures:
        widest = max((view["img"]["naturalWidth"], index) for index, outputs in stored.items()
                     for output, view in zip(outputs, page[index])
                     if view["img"] and GRAPH not in output.get("data", {}) and WIDGET not in output.get("data", {}))
        lab.screenshot(f"stored-{name}-figure", lab.cell(widest[1]))
    problems = [f"opened without running it: {p}" for p in problems]
    assert graphs == sum(GRAPH in o.get("data", {}) for outs in stored.values() for o in outs)

    if graphs:
        problems += [f"trusted: {p}" for p in trusted_graph_problems(lab, stored, graphs, name)]
    assert not problems, f"{chapter}:\n  " + "\n  ".join(problems)
    assert len(sizes) == graphs  # every drawing was measured


def trusted_graph_problems(lab, stored, graphs, name):
    """Trusted (as after the reader runs it), JupyterLab shows the SVG: its text must be readable too."""
    lab.page.evaluate("() => { window.jupyterapp.commands.execute('notebook:trust'); }")  # settles on the answer
    lab.page.get_by_role("button", name="Trust").click()
    lab.wait_until(lambda: lab.page.evaluate(JS_TRUSTED), "trusted")
    lab.wait_until(lambda: lab.notebook.locator(".jp-RenderedSVG img").count() == graphs,
                   f"showing the {graphs} drawings as SVG once trusted")
    svg_sizes, small = graph_text_problems(stored, shown(lab, stored), "SVG")
    lab.screenshot(f"stored-{name}-graph-trusted", lab.cell(min(svg_sizes)[1]))
    assert len(svg_sizes) == graphs
    return small
