"""Synthetic student submissions, built from the release notebooks.

A submission starts as the release (what students get) and has its answer cells
filled in: with the instructor's solution (markers removed), or with one of the
mistakes below. Each scenario also says which test cells must score 0; every
other test cell must get full marks. That is how the tests show that partial
credit is real: one mistake costs exactly the cells that test it.
"""
import copy
import textwrap

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def solutions(source_nb):
    """{grade_id: the answer cell's code as a student who solved it would write it}."""
    return {grade_id(cell): "".join(line for line in cell["source"] if line.strip() not in SOLUTION_MARKERS)
            for cell in source_nb["cells"] if cell["metadata"].get("nbgrader", {}).get("solution")}


def submission(release_nb, answers, drop=(), replace=None, insert_after=None):
    """A filled-in copy of the release.

    answers:      {grade_id: code} for answer cells
    drop:         grade_ids of cells the student deleted
    replace:      {grade_id: code} for (locked) cells the student edited anyway
    insert_after: {grade_id: code} for extra code cells the student added after a cell
    """
    nb = copy.deepcopy(release_nb)
    cells = []
    for cell in nb["cells"]:
        gid = grade_id(cell)
        if gid in drop:
            continue
        source = {**answers, **(replace or {})}.get(gid)
        if source is not None:
            cell["source"] = source
        cells.append(cell)
        if insert_after and gid in insert_after:
            cells.append({"cell_type": "code", "execution_count": None, "id": f"student-{gid}"[:64],
                          "metadata": {}, "outputs": [], "source": insert_after[gid]})
    nb["cells"] = cells
    return nb


def rule(name, body):
    return f"def {name}(ctx, grad):\n" + textwrap.indent(textwrap.dedent(body).strip(), "    ") + "\n"


# --- assignment 1: one wrong rule per op ----------------------------------------------------

# op -> (the wrong rule, the cells it must fail). The training cell fails too when the op is
# part of the network and the mistake stops it from learning; the sigmoid typo from the
# source text is the instructive exception: the network still learns, only sigmoid's own
# cells catch it.
OP_MISTAKES = {
    "negative": (rule("negative_backward", "return (grad,)"),  # the sign forgotten
                 {"test_negative", "test_negative_hidden", "test_training_with_your_rules"}),
    "add": (rule("add_backward", "return grad, grad"),  # broadcast not summed
            {"test_add_hidden", "test_training_with_your_rules"}),
    "multiply": (rule("multiply_backward", "x, y = ctx.inputs\nreturn grad * x, grad * y"),  # inputs swapped
                 {"test_multiply", "test_multiply_hidden", "test_training_with_your_rules"}),
    "matmul": (rule("matmul_backward", "a, b = ctx.inputs\nreturn grad @ b, a.T @ grad"),  # missing transpose
               {"test_matmul", "test_matmul_hidden", "test_training_with_your_rules"}),
    "sigmoid": (rule("sigmoid_backward",  # the source text's typo: σ(x)·σ(1−x)
                     "y = ctx.output\nreturn (grad * y / (1 + np.exp(-(1 - ctx.inputs[0]))),)"),
                {"test_sigmoid", "test_sigmoid_hidden"}),
    "log": (rule("log_backward", "return (grad / ctx.output,)"),  # divides by log x, not x
            {"test_log", "test_log_hidden", "test_training_with_your_rules"}),
    "exp": (rule("exp_backward", "return (ctx.output,)"),  # grad forgotten
            {"test_exp", "test_exp_hidden"}),
    "relu": (rule("relu_backward", "return (grad * (ctx.output >= 0),)"),  # slope 1 everywhere
             {"test_relu", "test_relu_hidden"}),
    "softmax": (rule("softmax_backward", "y = ctx.output\nreturn (grad * y * (1 - y),)"),  # diagonal only
                {"test_softmax", "test_softmax_hidden", "test_training_with_your_rules"}),
    "reduce_sum": (rule("reduce_sum_backward",  # axis ignored
                        "return (np.ones_like(ctx.inputs[0]) * np.sum(grad),)"),
                   {"test_reduce_sum", "test_reduce_sum_hidden", "test_training_with_your_rules"}),
}

# exp_backward fails with an exception: only exp's cells may lose points.
RAISES = rule("exp_backward", "scale = ctx.attrs['scale']  # no such setting: KeyError\nreturn (grad * scale,)")

# relu_backward never returns: both relu cells time out, and grading goes on.
INFINITE_LOOP = rule("relu_backward", "while True:\n    pass")

# Correct rules that make numpy and Python warn, plus a cell that writes to stderr.
NOISY_RULES = {
    "sigmoid_backward": rule("sigmoid_backward", """
        import warnings
        warnings.warn("a student's own warning")
        s = 1 / (1 + np.exp(-ctx.inputs[0]))  # overflows (and warns) for x = -1000, yet is right
        return (grad * s * (1 - s),)"""),
    "exp_backward": rule("exp_backward", """
        return (grad * np.exp(ctx.inputs[0]),)  # overflows to inf (and warns) only far beyond 700"""),
}
NOISY_CELL = ("import sys, warnings\nnp.seterr(all='warn')\nprint('debugging output', file=sys.stderr)\n"
              "warnings.warn('a warning in a cell of my own')\nnp.log(0.0)")


# --- assignment 2 ------------------------------------------------------------------------------

RECURSIVE_ORDER = """
def topological_order(loss):
    order, placed = [], set()

    def place(node):
        if node in placed:
            return
        for x in node.inputs:
            place(x)
        placed.add(node)
        order.append(node)

    place(loss)
    return order
"""

CONSUMER_WALKING_ORDER = """
def topological_order(loss):
    # Collects every node connected to the loss, also through consumers: it picks up dead branches.
    connected, stack = set(), [loss]
    while stack:
        node = stack.pop()
        if node not in connected:
            connected.add(node)
            stack.extend(node.inputs)
            stack.extend(node.consumers)
    order, placed = [], set()
    while len(order) < len(connected):
        for node in connected:
            if node not in placed and all(x in placed for x in node.inputs):
                placed.add(node)
                order.append(node)
    return order
"""

OVERWRITING_BACKPROP = """
def backprop(loss, values):
    grads = {loss: np.ones_like(values[loss])}
    for node in reversed(topological_order(loss)):
        if isinstance(node, ds.Operation):
            ctx = ds.OpContext(node, tuple(values[x] for x in node.inputs), values[node],
                               (True,) * len(node.inputs))
            for x, g in zip(node.inputs, ds.gradient_rule(node.op_type)(ctx, grads[node])):
                grads[x] = g  # overwrites instead of adding
    return grads
"""

BREADTH_FIRST_BACKPROP = """
from collections import deque

def backprop(loss, values):
    grads = {loss: np.ones_like(values[loss])}
    queue, seen = deque([loss]), {loss}
    while queue:  # breadth-first from the loss: a node may be passed on before it is complete
        node = queue.popleft()
        if not isinstance(node, ds.Operation):
            continue
        ctx = ds.OpContext(node, tuple(values[x] for x in node.inputs), values[node],
                           (True,) * len(node.inputs))
        for x, g in zip(node.inputs, ds.gradient_rule(node.op_type)(ctx, grads[node])):
            grads[x] = grads[x] + g if x in grads else g
            if x not in seen:
                seen.add(x)
                queue.append(x)
    return grads
"""

PULLING_BACKPROP = """
def backprop(loss, values):
    # Each node sums what its consumers pass back, reading every consumer, even those off the path.
    grads = {loss: np.ones_like(values[loss])}
    for node in reversed(topological_order(loss)):
        if node is loss:
            continue
        total = 0
        for c in node.consumers:
            ctx = ds.OpContext(c, tuple(values[x] for x in c.inputs), values[c], (True,) * len(c.inputs))
            parts = ds.gradient_rule(c.op_type)(ctx, grads[c])
            total = total + sum(g for x, g in zip(c.inputs, parts) if x is node)
        grads[node] = total
    return grads
"""

# --- assignment 3 ------------------------------------------------------------------------------

NAIVE_CROSS_ENTROPY = """
def cross_entropy(logits, labels):
    return ds.negative(ds.reduce_sum(labels * ds.log(ds.softmax(logits))))
"""

IN_PLACE_STEP = """
def gradient_descent_step(gradients, learning_rate):
    for variable, gradient in gradients.items():
        if gradient is not None:
            variable.value -= learning_rate * gradient
"""

EVERY_NODE_TRAIN = """
def train(loss, variables, feed_dict, learning_rate, steps):
    session = ds.Session(loss.graph)
    losses = []
    for _ in range(steps):
        losses.append(float(session.run(loss, feed_dict)))
        gradient_descent_step(ds.compute_gradients(loss, feed_dict), learning_rate)  # no wrt=
    return losses
"""

ASCENDING_TRAIN = """
def train(loss, variables, feed_dict, learning_rate, steps):
    session = ds.Session(loss.graph)
    losses = []
    for _ in range(steps):
        losses.append(float(session.run(loss, feed_dict)))
        gradient_descent_step(ds.compute_gradients(loss, feed_dict, wrt=variables), -learning_rate)
    return losses
"""

# --- grades that can be trusted: the typical mistakes of assignments 2 and 3 ------------------------

IN_PLACE_BACKPROP = """
def backprop(loss, values):
    grads = {loss: np.ones_like(values[loss])}
    for node in reversed(topological_order(loss)):
        if isinstance(node, ds.Operation):
            ctx = ds.OpContext(node, tuple(values[x] for x in node.inputs), values[node],
                               (True,) * len(node.inputs))
            for x, g in zip(node.inputs, ds.gradient_rule(node.op_type)(ctx, grads[node])):
                if g is not None:
                    if x in grads:
                        grads[x] += g  # changes an array a rule may have handed back
                    else:
                        grads[x] = g
    return grads
"""

FORWARDS_BACKPROP = """
def backprop(loss, values):
    grads = {loss: np.ones_like(values[loss])}
    for node in topological_order(loss):  # inputs first: reversed() forgotten
        if isinstance(node, ds.Operation):
            ctx = ds.OpContext(node, tuple(values[x] for x in node.inputs), values[node],
                               (True,) * len(node.inputs))
            for x, g in zip(node.inputs, ds.gradient_rule(node.op_type)(ctx, grads[node])):
                if g is not None:
                    grads[x] = grads[x] + g if x in grads else g
    return grads
"""

# The same walk, made not to raise: every node starts from a zero gradient.
FORWARDS_ZEROS_BACKPROP = FORWARDS_BACKPROP.replace(
    "grads[node])", "grads.get(node, np.zeros_like(values[node])))")

LIBRARY_CROSS_ENTROPY = """
def cross_entropy(logits, labels):
    return ds.negative(ds.reduce_sum(labels * ds.log_softmax(logits, axis=-1)))
"""

MEAN_CROSS_ENTROPY = """
def cross_entropy(logits, labels):
    m = ds.reduce_max(logits, axis=-1, keepdims=True)
    shifted = logits - m
    log_p = shifted - ds.log(ds.reduce_sum(ds.exp(shifted), axis=-1, keepdims=True))
    return ds.negative(ds.reduce_mean(labels * log_p))  # a mean instead of the sum
"""

AFTER_STEP_TRAIN = """
def train(loss, variables, feed_dict, learning_rate, steps):
    session = ds.Session(loss.graph)
    losses = []
    for _ in range(steps):
        gradient_descent_step(ds.compute_gradients(loss, feed_dict, wrt=variables), learning_rate)
        losses.append(float(session.run(loss, feed_dict)))  # measured after the step
    return losses
"""

FORGETFUL_MOMENTUM = """
def momentum_step(gradients, state, learning_rate, momentum=0.9):
    for variable, gradient in gradients.items():
        if gradient is not None:
            velocity = momentum * 0 + gradient  # the velocity is not kept
            variable.value = variable.value - learning_rate * velocity
"""

DAMPENED_MOMENTUM = """
def momentum_step(gradients, state, learning_rate, momentum=0.9):
    for variable, gradient in gradients.items():
        if gradient is not None:
            state[variable] = momentum * state.get(variable, 0) + (1 - momentum) * gradient
            variable.value = variable.value - learning_rate * state[variable]
"""

UNCORRECTED_ADAM = """
def adam_step(gradients, state, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
    for variable, gradient in gradients.items():
        if gradient is not None:
            m, v = state.get(variable, (0, 0))
            m = beta1 * m + (1 - beta1) * gradient
            v = beta2 * v + (1 - beta2) * gradient ** 2
            state[variable] = (m, v)
            variable.value = variable.value - learning_rate * m / (np.sqrt(v) + epsilon)  # no bias correction
"""

UNCOUNTED_ADAM = """
def adam_step(gradients, state, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
    t = 1  # never counts up
    for variable, gradient in gradients.items():
        if gradient is not None:
            m, v = state.get(variable, (0, 0))
            m = beta1 * m + (1 - beta1) * gradient
            v = beta2 * v + (1 - beta2) * gradient ** 2
            state[variable] = (m, v)
            m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
            variable.value = variable.value - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon)
"""

UNSHUFFLED_MINIBATCHES = """
def train_minibatches(step, X, Y, batch_size, epochs, seed=0):
    losses = []
    for _ in range(epochs):
        for start in range(0, len(X), batch_size):
            losses.append(step(X[start:start + batch_size], Y[start:start + batch_size]))
    return losses
"""

SEPARATELY_SHUFFLED_MINIBATCHES = """
def train_minibatches(step, X, Y, batch_size, epochs, seed=0):
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        X, Y = rng.permutation(X), rng.permutation(Y)  # labels leave their points
        for start in range(0, len(X), batch_size):
            losses.append(step(X[start:start + batch_size], Y[start:start + batch_size]))
    return losses
"""

SAME_ORDER_MINIBATCHES = """
def train_minibatches(step, X, Y, batch_size, epochs, seed=0):
    losses = []
    for _ in range(epochs):
        order = np.random.default_rng(seed).permutation(len(X))  # the same order every epoch
        for start in range(0, len(X), batch_size):
            batch = order[start:start + batch_size]
            losses.append(step(X[batch], Y[batch]))
    return losses
"""

SHORT_MINIBATCHES = """
def train_minibatches(step, X, Y, batch_size, epochs, seed=0):
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for b in range(len(X) // batch_size):  # the last, smaller batch is left out
            batch = order[b * batch_size:(b + 1) * batch_size]
            losses.append(step(X[batch], Y[batch]))
    return losses
"""


# --- assignment 4 ------------------------------------------------------------------------------

RECURSIVE_POST_ORDER = """
# Chapter 1's teaching version: one nested call per level of the graph.
def post_order(node, visited=None, order=None):
    if visited is None:
        visited, order = set(), []
    for input_node in node.inputs:
        if input_node not in visited:
            post_order(input_node, visited, order)
    visited.add(node)
    order.append(node)
    return order
"""

PRE_ORDER = """
def post_order(node):
    # Places each node when it is first reached, before its inputs: pre-order.
    order, placed, stack = [], set(), [node]
    while stack:
        current = stack.pop()
        if current not in placed:
            placed.add(current)
            order.append(current)
            stack.extend(current.inputs)
    return order
"""

RECOMPUTING_EVALUATE = """
def evaluate(fetches, feed_dict):
    values = {}
    for fetch in fetches:
        for node in post_order(fetch):  # a node shared by two fetches is computed again
            if node in feed_dict:
                values[node] = np.asarray(feed_dict[node])
            elif isinstance(node, ds.Placeholder):
                raise ds.FeedError(f"placeholder {node.name!r} needs a value in feed_dict")
            elif isinstance(node, ds.Operation):
                inputs = [values[x] for x in node.inputs]
                values[node] = ds.op_class(node.op_type).forward(ds.OpContext(node, inputs), *inputs, **node.attrs)
            else:
                values[node] = node.value
    return values
"""

UNCHECKED_FEED_EVALUATE = """
def evaluate(fetches, feed_dict):
    values = {}
    for fetch in fetches:
        for node in post_order(fetch):
            if node in values:
                continue
            if isinstance(node, ds.Placeholder):
                values[node] = feed_dict.get(node)  # None when it was not fed
            elif isinstance(node, ds.Operation):
                inputs = [values[x] for x in node.inputs]
                values[node] = ds.op_class(node.op_type).forward(ds.OpContext(node, inputs), *inputs, **node.attrs)
            else:
                values[node] = feed_dict.get(node, node.value)
    return values
"""

MUTATING_EVALUATE = """
def evaluate(fetches, feed_dict):
    values = {}
    for fetch in fetches:
        for node in post_order(fetch):
            if node in values:
                continue
            if node in feed_dict:
                node.value = np.asarray(feed_dict[node])  # stored on the node, as TensorSlow does
                values[node] = node.value
            elif isinstance(node, ds.Placeholder):
                raise ds.FeedError(f"placeholder {node.name!r} needs a value in feed_dict")
            elif isinstance(node, ds.Operation):
                inputs = [values[x] for x in node.inputs]
                values[node] = ds.op_class(node.op_type).forward(ds.OpContext(node, inputs), *inputs, **node.attrs)
            else:
                values[node] = node.value
    return values
"""

OWN_OPS_EVALUATE = """
OWN_OPS = {"Add": np.add, "Mul": np.multiply, "MatMul": np.matmul, "Neg": np.negative, "Exp": np.exp,
           "Sigmoid": lambda x: 1 / (1 + np.exp(-x)), "ReduceSum": lambda x, axis=None: np.sum(x, axis=axis)}

def evaluate(fetches, feed_dict):
    values = {}
    for fetch in fetches:
        for node in post_order(fetch):
            if node in values:
                continue
            if node in feed_dict:
                values[node] = np.asarray(feed_dict[node])
            elif isinstance(node, ds.Placeholder):
                raise ds.FeedError(f"placeholder {node.name!r} needs a value in feed_dict")
            elif isinstance(node, ds.Operation):  # its own table of ops instead of the registry
                values[node] = OWN_OPS[node.op_type](*[values[x] for x in node.inputs], **node.attrs)
            else:
                values[node] = node.value
    return values
"""
