"""What the autodiff engine costs on top of numpy.

1. Per-op overhead: recording and back-propagating `a * b` on small arrays,
   as a ratio to the bare numpy multiply (forward and backward by hand).
2. A 784-256-128-10 ReLU MLP forward+backward+SGD step at batch 128, Zen vs
   the same step written by hand in numpy (aim: within 1.15x), once from
   primitive ops and once with the fused ops that zen.nn uses.

Timings alternate the two versions (A B A B ...) and report medians, so that
both see the same machine load. Run: `.venv/bin/python bench/autodiff_overhead.py`
(`make bench` runs the three training workloads of bench/run_all.py).
"""
import statistics
import time

import numpy as np

from zen.autodiff import Tensor, linear, log_softmax, relu, sparse_softmax_cross_entropy


def timed(fn, repeats):
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def alternate(a, b, repeats, rounds=7):
    """Median seconds per call of a and of b, measured in alternation."""
    times_a, times_b = [], []
    for _ in range(rounds):
        times_a.append(timed(a, repeats))
        times_b.append(timed(b, repeats))
    return statistics.median(times_a), statistics.median(times_b)


def op_overhead():
    x, y = np.ones(16, np.float32), np.ones(16, np.float32)
    a, b = Tensor(x), Tensor(y)

    def zen_op():
        (a * b).backward()

    def numpy_op():
        out = x * y
        grad = np.ones_like(out)
        return grad * y, grad * x

    return alternate(zen_op, numpy_op, repeats=2000)


class MLP:
    """The same weights, used by the Zen step and the hand-written step."""

    def __init__(self, sizes=(784, 256, 128, 10), seed=0):
        rng = np.random.default_rng(seed)
        self.weights = [rng.normal(0, np.sqrt(2 / m), (m, n)).astype(np.float32)
                        for m, n in zip(sizes, sizes[1:])]
        self.biases = [np.zeros(n, np.float32) for n in sizes[1:]]


def zen_step_fn(mlp, x, labels, lr=0.01, fused=False):
    """The step from primitive ops (matmul, add, log_softmax, indexing, mean),
    or with the fused `linear` and `sparse_softmax_cross_entropy` that
    zen.nn's Dense and cross-entropy use."""
    params = [Tensor(p) for pair in zip(mlp.weights, mlp.biases) for p in pair]
    rows = np.arange(len(labels))

    def step():
        h = x
        for i in range(0, len(params), 2):
            h = linear(h, params[i], params[i + 1]) if fused else h @ params[i] + params[i + 1]
            if i < len(params) - 2:
                h = relu(h)
        if fused:
            loss = sparse_softmax_cross_entropy(h, labels)
        else:
            loss = -log_softmax(h)[rows, labels].mean()
        loss.backward()
        for p in params:
            p.value -= lr * p.gradient
            p.gradient = None
    return step


def numpy_step_fn(mlp, x, labels, lr=0.01):
    w1, w2, w3 = [w.copy() for w in mlp.weights]
    b1, b2, b3 = [b.copy() for b in mlp.biases]
    rows = np.arange(len(labels))

    def step():
        z1 = x @ w1 + b1
        h1 = np.maximum(z1, 0)
        z2 = h1 @ w2 + b2
        h2 = np.maximum(z2, 0)
        z3 = h2 @ w3 + b3
        z3 = z3 - z3.max(axis=1, keepdims=True)
        p = np.exp(z3)
        p /= p.sum(axis=1, keepdims=True)
        p[rows, labels] -= 1
        d3 = p / len(labels)
        d2 = (d3 @ w3.T) * (z2 > 0)
        d1 = (d2 @ w2.T) * (z1 > 0)
        for param, grad in ((w3, h2.T @ d3), (b3, d3.sum(0)), (w2, h1.T @ d2),
                            (b2, d2.sum(0)), (w1, x.T @ d1), (b1, d1.sum(0))):
            param -= lr * grad
    return step


def mlp_step(fused):
    rng = np.random.default_rng(1)
    x = rng.random((128, 784), dtype=np.float32)
    labels = rng.integers(0, 10, 128)
    mlp = MLP()
    return alternate(zen_step_fn(mlp, x, labels, fused=fused), numpy_step_fn(mlp, x, labels),
                     repeats=30)


def main():
    zen_op, numpy_op = op_overhead()
    print(f"elementwise op (16 floats), forward+backward: zen {zen_op * 1e6:7.1f} us, "
          f"numpy {numpy_op * 1e6:6.1f} us, ratio {zen_op / numpy_op:5.1f}x "
          f"(overhead {(zen_op - numpy_op) * 1e6:.1f} us per op)")
    for fused, ops in ((False, "primitive ops"), (True, "fused ops    ")):
        zen_mlp, numpy_mlp = mlp_step(fused)
        print(f"MLP 784-256-128-10 step, batch 128, {ops}: zen {zen_mlp * 1e3:5.2f} ms, "
              f"numpy {numpy_mlp * 1e3:5.2f} ms, ratio {zen_mlp / numpy_mlp:5.2f}x")


if __name__ == "__main__":
    main()
