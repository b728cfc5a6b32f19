"""ds.reduce_max: its value against numpy, its gradient against finite differences, and ties as TensorFlow."""
import numpy as np
import pytest

import dlscratch as ds

RNG = np.random.default_rng(11)
T3 = RNG.normal(size=(2, 3, 4))


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), [1, 2]])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduce_max_matches_numpy(axis, keepdims):
    np_axis = tuple(axis) if isinstance(axis, list) else axis
    expected = np.max(T3, axis=np_axis, keepdims=keepdims)
    node = ds.reduce_max(T3, axis=axis, keepdims=keepdims)
    out = ds.Session().run(node)
    assert np.shape(out) == expected.shape and node.shape == expected.shape
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
def test_reduce_max_gradient_passes_gradcheck(axis):
    x = ds.Variable(RNG.normal(size=(2, 3, 4)), name="x")  # no ties: max is differentiable here
    weights = RNG.normal(size=np.shape(np.max(x.value, axis=axis)))
    errors = ds.gradcheck.check_gradients(ds.reduce_sum(ds.reduce_max(x, axis=axis) * weights))
    assert errors["x"] < 1e-7, errors


def test_the_gradient_goes_to_the_maximum_only():
    x = ds.Variable(np.array([[1.0, 5.0, 2.0], [-3.0, -4.0, -1.0]]), name="x")
    grad = ds.compute_gradients(ds.reduce_sum(ds.reduce_max(x, axis=1) * [2.0, 3.0]), wrt=[x])[x]
    np.testing.assert_array_equal(grad, [[0.0, 2.0, 0.0], [0.0, 0.0, 3.0]])


def test_tied_maxima_share_the_gradient_equally_as_in_tensorflow():
    x = ds.Variable(np.array([[3.0, 1.0, 3.0], [2.0, 2.0, 2.0]]), name="x")
    grad = ds.compute_gradients(ds.reduce_sum(ds.reduce_max(x, axis=-1)), wrt=[x])[x]
    np.testing.assert_allclose(grad, [[0.5, 0.0, 0.5], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-15)
    whole = ds.compute_gradients(ds.reduce_max(x), wrt=[x])[x]  # ties across the whole array
    np.testing.assert_allclose(whole, [[0.5, 0.0, 0.5], [0.0, 0.0, 0.0]], rtol=1e-15)


def test_reduce_max_keeps_float32_and_is_a_registered_op():
    x = ds.Variable(np.ones((2, 3), np.float32), name="x")
    y = ds.reduce_max(x, axis=0)
    assert ds.Session().run(y).dtype == np.float32
    assert ds.compute_gradients(ds.reduce_sum(y), wrt=[x])[x].dtype == np.float32
    assert y.op_type == "Max" and ds.OPS["Max"] is ds.op_class(ds.reduce_max) and "reduce_max" in ds.core.__all__


def test_a_stable_log_sum_exp_built_from_ops_stays_finite():
    """The use that motivated the op: log Σ exp(z) = m + log Σ exp(z − m), m the row's max."""
    z = ds.Variable(np.array([[1000.0, 0.0], [-1000.0, -999.0]]), name="z")
    m = ds.reduce_max(z, axis=1, keepdims=True)
    lse = m + ds.log(ds.reduce_sum(ds.exp(z - m), axis=1, keepdims=True))
    value = ds.Session().run(lse)
    np.testing.assert_allclose(value[:, 0], [1000.0, -999.0 + np.log1p(np.exp(-1.0))], rtol=1e-12)
    grad = ds.compute_gradients(ds.reduce_sum(lse), wrt=[z])[z]  # the softmax: the max's own part cancels
    np.testing.assert_allclose(grad, ds.Session().run(ds.softmax(z)), rtol=1e-12)
