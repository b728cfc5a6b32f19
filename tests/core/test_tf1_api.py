"""The parts of TensorFlow 1's API that its classic scripts use, and TensorFlow 1's answers to their misuse."""
import threading

import numpy as np
import pytest

import dlscratch as ds

# --- dtypes and placeholders ---------------------------------------------------------

def test_dtype_names_are_numpys():
    assert (ds.float32, ds.float64, ds.int32, ds.int64) == (np.float32, np.float64, np.int32, np.int64)


@pytest.mark.parametrize("make", [
    lambda: ds.placeholder(ds.float32, (None, 2)),        # TensorFlow 1's order
    lambda: ds.placeholder(ds.float32, shape=[None, 2]),
    lambda: ds.placeholder((None, 2), ds.float32),        # ours: the shape first
    lambda: ds.placeholder(shape=(None, 2), dtype=np.float32),
])
def test_placeholder_takes_dtype_and_shape_in_either_order(make):
    x = make()
    assert x.shape == (None, 2) and x.dtype == np.float32


def test_placeholder_with_a_dtype_only_or_a_shape_only():
    assert ds.placeholder(np.float32).dtype == np.float32 and ds.placeholder(np.float32).shape is None
    assert ds.placeholder((None, 3)).shape == (None, 3) and ds.placeholder((None, 3)).dtype is None


@pytest.mark.parametrize("args, word", [
    (("float", "x"), "shape"),
    ((np.float32, np.float32), "shape"),
    (((None, "2"),), "shape"),
    (("text", (None, 2)), "dtype"),
    ((str, (None, 2)), "dtype"),
    ((3,), "dtype"),
])
def test_placeholder_refuses_what_is_neither_a_dtype_nor_a_shape(args, word):
    with pytest.raises(TypeError, match=f"placeholder\\(\\) got the {word}"):
        ds.placeholder(*args)


# --- zeros, Variables and the initializer ----------------------------------------------

def test_zeros_is_a_float32_constant_and_a_variable_can_start_from_it():
    z = ds.zeros([3, 2])
    assert isinstance(z, ds.Constant) and z.shape == (3, 2)
    v = ds.Variable(z)
    assert v.dtype == np.float32 and np.array_equal(v.value, np.zeros((3, 2)))
    assert ds.Variable(ds.zeros([2], ds.float64)).dtype == np.float64


def test_a_variable_cannot_start_from_a_computed_node():
    x = ds.placeholder(ds.float32, (None, 2), name="x")
    with pytest.raises(ds.GraphError, match="'x' \\(Placeholder\\) as its initial value"):
        ds.Variable(x)


def test_global_variables_initializer_restores_the_initial_values():
    w = ds.Variable([1.0, 2.0])
    loss = ds.reduce_sum(ds.square(w))
    train = ds.train.GradientDescentOptimizer(0.25).minimize(loss)
    init = ds.global_variables_initializer()
    with ds.Session() as s:
        s.run(init)
        s.run(train)
        assert np.allclose(s.run(w), [0.5, 1.0])
        s.run(init)
        assert np.array_equal(s.run(w), [1.0, 2.0])


def test_the_initializer_also_restarts_the_optimizers_as_in_tensorflow():
    w = ds.Variable([1.0, 2.0])
    train = ds.train.AdamOptimizer(0.1).minimize(ds.reduce_sum(w * w))
    init = ds.global_variables_initializer()
    with ds.Session() as s:
        first = [s.run([train, w])[1] for _ in range(3)]
        s.run(init)
        again = [s.run([train, w])[1] for _ in range(3)]
    np.testing.assert_array_equal(first, again)


# --- sessions: InteractiveSession, eval and run ------------------------------------------

def test_interactive_session_is_the_default_for_eval_and_run_until_closed():
    v = ds.Variable([1.0, 2.0])
    doubled = v * 2
    init = ds.global_variables_initializer()
    s = ds.InteractiveSession()
    try:
        assert ds.get_default_session() is s
        init.run()
        assert np.array_equal(doubled.eval(), [2.0, 4.0])
    finally:
        s.close()
    assert ds.get_default_session() is None
    with pytest.raises(ds.GraphError, match="no session is the default"):
        doubled.eval()


def test_a_session_in_a_with_block_is_the_default_there():
    x = ds.placeholder(ds.float64, (None,), name="x")
    y = x + 1
    with ds.Session() as s:
        assert ds.get_default_session() is s
        assert np.array_equal(y.eval(feed_dict={x: [1.0, 2.0]}), [2.0, 3.0])
    assert ds.get_default_session() is None


def test_the_default_session_belongs_to_one_thread():
    seen = []
    with ds.Session() as s:
        thread = threading.Thread(target=lambda: seen.append(ds.get_default_session()))
        thread.start()
        thread.join()
        assert ds.get_default_session() is s
    assert seen == [None]


def test_eval_refuses_a_session_of_another_graph():
    y = ds.constant(1.0) + 1
    with ds.Graph().as_default(), ds.Session():
        with pytest.raises(ds.GraphError, match="another graph"):
            y.eval()
    assert y.eval(session=ds.Session(y.graph)) == 2.0


# --- argmax, equal, cast: the accuracy of a classifier -----------------------------------

def test_accuracy_through_argmax_equal_and_cast():
    scores = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], np.float32)
    labels = np.array([[0, 1], [0, 1], [0, 1]], np.float32)
    y, y_ = ds.placeholder(ds.float32, (None, 2)), ds.placeholder(ds.float32, (None, 2))
    index = ds.argmax(y, 1)
    correct = ds.equal(index, ds.argmax(y_, 1))
    accuracy = ds.reduce_mean(ds.cast(correct, ds.float32))
    with ds.Session() as s:
        i, c, a = s.run([index, correct, accuracy], {y: scores, y_: labels})
    assert i.dtype == np.int64 and np.array_equal(i, [1, 0, 1])
    assert c.dtype == np.bool_ and np.array_equal(c, [True, False, True])
    assert a.dtype == np.float32 and a == pytest.approx(2 / 3)


def test_argmax_without_an_axis_takes_axis_0_as_tensorflow_does():
    x = ds.constant([[1.0, 5.0], [3.0, 2.0]])
    assert np.array_equal(ds.Session().run(ds.argmax(x)), [1, 0])
    with pytest.raises(TypeError, match="one axis"):
        ds.argmax(x, (0, 1))


def test_no_gradient_flows_through_argmax_or_equal_and_cast_passes_it_in_the_input_dtype():
    x = ds.Variable(np.array([[1.0, 2.0], [4.0, 3.0]]))
    counted = ds.reduce_sum(ds.cast(ds.equal(ds.argmax(x, 1), 1), ds.float64))
    assert ds.compute_gradients(counted, wrt=[x])[x] is None
    as_float32 = ds.reduce_sum(ds.cast(x, ds.float32) * 3)
    g = ds.compute_gradients(as_float32, wrt=[x])[x]
    assert g.dtype == np.float64 and np.array_equal(g, np.full((2, 2), 3.0))


def test_cast_refuses_a_dtype_that_is_not_numeric():
    with pytest.raises(TypeError, match="numeric dtype"):
        ds.cast(ds.constant(1.0), "text")


# --- static shapes -------------------------------------------------------------------------

def test_ops_know_their_static_shape():
    x = ds.placeholder(ds.float32, (None, 64))
    W, b = ds.Variable(ds.zeros([64, 10])), ds.Variable(ds.zeros([10]))
    y = ds.matmul(x, W) + b
    assert y.shape == (None, 10)
    assert ds.sigmoid(y).shape == (None, 10)
    assert ds.argmax(y, 1).shape == (None,)
    assert ds.reduce_mean(y).shape == ()
    assert ds.reduce_sum(y, axis=0).shape == (10,)
    assert ds.reduce_sum(y, axis=-1, keepdims=True).shape == (None, 1)
    assert ds.transpose(y).shape == (10, None)
    assert ds.reshape(W, (-1,)).shape == (640,)
    assert ds.nn.softmax_cross_entropy_with_logits(labels=y, logits=y).shape == (None,)
    assert ds.nn.softmax_cross_entropy(labels=y, logits=y).shape == ()
    assert ds.equal(ds.argmax(y, 1), ds.argmax(y, 1)).shape == (None,)
    assert ds.matmul(ds.zeros([4, 1, 2, 3]), ds.zeros([5, 3, 7])).shape == (4, 5, 2, 7)
    assert (ds.placeholder(shape=(None, 1)) * ds.zeros([3])).shape == (None, 3)


def test_static_shape_is_none_when_it_cannot_be_known():
    unknown = ds.placeholder()
    assert (unknown + 1).shape is None
    assert ds.matmul(ds.zeros([2, 3]), ds.zeros([4, 5])).shape is None  # no fit: the run explains why
    assert ds.matmul(ds.zeros([2, 1]), ds.zeros([3, 5])).shape is None
    assert (ds.zeros([2, 3]) + ds.zeros([4])).shape is None
    with pytest.raises(ds.ShapeError):
        ds.Session().run(ds.matmul(ds.zeros([2, 3]), ds.zeros([4, 5])))


def test_properties_are_alike_on_the_graph():
    v, frozen = ds.Variable(1.0), ds.Variable(2.0, trainable=False)
    graph = ds.get_default_graph()
    assert graph.variables == [v, frozen] and graph.trainable_variables == [v]


# --- losses take labels= and logits= by name -------------------------------------------------

def test_losses_from_logits_take_labels_and_logits_by_name():
    logits, labels = np.array([[2.0, 0.0]]), np.array([[0.0, 1.0]])
    expected = np.log(1 + np.exp(2.0))
    by_name = ds.nn.softmax_cross_entropy(labels=labels, logits=logits)
    assert ds.Session().run(by_name) == pytest.approx(expected)
    per_example = ds.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    assert ds.nn.softmax_cross_entropy_with_logits is ds.softmax_cross_entropy_with_logits
    assert ds.Session().run(per_example) == pytest.approx([expected])
    with pytest.raises(TypeError):
        ds.nn.softmax_cross_entropy(logits, labels)  # positional: the order could be mixed up


# --- optimizers: learning rates as nodes, and var_list ---------------------------------------------

def test_a_learning_rate_may_be_a_placeholder_fed_each_step():
    w = ds.Variable(np.array([1.0, -2.0], np.float32))
    loss = ds.reduce_sum(ds.square(w))  # gradient 2w
    rate = ds.placeholder(ds.float64, (), name="rate")
    train = ds.train.GradientDescentOptimizer(rate).minimize(loss)
    with ds.Session() as s:
        s.run(train, {rate: 0.25})   # w - 0.25 * 2w = w / 2
        assert np.allclose(s.run(w), [0.5, -1.0])
        s.run(train, {rate: 0.5})    # w - 0.5 * 2w = 0
        assert np.allclose(s.run(w), [0.0, 0.0])
    assert w.value.dtype == np.float32  # a float64 rate does not upcast a float32 Variable


def test_a_learning_rate_may_be_a_node_computed_in_the_same_run():
    step = ds.Variable(0.0, trainable=False)
    w = ds.Variable(1.0)
    decayed = 0.5 / (1.0 + step)
    train = ds.train.MomentumOptimizer(decayed, momentum=0.0).minimize(ds.square(w))
    with ds.Session() as s:
        s.run(train)
        assert s.run(w) == pytest.approx(0.0)  # 1 - 0.5 * 2
    assert train.inputs[1] is decayed


def test_a_learning_rate_node_must_be_a_single_number():
    w = ds.Variable([1.0, 2.0])
    rate = ds.placeholder(ds.float64, name="rate")
    train = ds.train.GradientDescentOptimizer(rate).minimize(ds.reduce_sum(w))
    with pytest.raises(ds.ShapeError, match="'rate' \\(Placeholder\\).*shape \\(2,\\)"):
        ds.Session().run(train, {rate: [0.1, 0.2]})


@pytest.mark.parametrize("rate", ["0.1", None, True, [0.1]])
def test_a_learning_rate_that_is_neither_a_number_nor_a_node_is_refused(rate):
    with pytest.raises(TypeError, match="learning_rate must be a number or a node"):
        ds.train.GradientDescentOptimizer(rate)


def test_minimize_refuses_a_var_list_the_loss_does_not_depend_on():
    x = ds.placeholder(ds.float64, (None, 2))
    w, unused = ds.Variable(np.ones(2), name="w"), ds.Variable(np.ones(2), name="unused")
    loss = ds.reduce_sum(x * w, name="loss")
    with pytest.raises(ValueError, match="No gradients provided for any variable.*'loss' \\(Sum\\).*'unused'"):
        ds.train.GradientDescentOptimizer(0.1).minimize(loss, var_list=[unused])


def test_minimize_refuses_a_loss_without_trainable_variables():
    x = ds.placeholder(ds.float64, (None, 2))
    with pytest.raises(ValueError, match="No variables to optimize"):
        ds.train.GradientDescentOptimizer(0.1).minimize(ds.reduce_sum(x))
    ds.Variable(1.0, name="elsewhere")
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        ds.train.GradientDescentOptimizer(0.1).minimize(ds.reduce_sum(x))


def test_var_list_may_be_a_single_variable_as_in_tensorflow():
    w = ds.Variable(1.0)
    train = ds.train.GradientDescentOptimizer(0.25).minimize(ds.square(w), var_list=w)
    ds.Session().run(train)
    assert w.value == pytest.approx(0.5)


def test_minimize_refuses_to_train_what_is_not_a_variable():
    c = ds.constant(2.0, name="c")
    with pytest.raises(TypeError, match="can only update Variables.*'c' \\(Const\\)"):
        ds.train.GradientDescentOptimizer(0.1).minimize(c * c, var_list=[c])


def test_a_non_trainable_variable_named_in_var_list_is_trained_as_in_tensorflow():
    frozen = ds.Variable(1.0, trainable=False)
    train = ds.train.GradientDescentOptimizer(0.25).minimize(ds.square(frozen), var_list=[frozen])
    ds.Session().run(train)
    assert frozen.value == pytest.approx(0.5)
