"""Check analytic gradients against central differences, in float64."""
import numpy as np

from .tensor import Tensor, no_grad


def grad_check(fn, inputs, eps=1e-3, atol=1e-5, rtol=1e-3, seed=0):
    """Compare the gradients back-propagated through `fn` with central
    differences, for every element of every trainable input.

    Args:
        fn: callable taking the inputs as Tensors and returning a Tensor. A
            non-scalar output is reduced with fixed random weights, so that
            every output element is checked.
        inputs: Tensors or arrays (arrays are checked as trainable inputs).
            They are copied to float64; the originals are not touched.
        eps: the finite-difference step (default 1e-3).
        atol: the absolute tolerance: |analytic - numeric| <= atol + rtol * |numeric|.
        rtol: the relative tolerance, in the same test.
        seed: seed of the random output weights.

    Returns:
        The largest absolute error found.

    Raises:
        AssertionError: naming the input and the index of the worst element.

    Example:
        grad_check(lambda a, b: (a * b).sum(), [np.ones(3), np.arange(3.0)])
    """
    # C order: _central_differences nudges elements through a flat view
    tensors = [Tensor(np.array(_value(x), dtype=np.float64, order="C"),
                      trainable=getattr(x, "trainable", True)) for x in inputs]
    weights = None

    def objective():
        nonlocal weights
        out = fn(*tensors)
        if weights is None:
            weights = np.random.default_rng(seed).uniform(0.5, 1.5, out.shape)
        return (out * weights).sum()

    objective().get_gradients()
    worst = 0.0
    for n, t in enumerate(tensors):
        if not t.trainable:
            continue
        analytic = t.gradient if t.gradient is not None else np.zeros_like(t.value)
        numeric = _central_differences(objective, t, eps)
        excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if excess.size and excess.max() > 0:
            index = np.unravel_index(np.argmax(excess), excess.shape)
            raise AssertionError(
                f"grad_check: input {n} (shape {t.shape}) at index {index}: analytic "
                f"{analytic[index]:.8g}, numeric {numeric[index]:.8g}")
        worst = max(worst, float(np.abs(analytic - numeric).max(initial=0.0)))
    return worst


def _central_differences(objective, tensor, eps):
    numeric = np.zeros_like(tensor.value)
    flat = tensor.value.reshape(-1)  # a view: writes reach tensor.value
    with no_grad():
        for i in range(flat.size):
            saved = flat[i]
            flat[i] = saved + eps
            plus = objective().item()
            flat[i] = saved - eps
            minus = objective().item()
            flat[i] = saved
            numeric.flat[i] = (plus - minus) / (2 * eps)
    return numeric


def _value(x):
    return x.value if isinstance(x, Tensor) else x
