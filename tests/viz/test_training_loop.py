"""ds.train.fit, the one training loop, and ds.train.accuracy, the one accuracy helper; and that
every consumer (viz.fit, the playground, the learning-rate explorer, grading) uses them."""
import numpy as np
import pytest

import dlscratch as ds
from dlscratch.grading import classifiers
from dlscratch.viz.widgets import LearningRateModel, PlaygroundModel, learning_rate, playground


def quadratic(lr=0.1, start=(1.0, -2.0)):
    """loss = sum(w²); gradient descent multiplies w by (1 − 2 lr) each step."""
    g = ds.Graph()
    with g.as_default():
        w = ds.Variable(np.array(start), name="w")
        loss = ds.reduce_sum(ds.square(w), name="loss")
        train = ds.train.GradientDescentOptimizer(lr).minimize(loss)
    return ds.Session(g), train, loss, w


def test_the_loss_of_each_step_is_the_one_before_its_update():
    session, train, loss, w = quadratic(lr=0.1)
    history = ds.train.fit(session, train, loss, {}, 5)
    expected = [5.0 * 0.8 ** (2 * k) for k in range(5)]  # w shrinks by 0.8 per step
    np.testing.assert_allclose(history["loss"], expected)
    np.testing.assert_allclose(w.value, np.array([1.0, -2.0]) * 0.8 ** 5)
    assert history["step"] == [1, 2, 3, 4, 5] and history.steps_done == 5
    assert history.diverged is None and history.status == "5 steps, loss 5 → 0.8389"


def test_metrics_are_measured_before_the_update_at_evaluation_steps():
    session, train, loss, w = quadratic(lr=0.1)
    seen = []
    history = ds.train.fit(session, train, loss, {}, 10, every=4,
                           metrics={"w0": lambda: seen.append(float(w.value[0])) or float(w.value[0])})
    assert history["eval_step"] == [1, 4, 8, 10]
    np.testing.assert_allclose(history["w0"], [0.8 ** (s - 1) for s in (1, 4, 8, 10)])


def test_a_node_metric_is_fetched_in_the_steps_own_run():
    g = ds.Graph()
    with g.as_default():
        w = ds.Variable(np.linspace(1.0, 2.0, 20), name="w")
        loss = ds.reduce_sum(ds.square(ds.nn.dropout(w, 0.5, True, seed=0)))  # a new mask each run
        train = ds.train.GradientDescentOptimizer(0.1).minimize(loss)
    seen = []
    history = ds.train.fit(ds.Session(g), train, loss, {}, 4, every=2,
                           metrics={"same": (loss, lambda v: seen.append(v) or v)})
    assert history["eval_step"] == [1, 2, 4] and len(seen) == 3
    assert history["same"] == [history["loss"][0], history["loss"][1], history["loss"][3]]  # the same draw


def test_a_node_metric_needs_a_train_op():
    session, _, loss, _ = quadratic()
    with pytest.raises(ValueError, match="step's own run"):
        ds.train.fit(session, lambda: session.run(loss), loss, {}, 2, metrics={"l": (loss, float)})


def test_a_history_can_be_continued():
    session, train, loss, _ = quadratic()
    history = ds.train.fit(session, train, loss, {}, 3)
    ds.train.fit(session, train, loss, {}, 2, history=history)
    assert history["step"] == [1, 2, 3, 4, 5] and len(history["loss"]) == 5


def test_a_non_finite_loss_stops_training_with_a_clear_status(recwarn):
    session, train, loss, _ = quadratic(lr=1e155)  # the second step overflows to inf
    history = ds.train.fit(session, train, loss, {}, 100)
    assert history.diverged == len(history["loss"]) < 100
    assert not np.isfinite(history["loss"][-1]) and np.isfinite(history["loss"][0])
    assert history.status.startswith(f"diverged at step {history.diverged}") and "learning rate" in history.status
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    steps = history.steps_done
    ds.train.fit(session, train, loss, {}, 5, history=history)  # a diverged history trains no further
    assert history.steps_done == steps


def test_blow_up_stops_a_finite_but_exploding_loss():
    session, train, loss, _ = quadratic(lr=2.0)  # w <- -3 w: the loss grows 9 times per step
    history = ds.train.fit(session, train, loss, {}, 100, blow_up=1e3)
    assert history.diverged == 5 and history["loss"][-1] > 1e3 * history["loss"][0]


def test_a_loss_of_many_numbers_is_refused_clearly():
    g = ds.Graph()
    with g.as_default():
        w = ds.Variable(np.ones(3), name="w")
        per_example = ds.square(w)
        train = ds.train.GradientDescentOptimizer(0.1).minimize(ds.reduce_sum(per_example))
    with pytest.raises(ValueError, match=r"the loss has shape \(3,\).*ds.reduce_mean"):
        ds.train.fit(ds.Session(g), train, per_example, {}, 3)


def test_zero_steps_record_nothing():
    session, train, loss, _ = quadratic()
    history = ds.train.fit(session, train, loss, {}, 0)
    assert history["loss"] == [] and history.status == "0 steps"


def test_callback_every():
    session, train, loss, _ = quadratic()
    calls = []
    ds.train.fit(session, train, loss, {}, 10, callback=lambda h: calls.append(h.steps_done), callback_every=3)
    assert calls == [3, 6, 9]


def test_a_function_can_take_the_step():
    session, _, loss, w = quadratic()

    def step():  # hand-written gradient descent, as grading does with a student's backprop
        value = session.run(loss)
        w.value = w.value - 0.1 * 2 * w.value
        return value

    history = ds.train.fit(session, step, loss, {}, 3)
    np.testing.assert_allclose(history["loss"], [5.0, 3.2, 2.048])


def test_accuracy_reads_predictions_and_labels_in_every_usual_form():
    accuracy = ds.train.accuracy
    assert accuracy([0.2, 0.7, 0.9], [0, 1, 0]) == pytest.approx(2 / 3)
    assert accuracy([[0.2], [0.7]], [[0], [1]]) == 1.0
    assert accuracy([[0.8, 0.1, 0.1], [0.1, 0.2, 0.7]], [0, 1]) == 0.5
    assert accuracy([[0.8, 0.2], [0.3, 0.7]], [[1, 0], [0, 1]]) == 1.0
    assert accuracy([[-3.0, 2.0], [1.0, 0.5]], [1, 1]) == 0.5  # logits work too
    with pytest.raises(ValueError, match="3 predictions but 2 labels"):
        accuracy([[0.8, 0.2]] * 3, [0, 1])


def test_there_is_one_accuracy_helper():
    from dlscratch import viz
    from dlscratch.viz.widgets import perceptron
    assert viz.accuracy is ds.train.accuracy
    assert playground.accuracy is perceptron.accuracy is ds.train.accuracy


class Spy:
    """Stands in for ds.train.fit in one module and counts the calls."""

    def __init__(self, monkeypatch, module):
        assert module.fit is ds.train.fit  # the module uses the training layer's loop ...
        self.calls = 0
        monkeypatch.setattr(module, "fit", self)  # ... and trains only through it

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return ds.train.fit(*args, **kwargs)


def test_the_playground_trains_with_the_loop(monkeypatch):
    spy = Spy(monkeypatch, playground)
    m = PlaygroundModel("xor", hidden_layers=1, units=4)
    m.train(20)
    assert spy.calls == 1 and m.steps_done == 20 and isinstance(m.history, ds.train.History)
    assert m.history["eval_step"] == [1, 10, 20] and len(m.history["test_accuracy"]) == 3


def test_the_explorer_trains_with_the_loop(monkeypatch):
    spy = Spy(monkeypatch, learning_rate)
    m = LearningRateModel(learning_rate=0.015, steps=30)
    assert spy.calls == 1 and len(m.path) == len(m.losses) == 31 and m.diverged is None
    m = LearningRateModel(learning_rate=0.025, steps=30)  # above 2/100: too large for the ravine
    assert spy.calls == 2 and m.diverged is not None and len(m.path) == len(m.losses) == m.diverged + 1


def test_grading_trains_the_classifiers_with_the_loop(monkeypatch):
    from dlscratch.core import backprop
    spy = Spy(monkeypatch, classifiers)
    result = classifiers.train(classifiers.perceptron, 30, 0.01, lambda loss, values: backprop(loss, values))
    assert spy.calls == 1 and result.error is None and len(result.losses) == 30
    assert result.losses[-1] < result.losses[0] and result.accuracy > 0.9
