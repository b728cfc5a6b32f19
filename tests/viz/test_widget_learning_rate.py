"""LearningRateExplorer: paths from the library's optimizers, and a clear 'diverged' for large steps."""
import numpy as np
import pytest

from dlscratch.viz.widgets import LearningRateExplorer, LearningRateModel
from dlscratch.viz.widgets.learning_rate import SURFACES


@pytest.fixture(scope="module")
def explorer():
    return LearningRateExplorer()


def test_the_path_is_plain_gradient_descent():
    model = LearningRateModel("ravine", learning_rate=0.05, steps=10, optimizer="GD")
    p, expected = np.array(SURFACES["ravine"].start), [SURFACES["ravine"].start]
    for _ in range(10):
        p = p - 0.05 * np.array([p[0], 10 * p[1]])  # the gradient of (a^2 + 10 b^2) / 2
        expected.append(p)
    np.testing.assert_allclose(model.path, expected)
    np.testing.assert_allclose(model.losses, [0.5 * (a**2 + 10 * b**2) for a, b in expected])
    assert model.diverged is None


def test_a_moderate_learning_rate_converges_and_is_plotted(explorer):
    explorer.learning_rate.value = 0.05
    explorer.optimizer.value = "GD"
    m = explorer.model
    assert explorer.error is None and m.diverged is None
    assert m.losses[-1] < m.losses[0] / 100
    np.testing.assert_allclose(explorer.trajectory.path.get_xdata(), m.path[:, 0])
    assert not explorer.warning.get_visible()
    assert "Diverged" not in explorer.status.value


def test_too_large_a_learning_rate_visibly_diverges(explorer):
    explorer.optimizer.value = "GD"
    explorer.learning_rate.value = 0.25  # above 2 / 10, the ravine's limit for gradient descent
    m = explorer.model
    assert explorer.error is None
    assert m.diverged is not None and m.diverged < explorer.steps.value
    assert "Diverged" in explorer.status.value and "Lower the learning rate" in explorer.status.value
    assert explorer.warning.get_visible()
    assert len(m.path) == len(m.losses) == m.diverged + 1


@pytest.mark.parametrize("optimizer", ["GD", "momentum", "Adam"])
def test_every_optimizer_at_the_extremes_raises_nothing(explorer, optimizer):
    explorer.optimizer.value = optimizer
    for lr in (explorer.learning_rate.min, explorer.learning_rate.max):
        explorer.learning_rate.value = 10 ** lr
        for steps in (explorer.steps.min, explorer.steps.max):
            explorer.steps.value = steps
            assert explorer.error is None
            assert len(explorer.model.path) <= steps + 1
            assert explorer.status.value


def test_the_optimizers_take_different_paths():
    paths = {name: LearningRateModel(learning_rate=0.02, steps=30, optimizer=name).path
             for name in ("GD", "momentum", "Adam")}
    assert not np.allclose(paths["GD"], paths["momentum"]) and not np.allclose(paths["GD"], paths["Adam"])


def test_switching_surface_starts_from_its_own_point(explorer):
    explorer.surface.value = "rosenbrock"
    explorer.optimizer.value = "Adam"
    explorer.learning_rate.value = 0.05
    assert explorer.error is None
    np.testing.assert_allclose(explorer.model.path[0], SURFACES["rosenbrock"].start)
    assert "minimum at (1, 1)" in explorer.ax_path.get_title()
    explorer.surface.value = "ravine"
