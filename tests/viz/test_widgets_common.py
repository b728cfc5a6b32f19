"""The Widget base class: status line, errors shown (never raised), one callback at a time, redraw,
and a static picture of the widget in its display bundle."""
import base64
import io
import threading
import time

import ipywidgets
import numpy as np
import PIL.Image
import pytest

from dlscratch.viz.widgets import BackpropStepper, LearningRateExplorer, PerceptronPlayground, TrainingPlayground
from dlscratch.viz.widgets._common import FigureImage, Widget, guarded, new_figure


class Counter(Widget):
    """A minimal widget: one line plotted, a button that redraws, one that fails."""

    def __init__(self):
        self.running, self.overlaps, self.draws = 0, 0, 0
        fig, (ax,) = new_figure(3, 2)
        (self.line,) = ax.plot([0, 1], [0, 1])
        super().__init__([], FigureImage(fig))
        self.redraw()

    def draw(self):
        self.draws += 1
        self.line.set_ydata([0, self.draws])

    @guarded
    def slow(self):
        self.running += 1
        self.overlaps += self.running > 1
        time.sleep(0.02)
        self.running -= 1

    @guarded
    def broken(self):
        raise ValueError("learning rate too large")


def test_every_widget_is_a_widget_with_a_status_line():
    for cls in (BackpropStepper, LearningRateExplorer, PerceptronPlayground, TrainingPlayground):
        assert issubclass(cls, Widget), cls
    widget = Counter()
    assert isinstance(widget, ipywidgets.Box) and widget.children[-1] is widget.status
    widget.show_status("all fine")
    assert "all fine" in widget.status.value
    widget.show_status("")
    assert widget.status.value == ""


def test_callbacks_on_two_threads_run_one_at_a_time():
    # ipykernel can deliver a click and a slider change on two threads; both redraw one figure
    widget = Counter()
    threads = [threading.Thread(target=widget.slow) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert widget.overlaps == 0


def test_a_failing_callback_shows_its_reason_instead_of_raising():
    widget = Counter()
    widget.broken()  # no exception
    assert widget.error == "ValueError: learning rate too large"
    assert "learning rate too large" in widget.status.value and "#b91c1c" in widget.status.value  # red
    widget.slow()
    assert widget.error is None


def test_redraw_draws_then_refreshes_the_picture():
    widget = Counter()
    first = bytes(widget.figure.widget.value)
    widget.redraw()
    assert widget.draws == 2 and widget.figure.refreshes == 2
    assert bytes(widget.figure.widget.value) != first


def test_moving_artists_are_drawn_over_the_kept_background():
    def line_figure(moving):
        fig, (ax,) = new_figure(3, 2)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        (line,) = ax.plot([0, 1], [0.1, 0.1], color="red", linewidth=4)
        return FigureImage(fig, moving=[line] if moving else []), line

    def pixels(figure):
        return np.asarray(PIL.Image.open(io.BytesIO(bytes(figure.widget.value)))).astype(int)

    (kept, kept_line), (full, full_line) = line_figure(True), line_figure(False)
    kept.refresh()
    for line in (kept_line, full_line):
        line.set_ydata([0.8, 0.8])
    kept.refresh()
    full.refresh()  # a full draw of the same state
    a, b = pixels(kept), pixels(full)
    assert a.shape == b.shape and np.abs(a - b).mean() < 1
    red = (a[..., 0] > 200) & (a[..., 1] < 80)
    rows = np.nonzero(red.any(axis=1))[0]
    assert len(rows) and rows.max() - rows.min() < 10  # one line: the old one is gone


def decoded_picture(widget):
    bundle = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # the live view is still there
    assert bundle["text/plain"].startswith("<")
    image = PIL.Image.open(io.BytesIO(base64.b64decode(bundle["image/png"])))
    image.load()
    return image


@pytest.mark.parametrize("make", [PerceptronPlayground, LearningRateExplorer, TrainingPlayground,
                                  BackpropStepper.example], ids=lambda f: getattr(f, "__qualname__", "?"))
def test_the_display_bundle_has_a_picture_of_the_widget(make):
    widget = make()
    image = decoded_picture(widget)
    assert image.format == "PNG" and image.width >= 400 and image.height >= 200
    pixels = np.asarray(image.convert("L"))
    assert pixels.std() > 10  # a drawing, not a blank


def test_the_picture_shows_the_current_state():
    widget = PerceptronPlayground()
    before = np.asarray(decoded_picture(widget).convert("L"))
    widget.sliders["b"].value = 5.0
    after = np.asarray(decoded_picture(widget).convert("L"))
    assert before.shape == after.shape and np.abs(before.astype(int) - after.astype(int)).mean() > 1
