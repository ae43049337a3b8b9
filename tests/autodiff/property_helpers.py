"""What the property tests share: hypothesis settings (derandomized, so CI
runs the same examples every time), the dtypes, and an axis strategy."""
import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def bounded(examples):
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


DTYPES = [np.float32, np.float64]


def axis(draw, ndim):
    """None, an int or a tuple of distinct axes, each positive or negative."""
    if ndim == 0:
        return None
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    axes = [a - ndim if draw(st.booleans()) else a for a in axes]
    return draw(st.sampled_from([None, axes[0], tuple(axes)]))
