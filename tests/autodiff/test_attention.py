"""scaled_dot_product_attention and attention_weights, the fused attention
ops: forward and gradients against the same maths composed from
zen.autodiff primitives (float64), masks boolean and additive, causal,
scale, degenerate sizes, huge logits, fully masked rows, dtypes and shape
errors."""
import math

import numpy as np
import pytest

import zen
import zen.autodiff as ad
from zen.autodiff import Tensor, grad_check

rng = np.random.default_rng(0)
BLOCKED = -1e9  # the composed reference's masked logit: exp(-1e9 - max) is exactly 0


def normal(*shape):
    return rng.normal(size=shape)


def causal(length_q, length_k):
    return np.tril(np.ones((length_q, length_k), dtype=bool))


def reference_weights(q, k, mask=None, is_causal=False, scale=None):
    """softmax(q k^T * scale + mask), composed from primitives."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    axes = tuple(range(len(q.shape) - 2)) + (len(q.shape) - 1, len(q.shape) - 2)
    logits = ad.matmul(q, ad.transpose(k, axes)) * scale
    allowed = None
    if mask is not None and getattr(mask, "dtype", None) == bool:
        allowed = mask
    elif mask is not None:
        logits = logits + mask
    if is_causal:
        tri = causal(q.shape[-2], k.shape[-2])
        allowed = tri if allowed is None else allowed & tri
    if allowed is not None:
        logits = ad.where(np.broadcast_to(allowed, logits.shape), logits, BLOCKED)
    return ad.softmax(logits, axis=-1)


def reference(q, k, v, mask=None, is_causal=False, scale=None):
    return ad.matmul(reference_weights(q, k, mask, is_causal, scale), v)


def with_free_row(mask):
    """A boolean mask with key 0 always allowed (no fully masked row)."""
    mask = mask.copy()
    mask[..., 0] = True
    return mask


B, H, LQ, LK, D, DV = 2, 3, 4, 5, 3, 2
CASES = {  # name: (q, k, v shapes, mask, is_causal, scale)
    "plain": ((B, H, LQ, D), (B, H, LK, D), (B, H, LK, DV), None, False, None),
    "scale": ((B, H, LQ, D), (B, H, LK, D), (B, H, LK, DV), None, False, 0.7),
    "causal": ((B, H, LQ, D), (B, H, LK, D), (B, H, LK, DV), None, True, None),
    "causal_lq_above_lk": ((B, H, 6, D), (B, H, 3, D), (B, H, 3, DV), None, True, None),
    "causal_square": ((B, H, LK, D), (B, H, LK, D), (B, H, LK, DV), None, True, None),
    "bool_2d": ((B, H, LQ, D), (B, H, LK, D), (B, H, LK, DV),
                with_free_row(rng.random((LQ, LK)) > 0.5), False, None),
    "bool_batch": ((B, H, LQ, D), (B, H, LK, D), (B, H, LK, DV),
                   with_free_row(rng.random((B, 1, LQ, LK)) > 0.5), False, None),
    "bool_full_and_causal": ((B, H, LQ, D), (B, H, LK, D), (B, H, LK, DV),
                             with_free_row(rng.random((B, H, LQ, LK)) > 0.4), True, None),
    "float_2d": ((B, H, LQ, D), (B, H, LK, D), (B, H, LK, DV), normal(LQ, LK), False, None),
    "float_batch_causal": ((B, H, LQ, D), (B, H, LK, D), (B, H, LK, DV),
                           normal(B, 1, LQ, LK), True, 0.5),
    "batch_1": ((1, H, LQ, D), (1, H, LK, D), (1, H, LK, DV), None, True, None),
    "length_1": ((B, H, 1, D), (B, H, 1, D), (B, H, 1, DV), None, True, None),
    "three_axes": ((B, LQ, D), (B, LK, D), (B, LK, DV), normal(LQ, LK), False, None),
}


def case_inputs(name):
    q_shape, k_shape, v_shape, mask, is_causal, scale = CASES[name]
    return normal(*q_shape), normal(*k_shape), normal(*v_shape), mask, is_causal, scale


@pytest.mark.parametrize("name", CASES)
def test_forward_matches_the_composed_reference(name):
    q, k, v, mask, is_causal, scale = case_inputs(name)
    got = ad.scaled_dot_product_attention(q, k, v, mask, is_causal, scale)
    np.testing.assert_allclose(got.value, reference(q, k, v, mask, is_causal, scale).value,
                               rtol=1e-12, atol=1e-14)
    weights = ad.attention_weights(q, k, mask, is_causal, scale)
    np.testing.assert_allclose(weights.value, reference_weights(q, k, mask, is_causal,
                                                                scale).value, atol=1e-14)
    assert got.shape == q.shape[:-1] + (v.shape[-1],)


@pytest.mark.parametrize("mask_shape", [(64, 64), (16, 1, 64, 64), (16, 4, 64, 64)])
def test_numpy_softmax_split_over_threads_masks_each_slice(fast, mask_shape):
    """Logits big enough to be split over two threads ((16, 4, 64, 64), twice
    zen.parallel's smallest chunk): a boolean mask broadcast along the batch
    axis or sliced with it, and a causal query, as the reference has them."""
    big = np.random.default_rng(1)
    q, k, v = (big.normal(size=(16, 4, 64, 16)) for _ in range(3))
    mask = with_free_row(big.random(mask_shape) > 0.3)
    threads = zen.get_num_threads()
    zen.set_num_threads(2)
    try:
        got = ad.scaled_dot_product_attention(q, k, v, mask, is_causal=True)
        grads = gradients(lambda *t: ad.scaled_dot_product_attention(*t, mask, True), [q, k, v])
    finally:
        zen.set_num_threads(threads)
    np.testing.assert_allclose(got.value, reference(q, k, v, mask, True).value,
                               rtol=1e-12, atol=1e-14)
    for got, expected in zip(grads, gradients(lambda *t: reference(*t, mask, True), [q, k, v])):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 4, 5, 7), (6, 0), (1,), (2, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_sums_as_one_product_are_numpys_sums(shape, dtype):
    """The softmax's row sums (one matrix-vector product): numpy's sums over
    the last axis, kept, to rounding; a strided view is summed by numpy."""
    from zen.autodiff.ops import row_sums
    a = rng.normal(size=shape).astype(dtype)
    for array in (a, a[..., ::2], np.swapaxes(a, 0, -1)):
        got = row_sums(array)
        assert got.shape == array.shape[:-1] + (1,) and got.dtype == dtype
        np.testing.assert_allclose(got, array.sum(axis=-1, keepdims=True),
                                   rtol=20 * np.finfo(dtype).eps, atol=20 * np.finfo(dtype).eps)


def gradients(fn, arrays):
    tensors = [Tensor(a) for a in arrays]
    out = fn(*tensors)
    out.backward(np.cos(np.arange(out.size)).reshape(out.shape))
    return [t.gradient for t in tensors]


@pytest.mark.parametrize("name", CASES)
def test_gradients_match_the_composed_reference(name):
    q, k, v, mask, is_causal, scale = case_inputs(name)
    additive = mask is not None and mask.dtype != bool
    arrays = [q, k, v] + ([mask] if additive else [])

    def fused(q, k, v, *m):
        return ad.scaled_dot_product_attention(q, k, v, m[0] if m else mask, is_causal, scale)

    def composed(q, k, v, *m):
        return reference(q, k, v, m[0] if m else mask, is_causal, scale)

    for got, expected in zip(gradients(fused, arrays), gradients(composed, arrays)):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["plain", "causal_lq_above_lk", "bool_full_and_causal",
                                  "float_batch_causal", "three_axes"])
def test_gradients_against_central_differences(name):
    q, k, v, mask, is_causal, scale = case_inputs(name)
    additive = mask is not None and mask.dtype != bool
    grad_check(lambda q, k, v, *m: ad.scaled_dot_product_attention(
        q, k, v, m[0] if m else mask, is_causal, scale), [q, k, v] + ([mask] if additive else []),
        eps=1e-5, atol=1e-8, rtol=1e-6)
    grad_check(lambda q, k, *m: ad.attention_weights(q, k, m[0] if m else mask, is_causal, scale),
               [q, k] + ([mask] if additive else []), eps=1e-5, atol=1e-8, rtol=1e-6)


# ----- numerics -------------------------------------------------------------------------------
def test_huge_logits_stay_finite():
    q, k, v = normal(1, 2, 3, 4), normal(1, 2, 5, 4), normal(1, 2, 5, 2)
    q *= 1000 / np.abs(q @ np.swapaxes(k, -1, -2)).max()  # logits up to +-1000 * sqrt(4)
    q, k, v = Tensor(q), Tensor(k), Tensor(v)
    out = ad.scaled_dot_product_attention(q, k, v, scale=1.0)
    out.sum().backward()
    assert all(np.isfinite(a).all() for a in (out.value, q.gradient, k.gradient, v.gradient))
    np.testing.assert_allclose(out.value, reference(q.value, k.value, v.value, scale=1.0).value,
                               atol=1e-12)


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_fully_masked_rows_give_zeros_and_zero_gradients(kind):
    allowed = with_free_row(rng.random((2, 1, 4, 5)) > 0.5)
    allowed[0, 0, 2] = False  # query 2 of sample 0 may attend to nothing
    mask = allowed if kind == "bool" else np.where(allowed, 0.0, -np.inf)
    q, k, v = Tensor(normal(2, 3, 4, 3)), Tensor(normal(2, 3, 5, 3)), Tensor(normal(2, 3, 5, 2))
    with ad.detect_anomaly():  # no NaN or Inf anywhere, forward or backward
        out = ad.scaled_dot_product_attention(q, k, v, mask)
        out.backward(np.ones(out.shape))
    np.testing.assert_array_equal(out.value[0, :, 2], 0)
    np.testing.assert_array_equal(q.gradient[0, :, 2], 0)
    free = np.ones(out.shape, bool)
    free[0, :, 2] = False
    expected = reference(q.value, k.value, v.value, allowed).value
    np.testing.assert_allclose(out.value[free], expected[free], atol=1e-14)
    assert np.isfinite(k.gradient).all() and np.isfinite(v.gradient).all()
    weights = ad.attention_weights(q.value, k.value, mask).value
    np.testing.assert_array_equal(weights[0, :, 2], 0)


def test_float32_stays_float32_and_agrees_with_float64():
    q, k, v = normal(2, 2, 6, 4), normal(2, 2, 6, 4), normal(2, 2, 6, 3)
    out32 = ad.scaled_dot_product_attention(*(a.astype(np.float32) for a in (q, k, v)),
                                            mask=normal(6, 6).astype(np.float32), is_causal=True)
    assert out32.dtype == np.float32
    out64 = ad.scaled_dot_product_attention(q, k, v, mask=None, is_causal=True)
    assert out64.dtype == np.float64
    weights = ad.attention_weights(q.astype(np.float32), k.astype(np.float32), is_causal=True)
    assert weights.dtype == np.float32
    np.testing.assert_allclose(weights.value.sum(-1), 1, rtol=1e-6)
    plain32 = ad.scaled_dot_product_attention(*(a.astype(np.float32) for a in (q, k, v)),
                                              is_causal=True)
    np.testing.assert_allclose(plain32.value, out64.value, rtol=1e-5, atol=1e-6)


def test_default_scale_is_one_over_sqrt_depth():
    q, k, v = normal(1, 1, 3, 9), normal(1, 1, 4, 9), normal(1, 1, 4, 2)
    np.testing.assert_allclose(ad.scaled_dot_product_attention(q, k, v).value,
                               ad.scaled_dot_product_attention(q, k, v, scale=1 / 3).value)


def test_causal_query_i_sees_keys_up_to_i():
    weights = ad.attention_weights(normal(1, 1, 4, 2), normal(1, 1, 6, 2), is_causal=True).value
    np.testing.assert_array_equal(weights[0, 0] > 0, causal(4, 6))


def test_no_graph_without_trainable_inputs():
    out = ad.scaled_dot_product_attention(normal(1, 1, 2, 2), normal(1, 1, 2, 2),
                                          normal(1, 1, 2, 2))
    assert not out.trainable


# ----- errors -----------------------------------------------------------------------------------
BAD = [  # q, k, v shapes, mask, other arguments, a fragment of the message
    ((2, 3, 4, 5), (2, 3, 6, 4), (2, 3, 6, 2), None, {}, r"q=\(2, 3, 4, 5\), k=\(2, 3, 6, 4\)"),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 7, 2), None, {}, r"v=\(2, 3, 7, 2\)"),
    ((2, 3, 4, 5), (2, 4, 6, 5), (2, 4, 6, 2), None, {}, "same leading axes"),
    ((2, 3, 4, 5), (3, 6, 5), (3, 6, 2), None, {}, r"k=\(3, 6, 5\)"),
    ((5,), (5,), (5,), None, {}, r"q=\(5,\)"),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 2), np.ones((4, 5), bool), {},
     r"`mask` of shape \(4, 5\).*\(2, 3, 4, 6\)"),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 2), np.ones((3, 1, 4, 6)), {}, r"\(3, 1, 4, 6\)"),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 2), np.ones((4, 6), int), {}, "dtype int"),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 2), None, {"scale": "big"}, "`scale`"),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 2), None, {"is_causal": "yes"}, "`is_causal`"),
]


@pytest.mark.parametrize("q, k, v, mask, kwargs, message", BAD)
def test_bad_shapes_and_arguments_raise_value_errors(q, k, v, mask, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ad.scaled_dot_product_attention(np.zeros(q), np.zeros(k), np.zeros(v), mask, **kwargs)


def test_attention_weights_checks_shapes_too():
    with pytest.raises(ValueError, match=r"q=\(1, 2, 3\), k=\(1, 2, 4\)"):
        ad.attention_weights(np.zeros((1, 2, 3)), np.zeros((1, 2, 4)))


# ----- self_attention: q, k and v packed in one tensor ---------------------------------------
L = 5
PACKED = {  # name: (mask, is_causal, scale), for qkv (B, L, 3, H, D)
    "plain": (None, False, None),
    "causal": (None, True, 0.6),
    "bool_batch": (with_free_row(rng.random((B, 1, L, L)) > 0.5), False, None),
    "float_and_causal": (normal(B, H, L, L), True, None),
}


def unpacked(qkv, mask, is_causal, scale):
    """self_attention through scaled_dot_product_attention on the three parts."""
    q, k, v = (ad.transpose(ad.getitem(qkv, (slice(None), slice(None), part)), (0, 2, 1, 3))
               for part in range(3))
    out = ad.scaled_dot_product_attention(q, k, v, mask, is_causal, scale)
    return ad.transpose(out, (0, 2, 1, 3))


@pytest.mark.parametrize("name", PACKED)
def test_self_attention_is_attention_on_the_three_parts(name):
    mask, is_causal, scale = PACKED[name]
    arrays = [normal(B, L, 3, H, D)] + ([mask] if mask is not None and mask.dtype != bool else [])

    def packed(qkv, *m):
        return ad.self_attention(qkv, m[0] if m else mask, is_causal, scale)

    def separate(qkv, *m):
        return unpacked(qkv, m[0] if m else mask, is_causal, scale)

    tensors = [Tensor(a) for a in arrays]
    got = packed(*tensors)
    assert got.shape == (B, L, H, D)
    np.testing.assert_allclose(got.value, separate(*tensors).value, rtol=1e-12, atol=1e-14)
    for got, expected in zip(gradients(packed, arrays), gradients(separate, arrays)):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["causal", "float_and_causal"])
def test_self_attention_gradients_against_central_differences(name):
    mask, is_causal, scale = PACKED[name]
    additive = mask is not None and mask.dtype != bool
    grad_check(lambda qkv, *m: ad.self_attention(qkv, m[0] if m else mask, is_causal, scale),
               [normal(B, L, 3, H, D)] + ([mask] if additive else []),
               eps=1e-5, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("kernels_on", [True, False])
def test_self_attention_float32_agrees_with_float64(kernels_on):
    from zen import kernels
    qkv = normal(B, L, 3, H, D)
    previous = kernels.enable(kernels_on)
    try:
        got32, got64 = (Tensor(qkv.astype(dtype)) for dtype in (np.float32, np.float64))
        for t in (got32, got64):
            ad.self_attention(t, is_causal=True).sum().backward()
    finally:
        kernels.enable(previous)
    assert got32.gradient.dtype == np.float32
    np.testing.assert_allclose(got32.gradient, got64.gradient, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("is_causal", [True, False])
@pytest.mark.parametrize("scale", [None, 1.0])
@pytest.mark.parametrize("shape", [(B, L, 3, H, D), (1, 1, 3, 1, 1), (3, 7, 3, 2, 5)])
def test_self_attention_in_one_kernel_call_is_bitwise_the_separate_kernels(
        numba_on, monkeypatch, dtype, is_causal, scale, shape):
    """With zen.kernels a C-contiguous qkv takes the fused kernel (every
    head's products and softmax in one call per thread); a strided view of
    the same values takes the separate products and softmax kernels: the
    same output and gradient, bit for bit; and numpy's path within rounding."""
    values = rng.normal(size=shape).astype(dtype)
    strided = np.zeros((*shape[:-1], shape[-1] + 3), dtype)[..., :shape[-1]]
    strided[...] = values
    weights = rng.normal(size=(*shape[:2], *shape[3:])).astype(dtype)

    def run(qkv):
        t = Tensor(qkv)
        out = ad.self_attention(t, is_causal=is_causal, scale=scale)
        (out * Tensor(weights, trainable=False)).sum().backward()
        return out.value, t.gradient
    from zen import kernels
    calls, fused_kernel = [], kernels.self_attention
    monkeypatch.setattr(kernels, "self_attention",
                        lambda *args: calls.append(args[0].shape) or fused_kernel(*args))
    fused, separate = run(values), run(strided)
    assert calls == [shape]  # the contiguous input only
    previous = kernels.enable(False)
    try:
        on_numpy = run(values)
    finally:
        kernels.enable(previous)
    tolerance = 1e-5 if dtype == np.float32 else 1e-13
    for a, b, c in zip(fused, separate, on_numpy):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=tolerance, atol=tolerance)


def test_an_additive_mask_gets_its_gradient_when_qkv_is_fixed():
    qkv, mask = normal(B, L, 3, H, D), normal(L, L)
    got = gradients(lambda m: ad.self_attention(qkv, m), [mask])[0]
    expected = gradients(lambda m: unpacked(Tensor(qkv, trainable=False), m, False, None),
                         [mask])[0]
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(B, L, 2, H, D), (B, L, 3, H), (B, 3, L, H, D, 1)])
def test_self_attention_names_a_bad_packing(shape):
    with pytest.raises(ValueError, match=r"qkv of shape \(batch, length, 3, heads, depth\)"):
        ad.self_attention(np.zeros(shape))
