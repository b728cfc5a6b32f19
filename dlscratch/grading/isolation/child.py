"""The sandboxed side: runs the student's cells, then answers calls to their functions with data.

Started by `sandbox.Child` inside the sandbox with the library's reference answers removed
(see `strip.py`). It reads requests from one pipe and writes answers to another:

    {"op": "run", "index": i, "source": code}   run one of the student's cells
    {"op": "call", "name": f, "args": [...], "kwargs": {...}}   call f; answer with its value
        (with "graph": [...] when the arguments hold graph nodes: graphs.py rebuilds them)

Whatever happens here is the student's business: the grader trusts none of it, checks
the form of every answer, and decides pass or fail on its own side.
"""
import builtins
import linecache
import os
import sys
import traceback
import types

import numpy as np

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
    """An exception as data: its type's name, message and the student's line (if it came from a cell)."""
    info = {"type": type(e).__name__, "message": str(e)[:4000], "cell": None, "lineno": None,
            "builtin": getattr(builtins, type(e).__name__, None) is type(e)}
    for frame in reversed(traceback.extract_tb(e.__traceback__)):
        if frame.filename.startswith(CELL_PREFIX):
            info["cell"] = int(frame.filename[len(CELL_PREFIX):-1])
            info["lineno"] = frame.lineno
            break
    return info


def _names(namespace):
    """The functions (callables) the student's cells defined, with the module each says it is from."""
    return {name: str(getattr(value, "__module__", None))[:200] for name, value in list(namespace.items())
            if callable(value) and not isinstance(value, type(sys)) and not name.startswith("_")
            and name not in ("get_ipython", "display")}


def _same(a, b):
    if a.shape != b.shape:
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def main(rfd, wfd):
    namespace = {"__name__": "__main__", "__builtins__": builtins, "get_ipython": _NoIPython,
                 "display": lambda *args, **kwargs: None}
    write_message(wfd, {"ready": True, "uid": os.getuid()})
    while True:
        try:
            request, arrays = read_message(rfd)
        except EOFError:
            os._exit(0)
        reply, out = {"ok": True}, []
        try:
            if request["op"] == "run":
                filename = f"{CELL_PREFIX}{int(request['index'])}>"
                source = str(request["source"])
                linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
                exec(compile(source, filename, "exec"), namespace)
                reply["names"] = _names(namespace)
            elif request["op"] == "call":
                nodes = None
                if request.get("graph"):  # the arguments hold graph nodes: rebuild their graphs here
                    from .graphs import GraphReader
                    nodes = GraphReader(request["graph"], arrays)
                args = decode(request["args"], arrays, Context, nodes=nodes)
                kwargs = decode(request["kwargs"], arrays, Context, nodes=nodes)
                before = [a.copy() for a in arrays]
                function = namespace.get(request["name"])
                if not callable(function):
                    raise NameError(f"name {request['name']!r} is not defined")
                value = function(*args, **kwargs)
                reply["value"] = encode(value, out, nodes=nodes)
                # Arrays the call changed in place go back too: the grader checks for that mistake.
                reply["changed"] = [[i, encode(a, out)] for i, (a, b) in enumerate(zip(arrays, before))
                                    if a.flags.writeable and not _same(a, b)]
        except BaseException as e:  # sys.exit and KeyboardInterrupt included: they are the student's errors
            reply, out = {"ok": False, "error": _error(e), "names": _names(namespace)}, []
        try:
            write_message(wfd, reply, out)
        except (TypeError, ValueError) as e:  # e.g. a value json cannot write
            write_message(wfd, {"ok": False, "error": _error(e), "names": _names(namespace)})
