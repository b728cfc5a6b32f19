"""Every op's value and gradient against PyTorch in float64 (skipped where torch is not installed)."""
import numpy as np
import pytest

import dlscratch as ds

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(11)


def uniform(shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, size=shape)


def signed(shape, low=0.3, high=2.0):
    return RNG.uniform(low, high, size=shape) * RNG.choice([-1.0, 1.0], size=shape)


def distributions(shape, axis=-1):
    p = RNG.uniform(0.1, 1.0, size=shape)
    return p / p.sum(axis=axis, keepdims=True)


def compare(ours, theirs, *arrays):
    """Value and gradient of sum(op(*arrays) * weights) in both libraries."""
    variables = [ds.Variable(a, name=f"in{i}") for i, a in enumerate(arrays)]
    out = ours(*variables)
    value = ds.Session().run(out)
    weights = RNG.normal(size=np.shape(value))
    grads = ds.compute_gradients(ds.reduce_sum(out * weights), wrt=variables)

    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    expected = theirs(*tensors)
    (expected * torch.tensor(weights)).sum().backward()

    np.testing.assert_allclose(value, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    for v, t in zip(variables, tensors):
        assert grads[v].shape == tuple(t.shape)
        np.testing.assert_allclose(grads[v], t.grad.numpy(), rtol=1e-10, atol=1e-12)


CASES = {
    "add_broadcast": (ds.add, torch.add, (uniform((4, 3)), uniform((3,)))),
    "add_both_broadcast": (ds.add, torch.add, (uniform((4, 1)), uniform((1, 3)))),
    "subtract": (ds.subtract, torch.sub, (uniform((2, 4, 3)), uniform((4, 1)))),
    "multiply": (ds.multiply, torch.mul, (uniform((4, 3)), uniform((4, 1)))),
    "divide": (ds.divide, torch.div, (uniform((4, 3)), signed((3,)))),
    "negative": (ds.negative, torch.neg, (uniform((4, 3)),)),
    "square": (ds.square, torch.square, (uniform((4, 3)),)),
    "pow": (lambda x: ds.pow(x, 2.5), lambda x: torch.pow(x, 2.5), (uniform((4, 3), 0.2, 2.0),)),
    "matmul": (ds.matmul, torch.matmul, (uniform((4, 3)), uniform((3, 5)))),
    "matmul_vector": (ds.matmul, torch.matmul, (uniform((3,)), uniform((3, 5)))),
    "matmul_batched": (ds.matmul, torch.matmul, (uniform((2, 1, 4, 3)), uniform((5, 3, 2)))),
    "sigmoid": (ds.sigmoid, torch.sigmoid, (uniform((4, 3), -6, 6),)),
    "tanh": (ds.tanh, torch.tanh, (uniform((4, 3)),)),
    "relu": (ds.relu, torch.relu, (signed((4, 3)),)),
    "exp": (ds.exp, torch.exp, (uniform((4, 3)),)),
    "log": (ds.log, torch.log, (uniform((4, 3), 0.1, 3.0),)),
    "clip": (lambda x: ds.clip_by_value(x, -0.5, 1.0), lambda x: torch.clamp(x, -0.5, 1.0),
             (np.array([-1.5, -0.7, -0.2, 0.3, 0.9, 1.4]),)),
    "softmax_axis0": (lambda x: ds.softmax(x, axis=0), lambda x: torch.softmax(x, dim=0), (uniform((4, 3)),)),
    "softmax_last": (ds.softmax, lambda x: torch.softmax(x, dim=-1), (uniform((2, 4, 3)),)),
    "log_softmax": (lambda x: ds.log_softmax(x, axis=1), lambda x: torch.log_softmax(x, dim=1),
                    (uniform((2, 4, 3)),)),
    "sum_all": (ds.reduce_sum, torch.sum, (uniform((2, 4, 3)),)),
    "sum_axis": (lambda x: ds.reduce_sum(x, axis=1), lambda x: torch.sum(x, dim=1), (uniform((2, 4, 3)),)),
    "sum_axes_keepdims": (lambda x: ds.reduce_sum(x, axis=(0, 2), keepdims=True),
                          lambda x: torch.sum(x, dim=(0, 2), keepdim=True), (uniform((2, 4, 3)),)),
    "sum_negative_axes": (lambda x: ds.reduce_sum(x, axis=(-1, 0)), lambda x: torch.sum(x, dim=(-1, 0)),
                          (uniform((2, 4, 3)),)),
    "mean_all": (ds.reduce_mean, torch.mean, (uniform((2, 4, 3)),)),
    "mean_negative_axis": (lambda x: ds.reduce_mean(x, axis=-1), lambda x: torch.mean(x, dim=-1),
                           (uniform((2, 4, 3)),)),
    "mean_axes": (lambda x: ds.reduce_mean(x, axis=(0, 1)), lambda x: torch.mean(x, dim=(0, 1)),
                  (uniform((2, 4, 3)),)),
    "max_all": (ds.reduce_max, torch.amax, (uniform((2, 4, 3)),)),
    "max_axes_keepdims": (lambda x: ds.reduce_max(x, axis=(0, 2), keepdims=True),
                          lambda x: torch.amax(x, dim=(0, 2), keepdim=True), (uniform((2, 4, 3)),)),
    "max_ties": (lambda x: ds.reduce_max(x, axis=-1), lambda x: torch.amax(x, dim=-1),  # amax splits ties too
                 (np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [0.0, -1.0, 0.5]]),)),
    "transpose": (ds.transpose, lambda x: x.permute(2, 1, 0), (uniform((2, 4, 3)),)),
    "transpose_perm": (lambda x: ds.transpose(x, (1, 2, 0)), lambda x: x.permute(1, 2, 0), (uniform((2, 4, 3)),)),
    "reshape": (lambda x: ds.reshape(x, (4, -1)), lambda x: x.reshape(4, -1), (uniform((2, 4, 3)),)),
}


@pytest.mark.parametrize("name", CASES)
def test_op_matches_torch(name):
    ours, theirs, arrays = CASES[name]
    compare(ours, theirs, *arrays)


def test_softmax_cross_entropy_with_logits_matches_torch_cross_entropy():
    logits, labels = uniform((5, 4), -3, 3), distributions((5, 4))
    compare(lambda lab, log: ds.softmax_cross_entropy_with_logits(labels=lab, logits=log),
            lambda lab, log: F.cross_entropy(log, lab, reduction="none"), labels, logits)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_fused_softmax_cross_entropy_loss_matches_torch_cross_entropy(reduction):
    logits, labels = uniform((5, 4), -3, 3), RNG.uniform(0, 2, size=(5, 4))  # labels need not sum to 1
    compare(lambda lab, log: ds.nn.softmax_cross_entropy(labels=lab, logits=log, reduction=reduction),
            lambda lab, log: F.cross_entropy(log, lab, reduction=reduction), labels, logits)


def test_softmax_cross_entropy_with_one_hot_labels_and_class_indices():
    logits = uniform((6, 3), -3, 3)
    y = np.array([0, 2, 1, 1, 0, 2])
    x = ds.Variable(logits, name="logits")
    loss = ds.nn.softmax_cross_entropy(labels=ds.data.one_hot(y, 3), logits=x)  # mean over the batch
    t = torch.tensor(logits, requires_grad=True)
    expected = F.cross_entropy(t, torch.tensor(y))
    expected.backward()
    np.testing.assert_allclose(ds.Session().run(loss), expected.item(), rtol=1e-12)
    np.testing.assert_allclose(ds.compute_gradients(loss, wrt=[x])[x], t.grad.numpy(), rtol=1e-10)


def test_a_small_network_matches_torch():
    X, W1, b1, W2 = uniform((8, 3)), uniform((3, 5)), uniform((5,)), uniform((5, 2))
    labels = ds.data.one_hot(RNG.integers(0, 2, 8), 2)

    def ours(W1, b1, W2):
        h = ds.tanh(ds.matmul(X, W1) + b1)
        return ds.reduce_mean(ds.softmax_cross_entropy_with_logits(labels=labels, logits=ds.relu(h) @ W2))

    def theirs(W1, b1, W2):
        h = torch.tanh(torch.tensor(X) @ W1 + b1)
        return F.cross_entropy(torch.relu(h) @ W2, torch.tensor(labels))

    compare(ours, theirs, W1, b1, W2)
