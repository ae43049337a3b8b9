"""zen.parallel: large elementwise passes split over threads give the same
bits as one thread; errors in a chunk reach the caller; the optimizers'
chunked updates equal the whole ones."""
import threading

import numpy as np
import pytest

import zen
from zen import parallel
from zen.autodiff import Tensor


@pytest.fixture
def threads():
    """Set the pool's size for one test, then restore it."""
    before = parallel.get_num_threads()
    yield parallel.set_num_threads
    parallel.set_num_threads(before)


@pytest.mark.parametrize("length, parts", [(10, 3), (7, 7), (1, 1), (1000, 4)])
def test_chunk_bounds_cover_the_range_in_near_equal_pieces(length, parts):
    bounds = parallel.chunk_bounds(length, parts)
    assert bounds[0][0] == 0 and bounds[-1][1] == length
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    sizes = [stop - start for start, stop in bounds]
    assert max(sizes) - min(sizes) <= 1 and len(bounds) == parts


@pytest.mark.parametrize("count", [1, 2, 3])
def test_chunks_run_on_several_threads_and_cover_everything(threads, count):
    threads(count)
    seen, chunks, names = np.zeros(10 * parallel.MIN_CHUNK + 3, int), [], set()

    def mark(start, stop):
        seen[start:stop] += 1
        chunks.append(start)
        names.add(threading.current_thread().name)
    parallel.for_each_chunk(mark, len(seen))
    assert (seen == 1).all() and len(chunks) == count
    assert "MainThread" in names and (len(names) > 1) == (count > 1)


def test_small_passes_and_nested_passes_stay_on_one_thread(threads):
    threads(2)
    calls = []
    parallel.for_each_chunk(lambda a, b: calls.append((a, b)), parallel.MIN_CHUNK)
    assert calls == [(0, parallel.MIN_CHUNK)]

    inner = []

    def outer(start, stop):
        parallel.for_each_chunk(lambda a, b: inner.append((a, b)), stop - start)
    parallel.for_each_chunk(outer, 4 * parallel.MIN_CHUNK)
    assert len(inner) == 2 and all(a == 0 for a, _ in inner)


def test_an_error_in_a_chunk_reaches_the_caller_after_every_chunk_ran(threads):
    threads(3)
    done = []

    def fail_late(start, stop):
        done.append(start)
        if start > 0:
            raise KeyError(f"chunk at {start}")
    with pytest.raises(KeyError, match="chunk at"):
        parallel.for_each_chunk(fail_late, 3 * parallel.MIN_CHUNK)
    assert len(done) == 3
    parallel.for_each_chunk(lambda a, b: None, 3 * parallel.MIN_CHUNK)  # the pool still works


def test_thread_count_checks(threads, monkeypatch):
    with pytest.raises(ValueError, match="`n`"):
        zen.set_num_threads(0)
    monkeypatch.setenv("ZEN_NUM_THREADS", "two")
    with pytest.raises(ValueError, match="ZEN_NUM_THREADS must be a positive integer"):
        parallel._threads_from_environment()
    monkeypatch.setenv("ZEN_NUM_THREADS", "3")
    assert parallel._threads_from_environment() == 3
    zen.set_num_threads(2)
    assert zen.get_num_threads() == 2


def optimizers():
    return [zen.optim.SGD(0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
            zen.optim.Momentum(0.1), zen.optim.RMSProp(0.01), zen.optim.Adam(0.01),
            zen.optim.AdamW(0.01), zen.optim.Adagrad(0.1), zen.optim.Adamax(0.01),
            zen.optim.Lion(0.001), zen.optim.Nadam(0.01), zen.optim.Adafactor(0.01)]


@pytest.mark.parametrize("index", range(10))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chunked_updates_are_bitwise_those_of_one_thread(threads, index, dtype):
    rng = np.random.default_rng(index)
    shape = (3 * parallel.MIN_CHUNK // 7 + 5, 7)  # not a multiple of the thread count
    start = rng.normal(size=shape).astype(dtype)
    grads = [rng.normal(size=shape).astype(dtype) for _ in range(3)]
    results = []
    for count in (1, 2, 3):
        threads(count)
        weight, optimizer = Tensor(start.copy()), optimizers()[index]
        for grad in grads:
            weight.gradient = grad
            optimizer.step([weight])
        results.append(weight.value)
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])
    assert not np.array_equal(results[0], start)



def test_a_subclass_that_overrides_update_is_not_split(threads):
    class NormSGD(zen.optim.SGD):  # not elementwise: divides by the gradient's norm
        def update(self, param, grad, state, lr):
            param.value -= lr * grad / np.linalg.norm(grad)

    class Faster(zen.optim.Adam):  # declares it again: split
        elementwise = True

        def update(self, param, grad, state, lr):
            super().update(param, grad, state, 2 * lr)

    assert not NormSGD._updates_elementwise() and Faster._updates_elementwise()
    assert zen.optim.AdamW._updates_elementwise() and not zen.optim.Nadam._updates_elementwise()
    rng = np.random.default_rng(0)
    grad = rng.normal(size=(3 * parallel.MIN_CHUNK,)).astype(np.float32)
    results = []
    for count in (1, 2):
        threads(count)
        weight = Tensor(np.zeros_like(grad))
        weight.gradient = grad
        NormSGD(0.1).step([weight])
        results.append(weight.value)
    np.testing.assert_array_equal(*results)


def test_default_num_threads_gives_way_to_the_users_choice(threads, monkeypatch):
    monkeypatch.delenv("ZEN_NUM_THREADS", raising=False)
    monkeypatch.setitem(parallel._STATE, "chosen", False)
    parallel.default_num_threads(1)
    assert zen.get_num_threads() == 1
    zen.set_num_threads(2)
    parallel.default_num_threads(1)
    assert zen.get_num_threads() == 2


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape", [(32, 4, 64, 32), (5, 3, 70, 17), (3, 2, 130, 8)])
def test_attention_split_over_threads_gives_the_bits_of_one_thread(threads, causal, shape):
    """The per-head products split along the batch axis (for (5, 3, 70, 17)
    unevenly; (3, 2, 130, 8) too few per chunk to split) equal one thread's."""
    from zen.autodiff.attention import scaled_dot_product_attention
    g = np.random.default_rng(8)
    q, k, v = (g.normal(size=shape).astype(np.float32) for _ in range(3))
    weights = g.normal(size=shape).astype(np.float32)

    def run():
        tensors = [Tensor(a) for a in (q, k, v)]
        out = scaled_dot_product_attention(*tensors, is_causal=causal)
        (out * Tensor(weights, trainable=False)).sum().backward()
        return [out.value] + [t.gradient for t in tensors]
    threads(1)
    alone = run()
    threads(2)
    for one, two in zip(alone, run()):
        np.testing.assert_array_equal(one, two)


def test_attention_products_run_on_two_threads(threads, monkeypatch):
    from zen.autodiff import attention
    names = set()
    matmul = np.matmul

    def spy(*args, **kwargs):
        names.add(threading.current_thread().name)
        return matmul(*args, **kwargs)
    threads(2)
    monkeypatch.setattr(attention.xp, "matmul", spy)
    q = np.ones((32, 4, 64, 32), np.float32)
    attention.scaled_dot_product_attention(q, q, q)
    assert len(names) == 2


@pytest.mark.parametrize("count", [1, 2])
@pytest.mark.parametrize("length, block", [(10, 3), (2 * parallel.MIN_CHUNK + 5, 1000), (7, 7),
                                           (0, 4)])
def test_blocks_cover_the_range_once_in_order_within_each_thread(threads, count, length, block):
    threads(count)
    seen, blocks = np.zeros(length, int), []

    def mark(start, stop):
        assert 0 < stop - start <= block
        seen[start:stop] += 1
        blocks.append((threading.current_thread().name, start))
    parallel.for_each_block(mark, length, block)
    assert (seen == 1).all()
    for name in {name for name, _ in blocks}:
        starts = [start for who, start in blocks if who == name]
        assert starts == sorted(starts)


def test_a_block_must_hold_an_element(threads):
    with pytest.raises(ValueError, match="block"):
        parallel.for_each_block(lambda start, stop: None, 10, 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelus_numpy_path_in_blocks_gives_the_bits_of_one_whole_pass(threads, dtype):
    """GELU's numpy path runs its passes block by block over the threads:
    the same bits as the passes over the whole array."""
    from zen import kernels
    from zen.autodiff import special
    from zen.autodiff.nn_ops import gelu
    x = np.random.default_rng(12).normal(size=(601, 512)).astype(dtype) * 3
    cdf, pdf = special.normal_cdf_and_pdf(x)
    pdf *= x
    pdf += cdf
    want = x * cdf, pdf
    previous = kernels.enable(False)
    try:
        for count in (1, 2):
            threads(count)
            t = Tensor(x)
            y = gelu(t)
            y.backward(np.ones_like(x))
            np.testing.assert_array_equal(y.value, want[0])
            np.testing.assert_array_equal(t.gradient, want[1])
    finally:
        kernels.enable(previous)


def test_row_chunks_hold_at_least_min_chunk_elements(threads):
    threads(4)
    chunks = []
    parallel.for_each_row_chunk(lambda a, b: chunks.append((a, b)), 10, -(-parallel.MIN_CHUNK // 3))
    assert sorted(chunks) == [(0, 4), (4, 7), (7, 10)]  # 3 rows make a chunk: 3 of them
    chunks.clear()
    parallel.for_each_row_chunk(lambda a, b: chunks.append((a, b)), 5, parallel.MIN_CHUNK)
    assert len(chunks) == 4


def test_passes_from_two_threads_at_once_both_complete(threads):
    """The pool serves one pass at a time; a pass from another thread meanwhile
    runs whole on its own thread."""
    threads(2)
    arrays = [np.zeros(4 * parallel.MIN_CHUNK) for _ in range(2)]
    errors = []

    def fill(array):
        try:
            for value in range(1, 30):
                parallel.for_each_chunk(lambda a, b: array.__setitem__(slice(a, b), value),
                                        len(array))
                assert (array == value).all()
        except BaseException as error:  # reported below
            errors.append(error)
    other = threading.Thread(target=fill, args=(arrays[1],))
    other.start()
    fill(arrays[0])
    other.join()
    assert not errors


def test_a_forked_child_starts_its_own_pool(threads):
    import multiprocessing
    threads(2)
    parallel.for_each_chunk(lambda a, b: None, 4 * parallel.MIN_CHUNK)  # the parent's pool
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        assert pool.apply(_split_sum, (4 * parallel.MIN_CHUNK,)) == 4 * parallel.MIN_CHUNK


def _split_sum(length):
    ones, total = np.ones(length), np.zeros(length)

    def add(start, stop):
        total[start:stop] += ones[start:stop]
    parallel.for_each_chunk(add, length)
    return int(total.sum())


QUIET = """
import os, numpy as np
from zen import blas, parallel
a = np.random.default_rng(0).normal(size=(300, 300))
before = a @ a
quiet = blas.quiet_threads()
assert (a @ a == before).all() and blas.quiet_threads() == quiet
assert "OPENBLAS_THREAD_TIMEOUT" not in os.environ or os.environ["OPENBLAS_THREAD_TIMEOUT"] == "9"
print(quiet, blas._openblas() is not None)
"""


@pytest.mark.parametrize("user_timeout", [None, "9"])
def test_openblas_threads_are_quieted_unless_the_user_chose(user_timeout):
    """OpenBLAS's threads restart with the shortest timeout (where numpy's
    BLAS is an OpenBLAS Zen can reach); products keep their values; a
    timeout the user set stays."""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    if user_timeout:
        env["OPENBLAS_THREAD_TIMEOUT"] = user_timeout
    out = subprocess.run([sys.executable, "-c", QUIET], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    quiet, reachable = out == ["True", "True"], out[1] == "True"
    assert quiet == (reachable and user_timeout is None)


def test_slices_of_an_array_split_by_its_rows(threads):
    threads(2)
    rows = np.zeros((6, parallel.MIN_CHUNK // 2))  # 2 rows make a chunk: 2 chunks of 3
    chunks = []
    parallel.for_each_slice(lambda a, b: chunks.append((a, b)), rows)
    assert sorted(chunks) == [(0, 3), (3, 6)]
    chunks.clear()
    parallel.for_each_slice(lambda a, b: chunks.append((a, b)), np.zeros((0, 4)))
    assert chunks == [(0, 0)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blas_gemm_is_numpys_own_product(dtype):
    """zen.blas.gemm(dtype) calls the cblas gemm of numpy's OpenBLAS as
    numpy's matmul does: the same bits, transposed operands and an added
    product (beta = 1) included; None for another dtype."""
    from zen import blas
    gemm = blas.gemm(dtype)
    assert blas.gemm(np.int32) is None
    if gemm is None:  # numpy built on another BLAS: nothing to compare
        assert np.__config__.CONFIG["Build Dependencies"]["blas"]["name"] != "scipy-openblas"
        return
    g = np.random.default_rng(3)
    a, b = g.normal(size=(37, 19)).astype(dtype), g.normal(size=(19, 23)).astype(dtype)
    out = np.full((37, 23), np.nan, dtype)
    gemm(blas.ROW_MAJOR, blas.NO_TRANSPOSE, blas.NO_TRANSPOSE, 37, 23, 19, 1.0, a.ctypes.data,
         19, b.ctypes.data, 23, 0.0, out.ctypes.data, 23)
    np.testing.assert_array_equal(out, a @ b)
    added = np.ones((19, 23), dtype)
    gemm(blas.ROW_MAJOR, blas.TRANSPOSE, blas.NO_TRANSPOSE, 19, 23, 37, 1.0, a.ctypes.data,
         19, out.ctypes.data, 23, 1.0, added.ctypes.data, 23)
    np.testing.assert_array_equal(added, 1 + a.T @ (a @ b))
