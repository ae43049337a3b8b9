"""Workload: the residual convnet of examples/mnist_resnet.py without its
augmentation layers, on (128, 28, 28, 1) channels-last images: a
Conv2D-BatchNorm-ReLU stem of 24 filters, MaxPool(2), a residual block of 24,
Conv2D(64, stride 2)-BatchNorm-ReLU, a residual block of 64, global average
pooling and Dense(10); softmax cross-entropy, batch 128, Adam lr 1e-3 — in
Zen (a functional Model) and PyTorch (NCHW, BatchNorm2d). BatchNorm runs in
training mode (batch statistics) in both. No hand-written numpy version.

The correctness check runs in float64 (CHECK_DTYPE): a few of this model's
conv-kernel gradients cancel to within float32 rounding (BatchNorm makes
each channel's output gradient sum to zero), so their sign in float32 is
noise, and Adam's first step moves each such weight by +lr or -lr on that
sign. In float32, 26 of the 99,842 weights take opposite first steps in Zen
and in torch, and after three steps the updates differ by 3.6e-2 relative;
in float64 Zen and torch agree to 2.7e-5 (losses to 4e-16).

Run alone: `python bench/bench_resnet.py [--check] [options]` (see run_all.py).
"""
import sys
from pathlib import Path

import numpy as np

import numpy_ref as ref
from common import TorchTrainee, Unavailable, ZenTrainee, import_torch, zen_modules

NAME = "resnet"
TITLE = "ResNet stem24-block24-conv64/2-block64-GAP-10 with BN, batch 128"
BATCH, IMAGE, WIDTH, WIDE = 128, (28, 28, 1), 24, 64  # the example's two stages
# (in, out, stride) of the six 3x3 convolutions, each followed by a BatchNorm.
CONVS = [(1, WIDTH, 1), (WIDTH, WIDTH, 1), (WIDTH, WIDTH, 1),
         (WIDTH, WIDE, 2), (WIDE, WIDE, 1), (WIDE, WIDE, 1)]
F32 = np.float32
CHECK_DTYPE = np.float64  # see the module docstring


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((BATCH, *IMAGE), dtype=F32), rng.integers(0, 10, BATCH)


def initial_weights(seed=0):
    """Per convolution: kernel (3, 3, in, out) glorot (no bias), then its
    BatchNorm's gamma 1, beta 0, moving mean 0, moving variance 1; then the
    Dense kernel (64, 10) glorot and bias 0 (Zen's and Keras's order)."""
    rng = np.random.default_rng(seed + 1)
    weights = []
    for c_in, c_out, _ in CONVS:
        weights += [ref.glorot_uniform(rng, (3, 3, c_in, c_out)), np.ones(c_out, F32),
                    ref.zeros(c_out), ref.zeros(c_out), np.ones(c_out, F32)]
    return weights + [ref.glorot_uniform(rng, (WIDE, 10)), ref.zeros(10)]


# ----- Zen ----------------------------------------------------------------------
def zen_trainee(weights, x, y):
    """The example's own blocks (examples/mnist_resnet.py), without augmentation."""
    import zen
    nn, optim = zen_modules()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
    from mnist_resnet import conv_bn, residual_block

    images = zen.Input(IMAGE)
    h = nn.MaxPool2D()(conv_bn(images, WIDTH))
    h = residual_block(h, WIDTH)
    h = residual_block(conv_bn(h, WIDE, strides=2), WIDE)
    model = zen.Model(images, nn.Dense(10)(nn.GlobalAveragePooling2D()(h)))
    if x.dtype == np.float64:  # the check: the model's weights in float64 too
        for _, tensor in model.named_tensors():
            tensor.value = tensor.value.astype(np.float64)
    model.set_weights(weights)
    loss = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    return ZenTrainee(model, loss, optim.Adam(lr=1e-3), x, y)


def numpy_trainee(weights, x, y):
    raise Unavailable("no hand-written numpy version of this workload")


# ----- PyTorch (its own NCHW layout) -------------------------------------------------
def torch_trainee(weights, x, y):
    torch = import_torch()
    nn, functional = torch.nn, torch.nn.functional

    class ConvBN(nn.Module):
        """3x3 convolution with Keras's "same" padding (stride 2 pads only
        the bottom and right, as TensorFlow does), then BatchNorm2d with
        Keras's momentum 0.99 (torch's 0.01) and epsilon 1e-3."""

        def __init__(self, c_in, c_out, stride):
            super().__init__()
            self.pad = (1, 1, 1, 1) if stride == 1 else (0, 1, 0, 1)
            self.conv = nn.Conv2d(c_in, c_out, 3, stride=stride, bias=False)
            self.bn = nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.01)

        def forward(self, x):
            return self.bn(self.conv(functional.pad(x, self.pad)))

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = nn.ModuleList(ConvBN(*spec) for spec in CONVS)
            self.head = nn.Linear(WIDE, 10)

        def forward(self, x):
            c = self.convs
            h = functional.max_pool2d(functional.relu(c[0](x)), 2)
            h = functional.relu(h + c[2](functional.relu(c[1](h))))
            h = functional.relu(c[3](h))
            h = functional.relu(h + c[5](functional.relu(c[4](h))))
            return self.head(h.mean(dim=(2, 3)))

    model = ResNet().to(torch.float64 if x.dtype == np.float64 else torch.float32)
    with torch.no_grad():
        for block, index in zip(model.convs, range(0, 5 * len(CONVS), 5)):
            kernel, gamma, beta, mean, variance = weights[index:index + 5]
            block.conv.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))
            for tensor, array in zip((block.bn.weight, block.bn.bias, block.bn.running_mean,
                                      block.bn.running_var), (gamma, beta, mean, variance)):
                tensor.copy_(torch.from_numpy(array))
        model.head.weight.copy_(torch.from_numpy(weights[-2].T.copy()))
        model.head.bias.copy_(torch.from_numpy(weights[-1]))

    def to_zen(model):
        # running_var follows the unbiased batch variance (Keras: biased); with
        # 6272 to 100352 values per channel the difference is far below the check's.
        zen_weights = []
        for block in model.convs:
            bn = block.bn
            zen_weights += [block.conv.weight.permute(2, 3, 1, 0), bn.weight, bn.bias,
                            bn.running_mean, bn.running_var]
        return zen_weights + [model.head.weight.T, model.head.bias]

    x_nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    return TorchTrainee(torch, model, functional.cross_entropy, x_nchw, y.astype(np.int64),
                        to_zen)


if __name__ == "__main__":
    from run_all import main
    main(["bench_resnet"])
