"""Inference time, Zen's `predict` against onnxruntime on the same model
exported with `model.export(path, format="onnx")`: the MNIST MLP
(examples/mnist_mlp.py) and the MNIST ResNet (examples/mnist_resnet.py) at
batch 1 and 256, side by side, in milliseconds per batch (the median of
--repeats timed calls after --warmup untimed ones), with the largest
difference between the two outputs as a check.

Both get the same number of threads (--threads, default 1): OPENBLAS_NUM_THREADS
and OMP_NUM_THREADS for Zen (numpy) and onnxruntime's intra-op threads. The
weights are the untrained initial ones (the time does not depend on them).

Run: python bench/onnx_inference.py [--repeats 50] [--warmup 5] [--threads 1]
Needs onnx and onnxruntime (pip install zen[onnx] onnxruntime).
"""
import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
BATCHES = (1, 256)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50, help="timed calls per figure")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls before them")
    parser.add_argument("--threads", type=int, default=1, help="threads for both runtimes")
    args = parser.parse_args()
    if args.repeats < 1 or args.warmup < 0 or args.threads < 1:
        parser.error("--repeats and --threads must be positive, --warmup not negative")
    return args


def example(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def models():
    """(label, built model, sample shape) for each workload."""
    mlp = example("mnist_mlp").build_model()
    mlp.build((None, 784))
    return [("MNIST MLP", mlp, (784,)),
            ("MNIST ResNet", example("mnist_resnet").build_model(), (28, 28, 1))]


def median_ms(call, repeats, warmup):
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def measure(label, model, shape, folder, args):
    """One table row per batch size: (label, batch, zen ms, onnxruntime ms, max diff)."""
    import numpy as np
    import onnxruntime

    path = Path(folder) / f"{label.replace(' ', '_')}.onnx"
    model.export(path, format="onnx")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = args.threads
    session = onnxruntime.InferenceSession(str(path), options,
                                           providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    rows = []
    for batch in BATCHES:
        x = np.random.default_rng(0).random((batch, *shape), np.float32)
        zen_ms = median_ms(lambda: model.predict(x, batch_size=batch, verbose=0),
                           args.repeats, args.warmup)
        onnx_ms = median_ms(lambda: session.run(None, {name: x}), args.repeats, args.warmup)
        difference = float(np.max(np.abs(session.run(None, {name: x})[0]
                                         - model.predict(x, batch_size=batch, verbose=0))))
        rows.append((label, batch, zen_ms, onnx_ms, difference))
    return rows


def print_table(rows, args):
    print(f"inference, ms per batch (median of {args.repeats}), {args.threads} thread(s)")
    print(f"{'model':<14} {'batch':>5} {'zen':>10} {'onnxruntime':>12} {'zen/ort':>8} "
          f"{'max diff':>9}")
    for label, batch, zen_ms, onnx_ms, difference in rows:
        print(f"{label:<14} {batch:>5} {zen_ms:>10.3f} {onnx_ms:>12.3f} "
              f"{zen_ms / onnx_ms:>7.2f}x {difference:>9.1e}")


def main():
    args = parse_args()
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(args.threads)  # before numpy loads its BLAS
    sys.path.insert(0, str(EXAMPLES.parent))
    import zen

    zen.set_seed(0)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for label, model, shape in models():
            rows += measure(label, model, shape, folder, args)
    print_table(rows, args)


if __name__ == "__main__":
    main()
