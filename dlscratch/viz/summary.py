"""Short text summaries of values, for graph labels and widget read-outs."""
import numpy as np

from ..core import format_shape

SMALL = 12  # arrays of at most this many numbers, 2 axes and 6 rows are shown in full


def number(x):
    """A number to 4 significant digits: 0.1235, 1.235e+05, 3 (integers stay integers)."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    x = float(x)
    return "0" if x == 0 else f"{x:.4g}"  # no "-0"


shape_text = format_shape  # (2, 3), (5,), or (None, 2) for a placeholder's declared shape


def summarize(value, small=SMALL):
    """A few lines describing a value: the number itself, a small array in full, or shape and statistics.

    >>> print(summarize(2 / 3))
    0.6667
    >>> print(summarize(np.array([[1.0, 2.0], [3.0, 4.0]])))
    shape (2, 2)
    [[1, 2],
     [3, 4]]
    >>> print(summarize(np.arange(100.0)))
    shape (100,)
    min 0  mean 49.5  max 99
    """
    if value is None:
        return "no value"
    if isinstance(value, (tuple, list)) and not _numeric_sequence(value):
        return f"{len(value)} values"
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        return type(value).__name__
    if array.ndim == 0:
        return number(array.item())
    head = "shape " + shape_text(array.shape)
    if array.size == 0:
        return head + "\nempty"
    if array.size <= small and array.ndim <= 2 and len(array) <= 6:
        body = np.array2string(array, separator=", ", max_line_width=48,
                               formatter={"float_kind": number, "int": number, "bool": number})
        return head + "\n" + body
    with np.errstate(all="ignore"):  # the mean of huge values may overflow: show inf, never warn
        stats = f"min {number(np.min(array))}  mean {number(np.mean(array))}  max {number(np.max(array))}"
    return head + "\n" + stats


def _numeric_sequence(value):
    return all(isinstance(v, (int, float, np.number)) for v in value)
