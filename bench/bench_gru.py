"""Workload: GRU(64) (Keras's reset_after=True) then Dense(1) on the last
hidden state, on the data of bench_lstm.py; input (32, 50, 8), MSE, batch 32,
Adam lr 1e-3 — in Zen and PyTorch (nn.GRU, batch_first, the same
formulation). No hand-written numpy version.

Run alone: `python bench/bench_gru.py [--check] [options]` (see run_all.py).
"""
import numpy as np

import numpy_ref as ref
from bench_lstm import (UNITS, make_data, numpy_trainee, recurrent_weights,  # noqa: F401
                        torch_recurrent_trainee, zen_recurrent_trainee)

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
