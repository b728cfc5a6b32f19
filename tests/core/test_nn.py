"""ds.nn: layers, losses, regularisers and dropout."""
import numpy as np
import pytest

import dlscratch as ds


def run(fetches, feed=None):
    return ds.Session().run(fetches, feed)


# --- layers ------------------------------------------------------------------------

def test_dense_shapes_names_and_value():
    x = ds.placeholder(shape=(None, 3), name="x")
    out = ds.nn.dense(x, 4, activation="relu", name="layer")
    g = ds.get_default_graph()
    W, b = g.get_node("layer/W"), g.get_node("layer/b")
    assert W.shape == (3, 4) and b.shape == (4,)
    X = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_allclose(run(out, {x: X}), np.maximum(X @ W.value + b.value, 0))
    assert all(n.name.startswith("layer/") for n in g.nodes if n is not x)


def test_two_dense_layers_get_their_own_scopes():
    x = ds.placeholder(shape=(None, 2), name="x")
    ds.nn.dense(x, 3)
    ds.nn.dense(x, 3)
    names = {n.name for n in ds.get_default_graph().variables}
    assert names == {"dense/W", "dense/b", "dense_1/W", "dense_1/b"}


def test_dense_needs_to_know_its_input_size():
    x = ds.placeholder(name="x")
    with pytest.raises(ds.GraphError, match="in_features"):
        ds.nn.dense(x, 3)
    out = ds.nn.dense(x, 3, in_features=2)
    assert run(out, {x: np.ones((4, 2))}).shape == (4, 3)


def test_dense_rejects_an_unknown_activation():
    with pytest.raises(ValueError, match="softplus"):
        ds.nn.dense(ds.placeholder(shape=(None, 2)), 3, activation="softplus")


def test_dense_initialisation_scale():
    """He for ReLU (std sqrt(2/n_in)), Glorot otherwise (std sqrt(2/(n_in+n_out)))."""
    x = ds.placeholder(shape=(None, 400), name="x")
    ds.nn.dense(x, 300, activation="relu", name="he")
    ds.nn.dense(x, 300, activation="tanh", name="glorot")
    g = ds.get_default_graph()
    assert g.get_node("he/W").value.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert g.get_node("glorot/W").value.std() == pytest.approx(np.sqrt(2 / 700), rel=0.02)
    np.testing.assert_array_equal(g.get_node("he/b").value, 0.0)


def test_dense_seed_makes_weights_reproducible():
    x = ds.placeholder(shape=(None, 2), name="x")
    ds.nn.dense(x, 3, seed=5, name="a")
    ds.nn.dense(x, 3, seed=5, name="b")
    ds.nn.dense(x, 3, seed=6, name="c")
    g = ds.get_default_graph()
    np.testing.assert_array_equal(g.get_node("a/W").value, g.get_node("b/W").value)
    assert not np.array_equal(g.get_node("a/W").value, g.get_node("c/W").value)


def test_set_random_seed_makes_initialisation_reproducible():
    def build():
        ds.reset_default_graph()
        ds.set_random_seed(42)
        ds.nn.mlp(ds.placeholder(shape=(None, 2)), [3, 2])
        return [v.value for v in ds.get_default_graph().variables]
    first, second = build(), build()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_mlp_shapes_scopes_and_activations():
    x = ds.placeholder(shape=(None, 2), name="x")
    out = ds.nn.mlp(x, [5, 4, 3], activation="sigmoid", output_activation=ds.softmax)
    shapes = {v.name: v.shape for v in ds.get_default_graph().variables}
    assert shapes == {"hidden1/W": (2, 5), "hidden1/b": (5,), "hidden2/W": (5, 4), "hidden2/b": (4,),
                      "output/W": (4, 3), "output/b": (3,)}
    p = run(out, {x: np.random.default_rng(0).normal(size=(7, 2))})
    assert p.shape == (7, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert [v.name for v in ds.nn.weights()] == ["hidden1/W", "hidden2/W", "output/W"]


def test_mlp_computes_the_layers_it_says():
    x = ds.placeholder(shape=(None, 2), name="x")
    out = ds.nn.mlp(x, [3, 2], activation="tanh")
    v = {n.name: n.value for n in ds.get_default_graph().variables}
    X = np.random.default_rng(1).normal(size=(4, 2))
    h = np.tanh(X @ v["hidden1/W"] + v["hidden1/b"])
    np.testing.assert_allclose(run(out, {x: X}), h @ v["output/W"] + v["output/b"], rtol=1e-12)


def test_mlp_in_float32():
    x = ds.placeholder(shape=(None, 2), dtype=np.float32, name="x")
    out = ds.nn.mlp(x, [3, 2], dtype=np.float32)
    assert run(out, {x: np.ones((2, 2), np.float32)}).dtype == np.float32


# --- losses ----------------------------------------------------------------------------

P = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
C = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


@pytest.mark.parametrize("reduction, expected", [
    ("sum", -np.log(0.7) - np.log(0.1)),
    ("mean", (-np.log(0.7) - np.log(0.1)) / 2),
    ("none", np.array([-np.log(0.7), -np.log(0.1)])),
])
def test_cross_entropy_is_minus_sum_c_log_p(reduction, expected):
    np.testing.assert_allclose(run(ds.nn.cross_entropy(P, C, reduction=reduction)), expected, rtol=1e-12)


def test_cross_entropy_gradient():
    p = ds.Variable(P, name="p")
    g = ds.compute_gradients(ds.nn.cross_entropy(p, C), wrt=[p])[p]
    np.testing.assert_allclose(g, -C / P, rtol=1e-12)


def test_unknown_reduction_is_rejected():
    with pytest.raises(ValueError, match="reduction"):
        ds.nn.cross_entropy(P, C, reduction="max")


def test_softmax_cross_entropy_matches_cross_entropy_of_softmax():
    logits = np.random.default_rng(0).normal(size=(4, 3))
    labels = np.eye(3)[[0, 2, 1, 1]]
    fused = run(ds.nn.softmax_cross_entropy(labels=labels, logits=logits))
    plain = run(ds.nn.cross_entropy(ds.softmax(logits), labels, reduction="mean"))
    np.testing.assert_allclose(fused, plain, rtol=1e-12)


@pytest.mark.parametrize("reduction, reduce", [("sum", ds.reduce_sum), ("mean", ds.reduce_mean)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_cross_entropy_is_one_fused_node_equal_to_the_reduced_per_example_loss(reduction, reduce, dtype):
    rng = np.random.default_rng(3)
    logits = ds.Variable(rng.normal(size=(6, 3)).astype(dtype), name="logits")
    labels = ds.placeholder((None, 3), dtype, name="labels")
    feed = {labels: np.eye(3, dtype=dtype)[[0, 2, 1, 1, 0, 2]]}
    fused = ds.nn.softmax_cross_entropy(labels=labels, logits=logits, reduction=reduction)
    composite = reduce(ds.softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    assert fused.op_type == "SoftmaxCrossEntropyLoss" and fused.inputs == (labels, logits)
    value, expected = ds.Session().run([fused, composite], feed)
    assert value.dtype == dtype and np.shape(value) == ()  # float32 stays float32
    np.testing.assert_allclose(value, expected, rtol=1e-6 if dtype == np.float32 else 1e-12)
    grad = ds.compute_gradients(fused, feed, wrt=[logits])[logits]
    expected_grad = ds.compute_gradients(composite, feed, wrt=[logits])[logits]
    assert grad.dtype == dtype
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("labels_shape, logits_shape", [((3,), (3,)), ((4, 3), (4, 3)), ((2, 4, 3), (2, 4, 3))])
def test_softmax_cross_entropy_mean_counts_the_examples(labels_shape, logits_shape):
    # labels of another shape than the logits are refused, as in TensorFlow (see test_misuse.py)
    rng = np.random.default_rng(5)
    labels, logits = rng.uniform(0.1, 1, labels_shape), ds.Variable(rng.normal(size=logits_shape), name="z")
    fused = ds.nn.softmax_cross_entropy(labels=labels, logits=logits, reduction="mean")
    composite = ds.reduce_mean(ds.softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    np.testing.assert_allclose(*run([fused, composite]), rtol=1e-12)
    np.testing.assert_allclose(ds.compute_gradients(fused, wrt=[logits])[logits],
                               ds.compute_gradients(composite, wrt=[logits])[logits], rtol=1e-12)


def test_softmax_cross_entropy_stays_finite_for_huge_logits():
    logits = ds.Variable(np.array([[1000.0, -1000.0], [0.0, 1000.0]]), name="logits")
    loss = ds.nn.softmax_cross_entropy(labels=np.array([[0.0, 1.0], [1.0, 0.0]]), logits=logits, reduction="sum")
    np.testing.assert_allclose(run(loss), 3000.0)
    grad = ds.compute_gradients(loss, wrt=[logits])[logits]
    np.testing.assert_allclose(grad, [[1.0, -1.0], [-1.0, 1.0]])


def test_softmax_cross_entropy_rule_works_without_the_forward_pass_saved_work():
    # e.g. a rule called by hand with an OpContext a student built: the softmax is recomputed
    labels, logits = ds.constant(np.eye(2)), ds.Variable(np.array([[2.0, 0.0], [0.0, 1.0]]), name="logits")
    loss = ds.nn.softmax_cross_entropy(labels=labels, logits=logits, reduction="mean")
    ctx = ds.OpContext(loss, (labels.value, logits.value), run(loss), (False, True))
    _, d_logits = ds.gradient_rule(loss.op_type)(ctx, np.ones(()))
    np.testing.assert_allclose(d_logits, ds.compute_gradients(loss, wrt=[logits])[logits], rtol=1e-12)


def test_mean_squared_error_value_and_gradient():
    pred = ds.Variable(np.array([[1.0, 2.0], [3.0, 5.0]]), name="pred")
    target = np.array([[1.5, 2.0], [2.0, 4.0]])
    loss = ds.nn.mean_squared_error(labels=target, predictions=pred)
    np.testing.assert_allclose(run(loss), np.mean((pred.value - target) ** 2))
    g = ds.compute_gradients(loss, wrt=[pred])[pred]
    np.testing.assert_allclose(g, 2 * (pred.value - target) / 4)


def test_l2_loss_and_regularizer():
    W1 = ds.Variable(np.array([[1.0, -2.0]]), name="W1")
    W2 = ds.Variable(np.array([3.0]), name="W2")
    np.testing.assert_allclose(run(ds.nn.l2_loss(W1)), 2.5)
    penalty = ds.nn.l2_regularizer(0.1, [W1, W2])
    np.testing.assert_allclose(run(penalty), 0.1 * (2.5 + 4.5))
    grads = ds.compute_gradients(penalty, wrt=[W1, W2])
    np.testing.assert_allclose(grads[W1], 0.1 * W1.value)
    np.testing.assert_allclose(grads[W2], 0.1 * W2.value)


def test_weights_picks_the_weight_matrices_of_a_graph():
    x = ds.placeholder(shape=(None, 2))
    ds.nn.mlp(x, [3, 1])
    other = ds.Graph()
    with other.as_default():
        ds.nn.dense(ds.placeholder(shape=(None, 4)), 2, name="lonely")
    assert [w.name for w in ds.nn.weights(other)] == ["lonely/W"]
    assert [w.name for w in ds.nn.weights()] == ["hidden1/W", "output/W"]


# --- dropout ----------------------------------------------------------------------------

def test_dropout_in_evaluation_is_the_identity():
    x = ds.placeholder(shape=(None, 5), name="x")
    X = np.random.default_rng(0).normal(size=(3, 5))
    np.testing.assert_array_equal(run(ds.nn.dropout(x, 0.5, training=False), {x: X}), X)
    training = ds.placeholder_with_default(False, shape=())
    out = ds.nn.dropout(x, 0.5, training=training)
    np.testing.assert_array_equal(run(out, {x: X}), X)
    assert not np.array_equal(run(out, {x: X, training: True}), X)


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_dropout_in_training_zeros_about_rate_and_scales_the_rest(rate):
    X = np.random.default_rng(0).uniform(1.0, 2.0, size=(200, 100))
    out = run(ds.nn.dropout(X, rate, training=True, seed=0))
    dropped = out == 0
    assert abs(dropped.mean() - rate) < 0.02
    np.testing.assert_allclose(out[~dropped], X[~dropped] / (1 - rate), rtol=1e-12)


def test_dropout_with_a_seed_is_deterministic():
    X = np.ones((20, 20))

    def masks(seed):
        ds.reset_default_graph()
        return run(ds.nn.dropout(X, 0.5, training=True, seed=seed)) == 0

    np.testing.assert_array_equal(masks(3), masks(3))
    assert not np.array_equal(masks(3), masks(4))


def test_dropout_gradient_flows_only_through_kept_units():
    x = ds.Variable(np.random.default_rng(0).uniform(1.0, 2.0, size=(10, 10)), name="x")
    out = ds.nn.dropout(x, 0.4, training=True, seed=1)
    loss = ds.reduce_sum(out * 3.0)
    value, grad = run([out, ds.gradients(loss, x)])  # the same run: the same mask
    kept = value != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(grad[kept], 3.0 / 0.6)
    np.testing.assert_array_equal(grad[~kept], 0.0)


def test_dropout_rate_must_be_a_probability():
    with pytest.raises(ValueError, match="rate"):
        ds.nn.dropout(np.ones(3), 1.0, training=True)
