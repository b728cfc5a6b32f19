"""Hostile and unusual submissions of assignment 3 (training), each with the test cells it must fail.

Every case is the instructor's solution with one kind of attack or accident in it. The solution's `train`
calls the student's own `gradient_descent_step`, so a case that breaks (or borrows) the step loses the
loop's cells too (`cells()`). The loop's tests train with the library's loss and the mini-batch tests hand
in a step of their own, so `cross_entropy` and `train_minibatches` cost only their own cells. Every other
test cell must keep full marks.
"""
import functools
import textwrap

import numpy as np

import dlscratch as ds

from . import submissions as s
from .hostile_suite import (
    AST_TRANSFORMER,
    EXIT,
    INPUT_TRANSFORMER,
    LOOP,
    SILENT_TRACEBACKS,
    code,
    function,
    honest_helpers,
    patched_checks,
    reads_gradebook,
    reads_solutions,
    rebound_grading,
)
from .nbgrader_course import REPO, read_notebook

A3 = "03-training"
SOLVED = s.solutions(read_notebook(REPO / "solutions" / A3 / "training.ipynb"))

# Each answer's test cells (test_hostile_training checks that together they are the release's).
CELLS = {
    "cross_entropy": {"test_cross_entropy", "test_cross_entropy_hidden"},
    "gradient_descent_step": {"test_gradient_descent_step", "test_gradient_descent_step_hidden"},
    "momentum_step": {"test_momentum_step", "test_momentum_step_hidden"},
    "adam_step": {"test_adam_step", "test_adam_step_hidden"},
    "train": {"test_train_loss_decreases", "test_train_red_blue", "test_train_xor"},
    "train_minibatches": {"test_train_minibatches", "test_train_minibatches_hidden"},
}
CALLED_BY = {"gradient_descent_step": ["train"]}  # the solution's train takes the student's own steps


def cells(name):
    """The test cells a broken (or borrowed, or undefined) `name` must fail: its own and its callers'."""
    return CELLS[name].union(*(CELLS[caller] for caller in CALLED_BY.get(name, [])))


CHECKS = ["check_cross_entropy", "check_gradient_descent_step", "check_momentum_step", "check_adam_step",
          "check_train", "check_train_minibatches"]


def cross_entropy(body):
    return function("cross_entropy(logits, labels)", body)


def gradient_descent_step(body):
    return function("gradient_descent_step(gradients, learning_rate)", body)


def momentum_step(body):
    return function("momentum_step(gradients, state, learning_rate, momentum=0.9)", body)


def adam_step(body):
    return function("adam_step(gradients, state, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8)",
                    body)


def train(body):
    return function("train(loss, variables, feed_dict, learning_rate, steps)", body)


def train_minibatches(body):
    return function("train_minibatches(step, X, Y, batch_size, epochs, seed=0)", body)


HONEST_HELPERS = honest_helpers("""
    def stepped(value, change):
        \"\"\"A new array: value moved by -change.\"\"\"
        return value - change
""")

# The loss as numbers: right for every case, but no graph node, so nothing to differentiate.
NUMPY_LOSS_BODY = """
    z, c = np.asarray(logits.value, dtype=float), np.asarray(labels.value, dtype=float)
    shifted = z - z.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return {}"""

IN_PLACE_MOMENTUM = momentum_step("""
    for variable, gradient in gradients.items():
        if gradient is not None:
            velocity = momentum * state.get(variable, 0) + gradient
            state[variable] = velocity
            variable.value -= learning_rate * velocity  # changes the array the session handed out""")


@functools.lru_cache(maxsize=1)
def visible_training_run():
    """The losses and the final weights of the instructor's train in the visible test cell
    test_train_loss_decreases (red/blue, 20 steps at 0.01), as a student would print them."""
    from dlscratch.grading.training import _training_problem
    loss, variables, feed, _ = _training_problem("red/blue")
    solution = {"ds": ds, "np": np}
    exec(SOLVED["gradient_descent_step"] + "\n" + SOLVED["train"], solution)
    losses = solution["train"](loss, variables, feed, 0.01, 20)
    return losses, {v.name: v.value.tolist() for v in variables}


def hard_coded_train():
    losses, weights = visible_training_run()
    return train(f"""
        # pasted from a printout of the visible test's run: its losses and the weights it ended with
        for variable in variables:
            variable.value = np.array({weights!r}[variable.name])
        return {losses!r}[:steps]""")


def cases(course_root):
    """{student: (answers, changes, cells that must score 0)}; `changes` are hostile_suite.build() arguments."""
    return {
        # honest, and the same shape as the attacks: own helper cell, a magic, prints, a warning, a scratch file
        "honest": ({"gradient_descent_step": gradient_descent_step("""
                        for variable, gradient in gradients.items():
                            if gradient is not None:
                                variable.value = stepped(variable.value, learning_rate * gradient)"""),
                    "train": train("""
                        session = ds.Session(loss.graph)
                        losses = []
                        print("training for", steps, "steps")
                        for _ in range(steps):
                            losses.append(float(session.run(loss, feed_dict)))
                            gradient_descent_step(ds.compute_gradients(loss, feed_dict, wrt=variables),
                                                  learning_rate)
                        warnings.warn("a warning of my own")
                        return losses""")},
                   {"insert_after": {"setup": HONEST_HELPERS}}, set()),
        # reusing the library's answers: its losses, optimizers, training loop and mini-batches
        "library-loss": ({"cross_entropy": cross_entropy(
                             "return ds.nn.softmax_cross_entropy(labels=labels, logits=logits, reduction='sum')")},
                         {}, cells("cross_entropy")),
        "log-softmax": ({"cross_entropy": s.LIBRARY_CROSS_ENTROPY}, {}, cells("cross_entropy")),
        "optimizer-step": ({"gradient_descent_step": gradient_descent_step("""
                                optimizer = ds.train.GradientDescentOptimizer(learning_rate)
                                optimizer.apply_gradients([(g, v) for v, g in gradients.items()])""")},
                           {}, cells("gradient_descent_step")),
        "momentum-optimizer": ({"momentum_step": momentum_step("""
                                    optimizer = state.setdefault("optimizer",
                                                                 ds.train.MomentumOptimizer(learning_rate, momentum))
                                    optimizer.apply_gradients([(g, v) for v, g in gradients.items()])""")},
                               {}, cells("momentum_step")),
        "captured-adam": ({"adam_step": adam_step("""
                               if "optimizer" not in state:
                                   state["optimizer"] = ds.train.AdamOptimizer(learning_rate, beta1, beta2, epsilon)
                               optimizer = state["optimizer"]
                               optimizer.iterations += 1
                               for variable, gradient in gradients.items():
                                   if gradient is not None:
                                       variable.value = library_adam(optimizer, variable, variable.value, gradient,
                                                                     learning_rate)""")},
                          {"insert_after": {"setup": "library_adam = ds.train.AdamOptimizer.updated\n"}},
                          cells("adam_step")),
        "fit-as-train": ({"train": train("""
                              optimizer = ds.train.GradientDescentOptimizer(learning_rate)
                              with loss.graph.as_default():
                                  step = optimizer.minimize(loss, var_list=variables)
                              return ds.train.fit(ds.Session(loss.graph), step, loss, feed_dict, steps)["loss"]""")},
                         {}, cells("train")),
        "captured-fit": ({"train": train("""
                              session = ds.Session(loss.graph)
                              def one_step():
                                  value = session.run(loss, feed_dict)
                                  gradient_descent_step(ds.compute_gradients(loss, feed_dict, wrt=variables),
                                                        learning_rate)
                                  return value
                              return library_fit(session, one_step, loss, feed_dict, steps)["loss"]""")},
                         {"insert_after": {"setup": "library_fit = ds.train.fit\n"}}, cells("train")),
        "captured-batches": ({"train_minibatches": train_minibatches("""
                                  rng = np.random.default_rng(seed)
                                  losses = []
                                  for _ in range(epochs):  # a new seed every epoch: a new order
                                      for X_batch, Y_batch in library_batches(X, Y, batch_size,
                                                                              seed=int(rng.integers(2 ** 31))):
                                          losses.append(step(X_batch, Y_batch))
                                  return losses""")},
                             {"insert_after": {"setup": "from dlscratch.data import batches as library_batches\n"}},
                             cells("train_minibatches")),
        # tampering with the judge (each with a wrong answer the tampering is meant to hide)
        "patched-checks": ({"train": s.ASCENDING_TRAIN + patched_checks("training", ["check_train"])}, {},
                           cells("train")),
        "patched-rel-error": ({"momentum_step": s.FORGETFUL_MOMENTUM + code("""
                                   import dlscratch.grading.report as report
                                   ds.gradcheck.rel_error = lambda a, b: 0.0
                                   report.close = lambda *args, **kwargs: True""")},
                              {}, cells("momentum_step")),
        "patched-numpy": ({"gradient_descent_step": s.IN_PLACE_STEP
                           + "np.array_equal = lambda *args, **kwargs: True\n"},  # hides the change in place
                          {}, CELLS["gradient_descent_step"]),  # the loop works with it: only the step's cells
        "rebound-module": ({"adam_step": s.UNCORRECTED_ADAM + rebound_grading(CHECKS)}, {}, cells("adam_step")),
        "input-transformer": ({"cross_entropy": s.MEAN_CROSS_ENTROPY + INPUT_TRANSFORMER}, {},
                              cells("cross_entropy")),
        "ast-transformer": ({"train_minibatches": s.UNSHUFFLED_MINIBATCHES + AST_TRANSFORMER}, {},
                            cells("train_minibatches")),
        "ipython-traceback": ({"momentum_step": s.DAMPENED_MOMENTUM + SILENT_TRACEBACKS}, {},
                              cells("momentum_step")),
        # reading answers from disk
        "reads-solutions": ({"train": reads_solutions(course_root, A3, "training", "train")}, {}, cells("train")),
        "reads-gradebook": ({"cross_entropy": reads_gradebook(course_root, SOLVED["cross_entropy"])}, {},
                            cells("cross_entropy")),
        # exits, interrupts, loops and bombs
        "exit-in-answer-cell": ({}, {"append": {"momentum_step": EXIT}}, cells("momentum_step")),
        "os-exit-in-function": ({"gradient_descent_step": gradient_descent_step("import os\nos._exit(0)")}, {},
                                cells("gradient_descent_step")),
        "sys-exit-in-function": ({"adam_step": adam_step("import sys\nsys.exit(0)")}, {}, cells("adam_step")),
        "keyboard-interrupt": ({"train_minibatches": train_minibatches("raise KeyboardInterrupt")}, {},
                               cells("train_minibatches")),
        "loop-in-function": ({"cross_entropy": cross_entropy(LOOP)}, {}, cells("cross_entropy")),
        "memory-bomb": ({"momentum_step": momentum_step("""
                             hoard = bytearray(2 ** 36)
                             for variable, gradient in gradients.items():
                                 if gradient is not None:
                                     state[variable] = momentum * state.get(variable, 0) + gradient
                                     variable.value = variable.value - learning_rate * state[variable]""")},
                        {}, cells("momentum_step")),
        # a right loss, plus a node of no static size that the grader's own process would compute: 2 GiB
        "grader-memory-bomb": ({"cross_entropy": SOLVED["cross_entropy"].replace(
                                    "    return ds.negative(ds.reduce_sum(labels * log_p))\n", textwrap.indent(code("""
                                        seed = ds.placeholder_with_default(np.ones(2 ** 14), shape=[None])
                                        huge = ds.reshape(seed, [-1, 1]) * ds.reshape(seed, [1, -1])
                                        return ds.negative(ds.reduce_sum(labels * log_p)) + 0.0 * ds.reduce_sum(huge)
                                    """), "    "))}, {}, cells("cross_entropy")),
        # the notebook itself: fake messages, hard-coded answers, edited and deleted test cells
        "fake-passed": ({"train_minibatches": s.SAME_ORDER_MINIBATCHES.replace(
                             "    losses = []", "    print('All tests passed!')\n    losses = []")
                         + "print('test_train_minibatches passed: 3/3 points')\n"}, {}, cells("train_minibatches")),
        "hard-coded": ({"train": hard_coded_train()}, {}, cells("train")),
        "tampered-cells": ({"adam_step": s.UNCOUNTED_ADAM},
                           {"replace": {"test_adam_step": "print('test_adam_step passed')",
                                        "test_adam_step_hidden": "pass"},
                            "metadata": {"test_adam_step": {"solution": True, "locked": False, "points": 100},
                                         "test_adam_step_hidden": {"grade": False}},
                            "extra_graded_cell": ("pass  # a test cell of my own, worth 100 points", 100)},
                           cells("adam_step")),
        "deleted-cells": ({}, {"drop": {"test_train_xor", "test_momentum_step_hidden"}},
                          {"test_train_xor", "test_momentum_step_hidden"}),
        # assignment 3's own slips
        "numpy-loss": ({"cross_entropy": cross_entropy(NUMPY_LOSS_BODY.format("-np.sum(c * log_p)"))}, {},
                       cells("cross_entropy")),
        "constant-loss": ({"cross_entropy": cross_entropy(NUMPY_LOSS_BODY.format("ds.constant(-np.sum(c * log_p))"))},
                          {}, cells("cross_entropy")),
        "in-place-momentum": ({"momentum_step": IN_PLACE_MOMENTUM}, {}, cells("momentum_step")),
        "loss-after-step": ({"train": s.AFTER_STEP_TRAIN}, {}, cells("train")),  # an honest mistake
    }
