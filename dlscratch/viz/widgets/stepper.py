"""Backprop stepper: walk the backward pass one op at a time, in reverse topological order."""
import html
import io
from pathlib import Path

import ipywidgets as widgets
import matplotlib
import numpy as np
import PIL.Image
import PIL.ImageDraw
import PIL.ImageFont

import dlscratch as ds

from ..render import draw_graph, render
from ..summary import summarize
from ._common import Widget, button, guarded

# The local derivative of each op with respect to each input, written with the inputs' names.
LOCAL = {
    "Add": ("1", "1"), "Sub": ("1", "−1"), "Mul": ("{1}", "{0}"), "Div": ("1 / {1}", "−{0} / {1}²"),
    "Neg": ("−1",), "Square": ("2·{0}",), "Pow": ("p·{0}^(p−1)",), "Exp": ("exp({0})",), "Log": ("1 / {0}",),
    "Sigmoid": ("σ({0})·(1 − σ({0}))",), "Tanh": ("1 − tanh²({0})",), "Relu": ("1 where {0} > 0, else 0",),
    "ClipByValue": ("1 where {0} is inside the limits, else 0",),
    "MatMul": ("(upstream) @ {1}ᵀ", "{0}ᵀ @ (upstream)"), "Sum": ("1, copied back over the summed axes",),
    "Mean": ("1/n, copied back over the averaged axes",), "Softmax": ("softmax Jacobian",),
    "SoftmaxCrossEntropyWithLogits": ("(labels term)", "softmax({1}) − {0}"),
    "SoftmaxCrossEntropyLoss": ("(labels term)", "softmax({1}) − {0}, per example"),
}


class Step:
    """What the engine did for one op: its inputs and output, the upstream gradient, the gradients it sent back."""

    def __init__(self, node, ctx, grad, input_grads):
        self.node = node
        self.inputs = tuple(np.copy(v) for v in ctx.inputs)
        self.output = np.copy(ctx.output)
        self.needs = tuple(ctx.needs)
        self.grad = np.copy(grad)
        self.input_grads = tuple(None if g is None else np.copy(g) for g in input_grads)


class BackpropWalk:
    """The backward pass of `loss`, recorded step by step with ds.backprop(trace=...); plain Python.

    position 0 is the start (only d loss/d loss = 1 is known); position k means the first k ops
    have been processed. gradients() gives what is known at the current position.

    Example:
        walk = BackpropWalk(loss, {x: 1.5, y: 1.0})
        walk.next(); walk.current.node, walk.gradients()
    """

    def __init__(self, loss, feed_dict=None, session=None):
        self.loss = loss
        session = session or ds.Session(loss.graph)
        self.values = session.evaluate_all(loss, feed_dict or {})
        self.steps = []
        self.final = ds.backprop(loss, self.values, trace=lambda *args: self.steps.append(Step(*args)))
        self.position = 0

    def next(self):
        self.position = min(self.position + 1, len(self.steps))
        return self

    def previous(self):
        self.position = max(self.position - 1, 0)
        return self

    def go_to(self, position):
        self.position = int(np.clip(position, 0, len(self.steps)))
        return self

    @property
    def current(self):
        """The Step processed last, or None at the start."""
        return self.steps[self.position - 1] if self.position else None

    def gradients(self, position=None):
        """{node: d loss/d node} known after `position` steps (summed over consumers, as the engine does)."""
        position = self.position if position is None else position
        known = {self.loss: np.ones_like(self.values[self.loss])}
        for step in self.steps[:position]:
            for x, need, g in zip(step.node.inputs, step.needs, step.input_grads):
                if need and g is not None:
                    known[x] = g if x not in known else known[x] + g
        return known

    def digraph(self, **options):
        """The graph with the values, the gradients known so far, and the current node highlighted."""
        current = self.current.node if self.current else self.loss
        return draw_graph(self.loss, self.values, self.gradients(), highlight=current, highlight_path=False,
                          **options)

    def explanation(self):
        """The chain rule at the current step, as lines of text."""
        L = self.loss.name
        if self.current is None:
            return [f"Start with the seed: ∂{L}/∂{L} = 1 (the loss changes one for one with itself).",
                    f"Then visit the {len(self.steps)} ops from the loss back to the inputs (reverse topological",
                    "order). Each multiplies the gradient arriving from above by its own local derivative."]
        step, node = self.current, self.current.node
        before = self.gradients(self.position - 1)
        is_loss = node is self.loss
        lines = [f"Step {self.position} of {len(self.steps)}: {node.op_type} '{node.name}'"
                 + (", the loss itself" if is_loss else ""),
                 f"upstream  ∂{L}/∂{node.name} = " + ("1, the seed" if is_loss else _inline(step.grad))]
        names = [x.name for x in node.inputs]
        local = LOCAL.get(node.op_type, ())
        scalar = all(np.ndim(v) == 0 for v in (*step.inputs, step.output))
        for i, (x, need, g) in enumerate(zip(node.inputs, step.needs, step.input_grads)):
            if not need or g is None:
                continue
            lines.append("")
            if is_loss:  # the seed times the loss op's own derivative
                lines.append(f"∂{L}/∂{x.name} = 1 × (local derivative of {node.op_type})")
            else:
                lines.append(f"∂{L}/∂{x.name} = ∂{L}/∂{node.name} × ∂{node.name}/∂{x.name}")
            if i < len(local):
                lines.append(("    local derivative: " if is_loss else f"    ∂{node.name}/∂{x.name} = ")
                             + local[i].format(*names))
            if scalar:
                d = _local_derivative(step, i)
                if d is not None:
                    lines.append(f"    = {summarize(step.grad)} × {summarize(d)} = {summarize(g)}")
            else:
                lines.append(f"    = {_inline(g)}")
            if x in before:
                lines.append(f"    added to the {_inline(before[x])} already there from another consumer of "
                             f"'{x.name}': {_inline(before[x] + g)}")
        return lines


def _inline(value):
    return summarize(value).replace("\n", " ")


def _local_derivative(step, i):
    """d output / d input i of a scalar op: its gradient rule applied to an upstream gradient of 1."""
    ctx = ds.OpContext(step.node, step.inputs, step.output, step.needs)
    try:
        result = ds.gradient_rule(step.node.op_type)(ctx, np.ones_like(step.output))
    except Exception:  # a student's rule under construction: show the product without it
        return None
    result = result if isinstance(result, (tuple, list)) else (result,)
    return result[i] if i < len(result) else None


class BackpropStepper(Widget):
    """Next / Previous walk the backward pass of a small graph in reverse topological order. The drawing
    highlights the op being processed and shows the gradients filled in so far (red rows); below it,
    the chain-rule product computed at that step.

    Example (the last line of a cell):
        BackpropStepper.example()             # a sigmoid neuron with a squared error
        BackpropStepper(loss, feed_dict)      # any graph of your own (small ones read best)
    """

    def __init__(self, loss, feed_dict=None, session=None, rankdir="LR"):
        self.walk = BackpropWalk(loss, feed_dict, session)
        self.rankdir = rankdir
        self.previous_button = button("Previous", "arrow-left", "undo the last step")
        self.next_button = button("Next", "arrow-right", "process the next op", "primary")
        self.start_button = button("Start", "fast-backward", "back to the loss")
        self.end_button = button("End", "fast-forward", "every step at once")
        self.title = widgets.HTML()
        self.chain_rule = widgets.HTML()
        # The graph gets the notebook's width to itself, at its natural size at most: text stays readable.
        self.graph_image = widgets.Image(format="svg+xml", layout=widgets.Layout(max_width="100%", height="auto",
                                                                                 align_self="flex-start"))
        self.source = ""  # the DOT source now shown, for tests and for the curious
        buttons = widgets.HBox([self.start_button, self.previous_button, self.next_button, self.end_button])
        super().__init__([buttons, self.title, self.graph_image, self.chain_rule])
        self.next_button.on_click(lambda _: self._go(self.walk.position + 1))
        self.previous_button.on_click(lambda _: self._go(self.walk.position - 1))
        self.start_button.on_click(lambda _: self._go(0))
        self.end_button.on_click(lambda _: self._go(len(self.walk.steps)))
        self._go(0)

    @classmethod
    def example(cls):
        """A single sigmoid neuron, a = sigmoid(w·x + b), with the squared error (a − y)² as loss."""
        graph = ds.Graph()
        with graph.as_default():
            x = ds.placeholder(shape=(), name="x")
            y = ds.placeholder(shape=(), name="y")
            w = ds.Variable(0.8, name="w")
            b = ds.Variable(-0.5, name="b")
            z = ds.add(ds.multiply(w, x, name="wx"), b, name="z")
            a = ds.sigmoid(z, name="a")
            loss = ds.square(ds.subtract(a, y, name="error"), name="loss")
        return cls(loss, {x: 1.5, y: 1.0})

    @guarded
    def _go(self, position):
        walk = self.walk.go_to(position)
        digraph = walk.digraph(rankdir=self.rankdir)
        self.source = digraph.source
        self.graph_image.value = render(digraph, "svg")
        self.title.value = "<b>{}</b>:{}".format(*(html.escape(part) for part in self._title_text().split(":", 1)))
        lines = "\n".join(html.escape(line) for line in walk.explanation())
        self.chain_rule.value = f'<pre style="font-size:12px; line-height:1.35">{lines}</pre>'
        self.previous_button.disabled = self.start_button.disabled = walk.position == 0
        self.next_button.disabled = self.end_button.disabled = walk.position == len(walk.steps)
        self.show_status("" if walk.position < len(walk.steps) else
                         "Done: every gradient is known. These are the numbers ds.compute_gradients gives.", "good")

    def picture(self):
        """The graph as a PNG, with the title and the chain-rule lines under it."""
        graph = PIL.Image.open(io.BytesIO(render(self.walk.digraph(rankdir=self.rankdir), "png"))).convert("RGB")
        lines = ([self._title_text(), ""] if self.walk.current is None else []) + self.walk.explanation()
        font = PIL.ImageFont.truetype(str(Path(matplotlib.get_data_path(), "fonts/ttf/DejaVuSansMono.ttf")), 13)
        line_height, margin = 18, 10
        width = max(graph.width, max(int(font.getlength(line)) for line in lines) + 2 * margin)
        picture = PIL.Image.new("RGB", (width, graph.height + line_height * len(lines) + 2 * margin), "white")
        picture.paste(graph, (0, 0))
        draw = PIL.ImageDraw.Draw(picture)
        for k, line in enumerate(lines):
            draw.text((margin, graph.height + margin + k * line_height), line, fill="#111827", font=font)
        buffer = io.BytesIO()
        picture.save(buffer, format="png")
        return buffer.getvalue()

    def _title_text(self):
        walk, current = self.walk, self.walk.current
        return f"Step {walk.position} of {len(walk.steps)}: " + (
            f"processing {current.node.op_type} '{current.node.name}'" if current
            else "the start, before any op")

    def __repr__(self):
        return f"<BackpropStepper: step {self.walk.position} of {len(self.walk.steps)}>"
