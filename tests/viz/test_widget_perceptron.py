"""PerceptronPlayground: sliders and the optimum button, checked on the model and the plotted data."""
import numpy as np
import pytest

import dlscratch as ds
from dlscratch.viz.widgets import PerceptronModel, PerceptronPlayground
from dlscratch.viz.widgets.perceptron import LEARNING_RATE, LIMIT, SOFTMAX_PARAMS, TRAIN_STEPS


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


def numpy_gradient_descent(X, y, w, b, steps, learning_rate):
    """Plain gradient descent on the mean cross-entropy of sigmoid(X w + b): the gradient is X^T (p - y) / N."""
    w, b = np.array(w, dtype=float), float(b)
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(X @ w + b)))
        w, b = w - learning_rate * X.T @ (p - y) / len(y), b - learning_rate * np.mean(p - y)
    return w, b


def test_the_train_button_is_plain_gradient_descent_on_the_loss_shown(playground):
    X, y = ds.data.red_blue()
    playground.sliders["w1"].value = 0.5
    playground.sliders["w2"].value = -1.0
    playground.sliders["b"].value = 0.3
    refreshes = playground.figure.refreshes
    playground.train_button.click()
    assert playground.error is None
    assert playground.figure.refreshes == refreshes + 1  # one redraw, not one per slider
    # No penalty on the weights: exactly the steps a numpy version of the loss shown takes.
    w, b = numpy_gradient_descent(X, y, [0.5, -1.0], 0.3, TRAIN_STEPS, LEARNING_RATE)
    np.testing.assert_allclose(playground.model.w.value, np.round(w, 1), atol=0.051)  # the sliders round to 0.1
    assert playground.model.accuracy == 1.0
    for name in ("w1", "w2", "b"):
        assert playground.sliders[name].value == pytest.approx(playground.model.params[name])


def test_the_model_trains_exactly_like_numpy():
    X, y = ds.data.red_blue()
    model = PerceptronModel(X, y)
    model.set(w1=0.5, w2=-1.0, b=0.3)
    model.train(steps=50)
    w, b = numpy_gradient_descent(X, y, [0.5, -1.0], 0.3, 50, LEARNING_RATE)
    np.testing.assert_allclose(model.w.value, w, rtol=1e-10)
    assert float(model.b.value) == pytest.approx(b, rel=1e-10)
    assert model.steps_trained == 50


def test_training_never_claims_an_optimum_because_separable_data_has_none(playground):
    """Each click lowers the loss and lengthens w, and a hand-set w = (5, 5) beats 100 steps: all honest."""
    assert "optimum" not in playground.train_button.description.lower()
    losses, lengths = [], []
    for _ in range(3):
        playground.train_button.click()
        losses.append(playground.model.loss)
        lengths.append(np.linalg.norm(playground.model.w.value))
    assert playground.error is None
    assert losses[0] > losses[1] > losses[2]
    assert lengths[0] < lengths[1] < lengths[2]
    assert "no minimum at finite weights" in playground.status.value
    assert "300 steps" in playground.status.value
    playground.sliders["w1"].value, playground.sliders["w2"].value, playground.sliders["b"].value = 5.0, 5.0, 0.0
    assert playground.model.loss < losses[0]


def test_the_softmax_version_has_its_own_sliders_and_trains_too(playground):
    playground.mode.value = "softmax"
    assert [s.description for s in playground.slider_box.children] == list(SOFTMAX_PARAMS)
    playground.sliders["W11"].value = 1.0
    assert playground.model.W.value[0, 0] == 1.0
    before = playground.model.loss
    playground.train_button.click()
    assert playground.error is None and playground.model.accuracy == 1.0
    assert playground.model.loss < before / 5
    assert "softmax" in playground.plot.ax.get_title()


def test_weights_past_the_sliders_limit_are_named():
    X, y = ds.data.red_blue()
    playground = PerceptronPlayground(X * 0.03, y)  # short inputs: training pushes w past the sliders' range
    playground.sliders["w1"].value = playground.sliders["w2"].value = 9.5
    playground.train_button.click()
    assert playground.error is None
    assert "w1, w2 stopped at the end of the slider" in playground.status.value
    assert max(abs(v) for v in playground.model.w.value) == LIMIT  # the model holds what the sliders show
