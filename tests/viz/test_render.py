"""draw_graph: what the DOT source says, that it is deterministic, and how the picture shows in a notebook."""
import base64
import io
import re
import time

import graphviz
import numpy as np
import pytest
from PIL import Image

import dlscratch as ds
from dlscratch.viz import draw_graph, render
from dlscratch.viz.render import (
    COLUMN_PX,
    GRADIENT_BACKGROUND,
    HIGHLIGHT,
    MIN_SCALE,
    MIN_TEXT_PX,
    PX_PER_POINT,
    STYLES,
    svg_size,
)


def node_line(source, node):
    """The DOT statement that draws `node` (its id is n<node.id>)."""
    lines = [line for line in source.splitlines() if line.strip().startswith(f"n{node.id} [")]
    assert len(lines) == 1, f"expected one statement for {node.name}"
    return lines[0]


def drawn_ids(source):
    return [i for i in re.findall(r"^\s*(\w+) \[", source, flags=re.M) if i not in ("node", "edge", "graph")]


def test_each_kind_of_node_has_its_own_shape_and_colour(net):
    g = net["graph"]
    with g.as_default():
        scaled = ds.multiply(ds.constant(0.5, name="half"), net["loss"])
    source = draw_graph(scaled).source
    kinds = {"placeholder": net["x"], "variable": g.get_node("hidden1/W"),
             "constant": g.get_node("half"), "op": net["probabilities"]}
    looks = set()
    for kind, node in kinds.items():
        line = node_line(source, node)
        style = STYLES[kind]
        assert f"shape={style['shape']}" in line and style["fillcolor"] in line, kind
        looks.add((style["shape"], style["fillcolor"]))
    assert len(looks) == 4


def test_labels_show_name_op_shape_and_value_summary(net):
    values = ds.Session(net["graph"]).evaluate_all(net["loss"], net["feed"])
    source = draw_graph(net["loss"], values).source
    loss_line = node_line(source, net["loss"])
    assert "<B>loss</B>" in loss_line and ">Sum<" in loss_line
    assert f">{float(values[net['loss']]):.4g}<" in loss_line  # a scalar, to 4 significant digits
    hidden = node_line(source, net["hidden"])
    assert "hidden1/sigmoid" in hidden and "Sigmoid" in hidden and "shape (4, 3)" in hidden
    W = net["graph"].get_node("hidden1/W")
    assert f"{W.value[0, 0]:.4g}" in node_line(source, W)  # small arrays in full
    assert GRADIENT_BACKGROUND not in source  # no gradients given, no gradient rows


def test_gradient_rows_hold_the_gradients_in_their_own_colour(net):
    grads = ds.compute_gradients(net["loss"], net["feed"])
    source = draw_graph(net["loss"], feed_dict=net["feed"], gradients=grads).source
    b = net["graph"].get_node("output/b")
    line = node_line(source, b)
    assert GRADIENT_BACKGROUND in line
    row = line[line.index(GRADIENT_BACKGROUND):]
    for g in grads[b]:
        assert f"{g:.4g}" in row
    assert source.count(GRADIENT_BACKGROUND) == len(grads)


def test_gradients_true_computes_them_from_the_feed(net):
    grads = ds.compute_gradients(net["loss"], net["feed"])
    given = draw_graph(net["loss"], feed_dict=net["feed"], gradients=grads).source
    computed = draw_graph(net["loss"], feed_dict=net["feed"], gradients=True).source
    assert given == computed


def test_session_and_feed_give_the_same_drawing_as_values(net):
    session = ds.Session(net["graph"])
    values = session.evaluate_all(net["loss"], net["feed"])
    assert draw_graph(net["loss"], session=session, feed_dict=net["feed"]).source == \
        draw_graph(net["loss"], values).source


def build_and_draw():
    """A fresh graph with a training op; two drawings of it (different options)."""
    g = ds.Graph()
    with g.as_default():
        x = ds.placeholder(shape=(None, 2), name="x")
        h = ds.nn.dense(x, 3, "tanh", name="hidden1", seed=0)
        loss = ds.reduce_mean(ds.square(ds.nn.dense(h, 1, name="output", seed=1)), name="loss")
        ds.train.GradientDescentOptimizer(0.1).minimize(loss)
    feed = {x: np.arange(8.0).reshape(4, 2)}
    return (draw_graph(g, feed_dict=feed, number_order=True, highlight="hidden1/tanh").source
            + draw_graph(loss, feed_dict=feed, gradients=True, collapse=True).source)


def test_the_same_graph_built_twice_gives_byte_identical_source():
    first, second = build_and_draw(), build_and_draw()
    assert first == second
    assert "0x" not in first  # no memory addresses


def test_drawing_a_graph_with_a_training_op_does_not_train(net):
    g = net["graph"]
    with g.as_default():
        train = ds.train.GradientDescentOptimizer(1.0).minimize(net["loss"])
    W = g.get_node("hidden1/W")
    before = W.value.copy()
    source = draw_graph(g, feed_dict=net["feed"]).source
    np.testing.assert_array_equal(W.value, before)
    assert f"n{train.id} [" in source and STYLES["training"]["fillcolor"] in node_line(source, train)


def test_values_are_escaped_in_labels():
    g = ds.Graph()
    with g.as_default():
        x = ds.placeholder(shape=(2,), name='x<b>&"y"')
        loss = ds.reduce_sum(x, name="<loss>")
    dot = draw_graph(loss, feed_dict={x: [1.0, 2.0]}, gradients=True)
    assert "x&lt;b&gt;&amp;&quot;y&quot;" in dot.source and "&lt;loss&gt;" in dot.source
    assert "<b>" not in dot.source and "<loss>" not in dot.source
    assert b"<svg" in render(dot, "svg")  # dot accepts the label


def test_forward_only_leaves_out_gradients_and_training_nodes(net):
    g = net["graph"]
    with g.as_default():
        train = ds.train.AdamOptimizer(0.1).minimize(net["loss"])
        grad_nodes = ds.gradients(net["loss"], [g.get_node("output/W")])
    source = draw_graph(g, feed_dict=net["feed"], gradients=ds.compute_gradients(net["loss"], net["feed"]),
                        forward_only=True).source
    assert GRADIENT_BACKGROUND not in source
    ids = drawn_ids(source)
    assert f"n{train.id}" not in ids and f"n{grad_nodes[0].id}" not in ids
    assert f"n{net['loss'].id}" in ids
    full = drawn_ids(draw_graph(g).source)
    assert f"n{train.id}" in full and f"n{grad_nodes[0].id}" in full


def test_number_order_follows_evaluation_order(net):
    source = draw_graph(net["loss"], number_order=True).source
    order = ds.topological_order([net["loss"]])
    numbers = {n: int(re.search(r"<TD>#(\d+) ", node_line(source, n)).group(1)) for n in order}
    assert [numbers[n] for n in order] == list(range(1, len(order) + 1))
    assert numbers[net["loss"]] == len(order)
    assert "#1 " not in draw_graph(net["loss"]).source


def test_highlight_marks_the_node_and_its_paths_to_the_loss(net):
    g = net["graph"]
    source = draw_graph(net["loss"], highlight="hidden1/add").source
    on_path = ["hidden1/add", "hidden1/sigmoid", "output/matmul", "probabilities", "loss"]
    off_path = ["x", "y", "hidden1/W", "output/W", "hidden1/matmul"]
    for name in on_path:
        assert HIGHLIGHT in node_line(source, g.get_node(name)), name
    for name in off_path:
        assert HIGHLIGHT not in node_line(source, g.get_node(name)), name
    edges = re.findall(r"^\s*(n\d+) -> (n\d+)(.*)$", source, flags=re.M)
    highlighted = {(a, b) for a, b, rest in edges if HIGHLIGHT in rest}
    add, sig = g.get_node("hidden1/add"), g.get_node("hidden1/sigmoid")
    assert (f"n{add.id}", f"n{sig.id}") in highlighted
    W = g.get_node("output/W")
    mm = g.get_node("output/matmul")
    assert (f"n{W.id}", f"n{mm.id}") not in highlighted
    assert draw_graph(net["loss"], highlight=add).source == source  # a node or its name


def test_collapse_turns_each_scope_into_one_box(net):
    g = net["graph"]
    source = draw_graph(net["loss"], feed_dict=net["feed"], collapse=True).source
    ids = drawn_ids(source)
    assert "scope_hidden1" in ids and "scope_output" in ids
    assert not any(f"n{n.id}" in ids for n in g.nodes if "/" in n.name)
    assert source.count("scope_hidden1 -> scope_output") == 1  # several arrows become one
    assert "9 parameters" in source  # hidden1: W (2x3) and b (3)
    only_hidden = drawn_ids(draw_graph(net["loss"], collapse=["hidden1"]).source)
    assert "scope_hidden1" in only_hidden and "scope_output" not in only_hidden
    assert f"n{g.get_node('output/W').id}" in only_hidden


def test_a_big_network_is_collapsed_automatically_with_a_note():
    g = ds.Graph()
    with g.as_default():
        x = ds.placeholder(shape=(None, 4), name="x")
        h = x
        for i in range(60):
            h = ds.nn.dense(h, 4, "relu", name=f"layer{i}", seed=i)
        loss = ds.reduce_sum(h, name="loss")
    n = len(ds.topological_order([loss]))
    assert n > 300
    source = draw_graph(loss).source
    assert f"{n} nodes is more than max_nodes=300" in source and "collapsed" in source
    ids = drawn_ids(source)
    assert "scope_layer0" in ids and "scope_layer59" in ids and len(ids) == 60 + 2


def test_a_huge_unscoped_graph_is_cut_down_quickly():
    g = ds.Graph()
    with g.as_default():
        h = ds.placeholder(shape=(), name="x")
        for _ in range(5000):
            h = ds.tanh(h)
    start = time.perf_counter()
    dot = draw_graph(h, max_nodes=100)
    ids = drawn_ids(dot.source)
    assert len(ids) == 101 and ids[0] == "elided" and f"n{h.id}" in ids
    assert "4901 earlier nodes left out" in dot.source
    render(dot, "svg")
    assert time.perf_counter() - start < 10


def test_draw_graph_of_a_list_of_nodes_and_of_a_graph(net):
    g = net["graph"]
    source = draw_graph([net["probabilities"], net["loss"]]).source
    assert f"n{net['loss'].id}" in drawn_ids(source)
    assert set(drawn_ids(draw_graph(g).source)) == {f"n{n.id}" for n in g.nodes}


def test_gradients_true_needs_a_single_loss(net):
    with pytest.raises(TypeError, match="loss node"):
        draw_graph(net["graph"], feed_dict=net["feed"], gradients=True)
    with pytest.raises(TypeError, match="draws a node"):
        draw_graph("loss")


def test_unfed_placeholders_show_their_declared_shape(net):
    assert "fed: shape (None, 2)" in node_line(draw_graph(net["loss"]).source, net["x"])


# --- the picture in a notebook: SVG, a PNG beside it, text; readable in the column ------------------

def smallest_text_px(svg):
    """The smallest text of an SVG shown at its own size, in CSS px: font-size x the drawing's scale x 4/3."""
    scale = float(re.search(r'<g id="graph0" class="graph" transform="scale\(([\d.]+)', svg).group(1))
    return min(float(f) for f in re.findall(r'font-size="([\d.]+)"', svg)) * scale * PX_PER_POINT


def chain(length, name="link"):
    """x -> sigmoid -> sigmoid -> ...: a long, thin graph."""
    with ds.Graph().as_default():
        y = ds.placeholder(name="x")
        for i in range(length):
            y = ds.sigmoid(y, name=f"{name}{i}")
    return y


def grid(rows, length):
    """`rows` chains of `length` ops, summed at the end: wide whichever way it is drawn."""
    with ds.Graph().as_default():
        ends = []
        for r in range(rows):
            y = ds.placeholder(name=f"input{r}")
            for i in range(length):
                y = ds.sigmoid(y, name=f"row{r}_step{i}")
            ends.append(y)
        total = ends[0]
        for end in ends[1:]:
            total = ds.add(total, end)
        return total


def test_the_notebook_shows_svg_with_a_png_of_the_same_layout_and_a_line_of_text(net):
    drawing = draw_graph(net["loss"], feed_dict=net["feed"], gradients=True)
    assert isinstance(drawing, graphviz.Digraph)  # .source, .pipe(), .render() as before
    bundle = drawing._repr_mimebundle_()
    assert set(bundle) == {"image/svg+xml", "image/png", "text/plain"}
    svg = bundle["image/svg+xml"]
    assert svg.lstrip().startswith("<?xml") and ">loss<" in svg
    png = base64.b64decode(bundle["image/png"])
    image = Image.open(io.BytesIO(png))
    image.load()  # decodes the whole picture
    width_pt, height_pt = svg_size(svg)
    # dot draws PNG at 96 dpi: the same size in px as the SVG is shown at (4/3 px per point)
    assert abs(image.width - width_pt * PX_PER_POINT) <= 2 and abs(image.height - height_pt * PX_PER_POINT) <= 2
    assert len(image.convert("RGB").getcolors(maxcolors=100_000)) > 20  # not a blank picture
    text = bundle["text/plain"]
    n = len(ds.topological_order([net["loss"]]))
    assert text == repr(drawing) == f"<graph drawing of 'loss': {n} nodes, with values and gradients>"
    assert "0x" not in text


def test_the_bundle_honours_include_and_exclude_and_lays_out_once(net, monkeypatch):
    drawing = draw_graph(net["loss"])
    assert set(drawing._repr_mimebundle_(include={"text/plain"})) == {"text/plain"}
    assert set(drawing._repr_mimebundle_(exclude={"image/png"})) == {"image/svg+xml", "text/plain"}
    drawing.picture("png")
    calls = []
    monkeypatch.setattr(graphviz.Digraph, "pipe", lambda self, *a, **k: calls.append(k) or b"")
    drawing._repr_mimebundle_()
    drawing._repr_mimebundle_()
    assert calls == []  # draw_graph already laid it out (to measure it); both formats are kept
    drawing.node("extra")  # a changed source is drawn again
    drawing.picture("svg")
    assert calls == [{"format": "svg"}]


def test_a_copy_is_a_drawing_too(net):
    drawing = draw_graph(net["loss"])
    copied = drawing.copy()
    assert type(copied) is type(drawing) and copied.source == drawing.source and repr(copied) == repr(drawing)
    assert "image/png" in copied._repr_mimebundle_()


def test_the_text_says_what_is_drawn(net):
    g = net["graph"]
    assert repr(draw_graph(g)) == f"<graph drawing of the whole graph: {len(g.nodes)} nodes>"
    assert repr(draw_graph([net["probabilities"], net["loss"]], feed_dict=net["feed"])).startswith(
        "<graph drawing of 'probabilities', 'loss': ")


def test_a_small_graph_is_drawn_left_to_right_at_its_own_size():
    drawing = draw_graph(chain(2))
    assert "rankdir=LR" in drawing.source and "\tsize=" not in drawing.source
    assert smallest_text_px(drawing.picture("svg").decode()) >= 12  # 9 pt at 4/3 px per point


def test_a_long_chain_is_drawn_top_to_bottom_to_fit_the_column():
    y = chain(12)
    drawing = draw_graph(y)
    svg = drawing.picture("svg").decode()
    assert "rankdir=TB" in drawing.source
    assert svg_size(svg)[0] * PX_PER_POINT <= COLUMN_PX
    assert smallest_text_px(svg) >= MIN_TEXT_PX
    asked = draw_graph(y, rankdir="LR")  # asked for: kept, scaled down only as far as the text allows
    assert "rankdir=LR" in asked.source
    svg = asked.picture("svg").decode()
    assert svg_size(svg)[0] * PX_PER_POINT > COLUMN_PX
    assert MIN_TEXT_PX <= smallest_text_px(svg) < MIN_TEXT_PX + 0.5
    natural = draw_graph(y, rankdir="LR", max_width=None)
    assert "\tsize=" not in natural.source and smallest_text_px(natural.picture("svg").decode()) >= 12


@pytest.mark.parametrize("rows,length", [(2, 6), (4, 6), (7, 5), (8, 8)])  # natural, TB, scaled, too wide
def test_every_drawing_keeps_its_text_readable_and_fits_when_it_can(rows, length):
    """Whatever the graph, text >= MIN_TEXT_PX; and it is no wider than the column unless even the
    narrower direction, scaled down as far as the text allows, would be wider."""
    total = grid(rows, length)
    drawing = draw_graph(total)
    svg = drawing.picture("svg").decode()
    assert smallest_text_px(svg) >= MIN_TEXT_PX
    narrowest = min(draw_graph(total, rankdir=d, max_width=None).size_in_points()[0] for d in ("LR", "TB"))
    shown = svg_size(svg)[0] * PX_PER_POINT
    if narrowest * PX_PER_POINT * MIN_SCALE <= COLUMN_PX:
        assert shown <= COLUMN_PX + 1
    else:
        assert shown == pytest.approx(narrowest * PX_PER_POINT * MIN_SCALE, rel=0.02)
