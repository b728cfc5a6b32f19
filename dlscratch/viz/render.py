"""Drawing a computational graph with Graphviz: `draw_graph(loss, values, gradients)`.

The DOT source is deterministic: DOT ids come from node ids (per-graph
counters) and scope names, and everything is drawn in topological order, so
the same graph built twice gives byte-identical source.

A drawing must be readable in a notebook column (COLUMN_PX wide): its smallest
text at least MIN_TEXT_PX. So draw_graph picks the direction (left to right or
top to bottom) whose layout fits the column, scales a drawing down only as far
as that text allows, and leaves one that still does not fit at that size wider
than the column rather than shrink its text further.
"""
import base64
import html
import re

import graphviz

from ..core import Constant, Graph, Node, Placeholder, Session, Variable, backprop, topological_order
from .dot import ensure_dot
from .summary import shape_text, summarize

# How each kind of node looks: shape, fill and border colours.
STYLES = {
    "placeholder": {"shape": "ellipse", "style": "filled", "fillcolor": "#dbeafe", "color": "#1d4ed8"},
    "variable": {"shape": "cylinder", "style": "filled", "fillcolor": "#dcfce7", "color": "#15803d",
                 "margin": "0.08,0.12"},  # room for the cylinder's lid
    "constant": {"shape": "note", "style": "filled", "fillcolor": "#f3f4f6", "color": "#6b7280"},
    "op": {"shape": "box", "style": "rounded,filled", "fillcolor": "#fef9c3", "color": "#a16207"},
    "training": {"shape": "box", "style": "rounded,filled,dotted", "fillcolor": "#f3e8ff", "color": "#7e22ce"},
    "scope": {"shape": "box3d", "style": "filled", "fillcolor": "#e0e7ff", "color": "#4338ca"},
    "elided": {"shape": "note", "style": "filled", "fillcolor": "#ffffff", "color": "#6b7280"},
}
GRADIENT_BACKGROUND, GRADIENT_TEXT = "#fee2e2", "#b91c1c"  # the gradient row: red, as in "backward"
HIGHLIGHT = "#db2777"
MUTED = "#4b5563"
FONT_SIZE = 10  # points; an SVG shown at its own size has 4/3 px per point, so 13.3 px
DETAIL_SIZE = 9  # 12 px: the smallest text in a drawing

COLUMN_PX = 968  # JupyterLab's notebook column in a 1400 px window with the file browser open
MIN_TEXT_PX = 11  # the smallest text a drawing may show at that width
PX_PER_POINT = 4 / 3  # CSS px per point (96 / 72): SVG width="720pt" is shown 960 px wide
COLUMN_INCHES = COLUMN_PX / 96
# How far a drawing may be scaled down: its smallest text stays MIN_TEXT_PX (with 1% to spare for rounding).
MIN_SCALE = MIN_TEXT_PX / (DETAIL_SIZE * PX_PER_POINT) * 1.01


def kind_of(node):
    """'placeholder', 'variable', 'constant', 'op', or 'training' (gradient and optimizer nodes)."""
    if isinstance(node, Placeholder):
        return "placeholder"
    if isinstance(node, Variable):
        return "variable"
    if isinstance(node, Constant):
        return "constant"
    if getattr(node, "changes_state", False) or node.op_type in ("Gradients", "GradientSelect"):
        return "training"
    return "op"


def draw_graph(target, values=None, gradients=None, *, session=None, feed_dict=None, forward_only=False,
               number_order=False, highlight=None, highlight_path=True, collapse=None, max_nodes=300,
               rankdir=None, max_width=COLUMN_INCHES):
    """Draw a graph: a `GraphDrawing`, the graphviz.Digraph that a notebook shows as a picture.

    target:       a node (draws everything it depends on), a list of nodes, or a ds.Graph.
    values:       {node: value} of one forward pass, e.g. `session.evaluate_all(loss, feed)`.
                  With `session` and/or `feed_dict` instead, the values are computed for you.
    gradients:    {node: d loss/d node}, e.g. `ds.compute_gradients(loss, feed)`, or True to compute
                  them (target must then be the loss node).
    forward_only: leave out gradient rows and the gradient/optimizer nodes.
    number_order: number the nodes in the order they are evaluated.
    highlight:    a node (or its name): it and every path from it to the output are drawn in pink
                  (only the node itself with highlight_path=False).
    collapse:     True (every top-level name scope), or a list of scope names such as ["hidden1"]:
                  each scope becomes one box.
    max_nodes:    above this many nodes the name scopes are collapsed automatically (and, if that is
                  not enough, only the nodes nearest the output are drawn), with a note saying so.
    rankdir:      "LR" (left to right) or "TB" (top to bottom, narrower for long chains). By default
                  left to right, unless only top to bottom fits in max_width.
    max_width:    inches, by default a notebook column's width. A wider drawing is scaled down, but
                  never so far that its text is smaller than MIN_TEXT_PX; then it stays wider. None:
                  never scale.

    Example:
        x = ds.placeholder(shape=(None, 2), name="x")
        w = ds.Variable([[1.0], [-1.0]], name="w")
        loss = ds.reduce_sum(ds.sigmoid(x @ w), name="loss")
        draw_graph(loss, feed_dict={x: [[1.0, 2.0]]}, gradients=True)
    """
    ensure_dot()
    targets, graph = _targets(target)
    nodes = topological_order(targets) if not isinstance(target, Graph) else _all_nodes(graph)
    if forward_only:
        nodes = [n for n in nodes if kind_of(n) != "training"]
        gradients = None
    values, gradients = _evaluate(target, targets, values, gradients, session, feed_dict)
    highlight = graph.get_node(highlight) if isinstance(highlight, str) else highlight
    note = None
    if len(nodes) > max_nodes and collapse is None:
        collapse = True
        note = f"{len(nodes)} nodes is more than max_nodes={max_nodes}, so each name scope is collapsed into one box"
    path = _on_path(nodes, highlight) if highlight_path else {highlight} - {None}
    drawing = _Drawing(nodes, values or {}, gradients or {}, number_order, path, collapse)
    note = drawing.limit(max_nodes, note, len(nodes))
    if note:
        note += ". Pass max_nodes=... or collapse=... to change this."
    description = _description(targets, target, len(nodes), bool(values), bool(gradients))
    return drawing.fit(rankdir, note, max_width, description)


def render(digraph, format="svg"):
    """The picture as bytes, e.g. `render(draw_graph(loss), "png")`; uses the dot program configure_dot() found."""
    ensure_dot()
    if isinstance(digraph, GraphDrawing):
        return digraph.picture(format)
    return digraph.pipe(format=format)


class GraphDrawing(graphviz.Digraph):
    """A drawing of a computational graph: a graphviz.Digraph (`.source`, `.pipe()`, `.render()` ...)
    that a notebook shows as SVG, with a PNG of the same layout beside it and a line of text.

    JupyterLab shows SVG only in a trusted notebook. A stored notebook that a reader opens without
    running it is not trusted, and there JupyterLab shows the PNG instead: the drawing is visible
    before anything runs. The text (never a memory address) is for consoles and nbval.
    """

    def __init__(self, *args, description="a graph drawing", **kwargs):
        super().__init__(*args, **kwargs)
        self.description = description
        self._pictures = {}

    def copy(self):
        copied = super().copy()  # graphviz's Dot._copy_kwargs drops a subclass's own arguments
        copied.description = self.description
        return copied

    def picture(self, format="svg"):
        """The drawing as bytes in `format` ("svg", "png", ...), laid out once per source and format."""
        key = (format, self.source)
        if key not in self._pictures:
            ensure_dot()
            self._pictures = {k: v for k, v in self._pictures.items() if k[1] == self.source}
            self._pictures[key] = self.pipe(format=format)
        return self._pictures[key]

    def size_in_points(self):
        """(width, height) of the picture as drawn, in points (1/72 inch)."""
        return svg_size(self.picture("svg"))

    def _repr_mimebundle_(self, include=None, exclude=None, **_):
        bundle = {"image/svg+xml": lambda: self.picture("svg").decode("utf-8"),
                  "image/png": lambda: base64.b64encode(self.picture("png")).decode("ascii"),
                  "text/plain": lambda: repr(self)}
        return {mime: make() for mime, make in bundle.items()
                if (include is None or mime in include) and not (exclude and mime in exclude)}

    def __repr__(self):
        return f"<{self.description}>"


def svg_size(svg):
    """(width, height) in points of an SVG that Graphviz wrote (its width="..pt" and height="..pt")."""
    text = svg.decode("utf-8", "replace") if isinstance(svg, bytes) else svg
    match = re.search(r'<svg\b[^>]*?\bwidth="([\d.]+)(pt|px)?"[^>]*?\bheight="([\d.]+)(pt|px)?"', text)
    if not match:
        raise ValueError("not an SVG with a width and height")
    per_point = {None: 1, "pt": 1, "px": 1 / PX_PER_POINT}
    return float(match.group(1)) * per_point[match.group(2)], float(match.group(3)) * per_point[match.group(4)]


def _description(targets, target, n_nodes, has_values, has_gradients):
    what = "the whole graph" if isinstance(target, Graph) else ", ".join(repr(t.name) for t in targets)
    shows = " and ".join(x for x, on in (("values", has_values), ("gradients", has_gradients)) if on)
    return f"graph drawing of {what}: {n_nodes} nodes" + (f", with {shows}" if shows else "")


# --- what to draw -----------------------------------------------------------------

def _targets(target):
    if isinstance(target, Graph):
        return [n for n in target.nodes if not n.consumers], target
    targets = [target] if isinstance(target, Node) else list(target)
    if not targets or not all(isinstance(t, Node) for t in targets):
        raise TypeError(f"draw_graph() draws a node, a list of nodes or a ds.Graph, not {target!r}")
    return targets, targets[0].graph


def _all_nodes(graph):
    roots = [n for n in graph.nodes if not n.consumers]
    return topological_order(roots)


def _evaluate(target, targets, values, gradients, session, feed_dict):
    wants_gradients = gradients is True
    if values is None and (session is not None or feed_dict is not None or wants_gradients):
        # Never run a training step just to draw it: fetch what it depends on instead.
        fetches = []
        for t in targets:
            fetches.extend(t.inputs if getattr(t, "changes_state", False) else [t])
        session = session or Session(targets[0].graph)
        values = session.evaluate_all(fetches, feed_dict or {})
    if wants_gradients:
        if isinstance(target, (Graph, list, tuple)):
            raise TypeError("draw_graph(..., gradients=True) needs the loss node as target, "
                            "e.g. draw_graph(loss, feed_dict=feed, gradients=True)")
        gradients = backprop(target, values)
    return values, gradients


def _on_path(nodes, start):
    """`start` and every node that depends on it: the paths along which it affects the output."""
    if start is None:
        return set()
    reached = {start}
    for node in nodes:
        if any(x in reached for x in node.inputs):
            reached.add(node)
    return reached


def _scope_id(scope):
    return "scope_" + scope.replace(":", "_")  # a colon would read as a DOT port


def _scope(node, collapse):
    if "/" not in node.name or not collapse:
        return None
    if collapse is True:
        return node.name.split("/")[0]
    matches = [s for s in collapse if node.name.startswith(s.rstrip("/") + "/")]
    return max(matches, key=len).rstrip("/") if matches else None


class _Drawing:
    """The boxes (nodes or collapsed scopes) and arrows of one drawing, in topological order."""

    def __init__(self, nodes, values, gradients, number_order, path, collapse):
        self.values, self.gradients, self.path, self.collapse = values, gradients, path, collapse
        self.order = {n: i + 1 for i, n in enumerate(nodes)} if number_order else {}
        self.items = {}  # DOT id -> list of the nodes it stands for
        self.box_of = {}
        for node in nodes:
            scope = _scope(node, collapse)
            box = _scope_id(scope) if scope else f"n{node.id}"
            self.items.setdefault(box, []).append(node)
            self.box_of[node] = box
        self.edges = {}  # (from box, to box) -> on the highlighted path; a dict keeps the order
        for node in nodes:
            for x in node.inputs:
                if x in self.box_of and self.box_of[x] != self.box_of[node]:
                    key = (self.box_of[x], self.box_of[node])
                    self.edges[key] = self.edges.get(key, False) or (x in path and node in path)
        self.elided = 0

    def limit(self, max_nodes, note, total):
        """Keep only the last `max_nodes` boxes (those nearest the output) if there are more."""
        if len(self.items) <= max_nodes:
            return note
        boxes = list(self.items)
        dropped = set(boxes[:len(boxes) - max_nodes])
        self.elided = sum(len(self.items[b]) for b in dropped)
        for box in dropped:
            del self.items[box]
        edges = {}
        for (a, b), on_path in self.edges.items():
            if b in dropped:
                continue
            key = ("elided", b) if a in dropped else (a, b)
            edges[key] = edges.get(key, False) or on_path
        self.edges = edges
        return (f"{total} nodes is more than max_nodes={max_nodes}: "
                f"{'name scopes are collapsed and ' if note else ''}only the {max_nodes} boxes nearest "
                f"the output are drawn ({self.elided} earlier nodes left out)")

    def fit(self, rankdir, note, max_width, description):
        """The drawing laid out to fit `max_width` inches: in the direction asked for, else left to right
        if that fits, else top to bottom if that is narrower; then scaled down if still too wide, but
        no further than MIN_SCALE."""
        best = None
        for direction in [rankdir] if rankdir else ["LR", "TB"]:
            drawing = self.digraph(direction, note, description)
            if max_width is None:
                return drawing
            width = drawing.size_in_points()[0]
            if best is None or width < best[0]:
                best = (width, drawing)
            if width <= max_width * 72:
                break
        width, drawing = best
        if width > max_width * 72:  # JupyterLab shows SVG at its own size: scale a wide one down
            scale = max(max_width * 72 / width, MIN_SCALE)
            drawing.attr(size=f"{width * scale / 72:.3f},1000")
        return drawing

    def digraph(self, rankdir, note, description="a graph drawing"):
        dot = GraphDrawing("computational_graph", description=description)
        dot.attr(rankdir=rankdir, nodesep="0.25", ranksep="0.4")
        dot.attr("node", fontsize=str(FONT_SIZE), margin="0.08,0.04")
        dot.attr("edge", color=MUTED, arrowsize="0.7")
        if note:
            dot.attr(label=note, labelloc="t", labeljust="l", fontsize="11", fontcolor="#9a3412")
        if self.elided:
            dot.node("elided", label=f"{self.elided} earlier nodes\nnot drawn", **STYLES["elided"])
        for box, members in self.items.items():
            scope = _scope(members[0], self.collapse)
            if scope:
                label, style = self._scope_label(scope, members), dict(STYLES["scope"])
            else:
                label, style = self._node_label(members[0]), dict(STYLES[kind_of(members[0])])
            if any(n in self.path for n in members):
                style.update(color=HIGHLIGHT, penwidth="3")
            dot.node(box, label=label, **style)
        for (a, b), on_path in self.edges.items():
            extra = {"color": HIGHLIGHT, "penwidth": "2.5"} if on_path else {}
            dot.edge(a, b, **extra)
        return dot

    # --- labels (HTML-like: every inserted text goes through html.escape) ---

    def _node_label(self, node):
        number = f"#{self.order[node]} " if node in self.order else ""
        rows = [f"<TR><TD>{_text(number)}<B>{_text(node.name)}</B></TD></TR>",
                f'<TR><TD><FONT POINT-SIZE="{DETAIL_SIZE}" COLOR="{MUTED}">{_text(node.op_type)}</FONT></TD></TR>']
        value = self._value_text(node)
        if value:
            rows.append(f'<TR><TD><FONT POINT-SIZE="{DETAIL_SIZE}">{_lines(value)}</FONT></TD></TR>')
        if node in self.gradients:
            rows.append(_gradient_row(self.gradients[node]))
        return _table(rows)

    def _value_text(self, node):
        if node in self.values:
            return summarize(self.values[node])
        if isinstance(node, (Variable, Constant)):
            return summarize(node.value)  # known without running anything
        if isinstance(node, Placeholder):
            return "fed: shape " + shape_text(node.shape) if node.shape is not None else "fed at run time"
        return ""

    def _scope_label(self, scope, members):
        n_params = sum(v.value.size for v in members if isinstance(v, Variable))
        op_types = list(dict.fromkeys(n.op_type for n in members if kind_of(n) == "op"))
        shown = ", ".join(op_types[:4]) + (", ..." if len(op_types) > 4 else "")
        rows = [f"<TR><TD><B>{_text(scope)}/</B></TD></TR>",
                f'<TR><TD><FONT POINT-SIZE="{DETAIL_SIZE}" COLOR="{MUTED}">{len(members)} nodes, '
                f"{n_params} parameters</FONT></TD></TR>"]
        if shown:
            rows.append(f'<TR><TD><FONT POINT-SIZE="{DETAIL_SIZE}" COLOR="{MUTED}">{_text(shown)}</FONT></TD></TR>')
        out = self._scope_output(members)
        if out in self.values:
            rows.append(f'<TR><TD><FONT POINT-SIZE="{DETAIL_SIZE}">out {_lines(summarize(self.values[out]))}'
                        "</FONT></TD></TR>")
        if out in self.gradients:
            rows.append(_gradient_row(self.gradients[out]))
        return _table(rows)

    def _scope_output(self, members):
        inside = set(members)
        leaving = [n for n in members if any(c not in inside for c in n.consumers)]
        return (leaving or members)[-1]


def _text(s):
    return html.escape(str(s), quote=True)


def _lines(text):
    return '<BR ALIGN="LEFT"/>'.join(_text(line) for line in text.split("\n")) + (
        '<BR ALIGN="LEFT"/>' if "\n" in text else "")


def _gradient_row(grad):
    return (f'<TR><TD BGCOLOR="{GRADIENT_BACKGROUND}"><FONT POINT-SIZE="{DETAIL_SIZE}" COLOR="{GRADIENT_TEXT}">'
            f"grad {_lines(summarize(grad))}</FONT></TD></TR>")


def _table(rows):
    return '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">' + "".join(rows) + "</TABLE>>"
