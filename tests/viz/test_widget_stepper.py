"""BackpropStepper: the backward pass one op at a time, checked against the engine."""
import re

import numpy as np
import pytest

import dlscratch as ds
from dlscratch.viz.render import HIGHLIGHT
from dlscratch.viz.widgets import BackpropStepper, BackpropWalk


@pytest.fixture
def stepper():
    return BackpropStepper.example()


def highlighted(source):
    return [int(i) for i in re.findall(rf"^\s*n(\d+) \[.*{HIGHLIGHT}", source, flags=re.M)]


def test_steps_follow_reverse_topological_order(stepper):
    walk = stepper.walk
    ops = [n for n in ds.topological_order([walk.loss]) if isinstance(n, ds.Operation)]
    assert [s.node for s in walk.steps] == ops[::-1]


def test_next_and_previous_move_the_highlight_and_fill_in_gradients(stepper):
    walk = stepper.walk
    assert highlighted(stepper.source) == [walk.loss.id]
    assert stepper.previous_button.disabled and not stepper.next_button.disabled
    known = 1
    for k, step in enumerate(walk.steps, start=1):
        stepper.next_button.click()
        assert stepper.error is None and walk.position == k
        assert highlighted(stepper.source) == [step.node.id]
        assert len(walk.gradients()) > known or k == len(walk.steps)
        known = len(walk.gradients())
        assert stepper.source.count("grad ") == len(walk.gradients())
        assert f"{step.node.name}" in stepper.title.value
    assert stepper.next_button.disabled and "Done" in stepper.status.value
    stepper.next_button.click()  # pressing on past the end changes nothing
    assert walk.position == len(walk.steps)
    stepper.previous_button.click()
    assert walk.position == len(walk.steps) - 1 and highlighted(stepper.source) == [walk.steps[-2].node.id]


def test_at_the_end_the_gradients_are_the_engines(stepper):
    stepper.end_button.click()
    walk = stepper.walk
    feed = {walk.loss.graph.get_node("x"): 1.5, walk.loss.graph.get_node("y"): 1.0}
    expected = ds.compute_gradients(walk.loss, feed)
    got = walk.gradients()
    assert set(got) == set(expected)
    for node, g in expected.items():
        np.testing.assert_allclose(got[node], g)


def test_the_chain_rule_product_is_shown_with_its_numbers(stepper):
    walk = stepper.walk
    sigmoid_step = next(i for i, s in enumerate(walk.steps, 1) if s.node.op_type == "Sigmoid")
    walk.go_to(sigmoid_step)
    text = "\n".join(walk.explanation())
    upstream, local, product = (float(v) for v in re.search(r"= (\S+) × (\S+) = (\S+)", text).groups())
    a = float(walk.values[walk.current.node])
    assert local == pytest.approx(a * (1 - a), rel=1e-3)
    assert product == pytest.approx(upstream * local, rel=1e-3)
    assert product == pytest.approx(float(walk.gradients()[walk.current.node.inputs[0]]), rel=1e-3)
    assert "σ(z)·(1 − σ(z))" in text
    stepper.start_button.click()
    assert "∂loss/∂loss = 1" in stepper.chain_rule.value


def test_the_first_step_starts_from_the_seed_and_reads_naturally(stepper):
    walk = stepper.walk
    start = walk.explanation()
    assert start[0] == "Start with the seed: ∂loss/∂loss = 1 (the loss changes one for one with itself)."
    stepper.next_button.click()  # the loss's own op: square(error)
    first = walk.explanation()
    assert first[0] == "Step 1 of 5: Square 'loss', the loss itself"
    assert first[1] == "upstream  ∂loss/∂loss = 1, the seed"
    assert "    local derivative: 2·error" in first
    assert "∂loss/∂error = 1 × (local derivative of Square)" in first
    assert not any("∂loss/∂loss ×" in line for line in first)  # nothing that reads as circular
    stepper.next_button.click()  # Sub 'error': now the chain rule with named nodes
    second = walk.explanation()
    assert "∂loss/∂a = ∂loss/∂error × ∂error/∂a" in second
    assert "    ∂error/∂a = 1" in second


def test_the_graph_has_the_width_to_itself(stepper):
    # beside the chain-rule text it was squeezed to about 476 px, its text to about 7 px
    assert stepper.graph_image in stepper.children  # a row of its own, the chain rule below it
    assert stepper.graph_image.layout.max_width == "100%"
    width_pt = float(re.search(r'<svg width="([\d.]+)pt"', bytes(stepper.graph_image.value).decode()).group(1))
    font_pt = min(float(f) for f in re.findall(r'font-size="([\d.]+)"', bytes(stepper.graph_image.value).decode()))
    shown = min(width_pt * 4 / 3, 968)  # natural size (1 pt = 4/3 px), at most the notebook's column
    assert font_pt * 4 / 3 * shown / (width_pt * 4 / 3) >= 11


def test_a_node_used_twice_gets_its_gradients_added():
    g = ds.Graph()
    with g.as_default():
        x = ds.Variable(3.0, name="x")
        loss = ds.add(ds.multiply(x, x, name="xx"), x, name="loss")  # d/dx = 2x + 1 = 7
    walk = BackpropWalk(loss)
    walk.go_to(len(walk.steps))
    assert float(walk.gradients()[x]) == 7.0
    assert any("added to" in line for line in walk.explanation())


def test_matrices_are_summarised(net):
    stepper = BackpropStepper(net["loss"], net["feed"])
    stepper.end_button.click()
    assert stepper.error is None
    assert "shape (4, 3)" in stepper.chain_rule.value or "shape (3, 2)" in stepper.chain_rule.value
    assert bytes(stepper.graph_image.value).lstrip().startswith(b"<?xml")
