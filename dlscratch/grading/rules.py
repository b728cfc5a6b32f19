"""Assignment 1: the student's gradient rules, one op at a time, then a network trained with them."""
import numpy as np

from .. import gradcheck
from ..core import compute_gradients
from ..core.errors import DLScratchError
from ..core.graph import Graph, Variable
from ..core.ops import add, exp, log, matmul, multiply, negative, reduce_sum, relu, sigmoid, softmax
from ..core.registry import override_gradients
from ..core.session import Session
from . import classifiers
from .report import TOLERANCE, CheckFailed, close, expected_and_yours, format_array, name_of, numpy_warnings, one_line
from .rule_case import ARGUMENTS, HINTS, RuleCase
from .student_code import backprop_with_rules, quiet_check, quietly, reject_library_code, student_code

EXACT_TOLERANCE = 1e-13  # a formula's gradient against the library's exact rule, relative (norm)
CANCELLATION = 1e-3  # against finite differences, an element this small beside the terms it sums counts as zero


def example(op, *inputs, **attrs):
    """`ctx, grad = grading.example(ds.multiply, x, y)`: what a rule gets, to try yours by hand."""
    case = RuleCase(op, inputs, attrs)
    return case.context(), case.grad.copy()


def _call_rule(op, rule, inputs, attrs):
    """Run the student's `rule` on `op` at `inputs`: (the case, its gradients, caught warnings)."""
    __tracebackhide__ = True
    reject_library_code(rule, f"rule for {op.__name__}")
    case = RuleCase(op, inputs, attrs)
    grads, caught = case.call(rule)
    return case, grads, caught


@quiet_check
def check_rule(op, rule, *inputs, **attrs):
    """Check `rule` as the gradient of `op` at `inputs`: the form and shapes, then the values
    against the library's finite differences (ds.gradcheck)."""
    __tracebackhide__ = True
    case, grads, caught = _call_rule(op, rule, inputs, attrs)
    exact, terms = case.expected_by_library(), case.terms_by_library()
    for i, g in enumerate(grads):
        expected = case.expected_numerically(i)
        if not np.all(np.isfinite(g)):
            raise CheckFailed(f"{case.describe(rule)}: your gradient for {case.names[i]} contains nan or inf.\n"
                              f"{expected_and_yours(expected, g)}{numpy_warnings(caught)}\n"
                              f"Hint: {case.hint}")
        # Finite differences round in proportion to the terms an element sums. Where large terms cancel
        # (softmax, matmul, a broadcast input), that rounding is no longer small beside the element, so the
        # element counts as zero below a thousandth of its terms (CANCELLATION); any real mistake is larger.
        floor = np.maximum(1e-8, CANCELLATION * np.where(np.isfinite(terms[i]), terms[i], 0.0))
        error = gradcheck.rel_error(g, expected, floor)
        if not error <= TOLERANCE:  # also catches nan
            raise CheckFailed(
                f"{case.describe(rule)}: the gradient for {case.names[i]} is wrong "
                f"(relative error {error:.2g} against finite differences; it must be below {TOLERANCE:g}).\n"
                f"{expected_and_yours(expected, g)}\n"
                f"Hint: {case.value_hint(i, g, expected, rule)}{numpy_warnings(caught)}")
    # Finite differences are only a referee within 1e-5: a rule that estimates the gradient by nudging the
    # inputs passes that. The derivative's formula, however it is written, agrees with the library's exact
    # rule to rounding (under 1e-15 on these inputs); a numerical estimate does not (1e-12 and more). Rounding
    # is measured against the size of the terms a gradient sums, not the sum: with random grads they can cancel.
    for i, g in enumerate(grads):
        size = np.linalg.norm(terms[i])
        scale = max(np.linalg.norm(exact[i]), size if np.isfinite(size) else 0.0, 1e-300)
        difference = np.linalg.norm(np.asarray(g, dtype=np.float64) - exact[i]) / scale
        if difference > EXACT_TOLERANCE:
            raise CheckFailed(
                f"{case.describe(rule)}: the gradient for {case.names[i]} is close, but not exact: it differs from "
                f"the derivative by {difference:.1g} (relative), where any exact formula differs by rounding "
                f"only (below {EXACT_TOLERANCE:g}).\nHint: a gradient estimated numerically (nudging the inputs "
                "and rerunning the forward pass) is an approximation. Write the derivative as a formula of "
                "ctx.inputs, ctx.output and grad.")


@quiet_check
def check_rule_at_extremes(op, rule, *inputs, **attrs):
    """Check `rule` at inputs where finite differences are useless (huge or tiny values):
    it must stay finite and agree with the library's rule."""
    __tracebackhide__ = True
    case, grads, caught = _call_rule(op, rule, inputs, attrs)
    expected = case.expected_by_library()
    for i, g in enumerate(grads):
        where = f"{case.describe(rule)}, at extreme values {one_line(case.arrays[i])}"
        if not np.all(np.isfinite(g)):
            raise CheckFailed(f"{where}: your gradient for {case.names[i]} contains nan or inf: {format_array(g)}."
                              f"{numpy_warnings(caught)}\nHint: a formula can be right on paper and still "
                              "overflow in floating point. Reuse the values the forward pass computed safely "
                              "(ctx.output) instead of recomputing exp() of large numbers.")
        if not close(g, expected[i], 1e-6):
            raise CheckFailed(f"{where}: the gradient for {case.names[i]} is wrong.\n"
                              f"{expected_and_yours(expected[i], g)}\n"
                              f"Hint: {case.value_hint(i, g, expected[i], rule)}{numpy_warnings(caught)}")


@quiet_check
def check_node_used_twice(op, rule, x, **attrs):
    """Check `rule` inside the engine, on a graph where one node feeds the op twice:
    op(x, x) for two-input ops, op(x) * x otherwise. The engine must add up both paths."""
    __tracebackhide__ = True
    reject_library_code(rule, f"rule for {op.__name__}")
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
    where = f"{name_of(rule)}, in the graph {shown} with x of shape {x.shape}"
    with override_gradients({op: rule}), quietly() as caught:
        try:
            with student_code(where, HINTS.get(op.op_type, "")):
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
                          f"{expected_and_yours(numeric, analytic)}\n"
                          "Hint: x reaches the output along two paths, and the engine adds what each path "
                          "passes back. Your rule must work when both inputs are the same array, and must not "
                          f"change grad or ctx values in place.{numpy_warnings(caught)}")


@quiet_check
def train_xor_mlp(steps=1000, learning_rate=0.03, hidden_units=2, seed=0):
    """The source material's MLP: 2 sigmoid hidden units and a softmax output, trained by gradient
    descent on the summed cross-entropy of the XOR-like clusters. Uses whatever gradient rules are
    registered, so run it inside `with ds.override_gradients(...)` to train with yours."""
    return classifiers.train(lambda: classifiers.xor_mlp(hidden_units, seed), steps, learning_rate,
                             backprop_with_rules(steps, learning_rate))


def _ordinary_cases():
    """One ordinary case per op of assignment 1, to say which rules are suspect when training fails."""
    x = np.array([[0.5, -1.0, 2.0], [1.0, 0.2, -0.3]])
    cases = [(negative, (x,), {}), (add, (x, x[0]), {}), (multiply, (x, x[0]), {}), (matmul, (x, x.T), {}),
             (sigmoid, (x,), {}), (log, (np.abs(x) + 0.1,), {}), (exp, (x,), {}), (relu, (x,), {}),
             (softmax, (x,), {"axis": -1}), (reduce_sum, (x,), {"axis": 1})]
    return {op.op_type: (op, inputs, attrs) for op, inputs, attrs in cases}


def _suspects(rules):
    """The names of the rules (of {op: rule}) that fail a gradient check on an ordinary case."""
    cases, names = _ordinary_cases(), []
    for op, rule in (rules or {}).items():
        case = cases.get(getattr(op, "op_type", op))
        if case is None:
            continue
        try:
            check_rule(case[0], rule, *case[1], **case[2])
        except Exception:
            names.append(name_of(rule))
    return names


def _suspects_note(rules, verdict):
    suspects = _suspects(rules)
    return f"\nThese of your rules {verdict}: {', '.join(suspects)}." if suspects else ""


@quiet_check
def check_training(result, min_accuracy, rules=None, what="the MLP on the XOR-like clusters"):
    """Check that training reached `min_accuracy`; if not, say how the loss went and which rules are suspect."""
    __tracebackhide__ = True
    if result.error is not None:
        e = result.error
        notes = "".join(f" {n}" for n in getattr(e, "__notes__", []))
        raise CheckFailed(f"training {what} stopped with {type(e).__name__}: {e}{notes}\n"
                          "Make each part pass its own tests first; their messages say more."
                          + _suspects_note(rules, "fail a gradient check"))
    if result.accuracy >= min_accuracy:
        return
    first, last = result.losses[0], result.losses[-1]
    message = (f"training {what} reached {result.accuracy:.0%} accuracy; it needs at least {min_accuracy:.0%}.\n"
               f"The loss went from {first:.4g} to {last:.4g} in {len(result.losses)} steps")
    if not np.isfinite(last):
        message += " (nan or inf: some gradients blew up)"
    elif last >= first:
        message += " (it did not decrease: the gradients point the wrong way)"
    message += "." + numpy_warnings(result.warnings)
    raise CheckFailed(message + _suspects_note(rules, "fail a gradient check; fix them first"))
