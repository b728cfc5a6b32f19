"""ds.debugging, after TensorFlow's tf.debugging: finding the first op that makes NaN or inf.

    ds.debugging.enable_check_numerics()   # every session checks every run from now on
    ds.Session(check_numerics=True)        # or one session
    ds.debugging.check_numerics(x, "logits")  # or one node, as tf.debugging.check_numerics
"""
from .ops import check_numerics
from .session import CHECK_NUMERICS

__all__ = ["enable_check_numerics", "disable_check_numerics", "check_numerics"]


def enable_check_numerics():
    """From now on every Session stops at the first op whose output or gradient holds NaN or inf,
    with a NumericsError naming it, its inputs' shapes and which inputs were finite."""
    CHECK_NUMERICS["always"] = True


def disable_check_numerics():
    """Undo enable_check_numerics(): only Session(check_numerics=True) checks."""
    CHECK_NUMERICS["always"] = False
