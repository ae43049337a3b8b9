"""ONNX export (zen.models.onnx_export): every supported layer, a CNN-like
stack and a two-input/two-output functional model give, under onnxruntime,
what Zen's `predict` gives (within 1e-5) at two batch sizes (the batch axis
is dynamic), and the exported file passes `onnx.checker`. Layers without a
translation are a ValueError raised before any file is written."""
import numpy as np
import onnx
import onnxruntime
import pytest

import zen
from zen import nn
from zen.models.onnx_export import export_onnx

TOLERANCE = 1e-5
BATCH_SIZES = (2, 5)


def run_onnx(path, feeds):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def largest_difference(model, tmp_path, sample_shapes):
    """Export `model`, check the file, and compare onnxruntime with Zen at
    each batch size; the largest absolute difference seen."""
    path = tmp_path / "model.onnx"
    export_onnx(model, path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    rng = np.random.default_rng(0)
    worst = 0.0
    for batch in BATCH_SIZES:
        xs = [rng.standard_normal((batch, *shape)).astype(np.float32) for shape in sample_shapes]
        names = [i.name for i in onnxruntime.InferenceSession(str(path)).get_inputs()]
        got = run_onnx(path, dict(zip(names, xs)))
        expected = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        expected = expected if isinstance(expected, (list, tuple)) else [expected]
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert g.shape == np.shape(e) and g.shape[0] == batch
            worst = max(worst, float(np.max(np.abs(g - np.asarray(e, np.float32)))))
    return worst


def randomize(model, seed=1):
    """Give every weight (BatchNorm's moving statistics too) random values,
    so that the export is tested away from the initial ones."""
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(0.5, 1.5, np.shape(w)).astype(np.float32) for w in model.get_weights()]
    model.set_weights(weights)
    return model


ACTIVATIONS = ["relu", "sigmoid", "tanh", "softmax", "gelu", "linear", None, "leaky_relu", "elu",
               "selu", "softplus", "softsign", "exponential", "relu6", "silu", "swish",
               "log_softmax"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_with_each_activation(activation, tmp_path):
    model = zen.Sequential([zen.Input((6,)), nn.Dense(4, activation=activation)])
    model.set_weights([w * 0.5 for w in model.get_weights()])
    assert largest_difference(model, tmp_path, [(6,)]) < TOLERANCE


def test_dense_without_bias_on_a_sequence(tmp_path):
    model = zen.Sequential([zen.Input((3, 6)), nn.Dense(4, use_bias=False)])
    assert largest_difference(model, tmp_path, [(3, 6)]) < TOLERANCE


LAYERS = [
    ((5,), lambda: nn.Activation("tanh")),
    ((5,), lambda: nn.Activation("gelu")),
    ((5,), lambda: nn.ReLU()),
    ((5,), lambda: nn.ReLU(max_value=0.5, negative_slope=0.1)),
    ((5,), lambda: nn.LeakyReLU()),
    ((5,), lambda: nn.LeakyReLU(negative_slope=0.05)),
    ((5,), lambda: nn.ELU(alpha=0.7)),
    ((5,), lambda: nn.GELU()),
    ((5,), lambda: nn.Sigmoid()),
    ((5,), lambda: nn.Tanh()),
    ((3, 5), lambda: nn.Softmax()),
    ((3, 5), lambda: nn.Softmax(axis=1)),
    ((3, 4, 2), lambda: nn.Flatten()),
    ((5,), lambda: nn.Dropout(0.5)),
    ((5,), lambda: nn.Identity()),
    ((4, 4, 3), lambda: nn.RandomFlip()),
    ((4, 4, 3), lambda: nn.RandomRotation(0.2)),
    ((4, 4, 3), lambda: nn.RandomTranslation(0.2, 0.2)),
    ((4, 4, 3), lambda: nn.RandomZoom(0.2)),
    ((4, 4, 3), lambda: nn.RandomContrast(0.2)),
    ((6,), lambda: nn.Reshape((2, 3))),
    ((2, 6), lambda: nn.Reshape((-1, 3))),
    ((2, 3, 4), lambda: nn.Permute((3, 1, 2))),
    ((4, 3), lambda: nn.BatchNorm()),
    ((3, 4), lambda: nn.BatchNorm(axis=1, epsilon=0.01)),
    ((3, 4), lambda: nn.LayerNorm()),
]


@pytest.mark.parametrize("sample_shape, make_layer", LAYERS,
                         ids=[f"{make().__class__.__name__}-{i}"
                              for i, (_, make) in enumerate(LAYERS)])
def test_each_layer_matches_zen(sample_shape, make_layer, tmp_path):
    model = randomize(zen.Sequential([zen.Input(sample_shape), make_layer()]))
    assert largest_difference(model, tmp_path, [sample_shape]) < TOLERANCE


@pytest.mark.parametrize("merge", [nn.Add, nn.Subtract, nn.Multiply, nn.Average, nn.Maximum,
                                   nn.Minimum, nn.Concatenate])
def test_merge_layers(merge, tmp_path):
    n = 2 if merge is nn.Subtract else 3
    inputs = [zen.Input((4,), name=f"in_{i}") for i in range(n)]
    model = zen.Model(inputs, merge()(inputs))
    assert largest_difference(model, tmp_path, [(4,)] * n) < TOLERANCE


def test_concatenate_on_a_middle_axis(tmp_path):
    a, b = zen.Input((2, 3)), zen.Input((4, 3))
    model = zen.Model([a, b], nn.Concatenate(axis=1)([a, b]))
    assert largest_difference(model, tmp_path, [(2, 3), (4, 3)]) < TOLERANCE


def test_a_deeper_stack(tmp_path):
    model = zen.Sequential([zen.Input((4, 4, 2)), nn.RandomFlip(), nn.BatchNorm(), nn.Flatten(),
                            nn.Dense(16, activation="relu"), nn.Dropout(0.3), nn.LayerNorm(),
                            nn.Dense(8, activation="gelu"), nn.Reshape((2, 4)),
                            nn.Permute((2, 1)), nn.Flatten(), nn.Dense(3, activation="softmax")])
    randomize(model)
    model.set_weights([w * 0.3 for w in model.get_weights()])
    assert largest_difference(model, tmp_path, [(4, 4, 2)]) < TOLERANCE


def test_two_inputs_two_outputs(tmp_path):
    image = zen.Input((3, 4), name="image")
    extra = zen.Input((5,), name="extra")
    features = nn.Dense(6, activation="tanh")(nn.Flatten()(image))
    side = nn.Dense(6, activation="relu")(extra)
    joined = nn.Concatenate()([nn.Add()([features, side]), nn.Multiply()([features, side])])
    shared = nn.Dense(6, activation="elu")  # a layer called twice
    head = shared(nn.Dense(6)(joined))
    label = nn.Dense(3, activation="softmax", name="label")(head)
    score = nn.Dense(1, name="score")(nn.Subtract()([shared(side), head]))
    model = zen.Model([image, extra], [label, score])
    path = tmp_path / "model.onnx"
    export_onnx(model, path)
    loaded = onnx.load(str(path))
    assert [i.name for i in loaded.graph.input] == ["image", "extra"]
    assert [o.name for o in loaded.graph.output] == ["label", "score"]
    assert loaded.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert largest_difference(model, tmp_path, [(3, 4), (5,)]) < TOLERANCE


def test_weights_are_initializers(tmp_path):
    model = zen.Sequential([zen.Input((3,)), nn.Dense(2)])
    export_onnx(model, tmp_path / "m.onnx")
    initializers = onnx.load(str(tmp_path / "m.onnx")).graph.initializer
    stored = [onnx.numpy_helper.to_array(t) for t in initializers]
    kernel, bias = model.get_weights()
    assert any(a.shape == kernel.shape and np.array_equal(a, kernel) for a in stored)
    assert any(a.shape == bias.shape and np.array_equal(a, bias) for a in stored)


def test_an_unsupported_layer_is_refused_before_writing(tmp_path):
    model = zen.Sequential([zen.Input((4, 3)), nn.Dense(2), nn.Lambda(lambda x: x, name="fn")])
    path = tmp_path / "model.onnx"
    with pytest.raises(ValueError, match="layer 'fn' of class Lambda"):
        export_onnx(model, path)
    assert list(tmp_path.iterdir()) == []


def test_an_unsupported_activation_is_refused(tmp_path):
    model = zen.Sequential([zen.Input((4,)), nn.Dense(2, activation="mish", name="d")])
    with pytest.raises(ValueError, match="layer .d. of class Dense to ONNX: its activation .mish."):
        export_onnx(model, tmp_path / "model.onnx")
    assert list(tmp_path.iterdir()) == []


def test_unsupported_layer_options_are_refused(tmp_path):
    model = zen.Sequential([zen.Input((4,)), nn.ReLU(threshold=0.5, name="r")])
    with pytest.raises(ValueError, match="layer .r. of class ReLU to ONNX: threshold=0.5"):
        export_onnx(model, tmp_path / "model.onnx")
    model = zen.Sequential([zen.Input((4,)), nn.GELU(approximate=True, name="g")])
    with pytest.raises(ValueError, match="layer .g. of class GELU to ONNX: approximate"):
        export_onnx(model, tmp_path / "model.onnx")


def test_an_unbuilt_or_subclassed_model_is_refused(tmp_path):
    with pytest.raises(ValueError, match="built zen.Sequential or a functional zen.Model"):
        export_onnx(zen.Sequential([nn.Dense(2)]), tmp_path / "m.onnx")


def test_a_bad_opset_is_refused(tmp_path):
    model = zen.Sequential([zen.Input((4,)), nn.Dense(2)])
    with pytest.raises(ValueError, match="opset"):
        export_onnx(model, tmp_path / "m.onnx", opset=11)
    export_onnx(model, tmp_path / "m.onnx", opset=21)
    assert onnx.load(str(tmp_path / "m.onnx")).opset_import[0].version == 21


CONV_LAYERS = [
    ((7, 6, 3), lambda: nn.Conv2D(4, 3)),
    ((7, 6, 3), lambda: nn.Conv2D(4, (3, 2), strides=2, padding="same", activation="relu")),
    ((8, 8, 2), lambda: nn.Conv2D(3, 2, strides=(2, 1), padding="same", use_bias=False,
                                  activation="tanh")),
    ((9, 3), lambda: nn.Conv1D(4, 3)),
    ((9, 3), lambda: nn.Conv1D(4, 4, strides=2, padding="same", activation="sigmoid")),
    ((9, 3), lambda: nn.Conv1D(2, 3, padding="causal", dilation_rate=2)),
    ((7, 6, 3), lambda: nn.MaxPool2D()),
    ((7, 6, 3), lambda: nn.MaxPool2D(3, strides=2)),
    ((7, 6, 3), lambda: nn.AvgPool2D((2, 3))),
    ((9, 3), lambda: nn.MaxPool1D(2)),
    ((9, 3), lambda: nn.MaxPool1D(2, padding="same")),
    ((9, 3), lambda: nn.AvgPool1D(3, strides=2, padding="same")),
    ((7, 6, 3), lambda: nn.GlobalAveragePooling2D()),
    ((7, 6, 3), lambda: nn.GlobalMaxPooling2D(keepdims=True)),
    ((9, 3), lambda: nn.GlobalAveragePooling1D()),
    ((9, 3), lambda: nn.GlobalMaxPooling1D()),
]


@pytest.mark.parametrize("sample_shape, make_layer", CONV_LAYERS,
                         ids=[f"{make().__class__.__name__}-{i}"
                              for i, (_, make) in enumerate(CONV_LAYERS)])
def test_each_convolution_and_pool_matches_zen(sample_shape, make_layer, tmp_path):
    model = zen.Sequential([zen.Input(sample_shape), make_layer()])
    randomize(model)
    model.set_weights([w - 1.0 for w in model.get_weights()])
    assert largest_difference(model, tmp_path, [sample_shape]) < TOLERANCE


def test_a_cnn(tmp_path):
    model = zen.Sequential([
        zen.Input((12, 12, 1)), nn.RandomFlip(), nn.Conv2D(4, 3, padding="same", activation="relu"),
        nn.BatchNorm(), nn.MaxPool2D(), nn.Conv2D(8, 3, activation="relu"), nn.AvgPool2D(),
        nn.Flatten(), nn.Dropout(0.5), nn.Dense(5, activation="softmax")])
    randomize(model)
    model.set_weights([w * 0.2 for w in model.get_weights()])
    assert largest_difference(model, tmp_path, [(12, 12, 1)]) < TOLERANCE


def test_embedding(tmp_path):
    tokens = zen.Input((6,), dtype="int32", name="tokens")
    model = zen.Model(tokens, nn.GlobalAveragePooling1D()(nn.Embedding(20, 4)(tokens)))
    path = tmp_path / "model.onnx"
    export_onnx(model, path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    rng = np.random.default_rng(0)
    for batch in BATCH_SIZES:
        x = rng.integers(0, 20, (batch, 6)).astype(np.int32)
        got, = run_onnx(path, {"tokens": x})
        assert np.max(np.abs(got - model.predict(x, verbose=0))) < TOLERANCE


def test_embedding_first_in_a_sequential(tmp_path):
    model = zen.Sequential([zen.Input((5,)), nn.Embedding(10, 3), nn.Flatten()])
    export_onnx(model, tmp_path / "m.onnx")
    x = np.random.default_rng(0).integers(0, 10, (4, 5))
    got, = run_onnx(tmp_path / "m.onnx", {"input": x.astype(np.int32)})
    assert np.max(np.abs(got - model.predict(x, verbose=0))) < TOLERANCE


def test_global_pool_at_opset_18(tmp_path):
    model = zen.Sequential([zen.Input((4, 3)), nn.GlobalMaxPooling1D()])
    export_onnx(model, tmp_path / "m.onnx", opset=18)
    x = np.random.default_rng(0).standard_normal((3, 4, 3)).astype(np.float32)
    got, = run_onnx(tmp_path / "m.onnx", {"input": x})
    assert np.max(np.abs(got - model.predict(x, verbose=0))) < TOLERANCE


def test_model_export_writes_onnx_as_keras_3_does(tmp_path):
    """`model.export(path, format="onnx")`, Keras 3's call; other formats refused."""
    import onnxruntime
    zen.set_seed(0)
    model = zen.Sequential([zen.Input((4,)), nn.Dense(3, activation="relu"), nn.Dense(2)])
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    model.export(tmp_path / "m.onnx", format="onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    (got,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)
    with pytest.raises(ValueError, match="format='onnx'"):
        model.export(tmp_path / "m.pb", format="tf_saved_model")
    assert not (tmp_path / "m.pb").exists()
