"""The core: graph, ops, session and gradients. It needs numpy and nothing else."""
from .errors import DLScratchError, FeedError, GradientError, GraphError, ShapeError
from .gradients import backprop, compute_gradients, gradients
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
from .registry import OpContext, gradient_rule, override_gradients, register_gradient, unbroadcast
from .session import Session
from .traversal import topological_order

__all__ = [n for n in dir() if not n.startswith("_")]
