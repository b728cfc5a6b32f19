"""Hostile and unusual submissions of assignment 1, each with the test cells it must fail.

Every case is an otherwise correct submission (the instructor's solution) with one kind of
attack or accident in it, so the cells it must fail are exactly those of the part it did
not earn: `cells(op)` for an op's own tests, plus the training cell when that op is part of
the network (every op except exp and relu). Every other test cell must keep full marks.

`cases(course_root, port)` takes the course folder (for the cases that go looking for it)
and a TCP port on 127.0.0.1 where the test listens (for the network case).
"""
from .hostile_suite import (
    AST_TRANSFORMER,
    EXIT,
    INPUT_TRANSFORMER,
    LOOP,
    SILENT_TRACEBACKS,
    honest_helpers,
    patched_checks,
    reads_solutions,
    rebound_grading,
)
from .submissions import rule

TRAIN = "test_training_with_your_rules"
NOT_IN_NETWORK = {"exp", "relu"}


def cells(op):
    """The test cells that a broken `op` rule must fail."""
    return {f"test_{op}", f"test_{op}_hidden"} | (set() if op in NOT_IN_NETWORK else {TRAIN})


def undefined(op):
    """The test cells that fail when `op`'s rule is not defined at all: the training cell names every rule."""
    return cells(op) | {TRAIN}


HONEST_HELPERS = honest_helpers("""
    def sum_to_shape(g, shape):
        \"\"\"Sum g down to shape, undoing broadcasting (shared by add and multiply).\"\"\"
        while g.ndim > len(shape):
            g = g.sum(axis=0)
        for axis, size in enumerate(shape):
            if size == 1 and g.shape[axis] != 1:
                g = g.sum(axis=axis, keepdims=True)
        return g
""")


def cases(course_root, port):
    """{student: (answers, changes, cells that must score 0)}; `changes` are submission() keyword arguments."""
    marker = f"{course_root}/written-by-a-student.txt"
    wrong_negative = rule("negative_backward", "return (grad,)")
    plan = {
        # honest, and the same shape as the attacks: own helper cell, magics, prints, warnings, scratch files
        "honest": ({"add_backward": rule("add_backward", "x, y = ctx.inputs\nprint('add called')\n"
                                         "return sum_to_shape(grad, np.shape(x)), sum_to_shape(grad, np.shape(y))"),
                    "multiply_backward": rule("multiply_backward", "x, y = ctx.inputs\nwarnings.warn('hm')\n"
                                              "return sum_to_shape(grad * y, np.shape(x)), "
                                              "sum_to_shape(grad * x, np.shape(y))")},
                   {"insert_after": {"setup": HONEST_HELPERS}}, set()),
        # reusing the library's answers
        "alias-rule": ({"negative_backward": "negative_backward = ds.gradient_rule(ds.negative)\n"}, {},
                       cells("negative")),
        "calls-rule": ({"negative_backward": rule("negative_backward", "return ds.gradient_rule('Neg')(ctx, grad)")},
                       {}, cells("negative")),
        "captured-rule": ({"multiply_backward": "library_rule = ds.OPS['Mul'].backward\n"
                           + rule("multiply_backward", "return library_rule(ctx, grad)")}, {}, cells("multiply")),
        "op-class-backward": ({"matmul_backward": rule("matmul_backward",
                                                       "return ds.core.ops.MatMul.backward(ctx, grad)")},
                              {}, cells("matmul")),
        "unbroadcast": ({"add_backward": rule("add_backward", "x, y = ctx.inputs\n"
                                              "return ds.unbroadcast(grad, np.shape(x)), "
                                              "ds.unbroadcast(grad, np.shape(y))")}, {}, cells("add")),
        "reloaded-library": ({"exp_backward": "import importlib, dlscratch.core.ops as fresh_ops\n"
                              "importlib.reload(fresh_ops)\n"
                              + rule("exp_backward", "return fresh_ops.Exp.backward(ctx, grad)")}, {}, cells("exp")),
        "library-source": ({"relu_backward": "import dlscratch.core.ops\nlibrary = {}\n"
                            "exec(open(dlscratch.core.ops.__file__).read().replace('from .', 'from dlscratch.core.'), "
                            "library)\n" + rule("relu_backward", "return library['Relu'].backward(ctx, grad)")},
                           {}, cells("relu")),
        # tampering with the judge (each with a wrong rule the tampering is meant to hide)
        "patched-checks": ({"negative_backward": wrong_negative + patched_checks(
                                "rules", ["check_rule", "check_rule_at_extremes", "check_node_used_twice",
                                          "check_training"])}, {}, cells("negative")),
        "patched-rel-error": ({"multiply_backward": rule("multiply_backward",
                                                         "x, y = ctx.inputs\nreturn grad * x, grad * y")
                               + "import dlscratch.grading.report as report\n"
                                 "ds.gradcheck.rel_error = lambda a, b: 0.0\nreport.close = lambda *args: True\n"},
                              {}, cells("multiply")),
        "rebound-module": ({"log_backward": rule("log_backward", "return (grad / ctx.output,)") + rebound_grading(
                                ["check_rule", "check_rule_at_extremes", "check_node_used_twice", "train_xor_mlp",
                                 "check_training"])}, {}, cells("log")),
        "patched-numpy": ({"softmax_backward": rule("softmax_backward",
                                                    "y = ctx.output\nreturn (grad * y * (1 - y),)")
                           + "np.max = lambda *args, **kwargs: 0.0\nnp.all = lambda *args, **kwargs: True\n"},
                          {}, cells("softmax")),
        # the library's traversal is in the sandbox (the training check runs it there, one call per step):
        # patched to scale every gradient, it still trains, so only the grader's spot checks can tell
        "patched-traversal": ({"negative_backward": rule("negative_backward", "return (-grad,)")
                               + "import dlscratch.core.autodiff as autodiff\nreal_backprop = autodiff.backprop\n"
                                 "autodiff.backprop = lambda loss, values, **kw: "
                                 "{n: 1.5 * g for n, g in real_backprop(loss, values, **kw).items()}\n"},
                              {}, {TRAIN}),
        "ipython-traceback": ({"sigmoid_backward": rule("sigmoid_backward", "return (grad,)") + SILENT_TRACEBACKS},
                              {}, cells("sigmoid")),
        "input-transformer": ({"relu_backward": rule("relu_backward", "return (grad,)") + INPUT_TRANSFORMER},
                              {}, cells("relu")),
        "ast-transformer": ({"reduce_sum_backward": rule("reduce_sum_backward",
                                                         "return (np.ones_like(ctx.inputs[0]) * np.sum(grad),)")
                             + AST_TRANSFORMER}, {}, cells("reduce_sum")),
        # reading answers from disk
        "reads-solutions": ({"exp_backward": reads_solutions(course_root, "01-backward-passes", "backward_passes",
                                                             "exp_backward")}, {}, undefined("exp")),
        # exits, interrupts, loops and bombs
        "exit-in-answer-cell": ({"negative_backward": rule("negative_backward", "return (-grad,)") + EXIT}, {},
                                cells("negative")),
        "sys-exit-in-rule": ({"add_backward": rule("add_backward", "import sys\nsys.exit(0)")}, {}, cells("add")),
        "os-exit-in-rule": ({"multiply_backward": rule("multiply_backward", "import os\nos._exit(0)")}, {},
                            cells("multiply")),
        "keyboard-interrupt": ({"matmul_backward": rule("matmul_backward", "raise KeyboardInterrupt")}, {},
                               cells("matmul")),
        "loop-in-answer-cell": ({"relu_backward": rule("relu_backward", "return (grad * (ctx.inputs[0] > 0),)")
                                 + LOOP}, {}, undefined("relu")),
        "memory-bomb": ({"sigmoid_backward": rule("sigmoid_backward", "hoard = bytearray(2 ** 36)\n"
                                                  "return (grad * ctx.output * (1 - ctx.output),)")}, {},
                        cells("sigmoid")),
        "fork-bomb": ({"log_backward": rule("log_backward", """
                           import os, time
                           for _ in range(200):
                               if os.fork() == 0:
                                   time.sleep(5)
                                   os._exit(0)
                           return (grad / ctx.inputs[0],)""")}, {}, cells("log")),
        # the outside world
        "network": ({"exp_backward": rule("exp_backward", f"""
                        import socket
                        socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
                        return (grad * ctx.output,)""")}, {}, cells("exp")),
        "writes-outside": ({"log_backward": rule("log_backward", f"""
                               with open({marker!r}, "w") as f:
                                   f.write("I was here")
                               return (grad / ctx.inputs[0],)""")}, {}, cells("log")),
        # the notebook itself: edited test cells and metadata, fake messages, hard-coded answers
        "tampered-cells": ({"negative_backward": wrong_negative},
                           {"replace": {"test_negative": "print('test_negative passed')",
                                        "test_negative_hidden": "pass"},
                            "metadata": {"test_negative": {"solution": True, "locked": False, "points": 100},
                                         "test_negative_hidden": {"grade": False}},
                            "extra_graded_cell": ("pass  # a test cell of my own, worth 100 points", 100)},
                           cells("negative")),
        "fake-passed": ({"exp_backward": rule("exp_backward", "print('All tests passed!')\nreturn (ctx.output,)")
                         + "print('test_exp passed: 3/3 points')\n"}, {}, cells("exp")),
        # the visible case answered from a printout of grading.example: the grader draws its own grad
        "hard-coded": ({"negative_backward": rule("negative_backward", """
                           x = ctx.inputs[0]
                           if x.shape == (1, 3):  # the visible test's case, answered from a printout of it
                               return (np.array([[-0.12573022, 0.13210486, -0.64042265]]),)
                           return (np.zeros_like(x),)""")}, {}, cells("negative")),
    }
    return plan

