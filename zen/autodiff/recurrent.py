"""The simple recurrence h_t = act(p_t + h_{t-1} @ U) over all time steps as
one fused op: its backward is backpropagation through time with the weight
gradient batched over the steps (one matmul, not one per step).

A composition of per-step ops computes the same thing (zen.nn.RNN does so
for activations this op does not know); fusing removes the per-step graph
nodes, which dominate the cost of a small recurrent layer.
"""
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
    Output: (T, B, H), the states h_1 .. h_T.
    """

    def __init__(self, activation="tanh"):
        self.activate, self.derivative = ACTIVATIONS[activation]

    def forward(self, projected, h0, u):
        steps = projected.shape[0]
        states = xp.empty((steps + 1, *h0.shape), projected.dtype)
        states[0] = h0
        for t in range(steps):
            z = xp.matmul(states[t], u, out=states[t + 1])
            z += projected[t]
            self.activate(z)
        self.states, self.u = states, u
        return states[1:]

    def backward(self, g):
        states, u = self.states, self.u
        u_t = xp.ascontiguousarray(u.T)  # BLAS is faster on it than on the strided u.T
        dz = xp.empty_like(g)
        dh = xp.zeros_like(states[0])
        for t in reversed(range(len(g))):
            dh += g[t]
            dz[t] = dh if self.derivative is None else dh * self.derivative(states[t + 1])
            dh = dz[t] @ u_t
        units = u.shape[0]
        du = states[:-1].reshape(-1, units).T @ dz.reshape(-1, units) if self.needs_grad[2] else None
        return dz, dh, du


def rnn_scan(projected, h0, recurrent_kernel, activation="tanh"):
    """h_t = activation(projected[t] + h_{t-1} @ recurrent_kernel) for every t;
    returns the (T, B, H) states. `activation` is one of ACTIVATIONS."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"rnn_scan knows the activations {sorted(ACTIVATIONS)}; "
                         f"received {activation!r}")
    return RNNScan.apply(projected, h0, recurrent_kernel, activation=activation)
