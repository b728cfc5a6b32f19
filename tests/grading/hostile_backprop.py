"""Hostile and unusual submissions of assignment 2 (topological_order and backprop), each with the
test cells it must fail.

Every case is the instructor's solution with one kind of attack or accident in it. The solution's
backprop calls the student's own topological_order, so a case that breaks (or borrows) the order
loses the backprop cells too. Every other test cell must keep full marks.
"""
from .hostile_suite import EXIT, LOOP, function, honest_helpers, patched_checks, reads_solutions
from .submissions import OVERWRITING_BACKPROP

# The test cells of the release (as of this writing; cases() takes the real list, so a test cell
# added to the notebook is counted where it belongs: the order's cells are named for it, and every
# other test cell uses backprop).
TEST_CELLS = {"test_topological_order", "test_topological_order_hidden", "test_backprop_chain",
              "test_backprop_diamond", "test_backprop_skip_connection", "test_backprop_dead_branch",
              "test_backprop_long_chain", "test_backprop_hidden", "test_training_with_your_backprop"}


def order(body):
    return function("topological_order(loss)", body)


def backprop(body):
    return function("backprop(loss, values)", body)


# backprop that overwrites a shared node's gradient: wrong wherever a node has two consumers
OVERWRITING = OVERWRITING_BACKPROP.lstrip()
OVERWRITING_FAILS = {"test_backprop_diamond", "test_backprop_skip_connection", "test_backprop_dead_branch",
                     "test_backprop_hidden"}

HONEST_HELPERS = honest_helpers("""
    def inputs_of(node):
        \"\"\"The nodes `node` is computed from.\"\"\"
        return list(node.inputs)
""")


def cases(course_root, test_cells=TEST_CELLS):
    """{student: (answers, changes, cells that must score 0)}; `changes` are submission() keyword arguments."""
    order_cells = {c for c in test_cells if c.startswith("test_topological_order")}
    backprop_cells = set(test_cells) - order_cells  # the solution's backprop uses the student's order
    every_cell = set(test_cells)
    return {
        # honest, and the same shape as the attacks: own helper cell, a magic, prints, warnings, a scratch file
        "honest": ({"topological_order": order("""
                        order, placed, stack = [], set(), [(loss, False)]
                        while stack:
                            node, inputs_done = stack.pop()
                            if node in placed:
                                continue
                            if inputs_done:
                                placed.add(node)
                                order.append(node)
                            else:
                                stack.append((node, True))
                                stack.extend((x, False) for x in inputs_of(node) if x not in placed)
                        print("ordered", len(order), "nodes")
                        warnings.warn("a warning of my own")
                        return order""")},
                   {"insert_after": {"setup": HONEST_HELPERS}}, set()),
        # reusing the library's traversal
        "captured-order": ({"topological_order": "library_order = ds.topological_order\n"
                            + order("return library_order([loss])")}, {}, every_cell),
        "calls-order": ({"topological_order": order("return ds.topological_order([loss])")}, {}, every_cell),
        "session-order": ({"topological_order": order("return list(ds.Session(loss.graph).evaluate_all(loss))")},
                          {}, every_cell),
        "creation-order": ({"topological_order": order("""
                                behind, stack = set(), [loss]
                                while stack:  # which nodes: a walk; in what order: the graph's own list
                                    node = stack.pop()
                                    if node not in behind:
                                        behind.add(node)
                                        stack.extend(node.inputs)
                                return [node for node in loss.graph.nodes if node in behind]""")},
                           {}, every_cell),
        "captured-backprop": ({"backprop": "from dlscratch.core import autodiff\nlibrary_backprop = autodiff.backprop\n"
                               + backprop("return library_backprop(loss, values)")}, {}, backprop_cells),
        "alias-backprop": ({"backprop": "backprop = ds.backprop\n"}, {}, backprop_cells),
        "values-order": ({"backprop": backprop("""
                              grads = {loss: np.ones_like(values[loss])}
                              for node in reversed(list(values)):  # the forward pass's order, reversed
                                  if isinstance(node, ds.Operation):
                                      ctx = ds.OpContext(node, tuple(values[x] for x in node.inputs), values[node],
                                                         (True,) * len(node.inputs))
                                      rule = ds.gradient_rule(node.op_type)
                                      for x, g in zip(node.inputs, rule(ctx, grads[node])):
                                          grads[x] = grads[x] + g if x in grads else g
                              return grads""")}, {}, backprop_cells),
        # tampering with the judge (each with a wrong backprop the tampering is meant to hide)
        "patched-checks": ({"backprop": OVERWRITING + patched_checks("traversal", ["check_backprop",
                                                                                  "check_training"])},
                           {}, OVERWRITING_FAILS),
        "patched-rel-error": ({"backprop": OVERWRITING + "ds.gradcheck.rel_error = lambda a, b: 0.0\n"},
                              {}, OVERWRITING_FAILS),
        # reading answers from disk
        "reads-solutions": ({"backprop": reads_solutions(course_root, "02-backprop", "backprop", "backprop")},
                            {}, backprop_cells),
        # exits and loops
        "exit-in-answer-cell": ({}, {"append": {"backprop": EXIT}}, backprop_cells),
        "loop-in-answer-cell": ({"topological_order": LOOP}, {}, every_cell),
    }
