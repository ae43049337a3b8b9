"""Workload: LSTM(64) then Dense(1) on the last hidden state, predicting the
next value of the first of 8 sinusoids from windows of 50 steps; input
(32, 50, 8), MSE, batch 32, Adam lr 1e-3 — in Zen and PyTorch (nn.LSTM,
batch_first). No hand-written numpy version (bench_rnn.py has one for the
simple RNN).

Run alone: `python bench/bench_lstm.py [--check] [options]` (see run_all.py).
"""
import numpy as np

import numpy_ref as ref
from common import TorchTrainee, Unavailable, ZenTrainee, import_torch, zen_modules

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
    nn, optim = zen_modules()
    model = nn.Sequential([getattr(nn, layer_class)(UNITS), nn.Dense(1)])
    model.build((None, STEPS, FEATURES))
    model.set_weights(weights)
    return ZenTrainee(model, nn.losses.MSE(), optim.Adam(lr=1e-3), x, y)


def zen_trainee(weights, x, y):
    return zen_recurrent_trainee("LSTM", weights, x, y)


def numpy_trainee(weights, x, y):
    raise Unavailable("no hand-written numpy version of this workload")


# ----- PyTorch ------------------------------------------------------------------------
def torch_recurrent_trainee(cell_name, weights, x, y, to_torch, to_zen_order):
    """`cell_name` (LSTM or GRU) then Linear(64, 1) on the last state.
    `to_torch(kernel, recurrent, bias)` -> (weight_ih, weight_hh, bias_ih,
    bias_hh) numpy arrays, bias_hh None to freeze it at zero;
    `to_zen_order(rnn)` -> [kernel, recurrent, bias] torch tensors."""
    torch = import_torch()
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = getattr(nn, cell_name)(FEATURES, UNITS, batch_first=True)
            self.head = nn.Linear(UNITS, 1)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.head(out[:, -1])

    model = Net()
    kernel, recurrent, bias, dense_kernel, dense_bias = weights
    rnn = model.rnn
    arrays = to_torch(kernel, recurrent, bias)
    with torch.no_grad():
        for tensor, array in zip((rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0,
                                  rnn.bias_hh_l0), arrays):
            if array is None:
                tensor.zero_()
                tensor.requires_grad_(False)  # Keras has one bias: freeze the second at 0
            else:
                tensor.copy_(torch.from_numpy(np.ascontiguousarray(array)))
        model.head.weight.copy_(torch.from_numpy(dense_kernel.T.copy()))
        model.head.bias.copy_(torch.from_numpy(dense_bias))

    def to_zen(model):
        return [*to_zen_order(rnn), model.head.weight.T, model.head.bias]

    return TorchTrainee(torch, model, nn.functional.mse_loss, x, y, to_zen)


def torch_trainee(weights, x, y):
    """nn.LSTM keeps Keras's gate order (i, f, g, o) in (out, in) layout."""
    def to_torch(kernel, recurrent, bias):
        return kernel.T, recurrent.T, bias, None

    def to_zen_order(rnn):
        return [rnn.weight_ih_l0.T, rnn.weight_hh_l0.T, rnn.bias_ih_l0 + rnn.bias_hh_l0]

    return torch_recurrent_trainee("LSTM", weights, x, y, to_torch, to_zen_order)


if __name__ == "__main__":
    from run_all import main
    main(["bench_lstm"])
