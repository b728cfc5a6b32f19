"""The checks behind the graded exercises: they say what is wrong, in your terms.

The test cells of the exercise notebooks call these functions. Each check
builds its own small graph, runs your code on it and compares the result
with the library's own `ds.gradcheck` (finite differences) or the library's
engine, never with anything defined in your notebook. A failed check raises
`CheckFailed`, whose message names the function, the case, the input, the
expected and actual shapes or values and a hint.

Two things keep a passing test cell silent, as nbgrader needs (it scores a
test cell that writes anything to stderr as 0): warnings raised while your
code runs are caught and only reported if the check fails, and nothing here
prints.

Instructors: this module ships with the package, so it is not copied into
the assignment folders and holds no solutions.
"""
import contextlib
import functools
import io
import os
import time
import traceback
import warnings
from collections import namedtuple

import numpy as np

from . import gradcheck
from .core import gradients as _gradients_module
from .core import traversal as _traversal_module
from .core.errors import DLScratchError, describe
from .core.gradients import backprop as _library_backprop
from .core.gradients import compute_gradients
from .core.graph import Constant, Graph, Node, Variable, constant, placeholder
from .core.ops import OPS, add, exp, log, matmul, multiply, negative, reduce_sum, relu, sigmoid, softmax
from .core.registry import FORWARD, OpContext, override_gradients
from .core.session import Session
from .core.traversal import topological_order as _library_topological_order
from .data import one_hot, red_blue, xor_clusters
from .nn import mlp, softmax_cross_entropy

TOLERANCE = 1e-5  # largest relative error accepted against finite differences


class CheckFailed(AssertionError):
    """A check found a mistake. The message says where, what was expected, and a hint."""

    def _render_traceback_(self):
        # IPython shows this instead of a traceback through this module's internals.
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]


def is_grading():
    """True while nbgrader validates or autogrades a notebook (skip widgets and long demos then)."""
    return "NBGRADER_EXECUTION" in os.environ


# --- helpers -------------------------------------------------------------------------

def _check(fn):
    """For every public check: no warning of ours may reach stderr, passing or failing."""
    @functools.wraps(fn)
    def quiet_check(*args, **kwargs):
        __tracebackhide__ = True
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    return quiet_check


@contextlib.contextmanager
def _quietly():
    """Run student code without letting warnings or stray stderr output reach the cell.

    Yields the list of caught warnings, so a failure message can mention them.
    """
    with warnings.catch_warnings(record=True) as caught, \
            np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("always")
        yield caught


@contextlib.contextmanager
def _student_code(where, hint=""):
    """Turn an exception from student code into a CheckFailed that quotes their line."""
    __tracebackhide__ = True
    try:
        yield
    except CheckFailed:
        raise
    except NotImplementedError:
        raise CheckFailed(f"{where}: not written yet (it raises NotImplementedError). Replace "
                          "`raise NotImplementedError()` with your code.") from None
    except RecursionError:
        raise CheckFailed(f"{where}: too deep a recursion. Python allows only about a thousand nested "
                          "calls; use a loop with an explicit stack (a list) instead.") from None
    except Exception as e:
        line = _student_line(e)
        at = f"\n  in your line: {line}" if line else ""
        raise CheckFailed(f"{where}: your code raised {type(e).__name__}: {e}{at}"
                          + (f"\nHint: {hint}" if hint else "")) from e


_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _student_line(error):
    """The last line of the traceback that is neither this package's nor a library's."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        name = frame.filename
        if not (name.startswith(_PACKAGE) or "site-packages" in name or name.startswith("<frozen")):
            return (frame.line or "").strip()
    return ""


def _warned(caught):
    messages = sorted({str(w.message) for w in caught})
    if not messages:
        return ""
    return f"\nnumpy warned: {'; '.join(messages[:3])}."


def _fmt(value):
    """A short, readable rendering of an array for messages."""
    text = np.array2string(np.asarray(value, dtype=float), precision=4, suppress_small=True,
                           threshold=12, edgeitems=2, max_line_width=72)
    return text.replace("\n", "\n            ")


def _inline(value):
    """An array on one line, for naming a case."""
    return " ".join(_fmt(value).split())


def _close(a, b, tolerance=TOLERANCE):
    return np.shape(a) == np.shape(b) and gradcheck.rel_error(a, b) <= tolerance


def _name(fn):
    return getattr(fn, "__name__", repr(fn))


def _reject_library_code(fn, what):
    if getattr(fn, "__module__", "").startswith("dlscratch"):
        raise CheckFailed(f"the {what} you handed in is the library's own code. Write your own: that is "
                          "the exercise.")


# --- assignment 1: gradient rules ------------------------------------------------------

ARGUMENTS = {"Add": ("x", "y"), "Mul": ("x", "y"), "MatMul": ("a", "b")}

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
}


class _Case:
    """One op applied to fixed inputs: its node, its values, and an upstream gradient."""

    def __init__(self, op, inputs, attrs, seed=0):
        self.op, self.attrs = op, attrs
        self.op_type = op.op_type
        self.arrays = [np.array(x, dtype=np.float64) for x in inputs]
        self.names = ARGUMENTS.get(self.op_type, ("x",))
        if len(self.names) != len(self.arrays):
            self.names = tuple(f"input {i}" for i in range(len(self.arrays)))
        graph = Graph()
        with graph.as_default():
            variables = [Variable(a, name=n) for a, n in zip(self.arrays, self.names)]
            self.node = op(*variables, **attrs)
        self.output = FORWARD[self.op_type](*self.arrays, **self.node.attrs)
        self.grad = np.random.default_rng(seed).normal(size=np.shape(self.output))

    def context(self):
        return OpContext(self.node, tuple(a.copy() for a in self.arrays), np.array(self.output, copy=True),
                         (True,) * len(self.arrays))

    def describe(self, rule):
        shapes = ", ".join(f"{n} of shape {a.shape}" for n, a in zip(self.names, self.arrays))
        settings = "".join(f", {k}={v!r}" for k, v in self.node.attrs.items())
        return f"{_name(rule)}, for {self.op.__name__}({', '.join(self.names)}{settings}) with {shapes}"

    def expected_numerically(self, i):
        """d sum(grad * op(inputs)) / d input i, by the library's finite differences."""
        forward = FORWARD[self.op_type]
        arrays = [a.copy() for a in self.arrays]

        def f():
            return float(np.sum(self.grad * forward(*arrays, **self.node.attrs)))
        return gradcheck.numerical_gradient(f, arrays[i])

    def expected_by_library(self):
        return OPS[self.op_type].backward(self.context(), self.grad.copy())

    def call(self, rule):
        """Run the student's rule; check what it returns has the right form. Returns (gradients, warnings)."""
        __tracebackhide__ = True
        ctx, grad = self.context(), self.grad.copy()
        where = self.describe(rule)
        with _quietly() as caught, _student_code(f"{where}, where grad has the output's shape "
                                                 f"{self.grad.shape}", HINTS.get(self.op_type, "")):
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
        if n == 1 and not isinstance(result, (tuple, list)):
            result = (result,)
        if not isinstance(result, (tuple, list)) or len(result) != n:
            got = f"{len(result)} values" if isinstance(result, (tuple, list)) else f"a {type(result).__name__}"
            raise CheckFailed(f"{where}: a rule returns a tuple with one gradient per input, {n} here "
                              f"({', '.join(self.names)}); yours returned {got}. "
                              f"Write `return ({', '.join('d' + m for m in self.names)}{',' if n == 1 else ''})`.")
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
        x, out, name = self.arrays[i], np.shape(self.output), self.names[i]
        if self.op_type == "Sum":
            return ("grad has the shape of the sum's output. Copy it back along the summed axes "
                    "(np.expand_dims, then np.broadcast_to the input's shape). " + HINTS["Sum"])
        if x.shape != out and shape == out and np.size(x) < np.size(self.output):
            return (f"{name} of shape {x.shape} was broadcast to the output's shape {out} in the forward pass. "
                    "Did you sum over the broadcast axis? Sum grad over the axes numpy added in front, and "
                    "(with keepdims=True) over the axes where the input has size 1.")
        if x.ndim == 2 and shape == x.shape[::-1]:
            return "Your gradient is the transpose of what it should be. " + HINTS.get(self.op_type, "")
        return HINTS.get(self.op_type, "Check which arrays you combine.")

    def value_hint(self, i, actual, expected, rule=None):
        ctx = self.context()
        for message, wrong in KNOWN_MISTAKES.get(self.op_type, []):
            try:
                with _quietly():
                    candidate = wrong(ctx.inputs, ctx.output, self.grad, self.node.attrs)[i]
            except Exception:
                continue
            if candidate is not None and np.shape(candidate) == actual.shape and _close(actual, candidate, 1e-9):
                return f"{message} " + HINTS.get(self.op_type, "")
        if rule is not None and self._ignores_grad(rule, i, actual):
            return ("Yours stays the same when grad changes: the chain rule multiplies the op's own slope "
                    "by grad. " + HINTS.get(self.op_type, ""))
        if actual.shape == self.grad.shape and _close(actual, self.grad, 1e-9):
            return "Yours passes grad through unchanged. " + HINTS.get(self.op_type, "")
        if _close(actual, -expected, 1e-6):
            return "Yours has the wrong sign. " + HINTS.get(self.op_type, "")
        if np.allclose(actual, 0):
            return "Yours is all zeros. " + HINTS.get(self.op_type, "")
        ratio = actual / np.where(expected == 0, np.nan, expected)
        ratio = ratio[np.isfinite(ratio)]
        if ratio.size and np.allclose(ratio, ratio[0], rtol=1e-6) and not np.isclose(ratio[0], 1):
            return f"Yours is {ratio[0]:.4g} times the right one. " + HINTS.get(self.op_type, "")
        return HINTS.get(self.op_type, "Check the derivative.")

    def _ignores_grad(self, rule, i, actual):
        try:
            with _quietly():
                again = rule(self.context(), 2 * self.grad)
            again = again if isinstance(again, (tuple, list)) else (again,)
            return np.allclose(np.asarray(again[i], dtype=float), actual)
        except Exception:
            return False


def example(op, *inputs, **attrs):
    """`ctx, grad = grading.example(ds.multiply, x, y)`: what a rule gets, to try yours by hand."""
    case = _Case(op, inputs, attrs)
    return case.context(), case.grad.copy()


@_check
def check_rule(op, rule, *inputs, **attrs):
    """Check `rule` as the gradient of `op` at `inputs`: the form and shapes, then the values
    against the library's finite differences (ds.gradcheck)."""
    __tracebackhide__ = True
    _reject_library_code(rule, f"rule for {op.__name__}")
    case = _Case(op, inputs, attrs)
    grads, caught = case.call(rule)
    for i, g in enumerate(grads):
        expected = case.expected_numerically(i)
        if not np.all(np.isfinite(g)):
            raise CheckFailed(f"{case.describe(rule)}: your gradient for {case.names[i]} contains nan or inf.\n"
                              f"  expected: {_fmt(expected)}\n  yours:    {_fmt(g)}{_warned(caught)}\n"
                              f"Hint: {HINTS.get(case.op_type, '')}")
        error = gradcheck.rel_error(g, expected)
        if not error <= TOLERANCE:  # also catches nan
            raise CheckFailed(
                f"{case.describe(rule)}: the gradient for {case.names[i]} is wrong "
                f"(relative error {error:.2g} against finite differences; it must be below {TOLERANCE:g}).\n"
                f"  expected: {_fmt(expected)}\n  yours:    {_fmt(g)}\n"
                f"Hint: {case.value_hint(i, g, expected, rule)}{_warned(caught)}")


@_check
def check_rule_at_extremes(op, rule, *inputs, **attrs):
    """Check `rule` at inputs where finite differences are useless (huge or tiny values):
    it must stay finite and agree with the library's rule."""
    __tracebackhide__ = True
    _reject_library_code(rule, f"rule for {op.__name__}")
    case = _Case(op, inputs, attrs)
    grads, caught = case.call(rule)
    expected = case.expected_by_library()
    for i, g in enumerate(grads):
        where = f"{case.describe(rule)}, at extreme values {_inline(case.arrays[i])}"
        if not np.all(np.isfinite(g)):
            raise CheckFailed(f"{where}: your gradient for {case.names[i]} contains nan or inf: {_fmt(g)}."
                              f"{_warned(caught)}\nHint: a formula can be right on paper and still overflow in "
                              "floating point. Reuse the values the forward pass computed safely (ctx.output) "
                              "instead of recomputing exp() of large numbers.")
        if not _close(g, expected[i], 1e-6):
            raise CheckFailed(f"{where}: the gradient for {case.names[i]} is wrong.\n"
                              f"  expected: {_fmt(expected[i])}\n  yours:    {_fmt(g)}\n"
                              f"Hint: {case.value_hint(i, g, expected[i], rule)}{_warned(caught)}")


@_check
def check_node_used_twice(op, rule, x, **attrs):
    """Check `rule` inside the engine, on a graph where one node feeds the op twice:
    op(x, x) for two-input ops, op(x) * x otherwise. The engine must add up both paths."""
    __tracebackhide__ = True
    _reject_library_code(rule, f"rule for {op.__name__}")
    x = np.array(x, dtype=np.float64)
    graph = Graph()
    with graph.as_default():
        xv = Variable(x, name="x")
        if ARGUMENTS.get(op.op_type, ("x",)) == ("x",):
            out, shown = multiply(op(xv, **attrs), xv), f"{op.__name__}(x) * x"
        else:
            out, shown = op(xv, xv, **attrs), f"{op.__name__}(x, x)"
        weights = np.random.default_rng(1).normal(size=np.shape(Session(graph).run(out)))
        loss = reduce_sum(multiply(out, weights))
    where = f"{_name(rule)}, in the graph {shown} with x of shape {x.shape}"
    with override_gradients({op: rule}), _quietly() as caught:
        try:
            with _student_code(where, HINTS.get(op.op_type, "")):
                analytic = compute_gradients(loss, wrt=[xv])[xv]
        except CheckFailed as e:
            if isinstance(e.__cause__, DLScratchError):
                raise CheckFailed(f"{where}: the engine rejected what your rule returned: {e.__cause__}") from None
            raise
        session = Session(graph)
        numeric = gradcheck.numerical_gradient(lambda: float(session.run(loss)), xv.value)
    error = gradcheck.rel_error(analytic, numeric)
    if not error <= TOLERANCE:
        raise CheckFailed(f"{where}: the gradient of x is wrong (relative error {error:.2g}).\n"
                          f"  expected: {_fmt(numeric)}\n  yours:    {_fmt(analytic)}\n"
                          "Hint: x reaches the output along two paths, and the engine adds what each path "
                          "passes back. Your rule must work when both inputs are the same array, and must not "
                          f"change grad or ctx values in place.{_warned(caught)}")


TrainingResult = namedtuple("TrainingResult", "accuracy losses warnings error")


def _classify(graph, probabilities, x, X, y):
    return float(np.mean(np.argmax(Session(graph).run(probabilities, {x: X}), axis=1) == y))


def _gradient_descent(loss, variables, feed, learning_rate, steps, backprop):
    """Plain gradient descent with a given backprop function; returns the loss before each step."""
    session, losses = Session(loss.graph), []
    for _ in range(steps):
        values = session.evaluate_all(loss, feed)
        losses.append(float(values[loss]))
        grads = backprop(loss, values)
        for v in variables:
            v.value = v.value - learning_rate * grads[v]
    return losses


def _train(build, steps, learning_rate, backprop):
    """Build a classifier on a fresh graph, train it, and collect what went wrong, if anything."""
    graph, losses, error = Graph(), [], None
    with graph.as_default(), _quietly() as caught:
        loss, probabilities, x, feed, X, y = build()
        variables = graph.trainable_variables()
        try:
            losses = _gradient_descent(loss, variables, feed, learning_rate, steps, backprop)
        except CheckFailed:
            raise
        except Exception as e:
            error = e
        accuracy = 0.0 if error else _classify(graph, probabilities, x, X, y)
    return TrainingResult(accuracy, losses, caught, error)


def _xor_mlp(hidden_units=2, seed=0):
    X, y = xor_clusters()
    x, c = placeholder((None, 2), name="X"), placeholder((None, 2), name="c")
    p = softmax(mlp(x, [hidden_units, 2], activation="sigmoid", seed=seed))
    loss = negative(reduce_sum(reduce_sum(multiply(c, log(p)), axis=1)), name="J")
    return loss, p, x, {x: X, c: one_hot(y, 2)}, X, y


@_check
def train_xor_mlp(steps=1000, learning_rate=0.03, hidden_units=2, seed=0):
    """The source material's MLP: 2 sigmoid hidden units and a softmax output, trained by gradient
    descent on the summed cross-entropy of the XOR-like clusters. Uses whatever gradient rules are
    registered, so run it inside `with ds.override_gradients(...)` to train with yours."""
    return _train(lambda: _xor_mlp(hidden_units, seed), steps, learning_rate,
                  lambda loss, values: _library_backprop(loss, values, wrt=None))


def _standard_cases():
    """One ordinary case per op of assignment 1, to say which rules are suspect when training fails."""
    x = np.array([[0.5, -1.0, 2.0], [1.0, 0.2, -0.3]])
    cases = [(negative, (x,), {}), (add, (x, x[0]), {}), (multiply, (x, x[0]), {}), (matmul, (x, x.T), {}),
             (sigmoid, (x,), {}), (log, (np.abs(x) + 0.1,), {}), (exp, (x,), {}), (relu, (x,), {}),
             (softmax, (x,), {"axis": -1}), (reduce_sum, (x,), {"axis": 1})]
    return {op.op_type: (op, inputs, attrs) for op, inputs, attrs in cases}


def _suspects(rules):
    """The names of the rules (of {op: rule}) that fail a gradient check on an ordinary case."""
    cases, names = _standard_cases(), []
    for op, rule in (rules or {}).items():
        case = cases.get(getattr(op, "op_type", op))
        if case is None:
            continue
        try:
            check_rule(case[0], rule, *case[1], **case[2])
        except Exception:
            names.append(_name(rule))
    return names


@_check
def check_training(result, min_accuracy, rules=None, what="the MLP on the XOR-like clusters"):
    """Check that training reached `min_accuracy`; if not, say how the loss went and which rules are suspect."""
    __tracebackhide__ = True
    if result.error is not None:
        e = result.error
        notes = "".join(f" {n}" for n in getattr(e, "__notes__", []))
        message = (f"training {what} stopped with {type(e).__name__}: {e}{notes}\n"
                   "Make each part pass its own tests first; their messages say more.")
        suspects = _suspects(rules)
        if suspects:
            message += f"\nThese of your rules fail a gradient check: {', '.join(suspects)}."
        raise CheckFailed(message)
    if result.accuracy >= min_accuracy:
        return
    first, last = result.losses[0], result.losses[-1]
    message = (f"training {what} reached {result.accuracy:.0%} accuracy; it needs at least {min_accuracy:.0%}.\n"
               f"The loss went from {first:.4g} to {last:.4g} in {len(result.losses)} steps")
    if not np.isfinite(last):
        message += " (nan or inf: some gradients blew up)"
    elif last >= first:
        message += " (it did not decrease: the gradients point the wrong way)"
    message += "." + _warned(result.warnings)
    suspects = _suspects(rules)
    if suspects:
        message += f"\nThese of your rules fail a gradient check; fix them first: {', '.join(suspects)}."
    raise CheckFailed(message)


# --- assignment 2: the backward traversal -------------------------------------------------

Problem = namedtuple("Problem", "loss feed description")


def _graph_chain():
    w = Variable([0.5, -1.0, 2.0], name="w")
    return reduce_sum(exp(negative(sigmoid(w))), name="loss"), {}, "the chain sum(exp(-σ(w)))"


def _graph_diamond():
    w = Variable([0.5, -1.0, 2.0], name="w")
    x = multiply(w, 1.5, name="x")
    return (reduce_sum(multiply(negative(x), sigmoid(x)), name="loss"), {},
            "the diamond x = 1.5·w, loss = sum(−x · σ(x))")


def _graph_skip():
    w = Variable([0.5, -1.0, 2.0], name="w")
    x = multiply(w, 1.5, name="x")
    return (reduce_sum(x + sigmoid(sigmoid(x)), name="loss"), {},
            "the skip connection x = 1.5·w, loss = sum(x + σ(σ(x)))")


def _graph_dead_branch():
    w = Variable([0.5, -1.0, 2.0], name="w")
    v = Variable([1.0, 2.0, 3.0], name="v")
    h = sigmoid(w, name="h")
    exp(h, name="second_head")  # a second output the loss does not use
    multiply(v, h, name="third_head")
    return (reduce_sum(multiply(h, w), name="loss"), {},
            "a graph where h = σ(w) also feeds 'second_head' and 'third_head', which the loss does not use")


def _graph_long_chain(n=5000):
    w = Variable([0.5, -1.0], name="w")
    h = w
    for i in range(n):
        h = negative(h) if i % 2 else multiply(h, 1.0001)
    return reduce_sum(h, name="loss"), {}, f"a chain of {n} ops"


def _graph_mlp():
    X, y = red_blue(5)
    x, c = placeholder((None, 2), name="X"), placeholder((None, 2), name="c")
    p = softmax(mlp(x, [3, 2], activation="sigmoid", seed=3))
    loss = negative(reduce_sum(reduce_sum(multiply(c, log(p)), axis=1)), name="J")
    return loss, {x: X, c: one_hot(y, 2)}, "a small MLP with a softmax cross-entropy loss"


def _graph_random(seed):
    rng = np.random.default_rng(seed)
    nodes = [Variable(rng.normal(size=3), name=f"w{i}") for i in range(3)]
    for _ in range(25):
        a, b = (nodes[int(i)] for i in rng.integers(0, len(nodes), size=2))
        kind = int(rng.integers(0, 4))
        nodes.append(add(a, b) if kind == 0 else multiply(a, b) if kind == 1 else
                     sigmoid(a) if kind == 2 else negative(a))
    outputs = [nodes[-1]] + [nodes[int(i)] for i in rng.integers(3, len(nodes) - 1, size=3)]
    total = outputs[0]
    for o in outputs[1:]:
        total = total + o
    return reduce_sum(total, name="loss"), {}, f"a random graph with shared nodes (seed {seed})"


GRAPHS = {"chain": _graph_chain, "diamond": _graph_diamond, "skip connection": _graph_skip,
          "dead branch": _graph_dead_branch, "long chain": _graph_long_chain, "mlp": _graph_mlp}


def _build(name):
    graph = Graph()
    with graph.as_default():
        if name.startswith("random"):
            return graph, Problem(*_graph_random(int(name.split()[-1])))
        return graph, Problem(*GRAPHS[name]())


@contextlib.contextmanager
def _library_unavailable(what, names):
    """While a student function runs, make the library's own versions of `names` refuse to help."""
    def refuse(*args, **kwargs):
        raise CheckFailed(f"your {what} called the library's own version of it. Write it yourself: that is "
                          "the exercise (ds.gradient_rule, ds.OpContext and sessions are fine to use).")
    import dlscratch
    saved = [(m, n, getattr(m, n)) for m in (dlscratch, _gradients_module, _traversal_module)
             for n in names if hasattr(m, n)]
    for m, n, _ in saved:
        setattr(m, n, refuse)
    try:
        yield
    finally:
        for m, n, f in saved:
            setattr(m, n, f)


def _run_student(fn, args, what, problem, refused=()):
    __tracebackhide__ = True
    with _library_unavailable(what, refused), _quietly() as caught, \
            _student_code(f"your {what}, on {problem.description}", _HINTS_A2.get(what, "")):
        start = time.perf_counter()
        result = fn(*args)
        seconds = time.perf_counter() - start
    return result, seconds, caught


@_check
def check_topological_order(topological_order, graph="diamond"):
    """Check `topological_order(loss)`: every node behind the loss exactly once, each after its inputs."""
    __tracebackhide__ = True
    _, problem = _build(graph)
    order, seconds, _ = _run_student(topological_order, (problem.loss,), "topological_order", problem,
                                     refused=("topological_order",))
    where = f"topological_order(loss) on {problem.description}"
    if not isinstance(order, (list, tuple)):
        raise CheckFailed(f"{where} returned a {type(order).__name__}; it should return a list of nodes.")
    expected = set(_library_topological_order([problem.loss]))
    seen, position = set(), {}
    for i, node in enumerate(order):
        if not isinstance(node, Node):
            raise CheckFailed(f"{where}: item {i} of your list is a {type(node).__name__}, not a node.")
        if node in seen:
            raise CheckFailed(f"{where}: {describe(node)} appears more than once. A node used by several ops "
                              "(a shared input) must still be listed once: remember which nodes you have placed.")
        seen.add(node)
        position[node] = i
    for node in order:
        if node not in expected:
            raise CheckFailed(f"{where}: your list contains {describe(node)}, which the loss does not depend on. "
                              "Walk from the loss to its inputs, not to the nodes that consume them.")
    missing = [n for n in expected if n not in seen]
    if missing:
        raise CheckFailed(f"{where}: {len(missing)} node(s) the loss depends on are missing, e.g. "
                          f"{describe(missing[0])}. Follow every input of every node, down to the Variables.")
    for node in order:
        for x in node.inputs:
            if position[x] > position[node]:
                raise CheckFailed(f"{where}: {describe(node)} comes before its input {describe(x)}. A node may "
                                  "be placed only after all of its inputs have been placed (post-order).")
    if seconds > 5:
        raise CheckFailed(f"{where} took {seconds:.1f} s. Checking `node in a_list` scans the list each time; "
                          "keep the placed nodes in a set.")


_HINTS_A2 = {
    "backprop": "Visit only the nodes topological_order(loss) returns; a consumer the loss does not depend on "
                "(node.consumers may have some) passes nothing back and has no gradient to read.",
    "topological_order": "Follow node.inputs from the loss; every node has them (leaves have none).",
}

_NOT_BACKPROP = ("backprop", "compute_gradients", "gradients")


@_check
def check_backprop(backprop, graph="chain"):
    """Check `backprop(loss, values)` against the library's engine on one of GRAPHS (or "random N")."""
    __tracebackhide__ = True
    g, problem = _build(graph)
    values = Session(g).evaluate_all(problem.loss, problem.feed)
    grads, _, caught = _run_student(backprop, (problem.loss, dict(values)), "backprop", problem, _NOT_BACKPROP)
    where = f"backprop(loss, values) on {problem.description}"
    if not isinstance(grads, dict):
        raise CheckFailed(f"{where} returned a {type(grads).__name__}; it should return a dict "
                          "{node: gradient of the loss with respect to that node}.")
    expected = _library_backprop(problem.loss, values)
    # Consumers before their inputs, so the first wrong node is the root cause; constants last, as
    # a wrong Variable or op says more.
    order = sorted(reversed(_library_topological_order([problem.loss])), key=lambda n: isinstance(n, Constant))
    for node in order:
        if node not in grads:
            raise CheckFailed(f"{where}: your dict has no gradient for {describe(node)}. Every node the loss "
                              "depends on gets one, the loss itself included (d loss / d loss = 1).")
        actual = np.asarray(grads[node], dtype=float) if grads[node] is not None else None
        if actual is None or actual.shape != np.shape(expected[node]):
            shape = None if actual is None else actual.shape
            raise CheckFailed(f"{where}: the gradient of {describe(node)} should have its value's shape "
                              f"{np.shape(expected[node])}; yours is {'None' if shape is None else shape}.")
        if not _close(actual, expected[node], 1e-7):
            raise CheckFailed(_backprop_message(where, node, actual, expected, values) + _warned(caught))
    for node, value in grads.items():
        if node not in expected and isinstance(node, Node) and np.any(np.asarray(value) != 0):
            raise CheckFailed(f"{where}: you gave {describe(node)} a nonzero gradient, but the loss does not "
                              "depend on it. Only the consumers on a path to the loss pass gradients back.")


def _backprop_message(where, node, actual, expected, values):
    """Explain a wrong gradient at the node nearest the loss that is wrong."""
    error = gradcheck.rel_error(actual, expected[node])
    message = (f"{where}: the gradient of {describe(node)} is wrong (relative error {error:.2g}).\n"
               f"  expected: {_fmt(expected[node])}\n  yours:    {_fmt(actual)}\n")
    consumers = [c for c in node.consumers if c in expected]
    parts = []
    for c in consumers:  # what each consumer passes back, from its (correct) gradient
        ctx = OpContext(c, tuple(values[x] for x in c.inputs), values[c], tuple(x is node for x in c.inputs))
        result = OPS[c.op_type].backward(ctx, expected[c])
        result = result if isinstance(result, (tuple, list)) else (result,)
        parts.append(sum(r for r, x in zip(result, c.inputs) if x is node))
    names = ", ".join(describe(c) for c in consumers)
    if len(consumers) > 1:
        message += (f"{describe(node)} is used by {len(consumers)} ops on the way to the loss: {names}. "
                    "Its gradient is the sum of what each of them passes back, and it must be complete "
                    "before its own rule is called.")
        for k in range(1, len(parts)):
            for i in range(len(parts)):
                partial = sum(parts[j % len(parts)] for j in range(i, i + k))
                if _close(actual, partial, 1e-7):
                    return message + ("\nYours is only part of that sum: did you overwrite the gradient instead of "
                                      "adding to it, or use it before every consumer had passed its part back? "
                                      "Visit the nodes in reverse topological order.")
        return message
    if not consumers:
        return message + "This is the loss itself: its gradient is 1 (np.ones_like(value))."
    consumer = consumers[0]
    message += f"It gets its gradient from {describe(consumer)} alone, and your gradient of that op is right. "
    if _close(actual, 2 * expected[node], 1e-7):
        return message + f"Yours is twice the right one: did {describe(consumer)} pass its part back twice?"
    users = [c for c in consumer.consumers if c in expected]
    if len(users) > 1:
        return message + (f"So the rule of {describe(consumer)} was called with another gradient than its final "
                          f"one: probably before all of its {len(users)} consumers had added their parts. A "
                          "breadth-first walk from the loss does that. Visit the nodes in reverse topological "
                          "order.")
    return message + ("So look at how that op's rule was called: ctx.inputs and ctx.output must be the values "
                      "of this run, and grad that op's gradient.")
    if len(consumers) == 1:
        message += (f"It gets its gradient from {describe(consumers[0])} alone, so look at how that op's rule "
                    "was called: ctx.inputs and ctx.output must be the values of this run, and grad the "
                    "gradient of that op.")
    else:
        message += "This is the loss itself: its gradient is 1 (np.ones_like(value))."
    return message


def _perceptron():
    X, y = red_blue()
    x, c = placeholder((None, 2), name="X"), placeholder((None, 2), name="c")
    W = Variable(np.random.default_rng(0).normal(size=(2, 2)), name="W")
    p = softmax(matmul(x, W) + Variable(np.zeros(2), name="b"))
    loss = negative(reduce_sum(reduce_sum(multiply(c, log(p)), axis=1)), name="J")
    return loss, p, x, {x: X, c: one_hot(y, 2)}, X, y


@_check
def train_perceptron_with(backprop, steps=100, learning_rate=0.01):
    """The source material's perceptron on red/blue, trained by gradient descent with *your* backprop."""
    def student_backprop(loss, values):
        problem = Problem(loss, {}, "the perceptron on the red/blue points")
        grads, _, _ = _run_student(backprop, (loss, values), "backprop", problem, _NOT_BACKPROP)
        return grads
    return _train(_perceptron, steps, learning_rate, student_backprop)


# --- assignment 3: training -----------------------------------------------------------------

@_check
def check_cross_entropy(cross_entropy, logits, labels):
    """Check `cross_entropy(logits, labels)`: a scalar graph node with the right value and gradient."""
    __tracebackhide__ = True
    logits, labels = np.array(logits, dtype=np.float64), np.array(labels, dtype=np.float64)
    where = f"cross_entropy for logits {_inline(logits)} and labels {_inline(labels)}"
    graph = Graph()
    with graph.as_default():
        z, c = Variable(logits, name="logits"), constant(labels, name="labels")
        reference = softmax_cross_entropy(z, c, reduction="sum")
        with _quietly() as caught, \
                _student_code(where, "logits and labels are graph nodes: combine them with ds ops."):
            loss = cross_entropy(z, c)
            if not isinstance(loss, Node):
                raise CheckFailed(f"{where}: your cross_entropy returned a {type(loss).__name__}. It must build "
                                  "the loss from ds ops and return the graph node, so that the engine can "
                                  "differentiate it.")
            value, expected = Session(graph).run([loss, reference])
            if np.shape(value) != ():
                raise CheckFailed(f"{where}: your loss has shape {np.shape(value)}; it should be one number, "
                                  "the sum over all examples and classes (as the source's J = −ΣΣ c·log p).")
            grad = compute_gradients(loss, wrt=[z])[z]
            expected_grad = compute_gradients(reference, wrt=[z])[z]
    if grad is None:
        raise CheckFailed(f"{where}: your loss does not depend on the logits, so training could not change it.")
    if not np.isfinite(value):
        raise CheckFailed(f"{where}: your loss is {float(value)}.{_warned(caught)}\nHint: softmax of large logits "
                          "rounds to exactly 0 and 1 in floating point, and log(0) = −inf. Compute log(softmax(z)) "
                          "without forming softmax(z) first: is there an op for that?")
    if not _close(value, expected, 1e-7):
        hint = "check the formula: −Σ labels · log(softmax(logits)), summed over examples and classes."
        if _close(value, -expected, 1e-7):
            hint = "yours has the wrong sign: the loss is minus the log-likelihood."
        elif logits.shape[0] > 1 and _close(value * logits.shape[0], expected, 1e-7):
            hint = "that is the mean over examples; this course sums (J = −ΣΣ c·log p)."
        elif np.max(np.abs(logits)) > 30:
            hint = ("for logits this large, clipping the probabilities or adding a small epsilon hides the "
                    "problem instead of fixing it. Compute log(softmax(z)) without forming softmax(z) first.")
        raise CheckFailed(f"{where}: your loss is {float(value):.6g}, but the cross-entropy is "
                          f"{float(expected):.6g}.\nHint: {hint}{_warned(caught)}")
    if grad is None or not np.all(np.isfinite(grad)) or not _close(grad, expected_grad, 1e-6):
        raise CheckFailed(f"{where}: the value is right, but its gradient with respect to the logits is wrong.\n"
                          f"  expected: {_fmt(expected_grad)}\n  yours:    {_fmt(grad)}{_warned(caught)}\n"
                          "Hint: a clipped or rounded step in the middle of the formula stops the gradient. "
                          "Build the loss only from ops that are smooth at these values.")


@_check
def check_gradient_descent_step(gradient_descent_step, learning_rate=0.1, with_unused=False):
    """Check `gradient_descent_step(gradients, learning_rate)`: v.value becomes v.value − rate · gradient."""
    __tracebackhide__ = True
    rng = np.random.default_rng(7)
    graph = Graph()
    with graph.as_default():
        W, b = Variable(rng.normal(size=(2, 3)), name="W"), Variable(rng.normal(size=3), name="b")
        frozen = Variable(rng.normal(size=2), name="unused")
    gradients = {W: rng.normal(size=(2, 3)), b: rng.normal(size=3)}
    if with_unused:
        gradients[frozen] = None  # what ds.gradients gives for a Variable the loss does not depend on
    before = {v: v.value for v in (W, b, frozen)}
    copies = {v: v.value.copy() for v in (W, b, frozen)}
    given = {v: (None if g is None else g.copy()) for v, g in gradients.items()}
    where = f"gradient_descent_step(gradients, learning_rate={learning_rate})"
    hint = "one of the gradients is None: leave that Variable alone." if with_unused else ""
    with _quietly(), _student_code(where, hint):
        gradient_descent_step(given, learning_rate)
    for v in (W, b):
        expected = copies[v] - learning_rate * gradients[v]
        if not np.array_equal(before[v], copies[v]):
            raise CheckFailed(f"{where}: you changed {v.name}.value in place (e.g. v.value -= ...). Give the "
                              "Variable a new array instead (v.value = v.value - ...): the session hands out the "
                              "same array as the Variable's value, and in-place changes alter it behind your back.")
        if np.shape(v.value) != expected.shape:
            raise CheckFailed(f"{where}: {v.name}.value now has shape {np.shape(v.value)}; it had {expected.shape}.")
        if not _close(v.value, expected, 1e-9):
            hint = "step against the gradient (subtract)." if _close(v.value, copies[v] + learning_rate
                                                                     * gradients[v], 1e-9) else \
                "new value = old value − learning_rate · gradient."
            if _close(v.value, copies[v], 1e-12):
                hint = "the Variable did not change: assign the new array to v.value."
            raise CheckFailed(f"{where}: {v.name}.value is wrong after the step.\n"
                              f"  expected: {_fmt(expected)}\n  yours:    {_fmt(v.value)}\nHint: {hint}")
    if not np.array_equal(frozen.value, copies[frozen]):
        raise CheckFailed(f"{where}: the Variable 'unused' changed, but it had no gradient in the dict.")


def _training_problem(name, seed=0):
    """A model, its summed cross-entropy (the library's), and its data: (graph, loss, variables, feed, accuracy)."""
    X, y = red_blue() if name == "red/blue" else xor_clusters()
    graph = Graph()
    with graph.as_default():
        x, c = placeholder((None, 2), name="X"), placeholder((None, 2), name="c")
        if name == "red/blue":
            W = Variable(np.random.default_rng(seed).normal(size=(2, 2)), name="W")
            logits = matmul(x, W) + Variable(np.zeros(2), name="b")
        else:
            logits = mlp(x, [2, 2], activation="sigmoid", seed=seed)
        loss = softmax_cross_entropy(logits, c, reduction="sum")
    feed = {x: X, c: one_hot(y, 2)}
    return graph, loss, graph.trainable_variables(), feed, lambda: _classify(graph, logits, x, X, y)


@_check
def check_train(train, data="red/blue", steps=100, learning_rate=0.01, min_accuracy=0.95, decreasing=False):
    """Check `train(loss, variables, feed_dict, learning_rate, steps) -> losses` on red/blue or XOR data."""
    __tracebackhide__ = True
    graph, loss, variables, feed, accuracy = _training_problem(data)
    data_name = {"red/blue": "the red/blue points", "xor": "the XOR-like clusters"}[data]
    problem = Problem(loss, feed, data_name)
    start = [v.value.copy() for v in variables]
    losses, _, caught = _run_student(train, (loss, variables, feed, learning_rate, steps), "train", problem)
    where = f"train(loss, variables, feed_dict, learning_rate={learning_rate}, steps={steps}) on {data_name}"
    try:
        losses = [float(np.sum(v)) for v in losses]
    except TypeError:
        what = ("None" if losses is None else "one number" if np.ndim(losses) == 0
                else f"a {type(losses).__name__}")
        raise CheckFailed(f"{where} returned {what}; it should return a list of loss values, one per "
                          "step.") from None
    if len(losses) != steps:
        raise CheckFailed(f"{where} returned {len(losses)} loss values; it should return one per step ({steps}).")
    if all(np.array_equal(a, v.value) for a, v in zip(start, variables)):
        raise CheckFailed(f"{where}: no Variable changed. Each step should update every Variable in `variables` "
                          "(your gradient_descent_step does that).")
    if not all(np.isfinite(losses)):
        raise CheckFailed(f"{where}: the loss became nan or inf.{_warned(caught)}")
    if losses[-1] >= losses[0]:
        raise CheckFailed(f"{where}: the loss went from {losses[0]:.4g} to {losses[-1]:.4g}; it should decrease. "
                          "Step against the gradient, and compute a fresh gradient at every step.")
    if decreasing:
        rises = [i for i in range(1, steps) if losses[i] > losses[i - 1] * (1 + 1e-9)]
        if rises:
            i = rises[0]
            raise CheckFailed(f"{where}: the loss rose at step {i}, from {losses[i - 1]:.6g} to {losses[i]:.6g}. "
                              "With this small learning rate every step of gradient descent lowers it; are you "
                              "using the gradient of the current values?")
    reached = accuracy()
    if reached < min_accuracy:
        raise CheckFailed(f"{where}: accuracy {reached:.0%} after training; it needs at least {min_accuracy:.0%}. "
                          f"The loss went from {losses[0]:.4g} to {losses[-1]:.4g}.")
