"""Every kernel and elementwise pass that zen.parallel splits gives, on two or
three threads, the bits it gives on one: on odd shapes (rows not divisible
by the thread count, one-element axes, non-contiguous inputs), in float32
and float64. `MIN_CHUNK` is made small so that small arrays split."""
import numpy as np
import pytest

from zen import kernels, parallel
from zen.autodiff import Tensor
from zen.autodiff.conv import Conv2D, MaxPool2D
from zen.autodiff.nn_ops import gelu, softmax
from zen.autodiff.normalization import batch_normalize, channel_moments, layer_normalize

DTYPES = [np.float32, np.float64]


@pytest.fixture
def small_chunks(monkeypatch):
    """Split passes of a few dozen elements; the pool's size restored after."""
    monkeypatch.setattr(parallel, "MIN_CHUNK", 16)
    before = parallel.get_num_threads()
    yield
    parallel.set_num_threads(before)


def on_threads(run):
    """run()'s arrays on 1, 2 and 3 threads, checked bitwise equal; the first."""
    results = []
    for count in (1, 2, 3):
        parallel.set_num_threads(count)
        results.append(run())
    for other in results[1:]:
        for one, many in zip(results[0], other):
            np.testing.assert_array_equal(one, many)
    return results[0]


def values(shape, dtype, seed=0, strided=False):
    """Random values of `shape`; with `strided`, a non-contiguous view (every
    other column of a wider array)."""
    if not strided:
        return (np.random.default_rng(seed).normal(size=shape) * 2).astype(dtype)
    wide = values(shape[:-1] + (2 * shape[-1],), dtype, seed)[..., ::2]
    assert not wide.flags.c_contiguous
    return wide


def forward_and_back(op, *arrays, weights_seed=9):
    """op's output and its inputs' gradients under a random output gradient."""
    tensors = [Tensor(a) for a in arrays]
    out = op(*tensors)
    out.backward(values(out.shape, out.value.dtype, weights_seed))
    return [out.value] + [t.gradient for t in tensors]


@pytest.mark.parametrize("strided", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7, 5, 3), (1, 9), (13, 1)])
def test_gelu_splits_bitwise(small_chunks, fast, dtype, shape, strided):
    x = values(shape, dtype, strided=strided)
    on_threads(lambda: forward_and_back(gelu, x))


@pytest.mark.parametrize("strided", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(9, 7), (2, 3, 11), (5, 1)])
def test_layer_norm_splits_bitwise(small_chunks, fast, dtype, shape, strided):
    x = values(shape, dtype, strided=strided)
    gamma, beta = values(shape[-1:], dtype, 1), values(shape[-1:], dtype, 2)
    on_threads(lambda: forward_and_back(
        lambda *t: layer_normalize(*t, epsilon=1e-3), x, gamma, beta))


@pytest.mark.parametrize("strided", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 5, 7, 3), (2051, 5), (9, 1)])
def test_batch_norm_splits_bitwise(small_chunks, fast, dtype, shape, strided):
    """Rows over the threads for the elementwise passes, whole blocks of rows
    for the sums: (2051, 5) makes three blocks, the last one short."""
    x = values(shape, dtype, strided=strided)
    x += 1  # in place: a strided x stays a view
    gamma, beta = values(shape[-1:], dtype, 1), values(shape[-1:], dtype, 2)

    def normalize(*tensors):
        mean, var = channel_moments(x)
        return batch_normalize(*tensors, mean, var, 1e-3)
    on_threads(lambda: forward_and_back(normalize, x, gamma, beta))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("causal", [False, True])
def test_softmax_splits_bitwise(small_chunks, fast, dtype, causal):
    """A causal softmax splits between blocks of queries, never inside one."""
    x = values((3, 2, 7, 7), dtype)
    if causal:
        def op(t):
            return Tensor(kernels.softmax(t.value, causal=True)) if fast else softmax(t)
        on_threads(lambda: [op(Tensor(x)).value])
        if fast:
            s, g = kernels.softmax(x, causal=True), values(x.shape, dtype, 1)
            on_threads(lambda: [kernels.softmax_backward(g, s, causal=True)])
    else:
        on_threads(lambda: forward_and_back(softmax, x))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("stride, padding, relu", [(1, 1, False), (2, 0, True), (1, "same", True)])
def test_convolution_splits_bitwise(small_chunks, fast, dtype, stride, padding, relu):
    """im2col and col2im by images, the bias and the fused ReLU by rows; 9
    channels so that the kernels take them (from 8 up), 5 images."""
    x, w, b = values((5, 7, 6, 9), dtype, strided=True), values((3, 3, 9, 4), dtype, 1), \
        values((4,), dtype, 2)
    conv = Conv2D.apply
    on_threads(lambda: forward_and_back(
        lambda *t: conv(*t, stride=stride, padding=padding, relu=relu), x, w, b))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size, stride", [(2, 2), (3, 1)])
def test_max_pooling_splits_bitwise(small_chunks, fast, dtype, size, stride):
    x = values((5, 7, 6, 3), dtype, strided=True)
    on_threads(lambda: forward_and_back(
        lambda t: MaxPool2D.apply(t, size=size, stride=stride), x))


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_and_the_arithmetic_ops_split_bitwise(small_chunks, fast, dtype):
    """Add, subtract and multiply split by rows; a broadcast operand goes
    whole to each chunk; a node used twice adds its gradients in chunks."""
    a, b, row = values((11, 7), dtype), values((11, 7), dtype, 1), values((7,), dtype, 2)

    def expression(a, b, row):
        h = (a * b + row).relu()
        return h * h - (b - row) * a
    on_threads(lambda: forward_and_back(expression, a, b, row))


def test_apply_matches_the_ufunc_and_checks_nothing_else(small_chunks):
    """`apply` is the ufunc: shapes that do not broadcast fail as numpy fails;
    out= is written in place; a strided (non-contiguous) operand is fine."""
    parallel.set_num_threads(3)
    a = values((40, 9), np.float32)
    wide = values((40, 19), np.float32)[:, ::2][:, :9]
    np.testing.assert_array_equal(parallel.apply(np.add, a, wide), a + wide)
    np.testing.assert_array_equal(parallel.apply(np.maximum, a, 0), np.maximum(a, 0))
    assert parallel.apply(np.multiply, a, 0.5).dtype == np.float32
    target = a.copy()
    assert parallel.apply(np.add, target, a, out=target) is target
    np.testing.assert_array_equal(target, a + a)
    column = values((40, 1), np.float32)
    np.testing.assert_array_equal(parallel.apply(np.subtract, column, a), column - a)
    with pytest.raises(ValueError, match="broadcast"):
        parallel.apply(np.add, a, values((3, 9), np.float32))


@pytest.mark.parametrize("mask", ["causal", "boolean", "none"])
def test_attention_splits_bitwise(small_chunks, fast, mask):
    """The products by batch items, the softmax (numpy's or the kernel's) row
    by row: one thread's bits on two and three; a boolean mask that leaves a
    row with nothing to attend to gives zeros there on every count."""
    from zen.autodiff.attention import scaled_dot_product_attention
    q, k, v = (values((5, 2, 6, 4), np.float32, seed) for seed in range(3))
    allowed = np.random.default_rng(4).random((5, 1, 6, 6)) > 0.4
    allowed[0, 0, 2] = False
    options = {"causal": {"is_causal": True}, "boolean": {"mask": allowed}, "none": {}}[mask]
    on_threads(lambda: forward_and_back(
        lambda *t: scaled_dot_product_attention(*t, **options), q, k, v))


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_along_any_axis_splits_bitwise(small_chunks, fast, axis):
    x = values((9, 5, 4), np.float64)
    on_threads(lambda: forward_and_back(lambda t: softmax(t, axis=axis), x))
