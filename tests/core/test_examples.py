"""The source material's two examples, end to end."""
import numpy as np

import dlscratch as ds
from dlscratch.gradcheck import check_gradients


def accuracy(probabilities, labels):
    return float(np.mean(probabilities.argmax(axis=1) == labels))


def test_softmax_perceptron_on_red_blue():
    X, y = ds.data.red_blue()
    rng = np.random.default_rng(0)
    x = ds.placeholder(shape=(None, 2), name="x")
    c = ds.placeholder(shape=(None, 2), name="c")
    W = ds.Variable(rng.normal(size=(2, 2)), name="W")
    b = ds.Variable(rng.normal(size=2), name="b")
    p = ds.softmax(x @ W + b)
    loss = ds.nn.cross_entropy(p, c)  # summed over the data set, as in the source
    step = ds.train.GradientDescentOptimizer(0.01).minimize(loss)
    feed = {x: X, c: ds.data.one_hot(y, 2)}
    with ds.Session() as s:
        first = s.run(loss, feed)
        for _ in range(100):
            s.run(step, feed)
        last, probabilities = s.run([loss, p], feed)
    assert first > 100
    assert last < 2
    assert accuracy(probabilities, y) >= 0.98


def _xor_mlp():
    x = ds.placeholder(shape=(None, 2), name="x")
    c = ds.placeholder(shape=(None, 2), name="c")
    p = ds.nn.mlp(x, [2, 2], activation="sigmoid", output_activation=ds.softmax)
    return x, c, p, ds.nn.cross_entropy(p, c)


def test_two_hidden_unit_mlp_on_xor_clusters():
    X, y = ds.data.xor_clusters()
    ds.set_random_seed(0)  # some initialisations get stuck in a local minimum; this one does not
    x, c, p, loss = _xor_mlp()
    step = ds.train.GradientDescentOptimizer(0.03).minimize(loss)
    feed = {x: X, c: ds.data.one_hot(y, 2)}
    with ds.Session() as s:
        first = s.run(loss, feed)
        for _ in range(1000):
            s.run(step, feed)
        last, probabilities = s.run([loss, p], feed)
    assert last < first / 10
    assert accuracy(probabilities, y) == 1.0


def test_gradient_check_of_the_mlp():
    X, y = ds.data.xor_clusters(n_per_cluster=5)
    x, c, p, loss = _xor_mlp()
    errors = check_gradients(loss, {x: X, c: ds.data.one_hot(y, 2)})
    assert set(errors) == {"hidden1/W", "hidden1/b", "output/W", "output/b"}
    assert max(errors.values()) < 1e-5, errors
