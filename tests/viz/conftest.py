import matplotlib
import numpy as np
import pytest

import dlscratch as ds

matplotlib.use("Agg")  # no display in tests; figures are checked through their artists


@pytest.fixture(autouse=True)
def _restore_dot_binary():
    """Tests switch the dot program; put the original back afterwards."""
    import graphviz.backend.dot_command as dot_command
    saved = dot_command.DOT_BINARY
    yield
    dot_command.DOT_BINARY = saved


@pytest.fixture(autouse=True)
def _no_figures_left():
    """Every plot function and widget must close its figures, so notebooks don't accumulate them."""
    import matplotlib.pyplot as plt
    plt.close("all")
    yield
    assert plt.get_fignums() == [], "a figure was left open"


def build_network():
    """x -> hidden1 (3 sigmoid units) -> output (2 logits) -> softmax -> cross-entropy, in a new graph."""
    graph = ds.Graph()
    with graph.as_default():
        x = ds.placeholder(shape=(None, 2), name="x")
        y = ds.placeholder(shape=(None, 2), name="y")
        h = ds.nn.dense(x, 3, "sigmoid", name="hidden1", seed=0)
        logits = ds.nn.dense(h, 2, name="output", seed=1)
        p = ds.softmax(logits, name="probabilities")
        loss = ds.nn.cross_entropy(p, y)
    X, labels = ds.data.xor_clusters(1)
    return {"graph": graph, "x": x, "y": y, "hidden": h, "probabilities": p, "loss": loss,
            "feed": {x: X, y: ds.data.one_hot(labels, 2)}}


@pytest.fixture
def net():
    return build_network()


@pytest.fixture
def rng():
    return np.random.default_rng(0)
