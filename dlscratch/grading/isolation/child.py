"""The sandboxed side: runs the student's cells, then answers calls to their functions with data.

Started by `sandbox.Child` inside the sandbox with the library's reference answers removed
(see `strip.py`). It reads requests from one pipe and writes answers to another:

    {"op": "run", "index": i, "source": code}   run one of the student's cells
    {"op": "call", "name": f, "args": [...], "kwargs": {...}}   call f; answer with its value
        (with "graph": [...] when the arguments hold graph nodes: graphs.py rebuilds them;
        "variables": values the grader changed; "reset": a new test cell; "count_forwards")
    {"op": "backprop", "rules": {op type: f}, "args": [loss, values, wanted]}   the library's
        backprop with the student's rules (a step of a training check the descent below missed)
    {"op": "descend", "rules": {op type: f}, "args": [loss, feed, variables, rate, steps]}   a
        training check's whole gradient descent with the student's rules: each step's gradients

While a call runs, the student's code may call a function of the grader's (a callback): the
child then writes {"callback": id, "args", "kwargs"} and reads the grader's answer before
going on. The answer to the call itself carries the value, the arrays and Variables the call
changed, the nodes it made (graphs.py) and, if asked, how often each node's forward ran.

Whatever happens here is the student's business: the grader trusts none of it, checks
the form of every answer, and decides pass or fail on its own side.
"""
import builtins
import contextlib
import gc
import linecache
import os
import sys
import traceback
import types

import numpy as np

from .graphs import GraphReader, _same  # imported before any student code runs (so it binds numpy's names first)
from .protocol import decode, encode, read_message, write_message

CELL_PREFIX = "<cell "


class Context:
    """What a gradient rule gets, rebuilt from data: the same fields as the library's OpContext."""

    def __init__(self, op_type, inputs, output, attrs, needs):
        self.inputs, self.output, self.attrs, self.needs = tuple(inputs), output, attrs, tuple(needs)
        self.node = types.SimpleNamespace(op_type=op_type, attrs=attrs, name=op_type.lower())
        self._saved = None

    def save_for_backward(self, *values):
        self._saved = values

    @property
    def saved_values(self):
        if self._saved is None:
            from dlscratch.core.registry import OPS
            OPS[self.node.op_type].forward(self, *self.inputs, **self.attrs)
        return self._saved

    def __repr__(self):
        shapes = ", ".join(str(np.shape(x)) for x in self.inputs)
        return f"<OpContext {self.node.op_type} inputs {shapes} -> {np.shape(self.output)} attrs {self.attrs}>"


class _NoIPython:
    """get_ipython() in the sandbox: magics and shell escapes do nothing here."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _error(e):
    """An exception as data: its type's name, message, notes and the student's line (if it came from a cell)."""
    info = {"type": type(e).__name__, "message": str(e)[:4000], "cell": None, "lineno": None,
            "builtin": getattr(builtins, type(e).__name__, None) is type(e),
            "notes": [str(n)[:1000] for n in getattr(e, "__notes__", [])[:5]]}
    for frame in reversed(traceback.extract_tb(e.__traceback__)):
        if frame.filename.startswith(CELL_PREFIX):
            info["cell"] = int(frame.filename[len(CELL_PREFIX):-1])
            info["lineno"] = frame.lineno
            info["function"] = frame.name  # a message may name it ("too deep a recursion in post_order()")
            break
    return info


def _names(namespace):
    """The functions (callables) the student's cells defined, with the module each says it is from."""
    return {name: str(getattr(value, "__module__", None))[:200] for name, value in list(namespace.items())
            if callable(value) and not isinstance(value, type(sys)) and not name.startswith("_")
            and name not in ("get_ipython", "display")}


class GraderFunctionFailed(Exception):
    """A function of the grader's (a callback such as a check's `step`) failed on what your code gave it."""


def counting_forwards(reader):
    """Count each graph node's op forward calls while the student's code runs (assignment 4's checks
    ask: a shared node computed twice, or a value computed without the registry, is named)."""
    from dlscratch.core.registry import OPS, OpContext
    from dlscratch.grading.student_code import counting_forward_calls
    return counting_forward_calls(set(OPS.values()), lambda ctx: reader.ids.get(ctx.node, "new")
                                  if isinstance(ctx, OpContext) else "unknown")


def _students_rules(namespace, rules):
    """{op type: the student's function} from {op type: its name}."""
    rules = {str(op_type): namespace.get(str(name)) for op_type, name in dict(rules).items()}
    for op_type, rule in rules.items():
        if not callable(rule):
            raise NameError(f"no function of yours is the rule of {op_type}")
    return rules


def backprop_with(namespace, rules):
    """backprop(loss, values, wanted) with the student's rules ({op type: name of their function}): the
    library's traversal, run here. Returns the gradients of the `wanted` nodes."""
    from dlscratch.core.autodiff import backprop
    from dlscratch.core.registry import override_gradients
    rules = _students_rules(namespace, rules)

    def run(loss, values, wanted):
        with override_gradients(rules):
            grads = backprop(loss, values)
        return [grads.get(node) for node in wanted]
    return run


def descend_with(namespace, rules):
    """descend(loss, feed, variables, rate, steps): a training check's gradient descent (the checks' own,
    classifiers.gradient_descent) with the student's rules, all of it here in one call instead of one call
    per op per step. Returns each step's gradients of the `variables`; the grader replays the descent with
    them and checks some steps against its own traversal (student_code.backprop_with_rules)."""
    from dlscratch.grading.classifiers import gradient_descent
    backprop = backprop_with(namespace, rules)

    def run(loss, feed, variables, rate, steps):
        steps_gradients, saved = [], [v.value for v in variables]

        def recording(loss, values):
            steps_gradients.append(backprop(loss, values, variables))
            return dict(zip(variables, steps_gradients[-1]))
        try:
            gradient_descent(loss, list(variables), feed, float(rate), int(steps), recording)
        finally:  # as the grader's Variables still are: the grader replays the descent on its side
            for v, value in zip(variables, saved):
                v.value = value
        return steps_gradients
    return run


BATCHED = {"backprop": backprop_with, "descend": descend_with}


def main(rfd, wfd):
    gc.freeze()  # numpy and the library: never garbage, so the collector need not rescan them
    namespace = {"__name__": "__main__", "__builtins__": builtins, "get_ipython": _NoIPython,
                 "display": lambda *args, **kwargs: None}
    reader = None

    def descent_step(record, loss, x, c, variables, learning_rate):
        """The sandbox's copy of a mini-batch check's `step(X_batch, Y_batch) -> loss` (grading/training.py,
        the same code): one step of gradient descent on the check's model, each batch recorded for the
        grader's replay (graphs.py). Made here, inside main, so that no module of the sandbox's library
        holds a gradient-descent step for the student's code to import (assignment 3 asks for one)."""
        from dlscratch.core import autodiff, session
        if hasattr(autodiff, "ReferenceUnavailable") or hasattr(session, "ReferenceUnavailable"):
            raise LookupError("this assignment's library cannot run the step here: call back")
        run, variables, rate = session.Session(loss.graph), tuple(variables), float(learning_rate)

        def step(X_batch, Y_batch):
            X_batch, Y_batch = np.array(X_batch, dtype=float), np.array(Y_batch, dtype=float)  # copies: recorded
            worked = record(X_batch, Y_batch)
            values = run.evaluate_all(loss, {x: X_batch, c: Y_batch})
            grads = autodiff.backprop(loss, values, variables)
            for v in variables:
                v.value = v.value - rate * grads[v]
            worked()
            return float(values[loss])
        return step, variables

    def call_back(handle, args, kwargs):
        """Ask the grader to run its function `handle` with data; its answer, as data."""
        out = []
        reader.begin(out)
        header = {"callback": handle, "args": encode(tuple(args), out, nodes=reader),
                  "kwargs": encode(dict(kwargs), out, nodes=reader)}
        header["graph"] = reader.outgoing
        write_message(wfd, header, out)
        answer, arrays = read_message(rfd)
        if not answer.get("ok"):
            raise GraderFunctionFailed(str(answer.get("message", "the grader's function failed"))[:2000])
        reader.add(answer.get("graph") or [], arrays)
        reader.set_values(answer.get("variables") or [], arrays)
        return decode(answer.get("value"), arrays, nodes=reader)

    write_message(wfd, {"ready": True, "uid": os.getuid()})
    while True:
        try:
            request, arrays = read_message(rfd)
        except EOFError:
            os._exit(0)
        reply, out, after = {"ok": True}, [], None
        try:
            if request["op"] == "run":
                filename = f"{CELL_PREFIX}{int(request['index'])}>"
                source = str(request["source"])
                linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
                exec(compile(source, filename, "exec"), namespace)
                reply["names"] = _names(namespace)
            elif request["op"] in ("call", "backprop", "descend"):
                if reader is None or request.get("reset"):  # a new test cell: its own graphs and dicts
                    reader = GraphReader(call_back=call_back, mirrors={"descent_step": descent_step})
                reader.add(request.get("graph") or [], arrays)
                reader.set_values(request.get("variables") or [], arrays)
                args = decode(request["args"], arrays, Context, nodes=reader)
                kwargs = decode(request["kwargs"], arrays, Context, nodes=reader)
                # what the call changes in place goes back (the checks look for that mistake); a training
                # check's batched passes change nothing of the grader's
                watch = request["op"] == "call"
                before = [a.copy() for a in arrays] if watch else []
                after = [reader, reader.variable_snapshot() if watch else None, None]  # and forward counts, if asked
                function = (namespace.get(request["name"]) if watch else
                            BATCHED[request["op"]](namespace, request["rules"]))
                if not callable(function):
                    raise NameError(f"name {request['name']!r} is not defined")
                graph = reader.graphs.get(request.get("default_graph"))
                with contextlib.ExitStack() as inside:
                    if graph is not None:  # the grader's default graph, as in a kernel
                        inside.enter_context(graph.as_default())
                    if request.get("count_forwards"):
                        after[2] = inside.enter_context(counting_forwards(reader))
                    value = function(*args, **kwargs)
                reader.begin(out)
                reply["value"] = encode(value, out, nodes=reader)
                reply["changed"] = [[i, encode(a, out)] for i, (a, b) in enumerate(zip(arrays, before))
                                    if a.flags.writeable and not _same(a, b)]
        except BaseException as e:  # sys.exit and KeyboardInterrupt included: they are the student's errors
            reply, out = {"ok": False, "error": _error(e), "names": _names(namespace)}, []
            if after is not None:
                after[0].begin(out)
        if after is not None:  # what the call did to the Variables, and which forwards it ran
            reader, snapshot, counts = after
            try:
                mirrored = reader.end_call()  # the Variables of mirrored functions as they were: the grader replays
                if reply.get("ok") and mirrored:
                    reply["mirrored"] = [[handle, [[encode(args, out), failed] for args, failed in calls]]
                                         for handle, calls in mirrored]
                reply["variables"] = [] if snapshot is None else reader.variable_changes(snapshot)
                reply["graph"] = reader.outgoing
                if counts is not None:
                    reply["forward_calls"] = [[k, n] for k, n in counts.items()]
            except Exception as e:  # e.g. a Variable's value that is not data
                reply, out = {"ok": False, "error": _error(e), "names": _names(namespace)}, []
        try:
            write_message(wfd, reply, out)
        except (TypeError, ValueError) as e:  # e.g. a value json cannot write
            write_message(wfd, {"ok": False, "error": _error(e), "names": _names(namespace)})
