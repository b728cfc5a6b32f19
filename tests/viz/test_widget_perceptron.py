"""PerceptronPlayground: sliders and the optimum button, checked on the model and the plotted data."""
import numpy as np
import pytest

import dlscratch as ds
from dlscratch.viz.widgets import PerceptronModel, PerceptronPlayground
from dlscratch.viz.widgets.perceptron import SOFTMAX_PARAMS


def numpy_sigmoid_loss(X, y, w1, w2, b):
    p = 1 / (1 + np.exp(-(X @ [w1, w2] + b)))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), np.mean((p > 0.5) == y)


@pytest.fixture
def playground():
    return PerceptronPlayground()


def test_sliders_set_the_weights_and_the_loss_and_accuracy_follow(playground):
    X, y = ds.data.red_blue()
    playground.sliders["w1"].value = 0.7
    playground.sliders["w2"].value = -1.3
    playground.sliders["b"].value = 0.4
    assert playground.error is None
    np.testing.assert_allclose(playground.model.w.value, [0.7, -1.3])
    assert float(playground.model.b.value) == pytest.approx(0.4)
    loss, acc = numpy_sigmoid_loss(X, y, 0.7, -1.3, 0.4)
    assert playground.model.evaluate() == pytest.approx((loss, acc))
    assert f"{loss:.4f}" in playground.readout.value and f"{loss:.3f}" in playground.plot.ax.get_title()


def test_the_plot_shows_the_decision_line_and_the_probabilities(playground):
    playground.sliders["w1"].value = 2.0
    playground.sliders["w2"].value = 1.0
    playground.sliders["b"].value = -1.0
    xs, ys = playground.line.get_data()
    np.testing.assert_allclose(2.0 * np.asarray(xs) + 1.0 * np.asarray(ys) - 1.0, 0, atol=1e-12)
    image = np.asarray(playground.plot.image.get_array())
    grid = playground.model.grid
    expected = 1 / (1 + np.exp(-(grid @ [2.0, 1.0] - 1.0)))
    np.testing.assert_allclose(image.ravel(), expected)
    assert bytes(playground.figure.widget.value[:4]) == b"\x89PNG"


def test_the_optimum_button_trains_and_moves_every_slider_at_once(playground):
    before = playground.model.loss
    refreshes = playground.figure.refreshes
    playground.optimum.click()
    assert playground.error is None
    assert playground.figure.refreshes == refreshes + 1  # one redraw, not one per slider
    assert playground.model.loss < before / 5
    assert playground.model.accuracy == 1.0
    for name in ("w1", "w2", "b"):
        assert playground.sliders[name].value == pytest.approx(playground.model.params[name])


def test_the_softmax_version_has_its_own_sliders_and_optimum(playground):
    playground.mode.value = "softmax"
    assert [s.description for s in playground.slider_box.children] == list(SOFTMAX_PARAMS)
    playground.sliders["W11"].value = 1.0
    assert playground.model.W.value[0, 0] == 1.0
    playground.optimum.click()
    assert playground.error is None and playground.model.accuracy == 1.0
    assert "softmax" in playground.plot.ax.get_title()


def test_extreme_settings_show_messages_not_errors(playground):
    for mode in ("softmax", "sigmoid"):
        playground.mode.value = mode
        for value in (10.0, -10.0, 0.0):
            for s in playground.slider_box.children:
                s.value = value
            assert playground.error is None
    assert playground.error is None
    assert "no decision line" in playground.status.value
    assert len(playground.line.get_data()[0]) == 0
    assert playground.model.loss == pytest.approx(np.log(2))


def test_the_model_works_without_widgets():
    X, y = ds.data.red_blue(10)
    model = PerceptronModel(X, y)
    model.set(w1=1.0, w2=1.0, b=0.0)
    assert model.accuracy == 1.0
    with pytest.raises(ValueError, match="unknown parameters"):
        model.set(w3=1.0)
