"""TrainingPlayground: settings, Train/Step/Reset, live plots, and the extremes."""
import numpy as np
import pytest

from dlscratch.viz.widgets import PlaygroundModel, TrainingPlayground
from dlscratch.viz.widgets.playground import DEFAULT_NOISE


@pytest.fixture
def playground():
    p = TrainingPlayground(dataset="xor", hidden_layers=1, units=4)
    p.steps.value = 40
    return p


def test_train_step_and_reset(playground):
    m = playground.model
    W = m.graph.get_node("hidden1/W")
    initial = W.value.copy()
    playground.train_button.click()
    assert playground.error is None
    assert m.steps_done == 40 and playground.progress.value == 40
    assert m.history["step"] == list(range(1, 41)) and m.history["eval_step"][-1] == 40
    assert m.history["loss"][-1] < m.history["loss"][0]
    assert not np.allclose(W.value, initial)
    playground.step_button.click()
    assert m.steps_done == 41
    playground.reset_button.click()
    assert m.steps_done == 0 and m.history["loss"] == [] and playground.progress.value == 0
    np.testing.assert_array_equal(m.graph.get_node("hidden1/W").value, initial)  # seeded afresh


def test_the_plots_show_the_model_and_its_history(playground):
    playground.train_button.click()
    m = playground.model
    np.testing.assert_array_equal(playground.curves.train.get_ydata(), m.history["loss"])
    np.testing.assert_array_equal(playground.curves.test.get_xdata(), m.history["eval_step"])
    image = np.asarray(playground.boundary.image.get_array())
    np.testing.assert_allclose(image.ravel(), m.grid_probabilities())
    assert len(playground.boundary.points) == 4  # two classes, train filled and test hollow
    assert "test loss" in playground.status.value


def test_changing_the_data_or_network_starts_afresh(playground):
    m = playground.model
    playground.train_button.click()
    playground.controls["dataset"].value = "moons"
    assert m.steps_done == 0 and m.settings["dataset"] == "moons"
    assert playground.controls["noise"].value == DEFAULT_NOISE["moons"] == m.settings["noise"]
    playground.controls["hidden_layers"].value = 2
    playground.controls["units"].value = 6
    assert m.graph.get_node("hidden2/W").value.shape == (6, 6)
    playground.controls["test_fraction"].value = 0.5
    assert len(m.X_test) == len(m.X) == 100


def test_training_settings_keep_the_weights(playground):
    m = playground.model
    playground.train_button.click()
    W = m.graph.get_node("hidden1/W").value.copy()
    playground.controls["learning_rate"].value = 0.1
    assert m.optimizer.learning_rate == pytest.approx(0.1) and m.steps_done == 40
    playground.controls["optimizer"].value = "momentum"
    playground.controls["l2"].value = 0.1
    np.testing.assert_array_equal(m.graph.get_node("hidden1/W").value, W)
    playground.step_button.click()
    assert m.steps_done == 41 and type(m.optimizer).__name__ == "MomentumOptimizer"


def test_a_huge_learning_rate_diverges_with_a_message(playground):
    playground.controls["optimizer"].value = "GD"
    playground.controls["learning_rate"].value = 10.0
    playground.controls["activation"].value = "relu"
    playground.controls["hidden_layers"].value = 4
    playground.controls["units"].value = 16
    playground.train_button.click()
    assert playground.error is None and playground.status.value
    m = PlaygroundModel("xor")
    m.configure(learning_rate=1e300, optimizer="GD")
    m.train(20)
    assert m.diverged is not None and "Diverged" in m.message
    steps = m.steps_done
    m.train(5)
    assert m.steps_done == steps  # nothing more until Reset


def test_the_other_extremes_raise_nothing(playground):
    c = playground.controls
    for end in ("min", "max"):
        for name in ("noise", "test_fraction", "hidden_layers", "units"):
            c[name].value = getattr(c[name], end)
        playground.step_button.click()
        assert playground.error is None, end
    c["learning_rate"].value = 10 ** c["learning_rate"].min
    c["l2"].value = c["l2"].options[-1][1]
    c["dataset"].value = "spiral"
    playground.step_button.click()
    assert playground.error is None and playground.model.steps_done == 1


@pytest.mark.parametrize("dataset", sorted(DEFAULT_NOISE))
def test_every_data_set_trains(dataset):
    m = PlaygroundModel(dataset, noise=0.0, hidden_layers=1, units=8, learning_rate=0.1)
    m.train(30)
    assert m.diverged is None and m.history["loss"][-1] < m.history["loss"][0]


def test_new_data_clears_the_curves_the_history_and_the_progress_bar(playground):
    playground.train_button.click()
    assert playground.progress.value == 40 and len(playground.curves.train.get_xdata()) == 40
    before = bytes(playground.figure.widget.value)
    playground.controls["dataset"].value = "moons"
    m = playground.model
    assert playground.error is None
    assert m.history["step"] == [] and m.history["loss"] == [] and m.history["test_loss"] == []
    assert m.history.diverged is None and m.steps_done == 0
    assert playground.progress.value == 0
    assert len(playground.curves.train.get_xdata()) == 0 and len(playground.curves.test.get_xdata()) == 0
    assert playground.curves.ax.get_xlim() == (0, 1)  # not the old run's scale
    assert "Press Train" in playground.status.value
    assert bytes(playground.figure.widget.value) != before
    n = len(m.X) + len(m.X_test)
    assert sum(len(p.get_offsets()) for p in playground.boundary.points) == n  # the new points
    playground.train_button.click()
    assert m.history["step"] == list(range(1, 41))  # counting starts again
    left, right = playground.curves.ax.get_xlim()
    bottom, top = playground.curves.ax.get_ylim()
    assert left <= 1 and right >= 40 and bottom <= min(m.history["loss"]) and top >= max(m.history["loss"])


def test_a_new_network_also_clears_the_progress_bar(playground):
    playground.train_button.click()
    playground.controls["units"].value = 6
    assert playground.progress.value == 0 and playground.model.history["loss"] == []
    assert len(playground.curves.train.get_xdata()) == 0


# --- the diagnostics panel -------------------------------------------------------------

def _by_hand(m):
    """The gradient norms and dead shares of a one-hidden-layer PlaygroundModel, in plain numpy."""
    W1, b1 = m.graph.get_node("hidden1/W").value, m.graph.get_node("hidden1/b").value
    W2, b2 = m.graph.get_node("output/W").value, m.graph.get_node("output/b").value
    X, Y, lam = m.X, np.eye(2)[m.y], m.settings["l2"]
    z = X @ W1 + b1
    h = {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0), "sigmoid": lambda v: 1 / (1 + np.exp(-v))}[
        m.settings["activation"]](z)
    logits = h @ W2 + b2
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    d_logits = (p - Y) / len(X)                       # mean cross-entropy
    dW2 = h.T @ d_logits + lam * W2                   # + the L2 penalty's lam * W
    slope = {"tanh": 1 - h ** 2, "relu": (z > 0).astype(float), "sigmoid": h * (1 - h)}[m.settings["activation"]]
    dW1 = X.T @ ((d_logits @ W2.T) * slope) + lam * W1
    return np.linalg.norm(dW1), np.linalg.norm(dW2), h


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_the_gradient_norms_match_a_hand_computation(activation):
    m = PlaygroundModel("moons", hidden_layers=1, units=5, activation=activation, l2=1e-2)
    g1, g2, _ = _by_hand(m)
    m.train(1)  # step 1 is an evaluation step, measured before its update
    assert m.history["grad_norm/hidden1"] == [pytest.approx(g1, rel=1e-9)]
    assert m.history["grad_norm/output"] == [pytest.approx(g2, rel=1e-9)]
    assert g1 > 0 and g2 > 0


def test_the_update_ratio_is_the_step_relative_to_the_weights():
    m = PlaygroundModel("xor", hidden_layers=1, units=3, optimizer="GD", learning_rate=0.5, eval_every=4)
    W1, W2 = (m.graph.get_node(f"{layer}/W").value.copy() for layer in ("hidden1", "output"))
    g1, g2, _ = _by_hand(m)
    m.train(1)
    # plain gradient descent moves W by learning_rate * gradient
    assert m.history["update_ratio/hidden1"] == [pytest.approx(0.5 * g1 / np.linalg.norm(W1), rel=1e-9)]
    assert m.history["update_ratio/output"] == [pytest.approx(0.5 * g2 / np.linalg.norm(W2), rel=1e-9)]
    m.train(7)  # steps 2..8: evaluated at 4 and at 8 (the last step of a call)
    m.train(3)  # steps 9..11: evaluated at 11
    W2 = m.graph.get_node("output/W").value.copy()
    _, g2, _ = _by_hand(m)
    m.train(1)  # step 12: the ratio of its own update, not of the steps since the last evaluation
    assert m.history["eval_step"] == [1, 4, 8, 11, 12]
    assert len(m.history["update_ratio/output"]) == 5
    assert m.history["update_ratio/output"][-1] == pytest.approx(0.5 * g2 / np.linalg.norm(W2), rel=1e-9)


def test_dead_units_are_counted():
    m = PlaygroundModel("xor", hidden_layers=1, units=4, activation="relu")
    W, b = m.graph.get_node("hidden1/W").value, m.graph.get_node("hidden1/b")
    z = m.X @ W[:, 3]
    # three ReLUs that can never fire on this data, and one that fires for a single training point: alive
    b.value = np.array([-100.0, -100.0, -100.0, -np.sort(z)[-2]])
    _, _, h = _by_hand(m)
    assert (h[:, :3] == 0).all() and np.count_nonzero(h[:, 3]) == 1
    assert m.diagnose()["dead/hidden1"] == 0.75
    m.train(1)
    assert m.history["dead/hidden1"] == [0.75]
    m.configure(activation="tanh")
    m.graph.get_node("hidden1/b").value = np.array([30.0, 0.0, 0.0, 0.0])  # tanh(30): saturated, slope 1e-26
    assert m.diagnose()["dead/hidden1"] == 0.25


def test_the_panel_plots_the_diagnostics(playground):
    playground.controls["hidden_layers"].value = 2
    playground.train_button.click()
    m, panel = playground.model, playground.diagnostics
    assert playground.error is None
    assert set(panel.lines) == set(m.diagnostic_names())
    assert m.diagnostic_names("dead") == ["dead/hidden1", "dead/hidden2"]  # the output layer has no dead units
    for name, line in panel.lines.items():
        np.testing.assert_array_equal(line.get_xdata(), m.history["eval_step"])
        np.testing.assert_allclose(line.get_ydata(), m.history[name])
    playground.controls["hidden_layers"].value = 0  # a new network: the panel follows its layers, empty
    assert set(panel.lines) == {"grad_norm/output", "update_ratio/output"}
    assert all(len(line.get_xdata()) == 0 for line in panel.lines.values())


def test_a_diverged_run_keeps_the_diagnostics_in_step():
    m = PlaygroundModel("xor")
    m.configure(learning_rate=1e300, optimizer="GD")
    m.train(20)
    assert m.diverged is not None
    h = m.history
    for name in m.diagnostic_names():
        assert len(h[name]) in (len(h["eval_step"]), len(h["eval_step"]) - 1), name
