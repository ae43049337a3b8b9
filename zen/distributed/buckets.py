"""Gradient averaging in buckets, overlapped with the backward pass
(PyTorch DDP's Reducer, Horovod's tensor fusion).

The parameters are packed, last layer first, into buckets of about
`bucket_bytes`: each bucket is one contiguous buffer, so averaging costs one
allreduce per bucket instead of one per weight. The backward pass computes
the last layers' gradients first; a hook on each weight
(`Tensor.register_post_accumulate_grad_hook`) copies its gradient into its
bucket the moment it is final, and a full bucket starts
its allreduce right away with a non-blocking `Iallreduce`, while backward
goes on with the earlier layers. `synchronize`, before the optimizer step,
starts whatever is left, waits, and hands every parameter a view of its
averaged gradient.

Buckets start strictly in order (bucket k only after buckets 0..k-1), so
every process issues the same collectives in the same order even if its
gradients became final in another order. Each process's gradient is
weighted by its share of the global batch (1/N when all batches are
equal), so that the sum over processes is the gradient of the global
batch's mean loss.
"""
import time

import numpy as np
from mpi4py import MPI


__all__ = ["GradientBuckets"]


class Bucket:
    """Consecutive parameters of one dtype whose gradients travel together."""

    def __init__(self, params):
        self.params = params
        self.offsets = np.cumsum([0] + [p.size for p in params])
        self.buffer = np.zeros(int(self.offsets[-1]), params[0].dtype)
        self.filled = set()   # ids of the parameters copied in this step
        self.request = None   # the allreduce in flight

    def put(self, index, gradient, weight) -> None:
        part = self.buffer[self.offsets[index]:self.offsets[index + 1]]
        if gradient is None:
            part[...] = 0
        else:
            np.multiply(gradient.reshape(-1), weight, out=part)
        self.filled.add(index)

    @property
    def full(self) -> bool:
        return len(self.filled) == len(self.params)

    def gradient_of(self, index):
        """A view of the averaged gradient of parameter `index`."""
        part = self.buffer[self.offsets[index]:self.offsets[index + 1]]
        return part.reshape(self.params[index].shape)


def split_into_buckets(params, bucket_bytes: int) -> list:
    """`params` (in the order their gradients become final) cut into runs of
    one dtype of at most `bucket_bytes` each (a bigger parameter alone)."""
    buckets, current, size = [], [], 0
    for p in params:
        nbytes = p.value.nbytes
        if current and (size + nbytes > bucket_bytes or p.dtype != current[0].dtype):
            buckets.append(current)
            current, size = [], 0
        current.append(p)
        size += nbytes
    if current:
        buckets.append(current)
    return [Bucket(group) for group in buckets]


class GradientBuckets:
    """The gradients of `params` summed over `comm`'s processes, each
    process's weighted by `weight` (see the module docstring).

    Args:
        params: the model's trainable Tensors (in `parameters()` order).
        comm: an MPI communicator used for these allreduces only.
        bucket_bytes: the target size of a bucket.

    `stats` counts steps, bytes and buckets per step, how many buckets
    started during backward, and the seconds spent waiting in `synchronize`.
    """

    def __init__(self, params, comm, bucket_bytes: int):
        self.comm = comm
        self.buckets = split_into_buckets(list(reversed(params)), bucket_bytes)
        self.where = {p.id: (bucket, i) for bucket in self.buckets
                      for i, p in enumerate(bucket.params)}
        self.next = 0          # the first bucket not started yet
        self.armed = False     # whether a training step's backward is running
        self.weight = 1.0
        self.stats = {"steps": 0, "buckets": len(self.buckets),
                      "bytes": sum(b.buffer.nbytes for b in self.buckets),
                      "started_in_backward": 0, "wait_seconds": 0.0}

    def attach(self):
        """Hook every parameter; returns a function that removes the hooks."""
        removers = [p.register_post_accumulate_grad_hook(self._final)
                    for b in self.buckets for p in b.params]
        return lambda: [remove() for remove in removers]

    def arm(self, weight: float) -> None:
        """A training step starts: this process's gradient weighs `weight`."""
        self.armed, self.weight = True, float(weight)

    def _final(self, tensor) -> None:
        if not self.armed:  # a backward pass outside a training step: not ours
            return
        bucket, index = self.where[tensor.id]
        if bucket.request is not None:
            raise RuntimeError("DataParallel: a second backward pass reached a gradient "
                               "that is already being averaged; run one backward pass "
                               "per training step")
        bucket.put(index, tensor.gradient, self.weight)
        self._start_full_buckets(in_backward=True)
        in_flight = [b.request for b in self.buckets[:self.next] if b.request is not None]
        if in_flight:
            MPI.Request.Testall(in_flight)  # MPI makes progress only inside MPI calls

    def _start_full_buckets(self, in_backward: bool) -> None:
        while self.next < len(self.buckets) and self.buckets[self.next].full:
            bucket = self.buckets[self.next]
            bucket.request = self.comm.Iallreduce(MPI.IN_PLACE, bucket.buffer, op=MPI.SUM)
            self.stats["started_in_backward"] += in_backward
            self.next += 1

    def synchronize(self) -> None:
        """Start the buckets still waiting (a parameter without a gradient
        counts as zeros), wait for all, and set every parameter's gradient
        to (a view of) its weighted sum over the processes."""
        for bucket in self.buckets[self.next:]:
            for index, p in enumerate(bucket.params):
                if index not in bucket.filled:
                    bucket.put(index, p.gradient, self.weight)
        self._start_full_buckets(in_backward=False)
        start = time.perf_counter()
        MPI.Request.Waitall([b.request for b in self.buckets])
        self.stats["wait_seconds"] += time.perf_counter() - start
        for bucket in self.buckets:
            for index, p in enumerate(bucket.params):
                p.gradient = bucket.gradient_of(index)
            bucket.filled.clear()
            bucket.request = None
        self.next, self.armed = 0, False
        self.stats["steps"] += 1

    def __repr__(self):
        return (f"GradientBuckets(buckets={len(self.buckets)}, "
                f"bytes={self.stats['bytes']:,})")
