"""The value of every op against plain numpy."""
import numpy as np
import pytest

import dlscratch as ds

RNG = np.random.default_rng(7)
A = RNG.normal(size=(4, 3))
B = RNG.normal(size=(4, 3))
POS = RNG.uniform(0.5, 2.0, size=(4, 3))
ROW = RNG.normal(size=(3,))
COL = RNG.normal(size=(4, 1))
T3 = RNG.normal(size=(2, 3, 4))


def value(node):
    return ds.Session().run(node)


def reference_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("op, args, expected", [
    (ds.add, (A, B), A + B),
    (ds.add, (A, ROW), A + ROW),
    (ds.add, (COL, ROW), COL + ROW),
    (ds.subtract, (A, ROW), A - ROW),
    (ds.subtract, (ROW, A), ROW - A),
    (ds.multiply, (A, COL), A * COL),
    (ds.divide, (A, POS), A / POS),
    (ds.divide, (ROW, POS), ROW / POS),
    (ds.negative, (A,), -A),
    (ds.square, (A,), A * A),
    (ds.sigmoid, (A,), 1 / (1 + np.exp(-A))),
    (ds.tanh, (A,), np.tanh(A)),
    (ds.relu, (A,), np.where(A > 0, A, 0.0)),
    (ds.exp, (A,), np.exp(A)),
    (ds.log, (POS,), np.log(POS)),
], ids=lambda p: getattr(p, "__name__", None) if callable(p) else "")
def test_elementwise_ops_match_numpy(op, args, expected):
    np.testing.assert_allclose(value(op(*args)), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("exponent", [2, 3, -1, 0.5, 1.5, 0])
def test_pow(exponent):
    np.testing.assert_allclose(value(ds.pow(POS, exponent)), POS ** exponent, rtol=1e-12)


def test_clip_by_value():
    np.testing.assert_array_equal(value(ds.clip_by_value(A, -0.5, 0.25)), np.clip(A, -0.5, 0.25))


@pytest.mark.parametrize("a_shape, b_shape", [
    ((4, 3), (3, 5)),      # matrices
    ((3,), (3, 5)),        # vector @ matrix
    ((4, 3), (3,)),        # matrix @ vector
    ((3,), (3,)),          # dot product
    ((2, 4, 3), (3, 5)),   # batched @ matrix
    ((2, 4, 3), (2, 3, 5)),  # batched @ batched
    ((1, 4, 3), (6, 3, 5)),  # batch dimension broadcast
])
def test_matmul_matches_numpy(a_shape, b_shape):
    a, b = RNG.normal(size=a_shape), RNG.normal(size=b_shape)
    out = value(ds.matmul(a, b))
    assert np.shape(out) == np.shape(a @ b)
    np.testing.assert_allclose(out, a @ b, rtol=1e-12)


@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1, (0, 2), [1, 2]])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("op, reference", [(ds.reduce_sum, np.sum), (ds.reduce_mean, np.mean)],
                         ids=["sum", "mean"])
def test_reductions_match_numpy(op, reference, axis, keepdims):
    np_axis = tuple(axis) if isinstance(axis, list) else axis
    expected = reference(T3, axis=np_axis, keepdims=keepdims)
    out = value(op(T3, axis=axis, keepdims=keepdims))
    assert np.shape(out) == np.shape(expected)
    np.testing.assert_allclose(out, expected, rtol=1e-12)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_and_log_softmax(axis):
    expected = reference_softmax(A, axis)
    np.testing.assert_allclose(value(ds.softmax(A, axis=axis)), expected, rtol=1e-12)
    np.testing.assert_allclose(value(ds.log_softmax(A, axis=axis)), np.log(expected), rtol=1e-12)


def test_softmax_default_axis_is_the_last():
    np.testing.assert_allclose(value(ds.softmax(T3)), reference_softmax(T3, -1), rtol=1e-12)
    np.testing.assert_allclose(value(ds.softmax(T3)).sum(axis=-1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_cross_entropy_with_logits(axis):
    labels = RNG.uniform(size=A.shape)
    labels /= labels.sum(axis=axis, keepdims=True)
    expected = -(labels * np.log(reference_softmax(A, axis))).sum(axis=axis)
    out = value(ds.softmax_cross_entropy_with_logits(labels=labels, logits=A, axis=axis))
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-12)


@pytest.mark.parametrize("perm", [None, (0, 1, 2), (2, 0, 1), (1, 0, 2), [2, 1, 0]])
def test_transpose(perm):
    out = value(ds.transpose(T3, perm))
    np.testing.assert_array_equal(out, np.transpose(T3, perm))


@pytest.mark.parametrize("shape", [(6, 4), (-1,), (4, -1), (2, -1, 2), (24, 1)])
def test_reshape(shape):
    out = value(ds.reshape(T3, shape))
    np.testing.assert_array_equal(out, T3.reshape(shape))
