"""Bad input gets a clear error that names the node, the op, the shapes and the fix."""
import numpy as np
import pytest

import dlscratch as ds


def test_the_error_hierarchy():
    for error in (ds.GraphError, ds.FeedError, ds.ShapeError, ds.GradientError):
        assert issubclass(error, ds.DLScratchError)
    assert issubclass(ds.DLScratchError, Exception)


def test_a_placeholder_not_fed():
    x = ds.placeholder(shape=(None, 2), name="inputs")
    y = ds.reduce_sum(x * 2, name="total")
    with pytest.raises(ds.FeedError) as info:
        ds.Session().run(y)
    message = str(info.value)
    assert "'inputs'" in message and "Placeholder" in message
    assert "feed_dict" in message
    assert "'total'" in message  # what it was needed for


def test_a_feed_of_the_wrong_shape():
    x = ds.placeholder(shape=(None, 2), name="points")
    with pytest.raises(ds.FeedError) as info:
        ds.Session().run(x * 1, {x: np.ones((4, 3))})
    message = str(info.value)
    assert "'points'" in message
    assert "(None, 2)" in message and "(4, 3)" in message


def test_a_wrong_shape_is_caught_after_good_feeds():
    # a placeholder remembers shapes that fit, to check later feeds fast: the memory must not let others through
    x = ds.placeholder(shape=(None, 2), name="points")
    y = x * 1
    session = ds.Session()
    for n in (4, 5, 4):
        assert session.run(y, {x: np.ones((n, 2))}).shape == (n, 2)
    for bad in (np.ones((4, 3)), np.ones(2), np.ones((4, 2, 1))):
        with pytest.raises(ds.FeedError, match="expects shape"):
            session.run(y, {x: bad})


def test_a_feed_of_the_wrong_dtype():
    labels = ds.placeholder(shape=(None,), dtype=np.int32, name="labels")
    with pytest.raises(ds.FeedError) as info:
        ds.Session().run(labels, {labels: np.array([0.5, 1.0])})
    message = str(info.value)
    assert "'labels'" in message
    assert "int32" in message and "float64" in message
    assert "astype" in message


def test_a_feed_that_is_not_numbers():
    x = ds.placeholder(name="x")
    with pytest.raises(ds.FeedError, match="'x'"):
        ds.Session().run(x, {x: ["a", "b"]})
    with pytest.raises(ds.FeedError, match="'x'"):
        ds.Session().run(x, {x: [[1.0, 2.0], [3.0]]})  # ragged


def test_matmul_with_inner_sizes_that_do_not_match():
    a = ds.placeholder(shape=(None, 3), name="a")
    b = ds.Variable(np.ones((2, 4)), name="b")
    product = ds.matmul(a, b, name="product")
    with pytest.raises(ds.ShapeError) as info:
        ds.Session().run(product, {a: np.ones((5, 3))})
    message = str(info.value)
    assert "'product'" in message and "MatMul" in message
    assert "(5, 3)" in message and "(2, 4)" in message
    assert "inner" in message
    assert "transpose" in message


def test_broadcasting_failure_in_add():
    a = ds.constant(np.ones((4, 3)), name="a")
    b = ds.constant(np.ones((4, 2)), name="b")
    with pytest.raises(ds.ShapeError) as info:
        ds.Session().run(ds.add(a, b, name="sum"))
    message = str(info.value)
    assert "'sum'" in message and "Add" in message
    assert "(4, 3)" in message and "(4, 2)" in message
    assert "broadcast" in message


def test_reshape_to_a_size_that_does_not_fit():
    with pytest.raises(ds.ShapeError) as info:
        ds.Session().run(ds.reshape(np.ones((2, 3)), (4, 2)))
    assert "(2, 3)" in str(info.value) and "(4, 2)" in str(info.value)


@pytest.mark.parametrize("bad", ["weights", {"w": 1.0}, None, [1, "a"]], ids=["str", "dict", "None", "mixed"])
def test_an_op_given_something_that_is_not_a_node_or_array(bad):
    x = ds.placeholder(name="x")
    with pytest.raises(ds.GraphError) as info:
        ds.add(x, bad)
    message = str(info.value)
    assert type(bad).__name__ in message
    assert "node" in message and "array" in message


def test_an_operator_given_a_string():
    x = ds.placeholder(name="x")
    with pytest.raises(ds.GraphError, match="str"):
        x * "2"


def test_fetching_a_node_from_another_graph():
    with ds.Graph().as_default():
        foreign = ds.constant(1.0, name="foreign") + 1
    with pytest.raises(ds.GraphError) as info:
        ds.Session().run(foreign)
    message = str(info.value)
    assert "'add'" in message and "another graph" in message


def test_feeding_a_placeholder_of_another_graph():
    x = ds.placeholder(name="x")
    with ds.Graph().as_default():
        other = ds.placeholder(name="other")
    with pytest.raises(ds.GraphError, match="'other'"):
        ds.Session().run(x * 1, {x: 1.0, other: 2.0})


def test_feeding_a_variable_or_an_op_overrides_it_for_that_run_as_in_tensorflow():
    x = ds.placeholder((None, 2), name="x")
    w = ds.Variable(np.ones(2), name="w")
    h = ds.multiply(x, w, name="h")
    y = ds.reduce_sum(h * 2, name="y")
    session = ds.Session()
    assert session.run(y, {x: [[1.0, 1.0]], w: np.zeros(2)}) == 0.0
    np.testing.assert_array_equal(w.value, np.ones(2))  # the Variable itself is unchanged
    # A fed op cuts the graph there: the placeholder behind it needs no value, and no gradient passes it.
    assert session.run(y, {h: [[1.0, 2.0]]}) == 6.0
    grads = ds.backprop(y, session.evaluate_all(y, {h: [[1.0, 2.0]]}))
    assert h in grads and w not in grads
    with pytest.raises(ds.FeedError, match="'w'.*shape"):
        session.run(y, {x: [[1.0, 1.0]], w: np.zeros(3)})
    with pytest.raises(ds.FeedError, match="keys must be nodes"):
        session.run(y, {"w": np.zeros(2)})


def test_errors_in_the_forward_pass_are_not_numpy_tracebacks():
    """Whatever fails inside an op's numpy code comes out as a DLScratchError naming the op."""
    x = ds.placeholder(name="x")
    y = ds.transpose(x, perm=(0, 1, 2), name="flip")
    with pytest.raises(ds.DLScratchError, match="'flip'"):
        ds.Session().run(y, {x: np.ones((2, 3))})


def test_an_error_in_a_gradient_rule_during_training_is_not_blamed_on_the_forward_pass():
    w = ds.Variable(np.ones(3), name="w")
    train = ds.train.GradientDescentOptimizer(0.1).minimize(ds.reduce_sum(w * w))

    def broken_rule(ctx, grad):
        raise ValueError("a bug in the student's rule")

    with ds.override_gradients({"Mul": broken_rule}), pytest.raises(ValueError) as info:
        ds.Session().run(train)
    assert not isinstance(info.value, ds.ShapeError)
    assert "a bug in the student's rule" in str(info.value)
    assert any("'mul' (Mul)" in note for note in info.value.__notes__)
