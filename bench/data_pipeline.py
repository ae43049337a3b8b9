"""Does the DataLoader hide the cost of reading the data? An image-folder
workload: a folder of small PNG files (written here with Pillow into a
temporary folder), a Dataset whose `__getitem__` opens and decodes one file,
and a cheap training step per batch (a zen Flatten-Dense(10) model, softmax
cross-entropy, Adam).

One epoch is timed for each DataLoader setting, in alternation over rounds
(so that all see the same machine), after one warm-up epoch each:

- prefetch=0, num_workers=0: decode, then train, one after the other;
- prefetch=2, num_workers=0: a background thread decodes the next batches
  while the caller trains (decoding is Python work, so it overlaps only
  where Pillow and numpy release the GIL);
- prefetch=0 / 2, num_workers=2: two worker processes decode whole batches.

    python bench/data_pipeline.py                            # 512 images of 64 x 64
    python bench/data_pipeline.py --images 2048 --size 96 --rounds 5
    python bench/data_pipeline.py --images 40 --size 16 --rounds 1   # does it run?

Prints a table: the median epoch time, the time per batch and the speed-up
over prefetch=0, num_workers=0 for each setting.
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout

import zen  # noqa: E402
from zen.data import DataLoader, Dataset  # noqa: E402

SETTINGS = ((0, 0), (2, 0), (0, 2), (2, 2))   # (prefetch, num_workers)
CLASSES = 10


class PngFolder(Dataset):
    """The PNG files of a folder; sample i is (image float32 (H, W, 3) in
    [0, 1], label), the image decoded from its file at each read."""

    def __init__(self, folder: Path):
        self.paths = sorted(Path(folder).glob("*.png"))
        self.labels = np.array([int(p.stem.split("_")[1]) for p in self.paths], np.int64)

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        from PIL import Image
        with Image.open(self.paths[i]) as image:
            pixels = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
        return pixels, self.labels[i]


def write_images(folder: Path, count: int, size: int, seed: int = 0) -> None:
    """`count` random RGB PNGs of size x size, named image-<i>_<label>.png."""
    from PIL import Image
    generator = np.random.default_rng(seed)
    for i in range(count):
        pixels = generator.integers(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"image-{i:05d}_{i % CLASSES}.png")


class Step:
    """A cheap training step on one batch: Flatten, Dense(10), cross-entropy, Adam."""

    def __init__(self, size: int):
        zen.set_seed(0)
        self.model = zen.Sequential([zen.Input((size, size, 3)), zen.nn.Flatten(),
                                     zen.nn.Dense(CLASSES)])
        self.loss = zen.nn.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.optimizer = zen.optim.Adam()
        self.params = self.model.parameters()

    def __call__(self, x, y) -> None:
        loss = self.loss(y, self.model(x, training=True))
        loss.backward()
        self.optimizer.step(self.params)
        self.optimizer.zero_grad(self.params)


def epoch_seconds(loader, step) -> float:
    start = time.perf_counter()
    for x, y in loader:
        step(x, y)
    return time.perf_counter() - start


def run(args) -> dict:
    """{(prefetch, num_workers): [epoch seconds per round]}."""
    with tempfile.TemporaryDirectory(prefix="zen-bench-images-") as folder:
        write_images(Path(folder), args.images, args.size)
        dataset, step = PngFolder(folder), Step(args.size)
        loaders = {setting: DataLoader(dataset, args.batch_size, shuffle=True, seed=0,
                                       prefetch=setting[0], num_workers=setting[1])
                   for setting in SETTINGS}
        for loader in loaders.values():        # warm-up: caches, first allocations
            epoch_seconds(loader, step)
        times = {setting: [] for setting in SETTINGS}
        for _ in range(args.rounds):
            for setting, loader in loaders.items():
                times[setting].append(epoch_seconds(loader, step))
    return times


def table(times: dict, batches: int) -> str:
    base = statistics.median(times[SETTINGS[0]])
    lines = ["| prefetch | num_workers | epoch (s, median) | per batch (ms) | speed-up |",
             "| ---: | ---: | ---: | ---: | ---: |"]
    for (prefetch, workers), seconds in times.items():
        median = statistics.median(seconds)
        lines.append(f"| {prefetch} | {workers} | {median:.3f} | "
                     f"{1000 * median / batches:.2f} | {base / median:.2f}x |")
    return "\n".join(lines)


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=512, help="PNG files (default 512)")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels (default 64)")
    parser.add_argument("--batch-size", type=int, default=32, help="default 32")
    parser.add_argument("--rounds", type=int, default=3, help="timed epochs per setting")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse(argv)
    times = run(args)
    batches = -(-args.images // args.batch_size)
    print(f"{args.images} PNGs of {args.size} x {args.size} x 3, batch {args.batch_size}, "
          f"{batches} batches an epoch, {args.rounds} round(s)")
    print(table(times, batches))


if __name__ == "__main__":
    main()
