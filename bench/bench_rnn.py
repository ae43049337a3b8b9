"""Workload: SimpleRNN(64) then Dense(1) on the last hidden state, predicting
the next value of sin(t) * cos(t) from windows of 50 steps; input (32, 50, 1),
MSE, batch 32, Adam lr 1e-3 — in Zen, hand-written numpy (the input
projection of all steps in one matmul, backpropagation through time by
hand) and PyTorch (nn.RNN, batch_first).

Run alone: `python bench/bench_rnn.py [--check] [options]` (see run_all.py).
"""
import numpy as np

import numpy_ref as ref
from common import ZenTrainee, torch_recurrent_trainee, zen_modules

NAME = "rnn"
TITLE = "SimpleRNN(64)-Dense(1), 50 steps, batch 32"
BATCH, STEPS, UNITS = 32, 50, 64
F32 = np.float32


def make_data(seed=0):
    """32 windows of 50 consecutive values of sin(t) cos(t); the target of
    each is the value that follows it."""
    rng = np.random.default_rng(seed)
    series = np.sin(np.arange(2000) * 0.1) * np.cos(np.arange(2000) * 0.1)
    starts = rng.integers(0, len(series) - STEPS - 1, BATCH)
    index = starts[:, None] + np.arange(STEPS)
    x = series[index][..., None].astype(F32)
    y = series[starts + STEPS][:, None].astype(F32)
    return x, y


def initial_weights(seed=0):
    """RNN kernel (1, 64) glorot, recurrent kernel (64, 64) orthogonal, bias
    zeros; Dense kernel (64, 1) glorot, bias zero (Keras's defaults)."""
    rng = np.random.default_rng(seed + 1)
    return [ref.glorot_uniform(rng, (1, UNITS)), ref.orthogonal(rng, (UNITS, UNITS)),
            ref.zeros(UNITS), ref.glorot_uniform(rng, (UNITS, 1)), ref.zeros(1)]


# ----- Zen ----------------------------------------------------------------------
def zen_trainee(weights, x, y):
    import zen
    nn, optim = zen_modules()
    model = zen.Sequential([nn.SimpleRNN(UNITS), nn.Dense(1)])
    model.build((None, STEPS, 1))
    model.set_weights(weights)
    return ZenTrainee(model, nn.losses.MSE(), optim.Adam(lr=1e-3), x, y)


# ----- hand-written numpy ----------------------------------------------------------
class NumpyRNN:
    """h_t = tanh(x_t Wx + h_{t-1} Wh + b), y = h_T Wd + bd, by hand: the
    input projection of all steps is one matmul, and after backpropagation
    through time the weight gradients are one matmul each over all steps."""

    def __init__(self, weights, x, y):
        self.params = [np.array(w, F32) for w in weights]
        self.grads = [np.empty_like(p) for p in self.params]
        self.x, self.y = x, y
        n, t, f = x.shape
        self.x_tm = np.empty((t, n, f), F32)             # time-major copy of x
        self.xw = np.empty((t, n, UNITS), F32)           # x_t Wx + b for every t
        self.hs = np.zeros((t + 1, n, UNITS), F32)       # hs[0] is the zero state
        self.da = np.empty((t, n, UNITS), F32)           # d(loss)/d(pre-activation)
        self.dh = np.empty((n, UNITS), F32)
        self.out, self.dout = np.empty((n, 1), F32), np.empty((n, 1), F32)
        self.adam = ref.Adam(self.params, lr=1e-3)

    def step(self) -> float:
        wx, wh, b, wd, bd = self.params
        t, n, f = self.x_tm.shape
        np.copyto(self.x_tm, self.x.transpose(1, 0, 2))
        np.matmul(self.x_tm.reshape(t * n, f), wx, out=self.xw.reshape(t * n, UNITS))
        self.xw += b
        hs = self.hs
        for i in range(t):
            np.matmul(hs[i], wh, out=hs[i + 1])
            hs[i + 1] += self.xw[i]
            np.tanh(hs[i + 1], out=hs[i + 1])
        np.matmul(hs[t], wd, out=self.out)
        self.out += bd
        np.subtract(self.out, self.y, out=self.dout)
        loss = float(np.mean(self.dout * self.dout))
        self.dout *= 2 / self.dout.size
        self.backward()
        self.adam.step(self.grads)
        return loss

    def backward(self):
        _, wh, _, wd, _ = self.params
        gwx, gwh, gb, gwd, gbd = self.grads
        t, n, f = self.x_tm.shape
        hs, da, dh = self.hs, self.da, self.dh
        np.matmul(hs[t].T, self.dout, out=gwd)
        self.dout.sum(axis=0, out=gbd)
        np.matmul(self.dout, wd.T, out=dh)
        for i in reversed(range(t)):
            np.multiply(hs[i + 1], hs[i + 1], out=da[i])
            np.subtract(1, da[i], out=da[i])  # tanh' = 1 - h^2
            da[i] *= dh
            if i > 0:
                np.matmul(da[i], wh.T, out=dh)
        da_all = da.reshape(t * n, UNITS)
        np.matmul(hs[:t].reshape(t * n, UNITS).T, da_all, out=gwh)
        np.matmul(self.x_tm.reshape(t * n, f).T, da_all, out=gwx)
        da_all.sum(axis=0, out=gb)

    def weights(self):
        return [p.copy() for p in self.params]


def numpy_trainee(weights, x, y):
    return NumpyRNN(weights, x, y)


# ----- PyTorch ------------------------------------------------------------------------
def torch_trainee(weights, x, y):
    """nn.RNN in (out, in) layout; its second bias frozen at zero."""
    return torch_recurrent_trainee("RNN", weights, x, y)


if __name__ == "__main__":
    from run_all import main
    main(["bench_rnn"])
