"""The presentation layer: graph drawings, plots, a training helper and widgets.

    import dlscratch.viz as viz
    viz.draw_graph(loss, feed_dict=feed, gradients=True)      # a graphviz.Digraph, shown as SVG (PNG untrusted)
    history = viz.fit(sess, train_op, loss, feed, steps=500)   # training with a progress bar
    viz.plot_loss(history)                                     # a matplotlib Figure

It imports graphviz, matplotlib, tqdm and ipywidgets; the core never imports it.
"""
from ..train import accuracy  # the one accuracy helper; chapter 6 calls it viz.accuracy
from .dot import GraphvizNotFound, configure_dot, current_dot, find_dot
from .plots import plot_accuracy, plot_decision_boundary, plot_history, plot_loss, plot_trajectory
from .progress import fit
from .render import draw_graph, kind_of, render
from .summary import summarize

__all__ = ["GraphvizNotFound", "configure_dot", "current_dot", "find_dot", "draw_graph", "kind_of", "render",
           "summarize", "plot_accuracy", "plot_decision_boundary", "plot_history", "plot_loss", "plot_trajectory",
           "accuracy", "fit"]
