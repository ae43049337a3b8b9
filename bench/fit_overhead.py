"""What does `model.fit` cost on top of the training steps it runs? Times one
epoch of the same batches, alternating in one process:

- bare: a hand-written loop, per batch `x[order[i:i + b]]` (the same shuffle
  and order as fit's), `model(x)`, loss, `backward()`, `opt.step(params)`,
  `opt.zero_grad(params)`: the loss and the update only, no metric and no
  Python float read from the loss;
- fit: `model.fit(x, y, epochs=1, verbose=0)`, whose time includes its
  bookkeeping: the array checks (once per call), the loader, the loss and
  the "accuracy" metric read as floats every batch, the running means, the
  callbacks' hooks and History;
- fit-lines: `verbose=1` with standard output a file (one line an epoch);
- fit-bars: `verbose=1` with standard output a terminal (tqdm bars), faked
  by a sink whose `isatty()` is True; the bars' text is discarded, so the
  cost of a real terminal drawing it is not counted.

Workloads: the bench MLP (bench_mlp.py, batch 128) and CNN (bench_cnn.py,
batch 64), compiled with Adam, SparseCategoricalCrossentropy(from_logits)
and metrics=["accuracy"], on random data of MNIST's shape.

    python bench/fit_overhead.py                       # both, 5 rounds
    python bench/fit_overhead.py --workloads mlp --rounds 9
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
        python bench/fit_overhead.py --clock cpu       # a busy machine

Exits with status 1 when a fit variant's median epoch is more than
--max-overhead (default 0.10) above the bare loop's, in wall time (or,
with --clock cpu, in this process's CPU time).
"""
import argparse
import contextlib
import io
import os
import statistics
import sys
import time

import numpy as np

import bench_cnn
import bench_mlp
from machine import Window

WORKLOADS = {"mlp": (bench_mlp, 12800), "cnn": (bench_cnn, 3200)}
VARIANTS = ("bare", "fit", "fit-lines", "fit-bars")


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workloads", default="mlp,cnn",
                        help="comma-separated, of: mlp, cnn (default both)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternating rounds, one epoch of each variant per round "
                             "(default 5)")
    parser.add_argument("--samples", type=int, default=None,
                        help="samples per epoch (default 12800 for mlp, 3200 for cnn)")
    parser.add_argument("--max-overhead", type=float, default=0.10,
                        help="tolerated fit/bare - 1 (default 0.10)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="the time the verdict compares (default wall); on a busy "
                             "machine, with OPENBLAS_NUM_THREADS=1, this process's CPU "
                             "time is steadier")
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args(argv)
    options.workloads = options.workloads.split(",")
    unknown = sorted(set(options.workloads) - set(WORKLOADS))
    if unknown:
        parser.error(f"unknown workloads {unknown}; choose from {sorted(WORKLOADS)}")
    if options.rounds < 1 or (options.samples is not None and options.samples < 1):
        parser.error("--rounds and --samples must be >= 1")
    return options


class FakeTerminal(io.StringIO):
    """A stdout that says it is a terminal, so that verbose=1 draws bars."""

    def isatty(self):
        return True


@contextlib.contextmanager
def output_to(stream):
    """Standard output and error (tqdm draws on stderr) go to `stream`."""
    with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
        yield


class Workload:
    """A compiled bench model, its random data and one epoch per variant."""

    def __init__(self, module, samples, seed):
        import zen
        from zen import nn

        self.zen, self.batch_size = zen, module.BATCH
        x, y = module.make_data(seed)
        rng = np.random.default_rng(seed)
        self.x = rng.random((samples, *x.shape[1:]), dtype=np.float32)
        self.y = rng.integers(0, 10, samples)
        self.model = module.zen_trainee(module.initial_weights(seed), x, y).model
        self.model.compile(zen.optim.Adam(lr=1e-3),
                           nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                           metrics=["accuracy"])

    def bare(self):
        """The epoch by hand, as fit's loader orders it (zen's generator)."""
        model, loss_fn, optimizer = self.model, self.model.loss, self.model.optimizer
        params = model.parameters()
        order = self.zen.rng.generator().permutation(len(self.x))
        for start in range(0, len(self.x), self.batch_size):
            indices = order[start:start + self.batch_size]
            loss = loss_fn(self.y[indices], model(self.x[indices], training=True))
            loss.backward()
            optimizer.step(params)
            optimizer.zero_grad(params)

    def fit(self, verbose=0):
        self.model.fit(self.x, self.y, epochs=1, batch_size=self.batch_size, verbose=verbose)

    def run(self, variant):
        if variant == "bare":
            return self.bare()
        if variant == "fit":
            return self.fit(verbose=0)
        sink = FakeTerminal() if variant == "fit-bars" else io.StringIO()
        with output_to(sink):
            self.fit(verbose=1)


def measure(workload, rounds, seed):
    """{variant: [(wall, CPU) seconds per epoch]} and the foreign load of
    every window, in cores."""
    times, loads = {variant: [] for variant in VARIANTS}, []
    for variant in VARIANTS:  # warm-up: caches, tqdm's import, the optimiser's state
        workload.zen.set_seed(seed)
        workload.run(variant)
    for round_ in range(rounds):
        for variant in VARIANTS:
            workload.zen.set_seed(seed + 1 + round_)  # every variant sees the same batches
            cpu = time.process_time()
            with Window() as window:
                workload.run(variant)
            times[variant].append((window.seconds, time.process_time() - cpu))
            loads.append(window.foreign_cores)
    return times, loads


def report(name, workload, times, loads, max_overhead, clock) -> bool:
    """Print the medians and ratios; True when every fit variant's median
    time on `clock` ("wall" or "cpu") is within bounds."""
    steps = -(-len(workload.x) // workload.batch_size)
    wall = {v: statistics.median(t for t, _ in times[v]) for v in VARIANTS}
    cpu = {v: statistics.median(c for _, c in times[v]) for v in VARIANTS}
    print(f"\n{name}: {len(workload.x)} samples, batch {workload.batch_size}, {steps} steps "
          f"an epoch; foreign load median {statistics.median(loads):.2f} cores "
          f"(max {max(loads):.2f})")
    print(f"{'variant':<10} {'epoch ms':>9} {'ms/step':>8} {'vs bare':>8} {'CPU ms':>8} "
          f"{'vs bare':>8}   wall time of every round (ms)")
    judged = wall if clock == "wall" else cpu
    ok = True
    for variant in VARIANTS:
        within = variant == "bare" or judged[variant] <= (1 + max_overhead) * judged["bare"]
        ok &= within
        flag = {"wall": " ", "cpu": " ", clock: " " if within else "!"}
        rounds = " ".join(f"{1e3 * t:.0f}" for t, _ in times[variant])
        print(f"{variant:<10} {1e3 * wall[variant]:9.1f} {1e3 * wall[variant] / steps:8.3f} "
              f"{wall[variant] / wall['bare']:7.3f}{flag['wall']} {1e3 * cpu[variant]:8.1f} "
              f"{cpu[variant] / cpu['bare']:7.3f}{flag['cpu']}   {rounds}")
    if statistics.median(loads) > 0.1:
        print("the machine was busy (foreign load above 0.1 cores): wall times are noisy; "
              "the CPU column is steadier (--clock cpu)")
    return ok


def main(argv=None):
    options = parse(sys.argv[1:] if argv is None else argv)
    unset = [k for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k not in os.environ]
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; "
          f"unset: {', '.join(unset) or 'none'}; load average {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} CPUs; {options.rounds} alternating rounds; "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    ok = True
    for name in options.workloads:
        module, samples = WORKLOADS[name]
        workload = Workload(module, options.samples or samples, options.seed)
        times, loads = measure(workload, options.rounds, options.seed)
        ok &= report(name, workload, times, loads, options.max_overhead, options.clock)
    verdict = "OK" if ok else "TOO MUCH"
    print(f"\nfit within {100 * options.max_overhead:g}% of the bare loop ({options.clock} "
          f"time): {verdict}")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
