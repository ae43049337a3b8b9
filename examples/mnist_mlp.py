"""Handwritten digits with a multi-layer perceptron, on the real MNIST.

Trains Dense(256)-Dense(128)-Dense(10) with Dropout and Adam (the learning
rate following a cosine from 1e-3 down to 5e-5), prints the test accuracy,
saves the model and writes the training curves. This is `make mnist`.

With --distributed it trains on every process of an MPI job, each on its
share of every batch (zen.distributed.DataParallel); --batch-size stays the
global batch, so the run follows the same schedule and reaches the same
accuracy as one process. This is `make mnist-mpi`.

With --export it also writes the trained model to <out>/model.onnx.

Run: python examples/mnist_mlp.py [--epochs 15] [--out runs/mnist_mlp] [--export]
     mpiexec -n 2 python examples/mnist_mlp.py --distributed
"""
import argparse
import time
from pathlib import Path

import numpy as np

import zen
from zen import nn
from zen.data import mnist


def build_model():
    return zen.Sequential([
        nn.Dense(256, activation="relu"),
        nn.Dropout(0.2),
        nn.Dense(128, activation="relu"),
        nn.Dropout(0.2),
        nn.Dense(10),
    ])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/mnist_mlp"))
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument("--distributed", action="store_true",
                        help="data-parallel over the processes of mpiexec (needs zen[mpi])")
    parser.add_argument("--export", action="store_true",
                        help="also write the trained model to <out>/model.onnx (needs zen[onnx])")
    args = parser.parse_args()
    distribute, processes, main_process = None, 1, True
    if args.distributed:
        import zen.distributed as dist
        distribute, processes, main_process = dist.DataParallel(), dist.size(), dist.is_main()
        if args.batch_size % processes:
            parser.error(f"--batch-size {args.batch_size} must be a multiple of the "
                         f"{processes} processes")

    zen.set_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x_train = x_train.reshape(-1, 784).astype(np.float32) / 255
    x_test = x_test.reshape(-1, 784).astype(np.float32) / 255

    model = build_model()
    steps = args.epochs * -(-len(x_train) * 11 // 12 // args.batch_size)
    schedule = zen.optim.schedules.CosineDecay(1e-3, decay_steps=steps, alpha=0.05)
    model.compile(optimizer=zen.optim.Adam(lr=schedule),
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x_train, y_train, epochs=args.epochs,
                        batch_size=args.batch_size // processes,  # per process
                        validation_split=1 / 12, verbose=args.verbose, distribute=distribute)
    seconds = time.perf_counter() - start
    if not main_process:  # the others hold the same model: rank 0 reports and saves
        return
    model.summary()

    loss, accuracy = model.evaluate(x_test, y_test, batch_size=1000)
    print(f"test accuracy: {accuracy:.2%} (loss {loss:.4f}); "
          f"{seconds / args.epochs:.1f} s per epoch on 55,000 images"
          + (f" ({processes} processes)" if args.distributed else ""))
    args.out.mkdir(parents=True, exist_ok=True)
    model.save(args.out / "model.zen")
    zen.plot_history(history, args.out / "curves.png")
    print(f"saved {args.out / 'model.zen'} and {args.out / 'curves.png'}")
    if args.export:  # for onnxruntime and other ONNX runtimes; batch axis dynamic
        model.export(args.out / "model.onnx", format="onnx")
        print(f"exported {args.out / 'model.onnx'}")


if __name__ == "__main__":
    main()
