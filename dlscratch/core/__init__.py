"""The core: graph, ops, session and gradients. It needs numpy and nothing else.

    graph.py      nodes: placeholders, Variables, constants, operations; the default graph
    registry.py   Op (forward and backward side by side), register_op, OpContext, gradient overrides
    ops.py        every op
    traversal.py  topological_order, the one traversal
    session.py    Session: the forward pass
    autodiff.py   backprop: the backward pass; gradients() and compute_gradients()
"""
from . import debugging
from .autodiff import backprop, compute_gradients, gradients, input_gradients
from .errors import (
    DLScratchError,
    FeedError,
    GradientError,
    GraphError,
    InvalidArgumentError,
    NumericsError,
    ResourceExhaustedError,
    SessionError,
    ShapeError,
    describe,
    format_shape,
)
from .graph import (
    Constant,
    Graph,
    Node,
    Operation,
    Placeholder,
    Variable,
    constant,
    float16,
    float32,
    float64,
    get_default_graph,
    global_variables_initializer,
    int32,
    int64,
    name_scope,
    placeholder,
    placeholder_with_default,
    reset_default_graph,
    to_node,
    zeros,
)
from .ops import (
    add,
    argmax,
    cast,
    check_numerics,
    clip_by_value,
    divide,
    equal,
    exp,
    log,
    log_softmax,
    matmul,
    multiply,
    negative,
    pow,
    reduce_max,
    reduce_mean,
    reduce_sum,
    relu,
    reshape,
    sigmoid,
    softmax,
    softmax_cross_entropy_with_logits,
    sparse_softmax_cross_entropy_with_logits,
    square,
    subtract,
    tanh,
    transpose,
)
from .registry import (
    OPS,
    Op,
    OpContext,
    gradient_rule,
    op_class,
    override_gradients,
    register_gradient,
    register_op,
    unbroadcast,
)
from .session import InteractiveSession, RunValues, Session, get_default_session
from .traversal import topological_order

__all__ = [
    # errors
    "DLScratchError", "FeedError", "GradientError", "GraphError", "InvalidArgumentError", "NumericsError",
    "ResourceExhaustedError", "SessionError", "ShapeError", "describe", "format_shape",
    # the graph
    "Graph", "Node", "Operation", "Placeholder", "Variable", "Constant",
    "get_default_graph", "reset_default_graph", "name_scope", "placeholder", "placeholder_with_default",
    "constant", "to_node", "zeros", "global_variables_initializer",
    "float16", "float32", "float64", "int32", "int64",
    # ops
    "add", "subtract", "multiply", "divide", "negative", "square", "pow", "matmul", "sigmoid", "tanh", "relu",
    "exp", "log", "clip_by_value", "softmax", "log_softmax", "softmax_cross_entropy_with_logits",
    "sparse_softmax_cross_entropy_with_logits", "check_numerics", "reduce_sum", "reduce_mean", "reduce_max",
    "transpose", "reshape", "argmax", "equal", "cast",
    # defining ops and their gradients
    "OPS", "Op", "OpContext", "register_op", "op_class", "gradient_rule", "register_gradient",
    "override_gradients", "unbroadcast",
    # running and differentiating
    "Session", "InteractiveSession", "get_default_session", "RunValues", "debugging", "topological_order",
    "backprop", "gradients", "compute_gradients", "input_gradients",
]
