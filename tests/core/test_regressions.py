"""One test per known fault of the source material's reference implementation (issue 2)."""
import time

import numpy as np
import pytest

import dlscratch as ds
from dlscratch.core import registry
from dlscratch.gradcheck import check_gradients


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# 1 ----------------------------------------------------------------------------------

def test_1_breadth_first_backprop_x_plus_sigmoid_of_sigmoid():
    """x feeds the loss directly and through two sigmoids: its gradient needs both paths complete."""
    xv = np.array([0.3, -1.2, 2.0])
    x = ds.Variable(xv, name="x")
    loss = ds.reduce_sum(x + ds.sigmoid(ds.sigmoid(x)))
    s1 = sigmoid(xv)
    s2 = sigmoid(s1)
    expected = 1 + s2 * (1 - s2) * s1 * (1 - s1)
    np.testing.assert_allclose(ds.compute_gradients(loss)[x], expected, rtol=1e-12)
    np.testing.assert_allclose(ds.Session().run(ds.gradients(loss, x)), expected, rtol=1e-12)


def test_1_breadth_first_backprop_with_an_op_in_the_middle():
    """The same shape with an op as the shared node: its rule must run only once its gradient is complete."""
    wv = np.array([0.3, -1.2, 2.0])
    w = ds.Variable(wv, name="w")
    x = ds.tanh(w)
    loss = ds.reduce_sum(x + ds.sigmoid(ds.sigmoid(x)))
    t = np.tanh(wv)
    s1 = sigmoid(t)
    s2 = sigmoid(s1)
    expected = (1 + s2 * (1 - s2) * s1 * (1 - s1)) * (1 - t * t)
    np.testing.assert_allclose(ds.compute_gradients(loss)[w], expected, rtol=1e-12)


# 2 ----------------------------------------------------------------------------------

def test_2_a_second_output_head_does_not_break_backprop():
    x = ds.placeholder(shape=(None, 2), name="x")
    w = ds.Variable(np.array([[1.0, -2.0], [0.5, 1.0]]), name="w")
    hidden = ds.sigmoid(ds.matmul(x, w))
    loss = ds.reduce_sum(ds.square(hidden))
    second_head = ds.softmax(hidden * 3)  # consumes `hidden` but does not lead to the loss
    ds.reduce_mean(second_head)
    feed = {x: np.array([[1.0, 2.0], [-1.0, 0.5]])}
    grads = ds.compute_gradients(loss, feed)
    assert second_head not in grads
    h = sigmoid(feed[x] @ w.value)
    np.testing.assert_allclose(grads[w], feed[x].T @ (2 * h * h * (1 - h)), rtol=1e-12)
    step = ds.train.GradientDescentOptimizer(0.1).minimize(loss)
    before = ds.Session().run(loss, feed)
    for _ in range(3):
        ds.Session().run(step, feed)
    assert ds.Session().run(loss, feed) < before


# 3 ----------------------------------------------------------------------------------

def _regression_model():
    x = ds.placeholder(shape=(None, 2), name="x")
    y = ds.placeholder(shape=(None, 1), name="y")
    w = ds.Variable(np.array([[0.5], [-0.5]]), name="w")
    loss = ds.reduce_sum(ds.square(ds.matmul(x, w) - y))
    return x, y, w, loss


def _gd_step(w, X, Y, lr):
    return w - lr * 2 * X.T @ (X @ w - Y)


BATCH_A = (np.array([[1.0, 2.0], [3.0, -1.0]]), np.array([[1.0], [0.0]]))
BATCH_B = (np.array([[-2.0, 0.5], [0.0, 4.0], [1.0, 1.0]]), np.array([[2.0], [-1.0], [0.5]]))


def test_3_the_optimizer_steps_with_the_batch_of_the_same_run():
    x, y, w, loss = _regression_model()
    step = ds.train.GradientDescentOptimizer(0.01).minimize(loss)
    s = ds.Session()
    expected = w.value
    s.run(step, {x: BATCH_A[0], y: BATCH_A[1]})
    expected = _gd_step(expected, *BATCH_A, 0.01)
    np.testing.assert_allclose(w.value, expected, rtol=1e-12)
    s.run(loss, {x: BATCH_A[0], y: BATCH_A[1]})  # a forward-only run in between must not leak into the step
    s.run(step, {x: BATCH_B[0], y: BATCH_B[1]})
    expected = _gd_step(expected, *BATCH_B, 0.01)
    np.testing.assert_allclose(w.value, expected, rtol=1e-12)


@pytest.mark.parametrize("train_first", [True, False])
def test_3_run_train_and_loss_returns_the_loss_of_that_forward_pass(train_first):
    x, y, w, loss = _regression_model()
    step = ds.train.GradientDescentOptimizer(0.01).minimize(loss)
    X, Y = BATCH_B
    w0 = w.value.copy()
    fetches = [step, loss] if train_first else [loss, step]
    out = ds.Session().run(fetches, {x: X, y: Y})
    reported = out[1] if train_first else out[0]
    np.testing.assert_allclose(reported, np.sum((X @ w0 - Y) ** 2), rtol=1e-12)  # before the update
    np.testing.assert_allclose(w.value, _gd_step(w0, X, Y, 0.01), rtol=1e-12)


# 4 ----------------------------------------------------------------------------------

def test_4_shared_subexpressions_are_computed_once(monkeypatch):
    adds = []
    forward = registry.OPS["Add"].forward
    counting = staticmethod(lambda ctx, a, b: adds.append(1) or forward(ctx, a, b))
    monkeypatch.setattr(registry.OPS["Add"], "forward", counting)
    x = ds.Variable(np.array([1.5]), name="x")
    n = x
    for _ in range(20):
        n = ds.add(n, n)
    start = time.perf_counter()
    out = ds.Session().run(n)
    grad = ds.compute_gradients(n, wrt=[x])[x]
    elapsed = time.perf_counter() - start
    np.testing.assert_allclose(out, [1.5 * 2 ** 20])
    np.testing.assert_allclose(grad, [2.0 ** 20])
    assert len(adds) == 2 * 20  # one run, one forward pass inside compute_gradients
    assert elapsed < 1.0  # 2**20 path evaluations would take far longer


def test_4_backward_visits_each_shared_node_once():
    calls = []
    original = ds.gradient_rule("Add")
    x = ds.Variable(np.array([1.0]), name="x")
    n = x
    for _ in range(20):
        n = ds.add(n, n)
    with ds.override_gradients({"Add": lambda ctx, g: calls.append(1) or original(ctx, g)}):
        ds.compute_gradients(n, wrt=[x])
    assert len(calls) == 20


# 5 ----------------------------------------------------------------------------------

def test_5_a_chain_of_10000_ops_needs_no_recursion():
    x = ds.Variable(np.array([0.25]), name="x")
    n = x
    for _ in range(5000):
        n = ds.negative(n * 1.0)  # 10,000 ops
    loss = ds.reduce_sum(n)
    assert ds.Session().run(loss) == pytest.approx(0.25)
    np.testing.assert_allclose(ds.compute_gradients(loss, wrt=[x])[x], [1.0])
    np.testing.assert_allclose(ds.Session().run(ds.gradients(loss, x)), [1.0])
    step = ds.train.GradientDescentOptimizer(0.1).minimize(loss)
    ds.Session().run(step)
    np.testing.assert_allclose(x.value, [0.15])
    assert len(ds.topological_order([loss])) > 10000


# 6 ----------------------------------------------------------------------------------

def test_6_softmax_of_huge_logits_has_no_nan():
    logits = np.array([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 999.0]])
    out = ds.Session().run(ds.softmax(logits))
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[0], [1.0, 0.0, 0.0])
    e = np.exp([1.0, 1.0, 0.0])
    np.testing.assert_allclose(out[1], e / e.sum(), rtol=1e-12)


def test_6_cross_entropy_with_a_probability_of_zero_is_finite():
    p = ds.Variable(np.array([[0.0, 1.0], [0.5, 0.5]]), name="p")
    labels = np.array([[1.0, 0.0], [0.0, 1.0]])
    loss = ds.nn.cross_entropy(p, labels)
    value = ds.Session().run(loss)
    grad = ds.compute_gradients(loss)[p]
    assert np.isfinite(value) and value > 20  # clipped: large, not inf
    assert np.all(np.isfinite(grad))


def test_6_cross_entropy_after_a_saturated_softmax_is_finite():
    z = ds.Variable(np.array([[-1000.0, 1000.0], [0.0, 0.0]]), name="z")
    labels = np.array([[1.0, 0.0], [0.0, 1.0]])
    loss = ds.nn.cross_entropy(ds.softmax(z), labels)
    value = ds.Session().run(loss)
    grad = ds.compute_gradients(loss)[z]
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_6_log_softmax_and_fused_cross_entropy_are_exact_for_huge_logits():
    logits_value = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 1e4]])
    labels = np.array([[0.0, 1.0, 0.0], [0.0, 0.5, 0.5]])
    logits = ds.Variable(logits_value, name="logits")
    log_p = ds.Session().run(ds.log_softmax(logits))
    np.testing.assert_allclose(log_p, [[0.0, -1e4, -2e4], [-2e4 - np.log(2), -np.log(2), -np.log(2)]])
    per_example = ds.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    loss = ds.reduce_sum(per_example)
    np.testing.assert_allclose(ds.Session().run(per_example), [1e4, np.log(2)])
    grad = ds.compute_gradients(loss, wrt=[logits])[logits]
    np.testing.assert_allclose(grad, np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]]) - labels, atol=1e-12)


# 7 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("bias_shape, expected", [
    ((3,), lambda X: X.sum(axis=0)),
    ((1, 3), lambda X: X.sum(axis=0, keepdims=True)),
    ((5, 1), lambda X: X.sum(axis=1, keepdims=True)),
    ((1, 1), lambda X: X.sum(keepdims=True)),
    ((), lambda X: X.sum()),
])
def test_7_a_broadcast_bias_in_multiply_gets_a_gradient_of_its_own_shape(bias_shape, expected):
    X = np.random.default_rng(0).normal(size=(5, 3))
    b = ds.Variable(np.full(bias_shape, 2.0), name="b")
    loss = ds.reduce_sum(ds.multiply(X, b))
    grad = ds.compute_gradients(loss)[b]
    assert np.shape(grad) == bias_shape
    np.testing.assert_allclose(grad, expected(X), rtol=1e-12)
    ds.Session().run(ds.train.GradientDescentOptimizer(0.1).minimize(loss))
    assert b.value.shape == bias_shape


# 8 ----------------------------------------------------------------------------------

def test_8_matmul_of_a_node_with_itself():
    rng = np.random.default_rng(3)
    A_value, G = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    A = ds.Variable(A_value, name="A")
    loss = ds.reduce_sum(ds.matmul(A, A) * G)
    grad = ds.compute_gradients(loss)[A]
    np.testing.assert_allclose(grad, G @ A_value.T + A_value.T @ G, rtol=1e-12)
    assert check_gradients(loss)["A"] < 1e-7


# 9 ----------------------------------------------------------------------------------

def _float32_model():
    rng = np.random.default_rng(0)
    f32 = np.float32
    x = ds.placeholder(shape=(None, 3), dtype=f32, name="x")
    labels = ds.placeholder(shape=(None, 2), dtype=f32, name="labels")
    W1 = ds.Variable(rng.normal(size=(3, 4)).astype(f32), name="W1")
    b1 = ds.Variable(np.zeros(4, f32), name="b1")
    W2 = ds.Variable(rng.normal(size=(4, 2)).astype(f32), name="W2")
    h = ds.tanh(ds.matmul(x, W1) + b1) * 0.5 + ds.relu(x @ W1) / 2 - ds.sigmoid(-(x @ W1)) ** 2
    logits = ds.exp(ds.log(ds.square(h) + 1)) @ W2
    p = ds.softmax(logits)
    loss = (ds.nn.cross_entropy(p, labels)
            + ds.reduce_mean(ds.softmax_cross_entropy_with_logits(labels=labels, logits=logits))
            + ds.reduce_sum(ds.log_softmax(ds.transpose(ds.reshape(logits, (1, -1)))))
            + ds.reduce_sum(ds.reduce_mean(ds.clip_by_value(logits, -1.0, 1.0), axis=0, keepdims=True)))
    feed = {x: rng.normal(size=(6, 3)).astype(f32), labels: np.eye(2, dtype=f32)[rng.integers(0, 2, 6)]}
    return loss, feed, [W1, b1, W2]


def test_9_a_float32_graph_stays_float32_forward_and_backward():
    loss, feed, variables = _float32_model()
    values = ds.Session().evaluate_all(loss, feed)
    wrong = {n.name: v.dtype for n, v in values.items()
             if not isinstance(v, float) and v.dtype != np.float32}
    assert wrong == {}, f"forward values not float32: {wrong}"
    grads = ds.backprop(loss, values)
    wrong = {n.name: g.dtype for n, g in grads.items() if g.dtype != np.float32}
    assert wrong == {}, f"gradients not float32: {wrong}"


@pytest.mark.parametrize("make_optimizer", [
    lambda: ds.train.GradientDescentOptimizer(0.01),
    lambda: ds.train.MomentumOptimizer(0.01, 0.9),
    lambda: ds.train.AdamOptimizer(0.01),
], ids=["sgd", "momentum", "adam"])
def test_9_optimizers_keep_float32_variables_float32(make_optimizer):
    loss, feed, variables = _float32_model()
    step = make_optimizer().minimize(loss)
    with ds.Session() as s:
        for _ in range(3):
            s.run(step, feed)
            assert {v.name: v.value.dtype for v in variables} == {v.name: np.float32 for v in variables}
        assert s.run(loss, feed).dtype == np.float32


# 10 ----------------------------------------------------------------------------------

def test_10_each_rule_runs_once_per_op_and_skips_unwanted_placeholders():
    rng = np.random.default_rng(0)
    X = ds.placeholder(shape=(None, 4), name="X")
    Y = ds.placeholder(shape=(None, 2), name="Y")
    W1 = ds.Variable(rng.normal(size=(4, 3)), name="W1")
    W2 = ds.Variable(rng.normal(size=(3, 2)), name="W2")
    hidden = ds.sigmoid(ds.matmul(X, W1, name="first"))
    loss = ds.reduce_sum(ds.softmax_cross_entropy_with_logits(labels=Y, logits=ds.matmul(hidden, W2, name="second")))
    feed = {X: rng.normal(size=(8, 4)), Y: np.eye(2)[rng.integers(0, 2, 8)]}

    calls, originals = [], {}

    def spy(op_type):
        originals[op_type] = ds.gradient_rule(op_type)

        def rule(ctx, grad):
            result = originals[op_type](ctx, grad)
            calls.append((ctx.node.name, ctx.needs, tuple(g is None for g in result)))
            return result
        return rule

    op_types = {"MatMul", "Sigmoid", "Sum", "SoftmaxCrossEntropyWithLogits"}
    step = ds.train.GradientDescentOptimizer(0.1).minimize(loss)
    with ds.override_gradients({t: spy(t) for t in op_types}):
        ds.Session().run(step, feed)
    names = [name for name, _, _ in calls]
    assert sorted(names) == sorted(set(names)) and len(names) == 5  # every op once
    by_name = {name: (needs, skipped) for name, needs, skipped in calls}
    assert by_name["first"] == ((False, True), (True, False))  # no matmul done for X's gradient
    assert by_name["second"] == ((True, True), (False, False))
    needs, skipped = by_name["softmax_cross_entropy_with_logits"]
    assert needs == (False, True) and skipped[0]  # nor for the labels


def test_10_compute_gradients_with_wrt_skips_placeholders():
    X = ds.placeholder(shape=(None, 2), name="X")
    W = ds.Variable(np.ones((2, 2)), name="W")
    loss = ds.reduce_sum(ds.matmul(X, W))
    seen = []
    original = ds.gradient_rule("MatMul")
    with ds.override_gradients({"MatMul": lambda ctx, g: seen.append(ctx.needs) or original(ctx, g)}):
        grads = ds.compute_gradients(loss, {X: np.ones((3, 2))}, wrt=[W])
        ds.Session().run(ds.gradients(loss, [W]), {X: np.ones((3, 2))})
    assert set(grads) == {W}
    assert seen == [(False, True), (False, True)]

