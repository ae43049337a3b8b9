"""The model API as Keras users rely on it: freezing, the `training`
argument, Keras's argument order for losses, evaluate's return forms,
sample and class weights, weighted metrics, and `get_layer`."""
import numpy as np
import pytest

import zen
from zen import nn
from zen.nn import BatchNorm, Dense, Dropout

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 5)).astype(np.float32)
Y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
SCCE = nn.losses.SparseCategoricalCrossentropy(from_logits=True)


def mlp(dropout=None, batchnorm=False):
    zen.set_seed(0)
    layers = [Dense(8, activation="relu")]
    layers += [BatchNorm()] if batchnorm else []
    layers += [Dropout(dropout)] if dropout else []
    model = zen.Sequential([zen.Input((5,))] + layers + [Dense(2)])
    return model


# ----- losses in Keras's order -----------------------------------------------------------
def test_a_plain_loss_function_in_compile_receives_the_targets_first():
    seen = []

    def asymmetric(y_true, y_pred):  # Keras's signature; only y_pred can carry a gradient
        seen.append((type(y_true), type(y_pred)))
        return zen.autodiff.reduce_mean((y_pred - y_true[:, None]) * 2.0 + y_true[:, None] * 0.5,
                                        axis=-1)

    model = zen.Sequential([zen.Input((5,)), Dense(1)])
    model.compile("sgd", asymmetric)
    loss = model.evaluate(X, Y.astype(np.float32), batch_size=40)
    pred = model.predict(X)[:, 0]
    y = Y.astype(np.float32)
    assert loss == pytest.approx(float(np.mean((pred - y) * 2.0 + y * 0.5)), rel=1e-5)
    assert seen[0] == (np.ndarray, zen.Tensor)


def test_a_loss_subclass_defines_keras_call():
    class Squared(nn.losses.Loss):
        def call(self, y_true, y_pred):
            return zen.autodiff.reduce_sum((y_pred - y_true) ** 2, axis=-1)

    pred, target = np.array([[1.0, 2.0], [0.0, 1.0]]), np.array([[0.0, 0.0], [0.0, 0.0]])
    assert Squared()(target, zen.Tensor(pred)).item() == pytest.approx((5.0 + 1.0) / 2)
    weighted = Squared()(target, zen.Tensor(pred), sample_weight=np.array([1.0, 3.0]))
    assert weighted.item() == pytest.approx((5.0 + 3.0) / 2)


# ----- freezing ----------------------------------------------------------------------------
def test_a_frozen_layer_is_left_bitwise_unchanged_by_fit_and_gets_no_optimizer_slots():
    model = mlp()
    frozen = model.layers[0]
    frozen.trainable = False
    before = frozen.get_weights()
    model.compile("adam", SCCE)
    model.fit(X, Y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(before, frozen.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert frozen.kernel.gradient is None
    slots = model.optimizer.state_dict(model.parameters())
    assert all(t.trainable for t in model.parameters())
    assert len(model.parameters()) == 2 and len(slots) > 0
    assert frozen.trainable_weights == [] and len(frozen.non_trainable_weights) == 2
    assert model.layers[1].trainable_weights == model.layers[1].weights


def test_summary_counts_frozen_weights_as_non_trainable():
    model = mlp()
    model.layers[0].trainable = False
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Total params: 66" in text
    assert "Trainable params: 18" in text and "Non-trainable params: 48" in text
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2
    assert len(model.weights) == 4


def test_freezing_a_model_freezes_every_layer_inside_and_unfreezing_trains_again():
    inner = mlp()
    outer = zen.Sequential([zen.Input((5,)), inner, Dense(2)])
    inner.trainable = False
    assert all(not layer.trainable for layer in inner.layers)
    assert outer.parameters() == [outer.layers[1].kernel, outer.layers[1].bias]
    before = inner.get_weights()
    outer.compile("sgd", SCCE)
    outer.fit(X, Y, epochs=1, verbose=0)
    for a, b in zip(before, inner.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    inner.trainable = True
    outer.compile("sgd", SCCE)
    outer.fit(X, Y, epochs=1, verbose=0)
    assert not np.array_equal(before[0], inner.get_weights()[0])


def test_a_frozen_batchnorm_runs_in_inference_mode_and_keeps_its_statistics():
    model = mlp(batchnorm=True)
    bn = model.layers[1]
    bn.trainable = False
    mean, variance = bn.moving_mean.value.copy(), bn.moving_variance.value.copy()
    model.compile("sgd", SCCE)
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    np.testing.assert_array_equal(bn.moving_mean.value, mean)
    np.testing.assert_array_equal(bn.moving_variance.value, variance)
    h = np.random.default_rng(1).normal(size=(4, 8)).astype(np.float32)
    np.testing.assert_allclose(bn(h, training=True).value, bn(h, training=False).value)


def test_a_layer_frozen_before_it_is_built_builds_frozen():
    layer = Dense(3)
    layer.trainable = False
    layer(np.zeros((2, 4), np.float32))
    assert layer.trainable_weights == [] and len(layer.weights) == 2


def test_the_trainable_flag_survives_save_and_load(tmp_path):
    model = mlp(batchnorm=True)
    model.layers[0].trainable = False
    model.compile("adam", SCCE)
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "m.zen")
    loaded = zen.load_model(tmp_path / "m.zen")
    assert [layer.trainable for layer in loaded.layers] == [False, True, True]
    assert len(loaded.parameters()) == len(model.parameters())
    before = loaded.layers[0].get_weights()
    loaded.fit(X, Y, epochs=1, batch_size=8, verbose=0)  # the optimizer state lines up
    np.testing.assert_array_equal(before[0], loaded.layers[0].get_weights()[0])
    assert '"trainable": false' in model.to_json()


def test_trainable_takes_only_booleans():
    with pytest.raises(ValueError, match="`trainable`"):
        Dense(2).trainable = "no"


# ----- the training argument ---------------------------------------------------------------
def test_after_fit_a_plain_call_is_inference_and_deterministic():
    model = mlp(dropout=0.5, batchnorm=True)
    model.compile("adam", SCCE)
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    bn = model.layers[1]
    statistics = bn.moving_mean.value.copy()
    out = model(X).value
    np.testing.assert_array_equal(out, model(X).value)
    np.testing.assert_allclose(out, model.predict(X), rtol=1e-6)
    np.testing.assert_array_equal(bn.moving_mean.value, statistics)  # not updated by a call
    dropped = model(X, training=True).value
    assert not np.allclose(dropped, out)
    assert not np.array_equal(bn.moving_mean.value, statistics)  # training=True updates them


def test_dropout_reads_training():
    x = np.ones((200, 50), np.float32)
    drop = Dropout(0.5)
    np.testing.assert_array_equal(drop(x).value, x)
    out = drop(x, training=True).value
    assert set(np.unique(out)) == {0.0, 2.0}
    drop.train_mode()
    assert (drop(x).value == 0).any()
    np.testing.assert_array_equal(drop(x, training=False).value, x)  # explicit wins


class Net(zen.Model):
    """The standard subclass idiom: `training` passed on by hand."""

    def __init__(self):
        super().__init__()
        self.hidden, self.drop, self.out = Dense(16, activation="relu"), Dropout(0.9), Dense(2)
        self.seen = []

    def call(self, x, training=False):
        self.seen.append(training)
        return self.out(self.drop(self.hidden(x), training=training))


def test_a_subclassed_model_passes_training_to_its_layers():
    zen.set_seed(0)
    model = Net()
    model.compile("sgd", SCCE)
    model.fit(X, Y, epochs=1, batch_size=20, verbose=0)
    assert model.seen[-2:] == [True, True] and not any(model.seen[:-2])  # builds, then 2 steps
    model.seen.clear()
    model.evaluate(X, Y)
    model.predict(X)
    model(X)
    assert model.seen == [False] * 5  # 2 batches each, then the call
    np.testing.assert_array_equal(model(X).value, model(X).value)
    assert not np.array_equal(model(X, training=True).value, model(X).value)


def test_an_outer_calls_training_flows_into_a_nested_model():
    inner = zen.Sequential([Dense(8), Dropout(0.9)])
    outer = zen.Sequential([zen.Input((5,)), inner, Dense(2)])
    np.testing.assert_array_equal(outer(X).value, outer(X).value)
    assert not np.array_equal(outer(X, training=True).value, outer(X).value)
    inner.train_mode()  # a default (PyTorch's train()), for calls given no `training`...
    assert not np.array_equal(outer(X).value, outer(X).value)
    np.testing.assert_allclose(outer(X, training=False).value, outer.predict(X))  # ...or inferring
    outer.train_mode()  # PyTorch's idiom: train the model, then keep a part in inference
    inner.eval_mode()
    np.testing.assert_array_equal(outer(X).value, outer(X).value)


def test_a_functional_model_passes_training_through_its_graph():
    inputs = zen.Input((5,))
    outputs = Dense(2)(Dropout(0.9)(Dense(8)(inputs)))
    model = zen.Model(inputs, outputs)
    np.testing.assert_array_equal(model(X).value, model.predict(X))
    assert not np.allclose(model(X, training=True).value, model.predict(X))


# ----- return forms -------------------------------------------------------------------------
def test_evaluate_and_the_batch_calls_return_keras_forms():
    model = mlp()
    model.compile("sgd", SCCE)
    assert isinstance(model.evaluate(X, Y), float)
    assert model.metrics_names == ["loss"]
    model.compile("sgd", SCCE, metrics=["accuracy"])
    assert model.metrics_names == ["loss", "accuracy"]
    loss, accuracy = model.evaluate(X, Y)
    assert model.evaluate(X, Y, return_dict=True) == {"loss": loss, "accuracy": accuracy}
    assert model.test_on_batch(X, Y) == pytest.approx([loss, accuracy])
    assert model.test_on_batch(X, Y, return_dict=True) == pytest.approx(
        {"loss": loss, "accuracy": accuracy})
    trained = model.train_on_batch(X, Y, return_dict=True)
    assert set(trained) == {"loss", "accuracy"} and trained["loss"] == pytest.approx(loss)
    assert len(model.train_on_batch(X, Y)) == 2
    np.testing.assert_array_equal(model.predict_on_batch(X), model.predict(X, batch_size=40))
    with pytest.raises(ValueError, match="return_dict"):
        model.evaluate(X, Y, return_dict="yes")


def test_get_layer_by_name_and_index():
    model = mlp()
    assert model.get_layer(index=1) is model.layers[1]
    assert model.get_layer(model.layers[0].name) is model.layers[0]
    with pytest.raises(ValueError, match="No such layer: 'nope'"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="only has 2 layers"):
        model.get_layer(index=5)
    with pytest.raises(ValueError, match="either a layer name or a layer index"):
        model.get_layer()


# ----- weights -------------------------------------------------------------------------------
def per_sample_scce(model, x, y):
    logits = model.predict(x).astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(y)), y], logits.argmax(axis=1) == y


def test_weighted_loss_and_weighted_metrics_follow_keras_arithmetic():
    model = mlp()
    model.compile("sgd", SCCE, metrics=["accuracy"], weighted_metrics=["accuracy"])
    w = np.linspace(0.0, 2.0, len(X))
    logs = model.evaluate(X, Y, sample_weight=w, batch_size=16, return_dict=True)
    losses, hits = per_sample_scce(model, X, Y)
    batches = [slice(0, 16), slice(16, 32), slice(32, 40)]
    # each batch: sum(w * loss) / batch size; the epoch: batch means weighted by batch size
    expected = sum((w[b] * losses[b]).sum() for b in batches) / len(X)
    assert logs["loss"] == pytest.approx(expected, rel=1e-5)
    assert logs["accuracy"] == pytest.approx(hits.mean())
    assert logs["weighted_accuracy"] == pytest.approx((w * hits).sum() / w.sum())
    assert model.metrics_names == ["loss", "accuracy", "weighted_accuracy"]


def test_weighted_metrics_survive_save_and_load(tmp_path):
    model = mlp()
    model.compile("sgd", SCCE, metrics=["accuracy"], weighted_metrics=["accuracy"])
    model.save(tmp_path / "m.zen")
    loaded = zen.load_model(tmp_path / "m.zen")
    w = np.linspace(0.0, 2.0, len(X))
    assert loaded.metrics_names == ["loss", "accuracy", "weighted_accuracy"]
    assert loaded.evaluate(X, Y, sample_weight=w) == model.evaluate(X, Y, sample_weight=w)


def test_class_weight_equals_the_equivalent_sample_weight():
    weights = {0: 0.3, 1: 2.0}
    histories = []
    for kwargs in ({"class_weight": weights},
                   {"sample_weight": np.where(Y == 1, 2.0, 0.3)}):
        model = mlp()
        model.compile("sgd", SCCE, weighted_metrics=["accuracy"])
        histories.append(model.fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0,
                                   **kwargs).history)
    assert histories[0] == histories[1]
    one_left_out = mlp()  # a class left out weighs 1, as in Keras
    one_left_out.compile("sgd", SCCE, weighted_metrics=["accuracy"])
    assert one_left_out.fit(X, Y, class_weight={1: 2.0}, epochs=1, shuffle=False,
                            verbose=0).history == mlp_history(np.where(Y == 1, 2.0, 1.0))
    with pytest.raises(ValueError, match="class index >= 0"):
        model.fit(X, Y, class_weight={-1: 1.0}, verbose=0)


def mlp_history(sample_weight):
    model = mlp()
    model.compile("sgd", SCCE, weighted_metrics=["accuracy"])
    return model.fit(X, Y, sample_weight=sample_weight, epochs=1, shuffle=False,
                     verbose=0).history


def test_validation_data_takes_sample_weights():
    model = mlp()
    model.compile("sgd", SCCE)
    w = np.linspace(0.0, 1.0, 10)
    history = model.fit(X[:30], Y[:30], validation_data=(X[30:], Y[30:], w), epochs=1,
                        verbose=0)
    expected = model.evaluate(X[30:], Y[30:], sample_weight=w)
    assert history.history["val_loss"][0] == pytest.approx(expected, rel=1e-6)


def test_bad_sample_weights_are_value_errors_naming_them():
    model = mlp()
    model.compile("sgd", SCCE)
    with pytest.raises(ValueError, match="one weight per sample: 40 samples, received 3"):
        model.fit(X, Y, sample_weight=np.ones(3), verbose=0)
    with pytest.raises(ValueError, match="sample_weight"):
        model.evaluate(X, Y, sample_weight=np.full(40, np.nan))
    with pytest.raises(TypeError, match="sample_weight"):
        model.evaluate(X, Y, sample_weight=np.array(["a"] * 40))


# ----- errors quote the user's shapes ---------------------------------------------------------
@pytest.mark.parametrize("build", [
    lambda: zen.Sequential([Dense(4), nn.Reshape((3, 3))]).build((None, 5)),
    lambda: zen.Sequential([zen.Input((5,)), Dense(4), nn.Reshape((3, 3))]),
    lambda: nn.Reshape((3, 3))(Dense(4)(zen.Input((5,)))),
    lambda: zen.Sequential([Dense(4, input_shape=(5,)), nn.Reshape((3, 3))]),
])
def test_a_build_error_quotes_the_batch_as_none_not_the_probe_batch(build):
    with pytest.raises(ValueError, match=r"inputs of shape \(None, 4\)") as info:
        build()
    assert "(1, 4)" not in str(info.value)


def test_an_error_on_data_quotes_the_data_shape():
    with pytest.raises(ValueError, match=r"inputs of shape \(7, 4\)"):
        nn.Reshape((3, 3))(np.zeros((7, 4)))
    model = zen.Sequential([nn.Conv2D(4, 3), nn.Flatten()])
    with pytest.raises(ValueError, match=r"'conv2d.*' \(Conv2D\) cannot be called on inputs of "
                                         r"shape \(None, 2, 2, 1\)"):
        model.build((None, 2, 2, 1))


def test_a_sequential_builds_at_once_from_input_shape_or_a_built_model_first():
    first = zen.Sequential([Dense(4, input_shape=(5,), activation="relu"), Dense(3)])
    assert first.built and first.input_shape == (None, 5) and first.count_params() == 39
    stacked = zen.Sequential([first, Dense(2)])
    assert stacked.built and stacked.count_params() == 39 + 8
    assert zen.Sequential([Dense(4, input_shape=5)]).input_shape == (None, 5)
    with pytest.raises(ValueError, match="input shape"):
        Dense(4, input_shape="five")


# ----- corners of freezing and of the training loop ---------------------------------------------
def test_a_layer_unfrozen_inside_a_frozen_model_stays_so_through_files(tmp_path):
    x, y = X, np.eye(2)[Y].astype(np.float32)
    inner = zen.Sequential([Dense(4), Dense(3)])
    model = zen.Sequential([zen.Input((5,)), inner, Dense(2)])
    inner.trainable = False
    inner.layers[1].trainable = True
    assert len(model.trainable_weights) == 4
    model.compile("adam", "mse")
    model.fit(x, y, verbose=0)
    model.save(tmp_path / "m.zen")
    for copy in (zen.load_model(tmp_path / "m.zen"), zen.models.clone_model(model),
                 zen.models.model_from_json(model.to_json())):
        assert len(copy.trainable_weights) == 4
    zen.load_model(tmp_path / "m.zen").fit(x, y, verbose=0)  # the optimizer state lines up


@pytest.mark.parametrize("case", ["attention", "time_distributed", "bidirectional"])
def test_weights_created_after_freezing_are_frozen(case):
    """Attention creates its weights in its first call, the wrappers build
    their inner layers themselves: frozen beforehand, all stay frozen."""
    sequence = np.random.default_rng(2).normal(size=(2, 3, 4)).astype(np.float32)
    if case == "attention":
        layer = built = nn.MultiHeadAttention(2, 4)
        layer.trainable = False
        built(sequence, sequence)
    else:
        layer = Dense(3) if case == "time_distributed" else nn.LSTM(3)
        layer.trainable = False
        built = (nn.TimeDistributed if case == "time_distributed" else nn.Bidirectional)(layer)
        built(sequence)
    assert built.weights and built.trainable_weights == []


def test_a_plain_loss_function_gets_targets_of_the_predictions_rank():
    def my_mae(y_true, y_pred):
        return zen.autodiff.reduce_mean(zen.autodiff.abs(y_pred - y_true), axis=-1)

    model = zen.Sequential([zen.Input((5,)), Dense(1)])
    targets = X[:, 0]  # (N,) targets for (N, 1) predictions: compared row by row
    model.compile("sgd", my_mae)
    own = model.evaluate(X, targets)
    model.compile("sgd", "mae")
    assert own == pytest.approx(model.evaluate(X, targets), rel=1e-6)


def test_a_validation_generator_that_runs_out_leaves_validation_out():
    def batches(n):
        for _ in range(n):
            yield X[:8], Y[:8]

    model = mlp()
    model.compile("sgd", SCCE)
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model.fit(batches(6), steps_per_epoch=2, epochs=3,
                            validation_data=batches(1), verbose=0).history
    assert len(history["loss"]) == 3 and len(history["val_loss"]) == 1


def test_a_wholly_frozen_model_fits_with_keras_warning():
    model = mlp()
    model.trainable = False
    model.compile("sgd", SCCE, metrics=["accuracy"])
    before = model.get_weights()
    with pytest.warns(UserWarning, match="does not have any trainable weights"):
        history = model.fit(X, Y, epochs=1, verbose=0).history
    assert set(history) == {"loss", "accuracy"}
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_several_outputs_list_each_outputs_metrics_then_its_weighted_ones():
    inputs = zen.Input((5,))
    model = zen.Model(inputs, [Dense(1, name="a")(inputs), Dense(1, name="b")(inputs)])
    model.compile("sgd", "mse", metrics=[["mae"], ["mae"]], weighted_metrics=[["mae"], ["mae"]])
    assert model.metrics_names == ["loss", "a_loss", "b_loss", "a_mae", "a_weighted_mae",
                                   "b_mae", "b_weighted_mae"]


def test_constructors_take_keras_trainable_and_a_layer_may_own_input_shape():
    assert Dense(4, trainable=False).trainable is False

    class Positions(nn.Layer):
        def __init__(self, input_shape, name=None):
            super().__init__(name)
            self.size = input_shape

    assert Positions(input_shape=(3,)).size == (3,)


def test_metrics_names_of_a_subclassed_model_before_its_first_batch():
    model = Net()
    model.compile("sgd", SCCE, metrics=["accuracy"], weighted_metrics=["accuracy"])
    assert model.metrics_names == ["loss", "accuracy", "weighted_accuracy"]
