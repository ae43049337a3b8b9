"""Dropout as one op: the keep fraction, the exact scale, the gradient
through the same mask, reproducibility under zen.set_seed, dtypes and
bad rates."""
import numpy as np
import pytest

import zen
import zen.autodiff as ad
from zen.autodiff import Tensor, grad_check


@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5, 0.9])
def test_keeps_one_minus_rate_and_scales_exactly(rate):
    zen.set_seed(0)
    y = ad.dropout(np.ones(10 ** 6, np.float32), rate).value
    kept = y != 0
    assert abs(kept.mean() - (1 - rate)) < 2e-3   # 4 standard deviations at rate 0.5
    assert np.all(y[kept] == np.float32(1 / (1 - rate)))


def test_neighbours_are_independent():
    """Four elements share one 64-bit draw: their masks must not correlate."""
    zen.set_seed(1)
    kept = ad.dropout(np.ones(10 ** 6), 0.3).value != 0
    for shift in (1, 2, 3, 4):
        both = (kept[:-shift] & kept[shift:]).mean()
        assert abs(both - 0.7 ** 2) < 2e-3


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_is_the_scaled_mask_and_dtypes_stay(dtype):
    zen.set_seed(2)
    x = Tensor(np.random.default_rng(0).uniform(1, 2, (64, 33)).astype(dtype))
    y = ad.dropout(x, 0.25)
    y.sum().backward()
    assert y.dtype == x.gradient.dtype == dtype
    scale = dtype(1 / 0.75)
    np.testing.assert_array_equal(x.gradient, np.where(y.value != 0, scale, 0))
    np.testing.assert_array_equal(y.value, x.value * x.gradient)


def test_gradient_against_central_differences():
    def seeded_dropout(x):
        zen.set_seed(3)  # the same mask at every evaluation
        return ad.dropout(x, 0.4)
    grad_check(seeded_dropout, [np.random.default_rng(1).normal(size=(6, 7))])


def test_reproducible_under_set_seed():
    x = np.ones((50, 60), np.float32)
    zen.set_seed(4)
    first, second = ad.dropout(x, 0.5).value, ad.dropout(x, 0.5).value
    zen.set_seed(4)
    np.testing.assert_array_equal(ad.dropout(x, 0.5).value, first)
    np.testing.assert_array_equal(ad.dropout(x, 0.5).value, second)
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("shape", [(), (0, 3), (5,), (3, 1, 7)])
def test_any_shape(shape):
    y = ad.dropout(np.ones(shape), 0.5)
    assert y.shape == shape and set(np.unique(y.value)) <= {0.0, 2.0}


def test_identity_when_not_training_or_at_rate_zero():
    x = Tensor(np.ones(3))
    assert ad.dropout(x, 0.5, training=False) is x
    assert ad.dropout(x, 0.0) is x


@pytest.mark.parametrize("rate", [-0.1, 1, 1.5])
def test_bad_rate_is_a_value_error(rate):
    with pytest.raises(ValueError, match="rate"):
        ad.dropout(np.ones(3), rate)
