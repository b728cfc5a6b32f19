"""Building graphs: default graphs, names, node kinds and Python operators."""
import numpy as np
import pytest

import dlscratch as ds


def value(node, feed_dict=None):
    return ds.Session(node.graph).run(node, feed_dict)


# --- default graph -------------------------------------------------------------

def test_as_default_as_plain_statement_changes_the_default():
    g = ds.Graph()
    g.as_default()
    assert ds.get_default_graph() is g
    x = ds.placeholder()
    assert x.graph is g


def test_as_default_as_with_block_restores_the_previous_default():
    outer = ds.get_default_graph()
    inner = ds.Graph()
    with inner.as_default() as g:
        assert g is inner
        assert ds.get_default_graph() is inner
        node = ds.constant(1.0)
    assert ds.get_default_graph() is outer
    assert node.graph is inner
    assert node not in outer.nodes


def test_nested_with_blocks_restore_in_order():
    g0, g1, g2 = ds.get_default_graph(), ds.Graph(), ds.Graph()
    with g1.as_default():
        with g2.as_default():
            assert ds.get_default_graph() is g2
        assert ds.get_default_graph() is g1
    assert ds.get_default_graph() is g0


def test_with_block_restores_even_after_an_exception():
    g0 = ds.get_default_graph()
    with pytest.raises(KeyError):
        with ds.Graph().as_default():
            raise KeyError("boom")
    assert ds.get_default_graph() is g0


def test_get_default_graph_is_stable_and_reset_gives_a_new_empty_graph():
    g = ds.get_default_graph()
    assert ds.get_default_graph() is g
    ds.constant(1.0)
    assert len(g.nodes) == 1
    new = ds.reset_default_graph()
    assert new is not g and ds.get_default_graph() is new
    assert new.nodes == []


# --- names ------------------------------------------------------------------------

def test_names_are_unique_tensorflow_style():
    x = ds.placeholder(name="x")
    a, b, c = x + 1, x + 2, x + 3
    assert [a.name, b.name, c.name] == ["add", "add_1", "add_2"]
    assert ds.placeholder(name="x").name == "x_1"


def test_unique_name_skips_names_taken_explicitly():
    x = ds.placeholder(name="x")
    taken = ds.add(x, 1, name="add_1")
    first, second = x + 1, x + 2
    assert taken.name == "add_1"
    assert {first.name, second.name} == {"add", "add_2"}
    names = [n.name for n in ds.get_default_graph().nodes]
    assert len(names) == len(set(names))


def test_every_op_has_a_readable_default_name():
    x = ds.placeholder(name="x")
    assert ds.matmul(x, x).name == "matmul"
    assert ds.sigmoid(x).name == "sigmoid"
    assert ds.reduce_sum(x).name == "reduce_sum"
    assert ds.softmax(x).name == "softmax"
    assert ds.softmax_cross_entropy_with_logits(labels=x, logits=x).name == "softmax_cross_entropy_with_logits"


def test_name_scope_prefixes_names_and_repeats_get_a_suffix():
    x = ds.placeholder(name="x")
    with ds.name_scope("layer"):
        w = ds.Variable(np.ones(2), name="W")
        y = x * w
        with ds.name_scope("inner"):
            z = y + 1
    with ds.name_scope("layer"):
        w2 = ds.Variable(np.ones(2), name="W")
    after = x + 1
    assert (w.name, y.name, z.name) == ("layer/W", "layer/mul", "layer/inner/add")
    assert w2.name == "layer_1/W"
    assert after.name == "add"
    assert ds.get_default_graph().get_node("layer/inner/add") is z


def test_get_node_unknown_name_raises_keyerror_naming_it():
    with pytest.raises(KeyError, match="nope"):
        ds.get_default_graph().get_node("nope")


# --- node kinds -------------------------------------------------------------------

def test_placeholder_keeps_shape_and_dtype():
    x = ds.placeholder(shape=[None, 3], dtype=np.float32, name="x")
    assert x.op_type == "Placeholder"
    assert x.shape == (None, 3)
    assert x.dtype == np.float32
    assert x.inputs == ()


def test_variable_holds_a_copy_of_its_initial_value():
    init = np.array([1.0, 2.0])
    v = ds.Variable(init, name="v")
    init[0] = 99.0
    assert v.op_type == "Variable"
    np.testing.assert_array_equal(v.value, [1.0, 2.0])
    assert v.shape == (2,) and v.trainable


def test_variable_from_ints_becomes_float64_and_trainable_flag_is_kept():
    v = ds.Variable([[1, 2], [3, 4]], trainable=False)
    assert v.value.dtype == np.float64
    assert not v.trainable
    g = ds.get_default_graph()
    assert v in g.variables and v not in g.trainable_variables


def test_variable_assign_checks_shape():
    v = ds.Variable(np.zeros((2, 2)))
    v.assign(np.ones((2, 2)))
    np.testing.assert_array_equal(value(v), np.ones((2, 2)))
    with pytest.raises(ds.ShapeError, match=r"\(3,\)"):
        v.assign(np.ones(3))


def test_constant_keeps_its_value():
    c = ds.constant([[1.0, 2.0]], name="c")
    assert c.op_type == "Const" and c.name == "c"
    assert c.shape == (1, 2)
    np.testing.assert_array_equal(value(c), [[1.0, 2.0]])


def test_inputs_consumers_and_ids():
    a, b = ds.placeholder(name="a"), ds.placeholder(name="b")
    c = ds.add(a, b)
    d = ds.multiply(a, a)
    assert c.inputs == (a, b)
    assert a.consumers == [c, d]  # d uses a twice but consumes it once
    assert b.consumers == [c]
    assert isinstance(c, ds.Operation) and c.op_type == "Add"
    assert a.id < b.id < c.id < d.id
    assert c.attrs == {}


def test_ops_record_their_attributes():
    x = ds.placeholder(name="x")
    s = ds.reduce_sum(x, axis=[0, 1], keepdims=True)
    assert s.op_type == "Sum"
    assert s.attrs == {"axis": (0, 1), "keepdims": True}
    assert ds.softmax(x, axis=0).attrs == {"axis": 0}


def test_python_values_become_constants():
    x = ds.placeholder(name="x")
    y = x + np.array([1.0, 2.0])
    const = y.inputs[1]
    assert isinstance(const, ds.Constant)
    np.testing.assert_array_equal(const.value, [1.0, 2.0])


def test_nodes_from_two_graphs_cannot_be_combined():
    a = ds.constant(1.0, name="a")
    with ds.Graph().as_default():
        b = ds.constant(2.0, name="b")
        with pytest.raises(ds.GraphError, match="'a'"):
            ds.add(a, b)


# --- operators ----------------------------------------------------------------------

X = np.array([[1.0, -2.0], [3.0, 4.0]])
C = np.array([[0.5, 2.0], [-1.0, 3.0]])


@pytest.mark.parametrize("build, op_type, expected", [
    (lambda x: x + C, "Add", X + C),
    (lambda x: x - C, "Sub", X - C),
    (lambda x: x * C, "Mul", X * C),
    (lambda x: x / C, "Div", X / C),
    (lambda x: x @ C, "MatMul", X @ C),
    (lambda x: -x, "Neg", -X),
    (lambda x: x ** 3, "Pow", X ** 3),
    (lambda x: x.T, "Transpose", X.T),
    # reflected: a Python number or a numpy array on the left
    (lambda x: 2.0 + x, "Add", 2.0 + X),
    (lambda x: 2.0 - x, "Sub", 2.0 - X),
    (lambda x: 2.0 * x, "Mul", 2.0 * X),
    (lambda x: 2.0 / x, "Div", 2.0 / X),
    (lambda x: C + x, "Add", C + X),
    (lambda x: C - x, "Sub", C - X),
    (lambda x: C * x, "Mul", C * X),
    (lambda x: C / x, "Div", C / X),
    (lambda x: C @ x, "MatMul", C @ X),
], ids=["add", "sub", "mul", "div", "matmul", "neg", "pow", "T",
        "radd", "rsub", "rmul", "rdiv", "np_add", "np_sub", "np_mul", "np_div", "np_matmul"])
def test_operators_build_ops_with_the_right_operand_order(build, op_type, expected):
    x = ds.placeholder(name="x")
    y = build(x)
    assert isinstance(y, ds.Node), f"got {type(y).__name__}: numpy did not defer to the node"
    assert y.op_type == op_type
    np.testing.assert_allclose(value(y, {x: X}), expected)


def test_operators_between_nodes():
    a, b = ds.constant(X), ds.constant(C)
    np.testing.assert_allclose(value((a + b) * (a - b) / b), (X + C) * (X - C) / C)
    np.testing.assert_allclose(value(a @ b @ a), X @ C @ X)


def test_pow_needs_a_constant_exponent():
    x = ds.placeholder(name="x")
    with pytest.raises(ds.GraphError, match="exponent"):
        x ** x
