"""Pieces the hand-written numpy references share: Keras's initialisers (so
that every version starts from the same kind of weights), an in-place Adam
with preallocated buffers, the fused softmax cross-entropy, and the training
step of a recurrent layer with Dense(1) on its last state (LSTM, GRU).

Everything is float32 and writes into arrays allocated once, as a careful
numpy programmer would write a training loop: this is the speed Zen is
measured against.
"""
import numpy as np

F32 = np.float32


# ----- initial weights (numpy's own generator: no Zen import needed) ----------
def glorot_uniform(rng, shape):
    """U(-l, l), l = sqrt(6 / (fan_in + fan_out)); a conv kernel (kh, kw, in,
    out) multiplies both fans by kh * kw, as Keras does."""
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
    limit = np.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape).astype(F32)


def orthogonal(rng, shape):
    """An orthogonal matrix (QR of a Gaussian one), Keras's recurrent default;
    a wide one (rows < columns, e.g. an LSTM's (units, 4 units)) has
    orthonormal rows, as Keras makes it (QR of the transpose)."""
    rows, cols = shape
    q, r = np.linalg.qr(rng.normal(size=(max(rows, cols), min(rows, cols))))
    q = q * np.sign(np.diag(r))
    return (q.T if rows < cols else q).astype(F32)


def zeros(shape):
    return np.zeros(shape, F32)


# ----- Adam ----------------------------------------------------------------------
class Adam:
    """Adam (Kingma & Ba, 2015) with PyTorch's arithmetic, in place:

        m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
        p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

    `m`, `v` and one scratch array per parameter are allocated once.
    """

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.params = params
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.scratch = [np.empty_like(p) for p in params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        step_size = self.lr / (1 - b1 ** self.t)
        inv_bias2 = 1 / np.sqrt(1 - b2 ** self.t)
        for p, g, m, v, s in zip(self.params, grads, self.m, self.v, self.scratch):
            m *= b1
            np.multiply(g, 1 - b1, out=s)
            m += s
            v *= b2
            np.multiply(g, g, out=s)
            s *= 1 - b2
            v += s
            np.sqrt(v, out=s)
            s *= inv_bias2
            s += self.eps
            np.divide(m, s, out=s)
            s *= step_size
            p -= s


# ----- losses ----------------------------------------------------------------------
class SoftmaxCrossEntropy:
    """Mean softmax cross-entropy of logits against integer labels; `forward`
    returns the loss and leaves d(loss)/d(logits) in `self.grad` (a reused
    buffer)."""

    def __init__(self, labels, classes):
        self.labels = np.asarray(labels)
        self.rows = np.arange(len(labels))
        self.grad = np.empty((len(labels), classes), F32)
        self.sums = np.empty((len(labels), 1), F32)

    def forward(self, logits):
        p, sums = self.grad, self.sums
        np.subtract(logits, logits.max(axis=1, keepdims=True), out=p)
        picked = p[self.rows, self.labels]  # shifted logits of the true classes
        np.exp(p, out=p)
        p.sum(axis=1, keepdims=True, out=sums)
        loss = float(np.mean(np.log(sums[:, 0]) - picked))
        p /= sums
        p[self.rows, self.labels] -= 1
        p *= 1 / len(self.rows)
        return loss


# ----- recurrent models ------------------------------------------------------------
class LastStateRegressor:
    """A recurrent layer, Dense(1) on its last hidden state, MSE and Adam: the
    loop that the hand-written LSTM and GRU share. A subclass allocates its
    buffers and writes `forward()`, which fills `self.hs` (time + 1, batch,
    units; hs[0] the zero state) from the time-major inputs `self.x_tm` (with
    `project_inputs`, given buffers `self.scaled` and `self.xw`), and
    `backward()`, which takes d(loss)/d(h_T) in `self.dh` back through time
    and writes the gradients of params[:3] (kernel, recurrent kernel, bias).
    `params` are in Keras's order: those three, then the Dense kernel and bias.
    """

    def __init__(self, weights, x, y, units):
        self.params = [np.array(w, F32) for w in weights]
        self.grads = [np.empty_like(p) for p in self.params]
        self.x, self.y = x, y
        batch, steps, features = x.shape
        self.x_tm = np.empty((steps, batch, features), F32)
        self.hs = np.zeros((steps + 1, batch, units), F32)
        self.dh = np.empty((batch, units), F32)
        self.out, self.dout = np.empty((batch, 1), F32), np.empty((batch, 1), F32)
        self.adam = Adam(self.params, lr=1e-3)

    def project_inputs(self, column_scale):
        """Kernel, recurrent kernel and bias times `column_scale` (a factor per
        gate column) into `self.scaled`, then x_t W (scaled) of every step into
        `self.xw` with one matmul; returns the scaled (W, U, bias)."""
        for weight, scaled in zip(self.params[:3], self.scaled):
            np.multiply(weight, column_scale, out=scaled)
        steps, batch, features = self.x_tm.shape
        np.matmul(self.x_tm.reshape(-1, features), self.scaled[0],
                  out=self.xw.reshape(steps * batch, -1))
        return self.scaled

    def step(self) -> float:
        np.copyto(self.x_tm, self.x.transpose(1, 0, 2))
        self.forward()
        wd, bd = self.params[3:]
        gwd, gbd = self.grads[3:]
        np.matmul(self.hs[-1], wd, out=self.out)
        self.out += bd
        np.subtract(self.out, self.y, out=self.dout)
        loss = float(np.mean(self.dout * self.dout))
        self.dout *= 2 / self.dout.size                  # d(mean squared error)/d(out)
        np.matmul(self.hs[-1].T, self.dout, out=gwd)
        self.dout.sum(axis=0, out=gbd)
        np.matmul(self.dout, wd.T, out=self.dh)
        self.backward()
        self.adam.step(self.grads)
        return loss

    def weights(self):
        return [p.copy() for p in self.params]
