import warnings

import numpy as np

from dlscratch.viz import summarize


def test_scalars_have_four_significant_digits():
    assert summarize(2 / 3) == "0.6667"
    assert summarize(np.float32(123456.0)) == "1.235e+05"
    assert summarize(np.array(-0.0)) == "0"
    assert summarize(7) == "7"


def test_small_arrays_are_shown_in_full():
    text = summarize(np.array([[1.0, 2.5], [-3.0, 1 / 3]]))
    assert text.splitlines() == ["shape (2, 2)", "[[1, 2.5],", " [-3, 0.3333]]"]
    assert summarize(np.array([1, 2, 3])).splitlines() == ["shape (3,)", "[1, 2, 3]"]


def test_large_arrays_are_shape_and_statistics():
    text = summarize(np.arange(100.0).reshape(10, 10))
    assert text.splitlines() == ["shape (10, 10)", "min 0  mean 49.5  max 99"]
    assert summarize(np.zeros((2, 2, 2))).startswith("shape (2, 2, 2)\nmin 0")


def test_odd_values_never_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "inf" in summarize(np.full(100, 1e308))  # the mean overflows
        assert "nan" in summarize(np.array([np.nan] * 20))
        assert summarize(None) == "no value"
        assert summarize((np.zeros(2), np.ones(3))) == "2 values"
        assert summarize(np.zeros((0, 3))).endswith("empty")
