"""Workload: one pre-norm Transformer block on (32, 64, 128) sequences:
LayerNorm - MultiHeadAttention(4 heads, key_dim 32, causal) - residual -
LayerNorm - Dense(512, gelu) - Dense(128) - residual, then Dense(1) on the
mean over time; MSE, batch 32, Adam lr 1e-3 — in Zen (a functional Model)
and PyTorch (nn.MultiheadAttention, batch_first, with a causal mask). No
hand-written numpy version.

Run alone: `python bench/bench_transformer.py [--check] [options]` (see run_all.py).
"""
import numpy as np

import numpy_ref as ref
from common import TorchTrainee, Unavailable, ZenTrainee, import_torch, zen_modules

NAME = "transformer"
TITLE = "Transformer block d128, 4 heads, causal, MLP 512, length 64, batch 32"
BATCH, LENGTH, WIDTH, HEADS, HIDDEN = 32, 64, 128, 4, 512
KEY_DIM = WIDTH // HEADS
F32 = np.float32


def make_data(seed=0):
    """Gaussian sequences; the target is a fixed linear function of their mean."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH, LENGTH, WIDTH)).astype(F32)
    y = (x.mean(axis=1) @ rng.normal(size=(WIDTH, 1))).astype(F32)
    return x, y


def initial_weights(seed=0):
    """In Zen's (and Keras's) order: LayerNorm gamma 1 and beta 0; the query,
    key and value kernels (128, 4, 32) and biases (4, 32), the output kernel
    (4, 32, 128) and bias (128,); LayerNorm; Dense 128-512, 512-128, 128-1
    (glorot kernels, zero biases)."""
    rng = np.random.default_rng(seed + 1)
    norm = [np.ones(WIDTH, F32), ref.zeros(WIDTH)]
    attention = []
    for _ in range(3):
        attention += [ref.glorot_uniform(rng, (WIDTH, HEADS, KEY_DIM)), ref.zeros((HEADS, KEY_DIM))]
    attention += [ref.glorot_uniform(rng, (HEADS, KEY_DIM, WIDTH)), ref.zeros(WIDTH)]
    dense = []
    for fan_in, fan_out in ((WIDTH, HIDDEN), (HIDDEN, WIDTH), (WIDTH, 1)):
        dense += [ref.glorot_uniform(rng, (fan_in, fan_out)), ref.zeros(fan_out)]
    return norm + attention + norm + dense


# ----- Zen ----------------------------------------------------------------------
def zen_trainee(weights, x, y):
    import zen
    nn, optim = zen_modules()
    sequences = zen.Input((LENGTH, WIDTH))
    h = nn.LayerNorm()(sequences)
    h = nn.Add()([sequences, nn.MultiHeadAttention(HEADS, KEY_DIM)(h, h, use_causal_mask=True)])
    mlp = nn.Dense(WIDTH)(nn.Dense(HIDDEN, activation="gelu")(nn.LayerNorm()(h)))
    h = nn.Add()([h, mlp])
    model = zen.Model(sequences, nn.Dense(1)(nn.GlobalAveragePooling1D()(h)))
    model.set_weights(weights)
    return ZenTrainee(model, nn.losses.MSE(), optim.Adam(lr=1e-3), x, y)


def numpy_trainee(weights, x, y):
    raise Unavailable("no hand-written numpy version of this workload")


# ----- PyTorch ------------------------------------------------------------------------
def torch_trainee(weights, x, y):
    torch = import_torch()
    nn, functional = torch.nn, torch.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
            self.attention = nn.MultiheadAttention(WIDTH, HEADS, batch_first=True)
            self.hidden, self.back = nn.Linear(WIDTH, HIDDEN), nn.Linear(HIDDEN, WIDTH)
            self.head = nn.Linear(WIDTH, 1)
            self.register_buffer("causal", nn.Transformer.generate_square_subsequent_mask(LENGTH))

        def forward(self, x):
            h = self.norm1(x)
            x = x + self.attention(h, h, h, attn_mask=self.causal, is_causal=True,
                                   need_weights=False)[0]
            x = x + self.back(functional.gelu(self.hidden(self.norm2(x))))
            return self.head(x.mean(dim=1))

    model = Block()
    mha = model.attention
    dense_params = [model.hidden, model.back, model.head]
    (g1, b1, qk, qb, kk, kb, vk, vb, ok, ob, g2, b2, *dense) = weights
    with torch.no_grad():
        for tensor, array in ((model.norm1.weight, g1), (model.norm1.bias, b1),
                              (model.norm2.weight, g2), (model.norm2.bias, b2)):
            tensor.copy_(torch.from_numpy(array))
        projections = [k.reshape(WIDTH, WIDTH).T for k in (qk, kk, vk)]
        mha.in_proj_weight.copy_(torch.from_numpy(np.concatenate(projections)))
        mha.in_proj_bias.copy_(torch.from_numpy(np.concatenate([qb, kb, vb]).reshape(-1)))
        mha.out_proj.weight.copy_(torch.from_numpy(ok.reshape(WIDTH, WIDTH).T.copy()))
        mha.out_proj.bias.copy_(torch.from_numpy(ob))
        for layer, kernel, bias in zip(dense_params, dense[::2], dense[1::2]):
            layer.weight.copy_(torch.from_numpy(kernel.T.copy()))
            layer.bias.copy_(torch.from_numpy(bias))

    def to_zen(model):
        kernels = mha.in_proj_weight.reshape(3, WIDTH, WIDTH)
        biases = mha.in_proj_bias.reshape(3, HEADS, KEY_DIM)
        attention = []
        for kernel, bias in zip(kernels, biases):
            attention += [kernel.T.reshape(WIDTH, HEADS, KEY_DIM), bias]
        attention += [mha.out_proj.weight.T.reshape(HEADS, KEY_DIM, WIDTH), mha.out_proj.bias]
        return [model.norm1.weight, model.norm1.bias, *attention, model.norm2.weight,
                model.norm2.bias, *[t for layer in dense_params for t in (layer.weight.T,
                                                                        layer.bias)]]

    return TorchTrainee(torch, model, functional.mse_loss, x, y, to_zen)


if __name__ == "__main__":
    from run_all import main
    main(["bench_transformer"])
