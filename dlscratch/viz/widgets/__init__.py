"""Interactive widgets (ipywidgets 8). Each is a plain-Python model plus a thin view.

    PerceptronPlayground()       # weights of a linear classifier by hand
    LearningRateExplorer()       # learning rate and optimizer on a loss surface
    TrainingPlayground()         # a small TensorFlow Playground
    BackpropStepper.example()    # the backward pass, one op at a time

Each view is an ipywidgets box: make it the last line of a cell to show it.
The models (PerceptronModel, LearningRateModel, PlaygroundModel, BackpropWalk)
hold the state and logic, and work and are tested without a browser.
"""
from .learning_rate import LearningRateExplorer, LearningRateModel, LearningRateSweep
from .perceptron import PerceptronModel, PerceptronPlayground
from .playground import PlaygroundModel, TrainingPlayground
from .stepper import BackpropStepper, BackpropWalk

__all__ = ["BackpropStepper", "BackpropWalk", "LearningRateExplorer", "LearningRateModel", "LearningRateSweep",
           "PerceptronModel", "PerceptronPlayground", "PlaygroundModel", "TrainingPlayground"]
