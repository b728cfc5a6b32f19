"""The presentation layer: graph drawings, plots, a training helper and widgets.

    import dlscratch.viz as viz
    viz.draw_graph(loss, feed_dict=feed, gradients=True)

It imports graphviz, matplotlib and ipywidgets; the core never imports it.
"""
from .dot import GraphvizNotFound, configure_dot, current_dot, find_dot
from .render import draw_graph, kind_of, render
from .summary import summarize

__all__ = ["GraphvizNotFound", "configure_dot", "current_dot", "find_dot", "draw_graph", "kind_of", "render",
           "summarize"]
