"""Schedules against hand-computed values, their use by optimisers (step k
uses schedule(k)), the assignable learning rate, config and errors."""
import math

import numpy as np
import pytest

from zen import Tensor
from zen.optim import SGD, Adam, schedules
from zen.optim.schedules import CosineDecay, ExponentialDecay, StepDecay

VALUES = [  # (schedule, step, lr by hand)
    (StepDecay(0.1, 3, gamma=0.5), 0, 0.1), (StepDecay(0.1, 3, gamma=0.5), 2, 0.1),
    (StepDecay(0.1, 3, gamma=0.5), 3, 0.05), (StepDecay(0.1, 3, gamma=0.5), 7, 0.025),
    (StepDecay(1.0, 10), 25, 0.01),
    (ExponentialDecay(0.1, 100, 0.5), 0, 0.1),
    (ExponentialDecay(0.1, 100, 0.5), 50, 0.1 * math.sqrt(0.5)),
    (ExponentialDecay(0.1, 100, 0.5), 200, 0.025),
    (ExponentialDecay(0.1, 100, 0.5, staircase=True), 150, 0.05),
    (CosineDecay(0.1, 100), 0, 0.1), (CosineDecay(0.1, 100), 50, 0.05),
    (CosineDecay(0.1, 100), 100, 0.0), (CosineDecay(0.1, 100), 150, 0.0),
    (CosineDecay(1.0, 4), 1, 0.5 * (1 + math.cos(math.pi / 4))),
    (CosineDecay(0.1, 100, alpha=0.1), 50, 0.055), (CosineDecay(0.1, 100, alpha=0.1), 300, 0.01),
    (CosineDecay(0.1, 100, warmup_steps=10), 0, 0.0),
    (CosineDecay(0.1, 100, warmup_steps=10), 5, 0.05),
    (CosineDecay(0.1, 100, warmup_steps=10), 10, 0.1),
    (CosineDecay(0.1, 100, warmup_steps=10), 60, 0.05),
    (CosineDecay(0.1, 100, warmup_steps=10), 110, 0.0),
]


@pytest.mark.parametrize("schedule,step,expected", VALUES)
def test_schedule_values(schedule, step, expected):
    value = schedule(step)
    assert type(value) is float
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("schedule", [StepDecay(1.0, 2, gamma=0.5),
                                      CosineDecay(1.0, 4, warmup_steps=2),
                                      ExponentialDecay(1.0, 3, 0.1)])
def test_optimizer_uses_schedule_of_its_step_count(schedule):
    p, opt = Tensor(np.zeros(1)), SGD(lr=schedule)
    for k in range(7):
        assert opt.current_lr == schedule(k)
        before = p.value.copy()
        p.gradient = np.ones(1)
        opt.step([p])
        assert before - p.value == pytest.approx(schedule(k), rel=1e-12)
    assert opt.iterations == 7


def test_lr_is_assignable_as_callbacks_do():
    p, opt = Tensor(np.zeros(1)), SGD(lr=CosineDecay(1.0, 10))
    opt.lr = 0.25                               # ReduceLROnPlateau replaces the schedule
    assert opt.lr == opt.learning_rate == opt.current_lr == 0.25
    opt.learning_rate = 0.5                     # the Keras spelling is the same attribute
    p.gradient = np.ones(1)
    opt.step([p])
    assert p.value[0] == -0.5
    with pytest.raises(ValueError, match="`lr`"):
        opt.lr = -0.1


def test_bad_schedule_output_is_an_error_at_step():
    p, opt = Tensor(np.zeros(1)), Adam(lr=lambda step: -0.1 * step)
    p.gradient = np.ones(1)
    opt.step([p])                               # step 0: rate 0, fine
    with pytest.raises(ValueError, match="returned -0.1 at step 1"):
        opt.step([p])


SCHEDULE_ERRORS = [
    (lambda: StepDecay(-0.1, 3), "initial_lr"), (lambda: StepDecay("0.1", 3), "initial_lr"),
    (lambda: StepDecay(0.1, 0), "step_size"), (lambda: StepDecay(0.1, 2.5), "step_size"),
    (lambda: StepDecay(0.1, 3, gamma=0), "gamma"),
    (lambda: ExponentialDecay(0.1, 0, 0.5), "decay_steps"),
    (lambda: ExponentialDecay(0.1, 10, -1.0), "decay_rate"),
    (lambda: ExponentialDecay(0.1, 10, 0.5, staircase="yes"), "staircase"),
    (lambda: CosineDecay(0.1, 10, alpha=1.5), "alpha"),
    (lambda: CosineDecay(0.1, 10, warmup_steps=-1), "warmup_steps"),
    (lambda: CosineDecay(0.1, 10)(-1), "step"),
    (lambda: schedules.get({"class_name": "Nope", "config": {}}), "Unknown learning-rate"),
    (lambda: schedules.get(0.1), "Could not interpret"),
]


@pytest.mark.parametrize("make,argument", SCHEDULE_ERRORS)
def test_schedule_errors(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()


def test_schedule_error_message_is_keras_style():
    with pytest.raises(ValueError) as info:
        StepDecay(0.1, 0)
    assert str(info.value) == ("Received an invalid value for `step_size`, expected an "
                               "integer >= 1. Received: step_size=0")


@pytest.mark.parametrize("schedule", [StepDecay(0.1, 3, gamma=0.5),
                                      ExponentialDecay(0.1, 100, 0.5, staircase=True),
                                      CosineDecay(0.1, 100, alpha=0.1, warmup_steps=10)])
def test_schedule_config_round_trip(schedule):
    rebuilt = schedules.get(schedules.serialize(schedule))
    assert type(rebuilt) is type(schedule) and rebuilt.get_config() == schedule.get_config()
    assert [rebuilt(k) for k in range(0, 200, 7)] == [schedule(k) for k in range(0, 200, 7)]
    assert schedules.deserialize is schedules.get


def test_schedule_repr_and_serialize_errors():
    assert repr(CosineDecay(0.1, 100)) == ("CosineDecay(initial_lr=0.1, decay_steps=100, "
                                           "alpha=0.0, warmup_steps=0)")
    assert repr(StepDecay(0.1, 3)) == "StepDecay(initial_lr=0.1, step_size=3, gamma=0.1)"
    with pytest.raises(TypeError, match="get_config"):
        schedules.serialize(lambda step: 0.1)
