"""Workload: GRU(64) (Keras's reset_after=True) then Dense(1) on the last
hidden state, on the data of bench_lstm.py; input (32, 50, 8), MSE, batch 32,
Adam lr 1e-3 — in Zen, hand-written numpy (as bench_lstm.py's) and PyTorch
(nn.GRU, batch_first, the same formulation).

Run alone: `python bench/bench_gru.py [--check] [options]` (see run_all.py).
"""
import numpy as np

import numpy_ref as ref
from bench_lstm import (F32, UNITS, make_data,  # noqa: F401 (make_data)
                        recurrent_weights, zen_recurrent_trainee)
from common import torch_recurrent_trainee

NAME = "gru"
TITLE = "GRU(64)-Dense(1), 50 steps x 8, batch 32"
# Keras orders the gates update, reset, candidate; torch reset, update, new.
# Swapping the first two blocks is its own inverse.
GATE_SWAP = np.concatenate([np.arange(UNITS, 2 * UNITS), np.arange(UNITS),
                            np.arange(2 * UNITS, 3 * UNITS)])


def initial_weights(seed=0):
    """Keras's GRU defaults: bias (2, 3 * 64) zeros (input row, recurrent row)."""
    return recurrent_weights(np.random.default_rng(seed + 1), 3, ref.zeros((2, 3 * UNITS)))


def zen_trainee(weights, x, y):
    return zen_recurrent_trainee("GRU", weights, x, y)


# ----- hand-written numpy ----------------------------------------------------------
class NumpyGRU(ref.LastStateRegressor):
    """Keras's GRU (reset_after=True) by hand, gate order z, r, h in the
    columns, bias rows [input, recurrent]:

        xz, xr, xh = split(x_t W + b_in);   hz, hr, hh = split(h_{t-1} U + b_rec)
        z = sigmoid(xz + hz);  r = sigmoid(xr + hr);  n = tanh(xh + r hh)
        h_t = z h_{t-1} + (1 - z) n

    The input projection of all steps is one matmul, each step one matmul
    with U; backward batches the local derivatives over time, then each step
    back is a few products and one matmul with U^T, and the weight gradients
    are one matmul each over all steps.
    """

    def __init__(self, weights, x, y):
        super().__init__(weights, x, y, UNITS)
        batch, steps, features = x.shape
        width, dtype = 3 * UNITS, F32
        # sigmoid(a) = tanh(a / 2) / 2 + 1 / 2: the halves of z's and r's columns go
        # into the weights (exactly: a power of two), so one tanh gives both gates.
        self.scale = np.repeat(np.array([0.5, 0.5, 1], dtype), UNITS)
        self.scaled = [np.empty((features, width), dtype), np.empty((UNITS, width), dtype),
                       np.empty((2, width), dtype)]                  # W, U, bias times scale
        self.xw = np.empty((steps, batch, width), dtype)             # x_t W + b_in, z r halved
        self.inner = np.empty((steps, batch, width), dtype)          # h_{t-1} U + b_rec, ditto
        self.zr = np.empty((steps, batch, 2 * UNITS), dtype)         # z, r of every step
        self.candidate = np.empty((steps, batch, UNITS), dtype)      # n of every step
        self.n_local = np.empty((steps, batch, UNITS), dtype)        # see local_derivatives
        self.z_local = np.empty((steps, batch, UNITS), dtype)
        self.r_local = np.empty((steps, batch, 2, UNITS), dtype)
        self.scratch = np.empty((steps, batch, UNITS), dtype)
        self.d_inner = np.empty((steps, batch, width), dtype)        # d(loss)/d(inner)
        self.d_xh = np.empty((steps, batch, UNITS), dtype)           # d(loss)/d(xh)
        self.through_z = np.empty((batch, UNITS), dtype)
        self.u_t = np.empty((width, UNITS), dtype)

    def forward(self):
        _, u, b = self.project_inputs(self.scale)
        self.xw += b[0]
        steps = len(self.xw)
        hs, h = self.hs, UNITS
        for t in range(steps):
            inner = np.matmul(hs[t], u, out=self.inner[t])
            inner += b[1]
            zr = np.add(self.xw[t, :, :2 * h], inner[:, :2 * h], out=self.zr[t])
            np.tanh(zr, out=zr)                                      # both sigmoids at once
            zr *= 0.5
            zr += 0.5
            z, r = zr[:, :h], zr[:, h:]
            n = np.multiply(r, inner[:, 2 * h:], out=self.candidate[t])
            n += self.xw[t, :, 2 * h:]
            np.tanh(n, out=n)
            np.subtract(hs[t], n, out=hs[t + 1])                     # h_t = n + z (h_{t-1} - n)
            hs[t + 1] *= z
            hs[t + 1] += n

    def local_derivatives(self):
        """Of every step at once, with dxh the gradient of n's pre-activation:

            dxh = dh_t n_local,   n_local = (1 - z)(1 - n^2)
            dz  = dh_t z_local,   z_local = (h_{t-1} - n) z(1 - z)
            [dr, dhh] = dxh r_local,   r_local = [hh r(1 - r), r]"""
        h, n = UNITS, self.candidate
        z, r, hh = self.zr[..., :h], self.zr[..., h:], self.inner[..., 2 * h:]
        np.multiply(n, n, out=self.n_local)
        np.subtract(1, self.n_local, out=self.n_local)
        self.n_local *= np.subtract(1, z, out=self.scratch)
        np.multiply(z, self.scratch, out=self.z_local)
        self.z_local *= np.subtract(self.hs[:-1], n, out=self.scratch)
        r_local = self.r_local[:, :, 0]
        np.subtract(1, r, out=r_local)
        r_local *= r
        r_local *= hh
        self.r_local[:, :, 1] = r

    def backward(self):
        """Back through time: d_inner_t = [dz, dr, dhh] is the gradient of
        h_{t-1} U + b_rec, and dh_{t-1} = dh_t z + d_inner_t U^T."""
        self.local_derivatives()
        steps, batch, _ = self.x_tm.shape
        z = self.zr[..., :UNITS]
        np.copyto(self.u_t, self.params[1].T)
        dh, d_inner = self.dh, self.d_inner.reshape(steps, batch, 3, UNITS)
        for t in reversed(range(steps)):
            dxh = np.multiply(dh, self.n_local[t], out=self.d_xh[t])
            np.multiply(dh, self.z_local[t], out=d_inner[t, :, 0])
            np.multiply(dxh[:, None], self.r_local[t], out=d_inner[t, :, 1:])
            if t > 0:
                np.multiply(dh, z[t], out=self.through_z)
                np.matmul(self.d_inner[t], self.u_t, out=dh)
                dh += self.through_z
        self.weight_gradients()

    def weight_gradients(self):
        """Each one matmul (or sum) over all steps. The input projection gets
        dz, dr (as the recurrent one) and dxh in its third block."""
        steps, batch, features = self.x_tm.shape
        gw, gu, gb = self.grads[:3]
        h = UNITS
        d_inner = self.d_inner.reshape(steps * batch, -1)
        d_xh = self.d_xh.reshape(steps * batch, h)
        x_t = self.x_tm.reshape(steps * batch, features).T
        np.matmul(self.hs[:-1].reshape(steps * batch, h).T, d_inner, out=gu)
        np.matmul(x_t, d_inner[:, :2 * h], out=gw[:, :2 * h])
        np.matmul(x_t, d_xh, out=gw[:, 2 * h:])
        d_inner.sum(axis=0, out=gb[1])
        gb[0, :2 * h] = gb[1, :2 * h]
        d_xh.sum(axis=0, out=gb[0, 2 * h:])


def numpy_trainee(weights, x, y):
    return NumpyGRU(weights, x, y)


# ----- PyTorch ------------------------------------------------------------------------
def torch_trainee(weights, x, y):
    """nn.GRU: (out, in) layout, gates reordered; its two biases are Keras's rows."""
    def to_torch(kernel, recurrent, bias):
        return (kernel[:, GATE_SWAP].T, recurrent[:, GATE_SWAP].T,
                bias[0, GATE_SWAP], bias[1, GATE_SWAP])

    def to_zen_order(rnn):
        import torch
        bias = torch.stack([rnn.bias_ih_l0, rnn.bias_hh_l0])
        return [rnn.weight_ih_l0.T[:, GATE_SWAP], rnn.weight_hh_l0.T[:, GATE_SWAP],
                bias[:, GATE_SWAP]]

    return torch_recurrent_trainee("GRU", weights, x, y, to_torch, to_zen_order)


if __name__ == "__main__":
    from run_all import main
    main(["bench_gru"])
