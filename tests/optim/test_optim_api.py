"""Constructor arguments and their errors, `get`, repr, config round trips,
zero_grad and what `step` accepts."""
import json

import numpy as np
import pytest

from zen import Tensor
from zen import optim
from zen.optim import SGD, Adagrad, Adam, AdamW, Momentum, RMSProp
from zen.optim.schedules import ExponentialDecay


@pytest.mark.parametrize("cls,default", [(SGD, 0.01), (Momentum, 0.01), (RMSProp, 0.001),
                                         (Adam, 0.001), (AdamW, 0.001), (Adagrad, 0.01)])
def test_learning_rate_alias_and_defaults(cls, default):
    assert cls().lr == default and type(cls().lr) is float
    assert cls(learning_rate=0.5).lr == 0.5 == cls(0.5).lr
    schedule = ExponentialDecay(0.1, 10, 0.5)
    assert cls(learning_rate=schedule).lr is schedule
    with pytest.raises(ValueError, match="not both"):
        cls(lr=0.1, learning_rate=0.1)


BAD_ARGUMENTS = [
    (lambda: SGD(lr=-1), "lr"), (lambda: SGD(lr="fast"), "lr"), (lambda: SGD(lr=True), "lr"),
    (lambda: SGD(lr=float("nan")), "lr"), (lambda: SGD(learning_rate=-0.1), "lr"),
    (lambda: SGD(momentum=1.0), "momentum"), (lambda: SGD(momentum=-0.1), "momentum"),
    (lambda: SGD(nesterov="yes", momentum=0.9), "nesterov"),
    (lambda: SGD(weight_decay=-1), "weight_decay"), (lambda: Momentum(beta=1), "beta"),
    (lambda: RMSProp(beta=1.5), "beta"), (lambda: RMSProp(epsilon=-1e-7), "epsilon"),
    (lambda: Adam(beta1=1.0), "beta1"), (lambda: Adam(beta2=-0.1), "beta2"),
    (lambda: Adam(epsilon=-1), "epsilon"), (lambda: AdamW(weight_decay=-0.01), "weight_decay"),
    (lambda: Adagrad(epsilon=float("inf")), "epsilon"),
    (lambda: Adagrad(initial_accumulator_value=-1), "initial_accumulator_value"),
    (lambda: SGD(clipnorm=0), "clipnorm"), (lambda: Adam(clipvalue=-1), "clipvalue"),
    (lambda: Adam(global_clipnorm="1"), "global_clipnorm"),
]


@pytest.mark.parametrize("make,argument", BAD_ARGUMENTS)
def test_bad_arguments_name_the_argument(make, argument):
    with pytest.raises(ValueError, match=f"Received an invalid value for `{argument}`"):
        make()


def test_argument_combination_errors():
    with pytest.raises(ValueError) as info:
        Adam(beta1=1.0)
    assert str(info.value) == ("Received an invalid value for `beta1`, expected a number "
                               "in [0, 1). Received: beta1=1.0")
    with pytest.raises(ValueError, match="Nesterov momentum needs a momentum > 0"):
        SGD(nesterov=True)
    with pytest.raises(ValueError, match="Only one of `clipnorm`, `clipvalue`"):
        SGD(clipnorm=1.0, clipvalue=1.0)


@pytest.mark.parametrize("name,cls", [("sgd", SGD), ("SGD", SGD), ("momentum", Momentum),
                                      ("RMSprop", RMSProp), ("adam", Adam), ("Adam", Adam),
                                      ("adamw", AdamW), ("AdamW", AdamW), ("adagrad", Adagrad)])
def test_get_by_name(name, cls):
    assert type(optim.get(name)) is cls
    assert optim.get(name, lr=0.25).lr == 0.25


def test_get_other_identifiers_and_errors():
    adam = Adam()
    assert optim.get(adam) is adam
    assert type(optim.get(AdamW, weight_decay=0.1)) is AdamW
    with pytest.raises(ValueError) as info:
        optim.get("nope")
    for name in ("sgd", "momentum", "rmsprop", "adam", "adamw", "adagrad"):
        assert repr(name) in str(info.value)
    with pytest.raises(ValueError, match="cannot be applied to an optimizer instance"):
        optim.get(adam, lr=0.1)
    with pytest.raises(ValueError, match="Unknown optimizer class"):
        optim.get({"class_name": "Nope", "config": {}})
    with pytest.raises(TypeError, match="Could not interpret"):
        optim.get(3)


def test_repr():
    assert repr(Adam()) == "Adam(lr=0.001, beta1=0.9, beta2=0.999, epsilon=1e-08, weight_decay=0.0)"
    assert repr(SGD(momentum=0.9, clipnorm=1)) == ("SGD(lr=0.01, momentum=0.9, nesterov=False, "
                                                   "weight_decay=0.0, clipnorm=1.0)")
    assert repr(Momentum(lr=ExponentialDecay(0.1, 10, 0.5))) == (
        "Momentum(lr=ExponentialDecay(initial_lr=0.1, decay_steps=10, decay_rate=0.5, "
        "staircase=False), beta=0.9)")


CONFIGURED = [SGD(lr=0.1, momentum=0.5, nesterov=True, weight_decay=0.01, clipvalue=2.0),
              Momentum(lr=ExponentialDecay(0.1, 10, 0.5), beta=0.8),
              RMSProp(beta=0.5, epsilon=1e-3, global_clipnorm=3.0),
              Adam(beta1=0.8, weight_decay=0.1), AdamW(lr=0.01, weight_decay=0.05, clipnorm=1.0),
              Adagrad(initial_accumulator_value=0.1)]


@pytest.mark.parametrize("opt", CONFIGURED, ids=lambda o: type(o).__name__)
def test_config_round_trip_through_json(opt):
    data = json.loads(json.dumps(optim.serialize(opt)))
    rebuilt = optim.get(data)
    assert type(rebuilt) is type(opt) and repr(rebuilt) == repr(opt)
    assert rebuilt.get_config() == opt.get_config()
    assert type(opt).from_config(opt.get_config()).get_config() == opt.get_config()


def test_unsaveable_learning_rate():
    with pytest.raises(ValueError, match="Cannot save the learning rate"):
        Adam(lr=lambda step: 0.1).get_config()


def test_zero_grad_and_iterations():
    a, b = Tensor([1.0]), Tensor([2.0])
    a.gradient, b.gradient = np.ones(1), np.ones(1)
    opt = SGD()
    opt.zero_grad([a, b])
    assert a.gradient is None and b.gradient is None
    opt.step([a, b])                                   # nothing to update, still a step
    opt.step([])
    assert opt.iterations == 2 and opt.state == {}


def test_step_accepts_a_single_tensor_and_updates_repeats_once():
    p = Tensor([1.0])
    p.gradient = np.ones(1)
    SGD(lr=0.5).step(p)
    assert p.value[0] == 0.5
    SGD(lr=0.5).step([p, p, p])
    assert p.value[0] == 0.0


def test_step_errors():
    with pytest.raises(TypeError, match="item 1 of `params` is a ndarray"):
        SGD().step([Tensor([1.0]), np.ones(1)])
    p = Tensor([1.0, 2.0])
    p.gradient = np.ones(3)
    with pytest.raises(ValueError, match=r"shape \(2,\) has a gradient of shape \(3,\)"):
        SGD().step([p])
