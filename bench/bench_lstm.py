"""Workload: LSTM(64) then Dense(1) on the last hidden state, predicting the
next value of the first of 8 sinusoids from windows of 50 steps; input
(32, 50, 8), MSE, batch 32, Adam lr 1e-3 — in Zen, hand-written numpy (the
input projection of all steps in one matmul, backpropagation through time
by hand) and PyTorch (nn.LSTM, batch_first).

Run alone: `python bench/bench_lstm.py [--check] [options]` (see run_all.py).
"""
import numpy as np

import numpy_ref as ref
from common import ZenTrainee, torch_recurrent_trainee, zen_modules

NAME = "lstm"
TITLE = "LSTM(64)-Dense(1), 50 steps x 8, batch 32"
BATCH, STEPS, FEATURES, UNITS = 32, 50, 8, 64
F32 = np.float32


def make_data(seed=0):
    """32 windows of 50 steps of 8 sinusoids (other frequencies and phases);
    the target of each is the next value of the first one."""
    rng = np.random.default_rng(seed)
    t = np.arange(2000)[:, None]
    series = np.sin(t * np.linspace(0.05, 0.4, FEATURES) + np.arange(FEATURES))
    starts = rng.integers(0, len(series) - STEPS - 1, BATCH)
    x = series[starts[:, None] + np.arange(STEPS)].astype(F32)
    y = series[starts + STEPS, :1].astype(F32)
    return x, y


def recurrent_weights(rng, gates, bias):
    """kernel (8, gates * 64) glorot, recurrent kernel (64, gates * 64)
    orthogonal, then `bias`; Dense kernel (64, 1) glorot and bias zero."""
    width = gates * UNITS
    return [ref.glorot_uniform(rng, (FEATURES, width)), ref.orthogonal(rng, (UNITS, width)),
            bias, ref.glorot_uniform(rng, (UNITS, 1)), ref.zeros(1)]


def initial_weights(seed=0):
    """Keras's LSTM defaults: zero bias but 1 for the forget gate."""
    bias = ref.zeros(4 * UNITS)
    bias[UNITS:2 * UNITS] = 1
    return recurrent_weights(np.random.default_rng(seed + 1), 4, bias)


# ----- Zen ----------------------------------------------------------------------
def zen_recurrent_trainee(layer_class, weights, x, y):
    import zen
    nn, optim = zen_modules()
    model = zen.Sequential([getattr(nn, layer_class)(UNITS), nn.Dense(1)])
    model.build((None, STEPS, FEATURES))
    model.set_weights(weights)
    return ZenTrainee(model, nn.losses.MSE(), optim.Adam(lr=1e-3), x, y)


def zen_trainee(weights, x, y):
    return zen_recurrent_trainee("LSTM", weights, x, y)


# ----- hand-written numpy ----------------------------------------------------------
def gate_affine(batch):
    """(scale, shift), each (batch, 4 * units), with tanh(z * scale) * scale
    + shift = sigmoid(z) on the i, f, o blocks and tanh(z) on the g block,
    since sigmoid(z) = tanh(z / 2) / 2 + 1 / 2: one tanh call then activates
    all four gates. The scale (1/2 or 1) multiplies exactly, so it goes into
    the weights rather than into z. Full-size arrays, as numpy's
    broadcasting loops are slower on a small operand."""
    scale = np.tile(np.repeat(np.array([0.5, 0.5, 1, 0.5], F32), UNITS), (batch, 1))
    shift = np.tile(np.repeat(np.array([0.5, 0.5, 0, 0.5], F32), UNITS), (batch, 1))
    return scale, shift


class NumpyLSTM(ref.LastStateRegressor):
    """Keras's LSTM by hand, gate order i, f, g, o in the columns:

        i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (x_t W + h_{t-1} U + b)
        c_t = f c_{t-1} + i g;   h_t = o tanh(c_t)

    The input projection of all steps is one matmul, each step one matmul
    with U; backward batches the gates' local derivatives over time, then
    each step back is a few products and one matmul with U^T, and the weight
    gradients are one matmul each over all steps.
    """

    def __init__(self, weights, x, y):
        super().__init__(weights, x, y, UNITS)
        batch, steps, features = x.shape
        width, dtype = 4 * UNITS, F32
        self.scale, self.shift = gate_affine(batch)
        self.scaled = [np.empty((features, width), dtype), np.empty((UNITS, width), dtype),
                       np.empty(width, dtype)]                       # W, U, b times scale
        self.xw = np.empty((steps, batch, width), dtype)             # x_t W + b (i, f, o halved)
        self.gates = np.empty((steps, batch, width), dtype)          # i, f, g, o of every step
        self.cs = np.zeros((steps + 1, batch, UNITS), dtype)         # cs[0] is the zero state
        self.tanh_c = np.empty((steps, batch, UNITS), dtype)
        self.input_write = np.empty((batch, UNITS), dtype)           # i g
        self.local = np.empty((steps, batch, width), dtype)          # see local_derivatives
        self.c_from_h = np.empty((steps, batch, UNITS), dtype)       # o (1 - tanh(c_t)^2)
        self.dz = np.empty((steps, batch, width), dtype)             # d(loss)/d(z) of every step
        self.dc = np.empty((batch, UNITS), dtype)
        self.through_h = np.empty((batch, UNITS), dtype)
        self.u_t = np.empty((width, UNITS), dtype)

    def forward(self):
        _, u, b = self.project_inputs(self.scale[0])
        self.xw += b
        steps = len(self.xw)
        hs, cs, h = self.hs, self.cs, UNITS
        for t in range(steps):
            z = np.matmul(hs[t], u, out=self.gates[t])
            z += self.xw[t]
            np.tanh(z, out=z)                                        # all four gates at once
            z *= self.scale
            z += self.shift
            i, f, g, o = z[:, :h], z[:, h:2 * h], z[:, 2 * h:3 * h], z[:, 3 * h:]
            np.multiply(f, cs[t], out=cs[t + 1])
            cs[t + 1] += np.multiply(i, g, out=self.input_write)
            np.multiply(o, np.tanh(cs[t + 1], out=self.tanh_c[t]), out=hs[t + 1])

    def local_derivatives(self):
        """Of every step at once: dz_t = [dc_t, dc_t, dc_t, dh_t] * local_t with

            local_i = g i(1 - i),  local_f = c_{t-1} f(1 - f),
            local_g = i (1 - g^2), local_o = tanh(c_t) o(1 - o),

        and c_from_h = o (1 - tanh(c_t)^2), the path from dh_t into dc_t."""
        gates, local = self.by_gate(self.gates), self.by_gate(self.local)
        i, g, o = gates[:, :, 0], gates[:, :, 2], gates[:, :, 3]
        np.subtract(1, self.gates, out=self.local)
        self.local *= self.gates                                     # a(1 - a), right for i, f, o
        np.multiply(g, g, out=local[:, :, 2])
        np.subtract(1, local[:, :, 2], out=local[:, :, 2])           # 1 - g^2 for g
        local[:, :, 0] *= g
        local[:, :, 1] *= self.cs[:-1]
        local[:, :, 2] *= i
        local[:, :, 3] *= self.tanh_c
        np.multiply(self.tanh_c, self.tanh_c, out=self.c_from_h)
        np.subtract(1, self.c_from_h, out=self.c_from_h)
        self.c_from_h *= o

    def backward(self):
        self.local_derivatives()
        steps, batch, features = self.x_tm.shape
        local, f = self.by_gate(self.local), self.by_gate(self.gates)[:, :, 1]
        np.copyto(self.u_t, self.params[1].T)
        dh, dc, dz = self.dh, self.dc, self.by_gate(self.dz)
        dc.fill(0)                                                   # the loss sees h_T only
        for t in reversed(range(steps)):
            dc += np.multiply(dh, self.c_from_h[t], out=self.through_h)
            np.multiply(dc[:, None], local[t, :, :3], out=dz[t, :, :3])
            np.multiply(dh, local[t, :, 3], out=dz[t, :, 3])
            if t > 0:
                dc *= f[t]                                           # dc_{t-1} = dc_t f
                np.matmul(self.dz[t], self.u_t, out=dh)              # dh_{t-1} = dz_t U^T
        gw, gu, gb = self.grads[:3]
        dz_all = self.dz.reshape(steps * batch, -1)
        np.matmul(self.hs[:-1].reshape(steps * batch, UNITS).T, dz_all, out=gu)
        np.matmul(self.x_tm.reshape(steps * batch, features).T, dz_all, out=gw)
        dz_all.sum(axis=0, out=gb)

    @staticmethod
    def by_gate(a):
        """(T, B, gates * H) -> a (T, B, gates, H) view."""
        return a.reshape(*a.shape[:2], -1, UNITS)


def numpy_trainee(weights, x, y):
    return NumpyLSTM(weights, x, y)


# ----- PyTorch ------------------------------------------------------------------------
def torch_trainee(weights, x, y):
    """nn.LSTM keeps Keras's gate order (i, f, g, o) in (out, in) layout."""
    return torch_recurrent_trainee("LSTM", weights, x, y)


if __name__ == "__main__":
    from run_all import main
    main(["bench_lstm"])
