"""Keras's custom-layer vocabulary: add_weight, add_loss and losses,
regularizers, constraints and Lambda, checked against formulas written here."""
import numpy as np
import pytest

import zen
from zen import nn
from zen.autodiff import Tensor
from zen.autodiff.gradcheck import grad_check
from zen.constraints import MaxNorm, MinMaxNorm, NonNeg, UnitNorm
from zen.regularizers import L1, L1L2, L2, OrthogonalRegularizer

G = np.random.default_rng(0)


# ----- add_weight --------------------------------------------------------------------------
class Scale(nn.Layer):
    """x * w + b, w one per feature, made with add_weight."""

    def __init__(self, regularizer=None, constraint=None, name=None):
        super().__init__(name)
        self.regularizer, self.constraint = regularizer, constraint

    def build(self, input_shape):
        self.w = self.add_weight((input_shape[-1],), "ones", regularizer=self.regularizer,
                                 constraint=self.constraint)
        self.add_weight((input_shape[-1],), "zeros", name="b")  # kept without an attribute

    def call(self, x):
        return x * self.w + dict(self.named_tensors())["b"]


def test_add_weight_makes_named_weights_with_their_options():
    layer = Scale(regularizer="l2", constraint="non_neg")
    layer(np.ones((2, 3), np.float32))
    assert [name for name, _ in layer.named_tensors()] == ["w", "b"]
    w, b = layer.weights
    assert w.shape == (3,) and w.dtype == np.float32 and np.all(w.value == 1)
    assert isinstance(w.regularizer, L2) and isinstance(w.constraint, NonNeg)
    assert b.regularizer is None and np.all(b.value == 0) and layer.count_params() == 6


def test_add_weight_takes_callables_dtypes_and_fixed_weights():
    layer = nn.Layer()
    w = layer.add_weight((2, 2), lambda shape, dtype: np.full(shape, 3.0, dtype),
                         dtype="float64", trainable=False)
    scalar = layer.add_weight(initializer="zeros")
    assert w.dtype == np.float64 and np.all(w.value == 3) and not w.trainable
    assert scalar.shape == () and layer.trainable_weights == [scalar]


def test_add_weight_on_a_frozen_layer_is_frozen_until_it_thaws():
    layer = Scale()
    layer.trainable = False
    layer(np.ones((2, 3), np.float32))
    assert layer.trainable_weights == []
    layer.trainable = True
    assert len(layer.trainable_weights) == 2


def test_add_weight_errors_name_the_argument():
    with pytest.raises(ValueError, match="initializer"):
        nn.Layer().add_weight((2,), "no_such_initializer")
    with pytest.raises(ValueError, match="regularizer"):
        nn.Layer().add_weight((2,), regularizer="l3")
    with pytest.raises(ValueError, match="constraint"):
        nn.Layer().add_weight((2,), constraint="positive")


# ----- add_loss and losses -------------------------------------------------------------------
class Penalised(nn.Layer):
    """The identity that adds factor * mean(x ** 2) to the losses."""

    def __init__(self, factor=0.5, name=None):
        super().__init__(name)
        self.factor = factor

    def call(self, x):
        self.add_loss(self.factor * (x * x).mean())
        return x


class Block(zen.Model):
    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(2, kernel_regularizer=L2(0.1))
        self.inner = Penalised(0.5)

    def call(self, x):
        return self.inner(self.dense(x))


def test_losses_gather_added_losses_and_penalties_of_every_layer():
    model = Block()
    x = G.normal(size=(4, 3)).astype(np.float32)
    y = model(x).value
    kernel = model.dense.kernel.value.astype(np.float64)
    values = [float(loss.value) for loss in model.losses]
    assert values == pytest.approx([0.5 * np.mean(y.astype(np.float64) ** 2),
                                    0.1 * np.sum(kernel ** 2)], rel=1e-6)
    assert len(model.inner.losses) == 1 and len(model.dense.losses) == 1


def test_each_outermost_call_replaces_the_added_losses():
    layer = Penalised(1.0)
    layer(np.ones((2, 2), np.float32))
    layer(np.full((2, 2), 3.0, np.float32))
    assert [float(loss.value) for loss in layer.losses] == [9.0]


def test_add_loss_takes_numbers_and_refuses_non_scalars():
    layer = nn.Layer()
    layer.add_loss(2.5)
    assert float(layer.losses[0].value) == 2.5
    with pytest.raises(ValueError, match="add_loss of layer .* expects a scalar"):
        layer.add_loss(Tensor(np.ones(3)))


def test_fit_minimises_and_reports_the_added_losses():
    """Keras's `loss` includes add_loss values and weight penalties; the
    per-output losses of a two-output model do not."""
    zen.set_seed(0)
    inputs = zen.Input((3,))
    hidden = Penalised(0.5)(nn.Dense(4, kernel_regularizer=L1(0.01))(inputs))
    model = zen.Model(inputs, [nn.Dense(1, name="a")(hidden), nn.Dense(1, name="b")(hidden)])
    model.compile("sgd", ["mse", "mse"])
    x = G.normal(size=(16, 3)).astype(np.float32)
    ya, yb = G.normal(size=(16, 1)), G.normal(size=(16, 1))
    logs = model.evaluate(x, [ya, yb], batch_size=16, return_dict=True)
    penalties = sum(float(loss.value) for loss in model.losses)  # of the same call
    assert logs["loss"] == pytest.approx(logs["a_loss"] + logs["b_loss"] + penalties, rel=1e-6)
    assert penalties > 0.01


# ----- regularizers ----------------------------------------------------------------------------
def orthogonal_penalty(w, factor, mode):
    v = w if mode == "rows" else w.T
    unit = v / np.maximum(np.sqrt((v ** 2).sum(axis=1, keepdims=True)), 1e-7)
    product = unit @ unit.T
    n = len(unit)
    return factor * 0.5 * np.abs(product - np.diag(np.diag(product))).sum() / (n * (n - 1) / 2)


@pytest.mark.parametrize("regularizer, formula", [
    (L1(0.3), lambda w: 0.3 * np.abs(w).sum()),
    (L2(0.2), lambda w: 0.2 * (w ** 2).sum()),
    (L1L2(0.1, 0.4), lambda w: 0.1 * np.abs(w).sum() + 0.4 * (w ** 2).sum()),
    (OrthogonalRegularizer(0.5, "rows"), lambda w: orthogonal_penalty(w, 0.5, "rows")),
    (OrthogonalRegularizer(0.5, "columns"), lambda w: orthogonal_penalty(w, 0.5, "columns")),
])
def test_regularizers_match_their_formulas_and_gradients(regularizer, formula):
    w = G.normal(size=(4, 3))
    assert float(regularizer(Tensor(w)).value) == pytest.approx(formula(w), rel=1e-12)
    grad_check(regularizer, [w], eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("name, cls, config", [
    ("l1", L1, {"l1": 0.01}), ("l2", L2, {"l2": 0.01}), ("l1_l2", L1L2, {"l1": 0.0, "l2": 0.0}),
    ("L1L2", L1L2, {"l1": 0.0, "l2": 0.0}),
    ("orthogonal_regularizer", OrthogonalRegularizer, {"factor": 0.01, "mode": "rows"}),
])
def test_regularizers_by_name_class_and_config(name, cls, config):
    made = zen.regularizers.get(name)
    assert type(made) is cls and made.get_config() == config
    assert type(zen.regularizers.get(cls)) is cls
    again = zen.regularizers.deserialize(zen.regularizers.serialize(made))
    assert type(again) is cls and again.get_config() == config


def test_regularizer_errors():
    with pytest.raises(ValueError, match="l2"):
        L2(-1.0)
    with pytest.raises(ValueError, match="mode"):
        OrthogonalRegularizer(mode="diagonal")
    with pytest.raises(ValueError, match="rank 2"):
        OrthogonalRegularizer()(Tensor(np.ones(3)))
    with pytest.raises(ValueError, match="Unknown regularizer 'l3'"):
        zen.regularizers.get("l3")
    with pytest.raises(TypeError, match="regularizer identifier"):
        zen.regularizers.get(3)


# ----- constraints -----------------------------------------------------------------------------
def norms(w, axis=0):
    return np.sqrt((w ** 2).sum(axis=axis, keepdims=True))


@pytest.mark.parametrize("constraint, formula", [
    (MaxNorm(1.5), lambda w: w * np.clip(norms(w), 0, 1.5) / (1e-7 + norms(w))),
    (MaxNorm(1.5, axis=1), lambda w: w * np.clip(norms(w, 1), 0, 1.5) / (1e-7 + norms(w, 1))),
    (MinMaxNorm(0.5, 1.0, rate=0.5),
     lambda w: w * (0.5 * np.clip(norms(w), 0.5, 1.0) + 0.5 * norms(w)) / (1e-7 + norms(w))),
    (NonNeg(), lambda w: np.maximum(w, 0)),
    (UnitNorm(), lambda w: w / (1e-7 + norms(w))),
])
def test_constraints_match_their_formulas(constraint, formula):
    w = G.normal(size=(4, 3)) * 2
    np.testing.assert_allclose(constraint(w), formula(w), rtol=1e-12)


def test_constraints_by_name_and_config():
    for name, cls in [("max_norm", MaxNorm), ("min_max_norm", MinMaxNorm),
                      ("non_neg", NonNeg), ("unit_norm", UnitNorm), ("MaxNorm", MaxNorm)]:
        made = zen.constraints.get(name)
        assert type(made) is cls
        assert zen.constraints.deserialize(zen.constraints.serialize(made)).get_config() \
            == made.get_config()
    with pytest.raises(ValueError, match="max_value"):
        MinMaxNorm(min_value=2.0, max_value=1.0)
    with pytest.raises(ValueError, match="Unknown constraint 'positive'"):
        zen.constraints.get("positive")


def test_constraints_hold_after_every_optimizer_step():
    zen.set_seed(1)
    model = zen.Sequential([nn.Dense(8, kernel_constraint=MaxNorm(0.5),
                                     bias_constraint=NonNeg()), nn.Dense(1)])
    model.compile(zen.optim.SGD(0.1), "mse")
    seen = []

    def check(batch, logs):
        kernel, bias = model.layers[0].kernel.value, model.layers[0].bias.value
        seen.append(bool(norms(kernel).max() <= 0.5 + 1e-6 and bias.min() >= 0))

    x, y = G.normal(size=(64, 4)) * 2, G.normal(size=(64, 1)) * 2
    model.fit(x, y, epochs=2, batch_size=8, verbose=0,
              callbacks=[zen.callbacks.LambdaCallback(on_train_batch_end=check)])
    assert len(seen) == 16 and all(seen)


# ----- regularized training ------------------------------------------------------------------
def test_the_training_loss_is_the_data_loss_plus_the_penalties():
    zen.set_seed(2)
    model = zen.Sequential([
        nn.Dense(6, activation="tanh", kernel_regularizer=L1L2(0.01, 0.02),
                 bias_regularizer=L2(0.05), activity_regularizer=L1(0.001)),
        nn.Dense(2, kernel_regularizer="l2")])
    model.compile("sgd", "mse")
    x, y = G.normal(size=(10, 3)).astype(np.float32), G.normal(size=(10, 2))
    model.build((None, 3))
    weights = [w.astype(np.float64) for w in model.get_weights()]
    k1, b1, k2, _ = weights
    hidden = np.tanh(x @ k1 + b1)
    out = hidden @ k2 + weights[3]
    expected = (((out - y) ** 2).mean() + 0.01 * np.abs(k1).sum() + 0.02 * (k1 ** 2).sum()
                + 0.05 * (b1 ** 2).sum() + 0.001 * np.abs(hidden).sum() / 10
                + 0.01 * (k2 ** 2).sum())
    assert model.evaluate(x, y, batch_size=10) == pytest.approx(expected, rel=1e-6)
    history = model.fit(x, y, batch_size=10, epochs=1, verbose=0)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-6)


def test_regularizers_and_constraints_survive_configs_and_files(tmp_path):
    layer = nn.Dense(3, kernel_regularizer=L1L2(0.1, 0.2), bias_regularizer="l2",
                     activity_regularizer=L1(0.3), kernel_constraint=MaxNorm(2.5, axis=1),
                     bias_constraint="non_neg")
    again = nn.Dense.from_config(layer.get_config())
    for name in ("kernel_regularizer", "bias_regularizer", "activity_regularizer",
                 "kernel_constraint", "bias_constraint"):
        assert getattr(again, name).get_config() == getattr(layer, name).get_config()
    assert "kernel_regularizer" not in nn.Dense(3).get_config()  # configs as before
    model = zen.Sequential([nn.Conv1D(2, 3, kernel_regularizer="l2"),
                            nn.Embedding(5, 2, embeddings_constraint="unit_norm")])
    model.build((None, 6, 1))
    path = tmp_path / "model.zen"
    model.save(path)
    loaded = zen.load_model(path)
    assert isinstance(loaded.layers[0].kernel.regularizer, L2)
    assert isinstance(loaded.layers[1].embeddings.constraint, UnitNorm)


# ----- Lambda ----------------------------------------------------------------------------------
@zen.models.register_serializable(package="tests")
def softsign_scaled(x, scale=1.0):
    return scale * x / (1 + x.abs())


def halve(x):
    return x * 0.5


def test_lambda_computes_and_passes_gradients():
    layer = nn.Lambda(softsign_scaled, arguments={"scale": 2.0})
    x = G.normal(size=(3, 4))
    np.testing.assert_allclose(layer(x).value, 2 * x / (1 + np.abs(x)), rtol=1e-6)
    grad_check(layer, [x + 0.1], eps=1e-6, atol=1e-7, rtol=1e-5)
    with pytest.raises(ValueError, match="no `output_shape`"):
        layer.compute_output_shape((None, 4))


def test_lambda_in_models_saves_a_registered_function(tmp_path):
    zen.set_seed(3)
    model = zen.Sequential([nn.Dense(4), nn.Lambda(softsign_scaled, output_shape=(4,))])
    x = G.normal(size=(5, 3)).astype(np.float32)
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "m.zen")
    loaded = zen.load_model(tmp_path / "m.zen")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), expected)
    assert loaded.layers[1].compute_output_shape((None, 3)) == (None, 4)


def test_lambda_with_a_plain_function_loads_with_custom_objects(tmp_path):
    inputs = zen.Input((3,))
    model = zen.Model(inputs, nn.Lambda(halve)(inputs))
    model.save(tmp_path / "m.zen")
    with pytest.raises(ValueError, match="Unknown function 'halve'.*custom_objects"):
        zen.load_model(tmp_path / "m.zen")
    loaded = zen.load_model(tmp_path / "m.zen", custom_objects={"halve": halve})
    np.testing.assert_allclose(loaded.predict(np.ones((2, 3)), verbose=0), 0.5)


def test_an_anonymous_lambda_is_refused_at_save_and_nothing_is_written(tmp_path):
    model = zen.Sequential([nn.Lambda(lambda x: x + 1, name="plus_one")])
    model.build((None, 2))
    with pytest.raises(ValueError, match="Lambda layer 'plus_one' wraps an anonymous "
                                         "function .*register_serializable"):
        model.save(tmp_path / "m.zen")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(TypeError, match="callable `function`"):
        nn.Lambda(3)


# ----- recurrent layers ------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [nn.SimpleRNN, nn.LSTM, nn.GRU])
def test_recurrent_layers_take_keras_regularizers_and_constraints(cls):
    """The penalties of the three weights and of the output, and a recurrent
    constraint that holds after a step; configs keep them."""
    layer = cls(3, kernel_regularizer=L2(0.1), recurrent_regularizer=L1(0.2),
                bias_regularizer=L2(0.3), activity_regularizer=L1(0.4),
                recurrent_constraint=MaxNorm(0.1))
    x = G.normal(size=(2, 4, 5)).astype(np.float32)
    out = layer(x).value.astype(np.float64)
    kernel, recurrent, bias = (w.astype(np.float64) for w in layer.get_weights())
    expected = [0.4 * np.abs(out).sum() / 2, 0.1 * (kernel ** 2).sum(),
                0.2 * np.abs(recurrent).sum(), 0.3 * (bias ** 2).sum()]
    assert [float(loss.value) for loss in layer.losses] == pytest.approx(expected, rel=1e-5)
    model = zen.Sequential([layer, nn.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(x, np.ones((2, 1)), verbose=0)
    assert norms(layer.recurrent_kernel.value).max() <= 0.1 + 1e-6
    again = cls.from_config(layer.get_config())
    assert isinstance(again.recurrent_regularizer, L1) and isinstance(again.activity_regularizer, L1)
    assert isinstance(again.recurrent_constraint, MaxNorm)


# ----- found in review ---------------------------------------------------------------------------
def test_building_twice_keeps_one_set_of_weights():
    layer = nn.Dense(2, kernel_regularizer="l2")
    layer.build((None, 3))
    zen.Sequential([layer]).predict(np.ones((1, 3)), verbose=0)
    assert [name for name, _ in layer.named_tensors()] == ["kernel", "bias"]
    assert layer.count_params() == 8 and len(layer.losses) == 1


def test_a_shared_layer_adds_its_losses_once():
    class Twice(zen.Model):
        def __init__(self):
            super().__init__()
            self.d = nn.Dense(2, activity_regularizer="l2")
            self.e = self.d

        def call(self, x):
            return self.d(x)

    model = Twice()
    model(np.ones((3, 2), np.float32))
    assert len(model.losses) == 1


def test_calling_another_layer_keeps_this_ones_added_losses():
    a, b = Penalised(1.0), Penalised(1.0)
    a(np.ones((2, 2), np.float32))
    b(np.ones((2, 2), np.float32))
    assert len(a.losses) == 1 and len(b.losses) == 1


def test_constraints_take_axes_as_lists_as_json_gives_them_back():
    import json
    constraint = zen.constraints.deserialize(json.loads(json.dumps(
        zen.constraints.serialize(MaxNorm(2.0, axis=(0, 1))))))
    w = G.normal(size=(3, 3, 2)) * 3
    np.testing.assert_allclose(constraint(w), MaxNorm(2.0, axis=(0, 1))(w))


def test_a_layer_whose_config_cannot_be_written_still_prints():
    assert repr(nn.Lambda(lambda x: x * 2, name="double")) == "Lambda(name='double')"
