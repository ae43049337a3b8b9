"""Handwritten digits with a small residual convnet, on the real MNIST (>= 99.5%).

A functional model: random shifts, rotations and zooms of the training
images (augmentation layers, active in training only), a Conv2D-BatchNorm
stem, two residual blocks (Conv2D-BatchNorm-ReLU twice, plus the block's
input through an Add), global average pooling and a Dense classifier. Adam
with a warm-up then a cosine decay of the learning rate. Trains on the 60,000
training images, reports the test accuracy, saves the model and writes the
training curves (validation = the 10,000 test images).

With --distributed it trains on every process of an MPI job (see
examples/mnist_mlp.py and docs/distributed.md); --batch-size stays the
global batch, and --sync-bn normalises with the whole global batch.

Run: python examples/mnist_resnet.py [--epochs 13] [--out runs/mnist_resnet]
     mpiexec -n 2 python examples/mnist_resnet.py --distributed
"""
import argparse
import time
from pathlib import Path

import numpy as np

import zen
from zen import nn
from zen.data import mnist


def conv_bn(x, filters, strides=1, relu=True):
    x = nn.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
    x = nn.BatchNorm()(x)
    return nn.ReLU()(x) if relu else x


def residual_block(x, filters):
    """relu(x + bn(conv(relu(bn(conv(x))))))."""
    y = conv_bn(conv_bn(x, filters), filters, relu=False)
    return nn.ReLU()(nn.Add()([x, y]))


def build_model(widths=(24, 64)):
    """The channels of the 14 x 14 stage and of the 7 x 7 stage."""
    images = zen.Input((28, 28, 1), name="image")
    x = nn.RandomRotation(0.03)(images)             # up to ~11 degrees either way
    x = nn.RandomZoom(0.08)(x)
    x = nn.RandomTranslation(0.08, 0.08)(x)        # up to ~2 pixels
    x = conv_bn(x, widths[0])                       # 28 x 28
    x = nn.MaxPool2D()(x)                           # 14 x 14
    x = residual_block(x, widths[0])
    x = conv_bn(x, widths[1], strides=2)            # 7 x 7
    x = residual_block(x, widths[1])
    x = nn.GlobalAveragePooling2D()(x)
    digits = nn.Dense(10, name="digit")(x)
    return zen.Model(images, digits, name="mnist_resnet")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=13)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--widths", type=int, nargs=2, default=[24, 64],
                        help="channels of the 14 x 14 and the 7 x 7 stage (default 24 64)")
    parser.add_argument("--train-size", type=int, default=60000)
    parser.add_argument("--test-size", type=int, default=10000,
                        help="test images to validate and report on (default all 10,000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/mnist_resnet"))
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument("--distributed", action="store_true",
                        help="data-parallel over the processes of mpiexec (needs zen[mpi])")
    parser.add_argument("--sync-bn", action="store_true",
                        help="with --distributed: batch statistics over every process")
    args = parser.parse_args()
    distribute, processes, main_process = None, 1, True
    if args.distributed:
        import zen.distributed as dist
        distribute = dist.DataParallel(sync_batchnorm=args.sync_bn)
        processes, main_process = dist.size(), dist.is_main()
        if args.batch_size % processes:
            parser.error(f"--batch-size {args.batch_size} must be a multiple of the "
                         f"{processes} processes")

    zen.set_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x_train = x_train[:args.train_size, :, :, None].astype(np.float32) / 255
    y_train = y_train[:args.train_size]
    x_test = x_test[:args.test_size, :, :, None].astype(np.float32) / 255
    y_test = y_test[:args.test_size]

    model = build_model(tuple(args.widths))
    steps = args.epochs * -(-len(x_train) // args.batch_size)
    warmup = steps // 20
    schedule = zen.optim.schedules.CosineDecay(3e-3, decay_steps=steps - warmup, alpha=0.01,
                                               warmup_steps=warmup)
    model.compile(optimizer=zen.optim.Adam(lr=schedule),
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x_train, y_train, epochs=args.epochs,
                        batch_size=args.batch_size // processes,  # per process
                        validation_data=(x_test, y_test), verbose=args.verbose,
                        distribute=distribute)
    seconds = time.perf_counter() - start
    if not main_process:  # the others hold the same model: rank 0 reports and saves
        return
    model.summary()

    loss, accuracy = model.evaluate(x_test, y_test, batch_size=500)
    print(f"test accuracy: {accuracy:.2%} (loss {loss:.4f}); "
          f"{seconds / args.epochs:.1f} s per epoch on {len(x_train):,} images "
          f"({seconds / 60:.1f} min in all)")
    args.out.mkdir(parents=True, exist_ok=True)
    model.save(args.out / "model.zen")
    zen.plot_history(history, args.out / "curves.png")
    print(f"saved {args.out / 'model.zen'} and {args.out / 'curves.png'}")


if __name__ == "__main__":
    main()
