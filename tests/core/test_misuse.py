"""Every misuse a TensorFlow-1 user would try is answered: a documented dlscratch error that names the
node, its op, the shapes and what to do, or a correct result. One test per kind of misuse."""
import collections
import warnings

import numpy as np
import pytest

import dlscratch as ds


def explains(info, *parts):
    """The error's message mentions every part (node names, op types, shapes, the fix)."""
    message = str(info.value)
    missing = [p for p in parts if p not in message]
    assert not missing, f"{missing} not in the message: {message}"
    return message


LOGITS = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3], [0.1, 0.2, 3.0], [1.0, 1.0, 1.0]])
CLASSES = np.array([0, 1, 2, 1])


# --- class-index labels given to the cross-entropy losses ---------------------------------------

LOSSES = {
    "with_logits": lambda labels, logits: ds.softmax_cross_entropy_with_logits(labels=labels, logits=logits),
    "nn.softmax_cross_entropy(mean)": lambda labels, logits: ds.nn.softmax_cross_entropy(logits=logits, labels=labels),
    "nn.softmax_cross_entropy(sum)":
        lambda labels, logits: ds.nn.softmax_cross_entropy(logits=logits, labels=labels, reduction="sum"),
    "nn.softmax_cross_entropy(none)":
        lambda labels, logits: ds.nn.softmax_cross_entropy(logits=logits, labels=labels, reduction="none"),
    "nn.cross_entropy": lambda labels, logits: ds.nn.cross_entropy(logits, labels),
}


@pytest.mark.parametrize("label_shape", [(4,), (4, 1)], ids=["(N,)", "(N,1)"])
@pytest.mark.parametrize("loss", LOSSES, ids=str)
def test_class_index_labels_are_refused_when_the_loss_is_built(loss, label_shape):
    logits = ds.placeholder(shape=(None, 3), name="scores")
    labels = ds.constant(CLASSES.reshape(label_shape).astype(float), name="classes")
    with pytest.raises(ds.ShapeError) as info:
        LOSSES[loss](labels, logits)
    explains(info, "'classes'", "'scores'", str(label_shape), "(None, 3)", "one_hot",
             "sparse_softmax_cross_entropy_with_logits")


@pytest.mark.parametrize("label_shape", [(4,), (4, 1)], ids=["(N,)", "(N,1)"])
@pytest.mark.parametrize("loss", [k for k in LOSSES if k != "nn.cross_entropy"], ids=str)
def test_class_index_labels_are_refused_when_the_loss_runs(loss, label_shape):
    # shapes unknown until run time: the fused ops check them, as TensorFlow's kernels do
    logits, labels = ds.placeholder(name="scores"), ds.placeholder(name="classes")
    out = LOSSES[loss](labels, logits)
    with pytest.raises(ds.ShapeError) as info:
        ds.Session().run(out, {logits: LOGITS, labels: CLASSES.reshape(label_shape)})
    op = "SoftmaxCrossEntropyLoss" if "sum" in loss or "mean" in loss else "SoftmaxCrossEntropyWithLogits"
    explains(info, op, "'classes'", "'scores'", str(label_shape), "(4, 3)", "one_hot",
             "sparse_softmax_cross_entropy_with_logits")


def test_sparse_softmax_cross_entropy_takes_class_indices():
    logits, labels = ds.placeholder(shape=(None, 3)), ds.placeholder(shape=(None,), dtype=np.int64)
    sparse = ds.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    dense = ds.softmax_cross_entropy_with_logits(labels=ds.data.one_hot(CLASSES, 3), logits=logits)
    loss = ds.reduce_sum(sparse)
    (d_sparse,) = ds.gradients(loss, [logits])
    (d_dense,) = ds.gradients(ds.reduce_sum(dense), [logits])
    feed = {logits: LOGITS, labels: CLASSES}
    a, b, ga, gb = ds.Session().run([sparse, dense, d_sparse, d_dense], feed)
    assert a.shape == (4,)
    np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(ga, gb)
    assert ds.sparse_softmax_cross_entropy_with_logits is ds.nn.sparse_softmax_cross_entropy_with_logits


def test_sparse_softmax_cross_entropy_refuses_bad_class_indices():
    logits, labels = ds.placeholder(name="scores"), ds.placeholder(dtype=np.int64, name="classes")
    loss = ds.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits, name="xent")
    session = ds.Session()
    with pytest.raises(ds.InvalidArgumentError) as info:
        session.run(loss, {logits: LOGITS, labels: [0, 1, 3, 1]})
    explains(info, "'xent'", "SparseSoftmaxCrossEntropyWithLogits", "3", "[0, 3)", "(4, 3)")
    with pytest.raises(ds.ShapeError) as info:  # one-hot rows given to the sparse loss
        session.run(loss, {logits: LOGITS, labels: ds.data.one_hot(CLASSES, 3).astype(int)})
    explains(info, "'xent'", "(4, 3)", "softmax_cross_entropy_with_logits")
    floats = ds.placeholder(name="float_classes")
    with pytest.raises(ds.InvalidArgumentError) as info:
        session.run(ds.nn.sparse_softmax_cross_entropy_with_logits(labels=floats, logits=logits, name="xf"),
                    {logits: LOGITS, floats: [0.0, 1.5, 2.0, 1.0]})
    explains(info, "'xf'", "integer", "float64")


# --- dtypes are kept -----------------------------------------------------------------------------

def test_mixing_float32_and_float64_nodes_is_refused_as_in_tensorflow():
    w = ds.Variable(np.ones(3, np.float32), name="w")
    with pytest.raises(ds.GraphError) as info:
        ds.subtract(w, ds.constant(np.array([0.5, 1.5, 2.5]), name="targets"), name="error")
    explains(info, "Sub", "'error'", "'w' (Variable) of dtype float32", "'targets' (Const) of dtype float64",
             "(3,)", "astype")
    assert "error" not in [n.name for n in ds.get_default_graph().nodes]  # no half-built node is left behind
    # the dtype is known through the ops too
    x = ds.placeholder(shape=(None, 3), dtype=np.float32, name="x")
    h = ds.matmul(x, ds.Variable(np.ones((3, 2), np.float32)), name="h")
    with pytest.raises(ds.GraphError) as info:
        ds.add(h, ds.Variable(np.zeros(2), name="b64"), name="biased")
    explains(info, "Add", "'biased'", "'h' (MatMul) of dtype float32", "'b64' (Variable) of dtype float64")
    # an array or a Python number meeting a float32 node becomes float32, as in TensorFlow
    assert ds.Session().run(w - np.array([0.5, 1.5, 2.5]) * 2.0).dtype == np.float32
    logits = ds.Variable(LOGITS.astype(np.float32), name="logits32")
    one_hot = ds.data.one_hot(CLASSES, 3)  # float64 numpy labels
    losses = [ds.softmax_cross_entropy_with_logits(labels=one_hot, logits=logits),
              ds.nn.softmax_cross_entropy(logits=logits, labels=one_hot),
              ds.nn.cross_entropy(ds.softmax(logits), one_hot),
              ds.nn.sparse_softmax_cross_entropy_with_logits(labels=CLASSES, logits=logits)]
    assert {v.dtype for v in ds.Session().run(losses)} == {np.dtype(np.float32)}


@pytest.mark.parametrize("optimizer", [ds.train.GradientDescentOptimizer(0.1), ds.train.MomentumOptimizer(0.1),
                                       ds.train.AdamOptimizer(0.1)], ids=lambda o: type(o).__name__)
def test_float32_variables_stay_float32_when_the_loss_mixes_in_float64(optimizer):
    w = ds.Variable(np.ones(3, np.float32), name="w")
    targets = ds.placeholder(name="targets")  # no dtype given: what is fed decides, float64 here
    loss = ds.reduce_sum(ds.square(w - targets))
    (grad,) = ds.gradients(loss, [w])
    train = optimizer.minimize(loss)
    session = ds.Session()
    feed = {targets: np.array([0.5, 1.5, 2.5])}
    assert session.run(loss, feed).dtype == np.float64  # numpy computed in float64 ...
    assert session.run(grad, feed).dtype == np.float32  # ... but w's gradient is w's dtype
    assert ds.compute_gradients(loss, feed, wrt=[w])[w].dtype == np.float32
    for _ in range(3):
        session.run(train, feed)
    assert w.value.dtype == np.float32 and session.run(w).dtype == np.float32  # and so is w after updates
    assert np.all(np.isfinite(w.value)) and not np.array_equal(w.value, np.ones(3))


def test_float32_stays_float32_through_a_float32_model():
    x = ds.placeholder(shape=(None, 2), dtype=np.float32)
    labels = ds.placeholder(shape=(None, 2), dtype=np.float32)
    logits = ds.nn.mlp(x, [4, 2])  # the layers take the input's dtype
    loss = ds.nn.softmax_cross_entropy(logits=logits, labels=labels)
    train = ds.train.GradientDescentOptimizer(0.5).minimize(loss)
    grads = ds.gradients(loss, ds.get_default_graph().variables)
    X, y = ds.data.xor_clusters()
    feed = {x: X, labels: ds.data.one_hot(y, 2)}
    session = ds.Session()
    values = session.run([loss] + grads, feed)
    assert {v.dtype for v in values} == {np.dtype(np.float32)}
    session.run(train, feed)
    assert {v.value.dtype for v in ds.get_default_graph().variables} == {np.dtype(np.float32)}


# --- values handed to the user never alias the graph's state ------------------------------------

def test_fetched_values_are_the_users_own():
    w = ds.Variable(np.arange(6.0).reshape(2, 3), name="w")
    c = ds.constant(np.ones(3), name="c")
    x = ds.placeholder(name="x")
    d = ds.placeholder_with_default(np.zeros(2), name="d")
    fetches = [ds.reshape(w, (3, 2)), ds.transpose(w), w, c, ds.reshape(c, (3, 1)), x, d]
    session = ds.Session()
    fed = np.ones(4)
    for value in session.run(fetches, {x: fed}):
        value[...] = 99
    assert not np.any(fed == 99)
    again = session.run(fetches, {x: np.ones(4)})
    np.testing.assert_array_equal(again[0], np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(again[3], np.ones(3))
    np.testing.assert_array_equal(again[6], np.zeros(2))
    np.testing.assert_array_equal(w.value, np.arange(6.0).reshape(2, 3))


def test_nodes_built_from_a_users_buffer_keep_their_own_copy():
    buffer = np.ones(3)
    c, w = ds.constant(buffer), ds.Variable(buffer)
    w_cast = ds.Variable(buffer, dtype=np.float64)  # the dtype= path copies too
    total = c + w + w_cast
    buffer[:] = 5
    np.testing.assert_array_equal(ds.Session().run(total), 3 * np.ones(3))
    w.assign(buffer)
    buffer[:] = 7
    np.testing.assert_array_equal(w.value, 5 * np.ones(3))


def test_gradients_handed_to_the_user_are_their_own():
    w = ds.Variable(np.ones(3), name="w")
    s = ds.Variable(2.0, name="s")
    loss = s + ds.reduce_sum(w)  # d loss / d s is the seed itself, d loss / d w a spread of it
    grads = ds.compute_gradients(loss)
    for g in grads.values():
        g[...] = 42  # writeable, and changing one changes no other
    assert ds.compute_gradients(loss)[s] == 1.0
    np.testing.assert_array_equal(ds.compute_gradients(loss)[w], np.ones(3))
    gs, gw = ds.gradients(loss, [s, w])
    session = ds.Session()
    first = session.run([gs, gw])
    for g in first:
        g[...] = 42
    np.testing.assert_array_equal(session.run(gw), np.ones(3))
    assert session.run(gs) == 1.0


# --- data helpers -------------------------------------------------------------------------------

def test_one_hot_refuses_labels_out_of_range():
    with pytest.raises(ds.InvalidArgumentError) as info:
        ds.data.one_hot([0, 1, 3], 3)
    explains(info, "3", "num_classes", "[0, 3)")
    with pytest.raises(ds.InvalidArgumentError) as info:
        ds.data.one_hot([0, -1, 2], 3)
    explains(info, "-1")
    with pytest.raises(ds.InvalidArgumentError) as info:
        ds.data.one_hot([0.0, 1.5], 3)
    explains(info, "1.5", "integer")
    with pytest.raises(ds.InvalidArgumentError, match="num_classes"):
        ds.data.one_hot([], None)
    np.testing.assert_array_equal(ds.data.one_hot(np.array([[1.0], [0.0]]), 2), [[0, 1], [1, 0]])
    assert ds.data.one_hot([], 3).shape == (0, 3)


def test_data_helpers_refuse_mismatched_lengths():
    X, y = np.zeros((10, 2)), np.zeros(9)
    with pytest.raises(ds.InvalidArgumentError) as info:
        ds.data.train_test_split(X, y)
    explains(info, "10", "9", "X", "y")
    with pytest.raises(ds.InvalidArgumentError) as info:
        list(ds.data.batches(X, y, 4))
    explains(info, "10", "9")


@pytest.mark.parametrize("call, words", [
    (lambda: ds.data.train_test_split(np.zeros((10, 2)), np.zeros(10), test_size=1.5), ["test_size", "1.5"]),
    (lambda: ds.data.train_test_split(np.zeros((10, 2)), np.zeros(10), test_size=0.01), ["empty", "test"]),
    (lambda: list(ds.data.batches(np.zeros((10, 2)), np.zeros(10), 0)), ["batch_size", "0"]),
    (lambda: list(ds.data.batches(np.zeros((10, 2)), np.zeros(10), 2.5)), ["batch_size", "2.5"]),
])
def test_data_helpers_refuse_impossible_sizes(call, words):
    with pytest.raises(ds.InvalidArgumentError) as info:
        call()
    explains(info, *words)


def test_train_test_split_takes_a_count_as_scikit_learn_does():
    X_train, X_test, y_train, y_test = ds.data.train_test_split(np.arange(20).reshape(10, 2), np.arange(10), 3)
    assert len(X_test) == len(y_test) == 3 and len(X_train) == len(y_train) == 7
    np.testing.assert_array_equal(X_test[:, 0] // 2, y_test)


# --- TF-style argument mistakes -----------------------------------------------------------------

@pytest.mark.parametrize("feed", [[1, 2], (1, 2), 3.0, "x"], ids=["list", "tuple", "float", "str"])
def test_a_feed_that_is_not_a_dict(feed):
    x = ds.placeholder(name="x")
    with pytest.raises(ds.FeedError) as info:
        ds.Session().run(x * 2, feed)
    explains(info, "feed_dict", "dict", type(feed).__name__, "feed_dict={x: ")


def test_a_feed_whose_value_is_a_node():
    x = ds.placeholder(name="x")
    c = ds.constant(1.0, name="one")
    with pytest.raises(ds.FeedError) as info:
        ds.Session().run(x * 2, {x: c})
    explains(info, "'x'", "'one'", "Const", "session.run")


def test_a_node_given_by_its_name():
    x = ds.placeholder(shape=(None,), name="x")
    y = ds.multiply(x, 2.0, name="y")
    session = ds.Session()
    with pytest.raises(ds.FeedError) as info:
        session.run(y, {"x:0": [1.0]})
    explains(info, "keys must be nodes", "'x:0'", "get_node('x')")
    with pytest.raises(ds.GraphError) as info:
        session.run("y", {x: [1.0]})
    explains(info, "fetch", "str", "get_node('y')")
    graph = ds.get_default_graph()
    np.testing.assert_array_equal(session.run(graph.get_node("y"), {graph.get_node("x"): [1.0]}), [2.0])


def test_namedtuples_and_nested_fetches():
    Pair = collections.namedtuple("Pair", "loss extras")
    x = ds.placeholder(name="x")
    y = x * 2
    result = ds.Session().run(Pair(y, {"k": [x, (y,)]}), {x: 3.0})
    assert isinstance(result, Pair)
    assert result.loss == 6.0
    assert result.extras["k"][0] == 3.0 and result.extras["k"][1] == (6.0,)
    ordered = ds.Session().run(collections.OrderedDict(b=y, a=x), {x: 1.0})
    assert isinstance(ordered, collections.OrderedDict) and list(ordered) == ["b", "a"]


@pytest.mark.parametrize("fetch", [None, [None], {"a": 1.0}], ids=["None", "[None]", "number"])
def test_fetching_something_that_is_not_a_node(fetch):
    x = ds.placeholder(name="x")
    with pytest.raises(ds.GraphError) as info:
        ds.Session().run(fetch, {x: 1.0})
    explains(info, "fetch", "node")


def test_running_a_node_from_another_graph():
    with ds.Graph().as_default():
        foreign = ds.multiply(ds.constant(1.0), 2.0, name="foreign")
    with pytest.raises(ds.GraphError) as info:
        ds.Session().run(foreign)
    explains(info, "'foreign'", "Mul", "another graph", "Session(graph=")


def test_feeding_a_variable_replaces_its_value_for_that_run():
    w = ds.Variable(np.ones(3), name="w")
    y = ds.reduce_sum(w * 2)
    session = ds.Session()
    assert session.run(y, {w: np.zeros(3)}) == 0.0
    assert session.run(y) == 6.0  # only that run
    np.testing.assert_array_equal(w.value, np.ones(3))
    with pytest.raises(ds.FeedError) as info:
        session.run(y, {w: np.zeros(4)})
    explains(info, "'w'", "Variable", "(3,)", "(4,)")


def test_feeding_an_op_node():
    x = ds.placeholder(name="x")
    h = ds.multiply(x, 10.0, name="h")
    y = h + 1
    assert ds.Session().run(y, {h: 2.0}) == 3.0  # x need not be fed: h's value is given


def test_a_closed_session():
    x = ds.constant(1.0)
    with ds.Session() as session:
        assert session.run(x) == 1.0
    with pytest.raises(ds.SessionError) as info:
        session.run(x)
    explains(info, "closed", "ds.Session()")


def test_feeding_a_wrong_dtype():
    labels = ds.placeholder(shape=(None,), dtype=np.int32, name="labels")
    with pytest.raises(ds.FeedError) as info:
        ds.Session().run(labels * 1, {labels: np.array([0.5, 1.0])})
    explains(info, "'labels'", "Placeholder", "int32", "float64", "astype")
    x = ds.placeholder(name="x")
    with pytest.raises(ds.FeedError) as info:
        ds.Session().run(x * 1, {x: np.array(["a", "b"])})
    explains(info, "'x'", "Placeholder", "<U1", "numbers")
    w = ds.Variable(np.ones(2, np.float32), name="w")
    assert ds.Session().run(w * 2, {w: np.zeros(2)}).dtype == np.float32  # a fed value takes the node's dtype
    with pytest.raises(ds.FeedError) as info:
        ds.Session().run(w * 2, {w: "zeros"})
    explains(info, "'w'", "Variable", "str")


def test_python_scalars_and_arrays_give_numpy_results():
    x = ds.placeholder(name="x")
    y = ds.multiply(x, 2, name="y")
    session = ds.Session()
    for fed, expected in [(3, 6.0), (3.0, 6.0), ([1, 2], [2.0, 4.0]), (np.float32(1.5), 3.0)]:
        value = session.run(y, {x: fed})
        assert isinstance(value, (np.ndarray, np.generic))
        np.testing.assert_array_equal(value, expected)
    assert isinstance(session.run(ds.constant(2.0)), (np.ndarray, np.generic))


def test_integer_inputs_to_float_ops_work():
    for op, f in [(ds.sigmoid, lambda v: 1 / (1 + np.exp(-v))), (ds.exp, np.exp), (ds.tanh, np.tanh),
                  (ds.log, np.log), (lambda v: ds.pow(v, -1), lambda v: 1.0 / v), (ds.softmax, None)]:
        x = ds.placeholder(dtype=np.int32)
        value = ds.Session().run(op(x), {x: [1, 2, 3]})
        assert value.dtype.kind == "f"
        if f is not None:
            np.testing.assert_allclose(value, f(np.array([1.0, 2.0, 3.0])))
    np.testing.assert_allclose(ds.Session().run(ds.sigmoid(ds.constant([0, 0]))), [0.5, 0.5])


@pytest.mark.parametrize("reduce", [ds.reduce_sum, ds.reduce_mean, ds.softmax, ds.log_softmax],
                         ids=lambda f: f.__name__)
def test_an_axis_out_of_range(reduce):
    x = ds.placeholder(name="x")
    y = reduce(x, axis=2, name="total")
    with pytest.raises(ds.ShapeError) as info:
        ds.Session().run(y, {x: np.ones((4, 3))})
    explains(info, "'total'", y.op_type, "'x'", "(4, 3)", "axis 2", "2 dimensions", "-2")
    with pytest.raises(ds.GraphError) as info:  # not a whole number: refused as the graph is built
        reduce(x, axis=1.5)
    explains(info, "axis", "1.5", "whole number")


def test_transposing_with_a_wrong_permutation():
    x = ds.placeholder(name="x")
    y = ds.transpose(x, perm=(0, 1, 2), name="flip")
    with pytest.raises(ds.ShapeError) as info:
        ds.Session().run(y, {x: np.ones((2, 3))})
    explains(info, "'flip'", "Transpose", "(2, 3)", "perm=(0, 1, 2)", "(0, 1)")


def test_reshaping_to_an_incompatible_shape():
    x = ds.placeholder(name="x")
    y = ds.reshape(x, (4, 2), name="flat")
    with pytest.raises(ds.ShapeError) as info:
        ds.Session().run(y, {x: np.ones((2, 3))})
    explains(info, "'flat'", "Reshape", "(2, 3)", "(4, 2)", "6", "8", "-1")
    with pytest.raises(ds.ShapeError) as info:
        ds.Session().run(ds.reshape(x, (4, -1), name="open"), {x: np.ones((2, 3))})
    explains(info, "'open'", "(2, 3)", "(4, -1)", "6 is not a multiple of 4")
    with pytest.raises(ds.ShapeError) as info:
        ds.Session().run(ds.reshape(x, (-1, -1), name="two_open"), {x: np.ones((2, 3))})
    explains(info, "'two_open'", "(-1, -1)", "more than one -1")


@pytest.mark.parametrize("a_shape, b_shape", [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)),
                                              ((5, 2, 3), (5, 3, 4)), ((5, 2, 3), (3, 4))])
def test_matmul_of_vectors_and_stacks_works(a_shape, b_shape, rng):
    a, b = ds.Variable(rng.normal(size=a_shape)), ds.Variable(rng.normal(size=b_shape))
    product = ds.matmul(a, b)
    ga, gb = ds.gradients(ds.reduce_sum(ds.square(product)), [a, b])
    value, da, db = ds.Session().run([product, ga, gb])
    np.testing.assert_allclose(value, a.value @ b.value)
    assert da.shape == a_shape and db.shape == b_shape
    numeric = ds.gradcheck.numerical_gradient(lambda: float(np.sum((a.value @ b.value) ** 2)), a.value)
    np.testing.assert_allclose(da, numeric, rtol=1e-5, atol=1e-6)


def test_matmul_of_scalars_or_mismatched_stacks():
    a, b = ds.placeholder(name="a"), ds.placeholder(name="b")
    product = ds.matmul(a, b, name="product")
    with pytest.raises(ds.ShapeError) as info:
        ds.Session().run(product, {a: 2.0, b: np.ones(3)})
    explains(info, "'product'", "MatMul", "()", "(3,)", "multiply")
    with pytest.raises(ds.ShapeError) as info:
        ds.Session().run(product, {a: np.ones((5, 2, 3)), b: np.ones((4, 3, 2))})
    explains(info, "'product'", "(5, 2, 3)", "(4, 3, 2)")


def test_exponents():
    x = ds.placeholder(name="x")
    with pytest.raises(ds.GraphError) as info:
        ds.pow(x, x)
    explains(info, "exponent", "exp(")
    values = ds.Session().run([x ** 2, x ** 0.5, x ** -1, x ** 0, x ** np.float32(2), x ** np.int64(3)],
                              {x: np.array([1.0, 4.0])})
    np.testing.assert_allclose(np.stack(values), [[1, 16], [1, 2], [1, 0.25], [1, 1], [1, 16], [1, 64]])
    (grad,) = ds.gradients(ds.reduce_sum(x ** 0), [x])
    np.testing.assert_array_equal(ds.Session().run(grad, {x: np.array([0.0, 2.0])}), [0.0, 0.0])


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_an_empty_batch(reduction):
    x = ds.placeholder(shape=(None, 2), name="x")
    labels = ds.placeholder(shape=(None, 2), name="labels")
    logits = ds.nn.mlp(x, [3, 2])
    loss = ds.nn.softmax_cross_entropy(logits=logits, labels=labels, reduction=reduction)
    train = ds.train.GradientDescentOptimizer(0.1).minimize(loss)
    before = [v.value.copy() for v in ds.get_default_graph().variables]
    feed = {x: np.zeros((0, 2)), labels: np.zeros((0, 2))}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no RuntimeWarning either
        value, _ = ds.Session().run([loss, train], feed)
    if reduction == "sum":
        assert value == 0.0  # the sum over no examples
    else:
        assert np.isnan(value)  # the mean of no examples, as TensorFlow gives it
    for b, v in zip(before, ds.get_default_graph().variables):
        np.testing.assert_array_equal(v.value, b)  # nothing to learn from: unchanged


def test_an_empty_batch_for_a_mean_is_nan_as_in_tensorflow_and_warns_nothing():
    x = ds.placeholder(shape=(None, 2), name="x")
    loss = ds.reduce_mean(x, name="average")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(ds.Session().run(loss, {x: np.zeros((0, 2))}))


def test_nan_in_a_feed_passes_through_and_check_numerics_names_the_placeholder():
    x = ds.placeholder(name="x")
    y = ds.reduce_sum(x * 2)
    assert np.isnan(ds.Session().run(y, {x: [1.0, np.nan]}))
    with pytest.raises(ds.NumericsError) as info:
        ds.Session(check_numerics=True).run(y, {x: [1.0, np.nan]})
    explains(info, "'x'", "Placeholder", "(2,)", "NaN", "fed")


# --- numpy-level failures are named ---------------------------------------------------------------

def test_floating_point_errors_under_errstate_name_the_node():
    x = ds.placeholder(name="x")
    y = ds.log(x, name="logarithm")
    with np.errstate(all="raise"):
        with pytest.raises(ds.NumericsError) as info:
            ds.Session().run(y, {x: np.array([1.0, 0.0])})
    explains(info, "'logarithm'", "Log", "'x'", "(2,)", "divide by zero")
    assert isinstance(info.value, FloatingPointError)


def test_memory_errors_name_the_node(monkeypatch):
    x = ds.placeholder(name="x")
    y = ds.matmul(x, ds.transpose(x), name="outer")

    def out_of_memory(*args, **kwargs):  # what numpy raises for a (100000, 100000) result, without the wait
        raise MemoryError("Unable to allocate 74.5 GiB for an array with shape (100000, 100000)")

    monkeypatch.setattr(ds.core.registry.OPS["MatMul"], "forward", staticmethod(out_of_memory))
    with pytest.raises(ds.ResourceExhaustedError) as info:
        ds.Session().run(y, {x: np.ones((100000, 3))})
    explains(info, "'outer'", "MatMul", "(100000, 3)", "(3, 100000)", "smaller")
    assert isinstance(info.value, MemoryError)
    # and in the backward pass
    monkeypatch.undo()
    monkeypatch.setattr(ds.core.registry.OPS["MatMul"], "backward", staticmethod(out_of_memory))
    w = ds.Variable(np.ones((3, 2)), name="w")
    loss = ds.reduce_sum(ds.matmul(x, w, name="product"))
    with pytest.raises(ds.ResourceExhaustedError) as info:
        ds.compute_gradients(loss, {x: np.ones((5, 3))})
    explains(info, "gradient rule", "'product'", "MatMul", "(5, 3)", "(3, 2)", "smaller")


# --- the opt-in numerics check ----------------------------------------------------------------------

def test_check_numerics_names_the_first_node_that_produced_nan_or_inf():
    x = ds.placeholder(shape=(None,), name="x")
    logs = ds.log(x, name="logs")  # log(0) = -inf: the first bad value
    y = ds.multiply(logs, 0.0, name="zeroed")  # -inf * 0 = NaN, later
    total = ds.reduce_sum(y, name="total")
    feed = {x: np.array([1.0, 0.0])}
    with np.errstate(divide="ignore", invalid="ignore"):
        assert np.isnan(ds.Session().run(total, feed))  # off by default: NaN, as numpy gives
    with pytest.raises(ds.NumericsError) as info:
        ds.Session(check_numerics=True).run(total, feed)
    message = explains(info, "'logs'", "Log", "'x'", "(2,)", "inf", "finite")
    assert "'zeroed'" not in message
    assert isinstance(info.value, FloatingPointError)


def test_check_numerics_names_a_variable_that_already_holds_nan():
    w = ds.Variable(np.array([1.0, np.nan]), name="w")
    y = ds.reduce_sum(ds.multiply(w, 2.0, name="doubled"))
    with pytest.raises(ds.NumericsError) as info:
        ds.Session(check_numerics=True).run(y)
    explains(info, "'doubled'", "Mul", "'w' (Variable) already holds it", "(2,)", "NOT finite", "learning rate")


def test_check_numerics_can_be_switched_on_for_every_session():
    x = ds.placeholder(name="x")
    y = ds.divide(1.0, x, name="reciprocal")
    ds.debugging.enable_check_numerics()
    try:
        with pytest.raises(ds.NumericsError) as info:
            ds.Session().run(y, {x: 0.0})
        explains(info, "'reciprocal'", "Div", "inf")
    finally:
        ds.debugging.disable_check_numerics()
    with np.errstate(divide="ignore"):
        assert ds.Session().run(y, {x: 0.0}) == np.inf


def test_check_numerics_on_one_node_as_tensorflow():
    x = ds.placeholder(name="x")
    checked = ds.debugging.check_numerics(ds.log(x, name="logs"), "the log-probabilities", name="checked")
    assert ds.Session().run(checked, {x: 1.0}) == 0.0
    with np.errstate(divide="ignore"), pytest.raises(ds.NumericsError) as info:
        ds.Session().run(checked, {x: 0.0})
    explains(info, "the log-probabilities", "'checked'", "CheckNumerics", "'logs'", "inf", "()")
    assert ds.check_numerics is ds.debugging.check_numerics
    shaped = ds.placeholder(ds.float64, (None, 3), name="shaped")
    assert ds.check_numerics(shaped, "a batch").shape == (None, 3)  # it keeps its input's static shape


def test_check_numerics_names_a_training_step_whose_update_overflows():
    w = ds.Variable(np.array([1.0]), name="w")
    train = ds.train.GradientDescentOptimizer(1e10).minimize(ds.reduce_sum(w * 1e300), name="step")
    with pytest.raises(ds.NumericsError) as info:
        ds.Session(check_numerics=True).run(train)
    explains(info, "'step'", "GradientDescentOptimizer", "overflow", "'reduce_sum' (Sum) of shape ()", "learning rate")
    np.testing.assert_array_equal(w.value, [1.0])


def test_check_numerics_also_watches_the_gradients():
    x = ds.Variable(np.array([0.0, 1.0]), name="x")
    y = ds.reduce_sum(x ** 0.5, name="total")  # d/dx sqrt(x) is inf at 0
    train = ds.train.GradientDescentOptimizer(0.1).minimize(y)
    with pytest.raises(ds.NumericsError) as info:
        ds.Session(check_numerics=True).run(train)
    explains(info, "gradient", "Pow", "inf")
    np.testing.assert_array_equal(x.value, [0.0, 1.0])  # the update did not happen
