"""The core: graph, ops, session and gradients. It needs numpy and nothing else.

    graph.py      nodes: placeholders, Variables, constants, operations; the default graph
    registry.py   Op (forward and backward side by side), register_op, OpContext, gradient overrides
    ops.py        every op
    traversal.py  topological_order, the one traversal
    session.py    Session: the forward pass
    autodiff.py   backprop: the backward pass; gradients() and compute_gradients()
"""
from .autodiff import backprop, compute_gradients, gradients, input_gradients
from .errors import (
    DLScratchError,
    FeedError,
    GradientError,
    GraphError,
    NumericsError,
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
    get_default_graph,
    name_scope,
    placeholder,
    placeholder_with_default,
    reset_default_graph,
    to_node,
)
from .ops import (
    add,
    clip_by_value,
    divide,
    exp,
    log,
    log_softmax,
    matmul,
    multiply,
    negative,
    pow,
    reduce_mean,
    reduce_sum,
    relu,
    reshape,
    sigmoid,
    softmax,
    softmax_cross_entropy_with_logits,
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
from .session import RunValues, Session
from .traversal import topological_order

__all__ = [
    # errors
    "DLScratchError", "FeedError", "GradientError", "GraphError", "NumericsError", "ShapeError",
    "describe", "format_shape",
    # the graph
    "Graph", "Node", "Operation", "Placeholder", "Variable", "Constant",
    "get_default_graph", "reset_default_graph", "name_scope", "placeholder", "placeholder_with_default",
    "constant", "to_node",
    # ops
    "add", "subtract", "multiply", "divide", "negative", "square", "pow", "matmul", "sigmoid", "tanh", "relu",
    "exp", "log", "clip_by_value", "softmax", "log_softmax", "softmax_cross_entropy_with_logits",
    "reduce_sum", "reduce_mean", "transpose", "reshape",
    # defining ops and their gradients
    "OPS", "Op", "OpContext", "register_op", "op_class", "gradient_rule", "register_gradient",
    "override_gradients", "unbroadcast",
    # running and differentiating
    "Session", "RunValues", "topological_order", "backprop", "gradients", "compute_gradients", "input_gradients",
]
