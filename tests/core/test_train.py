"""Optimizers: each one's first steps by hand, descent on a quadratic, and which Variables move."""
import numpy as np
import pytest

import dlscratch as ds

TARGET = np.array([3.0, -1.0])
START = np.array([0.5, 2.0])


def quadratic():
    """loss = sum((w - TARGET)^2), whose gradient is 2 (w - TARGET)."""
    w = ds.Variable(START, name="w")
    return w, ds.reduce_sum(ds.square(w - TARGET))


def grad(w):
    return 2 * (w - TARGET)


def steps(optimizer, n):
    w, loss = quadratic()
    step = optimizer.minimize(loss)
    history = []
    with ds.Session() as s:
        for _ in range(n):
            s.run(step)
            history.append(w.value.copy())
    return history


def test_gradient_descent_steps():
    w1, w2 = steps(ds.train.GradientDescentOptimizer(0.1), 2)
    expected1 = START - 0.1 * grad(START)
    np.testing.assert_allclose(w1, expected1, rtol=1e-12)
    np.testing.assert_allclose(w2, expected1 - 0.1 * grad(expected1), rtol=1e-12)


def test_momentum_steps():
    lr, mu = 0.1, 0.9
    w1, w2 = steps(ds.train.MomentumOptimizer(lr, mu), 2)
    v1 = grad(START)
    e1 = START - lr * v1
    v2 = mu * v1 + grad(e1)
    np.testing.assert_allclose(w1, e1, rtol=1e-12)
    np.testing.assert_allclose(w2, e1 - lr * v2, rtol=1e-12)


def test_adam_steps_follow_kingma_and_ba():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    w = START.copy()
    m = v = np.zeros_like(w)
    expected = []
    for t in (1, 2):  # Algorithm 1 of the paper, with bias-corrected moments
        g = grad(w)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        expected.append(w)
    got = steps(ds.train.AdamOptimizer(lr, b1, b2, eps), 2)
    # the epsilon is placed slightly differently (as in TensorFlow); with eps = 1e-8 that is invisible here
    np.testing.assert_allclose(got, expected, rtol=1e-7)
    np.testing.assert_allclose(got[0], START - lr * np.sign(grad(START)), rtol=1e-7)  # the first step is lr*sign


@pytest.mark.parametrize("make", [
    lambda: ds.train.GradientDescentOptimizer(0.1),
    lambda: ds.train.MomentumOptimizer(0.05, 0.9),
    lambda: ds.train.AdamOptimizer(0.2),
], ids=["sgd", "momentum", "adam"])
def test_each_optimizer_minimises_a_quadratic(make):
    w, loss = quadratic()
    step = make().minimize(loss)
    with ds.Session() as s:
        first = s.run(loss)
        for _ in range(200):
            s.run(step)
        last = s.run(loss)
    assert last < 1e-3 * first
    np.testing.assert_allclose(w.value, TARGET, atol=0.05)


def test_var_list_is_respected():
    a = ds.Variable(np.array([1.0]), name="a")
    b = ds.Variable(np.array([1.0]), name="b")
    loss = ds.reduce_sum(ds.square(a - 3) + ds.square(b + 3))
    step = ds.train.GradientDescentOptimizer(0.1).minimize(loss, var_list=[a])
    ds.Session().run(step)
    np.testing.assert_allclose(a.value, [1.0 - 0.1 * 2 * (1.0 - 3)])
    np.testing.assert_array_equal(b.value, [1.0])


def test_non_trainable_and_unrelated_variables_are_untouched():
    w = ds.Variable(np.array([1.0]), name="w")
    frozen = ds.Variable(np.array([2.0]), name="frozen", trainable=False)
    elsewhere = ds.Variable(np.array([5.0]), name="elsewhere")
    ds.exp(elsewhere)
    loss = ds.reduce_sum(ds.square(w * frozen - 1))
    step = ds.train.AdamOptimizer(0.1).minimize(loss)
    ds.Session().run(step)
    assert w.value[0] != 1.0
    np.testing.assert_array_equal(frozen.value, [2.0])
    np.testing.assert_array_equal(elsewhere.value, [5.0])


def test_variables_are_replaced_not_mutated():
    """Arrays the caller holds (e.g. a fetched snapshot or the initial value) never change under them."""
    w, loss = quadratic()
    before = w.value
    ds.Session().run(ds.train.GradientDescentOptimizer(0.1).minimize(loss))
    np.testing.assert_array_equal(before, START)
    assert w.value is not before


def test_minimize_needs_a_trainable_variable():
    x = ds.placeholder(name="x")
    frozen = ds.Variable(np.array([1.0]), trainable=False)
    loss = ds.reduce_sum(ds.square(x * frozen))
    with pytest.raises((ValueError, ds.DLScratchError), match="no trainable Variable"):
        ds.train.GradientDescentOptimizer(0.1).minimize(loss)


def test_the_train_op_trains_a_model_with_a_feed():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    true_w = np.array([[1.0], [-2.0], [0.5]])
    x = ds.placeholder(shape=(None, 3), name="x")
    y = ds.placeholder(shape=(None, 1), name="y")
    w = ds.Variable(np.zeros((3, 1)), name="w")
    loss = ds.nn.mean_squared_error(labels=y, predictions=ds.matmul(x, w))
    step = ds.train.GradientDescentOptimizer(0.1).minimize(loss)
    with ds.Session() as s:
        for _ in range(300):
            _, value = s.run([step, loss], {x: X, y: X @ true_w})
    assert value < 1e-8
    np.testing.assert_allclose(w.value, true_w, atol=1e-4)
