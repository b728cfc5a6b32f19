"""The three benchmark workloads, each written three ways: dlscratch, numpy by hand, PyTorch.

Every implementation gives a step() function: one full-batch training step
(forward pass including the loss, backward pass, update) that returns the
loss, as `session.run([train_op, loss], feed)` does. All start from the same
initial weights.
"""
import numpy as np

import dlscratch as ds


def _xor(dtype):
    X, y = ds.data.xor_clusters(n_per_cluster=50)  # 200 points
    return X.astype(dtype), ds.data.one_hot(y, 2, dtype)


def _digits(dtype):
    X, y = ds.data.digits()
    return X.astype(dtype), ds.data.one_hot(y, 10, dtype)


def _synthetic(dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8192, 784)).astype(dtype)
    return X, ds.data.one_hot(rng.integers(0, 10, 8192), 10, dtype)


WORKLOADS = {
    # name: (data, layer sizes, hidden activation, learning rate, loss reduction, repeats)
    # W1 sums the loss over the batch, as the source material does; the others average it.
    # W1c is W1 with the source's own loss, -reduce_sum(c * log(softmax(z))) built from five ops,
    # as students write it; W1 uses the fused op. numpy and PyTorch compute the same sum for both.
    "W1 xor 2-3-2 sigmoid": (_xor, [2, 3, 2], "sigmoid", 0.03, "sum", 2000),
    "W1c xor 2-3-2 sigmoid, composite loss": (_xor, [2, 3, 2], "sigmoid", 0.03, "composite", 2000),
    "W2 digits 64-128-10 relu": (_digits, [64, 128, 10], "relu", 0.1, "mean", 100),
    "W3 synthetic 784-512-512-10 relu": (_synthetic, [784, 512, 512, 10], "relu", 0.01, "mean", 5),
}


def init_weights(sizes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.normal(0, np.sqrt(2 / (a + b)), (a, b)).astype(dtype), np.zeros(b, dtype))
            for a, b in zip(sizes[:-1], sizes[1:])]


def dlscratch_step(X, C, params, activation, lr, reduction):
    graph = ds.Graph()
    with graph.as_default():
        x, c = ds.placeholder((None, X.shape[1]), X.dtype), ds.placeholder((None, C.shape[1]), C.dtype)
        act = {"sigmoid": ds.sigmoid, "relu": ds.relu}[activation]
        h = x
        for i, (W, b) in enumerate(params):
            h = h @ ds.Variable(W) + ds.Variable(b)
            if i < len(params) - 1:
                h = act(h)
        if reduction == "composite":
            loss = ds.negative(ds.reduce_sum(ds.multiply(c, ds.log(ds.softmax(h)))))
        else:
            loss = ds.nn.softmax_cross_entropy(labels=c, logits=h, reduction=reduction)
        train = ds.train.GradientDescentOptimizer(lr).minimize(loss)
        session, feed = ds.Session(), {x: X, c: C}
    return lambda: session.run([train, loss], feed)[1]


def numpy_step(X, C, params, activation, lr, reduction):
    """Forward and backward written out by hand: the practical floor."""
    params = [(W.copy(), b.copy()) for W, b in params]
    scale = 1.0 if reduction in ("sum", "composite") else 1.0 / len(X)

    def step():
        hs = [X]
        for i, (W, b) in enumerate(params):
            z = hs[-1] @ W + b
            if i < len(params) - 1:
                z = 1 / (1 + np.exp(-z)) if activation == "sigmoid" else np.maximum(z, 0)
            hs.append(z)
        z = hs[-1]
        shifted = z - z.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        loss = (np.sum(np.log(total)) - np.sum(C * shifted)) * scale  # cross-entropy, reported each step
        g = (e / total - C) * scale  # d loss / d logits
        for i in reversed(range(len(params))):
            W, b = params[i]
            dW, db = hs[i].T @ g, g.sum(axis=0)
            if i > 0:
                g = g @ W.T
                h = hs[i]
                g = g * h * (1 - h) if activation == "sigmoid" else g * (h > 0)
            W -= lr * dW
            b -= lr * db
        return loss
    return step


def torch_step(X, C, params, activation, lr, reduction):
    import torch
    torch.set_num_threads(2)
    Xt, Ct = torch.from_numpy(X), torch.from_numpy(C)
    ps = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)) for W, b in params]
    act = torch.sigmoid if activation == "sigmoid" else torch.relu
    flat = [p for pair in ps for p in pair]

    def step():
        h = Xt
        for i, (W, b) in enumerate(ps):
            h = h @ W + b
            if i < len(ps) - 1:
                h = act(h)
        loss = torch.nn.functional.cross_entropy(h, Ct, reduction="sum" if reduction == "composite" else reduction)
        grads = torch.autograd.grad(loss, flat)
        with torch.no_grad():
            for p, g in zip(flat, grads):
                p -= lr * g
        return loss.item()
    return step
