"""fit(): ds.train.fit with a progress bar showing the current loss.

No bar is shown when nobody is watching: under nbgrader (NBGRADER_EXECUTION; graders score
anything on stderr as a failure), under pytest or nbval (PYTEST_CURRENT_TEST), or when
TQDM_DISABLE is set (scripts/run_chapters.py sets it). Then fit() prints only a one-line
summary when training ends, e.g. "training: 100 steps, loss 0.6931 → 0.1234".
In a notebook the live bar is replaced by that same line when training ends: saved without
its widget state, a bar would read 0% for ever. So a stored chapter shows how training went.
"""
import os

from tqdm.auto import tqdm
from tqdm.notebook import tqdm as notebook_tqdm

from .. import train


def quiet():
    """True when no progress bar may be shown (see the module's docstring)."""
    return any(os.environ.get(name) for name in ("TQDM_DISABLE", "NBGRADER_EXECUTION", "PYTEST_CURRENT_TEST"))


def fit(session, train_op, loss, feed_dict, steps, *, test_feed=None, eval_every=None, accuracy_of=None,
        progress=True, description="training", callback=None):
    """Run `steps` training steps with ds.train.fit and return its History (with a progress bar).

    session, train_op, loss: as in `session.run([train_op, loss], feed_dict)`.
    test_feed:    a second feed_dict (held-out data) whose loss ("test_loss") is measured every
                  `eval_every` steps.
    accuracy_of:  (probabilities node, labels placeholder): also measure "accuracy" on the training
                  feed (and "test_accuracy" on test_feed), with the labels each feed gives that placeholder.
    progress:     show a bar with the current loss and end with a summary line (only the line when
                  quiet(), see above); False shows nothing.
    callback:     callback(history) after every step, e.g. to update a plot.

    The loss recorded at step k is the one step k computed its gradients from; the other measurements
    are taken at step 1, every eval_every steps and the last step, before that step's update.
    Training stops early, with history.diverged set to the step, when the loss stops being finite.

    Example:
        history = fit(sess, train_op, loss, {x: X, y: Y}, steps=1000,
                      test_feed={x: X_test, y: Y_test}, accuracy_of=(probs, y))
        plot_history(history)
    """
    metrics = {}
    if test_feed is not None:
        metrics["test_loss"] = lambda: session.run(loss, test_feed)
    if accuracy_of is not None:
        probabilities, labels = accuracy_of
        # fetched with the step itself: the same values (e.g. dropout mask) the step used, and no extra run
        metrics["accuracy"] = (probabilities, lambda p: train.accuracy(p, feed_dict[labels]))
        if test_feed is not None:
            metrics["test_accuracy"] = lambda: train.accuracy(session.run(probabilities, test_feed),
                                                              test_feed[labels])
    bar = ProgressBar(steps, description) if progress and not quiet() else None

    def after_step(history):
        if bar is not None:
            bar.update(history)
        if callback is not None:
            callback(history)

    history = None
    try:
        history = train.fit(session, train_op, loss, feed_dict, steps, metrics=metrics, every=eval_every,
                            callback=after_step)
    finally:
        if bar is not None:
            bar.finish(history)
    if bar is None and progress:
        print(f"{description}: {history.status}")
    return history


class ProgressBar:
    """A tqdm bar for fit(). In a notebook it ends as one line of text, so a saved notebook
    shows how training went instead of a bar frozen where its widget state was lost."""

    def __init__(self, steps, description):
        self.description, self.refresh = description, max(1, steps // 200)
        self.handle = None
        if issubclass(tqdm, notebook_tqdm):  # tqdm.auto chose the widget bar: a kernel with ipywidgets
            from IPython.display import display
            self.bar = tqdm(total=steps, desc=description, display=False)
            self.handle = display(self.bar.container, display_id=True)
        else:
            self.bar = tqdm(total=steps, desc=description, leave=True)

    def update(self, history):
        if history.steps_done % self.refresh == 0:
            self.bar.set_postfix(loss=f"{history['loss'][-1]:.4g}", refresh=False)
        self.bar.update(1)

    def finish(self, history):
        status = history.status if history is not None else "stopped by an error"
        if self.handle is None:
            if history is not None and history.diverged is not None:
                self.bar.set_postfix_str(status, refresh=False)
            self.bar.close()
            return
        self.bar.close()
        from IPython.display import Pretty
        self.handle.update(Pretty(f"{self.description}: {status}"))
