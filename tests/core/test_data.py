"""ds.data: the seeded toy data sets, the digits and the helpers."""
import numpy as np
import pytest

import dlscratch as ds


def test_red_blue_is_the_perceptron_example():
    X, y = ds.data.red_blue()
    assert X.shape == (100, 2) and y.shape == (100,)
    assert y.dtype.kind == "i"
    np.testing.assert_array_equal(np.bincount(y), [50, 50])
    np.testing.assert_allclose(X[y == 0].mean(axis=0), [-2, -2], atol=0.4)
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [2, 2], atol=0.4)
    np.testing.assert_allclose(X[y == 0].std(axis=0), [1, 1], atol=0.25)


def test_xor_clusters_is_the_mlp_example():
    X, y = ds.data.xor_clusters()
    assert X.shape == (100, 2)
    np.testing.assert_array_equal(np.bincount(y), [50, 50])
    for centre, label in [((0, 0), 0), ((1, 1), 0), ((0, 1), 1), ((1, 0), 1)]:
        near = np.linalg.norm(X - centre, axis=1) < 0.5
        assert near.sum() >= 20
        assert np.all(y[near] == label)


@pytest.mark.parametrize("make", [ds.data.red_blue, ds.data.xor_clusters, ds.data.circles, ds.data.moons,
                                  ds.data.spiral], ids=lambda f: f.__name__)
def test_data_sets_are_deterministic_by_seed(make):
    X1, y1 = make(seed=1)
    X2, y2 = make(seed=1)
    X3, _ = make(seed=2)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


def test_circles_moons_and_spiral_shapes_and_labels():
    for make in (ds.data.circles, ds.data.moons):
        X, y = make(n=120)
        assert X.shape == (120, 2)
        np.testing.assert_array_equal(np.bincount(y), [60, 60])
    X, y = ds.data.circles(n=400, noise=0.0, factor=0.5)
    radius = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(radius[y == 1], 0.5)
    np.testing.assert_allclose(radius[y == 0], 1.0)
    X, y = ds.data.spiral(n=300, classes=3)
    assert X.shape == (300, 2)
    np.testing.assert_array_equal(np.bincount(y), [100, 100, 100])


@pytest.mark.parametrize("name", ["blobs", "xor", "circles", "moons", "spiral"])
def test_make_by_name(name):
    X, y = ds.data.make(name, n=200, seed=3)
    assert X.shape == (200, 2) and y.shape == (200,)
    X2, _ = ds.data.make(name, n=200, seed=3)
    np.testing.assert_array_equal(X, X2)
    quiet, _ = ds.data.make(name, n=200, noise=0.01, seed=3)
    noisy, _ = ds.data.make(name, n=200, noise=0.5, seed=3)
    assert not np.array_equal(quiet, noisy)


def test_make_unknown_name():
    with pytest.raises(ValueError, match="blobs"):
        ds.data.make("mnist")


def test_one_hot():
    out = ds.data.one_hot([2, 0, 1, 2])
    np.testing.assert_array_equal(out, [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert ds.data.one_hot([0, 1], num_classes=4).shape == (2, 4)
    assert ds.data.one_hot([0, 1], dtype=np.float32).dtype == np.float32


def test_train_test_split():
    X = np.arange(40).reshape(20, 2)
    y = np.arange(20)
    X_train, X_test, y_train, y_test = ds.data.train_test_split(X, y, test_size=0.25, seed=0)
    assert len(X_test) == 5 and len(X_train) == 15
    np.testing.assert_array_equal(X_train[:, 0] // 2, y_train)  # rows stay paired with their labels
    np.testing.assert_array_equal(X_test[:, 0] // 2, y_test)
    assert sorted(np.concatenate([y_train, y_test])) == list(range(20))
    again = ds.data.train_test_split(X, y, test_size=0.25, seed=0)
    np.testing.assert_array_equal(again[3], y_test)
    other = ds.data.train_test_split(X, y, test_size=0.25, seed=1)
    assert not np.array_equal(other[3], y_test)


def test_batches_cover_the_data_once():
    X = np.arange(23)[:, None] * 1.0
    y = np.arange(23)
    seen = []
    for Xb, yb in ds.data.batches(X, y, batch_size=5, seed=0):
        assert len(Xb) <= 5
        np.testing.assert_array_equal(Xb[:, 0], yb)
        seen.extend(yb)
    assert sorted(seen) == list(range(23))
    assert seen != list(range(23))  # shuffled


def test_digits():
    pytest.importorskip("sklearn", reason="the digits come with scikit-learn")
    X, y = ds.data.digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))
