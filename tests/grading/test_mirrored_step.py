"""A mini-batch check's `step`, mirrored (isolation/graphs.py): the sandbox runs a copy of it beside the
student's loop and records each batch, and the grader takes the same steps on its side afterwards. It must
grade exactly as calling the grader back at every batch does (and as a kernel does), in one round trip."""
import time

import numpy as np
import pytest

from dlscratch import grading
from dlscratch.grading.isolation import graphs, protocol, strip
from dlscratch.grading.isolation.preprocessor import IsolatedRun, StudentFunction
from dlscratch.grading.isolation.sandbox import Child, Limits

from . import submissions as s
from .nbgrader_course import REPO, read_notebook

SOLVED = s.solutions(read_notebook(REPO / "solutions" / "03-training" / "training.ipynb"))["train_minibatches"]

# A loop that reuses one buffer for every batch: what step was given must be kept as it was then.
REUSED_BUFFER = """
def train_minibatches(step, X, Y, batch_size, epochs, seed=0):
    rng = np.random.default_rng(seed)
    losses, xb, yb = [], np.empty((batch_size, X.shape[1])), np.empty((batch_size, Y.shape[1]))
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            rows = order[start:start + batch_size]
            xb[:len(rows)], yb[:len(rows)] = X[rows], Y[rows]
            losses.append(step(xb[:len(rows)], yb[:len(rows)]))
    return losses
"""

# A loop that tries a malformed batch first, catches the error and goes on: the bad batch still counts.
CAUGHT_BAD_BATCH = SOLVED.replace("    losses = []", """    losses = []
    try:
        step(X[:3, :1], Y[:3])  # one column too few
    except Exception:
        pass""")
assert CAUGHT_BAD_BATCH != SOLVED

LOOPS = {"solution": SOLVED, "unshuffled": s.UNSHUFFLED_MINIBATCHES, "separately shuffled":
         s.SEPARATELY_SHUFFLED_MINIBATCHES, "same order": s.SAME_ORDER_MINIBATCHES, "short": s.SHORT_MINIBATCHES,
         "reused buffer": REUSED_BUFFER, "caught bad batch": CAUGHT_BAD_BATCH}
CASES = [{"batch_size": 32, "epochs": 3, "min_accuracy": 0.0},
         {"batch_size": 7, "epochs": 4, "data": "red/blue", "min_accuracy": 0.9}]


def verdict(train_minibatches, case):
    try:
        grading.check_train_minibatches(train_minibatches, **case)
    except grading.CheckFailed as e:
        return str(e)
    return "passed"


def _without_mirror(tree):
    return None if tree is None else {k: v for k, v in tree.items() if k != "mirror"}


def in_a_kernel(source):
    namespace = {"np": np}
    exec(source, namespace)
    return namespace["train_minibatches"]


class Sandbox:
    """A child (no bubblewrap: fast) holding the student's `source`, called as isolated grading calls it;
    counts the grader's functions it calls back."""

    def __init__(self, library, source):
        self.child, self.callbacks = Child("subprocess", library, Limits()), 0
        for i, cell in enumerate(["import numpy as np\nimport dlscratch as ds\n", source]):
            reply, _ = self.child.request({"op": "run", "index": i, "source": cell}, (), time.monotonic() + 60)
            assert reply["ok"], reply
        receive = self.child.receive

        def counting(deadline=None):
            message, arrays = receive(deadline)
            self.callbacks += "callback" in message
            return message, arrays
        self.child.receive = counting
        run = self.run = object.__new__(IsolatedRun)  # only what IsolatedRun.call uses
        run.child, run.writer, run.timeout, run.budget_end, run.cell_end, run.names, run.sources = (
            self.child, None, 60, None, None, {}, {})

    def train_minibatches(self):
        self.run.writer = None  # a new test cell
        return StudentFunction(self.run, "train_minibatches", "__main__")


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return strip.make_stripped_library(str(tmp_path_factory.mktemp("a3")), strip.profile_for("03-training"))


@pytest.mark.parametrize("name", LOOPS)
def test_a_mirrored_step_grades_as_calling_back_and_as_a_kernel_do(library, name, monkeypatch):
    source = LOOPS[name]
    sandbox = Sandbox(library, source)
    try:
        kernel = [verdict(in_a_kernel(source), case) for case in CASES]
        mirrored = [verdict(sandbox.train_minibatches(), case) for case in CASES]
        assert sandbox.callbacks == 0  # one round trip per check
        with monkeypatch.context() as m:  # the grader's functions as plain callbacks, as before mirroring
            real = graphs.GraphWriter.encode_callable
            m.setattr(graphs.GraphWriter, "encode_callable",
                      lambda self, value: _without_mirror(real(self, value)))
            called_back = [verdict(sandbox.train_minibatches(), case) for case in CASES]
        assert sandbox.callbacks > 0
    finally:
        sandbox.child.kill()
    assert mirrored == called_back == kernel
    if name == "solution":
        assert mirrored == ["passed", "passed"]
    elif name == "reused buffer":
        assert mirrored == ["passed", "passed"]  # each batch as it was when step got it
    elif name == "caught bad batch":
        assert "you called step 13 times" in mirrored[0] and "you called step 61 times" in mirrored[1], mirrored
    else:
        assert all(v != "passed" for v in mirrored[:1]), mirrored


def test_the_sandboxs_copy_decides_nothing(library):
    """Code that reaches into the copy's closure and ruins its model does not touch the grader's: the copy's
    Variables go back when the call returns, and the grader's model is trained only by its own steps."""
    ruining = SOLVED.replace("    return losses", """    for cell in step.__closure__ or ():
        for v in (cell.cell_contents if isinstance(cell.cell_contents, tuple) else ()):
            if isinstance(v, ds.Variable):
                v.value = np.full_like(v.value, np.nan)
    return losses""")
    assert ruining != SOLVED
    sandbox = Sandbox(library, ruining)
    try:
        assert verdict(sandbox.train_minibatches(), {"batch_size": 25, "epochs": 30, "min_accuracy": 0.9}) == "passed"
        assert sandbox.callbacks == 0
    finally:
        sandbox.child.kill()


def test_without_the_engine_in_the_sandbox_the_step_is_called_back(tmp_path):
    """Assignment 4's library cannot run a graph (the Session's evaluation is the exercise): the copy is not
    made, and each batch is a call back, as before."""
    library = strip.make_stripped_library(str(tmp_path), strip.profile_for("04-forward-engine"))
    sandbox = Sandbox(library, SOLVED)
    try:
        assert verdict(sandbox.train_minibatches(), CASES[0]) == "passed"
        assert sandbox.callbacks == 3 * 4
    finally:
        sandbox.child.kill()


def step_and_writer():
    """A check's mirrored step, as the grader holds it after sending it (handle 0), and its batches."""
    batches = []

    def step(X_batch, Y_batch):
        X_batch, Y_batch = np.array(X_batch, dtype=float), np.array(Y_batch, dtype=float)
        batches.append((X_batch, Y_batch))
        if X_batch.shape[-1] != 2:
            raise ValueError("X_batch must have 2 columns")
        return 0.0
    step.mirror = ("descent_step", ())
    writer = graphs.GraphWriter([])
    assert protocol.encode(step, writer.arrays, nodes=writer)["id"] == 0
    return step, writer, batches


def calls(*batches):
    arrays, recorded = [], []
    for args, failed in batches:
        recorded.append([protocol.encode(list(args), arrays), failed])
    return [[0, recorded]], arrays


def test_the_grader_replays_what_the_sandbox_recorded_and_refuses_what_cannot_be():
    step, writer, batches = step_and_writer()
    good, bad = (np.ones((4, 2)), np.ones((4, 2))), (np.ones((4, 1)), np.ones((4, 2)))
    IsolatedRun._replay(*calls((good, False), (bad, True), (good, False)), writer)
    assert [b[0].shape for b in batches] == [(4, 2), (4, 1), (4, 2)]  # a call that failed there counts, as in a kernel
    with pytest.raises(protocol.ProtocolError, match="worked in the sandbox fails here"):
        IsolatedRun._replay(*calls((bad, False)), writer)  # the sandbox's copy was not the grader's step
    mirrored, arrays = calls((good, False))
    mirrored[0][0] = 1  # no function of that handle
    with pytest.raises(protocol.ProtocolError, match="not mirrored"):
        IsolatedRun._replay(mirrored, arrays, writer)
    plain = writer.callbacks[0] = lambda *args: None  # a callback that was not sent as a mirror
    assert plain is writer.callbacks[0]
    with pytest.raises(protocol.ProtocolError, match="not mirrored"):
        IsolatedRun._replay(*calls((good, False)), writer)
