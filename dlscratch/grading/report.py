"""How a check tells the student what is wrong: `CheckFailed` and the pieces of its messages."""
import os
import re
import textwrap

import numpy as np

from .. import gradcheck

TOLERANCE = 1e-5  # largest relative error accepted against finite differences

# Messages are wrapped to this many characters a line: `nbgrader validate` cuts lines at the
# terminal's width (about 88), and the feedback HTML and the Validate dialog show long lines badly.
WIDTH = 76
# The first line is shown after the exception's name, e.g. "CheckFailed: your rule ...".
SHOWN_BEFORE = len("CheckFailed: ")


def wrap(message, width=WIDTH):
    """`message` as short lines: each line wrapped at word boundaries (continuations keep the
    line's indent), and every "Hint:" starting a line of its own."""
    lines = []
    for line in str(message).split("\n"):
        for part in re.split(r"(?<=\S)[ \t]+(?=Hint: )", line.rstrip()):
            indent = part[:len(part) - len(part.lstrip())]
            lead = SHOWN_BEFORE if not lines else 0  # room for the name in front of the first line
            wrapped = textwrap.wrap(part.lstrip(), width=width, initial_indent=" " * lead + indent,
                                    subsequent_indent=indent, break_on_hyphens=False)
            lines.extend([wrapped[0][lead:], *wrapped[1:]] if wrapped else [""])
    return "\n".join(lines)


class CheckFailed(AssertionError):
    """A check found a mistake. The message says where, what was expected, and a hint,
    in lines short enough that no viewer cuts them off (see `wrap`)."""

    def __init__(self, message=""):
        super().__init__(wrap(message))

    def _render_traceback_(self):
        # IPython shows this instead of a traceback through this package's internals.
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]


def is_grading():
    """True while nbgrader validates or autogrades a notebook (skip widgets and long demos then)."""
    return "NBGRADER_EXECUTION" in os.environ


def format_array(value):
    """A short, readable rendering of an array for messages."""
    text = np.array2string(np.asarray(value, dtype=float), precision=4, suppress_small=True,
                           threshold=12, edgeitems=2, max_line_width=WIDTH - 12)
    return text.replace("\n", "\n            ")


def one_line(value):
    """An array on one line, for naming a case."""
    return " ".join(format_array(value).split())


def expected_and_yours(expected, actual):
    """The right value above the student's, aligned."""
    return f"  expected: {format_array(expected)}\n  yours:    {format_array(actual)}"


def numpy_warnings(caught):
    """A sentence quoting what numpy warned while the student's code ran, or ''."""
    messages = sorted({str(w.message) for w in caught})
    if not messages:
        return ""
    return f"\nnumpy warned: {'; '.join(messages[:3])}."


def close(a, b, tolerance=TOLERANCE):
    """Same shape, and equal up to the relative error the gradient checks accept."""
    return np.shape(a) == np.shape(b) and gradcheck.rel_error(a, b) <= tolerance


def name_of(fn):
    return getattr(fn, "__name__", repr(fn))
