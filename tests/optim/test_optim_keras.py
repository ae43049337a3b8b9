"""Keras's other optimizers (Nadam, Adamax, Lion, Adafactor), the options of
every optimizer (EMA of the weights, gradient accumulation, Keras spellings)
and Keras's other schedules: each against its rule written out in float64
here, state round trips mid-training, configs and argument errors."""
import io
import json
import math

import numpy as np
import pytest

from zen import Tensor, optim
from zen.optim import SGD, Adafactor, Adam, Adamax, Lion, Nadam, RMSProp, schedules
from zen.optim.schedules import (CosineDecay, CosineDecayRestarts, InverseTimeDecay,
                                 PiecewiseConstantDecay, PolynomialDecay)

STEPS = 7
VECTOR = np.array([1.0, -2.0, 3.0, 0.5])
MATRIX = np.array([[0.5, -1.0, 2.0], [1.5, 0.2, -0.3]])
TENSOR3 = np.arange(24.0).reshape(2, 3, 4) / 10 - 1.0


def gradient(p):
    """The gradient each test feeds: elementwise, different per element."""
    scale = 1.0 + np.arange(p.size).reshape(p.shape) % 4
    return scale * p + 0.3 * np.sin(3 * p)


def run(opt, p0, steps=STEPS):
    p = Tensor(p0.copy())
    for _ in range(steps):
        p.gradient = gradient(p.value)
        opt.step([p])
    return p.value


# ----- the rules, written out step by step (float64) --------------------------------
def ref_nadam(p, lr=0.001, b1=0.9, b2=0.999, eps=1e-7, wd=None):
    m, v, product = np.zeros_like(p), np.zeros_like(p), 1.0
    for t in range(1, STEPS + 1):
        g = gradient(p)
        p = p - lr * wd * p if wd else p
        u_t, u_next = b1 * (1 - 0.5 * 0.96 ** t), b1 * (1 - 0.5 * 0.96 ** (t + 1))
        product *= u_t
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = u_next * m / (1 - product * u_next) + (1 - u_t) * g / (1 - product)
        p = p - lr * m_hat / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return p


def ref_adamax(p, lr=0.001, b1=0.9, b2=0.999, eps=1e-7, wd=None):
    m, u = np.zeros_like(p), np.zeros_like(p)
    for t in range(1, STEPS + 1):
        g = gradient(p)
        p = p - lr * wd * p if wd else p
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g))
        p = p - lr / (1 - b1 ** t) * m / (u + eps)
    return p


def ref_lion(p, lr=0.001, b1=0.9, b2=0.99, wd=None):
    m = np.zeros_like(p)
    for _ in range(STEPS):
        g = gradient(p)
        p = p - lr * wd * p if wd else p
        p = p - lr * np.sign(b1 * m + (1 - b1) * g)
        m = b2 * m + (1 - b2) * g
    return p


def rms(x):
    return np.sqrt(np.mean(x * x))


def ref_adafactor(p, lr=0.001, decay=-0.8, eps1=1e-30, eps2=1e-3, clip=1.0, wd=None):
    r, c, v = np.zeros(p.shape[:-1]), np.zeros(p.shape[:-2] + p.shape[-1:]), np.zeros_like(p)
    for t in range(1, STEPS + 1):
        g = gradient(p)
        p = p - lr * wd * p if wd else p
        alpha = max(eps2, rms(p)) * min(lr, 1 / np.sqrt(t))
        s, b = g * g + eps1, 1 - t ** decay
        if p.ndim >= 2:    # factored: row means r, column means c, v their normalised outer product
            r = b * r + (1 - b) * s.mean(axis=-1)
            c = b * c + (1 - b) * s.mean(axis=-2)
            v = np.einsum("...i,...j->...ij", r, c) / r.mean(axis=-1)[..., None, None]
        else:
            v = b * v + (1 - b) * s
        u = g / np.sqrt(v)
        p = p - alpha * u / max(1.0, rms(u) / clip)
    return p


RULES = [
    ("nadam", lambda: Nadam(), VECTOR, ref_nadam(VECTOR)),
    ("nadam_args", lambda: Nadam(0.05, beta_1=0.5, beta_2=0.9, epsilon=1e-3, weight_decay=0.1),
     MATRIX, ref_nadam(MATRIX, 0.05, 0.5, 0.9, 1e-3, wd=0.1)),
    ("adamax", lambda: Adamax(learning_rate=0.1), VECTOR, ref_adamax(VECTOR, 0.1)),
    ("adamax_args", lambda: Adamax(0.02, beta1=0.8, beta2=0.9, epsilon=0.01, weight_decay=0.5),
     MATRIX, ref_adamax(MATRIX, 0.02, 0.8, 0.9, 0.01, wd=0.5)),
    ("lion", lambda: Lion(0.01), VECTOR, ref_lion(VECTOR, 0.01)),
    ("lion_args", lambda: Lion(0.01, beta_1=0.5, beta_2=0.8, weight_decay=0.3), MATRIX,
     ref_lion(MATRIX, 0.01, 0.5, 0.8, wd=0.3)),
    ("adafactor_vector", lambda: Adafactor(0.5), VECTOR, ref_adafactor(VECTOR, 0.5)),
    ("adafactor_matrix", lambda: Adafactor(0.5), MATRIX, ref_adafactor(MATRIX, 0.5)),
    ("adafactor_rank3", lambda: Adafactor(0.05, clip_threshold=0.5, weight_decay=0.1), TENSOR3,
     ref_adafactor(TENSOR3, 0.05, clip=0.5, wd=0.1)),
    ("adafactor_args", lambda: Adafactor(0.3, beta_2_decay=-0.5, epsilon_1=1e-3, epsilon_2=0.5),
     MATRIX, ref_adafactor(MATRIX, 0.3, -0.5, 1e-3, 0.5)),
    ("adafactor_scalar", lambda: Adafactor(0.5), np.array(0.7), ref_adafactor(np.array(0.7), 0.5)),
]


@pytest.mark.parametrize("name,make,p0,expected", RULES, ids=[r[0] for r in RULES])
def test_update_matches_rule(name, make, p0, expected):
    np.testing.assert_allclose(run(make(), p0), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,make,p0,expected", RULES, ids=[r[0] for r in RULES])
def test_float32_stays_float32(name, make, p0, expected):
    result = run(make(), p0.astype(np.float32))
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, expected, rtol=1e-4, atol=1e-5)


def test_adafactor_keeps_factored_state_and_relative_step():
    opt, p = Adafactor(), Tensor(np.ones((5, 7)))
    p.gradient = np.ones((5, 7))
    opt.step([p])
    assert {k: v.shape for k, v in opt.state[p.id].items() if k != "step"} == \
        {"r": (5,), "c": (7,), "v": ()}
    # Keras applies rho = min(lr, 1 / sqrt(t)) whatever relative_step says
    np.testing.assert_array_equal(run(Adafactor(0.9, relative_step=False), MATRIX),
                                  run(Adafactor(0.9), MATRIX))


def test_lion_moves_every_element_by_lr():
    p1 = run(Lion(0.01), VECTOR, steps=1)
    np.testing.assert_allclose(VECTOR - p1, 0.01 * np.sign(gradient(VECTOR)), rtol=1e-12)


# ----- EMA of the weights ---------------------------------------------------------------
GRADS = [np.array([1.0, -1.0]), np.array([2.0, 0.0]), np.array([0.5, 0.5]),
         np.array([-1.0, 3.0]), np.array([0.0, 1.0])]


def feed(opt, p, grads):
    for g in grads:
        p.gradient = g
        opt.step([p])


def test_ema_by_hand_and_finalize():
    p, opt = Tensor(np.array([1.0, 2.0])), SGD(lr=0.1, use_ema=True, ema_momentum=0.9)
    feed(opt, p, GRADS[:3])
    w1 = np.array([1.0, 2.0]) - 0.1 * GRADS[0]
    w2 = w1 - 0.1 * GRADS[1]
    w3 = w2 - 0.1 * GRADS[2]
    average = 0.9 * (0.9 * w1 + 0.1 * w2) + 0.1 * w3          # the first step copies w1
    np.testing.assert_allclose(p.value, w3, rtol=1e-15)       # weights untouched by the EMA
    np.testing.assert_allclose(opt.state[p.id]["average"], average, rtol=1e-15)
    other = Tensor(np.zeros(2))                               # never updated: left alone
    opt.finalize_variable_values([p, other])
    np.testing.assert_allclose(p.value, average, rtol=1e-15)
    assert not other.value.any()
    q = Tensor(np.array([1.0, 2.0]))
    feed(SGD(lr=0.1), q, GRADS[:1])
    SGD().finalize_variable_values([q])                       # no EMA: nothing happens
    np.testing.assert_array_equal(q.value, w1)


def test_ema_overwrites_weights_every_k_steps():
    p, opt = Tensor(np.array([1.0, 2.0])), SGD(lr=0.1, use_ema=True, ema_momentum=0.5,
                                               ema_overwrite_frequency=2)
    w, average = np.array([1.0, 2.0]), None
    for k, g in enumerate(GRADS):
        w = w - 0.1 * g
        average = w.copy() if average is None else 0.5 * average + 0.5 * w
        if (k + 1) % 2 == 0:
            w = average.copy()
        feed(opt, p, [g])
        np.testing.assert_allclose(p.value, w, rtol=1e-15)
        np.testing.assert_allclose(opt.state[p.id]["average"], average, rtol=1e-15)


def test_ema_follows_a_parameter_without_gradient_this_step():
    a, b, opt = Tensor(np.ones(2)), Tensor(np.ones(2)), SGD(lr=0.5, use_ema=True,
                                                           ema_momentum=0.5)
    a.gradient, b.gradient = np.ones(2), np.ones(2)
    opt.step([a, b])                                          # both 0.5, averages 0.5
    b.gradient = None
    a.gradient = np.ones(2)
    opt.step([a, b])
    np.testing.assert_allclose(opt.state[a.id]["average"], [0.25, 0.25])
    np.testing.assert_allclose(opt.state[b.id]["average"], [0.5, 0.5])


# ----- gradient accumulation -------------------------------------------------------------
def test_accumulation_applies_the_mean_every_nth_step():
    p, opt = Tensor(np.array([1.0, 2.0])), SGD(lr=0.1, gradient_accumulation_steps=3)
    iterations = []
    for g in GRADS:
        feed(opt, p, [g])
        iterations.append(opt.iterations)
        if len(iterations) < 3:
            np.testing.assert_array_equal(p.value, [1.0, 2.0])
    np.testing.assert_allclose(p.value, [1.0, 2.0] - 0.1 * sum(GRADS[:3]) / 3, rtol=1e-15)
    np.testing.assert_allclose(opt.state[p.id]["gradient_accumulator"], GRADS[3] + GRADS[4])
    assert iterations == [0, 0, 1, 1, 1]                       # Keras: step calls // n
    assert opt.state_dict()["iterations"] == 5 and opt.state[p.id]["step"] == 1


def test_accumulated_adam_is_adam_on_the_mean_gradients():
    p, q = Tensor(VECTOR.copy()), Tensor(VECTOR.copy())
    accumulating, plain = Adam(lr=0.1, gradient_accumulation_steps=2), Adam(lr=0.1)
    for _ in range(3):
        g1, g2 = gradient(p.value), 2 * gradient(p.value) + 1
        feed(accumulating, p, [g1, g2])
        feed(plain, q, [(g1 + g2) / 2])                       # bias correction t = 1, 2, 3
    np.testing.assert_allclose(p.value, q.value, rtol=1e-15)


def test_accumulation_clips_the_mean_and_schedules_read_every_step():
    p = Tensor(np.zeros(1))
    opt = SGD(lr=lambda k: 0.1 * (k + 1), clipvalue=1.0, gradient_accumulation_steps=2)
    feed(opt, p, [np.array([3.0]), np.array([-0.5])])         # mean 1.25, clipped to 1
    assert p.value[0] == pytest.approx(-0.2)                  # lr at step call 1: 0.2
    feed(opt, p, [np.array([0.5]), np.array([0.5])])
    assert p.value[0] == pytest.approx(-0.2 - 0.4 * 0.5)      # lr at step call 3: 0.4


def test_accumulators_all_reset_at_an_update_step():
    # Keras zeroes every accumulator when it updates, also those of weights
    # without a gradient at that step (their sum is dropped).
    a, b, opt = Tensor(np.zeros(1)), Tensor(np.zeros(1)), SGD(lr=1.0,
                                                               gradient_accumulation_steps=2)
    a.gradient, b.gradient = np.ones(1), np.ones(1)
    opt.step([a, b])
    b.gradient = None
    opt.step([a, b])
    assert a.value[0] == -1.0 and b.value[0] == 0.0
    assert not opt.state[b.id]["gradient_accumulator"].any()


def test_ema_with_accumulation_counts_updates():
    p, opt = Tensor(np.array([1.0])), SGD(lr=0.1, use_ema=True, ema_momentum=0.5,
                                          gradient_accumulation_steps=2)
    feed(opt, p, [np.array([1.0]), np.array([3.0])])          # iterations 0: EMA copies
    w1 = 1.0 - 0.1 * 2.0
    assert opt.state[p.id]["average"][0] == pytest.approx(w1)
    feed(opt, p, [np.array([2.0]), np.array([2.0])])          # iterations 1: it averages
    w2 = w1 - 0.1 * 2.0
    assert opt.state[p.id]["average"][0] == pytest.approx(0.5 * (0.5 * w1 + 0.5 * w1) + 0.5 * w2)


# ----- state round trips -----------------------------------------------------------------
MAKERS = [lambda: Nadam(0.01), lambda: Adamax(0.01), lambda: Lion(0.01, weight_decay=0.1),
          lambda: Adafactor(0.1),
          lambda: Adam(0.01, use_ema=True, ema_overwrite_frequency=3),
          lambda: SGD(0.1, momentum=0.9, gradient_accumulation_steps=3),
          lambda: Nadam(0.01, use_ema=True, gradient_accumulation_steps=2),
          lambda: Adafactor(schedules.CosineDecayRestarts(0.1, 2), use_ema=True,
                            gradient_accumulation_steps=2)]


def npz_round_trip(state):
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    buffer.seek(0)
    with np.load(buffer) as data:
        return {k: data[k] for k in data.files}


def train(opt, params, steps):
    for _ in range(steps):
        for p in params:
            p.gradient = gradient(p.value).astype(np.float32)
        opt.step(params)


@pytest.mark.parametrize("make", MAKERS)
def test_round_trip_mid_training_is_bitwise(make):
    params = [Tensor(MATRIX.astype(np.float32)), Tensor(VECTOR.astype(np.float32))]
    opt = make()
    train(opt, params, 4)                                     # mid-accumulation for n = 3
    state = npz_round_trip(opt.state_dict(params))
    resumed = [Tensor(p.value.copy()) for p in params]
    fresh = make()
    fresh.load_state_dict(state, resumed)
    assert fresh.iterations == opt.iterations
    train(opt, params, 5)
    train(fresh, resumed, 5)
    for p, q in zip(params, resumed):
        assert q.value.dtype == np.float32
        np.testing.assert_array_equal(p.value, q.value)
    opt.finalize_variable_values(params)
    fresh.finalize_variable_values(resumed)
    for p, q in zip(params, resumed):
        np.testing.assert_array_equal(p.value, q.value)


def test_state_entries_and_load_errors():
    p = Tensor(MATRIX.copy())
    opt = Adam(use_ema=True, gradient_accumulation_steps=2)
    train(opt, [p], 1)
    assert set(opt.state_dict([p])) == {"iterations", "0/step", "0/m", "0/v", "0/average",
                                        "0/gradient_accumulator"}
    with pytest.raises(ValueError, match="another optimizer, or with other options"):
        Adam().load_state_dict(opt.state_dict([p]), [p])
    factored = Adafactor()
    train(factored, [p], 1)
    with pytest.raises(ValueError, match=r"'r' of parameter 0 has shape \(2,\), but it must "
                                         r"have shape \(\) for a parameter of shape \(6,\)"):
        Adafactor().load_state_dict(factored.state_dict([p]), [Tensor(np.zeros(6))])


# ----- configs, names and Keras spellings ----------------------------------------------
CONFIGURED = [Nadam(0.01, beta_1=0.8, weight_decay=0.01, use_ema=True, ema_momentum=0.9),
              Adamax(epsilon=1e-3, clipnorm=1.0, gradient_accumulation_steps=4),
              Lion(lr=schedules.PolynomialDecay(0.01, 100, power=2.0), beta2=0.95),
              Adafactor(relative_step=False, use_ema=True, ema_overwrite_frequency=5),
              SGD(momentum=0.9, gradient_accumulation_steps=2),
              Adam(lr=CosineDecay(0.0, 10, warmup_target=0.1, warmup_steps=5))]


@pytest.mark.parametrize("opt", CONFIGURED, ids=lambda o: type(o).__name__)
def test_config_round_trip_through_json(opt):
    rebuilt = optim.get(json.loads(json.dumps(optim.serialize(opt))))
    assert type(rebuilt) is type(opt) and repr(rebuilt) == repr(opt)
    assert rebuilt.get_config() == opt.get_config()


def test_names_defaults_and_spellings():
    for name, cls in [("nadam", Nadam), ("Adamax", Adamax), ("lion", Lion),
                      ("adafactor", Adafactor)]:
        assert type(optim.get(name)) is cls and optim.get(name, learning_rate=0.5).lr == 0.5
    assert (Nadam().beta1, Nadam().beta2, Nadam().epsilon) == (0.9, 0.999, 1e-7)
    assert (Adamax().beta2, Lion().beta2, Lion().lr) == (0.999, 0.99, 0.001)
    assert Adafactor().get_config()["beta_2_decay"] == -0.8
    assert (Adam(beta_1=0.5, beta_2=0.6).beta1, RMSProp(rho=0.7).beta) == (0.5, 0.7)
    options = SGD().get_config()
    assert (options["use_ema"], options["ema_momentum"], options["ema_overwrite_frequency"],
            options["gradient_accumulation_steps"]) == (False, 0.99, None, None)
    assert repr(Lion(use_ema=True)) == ("Lion(lr=0.001, beta1=0.9, beta2=0.99, weight_decay=None, "
                                        "use_ema=True, ema_momentum=0.99)")
    with pytest.raises(ValueError, match="Pass either `beta1` or its other spelling `beta_1`"):
        Nadam(beta1=0.9, beta_1=0.8)
    with pytest.raises(TypeError, match="beta3"):
        Nadam(beta3=0.1)


BAD_ARGUMENTS = [
    (lambda: Nadam(beta1=1.0), "beta1"), (lambda: Nadam(beta_2=-0.1), "beta2"),
    (lambda: Nadam(epsilon=-1), "epsilon"), (lambda: Nadam(weight_decay=-0.1), "weight_decay"),
    (lambda: Adamax(beta1=1.5), "beta1"), (lambda: Adamax(epsilon="1"), "epsilon"),
    (lambda: Lion(beta1=0.0), "beta1"), (lambda: Lion(beta2=1.5), "beta2"),
    (lambda: Lion(lr=-1), "lr"), (lambda: Adafactor(beta_2_decay=0.5), "beta_2_decay"),
    (lambda: Adafactor(epsilon_1=-1), "epsilon_1"), (lambda: Adafactor(epsilon_2=-1), "epsilon_2"),
    (lambda: Adafactor(clip_threshold=0), "clip_threshold"),
    (lambda: Adafactor(relative_step=1), "relative_step"),
    (lambda: SGD(use_ema="yes"), "use_ema"), (lambda: Adam(ema_momentum=1.5), "ema_momentum"),
    (lambda: Adam(use_ema=True, ema_overwrite_frequency=0), "ema_overwrite_frequency"),
    (lambda: Adam(ema_overwrite_frequency=2.0), "ema_overwrite_frequency"),
    (lambda: Lion(gradient_accumulation_steps=1), "gradient_accumulation_steps"),
    (lambda: Lion(gradient_accumulation_steps=2.0), "gradient_accumulation_steps"),
]


@pytest.mark.parametrize("make,argument", BAD_ARGUMENTS)
def test_bad_arguments_name_the_argument(make, argument):
    with pytest.raises(ValueError, match=f"Received an invalid value for `{argument}`"):
        make()


def test_accumulation_error_message_is_keras_style():
    with pytest.raises(ValueError) as info:
        SGD(gradient_accumulation_steps=1)
    assert str(info.value) == ("Received an invalid value for `gradient_accumulation_steps`, "
                               "expected an integer >= 2. Received: gradient_accumulation_steps=1")


# ----- schedules ----------------------------------------------------------------------------
def cosine(fraction, alpha=0.0):
    return alpha + (1 - alpha) * 0.5 * (1 + math.cos(math.pi * fraction))


def ref_restarts(step, initial, first, t_mul=2.0, m_mul=1.0, alpha=0.0):
    start, length, i = 0.0, float(first), 0
    while step >= start + length:           # walk the periods one by one
        start, length, i = start + length, length * t_mul, i + 1
    return initial * (alpha + (1 - alpha) * m_mul ** i * 0.5 *
                      (1 + math.cos(math.pi * (step - start) / length)))


WARM = CosineDecay(0.01, 100, alpha=0.1, warmup_target=0.1, warmup_steps=10)
PIECES = PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
POLY = PolynomialDecay(0.1, 100, end_learning_rate=0.01, power=2.0)
CYCLE = PolynomialDecay(0.1, 100, end_learning_rate=0.01, cycle=True)
SCHEDULE_VALUES = [  # (schedule, step, value from the formula)
    (WARM, 0, 0.01), (WARM, 4, 0.01 + 0.09 * 4 / 10), (WARM, 10, 0.1),
    (WARM, 60, 0.1 * cosine(0.5, 0.1)), (WARM, 110, 0.01), (WARM, 500, 0.01),
    (CosineDecay(0.1, 10, warmup_target=0.2), 0, 0.2),         # no warm-up: decay from the target
    (CosineDecay(initial_learning_rate=0.1, decay_steps=10), 3, 0.1 * cosine(0.3)),
    (PIECES, 0, 1.0), (PIECES, 10, 1.0), (PIECES, 10.5, 0.5), (PIECES, 20, 0.5),
    (PIECES, 21, 0.1), (PIECES, 1000, 0.1),
    (POLY, 0, 0.1), (POLY, 30, 0.09 * 0.7 ** 2 + 0.01), (POLY, 100, 0.01), (POLY, 250, 0.01),
    (CYCLE, 0, 0.1), (CYCLE, 50, 0.055), (CYCLE, 100, 0.01), (CYCLE, 150, 0.09 * 0.25 + 0.01),
    (PolynomialDecay(1.0, 10), 5, 0.9999 * 0.5 + 0.0001),
    (InverseTimeDecay(0.1, 10, 0.5), 0, 0.1), (InverseTimeDecay(0.1, 10, 0.5), 15, 0.1 / 1.75),
    (InverseTimeDecay(0.1, 10, 0.5, staircase=True), 15, 0.1 / 1.5),
    (InverseTimeDecay(0.1, 10, 0.5, staircase=True), 20, 0.1 / 2),
] + [(CosineDecayRestarts(0.1, 10, **kw), step, ref_restarts(step, 0.1, 10, **kw))
     for kw in [{}, {"t_mul": 1.0, "m_mul": 0.5}, {"t_mul": 3.0, "m_mul": 0.8, "alpha": 0.1},
                {"t_mul": 0.5, "alpha": 0.2}]
     for step in [0, 5, 9, 10, 15, 19, 29.5, 30, 40, 70, 129, 130, 131]
     if kw.get("t_mul") != 0.5 or step < 20] + [
    # restarts where log(...) / log(t_mul) rounds to just below the whole period number
    (CosineDecayRestarts(1.0, 10, t_mul=3.0, m_mul=0.5), 1210, 0.5 ** 5),
    (CosineDecayRestarts(1.0, 1, t_mul=10.0, m_mul=0.5), 111, 0.5 ** 3),
    (CosineDecayRestarts(1.0, 1, t_mul=10.0, m_mul=0.5), 110.5,
     ref_restarts(110.5, 1.0, 1, 10.0, 0.5))]


@pytest.mark.parametrize("schedule,step,expected", SCHEDULE_VALUES)
def test_schedule_values(schedule, step, expected):
    value = schedule(step)
    assert type(value) is float
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_shrinking_restarts_end_at_the_floor():
    schedule = CosineDecayRestarts(0.1, 10, t_mul=0.5, alpha=0.2)    # periods add up to 20
    assert schedule(20) == schedule(1000) == pytest.approx(0.02)


def test_zen_and_keras_warmup_spellings_agree():
    zen_style = schedules.get({"class_name": "CosineDecay", "config": {
        "initial_lr": 0.1, "decay_steps": 100, "alpha": 0.0, "warmup_steps": 10}})
    keras_style = schedules.get({"class_name": "CosineDecay", "config": {
        "initial_learning_rate": 0.0, "decay_steps": 100, "alpha": 0.0, "warmup_target": 0.1,
        "warmup_steps": 10}})
    assert [zen_style(k) for k in range(0, 130, 3)] == [keras_style(k) for k in range(0, 130, 3)]


@pytest.mark.parametrize("schedule", [WARM, PIECES, POLY, CYCLE, InverseTimeDecay(0.1, 10, 0.5),
                                      CosineDecayRestarts(0.1, 10, 3.0, 0.8, 0.1)])
def test_schedule_config_round_trip(schedule):
    rebuilt = schedules.get(json.loads(json.dumps(schedules.serialize(schedule))))
    assert type(rebuilt) is type(schedule) and rebuilt.get_config() == schedule.get_config()
    assert [rebuilt(k) for k in range(0, 300, 7)] == [schedule(k) for k in range(0, 300, 7)]
    assert optim.get(optim.serialize(SGD(lr=schedule))).lr.get_config() == schedule.get_config()


SCHEDULE_ERRORS = [
    (lambda: CosineDecay(0.1, 10, warmup_target=-1.0), "warmup_target"),
    (lambda: CosineDecay(0.1, 10, initial_learning_rate=0.1), "multiple values"),
    (lambda: CosineDecay(initial_lr=0.1, initial_learning_rate=0.1, decay_steps=10),
     "Pass either `initial_lr` or its other spelling `initial_learning_rate`"),
    (lambda: PiecewiseConstantDecay([20, 10], [1.0, 0.5, 0.1]), "`boundaries`"),
    (lambda: PiecewiseConstantDecay("10", [1.0, 0.5]), "`boundaries`"),
    (lambda: PiecewiseConstantDecay([10], [1.0, -0.5]), "`values`"),
    (lambda: PiecewiseConstantDecay([10], [1.0]), "one more entry than `boundaries`"),
    (lambda: PiecewiseConstantDecay([], [1.0]), "one more entry than `boundaries`"),
    (lambda: PolynomialDecay(0.1, 0), "`decay_steps`"),
    (lambda: PolynomialDecay(-0.1, 10), "`initial_lr`"),
    (lambda: PolynomialDecay(0.1, 10, end_learning_rate=-1), "`end_learning_rate`"),
    (lambda: PolynomialDecay(0.1, 10, power=-1), "`power`"),
    (lambda: PolynomialDecay(0.1, 10, cycle="yes"), "`cycle`"),
    (lambda: InverseTimeDecay(0.1, 10, -0.5), "`decay_rate`"),
    (lambda: InverseTimeDecay(0.1, 10.0, 0.5), "`decay_steps`"),
    (lambda: InverseTimeDecay(0.1, 10, 0.5, staircase=1), "`staircase`"),
    (lambda: CosineDecayRestarts(0.1, 0), "`first_decay_steps`"),
    (lambda: CosineDecayRestarts(0.1, 10, t_mul=0), "`t_mul`"),
    (lambda: CosineDecayRestarts(0.1, 10, m_mul=-1), "`m_mul`"),
    (lambda: CosineDecayRestarts(0.1, 10, alpha=2), "`alpha`"),
]


@pytest.mark.parametrize("make,message", SCHEDULE_ERRORS)
def test_schedule_errors(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_piecewise_error_message():
    with pytest.raises(ValueError) as info:
        PiecewiseConstantDecay([20, 10], [1.0, 0.5, 0.1])
    assert str(info.value) == ("Received an invalid value for `boundaries`, expected a list of "
                               "increasing numbers. Received: boundaries=[20, 10]")


def test_fit_ends_with_the_averaged_weights_under_use_ema():
    """Keras's fit calls finalize_variable_values after the last epoch: the
    model then holds the optimizer's moving averages of its weights."""
    import zen
    zen.set_seed(0)
    model = zen.Sequential([zen.nn.Dense(2)])
    model.compile(zen.optim.SGD(0.1, use_ema=True, ema_momentum=0.5), "mse")
    x = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
    model.fit(x, x[:, :2] * 2, epochs=2, batch_size=8, verbose=0)
    averages = [model.optimizer.state[p.id]["average"] for p in model.parameters()]
    for weight, average in zip(model.get_weights(), averages, strict=True):
        np.testing.assert_array_equal(weight, average)
