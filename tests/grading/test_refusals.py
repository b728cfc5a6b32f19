"""In a kernel (Validate), the library's own answers to assignment 3 refuse to work while the student's
functions run, as they are absent from the grading sandbox: what passes Validate passes grading."""
import numpy as np
import pytest

import dlscratch as ds
from dlscratch import grading


def train_with_fit(loss, variables, feed_dict, learning_rate, steps):
    with loss.graph.as_default():
        step = ds.train.GradientDescentOptimizer(learning_rate).minimize(loss, var_list=variables)
    return list(ds.train.fit(ds.Session(loss.graph), step, loss, feed_dict, steps)["loss"])


def momentum_with_the_optimizer(gradients, state, learning_rate, momentum=0.9):
    optimizer = state.setdefault("optimizer", ds.train.MomentumOptimizer(learning_rate, momentum))
    for v, g in gradients.items():
        if g is not None:
            v.value = optimizer.updated(v, v.value, g, learning_rate)


def adam_with_the_optimizer(gradients, state, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
    optimizer = state.setdefault("optimizer", ds.train.AdamOptimizer(learning_rate, beta1, beta2, epsilon))
    for v, g in gradients.items():
        if g is not None:
            v.value = optimizer.updated(v, v.value, g, learning_rate)


def minibatches_with_batches(step, X, Y, batch_size, epochs, seed=0):
    return [step(xb, yb) for epoch in range(epochs) for xb, yb in ds.data.batches(X, Y, batch_size, seed=epoch)]


@pytest.mark.parametrize("check", [
    lambda: grading.check_train(train_with_fit, "red/blue", steps=20, learning_rate=0.01, min_accuracy=0.0),
    lambda: grading.check_momentum_step(momentum_with_the_optimizer, learning_rate=0.1, momentum=0.9),
    lambda: grading.check_adam_step(adam_with_the_optimizer, learning_rate=0.01),
    lambda: grading.check_train_minibatches(minibatches_with_batches, batch_size=32, epochs=3, min_accuracy=0.0),
], ids=["fit", "momentum", "adam", "batches"])
def test_the_librarys_own_training_code_refuses_while_the_students_runs(check):
    with pytest.raises(grading.CheckFailed, match="called the library's own version"):
        check()
    # and works again afterwards
    with ds.Graph().as_default():
        w = ds.Variable(np.array([1.0]))
        loss = ds.reduce_sum(w * w)
        step = ds.train.MomentumOptimizer(0.1).minimize(loss)
    history = ds.train.fit(ds.Session(loss.graph), step, loss, {}, 3)
    assert len(history["loss"]) == 3 and len(list(ds.data.batches(np.zeros((4, 1)), np.zeros(4), 2))) == 2
