"""Learning-rate schedules: callables `step -> lr`.

An optimiser whose `lr` is a schedule evaluates it at its own step counter
(`optimizer.iterations`, from 0) before each update, so step k of training
uses `schedule(k)`. Schedules are plain objects with a `get_config()`, so a
saved model can rebuild them: `serialize(schedule)` gives
`{"class_name": ..., "config": ...}` and `get(that_dict)` (Keras's name:
`deserialize`) rebuilds it.
"""
import math

from ..registry import Registry
from ..validation import check_bool, check_float, check_int

SCHEDULES = Registry("learning-rate schedule")  # by class name
"""The schedule classes by class name (each subclass files itself), for `serialize` and `get`."""


class LearningRateSchedule:
    """Base class: a callable `step -> learning rate` (a Python float).

    A subclass writes `lr_at(step)` and `get_config()`; the base checks the
    step, converts the result and gives `__repr__` and `from_config`.
    Subclasses register themselves by class name, so `get` can rebuild them.

    Example:
        class Halving(LearningRateSchedule):
            def __init__(self, initial_lr):
                self.initial_lr = initial_lr
            def lr_at(self, step):
                return self.initial_lr / 2 ** step
            def get_config(self):
                return {"initial_lr": self.initial_lr}
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        SCHEDULES.add(cls)

    def __call__(self, step) -> float:
        return float(self.lr_at(check_float(step, "step", 0)))

    def lr_at(self, step: float) -> float:
        """The learning rate at `step` (a non-negative number); a subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define lr_at (subclass hook)")

    def get_config(self) -> dict:
        """The constructor arguments (JSON-serialisable); a subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define get_config (subclass hook)")

    @classmethod
    def from_config(cls, config: dict) -> "LearningRateSchedule":
        """A new schedule from `get_config()`'s dict."""
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class StepDecay(LearningRateSchedule):
    """Multiply the rate by `gamma` every `step_size` steps (PyTorch StepLR):
    `lr(step) = initial_lr * gamma ** (step // step_size)`.

    Args:
        initial_lr: the rate for steps 0 .. step_size - 1.
        step_size: steps between two decays (an integer >= 1).
        gamma: the factor applied at each decay (default 0.1).

    Example:
        StepDecay(0.1, step_size=10)(25)     # 0.1 * 0.1**2 = 0.001
    """

    def __init__(self, initial_lr: float, step_size: int, gamma: float = 0.1):
        self.initial_lr = check_float(initial_lr, "initial_lr", 0)
        self.step_size = check_int(step_size, "step_size", 1)
        self.gamma = check_float(gamma, "gamma", 0, low_open=True)

    def lr_at(self, step):
        return self.initial_lr * self.gamma ** (step // self.step_size)

    def get_config(self):
        return {"initial_lr": self.initial_lr, "step_size": self.step_size, "gamma": self.gamma}


class ExponentialDecay(LearningRateSchedule):
    """Smooth exponential decay (Keras ExponentialDecay):
    `lr(step) = initial_lr * decay_rate ** (step / decay_steps)`, with the
    exponent floored when `staircase=True`.

    Args:
        initial_lr: the rate at step 0.
        decay_steps: steps over which the rate is multiplied by `decay_rate`
            (an integer >= 1).
        decay_rate: the factor per `decay_steps` steps (positive).
        staircase: decay in whole steps of `decay_steps` (default False).

    Example:
        ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5)(50)  # 0.1 * 0.5**0.5
    """

    def __init__(self, initial_lr: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False):
        self.initial_lr = check_float(initial_lr, "initial_lr", 0)
        self.decay_steps = check_int(decay_steps, "decay_steps", 1)
        self.decay_rate = check_float(decay_rate, "decay_rate", 0, low_open=True)
        self.staircase = check_bool(staircase, "staircase")

    def lr_at(self, step):
        exponent = step / self.decay_steps
        if self.staircase:
            exponent = math.floor(exponent)
        return self.initial_lr * self.decay_rate ** exponent

    def get_config(self):
        return {"initial_lr": self.initial_lr, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase}


class CosineDecay(LearningRateSchedule):
    """Optional linear warm-up, then cosine decay (SGDR, Loshchilov & Hutter
    2017, without restarts; the decay is Keras's CosineDecay).

    - warm-up, `step < warmup_steps`: the rate rises linearly from 0 to
      `initial_lr`: `initial_lr * step / warmup_steps` (so step 0 has rate 0,
      as in Hugging Face's `get_cosine_schedule_with_warmup`);
    - decay, with `s = min(step - warmup_steps, decay_steps)`:
      `initial_lr * (alpha + (1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)))`,
      from `initial_lr` down to `alpha * initial_lr`, where it then stays.

    Args:
        initial_lr: the peak rate (reached at the end of warm-up).
        decay_steps: length of the cosine part (an integer >= 1).
        alpha: the final rate as a fraction of `initial_lr`, in [0, 1]
            (default 0.0).
        warmup_steps: length of the linear warm-up (default 0: none).

    Example:
        CosineDecay(0.1, decay_steps=100)(50)                  # 0.05
        CosineDecay(0.1, decay_steps=100, warmup_steps=10)(5)  # 0.05
    """

    def __init__(self, initial_lr: float, decay_steps: int, alpha: float = 0.0,
                 warmup_steps: int = 0):
        self.initial_lr = check_float(initial_lr, "initial_lr", 0)
        self.decay_steps = check_int(decay_steps, "decay_steps", 1)
        self.alpha = check_float(alpha, "alpha", 0, 1)
        self.warmup_steps = check_int(warmup_steps, "warmup_steps", 0)

    def lr_at(self, step):
        if step < self.warmup_steps:
            return self.initial_lr * step / self.warmup_steps
        progress = min(step - self.warmup_steps, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.initial_lr * (self.alpha + (1.0 - self.alpha) * cosine)

    def get_config(self):
        return {"initial_lr": self.initial_lr, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "warmup_steps": self.warmup_steps}


def serialize(schedule: LearningRateSchedule) -> dict:
    """`{"class_name": ..., "config": ...}`, JSON-ready; `get` rebuilds it."""
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(f"Only LearningRateSchedule subclasses can be serialized (they have "
                        f"get_config). Received: {schedule!r}")
    return SCHEDULES.serialize(schedule)


def get(identifier):
    """A schedule from itself (any callable `step -> lr` is returned as is)
    or from a `serialize` dict.

    Example:
        get({"class_name": "StepDecay", "config": {"initial_lr": 0.1, "step_size": 5}})
    """
    if callable(identifier):
        return identifier
    if isinstance(identifier, dict) and set(identifier) == {"class_name", "config"}:
        return SCHEDULES.deserialize(identifier)
    raise ValueError(f"Could not interpret a learning-rate schedule, expected a callable "
                     f"step -> lr or a dict with keys 'class_name' and 'config'. "
                     f"Received: {identifier!r}")


deserialize = get
"""Keras's name of `get`: the reverse of `serialize`."""
