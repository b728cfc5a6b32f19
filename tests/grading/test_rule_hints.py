"""Hints for gradient-rule mistakes point at the real cause."""
import numpy as np
import pytest

import dlscratch as ds
from dlscratch import grading


def _message(rule, *inputs):
    with pytest.raises(grading.CheckFailed) as info:
        grading.check_rule(ds.relu, rule, *inputs)
    return " ".join(str(info.value).split())


def test_relu_with_the_mask_on_the_wrong_side_is_named():
    def relu_backward(ctx, grad):
        (x,) = ctx.inputs
        return (grad * (x < 0),)

    message = _message(relu_backward, np.array([-1.5, -0.5, 0.5, 1.5]))
    assert "wrong side" in message and "0 times" not in message


def test_relu_letting_grad_through_everywhere_is_named():
    def relu_backward(ctx, grad):
        (x,) = ctx.inputs
        return (grad * (x <= 0) + grad * (x > 0),)

    message = _message(relu_backward, np.array([-1.5, -0.5, 0.5, 1.5]))
    assert "passes grad through unchanged" in message or "x <= 0" in message
