"""Every differentiable op's gradient against central differences, over random shapes (hypothesis).

Inputs are drawn away from the points where an op is not smooth (relu and
clip at their kinks, log and divide near 0), so in float64 the analytic and
numerical gradients must agree to a relative error of 1e-7. The numerical
side is `ds.gradcheck.check_op_gradient`, itself checked at the bottom.
"""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dlscratch as ds
from dlscratch import gradcheck

TOL = 1e-7
FAST = settings(max_examples=30, deadline=None, derandomize=True, database=None)

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
seeds = st.integers(0, 2**32 - 1)


def values(seed, shape, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, size=shape)


def away_from_zero(seed, shape, low=0.2, high=2.0):
    """|x| in [low, high] with random signs: relu's kink and divide's pole are far away."""
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def check_op_gradient(op, *arrays, **attrs):
    # eps 1e-5 (as CS231n): with 1e-6, rounding noise alone reaches 1e-7 on gradient elements near 1e-4
    return gradcheck.check_op_gradient(op, *arrays, eps=1e-5, **attrs)


def assert_small(errors):
    assert max(errors) <= TOL, f"relative errors {errors}"


@FAST
@given(st.sampled_from([ds.add, ds.subtract, ds.multiply]),
       hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4), seeds)
def test_broadcasting_binary_ops(op, shapes_, seed):
    a_shape, b_shape = shapes_.input_shapes
    assert_small(check_op_gradient(op, values(seed, a_shape), values(seed + 1, b_shape)))


@FAST
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4), seeds)
def test_divide(shapes_, seed):
    a_shape, b_shape = shapes_.input_shapes
    assert_small(check_op_gradient(ds.divide, values(seed, a_shape), away_from_zero(seed + 1, b_shape, 0.5)))


@FAST
@given(st.sampled_from([ds.negative, ds.square, ds.sigmoid, ds.tanh, ds.exp]), shapes, seeds)
def test_smooth_elementwise_ops(op, shape, seed):
    assert_small(check_op_gradient(op, values(seed, shape)))


@FAST
@given(shapes, seeds)
def test_relu_away_from_zero(shape, seed):
    assert_small(check_op_gradient(ds.relu, away_from_zero(seed, shape, 0.01)))


@FAST
@given(shapes, seeds)
def test_log_of_positive_inputs(shape, seed):
    assert_small(check_op_gradient(ds.log, values(seed, shape, 0.3, 3.0)))


@FAST
@given(shapes, seeds, st.sampled_from([2, 3, -1, 0.5, 1.5, -2.5]))
def test_pow_of_positive_inputs(shape, seed, exponent):
    assert_small(check_op_gradient(ds.pow, values(seed, shape, 0.5, 2.0), exponent=exponent))


@FAST
@given(shapes, seeds)
def test_pow_with_integer_exponent_of_negative_inputs(shape, seed):
    assert_small(check_op_gradient(ds.pow, away_from_zero(seed, shape, 0.3), exponent=3))


@FAST
@given(shapes, seeds)
def test_clip_by_value_away_from_the_bounds(shape, seed):
    x = away_from_zero(seed, shape, 0.1, 2.0)
    x = np.where(np.abs(np.abs(x) - 1.0) < 0.05, x * 0.8, x)  # keep clear of the bounds +-1
    errors = check_op_gradient(ds.clip_by_value, x, clip_value_min=-1.0, clip_value_max=1.0)
    assert_small(errors)


@st.composite
def matmul_shapes(draw):
    """Matrices, vectors and stacks of matrices whose batch dimensions broadcast."""
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    kind = draw(st.sampled_from(["mm", "vm", "mv", "vv", "batched"]))
    if kind == "mm":
        return (n, k), (k, m)
    if kind == "vm":
        return (k,), (k, m)
    if kind == "mv":
        return (n, k), (k,)
    if kind == "vv":
        return (k,), (k,)
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3)).input_shapes
    a, b = batch[0] + (n, k), batch[1] + (k, m)
    # a stack times a plain vector or matrix also broadcasts
    return draw(st.sampled_from([(a, b), (a, (k, m)), ((n, k), b), (a, (k,)), ((k,), b)]))


@FAST
@given(matmul_shapes(), seeds)
def test_matmul(shapes_, seed):
    a_shape, b_shape = shapes_
    assert_small(check_op_gradient(ds.matmul, values(seed, a_shape), values(seed + 1, b_shape)))


@st.composite
def shape_and_axis(draw, allow_none=True, allow_tuple=True):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    choices = [st.integers(-len(shape), len(shape) - 1)]
    if allow_none:
        choices.append(st.none())
    if allow_tuple:
        choices.append(hnp.valid_tuple_axes(len(shape), min_size=1))
    return shape, draw(st.one_of(*choices))


@FAST
@given(st.sampled_from([ds.reduce_sum, ds.reduce_mean]), shape_and_axis(), st.booleans(), seeds)
def test_reductions(op, shape_axis, keepdims, seed):
    shape, axis = shape_axis
    assert_small(check_op_gradient(op, values(seed, shape), axis=axis, keepdims=keepdims))


@FAST
@given(st.sampled_from([ds.softmax, ds.log_softmax]), shape_and_axis(allow_none=False, allow_tuple=False), seeds)
def test_softmax_family(op, shape_axis, seed):
    shape, axis = shape_axis
    assert_small(check_op_gradient(op, values(seed, shape, -3, 3), axis=axis))


@FAST
@given(shape_and_axis(allow_none=False, allow_tuple=False), seeds)
def test_softmax_cross_entropy_with_logits(shape_axis, seed):
    shape, axis = shape_axis
    labels = values(seed, shape, 0.1, 1.0)
    labels /= labels.sum(axis=axis, keepdims=True)  # each row a distribution, as TensorFlow requires
    logits = values(seed + 1, shape, -3, 3)
    assert_small(check_op_gradient(ds.softmax_cross_entropy_with_logits, labels, logits, axis=axis))


def fused_loss(reduction):
    return lambda labels, logits: ds.nn.softmax_cross_entropy(labels=labels, logits=logits, reduction=reduction)


@FAST
@given(st.sampled_from(["sum", "mean"]), hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), seeds)
def test_fused_softmax_cross_entropy_loss(reduction, shape, seed):
    # labels that are not distributions: the gradient must hold for any labels, not only one-hot ones
    labels, logits = values(seed, shape, 0.1, 1.0), values(seed + 1, shape, -3, 3)
    assert_small(check_op_gradient(fused_loss(reduction), labels, logits))


@FAST
@given(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=3), seeds, st.randoms(use_true_random=False))
def test_transpose(shape, seed, random):
    perm = list(range(len(shape)))
    random.shuffle(perm)
    assert_small(check_op_gradient(ds.transpose, values(seed, shape), perm=perm))
    assert_small(check_op_gradient(ds.transpose, values(seed, shape)))


@FAST
@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), seeds, st.data())
def test_reshape(shape, seed, data):
    size = int(np.prod(shape))
    divisors = [d for d in range(1, size + 1) if size % d == 0]
    first = data.draw(st.sampled_from(divisors))
    target = data.draw(st.sampled_from([(size,), (-1,), (first, -1), (-1, first), (first, size // first, 1)]))
    assert_small(check_op_gradient(ds.reshape, values(seed, shape), shape=target))


def test_check_op_gradient_catches_a_wrong_rule():
    """The checks above can fail: a rule that is off by a little is reported as a large error."""
    original = ds.gradient_rule("Tanh")
    with ds.override_gradients({"Tanh": lambda ctx, grad: tuple(1.001 * g for g in original(ctx, grad))}):
        errors = check_op_gradient(ds.tanh, values(0, (3, 2)))
    assert errors[0] > 1e-4
