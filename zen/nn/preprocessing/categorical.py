"""Categorical preprocessing layers (Keras 3's names, arguments and
numbers): CategoryEncoding and Discretization.

They are not differentiable (as in Keras): they take and return arrays
(a Tensor given is read as its values); integer outputs are int64, encoded
outputs float32.
"""
import numpy as np

from ...autodiff import Tensor
from ...validation import check_bool, check_float, check_int, check_one_of, invalid, is_number
from ..layer import Layer

ENCODINGS = ("one_hot", "multi_hot", "count")


def as_array(x) -> np.ndarray:
    """The values of `x` (a Tensor, an array or nested lists) as an array."""
    return np.asarray(x.value if isinstance(x, Tensor) else x)


def check_indices(indices: np.ndarray, depth: int) -> np.ndarray:
    """`indices` as int64; a ValueError unless every one lies in [0, depth)."""
    if indices.size and (indices.min() < 0 or indices.max() >= depth):
        raise ValueError(f"Every input value must lie in [0, {depth}) (num_tokens={depth}); "
                         f"received values from {indices.min()} to {indices.max()}")
    return indices.astype(np.int64)


def one_hot(indices: np.ndarray, depth: int) -> np.ndarray:
    """float32 one-hot vectors along a new last axis."""
    return (indices[..., None] == np.arange(depth)).astype(np.float32)


def encode(indices, output_mode: str, depth: int, count_weights=None) -> np.ndarray:
    """Keras's `encode_categorical_inputs`: "int" returns the indices; "one_hot"
    a vector per index (a last axis of size 1 is replaced); "multi_hot" and
    "count" reduce the last axis (the only axis of a 1-D input) to `depth`
    presence flags or counts (weighted by `count_weights`)."""
    if output_mode == "int":
        return indices.astype(np.int64)
    if indices.ndim == 0:
        indices = indices[None]
    if output_mode == "one_hot":
        if indices.ndim > 1 and indices.shape[-1] == 1:
            indices = indices[..., 0]
        return one_hot(indices, depth)
    encoded = one_hot(indices, depth)
    if output_mode == "multi_hot":
        return encoded.max(axis=-2)
    if count_weights is not None:
        encoded = encoded * np.asarray(count_weights, dtype=np.float32)[..., None]
    return encoded.sum(axis=1 if indices.ndim > 1 else 0)


class CategoryEncoding(Layer):
    """Encode integer categories in [0, num_tokens) as vectors, as Keras's
    `CategoryEncoding`.

    Args:
        num_tokens: the number of categories (the output's last size).
        output_mode: "multi_hot" (default: 1 for each category present in
            the last axis), "one_hot" (a vector per value) or "count" (how
            often each category appears in the last axis).
        sparse: must be False (Zen has no sparse outputs).
        name: the layer's name.

    Call arguments: `count_weights`, an array of the inputs' shape weighting
    each value (only with "count").

    Shapes: "one_hot": (batch,) or (batch, 1) -> (batch, num_tokens),
    (batch, n) -> (batch, n, num_tokens); "multi_hot"/"count": (batch, n) ->
    (batch, num_tokens), (n,) -> (num_tokens,).

    Example:
        CategoryEncoding(4)(np.array([[0, 1], [3, 3]]))   # [[1, 1, 0, 0], [0, 0, 0, 1]]
    """

    checks_input_shape = False

    def __init__(self, num_tokens=None, output_mode: str = "multi_hot", sparse: bool = False,
                 name: str = None):
        super().__init__(name)
        if num_tokens is None:
            raise invalid("num_tokens", "a positive integer (the number of categories)",
                          num_tokens)
        self.num_tokens = check_int(num_tokens, "num_tokens", 1)
        self.output_mode = check_one_of(output_mode, "output_mode", ENCODINGS)
        if check_bool(sparse, "sparse"):
            raise invalid("sparse", "False (Zen has no sparse tensors)", sparse)
        self.sparse = False

    def call(self, x, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(f"`count_weights` is not used when `output_mode` is not 'count'. "
                             f"Received output_mode={self.output_mode!r}")
        indices = check_indices(as_array(x), self.num_tokens)
        weights = None if count_weights is None else as_array(count_weights)
        return encode(indices, self.output_mode, self.num_tokens, weights)

    def get_config(self):
        return {"num_tokens": self.num_tokens, "output_mode": self.output_mode,
                "sparse": self.sparse}


# ----- Discretization's quantile summaries (Keras's algorithm) ----------------------------
def summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    """(2, k): every step-th sorted value and its weight (Keras's `summarize`)."""
    values = np.sort(np.reshape(values, [-1]))
    step = max(values.size / (1.0 / epsilon), 1)
    boundaries = values[int(step - 1)::int(step)]
    return np.stack([boundaries, np.ones_like(boundaries) * step])


def compress_summary(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """Interpolate the summary at cumulative-weight fractions epsilon, 2 epsilon, ..."""
    if summary.shape[1] * epsilon < 1:
        return summary
    percents = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    fractions = cumulative / cumulative[-1]
    bins = np.interp(percents, fractions, summary[0])
    cumulative = np.interp(percents, fractions, cumulative)
    weights = cumulative - np.concatenate((np.array([0]), cumulative[:-1]))
    return np.stack((bins, weights)).astype("float32")


def quantile_boundaries(data: np.ndarray, num_bins: int, epsilon: float) -> list:
    """The num_bins - 1 inner boundaries Keras's `adapt` finds for `data`."""
    summary = summarize(np.asarray(data, dtype=np.float32), epsilon)
    merged = np.concatenate((summary, np.array([[], []], dtype="float32")), axis=1)
    merged = np.take(merged, np.argsort(merged[0]), axis=1)
    summary = compress_summary(merged, epsilon)
    return compress_summary(summary, 1.0 / num_bins)[0, :-1].tolist()


class Discretization(Layer):
    """Bucket numbers by boundaries, as Keras's `Discretization`: value v
    falls in bucket i when boundaries[i-1] <= v < boundaries[i] (bucket 0
    below the first boundary, len(boundaries) at or above the last).

    Args:
        bin_boundaries: a sorted list of boundaries, or None to find them
            with `adapt` (then `num_bins` is required).
        num_bins: the number of buckets `adapt` makes (its boundaries are
            approximate quantiles of the data, by Keras's algorithm).
        epsilon: the quantile approximation's error tolerance (default 0.01).
        output_mode: "int" (default: the bucket index, int64), "one_hot",
            "multi_hot" or "count" (as CategoryEncoding, float32).
        sparse: must be False (Zen has no sparse outputs).
        name: the layer's name.

    Shapes: "int": any -> the same; else as CategoryEncoding with
    len(bin_boundaries) + 1 categories.

    Example:
        Discretization([0.0, 1.0])(np.array([-1.0, 0.5, 2.0]))   # [0, 1, 2]
    """

    checks_input_shape = False

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon: float = 0.01,
                 output_mode: str = "int", sparse: bool = False, name: str = None):
        super().__init__(name)
        self.output_mode = check_one_of(output_mode, "output_mode", ("int",) + ENCODINGS)
        if check_bool(sparse, "sparse"):
            raise invalid("sparse", "False (Zen has no sparse tensors)", sparse)
        self.sparse = False
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(f"Both `num_bins` and `bin_boundaries` should not be set. "
                             f"Received: num_bins={num_bins} and "
                             f"bin_boundaries={bin_boundaries}")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("Discretization needs `bin_boundaries` or `num_bins` (to adapt). "
                             "Received: bin_boundaries=None and num_bins=None")
        self.num_bins = None if num_bins is None else check_int(num_bins, "num_bins", 1)
        self.epsilon = check_float(epsilon, "epsilon", 0, 1, low_open=True)
        self.bin_boundaries = None if bin_boundaries is None else \
            self._check_boundaries(bin_boundaries)

    @staticmethod
    def _check_boundaries(boundaries) -> list:
        values = list(boundaries) if isinstance(boundaries, (list, tuple, np.ndarray)) else None
        if values is None or not all(is_number(v, finite=True) for v in values) \
                or any(b < a for a, b in zip(values, values[1:])):
            raise invalid("bin_boundaries", "a sorted list of finite numbers", boundaries)
        return [float(v) for v in values]

    def adapt(self, data) -> None:
        """Set the boundaries to approximate quantiles of `data` (all its values).

        Args:
            data: an array (or Tensor) of numbers.
        """
        if self.num_bins is None:
            raise ValueError("Cannot adapt a Discretization layer that has been initialized "
                             "with `bin_boundaries`, use `num_bins` instead.")
        self.bin_boundaries = quantile_boundaries(as_array(data), self.num_bins, self.epsilon)

    def call(self, x):
        if self.bin_boundaries is None:
            raise ValueError("Discretization needs `bin_boundaries` or a call to "
                             "`adapt(data)` before it is used")
        indices = np.digitize(as_array(x), self.bin_boundaries)
        return encode(indices, self.output_mode, len(self.bin_boundaries) + 1)

    def get_config(self):
        return {"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins,
                "epsilon": self.epsilon, "output_mode": self.output_mode, "sparse": self.sparse}

    @classmethod
    def from_config(cls, config):
        """A new layer from `get_config()`'s dict (an adapted layer keeps its boundaries)."""
        config = dict(config)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            boundaries = config.pop("bin_boundaries")
            layer = cls(**config)
            layer.bin_boundaries = boundaries
            return layer
        return cls(**config)
