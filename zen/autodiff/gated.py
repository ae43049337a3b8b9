"""The LSTM and GRU recurrences over all time steps, each as one fused op.

The input projection x_t @ W + b of all steps is one matmul made outside
(time-major, so each step's slice is contiguous). Inside, each step is one
matmul h_{t-1} @ U into a preallocated buffer and the gate nonlinearities
applied in place; the gate activations are kept for backward. Backward is
backpropagation through time: each step back costs a few products (on
numpy's path the gates' local derivatives are computed for every step at
once, batched over time) and one matmul dz_t @ U^T, and the
recurrent-kernel gradient is a single matmul over all steps at the end.
With zen.kernels, backward is one call for all the steps, their products
included, forming the local derivatives on the way; so is a float32
forward pass without a mask (see zen.kernels).

The same recurrences composed of per-step ops (a slice per gate, sigmoid,
tanh, products) give the same values and gradients, only slower: the tests
keep that composition as the reference.
"""
from .. import kernels
from ..backend import xp
from .recurrent import StepMask, _step_mask
from .tensor import Function


def _sigmoid_(z):
    """sigmoid(z) in place, written with tanh (no overflow for large |z|)."""
    z *= 0.5
    xp.tanh(z, out=z)
    z *= 0.5
    z += 0.5
    return z


# Inside the ops every step's gates are kept gate-major, (gates, batch, units),
# so that each gate is one contiguous block: numpy's elementwise ops run
# several times faster on those than on the column slices of a (batch,
# gates * units) array. A batched matmul with the recurrent kernel split by
# gate writes that layout directly. The projected inputs are reordered in one
# copy per call; backward copies each step's gate gradients back into Keras's
# (batch, gates * units) layout, where one matmul with U^T takes them.
def _by_gate(a, gates):
    """(T, B, gates * H) -> a (T, gates, B, H) copy."""
    steps, batch, width = a.shape
    return xp.ascontiguousarray(a.reshape(steps, batch, gates, width // gates)
                                .transpose(0, 2, 1, 3))


def _kernel_by_gate(u, gates):
    """U (H, gates * H) -> (gates, H, H), [k] = U_k, the columns of gate k."""
    units = u.shape[0]
    return xp.ascontiguousarray(u.reshape(units, gates, units).transpose(1, 0, 2))


def _lstm_gate_affine(batch, units, dtype):
    """(scale, shift) with tanh(z * scale) * scale + shift = sigmoid(z) on the
    i, f, o blocks and tanh(z) on the g block: all four gates of a step in four
    in-place calls, since sigmoid(z) = tanh(z / 2) / 2 + 1 / 2. Full-size
    arrays, as numpy's broadcasting loops are slower on small operands."""
    scale = xp.full((4, batch, units), 0.5, dtype)
    shift = xp.full((4, batch, units), 0.5, dtype)
    scale[2], shift[2] = 1.0, 0.0
    return scale, shift


class LSTMScan(Function):
    """All the hidden and cell states of an LSTM, Keras's gate order i, f, g, o:

        i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (p_t + h_{t-1} @ U)
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)

    Inputs: projected (T, B, 4H) = x_t @ W + b, time-major; h0, c0 (B, H);
    U (H, 4H). Output: (2, T, B, H), [0] the states h_1 .. h_T and [1] the
    cell states c_1 .. c_T (a gradient may reach any of them). With `mask`
    (T, B) booleans, a masked step keeps both previous states.
    """

    def __init__(self, mask=None):
        self.mask = mask

    def forward(self, projected, h0, c0, u):
        steps, batch, width = projected.shape
        units, dtype = width // 4, projected.dtype
        u_by_gate = _kernel_by_gate(u, 4)
        gates = xp.empty((steps, 4, batch, units), dtype)    # i, f, g, o of every step
        states = xp.empty((2, steps + 1, batch, units), dtype)
        hs, cs = states                                       # hs[t], cs[t]: after step t
        hs[0], cs[0] = h0, c0
        tanh_c = xp.empty((steps, batch, units), dtype)
        masked = StepMask(self.mask, dtype)
        self.gates, self.hs, self.cs, self.tanh_c, self.u = gates, hs, cs, tanh_c, u
        self.masked = masked
        if not masked.active and dtype == xp.float32 and kernels.scans(h0, projected, u_by_gate):
            # zen.kernels: every step in one call, its products and tanh included
            kernels.lstm_forward(projected, u_by_gate, hs, cs, gates, tanh_c)
            return states[:, 1:]
        p = _by_gate(projected, 4)
        scale, shift = _lstm_gate_affine(batch, units, dtype)
        input_write = xp.empty((batch, units), dtype)         # i * g, reused each step
        fast = kernels.applies(p, u_by_gate)
        for t in range(steps):
            z = xp.matmul(hs[t], u_by_gate, out=gates[t])     # z = p_t + h_{t-1} @ U
            if fast:  # zen.kernels: the same numpy calls as below, fused in two
                kernels.lstm_gate_inputs(t, p, scale, z)
                xp.tanh(z, out=z)
                kernels.lstm_cell(z, scale, shift, cs[t], cs[t + 1])
            else:
                z += p[t]
                z *= scale                                    # the gates, in place
                xp.tanh(z, out=z)
                z *= scale
                z += shift
                i, f, g, _ = z
                c = xp.multiply(f, cs[t], out=cs[t + 1])      # c_t = f * c_{t-1} + i * g
                c += xp.multiply(i, g, out=input_write)
            # h_t = o * tanh(c_t)
            xp.multiply(z[3], xp.tanh(cs[t + 1], out=tanh_c[t]), out=hs[t + 1])
            masked.keep_previous(hs, t)
            masked.keep_previous(cs, t)
        return states[:, 1:]

    def backward(self, gradient):
        gates, hs, tanh_c = self.gates, self.hs, self.tanh_c
        steps, _, batch, units = gates.shape
        dz = xp.empty((steps, batch, 4 * units), gates.dtype)  # d(projected), Keras's layout
        dh = xp.zeros_like(hs[0])                             # dL/dh_t, dL/dc_t so far
        dc = xp.zeros_like(hs[0])
        masked = self.masked
        if not masked.active and kernels.scans(dh, gates, gradient, self.u):
            # zen.kernels: the loop below in one call, its products included
            kernels.lstm_backward(gradient, gates, tanh_c, self.cs[:-1], self.u, dh, dc, dz)
            return dz, dh, dc, self._recurrent_gradient(dz)
        u_t = xp.ascontiguousarray(self.u.T)
        i, f, g, o = gates.transpose(1, 0, 2, 3)              # each (T, B, H)
        # Local derivatives of every step, batched over time:
        #   dz_i = dc_t * g * i(1 - i)         dz_f = dc_t * c_{t-1} * f(1 - f)
        #   dz_g = dc_t * i * (1 - g^2)        dz_o = dh_t * tanh(c_t) * o(1 - o)
        # and the path h_t -> c_t:  dc_t += dh_t * o * (1 - tanh(c_t)^2).
        local = xp.empty_like(gates)
        xp.multiply(g, i * (1 - i), out=local[:, 0])
        xp.multiply(self.cs[:-1], f * (1 - f), out=local[:, 1])
        xp.multiply(i, 1 - g * g, out=local[:, 2])
        xp.multiply(tanh_c, o * (1 - o), out=local[:, 3])
        c_from_h = o * (1 - tanh_c * tanh_c)
        dz_by_gate = dz.reshape(steps, batch, 4, units).transpose(0, 2, 1, 3)
        d = xp.empty_like(gates[0])                           # dz_i, dz_f, dz_g, dz_o of a step
        for t in reversed(range(steps)):
            dh += gradient[0, t]
            dc += gradient[1, t]
            kept_h, kept_c = masked.split(dh, t), masked.split(dc, t)
            dc += dh * c_from_h[t]
            for k in range(3):
                xp.multiply(dc, local[t, k], out=d[k])
            xp.multiply(dh, local[t, 3], out=d[3])
            dc *= f[t]                                        # dc_{t-1} = dc_t * f
            dz_by_gate[t] = d
            xp.matmul(dz[t], u_t, out=dh)                     # dh_{t-1} = dz_t @ U^T
            masked.add_kept(dh, kept_h)
            masked.add_kept(dc, kept_c)
        return dz, dh, dc, self._recurrent_gradient(dz)

    def _recurrent_gradient(self, dz):
        """dU = sum_t h_{t-1}^T @ dz_t, one matmul (None where U needs none)."""
        if not self.needs_grad[3]:
            return None
        units = self.hs.shape[-1]
        return self.hs[:-1].reshape(-1, units).T @ dz.reshape(-1, 4 * units)


class GRUScan(Function):
    """All the hidden states of a GRU, Keras's reset_after=True variant (gate
    order z, r, h; the reset gate multiplies the recurrent projection):

        xz, xr, xh = split(p_t);  hz, hr, hh = split(h_{t-1} @ U + b_rec)
        z = sigmoid(xz + hz);  r = sigmoid(xr + hr);  n = tanh(xh + r * hh)
        h_t = z * h_{t-1} + (1 - z) * n

    Inputs: projected (T, B, 3H) = x_t @ W + b_input, time-major; h0 (B, H);
    U (H, 3H); b_rec (3H,). Output: (T, B, H), the states h_1 .. h_T. With
    `mask` (T, B) booleans, a masked step keeps the previous state.
    """

    def __init__(self, mask=None):
        self.mask = mask

    def forward(self, projected, h0, u, recurrent_bias):
        steps, batch, width = projected.shape
        units, dtype = width // 3, projected.dtype
        u_by_gate = _kernel_by_gate(u, 3)
        hs = xp.empty((steps + 1, batch, units), dtype)      # hs[t]: after step t
        hs[0] = h0
        inner = xp.empty((steps, 3, batch, units), dtype)    # hz, hr, hh of every step
        zr = xp.empty((steps, 2, batch, units), dtype)        # the gates z, r
        candidate = xp.empty((steps, batch, units), dtype)    # n
        masked = StepMask(self.mask, dtype)
        self.hs, self.inner, self.zr, self.candidate, self.u = hs, inner, zr, candidate, u
        self.masked = masked
        if (not masked.active and dtype == xp.float32
                and kernels.scans(h0, projected, u_by_gate, recurrent_bias)):
            # zen.kernels: every step in one call, its products and tanh included
            kernels.gru_forward(projected, u_by_gate, recurrent_bias, hs, inner, zr, candidate)
            return hs[1:]
        p = _by_gate(projected, 3)
        bias = xp.empty((3, batch, units), dtype)             # b_rec, broadcast once
        bias[...] = recurrent_bias.reshape(3, 1, units)
        fast = kernels.applies(p, u_by_gate)
        for t in range(steps):
            m = xp.matmul(hs[t], u_by_gate, out=inner[t])     # h_{t-1} @ U + b_rec
            if fast:  # zen.kernels: the same numpy calls as below, fused in three
                kernels.gru_gate_inputs(t, p, bias, m, zr)
                xp.tanh(zr[t], out=zr[t])
                kernels.gru_candidate(t, p, m, zr, candidate)
                xp.tanh(candidate[t], out=candidate[t])
                kernels.gru_state(t, hs, zr, candidate)
            else:
                m += bias
                z, r = _sigmoid_(xp.add(p[t, :2], m[:2], out=zr[t]))
                n = xp.multiply(r, m[2], out=candidate[t])    # n = tanh(xh + r * hh)
                n += p[t, 2]
                xp.tanh(n, out=n)
                h = xp.subtract(hs[t], n, out=hs[t + 1])      # h_t = n + z * (h_{t-1} - n)
                h *= z
                h += n
            masked.keep_previous(hs, t)
        return hs[1:]

    def backward(self, gradient):
        hs, n = self.hs, self.candidate
        steps, batch, units = n.shape
        z, r = self.zr[:, 0], self.zr[:, 1]
        hh = self.inner[:, 2]
        d_inner = xp.empty((steps, batch, 3 * units), n.dtype)  # d(h_{t-1} @ U + b_rec)
        d_xh = xp.empty_like(n)                               # dn_pre of every step
        dh = xp.zeros_like(hs[0])                             # dL/dh_t so far
        masked = self.masked
        if not masked.active and kernels.scans(dh, n, gradient, self.u):
            # zen.kernels: the loop below in one call, its products included
            kernels.gru_backward(gradient, hs[:-1], self.zr, n, hh, self.u, dh, d_inner, d_xh)
            return self._gradients(d_inner, d_xh, dh)
        u_t = xp.ascontiguousarray(self.u.T)
        through_z = xp.empty_like(dh)                         # dh_t * z, reused each step
        # Local derivatives of every step, batched over time:
        #   dn_pre = dh_t * (1 - z)(1 - n^2)           (n's pre-activation, also dxh)
        #   dz_pre = dh_t * (h_{t-1} - n) * z(1 - z)   (dxz = dhz)
        #   dr_pre = dn_pre * hh * r(1 - r)            (dxr = dhr)
        #   dhh = dn_pre * r;   dh_{t-1} = dh_t * z + d(hz, hr, hh) @ U^T
        n_local = (1 - z) * (1 - n * n)
        z_local = (hs[:-1] - n) * z * (1 - z)
        r_local = hh * r * (1 - r)
        d_inner_by_gate = d_inner.reshape(steps, batch, 3, units).transpose(0, 2, 1, 3)
        d = xp.empty((3, batch, units), n.dtype)              # dhz, dhr, dhh of a step
        for t in reversed(range(steps)):
            dh += gradient[t]
            kept = masked.split(dh, t)
            dn = xp.multiply(dh, n_local[t], out=d_xh[t])    # dn_pre
            xp.multiply(dh, z_local[t], out=d[0])             # dz_pre
            xp.multiply(dn, r_local[t], out=d[1])             # dr_pre
            xp.multiply(dn, r[t], out=d[2])                   # dhh
            xp.multiply(dh, z[t], out=through_z)
            d_inner_by_gate[t] = d
            xp.matmul(d_inner[t], u_t, out=dh)                # dh_{t-1} = d @ U^T + dh_t * z
            dh += through_z
            masked.add_kept(dh, kept)
        return self._gradients(d_inner, d_xh, dh)

    def _gradients(self, d_inner, d_xh, dh):
        """(d projected, d h0, dU, d b_rec) from every step's d_inner and dn_pre."""
        units = dh.shape[-1]
        d_projected = d_inner.copy()                          # dxz, dxr = dhz, dhr
        d_projected[..., 2 * units:] = d_xh
        flat = d_inner.reshape(-1, 3 * units)
        du = self.hs[:-1].reshape(-1, units).T @ flat if self.needs_grad[2] else None
        db = flat.sum(axis=0) if self.needs_grad[3] else None
        return d_projected, dh, du, db


def lstm_scan(projected, h0, c0, recurrent_kernel, mask=None):
    """The LSTM recurrence over all steps (see LSTMScan); returns a (2, T, B, H)
    Tensor: `[0]` the hidden states h_1 .. h_T, `[1]` the cell states. With
    `mask` ((T, B) booleans), a masked step keeps both states.

    Example:
        states = lstm_scan(x_tm @ kernel + bias, h0, c0, recurrent_kernel)
        h_last, c_last = states[0, -1], states[1, -1]
    """
    _check_scan_shapes("lstm_scan", 4, projected, recurrent_kernel, h0=h0, c0=c0)
    return LSTMScan.apply(projected, h0, c0, recurrent_kernel, mask=_step_mask(mask, projected))


def gru_scan(projected, h0, recurrent_kernel, recurrent_bias, mask=None):
    """The GRU recurrence (reset_after=True) over all steps (see GRUScan);
    returns the (T, B, H) hidden states. With `mask` ((T, B) booleans), a
    masked step keeps the state.

    Example:
        states = gru_scan(x_tm @ kernel + bias[0], h0, recurrent_kernel, bias[1])
    """
    _check_scan_shapes("gru_scan", 3, projected, recurrent_kernel, h0=h0)
    units = recurrent_kernel.shape[0]
    if recurrent_bias.shape != (3 * units,):
        raise ValueError(f"gru_scan: expected a recurrent bias of shape {(3 * units,)}. "
                         f"Received: recurrent_bias.shape={recurrent_bias.shape}")
    return GRUScan.apply(projected, h0, recurrent_kernel, recurrent_bias,
                         mask=_step_mask(mask, projected))


def _check_scan_shapes(op, gates, projected, recurrent_kernel, **states):
    """projected (T >= 1, B, gates * H), U (H, gates * H), each state (B, H)."""
    shape, kernel = tuple(projected.shape), tuple(recurrent_kernel.shape)
    if len(kernel) != 2 or kernel[1] != gates * kernel[0]:
        raise ValueError(f"{op}: expected a recurrent kernel of shape (units, {gates} * units). "
                         f"Received: recurrent_kernel.shape={kernel}")
    units = kernel[0]
    if len(shape) != 3 or shape[0] < 1 or shape[2] != gates * units:
        raise ValueError(f"{op}: expected projected inputs of shape (time >= 1, batch, "
                         f"{gates * units}). Received: projected.shape={shape}")
    for name, state in states.items():
        if tuple(state.shape) != (shape[1], units):
            raise ValueError(f"{op}: expected `{name}` of shape {(shape[1], units)}. "
                             f"Received: {name}.shape={tuple(state.shape)}")
