"""Data-parallel speed on this machine: 1 process against 2 (zen.distributed).

For the MLP of examples/mnist_mlp.py and the CNN of examples/mnist_cnn.py
(dropout included; random MNIST-shaped data), it trains

- 1 process x 1 BLAS thread: plain `fit`, batch B;
- 2 processes x 1 BLAS thread each (`mpiexec -n 2`): `fit` with
  `DataParallel()`, batch B per process (a global batch of 2B), once with
  4 MB buckets (the default: each of these models, 0.9 MB of gradients,
  travels in one bucket, which starts only when backward is over) and once
  with 0.25 MB buckets (the big Dense layer's allreduce then starts while
  the convolutions' backward still runs);

and prints steps per second, samples per second, the speedup (samples per
second of 2 processes over those of 1; the scaling efficiency is half of
it), and per step of the 2-process runs: the time spent waiting for the
gradient allreduces after backward (and its share of the step), the
buckets started during backward, and the time one blocking allreduce of
the same bytes takes (what the wait would be with no overlap and no
imbalance). It also reports the load other processes put on the machine
meanwhile: run it alone (never beside tests).

Then it times one blocking allreduce between 2 processes for the gradient
sizes of this project's models and a sweep of sizes, and checks the cost
model of docs/distributed.md, T(M) = alpha + M / beta, with alpha from the
smallest message and beta from a 4 MB one (a default bucket); a 16 MB
message no longer fits the processor's caches.

    python bench/distributed.py [--mlp-steps 300] [--cnn-steps 30] [--bucket-mb 4 0.25]
    python bench/distributed.py --allreduce     # only the allreduce table
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "examples"))
sys.path.insert(0, str(HERE))

import machine  # noqa: E402
import zen  # noqa: E402

MODELS = {  # name: (example module, sample shape, batch per process)
    "mlp": ("mnist_mlp", (784,), 128),
    "cnn": ("mnist_cnn", (28, 28, 1), 64),
}
WARMUP = 5


# ----- one process of a run ---------------------------------------------------------------
def worker(name: str, steps: int, distributed: bool, bucket_mb: float = 4) -> None:
    """Train `steps` steps (after WARMUP) and, on rank 0, print a JSON line."""
    comm = None
    if distributed:
        import zen.distributed as dist
        from mpi4py import MPI
        comm = MPI.COMM_WORLD
    processes = 1 if comm is None else comm.Get_size()
    module, shape, batch = MODELS[name]
    zen.set_seed(0)
    model = __import__(module).build_model()
    model.build((None, *shape))
    model.compile("adam", zen.nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    g = np.random.default_rng(0)
    n = (steps + WARMUP) * batch * processes
    x = g.random((n, *shape), dtype=np.float32)
    y = g.integers(0, 10, n)
    times = []
    clock = zen.callbacks.LambdaCallback(
        on_batch_end=lambda batch_index, logs: times.append(time.perf_counter()))
    distribute = dist.DataParallel(bucket_mb=bucket_mb) if comm else None
    busy, own = machine.machine_busy_ticks(), machine.own_ticks()
    model.fit(x, y, epochs=1, batch_size=batch, shuffle=False, verbose=0, callbacks=[clock],
              distribute=distribute)
    seconds = times[-1] - times[WARMUP - 1]
    own = own_ticks_everywhere(comm, machine.own_ticks() - own)
    foreign = (machine.machine_busy_ticks() - busy - own) / machine.TICKS_PER_SECOND
    result = {"model": name, "processes": processes, "batch": batch, "steps": steps,
              "step_ms": 1e3 * seconds / steps,
              "steps_per_s": steps / seconds, "samples_per_s": steps * batch * processes / seconds,
              "foreign_cores": max(foreign, 0) / (times[-1] - times[0] + 1e-9)}
    if distribute is not None:
        stats = distribute.stats
        result.update(wait_ms=1e3 * stats["wait_seconds"] / stats["steps"],
                      buckets=stats["buckets"], bytes=stats["bytes"],
                      started_in_backward=stats["started_in_backward"] / stats["steps"],
                      blocking_allreduce_ms=1e3 * blocking_allreduce(comm, stats["bytes"]))
    if comm is None or comm.Get_rank() == 0:
        print(json.dumps(result), flush=True)


def own_ticks_everywhere(comm, ticks: int) -> int:
    return ticks if comm is None else sum(comm.allgather(ticks))


def blocking_allreduce(comm, nbytes: int, repeats: int = 30) -> float:
    """Median seconds of one blocking allreduce of `nbytes` of float32."""
    from mpi4py import MPI
    buffer = np.ones(nbytes // 4, np.float32)
    times = []
    for _ in range(repeats):
        comm.Barrier()
        start = time.perf_counter()
        comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


PROBE_BYTES = {"8 B": 8, "4 KB": 4096, "64 KB": 65536,
               "ResNet (63,346 weights)": 4 * 63346, "CNN (225,034)": 4 * 225034,
               "MLP (235,146)": 4 * 235146, "4 MB": 4 << 20, "16 MB": 16 << 20}


def probe() -> None:
    """Rank 0 prints {label: median seconds of an allreduce of that size}."""
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    times = {label: blocking_allreduce(comm, max(nbytes, 4), repeats=50)
             for label, nbytes in PROBE_BYTES.items()}
    if comm.Get_rank() == 0:
        print(json.dumps(times), flush=True)


def allreduce_table() -> None:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    mpiexec = Path(sys.executable).with_name("mpiexec")
    output = subprocess.run([str(mpiexec), "-n", "2", sys.executable, __file__, "--probe"],
                            env=env, capture_output=True, text=True, timeout=600,
                            check=True).stdout
    times = json.loads(output.strip().splitlines()[-1])
    alpha = times["8 B"]
    beta = (PROBE_BYTES["4 MB"] - 8) / (times["4 MB"] - alpha)  # bytes per second
    print(f"2 processes on this machine: alpha = {1e6 * alpha:.1f} us, "
          f"beta = {beta / 1e9:.2f} GB/s (from 8 B and 4 MB)")
    print(f"{'message':>24} {'bytes':>10} {'measured ms':>12} {'model ms':>9} {'GB/s':>6}")
    for label, nbytes in PROBE_BYTES.items():
        model = alpha + nbytes / beta
        print(f"{label:>24} {nbytes:>10,} {1e3 * times[label]:>12.3f} {1e3 * model:>9.3f} "
              f"{nbytes / times[label] / 1e9:>6.2f}")


# ----- the launcher --------------------------------------------------------------------------
def run(name: str, steps: int, processes: int, bucket_mb: float) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, __file__, "--worker", name, "--steps", str(steps),
               "--bucket-mb", str(bucket_mb)]
    if processes > 1:
        mpiexec = Path(sys.executable).with_name("mpiexec")
        command = [str(mpiexec), "-n", str(processes), *command, "--distributed"]
    output = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800,
                            check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlp-steps", type=int, default=300)
    parser.add_argument("--cnn-steps", type=int, default=30)
    parser.add_argument("--bucket-mb", type=float, nargs="+", default=[4, 0.25],
                        help="bucket sizes of the 2-process runs (default: 4 0.25)")
    parser.add_argument("--allreduce", action="store_true", help="only the allreduce table")
    parser.add_argument("--worker", choices=MODELS, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--distributed", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        return probe()
    if args.worker:
        return worker(args.worker, args.steps, args.distributed, args.bucket_mb[0])
    if not args.allreduce:
        speed_table(args)
        print()
    allreduce_table()


def speed_table(args) -> None:
    print(f"1 BLAS thread per process, {machine.cpu_count()} CPUs")
    print(f"{'model':5} {'procs':>5} {'bucket':>7} {'step ms':>8} {'steps/s':>8} "
          f"{'samples/s':>10} {'speedup':>8} {'wait ms':>8} {'wait %':>7} {'blocking ms':>11} "
          f"{'early':>6} {'foreign':>8}")
    for name, steps in (("mlp", args.mlp_steps), ("cnn", args.cnn_steps)):
        one = run(name, steps, 1, 4)
        print(f"{name:5} {1:>5} {'':>7} {one['step_ms']:>8.2f} {one['steps_per_s']:>8.1f} "
              f"{one['samples_per_s']:>10.0f} {'':>8} {'':>8} {'':>7} {'':>11} {'':>6} "
              f"{one['foreign_cores']:>7.2f}c", flush=True)
        for bucket_mb in args.bucket_mb:
            two = run(name, steps, 2, bucket_mb)
            print(f"{name:5} {2:>5} {bucket_mb:>5g}MB {two['step_ms']:>8.2f} "
                  f"{two['steps_per_s']:>8.1f} {two['samples_per_s']:>10.0f} "
                  f"{two['samples_per_s'] / one['samples_per_s']:>7.2f}x "
                  f"{two['wait_ms']:>8.3f} {100 * two['wait_ms'] / two['step_ms']:>6.1f}% "
                  f"{two['blocking_allreduce_ms']:>11.3f} "
                  f"{two['started_in_backward']:>3.0f}/{two['buckets']:<2} "
                  f"{two['foreign_cores']:>7.2f}c", flush=True)
    print("speedup: samples/s of 2 processes / those of 1 (efficiency: half of it); wait: "
          "per step, blocked in the allreduces after backward (waiting for the slower "
          "process included); blocking: one allreduce of the gradient's bytes; early: "
          "buckets started during backward / buckets; foreign: cores used by other "
          "processes meanwhile.")


if __name__ == "__main__":
    main()
