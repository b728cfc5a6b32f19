"""What the widgets share: figures shown as images, guarded callbacks, and messages."""
import functools
import html
import io
import threading

import ipywidgets as widgets
from matplotlib.figure import Figure

import dlscratch as ds

OPTIMIZERS = {  # the optimizer choices the widgets offer, by the name shown
    "GD": lambda lr: ds.train.GradientDescentOptimizer(lr),
    "momentum": lambda lr: ds.train.MomentumOptimizer(lr, momentum=0.9),
    "Adam": lambda lr: ds.train.AdamOptimizer(lr),
}


def new_figure(width, height, columns=1):
    """A Figure outside pyplot: nothing piles up, and redrawing means changing its artists."""
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, columns, squeeze=False)[0]
    return fig, list(axes)


class FigureImage:
    """A figure shown as an Image widget. refresh() swaps the picture in place: no flicker, no stacking."""

    def __init__(self, fig, dpi=80):
        self.fig, self.dpi = fig, dpi
        # In a row beside controls, the picture shrinks to the space left (min_width 0 lets it).
        self.widget = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto",
                                                                        min_width="0", flex="1 1 0%"))
        self.refreshes = 0

    def refresh(self):
        buffer = io.BytesIO()
        # Light compression: zlib's default level takes half the redraw time for a few kB less.
        self.fig.savefig(buffer, format="png", dpi=self.dpi, pil_kwargs={"compress_level": 1})
        if self.refreshes == 0:
            # Lay the figure out once; later redraws keep those positions and take half the time.
            self.fig.set_layout_engine("none")
        self.widget.value = buffer.getvalue()
        self.refreshes += 1


def message_html(text, kind="info"):
    """A one-line message: kind is 'info', 'good' or 'error' (red, for diverged runs and bad settings)."""
    colour = {"info": "#374151", "good": "#15803d", "error": "#b91c1c"}[kind]
    return f'<span style="color:{colour}">{html.escape(text)}</span>'


# ipykernel may run a button's callback and a slider's on two threads at once; two redraws of one
# matplotlib figure at the same time leave it blank. One callback at a time, then.
_ONE_AT_A_TIME = threading.RLock()


def guarded(method):
    """Run a widget callback, one at a time; if it fails, show the reason in the widget, not a traceback."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with _ONE_AT_A_TIME:
            try:
                result = method(self, *args, **kwargs)
                self.error = None
                return result
            except Exception as e:  # a widget must never leave a traceback in the notebook
                self.error = f"{type(e).__name__}: {e}"
                self.status.value = message_html(self.error, "error")
    return run


def button(description, icon, tooltip, style=""):
    return widgets.Button(description=description, icon=icon, tooltip=tooltip, button_style=style,
                          layout=widgets.Layout(width="auto"))
