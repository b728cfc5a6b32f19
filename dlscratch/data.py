"""Seeded toy data sets, the digits, and helpers. Every function returns (X, y) with integer labels y."""
import importlib.util
from pathlib import Path

import numpy as np

from .core import InvalidArgumentError


def red_blue(n_per_class=50, std=1.0, seed=0):
    """The perceptron example: red points around (-2, -2) (label 0), blue around (2, 2) (label 1)."""
    rng = np.random.default_rng(seed)
    red = rng.normal(scale=std, size=(n_per_class, 2)) + (-2, -2)
    blue = rng.normal(scale=std, size=(n_per_class, 2)) + (2, 2)
    return np.vstack([red, blue]), np.repeat([0, 1], n_per_class)


blobs = red_blue


def xor_clusters(n_per_cluster=25, sigma=0.2, seed=0):
    """The MLP example: red clusters at (0,0) and (1,1) (label 0), blue at (0,1) and (1,0) (label 1)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [1, 1], [0, 1], [1, 0]], dtype=float)
    X = np.vstack([rng.normal(scale=sigma, size=(n_per_cluster, 2)) + c for c in centres])
    return X, np.repeat([0, 0, 1, 1], n_per_cluster)


xor = xor_clusters


def circles(n=200, noise=0.1, factor=0.5, seed=0):
    """A small circle (label 1) inside a big one (label 0)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = np.where(y == 1, factor, 1.0)
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return X + rng.normal(scale=noise, size=X.shape), y


def moons(n=200, noise=0.1, seed=0):
    """Two interleaving half circles."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = rng.uniform(0, np.pi, n)
    X = np.where(y[:, None] == 0,
                 np.column_stack([np.cos(t), np.sin(t)]),
                 np.column_stack([1 - np.cos(t), 0.5 - np.sin(t)]))
    return X + rng.normal(scale=noise, size=X.shape), y


def spiral(n=200, noise=0.1, classes=2, turns=1.0, seed=0):
    """`classes` arms winding around the origin (as in CS231n and TensorFlow Playground)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    r = rng.uniform(0.05, 1.0, n)
    angle = 2 * np.pi * (turns * r + y / classes)
    X = np.column_stack([r * np.cos(angle), r * np.sin(angle)])
    return X + rng.normal(scale=noise * 0.5, size=X.shape), y


def digits():
    """The 8x8 handwritten digits that scikit-learn ships (1797 images), as pixels in [0, 1]."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise ImportError("the digits data set comes with scikit-learn: pip install scikit-learn "
                          "(or pip install 'dlscratch[course]')")
    # Read scikit-learn's bundled file directly: importing sklearn.datasets takes seconds.
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    if path.exists():
        table = np.loadtxt(path, delimiter=",")
        return table[:, :-1] / 16.0, table[:, -1].astype(int)
    from sklearn.datasets import load_digits
    d = load_digits()
    return d.data / 16.0, d.target


DATASETS = {"blobs": red_blue, "xor": xor_clusters, "circles": circles, "moons": moons, "spiral": spiral}


def make(name, n=200, noise=None, seed=0):
    """One of DATASETS by name with about `n` points, for widgets that switch between them.

    `noise` is each data set's own spread (blobs: std, xor: sigma, others: added
    Gaussian noise); None keeps its default.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {sorted(DATASETS)}")
    spread = {} if noise is None else {"blobs": {"std": noise}, "xor": {"sigma": noise}}.get(name, {"noise": noise})
    if name == "blobs":
        return red_blue(n // 2, seed=seed, **spread)
    if name == "xor":
        return xor_clusters(n // 4, seed=seed, **spread)
    return DATASETS[name](n, seed=seed, **spread)


def one_hot(y, num_classes=None, dtype=np.float64):
    """Integer labels -> rows of 0s with a 1 in the label's column.

    Labels must be whole numbers in [0, num_classes); anything else is an
    InvalidArgumentError rather than a silently wrong row.
    """
    y = np.asarray(y)
    if y.size and (y.dtype.kind not in "biuf" or (y.dtype.kind == "f" and not np.all(y == np.round(y)))):
        bad = y.ravel()[0] if y.dtype.kind not in "biuf" else y.ravel()[np.flatnonzero(y != np.round(y))[0]]
        raise InvalidArgumentError(f"one_hot() needs integer class labels, but got {bad!r} (dtype {y.dtype}). "
                                   "Pass class indices such as [0, 2, 1].")
    labels = y.ravel().astype(np.int64)
    if num_classes is None:
        if not labels.size:
            raise InvalidArgumentError("one_hot() of no labels cannot guess the number of classes: "
                                       "pass num_classes=...")
        num_classes = int(labels.max()) + 1
    outside = labels[(labels < 0) | (labels >= num_classes)]
    if outside.size:
        raise InvalidArgumentError(f"one_hot() got the label {outside[0]}, outside the range [0, {num_classes}) "
                                   f"that num_classes={num_classes} allows. Check the labels, or pass a larger "
                                   "num_classes.")
    out = np.zeros((labels.size, num_classes), dtype=dtype)
    out[np.arange(labels.size), labels] = 1
    return out


def _same_length(X, y, what):
    if len(X) != len(y):
        raise InvalidArgumentError(f"{what} got {len(X)} examples in X but {len(y)} labels in y; "
                                   "they must have one label per example (the same first dimension).")


def train_test_split(X, y, test_size=0.25, seed=0):
    """Shuffle, then split: X_train, X_test, y_train, y_test (as scikit-learn orders them).

    test_size is a fraction in (0, 1), or a whole number of test examples.
    """
    X, y = np.asarray(X), np.asarray(y)
    _same_length(X, y, "train_test_split()")
    if isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        n_test = int(test_size)
    elif isinstance(test_size, (float, np.floating)) and 0 < test_size < 1:
        n_test = int(round(len(X) * test_size))
    else:
        raise InvalidArgumentError(f"train_test_split() got test_size={test_size!r}; pass a fraction between "
                                   "0 and 1, or a whole number of test examples.")
    if not 0 < n_test < len(X):
        raise InvalidArgumentError(f"train_test_split() with test_size={test_size!r} of {len(X)} examples "
                                   f"leaves the {'test' if n_test <= 0 else 'training'} set empty; "
                                   "choose a test_size that leaves examples on both sides.")
    order = np.random.default_rng(seed).permutation(len(X))
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


def batches(X, y, batch_size, seed=0):
    """Shuffled mini-batches (X_batch, y_batch) covering the data once."""
    X, y = np.asarray(X), np.asarray(y)
    _same_length(X, y, "batches()")
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
        raise InvalidArgumentError(f"batches() got batch_size={batch_size!r}; pass a whole number of "
                                   "examples per batch, 1 or more.")
    order = np.random.default_rng(seed).permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]
