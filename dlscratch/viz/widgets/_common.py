"""What the widgets share: the Widget base class, figures shown as images, guarded callbacks, messages."""
import base64
import functools
import html
import io
import threading

import ipywidgets as widgets
import numpy as np
import PIL.Image
from matplotlib.backends.backend_agg import FigureCanvasAgg
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
    """A figure shown as an Image widget. refresh() swaps the picture in place: no flicker, no stacking.

    moving: the artists that change between refreshes, when nothing else does (fixed axes limits).
    Then the rest is drawn once and kept as pixels, and a refresh draws only these on top of it:
    several times faster, which is what makes a slider drag smooth. They are drawn in this order.
    """

    def __init__(self, fig, dpi=80, moving=()):
        self.fig, self.dpi, self.moving = fig, dpi, list(moving)
        # In a row beside controls, the picture shrinks to the space left (min_width 0 lets it).
        self.widget = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto",
                                                                        min_width="0", flex="1 1 0%"))
        self.refreshes = 0
        self._background = None

    def refresh(self):
        if self.refreshes == 0:
            self.fig.set_dpi(self.dpi)
            FigureCanvasAgg(self.fig)
            self.fig.canvas.draw()  # lay the figure out once; later redraws keep those positions
            self.fig.set_layout_engine("none")
        canvas = self.fig.canvas
        if not self.moving:
            canvas.draw()
        else:
            if self._background is None:
                for artist in self.moving:
                    artist.set_animated(True)  # left out of canvas.draw()
                canvas.draw()
                self._background = canvas.copy_from_bbox(self.fig.bbox)
            canvas.restore_region(self._background)
            for artist in self.moving:
                if artist.get_visible():
                    artist.axes.draw_artist(artist) if artist.axes else self.fig.draw_artist(artist)
        self.widget.value = self._png(canvas)
        self.refreshes += 1

    @staticmethod
    def _png(canvas):
        rgb = np.asarray(canvas.buffer_rgba())[..., :3]
        buffer = io.BytesIO()
        # Light compression: zlib's default level takes half the redraw time for a few kB less.
        PIL.Image.fromarray(rgb).save(buffer, format="png", compress_level=1)
        return buffer.getvalue()


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
                self.show_error(e)
    return run


class Widget(widgets.VBox):
    """The base of every widget of the course. It owns:

    - the status line under the widget: show_status(text, kind), and show_error(exception), which
      callbacks decorated with @guarded use instead of leaving a traceback;
    - redraw(): the subclass's draw() updates its artists and texts, then the figure is refreshed;
    - the static picture: a PNG of the current state beside the live view in the display bundle,
      so a stored notebook shows the widget before anything runs (JupyterLab shows the PNG where
      it cannot show the widget, e.g. in a notebook not yet trusted).

    Subclasses build their controls, call super().__init__(children, figure), then draw.
    """

    def __init__(self, children, figure=None, **kwargs):
        self.error = None
        self.figure = figure  # a FigureImage, or None for a widget that draws otherwise
        self.status = widgets.HTML()
        super().__init__([*children, self.status], **kwargs)

    def show_status(self, text, kind="info"):
        self.status.value = message_html(text, kind) if text else ""

    def show_error(self, error):
        self.error = f"{type(error).__name__}: {error}"
        self.show_status(self.error, "error")

    def draw(self):
        """Update the artists and texts to the current state (without rendering)."""

    def redraw(self):
        self.draw()
        if self.figure is not None:
            self.figure.refresh()

    def picture(self):
        """A PNG (bytes) of the widget's current state, or None."""
        return self.figure.widget.value if self.figure is not None and self.figure.refreshes else None

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        png = self.picture()
        if bundle is not None and png:
            bundle["image/png"] = base64.b64encode(png).decode("ascii")
        return bundle


def button(description, icon, tooltip, style=""):
    return widgets.Button(description=description, icon=icon, tooltip=tooltip, button_style=style,
                          layout=widgets.Layout(width="auto"))
