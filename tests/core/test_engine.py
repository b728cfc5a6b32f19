"""The engine's design promises: fresh per-run state, one op protocol, safe values, numerics check."""
import collections
import gc
import threading
import weakref

import numpy as np
import pytest

import dlscratch as ds


def _mlp(seed):
    x = ds.placeholder((None, 2), name="x")
    labels = ds.placeholder((None, 2), name="labels")
    logits = ds.nn.mlp(x, [3, 2], seed=seed)
    loss = ds.nn.cross_entropy(ds.softmax(logits), labels)
    return x, labels, loss


# --- no state shared between runs ------------------------------------------------------------

def test_two_sessions_on_one_graph_in_two_threads_get_their_own_gradients():
    x, labels, loss = _mlp(seed=3)
    variables = ds.get_default_graph().trainable_variables
    grads = ds.gradients(loss, variables)
    rng = np.random.default_rng(0)
    batches = [rng.normal(size=(50, 2)) for _ in range(2)]
    onehot = ds.data.one_hot(rng.integers(0, 2, 50), 2)
    expected = [ds.Session().run(grads, {x: b, labels: onehot}) for b in batches]
    wrong = []
    barrier = threading.Barrier(2)

    def work(i):
        session = ds.Session()
        barrier.wait()
        for _ in range(200):
            got = session.run(grads, {x: batches[i], labels: onehot})
            if not all(np.array_equal(g, e) for g, e in zip(got, expected[i])):
                wrong.append(i)
                return

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong, f"thread(s) {wrong} got another thread's gradients"


def test_a_finished_run_keeps_nothing_of_its_batch_alive():
    x, labels, loss = _mlp(seed=1)
    train = ds.train.GradientDescentOptimizer(0.1).minimize(loss)
    batch = np.ones((1000, 2))
    alive = weakref.ref(batch)
    with ds.Session() as session:
        session.run([train, loss], {x: batch, labels: ds.data.one_hot(np.zeros(1000, int), 2)})
    del batch
    gc.collect()
    assert alive() is None, "the graph or its caches still hold the fed batch after the run"


# --- one op protocol ---------------------------------------------------------------------------

def test_a_student_adds_an_op_with_the_public_api_and_it_trains():
    @ds.register_op
    class Cube(ds.Op):
        @staticmethod
        def forward(ctx, x):
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.inputs
            return (3 * x ** 2 * grad,)

    try:
        w = ds.Variable(np.array([2.0, -1.0]), name="w")
        y = Cube.apply(w, name="cube")
        assert y.op_type == "Cube" and ds.op_class("Cube") is Cube
        loss = ds.reduce_sum(y)
        np.testing.assert_allclose(ds.compute_gradients(loss, wrt=[w])[w], [12.0, 3.0])
        assert max(ds.gradcheck.check_gradients(loss, var_list=[w]).values()) < 1e-7
    finally:
        del ds.OPS["Cube"]


def test_work_saved_in_forward_reaches_backward_and_a_hand_made_context_recomputes_it():
    calls = []

    @ds.register_op
    class Scaled(ds.Op):
        @staticmethod
        def forward(ctx, x, factor):
            calls.append("forward")
            ctx.save_for_backward(factor * np.ones_like(x))
            return factor * x

        @staticmethod
        def backward(ctx, grad):
            (scale,) = ctx.saved_values
            return (grad * scale,)

    try:
        w = ds.Variable(np.array([1.0, 2.0]), name="w")
        node = Scaled.apply(w, factor=3.0)
        g = ds.compute_gradients(ds.reduce_sum(node), wrt=[w])[w]
        np.testing.assert_allclose(g, [3.0, 3.0])
        assert calls == ["forward"]  # the backward used the saved work, not a second forward
        ctx = ds.OpContext(node, [np.array([5.0, 6.0])])
        np.testing.assert_allclose(Scaled.backward(ctx, np.ones(2)), [[3.0, 3.0]])
        assert calls == ["forward", "forward"]
    finally:
        del ds.OPS["Scaled"]


def test_register_op_refuses_what_is_not_an_op():
    with pytest.raises(ds.GraphError, match="subclass of ds.Op"):
        ds.register_op(lambda ctx, x: x)


# --- values handed to the user -----------------------------------------------------------------

def test_fetched_values_never_alias_the_graph_state():
    w = ds.Variable(np.arange(6.0).reshape(2, 3), name="w")
    buffer = np.array([1.0, 2.0])
    c = ds.constant(buffer, name="c")
    buffer[0] = 100.0  # the caller's buffer is not the constant's
    fetched = ds.Session().run([w, ds.reshape(w, (3, 2)), ds.transpose(w), c])
    for value in fetched:
        value[...] = -1.0
    np.testing.assert_array_equal(w.value, np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(ds.Session().run(c), [1.0, 2.0])
    g = ds.compute_gradients(ds.reduce_sum(w * 1.0), wrt=[w])[w]
    g[...] = 7.0
    np.testing.assert_array_equal(ds.compute_gradients(ds.reduce_sum(w * 1.0), wrt=[w])[w], np.ones((2, 3)))


def test_namedtuples_and_nested_structures_can_be_fetched():
    Pair = collections.namedtuple("Pair", "a b")
    x = ds.placeholder(name="x")
    result = ds.Session().run({"pair": Pair(x + 1, [x * 2, (x - 1,)])}, {x: 1.0})
    assert isinstance(result["pair"], Pair)
    assert result["pair"].a == 2.0 and result["pair"].b[0] == 2.0 and result["pair"].b[1][0] == 0.0


def test_a_feed_that_is_not_a_dict_is_explained():
    x = ds.placeholder(name="x")
    with pytest.raises(ds.FeedError, match="feed_dict must be a dict"):
        ds.Session().run(x * 2, [1.0, 2.0])


# --- numerics --------------------------------------------------------------------------------------

def test_check_numerics_names_the_first_node_that_produced_nan_or_inf():
    x = ds.placeholder((None,), name="x")
    logged = ds.log(x, name="log_x")  # log(0) = -inf: the first bad node
    y = ds.reduce_sum(ds.multiply(logged, 0.0, name="times_zero"), name="total")  # -inf * 0 = nan later
    with np.errstate(divide="ignore", invalid="ignore"):
        assert np.isnan(ds.Session().run(y, {x: [1.0, 0.0]}))  # off by default: no error
        with pytest.raises(ds.NumericsError) as info:
            ds.Session(check_numerics=True).run(y, {x: [1.0, 0.0]})
    message = str(info.value)
    assert "'log_x' (Log)" in message and "inf" in message and "'x' (Placeholder) of shape (2,)" in message
    assert "'times_zero'" not in message


def test_numpy_floating_point_errors_name_the_node():
    x = ds.placeholder((None,), name="x")
    y = ds.divide(1.0, x, name="reciprocal")
    with np.errstate(divide="raise"):
        with pytest.raises(ds.DLScratchError, match="'reciprocal' \\(Div\\).*np.errstate"):
            ds.Session().run(y, {x: [0.0]})
