"""The `Optimizer` base class, which owns the training-step loop, and
gradient clipping.

A subclass writes only the update of one parameter. `step(params)` walks the
given Tensors, skips those without a gradient, clips the gradients, fetches
each parameter's state (a dict keyed by `Tensor.id`, created on first use)
and calls the subclass's `update`. Gradients are read, never written:
backward may share one array between several Tensors, so clipping builds new
arrays and updates write only into `param.value` and the optimiser's own
buffers.

Two options of Keras's base optimizer live here too, for every subclass:
gradient accumulation (the update runs every n-th step, with the mean of
the n gradients) and an exponential moving average of the weights (kept in
the state, copied into the weights by `finalize_variable_values`).
"""
import math

import numpy as np

from ..autodiff import Tensor
from ..registry import Registry
from .. import parallel
from ..validation import check_bool, check_float, check_int, is_number
from . import schedules
from .schedules import _accept_other_spellings


OPTIMIZERS = Registry("optimizer", fold_case=True)  # by class name, any case: "adam"


class _Stretch:
    """A stretch of a parameter's flat value, as `update` sees a parameter."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class _Default(float):
    """A default value that remembers it was not passed, so that `lr` and its
    alias `learning_rate` cannot both be given. It prints as the float."""


def _pick_lr(lr, learning_rate):
    if learning_rate is None:
        return float(lr) if isinstance(lr, _Default) else lr
    if not isinstance(lr, _Default):
        raise ValueError(f"Pass either `lr` or its alias `learning_rate`, not both. "
                         f"Received: lr={lr!r}, learning_rate={learning_rate!r}")
    return learning_rate


def _as_tensor_list(params, where):
    """`params` (a Tensor or an iterable of Tensors) as a list without repeats:
    a Tensor listed twice (tied weights) is updated once."""
    if isinstance(params, Tensor):
        params = [params]
    unique, seen = [], set()
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{where} expects Tensors, but item {i} of `params` is a "
                            f"{type(p).__name__}: {p!r}")
        if p.id not in seen:
            seen.add(p.id)
            unique.append(p)
    return unique


def _sum_of_squares(array) -> float:
    # Accumulate in float64: a float32 sum of squares overflows for large gradients.
    return float(np.sum(np.square(array, dtype=np.float64)))


def _scaled_to_norm(grads, norm, max_norm):
    """`grads` scaled by max_norm / norm when norm exceeds max_norm (new arrays)."""
    if norm <= max_norm:
        return grads
    scale = max_norm / norm
    return [g * scale for g in grads]


def clip_grad_norm(params, max_norm: float) -> float:
    """Rescale the gradients of `params` together so that their global L2 norm
    (the norm of all of them concatenated) is at most `max_norm`, as PyTorch's
    `clip_grad_norm_` and Keras's `global_clipnorm` do. Returns the norm
    before clipping. Tensors without a gradient are ignored.

    Each clipped gradient is a NEW array assigned to `param.gradient`; the old
    array is left untouched (backward may share it with other Tensors).

    Example:
        total = zen.optim.clip_grad_norm(model.parameters(), max_norm=1.0)
    """
    max_norm = check_float(max_norm, "max_norm", 0, low_open=True)
    params = [p for p in _as_tensor_list(params, "clip_grad_norm") if p.gradient is not None]
    grads = [p.gradient for p in params]
    total = math.sqrt(sum(_sum_of_squares(g) for g in grads))
    for p, g in zip(params, _scaled_to_norm(grads, total, max_norm)):
        p.gradient = g
    return total


FLUSH_EVERY = 16
"""Every this many updates of a parameter, its buffers' subnormal numbers
become 0 (`flush_subnormal`)."""


def flush_subnormal(buffer) -> None:
    """Set the entries of the float array `buffer` whose magnitude is below
    its dtype's smallest normal number to 0, in place (NaN and infinities
    stay). A moment whose gradient stays 0 (a dead ReLU unit's weights)
    decays geometrically into that range, and stays there for good: 0.9
    times a few units of the smallest subnormal number rounds back to
    itself. Each arithmetic operation on such a number costs the CPU a
    microcode assist: Adam's update of a (784, 256) weight with half its
    rows dead took 3.0 ms instead of 0.35 from step 800 on (PyTorch's Adam
    2.4-2.9 ms instead of 0.7; bench/subnormal_moments.py). As a step, such a
    moment was worth less than a float32 weight's rounding anyway."""
    keep = np.abs(buffer) >= np.finfo(buffer.dtype).tiny  # False for NaN: NaN * 0 stays NaN
    np.multiply(buffer, keep, out=buffer)


class Optimizer:
    """Base class of the optimisers: the step loop, the learning rate (a float
    or a schedule), clipping, per-parameter state and its saving.

    A subclass defines `update(param, grad, state, lr)`, which changes
    `param.value` in place, and, when it keeps buffers, `state_names()` (one
    zero array of the parameter's shape and dtype is created per name on the
    parameter's first update; override `init_state` for other starting
    values), plus `_config()` with its own constructor arguments. `state`
    also holds `"step"`, the number of updates this parameter received,
    counting the current one (the `t` of bias corrections, as PyTorch counts),
    and, with the options below, `"average"` (the EMA of the weights) and
    `"gradient_accumulator"` (the sum of the gradients since the last update).
    A subclass may list other spellings of its arguments (Keras's) in
    `other_spellings`, e.g. `{"beta_1": "beta1"}`, and name in
    `flushed_buffers()` the buffers whose subnormal numbers may become 0
    every `FLUSH_EVERY` updates (moments that decay when a gradient stops:
    computing with such numbers is slow, and they move no weight).

    Args:
        lr: a non-negative float, or a schedule: a callable `step -> lr`
            evaluated at the number of `step` calls so far.
            Assignable later (`opt.lr = 0.01`), e.g. by callbacks.
        learning_rate: another spelling of `lr` (give one of the two).
        clipnorm: clip each parameter's gradient to this L2 norm, separately
            per parameter (Keras `clipnorm`): `g * clipnorm / max(||g||, clipnorm)`.
        clipvalue: clip each gradient element to [-clipvalue, clipvalue].
        global_clipnorm: clip all gradients together to this global L2 norm
            (see `clip_grad_norm`). At most one of the three clip options.
        use_ema: keep an exponential moving average (EMA) of the weights
            (Keras semantics): after each step, `average = ema_momentum *
            average + (1 - ema_momentum) * weight`, except that the first
            step (`iterations == 0`) copies the weights.
        ema_momentum: the EMA's momentum, in [0, 1] (default 0.99).
        ema_overwrite_frequency: with `use_ema`, overwrite the weights with
            their average every this many steps (`(iterations + 1) % k == 0`,
            as Keras); None (default): only `finalize_variable_values` does.
        gradient_accumulation_steps: None, or an integer n >= 2: the
            gradients of n steps are summed and the update runs on every n-th
            step with their mean (clipped after averaging, as Keras does).
            `iterations` then counts updates (step calls // n, Keras's
            `optimizer.iterations`); a schedule still reads the step calls.

    Example (plain gradient descent):
        class GD(Optimizer):
            def __init__(self, lr=0.1):
                super().__init__(lr)

            def update(self, param, grad, state, lr):
                param.value -= lr * grad
    """

    other_spellings = {}  # {Keras's name of an argument: Zen's}
    elementwise = False  # this class's `update` reads and writes each element alone,
    #                      touching no other state: a large parameter may be updated
    #                      in chunks on several threads (zen.parallel); a subclass
    #                      that overrides `update` must declare it again

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):  # a shared base is no optimizer of its own
            OPTIMIZERS.add(cls)
        if "__init__" in cls.__dict__:
            cls.__init__ = _accept_other_spellings(cls.__init__, cls.other_spellings)

    def __init__(self, lr, learning_rate=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, gradient_accumulation_steps=None):
        self.lr = _pick_lr(lr, learning_rate)
        # each None (no clipping) or a positive number
        self.clipnorm, self.clipvalue, self.global_clipnorm = (
            None if value is None else check_float(value, name, 0, low_open=True)
            for name, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                                ("global_clipnorm", global_clipnorm)))
        if sum(v is not None for v in self._clip_config().values()) > 1:
            received = ", ".join(f"{k}={v!r}" for k, v in self._clip_config().items())
            raise ValueError(f"Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can "
                             f"be set. Received: {received}")
        self.use_ema = check_bool(use_ema, "use_ema")
        self.ema_momentum = check_float(ema_momentum, "ema_momentum", 0, 1)
        self.ema_overwrite_frequency = None if ema_overwrite_frequency is None else \
            check_int(ema_overwrite_frequency, "ema_overwrite_frequency", 1)
        self.gradient_accumulation_steps = None if gradient_accumulation_steps is None else \
            check_int(gradient_accumulation_steps, "gradient_accumulation_steps", 2)
        self._iterations = 0  # step calls so far
        self.state = {}

    # ----- the learning rate ----------------------------------------------------
    @property
    def lr(self):
        """The learning rate as given: a float or a schedule."""
        return self._lr

    @lr.setter
    def lr(self, value):
        self._lr = value if callable(value) else check_float(value, "lr", 0)

    # Keras users write `optimizer.learning_rate`; it is the same attribute.
    learning_rate = lr

    @property
    def current_lr(self) -> float:
        """The rate the next `step` will use: `lr`, or for a schedule `lr(k)`
        with k the number of `step` calls so far (Keras: the schedule reads
        every step, also those that only accumulate gradients)."""
        if not callable(self._lr):
            return self._lr
        value = self._lr(self._iterations)
        if not is_number(value, finite=True) or value < 0:
            raise ValueError(f"The learning-rate schedule {self._lr!r} returned {value!r} at "
                             f"step {self._iterations}, expected a non-negative number")
        return float(value)  # a Python float: a numpy float64 would make float64 temporaries

    @property
    def iterations(self) -> int:
        """Keras's `optimizer.iterations`: the number of `step` calls, divided
        (floored) by `gradient_accumulation_steps` when accumulating, i.e. the
        number of updates applied."""
        n = self.gradient_accumulation_steps
        return self._iterations // n if n else self._iterations

    # ----- the training step ----------------------------------------------------
    def step(self, params) -> None:
        """Update, in place, every Tensor of `params` whose gradient is not
        None (with accumulation: add the gradients up, and update on every
        n-th call), move the weights' averages (`use_ema`), apply each
        weight's `constraint` (Keras's, set by `Layer.add_weight`), then
        count the step."""
        params = _as_tensor_list(params, "step")
        with_gradient = [p for p in params if p.gradient is not None]
        for p in with_gradient:
            if p.gradient.shape != p.value.shape:
                raise ValueError(f"A parameter of shape {p.value.shape} has a gradient of "
                                 f"shape {p.gradient.shape}; they must match: {p!r}")
        lr = self.current_lr
        states = [self._state_of(p) for p in with_gradient]
        grads = [p.gradient for p in with_gradient]
        if self.gradient_accumulation_steps:
            grads = self._accumulate(grads, states)
        if grads is not None:
            for p, grad, state in zip(with_gradient, self._clip(grads), states):
                state["step"] += 1
                self._update_in_chunks(p, grad, state, lr)
                if state["step"] % FLUSH_EVERY == 0:
                    self._flush_subnormal_state(state)
        if self.use_ema:
            self._move_averages(params)
        for p in with_gradient:  # as Keras: the weights that had a gradient
            if p.constraint is not None:
                p.value[...] = p.constraint(p.value)
        self._iterations += 1

    def _flush_subnormal_state(self, state) -> None:
        """`flush_subnormal` on each buffer `flushed_buffers` names."""
        for name in self.flushed_buffers():
            buffer = state.get(name)
            if isinstance(buffer, np.ndarray) and buffer.dtype.kind == "f":
                flush_subnormal(buffer)

    def _update_in_chunks(self, param, grad, state, lr) -> None:
        """`update`, split over zen.parallel's threads for a large parameter
        of an `elementwise` optimizer: each chunk updates its stretch of the
        parameter and of its state arrays, so the result is bitwise the same."""
        value = param.value
        if value.size < 2 * parallel.MIN_CHUNK or not self._updates_elementwise() or not all(
                a.shape == value.shape and a.flags.c_contiguous  # (most parameters: too small)
                for a in (value, grad, *[s for s in state.values() if isinstance(s, np.ndarray)])):
            self.update(param, grad, state, lr)
            return
        flat_grad = grad.reshape(-1)
        flat_state = {key: a.reshape(-1) if isinstance(a, np.ndarray) else a
                      for key, a in state.items()}

        def update_chunk(start, stop):
            piece = _Stretch(value.reshape(-1)[start:stop])
            self.update(piece, flat_grad[start:stop],
                        {key: a[start:stop] if isinstance(a, np.ndarray) else a
                         for key, a in flat_state.items()}, lr)
        parallel.for_each_chunk(update_chunk, value.size)

    @classmethod
    def _updates_elementwise(cls) -> bool:
        """`elementwise` as declared by the class whose `update` runs: a
        subclass that overrides `update` does not inherit the promise."""
        owner = next(c for c in cls.__mro__ if "update" in vars(c))
        return bool(vars(owner).get("elementwise", False))

    def _state_of(self, param):
        """The state of `param`, created on its first gradient."""
        state = self.state.get(param.id)
        if state is None:
            state = self.state[param.id] = self._new_state(param)
        return state

    def _new_state(self, param) -> dict:
        state = {"step": 0, **self.init_state(param)}
        if self.use_ema:
            # A copy of the weights: equal to what Keras's average holds for a
            # weight that had no update yet (its first step copies the weights).
            state["average"] = param.value.copy()
        if self.gradient_accumulation_steps:
            state["gradient_accumulator"] = np.zeros_like(param.value)
        return state

    def _accumulate(self, grads, states):
        """Keras's gradient accumulation: on all but every n-th step, add the
        gradients to the accumulators and return None (no update); on the
        n-th, return the means (gradient + accumulator) / n and zero every
        accumulator of the optimiser."""
        n = self.gradient_accumulation_steps
        if (self._iterations + 1) % n:
            for grad, state in zip(grads, states):
                state["gradient_accumulator"] += grad
            return None
        means = [np.add(grad, state["gradient_accumulator"]) for grad, state in zip(grads, states)]
        for mean in means:
            mean /= n
        for state in self.state.values():
            state["gradient_accumulator"].fill(0)
        return means

    def _move_averages(self, params):
        """Keras's EMA of the weights of `params` (those with a state), and
        the periodic overwrite of the weights by it."""
        momentum = self.ema_momentum if self.iterations else 0.0  # step 0 copies the weights
        pairs = [(p, self.state[p.id]["average"]) for p in params if p.id in self.state]
        for p, average in pairs:
            average *= momentum
            average += (1.0 - momentum) * p.value
        k = self.ema_overwrite_frequency
        if k and (self.iterations + 1) % k == 0:
            for p, average in pairs:
                p.value[...] = average

    def finalize_variable_values(self, params) -> None:
        """With `use_ema`, copy each parameter's average into its weights
        (in place), as Keras does at the end of `fit`; otherwise nothing.
        Tensors the optimiser never updated are left as they are.

        Args:
            params: a Tensor or an iterable of Tensors (the model's parameters).
        """
        params = _as_tensor_list(params, "finalize_variable_values")
        if self.use_ema:
            for p in params:
                if p.id in self.state:
                    p.value[...] = self.state[p.id]["average"]

    def _clip(self, grads):
        """The gradients after the clip option (new arrays where clipped)."""
        if self.clipvalue is not None:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        if self.clipnorm is not None:
            return [_scaled_to_norm([g], math.sqrt(_sum_of_squares(g)), self.clipnorm)[0]
                    for g in grads]
        if self.global_clipnorm is not None:
            total = math.sqrt(sum(_sum_of_squares(g) for g in grads))
            return _scaled_to_norm(grads, total, self.global_clipnorm)
        return grads

    def zero_grad(self, params) -> None:
        """Set the gradient of every Tensor of `params` to None."""
        for p in _as_tensor_list(params, "zero_grad"):
            p.gradient = None

    # ----- subclass hooks -------------------------------------------------------
    def state_names(self) -> tuple:
        """Names of the per-parameter buffers (arrays of the parameter's shape)."""
        return ()

    def flushed_buffers(self) -> tuple:
        """Names of the buffers whose subnormal numbers become 0 every
        `FLUSH_EVERY` updates (`flush_subnormal`): those where such a number
        moves the weight by less than its rounding. None by default."""
        return ()

    def init_state(self, param: Tensor) -> dict:
        """The buffers of a parameter before its first update (zeros)."""
        return {name: np.zeros_like(param.value) for name in self.state_names()}

    def update(self, param: Tensor, grad, state: dict, lr: float) -> None:
        """Change `param.value` in place from `grad` (read-only) and `state`."""
        raise NotImplementedError(f"{type(self).__name__} must define update (subclass hook)")

    def _config(self) -> dict:
        """The subclass's constructor arguments other than lr and clipping."""
        return {}

    # ----- configuration --------------------------------------------------------
    def get_config(self) -> dict:
        """The constructor arguments that rebuild this optimiser, JSON-ready (a
        schedule is stored as `schedules.serialize` gives it)."""
        lr = self._lr
        if callable(lr):
            if not isinstance(lr, schedules.LearningRateSchedule):
                raise ValueError(f"Cannot save the learning rate {lr!r}: only floats and "
                                 f"zen.optim.schedules schedules (which have get_config) "
                                 f"can be saved")
            lr = schedules.serialize(lr)
        return {"lr": lr, **self._config(), **self._clip_config(), **self._options_config()}

    @classmethod
    def from_config(cls, config: dict) -> "Optimizer":
        """A new optimizer from `get_config()`'s dict (a saved schedule is rebuilt too)."""
        config = dict(config)
        if isinstance(config.get("lr"), dict):
            config["lr"] = schedules.get(config["lr"])
        return cls(**config)

    def _clip_config(self) -> dict:
        return {"clipnorm": self.clipnorm, "clipvalue": self.clipvalue,
                "global_clipnorm": self.global_clipnorm}

    def _options_config(self) -> dict:
        return {"use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    def __repr__(self):
        clips = {k: v for k, v in self._clip_config().items() if v is not None}
        options = self._options_config() if self.use_ema else {}  # the EMA's, when it is on
        options = {k: v for k, v in options.items() if v is not None}
        if self.gradient_accumulation_steps:
            options["gradient_accumulation_steps"] = self.gradient_accumulation_steps
        args = {"lr": self._lr, **self._config(), **clips, **options}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in args.items())})"

    # ----- saving and restoring state ------------------------------------------
    def state_dict(self, params=None) -> dict:
        """The optimiser's state as a flat dict of numpy arrays and ints, ready
        for an npz file (no pickle): `"iterations"`, and one entry per buffer
        of each parameter, `"<owner>/<name>"` (e.g. `"0/m"`, `"0/step"`).

        Two ways to name the owner:
        - `state_dict()`: by Tensor id, `"id<tensor.id>/m"`. Restores into the
          same Tensors of this process (`load_state_dict(state)`).
        - `state_dict(params)`: by position in `params`, `"<index>/m"`. A
          resumed model has new Tensors, hence new ids; restore with
          `load_state_dict(state, new_params)`, the same list in the same order.
          State of Tensors not in `params` is left out.
        Arrays are copies: later steps do not change a saved dict.
        """
        if params is None:
            owners = {f"id{tid}": state for tid, state in self.state.items()}
        else:
            params = _as_tensor_list(params, "state_dict")
            owners = {str(i): self.state[p.id] for i, p in enumerate(params) if p.id in self.state}
        out = {"iterations": self._iterations}  # step calls (Keras saves these too)
        for owner, state in owners.items():
            for name, value in state.items():
                out[f"{owner}/{name}"] = value.copy() if isinstance(value, np.ndarray) else value
        return out

    def load_state_dict(self, state: dict, params=None) -> None:
        """Replace the optimiser's state (and `iterations`) with `state`, from
        `state_dict()` (by id; leave `params` out) or `state_dict(params)` (by
        position; pass the Tensors in the same order). Training then continues
        exactly as it would have. Values may come back from an npz file as
        0-d arrays; the step counters become ints again."""
        if "iterations" not in state:
            raise ValueError(f"Not an optimizer state: the key 'iterations' is missing. "
                             f"Received keys: {sorted(state)[:10]}")
        by_owner = {}
        for key, value in state.items():
            if key == "iterations":
                continue
            owner, sep, name = key.partition("/")
            if not sep or not owner or not name:
                raise ValueError(f"Unexpected key {key!r} in an optimizer state: expected "
                                 f"'iterations' or '<owner>/<name>', e.g. '0/m'")
            by_owner.setdefault(owner, {})[name] = _restored(name, value)
        tensors = self._owners_to_tensors(by_owner, params)
        expected = {"step", *self.state_names()}
        expected |= {"average"} if self.use_ema else set()
        expected |= {"gradient_accumulator"} if self.gradient_accumulation_steps else set()
        for owner, entries in by_owner.items():
            if set(entries) != expected:
                raise ValueError(f"The state of parameter {owner} has entries {sorted(entries)}, "
                                 f"{type(self).__name__} expects {sorted(expected)}: was it "
                                 f"saved by another optimizer, or with other options?")
            if tensors is not None:
                _check_shapes(owner, entries, self._new_state(tensors[owner]), tensors[owner])
        self.state = {(tensors[o].id if tensors is not None else int(o[2:])): entries
                      for o, entries in by_owner.items()}
        self._iterations = int(state["iterations"])

    def _owners_to_tensors(self, by_owner, params):
        """{owner: Tensor} when loading by position, None when loading by id;
        checks that the state was saved the same way."""
        by_id = [o for o in by_owner if o.startswith("id") and o[2:].isdigit()]
        by_index = [o for o in by_owner if o.isdigit()]
        if len(by_id) + len(by_index) != len(by_owner):
            bad = sorted(set(by_owner) - set(by_id) - set(by_index))
            raise ValueError(f"Unexpected owners {bad} in an optimizer state: expected "
                             f"'id<tensor id>' or a position '<index>'")
        if params is None:
            if by_index:
                raise ValueError("This optimizer state was saved by position "
                                 "(state_dict(params)); pass the parameters: "
                                 "load_state_dict(state, params)")
            return None
        if by_id:
            raise ValueError("This optimizer state was saved by Tensor id (state_dict() "
                             "without params); load it with load_state_dict(state)")
        params = _as_tensor_list(params, "load_state_dict")
        too_far = [o for o in by_index if int(o) >= len(params)]
        if too_far:
            raise ValueError(f"The optimizer state has entries for parameter {too_far[0]}, "
                             f"but only {len(params)} parameters were given")
        return {o: params[int(o)] for o in by_index}


def _restored(name, value):
    """A state entry as the optimiser keeps it: the step counter as an int,
    a buffer as a copy of a float array (0-d for a scalar parameter)."""
    array = np.asarray(value)
    if name == "step":
        if array.ndim != 0 or array.dtype.kind not in "iu":
            raise ValueError(f"An optimizer state 'step' must be an integer. Received: {value!r}")
        return int(array)
    if array.dtype.kind != "f":
        raise ValueError(f"The optimizer state {name!r} must be a float array. "
                         f"Received an array of dtype {array.dtype}")
    return np.array(array, copy=True)


def _check_shapes(owner, entries, fresh, tensor):
    """Each loaded buffer must have the shape of the one the optimiser makes (`fresh`)."""
    for name, value in entries.items():
        if name != "step" and value.shape != fresh[name].shape:
            raise ValueError(f"The state {name!r} of parameter {owner} has shape {value.shape}, "
                             f"but it must have shape {fresh[name].shape} for a parameter of "
                             f"shape {tensor.value.shape}")
