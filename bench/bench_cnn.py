"""Workload: a small convnet on (64, 28, 28, 1) channels-last images:
Conv2D(32, 3)-ReLU-MaxPool(2)-Conv2D(64, 3)-ReLU-MaxPool(2)-Flatten-
Dense(128)-ReLU-Dense(10), softmax cross-entropy, batch 64, Adam lr 1e-3 —
in Zen, hand-written numpy (im2col, channels-last) and PyTorch (NCHW).

Run alone: `python bench/bench_cnn.py [--check] [options]` (see run_all.py).
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

import numpy_ref as ref
from common import TorchTrainee, ZenTrainee, import_torch, zen_modules

NAME = "cnn"
TITLE = "CNN conv32-pool-conv64-pool-128-10, batch 64"
BATCH, IMAGE = 64, (28, 28, 1)
F32 = np.float32


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((BATCH, *IMAGE), dtype=F32), rng.integers(0, 10, BATCH)


def initial_weights(seed=0):
    """[kernel, bias] per Conv2D and Dense layer, in Zen's order and layout."""
    rng = np.random.default_rng(seed + 1)
    shapes = [(3, 3, 1, 32), (3, 3, 32, 64), (5 * 5 * 64, 128), (128, 10)]
    weights = []
    for shape in shapes:
        weights += [ref.glorot_uniform(rng, shape), ref.zeros(shape[-1])]
    return weights


# ----- Zen ----------------------------------------------------------------------
def zen_trainee(weights, x, y):
    import zen
    nn, optim = zen_modules()
    model = zen.Sequential([
        nn.Conv2D(32, 3, activation="relu"), nn.MaxPool2D(2),
        nn.Conv2D(64, 3, activation="relu"), nn.MaxPool2D(2),
        nn.Flatten(), nn.Dense(128, activation="relu"), nn.Dense(10)])
    model.build((None, *IMAGE))
    model.set_weights(weights)
    loss = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    return ZenTrainee(model, loss, optim.Adam(lr=1e-3), x, y)


# ----- hand-written numpy ----------------------------------------------------------
class Conv:
    """Valid, stride-1 convolution of channels-last images by im2col: the
    receptive fields copied into one (rows, kh*kw*C) matrix, one matmul."""

    def __init__(self, in_shape, kernel_shape, input_gradient=True):
        n, h, w, c = in_shape
        kh, kw, _, filters = kernel_shape
        self.out_hw, self.kernel, self.k = (h - kh + 1, w - kw + 1), (kh, kw), kh * kw * c
        self.cols = np.empty((n, *self.out_hw, kh, kw, c), F32)
        self.cols2d = self.cols.reshape(-1, self.k)
        self.z = np.empty((len(self.cols2d), filters), F32)
        if input_gradient:
            self.dcols = np.empty_like(self.cols)
            self.dx = np.empty(in_shape, F32)

    def forward(self, x, kernel, bias):
        sn, sh, sw, sc = x.strides
        windows = as_strided(x, self.cols.shape, (sn, sh, sw, sh, sw, sc), writeable=False)
        np.copyto(self.cols, windows)
        np.matmul(self.cols2d, kernel.reshape(self.k, -1), out=self.z)
        self.z += bias
        return self.z

    def backward(self, dz, kernel, kernel_grad, bias_grad):
        """Fill the weight gradients; return d(loss)/d(input) (when asked for)."""
        flat_kernel = kernel.reshape(self.k, -1)
        np.matmul(self.cols2d.T, dz, out=kernel_grad.reshape(flat_kernel.shape))
        dz.sum(axis=0, out=bias_grad)
        if not hasattr(self, "dx"):
            return None
        np.matmul(dz, flat_kernel.T, out=self.dcols.reshape(len(dz), -1))
        self.dx.fill(0)
        (ho, wo), (kh, kw) = self.out_hw, self.kernel
        for i in range(kh):  # col2im: one whole-batch add per kernel offset
            for j in range(kw):
                self.dx[:, i:i + ho, j:j + wo, :] += self.dcols[:, :, :, i, j, :]
        return self.dx


class MaxPool2:
    """2x2 max pooling, stride 2; an odd last row/column is dropped. The
    gradient goes to the first maximum of each window (as Zen routes it)."""

    def __init__(self, in_shape):
        n, h, w, c = in_shape
        self.hw = (h // 2, w // 2)
        self.out = np.empty((n, *self.hw, c), F32)
        self.remaining = np.empty_like(self.out)
        self.hit = np.empty(self.out.shape, bool)
        self.dx = np.zeros(in_shape, F32)  # a dropped edge keeps its zero gradient

    def views(self, a):
        h, w = self.hw
        return [a[:, i:2 * h:2, j:2 * w:2, :] for i in (0, 1) for j in (0, 1)]

    def forward(self, x):
        self.x = x
        first, *rest = self.views(x)
        np.copyto(self.out, first)
        for view in rest:
            np.maximum(self.out, view, out=self.out)
        return self.out

    def backward(self, g):
        np.copyto(self.remaining, g)
        for x_view, dx_view in zip(self.views(self.x), self.views(self.dx)):
            np.equal(x_view, self.out, out=self.hit)
            np.multiply(self.remaining, self.hit, out=dx_view)
            self.remaining -= dx_view  # taken: later ties get nothing (exact: r - r = 0)
        return self.dx


class NumpyCNN:
    """The convnet's forward, backward and Adam by hand, buffers allocated once."""

    def __init__(self, weights, x, y):
        self.params = [np.array(w, F32) for w in weights]
        self.grads = [np.empty_like(p) for p in self.params]
        self.x, n = x, len(x)
        self.conv1 = Conv(x.shape, (3, 3, 1, 32), input_gradient=False)
        self.h1 = np.empty((n, 26, 26, 32), F32)
        self.pool1 = MaxPool2(self.h1.shape)
        self.conv2 = Conv((n, 13, 13, 32), (3, 3, 32, 64))
        self.h2 = np.empty((n, 11, 11, 64), F32)
        self.pool2 = MaxPool2(self.h2.shape)
        self.z3, self.h3 = np.empty((n, 128), F32), np.empty((n, 128), F32)
        self.z4 = np.empty((n, 10), F32)
        self.d3, self.dflat = np.empty((n, 128), F32), np.empty((n, 1600), F32)
        self.masks = {name: np.empty(getattr(self, name).shape, bool)
                      for name in ("h1", "h2", "h3")}
        self.loss = ref.SoftmaxCrossEntropy(y, 10)
        self.adam = ref.Adam(self.params, lr=1e-3)

    def step(self) -> float:
        w1, b1, w2, b2, w3, b3, w4, b4 = self.params
        z1 = self.conv1.forward(self.x, w1, b1)
        np.maximum(z1, 0, out=self.h1.reshape(z1.shape))
        p1 = self.pool1.forward(self.h1)
        z2 = self.conv2.forward(p1, w2, b2)
        np.maximum(z2, 0, out=self.h2.reshape(z2.shape))
        self.flat = self.pool2.forward(self.h2).reshape(len(self.x), -1)
        np.matmul(self.flat, w3, out=self.z3)
        self.z3 += b3
        np.maximum(self.z3, 0, out=self.h3)
        np.matmul(self.h3, w4, out=self.z4)
        self.z4 += b4
        loss = self.loss.forward(self.z4)
        self.backward(self.loss.grad)
        self.adam.step(self.grads)
        return loss

    def relu_backward(self, name, d):
        """d *= (activation > 0), in place."""
        mask = self.masks[name]
        np.greater(getattr(self, name), 0, out=mask)
        d *= mask.reshape(d.shape)
        return d

    def backward(self, d4):
        w1, _, w2, _, w3, _, w4, _ = self.params
        gw1, gb1, gw2, gb2, gw3, gb3, gw4, gb4 = self.grads
        np.matmul(self.h3.T, d4, out=gw4)
        d4.sum(axis=0, out=gb4)
        np.matmul(d4, w4.T, out=self.d3)
        d3 = self.relu_backward("h3", self.d3)
        np.matmul(self.flat.T, d3, out=gw3)
        d3.sum(axis=0, out=gb3)
        np.matmul(d3, w3.T, out=self.dflat)
        dh2 = self.pool2.backward(self.dflat.reshape(self.pool2.out.shape))
        dz2 = self.relu_backward("h2", dh2).reshape(-1, 64)
        dp1 = self.conv2.backward(dz2, w2, gw2, gb2)
        dz1 = self.relu_backward("h1", self.pool1.backward(dp1)).reshape(-1, 32)
        self.conv1.backward(dz1, w1, gw1, gb1)

    def weights(self):
        return [p.copy() for p in self.params]


def numpy_trainee(weights, x, y):
    return NumpyCNN(weights, x, y)


# ----- PyTorch (its own NCHW layout) -------------------------------------------------
def torch_trainee(weights, x, y):
    torch = import_torch()
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))
    conv1, conv2, dense1, dense2 = model[0], model[3], model[7], model[9]
    # Zen's Flatten reads (h, w, c), torch's (c, h, w): permute dense1's rows once.
    to_torch = [lambda k: k.transpose(3, 2, 0, 1),
                lambda k: k.transpose(3, 2, 0, 1),
                lambda k: k.reshape(5, 5, 64, 128).transpose(3, 2, 0, 1).reshape(128, 1600),
                lambda k: k.T]
    layers = (conv1, conv2, dense1, dense2)
    with torch.no_grad():
        for layer, convert, kernel, bias in zip(layers, to_torch, weights[::2], weights[1::2]):
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(convert(kernel))))
            layer.bias.copy_(torch.from_numpy(bias))

    def to_zen(model):
        kernels = [conv1.weight.permute(2, 3, 1, 0), conv2.weight.permute(2, 3, 1, 0),
                   dense1.weight.reshape(128, 64, 5, 5).permute(2, 3, 1, 0).reshape(1600, 128),
                   dense2.weight.T]
        return [t for kernel, layer in zip(kernels, layers) for t in (kernel, layer.bias)]

    x_nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    return TorchTrainee(torch, model, nn.functional.cross_entropy, x_nchw,
                        y.astype(np.int64), to_zen)


if __name__ == "__main__":
    from run_all import main
    main(["bench_cnn"])
