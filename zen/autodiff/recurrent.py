"""The simple recurrence h_t = act(p_t + h_{t-1} @ U) over all time steps as
one fused op: its backward is backpropagation through time with the weight
gradient batched over the steps (one matmul, not one per step).

A composition of per-step ops computes the same thing (zen.nn.RNN does so
for activations this op does not know); fusing removes the per-step graph
nodes, which dominate the cost of a small recurrent layer. With
zen.kernels and tanh, backward runs all the steps in one call, and so does
a float32 forward pass without a mask (see zen.kernels).
"""
from .. import kernels
from ..backend import xp
from .tensor import Function

# activation: (apply in place to z, derivative from the activation's output y)
ACTIVATIONS = {
    "tanh": (lambda z: xp.tanh(z, out=z), lambda y: 1 - y * y),
    "sigmoid": (lambda z: _sigmoid_inplace(z), lambda y: y * (1 - y)),
    "relu": (lambda z: xp.maximum(z, 0, out=z), lambda y: y > 0),
    "linear": (lambda z: z, None),
}


def _sigmoid_inplace(z):
    z *= 0.5
    xp.tanh(z, out=z)
    z += 1
    z *= 0.5
    return z


class RNNScan(Function):
    """All the hidden states of a simple RNN.

    Inputs: projected (T, B, H) = x_t @ W + b, time-major; h0 (B, H); U (H, H).
    Output: (T, B, H), the states h_1 .. h_T. With `mask` (T, B) booleans, a
    masked step keeps the previous state (see StepMask).
    """

    def __init__(self, activation="tanh", mask=None):
        self.activate, self.derivative = ACTIVATIONS[activation]
        self.tanh = activation == "tanh"
        self.mask = mask

    def forward(self, projected, h0, u):
        steps = projected.shape[0]
        states = xp.empty((steps + 1, *h0.shape), projected.dtype)
        states[0] = h0
        masked = StepMask(self.mask, projected.dtype)
        self.states, self.u, self.masked = states, u, masked
        if (self.tanh and not masked.active and projected.dtype == xp.float32
                and u.flags.c_contiguous and kernels.scans(h0, projected, u)):
            # zen.kernels: every step in one call, its products and tanh included
            kernels.rnn_tanh_forward(projected, states, u)
            return states[1:]
        for t in range(steps):
            z = xp.matmul(states[t], u, out=states[t + 1])
            z += projected[t]
            self.activate(z)
            masked.keep_previous(states, t)
        return states[1:]

    def backward(self, g):
        states, u, masked = self.states, self.u, self.masked
        dz = xp.empty(g.shape, g.dtype)  # C order whatever g's (the kernel's products need it)
        dh = xp.zeros_like(states[0])
        # dL/dU = sum_t h_{t-1}^T dz_t, added up step by step: 0.6x the time
        # of one product over all the steps ((64, 1600) x (1600, 64)) in a kernel
        du = xp.zeros_like(u) if self.needs_grad[2] else None
        if self.tanh and not masked.active and kernels.scans(dh, g, states, u):
            # zen.kernels: the loop below in one call, its products included
            kernels.rnn_tanh_backward(g, states, u, dh, dz, du)
            return dz, dh, du
        u_t = xp.ascontiguousarray(u.T)  # BLAS is faster on it than on the strided u.T
        product = None if du is None else xp.empty_like(du)
        # every step's local derivative at once, and the steps a gradient
        # reaches from outside (often only the last): a step back is then two
        # or three calls
        derivative = None if self.derivative is None else self.derivative(states[1:])
        outside = g.any(axis=tuple(range(1, g.ndim)))
        for t in reversed(range(len(g))):
            if outside[t]:
                dh += g[t]
            kept = masked.split(dh, t)
            if derivative is None:
                dz[t] = dh
            else:
                xp.multiply(dh, derivative[t], out=dz[t])
            if du is not None:
                du += xp.matmul(states[t].T, dz[t], out=product)
            xp.matmul(dz[t], u_t, out=dh)
            masked.add_kept(dh, kept)
        return dz, dh, du


class StepMask:
    """The masked steps of a scan, from a (T, B) boolean mask (None: every
    step is real). A masked step keeps the previous states (Keras's masked
    recurrence): forward copies them over the new ones; backward splits the
    gradient reaching a step's state into the part that goes through the step
    (real samples) and the part kept for the previous state (masked ones)."""

    def __init__(self, mask, dtype):
        self.active = mask is not None
        if self.active:
            self.skip = ~xp.asarray(mask, bool)[..., None]              # (T, B, 1)
            self.real = (~self.skip).astype(dtype)
            self.kept = self.skip.astype(dtype)

    def keep_previous(self, states, t) -> None:
        """states[t + 1] = states[t] on the samples whose step t is masked."""
        if self.active:
            xp.copyto(states[t + 1], states[t], where=self.skip[t])

    def split(self, gradient, t):
        """Zero `gradient` (in place) on the masked samples of step t;
        return what was removed (the previous state's), or None."""
        if not self.active:
            return None
        kept = gradient * self.kept[t]
        gradient *= self.real[t]
        return kept

    @staticmethod
    def add_kept(gradient, kept) -> None:
        if kept is not None:
            gradient += kept


def rnn_scan(projected, h0, recurrent_kernel, activation="tanh", mask=None):
    """h_t = activation(projected[t] + h_{t-1} @ recurrent_kernel) for every t;
    returns the (T, B, H) states. `activation` is one of ACTIVATIONS; with
    `mask` ((T, B) booleans), a masked step keeps h_{t-1}."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"rnn_scan knows the activations {sorted(ACTIVATIONS)}; "
                         f"received {activation!r}")
    return RNNScan.apply(projected, h0, recurrent_kernel, activation=activation,
                         mask=_step_mask(mask, projected))


def _step_mask(mask, projected):
    """`mask` checked as (T, B) booleans; None where every step is real."""
    if mask is None:
        return None
    mask = xp.asarray(getattr(mask, "value", mask)).astype(bool, copy=False)
    if mask.shape != tuple(projected.shape[:2]):
        raise ValueError(f"Expected a step mask of shape {tuple(projected.shape[:2])} "
                         f"(time, batch). Received: mask.shape={mask.shape}")
    return None if mask.all() else mask
