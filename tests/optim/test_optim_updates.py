"""Each optimiser's update against its rule written out by hand in numpy,
state isolation, dtype, read-only gradients, clipping and convergence."""
import numpy as np
import pytest

from zen import Tensor
from zen.optim import SGD, Adagrad, Adam, AdamW, Momentum, RMSProp, clip_grad_norm

C = np.array([1.0, 4.0, 0.5, 2.0])          # f(p) = 0.5 * sum(C * p**2), grad = C * p
P0 = np.array([1.0, -2.0, 3.0, 0.5])
STEPS = 6


def run(opt, steps=STEPS, p0=P0):
    """`steps` optimiser steps on f from p0 (float64), gradients set by hand."""
    p = Tensor(p0.copy())
    for _ in range(steps):
        p.gradient = C * p.value
        opt.step([p])
    return p.value


# ----- the rules, written out step by step --------------------------------------
def ref_sgd(lr, momentum=0.0, nesterov=False, wd=0.0):
    p, buf = P0.copy(), None
    for _ in range(STEPS):
        g = C * p + wd * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + g   # first step: buf = g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


def ref_momentum(lr, beta, lrs=None):
    p, v = P0.copy(), np.zeros(4)
    for k in range(STEPS):
        v = beta * v + (lrs[k] if lrs else lr) * C * p
        p = p - v
    return p


def ref_rmsprop(lr, beta, eps):
    p, v = P0.copy(), np.zeros(4)
    for _ in range(STEPS):
        g = C * p
        v = beta * v + (1 - beta) * g * g
        p = p - lr * g / (np.sqrt(v) + eps)
    return p


def ref_adam(lr, b1, b2, eps, wd=0.0, decoupled=False):
    p, m, v = P0.copy(), np.zeros(4), np.zeros(4)
    for t in range(1, STEPS + 1):
        g = C * p
        if decoupled:
            p = p - lr * wd * p
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)    # bias correction with t
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


def ref_adagrad(lr, eps, init):
    p, s = P0.copy(), np.full(4, init)
    for _ in range(STEPS):
        g = C * p
        s = s + g * g
        p = p - lr * g / (np.sqrt(s) + eps)
    return p


RULES = [
    ("sgd", lambda: SGD(lr=0.1), ref_sgd(0.1)),
    ("sgd_momentum", lambda: SGD(lr=0.1, momentum=0.9), ref_sgd(0.1, 0.9)),
    ("sgd_nesterov", lambda: SGD(lr=0.05, momentum=0.8, nesterov=True), ref_sgd(0.05, 0.8, True)),
    ("sgd_decay", lambda: SGD(lr=0.1, momentum=0.5, weight_decay=0.1), ref_sgd(0.1, 0.5, wd=0.1)),
    ("momentum", lambda: Momentum(lr=0.05, beta=0.9), ref_momentum(0.05, 0.9)),
    ("momentum_scheduled", lambda: Momentum(lr=lambda k: 0.1 / (k + 1), beta=0.8),
     ref_momentum(None, 0.8, [0.1 / (k + 1) for k in range(STEPS)])),
    ("rmsprop", lambda: RMSProp(lr=0.01, beta=0.9, epsilon=1e-7), ref_rmsprop(0.01, 0.9, 1e-7)),
    ("adam", lambda: Adam(lr=0.1), ref_adam(0.1, 0.9, 0.999, 1e-8)),
    ("adam_betas", lambda: Adam(lr=0.05, beta1=0.5, beta2=0.9, epsilon=1e-3),
     ref_adam(0.05, 0.5, 0.9, 1e-3)),
    ("adam_l2", lambda: Adam(lr=0.1, weight_decay=0.2), ref_adam(0.1, 0.9, 0.999, 1e-8, 0.2)),
    ("adamw", lambda: AdamW(lr=0.1, weight_decay=0.2),
     ref_adam(0.1, 0.9, 0.999, 1e-8, 0.2, decoupled=True)),
    ("adagrad", lambda: Adagrad(lr=0.5), ref_adagrad(0.5, 1e-10, 0.0)),
    ("adagrad_init", lambda: Adagrad(lr=0.5, initial_accumulator_value=0.1, epsilon=1e-3),
     ref_adagrad(0.5, 1e-3, 0.1)),
]


@pytest.mark.parametrize("name,make,expected", RULES, ids=[r[0] for r in RULES])
def test_update_matches_rule_written_by_hand(name, make, expected):
    np.testing.assert_allclose(run(make()), expected, rtol=1e-10, atol=1e-12)


def test_coupled_and_decoupled_decay_differ():
    assert not np.allclose(run(Adam(lr=0.1, weight_decay=0.2)),
                           run(AdamW(lr=0.1, weight_decay=0.2)))


def test_adam_first_step_is_lr_times_sign():
    # With bias correction m_hat = g and v_hat = g**2 at t = 1: the step is lr * sign(g).
    p1 = run(Adam(lr=0.01), steps=1)
    np.testing.assert_allclose(P0 - p1, 0.01 * np.sign(C * P0), rtol=1e-6)


def test_bias_correction_counts_each_parameters_own_updates():
    # A parameter that gets its first gradient at the optimiser's 4th step is
    # corrected with t = 1 (PyTorch's per-parameter step), so it moves by lr.
    early, late, opt = Tensor(np.ones(1)), Tensor(np.ones(1)), Adam(lr=0.01)
    for _ in range(3):
        early.gradient = np.ones(1)
        opt.step([early, late])
    late.gradient = np.array([5.0])
    opt.step([early, late])
    assert opt.state[late.id]["step"] == 1 and opt.state[early.id]["step"] == 4
    np.testing.assert_allclose(late.value, [0.99], rtol=1e-9)


def test_sgd_momentum_first_step_is_plain_sgd():
    np.testing.assert_allclose(run(SGD(lr=0.1, momentum=0.9), steps=1), P0 - 0.1 * C * P0)


ALL = [lambda: SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
       lambda: Momentum(lr=0.1), lambda: RMSProp(), lambda: Adam(weight_decay=0.1),
       lambda: AdamW(), lambda: Adagrad(), lambda: SGD(clipnorm=0.5),
       lambda: Adam(clipvalue=0.1), lambda: RMSProp(global_clipnorm=0.1)]


@pytest.mark.parametrize("make", ALL)
def test_two_parameters_keep_independent_state(make):
    a0, b0 = np.array([1.0, 2.0]), np.array([-3.0, 0.5])
    a, b, opt = Tensor(a0.copy()), Tensor(b0.copy()), make()
    alone = [Tensor(a0.copy()), Tensor(b0.copy())]
    solo = [make(), make()]
    for _ in range(4):
        a.gradient, b.gradient = 2 * a.value, np.cos(b.value)
        opt.step([a, b])
        for t, o, f in zip(alone, solo, (lambda v: 2 * v, np.cos)):
            t.gradient = f(t.value)
            o.step([t])
    if not opt.global_clipnorm:  # a global norm couples the parameters on purpose
        np.testing.assert_array_equal(a.value, alone[0].value)
        np.testing.assert_array_equal(b.value, alone[1].value)
    assert set(opt.state) == {a.id, b.id}


@pytest.mark.parametrize("make", ALL)
def test_float32_stays_float32_and_gradients_are_never_written(make):
    shared = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    shared.flags.writeable = False          # any in-place write to a gradient raises
    a, b = Tensor(np.ones(3, np.float32)), Tensor(np.ones(3, np.float32))
    opt = make()
    if not callable(opt.lr):
        opt.lr = lambda k: np.float64(0.01)  # a numpy float64 rate must not upcast
    for _ in range(3):
        a.gradient = b.gradient = shared
        opt.step([a, b])
    assert a.value.dtype == b.value.dtype == np.float32
    assert type(opt.current_lr) is float
    assert all(arr.dtype == np.float32 for s in opt.state.values()
               for arr in s.values() if isinstance(arr, np.ndarray))
    np.testing.assert_array_equal(shared, [0.5, -1.0, 2.0])
    assert not np.array_equal(a.value, np.ones(3))


def test_param_without_gradient_is_untouched_and_gets_no_state():
    a, b = Tensor([1.0, 2.0]), Tensor([3.0, 4.0])
    a.gradient = np.array([1.0, 1.0], np.float32)
    opt = Adam(lr=0.1)
    opt.step([a, b])
    np.testing.assert_array_equal(b.value, [3.0, 4.0])
    assert set(opt.state) == {a.id} and opt.iterations == 1


def test_update_is_in_place():
    p = Tensor([1.0, 2.0])
    before = p.value
    p.gradient = np.ones(2, np.float32)
    Adam().step([p])
    assert p.value is before


CLIPS = [  # (options, gradients, clipped gradients)
    ({"clipvalue": 1.0}, [[-5.0, 0.5, 3.0]], [[-1.0, 0.5, 1.0]]),
    ({"clipnorm": 1.0}, [[3.0, 4.0], [0.3, 0.4]], [[0.6, 0.8], [0.3, 0.4]]),  # per parameter
    ({"global_clipnorm": 1.0}, [[3.0, 4.0], [0.0, 12.0]], [[3 / 13, 4 / 13], [0.0, 12 / 13]]),
    ({"global_clipnorm": 100.0}, [[3.0, 4.0], [0.0, 12.0]], [[3.0, 4.0], [0.0, 12.0]]),
]


@pytest.mark.parametrize("options,grads,clipped", CLIPS)
def test_clipping_before_the_update(options, grads, clipped):
    params = [Tensor(np.zeros(len(g))) for g in grads]
    for p, g in zip(params, grads):
        p.gradient = np.array(g)
    SGD(lr=1.0, **options).step(params)      # lr 1, no momentum: p = -clipped gradient
    for p, g, c in zip(params, grads, clipped):
        np.testing.assert_allclose(p.value, -np.array(c), rtol=1e-12)
        np.testing.assert_array_equal(p.gradient, g)   # the gradient itself is kept


def test_clip_grad_norm_rescales_with_new_arrays_and_returns_the_norm():
    a, b, c = Tensor([0.0, 0.0]), Tensor([0.0]), Tensor([0.0])
    ga, gb = np.array([3.0, 4.0]), np.array([12.0])
    a.gradient, b.gradient = ga, gb
    assert clip_grad_norm([a, b, c], max_norm=6.5) == pytest.approx(13.0)
    np.testing.assert_allclose(a.gradient, [1.5, 2.0])
    np.testing.assert_allclose(b.gradient, [6.0])
    assert c.gradient is None
    np.testing.assert_array_equal(ga, [3.0, 4.0])          # originals untouched
    assert clip_grad_norm([a, b], max_norm=100.0) == pytest.approx(6.5)
    np.testing.assert_allclose(a.gradient, [1.5, 2.0])     # below the limit: unchanged
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm([a], max_norm=0)


MINIMISE = [  # optimiser, steps: each must bring f to near 0 from (1.5, -1, 2)
    (lambda: SGD(lr=0.1), 200), (lambda: SGD(lr=0.05, momentum=0.9, nesterov=True), 200),
    (lambda: Momentum(lr=0.05, beta=0.9), 200), (lambda: RMSProp(lr=0.01), 400),
    (lambda: Adam(lr=0.05), 400), (lambda: AdamW(lr=0.05, weight_decay=1e-4), 400),
    (lambda: Adagrad(lr=0.5), 400),
]


@pytest.mark.parametrize("make,steps", MINIMISE)
def test_minimises_an_ill_conditioned_quadratic_with_autodiff(make, steps):
    target = np.array([1.0, -2.0, 0.5], np.float32)
    scale = np.array([1.0, 5.0, 0.5], np.float32)
    p, opt = Tensor(np.array([1.5, -1.0, 2.0], np.float32)), make()
    for _ in range(steps):
        loss = (scale * (p - target) ** 2).sum()
        loss.backward()
        opt.step([p])
        opt.zero_grad([p])
    assert float((scale * (p.value - target) ** 2).sum()) < 1e-3
