"""Learning-rate schedules: callables `step -> lr`.

An optimiser whose `lr` is a schedule evaluates it at the number of its
`step` calls so far (from 0; `optimizer.iterations` too, unless gradients
are accumulated), so step k of training uses `schedule(k)`. Schedules are plain objects with a `get_config()`, so a
saved model can rebuild them: `serialize(schedule)` gives
`{"class_name": ..., "config": ...}` and `get(that_dict)` (Keras's name:
`deserialize`) rebuilds it.

The schedules Keras has take its argument names, order and defaults, with one
Zen spelling: `initial_lr` (as the optimisers' `lr`), Keras's
`initial_learning_rate` being accepted as another spelling of it.
"""
import bisect
import functools
import inspect
import math

from ..registry import Registry
from ..validation import check_bool, check_float, check_int, invalid, is_int, is_number

SCHEDULES = Registry("learning-rate schedule")  # by class name
"""The schedule classes by class name (each subclass files itself), for `serialize` and `get`."""


def _accept_other_spellings(init, spellings):
    """`init` that also takes each argument under another spelling (Keras's):
    `spellings` maps that spelling to the argument's own name, e.g.
    `{"initial_learning_rate": "initial_lr"}`. The optimisers use it too."""
    own_names = set(inspect.signature(init).parameters)
    spellings = {other: own for other, own in spellings.items() if own in own_names}
    if not spellings:
        return init

    @functools.wraps(init)
    def init_with_spellings(self, *args, **kwargs):
        for other, own in spellings.items():
            if other in kwargs:
                if own in kwargs:
                    raise ValueError(f"Pass either `{own}` or its other spelling `{other}`, not "
                                     f"both. Received: {own}={kwargs[own]!r}, "
                                     f"{other}={kwargs[other]!r}")
                kwargs[own] = kwargs.pop(other)
        init(self, *args, **kwargs)
    return init_with_spellings


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

    other_spellings = {"initial_learning_rate": "initial_lr"}  # Keras's name: Zen's

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        SCHEDULES.add(cls)
        if "__init__" in cls.__dict__:
            cls.__init__ = _accept_other_spellings(cls.__init__, cls.other_spellings)

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
        initial_lr: the rate at step 0 (Keras spelling: `initial_learning_rate`).
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
    2017, without restarts), Keras's CosineDecay.

    - warm-up, `step < warmup_steps`: linear from `initial_lr` to
      `warmup_target`: `initial_lr + (warmup_target - initial_lr) * step /
      warmup_steps`;
    - decay, with `s = min(step - warmup_steps, decay_steps)`:
      `peak * (alpha + (1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)))`,
      from the peak `warmup_target` down to `alpha * warmup_target`, where it
      then stays.

    Without `warmup_target` the peak is `initial_lr`. Zen then reads
    `warmup_steps` as a warm-up from 0 to `initial_lr` (Hugging Face's
    `get_cosine_schedule_with_warmup`; Keras would ignore `warmup_steps`):
    `CosineDecay(lr, n, warmup_steps=w)` is Keras's
    `CosineDecay(0.0, n, warmup_target=lr, warmup_steps=w)`.

    Args:
        initial_lr: the rate at step 0, the peak when there is no
            `warmup_target` (Keras spelling: `initial_learning_rate`).
        decay_steps: length of the cosine part (an integer >= 1).
        alpha: the final rate as a fraction of the peak, in [0, 1] (default 0.0).
        warmup_target: the rate at the end of warm-up and the start of the
            decay (default None: see above).
        warmup_steps: length of the linear warm-up (default 0: none).

    Example:
        CosineDecay(0.1, decay_steps=100)(50)                  # 0.05
        CosineDecay(0.1, decay_steps=100, warmup_steps=10)(5)  # 0.05
        CosineDecay(0.0, 100, warmup_target=0.1, warmup_steps=10)(5)  # 0.05
    """

    def __init__(self, initial_lr: float, decay_steps: int, alpha: float = 0.0,
                 warmup_target: float = None, warmup_steps: int = 0):
        self.initial_lr = check_float(initial_lr, "initial_lr", 0)
        self.decay_steps = check_int(decay_steps, "decay_steps", 1)
        self.alpha = check_float(alpha, "alpha", 0, 1)
        self.warmup_target = None if warmup_target is None else \
            check_float(warmup_target, "warmup_target", 0)
        self.warmup_steps = check_int(warmup_steps, "warmup_steps", 0)

    def lr_at(self, step):
        if self.warmup_target is None:
            start, peak = 0.0, self.initial_lr
        else:
            start, peak = self.initial_lr, self.warmup_target
        if step < self.warmup_steps:
            return start + (peak - start) * step / self.warmup_steps
        return peak * _cosine(min(step - self.warmup_steps, self.decay_steps) / self.decay_steps,
                              self.alpha)

    def get_config(self):
        target = {} if self.warmup_target is None else {"warmup_target": self.warmup_target}
        return {"initial_lr": self.initial_lr, "decay_steps": self.decay_steps,
                "alpha": self.alpha, **target, "warmup_steps": self.warmup_steps}


def _cosine(fraction, alpha, scale=1.0):
    """Half a cosine from `scale` (fraction 0) down to 0 (fraction 1), lifted
    to end at `alpha`: `alpha + (1 - alpha) * scale * 0.5 * (1 + cos(pi * fraction))`."""
    return alpha + (1.0 - alpha) * scale * 0.5 * (1.0 + math.cos(math.pi * fraction))


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR, Loshchilov & Hutter 2017),
    Keras's CosineDecayRestarts.

    Period i (from 0) lasts `first_decay_steps * t_mul**i` steps; within it the
    rate falls along half a cosine from `m_mul**i * initial_lr` to
    `alpha * initial_lr`, then restarts:
    `initial_lr * (alpha + (1 - alpha) * m_mul**i * 0.5 * (1 + cos(pi * f)))`
    with f the fraction of period i completed.

    Args:
        initial_lr: the rate at step 0 (Keras spelling: `initial_learning_rate`).
        first_decay_steps: length of the first period (an integer >= 1).
        t_mul: each period is this many times longer than the one before (> 0;
            default 2.0). Below 1 the periods shrink and add up to
            `first_decay_steps / (1 - t_mul)` steps, after which the rate stays
            at `alpha * initial_lr` (where Keras gives NaN).
        m_mul: each period starts at this many times the previous peak (>= 0;
            default 1.0).
        alpha: the floor of the rate as a fraction of `initial_lr`, in [0, 1]
            (default 0.0).

    Example:
        s = CosineDecayRestarts(0.1, first_decay_steps=10)   # periods 10, 20, 40, ...
        s(5), s(10), s(20)                                   # 0.05, 0.1, 0.05
    """

    def __init__(self, initial_lr: float, first_decay_steps: int, t_mul: float = 2.0,
                 m_mul: float = 1.0, alpha: float = 0.0):
        self.initial_lr = check_float(initial_lr, "initial_lr", 0)
        self.first_decay_steps = check_int(first_decay_steps, "first_decay_steps", 1)
        self.t_mul = check_float(t_mul, "t_mul", 0, low_open=True)
        self.m_mul = check_float(m_mul, "m_mul", 0)
        self.alpha = check_float(alpha, "alpha", 0, 1)

    def lr_at(self, step):
        restart, fraction = self._period(step / self.first_decay_steps)
        return self.initial_lr * _cosine(fraction, self.alpha, self.m_mul ** restart)

    def _period(self, progress):
        """(i, f): `progress` (steps in units of the first period) falls in
        period i, of which it completed the fraction f."""
        t = self.t_mul
        if t == 1.0:
            restart = math.floor(progress)
            return restart, progress - restart

        def start(i):  # where period i starts: 1 + t + ... + t**(i - 1)
            return (1.0 - t ** i) / (1.0 - t)
        if t < 1.0 and progress >= 1.0 / (1.0 - t):
            return 0, 1.0  # the shrinking periods never reach this step: the floor
        restart = math.floor(math.log(1.0 - progress * (1.0 - t)) / math.log(t))
        # The logarithm can land a rounding error away from a whole period.
        while start(restart + 1) <= progress:
            restart += 1
        while restart > 0 and start(restart) > progress:
            restart -= 1
        return restart, (progress - start(restart)) / t ** restart

    def get_config(self):
        return {"initial_lr": self.initial_lr, "first_decay_steps": self.first_decay_steps,
                "t_mul": self.t_mul, "m_mul": self.m_mul, "alpha": self.alpha}


class PiecewiseConstantDecay(LearningRateSchedule):
    """A constant rate between boundaries (Keras's PiecewiseConstantDecay):
    `values[0]` for `step <= boundaries[0]`, `values[i]` for
    `boundaries[i - 1] < step <= boundaries[i]`, and `values[-1]` after the
    last boundary.

    Args:
        boundaries: increasing step numbers (a non-empty list).
        values: the rates, one more than the boundaries (non-negative numbers).

    Example:
        s = PiecewiseConstantDecay([100, 200], [0.1, 0.01, 0.001])
        s(100), s(101), s(500)                                # 0.1, 0.01, 0.001
    """

    def __init__(self, boundaries, values):
        self.boundaries = _numbers(boundaries, "boundaries", increasing=True)
        self.values = _numbers(values, "values", non_negative=True)
        if not self.boundaries or len(self.values) != len(self.boundaries) + 1:
            raise ValueError(f"`values` must have one more entry than `boundaries` (at least "
                             f"one). Received: boundaries={boundaries!r} of length "
                             f"{len(self.boundaries)}, values={values!r} of length "
                             f"{len(self.values)}")

    def lr_at(self, step):
        return self.values[bisect.bisect_left(self.boundaries, step)]

    def get_config(self):
        return {"boundaries": list(self.boundaries), "values": list(self.values)}


def _numbers(value, name, increasing=False, non_negative=False) -> list:
    """`value` (a list or tuple of finite numbers) as a list, ints kept as ints."""
    expected = ("a list of increasing numbers" if increasing else
                "a list of non-negative numbers" if non_negative else "a list of numbers")
    if not isinstance(value, (list, tuple)) or \
            not all(is_number(v, finite=True) and (v >= 0 or not non_negative) for v in value) \
            or (increasing and any(a >= b for a, b in zip(value, value[1:]))):
        raise invalid(name, expected, value)
    return [int(v) if is_int(v) else float(v) for v in value]


class PolynomialDecay(LearningRateSchedule):
    """Polynomial decay from `initial_lr` to `end_learning_rate` over
    `decay_steps` (Keras's PolynomialDecay):
    `(initial_lr - end_learning_rate) * (1 - s / decay_steps) ** power +
    end_learning_rate` with `s = min(step, decay_steps)`. With `cycle`, the
    decay restarts: `decay_steps` becomes its first multiple >= step
    (`decay_steps` itself at step 0), and `s = step`.

    Args:
        initial_lr: the rate at step 0 (Keras spelling: `initial_learning_rate`).
        decay_steps: steps of the decay (an integer >= 1).
        end_learning_rate: the final rate (default 0.0001).
        power: the polynomial's power, >= 0 (default 1.0: linear).
        cycle: restart the decay after `decay_steps` (default False).

    Example:
        PolynomialDecay(0.1, decay_steps=100, end_learning_rate=0.0)(25)   # 0.075
    """

    def __init__(self, initial_lr: float, decay_steps: int, end_learning_rate: float = 0.0001,
                 power: float = 1.0, cycle: bool = False):
        self.initial_lr = check_float(initial_lr, "initial_lr", 0)
        self.decay_steps = check_int(decay_steps, "decay_steps", 1)
        self.end_learning_rate = check_float(end_learning_rate, "end_learning_rate", 0)
        self.power = check_float(power, "power", 0)
        self.cycle = check_bool(cycle, "cycle")

    def lr_at(self, step):
        if self.cycle:
            span = self.decay_steps * max(1, math.ceil(step / self.decay_steps))
        else:
            span, step = self.decay_steps, min(step, self.decay_steps)
        remaining = 1.0 - step / span
        return (self.initial_lr - self.end_learning_rate) * remaining ** self.power + \
            self.end_learning_rate

    def get_config(self):
        return {"initial_lr": self.initial_lr, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power,
                "cycle": self.cycle}


class InverseTimeDecay(LearningRateSchedule):
    """Inverse-time decay (Keras's InverseTimeDecay):
    `initial_lr / (1 + decay_rate * step / decay_steps)`, with the ratio
    `step / decay_steps` floored when `staircase=True`.

    Args:
        initial_lr: the rate at step 0 (Keras spelling: `initial_learning_rate`).
        decay_steps: the unit of steps (an integer >= 1).
        decay_rate: how fast the rate falls (>= 0).
        staircase: decay in whole units of `decay_steps` (default False).

    Example:
        InverseTimeDecay(0.1, decay_steps=10, decay_rate=0.5)(20)   # 0.1 / 2
    """

    def __init__(self, initial_lr: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False):
        self.initial_lr = check_float(initial_lr, "initial_lr", 0)
        self.decay_steps = check_int(decay_steps, "decay_steps", 1)
        self.decay_rate = check_float(decay_rate, "decay_rate", 0)
        self.staircase = check_bool(staircase, "staircase")

    def lr_at(self, step):
        units = step / self.decay_steps
        if self.staircase:
            units = math.floor(units)
        return self.initial_lr / (1.0 + self.decay_rate * units)

    def get_config(self):
        return {"initial_lr": self.initial_lr, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase}


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
