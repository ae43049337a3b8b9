"""Subnormal numbers in the optimisers' buffers become 0 every FLUSH_EVERY
updates of a parameter, where such a number moves the weight by less than
its rounding; NaN and infinities stay; the sign-based and growing buffers
are left alone."""
import numpy as np
import pytest

from zen import Tensor
from zen.optim import (SGD, Adagrad, Adam, Adamax, AdamW, Lion, Momentum, Nadam, RMSProp,
                       optimizer)

SUBNORMAL = {np.float32: np.float32(1e-40), np.float64: 1e-310}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flush_subnormal_zeroes_only_the_subnormal_numbers(dtype):
    tiny, sub = np.finfo(dtype).tiny, SUBNORMAL[dtype]
    values = np.array([sub, -sub, tiny, -tiny, 0.0, -0.0, 1.5, np.nan, np.inf, -np.inf,
                       np.nextafter(tiny, 0)], dtype)
    kept = values.copy()
    optimizer.flush_subnormal(values)
    expected = kept.copy()
    expected[[0, 1, 10]] = 0
    np.testing.assert_array_equal(values, expected)  # NaN in the same place
    assert values.dtype == dtype


def zero_gradient_steps(opt, param, steps):
    for _ in range(steps):
        param.gradient = np.zeros_like(param.value)
        opt.step([param])


def seeded(opt, names, dtype=np.float32):
    """A parameter whose first update filled every buffer in `names` with a
    subnormal number (and one normal entry)."""
    param = Tensor(np.ones(3, dtype))
    param.gradient = np.ones(3, dtype)
    opt.step([param])
    for name in names:
        opt.state[param.id][name][:2] = SUBNORMAL[dtype]
    return param


@pytest.mark.parametrize("make, names", [
    (lambda: Adam(lr=1e-3), ("m", "v")), (lambda: AdamW(lr=1e-3), ("m", "v")),
    (lambda: Nadam(learning_rate=1e-3), ("m", "v")), (lambda: Adamax(learning_rate=1e-3), ("m", "u")),
    (lambda: RMSProp(lr=1e-3), ("v",)), (lambda: Momentum(lr=1e-3), ("velocity",)),
    (lambda: SGD(lr=1e-3, momentum=0.9), ("momentum_buffer",))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_decaying_buffers_are_flushed_every_flush_every_updates(make, names, dtype):
    opt = make()
    param = seeded(opt, names, dtype)
    zero_gradient_steps(opt, param, optimizer.FLUSH_EVERY - 2)  # update FLUSH_EVERY - 1
    for name in names:
        buffer = opt.state[param.id][name]
        assert np.all(buffer[:2] != 0), name  # decayed, still subnormal: not yet flushed
    zero_gradient_steps(opt, param, 1)                           # update FLUSH_EVERY
    for name in names:
        buffer = opt.state[param.id][name]
        np.testing.assert_array_equal(buffer[:2], 0)
        assert buffer[2] >= np.finfo(dtype).tiny, name  # a normal number stays


@pytest.mark.parametrize("make, names", [
    (lambda: Lion(learning_rate=1e-3), ("m",)),          # sign(m): a subnormal m is a full step
    (lambda: Adagrad(lr=1e-3), ("sum",)),                # grows, never decays into them
    (lambda: Adam(lr=1e-3, epsilon=0.0), ("m", "v")),    # m / sqrt(v) can be a full step
    (lambda: RMSProp(lr=1e-3, epsilon=0.0), ("v",))])
def test_buffers_where_a_subnormal_counts_are_never_flushed(make, names):
    opt = make()
    param = seeded(opt, names)
    zero_gradient_steps(opt, param, optimizer.FLUSH_EVERY)
    for name in names:
        assert np.all(opt.state[param.id][name][:2] != 0), name


def dead_unit_moments(steps=900):
    """Adam's moments after `steps` updates of a (2, 64) weight whose first
    row's gradient stops after 5: its m decays by 0.9 a step into the
    subnormal numbers (float32) from about step 720, and stays there."""
    opt = Adam(lr=1e-3)
    param = Tensor(np.ones((2, 64), np.float32))
    rng = np.random.default_rng(0)
    for step in range(1, steps + 1):
        g = rng.normal(size=(2, 64)).astype(np.float32)
        if step > 5:
            g[0] = 0
        param.gradient = g
        opt.step([param])
    return opt.state[param.id]["m"], opt.state[param.id]["v"]


def subnormal_count(a):
    return int(np.count_nonzero((a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny)))


def test_adam_on_a_dead_unit_keeps_no_subnormal_moments(fast):
    m, v = dead_unit_moments()
    assert subnormal_count(m) == subnormal_count(v) == 0
    np.testing.assert_array_equal(m[0], 0)
    assert np.all(np.abs(m[1]) >= np.finfo(np.float32).tiny)  # the live row untouched
    assert np.all(v >= np.finfo(np.float32).tiny)


def test_without_the_flush_the_dead_unit_keeps_subnormal_moments(monkeypatch):
    """What the test above guards against."""
    monkeypatch.setattr(optimizer, "FLUSH_EVERY", 10 ** 9)
    m, _ = dead_unit_moments()
    assert subnormal_count(m[0]) > 32


def test_flushing_keeps_the_kernel_and_numpy_paths_bitwise_equal():
    pytest.importorskip("numba")
    from zen import kernels
    results = []
    for enabled in (True, False):
        kernels.enable(enabled)
        try:
            opt = Adam(lr=1e-2)
            param = Tensor(np.linspace(-1, 1, 300, dtype=np.float32).reshape(3, 100))
            for step in range(1, 40):
                g = np.cos(param.value * step)
                g[0] = 0 if step > 3 else g[0]
                param.gradient = g
                opt.step([param])
                if step == 10:
                    opt.state[param.id]["m"][0] = SUBNORMAL[np.float32]
            results.append((param.value.copy(), opt.state[param.id]["m"].copy(),
                            opt.state[param.id]["v"].copy()))
        finally:
            kernels.enable(None)
    for on, off in zip(*results):
        np.testing.assert_array_equal(on, off)
