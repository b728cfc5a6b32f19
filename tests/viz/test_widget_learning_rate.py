"""LearningRateExplorer: paths from the library's optimizers, and a clear 'diverged' for large steps."""
import numpy as np
import pytest

from dlscratch.viz.widgets import LearningRateExplorer, LearningRateModel, LearningRateSweep
from dlscratch.viz.widgets.learning_rate import SURFACES


@pytest.fixture(scope="module")
def explorer():
    return LearningRateExplorer()


def test_the_path_is_plain_gradient_descent():
    model = LearningRateModel("ravine", learning_rate=0.015, steps=10, optimizer="GD")
    p, expected = np.array(SURFACES["ravine"].start), [SURFACES["ravine"].start]
    for _ in range(10):
        p = p - 0.015 * np.array([p[0], 100 * p[1]])  # the gradient of (a^2 + 100 b^2) / 2
        expected.append(p)
    np.testing.assert_allclose(model.path, expected)
    np.testing.assert_allclose(model.losses, [0.5 * (a**2 + 100 * b**2) for a, b in expected])
    assert model.diverged is None


def test_a_moderate_learning_rate_converges_and_is_plotted(explorer):
    explorer.learning_rate.value = 0.015
    explorer.optimizer.value = "GD"
    m = explorer.model
    assert explorer.error is None and m.diverged is None
    assert m.losses[-1] < m.losses[0] / 100
    np.testing.assert_allclose(explorer.trajectory.path.get_xdata(), m.path[:, 0])
    assert not explorer.warning.get_visible()
    assert "Diverged" not in explorer.status.value


def test_too_large_a_learning_rate_visibly_diverges(explorer):
    explorer.optimizer.value = "GD"
    explorer.learning_rate.value = 0.025  # above 2 / 100, the ravine's limit for gradient descent
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
    paths = {name: LearningRateModel(learning_rate=0.015, steps=30, optimizer=name).path
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


@pytest.mark.parametrize("steps", [100, 300])
def test_the_ravine_limits_gradient_descent_to_2_over_100(steps):
    # Across the ravine a step multiplies w2 by 1 - 100 η: its size passes 1 at η = 0.02.
    assert LearningRateModel("ravine", 0.0195, steps).diverged is None
    assert LearningRateModel("ravine", 0.0205, steps).diverged is not None


def test_the_bowl_is_equally_steep_everywhere():
    m = LearningRateModel("bowl", learning_rate=1.0, steps=1)  # a step of 1 / curvature lands on the minimum
    np.testing.assert_allclose(m.path[-1], SURFACES["bowl"].minimum, atol=1e-12)
    assert LearningRateModel("bowl", learning_rate=1.9, steps=300).diverged is None
    assert LearningRateModel("bowl", learning_rate=2.1, steps=300).diverged is not None


def test_a_sweep_records_each_rate_as_its_own_run():
    rates = [0.001, 0.01, 0.0178, 0.05]
    sweep = LearningRateSweep("ravine", "GD", rates, steps=60)
    np.testing.assert_allclose(sweep.rates, rates)
    for rate, loss in zip(rates, sweep.final_losses):
        run = LearningRateModel("ravine", rate, 60, "GD")
        assert loss == (np.inf if run.diverged is not None else run.losses[-1])
    assert np.isinf(sweep.final_losses[-1])  # 0.05 is above the limit 0.02
    assert sweep.best_rate == 0.0178 and sweep.best_loss == min(sweep.final_losses)
    assert "best learning rate 0.0178" in repr(sweep)


def test_momentum_and_adam_at_their_best_beat_gradient_descent_at_its_best_on_the_ravine():
    # The chapter's claim: on a ravine with condition number 100, each optimizer at its own best learning rate.
    best = {name: LearningRateSweep("ravine", name, np.logspace(-3, 0, 13), steps=100)
            for name in ("GD", "momentum", "Adam")}
    assert best["GD"].best_rate < 0.02 and best["GD"].best_loss > 0.1  # the largest stable steps crawl along w1
    assert best["momentum"].best_loss < best["GD"].best_loss / 100
    assert best["Adam"].best_loss < best["GD"].best_loss / 10
    assert best["Adam"].best_rate > 10 * best["GD"].best_rate  # Adam's learning rate is a step length


def test_a_sweep_where_every_rate_diverges_says_so():
    sweep = LearningRateSweep("ravine", "GD", [0.5, 1.0], steps=50)
    assert sweep.best_rate is None and np.all(np.isinf(sweep.final_losses))
    assert "every learning rate diverged" in repr(sweep)


@pytest.mark.parametrize("rates", [[], [0.1, -0.01], [[0.1, 0.2]]])
def test_a_sweep_refuses_bad_rates(rates):
    with pytest.raises(ValueError, match="positive learning rates"):
        LearningRateSweep("ravine", "GD", rates)


def test_an_unknown_surface_or_optimizer_is_named():
    with pytest.raises(ValueError, match="unknown surface 'canyon'.*ravine"):
        LearningRateModel("canyon")
    with pytest.raises(ValueError, match="unknown optimizer 'sgd'"):
        LearningRateModel(optimizer="sgd")
