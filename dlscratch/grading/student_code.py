"""Running the student's code: quietly, with their own line quoted when it fails, and without
the library's ready-made answers to the exercise."""
import contextlib
import functools
import io
import itertools
import os
import random
import secrets
import time
import traceback
import warnings

import numpy as np

import dlscratch

from .. import data, train
from ..core import autodiff as core_autodiff
from ..core import session as core_session
from ..core import traversal as core_traversal
from ..core.graph import Operation, Placeholder, Variable
from ..core.registry import OPS
from .report import CheckFailed

# The counts of the checks' `forward.counting_forwards` blocks now open. When the student's code runs
# in the grading sandbox, its forward calls are counted there and added here (isolation/preprocessor.py).
FORWARD_COUNTERS = []

# Frames from here down are the library's, not the student's.
_LIBRARY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def quiet_check(fn):
    """For every public check: no warning of ours may reach stderr, passing or failing."""
    @functools.wraps(fn)
    def quietly_checked(*args, **kwargs):
        __tracebackhide__ = True
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    return quietly_checked


@contextlib.contextmanager
def quietly():
    """Run student code without letting warnings or stray stderr output reach the cell.

    Yields the list of caught warnings, so a failure message can mention them.
    """
    with warnings.catch_warnings(record=True) as caught, \
            np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("always")
        yield caught


@contextlib.contextmanager
def student_code(where, hint=""):
    """Turn an exception from student code into a CheckFailed that quotes their line.

    hint: text added to that message, or a function of the exception that returns it ("" for none).
    """
    __tracebackhide__ = True
    try:
        yield
    except CheckFailed:
        raise
    except NotImplementedError:
        raise CheckFailed(f"{where}: not written yet (it raises NotImplementedError). Replace "
                          "`raise NotImplementedError()` with your code.") from None
    except RecursionError as e:
        # Name the function that recursed: it may be a helper (e.g. their topological_order inside backprop).
        frame = _student_frame(e)
        inside = f" in your function {frame.name}()" if frame and frame.name != "<module>" else ""
        raise CheckFailed(f"{where}: too deep a recursion{inside}. Python allows only about a thousand nested "
                          "calls; use a loop with an explicit stack (a list) instead.") from None
    except Exception as e:
        line = _student_line(e)
        at = f"\n  in your line: {line}" if line else ""
        text = hint(e) if callable(hint) else hint
        raise CheckFailed(f"{where}: your code raised {type(e).__name__}: {e}{at}"
                          + (f"\nHint: {text}" if text else "")) from e


def _student_frame(error):
    """The last frame of the traceback that is neither this library's nor another installed one's, or None."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        name = frame.filename
        if not (name.startswith(_LIBRARY) or "site-packages" in name or name.startswith("<frozen")):
            return frame
    return None


def _student_line(error):
    """The student's line where `error` was raised, or ''."""
    frame = _student_frame(error)
    return (frame.line or "").strip() if frame else ""


def reject_library_code(fn, what):
    if str(getattr(fn, "__module__", None) or "").startswith("dlscratch"):  # None: made by exec() without a name
        raise CheckFailed(f"the {what} you handed in is the library's own code. Write your own: that is "
                          "the exercise.")


FINE_TO_USE = "ds.gradient_rule, ds.OpContext and sessions are fine to use"


@contextlib.contextmanager
def library_unavailable(what, names, fine=FINE_TO_USE):
    """While a student function runs, make the library's own versions of `names` refuse to help:
    functions of the package, methods of Session ("run", "evaluate_all"), the optimizers' ("minimize",
    "apply_gradients", "updated"), or training helpers ("fit", "batches")."""
    def refuse(*args, **kwargs):
        raise CheckFailed(f"your {what} called the library's own version of it. Write it yourself: that is "
                          f"the exercise ({fine}).")
    owners = (dlscratch, dlscratch.core, core_autodiff, core_traversal, core_session.Session, train, train.Optimizer,
              train.GradientDescentOptimizer, train.MomentumOptimizer, train.AdamOptimizer, data)
    saved = [(owner, name, owner.__dict__[name]) for owner in owners for name in names if name in owner.__dict__]
    for owner, name, _ in saved:
        setattr(owner, name, refuse)
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


@contextlib.contextmanager
def counting_forward_calls(classes, key):
    """Inside the block, count the calls of each op class's `forward` in `classes`, by `key(ctx)` (ctx:
    the call's first argument): yields {key: calls}. Used by assignment 4's checks in a kernel and,
    when grading, in the sandbox (isolation/child.py)."""
    counts = {}
    originals = {cls: (cls.__dict__.get("forward"), cls.forward) for cls in classes}  # all before any change

    def counting(forward):
        def counted(ctx, *inputs, **attrs):
            k = key(ctx)
            counts[k] = counts.get(k, 0) + 1
            return forward(ctx, *inputs, **attrs)
        return staticmethod(counted)

    for cls, (_, forward) in originals.items():
        cls.forward = counting(forward)
    try:
        yield counts
    finally:
        for cls, (own, _) in originals.items():
            if own is None:
                del cls.forward  # it was inherited
            else:
                cls.forward = own


def run_student(fn, args, what, description, hint="", refused=(), fine=FINE_TO_USE):
    """Call the student's `fn(*args)` (their `what`, on `description`) quietly, with the library's
    `refused` functions disabled. Returns (result, seconds, caught warnings)."""
    __tracebackhide__ = True
    with library_unavailable(what, refused, fine), quietly() as caught, \
            student_code(f"your {what}, on {description}", hint):
        start = time.perf_counter()
        result = fn(*args)
        seconds = time.perf_counter() - start
    return result, seconds, caught


SPOT_CHECKS = 5  # steps of a training check that the grader also runs rule by rule


def backprop_with_rules(steps, learning_rate, checks=SPOT_CHECKS):
    """A backprop(loss, values) -> {Variable: gradient} for a training check's `steps` steps of plain
    gradient descent at `learning_rate` (classifiers.gradient_descent), with the gradient rules registered
    now (the student's, inside `ds.override_gradients`).

    In a kernel this is the library's backprop. Under isolated grading each of the student's rules is a
    call into the sandbox, and one call per op per step is slow (assignment 1's network: 11,000 calls).
    So the sandbox runs the same descent with the student's rules, all of it in one call, and hands back
    each step's gradients (isolation/child.py: descend_with); the grader replays the descent with them,
    and at `checks` steps drawn at random also runs the backward pass itself, calling the rules one at a
    time: the two must agree, so the sandbox (where the student's code could patch the library's
    traversal) cannot hand back gradients other than those their rules give.
    """
    chosen = set(random.Random(secrets.randbits(64)).sample(range(steps), min(checks, steps)))
    plans, recorded, steps_taken = {}, [], itertools.count()

    def backprop(loss, values):
        __tracebackhide__ = True
        if loss not in plans:
            order = core_traversal.topological_order([loss])
            rules = {n.op_type: OPS[n.op_type].backward for n in order if isinstance(n, Operation)}
            sandboxes = {getattr(rule, "sandbox", None) for rule in rules.values()}
            sandbox = sandboxes.pop() if len(sandboxes) == 1 else None
            plans[loss] = (sandbox, rules, [n for n in order if isinstance(n, Variable)])
        sandbox, rules, variables = plans[loss]
        if sandbox is None:
            return core_autodiff.backprop(loss, values)
        step = next(steps_taken)
        if step == 0:  # the whole descent, from the Variables' values now (step 0's)
            feed = {n: values[n] for n in values if isinstance(n, Placeholder)}
            sent = sandbox.descend(rules, loss, feed, variables, learning_rate, steps)
            if not (isinstance(sent, list) and all(isinstance(s, list) and len(s) == len(variables) for s in sent)):
                raise CheckFailed("training with your rules sent back something other than each step's gradients")
            recorded.extend(sent)
        if step < len(recorded):
            grads = dict(zip(variables, recorded[step]))
        else:  # the sandbox's descent stopped sooner than this one (a loss that became nan there)
            grads = dict(zip(variables, sandbox.backprop(rules, loss, values, variables)))
        for v, g in grads.items():
            if g is not None and not (isinstance(g, np.ndarray) and g.shape == np.shape(values[v])):
                raise CheckFailed(f"the backward pass with your rules gave {v.name} a gradient that is not an "
                                  f"array of its shape {np.shape(values[v])}: a {type(g).__name__} {np.shape(g)}")
        if step in chosen:
            _same_as_rule_by_rule(grads, core_autodiff.backprop(loss, values), step + 1)
        return grads
    return backprop


def _same_as_rule_by_rule(grads, here, step):
    for v, g in grads.items():
        h = here.get(v)
        if (g is None) != (h is None) or (g is not None and not np.allclose(g, h, rtol=1e-9, atol=1e-12,
                                                                             equal_nan=True)):
            raise CheckFailed(f"at step {step}, your rules gave d loss/d {v.name} one value when the engine ran "
                              "them in a backward pass and another when it called them one at a time. A rule "
                              "must depend only on ctx and grad (no state kept between calls).")
