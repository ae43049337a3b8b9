"""zen.kernels (the numba extra) against the numpy code it stands in for.

Every kernel is compared with the numpy path of its op on odd shapes (sizes
not divisible by 2 or 4, one-element axes, sliced and transposed inputs):
float64 to 1e-12 relative, float32 within the ulps stated at each test.
The ops' tests here run with the kernels on and off (`fast`); numba is
needed only where the kernels are called, and missing, they skip."""
import os
import subprocess
import sys

import numpy as np
import pytest

import zen
from zen import kernels
from zen.autodiff import Tensor, grad_check, special
from zen.autodiff.nn_ops import gelu, softmax
from zen.autodiff.normalization import batch_normalize, channel_moments, layer_normalize

EPS32 = np.finfo(np.float32).eps


def on_numpy(fn, *args):
    """fn(*args) with the kernels switched off (the reference path)."""
    previous = kernels.enable(False)
    try:
        return fn(*args)
    finally:
        kernels.enable(previous)


def odd_arrays(shape, dtype, seed=0, scale=3.0):
    """Random arrays of `shape`: contiguous, and the same values sliced and
    transposed into non-contiguous views."""
    g = np.random.default_rng(seed)
    plain = (g.normal(size=shape) * scale).astype(dtype)
    wide = (g.normal(size=shape[:-1] + (2 * shape[-1] + 1,)) * scale).astype(dtype)
    sliced = wide[..., 1::2]
    transposed = np.ascontiguousarray(np.swapaxes(plain, 0, -1)).swapaxes(0, -1)
    assert (sliced.size == 1 or not sliced.flags.c_contiguous) and sliced.shape == shape
    return [plain, sliced, transposed]


SHAPES = [(7, 5), (3, 1), (1, 9), (5, 3, 13), (2, 3, 1, 7), (1, 1)]


# ----- the switch ---------------------------------------------------------------------

def test_import_zen_does_not_import_numba():
    code = "import sys, zen; zen.Sequential; print('numba' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("setting, expected", [("0", False), ("1", True), (None, True)])
def test_the_environment_switches_the_kernels(setting, expected):
    pytest.importorskip("numba")
    env = {k: v for k, v in os.environ.items() if k != "ZEN_FAST"}
    if setting is not None:
        env["ZEN_FAST"] = setting
    code = "import zen; print(zen.kernels.available())"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, env=env)
    assert result.stdout.strip() == str(expected)


def test_enable_overrides_the_environment(monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setenv("ZEN_FAST", "0")
    try:
        kernels.enable(None)  # reads the environment again
        assert not kernels.available()
        assert kernels.enable(True) is None
        assert kernels.available()
        assert kernels.enable(False) is True
        assert not kernels.available()
        monkeypatch.setenv("ZEN_FAST", "1")
        assert not kernels.available()
        kernels.enable(None)
        assert kernels.available()
    finally:
        monkeypatch.undo()
        kernels.enable(None)


def test_the_environment_is_read_once_until_enable_none(monkeypatch):
    """ZEN_FAST is read at the kernels' first use (every op asks whether they
    apply, so they do not read it each time) and again after enable(None)."""
    pytest.importorskip("numba")
    try:
        monkeypatch.setenv("ZEN_FAST", "1")
        kernels.enable(None)
        assert kernels.available()
        monkeypatch.setenv("ZEN_FAST", "0")
        assert kernels.available()  # still the value read first
        kernels.enable(None)
        assert not kernels.available()
    finally:
        monkeypatch.undo()
        kernels.enable(None)


@pytest.mark.parametrize("bad", ["yes", 1, 0.0])
def test_enable_rejects_anything_but_a_bool_or_none(bad):
    with pytest.raises(ValueError, match=r"invalid value for `on`, expected True, False or "
                                         rf"None. Received: on={bad!r}"):
        kernels.enable(bad)


def test_applies_only_to_one_float_dtype(numba_on):
    f32, f64 = np.ones(3, np.float32), np.ones(3)
    assert kernels.applies(f32) and kernels.applies(f64, f64)
    assert not kernels.applies(f32, f64)
    assert not kernels.applies(np.ones(3, np.float16))
    assert not kernels.applies(np.ones(3, np.int64))
    assert not kernels.applies(np.ones((0, 3)))
    kernels.enable(False)
    assert not kernels.applies(f64)


# ----- GELU ---------------------------------------------------------------------------

def gelu_reference(x):
    """x Phi(x) and Phi(x) + x phi(x) in float64 (Cody's erfc)."""
    x = x.astype(np.float64)
    cdf, pdf = special.normal_cdf(x), special.normal_pdf(x)
    return x * cdf, cdf, x * pdf


def tails(dtype):
    """A dense grid over both tails and the middle, with 0 and the signed infinities."""
    grid = np.concatenate([np.linspace(-40, 40, 8001), np.linspace(-1, 1, 2001),
                           [0.0, -0.0, np.inf, -np.inf]])
    return grid.astype(dtype)


def test_gelu_float64_matches_the_numpy_path(numba_on):
    x = tails(np.float64)
    out, derivative = kernels.gelu(x, derivative=True)
    cdf, pdf = special.normal_cdf_and_pdf(x)
    with np.errstate(invalid="ignore"):  # -inf * 0 and inf * 0: NaN on both paths
        expected, expected_derivative = x * cdf, cdf + x * pdf
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(derivative, expected_derivative, rtol=1e-12, atol=1e-300)


def test_gelu_float32_is_within_two_ulps_of_float64():
    """out within 2 float32 ulps of the float64 value; the derivative (which
    crosses zero near x = -0.75) within 2 ulps of |Phi| + |x phi|."""
    pytest.importorskip("numba")
    x = tails(np.float32)[:-2]  # the infinities: below
    out, derivative = kernels.gelu(x, derivative=True)
    assert out.dtype == derivative.dtype == np.float32
    value, cdf, x_pdf = gelu_reference(x)
    assert np.all(np.abs(out - value) <= 2 * np.spacing(np.abs(value).astype(np.float32)))
    scale = (np.abs(cdf) + np.abs(x_pdf)).astype(np.float32)
    assert np.all(np.abs(derivative - (cdf + x_pdf)) <= 2 * np.spacing(scale))
    # numpy's path rounds phi to float32, which loses digits near the subnormals
    normal = np.abs(value) >= 1e-30
    numpy_out = (x * special.normal_cdf(x))[normal]
    assert np.all(np.abs(out[normal] - numpy_out)
                  <= 4 * np.spacing(np.abs(value[normal]).astype(np.float32)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_keeps_numpys_infinities_and_nan(numba_on, dtype):
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0], dtype)
    out, _ = kernels.gelu(x, derivative=True)
    with np.errstate(invalid="ignore"):
        expected = on_numpy(lambda: gelu(Tensor(x)).value)
    np.testing.assert_array_equal(out, expected)  # -inf Phi(-inf) = -inf * 0: NaN on both


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_op_on_odd_shapes(numba_on, shape, dtype):
    for x in odd_arrays(shape, dtype):
        t = Tensor(x)
        (gelu(t) * 1.5).sum().backward()
        fast = [gelu(Tensor(x)).value, t.gradient]
        t = Tensor(x)
        reference = on_numpy(lambda: ((gelu(t) * 1.5).sum().backward(), gelu(Tensor(x)).value,
                                      t.gradient)[1:])
        check_close(fast, reference, dtype, ulps=4)


def test_gelu_without_a_gradient_uses_the_kernel(numba_on):
    x = np.linspace(-5, 5, 11)
    with zen.no_grad():
        out = gelu(Tensor(x)).value
    np.testing.assert_allclose(out, gelu_reference(x)[0], rtol=1e-12, atol=1e-300)


def check_close(values, references, dtype, ulps, scales=None):
    """float64 to 1e-12 relative; float32 within `ulps` float32 ulps of each
    array's scale: by default its largest magnitude (the reductions cancel, so
    a relative bound per element would not hold on either path)."""
    scales = scales or [None] * len(values)
    for value, reference, scale in zip(values, references, scales):
        assert value.dtype == reference.dtype == dtype and value.shape == reference.shape
        if scale is None:
            scale = np.abs(reference).max(initial=0)
        if dtype == np.float64:
            np.testing.assert_allclose(value, reference, rtol=1e-12, atol=1e-12 * scale)
        else:
            assert np.abs(value - reference).max(initial=0) <= ulps * EPS32 * scale


# ----- layer normalisation ------------------------------------------------------------

def layer_norm_values(x, gamma, beta, weights):
    x, gamma, beta = Tensor(x), Tensor(gamma), Tensor(beta)
    out = layer_normalize(x, gamma, beta, 1e-3)
    (out * weights).sum().backward()
    return [out.value, x.gradient, gamma.gradient, beta.gradient]


@pytest.mark.parametrize("shape", SHAPES + [(3, 1, 257)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layer_norm_matches_the_numpy_path(numba_on, shape, dtype):
    g = np.random.default_rng(1)
    gamma, beta = (g.normal(size=shape[-1]).astype(dtype) for _ in range(2))
    weights = g.normal(size=shape).astype(dtype)
    for x in odd_arrays(shape, dtype):
        x = x + dtype(2.0)  # rows off zero
        fast = layer_norm_values(x, gamma, beta, weights)
        reference = on_numpy(layer_norm_values, x, gamma, beta, weights)
        check_close(fast, reference, dtype, ulps=8)


def test_layer_norm_kernel_returns_what_the_function_keeps(numba_on):
    x = np.random.default_rng(2).normal(size=(3, 5, 7))
    out, x_hat, inv_std = kernels.layer_norm_forward(x, np.ones(7), np.zeros(7), 1e-5)
    assert out.shape == x.shape and x_hat.shape == (15, 7) and inv_std.shape == (15, 1)
    np.testing.assert_allclose(x_hat.mean(axis=1), 0, atol=1e-15)
    np.testing.assert_allclose(out.reshape(15, 7), x_hat, rtol=1e-15)


# ----- batch normalisation ------------------------------------------------------------

class OneMember:
    """A synchronised batch norm's group of one: the sums are the member's own."""
    weight = 1.0

    def sum(self, array):
        return array


def batch_norm_values(x, gamma, beta, weights, group=None):
    x, gamma, beta = Tensor(x), Tensor(gamma), Tensor(beta)
    mean, var = channel_moments(x.value, group)
    out = batch_normalize(x, gamma, beta, mean, var, 1e-3, group)
    (out * weights).sum().backward()
    return [mean, var, out.value, x.gradient, gamma.gradient, beta.gradient]


@pytest.mark.parametrize("shape", SHAPES + [(3, 5, 7, 3), (2051, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_matches_the_numpy_path(numba_on, shape, dtype):
    g = np.random.default_rng(3)
    gamma, beta = (g.normal(size=shape[-1]).astype(dtype) for _ in range(2))
    weights = g.normal(size=shape).astype(dtype)
    for x in odd_arrays(shape, dtype):
        fast = batch_norm_values(x, gamma, beta, weights)
        reference = on_numpy(batch_norm_values, x, gamma, beta, weights)
        check_close(fast, reference, dtype, ulps=8)


def test_batch_norm_with_a_group_matches_the_numpy_path(numba_on):
    x, weights = odd_arrays((9, 2, 5), np.float64)[1], np.linspace(-1, 1, 90).reshape(9, 2, 5)
    gamma, beta = np.linspace(0.5, 1.5, 5), np.linspace(-1, 1, 5)
    fast = batch_norm_values(x, gamma, beta, weights, OneMember())
    reference = on_numpy(batch_norm_values, x, gamma, beta, weights, OneMember())
    check_close(fast, reference, np.float64, ulps=0)


def test_batch_norm_forward_is_bitwise_numpys(numba_on):
    """Given the statistics, the forward runs numpy's operations in numpy's order."""
    x = odd_arrays((11, 3, 5), np.float32)[2]
    mean, inv_std = x.mean(axis=(0, 1)), 1 / x.std(axis=(0, 1))
    gamma, beta = np.float32([1, 2, 3, 4, 5]), np.float32([0, 1, 0, 1, 0])
    out = kernels.batch_norm_forward(x, mean, inv_std, gamma, beta)
    np.testing.assert_array_equal(out, (x - mean) * inv_std * gamma + beta)


def test_batch_norm_backward_after_the_kernels_are_switched_off(numba_on):
    """Forward on the kernel (which keeps x, not x_hat), backward on numpy:
    the same gradients as all on numpy."""
    x, weights = odd_arrays((9, 2, 5), np.float64)[0], np.linspace(-1, 1, 90).reshape(9, 2, 5)
    gamma, beta = np.linspace(0.5, 1.5, 5), np.linspace(-1, 1, 5)

    def gradients(switch_off):
        tensors = [Tensor(x), Tensor(gamma), Tensor(beta)]
        mean, var = channel_moments(x)
        out = batch_normalize(*tensors, mean, var, 1e-3)
        previous = kernels.enable(False) if switch_off else None
        try:
            (out * Tensor(weights, trainable=False)).sum().backward()
        finally:
            if switch_off:
                kernels.enable(previous)
        return [t.gradient for t in tensors]
    for mixed, reference in zip(gradients(True), on_numpy(gradients, False)):
        np.testing.assert_array_equal(mixed, reference)


# ----- softmax ------------------------------------------------------------------------

def softmax_values(x, weights, axis=-1):
    t = Tensor(x)
    out = softmax(t, axis=axis)
    (out * weights).sum().backward()
    return [out.value, t.gradient]


@pytest.mark.parametrize("shape", SHAPES + [(2, 3, 5, 67)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_matches_the_numpy_path(numba_on, shape, dtype):
    weights = np.random.default_rng(4).normal(size=shape).astype(dtype)
    for x in odd_arrays(shape, dtype, scale=5.0):
        fast = softmax_values(x, weights)
        reference = on_numpy(softmax_values, x, weights)
        # the gradient s (g - sum(g s)) cancels: its scale is that of s g
        check_close(fast, reference, dtype, ulps=4,
                    scales=[None, np.abs(reference[0] * weights).max()])


def test_softmax_float32_is_within_two_ulps_of_float64(numba_on):
    x = odd_arrays((33, 17), np.float32, scale=10.0)[1]
    out = kernels.softmax(x)
    exact = np.exp(x - x.max(axis=-1, keepdims=True).astype(np.float64))
    exact /= exact.sum(axis=-1, keepdims=True)
    assert np.all(np.abs(out - exact) <= 2 * np.spacing(exact.astype(np.float32)))


def test_softmax_keeps_numpys_nan_and_infinities(numba_on):
    x = np.array([[np.nan, 1.0, 2.0], [1.0, np.nan, 2.0], [-np.inf, 0.0, -np.inf],
                  [np.inf, 0.0, 1.0]])
    with np.errstate(invalid="ignore"):
        expected = on_numpy(lambda: softmax(x).value)
    np.testing.assert_array_equal(kernels.softmax(x), expected)


def test_softmax_on_another_axis_takes_the_numpy_path(numba_on):
    x, weights = odd_arrays((4, 5, 3), np.float64)[1], np.ones((4, 5, 3))
    fast = softmax_values(x, weights, axis=1)
    reference = on_numpy(softmax_values, x, weights, 1)
    for value, expected in zip(fast, reference):
        np.testing.assert_array_equal(value, expected)


# ----- gradients through the ops, kernels on and off ----------------------------------

def test_gelu_gradient(fast):
    x = np.random.default_rng(5).normal(size=(3, 5)) * 3
    grad_check(gelu, [x])


def test_layer_norm_gradient(fast):
    g = np.random.default_rng(6)
    x, gamma, beta = g.normal(size=(3, 1, 5)), g.normal(size=5), g.normal(size=5)
    grad_check(lambda a, b, c: layer_normalize(a, b, c, 1e-3), [x, gamma, beta])


def test_batch_norm_gradient(fast):
    g = np.random.default_rng(7)
    x, gamma, beta = g.normal(size=(5, 3, 3)), g.normal(size=3), g.normal(size=3)

    def op(a, b, c):
        mean, var = channel_moments(a.value)
        return batch_normalize(a, b, c, mean, var, 1e-3)
    grad_check(op, [x, gamma, beta])


@pytest.mark.parametrize("shape", [(3, 7), (2, 1), (2, 3, 5)])
def test_softmax_gradient(fast, shape):
    x = np.random.default_rng(8).normal(size=shape) * 2
    grad_check(softmax, [x])


def test_the_layers_agree_on_both_paths(fast):
    """LayerNormalization, BatchNormalization and a GELU Dense layer, float32,
    through their public layers: the same numbers on either path."""
    x = np.random.default_rng(9).normal(size=(6, 5, 7)).astype(np.float32)
    layers = [zen.nn.LayerNormalization(), zen.nn.BatchNormalization(),
              zen.nn.Activation("gelu"), zen.nn.Activation("softmax")]
    for layer in layers:
        out = layer(x, training=True).value
        reference = on_numpy(lambda: layer(x, training=True).value)
        assert kernels.available() == fast
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, reference, rtol=0, atol=8 * EPS32 * np.abs(out).max())


def test_the_kernels_coefficients_are_specials():
    """The loops hold their own copies of Cody's and the Mills-ratio
    coefficients (numba freezes them as constants): the same numbers."""
    from zen.kernels import loops
    for name in ("_A", "_B", "_C", "_D", "_P", "_Q"):
        np.testing.assert_array_equal(getattr(loops, name), getattr(special, name))
    assert tuple(getattr(loops, f"_M{k}") for k in range(10)) == special._MILLS
    for name in ("_NEAR", "_TAIL", "_UNDERFLOW", "_INV_SQRT_PI", "_SQRT_2", "_INV_SQRT_2PI"):
        assert getattr(loops, name) == getattr(special, name)


IMPORTED_FIRST = """
import numba
import numpy as np
from zen import kernels
out, _ = kernels.gelu(np.linspace(-3, 3, 7))
print(round(float(out[-1]), 6))
"""


def test_numba_imported_before_the_kernels_still_compiles_them(tmp_path):
    """numba imported first and nothing in its cache: the kernels compile."""
    pytest.importorskip("numba")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "ZEN_FAST": "1"}
    done = subprocess.run([sys.executable, "-c", IMPORTED_FIRST], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["2.99595"]


def test_a_kernel_without_numba_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba fails
    monkeypatch.setattr(kernels, "_compiled", {})
    monkeypatch.setitem(kernels._state, "numba", None)
    assert not kernels.available()
    with pytest.raises(ImportError, match=r"zen.kernels needs numba: pip install 'zen\[fast\]'"):
        kernels.softmax(np.ones((2, 3)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("weights", [False, True], ids=["attention", "weights"])
def test_attention_softmax_kernel_matches_the_numpy_path(numba_on, dtype, causal, weights):
    from zen.autodiff.attention import attention_weights, scaled_dot_product_attention
    g = np.random.default_rng(11)
    q, k, v = (g.normal(size=(2, 3, 5, 4)).astype(dtype) for _ in range(3))
    mask = g.random((2, 1, 5, 5)) > 0.3
    mask[..., 0] = True  # every query has a key: the kernel applies

    def run():
        tensors = [Tensor(a.copy()) for a in (q, k, v)]
        if weights:
            out = attention_weights(*tensors[:2], mask, is_causal=causal)
        else:
            out = scaled_dot_product_attention(*tensors, mask, is_causal=causal)
        (out * Tensor(np.linspace(-1, 1, out.size).reshape(out.shape).astype(dtype),
                      trainable=False)).sum().backward()
        return [out.value] + [t.gradient for t in tensors[:2 if weights else 3]]
    tolerance = 1e-12 if dtype == np.float64 else 2e-6
    for fast, slow in zip(run(), on_numpy(run)):
        np.testing.assert_allclose(fast, slow, rtol=tolerance, atol=tolerance)


def assert_scans_agree(scan, arrays, weights, mask, dtype, view=lambda out: out):
    """The scan op's output and every input gradient, with the kernels and on
    numpy's loop, in `dtype`; `weights` multiply view(output). The same bits,
    except where a float32 forward runs as one kernel call with its own
    tanh (no mask, batch and units above 1): there within a few ulps."""
    def run():
        tensors = [Tensor(a.astype(dtype)) for a in arrays]
        out = scan.apply(*tensors, mask=mask)
        (view(out) * Tensor(weights, trainable=False)).sum().backward()
        return [out.value] + [t.gradient for t in tensors]
    own_tanh = dtype == np.float32 and mask is None and min(arrays[1].shape) > 1
    for fast, slow in zip(run(), on_numpy(run)):
        assert fast.dtype == dtype
        if own_tanh:
            np.testing.assert_allclose(fast, slow, rtol=0, atol=4e-6 * np.abs(slow).max())
        else:
            np.testing.assert_array_equal(fast, slow)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("steps,batch,units", [(3, 5, 7), (1, 1, 1), (4, 2, 9)])
@pytest.mark.parametrize("masked", [False, True], ids=["all steps", "masked steps"])
def test_lstm_kernels_agree_with_the_numpy_loop(numba_on, dtype, steps, batch, units, masked):
    """An LSTM's arithmetic around its products and tanh, forward and
    backward, in kernel calls: numpy's operations in the same dtype, so the
    same bits on odd shapes, gradients reaching both the states and the cell
    states (with a mask, backward stays on the numpy loop); the float32
    forward in one call, with its own tanh, within a few ulps."""
    from zen.autodiff.gated import LSTMScan
    g = np.random.default_rng(12)
    arrays = [g.normal(size=(steps, batch, 4 * units)), g.normal(size=(batch, units)),
              g.normal(size=(batch, units)), g.normal(size=(units, 4 * units)) * 0.3]
    weights = g.normal(size=(2, steps, batch, units)).astype(dtype)
    mask = g.random((steps, batch)) > 0.3 if masked else None

    assert_scans_agree(LSTMScan, arrays, weights, mask, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("steps,batch,units", [(3, 5, 7), (1, 1, 1), (4, 2, 9)])
@pytest.mark.parametrize("masked", [False, True], ids=["all steps", "masked steps"])
def test_gru_kernels_agree_with_the_numpy_loop(numba_on, dtype, steps, batch, units, masked):
    """A GRU's arithmetic around its products and tanh, forward and
    backward, in kernel calls: the same bits on odd shapes (with a mask,
    backward stays on the numpy loop); the float32 forward in one call, with
    its own tanh, within a few ulps."""
    from zen.autodiff.gated import GRUScan
    g = np.random.default_rng(13)
    arrays = [g.normal(size=(steps, batch, 3 * units)), g.normal(size=(batch, units)),
              g.normal(size=(units, 3 * units)) * 0.3, g.normal(size=3 * units)]
    weights = g.normal(size=(steps, batch, units)).astype(dtype)
    mask = g.random((steps, batch)) > 0.3 if masked else None

    assert_scans_agree(GRUScan, arrays, weights, mask, dtype)


SCAN_SIZES = [(3, 5, 7), (1, 1, 1), (50, 32, 64)]  # the last: the benchmark's, BLAS on both threads


def scan_cases(steps, batch, units, rng):
    """(scan op, its inputs) for a simple RNN, an LSTM and a GRU, the
    recurrent kernels small enough that the recurrence contracts (float32
    rounding differences then fade over the steps instead of growing)."""
    from zen.autodiff.gated import GRUScan, LSTMScan
    from zen.autodiff.recurrent import RNNScan

    def recurrent(gates):
        return rng.normal(size=(units, gates * units)) * 0.5 / np.sqrt(units)
    state = (batch, units)
    return [
        (RNNScan, [rng.normal(size=(steps, batch, units)), rng.normal(size=state), recurrent(1)]),
        (LSTMScan, [rng.normal(size=(steps, batch, 4 * units)), rng.normal(size=state),
                    rng.normal(size=state), recurrent(4)]),
        (GRUScan, [rng.normal(size=(steps, batch, 3 * units)), rng.normal(size=state),
                   recurrent(3), rng.normal(size=3 * units)])]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("steps,batch,units", SCAN_SIZES)
def test_scans_in_one_kernel_call_agree_with_the_numpy_loops(numba_on, dtype, steps, batch,
                                                             units):
    """A simple RNN, an LSTM and a GRU, forward and backward, with the
    kernels and on numpy's loops: float64 bitwise; float32 (whose forward
    computes its own tanh in one kernel call) within a few ulps."""
    from zen.autodiff.gated import LSTMScan
    g = np.random.default_rng(14)
    for scan, arrays in scan_cases(steps, batch, units, g):
        gates = (2,) if scan is LSTMScan else ()
        weights = g.normal(size=(*gates, steps, batch, units)).astype(dtype)
        assert_scans_agree(scan, arrays, weights, None, dtype)
    if np.__config__.CONFIG["Build Dependencies"]["blas"]["name"] == "scipy-openblas":
        # numpy's wheels: the kernels ran, unless a single row or column sent them to numpy
        assert kernels.scans(np.zeros((batch, units), dtype)) == (min(batch, units) > 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("steps,batch,units", SCAN_SIZES)
@pytest.mark.parametrize("reach", ["every step", "last step", "batch-major"])
def test_scans_backward_in_one_call_is_bitwise_the_numpy_loops(numba_on, dtype, steps, batch,
                                                               units, reach):
    """From the same forward pass, the simple RNN's, LSTM's and GRU's
    backward kernels, every step and its product with U^T (numpy's own BLAS)
    in one call, give the numpy loops' bits: with a gradient reaching every
    step, only the last (the steps between get none from outside), or every
    step in batch-major order (not C-contiguous)."""
    from zen.autodiff.gated import LSTMScan
    g = np.random.default_rng(15)
    for scan, arrays in scan_cases(steps, batch, units, g):
        gates = (2,) if scan is LSTMScan else ()
        gradient = g.normal(size=(*gates, batch, steps, units)).astype(dtype)
        gradient = gradient.swapaxes(-3, -2)  # (..., steps, batch, units), batch-major in memory
        if reach != "batch-major":
            gradient = np.ascontiguousarray(gradient)
        if reach == "last step":
            gradient[..., :-1, :, :] = 0
        results = []
        for backward_on in (lambda fn: fn(), on_numpy):
            op = scan()
            op.needs_grad = (True,) * len(arrays)
            on_numpy(lambda: op.forward(*[a.astype(dtype) for a in arrays]))
            results.append(backward_on(lambda: op.backward(gradient)))
        for fast, slow in zip(*results):
            np.testing.assert_array_equal(fast, slow)


def test_the_scans_float32_tanh_is_within_one_and_a_half_ulps(numba_on):
    """The tanh the float32 scan kernels compute in their loop, read through
    a simple RNN with U = 0 (h_t = tanh(p_t)): within 1.5 float32 ulps of the
    exact value on a dense grid, tiny and subnormal values included (numpy's
    own float32 tanh: 1.4), odd, and tanh(+-inf) = +-1, NaN stays NaN. (The
    input is 0 @ U + p: a -0.0 in p would arrive as +0.0.)"""
    tiny = np.geomspace(1e-44, 1, 40_000)
    grid = np.concatenate([np.linspace(-20, 20, 400_001), tiny, -tiny])
    grid = np.concatenate([grid, np.zeros(-(len(grid) + 3) % 64),  # a NaN's step goes last:
                           [np.inf, -np.inf, np.nan]]).astype(np.float32)  # h @ U is then NaN
    projected = grid.reshape(-1, 2, 32)
    states = np.zeros((len(projected) + 1, 2, 32), np.float32)
    kernels.rnn_tanh_forward(projected, states, np.zeros((32, 32), np.float32))
    ours, x = states[1:].ravel(), grid
    exact = np.tanh(x.astype(np.float64))
    finite = np.isfinite(x)
    ulp = np.spacing(np.abs(exact[finite]).astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(ours[finite] - exact[finite]) / ulp) <= 1.5
    np.testing.assert_array_equal(ours[~finite], exact[~finite])
    np.testing.assert_array_equal(np.signbit(ours[x != 0]), np.signbit(x[x != 0]))


def test_scan_kernels_refuse_arrays_blas_cannot_write_by_rows(numba_on):
    states, u = np.zeros((3, 2, 4)), np.eye(4)
    with pytest.raises(ValueError, match=r"dz must be a C-contiguous array"):
        kernels.rnn_tanh_backward(np.ones((2, 2, 4)), states, u, np.zeros((2, 4)),
                                  np.empty((2, 4, 2)).transpose(0, 2, 1))


def test_a_kernel_that_calls_blas_says_so_when_there_is_none(numba_on, monkeypatch):
    from zen import blas
    monkeypatch.setattr(blas, "gemm", lambda dtype: None)
    with pytest.raises(RuntimeError, match=r"calls numpy's BLAS, which must be an OpenBLAS"):
        kernels.rnn_tanh_forward(np.zeros((2, 2, 3), np.float32), np.zeros((3, 2, 3), np.float32),
                                 np.zeros((3, 3), np.float32))


def test_scans_take_the_numpy_loops_where_the_kernels_cannot_multiply(numba_on, monkeypatch):
    """Without a BLAS product to call (zen.blas.gemm finds none), the scans'
    backward runs numpy's loops, with the same results."""
    from zen import blas
    from zen.autodiff.recurrent import RNNScan
    g = np.random.default_rng(15)
    arrays = [g.normal(size=(4, 3, 5)), g.normal(size=(3, 5)), g.normal(size=(5, 5)) * 0.3]
    weights = g.normal(size=(4, 3, 5))

    def gradients():
        tensors = [Tensor(a) for a in arrays]
        (RNNScan.apply(*tensors) * Tensor(weights, trainable=False)).sum().backward()
        return [t.gradient for t in tensors]
    with_blas = gradients()
    monkeypatch.setattr(blas, "gemm", lambda dtype: None)
    assert not kernels.scans(np.zeros((2, 2)))
    for a, b in zip(with_blas, gradients()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("optimizer", [
    lambda: zen.optim.Adam(lr=1e-2), lambda: zen.optim.Adam(lr=1e-2, weight_decay=0.01),
    lambda: zen.optim.AdamW(lr=1e-2, weight_decay=0.01),
    lambda: zen.optim.Adam(lr=zen.optim.schedules.ExponentialDecay(1e-2, 1, 0.5))],
    ids=["adam", "coupled decay", "adamw", "schedule"])
def test_adam_kernel_is_bitwise_the_numpy_update(numba_on, dtype, optimizer):
    """Adam's update in one kernel pass: the same operations in the same
    dtype, so the same weights and moments after three steps, on odd shapes
    (a scalar, a one-element axis, sizes not divisible by a vector width)."""
    shapes = [(), (1, 7), (13, 5), (3, 1, 11)]

    def run():
        g = np.random.default_rng(13)
        params = [Tensor(g.normal(size=s).astype(dtype)) for s in shapes]
        opt = optimizer()
        for _ in range(3):
            for p in params:
                p.gradient = g.normal(size=p.shape).astype(dtype)
            opt.step(params)
        return [a for p in params for a in (p.value, opt.state[p.id]["m"], opt.state[p.id]["v"])]
    for fast, slow in zip(run(), on_numpy(run)):
        assert fast.dtype == dtype
        np.testing.assert_array_equal(fast, slow)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 3, 5, 5), (1, 7, 4), (3, 4, 9), (1, 1, 1)])
def test_causal_softmax_kernel_is_the_masked_softmax(numba_on, dtype, shape):
    """Query i of each block takes keys j <= i; what x holds beyond (NaN
    here) is never read and gets probability 0, as -inf logits would."""
    g = np.random.default_rng(14)
    x = (g.normal(size=shape) * 3).astype(dtype)
    causal = np.tril(np.ones(shape[-2:], bool))
    x[..., ~causal] = np.nan
    expected = kernels.softmax(np.where(causal, x, -np.inf))
    np.testing.assert_array_equal(kernels.softmax(x, causal=True), expected)
    assert not np.isnan(expected).any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 3, 5, 5), (1, 7, 4), (3, 4, 9), (1, 1, 1)])
def test_causal_softmax_backward_reads_only_the_unmasked_entries(numba_on, dtype, shape):
    """The gradient of the causal softmax is the full softmax's on its
    probabilities; the masked entries of g (NaN here) are never read, and
    their gradient is 0."""
    g = np.random.default_rng(16)
    s = kernels.softmax((g.normal(size=shape) * 3).astype(dtype), causal=True)
    upstream = g.normal(size=shape).astype(dtype)
    expected = kernels.softmax_backward(upstream, s)
    causal = np.tril(np.ones(shape[-2:], bool))
    upstream[..., ~causal] = np.nan
    got = kernels.softmax_backward(upstream, s, causal=True)
    np.testing.assert_array_equal(got[..., ~causal], 0)
    check_close([got], [expected], dtype, ulps=4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("lengths", [(5, 5), (7, 4), (3, 6)], ids=["square", "Lq>Lk", "Lq<Lk"])
def test_causal_attention_without_a_mask_matches_the_numpy_path(numba_on, dtype, lengths):
    from zen.autodiff.attention import scaled_dot_product_attention
    g = np.random.default_rng(15)
    q = g.normal(size=(2, 3, lengths[0], 4)).astype(dtype)
    k, v = (g.normal(size=(2, 3, lengths[1], 4)).astype(dtype) for _ in range(2))

    def run():
        tensors = [Tensor(a.copy()) for a in (q, k, v)]
        out = scaled_dot_product_attention(*tensors, is_causal=True)
        (out * Tensor(np.linspace(-1, 1, out.size).reshape(out.shape).astype(dtype),
                      trainable=False)).sum().backward()
        return [out.value] + [t.gradient for t in tensors]
    tolerance = 1e-12 if dtype == np.float64 else 2e-6
    for fast, slow in zip(run(), on_numpy(run)):
        np.testing.assert_allclose(fast, slow, rtol=tolerance, atol=tolerance)
