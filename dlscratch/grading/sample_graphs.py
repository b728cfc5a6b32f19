"""The graphs that assignment 2's checks run a student's traversal on, each a `Problem`."""
from collections import namedtuple

import numpy as np

from ..core.graph import Graph, Variable
from ..core.ops import add, exp, multiply, negative, reduce_sum, sigmoid
from ..data import red_blue
from ..nn import mlp
from .classifiers import classifier

Problem = namedtuple("Problem", "loss feed description")
# Ops in the long chain: more than Python's default recursion limit (1,000 frames, of which a kernel and the
# checks already use 27), so that a recursive traversal fails. Grading time grows with it (assignment
# 4's chain is as long).
LONG_CHAIN_OPS = 1200


def chain():
    w = Variable([0.5, -1.0, 2.0], name="w")
    return reduce_sum(exp(negative(sigmoid(w))), name="loss"), {}, "the chain sum(exp(-σ(w)))"


def diamond():
    w = Variable([0.5, -1.0, 2.0], name="w")
    x = multiply(w, 1.5, name="x")
    return (reduce_sum(multiply(negative(x), sigmoid(x)), name="loss"), {},
            "the diamond x = 1.5·w, loss = sum(−x · σ(x))")


def skip_connection():
    w = Variable([0.5, -1.0, 2.0], name="w")
    x = multiply(w, 1.5, name="x")
    return (reduce_sum(x + sigmoid(sigmoid(x)), name="loss"), {},
            "the skip connection x = 1.5·w, loss = sum(x + σ(σ(x)))")


def dead_branch():
    w = Variable([0.5, -1.0, 2.0], name="w")
    v = Variable([1.0, 2.0, 3.0], name="v")
    h = sigmoid(w, name="h")
    exp(h, name="second_head")  # a second output the loss does not use
    multiply(v, h, name="third_head")
    return (reduce_sum(multiply(h, w), name="loss"), {},
            "a graph where h = σ(w) also feeds 'second_head' and 'third_head', which the loss does not use")


def long_chain(n=LONG_CHAIN_OPS):
    w = Variable([0.5, -1.0], name="w")
    h = w
    for i in range(n):
        h = negative(h) if i % 2 else multiply(h, 1.0001)
    return reduce_sum(h, name="loss"), {}, f"a chain of {n:,} ops"


def small_mlp():
    model = classifier(red_blue(5), lambda x: mlp(x, [3, 2], activation="sigmoid", seed=3))
    return model.loss, model.feed, "a small MLP with a softmax cross-entropy loss"


def random_graph(seed):
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


GRAPHS = {"chain": chain, "diamond": diamond, "skip connection": skip_connection,
          "dead branch": dead_branch, "long chain": long_chain, "mlp": small_mlp}


def build(name):
    """A fresh graph holding the problem `name`: a key of GRAPHS, or "random N"."""
    graph = Graph()
    with graph.as_default():
        if name.startswith("random"):
            return graph, Problem(*random_graph(int(name.split()[-1])))
        return graph, Problem(*GRAPHS[name]())
