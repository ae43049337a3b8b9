"""The arrays given to `fit`, `evaluate`, `train_on_batch` and `predict`,
checked once, up front, so that a bad input fails with a message about `x`
or `y` rather than deep inside a layer, and put in the model's order:

- `x` and `y` must be numeric (strings and objects are a TypeError), non
  empty and all of the same length (the message names them); an input
  whose `zen.Input` has dtype "string" takes text instead (an array of
  `str`, or a list of Python strings) and refuses numbers;
- a built model checks the number of axes and the feature size of `x`;
  `x_val` must have the sample shape of `x`;
- `fit`, `evaluate` and `train_on_batch` refuse NaN and Inf in float
  inputs and targets (a ValueError with their count): one NaN would make
  every later loss and weight NaN. `predict` lets them through, row by row;
- float64 and integer inputs (uint8 images) are cast once to the model's
  dtype (float32), not batch by batch; integer and bool inputs stay so
  where an Input says so or the model holds an Embedding.
"""
import math

import numpy as np

from .. import tree
from ..autodiff import Tensor
from ..backend import DEFAULT_DTYPE
from ..nn import Embedding
from ..nn.symbolic import is_string_dtype
from ..validation import check_float

__all__ = ["checked_arrays", "checked_weights", "model_inputs", "validation_arrays",
           "split_off_validation", "same_length", "labels_of", "input_names"]


def input_names(model):
    """The names of a functional model's inputs; None for other models."""
    return model.input_names if getattr(model, "inputs", None) else None


def _as_array(value, name):
    try:
        return value.value if isinstance(value, Tensor) else np.asarray(value)
    except (TypeError, ValueError) as error:  # ragged nested lists
        raise ValueError(f"Received an invalid value for `{name}`, expected a numeric "
                         f"array of one shape. Received a {type(value).__name__} numpy "
                         f"cannot turn into one: {error}") from None


def _described(value, array):
    return f"dtype {array.dtype}" if isinstance(value, (np.ndarray, Tensor)) \
        else f"{type(value).__name__} (dtype {array.dtype} as an array)"


def _numeric(value, name, input_dtype=None):
    """`value` as a non-empty numeric ndarray with a batch axis (`input_dtype`:
    the dtype of the Input it feeds, None where there is none)."""
    array = _as_array(value, name)
    if array.dtype.kind not in "biuf":
        fed = f" (it feeds an Input of dtype {input_dtype})" if input_dtype is not None else ""
        raise TypeError(f"Received an invalid value for `{name}`, expected a numeric "
                        f"array{fed}. Received: {name} of {_described(value, array)}")
    return _non_empty(array, name)


def _text(value, name):
    """`value` as a non-empty numpy str array with a batch axis (for an Input
    of dtype "string"): bytes are decoded as UTF-8, objects must be str."""
    array = _as_array(value, name)
    if array.dtype.kind == "S":
        array = np.char.decode(array, "utf-8")
    elif array.dtype.kind == "O" and array.size and isinstance(array.flat[0], str):
        array = array.astype(str)
    if array.dtype.kind != "U":
        raise TypeError(f"Received an invalid value for `{name}`, expected strings (an "
                        f"array of str or a list of Python strings: it feeds an Input of "
                        f"dtype string). Received: {name} of {_described(value, array)}")
    return _non_empty(array, name)


def _non_empty(array, name):
    if array.ndim == 0 or len(array) == 0:
        raise ValueError(f"Received an invalid value for `{name}`, expected a non-empty "
                         f"array with the samples along the first axis. Received: "
                         f"{name}.shape={array.shape}")
    return array


def _model_dtype(model):
    params = model.parameters() if getattr(model, "built", False) else []
    return params[0].dtype if params else DEFAULT_DTYPE


def _as_list(model, data, name, names):
    """`data` (one array, a list of arrays, a dict by name) as a list of
    (label, value) in the model's order; `names` are the model's input or
    output names (None where the model does not declare them: a dict is then
    taken as it is, see `_dict_keys`)."""
    if isinstance(data, dict) and not names:
        return [(f"{name}[{key!r}]", value) for key, value in data.items()]
    if len(names or [name]) == 1 and _is_list_of_strings(data):
        return [(name, data)]  # one batch of raw text, not one array per input
    if not names:
        names = list(range(len(data))) if tree.is_sequence_of_values(data) else [name]
    values = tree.as_list(data, names, f"`{name}`",
                          "inputs" if name.startswith("x") else "outputs")
    if isinstance(data, dict):
        labels = [f"{name}[{n!r}]" for n in names]
    else:
        labels = [name] if len(values) == 1 else [f"{name}[{i}]" for i in range(len(values))]
    return list(zip(labels, values))


def _is_list_of_strings(data) -> bool:
    """Whether `data` is a list (or tuple) of Python strings, or of lists of
    them (text samples of shape (n,))."""
    while isinstance(data, (list, tuple)) and data:
        data = data[0]
    return isinstance(data, (str, bytes))


def _input_dtype(model, position):
    """The numpy dtype of the Input at `position`; None for a model without Inputs."""
    inputs = model.inputs if hasattr(model, "inputs") else None
    return inputs[position].dtype if inputs else None


def _keeps_integers(model, input_dtype):
    """Whether integer and bool inputs stay so: their Input (of `input_dtype`)
    says so, or (a model without Inputs) an Embedding reads them."""
    if input_dtype is not None:
        return input_dtype.kind in "iub"
    return any(isinstance(layer, Embedding) for layer in model.all_layers())


def _input_array(model, position, value, label, finite):
    """One model input, checked against its Input's dtype and cast once."""
    input_dtype = _input_dtype(model, position)
    if input_dtype is not None and is_string_dtype(input_dtype):
        return _text(value, label)
    array = _numeric(value, label, None if input_dtype is None else input_dtype.name)
    was_float = array.dtype.kind == "f"
    if was_float or not _keeps_integers(model, input_dtype):
        with np.errstate(over="ignore"):  # an overflow to Inf is reported just below
            array = array.astype(_model_dtype(model), copy=False)
    elif input_dtype is not None:  # integers and bools take their Input's dtype
        array = array.astype(input_dtype, copy=False)
    if finite and was_float:  # after the cast, which may overflow to Inf
        _check_finite(array, label)
    return array


def model_inputs(model, x, name, finite=False) -> list:
    """The model inputs as a list in input order, each checked (against the
    Input it feeds, or a built model's input shape) and cast once (and,
    with `finite`, checked for NaN and Inf)."""
    names = input_names(model)
    arrays = []
    for position, (label, value) in enumerate(_as_list(model, x, name, names)):
        array = _input_array(model, position, value, label, finite)
        _check_sample_shape(model, position, array, label)
        arrays.append(array)
    return arrays


def _check_sample_shape(model, position, array, label):
    inputs = getattr(model, "inputs", None)
    if inputs:
        expected = inputs[position].shape
    elif getattr(model, "built", False) and isinstance(model.input_shape, tuple) \
            and not any(isinstance(layer, Embedding) for layer in model.all_layers()):
        expected = model.input_shape
    else:
        return
    if array.ndim != len(expected) or any(
            e is not None and n != e for n, e in zip(array.shape[1:], expected[1:])):
        raise ValueError(f"Input `{label}` has shape {array.shape}, but the model expects "
                         f"inputs of shape {tuple(expected)} (batch axis first)")


def _targets(model, y, name) -> list:
    names = getattr(model, "output_names", None)
    arrays = []
    for label, value in _as_list(model, y, name, names):
        array = _numeric(value, label)
        if array.dtype.kind == "f":  # labels stay integers; float targets take the model dtype
            with np.errstate(over="ignore"):
                array = array.astype(_model_dtype(model), copy=False)
            _check_finite(array, label)
        arrays.append(array)
    return arrays


def _check_finite(array, name, chunk=1 << 20):
    """ValueError naming the counts when the float `array` holds NaN or Inf.
    Checked in chunks of about `chunk` values: the temporary stays small."""
    rows = max(1, chunk // max(1, array[0].size))
    if all(np.isfinite(array[i:i + rows]).all() for i in range(0, len(array), rows)):
        return
    nan, inf = int(np.isnan(array).sum()), int(np.isinf(array).sum())
    first = int(np.argmin(np.isfinite(array).reshape(len(array), -1).all(axis=1)))
    raise ValueError(f"Received an invalid value for `{name}`, expected finite numbers. "
                     f"Received: {name} with {nan} NaN and {inf} infinite values (of "
                     f"{array.size}; the first in sample {first}). Remove or impute them: "
                     f"a single NaN turns the loss and then every weight into NaN.")


def checked_arrays(model, x, y, x_name, y_name):
    """(inputs, targets): lists of checked arrays, all of one length."""
    xs, ys = model_inputs(model, x, x_name, finite=True), _targets(model, y, y_name)
    same_length(xs + ys, labels_of(model, x, x_name) + labels_of(model, y, y_name))
    return xs, ys


def labels_of(model, data, name):
    """The label of each array of `data` ("x", "x[1]", "x['image']"), in the
    order `_inputs` and `_targets` put the arrays."""
    names = input_names(model) if name.startswith("x") else getattr(model, "output_names", None)
    return [label for label, _ in _as_list(model, data, name, names)]


def same_length(arrays, labels=None):
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) > 1:
        labels = labels if labels and len(labels) == len(arrays) else \
            [f"array {i}" for i in range(len(arrays))]
        if len(labels) == 2 and labels == ["x", "y"]:
            raise ValueError(f"`x` and `y` must have the same number of samples. Received: "
                             f"x.shape={arrays[0].shape}, y.shape={arrays[1].shape}")
        sizes = ", ".join(f"{label}: {n}" for label, n in zip(labels, lengths))
        raise ValueError(f"All input and target arrays must have the same number of "
                         f"samples. Received: {sizes}")


def validation_arrays(model, data, xs=None):
    """(x_vals, y_vals, sample weights) from `validation_data`: `(x_val,
    y_val)` or `(x_val, y_val, val_sample_weight)`, checked as `x` and `y`
    are (and against the sample shape of the training inputs `xs`)."""
    if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
        got = f"a sequence of {len(data)} items" if isinstance(data, (tuple, list)) \
            else type(data).__name__
        raise ValueError(f"Received an invalid value for `validation_data`, expected a "
                         f"tuple (x_val, y_val) or (x_val, y_val, val_sample_weight). "
                         f"Received: {got}")
    x_vals, y_vals = checked_arrays(model, data[0], data[1], "x_val", "y_val")
    for x_val, x in zip(x_vals, xs or []):
        if x_val.shape[1:] != x.shape[1:]:  # an unbuilt model would fail only after an epoch
            raise ValueError(f"`x_val` must have the sample shape of `x`, {x.shape[1:]}. "
                             f"Received: x_val.shape={x_val.shape}, x.shape={x.shape}")
    if xs is not None and len(x_vals) != len(xs):
        raise ValueError(f"`x_val` has {len(x_vals)} arrays, `x` has {len(xs)}")
    weights = checked_weights(model, data[2] if len(data) == 3 else None, len(x_vals[0]),
                              "val_sample_weight")
    return x_vals, y_vals, weights


def checked_weights(model, sample_weight, samples, name="sample_weight") -> list:
    """Sample weights as a list of float arrays: [] for none, one array (every
    output), or one per output (a list or a dict by output name); each
    numeric, finite, with one weight per sample (or per timestep)."""
    if sample_weight is None:
        return []
    names = getattr(model, "output_names", None) or ["output"]
    if tree.holds_one_per_name(sample_weight, names):
        pairs = [(f"{name}[{n!r}]", w) for n, w in
                 zip(names, tree.as_list(sample_weight, names, name))]
    else:
        pairs = [(name, sample_weight)]
    weights = []
    for label, value in pairs:
        array = _numeric(value, label).astype(np.float64, copy=False)
        _check_finite(array, label)
        if len(array) != samples:
            raise ValueError(f"`{label}` must have one weight per sample: {samples} samples, "
                             f"received {len(array)} weights (shape {array.shape})")
        weights.append(array)
    return weights


def split_off_validation(xs, ys, validation_split):
    """((x_train, y_train), (x_val, y_val) or None), each a list of arrays:
    the LAST fraction is held out, before any shuffling (Keras's rule)."""
    validation_split = check_float(validation_split, "validation_split", 0, 1, high_open=True)
    if validation_split == 0:
        return (xs, ys), None
    n = len(xs[0])
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"The data has {n} samples, which is not enough to split it "
                         f"into a training and a validation set with "
                         f"validation_split={validation_split}: one side would be empty. "
                         f"Provide more data or another `validation_split`.")
    return (([a[:split_at] for a in xs], [a[:split_at] for a in ys]),
            ([a[split_at:] for a in xs], [a[split_at:] for a in ys]))
