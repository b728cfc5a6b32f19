"""Both ways of getting a dot program: a system Graphviz, and the graphviz-pure wheel."""
import shutil
import sys
from pathlib import Path

import graphviz.backend.dot_command as dot_command
import pytest

import dlscratch as ds
from dlscratch.viz import dot as viz_dot
from dlscratch.viz import draw_graph, render

SYSTEM_DOT = shutil.which("dot")


def hide_system_dot(monkeypatch):
    real_which = shutil.which

    def which(name, *args, **kwargs):
        return None if name == "dot" else real_which(name, *args, **kwargs)
    monkeypatch.setattr(viz_dot.shutil, "which", which)


def small_graph():
    g = ds.Graph()
    with g.as_default():
        x = ds.placeholder(shape=(2,), name="x")
        w = ds.Variable([0.5, -1.0], name="w")
        return ds.reduce_sum(ds.sigmoid(x * w), name="loss"), {x: [1.0, 2.0]}


@pytest.mark.skipif(SYSTEM_DOT is None, reason="no system Graphviz on PATH")
def test_system_dot_is_preferred_and_renders_svg():
    assert viz_dot.configure_dot() == SYSTEM_DOT
    assert str(dot_command.DOT_BINARY) == SYSTEM_DOT
    loss, feed = small_graph()
    svg = render(draw_graph(loss, feed_dict=feed, gradients=True), "svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "graphviz-pure" not in svg
    assert ">loss<" in svg and "Sigmoid" in svg


def test_without_system_dot_graphviz_pure_renders_svg(monkeypatch):
    hide_system_dot(monkeypatch)
    path = viz_dot.configure_dot()
    assert Path(path).name.startswith("graphviz-pure")
    assert Path(path).is_file()
    assert dot_command.DOT_BINARY == Path(path)  # the module attribute the package really reads
    loss, feed = small_graph()
    svg = render(draw_graph(loss, feed_dict=feed, gradients=True), "svg").decode()
    assert "graphviz-pure" in svg  # its generator comment: proof that this binary drew it
    assert "<svg" in svg and ">loss<" in svg and "Sigmoid" in svg


def test_graphviz_pure_is_found_next_to_the_interpreter_even_off_path(monkeypatch):
    # A Jupyter kernel often runs without the venv's bin on PATH.
    monkeypatch.setattr(viz_dot.shutil, "which", lambda *a, **k: None)
    path = viz_dot.find_dot()
    assert Path(path).parent == Path(sys.executable).parent


def test_a_clear_error_when_there_is_no_dot_at_all(monkeypatch, tmp_path):
    monkeypatch.setattr(viz_dot.shutil, "which", lambda *a, **k: None)
    monkeypatch.setattr(viz_dot.sys, "executable", str(tmp_path / "python"))
    monkeypatch.setattr(viz_dot.sysconfig, "get_path", lambda name: str(tmp_path))
    with pytest.raises(viz_dot.GraphvizNotFound, match="pip install graphviz-pure"):
        viz_dot.configure_dot()


def test_prefer_system_false_picks_graphviz_pure():
    assert Path(viz_dot.find_dot(prefer_system=False)).name.startswith("graphviz-pure")


def test_draw_graph_configures_dot_on_first_use(monkeypatch):
    monkeypatch.setattr(dot_command, "DOT_BINARY", Path("dot"))  # the package's default, a bare name
    loss, _ = small_graph()
    draw_graph(loss)
    assert dot_command.DOT_BINARY.is_absolute()


@pytest.mark.parametrize("backend", ["system", "graphviz-pure"])
def test_both_programs_draw_the_png_a_stored_notebook_shows(monkeypatch, backend):
    """The PNG beside the SVG (what JupyterLab shows before a notebook is trusted) comes from the same
    dot program, with the same layout: its size in px is the SVG's in points x 4/3."""
    import io

    from PIL import Image

    from dlscratch.viz.render import PX_PER_POINT, svg_size

    if backend == "system":
        if SYSTEM_DOT is None:
            pytest.skip("no system Graphviz on PATH")
        viz_dot.configure_dot()
    else:
        hide_system_dot(monkeypatch)
        viz_dot.configure_dot()
    loss, feed = small_graph()
    drawing = draw_graph(loss, feed_dict=feed, gradients=True)
    svg = drawing.picture("svg").decode()
    assert ("graphviz-pure" in svg) == (backend == "graphviz-pure")
    image = Image.open(io.BytesIO(render(drawing, "png")))
    image.load()
    width, height = svg_size(svg)
    assert abs(image.width - width * PX_PER_POINT) <= 2 and abs(image.height - height * PX_PER_POINT) <= 2
    assert len(image.convert("RGB").getcolors(maxcolors=100_000)) > 20  # text and colours, not blank
