"""What subnormal numbers in Adam's moments cost, and what flushing them buys.

One (784, 256) float32 weight (the bench MLP's first layer) trained by Adam
(lr 1e-3) on random gradients; after step 5 half of its rows get a zero
gradient, as the weights of dead ReLU units do. Their first moment m decays
by 0.9 a step into the subnormal range (below 1.2e-38) by about step 800,
and never leaves it: 0.9 times a few units of the smallest subnormal number
rounds back to itself. Every arithmetic operation on a subnormal number
costs an x86 CPU a microcode assist, so every later update is slower.

Median time of an update over windows of steps, for:
- zen: Zen's Adam, whose moments' subnormal numbers become 0 every
  `zen.optim.optimizer.FLUSH_EVERY` updates;
- zen, no flush: the same with the flush switched off;
- torch: PyTorch's Adam (default, foreach) on the same gradients, when
  torch is installed.

    python bench/subnormal_moments.py [--steps 1600]
"""
import argparse
import statistics
import time

import numpy as np

SHAPE = (784, 256)
WINDOWS = ((1, 100), (600, 700), (800, 900), (1000, 1100), (1500, 1600))


def gradients(steps, seed=0):
    """The gradient of each step: random, half of the rows zero after step 5."""
    rng = np.random.default_rng(seed)
    for step in range(1, steps + 1):
        g = rng.normal(size=SHAPE).astype(np.float32) * 1e-2
        if step > 5:
            g[: SHAPE[0] // 2] = 0
        yield g


def zen_times(steps, flush):
    from zen import Tensor
    from zen.optim import Adam, optimizer
    before = optimizer.FLUSH_EVERY
    optimizer.FLUSH_EVERY = before if flush else 1 << 62
    try:
        param, opt, times = Tensor(np.ones(SHAPE, np.float32)), Adam(lr=1e-3), []
        for g in gradients(steps):
            param.gradient = g
            start = time.perf_counter()
            opt.step([param])
            times.append(time.perf_counter() - start)
        return times
    finally:
        optimizer.FLUSH_EVERY = before


def torch_times(steps):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    param = torch.nn.Parameter(torch.ones(SHAPE))
    opt, times = torch.optim.Adam([param], lr=1e-3), []
    for g in gradients(steps):
        param.grad = torch.from_numpy(g)
        start = time.perf_counter()
        opt.step()
        times.append(time.perf_counter() - start)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1600)
    steps = parser.parse_args(argv).steps
    runs = {"zen": zen_times(steps, True), "zen, no flush": zen_times(steps, False),
            "torch": torch_times(steps)}
    windows = [(a, b) for a, b in WINDOWS if b <= steps]
    print("median ms per Adam update, by steps:")
    print(f"{'':14}" + "".join(f"{f'{a}-{b}':>12}" for a, b in windows))
    for name, times in runs.items():
        if times is None:
            print(f"{name:14}  not installed")
            continue
        print(f"{name:14}" + "".join(
            f"{statistics.median(times[a - 1:b]) * 1e3:12.3f}" for a, b in windows))


if __name__ == "__main__":
    main()
