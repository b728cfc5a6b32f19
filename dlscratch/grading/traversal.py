"""Assignment 2: the student's topological order and backprop, checked against the library's engine."""
import numpy as np

from .. import gradcheck
from ..core import OPS, Constant, Node, OpContext, Operation, Session, describe, override_gradients
from ..core import backprop as library_backprop
from ..core import topological_order as library_topological_order
from . import classifiers
from .report import CheckFailed, close, expected_and_yours, numpy_warnings
from .sample_graphs import build
from .student_code import library_unavailable, quiet_check, quietly, run_student

# Per exercise: the library functions it may not call, and a hint for when it raises.
_EXERCISES = {
    "topological_order": (("topological_order",),
                          "Follow node.inputs from the loss; every node has them (leaves have none)."),
    "backprop": (("backprop", "compute_gradients", "gradients"),
                 "Visit only the nodes topological_order(loss) returns; a consumer the loss does not depend on "
                 "(node.consumers may have some) passes nothing back and has no gradient to read."),
}
_FORWARDS_HINT = ("your loop reached {node} before any gradient had reached it. Visit the nodes in reverse "
                  "topological order, reversed(topological_order(loss)), from the loss to the inputs: then every "
                  "consumer has passed its part back before a node's own rule is called.")


def _run(what, fn, args, description, loss=None):
    """Run the student's `what` on `description`: returns (result, seconds, caught warnings)."""
    __tracebackhide__ = True
    refused, hint = _EXERCISES[what]
    if loss is not None:
        hint = _backprop_hint(loss, hint)
    return run_student(fn, args, what, description, hint, refused)


def _backprop_hint(loss, general):
    """A hint for an exception from backprop: a KeyError at a node behind the loss means the gradient was
    read before it existed, i.e. the walk went the wrong way; any other node: the general hint."""
    behind = set(library_topological_order([loss]))
    by_text = {repr(n): n for n in behind}  # under isolated grading the key comes back as its text

    def hint(error):
        key = None
        if isinstance(error, KeyError):  # rebuilt from data under isolated grading: only its text is left
            key = error.args[0] if error.args else str(error)
        key = by_text.get(key, key) if isinstance(key, str) else key
        if isinstance(key, Node) and key in behind and key is not loss:
            return _FORWARDS_HINT.format(node=describe(key))
        return general
    return hint


@quiet_check
def check_topological_order(topological_order, graph="diamond"):
    """Check `topological_order(loss)`: every node behind the loss exactly once, each after its inputs."""
    __tracebackhide__ = True
    _, problem = build(graph)
    order, seconds, _ = _run("topological_order", topological_order, (problem.loss,), problem.description)
    where = f"topological_order(loss) on {problem.description}"
    if not isinstance(order, (list, tuple)):
        raise CheckFailed(f"{where} returned a {type(order).__name__}; it should return a list of nodes.")
    expected = set(library_topological_order([problem.loss]))
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


@quiet_check
def check_backprop(backprop, graph="chain"):
    """Check `backprop(loss, values)` against the library's engine on one of
    sample_graphs.GRAPHS (or "random N")."""
    __tracebackhide__ = True
    g, problem = build(graph)
    values = Session(g).evaluate_all(problem.loss, problem.feed)
    grads, _, caught = _run("backprop", backprop, (problem.loss, dict(values)), problem.description,
                            loss=problem.loss)
    where = f"backprop(loss, values) on {problem.description}"
    if not isinstance(grads, dict):
        raise CheckFailed(f"{where} returned a {type(grads).__name__}; it should return a dict "
                          "{node: gradient of the loss with respect to that node}.")
    expected = library_backprop(problem.loss, values)
    # Consumers before their inputs, so the first wrong node is the root cause; constants last, as
    # a wrong Variable or op says more.
    order = sorted(reversed(library_topological_order([problem.loss])), key=lambda n: isinstance(n, Constant))
    for node in [] if _all_right(order, grads, expected) else order:
        if node not in grads:
            raise CheckFailed(f"{where}: your dict has no gradient for {describe(node)}. Every node the loss "
                              "depends on gets one, the loss itself included (d loss / d loss = 1).")
        actual = np.asarray(grads[node], dtype=float) if grads[node] is not None else None
        if actual is None or actual.shape != np.shape(expected[node]):
            shape = None if actual is None else actual.shape
            raise CheckFailed(f"{where}: the gradient of {describe(node)} should have its value's shape "
                              f"{np.shape(expected[node])}; yours is {'None' if shape is None else shape}.")
        if not close(actual, expected[node], 1e-7):
            cause = (_diagnose_by_rerunning(backprop, problem, values, expected)
                     or _diagnose_by_simulating(grads, problem, values, expected))
            raise CheckFailed((cause(where, node, actual, expected) if cause else
                               _wrong_gradient_message(where, node, actual, expected, values))
                              + numpy_warnings(caught))
    for node, value in grads.items():
        if node not in expected and isinstance(node, Node) and np.any(np.asarray(value) != 0):
            raise CheckFailed(f"{where}: you gave {describe(node)} a nonzero gradient, but the loss does not "
                              "depend on it. Only the consumers on a path to the loss pass gradients back.")


def _all_right(nodes, grads, expected):
    """Whether every node has a gradient of its value's shape, close to the expected one: what check_backprop's
    loop asks node by node, asked of all at once (a long chain has 1,800 nodes). If not, the loop finds which."""
    try:
        actual = [np.asarray(grads[n], dtype=float) for n in nodes if grads[n] is not None]
        if len(actual) < len(nodes) or any(a.shape != np.shape(expected[n]) for a, n in zip(actual, nodes)):
            return False
        return close(np.concatenate([a.ravel() for a in actual]),
                     np.concatenate([np.ravel(expected[n]) for n in nodes]).astype(float), 1e-7)
    except Exception:  # noqa: BLE001 (a missing node, a value that is no array: the loop says which)
        return False


def _diagnose_by_rerunning(backprop, problem, values, expected):
    """Run the student's backprop again with every rule watched, to name two mistakes that otherwise
    show up far from their cause. Returns a function making the message, or None.

    - Order: a rule called before all the consumers of its node (on the path to the loss) have passed
      their parts back. Walking the topological order forwards is the usual way to get there.
    - In place: the backprop is right when every rule hands back a fresh array. A rule may hand back
      the very array it was given (add does, when nothing was broadcast), so `grads[x] += g` then
      also changes the gradient of the op that passed it on."""
    behind = set(expected)
    calls, copying = [], [False]

    def watched(op_class):
        rule = op_class.backward

        def watching(ctx, grad):
            calls.append(ctx.node)
            result = rule(ctx, grad)
            if not copying[0]:
                return result
            result = result if isinstance(result, (tuple, list)) else (result,)
            return tuple(None if r is None else np.array(r, copy=True) for r in result)
        return watching

    types = {n.op_type for n in behind if isinstance(n, Operation)}
    rules = {t: watched(OPS[t]) for t in types}
    try:
        with override_gradients(rules), quietly(), library_unavailable("backprop", _EXERCISES["backprop"][0]):
            backprop(problem.loss, dict(values))
            order = list(calls)
            copying[0] = True
            fresh = backprop(problem.loss, dict(values))
    except Exception:  # noqa: BLE001 (the first run already reported any exception)
        return None
    called = {}
    for i, node in enumerate(order):
        called.setdefault(node, i)
    for node in order:
        late = [c for c in node.consumers if c in behind and isinstance(c, Operation) and c in called
                and called[c] > called[node]]
        if late:
            return lambda where, wrong, actual, exp: (_wrong_header(where, wrong, actual, exp)
                                                      + _order_note(node, late[0], order))
    if isinstance(fresh, dict) and all(k in fresh and fresh[k] is not None
                                       and close(np.asarray(fresh[k], dtype=float), v, 1e-7)
                                       for k, v in expected.items()):
        return _in_place_message
    return None


def _diagnose_by_simulating(grads, problem, values, expected):
    """Name the in-place mistake by what it computes, without running the student's code again (under
    isolated grading their rules cannot be watched): the gradients a backprop gets with `grads[x] += g`
    and the library's own rules. Returns a function making the message, or None."""
    simulated = {problem.loss: np.ones_like(values[problem.loss])}
    try:
        with quietly():
            for node in reversed(library_topological_order([problem.loss])):
                if not isinstance(node, Operation) or node not in simulated:
                    continue
                ctx = OpContext(node, [values[x] for x in node.inputs], values[node])
                for x, g in zip(node.inputs, OPS[node.op_type].backward(ctx, simulated[node])):
                    if g is not None:
                        if x in simulated:
                            simulated[x] += g  # the mistake: it also changes an array another node may hold
                        else:
                            simulated[x] = g
    except Exception:  # noqa: BLE001 (e.g. broadcasting in place: then it is not this mistake)
        return None
    differs = any(not close(simulated[k], v, 1e-7) for k, v in expected.items() if k in simulated)
    matches = all(k in grads and grads[k] is not None and np.shape(grads[k]) == np.shape(simulated[k])
                  and close(np.asarray(grads[k], dtype=float), simulated[k], 1e-7) for k in expected)
    return _in_place_message if differs and matches else None


def _wrong_header(where, node, actual, expected):
    error = gradcheck.rel_error(actual, expected[node])
    return (f"{where}: the gradient of {describe(node)} is wrong (relative error {error:.2g}).\n"
            f"{expected_and_yours(expected[node], actual)}\n")


def _order_note(node, consumer, order):
    first = {}
    for i, n in enumerate(order):
        first.setdefault(n, i)
    # forwards: every op's rule was called after the rules of all its inputs that are ops
    forwards = all(first[x] < first[n] for n in first for x in n.inputs if x in first)
    message = (f"The rule of {describe(node)} was called before that of {describe(consumer)}, which uses it, "
               "so it passed on an incomplete gradient.\n")
    if forwards:
        return message + ("Hint: you walk the nodes in topological order, inputs first. Walk it backwards "
                          "(reversed(topological_order(loss))), from the loss to the inputs.")
    return message + ("Hint: visit the nodes in reverse topological order: reversed(topological_order(loss)). "
                      "Then every consumer comes before the nodes it uses.")


def _in_place_message(where, node, actual, expected):
    return (_wrong_header(where, node, actual, expected)
            + "Your backprop gives the right gradients when every rule returns a new array, so an array was "
            "changed in place: `grads[x] += g` adds into the array stored for x, and that array can be "
            "another node's gradient too, because a rule may hand back the very array it got (add does).\n"
            "Hint: write grads[x] = grads[x] + g, which makes a new array.")


def _wrong_gradient_message(where, node, actual, expected, values):
    """Explain a wrong gradient at the node nearest the loss that is wrong."""
    message = _wrong_header(where, node, actual, expected)
    consumers = [c for c in node.consumers if c in expected]
    if not consumers:
        return message + "This is the loss itself: its gradient is 1 (np.ones_like(value))."
    if len(consumers) > 1:
        return message + _incomplete_sum_note(node, consumers, actual, expected, values)
    consumer = consumers[0]
    message += f"It gets its gradient from {describe(consumer)} alone, and your gradient of that op is right. "
    if close(actual, 2 * expected[node], 1e-7):
        return message + f"Yours is twice the right one: did {describe(consumer)} pass its part back twice?"
    users = [c for c in consumer.consumers if c in expected]
    if len(users) > 1:
        return message + (f"So the rule of {describe(consumer)} was called with another gradient than its final "
                          f"one: probably before all of its {len(users)} consumers had added their parts. A "
                          "breadth-first walk from the loss does that. Visit the nodes in reverse topological "
                          "order.")
    return message + ("So look at how that op's rule was called: ctx.inputs and ctx.output must be the values "
                      "of this run, and grad that op's gradient.")


def _incomplete_sum_note(node, consumers, actual, expected, values):
    """For a node with several consumers: its gradient is their sum, and `actual` may be only part of it."""
    parts = []
    for c in consumers:  # what each consumer passes back, from its (correct) gradient
        ctx = OpContext(c, tuple(values[x] for x in c.inputs), values[c], tuple(x is node for x in c.inputs))
        result = OPS[c.op_type].backward(ctx, expected[c])
        result = result if isinstance(result, (tuple, list)) else (result,)
        parts.append(sum(r for r, x in zip(result, c.inputs) if x is node))
    note = (f"{describe(node)} is used by {len(consumers)} ops on the way to the loss: "
            f"{', '.join(describe(c) for c in consumers)}. Its gradient is the sum of what each of them passes "
            "back, and it must be complete before its own rule is called.")
    for k in range(1, len(parts)):
        for i in range(len(parts)):
            partial = sum(parts[j % len(parts)] for j in range(i, i + k))
            if close(actual, partial, 1e-7):
                return note + ("\nYours is only part of that sum: did you overwrite the gradient instead of "
                               "adding to it, or use it before every consumer had passed its part back? "
                               "Visit the nodes in reverse topological order.")
    return note


@quiet_check
def train_perceptron_with(backprop, steps=100, learning_rate=0.01):
    """The source material's perceptron on red/blue, trained by gradient descent with *your* backprop."""
    def student_backprop(loss, values):
        grads, _, _ = _run("backprop", backprop, (loss, values), "the perceptron on the red/blue points")
        return grads
    return classifiers.train(classifiers.perceptron, steps, learning_rate, student_backprop)
