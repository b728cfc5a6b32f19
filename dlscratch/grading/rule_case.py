"""One op at fixed inputs: what a gradient rule is handed, and what to say about its answer.

`RuleCase.call` runs a student's rule and checks the form of what it returns; `value_hint`
explains a wrong value, recognising the usual mistakes by what they compute.
"""
import numpy as np

from .. import gradcheck
from ..core import GradientError, OpContext, input_gradients, op_class
from ..core.graph import Graph, Variable
from .report import CheckFailed, close, name_of
from .student_code import quietly, student_code

# The seed of the upstream gradient a rule is handed. 0 is what students see (grading.example); the
# isolated grader draws another per notebook, so a pasted answer to a visible case does not pass.
GRAD_SEED = 0

ARGUMENTS = {"Add": ("x", "y"), "Mul": ("x", "y"), "MatMul": ("a", "b")}  # the inputs' names in messages

HINTS = {
    "Neg": "negative(x) flips the sign of every element: what does that do to a small change in x?",
    "Add": "x + y passes a small change in x (or in y) straight through to the output.",
    "Mul": "In x * y, a small change in x is scaled by y, and a small change in y by x.",
    "MatMul": "The gradient of a has a's shape and that of b has b's shape. Of the products of grad "
              "with the other input (transposed or not), only one has the right shape.",
    "Sigmoid": "σ'(x) can be written with σ(x) alone, and ctx.output already holds σ(x).",
    "Log": "Does the derivative of log(x) need the input x or the output log(x)?",
    "Exp": "exp is its own derivative, and ctx.output already holds exp(x).",
    "Relu": "relu has slope 1 where x > 0 and slope 0 where x < 0.",
    "Softmax": "Every output of a softmax depends on every input along ctx.attrs['axis']. Work out the "
               "vector-Jacobian product for one row on paper, then write it with "
               "np.sum(..., axis=axis, keepdims=True) so that it works for any axis.",
    "Sum": "Each input element was added once into the output element it was summed into, so it gets "
           "that element's grad. Read ctx.attrs['axis'] (None, an int or a tuple) and "
           "ctx.attrs['keepdims'].",
}


def _sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * x))


# Mistakes that are easy to make, recognised by what they compute: op -> [(message, wrong rule)].
KNOWN_MISTAKES = {
    "Sigmoid": [
        ("Yours computes grad·σ(x)·σ(1−x), the typo in the source text: σ(1−x) is not 1−σ(x).",
         lambda x, y, g, attrs: (g * y * _sigmoid(1 - x[0]),)),
        ("Yours computes grad·σ(x): a factor is missing.", lambda x, y, g, attrs: (g * y,)),
        ("Yours computes grad·(1−σ(x)): a factor is missing.", lambda x, y, g, attrs: (g * (1 - y),)),
    ],
    "MatMul": [
        ("Yours computes grad @ b for a: a transpose is missing.", lambda x, y, g, attrs: (g @ x[1], None)),
        ("Yours computes a @ grad for b: a transpose is missing.", lambda x, y, g, attrs: (None, x[0] @ g)),
    ],
    "Softmax": [
        ("Yours computes grad·y·(1−y), only the diagonal of the Jacobian: each output also depends on the "
         "other inputs in its row.", lambda x, y, g, attrs: (g * y * (1 - y),)),
    ],
    "Log": [
        ("Yours computes grad·x: the derivative of log(x) is not x.", lambda x, y, g, attrs: (g * x[0],)),
        ("Yours divides by ctx.output (log x) instead of by the input.", lambda x, y, g, attrs: (g / y,)),
    ],
    "Mul": [
        ("Yours multiplies grad by the same input: the gradient of x involves y, and that of y involves x.",
         lambda x, y, g, attrs: tuple(g * v for v in x)),
    ],
    "Relu": [
        ("Yours lets grad through where x < 0 and blocks it where x > 0: the mask is on the wrong side.",
         lambda x, y, g, attrs: (g * (x[0] < 0),)),
        ("Yours lets grad through where x <= 0 as well: relu's slope is 0 there.",
         lambda x, y, g, attrs: (g * (x[0] <= 0) + g * (x[0] > 0),)),
    ],
}


class RuleCase:
    """One op applied to fixed inputs: its node, its values, and an upstream gradient."""

    def __init__(self, op, inputs, attrs, seed=None):
        self.op, self.attrs = op, attrs
        self.op_type = op.op_type
        self.hint = HINTS.get(self.op_type, "")
        self.arrays = [np.array(x, dtype=np.float64) for x in inputs]
        self.names = ARGUMENTS.get(self.op_type, ("x",))
        if len(self.names) != len(self.arrays):
            self.names = tuple(f"input {i}" for i in range(len(self.arrays)))
        graph = Graph()
        with graph.as_default():
            variables = [Variable(a, name=n) for a, n in zip(self.arrays, self.names)]
            self.node = op(*variables, **attrs)
        self.output = op_class(self.op_type).forward(OpContext(self.node, self.arrays), *self.arrays,
                                                     **self.node.attrs)
        self.grad = np.random.default_rng(GRAD_SEED if seed is None else seed).normal(size=np.shape(self.output))

    def context(self):
        """A fresh ctx, so that a rule changing it in place cannot spoil the next call."""
        return OpContext(self.node, tuple(a.copy() for a in self.arrays), np.array(self.output, copy=True),
                         (True,) * len(self.arrays))

    def describe(self, rule):
        shapes = ", ".join(f"{n} of shape {a.shape}" for n, a in zip(self.names, self.arrays))
        settings = "".join(f", {k}={v!r}" for k, v in self.node.attrs.items())
        return f"{name_of(rule)}, for {self.op.__name__}({', '.join(self.names)}{settings}) with {shapes}"

    def expected_numerically(self, i):
        """d sum(grad * op(inputs)) / d input i, by the library's finite differences."""
        forward = op_class(self.op_type).forward
        arrays = [a.copy() for a in self.arrays]

        def f():
            return np.asarray(forward(OpContext(self.node, arrays), *arrays, **self.node.attrs), dtype=np.float64)
        return gradcheck.numerical_gradient(f, arrays[i], weights=self.grad)

    def expected_by_library(self):
        return op_class(self.op_type).backward(self.context(), self.grad.copy())

    def terms_by_library(self):
        """The library's rule on the absolute values of the inputs, output and grad. Where a gradient sums
        terms (a broadcast input), this is the size of those terms, which rounding scales with, however much
        they cancel in the sum itself. Softmax's rule, y * (grad - sum(grad * y)), subtracts: its terms' sizes add
        (an op whose rule subtracts needs such a line, or check_rule is stricter with it than intended)."""
        if self.op_type == "Softmax":
            y, g = np.abs(self.output), np.abs(self.grad)
            return (y * (g + np.sum(g * y, axis=self.node.attrs["axis"], keepdims=True)),)
        ctx = OpContext(self.node, tuple(np.abs(a) for a in self.arrays), np.abs(self.output),
                        (True,) * len(self.arrays))
        with np.errstate(all="ignore"):
            return op_class(self.op_type).backward(ctx, np.abs(self.grad))

    def call(self, rule):
        """Run the student's rule; check what it returns has the right form. Returns (gradients, warnings)."""
        __tracebackhide__ = True
        ctx, grad = self.context(), self.grad.copy()
        where = self.describe(rule)
        with quietly() as caught, student_code(f"{where}, where grad has the output's shape "
                                               f"{self.grad.shape}", self.hint):
            result = rule(ctx, grad)
        if not np.array_equal(grad, self.grad):
            raise CheckFailed(f"{where}: your rule changed `grad` in place (e.g. grad *= ...). The same "
                              "array can be shared with other inputs' gradients, so build a new array "
                              "(grad * ...) instead.")
        for a, b, what in [*zip(ctx.inputs, self.arrays, self.names), (ctx.output, self.output, "ctx.output")]:
            if not np.array_equal(a, b):
                raise CheckFailed(f"{where}: your rule changed the value of {what} in place. Treat ctx.inputs "
                                  "and ctx.output as read-only: other ops use the same arrays.")
        n = len(self.arrays)
        try:
            result = input_gradients(self.node, result)  # the engine's own reading of a rule's result
        except GradientError:
            got = f"{len(result)} values" if isinstance(result, (tuple, list)) else f"a {type(result).__name__}"
            raise CheckFailed(f"{where}: a rule returns a tuple with one gradient per input, {n} here "
                              f"({', '.join(self.names)}); yours returned {got}. "
                              f"Write `return ({', '.join('d' + m for m in self.names)}{',' if n == 1 else ''})`."
                              ) from None
        grads = []
        for i, (g, x) in enumerate(zip(result, self.arrays)):
            name = self.names[i]
            if g is None:
                raise CheckFailed(f"{where}: your rule returned None for {name}, but ctx.needs[{i}] is True: "
                                  f"{name} needs a gradient.")
            g = np.asarray(g)
            if g.dtype.kind not in "biuf":
                raise CheckFailed(f"{where}: the gradient for {name} should be an array of numbers, "
                                  f"got {type(result[i]).__name__} of dtype {g.dtype}.")
            if g.shape != x.shape:
                raise CheckFailed(f"{where}: your gradient for {name} has shape {g.shape}, but {name} has shape "
                                  f"{x.shape}; a gradient always has the shape of its input.\n"
                                  f"Hint: {self.shape_hint(i, g.shape)}")
            grads.append(g.astype(np.float64))
        return grads, caught

    def shape_hint(self, i, shape):
        """Why input i's gradient came out with `shape`."""
        x, out, name = self.arrays[i], np.shape(self.output), self.names[i]
        if self.op_type == "Sum":
            return ("grad has the shape of the sum's output. Copy it back along the summed axes "
                    "(np.expand_dims, then np.broadcast_to the input's shape). " + HINTS["Sum"])
        if x.shape != out and shape == out and np.size(x) < np.size(self.output):
            return (f"{name} of shape {x.shape} was broadcast to the output's shape {out} in the forward pass. "
                    "Did you sum over the broadcast axis? Sum grad over the axes numpy added in front, and "
                    "(with keepdims=True) over the axes where the input has size 1.")
        if x.ndim == 2 and shape == x.shape[::-1]:
            return "Your gradient is the transpose of what it should be. " + self.hint
        return HINTS.get(self.op_type, "Check which arrays you combine.")

    def value_hint(self, i, actual, expected, rule=None):
        """Why input i's gradient came out as `actual` instead of `expected`: the op's hint, led by
        what the wrong value looks like, when it looks like something."""
        diagnosis = self._diagnose(i, actual, expected, rule)
        if diagnosis:
            return f"{diagnosis} {self.hint}"
        return HINTS.get(self.op_type, "Check the derivative.")

    def _diagnose(self, i, actual, expected, rule):
        ctx = self.context()
        for message, wrong in KNOWN_MISTAKES.get(self.op_type, []):
            try:
                with quietly():
                    candidate = wrong(ctx.inputs, ctx.output, self.grad, self.node.attrs)[i]
            except Exception:
                continue
            if candidate is not None and np.shape(candidate) == actual.shape and close(actual, candidate, 1e-9):
                return message
        if rule is not None and self._ignores_grad(rule, i, actual):
            return "Yours stays the same when grad changes: the chain rule multiplies the op's own slope by grad."
        if actual.shape == self.grad.shape and close(actual, self.grad, 1e-9):
            return "Yours passes grad through unchanged."
        if close(actual, -expected, 1e-6):
            return "Yours has the wrong sign."
        if np.allclose(actual, 0):
            return "Yours is all zeros."
        ratio = actual / np.where(expected == 0, np.nan, expected)
        ratio = ratio[np.isfinite(ratio)]
        if ratio.size and np.allclose(ratio, ratio[0], rtol=1e-6) and not np.isclose(ratio[0], 1):
            return f"Yours is {ratio[0]:.4g} times the right one."
        return None

    def _ignores_grad(self, rule, i, actual):
        """Whether the rule gives the same answer for twice the upstream gradient."""
        try:
            with quietly():
                again = rule(self.context(), 2 * self.grad)
            again = again if isinstance(again, (tuple, list)) else (again,)
            return np.allclose(np.asarray(again[i], dtype=float), actual)
        except Exception:
            return False
