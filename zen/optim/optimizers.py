"""The optimisers: each writes the update of ONE parameter; the loop,
learning-rate schedules, clipping and state live in `Optimizer`.

Every update works on whole arrays in place (`param.value` and the
optimiser's buffers), reads the gradient without writing it, and uses
Python-float scalars, so float32 parameters stay float32.
"""
import math

import numpy as np

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
        clipnorm: see `Optimizer`.
        clipvalue: see `Optimizer`.
        global_clipnorm: see `Optimizer`.

    Example:
        opt = SGD(lr=0.1, momentum=0.9, nesterov=True)
        loss.backward(); opt.step(model.parameters()); opt.zero_grad(model.parameters())
    """

    def __init__(self, lr=_Default(0.01), momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, *, learning_rate=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None):
        super().__init__(lr, learning_rate, clipnorm, clipvalue, global_clipnorm)
        self.momentum = check_float(momentum, "momentum", 0, 1, high_open=True)
        self.nesterov = check_bool(nesterov, "nesterov")
        self.weight_decay = check_float(weight_decay, "weight_decay", 0)
        if self.nesterov and self.momentum == 0:
            raise ValueError(f"Nesterov momentum needs a momentum > 0. "
                             f"Received: nesterov=True, momentum={momentum!r}")

    def state_names(self):
        return ("momentum_buffer",) if self.momentum else ()

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
        clipnorm: see `Optimizer`.
        clipvalue: see `Optimizer`.
        global_clipnorm: see `Optimizer`.

    Example:
        opt = Momentum(lr=0.01, beta=0.9)
    """

    def __init__(self, lr=_Default(0.01), beta: float = 0.9, *, learning_rate=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None):
        super().__init__(lr, learning_rate, clipnorm, clipvalue, global_clipnorm)
        self.beta = check_float(beta, "beta", 0, 1, high_open=True)

    def state_names(self):
        return ("velocity",)

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
        beta: decay of the running mean, in [0, 1) (Keras `rho`; default 0.9).
        epsilon: added to the root for stability (default 1e-7).
        clipnorm: see `Optimizer`.
        clipvalue: see `Optimizer`.
        global_clipnorm: see `Optimizer`.

    Example:
        opt = RMSProp(lr=0.001)
    """

    def __init__(self, lr=_Default(0.001), beta: float = 0.9, epsilon: float = 1e-7, *,
                 learning_rate=None, clipnorm=None, clipvalue=None, global_clipnorm=None):
        super().__init__(lr, learning_rate, clipnorm, clipvalue, global_clipnorm)
        self.beta = check_float(beta, "beta", 0, 1, high_open=True)
        self.epsilon = check_float(epsilon, "epsilon", 0)

    def state_names(self):
        return ("v",)

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
        beta1: decay of the first moment, in [0, 1) (default 0.9).
        beta2: decay of the second moment, in [0, 1) (default 0.999).
        epsilon: added to the denominator for stability (default 1e-8).
        weight_decay: L2 coefficient added to the gradient (default 0.0).
        clipnorm: see `Optimizer`.
        clipvalue: see `Optimizer`.
        global_clipnorm: see `Optimizer`.

    Example:
        opt = Adam(lr=1e-3)
    """

    decoupled_weight_decay = False  # the one difference with AdamW

    def __init__(self, lr=_Default(0.001), beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, weight_decay: float = 0.0, *, learning_rate=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None):
        super().__init__(lr, learning_rate, clipnorm, clipvalue, global_clipnorm)
        self.beta1 = check_float(beta1, "beta1", 0, 1, high_open=True)
        self.beta2 = check_float(beta2, "beta2", 0, 1, high_open=True)
        self.epsilon = check_float(epsilon, "epsilon", 0)
        self.weight_decay = check_float(weight_decay, "weight_decay", 0)

    def state_names(self):
        return ("m", "v")

    def update(self, param, grad, state, lr):
        p, m, v, t = param.value, state["m"], state["v"], state["step"]
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
        clipnorm: see `Optimizer`.
        clipvalue: see `Optimizer`.
        global_clipnorm: see `Optimizer`.

    Example:
        opt = AdamW(lr=1e-3, weight_decay=0.05)
    """

    decoupled_weight_decay = True

    def __init__(self, lr=_Default(0.001), beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, weight_decay: float = 0.01, *, learning_rate=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None):
        super().__init__(lr, beta1, beta2, epsilon, weight_decay, learning_rate=learning_rate,
                         clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm)


class Adagrad(Optimizer):
    """Adagrad (Duchi, Hazan & Singer 2011), PyTorch semantics: each
    element's step shrinks with the sum of its squared gradients.

        s = s + grad**2                   (s starts at initial_accumulator_value)
        p = p - lr * grad / (sqrt(s) + epsilon)

    Args:
        lr: learning rate or schedule (default 0.01); alias `learning_rate`.
        epsilon: added to the root for stability (default 1e-10).
        initial_accumulator_value: starting value of s (default 0.0; Keras uses 0.1).
        clipnorm: see `Optimizer`.
        clipvalue: see `Optimizer`.
        global_clipnorm: see `Optimizer`.

    Example:
        opt = Adagrad(lr=0.01)
    """

    def __init__(self, lr=_Default(0.01), epsilon: float = 1e-10,
                 initial_accumulator_value: float = 0.0, *, learning_rate=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None):
        super().__init__(lr, learning_rate, clipnorm, clipvalue, global_clipnorm)
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


def serialize(optimizer: Optimizer) -> dict:
    """`{"class_name": ..., "config": ...}`, JSON-ready; `get` rebuilds it
    (the state is saved separately, with `state_dict`)."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"Expected an Optimizer. Received: {optimizer!r}")
    return OPTIMIZERS.serialize(optimizer)


def get(identifier, **kwargs) -> Optimizer:
    """An optimiser from its class name in any case ("sgd", "momentum",
    "rmsprop", "adam", "adamw", "adagrad"; `kwargs` go to its constructor),
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
