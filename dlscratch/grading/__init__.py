"""The checks behind the graded exercises: they say what is wrong, in the student's terms.

The test cells of the exercise notebooks call these functions. Each check builds its own
small graph, runs the student's code on it and compares the result with the library's own
`ds.gradcheck` (finite differences) or the library's engine, never with anything defined in
the notebook. A failed check raises `CheckFailed`, whose message names the function, the
case, the input, the expected and actual shapes or values, and a hint.

A passing test cell stays silent, as nbgrader needs (it scores a test cell that writes
anything to stderr as 0): warnings raised while student code runs are caught and reported
only if the check fails, and nothing here prints.

    report         CheckFailed and the pieces of its messages
    student_code   running student code quietly, quoting their line when it fails
    classifiers    the source material's two classifiers and plain gradient descent
    rule_case      one op at fixed inputs: calls a gradient rule and diagnoses its answer
    rules          assignment 1: gradient rules, and training the XOR MLP with them
    sample_graphs  the graphs assignment 2's traversals are checked on
    traversal      assignment 2: topological order and backprop
    training       assignment 3: cross-entropy, gradient descent, momentum, Adam, training loops
    forward        assignment 4: post-order and the forward evaluation of a graph

Instructors: this package ships with the library, so it is not copied into the assignment
folders and holds no solutions.
"""
from .forward import check_evaluate, check_post_order, check_trained_mlp, check_unfed_placeholder, trained_mlp
from .report import CheckFailed, is_grading
from .rules import check_node_used_twice, check_rule, check_rule_at_extremes, check_training, example, train_xor_mlp
from .training import (
    check_adam_step,
    check_cross_entropy,
    check_gradient_descent_step,
    check_momentum_step,
    check_train,
    check_train_minibatches,
)
from .traversal import check_backprop, check_topological_order, train_perceptron_with

__all__ = [
    "CheckFailed", "is_grading",
    "example", "check_rule", "check_rule_at_extremes", "check_node_used_twice", "train_xor_mlp", "check_training",
    "check_topological_order", "check_backprop", "train_perceptron_with",
    "check_cross_entropy", "check_gradient_descent_step", "check_momentum_step", "check_adam_step", "check_train",
    "check_train_minibatches",
    "check_post_order", "check_evaluate", "check_unfed_placeholder", "check_trained_mlp", "trained_mlp",
]
