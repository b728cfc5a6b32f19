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
