"""The optimisers: each writes the update of ONE parameter; the loop,
learning-rate schedules, clipping, gradient accumulation, the weights' EMA
and state live in `Optimizer`.

Every update works on whole arrays in place (`param.value` and the
optimiser's buffers), reads the gradient without writing it, and uses
Python-float scalars, so float32 parameters stay float32.
"""
import math

import numpy as np

from .. import kernels
from ..validation import check_bool, check_float
from .optimizer import OPTIMIZERS, Optimizer, _Default


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum and L2
    weight decay, PyTorch semantics (`torch.optim.SGD`, dampening 0):

        g   = grad + weight_decay * p
        buf = momentum * buf + g          (buf starts at 0, so buf_1 = g)
        g   = g + momentum * buf  if nesterov  else  buf
        p   = p - lr * g

    Args:
        lr: learning rate or schedule (default 0.01); alias `learning_rate`.
        momentum: in [0, 1) (default 0.0: plain SGD, no state).
        nesterov: Nesterov momentum (Sutskever et al. 2013); needs momentum > 0.
        weight_decay: L2 penalty coefficient added to the gradient (default 0).
        learning_rate: another spelling of `lr`.
        **options: the options of every optimizer (see `Optimizer`): clipnorm,
            clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, gradient_accumulation_steps.

    Example:
        opt = SGD(lr=0.1, momentum=0.9, nesterov=True)
        loss.backward(); opt.step(model.parameters()); opt.zero_grad(model.parameters())
    """

    elementwise = True  # chunks of a large parameter update on several threads

    def __init__(self, lr=_Default(0.01), momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, *, learning_rate=None,
                 **options):
        super().__init__(lr, learning_rate, **options)
        self.momentum = check_float(momentum, "momentum", 0, 1, high_open=True)
        self.nesterov = check_bool(nesterov, "nesterov")
        self.weight_decay = check_float(weight_decay, "weight_decay", 0)
        if self.nesterov and self.momentum == 0:
            raise ValueError(f"Nesterov momentum needs a momentum > 0. "
                             f"Received: nesterov=True, momentum={momentum!r}")

    def state_names(self):
        return ("momentum_buffer",) if self.momentum else ()

    def flushed_buffers(self):
        return self.state_names()  # a subnormal buffer is a subnormal step

    def update(self, param, grad, state, lr):
        p = param.value
        if self.weight_decay:
            grad = grad + self.weight_decay * p
        if self.momentum:
            buf = state["momentum_buffer"]
            buf *= self.momentum
            buf += grad
            grad = grad + self.momentum * buf if self.nesterov else buf
        p -= lr * grad

    def _config(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}


class Momentum(Optimizer):
    """Gradient descent with classical (heavy-ball) momentum, the rule of the
    original Zen blog (Polyak 1964; Sutskever et al. 2013, eq. 1, with the
    velocity's sign flipped):

        v = beta * v + lr * grad          (v starts at 0)
        p = p - v

    The learning rate is inside the velocity, so a schedule's change acts
    gradually; with a constant rate this is SGD(momentum=beta) exactly.

    Args:
        lr: learning rate or schedule (default 0.01); alias `learning_rate`.
        beta: momentum coefficient in [0, 1) (default 0.9).
        learning_rate: another spelling of `lr`.
        **options: the options of every optimizer (see `Optimizer`): clipnorm,
            clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, gradient_accumulation_steps.

    Example:
        opt = Momentum(lr=0.01, beta=0.9)
    """

    elementwise = True  # chunks of a large parameter update on several threads

    def __init__(self, lr=_Default(0.01), beta: float = 0.9, *, learning_rate=None,
                 **options):
        super().__init__(lr, learning_rate, **options)
        self.beta = check_float(beta, "beta", 0, 1, high_open=True)

    def state_names(self):
        return ("velocity",)

    def flushed_buffers(self):
        return ("velocity",)  # a subnormal velocity is a subnormal step

    def update(self, param, grad, state, lr):
        v = state["velocity"]
        v *= self.beta
        v += lr * grad
        param.value -= v

    def _config(self):
        return {"beta": self.beta}


class RMSProp(Optimizer):
    """RMSProp (Hinton, Coursera lecture 6e, 2012), Keras semantics: divide
    the gradient by a running root mean square of recent gradients.

        v = beta * v + (1 - beta) * grad**2      (v starts at 0)
        p = p - lr * grad / (sqrt(v) + epsilon)

    Args:
        lr: learning rate or schedule (default 0.001); alias `learning_rate`.
        beta: decay of the running mean, in [0, 1) (default 0.9; Keras
            spelling: `rho`).
        epsilon: added to the root for stability (default 1e-7).
        learning_rate: another spelling of `lr`.
        **options: the options of every optimizer (see `Optimizer`): clipnorm,
            clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, gradient_accumulation_steps.

    Example:
        opt = RMSProp(lr=0.001)
    """

    elementwise = True  # chunks of a large parameter update on several threads

    other_spellings = {"rho": "beta"}  # Keras's name of beta

    def __init__(self, lr=_Default(0.001), beta: float = 0.9, epsilon: float = 1e-7, *,
                 learning_rate=None, **options):
        super().__init__(lr, learning_rate, **options)
        self.beta = check_float(beta, "beta", 0, 1, high_open=True)
        self.epsilon = check_float(epsilon, "epsilon", 0)

    def state_names(self):
        return ("v",)

    def flushed_buffers(self):
        return ("v",) if self.epsilon > 0 else ()  # below epsilon, it never counted

    def update(self, param, grad, state, lr):
        v = state["v"]
        v *= self.beta
        v += (1.0 - self.beta) * np.square(grad)
        denominator = np.sqrt(v)
        denominator += self.epsilon
        param.value -= lr * grad / denominator

    def _config(self):
        return {"beta": self.beta, "epsilon": self.epsilon}


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015, Algorithm 1), PyTorch semantics, with L2
    weight decay added to the gradient. With t the parameter's update count
    (1, 2, ...):

        g = grad + weight_decay * p                  (coupled decay)
        m = beta1 * m + (1 - beta1) * g              (m, v start at 0)
        v = beta2 * v + (1 - beta2) * g**2
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + epsilon)

    The bias corrections `1 - beta**t` undo the moments' start at zero.
    AdamW is this same update with the decay decoupled from the gradient.

    Args:
        lr: learning rate or schedule (default 0.001); alias `learning_rate`.
        beta1: decay of the first moment, in [0, 1) (default 0.9; Keras
            spelling: `beta_1`).
        beta2: decay of the second moment, in [0, 1) (default 0.999; Keras
            spelling: `beta_2`).
        epsilon: added to the denominator for stability (default 1e-8).
        weight_decay: L2 coefficient added to the gradient (default 0.0).
        learning_rate: another spelling of `lr`.
        **options: the options of every optimizer (see `Optimizer`): clipnorm,
            clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, gradient_accumulation_steps.

    Example:
        opt = Adam(lr=1e-3)
    """

    elementwise = True  # chunks of a large parameter update on several threads

    decoupled_weight_decay = False  # the one difference with AdamW
    other_spellings = {"beta_1": "beta1", "beta_2": "beta2"}  # Keras's names

    def __init__(self, lr=_Default(0.001), beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, weight_decay: float = 0.0, *, learning_rate=None,
                 **options):
        super().__init__(lr, learning_rate, **options)
        self.beta1 = check_float(beta1, "beta1", 0, 1, high_open=True)
        self.beta2 = check_float(beta2, "beta2", 0, 1, high_open=True)
        self.epsilon = check_float(epsilon, "epsilon", 0)
        self.weight_decay = check_float(weight_decay, "weight_decay", 0)

    def state_names(self):
        return ("m", "v")

    def flushed_buffers(self):
        return ("m", "v") if self.epsilon > 0 else ()  # below epsilon, they never counted

    def update(self, param, grad, state, lr):
        p, m, v, t = param.value, state["m"], state["v"], state["step"]
        if kernels.applies(p, grad, m, v) and all(
                a.flags.c_contiguous and a.shape == p.shape for a in (p, grad, m, v)):
            decoupled = self.decoupled_weight_decay
            kernels.adam_update(  # zen.kernels: the numpy calls below in one pass
                p, grad, m, v, beta1=self.beta1, beta2=self.beta2, epsilon=self.epsilon,
                correction=1.0 / math.sqrt(1.0 - self.beta2 ** t),
                step_size=lr / (1.0 - self.beta1 ** t),
                decay=0.0 if decoupled else self.weight_decay,
                shrink=1.0 - lr * self.weight_decay if decoupled else 1.0)
            return
        if self.weight_decay and self.decoupled_weight_decay:
            p *= 1.0 - lr * self.weight_decay
        elif self.weight_decay:
            grad = grad + self.weight_decay * p
        # In place, with one scratch array: this runs for every parameter every step.
        scratch = np.multiply(grad, 1.0 - self.beta1, out=np.empty_like(p))
        m *= self.beta1
        m += scratch
        np.multiply(grad, grad, out=scratch)
        scratch *= 1.0 - self.beta2
        v *= self.beta2
        v += scratch
        denominator = np.sqrt(v, out=scratch)
        denominator *= 1.0 / math.sqrt(1.0 - self.beta2 ** t)
        denominator += self.epsilon
        step = np.divide(m, denominator, out=scratch)
        step *= lr / (1.0 - self.beta1 ** t)
        p -= step

    def _config(self):
        return {"beta1": self.beta1, "beta2": self.beta2, "epsilon": self.epsilon,
                "weight_decay": self.weight_decay}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019), PyTorch
    `torch.optim.AdamW` semantics: before Adam's update (without any decay in
    the gradient) the parameter shrinks by `p = p - lr * weight_decay * p`.

    Args:
        lr: learning rate or schedule (default 0.001); alias `learning_rate`.
        beta1: as in `Adam`.
        beta2: as in `Adam`.
        epsilon: as in `Adam`.
        weight_decay: decoupled decay coefficient (default 0.01).
        learning_rate: another spelling of `lr`.
        **options: the options of every optimizer (see `Optimizer`): clipnorm,
            clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, gradient_accumulation_steps.

    Example:
        opt = AdamW(lr=1e-3, weight_decay=0.05)
    """

    decoupled_weight_decay = True

    def __init__(self, lr=_Default(0.001), beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, weight_decay: float = 0.01, *, learning_rate=None,
                 **options):
        super().__init__(lr, beta1, beta2, epsilon, weight_decay, learning_rate=learning_rate,
                         **options)


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer 2011), PyTorch semantics: each
    element's step shrinks with the sum of its squared gradients.

        s = s + grad**2                   (s starts at initial_accumulator_value)
        p = p - lr * grad / (sqrt(s) + epsilon)

    Args:
        lr: learning rate or schedule (default 0.01); alias `learning_rate`.
        epsilon: added to the root for stability (default 1e-10).
        initial_accumulator_value: starting value of s (default 0.0; Keras uses 0.1).
        learning_rate: another spelling of `lr`.
        **options: the options of every optimizer (see `Optimizer`): clipnorm,
            clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, gradient_accumulation_steps.

    Example:
        opt = Adagrad(lr=0.01)
    """

    elementwise = True  # chunks of a large parameter update on several threads

    def __init__(self, lr=_Default(0.01), epsilon: float = 1e-10,
                 initial_accumulator_value: float = 0.0, *, learning_rate=None,
                 **options):
        super().__init__(lr, learning_rate, **options)
        self.epsilon = check_float(epsilon, "epsilon", 0)
        self.initial_accumulator_value = check_float(
            initial_accumulator_value, "initial_accumulator_value", 0)

    def state_names(self):
        return ("sum",)

    def init_state(self, param):
        return {"sum": np.full_like(param.value, self.initial_accumulator_value)}

    def update(self, param, grad, state, lr):
        s = state["sum"]
        s += np.square(grad)
        denominator = np.sqrt(s)
        denominator += self.epsilon
        param.value -= lr * grad / denominator

    def _config(self):
        return {"epsilon": self.epsilon,
                "initial_accumulator_value": self.initial_accumulator_value}


def _mix_into(buffer, value, beta):
    """`buffer = beta * buffer + (1 - beta) * value`, in place (a moving average)."""
    buffer *= beta
    buffer += (1.0 - beta) * value


def _decay_weights(p, lr, weight_decay):
    """Keras's decoupled weight decay, before the update: `p = p - lr * weight_decay * p`."""
    if weight_decay:
        p *= 1.0 - lr * weight_decay


def _rms(array) -> float:
    """The root mean square of `array`'s elements, as a Python float."""
    return math.sqrt(float(np.mean(np.square(array))))


def _checked_weight_decay(weight_decay):
    return None if weight_decay is None else check_float(weight_decay, "weight_decay", 0)


class _KerasMoments(Optimizer):
    """What Nadam and Adamax share: Keras's arguments and defaults (see theirs)."""

    other_spellings = {"beta_1": "beta1", "beta_2": "beta2"}  # Keras's names

    def __init__(self, lr=_Default(0.001), beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-7, weight_decay: float = None, *, learning_rate=None,
                 **options):
        super().__init__(lr, learning_rate, **options)
        self.beta1 = check_float(beta1, "beta1", 0, 1, high_open=True)
        self.beta2 = check_float(beta2, "beta2", 0, 1, high_open=True)
        self.epsilon = check_float(epsilon, "epsilon", 0)
        self.weight_decay = _checked_weight_decay(weight_decay)

    def flushed_buffers(self):  # the two moments (Nadam: m, v; Adamax: m, u), as Adam's
        return self.state_names()[:2] if self.epsilon > 0 else ()


class Nadam(_KerasMoments):
    """Nadam, Adam with Nesterov momentum (Dozat 2016), Keras's rule with its
    momentum schedule `u_t = beta1 * (1 - 0.5 * 0.96**t)`. With t the
    parameter's update count (1, 2, ...) and `U_t = u_1 * u_2 * ... * u_t`:

        m = beta1 * m + (1 - beta1) * g              (m, v start at 0)
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = u_{t+1} * m / (1 - U_t * u_{t+1}) + (1 - u_t) * g / (1 - U_t)
        p = p - lr * m_hat / (sqrt(v / (1 - beta2**t)) + epsilon)

    The state keeps `U_t` per parameter (`"u_product"`, 0-d).

    Args:
        lr: learning rate or schedule (default 0.001); alias `learning_rate`.
        beta1: decay of the first moment, in [0, 1) (default 0.9; Keras
            spelling: `beta_1`).
        beta2: decay of the second moment, in [0, 1) (default 0.999; Keras
            spelling: `beta_2`).
        epsilon: added to the denominator for stability (default 1e-7).
        weight_decay: None (default) or Keras's decoupled decay coefficient:
            `p = p - lr * weight_decay * p` before each update.
        learning_rate: another spelling of `lr`.
        **options: the options of every optimizer (see `Optimizer`): clipnorm,
            clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, gradient_accumulation_steps.

    Example:
        opt = Nadam(learning_rate=1e-3)
    """

    def state_names(self):
        return ("m", "v", "u_product")

    def init_state(self, param):
        return {"m": np.zeros_like(param.value), "v": np.zeros_like(param.value),
                "u_product": np.ones((), param.value.dtype)}

    def momentum_at(self, t: int) -> float:
        """Keras's momentum schedule `u_t = beta1 * (1 - 0.5 * 0.96**t)`."""
        return self.beta1 * (1.0 - 0.5 * 0.96 ** t)

    def update(self, param, grad, state, lr):
        p, m, v, t = param.value, state["m"], state["v"], state["step"]
        _decay_weights(p, lr, self.weight_decay)
        u_now, u_next = self.momentum_at(t), self.momentum_at(t + 1)
        product = float(state["u_product"]) * u_now
        state["u_product"][...] = product
        _mix_into(m, grad, self.beta1)
        _mix_into(v, np.square(grad), self.beta2)
        step = m * (u_next / (1.0 - product * u_next))
        step += grad * ((1.0 - u_now) / (1.0 - product))
        denominator = np.sqrt(v)
        denominator *= 1.0 / math.sqrt(1.0 - self.beta2 ** t)
        denominator += self.epsilon
        step /= denominator
        step *= lr
        p -= step

    def _config(self):
        return {"beta1": self.beta1, "beta2": self.beta2, "epsilon": self.epsilon,
                "weight_decay": self.weight_decay}


class Adamax(_KerasMoments):
    """Adamax, Adam with the infinity norm (Kingma & Ba 2015, section 7.1),
    Keras's rule. With t the parameter's update count (1, 2, ...):

        m = beta1 * m + (1 - beta1) * g              (m, u start at 0)
        u = max(beta2 * u, |g|)
        p = p - lr * m / ((1 - beta1**t) * (u + epsilon))

    Args:
        lr: learning rate or schedule (default 0.001); alias `learning_rate`.
        beta1: decay of the first moment, in [0, 1) (default 0.9; Keras
            spelling: `beta_1`).
        beta2: decay of the infinity norm, in [0, 1) (default 0.999; Keras
            spelling: `beta_2`).
        epsilon: added to the norm for stability (default 1e-7).
        weight_decay: None (default) or Keras's decoupled decay coefficient.
        learning_rate: another spelling of `lr`.
        **options: as every optimizer's (see `Optimizer`).

    Example:
        opt = Adamax(learning_rate=2e-3)
    """

    elementwise = True  # chunks of a large parameter update on several threads

    def state_names(self):
        return ("m", "u")

    def update(self, param, grad, state, lr):
        p, m, u, t = param.value, state["m"], state["u"], state["step"]
        _decay_weights(p, lr, self.weight_decay)
        _mix_into(m, grad, self.beta1)
        u *= self.beta2
        np.maximum(u, np.abs(grad), out=u)
        denominator = u + self.epsilon
        denominator *= 1.0 - self.beta1 ** t
        step = m * lr
        step /= denominator
        p -= step

    def _config(self):
        return {"beta1": self.beta1, "beta2": self.beta2, "epsilon": self.epsilon,
                "weight_decay": self.weight_decay}


class Lion(Optimizer):
    """Lion, EvoLved Sign Momentum (Chen et al. 2023, "Symbolic Discovery of
    Optimization Algorithms"), Keras's rule: the step is the sign of an
    interpolation of momentum and gradient, so every element moves by exactly
    lr (use a smaller lr than Adam's).

        p = p - lr * sign(beta1 * m + (1 - beta1) * g)     (m starts at 0)
        m = beta2 * m + (1 - beta2) * g

    Args:
        lr: learning rate or schedule (default 0.001); alias `learning_rate`.
        beta1: weight of the momentum in the step, in (0, 1] (default 0.9;
            Keras spelling: `beta_1`).
        beta2: decay of the momentum, in [0, 1] (default 0.99; Keras
            spelling: `beta_2`).
        weight_decay: None (default) or Keras's decoupled decay coefficient.
        learning_rate: another spelling of `lr`.
        **options: the options of every optimizer (see `Optimizer`): clipnorm,
            clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, gradient_accumulation_steps.

    Example:
        opt = Lion(learning_rate=1e-4, weight_decay=0.1)
    """

    elementwise = True  # chunks of a large parameter update on several threads

    other_spellings = {"beta_1": "beta1", "beta_2": "beta2"}  # Keras's names

    def __init__(self, lr=_Default(0.001), beta1: float = 0.9, beta2: float = 0.99,
                 weight_decay: float = None, *, learning_rate=None, **options):
        super().__init__(lr, learning_rate, **options)
        # beta1 = 0 would make Lion signSGD (Keras refuses it too)
        self.beta1 = check_float(beta1, "beta1", 0, 1, low_open=True)
        self.beta2 = check_float(beta2, "beta2", 0, 1)
        self.weight_decay = _checked_weight_decay(weight_decay)

    def state_names(self):
        return ("m",)

    def update(self, param, grad, state, lr):
        p, m = param.value, state["m"]
        _decay_weights(p, lr, self.weight_decay)
        direction = m * self.beta1
        direction += (1.0 - self.beta1) * grad
        np.sign(direction, out=direction)
        direction *= lr
        p -= direction
        _mix_into(m, grad, self.beta2)

    def _config(self):
        return {"beta1": self.beta1, "beta2": self.beta2, "weight_decay": self.weight_decay}


class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern 2018), Keras's rule. For a parameter of
    rank >= 2 the second moment is factored: only its means over the last
    axis (`r`) and over the second-to-last axis (`c`) are kept. With t the
    parameter's update count (1, 2, ...):

        rho   = min(lr, 1 / sqrt(t))                  (Keras's relative step)
        alpha = max(epsilon_2, rms(p)) * rho
        s     = g**2 + epsilon_1
        b     = 1 - t**beta_2_decay                   (0 at t = 1)
        rank >= 2:  r = b * r + (1 - b) * mean(s, axis=-1)
                    c = b * c + (1 - b) * mean(s, axis=-2)
                    v = r / mean(r, axis=-1) (outer) c   (over the last two axes)
        rank < 2:   v = b * v + (1 - b) * s
        u = g / sqrt(v)
        p = p - alpha * u / max(1, rms(u) / clip_threshold)

    The state holds `r`, `c` and `v`; the unused ones are 0-d placeholders
    (`v` for a factored parameter, `r` and `c` otherwise).

    Args:
        lr: learning rate or schedule (default 0.001); alias `learning_rate`.
        beta_2_decay: the decay exponent of the second moment's rate, <= 0
            (default -0.8).
        epsilon_1: added to the squared gradient (default 1e-30).
        epsilon_2: the smallest weight scale `rms(p)` counts with (default 1e-3).
        clip_threshold: the largest `rms(u)` of an update (> 0; default 1.0).
        relative_step: Keras's flag for `rho = min(lr, 1 / sqrt(t))`; Keras 3
            applies that minimum whatever the flag, and so does Zen, so that
            the numbers agree (default True; kept in the config).
        weight_decay: None (default) or Keras's decoupled decay coefficient.
        learning_rate: another spelling of `lr`.
        **options: the options of every optimizer (see `Optimizer`): clipnorm,
            clipvalue, global_clipnorm, use_ema, ema_momentum,
            ema_overwrite_frequency, gradient_accumulation_steps.

    Example:
        opt = Adafactor(learning_rate=1e-2)
    """

    def __init__(self, lr=_Default(0.001), beta_2_decay: float = -0.8, epsilon_1: float = 1e-30,
                 epsilon_2: float = 1e-3, clip_threshold: float = 1.0, relative_step: bool = True,
                 weight_decay: float = None, *, learning_rate=None, **options):
        super().__init__(lr, learning_rate, **options)
        self.beta_2_decay = check_float(beta_2_decay, "beta_2_decay", high=0)
        self.epsilon_1 = check_float(epsilon_1, "epsilon_1", 0)
        self.epsilon_2 = check_float(epsilon_2, "epsilon_2", 0)
        self.clip_threshold = check_float(clip_threshold, "clip_threshold", 0, low_open=True)
        self.relative_step = check_bool(relative_step, "relative_step")
        self.weight_decay = _checked_weight_decay(weight_decay)

    def state_names(self):
        return ("r", "c", "v")

    def init_state(self, param):
        shape, dtype = param.value.shape, param.value.dtype
        if len(shape) < 2:
            return {"r": np.zeros((), dtype), "c": np.zeros((), dtype),
                    "v": np.zeros(shape, dtype)}
        return {"r": np.zeros(shape[:-1], dtype), "c": np.zeros(shape[:-2] + shape[-1:], dtype),
                "v": np.zeros((), dtype)}

    def update(self, param, grad, state, lr):
        p, t = param.value, state["step"]
        _decay_weights(p, lr, self.weight_decay)
        alpha = max(self.epsilon_2, _rms(p)) * min(lr, 1.0 / math.sqrt(t))
        squared = np.square(grad)
        squared += self.epsilon_1
        beta = 1.0 - t ** self.beta_2_decay
        if p.ndim >= 2:
            r, c = state["r"], state["c"]
            _mix_into(r, squared.mean(axis=-1), beta)
            _mix_into(c, squared.mean(axis=-2), beta)
            v = (r / r.mean(axis=-1, keepdims=True))[..., None] * c[..., None, :]
        else:
            v = state["v"]
            _mix_into(v, squared, beta)
        step = grad / np.sqrt(v)
        step *= alpha / max(1.0, _rms(step) / self.clip_threshold)
        p -= step

    def _config(self):
        return {"beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1,
                "epsilon_2": self.epsilon_2, "clip_threshold": self.clip_threshold,
                "relative_step": self.relative_step, "weight_decay": self.weight_decay}


def serialize(optimizer: Optimizer) -> dict:
    """`{"class_name": ..., "config": ...}`, JSON-ready; `get` rebuilds it
    (the state is saved separately, with `state_dict`)."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"Expected an Optimizer. Received: {optimizer!r}")
    return OPTIMIZERS.serialize(optimizer)


def get(identifier, **kwargs) -> Optimizer:
    """An optimiser from its class name in any case ("sgd", "momentum",
    "rmsprop", "adam", "adamw", "adagrad", "nadam", "adamax", "lion",
    "adafactor"; `kwargs` go to its constructor),
    an Optimizer subclass, a `serialize` dict, or an instance (returned as is).

    Example:
        get("adam", lr=3e-4)      # Adam(lr=0.0003, ...)
    """
    if isinstance(identifier, Optimizer):
        if kwargs:
            raise ValueError(f"Arguments {sorted(kwargs)} cannot be applied to an optimizer "
                             f"instance ({identifier!r}); pass a name or a class instead")
        return identifier
    if isinstance(identifier, str):
        return OPTIMIZERS.lookup(identifier)(**kwargs)
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier(**kwargs)
    if isinstance(identifier, dict) and set(identifier) == {"class_name", "config"}:
        return OPTIMIZERS.deserialize(identifier, **kwargs)
    raise TypeError(f"Could not interpret an optimizer identifier, expected a name, an "
                    f"Optimizer, an Optimizer class or a serialize() dict. "
                    f"Received: {identifier!r}")


deserialize = get
"""Another name of `get` (Keras's, the reverse of `serialize`)."""
