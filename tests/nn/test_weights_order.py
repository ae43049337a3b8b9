"""Every layer's get_weights() follows Keras's order and shapes for that
layer, so weights move between Keras and Zen layer by layer."""
import numpy as np
import pytest

from zen import nn

CASES = [  # layer, input shape, Keras's weights in order
    (lambda: nn.Dense(4), (2, 3), [(3, 4), (4,)]),
    (lambda: nn.Conv2D(5, 3), (1, 6, 6, 2), [(3, 3, 2, 5), (5,)]),
    (lambda: nn.Conv2DTranspose(5, 3), (1, 4, 4, 2), [(3, 3, 5, 2), (5,)]),
    (lambda: nn.Conv1D(5, 3), (1, 6, 2), [(3, 2, 5), (5,)]),
    (lambda: nn.BatchNorm(), (4, 3), [(3,), (3,), (3,), (3,)]),
    (lambda: nn.LayerNorm(), (4, 3), [(3,), (3,)]),
    (lambda: nn.Embedding(10, 4), (2, 5), [(10, 4)]),
    (lambda: nn.SimpleRNN(4), (2, 5, 3), [(3, 4), (4, 4), (4,)]),
    (lambda: nn.LSTM(4), (2, 5, 3), [(3, 16), (4, 16), (16,)]),
    (lambda: nn.GRU(4), (2, 5, 3), [(3, 12), (4, 12), (2, 12)]),
    (lambda: nn.Bidirectional(nn.LSTM(4)), (2, 5, 3),
     [(3, 16), (4, 16), (16,), (3, 16), (4, 16), (16,)]),
    (lambda: nn.TimeDistributed(nn.Dense(4)), (2, 5, 3), [(3, 4), (4,)]),
]


@pytest.mark.parametrize("make, input_shape, shapes", CASES)
def test_weights_in_keras_order(make, input_shape, shapes):
    layer = make()
    x = np.zeros(input_shape, np.float32) if not isinstance(layer, nn.Embedding) \
        else np.zeros(input_shape, np.int64)
    layer(x)
    weights = layer.get_weights()
    assert [w.shape for w in weights] == shapes
    layer.set_weights([np.full(w.shape, i, np.float32) for i, w in enumerate(weights)])
    assert [float(w.flat[0]) for w in layer.get_weights()] == list(range(len(shapes)))


def test_named_weights_of_batch_norm_are_keras_names():
    layer = nn.BatchNorm()
    layer(np.zeros((2, 3), np.float32))
    assert [name for name, _ in layer.named_tensors()] == [
        "gamma", "beta", "moving_mean", "moving_variance"]


def test_set_weights_checks_count_and_shapes():
    layer = nn.Dense(2)
    layer(np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match="has 2 weights, received a list of 1"):
        layer.set_weights([np.zeros((3, 2))])
    with pytest.raises(ValueError, match=r"weight 1 \('bias'\) has shape \(2,\)"):
        layer.set_weights([np.zeros((3, 2)), np.zeros(3)])
    with pytest.raises(ValueError, match="not been built"):
        nn.Dense(2).set_weights([])
