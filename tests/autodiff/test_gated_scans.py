"""The fused LSTM and GRU scans against the same recurrences composed of
per-step ops (the step-by-step code zen.nn.LSTM and GRU ran before the scans,
kept here as the reference) and against float64 central differences."""
import numpy as np
import pytest

from zen import autodiff as ad
from zen.autodiff import Tensor, grad_check
from zen.nn import GRU, LSTM

rng = np.random.default_rng(0)


# ----- the reference: per-step compositions of existing ops -----------------------
def lstm_step(projected_x, h, c, recurrent_kernel):
    """One LSTM step, Keras's gate order i, f, g, o."""
    u = recurrent_kernel.shape[0]
    z = projected_x + h @ recurrent_kernel
    i = ad.sigmoid(z[:, :u])
    f = ad.sigmoid(z[:, u:2 * u])
    g = ad.tanh(z[:, 2 * u:3 * u])
    o = ad.sigmoid(z[:, 3 * u:])
    c = f * c + i * g
    h = o * ad.tanh(c)
    return h, c


def gru_step(projected_x, h, recurrent_kernel, recurrent_bias):
    """One GRU step, Keras's reset_after=True, gate order z, r, h."""
    u = recurrent_kernel.shape[0]
    inner = h @ recurrent_kernel + recurrent_bias
    zr = ad.sigmoid(projected_x[:, :2 * u] + inner[:, :2 * u])
    z, r = zr[:, :u], zr[:, u:]
    candidate = ad.tanh(projected_x[:, 2 * u:] + r * inner[:, 2 * u:])
    return z * h + (1 - z) * candidate


def composed_lstm(projected, h0, c0, recurrent_kernel):
    """lstm_scan step by step: (2, T, B, H), the h and c of every step."""
    h, c, hs, cs = h0, c0, [], []
    for t in range(projected.shape[0]):
        h, c = lstm_step(projected[t], h, c, recurrent_kernel)
        hs.append(h)
        cs.append(c)
    return ad.stack([ad.stack(hs), ad.stack(cs)])


def composed_gru(projected, h0, recurrent_kernel, recurrent_bias):
    """gru_scan step by step: (T, B, H)."""
    h, hs = h0, []
    for t in range(projected.shape[0]):
        h = gru_step(projected[t], h, recurrent_kernel, recurrent_bias)
        hs.append(h)
    return ad.stack(hs)


class ComposedLSTM(LSTM):
    """zen.nn.LSTM as it was before the fused scan: a loop of per-step ops."""

    def call(self, x, initial_state=None):
        h, c = self._initial_states(x.shape[0], x.dtype, initial_state)
        projected, outputs = self._project(x), []
        for t in range(len(projected)):
            h, c = lstm_step(projected[t], h, c, self.recurrent_kernel)
            outputs.append(h)
        output = ad.stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        return [output, h, c] if self.return_state else output


class ComposedGRU(GRU):
    """zen.nn.GRU as it was before the fused scan: a loop of per-step ops."""

    def call(self, x, initial_state=None):
        (h,) = self._initial_states(x.shape[0], x.dtype, initial_state)
        projected, recurrent_bias, outputs = self._project(x), self.bias[1], []
        for t in range(len(projected)):
            h = gru_step(projected[t], h, self.recurrent_kernel, recurrent_bias)
            outputs.append(h)
        output = ad.stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        return [output, h] if self.return_state else output


# ----- helpers ---------------------------------------------------------------------
def scan_inputs(kind, steps, batch, units=3):
    """float64 arrays for lstm_scan / gru_scan, in the order they take them."""
    gates = 4 if kind == "lstm" else 3
    projected = rng.normal(size=(steps, batch, gates * units))
    states = [rng.normal(size=(batch, units)) for _ in range(2 if kind == "lstm" else 1)]
    kernel = rng.normal(size=(units, gates * units)) * 0.6
    extra = [rng.normal(size=(gates * units,))] if kind == "gru" else []
    return [projected, *states, kernel, *extra]


SCANS = {"lstm": (ad.lstm_scan, composed_lstm), "gru": (ad.gru_scan, composed_gru)}


def values_and_gradients(fn, arrays, readout, seed=0):
    """fn(*tensors), read out, reduced with fixed random weights; returns the
    read-out values and the gradient of every input."""
    tensors = [Tensor(a.copy()) for a in arrays]
    out = readout(fn(*tensors))
    weights = np.random.default_rng(seed).uniform(0.5, 1.5, out.shape)
    (out * weights).sum().backward()
    return out.value, [t.gradient for t in tensors]


def assert_same(fused, composed):
    (value, grads), (want_value, want_grads) = fused, composed
    np.testing.assert_allclose(value, want_value, rtol=1e-12, atol=1e-13)
    for grad, want in zip(grads, want_grads):
        np.testing.assert_allclose(grad, want, rtol=1e-10, atol=1e-12)


# ----- the ops against their compositions --------------------------------------------
READOUTS = {  # what of the scan reaches the loss: the layer's outputs and more
    "lstm": {"every h and c": lambda s: s, "sequence": lambda s: s[0],
             "last h": lambda s: s[0, -1], "last h and c": lambda s: s[:, -1]},
    "gru": {"sequence": lambda s: s, "last h": lambda s: s[-1],
            "first and last": lambda s: s[0] * s[-1]},
}


@pytest.mark.parametrize("kind, readout", [(k, r) for k in READOUTS for r in READOUTS[k]])
@pytest.mark.parametrize("steps, batch", [(1, 1), (1, 3), (6, 1), (5, 4)])
def test_scan_equals_its_composition(kind, readout, steps, batch):
    fused, composed = SCANS[kind]
    arrays = scan_inputs(kind, steps, batch)
    read = READOUTS[kind][readout]
    assert_same(values_and_gradients(fused, arrays, read),
                values_and_gradients(composed, arrays, read))


@pytest.mark.parametrize("kind", SCANS)
@pytest.mark.parametrize("steps, batch", [(1, 2), (4, 1), (3, 2)])
def test_scan_gradients_against_central_differences(kind, steps, batch):
    grad_check(SCANS[kind][0], scan_inputs(kind, steps, batch, units=2))


@pytest.mark.parametrize("kind", SCANS)
def test_scan_without_gradients_for_the_weights(kind):
    """Frozen kernels (and bias): the other gradients are unchanged."""
    fused, composed = SCANS[kind]
    arrays = scan_inputs(kind, 4, 2)
    frozen = 3 if kind == "lstm" else 2

    def run(fn):
        tensors = [Tensor(a.copy(), trainable=i < frozen) for i, a in enumerate(arrays)]
        (fn(*tensors) ** 2).sum().backward()
        return [t.gradient for t in tensors]
    for grad, want in zip(run(fused), run(composed)):
        assert (grad is None) == (want is None)
        if want is not None:
            np.testing.assert_allclose(grad, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", SCANS)
def test_a_retained_graph_gives_the_same_gradients_twice(kind):
    tensors = [Tensor(a) for a in scan_inputs(kind, 3, 2)]
    loss = (SCANS[kind][0](*tensors) ** 2).sum()
    loss.backward(retain_graph=True)
    first = [t.gradient.copy() for t in tensors]
    loss.backward()
    for t, g in zip(tensors, first):
        np.testing.assert_allclose(t.gradient, 2 * g, rtol=1e-12)


@pytest.mark.parametrize("kind", SCANS)
@pytest.mark.parametrize("steps, batch, units", [(3, 1, 1), (1, 1, 2), (2, 3, 1)])
def test_the_scans_leave_their_inputs_as_they_were(kind, steps, batch, units):
    """The ops reorder and scale copies of the projections and the kernel, even
    where the reordering alone would be a view (one sample, one unit)."""
    arrays = scan_inputs(kind, steps, batch, units)
    before = [a.copy() for a in arrays]
    (SCANS[kind][0](*[Tensor(a) for a in arrays]) ** 2).sum().backward()
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", SCANS)
def test_float32_in_float32_out(kind):
    tensors = [Tensor(a.astype(np.float32)) for a in scan_inputs(kind, 3, 2)]
    out = SCANS[kind][0](*tensors)
    assert out.dtype == np.float32
    out.sum().backward()
    assert all(t.gradient.dtype == np.float32 for t in tensors)
    want = SCANS[kind][1](*[Tensor(t.value.astype(np.float64)) for t in tensors])
    np.testing.assert_allclose(out.value, want.value, rtol=1e-5, atol=1e-6)


def test_no_grad_records_nothing():
    with ad.no_grad():
        states = ad.lstm_scan(*[Tensor(a) for a in scan_inputs("lstm", 3, 2)])
    assert not states.trainable and states.shape == (2, 3, 2, 3)


@pytest.mark.parametrize("call, match", [
    (lambda: ad.lstm_scan(np.zeros((2, 1, 12)), np.zeros((1, 3)), np.zeros((1, 3)),
                          np.zeros((3, 9))), r"recurrent_kernel.shape=\(3, 9\)"),
    (lambda: ad.lstm_scan(np.zeros((2, 1, 8)), np.zeros((1, 3)), np.zeros((1, 3)),
                          np.zeros((3, 12))), r"projected.shape=\(2, 1, 8\)"),
    (lambda: ad.lstm_scan(np.zeros((0, 1, 12)), np.zeros((1, 3)), np.zeros((1, 3)),
                          np.zeros((3, 12))), r"time >= 1.*projected.shape=\(0, 1, 12\)"),
    (lambda: ad.lstm_scan(np.zeros((2, 1, 12)), np.zeros((1, 3)), np.zeros((2, 3)),
                          np.zeros((3, 12))), r"`c0`.*c0.shape=\(2, 3\)"),
    (lambda: ad.gru_scan(np.zeros((2, 1, 9)), np.zeros((1, 2)), np.zeros((3, 9)),
                         np.zeros(9)), r"`h0`.*h0.shape=\(1, 2\)"),
    (lambda: ad.gru_scan(np.zeros((2, 1, 9)), np.zeros((1, 3)), np.zeros((3, 9)),
                         np.zeros((2, 9))), r"recurrent_bias.shape=\(2, 9\)"),
])
def test_bad_shapes_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----- the layers against their step-by-step versions -------------------------------
def float64_layer(cls, x, seed, **kwargs):
    layer = cls(3, **kwargs)
    layer(x)
    weights = np.random.default_rng(seed)
    for p in layer.parameters():
        p.value = weights.normal(size=p.shape) * 0.7
    return layer


def run_layer(layer, x, initial_state):
    """The layer's outputs, and the gradients of x, the initial states and the
    weights, through a loss that uses every output."""
    inputs = Tensor(x)
    states = None if initial_state is None else [Tensor(s) for s in initial_state]
    out = layer(inputs, initial_state=states)
    outs = out if isinstance(out, list) else [out]
    loss = sum(((o * o).sum() * (k + 1) for k, o in enumerate(outs)), Tensor(0.0))
    for p in layer.parameters():
        p.zero_grad()
    loss.backward()
    leaves = [inputs, *(states or []), *layer.parameters()]
    return [o.value for o in outs], [t.gradient for t in leaves]


@pytest.mark.parametrize("fused_cls, composed_cls", [(LSTM, ComposedLSTM), (GRU, ComposedGRU)])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("return_state", [False, True])
@pytest.mark.parametrize("with_initial_state", [False, True])
@pytest.mark.parametrize("steps, batch", [(1, 1), (5, 2)])
def test_layer_equals_the_step_by_step_layer(fused_cls, composed_cls, return_sequences,
                                             return_state, with_initial_state, steps, batch):
    x = rng.normal(size=(batch, steps, 2))
    options = {"return_sequences": return_sequences, "return_state": return_state}
    fused, composed = (float64_layer(cls, x, seed=1, **options)
                       for cls in (fused_cls, composed_cls))
    initial_state = None
    if with_initial_state:
        initial_state = [rng.normal(size=(batch, 3)) for _ in fused.state_names]
    outs, grads = run_layer(fused, x, initial_state)
    want_outs, want_grads = run_layer(composed, x, initial_state)
    assert [o.shape for o in outs] == [o.shape for o in want_outs]
    for a, b in zip(outs + grads, want_outs + want_grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
