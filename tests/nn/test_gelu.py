"""GELU to full precision: erf and erfc (zen.autodiff.special) against
Python's math module, the exact GELU to 1e-12 relative in float64 (tails
included), float32 within a few float32 ulps of the float64 path, the tanh
form against its formula, exact derivatives, the layer's `approximate`
argument and its config."""
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zen.autodiff as ad
from zen.autodiff import Tensor, grad_check, special
from zen.nn import GELU, Dense

SQRT_2 = math.sqrt(2)
# both signs, tiny to huge, and either side of Cody's range limits (0.46875 and 4 in x / sqrt 2)
EDGES = [0.46875 * SQRT_2, 4 * SQRT_2, 26.5 * SQRT_2]
POINTS = np.unique(np.concatenate([
    np.linspace(-40, 40, 8001), np.geomspace(1e-300, 1, 300), -np.geomspace(1e-300, 1, 300),
    [0.0], [e * f for e in EDGES for f in (1 - 1e-12, 1, 1 + 1e-12, -1 + 1e-12, -1, -1 - 1e-12)]]))


def exact_gelu(x):
    """x/2 (1 + erf(x / sqrt 2)), written with math.erfc so that the
    reference keeps its digits where 1 + erf(...) would cancel (x << 0)."""
    return 0.5 * x * math.erfc(-x / SQRT_2)


def exact_derivative(x):
    return 0.5 * math.erfc(-x / SQRT_2) + x * math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def tanh_gelu(x):
    return 0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def relative_error(got, expected, tiny=np.finfo(np.float64).tiny):
    """The largest relative error over the expected values of normal size;
    where those underflow (subnormal or zero), `got` must be within 1e-318."""
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    normal = np.abs(expected) >= tiny
    assert np.all(np.abs(got[~normal] - expected[~normal]) <= 1e-318)
    return np.max(np.abs(got[normal] - expected[normal]) / np.abs(expected[normal]))


# ----- erf and erfc ------------------------------------------------------------------------
@pytest.mark.parametrize("fn, reference", [(special.erf, math.erf), (special.erfc, math.erfc)])
def test_erf_and_erfc_match_math_to_float64_rounding(fn, reference):
    x = POINTS[np.abs(POINTS) < 26]  # erfc underflows to subnormals beyond
    assert relative_error(fn(x), [reference(v) for v in x]) < 2e-15


def test_erf_erfc_limits_and_dtypes():
    np.testing.assert_array_equal(special.erf(np.array([np.inf, -np.inf, 0.0])), [1, -1, 0])
    np.testing.assert_array_equal(special.erfc(np.array([np.inf, -np.inf, 30.0])), [0, 2, 0])
    assert np.isnan(special.erfc(np.array([np.nan]))).all()
    assert special.erf(np.float32(0.5)).dtype == np.float32
    assert special.erfc(3).dtype == np.float64
    assert special.erf(0.5) == pytest.approx(math.erf(0.5), rel=1e-15)


# ----- the exact GELU ------------------------------------------------------------------------
def test_exact_gelu_is_exact_to_float64_rounding():
    assert relative_error(ad.gelu(POINTS).value, [exact_gelu(v) for v in POINTS]) < 1e-12


def test_exact_gelu_matches_the_erf_formula_where_it_is_well_conditioned():
    x = POINTS[POINTS > -3]  # below, 1 + erf(x / sqrt 2) itself loses digits
    expected = [v / 2 * (1 + math.erf(v / SQRT_2)) for v in x]
    assert relative_error(ad.gelu(x).value, expected) < 1e-12


@settings(max_examples=200, deadline=None)
@given(st.floats(-38, 38, allow_nan=False))
def test_exact_gelu_property(x):
    got = ad.gelu(np.array([x])).value[0]
    assert got == pytest.approx(exact_gelu(x), rel=1e-12, abs=1e-300)


def test_float32_stays_float32_and_is_within_a_few_ulps():
    x = np.concatenate([np.linspace(-12.5, 12.5, 50001), np.geomspace(1e-30, 1, 500),
                        -np.geomspace(1e-30, 1, 500)]).astype(np.float32)
    out = ad.gelu(x).value
    assert out.dtype == np.float32
    expected = [exact_gelu(v) for v in x.astype(np.float64)]
    assert relative_error(out, expected, np.finfo(np.float32).tiny) < 4 * np.finfo(np.float32).eps


def test_float32_normal_density_is_within_two_ulps_without_exp():
    """phi in float32 from the table of phi(k / 256) and a polynomial: within
    1.5 float32 eps of phi on a dense grid and at the table's points and
    midpoints (where |x| rounds to the next point), both signs, up to 13
    (beyond, phi is near the subnormal numbers of float32)."""
    points = np.arange(13 * 256) / 256
    x = np.concatenate([np.linspace(-13, 13, 400001), points, points + 1 / 512,
                        -points - 1 / 512, np.nextafter(points[1:] + 1 / 512, 0)]).astype(np.float32)
    _, pdf = special.normal_cdf_and_pdf(x)
    expected = special.normal_pdf(x.astype(np.float64))
    assert pdf.dtype == np.float32
    assert relative_error(pdf, expected, np.finfo(np.float32).tiny) < 1.5 * np.finfo(np.float32).eps


def test_float32_normal_density_at_its_limits():
    """Past the table (|x| >= 16, 2^15, the largest float32, inf) phi is 0;
    NaN stays NaN; -0.0 and 0.0 give phi(0)."""
    big = [15.999, 16, 16.001, 1000, 32768, 65536, 3e38, np.inf]
    x = np.array(big + [-b for b in big] + [np.nan, 0.0, -0.0], np.float32)
    _, pdf = special.normal_cdf_and_pdf(x)
    np.testing.assert_array_equal(pdf[:2 * len(big)], 0)
    assert np.isnan(pdf[-3])
    np.testing.assert_array_equal(pdf[-2:], np.float32(1 / math.sqrt(2 * math.pi)))


def gelu_and_derivative(x):
    t = Tensor(x)
    y = ad.gelu(t)
    y.sum().backward()
    return y.value, t.gradient


def test_float32_gelu_and_derivative_match_the_float64_path():
    """The float32 path against the float64 one on the same numbers: within
    4 float32 eps relative (GELU, in both tails too), 4 eps plus 1e-7
    absolute for the derivative (which crosses 0 near x = -0.75)."""
    x = np.linspace(-10, 10, 400001, dtype=np.float32)
    gelu32, derivative32 = gelu_and_derivative(x)
    gelu64, derivative64 = gelu_and_derivative(x.astype(np.float64))
    assert gelu32.dtype == derivative32.dtype == np.float32
    eps = np.finfo(np.float32).eps
    assert np.all(np.abs(gelu32 - gelu64) <= 4 * eps * np.abs(gelu64))
    assert np.all(np.abs(derivative32 - derivative64) <= 4 * eps * np.abs(derivative64) + 1e-7)


def test_float32_extremes_match_the_float64_path():
    x = np.array([1e4, -1e4, np.inf, -np.inf, np.nan, 0.0, -0.0, 3e38, -3e38, 20, -20])
    with np.errstate(invalid="ignore"):  # inf * 0 in both paths: GELU(-inf) and GELU'(inf) are nan
        got = gelu_and_derivative(x.astype(np.float32))
        expected = gelu_and_derivative(x)
    for value, reference in zip(got, expected):
        np.testing.assert_array_equal(value, reference.astype(np.float32))
    np.testing.assert_array_equal(np.signbit(got[0]), np.signbit(expected[0]))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_keeps_the_input_dtype(approximate):
    for dtype in (np.float32, np.float64):
        x = Tensor(np.linspace(-3, 3, 7).astype(dtype))
        y = ad.gelu(x, approximate)
        y.sum().backward()
        assert y.dtype == dtype and x.gradient.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_scalars_and_empty_arrays(dtype):
    assert ad.gelu(np.array(1.0, dtype)).value == pytest.approx(exact_gelu(1.0), rel=1e-3)
    assert ad.gelu(np.zeros((2, 0), dtype)).shape == (2, 0)
    assert special.normal_cdf(np.array(-1.0, dtype)).dtype == dtype


# ----- the tanh approximation ------------------------------------------------------------------
@pytest.mark.parametrize("approximate", ["tanh", True, np.True_])
def test_tanh_gelu_matches_its_formula(approximate):
    x = np.linspace(-10, 10, 2001)
    np.testing.assert_allclose(ad.gelu(x, approximate).value, [tanh_gelu(v) for v in x],
                               rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("approximate", ["none", False])
def test_exact_is_the_default(approximate):
    x = np.linspace(-5, 5, 11)
    np.testing.assert_array_equal(ad.gelu(x, approximate).value, ad.gelu(x).value)
    assert np.abs(ad.gelu(x, "tanh").value - ad.gelu(x).value).max() > 1e-5  # really different


@pytest.mark.parametrize("bad", ["exact", "TANH", 1, 0, None, 0.5])
def test_bad_approximate_is_a_value_error(bad):
    with pytest.raises(ValueError, match="approximate"):
        ad.gelu(np.ones(3), bad)
    with pytest.raises(ValueError, match="approximate"):
        GELU(approximate=bad)


# ----- gradients ------------------------------------------------------------------------------
def test_exact_derivative_matches_phi_plus_x_phi():
    x = Tensor(np.linspace(-30, 30, 3001))
    ad.gelu(x).sum().backward()
    assert relative_error(x.gradient, [exact_derivative(v) for v in x.value]) < 1e-12


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gradients_against_central_differences(approximate):
    x = np.linspace(-6, 6, 49) + 0.013
    grad_check(lambda t: ad.gelu(t, approximate), [x], eps=1e-4, atol=1e-8, rtol=1e-6)


def test_float32_gradient_is_accurate():
    x = Tensor(np.linspace(-4, 4, 9, dtype=np.float32))
    ad.gelu(x).sum().backward()
    np.testing.assert_allclose(x.gradient, [exact_derivative(v) for v in x.value.astype(float)],
                               rtol=1e-6, atol=1e-7)


# ----- the layer ---------------------------------------------------------------------------------
def test_layer_modes_and_config():
    x = np.linspace(-3, 3, 13)
    exact, tanh = GELU(), GELU(approximate=True)
    np.testing.assert_array_equal(exact(x).value, ad.gelu(x).value)
    np.testing.assert_array_equal(tanh(x).value, ad.gelu(x, "tanh").value)
    assert exact.get_config() == {"approximate": False}
    assert GELU(approximate="tanh").get_config() == {"approximate": True}
    config = json.loads(json.dumps(tanh.get_config()))
    np.testing.assert_array_equal(GELU.from_config(config)(x).value, tanh(x).value)
    assert repr(exact) == "GELU()" and repr(tanh) == "GELU(approximate=True)"
    assert exact.name.startswith("gelu")


def test_string_activation_is_the_exact_gelu():
    dense = Dense(3, activation="gelu")
    x = np.random.default_rng(0).normal(size=(2, 4))
    out = dense(x).value
    linear = x.astype(np.float32) @ dense.kernel.value + dense.bias.value
    np.testing.assert_allclose(out, ad.gelu(linear).value, rtol=1e-6)


@pytest.mark.parametrize("fast", [True, False], ids=["kernels", "numpy"])
def test_gelu_backpropagates_twice_with_a_retained_graph(fast):
    """backward reuses the derivative's buffer for the gradient, except in a
    pass that keeps the graph for another."""
    from zen import kernels
    from zen.autodiff.nn_ops import gelu
    if fast:
        pytest.importorskip("numba")
    previous = kernels.enable(fast)
    try:
        x = Tensor(np.linspace(-3, 3, 12).reshape(3, 4))
        y = (gelu(x) * 2).sum()
        y.backward(retain_graph=True)
        first = x.gradient.copy()
        y.backward()
        np.testing.assert_allclose(x.gradient, 2 * first, rtol=1e-15)
    finally:
        kernels.enable(previous)
