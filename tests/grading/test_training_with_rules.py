"""Assignment 1's training check under isolated grading: the whole gradient descent in one sandbox call,
not one call per rule per step, and spot checks against the grader's own traversal
(student_code.backprop_with_rules).

A stand-in sandbox plays the child here: it runs the library's traversal with the rules it is given,
and can be told to tamper with the gradients, as a student's code patching the sandbox could."""
import numpy as np
import pytest

import dlscratch as ds
from dlscratch import grading
from dlscratch.grading import classifiers
from dlscratch.grading.report import CheckFailed
from dlscratch.grading.student_code import SPOT_CHECKS

OPS = (ds.negative, ds.add, ds.multiply, ds.matmul, ds.sigmoid, ds.log, ds.exp, ds.relu, ds.softmax, ds.reduce_sum)


def ops_of_the_network():
    """The op types of the XOR MLP's graph, one per op node (what one backward pass calls)."""
    with ds.Graph().as_default():
        model = classifiers.xor_mlp()
    return [n.op_type for n in ds.topological_order([model.loss]) if isinstance(n, ds.Operation)]


class StandInSandbox:
    """The child's side of the batched training check, run here on the grader's own graph."""

    def __init__(self, scale=1.0, steps_kept=None):
        self.scale, self.steps_kept = scale, steps_kept  # a patched traversal; a descent that stopped early
        self.descents, self.passes, self.rule_calls = 0, 0, 0

    def _backprop(self, rules, loss, values):
        assert all(isinstance(rule, Rule) for rule in rules.values())
        with ds.override_gradients({op_type: rule.rule for op_type, rule in rules.items()}):
            grads = ds.backprop(loss, values)
        return {n: self.scale * g for n, g in grads.items()}

    def backprop(self, rules, loss, values, wanted):
        self.passes += 1
        grads = self._backprop(rules, loss, values)
        return [grads.get(v) for v in wanted]

    def descend(self, rules, loss, feed, variables, rate, steps):
        self.descents += 1
        saved, steps_gradients = [v.value for v in variables], []  # the child's Variables are its own

        def recording(loss, values):
            grads = self._backprop(rules, loss, values)
            steps_gradients.append([grads.get(v) for v in variables])
            return grads
        classifiers.gradient_descent(loss, variables, feed, rate, steps, recording)
        for v, value in zip(variables, saved):
            v.value = value
        return steps_gradients[:self.steps_kept]


class Rule:
    """A student's rule as the grader sees it: a proxy whose calls go to its sandbox."""

    def __init__(self, sandbox, rule):
        self.sandbox, self.rule, self.__name__ = sandbox, rule, getattr(rule, "__name__", "rule")

    def __call__(self, ctx, grad):
        self.sandbox.rule_calls += 1
        return self.rule(ctx, grad)


def proxies(sandbox):
    return {op: Rule(sandbox, ds.gradient_rule(op)) for op in OPS}


def test_the_whole_descent_is_one_call_and_a_few_steps_are_also_checked_rule_by_rule():
    sandbox = StandInSandbox()
    with ds.override_gradients(proxies(sandbox)):
        result = grading.train_xor_mlp(steps=200)
    assert result.error is None and (sandbox.descents, sandbox.passes) == (1, 0)
    assert sandbox.rule_calls == SPOT_CHECKS * len(ops_of_the_network())
    with ds.override_gradients({op: ds.gradient_rule(op) for op in OPS}):  # the same training, in a kernel
        expected = grading.train_xor_mlp(steps=200)
    np.testing.assert_allclose(result.losses, expected.losses, rtol=1e-12)
    assert result.accuracy == expected.accuracy


def test_steps_past_the_end_of_the_sandboxs_descent_are_one_call_each():
    sandbox = StandInSandbox(steps_kept=150)
    with ds.override_gradients(proxies(sandbox)):
        result = grading.train_xor_mlp(steps=200)
    assert result.error is None and (sandbox.descents, sandbox.passes) == (1, 50)


def test_gradients_the_rules_do_not_give_fail_the_check():
    sandbox = StandInSandbox(scale=1.5)  # a patched traversal: it still trains, but not with the student's rules
    with ds.override_gradients(proxies(sandbox)), pytest.raises(CheckFailed, match=r"one value when\s+the engine ran"):
        grading.train_xor_mlp(steps=200)


def test_without_a_sandbox_or_with_a_rule_of_the_graders_the_library_runs_the_rules():
    sandbox = StandInSandbox()
    rules = proxies(sandbox)
    rules[ds.sigmoid] = ds.gradient_rule(ds.sigmoid)  # not the student's: the grader cannot send it
    with ds.override_gradients(rules):
        result = grading.train_xor_mlp(steps=20)
    assert result.error is None and (sandbox.descents, sandbox.passes) == (0, 0)
    calls = sum(op_type != "Sigmoid" for op_type in ops_of_the_network())
    assert sandbox.rule_calls == 20 * calls  # one call per rule per step, as before


def test_a_gradient_of_the_wrong_shape_from_the_sandbox_is_refused():
    class Broken(StandInSandbox):
        def descend(self, rules, loss, feed, variables, rate, steps):
            return [[np.zeros(3) for _ in variables]] * steps
    with ds.override_gradients(proxies(Broken())), pytest.raises(CheckFailed, match=r"not an\s+array of its shape"):
        grading.train_xor_mlp(steps=5)


def test_anything_but_each_steps_gradients_from_the_sandbox_is_refused():
    class Broken(StandInSandbox):
        def descend(self, rules, loss, feed, variables, rate, steps):
            return {"not": "gradients"}
    with ds.override_gradients(proxies(Broken())), pytest.raises(CheckFailed, match=r"other than each\s+step's"):
        grading.train_xor_mlp(steps=5)
