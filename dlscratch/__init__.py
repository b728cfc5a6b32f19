"""dlscratch: deep learning from scratch, with a TensorFlow-1-style graph API.

    import dlscratch as ds

Layers, each importing only from the ones before it:
    core/                       graph, ops, session, gradients (numpy only)
    gradcheck, train, nn, data  training on top of the core
    viz/                        rendering, plots, widgets (graphviz, matplotlib, ipywidgets)
"""
from . import data, gradcheck, nn, train
from .core import *  # noqa: F403
from .nn import set_random_seed

__version__ = "0.1.0"
