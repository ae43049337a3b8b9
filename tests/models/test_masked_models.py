"""Masks through whole models: functional graphs, Sequential, subclassed
models and files carry them; losses and metrics of a padded batch equal
those of the unpadded sequences (Keras's mask-as-sample-weight)."""
import numpy as np
import pytest

import zen
from zen import nn
from zen.nn.losses import apply_mask
from zen.nn.masking import get_mask, with_mask

RNG = np.random.default_rng(0)
IDS = np.array([[3, 4, 5, 2, 0, 0], [1, 2, 0, 0, 0, 0], [7, 6, 5, 4, 3, 2]])
LENGTHS = [4, 2, 6]
REAL = IDS != 0


def text_model():
    """Embedding(mask_zero) -> BiLSTM -> self-attention -> masked mean -> Dense."""
    inputs = zen.Input((None,), dtype="int32")
    h = nn.Embedding(10, 8, mask_zero=True)(inputs)
    h = nn.Bidirectional(nn.LSTM(6, return_sequences=True))(h)
    h = nn.MultiHeadAttention(2, 4)(h, h)
    return zen.Model(inputs, nn.Dense(3)(nn.GlobalAveragePooling1D()(h)))


def tagger(loss="sparse_categorical_crossentropy", metrics=("accuracy",)):
    """A sequence-to-sequence model: one class per step."""
    inputs = zen.Input((None,), dtype="int32")
    h = nn.LSTM(8, return_sequences=True)(nn.Embedding(10, 8, mask_zero=True)(inputs))
    model = zen.Model(inputs, nn.Dense(4, activation="softmax")(h))
    model.compile(zen.optim.Adam(0.02), loss, metrics=list(metrics))
    return model


def test_a_padded_batch_predicts_what_each_sequence_alone_does(tmp_path):
    model = text_model()
    padded = model.predict(IDS, verbose=0)
    for b, length in enumerate(LENGTHS):
        alone = model.predict(IDS[b:b + 1, :length], verbose=0)
        np.testing.assert_allclose(padded[b], alone[0], atol=1e-5)
    model.save(tmp_path / "m.zen")
    np.testing.assert_array_equal(zen.load_model(tmp_path / "m.zen").predict(IDS, verbose=0),
                                  padded)


def test_an_explicit_boolean_mask_input_saves_and_loads(tmp_path):
    x, mask = zen.Input((5, 3)), zen.Input((5,), dtype="bool")
    model = zen.Model([x, mask], nn.GRU(4)(x, mask=mask))
    xs = RNG.normal(size=(2, 5, 3)).astype(np.float32)
    ms = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    out = model.predict([xs, ms], verbose=0)
    np.testing.assert_allclose(out[0], model.layers[-1](xs[:1, :3]).value[0], atol=1e-6)
    model.save(tmp_path / "b.zen")
    np.testing.assert_array_equal(zen.load_model(tmp_path / "b.zen").predict([xs, ms], verbose=0),
                                  out)


def test_models_take_a_mask_argument_and_a_subclassed_call_receives_it():
    xs = RNG.normal(size=(2, 5, 3)).astype(np.float32)
    ms = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1]], bool)
    seq = zen.Sequential([nn.LSTM(4)])
    seq(xs)
    np.testing.assert_allclose(seq(xs, mask=ms).value[0], seq(xs[:1, :2]).value[0], atol=1e-6)

    class Encoder(zen.Model):
        def __init__(self):
            super().__init__()
            self.rnn = nn.SimpleRNN(4)

        def call(self, x, mask=None):
            return self.rnn(x, mask=mask)

    encoder = Encoder()
    np.testing.assert_allclose(encoder(xs, mask=ms).value[0], encoder(xs[:1, :2]).value[0],
                               atol=1e-6)
    masked = with_mask(xs, ms)  # a mask the input carries reaches `call` too
    np.testing.assert_allclose(encoder(masked).value, encoder(xs, mask=ms).value)


def test_a_nested_model_passes_masks_on():
    inner_in = zen.Input((None, 8))
    inner = zen.Model(inner_in, nn.LSTM(5, return_sequences=True)(inner_in))
    inputs = zen.Input((None,), dtype="int32")
    outer = zen.Model(inputs, inner(nn.Embedding(10, 8, mask_zero=True)(inputs)))
    out = outer(IDS)
    assert (get_mask(out) == REAL).all()
    np.testing.assert_allclose(out.value[1, :2], outer(IDS[1:2, :2]).value[0], atol=1e-6)


def steps_of(model, ids):
    """The per-step predictions of the real steps, concatenated."""
    preds = model.predict(ids, verbose=0)
    return preds[ids != 0]


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy",
                                  zen.nn.losses.SparseCategoricalCrossentropy()],
                         ids=["function", "class"])
def test_masked_loss_and_metrics_equal_the_unpadded_values(loss):
    model = tagger(loss, metrics=("accuracy", "sparse_categorical_crossentropy"))
    targets = RNG.integers(0, 4, size=IDS.shape)
    result = model.evaluate(IDS, targets, return_dict=True, verbose=0)
    probs, labels = steps_of(model, IDS), targets[REAL]
    expected_loss = -np.log(probs[np.arange(len(labels)), labels]).mean()
    assert result["loss"] == pytest.approx(expected_loss, rel=1e-5)
    assert result["sparse_categorical_crossentropy"] == pytest.approx(expected_loss, rel=1e-5)
    assert result["accuracy"] == pytest.approx((probs.argmax(-1) == labels).mean())


def test_masked_loss_with_sample_weights():
    model = tagger()
    targets = RNG.integers(0, 4, size=IDS.shape)
    weights = np.array([1.0, 2.0, 0.5])
    loss = model.evaluate(IDS, targets, sample_weight=weights, verbose=0)[0]
    preds = model.predict(IDS, verbose=0)
    losses = -np.log(np.take_along_axis(preds, targets[..., None], -1)[..., 0])
    expected = (losses * weights[:, None] * REAL).sum() / REAL.sum()  # Keras's reduction
    assert loss == pytest.approx(expected, rel=1e-5)


def test_padding_does_not_change_the_gradient_of_a_masked_loss():
    model = tagger()
    targets = RNG.integers(0, 4, size=IDS.shape)
    padded = np.concatenate([IDS[:1], np.zeros((1, 3), int)], axis=1)
    loss = zen.nn.losses.SparseCategoricalCrossentropy()
    grads = []
    for ids in (IDS[:1], padded):
        steps = ids.shape[1]
        loss(np.pad(targets[:1], ((0, 0), (0, steps - 6))), model(ids, training=True)).backward()
        grads.append([p.gradient.copy() for p in model.parameters()])
        for p in model.parameters():
            p.gradient = None
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_a_masked_tagger_learns():
    targets = (IDS % 4) * REAL
    model = tagger()
    history = model.fit(np.repeat(IDS, 8, axis=0), np.repeat(targets, 8, axis=0), epochs=20,
                        batch_size=8, verbose=0).history
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["accuracy"][-1] > 0.9


def test_apply_mask_as_keras():
    mask = np.array([[True, True, False, False]])
    np.testing.assert_allclose(apply_mask(None, mask), [[2, 2, 0, 0]])
    np.testing.assert_allclose(apply_mask(None, mask, "sum"), [[1, 1, 0, 0]])
    np.testing.assert_allclose(apply_mask(np.array([3.0]), mask, "sum"), [[3, 3, 0, 0]])
    np.testing.assert_allclose(apply_mask(None, np.zeros((1, 2), bool)), [[0, 0]])
    assert apply_mask([1.0], None) == [1.0]
