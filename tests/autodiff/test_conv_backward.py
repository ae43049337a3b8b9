"""conv2d's fused backward (col2im one kernel offset at a time, the bias
summed in) and max_pool2d's backward against direct loop references."""
import numpy as np
import pytest

from zen import autodiff as ad
from zen.autodiff import Tensor
from zen.autodiff.conv import conv_padding


def reference_conv_gradients(x, w, g, stride, padding):
    """Input and weight gradients of conv2d, one output pixel at a time."""
    (kh, kw), (sh, sw) = w.shape[:2], stride
    (top, bottom), (left, right) = conv_padding(padding, x.shape[1:3], (kh, kw), stride)
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    gx, gw = np.zeros_like(padded), np.zeros_like(w)
    for row in range(g.shape[1]):
        for column in range(g.shape[2]):
            window = (slice(None), slice(row * sh, row * sh + kh),
                      slice(column * sw, column * sw + kw))
            gx[window] += np.einsum("nf,ijcf->nijc", g[:, row, column], w)
            gw += np.einsum("nijc,nf->ijcf", padded[window], g[:, row, column])
    return gx[:, top:gx.shape[1] - bottom, left:gx.shape[2] - right], gw


@pytest.mark.parametrize("height, width, kernel, stride, padding", [
    (5, 6, (3, 3), 1, "same"), (5, 6, (2, 2), 1, "same"), (5, 6, (2, 3), 1, "same"),
    (7, 5, (4, 1), 1, "same"), (6, 6, (3, 3), 1, "valid"), (6, 6, (3, 2), 1, 1),
    (6, 5, (5, 5), 1, 2), (4, 4, (1, 1), 1, "valid"), (5, 5, (2, 4), 1, (1, 2)),
    (7, 7, (3, 3), 2, "same"), (8, 7, (3, 3), 2, "same"), (9, 8, (3, 2), (2, 3), "valid"),
    (6, 6, (2, 2), 3, "valid"), (5, 5, (1, 1), 2, "same"),
])
def test_conv2d_gradients_equal_the_loop_reference(height, width, kernel, stride, padding):
    rng = np.random.default_rng(0)
    x = Tensor(rng.normal(size=(2, height, width, 3)))
    w, b = Tensor(rng.normal(size=(*kernel, 3, 4))), Tensor(rng.normal(size=4))
    out = ad.conv2d(x, w, b, stride=stride, padding=padding)
    g = rng.normal(size=out.shape)
    (out * g).sum().backward()
    strides = stride if isinstance(stride, tuple) else (stride, stride)
    gx, gw = reference_conv_gradients(x.value, w.value, g, strides, padding)
    np.testing.assert_allclose(x.gradient, gx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(w.gradient, gw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.gradient, g.sum(axis=(0, 1, 2)), rtol=1e-12)


@pytest.mark.parametrize("trainable", [(True, False, True), (False, True, False),
                                       (False, False, True), (True, True, False)])
@pytest.mark.parametrize("relu", [False, True])
def test_conv2d_folded_bias_gives_each_wanted_gradient_alone(trainable, relu):
    """The bias joins the product as a column of ones: its gradient is the
    last row of the kernel's product, asked for with the kernel's or alone."""
    rng = np.random.default_rng(1)
    x, w, b = rng.normal(size=(2, 6, 5, 3)), rng.normal(size=(3, 2, 3, 4)), rng.normal(size=4)
    tensors = [Tensor(v, trainable=t) for v, t in zip((x, w, b), trainable)]
    out = ad.conv2d(*tensors, padding="same", relu=relu)
    plain = np.einsum("nhwk,kf->nhwf", _fields(x, (3, 2)), w.reshape(-1, 4)) + b
    np.testing.assert_allclose(out.value, np.maximum(plain, 0) if relu else plain, rtol=1e-12)
    g = rng.normal(size=out.shape)
    (out * g).sum().backward()
    if relu:
        g = g * (plain > 0)
    gx, gw = reference_conv_gradients(x, w, g, (1, 1), "same")
    for tensor, expected in zip(tensors, (gx, gw, g.sum(axis=(0, 1, 2)))):
        if tensor.trainable:
            np.testing.assert_allclose(tensor.gradient, expected, rtol=1e-12, atol=1e-12)
        else:
            assert tensor.gradient is None


def _fields(x, kernel):
    """(N, H, W, kh*kw*C): each pixel's "same"-padded receptive field, by loops."""
    (top, bottom), (left, right) = conv_padding("same", x.shape[1:3], kernel, (1, 1))
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    return np.stack([np.stack([padded[:, r:r + kernel[0], c:c + kernel[1]].reshape(len(x), -1)
                               for c in range(x.shape[2])], axis=1)
                     for r in range(x.shape[1])], axis=1)


def test_conv2d_bias_of_the_wrong_shape_is_a_value_error():
    x, w = np.zeros((1, 4, 4, 2)), np.zeros((3, 3, 2, 5))
    with pytest.raises(ValueError, match=r"bias of shape \(5,\).*received \(1, 5\)"):
        ad.conv2d(x, w, np.zeros((1, 5)))


@pytest.mark.parametrize("shape, size, stride", [
    ((2, 6, 6, 3), 2, None), ((2, 7, 5, 3), 2, None), ((2, 7, 7, 2), 3, 2),
    ((1, 6, 6, 2), (2, 3), (2, 1)), ((2, 9, 9, 1), 3, 3)])
def test_max_pool_gradient_goes_to_the_first_maximum_of_each_window(shape, size, stride):
    rng = np.random.default_rng(1)
    values = rng.integers(0, 3, size=shape).astype(float)  # many ties
    x = Tensor(values)
    out = ad.max_pool2d(x, size, stride)
    g = rng.normal(size=out.shape)
    (out * g).sum().backward()
    (kh, kw) = (size, size) if isinstance(size, int) else size
    stride = (kh, kw) if stride is None else stride
    (sh, sw) = (stride, stride) if isinstance(stride, int) else stride
    expected = np.zeros_like(values)
    for n in range(shape[0]):
        for row in range(out.shape[1]):
            for column in range(out.shape[2]):
                for c in range(shape[3]):
                    window = values[n, row * sh:row * sh + kh, column * sw:column * sw + kw, c]
                    i, j = np.unravel_index(np.argmax(window), window.shape)  # the first
                    expected[n, row * sh + i, column * sw + j, c] += g[n, row, column, c]
                    assert out.value[n, row, column, c] == window.max()
    np.testing.assert_array_equal(x.gradient, expected)


@pytest.mark.parametrize("stride, padding", [(1, "same"), (2, "valid"), (1, 1)])
def test_conv2d_with_fused_relu_equals_relu_of_conv2d(stride, padding):
    rng = np.random.default_rng(2)
    values = rng.normal(size=(2, 6, 5, 3)), rng.normal(size=(3, 3, 3, 4)), rng.normal(size=4)
    fused, composed = [Tensor(v.copy()) for v in values], [Tensor(v.copy()) for v in values]
    out = ad.conv2d(*fused, stride=stride, padding=padding, relu=True)
    reference = ad.relu(ad.conv2d(*composed, stride=stride, padding=padding))
    np.testing.assert_array_equal(out.value, reference.value)
    g = rng.normal(size=out.shape)
    (out * g).sum().backward()
    (reference * g).sum().backward()
    for a, b in zip(fused, composed):
        np.testing.assert_allclose(a.gradient, b.gradient, rtol=1e-12, atol=1e-12)


def test_conv2d_with_fused_relu_passes_a_central_difference_check():
    rng = np.random.default_rng(3)
    inputs = [rng.normal(size=(2, 5, 5, 2)), rng.normal(size=(3, 3, 2, 3)), rng.normal(size=3)]
    ad.grad_check(lambda x, w, b: ad.conv2d(x, w, b, padding="same", relu=True), inputs,
                  eps=1e-6, atol=1e-7, rtol=1e-6)
