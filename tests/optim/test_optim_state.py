"""state_dict / load_state_dict: bitwise continuation by Tensor id and by
position (with new Tensors and an npz round trip), and the load errors."""
import io

import numpy as np
import pytest

from zen import Tensor
from zen.optim import SGD, Adagrad, Adam, AdamW, Momentum, RMSProp
from zen.optim.schedules import CosineDecay

MAKERS = [lambda: SGD(lr=0.1, momentum=0.9, nesterov=True), lambda: SGD(lr=0.1),
          lambda: Momentum(lr=0.05), lambda: RMSProp(lr=0.01),
          lambda: Adam(lr=CosineDecay(0.05, decay_steps=5, warmup_steps=2)),
          lambda: AdamW(lr=0.01), lambda: Adagrad(lr=0.1, initial_accumulator_value=0.1)]
START = [np.array([[1.0, -2.0], [0.5, 3.0]], np.float32), np.array(0.7, np.float32)]


def make_params():
    return [Tensor(v.copy()) for v in START]


def train(opt, params, steps):
    for _ in range(steps):
        for p in params:
            p.gradient = np.sin(p.value) + p.value ** 2   # float32, read only by the optimiser
        opt.step(params)


def npz_round_trip(state):
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    buffer.seek(0)
    with np.load(buffer) as data:
        return {k: data[k] for k in data.files}


@pytest.mark.parametrize("make", MAKERS)
def test_round_trip_by_position_with_new_tensors_is_bitwise(make):
    params, opt = make_params(), make()
    train(opt, params, 3)
    state = npz_round_trip(opt.state_dict(params))
    resumed = [Tensor(p.value.copy()) for p in params]       # new Tensors, new ids
    fresh = make()
    fresh.load_state_dict(state, resumed)
    assert fresh.iterations == 3
    train(opt, params, 4)
    train(fresh, resumed, 4)
    for p, q in zip(params, resumed):
        assert p.value.dtype == q.value.dtype == np.float32
        np.testing.assert_array_equal(p.value, q.value)


@pytest.mark.parametrize("make", MAKERS)
def test_round_trip_by_id_is_bitwise(make):
    params, opt = make_params(), make()
    train(opt, params, 3)
    saved_values, state = [p.value.copy() for p in params], opt.state_dict()
    train(opt, params, 4)
    reference = [p.value.copy() for p in params]
    for p, v in zip(params, saved_values):
        p.value[...] = v
    fresh = make()
    fresh.load_state_dict(state)
    train(fresh, params, 4)
    for p, r in zip(params, reference):
        np.testing.assert_array_equal(p.value, r)


def test_state_dict_layout_is_flat_numbers_and_copied_arrays():
    params, opt = make_params(), Adam()
    train(opt, params[:1], 2)
    by_position, by_id = opt.state_dict(params), opt.state_dict()
    assert set(by_position) == {"iterations", "0/step", "0/m", "0/v"}
    assert set(by_id) == {"iterations", f"id{params[0].id}/step", f"id{params[0].id}/m",
                          f"id{params[0].id}/v"}
    assert by_position["iterations"] == 2 and by_position["0/step"] == 2
    m = by_position["0/m"].copy()
    train(opt, params[:1], 1)
    np.testing.assert_array_equal(by_position["0/m"], m)   # later steps leave it alone


def test_load_replaces_previous_state():
    params, opt = make_params(), Adam()
    train(opt, params, 2)
    other = make_params()
    opt.load_state_dict(Adam().state_dict())
    assert opt.state == {} and opt.iterations == 0
    train(opt, other, 1)
    assert set(opt.state) == {p.id for p in other}


def adam_state_by_position():
    params, opt = make_params(), Adam()
    train(opt, params, 1)
    return opt.state_dict(params)


LOAD_ERRORS = [  # (optimiser, state, params, message)
    (Adam(), {"0/m": np.zeros(1)}, None, "iterations"),
    (Adam(), adam_state_by_position(), None, "saved by position"),
    (Adam(), {"iterations": 1, "id3/step": 1, "id3/m": np.zeros(2), "id3/v": np.zeros(2)},
     make_params(), "saved by Tensor id"),
    (Adam(), adam_state_by_position(), make_params()[:1], "only 1 parameters"),
    (Adam(), adam_state_by_position(), make_params()[::-1], "has shape"),
    (SGD(momentum=0.9), adam_state_by_position(), make_params(), "saved by another optimizer"),
    (Adam(), {"iterations": 1, "m": np.zeros(1)}, None, "Unexpected key"),
    (Adam(), {"iterations": 1, "x/step": 1}, None, "Unexpected owners"),
    (Adam(), {**adam_state_by_position(), "0/step": np.array(1.5)}, make_params(), "integer"),
    (Adam(), {**adam_state_by_position(), "0/m": np.zeros((2, 2), int)}, make_params(),
     "float array"),
]


@pytest.mark.parametrize("opt,state,params,message", LOAD_ERRORS)
def test_load_errors(opt, state, params, message):
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(state, params)
