"""Shared fixtures for the core library tests: every test starts with a fresh default graph and seed."""
import numpy as np
import pytest

import dlscratch as ds


@pytest.fixture(autouse=True)
def fresh_graph():
    """A new, empty default graph (and the default random seed) for every test."""
    ds.set_random_seed(0)
    graph = ds.reset_default_graph()
    yield graph
    ds.reset_default_graph()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)

