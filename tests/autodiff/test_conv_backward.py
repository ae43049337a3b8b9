"""conv2d's input gradient with stride 1 (a convolution of the output
gradient) equals the general col2im one, for every padding and kernel."""
import numpy as np
import pytest

from zen.autodiff.conv import Conv2D


@pytest.mark.parametrize("height, width, kernel, padding", [
    (5, 6, (3, 3), "same"), (5, 6, (2, 2), "same"), (5, 6, (2, 3), "same"),
    (7, 5, (4, 1), "same"), (6, 6, (3, 3), "valid"), (6, 6, (3, 2), 1),
    (6, 5, (5, 5), 2), (4, 4, (1, 1), "valid"), (5, 5, (2, 4), (1, 2)),
])
def test_stride_one_input_gradient_equals_col2im(height, width, kernel, padding):
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(2, height, width, 3)), rng.normal(size=(*kernel, 3, 4))
    op = Conv2D(stride=1, padding=padding)
    op.needs_grad = (True, True)
    g = rng.normal(size=op.forward(x, w).shape)
    np.testing.assert_allclose(op._input_gradient(g, w), op._col2im(g.reshape(-1, 4), w),
                               rtol=1e-12, atol=1e-12)
