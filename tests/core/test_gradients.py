"""Gradients: the public functions, the rule registry and its overrides, and rule errors."""
import numpy as np
import pytest

import dlscratch as ds
from dlscratch.core import registry


def test_gradients_of_a_small_function_match_calculus():
    x = ds.placeholder(name="x")
    w = ds.Variable(np.array([0.5, -1.0]), name="w")
    loss = ds.reduce_sum(ds.sigmoid(w * x) + x ** 3)
    dx, dw = ds.gradients(loss, [x, w])
    xv = np.array([2.0, 3.0])
    gx, gw = ds.Session().run([dx, dw], {x: xv})
    s = 1 / (1 + np.exp(-w.value * xv))
    np.testing.assert_allclose(gx, s * (1 - s) * w.value + 3 * xv ** 2, rtol=1e-12)
    np.testing.assert_allclose(gw, s * (1 - s) * xv, rtol=1e-12)


def test_gradients_of_a_single_node_and_of_intermediate_nodes():
    x = ds.Variable(np.array([1.0, 2.0]), name="x")
    h = x * 3
    loss = ds.reduce_sum(h * h)
    dh = ds.gradients(loss, h)  # not a list: a single node back
    assert isinstance(dh, ds.Node)
    np.testing.assert_allclose(ds.Session().run(dh), 2 * 3 * x.value)


def test_gradients_are_none_for_nodes_the_loss_does_not_depend_on():
    x = ds.Variable(np.array([1.0]), name="x")
    unrelated = ds.Variable(np.array([2.0]), name="unrelated")
    other_head = ds.exp(x)
    loss = ds.reduce_sum(x * 2)
    grads = ds.gradients(loss, [unrelated, x, other_head])
    assert grads[0] is None and grads[2] is None
    np.testing.assert_allclose(ds.Session().run(grads[1]), [2.0])
    assert ds.gradients(loss, unrelated) is None


def test_gradient_of_the_loss_with_respect_to_itself_is_one():
    x = ds.Variable(np.array([1.0, 2.0]))
    loss = ds.reduce_sum(x)
    np.testing.assert_array_equal(ds.Session().run(ds.gradients(loss, loss)), 1.0)


def test_a_rule_cannot_change_the_shared_seed_gradient_in_place():
    # the seed d loss/d loss = 1 of a scalar loss is one read-only array reused by every run
    w = ds.Variable(np.array([1.0, 2.0]), name="w")
    loss = ds.reduce_sum(w * 3.0)

    def sloppy(ctx, grad):
        grad *= 2  # in place: would make every later run's seed 2
        return (np.full(ctx.inputs[0].shape, grad),)

    with ds.override_gradients({"Sum": sloppy}), pytest.raises(ValueError, match="read-only"):
        ds.compute_gradients(loss, wrt=[w])
    np.testing.assert_array_equal(ds.compute_gradients(loss, wrt=[w])[w], [3.0, 3.0])
    for dtype in (np.float64, np.float32):  # one seed per dtype: float32 stays float32
        v = ds.Variable(np.ones(2, dtype))
        assert ds.compute_gradients(ds.reduce_sum(v), wrt=[v])[v].dtype == dtype


def test_compute_gradients_gives_every_node_behind_the_loss():
    x = ds.placeholder(name="x")
    w = ds.Variable(np.array([[1.0], [2.0]]), name="w")
    y = ds.matmul(x, w)
    loss = ds.reduce_sum(y)
    ds.exp(w)  # a second head: not behind the loss
    xv = np.array([[1.0, 3.0]])
    grads = ds.compute_gradients(loss, {x: xv})
    assert set(grads) == {x, w, y, loss}
    np.testing.assert_allclose(grads[w], xv.T)
    np.testing.assert_allclose(grads[x], w.value.T)
    np.testing.assert_allclose(grads[loss], 1.0)


def test_compute_gradients_wrt_returns_only_what_was_asked():
    x = ds.placeholder(name="x")
    w = ds.Variable(np.array([2.0]), name="w")
    unrelated = ds.Variable(np.array([2.0]), name="unrelated")
    loss = ds.reduce_sum(x * w)
    grads = ds.compute_gradients(loss, {x: np.array([5.0])}, wrt=[w, unrelated])
    assert set(grads) == {w, unrelated}
    np.testing.assert_allclose(grads[w], [5.0])
    assert grads[unrelated] is None


def test_gradients_accumulate_over_every_consumer():
    x = ds.Variable(np.array([1.5]), name="x")
    loss = ds.reduce_sum(x * x + ds.exp(x) + 3 * x)  # x feeds four inputs of three ops
    g = ds.compute_gradients(loss, wrt=[x])[x]
    np.testing.assert_allclose(g, [2 * 1.5 + np.exp(1.5) + 3], rtol=1e-12)


# --- unbroadcast ---------------------------------------------------------------------

@pytest.mark.parametrize("shape, target", [
    ((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 4), (1, 4)), ((3, 4), (3, 1)), ((3, 4), ()),
    ((2, 3, 4), (3, 1)), ((2, 3, 4), (1, 1, 4)), ((2, 3, 4), (2, 1, 1)), ((2, 1, 4), (1, 4)),
])
def test_unbroadcast_is_the_adjoint_of_broadcasting(shape, target):
    """<grad, broadcast(x)> == <unbroadcast(grad), x> for every x: checked on each basis vector."""
    grad = np.random.default_rng(0).normal(size=shape)
    expected = np.zeros(target)
    for i in np.ndindex(target):
        basis = np.zeros(target)
        basis[i] = 1.0
        expected[i] = np.sum(grad * np.broadcast_to(basis, shape))
    out = ds.unbroadcast(grad, target)
    assert np.shape(out) == target
    np.testing.assert_allclose(out, expected, rtol=1e-12)


# --- the rule registry --------------------------------------------------------------------

def _scaled_matmul_rule(scale, calls):
    original = ds.gradient_rule("MatMul")

    def rule(ctx, grad):
        calls.append(ctx.node.name)
        return tuple(None if g is None else scale * g for g in original(ctx, grad))
    return rule


def _linear_model():
    x = ds.placeholder(shape=(None, 2), name="x")
    w = ds.Variable(np.array([[1.0], [-1.0]]), name="w")
    loss = ds.reduce_sum(ds.square(ds.matmul(x, w)))
    return x, w, loss


def test_gradient_rule_looks_up_by_name_or_by_op_function():
    assert ds.gradient_rule("MatMul") is ds.gradient_rule(ds.matmul)
    assert callable(ds.gradient_rule("Sigmoid"))
    with pytest.raises(ds.GraphError, match="NoSuchOp.*register_op"):
        ds.gradient_rule("NoSuchOp")
    with pytest.raises(ds.GradientError, match="GradientSelect.*no gradient rule"):
        ds.gradient_rule("GradientSelect")


def test_override_gradients_swaps_the_rule_and_restores_it():
    original = ds.gradient_rule("MatMul")
    x, w, loss = _linear_model()
    feed = {x: np.array([[1.0, 2.0]])}
    plain = ds.compute_gradients(loss, feed, wrt=[w])[w]
    calls = []
    with ds.override_gradients({ds.matmul: _scaled_matmul_rule(10.0, calls)}):
        assert ds.gradient_rule("MatMul") is not original
        scaled = ds.compute_gradients(loss, feed, wrt=[w])[w]
    assert calls == ["matmul"]
    np.testing.assert_allclose(scaled, 10 * plain)
    assert ds.gradient_rule("MatMul") is original
    np.testing.assert_allclose(ds.compute_gradients(loss, feed, wrt=[w])[w], plain)


def test_override_gradients_restores_even_after_an_exception():
    original = ds.gradient_rule("Sigmoid")
    with pytest.raises(RuntimeError, match="inside"):
        with ds.override_gradients({"Sigmoid": lambda ctx, grad: (grad,)}):
            raise RuntimeError("raised inside the block")
    assert ds.gradient_rule("Sigmoid") is original


def test_override_of_an_op_type_without_a_rule_is_removed_afterwards():
    with ds.override_gradients({"GradientSelect": lambda ctx, grad: (grad,)}):
        assert callable(ds.gradient_rule("GradientSelect"))
    with pytest.raises(ds.GradientError):
        ds.gradient_rule("GradientSelect")
    with pytest.raises(ds.GraphError, match="BrandNewOp"):  # one registry: an unknown op type is a typo
        with ds.override_gradients({"BrandNewOp": lambda ctx, grad: (grad,)}):
            pass


def test_a_students_rule_drives_real_training():
    """Inside override_gradients the optimizer uses the student's rule, outside the built-in one."""
    def train(steps):
        x, w, loss = _linear_model()
        step = ds.train.GradientDescentOptimizer(0.05).minimize(loss)
        with ds.Session() as s:
            for _ in range(steps):
                s.run(step, {x: np.array([[1.0, 2.0], [0.5, -1.0]])})
        return w.value

    def students_matmul(ctx, grad):
        a, b = ctx.inputs
        calls.append(ctx.needs)
        return grad @ b.T, a.T @ grad

    calls = []
    with ds.override_gradients({"MatMul": students_matmul}):
        ds.reset_default_graph()
        with_student = train(3)
    assert len(calls) == 3 and all(needs == (False, True) for needs in calls)
    ds.reset_default_graph()
    np.testing.assert_allclose(with_student, train(3), rtol=1e-12)

    calls.clear()
    with ds.override_gradients({"MatMul": lambda ctx, grad: (None, np.zeros_like(ctx.inputs[1]))}):
        ds.reset_default_graph()
        frozen = train(3)
    np.testing.assert_array_equal(frozen, [[1.0], [-1.0]])  # a zero gradient rule: nothing moves


def test_register_gradient_replaces_the_rule(monkeypatch):
    exp_op = registry.OPS["Exp"]
    monkeypatch.setattr(exp_op, "backward", exp_op.__dict__["backward"])  # restored after the test

    @ds.register_gradient("Exp")
    def doubled(ctx, grad):
        return (2 * grad * ctx.output,)

    assert ds.gradient_rule(ds.exp) is doubled
    x = ds.Variable(np.array([0.0, 1.0]))
    g = ds.compute_gradients(ds.reduce_sum(ds.exp(x)), wrt=[x])[x]
    np.testing.assert_allclose(g, 2 * np.exp([0.0, 1.0]))


def test_a_rule_may_return_a_bare_array_for_a_single_input():
    x = ds.Variable(np.array([1.0, 2.0]))
    with ds.override_gradients({"Neg": lambda ctx, grad: -grad}):
        g = ds.compute_gradients(ds.reduce_sum(-x), wrt=[x])[x]
    np.testing.assert_array_equal(g, [-1.0, -1.0])


def test_the_context_a_rule_sees():
    x = ds.placeholder(name="x")
    w = ds.Variable(np.array([[2.0, 0.0, 1.0]]), name="w")
    y = ds.reduce_sum(ds.softmax(x * w, axis=1), axis=1)
    seen = {}
    original = ds.gradient_rule("Softmax")

    def spy(ctx, grad):
        seen.update(inputs=ctx.inputs, output=ctx.output, attrs=dict(ctx.attrs), needs=ctx.needs,
                    node=ctx.node, grad=grad)
        return original(ctx, grad)

    xv = np.array([[1.0, 2.0, 3.0]])
    with ds.override_gradients({"Softmax": spy}):
        ds.compute_gradients(ds.reduce_sum(y), {x: xv}, wrt=[w])
    np.testing.assert_array_equal(seen["inputs"][0], xv * w.value)
    e = np.exp(xv * w.value)
    np.testing.assert_allclose(seen["output"], e / e.sum())
    assert seen["attrs"] == {"axis": 1}
    assert seen["needs"] == (True,)
    assert seen["node"].op_type == "Softmax"
    np.testing.assert_array_equal(seen["grad"], np.ones((1, 3)))


# --- errors from gradient rules -------------------------------------------------------------

def test_a_rule_returning_the_wrong_number_of_gradients_is_explained():
    x, w, loss = _linear_model()
    with ds.override_gradients({"MatMul": lambda ctx, grad: (grad @ ctx.inputs[1].T,)}):
        with pytest.raises(ds.GradientError) as info:
            ds.compute_gradients(loss, {x: np.ones((3, 2))}, wrt=[w])
    message = str(info.value)
    assert "'matmul'" in message and "MatMul" in message
    assert "2" in message and "one gradient per input" in message


def test_a_rule_returning_a_broadcast_shaped_gradient_is_explained():
    x = ds.placeholder(shape=(None, 3), name="x")
    b = ds.Variable(np.zeros(3), name="bias")
    loss = ds.reduce_sum(ds.add(x, b))
    with ds.override_gradients({"Add": lambda ctx, grad: (grad, grad)}):  # forgot to unbroadcast
        with pytest.raises(ds.GradientError) as info:
            ds.compute_gradients(loss, {x: np.ones((5, 3))}, wrt=[b])
    message = str(info.value)
    assert "'add'" in message and "Add" in message and "'bias'" in message
    assert "(5, 3)" in message and "(3,)" in message
    assert "broadcast" in message


def test_a_rule_returning_a_wrong_shape_is_explained():
    w = ds.Variable(np.ones((2, 2)), name="w")
    loss = ds.reduce_sum(ds.tanh(w))
    with ds.override_gradients({"Tanh": lambda ctx, grad: (grad[:1],)}):
        with pytest.raises(ds.GradientError, match=r"\(1, 2\).*\(2, 2\)"):
            ds.compute_gradients(loss, wrt=[w])


def test_an_op_without_a_rule_is_explained(monkeypatch):
    monkeypatch.delattr(registry.OPS["Tanh"], "backward")  # what is left is Op's: "no rule"
    w = ds.Variable(np.ones(2), name="w")
    with pytest.raises(ds.GradientError, match="Tanh"):
        ds.compute_gradients(ds.reduce_sum(ds.tanh(w)), wrt=[w])


def test_an_exception_inside_a_rule_names_the_op():
    w = ds.Variable(np.ones(2), name="w")

    def broken(ctx, grad):
        raise ValueError("student bug")

    with ds.override_gradients({"Exp": broken}):
        with pytest.raises(ValueError, match="student bug") as info:
            ds.compute_gradients(ds.reduce_sum(ds.exp(w)), wrt=[w])
    assert any("'exp'" in note for note in getattr(info.value, "__notes__", []))


@pytest.mark.parametrize("exponent, expected", [(0, 0.0), (1, 1.0), (2, 0.0), (3, 0.0)])
def test_pow_gradient_at_zero_is_finite_where_the_derivative_exists(exponent, expected):
    x = ds.Variable(np.array([0.0, 2.0]), name="x")
    g = ds.compute_gradients(ds.reduce_sum(x ** exponent), wrt=[x])[x]
    np.testing.assert_allclose(g, [expected, exponent * 2.0 ** (exponent - 1) if exponent else 0.0])


# --- the traversal and backprop's trace --------------------------------------------------------

def test_topological_order_puts_inputs_first_and_each_node_once():
    x = ds.placeholder(name="x")
    a = ds.sigmoid(x)
    b = ds.exp(a) + a
    c = b * x
    d = c + a
    order = ds.topological_order([d, b])
    assert len(order) == len(set(order))
    assert set(order) == set(ds.get_default_graph().nodes)  # everything here is behind d
    assert ds.topological_order([a]) == [x, a]
    position = {n: i for i, n in enumerate(order)}
    for node in order:
        assert all(position[i] < position[node] for i in node.inputs)


def test_backprop_trace_visits_ops_after_all_their_consumers():
    x = ds.Variable(np.array([0.3, -0.2]), name="x")
    s1 = ds.sigmoid(x)
    s2 = ds.sigmoid(s1)
    loss = ds.reduce_sum(x + s2 + s1 * s1)
    values = ds.Session().evaluate_all(loss)
    visited, seen_grads = [], {}

    def trace(node, ctx, grad, input_grads):
        visited.append(node)
        seen_grads[node] = grad.copy()
        assert len(input_grads) == len(node.inputs)

    grads = ds.backprop(loss, values, trace=trace)
    ops = [n for n in ds.topological_order([loss]) if isinstance(n, ds.Operation)]
    assert sorted(visited, key=lambda n: n.id) == sorted(ops, key=lambda n: n.id)  # each op once
    for node in visited:
        for consumer in node.consumers:
            if consumer in visited:
                assert visited.index(consumer) < visited.index(node)
        np.testing.assert_array_equal(seen_grads[node], grads[node])  # complete when its rule ran


# --- gradcheck --------------------------------------------------------------------------------

def test_rel_error_is_the_cs231n_definition():
    assert ds.gradcheck.rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert ds.gradcheck.rel_error([1.0], [3.0]) == pytest.approx(0.5)
    assert ds.gradcheck.rel_error([0.0], [1e-10]) == pytest.approx(1e-2)  # the 1e-8 floor
    assert ds.gradcheck.rel_error([[1.0, 0.0]], [[1.0, 1.0]]) == pytest.approx(1.0)  # the largest element
    with pytest.raises(ValueError, match="shape"):
        ds.gradcheck.rel_error(np.ones(2), np.ones(3))
    # a floor per element: below it an element counts as zero
    assert ds.gradcheck.rel_error([1.0, 1e-9], [1.0, 2e-9], floor=np.array([1e-8, 1e-6])) == pytest.approx(1e-3)


def test_numerical_gradient_with_weights_differences_before_summing():
    """d sum(w * exp(x)) / dx with one tiny weight: summing first buries that element in the rounding
    of the others (relative error ~1e-4); differencing first keeps every element exact to ~1e-10."""
    x = np.linspace(-3, 3, 7)
    w = np.array([1e-5, 3.0, -2.0, 1.5, 2.5, -3.0, 2.0])
    exact = w * np.exp(x)
    summed = ds.gradcheck.numerical_gradient(lambda: float(np.sum(w * np.exp(x))), x)
    weighted = ds.gradcheck.numerical_gradient(lambda: np.exp(x), x, weights=w)
    assert ds.gradcheck.rel_error(summed, exact) > 1e-6  # the trouble (it depends on rounding, hence loose)
    assert ds.gradcheck.rel_error(weighted, exact) < 1e-9
    np.testing.assert_array_equal(x, np.linspace(-3, 3, 7))


def test_numerical_gradient_is_accurate_and_restores_its_input():
    x = np.array([0.5, -1.0, 2.0])
    g = ds.gradcheck.numerical_gradient(lambda: float(np.sum(np.sin(x) * x)), x)
    np.testing.assert_allclose(g, np.cos(x) * x + np.sin(x), rtol=1e-8)
    np.testing.assert_array_equal(x, [0.5, -1.0, 2.0])


def test_check_gradients_reports_per_variable_and_needs_float64():
    w = ds.Variable(np.array([[0.5, -1.0]]), name="w")
    b = ds.Variable(np.array([0.1]), name="b")
    x = ds.placeholder(shape=(None, 2), name="x")
    loss = ds.reduce_sum(ds.sigmoid(ds.matmul(x, ds.transpose(w)) + b))
    errors = ds.gradcheck.check_gradients(loss, {x: np.array([[1.0, 2.0], [0.0, -1.0]])})
    assert set(errors) == {"w", "b"} and max(errors.values()) < 1e-7
    np.testing.assert_array_equal(w.value, [[0.5, -1.0]])  # left as it was
    with ds.override_gradients({"Sigmoid": lambda ctx, grad: (grad * ctx.output,)}):  # a wrong rule
        wrong = ds.gradcheck.check_gradients(loss, {x: np.array([[1.0, 2.0], [0.0, -1.0]])})
    assert min(wrong.values()) > 1e-2
    v32 = ds.Variable(np.ones(2, np.float32), name="v32")
    with pytest.raises(TypeError, match="float64"):
        ds.gradcheck.check_gradients(ds.reduce_sum(v32 * v32))
