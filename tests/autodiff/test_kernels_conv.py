"""zen.kernels' max pooling, col2im and ReLU backward against the numpy
paths of zen.autodiff: the same maxima and first-maximum gradients, bit for
bit where windows do not overlap (where they do, the adds run in another order)."""
import numpy as np
import pytest

from zen import kernels
from zen.autodiff import Tensor
from zen.autodiff.conv import max_pool2d


def on_numpy(fn):
    previous = kernels.enable(False)
    try:
        return fn()
    finally:
        kernels.enable(previous)


def pooled(x, size, stride, weights):
    """(out, d out.sum(weights) / dx) of max_pool2d."""
    t = Tensor(x)
    out = max_pool2d(t, size, stride)
    (out * Tensor(weights, trainable=False)).sum().backward()
    return out.value, t.gradient


CASES = [  # (input shape, size, stride)
    ((2, 6, 6, 3), 2, None),
    ((3, 7, 5, 1), 2, None),        # odd sizes: the last row and column unpooled
    ((1, 9, 9, 5), 3, 2),           # overlapping windows
    ((2, 5, 8, 4), (2, 3), (1, 2)),  # rectangular, overlapping rows
    ((1, 1, 1, 7), 1, None),
    ((4, 4, 4, 2), (4, 4), None),   # one window per image
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, size, stride", CASES)
def test_max_pool_matches_the_numpy_path(numba_on, dtype, shape, size, stride):
    g = np.random.default_rng(3)
    x = g.normal(size=shape).astype(dtype)
    x[..., ::2, :] = np.round(x[..., ::2, :])  # ties inside windows
    sizes = (size, size) if isinstance(size, int) else size
    strides = sizes if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    out_shape = (shape[0], (shape[1] - sizes[0]) // strides[0] + 1,
                 (shape[2] - sizes[1]) // strides[1] + 1, shape[3])
    weights = g.normal(size=out_shape).astype(dtype)
    fast = pooled(x, size, stride, weights)
    slow = on_numpy(lambda: pooled(x, size, stride, weights))
    np.testing.assert_array_equal(fast[0], slow[0])
    overlapping = any(s < k for s, k in zip(strides, sizes))
    if overlapping:
        np.testing.assert_allclose(fast[1], slow[1], rtol=1e-6 if dtype == np.float32 else 1e-14)
    else:
        np.testing.assert_array_equal(fast[1], slow[1])
    assert fast[1].dtype == dtype


def test_max_pool_kernel_takes_non_contiguous_input(numba_on):
    x = np.random.default_rng(4).normal(size=(2, 8, 6, 10)).astype(np.float32)[..., ::2]
    weights = np.ones((2, 4, 3, 5), np.float32)
    fast = pooled(x, 2, None, weights)
    slow = on_numpy(lambda: pooled(x, 2, None, weights))
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a, b)


def test_the_gradient_goes_to_the_first_maximum_only(numba_on):
    x = np.zeros((1, 2, 2, 1), np.float32)  # four tied maxima
    out, grad = pooled(x, 2, None, np.full((1, 1, 1, 1), 5, np.float32))
    assert out.item() == 0 and grad.ravel().tolist() == [5, 0, 0, 0]


def test_a_nan_in_a_window_is_its_maximum_and_gets_no_gradient(numba_on):
    x = np.arange(16, dtype=np.float64).reshape(1, 4, 4, 1)
    x[0, 1, 1, 0] = np.nan   # in the first window, after its first offset
    x[0, 2, 2, 0] = np.nan   # the first offset of the last window
    weights = np.ones((1, 2, 2, 1))
    fast = pooled(x, 2, None, weights)
    slow = on_numpy(lambda: pooled(x, 2, None, weights))
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_array_equal(fast[1], slow[1])
    assert np.isnan(fast[0][0, 0, 0, 0]) and np.isnan(fast[0][0, 1, 1, 0])
    assert fast[1][0, :2, :2, 0].sum() == 0


def test_infinities_pool_as_numpy_does(numba_on):
    x = np.array([-np.inf, -np.inf, -np.inf, 1.0, np.inf, 2.0, -1.0, np.inf],
                 np.float32).reshape(2, 2, 2, 1)
    weights = np.array([3.0, 4.0], np.float32).reshape(2, 1, 1, 1)
    fast = pooled(x, 2, None, weights)
    slow = on_numpy(lambda: pooled(x, 2, None, weights))
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a, b)


def test_a_wide_window_keeps_its_offsets_in_int32(numba_on):
    x = np.random.default_rng(5).normal(size=(1, 12, 12, 2))
    out, argmax = kernels.max_pool(x, (12, 12), (1, 1))
    assert argmax.dtype == np.int32
    flat = x.reshape(144, 2)
    np.testing.assert_array_equal(argmax.ravel(), flat.argmax(axis=0))
    np.testing.assert_array_equal(out.ravel(), flat.max(axis=0))


# ----- col2im: the convolution's input gradient, the transposed convolution ----------

def conv_gradients(op, x, w, stride, padding, weights):
    from zen.autodiff.conv import conv2d, conv2d_transpose
    tx, tw = Tensor(x), Tensor(w)
    function = conv2d if op == "conv" else conv2d_transpose
    out = function(tx, tw, stride=stride, padding=padding)
    (out * Tensor(weights(out.shape), trainable=False)).sum().backward()
    return out.value, tx.gradient, tw.gradient


CONVS = [  # (op, x shape, kernel (kh, kw, in, out) for conv, stride, padding)
    ("conv", (2, 7, 6, 3), (3, 3, 3, 4), 1, "valid"),
    ("conv", (3, 9, 8, 2), (3, 2, 2, 5), 2, "same"),
    ("conv", (1, 5, 5, 1), (5, 5, 1, 2), 1, "valid"),
    ("conv", (2, 6, 6, 4), (1, 1, 4, 3), 1, "same"),
    ("conv", (2, 8, 7, 3), (3, 3, 3, 2), (1, 2), 1),
    ("transpose", (2, 4, 5, 3), (3, 3, 2, 3), 2, "same"),
    ("transpose", (1, 3, 3, 2), (2, 2, 4, 2), 2, "valid"),
    ("transpose", (2, 5, 4, 1), (3, 2, 3, 1), 1, "valid"),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op, x_shape, w_shape, stride, padding", CONVS)
def test_col2im_kernel_matches_the_numpy_path(numba_on, dtype, op, x_shape, w_shape, stride,
                                              padding):
    g = np.random.default_rng(6)
    x = g.normal(size=x_shape).astype(dtype)
    w = g.normal(size=w_shape).astype(dtype)

    def weights(shape):
        return np.linspace(-1, 1, int(np.prod(shape))).reshape(shape).astype(dtype)
    fast = conv_gradients(op, x, w, stride, padding, weights)
    slow = on_numpy(lambda: conv_gradients(op, x, w, stride, padding, weights))
    for a, b in zip(fast, slow):
        assert a.dtype == b.dtype == dtype and a.shape == b.shape
        scale = np.abs(b).max()
        tolerance = 1e-12 if dtype == np.float64 else 8 * np.finfo(np.float32).eps
        np.testing.assert_allclose(a, b, rtol=0, atol=tolerance * scale)


def test_col2im_adds_overlapping_fields():
    pytest.importorskip("numba")
    cols = np.ones((4, 2 * 2 * 1))     # a 3x3 image, 2x2 fields, stride 1: four fields
    image = kernels.col2im(cols, (2, 2), (1, 1), (1, 3, 3, 1))
    np.testing.assert_array_equal(image[0, :, :, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


@pytest.mark.parametrize("kernels_on", [True, False])
def test_a_retained_convolution_backpropagates_twice(kernels_on):
    """The columns saved for the weight gradient are dropped early, except in
    a pass that keeps the graph."""
    from zen.autodiff.conv import conv2d
    if kernels_on:
        pytest.importorskip("numba")
    previous = kernels.enable(kernels_on)
    try:
        g = np.random.default_rng(7)
        x, w = Tensor(g.normal(size=(2, 5, 5, 3))), Tensor(g.normal(size=(3, 3, 3, 2)))
        out = conv2d(x, w, padding="same", relu=True).sum()
        out.backward(retain_graph=True)
        first = x.gradient.copy(), w.gradient.copy()
        out.backward()
        np.testing.assert_allclose(x.gradient, 2 * first[0], rtol=1e-12)
        np.testing.assert_allclose(w.gradient, 2 * first[1], rtol=1e-12)
        with pytest.raises(RuntimeError, match="a second time"):
            out.backward()
    finally:
        kernels.enable(previous)


# ----- ReLU's backward ----------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7,), (3, 5, 2), (1, 1), (4, 9, 9, 3)])
def test_relu_backward_kernel_gives_numpys_bits(numba_on, dtype, shape):
    from zen.autodiff.ops import relu
    g = np.random.default_rng(9)
    x = g.normal(size=shape).astype(dtype)
    x.flat[::3] = 0.0
    weights = g.normal(size=shape).astype(dtype)
    weights.flat[:4] = [np.nan, np.inf, -np.inf, 0.0][:weights.size]

    def run():
        t = Tensor(x)
        with np.errstate(invalid="ignore"):
            (relu(t) * Tensor(weights, trainable=False)).sum().backward()
        return t.gradient
    np.testing.assert_array_equal(run(), on_numpy(run))


def test_relu_backward_kernel_takes_non_contiguous_arrays(numba_on):
    g = np.random.default_rng(10).normal(size=(6, 8))
    y = np.maximum(g, 0)
    np.testing.assert_array_equal(kernels.relu_backward(g[:, ::2], y[:, ::2]),
                                  g[:, ::2] * (y[:, ::2] > 0))
    np.testing.assert_array_equal(kernels.relu_backward(g.T, y.T), g.T * (y.T > 0))


IM2COL_CASES = [  # (input shape, kernel, stride, padding)
    ((2, 7, 5, 8), (3, 3), 1, "same"),
    ((3, 9, 9, 9), (3, 3), 2, "same"),       # stride 2: the extra pad row at the bottom
    ((1, 6, 7, 8), (2, 3), (2, 1), "valid"),
    ((2, 5, 5, 11), (5, 5), 1, 2),            # a border wider than half the field
    ((1, 1, 1, 8), (1, 1), 1, "valid"),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, size, stride, padding", IM2COL_CASES)
def test_im2col_kernel_is_the_padded_strided_copy(numba_on, dtype, shape, size, stride, padding):
    """The compiled im2col writes each field and the padding's zeros itself:
    bitwise numpy's copy of the padded input's windows, so that the
    convolution's output and gradients are the numpy path's, bit for bit."""
    from zen.autodiff.conv import _output_size, _windows, conv2d, conv_padding, pair
    g = np.random.default_rng(4)
    x = g.normal(size=shape).astype(dtype)
    strides = pair(stride, "stride")
    pads = conv_padding(padding, shape[1:3], size, strides)
    padded = np.pad(x, ((0, 0), *pads, (0, 0)))
    out_hw = _output_size(padded.shape[1:3], size, strides, "test")
    expected = _windows(padded, size, strides, out_hw).reshape(-1, size[0] * size[1] * shape[3])
    np.testing.assert_array_equal(kernels.im2col(x, size, strides, pads, out_hw), expected)
    with_ones = kernels.im2col(x, size, strides, pads, out_hw, ones=True)  # a folded bias's column
    np.testing.assert_array_equal(with_ones, np.column_stack([expected, np.ones(len(expected))]))
    kernel = g.normal(size=(*size, shape[3], 4)).astype(dtype)

    def convolved():
        tensors = [Tensor(x), Tensor(kernel)]
        out = conv2d(*tensors, stride=stride, padding=padding)
        (out * Tensor(g2.normal(size=out.shape).astype(dtype), trainable=False)).sum().backward()
        return [out.value] + [t.gradient for t in tensors]
    g2 = np.random.default_rng(5)
    fast = convolved()
    g2 = np.random.default_rng(5)
    for a, b in zip(fast, on_numpy(convolved)):
        np.testing.assert_allclose(a, b, rtol=1e-5 if dtype == np.float32 else 1e-13,
                                   atol=1e-5 if dtype == np.float32 else 1e-13)
