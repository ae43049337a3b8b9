"""zen[fast]'s kernels against Zen's numpy code: each op alone, forward and
backward through its autodiff Function, the two paths timed in alternation
in one process; prints the median times and their ratio.

    python bench/kernels.py                  # float32, every op
    python bench/kernels.py --dtype float64 --repeats 31

Needs numba (pip install 'zen[fast]'). Never run it beside tests or other
jobs; see README.md ("Third round").
"""
import argparse
import statistics
import time

import numpy as np

import zen
from zen import kernels
from zen.autodiff import Tensor
from zen.autodiff import attention, conv, nn_ops, normalization, ops


def _gelu(x):
    return nn_ops.gelu(x)


def _layer_norm(x):
    features = x.shape[-1]
    gamma = Tensor(np.ones(features, x.dtype))
    beta = Tensor(np.zeros(features, x.dtype))
    return normalization.layer_normalize(x, gamma, beta, 1e-3)


def _batch_norm(x):
    channels = x.shape[-1]
    mean, var = normalization.channel_moments(x.value)
    gamma = Tensor(np.ones(channels, x.dtype))
    beta = Tensor(np.zeros(channels, x.dtype))
    return normalization.batch_normalize(x, gamma, beta, mean, var, 1e-3)


def _softmax(x):
    return nn_ops.softmax(x, axis=-1)


def _attention(x):
    return attention.scaled_dot_product_attention(x, x, x, is_causal=True)


def _max_pool(x):
    return conv.max_pool2d(x, 2)


def _conv_input_gradient(x):
    kernel = Tensor(np.full((3, 3, x.shape[-1], 64), 0.01, x.dtype))
    return conv.conv2d(x, kernel, padding="valid")


def _relu(x):
    return ops.relu(x)


CASES = [  # (name, op, input shape): the benchmark workloads' sizes
    ("GELU", _gelu, (2048, 512)),
    ("LayerNorm", _layer_norm, (2048, 128)),
    ("BatchNorm", _batch_norm, (128, 28, 28, 24)),
    ("softmax", _softmax, (128, 4, 64, 64)),
    ("attention, causal", _attention, (32, 4, 64, 32)),
    ("max pooling 2x2", _max_pool, (64, 26, 26, 32)),
    ("conv 3x3, 32 -> 64", _conv_input_gradient, (64, 13, 13, 32)),
    ("ReLU", _relu, (128, 28, 28, 24)),
]


def _step(op, value):
    x = Tensor(value)
    out = op(x)
    out.backward(np.ones(out.shape, value.dtype))


def _time(op, value, on, repeats_inside):
    kernels.enable(on)
    start = time.perf_counter()
    for _ in range(repeats_inside):
        _step(op, value)
    return (time.perf_counter() - start) / repeats_inside * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--repeats", type=int, default=21, help="alternating timings per path")
    options = parser.parse_args()
    if not kernels.available():
        raise SystemExit("zen.kernels are not available: pip install 'zen[fast]' (numba)")
    rng = np.random.default_rng(0)
    print(f"{options.dtype}, zen.get_num_threads() = {zen.get_num_threads()}, "
          f"median of {options.repeats} alternating timings")
    print(f"{'op, shape':44} | numpy ms | kernel ms | kernel / numpy")
    for name, op, shape in CASES:
        value = rng.normal(size=shape).astype(options.dtype)
        for on in (True, False):  # compile, warm up
            _time(op, value, on, 2)
        inside = max(1, int(0.05 / max(_time(op, value, False, 1) / 1e3, 1e-6)))
        times = {True: [], False: []}
        for _ in range(options.repeats):
            for on in (True, False):
                times[on].append(_time(op, value, on, inside))
        fast, slow = statistics.median(times[True]), statistics.median(times[False])
        print(f"{name + ' ' + str(shape):44} | {slow:8.3f} | {fast:9.3f} | {fast / slow:.2f}")
    kernels.enable(None)


if __name__ == "__main__":
    main()
