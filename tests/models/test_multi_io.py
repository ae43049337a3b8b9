"""Models with several inputs and outputs: `x` and `y` as one array, a list
or a dict by name; losses, loss weights and metrics per output; History
keys; the weighted total loss; and ValueErrors that name what is wrong."""
import numpy as np
import pytest

import zen
from zen.models import Input, Model
from zen.nn import Concatenate, Dense
from zen.nn.losses import SparseCategoricalCrossentropy

N = 24
rng = np.random.default_rng(0)
XA = rng.normal(size=(N, 3)).astype(np.float32)
XB = rng.normal(size=(N, 2)).astype(np.float32)
Y_REG = rng.normal(size=(N, 1)).astype(np.float32)
Y_CLS = np.arange(N) % 3


def two_in_two_out(loss=None, metrics=None, loss_weights=None):
    """Inputs "a" (3 features) and "b" (2) -> outputs "reg" (1) and "cls" (3 logits)."""
    zen.set_seed(0)
    a, b = Input((3,), name="a"), Input((2,), name="b")
    hidden = Dense(8, activation="relu", name="hidden")(Concatenate()([a, b]))
    model = Model([a, b], [Dense(1, name="reg")(hidden), Dense(3, name="cls")(hidden)])
    if loss is None:
        loss = ["mse", SparseCategoricalCrossentropy(from_logits=True)]
    model.compile("adam", loss, metrics=metrics, loss_weights=loss_weights)
    return model


def one_in_two_out():
    zen.set_seed(0)
    a = Input((3,), name="a")
    hidden = Dense(8, activation="relu")(a)
    model = Model(a, {"reg": Dense(1)(hidden), "cls": Dense(3)(hidden)})
    model.compile("adam", {"reg": "mse", "cls": SparseCategoricalCrossentropy(from_logits=True)},
                  metrics={"cls": "accuracy"})
    return model


def fit(model, x, y, **kwargs):
    zen.set_seed(4)
    return model.fit(x, y, epochs=2, batch_size=8, verbose=0, **kwargs).history


# ----- the same data, in every structure -------------------------------------------------------
def test_lists_and_dicts_in_any_key_order_give_the_same_history():
    metrics = {"reg": ["mae"], "cls": ["accuracy"]}
    ways = [([XA, XB], [Y_REG, Y_CLS]), ((XA, XB), (Y_REG, Y_CLS)),
            ({"a": XA, "b": XB}, {"reg": Y_REG, "cls": Y_CLS}),
            ({"b": XB, "a": XA}, {"cls": Y_CLS, "reg": Y_REG}),
            ([XA, XB], {"cls": Y_CLS, "reg": Y_REG})]
    histories, weights = [], []
    for x, y in ways:
        model = two_in_two_out(metrics=metrics, loss_weights=[0.3, 2.0])
        histories.append(fit(model, x, y, validation_data=(x, y)))
        weights.append(model.get_weights())
    assert all(h == histories[0] for h in histories[1:])
    for other in weights[1:]:
        for u, v in zip(weights[0], other):
            np.testing.assert_array_equal(u, v)


def test_one_input_as_an_array_a_list_or_a_dict():
    histories = [fit(one_in_two_out(), x, {"reg": Y_REG, "cls": Y_CLS})
                 for x in (XA, [XA], {"a": XA})]
    assert histories[0] == histories[1] == histories[2]


def test_one_output_as_an_array_a_list_or_a_dict():
    def model():
        zen.set_seed(0)
        a = Input((3,), name="a")
        m = Model(a, Dense(1, name="out")(a))
        m.compile("sgd", "mse", ["mae"])
        return m

    histories = [fit(model(), XA, y) for y in (Y_REG, [Y_REG], {"out": Y_REG})]
    assert histories[0] == histories[1] == histories[2]
    assert sorted(histories[0]) == ["loss", "mae"]           # no "<output>_" prefix for one


# ----- History keys and the weighted total ------------------------------------------------------
def test_history_keys_follow_keras():
    model = two_in_two_out(metrics={"reg": ["mae"], "cls": ["accuracy"]})
    history = fit(model, [XA, XB], [Y_REG, Y_CLS], validation_split=0.25)
    keys = ["loss", "reg_loss", "cls_loss", "reg_mae", "cls_accuracy"]
    assert sorted(history) == sorted(keys + ["val_" + k for k in keys])
    assert all(len(values) == 2 for values in history.values())


@pytest.mark.parametrize("loss_weights, w", [
    (None, (1.0, 1.0)), (0.5, (0.5, 0.5)), ([0.3, 2.0], (0.3, 2.0)),
    ({"reg": 0.3, "cls": 2.0}, (0.3, 2.0)), ({"cls": 4.0}, (1.0, 4.0)),
])
def test_the_total_loss_is_the_weighted_sum_of_the_output_losses(loss_weights, w):
    model = two_in_two_out(loss_weights=loss_weights)
    fit(model, [XA, XB], [Y_REG, Y_CLS])
    logs = model.evaluate([XA, XB], [Y_REG, Y_CLS], batch_size=7, return_dict=True)   # uneven batches
    assert logs["loss"] == pytest.approx(w[0] * logs["reg_loss"] + w[1] * logs["cls_loss"],
                                         abs=1e-6)
    # each output's loss is that output's loss alone, as a one-output model computes it
    reg, cls = model.predict([XA, XB])
    expected_mse = float(np.mean((reg - Y_REG) ** 2))
    assert logs["reg_loss"] == pytest.approx(expected_mse, rel=1e-5)
    shifted = cls - cls.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    assert logs["cls_loss"] == pytest.approx(-log_p[np.arange(N), Y_CLS].mean(), rel=1e-5)


def test_train_on_batch_returns_the_weighted_total_and_each_part():
    model = two_in_two_out(loss_weights=[0.3, 2.0], metrics={"cls": ["accuracy"]})
    logs = model.train_on_batch([XA[:8], XB[:8]], [Y_REG[:8], Y_CLS[:8]], return_dict=True)
    assert list(logs) == ["loss", "reg_loss", "cls_loss", "cls_accuracy"]
    assert logs["loss"] == pytest.approx(0.3 * logs["reg_loss"] + 2.0 * logs["cls_loss"],
                                         abs=1e-6)


# ----- loss, metrics and loss_weights as one value, a list or a dict ---------------------------
@pytest.mark.parametrize("loss", [
    "mse", ["mse", "mse"], {"reg": "mse", "cls": "mse"}, ("mse", zen.nn.losses.MSE()),
])
def test_a_loss_as_one_value_a_list_or_a_dict(loss):
    model = two_in_two_out(loss=loss)
    y_cls = np.eye(3, dtype=np.float32)[Y_CLS]
    history = fit(model, [XA, XB], [Y_REG, y_cls])
    reference = fit(two_in_two_out(loss="mse"), [XA, XB], [Y_REG, y_cls])
    assert history == reference


@pytest.mark.parametrize("metrics, keys", [
    ("mae", ["reg_mae", "cls_mae"]),
    (["mae", "mse"], ["reg_mae", "reg_mse", "cls_mae", "cls_mse"]),
    ([["mae"], ["accuracy"]], ["reg_mae", "cls_accuracy"]),
    ([None, ["accuracy"]], ["cls_accuracy"]),
    ({"cls": ["accuracy", "mae"]}, ["cls_accuracy", "cls_mae"]),
    ({"reg": "mse"}, ["reg_mse"]),
])
def test_metrics_as_one_value_a_list_or_a_dict(metrics, keys):
    model = two_in_two_out(loss="mse", metrics=metrics)
    history = fit(model, [XA, XB], [Y_REG, np.eye(3, dtype=np.float32)[Y_CLS]])
    assert sorted(history) == sorted(["loss", "reg_loss", "cls_loss"] + keys)


# ----- bad structures ------------------------------------------------------------------------
@pytest.mark.parametrize("x, y, match", [
    ([XA], [Y_REG, Y_CLS], r"`x` is a list of 1 arrays, but the model has 2: \['a', 'b'\]"),
    ([XA, XB, XB], [Y_REG, Y_CLS], r"`x` is a list of 3 arrays, but the model has 2"),
    (XA, [Y_REG, Y_CLS], r"2 inputs \['a', 'b'\]: `x` must be a list of 2 arrays or a dict"),
    ([XA, XB], Y_REG, r"2 outputs \['reg', 'cls'\]: `y` must be a list of 2 arrays or a dict"),
    ([XA, XB], [Y_REG], r"`y` is a list of 1 arrays, but the model has 2"),
    ({"a": XA, "c": XB}, [Y_REG, Y_CLS], r"`x` has unknown keys \['c'\] and is missing \['b'\]"),
    ([XA, XB], {"reg": Y_REG, "class": Y_CLS},
     r"`y` has unknown keys \['class'\] and is missing \['cls'\]"),
    ([XA, XB[:20]], [Y_REG, Y_CLS], r"same number of samples.*x\[0\]: 24, x\[1\]: 20"),
    ({"b": XB[:20], "a": XA}, [Y_REG, Y_CLS],
     r"same number of samples.*x\['a'\]: 24, x\['b'\]: 20, y\[0\]: 24, y\[1\]: 24"),
    ({"a": XA, "b": XB}, {"reg": Y_REG, "cls": Y_CLS[:5]},
     r"same number of samples.*x\['a'\]: 24, x\['b'\]: 24, y\['reg'\]: 24, y\['cls'\]: 5"),
    ([XA, XB[:, :1]], [Y_REG, Y_CLS], r"`x\[1\]` has shape \(24, 1\).*\(None, 2\)"),
])
def test_bad_data_structures_raise_value_error_naming_them(x, y, match):
    model = two_in_two_out()
    before = model.get_weights()
    for call in (lambda: model.fit(x, y, verbose=0), lambda: model.evaluate(x, y),
                 lambda: model.train_on_batch(x, y)):
        with pytest.raises(ValueError, match=match):
            call()
    for u, v in zip(before, model.get_weights()):        # nothing was trained
        np.testing.assert_array_equal(u, v)


def test_bad_validation_data_and_predict_inputs_are_named():
    model = two_in_two_out()
    with pytest.raises(ValueError, match=r"`x_val` has unknown keys \['z'\]"):
        model.fit([XA, XB], [Y_REG, Y_CLS], validation_data=({"a": XA, "z": XB},
                                                              [Y_REG, Y_CLS]), verbose=0)
    with pytest.raises(ValueError, match=r"same number of samples.*y_val\[1\]: 3"):
        model.fit([XA, XB], [Y_REG, Y_CLS], validation_data=([XA, XB], [Y_REG, Y_CLS[:3]]),
                  verbose=0)
    with pytest.raises(ValueError, match=r"same number of samples.*x\[0\]: 24, x\[1\]: 2"):
        model.predict([XA, XB[:2]])


@pytest.mark.parametrize("kwargs, match", [
    (dict(loss={"reg": "mse"}), r"`loss` has no entry for the outputs \['cls'\]"),
    (dict(loss={"reg": "mse", "cls": "mse", "other": "mse"}),
     r"`loss` for unknown outputs \['other'\]"),
    (dict(loss=["mse"]), r"`loss` is a list of 1, but the model has 2 output\(s\)"),
    (dict(loss=[]), r"`loss`: an empty list"),
    (dict(loss="nope"), r"nope"),
    (dict(loss="mse", loss_weights={"reg": 1.0, "nope": 2.0}),
     r"`loss_weights` for unknown outputs \['nope'\].*\['reg', 'cls'\]"),
    (dict(loss="mse", loss_weights=[1.0, 2.0, 3.0]), r"`loss_weights` is a list of 3"),
    (dict(loss="mse", loss_weights={"reg": "heavy"}),
     r"`loss_weights` of output 'reg', expected a number. Received: 'heavy'"),
    (dict(loss="mse", metrics={"nope": ["mae"]}), r"`metrics` for unknown outputs \['nope'\]"),
    (dict(loss="mse", metrics=[["mae"], ["mae"], ["mae"]]), r"`metrics` is a list of 3"),
    (dict(loss="mse", metrics=["mae", "mae"]), r"duplicate metric names"),
])
def test_bad_compile_arguments_raise_value_error_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        two_in_two_out(**kwargs)
