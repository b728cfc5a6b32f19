"""Hostile and unusual submissions of assignment 4 (the forward engine: post_order and evaluate), each with
the test cells it must fail.

Every case is the instructor's solution with one kind of attack or accident in it. The solution's `evaluate`
walks the student's own `post_order`, so a case that breaks (or borrows) the order loses every evaluation
cell too (`cells()`); a case that breaks `evaluate` keeps the order's cells. Every other test cell must keep
full marks.
"""
from . import submissions as s
from .hostile_suite import (
    AST_TRANSFORMER,
    EXIT,
    INPUT_TRANSFORMER,
    code,
    function,
    honest_helpers,
    patched_checks,
    reads_gradebook,
    reads_solutions,
    rebound_grading,
)
from .nbgrader_course import REPO, read_notebook

A4 = "04-forward-engine"
SOLVED = s.solutions(read_notebook(REPO / "solutions" / A4 / "forward_engine.ipynb"))

# Each answer's test cells (test_hostile_forward checks that together they are the release's).
CELLS = {
    "post_order": {"test_post_order", "test_post_order_hidden"},
    "evaluate": {"test_evaluate_chain", "test_evaluate_affine", "test_evaluate_diamond",
                 "test_evaluate_unfed_placeholder", "test_evaluate_fed_variable", "test_evaluate_long_chain",
                 "test_evaluate_hidden", "test_trained_mlp"},
}
CALLED_BY = {"post_order": ["evaluate"]}  # the solution's evaluate walks the student's own post_order
EVERY_CELL = set().union(*CELLS.values())
LONG = {"test_post_order_hidden", "test_evaluate_long_chain"}  # the cells with a chain of 1,200 ops
TWO_FETCHES = {"test_evaluate_diamond", "test_evaluate_hidden", "test_trained_mlp"}  # evaluate([a, b], ...)
FED_PLACEHOLDER = {"test_evaluate_affine", "test_evaluate_hidden", "test_trained_mlp"}


def cells(name):
    """The test cells a broken (or borrowed, or undefined) `name` must fail: its own and its callers'."""
    return CELLS[name].union(*(CELLS[caller] for caller in CALLED_BY.get(name, [])))


CHECKS = ["check_post_order", "check_evaluate", "check_unfed_placeholder", "check_trained_mlp", "trained_mlp"]


def post_order(body):
    return function("post_order(node)", body)


def evaluate(body):
    return function("evaluate(fetches, feed_dict)", body)


def evaluate_with(op_value="ds.op_class(node.op_type).forward(ds.OpContext(node, inputs), *inputs, **node.attrs)",
                  first="", leaf="node.value", unfed='raise ds.FeedError(f"placeholder {node.name!r} needs a value")'):
    """The solution's evaluate with one of its parts changed: `first` (code run first), how an op's value
    is computed, what a Variable or constant gives, and what an unfed placeholder does."""
    return evaluate(f"""
        {first}
        values = {{}}
        for fetch in fetches:
            for node in post_order(fetch):
                if node in values:
                    continue
                if node in feed_dict:
                    values[node] = np.asarray(feed_dict[node])
                elif isinstance(node, ds.Placeholder):
                    {unfed}
                elif isinstance(node, ds.Operation):
                    inputs = [values[x] for x in node.inputs]
                    values[node] = {op_value}
                else:
                    values[node] = {leaf}
        return values""")


# A fed Variable read from node.value anyway: only the fed-Variable case notices.
IGNORING_FED_VARIABLES = evaluate_with().replace("if node in feed_dict:",
                                                 "if node in feed_dict and not isinstance(node, ds.Variable):")

HONEST_HELPERS = honest_helpers("""
    def inputs_of(node):
        \"\"\"The nodes `node` is computed from.\"\"\"
        return list(node.inputs)
""")


def cases(course_root):
    """{student: (answers, changes, cells that must score 0)}; `changes` are hostile_suite.build() arguments."""
    return {
        # honest, and the same shape as the attacks: own helper cell, a magic, prints, a warning, a scratch file
        "honest": ({"post_order": post_order("""
                        order, placed, stack = [], set(), [(node, False)]
                        while stack:
                            current, inputs_done = stack.pop()
                            if current in placed:
                                continue
                            if inputs_done:
                                placed.add(current)
                                order.append(current)
                            else:
                                stack.append((current, True))
                                stack.extend((x, False) for x in inputs_of(current) if x not in placed)
                        print("ordered", len(order), "nodes")
                        warnings.warn("a warning of my own")
                        return order""")},
                   {"insert_after": {"setup": HONEST_HELPERS}}, set()),
        # reusing the library's traversal and Session
        "calls-order": ({"post_order": post_order("return ds.topological_order([node])")}, {}, cells("post_order")),
        "captured-order": ({"post_order": post_order("return library_order([node])")},
                           {"insert_after": {"setup": "from dlscratch.core.traversal import topological_order "
                                                      "as library_order\n"}}, cells("post_order")),
        "creation-order": ({"post_order": post_order("""
                                behind, stack = set(), [node]
                                while stack:  # which nodes: a walk; in what order: the graph's own list
                                    current = stack.pop()
                                    if current not in behind:
                                        behind.add(current)
                                        stack.extend(current.inputs)
                                return [n for n in node.graph.nodes if n in behind]""")},
                           {}, cells("post_order")),
        "session-evaluate": ({"evaluate": evaluate("return dict(ds.Session(fetches[0].graph).evaluate_all(fetches, "
                                                   "feed_dict))")}, {}, cells("evaluate")),
        "session-run": ({"evaluate": evaluate("""
                             nodes, seen = [], set()
                             for fetch in fetches:
                                 for node in post_order(fetch):
                                     if node not in seen:
                                         seen.add(node)
                                         nodes.append(node)
                             return dict(zip(nodes, ds.Session(fetches[0].graph).run(nodes, feed_dict)))""")},
                        {}, cells("evaluate")),
        "captured-run": ({"evaluate": evaluate("""
                              nodes = list(dict.fromkeys(node for fetch in fetches for node in post_order(fetch)))
                              return dict(zip(nodes, library_run(ds.Session(fetches[0].graph), nodes, feed_dict)))""")},
                         {"insert_after": {"setup": "library_run = ds.Session.run\n"}}, cells("evaluate")),
        "captured-evaluate-all": ({"evaluate": evaluate("""
                                       return dict(library_evaluate_all(ds.Session(fetches[0].graph), fetches,
                                                                        feed_dict))""")},
                                  {"insert_after": {"setup": "library_evaluate_all = ds.Session.evaluate_all\n"}},
                                  cells("evaluate")),
        # the order the check's own Session run left in the graph's cache
        "cached-order": ({"evaluate": evaluate("""
                              [order] = [order for key, order in fetches[0].graph.cache.items()
                                         if key[0] == "forward" and set(key[1]) == set(fetches)][:1]
                              values = {}
                              for node in order:
                                  if node in feed_dict:
                                      values[node] = np.asarray(feed_dict[node])
                                  elif isinstance(node, ds.Operation):
                                      inputs = [values[x] for x in node.inputs]
                                      values[node] = ds.op_class(node.op_type).forward(ds.OpContext(node, inputs),
                                                                                       *inputs, **node.attrs)
                                  else:
                                      values[node] = node.value
                              return values""")},
                         {}, cells("evaluate")),
        # tampering with the judge (each with a wrong answer the tampering is meant to hide)
        "patched-checks": ({"evaluate": s.RECOMPUTING_EVALUATE + patched_checks("forward", CHECKS[:4])}, {},
                           TWO_FETCHES),
        "patched-numpy": ({"evaluate": IGNORING_FED_VARIABLES + "np.max = lambda *args, **kwargs: 0.0\n"}, {},
                          {"test_evaluate_fed_variable"}),
        "rebound-module": ({"evaluate": s.MUTATING_EVALUATE + rebound_grading(CHECKS)}, {},
                           {"test_evaluate_fed_variable"}),
        "input-transformer": ({"evaluate": s.UNCHECKED_FEED_EVALUATE + INPUT_TRANSFORMER}, {},
                              {"test_evaluate_unfed_placeholder"}),
        "ast-transformer": ({"post_order": s.RECURSIVE_POST_ORDER + AST_TRANSFORMER}, {}, LONG),
        # reading answers from disk
        "reads-solutions": ({"evaluate": reads_solutions(course_root, A4, "forward_engine", "evaluate")}, {},
                            cells("evaluate")),
        "reads-gradebook": ({"post_order": reads_gradebook(course_root, SOLVED["post_order"])}, {},
                            cells("post_order")),
        # exits, interrupts, loops and bombs, each where it costs only some of the cells
        "exit-in-answer-cell": ({}, {"append": {"evaluate": EXIT}}, cells("evaluate")),
        "os-exit-in-function": ({"post_order": post_order("""
                                     order, placed, stack = [], set(), [(node, False)]
                                     while stack:
                                         current, inputs_done = stack.pop()
                                         if current in placed:
                                             continue
                                         if inputs_done:
                                             placed.add(current)
                                             order.append(current)
                                             if len(order) > 1000:  # only the long chain gets this far
                                                 import os
                                                 os._exit(0)
                                         else:
                                             stack.append((current, True))
                                             stack.extend((x, False) for x in current.inputs if x not in placed)
                                     return order""")}, {}, LONG),
        "sys-exit-in-function": ({"evaluate": evaluate_with(first=code("""
                                      if any(isinstance(node, ds.Variable) for node in feed_dict):
                                          import sys
                                          sys.exit(0)""").rstrip().replace("\n", "\n        "))},
                                 {}, {"test_evaluate_fed_variable"}),
        "keyboard-interrupt": ({"evaluate": evaluate_with(first="if len(fetches) > 1: raise KeyboardInterrupt")},
                               {}, TWO_FETCHES),
        "loop-in-function": ({"evaluate": evaluate_with(unfed="while True: pass  # wait for a value")}, {},
                             {"test_evaluate_unfed_placeholder"}),
        "memory-bomb": ({"evaluate": evaluate_with(first="hoard = [bytearray(2 ** 36) for node in feed_dict "
                                                         "if isinstance(node, ds.Placeholder)]")},
                        {}, FED_PLACEHOLDER),
        # the notebook itself: fake messages, hard-coded answers, edited and deleted test cells
        "fake-passed": ({"evaluate": s.RECOMPUTING_EVALUATE.replace("    values = {}",
                                                                    "    print('All tests passed!')\n    values = {}")
                         + "print('test_evaluate passed: 10/10 points')\n"}, {}, TWO_FETCHES),
        # the values of the notebook's own z = A·x + b pasted in: an op's value must come from its forward
        "hard-coded": ({"evaluate": evaluate_with(
                            op_value='{"y": np.array([1.0, -2.0]), "z": np.array([2.0, -1.0])}.get(node.name, 0.0)')},
                       {}, cells("evaluate") - {"test_evaluate_unfed_placeholder"}),
        "tampered-cells": ({"evaluate": s.OWN_OPS_EVALUATE},
                           {"replace": {"test_evaluate_chain": "print('test_evaluate_chain passed')",
                                        "test_evaluate_affine": "pass"},
                            "metadata": {"test_evaluate_chain": {"solution": True, "locked": False, "points": 100},
                                         "test_evaluate_diamond": {"grade": False}},
                            "extra_graded_cell": ("pass  # a test cell of my own, worth 100 points", 100)},
                           cells("evaluate") - {"test_evaluate_unfed_placeholder"}),
        "deleted-cells": ({}, {"drop": {"test_post_order", "test_trained_mlp"}},
                          {"test_post_order", "test_trained_mlp"}),
    }
