"""Session.run: fetch structures, each node once per run, cached plans, feeds."""
import numpy as np
import pytest

import dlscratch as ds
import dlscratch.core.session as session_module
from dlscratch.core import registry


@pytest.fixture
def forward_calls(monkeypatch):
    """Count forward calls per op type (patched before any plan is built, so plans pick up the counters)."""
    calls = {}

    def counting(op_type, forward):
        def wrapped(*args, **kwargs):
            calls[op_type] = calls.get(op_type, 0) + 1
            return forward(*args, **kwargs)
        return wrapped

    for op_type, cls in list(registry.OPS.items()):
        monkeypatch.setattr(cls, "forward", staticmethod(counting(op_type, cls.forward)))
    return calls


# --- fetch structures -------------------------------------------------------------

def test_fetch_structures_are_mirrored():
    x = ds.placeholder(name="x")
    a, b, c = x + 1, x * 2, x - 3
    feed = {x: np.array([1.0, 2.0])}
    with ds.Session() as s:
        single = s.run(a, feed)
        as_list = s.run([a, b], feed)
        as_tuple = s.run((a, b), feed)
        as_dict = s.run({"a": a, "rest": [b, (c,)]}, feed)
    np.testing.assert_array_equal(single, [2.0, 3.0])
    assert isinstance(as_list, list) and len(as_list) == 2
    assert isinstance(as_tuple, tuple) and len(as_tuple) == 2
    np.testing.assert_array_equal(as_tuple[1], [2.0, 4.0])
    assert set(as_dict) == {"a", "rest"}
    assert isinstance(as_dict["rest"], list) and isinstance(as_dict["rest"][1], tuple)
    np.testing.assert_array_equal(as_dict["rest"][1][0], [-2.0, -1.0])


def test_same_node_fetched_twice_and_empty_fetch():
    x = ds.constant(np.array([1.0, 2.0]))
    y = x * 3
    first, second = ds.Session().run([y, y])
    np.testing.assert_array_equal(first, second)
    assert ds.Session().run([]) == []


def test_python_number_results_come_back_as_arrays():
    out = ds.Session().run(ds.constant(2.5) * 2)
    assert isinstance(out, np.ndarray) and out.shape == () and out == 5.0
    const = ds.Session().run(ds.constant(1.5))
    assert isinstance(const, np.ndarray) and const == 1.5


def test_fetching_something_that_is_not_a_node_is_a_clear_error():
    with pytest.raises(ds.GraphError, match="str"):
        ds.Session().run("loss")


# --- each node once, plans cached ------------------------------------------------------

def test_each_node_is_computed_once_per_run(forward_calls):
    x = ds.placeholder(name="x")
    s = ds.sigmoid(x)
    y = s + s
    z = y * s
    feed = {x: np.array([0.5, -1.0])}
    out = ds.Session().run([y, z, s, {"again": s}], feed)
    assert forward_calls == {"Sigmoid": 1, "Add": 1, "Mul": 1}
    sig = 1 / (1 + np.exp(-feed[x]))
    np.testing.assert_allclose(out[1], 2 * sig * sig)
    ds.Session().run([y, z], feed)
    assert forward_calls == {"Sigmoid": 2, "Add": 2, "Mul": 2}


def test_only_the_nodes_the_fetches_need_are_computed(forward_calls):
    x = ds.placeholder(name="x")
    needed = ds.exp(x)
    ds.sigmoid(x)  # not fetched: must not run
    ds.Session().run(needed, {x: np.ones(2)})
    assert forward_calls == {"Exp": 1}


def test_the_plan_is_worked_out_once_and_reused(monkeypatch):
    x = ds.placeholder(name="x")
    y = ds.tanh(x) * 2
    calls = []
    original = session_module.topological_order
    monkeypatch.setattr(session_module, "topological_order",
                        lambda roots, leaves=(): calls.append(1) or original(roots, leaves))
    s = ds.Session()
    for i in range(5):
        np.testing.assert_allclose(s.run(y, {x: np.array([float(i)])}), 2 * np.tanh([float(i)]))
    ds.Session().run(y, {x: np.array([1.0])})  # a new session on the same graph reuses it too
    assert len(calls) == 1


def test_nodes_added_after_a_run_are_evaluated_correctly():
    x = ds.placeholder(name="x")
    y = x + 1
    s = ds.Session()
    assert s.run(y, {x: 1.0}) == 2.0
    z = y * 10
    assert s.run(z, {x: 1.0}) == 20.0
    assert s.run([y, z], {x: 2.0}) == [3.0, 30.0]


def test_runs_see_the_current_variable_values():
    v = ds.Variable(np.array([1.0, 2.0]))
    y = v * 2
    s = ds.Session()
    np.testing.assert_array_equal(s.run(y), [2.0, 4.0])
    v.assign([5.0, 6.0])
    np.testing.assert_array_equal(s.run(y), [10.0, 12.0])


def test_a_fetched_variable_is_a_copy():
    v = ds.Variable(np.array([1.0, 2.0]))
    out = ds.Session().run(v)
    out[0] = 100.0
    np.testing.assert_array_equal(v.value, [1.0, 2.0])


def test_context_manager_returns_the_session():
    with ds.Session() as s:
        assert isinstance(s, ds.Session)
        assert s.run(ds.constant(3.0) + 1) == 4.0


def test_session_for_another_graph_than_the_default():
    g = ds.Graph()
    with g.as_default():
        y = ds.constant(2.0) * 3
    assert ds.get_default_graph() is not g
    assert ds.Session(graph=g).run(y) == 6.0


def test_evaluate_all_gives_every_node_behind_the_fetches_and_nothing_else():
    x = ds.placeholder(name="x")
    h = ds.sigmoid(x)
    y = h * 2
    unused = ds.exp(x)
    values = ds.Session().evaluate_all(y, {x: np.array([0.0])})
    assert set(values) == {x, h, y, y.inputs[1]}
    assert unused not in values
    np.testing.assert_allclose(values[h], [0.5])


# --- feeds ------------------------------------------------------------------------------

def test_none_dimensions_accept_any_size():
    x = ds.placeholder(shape=(None, 2), name="x")
    y = ds.reduce_sum(x, axis=1)
    s = ds.Session()
    assert s.run(y, {x: np.ones((5, 2))}).shape == (5,)
    assert s.run(y, {x: np.ones((1, 2))}).shape == (1,)
    for bad in (np.ones((5, 3)), np.ones(2), np.ones((5, 2, 1))):
        with pytest.raises(ds.FeedError):
            s.run(y, {x: bad})


def test_feeds_are_converted_to_the_placeholder_dtype():
    x32 = ds.placeholder(shape=(2,), dtype=np.float32, name="x32")
    i32 = ds.placeholder(shape=(2,), dtype=np.int32, name="i32")
    free = ds.placeholder(name="free")
    s = ds.Session()
    assert s.run(x32, {x32: np.array([1.0, 2.0])}).dtype == np.float32
    assert s.run(x32 * 2, {x32: [1.0, 2.0]}).dtype == np.float32
    assert s.run(i32, {i32: np.array([1, 2], dtype=np.int64)}).dtype == np.int32
    out = s.run(free, {free: [[1, 2], [3, 4]]})  # no dtype given: numbers become floats
    assert out.dtype == np.float64 and out.shape == (2, 2)


def test_placeholder_with_default_is_optional():
    flag = ds.placeholder_with_default(np.array([1.0, 2.0]))
    y = flag * 2
    s = ds.Session()
    np.testing.assert_array_equal(s.run(y), [2.0, 4.0])
    np.testing.assert_array_equal(s.run(y, {flag: [5.0, 6.0]}), [10.0, 12.0])
    with pytest.raises(ds.FeedError):
        s.run(y, {flag: [1.0, 2.0, 3.0]})
