"""Workload: MLP 784-256-128-10 with ReLU, softmax cross-entropy on integer
labels, batch 128, Adam lr 1e-3 — in Zen, hand-written numpy and PyTorch.

Run alone: `python bench/bench_mlp.py [--check] [options]` (see run_all.py).
"""
import numpy as np

import numpy_ref as ref
from common import TorchTrainee, ZenTrainee, import_torch, zen_modules

NAME = "mlp"
TITLE = "MLP 784-256-128-10 ReLU, batch 128"
SIZES = (784, 256, 128, 10)
BATCH = 128


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((BATCH, SIZES[0]), dtype=np.float32), rng.integers(0, 10, BATCH)


def initial_weights(seed=0):
    """[kernel, bias] per Dense layer: glorot_uniform kernels, zero biases."""
    rng = np.random.default_rng(seed + 1)
    weights = []
    for fan_in, fan_out in zip(SIZES, SIZES[1:]):
        weights += [ref.glorot_uniform(rng, (fan_in, fan_out)), ref.zeros(fan_out)]
    return weights


# ----- Zen ----------------------------------------------------------------------
def zen_trainee(weights, x, y):
    import zen
    nn, optim = zen_modules()
    model = zen.Sequential([nn.Dense(256, activation="relu"), nn.Dense(128, activation="relu"),
                            nn.Dense(10)])
    model.build((None, SIZES[0]))
    model.set_weights(weights)
    loss = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    return ZenTrainee(model, loss, optim.Adam(lr=1e-3), x, y)


# ----- hand-written numpy ----------------------------------------------------------
class NumpyMLP:
    """Forward, backward and Adam by hand, every array allocated once."""

    def __init__(self, weights, x, y):
        self.params = [np.array(w, np.float32) for w in weights]
        self.x = x
        self.loss = ref.SoftmaxCrossEntropy(y, SIZES[-1])
        n = len(x)
        self.z = [np.empty((n, units), np.float32) for units in SIZES[1:]]  # pre-activations
        self.h = [np.empty((n, units), np.float32) for units in SIZES[1:-1]]  # after ReLU
        self.mask = [np.empty((n, units), bool) for units in SIZES[1:-1]]
        self.delta = [np.empty((n, units), np.float32) for units in SIZES[1:-1]]
        self.grads = [np.empty_like(p) for p in self.params]
        self.adam = ref.Adam(self.params, lr=1e-3)

    def step(self) -> float:
        w1, b1, w2, b2, w3, b3 = self.params
        (z1, z2, z3), (h1, h2) = self.z, self.h
        np.matmul(self.x, w1, out=z1)
        z1 += b1
        np.maximum(z1, 0, out=h1)
        np.matmul(h1, w2, out=z2)
        z2 += b2
        np.maximum(z2, 0, out=h2)
        np.matmul(h2, w3, out=z3)
        z3 += b3
        loss = self.loss.forward(z3)
        self.backward(self.loss.grad)
        self.adam.step(self.grads)
        return loss

    def backward(self, d3):
        _, _, w2, _, w3, _ = self.params
        gw1, gb1, gw2, gb2, gw3, gb3 = self.grads
        (h1, h2), (m1, m2), (d1, d2) = self.h, self.mask, self.delta
        np.matmul(h2.T, d3, out=gw3)
        d3.sum(axis=0, out=gb3)
        np.matmul(d3, w3.T, out=d2)
        np.greater(h2, 0, out=m2)
        d2 *= m2
        np.matmul(h1.T, d2, out=gw2)
        d2.sum(axis=0, out=gb2)
        np.matmul(d2, w2.T, out=d1)
        np.greater(h1, 0, out=m1)
        d1 *= m1
        np.matmul(self.x.T, d1, out=gw1)
        d1.sum(axis=0, out=gb1)

    def weights(self):
        return [p.copy() for p in self.params]


def numpy_trainee(weights, x, y):
    return NumpyMLP(weights, x, y)


# ----- PyTorch ------------------------------------------------------------------------
def torch_trainee(weights, x, y):
    torch = import_torch()
    nn = torch.nn
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    linears = [m for m in model if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for layer, kernel, bias in zip(linears, weights[::2], weights[1::2]):
            layer.weight.copy_(torch.from_numpy(kernel.T.copy()))  # torch keeps (out, in)
            layer.bias.copy_(torch.from_numpy(bias))

    def to_zen(model):
        return [t for layer in linears for t in (layer.weight.T, layer.bias)]

    return TorchTrainee(torch, model, nn.functional.cross_entropy, x, y.astype(np.int64), to_zen)


if __name__ == "__main__":
    from run_all import main
    main(["bench_mlp"])
