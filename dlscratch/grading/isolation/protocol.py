"""The only thing that crosses between the grader and the sandboxed student code: data.

A message is one frame: an 8-byte length, a JSON header, then the raw bytes of the arrays
the header lists by dtype, shape and size (each padded to 16 bytes; the arrays read are
aligned views of one buffer). Only plain number dtypes (bool, int, float,
complex) are accepted, and an array is rebuilt with `np.frombuffer`: no pickle, no
object arrays, so nothing the student's side sends can turn into code on the grader's
side. (Raw bytes rather than .npy files: a test cell may make hundreds of calls, and a graph
crosses as thousands of arrays; .npy's own header parsing doubled their cost.) Values nest
as JSON trees:

    None, bool, int, str             as themselves
    float                            {"t": "float", "v": float.hex()}  (nan and inf survive)
    numpy array or scalar            {"t": "array", "i": index, "scalar": bool}
    tuple, list, dict (str keys)     {"t": "tuple" | "list" | "dict", "v": ...}  (a dict may carry
                                     "h": a handle, so the sandbox keeps using the same dict)
    a gradient rule's ctx            {"t": "ctx", ...}: its op type, inputs, output, attrs, needs
    a graph node                     {"t": "node", "id": int}: its graph crosses as data (graphs.py)
    a dict with other keys           {"t": "pairs", "v": [[key, value], ...], "run": bool}
    a function of the grader's       {"t": "callback", "id": int}: the sandbox may call it back; with
                                     "mirror": {"kind", "args"}, it may run its own copy instead (graphs.py)
    anything else                    {"t": "opaque", "type": its type's name}: no value at all

This module needs numpy and the standard library only: the sandbox imports it too.
"""
import json
import math
import os
import select
import struct
import time

import numpy as np

MAX_MESSAGE = 256 * 2 ** 20  # bytes: a bigger frame is refused, not read
MAX_DEPTH = 16
ALIGN = 16  # each array's bytes start at a multiple of this in the frame's body, so views of it are aligned
NUMBER_KINDS = "biufc"
_LENGTH = struct.Struct("<Q")


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed message."""


class Timeout(Exception):
    """No answer before the deadline."""


# --- frames ------------------------------------------------------------------------------------

def write_message(fd, header, arrays=(), deadline=None):
    """Send `header` (a dict) and `arrays`; Timeout if the other side stops reading before `deadline`."""
    specs, blobs = [], []
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.kind not in NUMBER_KINDS:
            raise ProtocolError(f"an array of dtype {a.dtype} is not numbers")
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        blobs.append(a.tobytes())
        specs.append([a.dtype.str, list(a.shape), len(blobs[-1])])
        blobs.append(bytes(-len(blobs[-1]) % ALIGN))
    head = json.dumps(dict(header, arrays=specs), allow_nan=False).encode()
    head += b" " * (-(_LENGTH.size + len(head)) % ALIGN)  # so that the arrays start aligned
    body = b"".join([_LENGTH.pack(len(head)), head, *blobs])
    _write_all(fd, _LENGTH.pack(len(body)) + body, deadline)


def _write_all(fd, data, deadline):
    """Write `data`; on a non-blocking fd (the grader's), wait for room only when the pipe is full."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            remaining = None if deadline is None else deadline - time.monotonic()  # None: wait as long as it takes
            if (remaining is not None and remaining <= 0) or not select.select([], [fd], [], remaining)[1]:
                raise Timeout() from None


def read_message(fd, deadline=None):
    """(header, arrays) from `fd`; Timeout after `deadline` (time.monotonic()), EOFError if closed.
    One message is in flight at a time (each side waits for the other's answer), so whatever is in
    the pipe belongs to this message: it is read in as few calls as it arrives in."""
    data = _read_at_least(fd, b"", _LENGTH.size, deadline)
    (size,) = _LENGTH.unpack_from(data)
    if size > MAX_MESSAGE:
        raise ProtocolError(f"a message of {size} bytes is larger than the limit of {MAX_MESSAGE}")
    data = _read_at_least(fd, data, _LENGTH.size + size, deadline)
    if len(data) != _LENGTH.size + size:
        raise ProtocolError("more was sent than one message")
    body = bytearray(data[_LENGTH.size:])  # writable: the arrays are views of it, not copies
    try:
        (head_size,) = _LENGTH.unpack_from(body)
        header = json.loads(body[_LENGTH.size:_LENGTH.size + head_size])
        specs = header.pop("arrays")
        arrays, at, dtypes = [], _LENGTH.size + head_size, {}
        for dtype, shape, n in specs:
            if type(dtype) is not str or type(n) is not int or type(shape) is not list \
                    or not all(type(d) is int and d >= 0 for d in shape):
                raise ProtocolError("malformed array description")
            if dtype not in dtypes:
                dtypes[dtype] = np.dtype(dtype)
                if dtypes[dtype].kind not in NUMBER_KINDS or dtypes[dtype].hasobject \
                        or dtypes[dtype].fields is not None:
                    raise ProtocolError(f"an array of dtype {dtype} is not numbers")
            dtype = dtypes[dtype]
            count = math.prod(shape)
            if n != dtype.itemsize * count or at + n > len(body):
                raise ProtocolError("array sizes do not add up")
            arrays.append(np.frombuffer(body, dtype, count=count, offset=at).reshape(shape))
            at += n + (-n % ALIGN)
    except ProtocolError:
        raise
    except Exception as e:
        raise ProtocolError(f"malformed message: {type(e).__name__}: {e}") from None
    return header, arrays


def _read_at_least(fd, data, n, deadline):
    """`data` and what follows it in `fd`, until there are at least `n` bytes."""
    chunks, have = [data], len(data)
    while have < n:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise Timeout()
        chunk = os.read(fd, min(max(n - have, 1 << 16), 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        have += len(chunk)
    return b"".join(chunks)


# --- values --------------------------------------------------------------------------------------

class Opaque:
    """Stands for a value that was not data (a function, a module, an object). Only its type's name came across."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return f"<a {self.type_name} from your code>"


def opaque(type_name):
    """An Opaque value whose type is called `type_name`, so that messages naming its type read naturally."""
    name = str(type_name)[:80] if str(type_name).isidentifier() else "object"
    return type(name, (Opaque,), {})(name)


def encode(value, arrays, context_type=None, depth=0, nodes=None):
    """`value` as a JSON tree; its arrays are appended to `arrays`. `nodes` (graphs.GraphWriter or
    GraphReader) turns graph nodes into ids; without it a node is opaque."""
    if depth > MAX_DEPTH:
        return {"t": "opaque", "type": "deeply nested value"}
    if value is None or isinstance(value, (bool, int, str)) and type(value) in (bool, int, str):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2 ** 53:
            return encode(float(value), arrays, context_type, depth)
        return value
    if type(value) is float:
        return {"t": "float", "v": value.hex()}
    if nodes is not None:
        tree = nodes.encode_node(value)
        if tree is not None:
            return tree
    if context_type is not None and isinstance(value, context_type):
        return {"t": "ctx", "op_type": value.node.op_type,
                "inputs": encode(tuple(value.inputs), arrays, None, depth + 1),
                "output": encode(value.output, arrays, None, depth + 1),
                "attrs": encode(dict(value.attrs), arrays, None, depth + 1),
                "needs": encode(tuple(bool(n) for n in value.needs), arrays, None, depth + 1)}
    if isinstance(value, (np.ndarray, np.generic)):
        if value.dtype.kind not in NUMBER_KINDS:
            return {"t": "opaque", "type": f"array of {value.dtype}"}
        arrays.append(value)
        tree = {"t": "array", "i": len(arrays) - 1, "scalar": isinstance(value, np.generic)}
        if isinstance(value, np.ndarray) and not value.flags.writeable:
            tree["readonly"] = True
        return tree
    if type(value) in (tuple, list):
        return {"t": type(value).__name__, "v": [encode(v, arrays, context_type, depth + 1, nodes) for v in value]}
    if type(value) is dict and all(type(k) is str for k in value):
        tree = {"t": "dict", "v": {k: encode(v, arrays, context_type, depth + 1, nodes) for k, v in value.items()}}
    elif isinstance(value, dict):  # e.g. {node: value}; in an order that says nothing (GraphWriter.order)
        items = list(value.items())
        items = nodes.order(items) if nodes is not None else items
        tree = {"t": "pairs", "run": hasattr(value, "contexts"),
                "v": [[encode(k, arrays, context_type, depth + 1, nodes), encode(v, arrays, context_type, depth + 1,
                                                                                  nodes)] for k, v in items]}
    else:
        tree = nodes.encode_callable(value) if nodes is not None else None
        return tree or {"t": "opaque", "type": type(value).__name__}
    handle = nodes.dict_handle(value) if nodes is not None else None
    if handle is not None:
        tree["h"] = handle
    return tree


def decode(tree, arrays, make_context=None, depth=0, nodes=None):
    """The value a JSON tree stands for. Raises ProtocolError on anything unexpected."""
    if depth > MAX_DEPTH:
        raise ProtocolError("too deeply nested")
    if tree is None or type(tree) in (bool, int, str):
        return tree
    if type(tree) is not dict or not isinstance(tree.get("t"), str):
        raise ProtocolError(f"not a value: {str(tree)[:80]}")
    kind = tree["t"]
    if kind == "float":
        return float.fromhex(str(tree["v"]))
    if kind == "array":
        i = tree["i"]
        if type(i) is not int or not 0 <= i < len(arrays):
            raise ProtocolError("no such array")
        a = arrays[i]
        if tree.get("readonly"):
            a.flags.writeable = False
        return a[()] if tree.get("scalar") else a
    if kind in ("tuple", "list"):
        items = [decode(v, arrays, make_context, depth + 1, nodes) for v in tree["v"]]
        return tuple(items) if kind == "tuple" else items
    if kind in ("dict", "pairs") and nodes is not None and type(tree.get("h")) is int:
        return nodes.decoded_dict(tree["h"], lambda: decode({**tree, "h": None}, arrays, make_context, depth, nodes))
    if kind == "dict":
        return {str(k): decode(v, arrays, make_context, depth + 1, nodes) for k, v in dict(tree["v"]).items()}
    if kind == "pairs":
        pairs = []
        for pair in tree["v"]:
            key, value = pair
            key = decode(key, arrays, make_context, depth + 1, nodes)
            try:
                hash(key)
            except TypeError:
                raise ProtocolError(f"a dict key that cannot be a key: {type(key).__name__}") from None
            pairs.append((key, decode(value, arrays, make_context, depth + 1, nodes)))
        return nodes.make_dict(pairs, bool(tree.get("run"))) if nodes is not None else dict(pairs)
    if kind == "node":
        if nodes is None or type(tree.get("id")) is not int:
            return opaque("node")
        return nodes.decode_node(tree["id"])
    if kind == "callback" and nodes is not None and type(tree.get("id")) is int:
        mirror = tree.get("mirror")
        if type(mirror) is dict:
            mirror = (str(mirror.get("kind")), decode(mirror.get("args"), arrays, None, depth + 1, nodes))
        return nodes.decode_callback(tree["id"], mirror if type(mirror) is tuple else None)
    if kind == "ctx" and make_context is not None:
        return make_context(str(tree["op_type"]), *(decode(tree[k], arrays, None, depth + 1)
                                                    for k in ("inputs", "output", "attrs", "needs")))
    if kind == "opaque":
        return opaque(tree.get("type", "object"))
    raise ProtocolError(f"unknown kind of value {kind!r}")
