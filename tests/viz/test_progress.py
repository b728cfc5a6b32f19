"""viz.fit(): ds.train.fit with a progress bar that is silent when it must be, and never left at 0%."""
import numpy as np
import pytest
from tqdm.notebook import tqdm as notebook_tqdm

import dlscratch as ds
from dlscratch.viz import fit, progress

QUIET_VARIABLES = ("PYTEST_CURRENT_TEST", "NBGRADER_EXECUTION", "TQDM_DISABLE")


def problem(lr=0.5, optimizer=ds.train.GradientDescentOptimizer):
    g = ds.Graph()
    with g.as_default():
        x = ds.placeholder(shape=(None, 2), name="x")
        t = ds.placeholder(shape=(None, 2), name="t")
        logits = ds.nn.dense(x, 2, seed=0)
        p = ds.softmax(logits)
        loss = ds.nn.softmax_cross_entropy(labels=t, logits=logits)
        train = optimizer(lr).minimize(loss)
    X, y = ds.data.red_blue(20)
    Xt, yt = ds.data.red_blue(10, seed=1)
    return dict(session=ds.Session(g), train=train, loss=loss, p=p, t=t,
                feed={x: X, t: ds.data.one_hot(y, 2)}, test={x: Xt, t: ds.data.one_hot(yt, 2)})


def watched(monkeypatch):
    """As in a terminal or a live notebook: nothing asks for quiet. Called in the test itself, since
    pytest sets PYTEST_CURRENT_TEST again for each phase."""
    for name in QUIET_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_fit_records_the_loss_of_every_step_as_a_manual_loop_would():
    a, b = problem(), problem()
    history = fit(a["session"], a["train"], a["loss"], a["feed"], 30, progress=False)
    manual = [float(b["session"].run([b["train"], b["loss"]], b["feed"])[1]) for _ in range(30)]
    assert history["step"] == list(range(1, 31))
    np.testing.assert_allclose(history["loss"], manual)
    assert history["loss"][-1] < history["loss"][0] and history.diverged is None


def test_test_loss_and_accuracy_are_measured_every_eval_every_steps():
    m = problem()
    history = fit(m["session"], m["train"], m["loss"], m["feed"], 20, test_feed=m["test"], eval_every=5,
                  accuracy_of=(m["p"], m["t"]), progress=False)
    assert history["eval_step"] == [1, 5, 10, 15, 20]
    assert len(history["test_loss"]) == len(history["accuracy"]) == len(history["test_accuracy"]) == 5
    assert history["test_loss"][-1] < history["test_loss"][0]
    assert history["accuracy"][-1] == 1.0  # two well separated blobs


def test_fit_is_the_training_layers_loop(monkeypatch):
    calls = []
    real = ds.train.fit
    monkeypatch.setattr(ds.train, "fit", lambda *a, **k: calls.append(a) or real(*a, **k))
    m = problem()
    history = fit(m["session"], m["train"], m["loss"], m["feed"], 5, progress=False)
    assert len(calls) == 1 and isinstance(history, ds.train.History)


def test_a_too_large_learning_rate_stops_with_diverged_and_no_warning():
    g = ds.Graph()
    with g.as_default():
        w = ds.Variable([1.0, -2.0])
        loss = ds.reduce_sum(ds.square(w))
        train = ds.train.GradientDescentOptimizer(10.0).minimize(loss)  # w <- -19 w: blows up
    history = fit(ds.Session(g), train, loss, {}, 1000, progress=False)
    assert history.diverged is not None and history.diverged < 1000
    assert not np.isfinite(history["loss"][-1]) and np.isfinite(history["loss"][-2])
    assert "diverged" in history.status


def test_the_bar_shows_the_loss_and_ends_full(monkeypatch, capsys):
    watched(monkeypatch)
    m = problem()
    fit(m["session"], m["train"], m["loss"], m["feed"], 10, description="demo")
    err = capsys.readouterr().err
    last = err.replace("\r", "\n").strip().splitlines()[-1]
    assert "demo" in last and "loss=" in last and "10/10" in last and "100%" in last


@pytest.mark.parametrize("env", [{"NBGRADER_EXECUTION": "autograde"}, {"PYTEST_CURRENT_TEST": "x"},
                                 {"TQDM_DISABLE": "1"}])
def test_the_bar_is_silent_under_nbgrader_pytest_or_tqdm_disable(monkeypatch, capsys, env):
    watched(monkeypatch)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert progress.quiet()
    m = problem()
    history = fit(m["session"], m["train"], m["loss"], m["feed"], 10, description="demo")
    captured = capsys.readouterr()
    # no bar: only the summary, on stdout (nbgrader scores stderr as a failure)
    assert captured.err == "" and captured.out == f"demo: {history.status}\n"
    assert history.status.startswith("10 steps, loss ") and "%" not in captured.out


def test_progress_false_is_silent(monkeypatch, capsys):
    watched(monkeypatch)
    m = problem()
    fit(m["session"], m["train"], m["loss"], m["feed"], 10, progress=False)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


class FakeHandle:
    def __init__(self, shown):
        self.shown = shown

    def update(self, obj):
        self.shown.append(obj)


def test_in_a_notebook_the_bar_ends_as_a_one_line_summary(monkeypatch):
    watched(monkeypatch)
    # A kernel with ipywidgets: tqdm.auto is the widget bar. Saved without widget state, a bar would
    # read 0% for ever, so the display is replaced by text when training ends.
    import IPython.display
    shown = []
    monkeypatch.setattr(progress, "tqdm", notebook_tqdm)
    monkeypatch.setattr(IPython.display, "display", lambda obj, display_id=None: shown.append(obj)
                        or FakeHandle(shown))
    m = problem()
    history = fit(m["session"], m["train"], m["loss"], m["feed"], 10, description="demo")
    assert len(shown) == 2  # the bar, then the summary in its place
    text = shown[-1].data  # an IPython.display.Pretty: text/plain, shown untrusted too
    assert text.startswith("demo: 10 steps") and f"{history['loss'][-1]:.4g}" in text
    assert "%" not in text
