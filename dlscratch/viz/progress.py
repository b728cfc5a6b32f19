"""fit(): the training loop every chapter writes, with a progress bar showing the current loss.

The bar stays silent under nbgrader (which sets NBGRADER_EXECUTION) and under
pytest (PYTEST_CURRENT_TEST): graders score anything written to stderr as a
failure, and a bar's timings would never compare equal between runs.
"""
import os

import numpy as np
from tqdm.auto import tqdm


def quiet():
    """True when progress bars must stay silent: under nbgrader or under pytest."""
    return bool(os.environ.get("NBGRADER_EXECUTION") or os.environ.get("PYTEST_CURRENT_TEST"))


def accuracy(probabilities, labels):
    """The fraction of examples whose most probable class is the true one.

    probabilities: (N,) or (N, 1) for two classes (P(class 1)), or (N, C).
    labels:        integer labels (N,), or one-hot rows (N, C).
    """
    p, labels = np.asarray(probabilities), np.asarray(labels)
    predicted = (p.ravel() > 0.5).astype(int) if p.ndim == 1 or p.shape[-1] == 1 else p.argmax(axis=-1)
    true = labels.argmax(axis=-1) if labels.ndim == 2 and labels.shape[1] > 1 else labels.ravel().astype(int)
    return float(np.mean(predicted == true))


def fit(session, train_op, loss, feed_dict, steps, *, test_feed=None, eval_every=None, accuracy_of=None,
        progress=True, description="training", callback=None):
    """Run `steps` training steps and return the history of the loss (and test loss, accuracy).

    session, train_op, loss: as in `session.run([train_op, loss], feed_dict)`.
    test_feed:    a second feed_dict (held-out data) whose loss is measured every `eval_every` steps.
    accuracy_of:  (probabilities node, labels placeholder): also measure the accuracy, on the
                  training feed and on test_feed, with the labels each feed gives that placeholder.
    progress:     show a tqdm bar with the current loss (never under nbgrader or pytest).
    callback:     callback(step, history) after every step, e.g. to update a plot.

    The loss recorded at step k is the one step k computed its gradients from. Test loss and
    accuracy are measured at step 1, every eval_every steps and at the last step, with the same
    parameters. Training stops early, with history["diverged"] set to the step, when the loss
    stops being a finite number (the learning rate is usually too large).

    Example:
        history = fit(sess, train_op, loss, {x: X, y: Y}, steps=1000,
                      test_feed={x: X_test, y: Y_test}, accuracy_of=(probs, y))
        plot_history(history)
    """
    history = {"step": [], "loss": [], "eval_step": [], "test_loss": [], "accuracy": [], "test_accuracy": [],
               "diverged": None}
    measuring = test_feed is not None or accuracy_of is not None
    eval_every = eval_every or max(1, steps // 50)
    refresh = max(1, steps // 200)  # how often the bar's loss read-out changes
    bar = tqdm(total=steps, desc=description, disable=not progress or quiet(), leave=True)
    try:
        with np.errstate(all="ignore"):  # a diverging run is reported below, not as a numpy warning
            for step in range(1, steps + 1):
                evaluate = measuring and (step == 1 or step % eval_every == 0 or step == steps)
                if evaluate:
                    _evaluate(session, loss, test_feed, accuracy_of, step, history)
                fetches = [train_op, loss] + ([accuracy_of[0]] if evaluate and accuracy_of else [])
                results = session.run(fetches, feed_dict)
                value = float(results[1])
                history["step"].append(step)
                history["loss"].append(value)
                if evaluate and accuracy_of:
                    history["accuracy"].append(accuracy(results[2], feed_dict[accuracy_of[1]]))
                if not np.isfinite(value):
                    history["diverged"] = step
                    bar.set_postfix_str(f"diverged at step {step}: lower the learning rate")
                    break
                if step % refresh == 0 or step == steps:
                    bar.set_postfix(loss=f"{value:.4g}", refresh=False)
                bar.update(1)
                if callback is not None:
                    callback(step, history)
    finally:
        bar.close()
    return history


def _evaluate(session, loss, test_feed, accuracy_of, step, history):
    history["eval_step"].append(step)
    if test_feed is None:
        return
    fetches = [loss] + ([accuracy_of[0]] if accuracy_of else [])
    results = session.run(fetches, test_feed)
    history["test_loss"].append(float(results[0]))
    if accuracy_of:
        history["test_accuracy"].append(accuracy(results[1], test_feed[accuracy_of[1]]))
