"""Weight initializers with Keras's names, classes, arguments and distributions.

Each is a class (`RandomNormal(stddev=0.1)`, called as `init(shape,
dtype=None)`, with `get_config`) and, at its defaults, a function of the
snake_case name (`random_normal(shape, dtype)`). Draws come from Zen's
generator (`zen.rng`, seeded by `zen.set_seed`); an initializer given a
`seed` draws from its own generator made from that seed on every call, so
it gives the same values each time (as a Keras initializer seeded with an
integer does).

Fan sizes follow Keras: a Dense kernel (fan_in, fan_out) uses its two axes;
a convolution kernel (kh, kw, C_in, C_out) multiplies both by kh * kw.
"""
import numpy as np

from .. import rng
from ..backend import DEFAULT_DTYPE
from ..registry import Registry
from ..validation import check_float, check_int, check_one_of, invalid, is_int

TRUNCATED_STDDEV = 0.87962566103423978
"""The standard deviation of a unit normal truncated to [-2, 2]."""


# ----- shapes, dtypes, fans and draws ----------------------------------------------------
def _as_shape(shape) -> tuple:
    """`shape` (an int or a sequence of ints >= 0) as a tuple."""
    if is_int(shape) and shape >= 0:
        return (int(shape),)
    if isinstance(shape, (list, tuple)) and all(is_int(n) and n >= 0 for n in shape):
        return tuple(int(n) for n in shape)
    raise invalid("shape", "a tuple of non-negative integers", shape)


def _dtype(dtype) -> np.dtype:
    """`dtype` as a numpy dtype; None is float32."""
    return np.dtype(DEFAULT_DTYPE if dtype is None else dtype)


def _float_dtype(dtype) -> np.dtype:
    """`dtype` (None: float32) as a numpy floating dtype."""
    dtype = _dtype(dtype)
    if dtype.kind != "f":
        raise invalid("dtype", "a floating dtype", str(dtype))
    return dtype


def compute_fans(shape, input_axes=None, output_axes=None) -> tuple:
    """(fan_in, fan_out) of a weight of `shape`, as Keras counts them: a
    vector's size for both, a matrix's rows and columns, and for a kernel
    (..., C_in, C_out) each of the last two times the receptive field (the
    product of the others).

    Args:
        shape: the weight's shape (a tuple).
        input_axes: with `output_axes`, the axes whose sizes multiply into
            fan_in (default None: the rule above).
        output_axes: the axes whose sizes multiply into fan_out (default None).
    """
    if input_axes is not None and output_axes is not None:
        return (int(np.prod([shape[a] for a in input_axes])),
                int(np.prod([shape[a] for a in output_axes])))
    if len(shape) < 2:
        return (shape[0] if shape else 1,) * 2
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


def _generator(seed) -> np.random.Generator:
    """Zen's generator, or for a seed a fresh one made from it."""
    return rng.generator() if seed is None else np.random.default_rng(seed)


def _truncated_normal(generator, shape, mean, stddev):
    """Normal draws with `mean` and `stddev`, those further than two
    standard deviations from the mean redrawn until none is (Keras's
    truncated normal: its standard deviation is 0.8796 * stddev)."""
    values = generator.normal(0, stddev, shape)
    outside = np.abs(values) > 2 * stddev
    while outside.any():
        values[outside] = generator.normal(0, stddev, outside.sum())
        outside = np.abs(values) > 2 * stddev
    return values + mean


# ----- the base classes --------------------------------------------------------------
class Initializer:
    """Base class: `__call__(shape, dtype=None) -> ndarray` and
    `get_config()`; `from_config(config)` rebuilds it."""

    def __call__(self, shape, dtype=None):
        """An array of `shape` and `dtype`; a subclass defines it.

        Args:
            shape: a tuple of sizes (an int for a vector).
            dtype: a numpy dtype or its name (default None: float32).
        """
        raise NotImplementedError(f"{type(self).__name__} must define __call__ "
                                  f"(subclass hook)")

    def get_config(self) -> dict:
        """The constructor arguments that rebuild this initializer (JSON-able)."""
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Initializer":
        """A new initializer from `get_config()`'s dict."""
        return cls(**config)

    def clone(self) -> "Initializer":
        """A new initializer with the same configuration."""
        return type(self).from_config(self.get_config())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class RandomInitializer(Initializer):
    """An initializer that draws random numbers: from zen.rng, or with
    `seed` (an int >= 0) from its own generator, the same values each call."""

    def __init__(self, seed: int = None):
        self.seed = None if seed is None else check_int(seed, "seed", 0)

    def _draw(self, shape, dtype, draw):
        """`draw(generator, shape)` cast to `dtype`, after checking both."""
        shape, dtype = _as_shape(shape), _float_dtype(dtype)
        return draw(_generator(self.seed), shape).astype(dtype)

    def get_config(self):
        return {"seed": self.seed}


# ----- random distributions ----------------------------------------------------------------
class RandomNormal(RandomInitializer):
    """Draws from N(mean, stddev^2).

    Args:
        mean: the mean (default 0.0).
        stddev: the standard deviation, >= 0 (default 0.05).
        seed: None (draw from zen.rng) or an int (the same draws every call).

    Example:
        RandomNormal(stddev=0.01)((784, 10)).std()     # about 0.01
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int = None):
        super().__init__(seed)
        self.mean = check_float(mean, "mean")
        self.stddev = check_float(stddev, "stddev", 0)

    def __call__(self, shape, dtype=None):
        return self._draw(shape, dtype,
                          lambda g, s: g.normal(self.mean, self.stddev, s))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class RandomUniform(RandomInitializer):
    """Draws from U(minval, maxval).

    Args:
        minval: the lower bound (default -0.05).
        maxval: the upper bound, >= minval (default 0.05).
        seed: None (draw from zen.rng) or an int (the same draws every call).
    """

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int = None):
        super().__init__(seed)
        self.minval = check_float(minval, "minval")
        self.maxval = check_float(maxval, "maxval", self.minval)

    def __call__(self, shape, dtype=None):
        return self._draw(shape, dtype,
                          lambda g, s: g.uniform(self.minval, self.maxval, s))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


class TruncatedNormal(RandomNormal):
    """Draws from N(mean, stddev^2), redrawing values more than two `stddev`
    from the mean, so all lie within mean +- 2 stddev (their standard
    deviation is then 0.8796 * stddev, as in Keras).

    Args:
        mean: the mean (default 0.0).
        stddev: the standard deviation before truncation, >= 0 (default 0.05).
        seed: None (draw from zen.rng) or an int (the same draws every call).
    """

    def __call__(self, shape, dtype=None):
        return self._draw(shape, dtype,
                          lambda g, s: _truncated_normal(g, s, self.mean, self.stddev))


class VarianceScaling(RandomInitializer):
    """Draws with variance scale / n, n the fan: fan_in, fan_out or their
    mean ("fan_avg"), at least 1. "truncated_normal" draws a truncated
    normal whose stddev before truncation is sqrt(scale / n) / 0.8796, so
    that the truncated draws have variance scale / n; "untruncated_normal"
    draws N(0, scale / n); "uniform" draws U(-l, l), l = sqrt(3 scale / n).

    Args:
        scale: the variance's numerator, > 0 (default 1.0).
        mode: "fan_in" (default), "fan_out" or "fan_avg".
        distribution: "truncated_normal" (default; "normal" too),
            "untruncated_normal" or "uniform".
        seed: None (draw from zen.rng) or an int (the same draws every call).
        input_axes: with `output_axes`, the axes whose sizes make fan_in
            (default None: Keras's rule, see `compute_fans`).
        output_axes: the axes whose sizes make fan_out (default None).

    Example:
        VarianceScaling(2.0, "fan_in", "untruncated_normal")((256, 64))
    """

    MODES = ("fan_in", "fan_out", "fan_avg")
    DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed: int = None,
                 input_axes=None, output_axes=None):
        super().__init__(seed)
        self.scale = check_float(scale, "scale", 0, low_open=True)
        self.mode = check_one_of(mode, "mode", self.MODES)
        if isinstance(distribution, str):
            distribution = distribution.lower()
        if distribution == "normal":  # Keras's older name
            distribution = "truncated_normal"
        self.distribution = check_one_of(distribution, "distribution", self.DISTRIBUTIONS)
        self.input_axes, self.output_axes = _axes(input_axes, "input_axes"), \
            _axes(output_axes, "output_axes")

    def __call__(self, shape, dtype=None):
        shape = _as_shape(shape)
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out,
               "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, fan)
        if self.distribution == "truncated_normal":
            stddev = np.sqrt(variance) / TRUNCATED_STDDEV
            return self._draw(shape, dtype, lambda g, s: _truncated_normal(g, s, 0.0, stddev))
        if self.distribution == "untruncated_normal":
            return self._draw(shape, dtype, lambda g, s: g.normal(0.0, np.sqrt(variance), s))
        limit = np.sqrt(3.0 * variance)
        return self._draw(shape, dtype, lambda g, s: g.uniform(-limit, limit, s))

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                **super().get_config(), "input_axes": self.input_axes,
                "output_axes": self.output_axes}


def _axes(axes, name):
    """A list of axis indices (or None), for the config."""
    if axes is None:
        return None
    if is_int(axes):
        axes = [axes]
    if not isinstance(axes, (list, tuple)) or not all(is_int(a) for a in axes):
        raise invalid(name, "None or a list of axis indices", axes)
    return [int(a) for a in axes]


class _FixedScaling(VarianceScaling):
    """VarianceScaling with the scale, mode and distribution fixed by the
    subclass (Glorot, He, LeCun): only the seed and axes are arguments."""

    SETTINGS = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed: int = None, input_axes=None, output_axes=None):
        super().__init__(*self.SETTINGS, seed=seed, input_axes=input_axes,
                         output_axes=output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


def _fixed_scaling(name, scale, mode, distribution, summary):
    """The class `name`: VarianceScaling(scale, mode, distribution), documented by `summary`."""
    doc = (f"{summary}: VarianceScaling({scale}, {mode!r}, {distribution!r}).\n\n"
           "    Args:\n"
           "        seed: None (draw from zen.rng) or an int (the same draws every call).\n"
           "        input_axes: see VarianceScaling (default None).\n"
           "        output_axes: see VarianceScaling (default None).\n    ")
    return type(name, (_FixedScaling,), {"SETTINGS": (scale, mode, distribution),
                                         "__doc__": doc})


GlorotUniform = _fixed_scaling("GlorotUniform", 1.0, "fan_avg", "uniform",
                               "U(-l, l), l = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)")
"""Keras's `GlorotUniform`: U(-l, l), l = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010);
`VarianceScaling(1.0, "fan_avg", "uniform")` with the arguments `seed`, `input_axes`,
`output_axes`."""
GlorotNormal = _fixed_scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                              "Truncated normal with variance 2 / (fan_in + fan_out)")
"""Keras's `GlorotNormal`: Truncated normal with variance 2 / (fan_in + fan_out);
`VarianceScaling(1.0, "fan_avg", "truncated_normal")` with the arguments `seed`,
`input_axes`, `output_axes`."""
HeNormal = _fixed_scaling("HeNormal", 2.0, "fan_in", "truncated_normal",
                          "Truncated normal with variance 2 / fan_in (He et al., 2015), for ReLU")
"""Keras's `HeNormal`: Truncated normal with variance 2 / fan_in (He et al., 2015), for ReLU;
`VarianceScaling(2.0, "fan_in", "truncated_normal")` with the arguments `seed`,
`input_axes`, `output_axes`."""
HeUniform = _fixed_scaling("HeUniform", 2.0, "fan_in", "uniform",
                           "U(-l, l), l = sqrt(6 / fan_in) (He et al., 2015)")
"""Keras's `HeUniform`: U(-l, l), l = sqrt(6 / fan_in) (He et al., 2015); `VarianceScaling(2.0,
"fan_in", "uniform")` with the arguments `seed`, `input_axes`, `output_axes`."""
LecunNormal = _fixed_scaling("LecunNormal", 1.0, "fan_in", "truncated_normal",
                             "Truncated normal with variance 1 / fan_in (LeCun et al., 1998), "
                             "for SELU")
"""Keras's `LecunNormal`: Truncated normal with variance 1 / fan_in (LeCun et al., 1998), for
SELU; `VarianceScaling(1.0, "fan_in", "truncated_normal")` with the arguments `seed`,
`input_axes`, `output_axes`."""
LecunUniform = _fixed_scaling("LecunUniform", 1.0, "fan_in", "uniform",
                              "U(-l, l), l = sqrt(3 / fan_in)")
"""Keras's `LecunUniform`: U(-l, l), l = sqrt(3 / fan_in); `VarianceScaling(1.0, "fan_in",
"uniform")` with the arguments `seed`, `input_axes`, `output_axes`."""


class Orthogonal(RandomInitializer):
    """gain times a (semi-)orthogonal matrix, from the QR decomposition of a
    Gaussian one with the signs of R's diagonal folded in, so that it is
    uniformly distributed (Saxe et al., 2014): the default for recurrent
    kernels. A shape (..., n) is treated as a (prod(...), n) matrix: its
    rows are orthonormal when there are fewer rows than columns, else its
    columns.

    Args:
        gain: the factor applied to the matrix (default 1.0).
        seed: None (draw from zen.rng) or an int (the same draws every call).
    """

    def __init__(self, gain: float = 1.0, seed: int = None):
        super().__init__(seed)
        self.gain = check_float(gain, "gain")

    def __call__(self, shape, dtype=None):
        shape = _as_shape(shape)
        if len(shape) < 2:
            raise invalid("shape", "at least 2 dimensions for Orthogonal", shape)
        return self._draw(shape, dtype, self._orthogonal)

    def _orthogonal(self, generator, shape):
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        q, r = np.linalg.qr(generator.normal(size=(max(rows, cols), min(rows, cols))))
        q *= np.sign(np.diag(r))
        q = q if rows >= cols else q.T
        return self.gain * q.reshape(shape)

    def get_config(self):
        return {"gain": self.gain, **super().get_config()}


# ----- constants -------------------------------------------------------------------
class Constant(Initializer):
    """Every element `value`.

    Args:
        value: the number to fill with (default 0.0).
    """

    def __init__(self, value: float = 0.0):
        self.value = check_float(value, "value")

    def __call__(self, shape, dtype=None):
        return np.full(_as_shape(shape), self.value, _dtype(dtype))

    def get_config(self):
        return {"value": self.value}


class Zeros(Initializer):
    """An array of zeros (the default for biases)."""

    def __call__(self, shape, dtype=None):
        return np.zeros(_as_shape(shape), _dtype(dtype))


class Ones(Initializer):
    """An array of ones."""

    def __call__(self, shape, dtype=None):
        return np.ones(_as_shape(shape), _dtype(dtype))


class Identity(Initializer):
    """gain times the identity matrix (rectangular shapes get ones on the
    main diagonal), for 2-D shapes only.

    Args:
        gain: the factor applied to the matrix (default 1.0).
    """

    def __init__(self, gain: float = 1.0):
        self.gain = check_float(gain, "gain")

    def __call__(self, shape, dtype=None):
        shape = _as_shape(shape)
        if len(shape) != 2:
            raise invalid("shape", "a 2-D shape for Identity", shape)
        return (self.gain * np.eye(*shape)).astype(_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


# ----- the functions, and the names ---------------------------------------------------------
def _function(cls, name):
    """`cls()` at its defaults as a function `(shape, dtype=float32) -> array` called `name`."""
    def initialize(shape, dtype=DEFAULT_DTYPE):
        return cls()(shape, dtype)
    initialize.__name__ = initialize.__qualname__ = name
    initialize.__doc__ = f"`{cls.__name__}()` as a function: {cls.__doc__.splitlines()[0]}"
    return initialize


zeros = _function(Zeros, "zeros")
"""The `zeros` initializer at its defaults, as a function `(shape, dtype) -> array`."""
ones = _function(Ones, "ones")
"""The `ones` initializer at its defaults, as a function `(shape, dtype) -> array`."""
constant = _function(Constant, "constant")
"""The `constant` initializer at its defaults, as a function `(shape, dtype) -> array`."""
identity = _function(Identity, "identity")
"""The `identity` initializer at its defaults, as a function `(shape, dtype) -> array`."""
random_normal = _function(RandomNormal, "random_normal")
"""The `random_normal` initializer at its defaults, as a function `(shape, dtype) -> array`."""
random_uniform = _function(RandomUniform, "random_uniform")
"""The `random_uniform` initializer at its defaults, as a function `(shape, dtype) -> array`."""
truncated_normal = _function(TruncatedNormal, "truncated_normal")
"""The `truncated_normal` initializer at its defaults, as a function `(shape, dtype) -> array`."""
variance_scaling = _function(VarianceScaling, "variance_scaling")
"""The `variance_scaling` initializer at its defaults, as a function `(shape, dtype) -> array`."""
glorot_uniform = _function(GlorotUniform, "glorot_uniform")
"""The `glorot_uniform` initializer at its defaults, as a function `(shape, dtype) -> array`."""
glorot_normal = _function(GlorotNormal, "glorot_normal")
"""The `glorot_normal` initializer at its defaults, as a function `(shape, dtype) -> array`."""
he_normal = _function(HeNormal, "he_normal")
"""The `he_normal` initializer at its defaults, as a function `(shape, dtype) -> array`."""
he_uniform = _function(HeUniform, "he_uniform")
"""The `he_uniform` initializer at its defaults, as a function `(shape, dtype) -> array`."""
lecun_normal = _function(LecunNormal, "lecun_normal")
"""The `lecun_normal` initializer at its defaults, as a function `(shape, dtype) -> array`."""
lecun_uniform = _function(LecunUniform, "lecun_uniform")
"""The `lecun_uniform` initializer at its defaults, as a function `(shape, dtype) -> array`."""
orthogonal = _function(Orthogonal, "orthogonal")
"""The `orthogonal` initializer at its defaults, as a function `(shape, dtype) -> array`."""

INITIALIZERS = Registry("initializer")
"""Keras's initializer names: snake_case names and the aliases "normal",
"uniform", "zero", "one" -> functions `(shape, dtype) -> array`; class names
-> classes (which `get` instantiates)."""
for _fn in (zeros, ones, constant, identity, random_normal, random_uniform,
            truncated_normal, variance_scaling, glorot_uniform, glorot_normal, he_normal,
            he_uniform, lecun_normal, lecun_uniform, orthogonal):
    INITIALIZERS.add(_fn)
for _fn, _alias in ((random_normal, "normal"), (random_uniform, "uniform"),
                    (zeros, "zero"), (ones, "one")):
    INITIALIZERS.add(_fn, _alias)
for _cls in (Zeros, Ones, Constant, Identity, RandomNormal, RandomUniform, TruncatedNormal,
             VarianceScaling, GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal,
             LecunUniform, Orthogonal):
    INITIALIZERS.add(_cls)
_CLASS_ALIASES = {"IdentityInitializer": "Identity", "OrthogonalInitializer": "Orthogonal"}


def get(initializer):
    """An initializer (a callable `(shape, dtype) -> array`) from a name
    ("he_normal", "HeNormal", "normal"), a class (instantiated at its
    defaults), an instance or other callable (returned as it is), or a
    config dict `{"class_name": "RandomNormal", "config": {...}}` (Keras's
    "module" and "registered_name" keys are ignored).

    Args:
        initializer: what to resolve.

    Example:
        get("glorot_uniform")((3, 4))
        get({"class_name": "RandomNormal", "config": {"stddev": 0.1}})
    """
    if isinstance(initializer, dict):
        return deserialize(initializer)
    if isinstance(initializer, str):
        initializer = INITIALIZERS.lookup(_CLASS_ALIASES.get(initializer, initializer))
    if isinstance(initializer, type) and issubclass(initializer, Initializer):
        return initializer()
    if callable(initializer):
        return initializer
    raise invalid("initializer", "a name, a class, a callable or a config dict", initializer)


def serialize(initializer):
    """How a config names `initializer`: a name stays a name, a function
    gives its name, an instance `{"class_name": ..., "config": ...}` (its
    class must be filed here, or registered by the user, to load again), a
    config dict its normal form; anything else is a ValueError.

    Args:
        initializer: a name, a function, an initializer (or its class) or a config dict.

    Example:
        serialize(RandomNormal(stddev=0.1))
        # {'class_name': 'RandomNormal', 'config': {'mean': 0.0, 'stddev': 0.1, 'seed': None}}
    """
    if isinstance(initializer, str):
        INITIALIZERS.lookup(_CLASS_ALIASES.get(initializer, initializer))
        return initializer
    if isinstance(initializer, dict):
        return serialize(deserialize(initializer))
    if isinstance(initializer, type) and issubclass(initializer, Initializer):
        initializer = initializer()
    if not callable(initializer):
        raise invalid("initializer", "a name, a callable or a config dict", initializer)
    if hasattr(initializer, "__name__"):  # a function
        return initializer.__name__
    config = initializer.get_config() if hasattr(initializer, "get_config") else {}
    return {"class_name": type(initializer).__name__, "config": config}


def deserialize(config):
    """The initializer a name or a `serialize` dict describes (see `get`).

    Args:
        config: what `serialize` gave.
    """
    if not isinstance(config, dict):
        return get(config)
    spec = {k: v for k, v in config.items() if k not in ("module", "registered_name")}
    if isinstance(spec.get("class_name"), str):
        spec["class_name"] = _CLASS_ALIASES.get(spec["class_name"], spec["class_name"])
    return INITIALIZERS.deserialize(spec)
