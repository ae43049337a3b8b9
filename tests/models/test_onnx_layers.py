"""ONNX export of the layers beyond the dense and convolutional ones
(zen.models.onnx_shapes, onnx_recurrent, onnx_attention): transposed
convolution, upsampling, padding, RepeatVector, crops, the recurrent layers
(ONNX's own RNN, LSTM and GRU ops) and their wrappers, MultiHeadAttention,
the operators recorded on symbolic tensors, several inputs and outputs, and
three models of the examples. Each runs under onnxruntime at two batch sizes
(the batch axis is dynamic) and must give what Zen's `predict` gives within
1e-5; every file passes `onnx.checker`. A layer that cannot be exported is a
ValueError naming it, raised before any file is written."""
import importlib.util
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest

import zen
from zen import nn
from zen.models.onnx_export import export_onnx

TOLERANCE = 1e-5
BATCH_SIZES = (1, 4)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def session_for(path):
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def export_and_check(model, tmp_path, **options):
    path = tmp_path / "model.onnx"
    export_onnx(model, path, **options)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    return path


def largest_difference(model, tmp_path, make_inputs, **options):
    """Export `model` and compare onnxruntime with Zen's predict at each
    batch size; `make_inputs(batch, rng)` gives the list of inputs. The
    largest absolute difference seen."""
    session = session_for(export_and_check(model, tmp_path, **options))
    rng = np.random.default_rng(0)
    worst = 0.0
    for batch in BATCH_SIZES:
        xs = make_inputs(batch, rng)
        got = session.run(None, {i.name: x for i, x in zip(session.get_inputs(), xs)})
        expected = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        expected = list(expected.values()) if isinstance(expected, dict) else expected
        expected = expected if isinstance(expected, (list, tuple)) else [expected]
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            e = np.asarray(e)
            assert g.shape == e.shape and g.shape[0] == batch and g.dtype == e.dtype
            worst = max(worst, float(np.max(np.abs(g.astype(np.float64) - e), initial=0.0)))
    return worst


def normal_inputs(*shapes):
    return lambda batch, rng: [rng.standard_normal((batch, *s)).astype(np.float32)
                               for s in shapes]


def randomize(model, scale=0.5, seed=1):
    """Random weights (biases too), so that the export is tested away from
    the initial ones (zero biases)."""
    rng = np.random.default_rng(seed)
    model.set_weights([(scale * rng.standard_normal(np.shape(w))).astype(np.float32)
                       for w in model.get_weights()])
    return model


def one_layer(sample_shape, layer, scale=0.5):
    return randomize(zen.Sequential([zen.Input(sample_shape), layer]), scale)


# ----- images and reshaping -------------------------------------------------------------------
IMAGE_LAYERS = [
    ((5, 4, 2), lambda: nn.Conv2DTranspose(3, 3)),
    ((5, 4, 2), lambda: nn.Conv2DTranspose(3, 3, strides=2)),
    ((5, 4, 2), lambda: nn.Conv2DTranspose(3, 3, strides=2, padding="same", activation="relu")),
    ((5, 4, 2), lambda: nn.Conv2DTranspose(2, (2, 3), strides=(3, 2), padding="same")),
    ((5, 4, 2), lambda: nn.Conv2DTranspose(2, 1, strides=2, use_bias=False)),
    ((5, 4, 2), lambda: nn.Conv2DTranspose(2, 4, strides=2, padding="same")),
    ((3, 4, 2), lambda: nn.UpSampling2D()),
    ((3, 4, 2), lambda: nn.UpSampling2D((2, 3))),
    ((3, 4, 2), lambda: nn.ZeroPadding2D()),
    ((3, 4, 2), lambda: nn.ZeroPadding2D(((1, 0), (2, 3)))),
    ((5,), lambda: nn.RepeatVector(3)),
    ((6, 5, 2), lambda: nn.CenterCrop(3, 2)),
    ((3, 4, 2), lambda: nn.Rescaling(1 / 255, offset=-0.5)),
    ((3, 4, 2), lambda: nn.Normalization(mean=[0.5, -1.0], variance=[2.0, 0.25])),
    ((3, 4, 2), lambda: nn.Normalization(axis=(1, 3), mean=0.5, variance=4.0, invert=True)),
    ((3, 4, 2), lambda: nn.PReLU()),
    ((3, 4, 2), lambda: nn.PReLU(shared_axes=[1, 2])),
]


@pytest.mark.parametrize("sample_shape, make_layer", IMAGE_LAYERS,
                         ids=[f"{make().__class__.__name__}-{i}"
                              for i, (_, make) in enumerate(IMAGE_LAYERS)])
def test_image_and_reshaping_layers(sample_shape, make_layer, tmp_path):
    model = one_layer(sample_shape, make_layer())
    assert largest_difference(model, tmp_path, normal_inputs(sample_shape)) < TOLERANCE


def test_a_decoder_of_transposed_convolutions(tmp_path):
    model = randomize(zen.Sequential([
        zen.Input((8,)), nn.Dense(2 * 2 * 4, activation="relu"), nn.Reshape((2, 2, 4)),
        nn.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu"),
        nn.UpSampling2D(), nn.ZeroPadding2D(1), nn.Conv2D(1, 3, activation="sigmoid")]), 0.3)
    assert largest_difference(model, tmp_path, normal_inputs((8,))) < TOLERANCE


# ----- recurrent layers -----------------------------------------------------------------------
RECURRENT_LAYERS = [
    lambda: nn.SimpleRNN(4),
    lambda: nn.SimpleRNN(4, activation="relu", return_sequences=True),
    lambda: nn.SimpleRNN(4, activation=None, go_backwards=True),
    lambda: nn.SimpleRNN(4, activation="sigmoid", return_sequences=True, go_backwards=True),
    lambda: nn.SimpleRNN(4, activation="elu", return_sequences=True),
    lambda: nn.LSTM(4),
    lambda: nn.LSTM(4, return_sequences=True, go_backwards=True),
    lambda: nn.LSTM(4, use_bias=False, recurrent_activation="hard_sigmoid"),
    lambda: nn.GRU(4),
    lambda: nn.GRU(4, return_sequences=True, go_backwards=True),
    lambda: nn.GRU(4, reset_after=False, return_sequences=True),
    lambda: nn.GRU(4, use_bias=False, activation="softsign"),
    lambda: nn.RNN(nn.LSTMCell(3), return_sequences=True),
    lambda: nn.RNN(nn.GRUCell(3, reset_after=False), go_backwards=True),
    lambda: nn.RNN(nn.SimpleRNNCell(3)),
]


@pytest.mark.parametrize("make_layer", RECURRENT_LAYERS,
                         ids=[f"{make().__class__.__name__}-{i}"
                              for i, make in enumerate(RECURRENT_LAYERS)])
def test_recurrent_layers(make_layer, tmp_path):
    model = one_layer((6, 3), make_layer(), 0.6)
    assert largest_difference(model, tmp_path, normal_inputs((6, 3))) < TOLERANCE


UNROLLED_LAYERS = [  # what ONNX's recurrent ops cannot express: the steps are unrolled
    lambda: nn.SimpleRNN(4, activation="gelu", return_sequences=True),
    lambda: nn.LSTM(4, activation="silu", go_backwards=True),
    lambda: nn.LSTM(4, recurrent_activation="hard_sigmoid", activation="relu6",
                    return_sequences=True, use_bias=False),
    lambda: nn.GRU(4, activation="swish", recurrent_activation="softsign", go_backwards=True),
    lambda: nn.GRU(4, activation="gelu", reset_after=False, return_sequences=True),
    lambda: nn.RNN([nn.GRUCell(3), nn.LSTMCell(4), nn.SimpleRNNCell(2)],
                   return_sequences=True),
]


@pytest.mark.parametrize("make_layer", UNROLLED_LAYERS,
                         ids=[f"{make().__class__.__name__}-{i}"
                              for i, make in enumerate(UNROLLED_LAYERS)])
def test_unrolled_recurrent_layers(make_layer, tmp_path):
    model = one_layer((6, 3), make_layer(), 0.6)
    assert largest_difference(model, tmp_path, normal_inputs((6, 3))) < TOLERANCE
    ops = {node.op_type for node in onnx.load(str(tmp_path / "model.onnx")).graph.node}
    assert not ops & {"RNN", "LSTM", "GRU"}


def test_stacked_cells_with_states_in_and_out(tmp_path):
    sequence, h0 = zen.Input((5, 3), name="sequence"), zen.Input((4,), name="h0")
    c0, g0 = zen.Input((4,), name="c0"), zen.Input((2,), name="g0")
    layer = nn.RNN([nn.LSTMCell(4), nn.GRUCell(2)], return_state=True, go_backwards=True)
    output, (h, c), g = layer(sequence, initial_state=[h0, c0, g0])  # states per cell
    model = randomize(zen.Model([sequence, h0, c0, g0], [output, h, c, g]), 0.6)
    inputs = normal_inputs((5, 3), (4,), (4,), (2,))
    assert largest_difference(model, tmp_path, inputs) < TOLERANCE


@pytest.mark.parametrize("make_layer", [lambda: nn.LSTM(4, return_state=True),
                                        lambda: nn.GRU(4, return_state=True,
                                                       return_sequences=True),
                                        lambda: nn.SimpleRNN(4, return_state=True,
                                                             go_backwards=True)])
def test_return_state_gives_every_output(make_layer, tmp_path):
    sequence = zen.Input((5, 3), name="sequence")
    results = make_layer()(sequence)
    model = randomize(zen.Model(sequence, results), 0.6)
    assert largest_difference(model, tmp_path, normal_inputs((5, 3))) < TOLERANCE
    assert len(onnx.load(str(tmp_path / "model.onnx")).graph.output) == len(results)


def test_initial_states_from_other_inputs_and_a_stacked_encoder_decoder(tmp_path):
    source, target = zen.Input((5, 3), name="source"), zen.Input((4, 2), name="target")
    _, h, c = nn.LSTM(4, return_state=True)(source)
    decoded = nn.LSTM(4, return_sequences=True)(target, initial_state=[h, c])
    gru = nn.GRU(4, return_sequences=True)(decoded, initial_state=[h])
    model = randomize(zen.Model([source, target], nn.Dense(2)(gru)), 0.6)
    assert largest_difference(model, tmp_path, normal_inputs((5, 3), (4, 2))) < TOLERANCE


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_merge_modes(merge_mode, return_sequences, tmp_path):
    sequence = zen.Input((5, 3))
    layer = nn.Bidirectional(nn.GRU(3, return_sequences=return_sequences),
                             merge_mode=merge_mode)
    model = randomize(zen.Model(sequence, layer(sequence)), 0.6)
    assert largest_difference(model, tmp_path, normal_inputs((5, 3))) < TOLERANCE


def test_bidirectional_with_states_and_a_given_backward_layer(tmp_path):
    sequence = zen.Input((5, 3))
    layer = nn.Bidirectional(nn.LSTM(3, return_state=True, return_sequences=True),
                             backward_layer=nn.LSTM(2, return_state=True,
                                                    return_sequences=True, go_backwards=True))
    model = randomize(zen.Model(sequence, layer(sequence)), 0.6)
    assert largest_difference(model, tmp_path, normal_inputs((5, 3))) < TOLERANCE


def test_bidirectional_stack_in_a_sequential(tmp_path):
    model = randomize(zen.Sequential([
        zen.Input((6, 3)), nn.Bidirectional(nn.LSTM(4, return_sequences=True)),
        nn.Bidirectional(nn.SimpleRNN(3), merge_mode="sum"), nn.Dense(2)]), 0.5)
    assert largest_difference(model, tmp_path, normal_inputs((6, 3))) < TOLERANCE


@pytest.mark.parametrize("sample_shape, make_layer", [
    ((4, 5), lambda: nn.TimeDistributed(nn.Dense(3, activation="tanh"))),
    ((3, 6, 5, 2), lambda: nn.TimeDistributed(nn.Conv2D(2, 3, padding="same"))),
    ((3, 6, 5, 2), lambda: nn.TimeDistributed(nn.Flatten())),
])
def test_time_distributed(sample_shape, make_layer, tmp_path):
    model = one_layer(sample_shape, make_layer())
    assert largest_difference(model, tmp_path, normal_inputs(sample_shape)) < TOLERANCE


def test_recurrent_at_the_newest_opset(tmp_path):
    model = one_layer((6, 3), nn.Bidirectional(nn.LSTM(4)), 0.6)
    assert largest_difference(model, tmp_path, normal_inputs((6, 3)), opset=21) < TOLERANCE


# ----- attention --------------------------------------------------------------------------------
def test_causal_self_attention(tmp_path):
    x = zen.Input((6, 8))
    y = nn.MultiHeadAttention(2, 4)(x, x, use_causal_mask=True)
    model = randomize(zen.Model(x, y))
    assert largest_difference(model, tmp_path, normal_inputs((6, 8))) < TOLERANCE


def test_cross_attention_with_key_scores_and_output_shape(tmp_path):
    query, value, key = zen.Input((6, 8)), zen.Input((4, 5)), zen.Input((4, 3))
    layer = nn.MultiHeadAttention(2, 3, value_dim=5, output_shape=(2, 3), use_bias=False)
    output, scores = layer(query, value, key=key, return_attention_scores=True)
    model = randomize(zen.Model([query, value, key], [output, scores]))
    inputs = normal_inputs((6, 8), (4, 5), (4, 3))
    assert largest_difference(model, tmp_path, inputs) < TOLERANCE


@pytest.mark.parametrize("scores", [False, True])
def test_attention_mask_input_with_a_causal_mask(scores, tmp_path):
    x, mask = zen.Input((5, 4)), zen.Input((5, 5), dtype="bool", name="mask")
    y = nn.MultiHeadAttention(2, 2)(x, x, attention_mask=mask, use_causal_mask=True,
                                    return_attention_scores=scores)
    model = randomize(zen.Model([x, mask], y))

    def inputs(batch, rng):
        allowed = (rng.random((batch, 5, 5)) < 0.6) | np.eye(5, dtype=bool)
        return [rng.standard_normal((batch, 5, 4)).astype(np.float32), allowed]

    assert largest_difference(model, tmp_path, inputs) < TOLERANCE


@pytest.mark.parametrize("scores", [False, True])
def test_key_padding_masks_and_a_query_that_may_attend_to_nothing(scores, tmp_path):
    """A (batch, S) attention mask and a value mask as inputs; a query that
    may attend to no key attends to every key alike in Zen's fused path and
    to none with return_attention_scores: the export follows both."""
    query, value = zen.Input((3, 4), name="query"), zen.Input((5, 4), name="value")
    padding = zen.Input((5,), dtype="bool", name="padding")
    value_mask = zen.Input((5,), dtype="bool", name="value_mask")
    y = nn.MultiHeadAttention(2, 3)(query, value, attention_mask=padding,
                                    value_mask=value_mask, return_attention_scores=scores)
    model = randomize(zen.Model([query, value, padding, value_mask], y))

    def inputs(batch, rng):
        allowed = rng.random((batch, 5)) < 0.7
        allowed[0] = False  # the first sample's queries may attend to nothing
        return [rng.standard_normal((batch, 3, 4)).astype(np.float32),
                rng.standard_normal((batch, 5, 4)).astype(np.float32), allowed,
                rng.random((batch, 5)) < 0.8]

    assert largest_difference(model, tmp_path, inputs) < TOLERANCE


def test_position_embedding(tmp_path):
    x = zen.Input((5, 4))
    model = randomize(zen.Model(x, nn.Add()([x, nn.PositionEmbedding(8)(x, start_index=2)])))
    assert largest_difference(model, tmp_path, normal_inputs((5, 4))) < TOLERANCE


# ----- operators on symbolic tensors --------------------------------------------------------
def test_arithmetic_and_indexing_operators(tmp_path):
    x, y = zen.Input((3, 4), name="x"), zen.Input((3, 4), name="y")
    outputs = [x + 1, 2 * x, x * y, x - y, 1 - x, x / 3, y / x, x ** 2, -x, abs(x),
               x[:, 0], x[:, None, 1:, ::-1], x[..., -1], x[:, -2:, 1:3], x[:, 1, ::2],
               x + np.arange(4, dtype=np.float32), x @ np.ones((4, 2), np.float32),
               x @ nn.Permute((2, 1))(y)]
    model = zen.Model([x, y], outputs)
    assert largest_difference(model, tmp_path, normal_inputs((3, 4), (3, 4))) < TOLERANCE


def test_comparisons_and_integer_operators(tmp_path):
    x, tokens = zen.Input((4,), name="x"), zen.Input((4,), dtype="int32", name="tokens")
    outputs = [x > 0, x <= 0.5, x == tokens, tokens != 0, tokens >= 2, tokens < x,
               tokens + 1, tokens * 3, tokens / 2, tokens * 0.5, x * (tokens != 0)]
    model = zen.Model([x, tokens], outputs)

    def inputs(batch, rng):
        return [rng.integers(-2, 3, (batch, 4)).astype(np.float32),
                rng.integers(-2, 3, (batch, 4)).astype(np.int32)]

    assert largest_difference(model, tmp_path, inputs) == 0.0


# ----- several inputs and outputs -----------------------------------------------------------
def test_three_inputs_and_dict_outputs(tmp_path):
    image = zen.Input((6, 6, 1), name="image")
    text = zen.Input((5, 3), name="text")
    extra = zen.Input((2,), name="extra")
    seen = nn.GlobalAveragePooling2D()(nn.Conv2D(3, 3, activation="relu")(image))
    read = nn.GRU(3)(text)
    shared = nn.Dense(3, activation="tanh")
    joined = nn.Concatenate()([shared(seen), shared(read), extra])
    model = randomize(zen.Model([image, text, extra], {
        "label": nn.Dense(4, activation="softmax")(joined),
        "score": nn.Dense(1)(joined) * 2.0 + read[:, :1]}))
    path = export_and_check(model, tmp_path)
    graph = onnx.load(str(path)).graph
    assert [i.name for i in graph.input] == ["image", "text", "extra"]
    assert [o.name for o in graph.output] == ["label", "score"]
    inputs = normal_inputs((6, 6, 1), (5, 3), (2,))
    assert largest_difference(model, tmp_path, inputs) < TOLERANCE


# ----- what cannot be exported ----------------------------------------------------------------
class EchoCell(nn.Layer):
    """A cell of one's own (no ONNX translation): its state is its input."""

    state_size = 3

    def call(self, inputs, states):
        return inputs, [inputs]


@pytest.mark.parametrize("make_layer, message", [
    (lambda: nn.LSTM(3, stateful=True, name="bad"), "layer 'bad' of class LSTM to ONNX: "
                                                     "stateful=True"),
    (lambda: nn.RNN(EchoCell(), name="bad"),
     "layer 'bad' of class RNN to ONNX: its cell EchoCell has no ONNX translation"),
    (lambda: nn.RNN([nn.GRUCell(2), EchoCell()], name="bad"),
     "layer 'bad' of class RNN to ONNX: its cell EchoCell"),
    (lambda: nn.GRU(3, activation="mish", name="bad"),
     "layer 'bad' of class GRU to ONNX: its activation 'mish'"),
    (lambda: nn.Bidirectional(nn.SimpleRNN(3, activation="mish"), name="bi"),
     "class SimpleRNN to ONNX: its activation 'mish'"),
    (lambda: nn.TimeDistributed(nn.Lambda(lambda x: x, name="bad")),
     "layer 'bad' of class Lambda to ONNX: export_onnx has no translation"),
    (lambda: nn.Masking(name="bad"), "layer 'bad' of class Masking to ONNX"),
])
def test_layers_that_cannot_be_exported_are_named(make_layer, message, tmp_path):
    sequence = zen.Input((4, 3))
    model = zen.Model(sequence, make_layer()(sequence))
    with pytest.raises(ValueError, match=message):
        export_onnx(model, tmp_path / "model.onnx")
    assert list(tmp_path.iterdir()) == []


def test_unrolled_steps_need_a_fixed_length(tmp_path):
    sequence = zen.Input((None, 3))
    model = zen.Model(sequence, nn.GRU(2, activation="gelu", name="bad")(sequence))
    with pytest.raises(ValueError, match="layer 'bad' of class GRU to ONNX: .*fixed length"):
        export_onnx(model, tmp_path / "model.onnx")
    assert list(tmp_path.iterdir()) == []


def test_an_embedding_that_masks_is_refused(tmp_path):
    tokens = zen.Input((4,), dtype="int32")
    embedded = nn.Embedding(10, 3, mask_zero=True, name="embed")(tokens)
    model = zen.Model(tokens, nn.LSTM(2)(embedded))
    with pytest.raises(ValueError, match="layer 'embed' of class Embedding to ONNX: mask_zero"):
        export_onnx(model, tmp_path / "model.onnx")
    assert list(tmp_path.iterdir()) == []


def test_a_center_crop_that_resizes_is_refused(tmp_path):
    model = zen.Sequential([zen.Input((2, 2, 1)), nn.CenterCrop(3, 3, name="crop")])
    with pytest.raises(ValueError, match="layer 'crop' of class CenterCrop to ONNX: only a crop"):
        export_onnx(model, tmp_path / "model.onnx")
    assert list(tmp_path.iterdir()) == []


# ----- the examples' models --------------------------------------------------------------------
def example(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pixels(shape):
    """Images as the examples feed them: values in [0, 1)."""
    return lambda batch, rng: [rng.random((batch, *shape), np.float32)]


def test_the_mnist_mlp(tmp_path):
    model = example("mnist_mlp").build_model()
    model.build((None, 784))
    randomize(model, 0.1)
    assert largest_difference(model, tmp_path, pixels((784,))) < TOLERANCE


@pytest.mark.parametrize("opset", [17, 18])
def test_the_mnist_resnet(opset, tmp_path):
    zen.set_seed(0)
    model = example("mnist_resnet").build_model(widths=(4, 8))
    randomize(model, 0.3)
    for layer in model.layers:  # BatchNorm's moving variances must stay positive
        if isinstance(layer, nn.BatchNorm):
            layer.moving_variance.value[...] = np.abs(layer.moving_variance.value) + 0.5
    assert largest_difference(model, tmp_path, pixels((28, 28, 1)), opset=opset) < TOLERANCE


@pytest.mark.parametrize("opset", [17, 21])
def test_the_char_transformer(opset, tmp_path):
    module = example("char_transformer")
    zen.set_seed(0)
    model = module.build_transformer(d_model=16, layers=1, heads=2)
    randomize(model, 0.3)

    def tokens(batch, rng):
        return [rng.integers(0, module.CLASSES, (batch, module.CONTEXT)).astype(np.int32)]

    assert largest_difference(model, tmp_path, tokens, opset=opset) < TOLERANCE


def test_a_mask_reduction_is_refused_by_name(tmp_path):
    pytest.importorskip("onnx")
    x = zen.Input((4, 3))
    keep = zen.nn.TensorOperation("any", axis=-1)(x != 0)
    model = zen.Model(x, [zen.nn.Dense(2)(x), keep])
    with pytest.raises(ValueError, match="reduction 'any'"):
        model.export(tmp_path / "m.onnx", format="onnx")
