"""Operators on symbolic tensors, recorded as calls of a `TensorOperation`
layer (Keras 3 records the same operators as ops named `Add`, `NotEqual`,
`GetItem`, ...):

    inputs = zen.Input((20,), dtype="int32")
    mask = inputs != 0              # a bool SymbolicTensor, a node of the graph
    first = hidden[:, 0] * 2 + 1    # three nodes: get_item, multiply, add

A constant operand (a number or a numpy array) and an indexing key live in
the layer's config, in a JSON form, so the node's arguments are only
symbolic tensors and files round-trip them. On data, arithmetic uses the
autodiff Tensor's operators when an operand is a Tensor (differentiable)
and numpy otherwise (an integer input stays integer unless it meets a
float, as in Keras); comparisons compare the values and give numpy bool
arrays (no gradient).
"""
import operator

import numpy as np

from ..autodiff import Tensor
from ..backend import as_float_array, xp
from ..validation import check_bool, check_one_of, is_int
from .layer import Layer, unique_name
from . import symbolic

__all__ = ["TensorOperation", "record"]


def _absolute(a):
    return a.abs() if isinstance(a, Tensor) else xp.abs(a)


ARITHMETIC = {"add": operator.add, "subtract": operator.sub, "multiply": operator.mul,
              "true_divide": operator.truediv, "power": operator.pow,
              "matmul": operator.matmul}
COMPARISONS = {"equal": operator.eq, "not_equal": operator.ne, "less": operator.lt,
               "less_equal": operator.le, "greater": operator.gt,
               "greater_equal": operator.ge}
UNARY = {"negative": operator.neg, "absolute": _absolute}
REDUCTIONS = ("any", "all")  # of booleans (masks), as Keras's ops.any and ops.all
COMPUTE = {**ARITHMETIC, **UNARY}
OPERATIONS = [*ARITHMETIC, *COMPARISONS, *UNARY, *REDUCTIONS, "get_item"]
SYMBOLS = {"add": "+", "subtract": "-", "multiply": "*", "true_divide": "/", "power": "**",
           "matmul": "@", "equal": "==", "not_equal": "!=", "less": "<", "less_equal": "<=",
           "greater": ">", "greater_equal": ">="}


class TensorOperation(Layer):
    """One operator applied to symbolic tensors, as a layer of a functional
    graph; `x + 1` makes one for you (you rarely build it yourself).

    Args:
        operation: one of OPERATIONS: "add", "subtract", "multiply",
            "true_divide", "power", "matmul", "equal", "not_equal", "less",
            "less_equal", "greater", "greater_equal", "negative", "absolute",
            "any", "all", "get_item".
        constant: for a binary operation, the operand that is not a tensor
            (a number or a numpy array); None when both are tensors.
        reflected: whether the constant comes first (`1 - x`).
        key: for "get_item", the basic index (ints, slices, `...`, None).
        axis: for "any" and "all", the axis (an int) to reduce; None reduces
            every axis (Keras's default).
        keepdims: for "any" and "all", whether the reduced axis stays, of
            size 1 (default False).
        name: default the operation's name ("add", "add_1", ...), as in Keras.

    Example:
        TensorOperation("subtract", constant=1, reflected=True)(x)   # 1 - x
    """

    def __init__(self, operation: str, constant=None, reflected: bool = False, key=None,
                 axis=None, keepdims: bool = False, name: str = None):
        _check_arguments(operation, constant, reflected, key)
        self.axis, self.keepdims = _check_reduction(operation, axis, keepdims)
        super().__init__(unique_name(operation) if name is None else name)
        self.operation, self.reflected = operation, bool(reflected)
        self.constant = None if constant is None else _constant(constant, operation)
        self.key = None if key is None else tuple(
            _basic_item(item) for item in (key if isinstance(key, tuple) else (key,)))

    def call(self, *operands):
        if self.constant is not None:
            operands = (self.constant, *operands) if self.reflected else (*operands, self.constant)
        if self.operation == "get_item":
            return operands[0][self.key]
        if self.operation in REDUCTIONS:
            value = operands[0].value if isinstance(operands[0], Tensor) else operands[0]
            reduce = getattr(xp, self.operation)  # xp.any, xp.all
            return xp.asarray(reduce(xp.asarray(value), axis=self.axis,
                                     keepdims=self.keepdims))
        if self.operation in COMPARISONS:
            values = [o.value if isinstance(o, Tensor) else o for o in operands]
            return xp.asarray(COMPARISONS[self.operation](*values))
        if not any(isinstance(o, Tensor) for o in operands):
            operands = _numpy_operands(self.operation, operands)
        return COMPUTE[self.operation](*operands)

    def _call_symbolic(self, args, kwargs):
        with np.errstate(all="ignore"):  # the shape probe runs on zeros: 1 / 0 is expected
            return super()._call_symbolic(args, kwargs)

    def get_config(self) -> dict:
        config = {"operation": self.operation}
        if self.constant is not None:
            config["constant"] = _encode_constant(self.constant)
            if self.reflected:
                config["reflected"] = True
        if self.key is not None:
            config["key"] = [_encode_item(item) for item in self.key]
        if self.operation in REDUCTIONS:
            config.update(axis=self.axis, keepdims=self.keepdims)
        return config

    @classmethod
    def from_config(cls, config: dict) -> "TensorOperation":
        config = dict(config)
        if config.get("constant") is not None:
            config["constant"] = _decode_constant(config["constant"])
        if config.get("key") is not None:
            config["key"] = _decode_key(config["key"])
        return cls(**config)

    def __repr__(self):
        details = "" if self.constant is None else f", constant={self.constant!r}"
        details += ", reflected=True" if self.reflected else ""
        details += "" if self.key is None else f", key={_key_text(self.key)}"
        details += f", axis={self.axis}, keepdims={self.keepdims}" \
            if self.operation in REDUCTIONS else ""
        return f"TensorOperation(operation={self.operation!r}{details})"


def record(operation: str, *operands, key=None) -> symbolic.SymbolicTensor:
    """The symbolic result of `operation` on `operands` (symbolic tensors and
    at most one constant), recorded as a call of a new TensorOperation."""
    if operation == "get_item":
        tensor = operands[0]
        return TensorOperation(operation, key=_basic_key(key, tensor.ndim))(tensor)
    tensors = [o for o in operands if isinstance(o, symbolic.SymbolicTensor)]
    if len(tensors) == len(operands):
        return TensorOperation(operation)(*tensors)
    reflected = not isinstance(operands[0], symbolic.SymbolicTensor)
    constant = _constant(operands[0] if reflected else operands[1], operation)
    return TensorOperation(operation, constant=constant, reflected=reflected)(tensors[0])


symbolic.set_operator_recorder(record)


# ----- checks ------------------------------------------------------------------------------
def _check_arguments(operation, constant, reflected, key):
    check_one_of(operation, "operation", OPERATIONS, owner="TensorOperation")
    if constant is not None and operation not in SYMBOLS:
        raise ValueError(f"The operation {operation!r} takes no `constant` (only binary "
                         f"operations do). Received: constant={constant!r}"[:300])
    check_bool(reflected, "reflected")
    if (key is None) == (operation == "get_item"):
        raise ValueError(f"The `key` (an index) goes with operation 'get_item' and only "
                         f"with it. Received: operation={operation!r}, key={key!r}"[:300])


def _check_reduction(operation, axis, keepdims):
    """(axis, keepdims), checked: set only for a reduction ("any", "all")."""
    if operation not in REDUCTIONS:
        if axis is not None or keepdims is not False:
            raise ValueError(f"`axis` and `keepdims` go with the reductions "
                             f"{list(REDUCTIONS)} only. Received: operation={operation!r}, "
                             f"axis={axis!r}, keepdims={keepdims!r}"[:300])
        return None, False
    if axis is not None and not is_int(axis):
        raise ValueError(f"Received an invalid value for `axis` of TensorOperation, expected "
                         f"an int or None. Received: axis={axis!r}"[:300])
    return (None if axis is None else int(axis)), check_bool(keepdims, "keepdims")


def _constant(value, operation):
    """`value` as a constant operand: a Python number, or a numpy array of
    numbers or bools (copied); TypeError for anything else."""
    if isinstance(value, (bool, int, float)) and not isinstance(value, np.generic):
        return value
    try:
        array = np.array(value) if isinstance(value, (np.ndarray, np.generic, list, tuple)) \
            else None
    except ValueError:  # a ragged list
        array = None
    if array is not None and array.dtype.kind in "biuf":
        return array
    advice = (" (a Tensor holds data and gradients, which a graph does not save: pass "
              "`tensor.numpy()` for a constant, or make it a layer's weight)"
              if isinstance(value, Tensor) else "")
    raise TypeError(f"Cannot record `{SYMBOLS.get(operation, operation)}` between a symbolic "
                    f"tensor and a {type(value).__name__}: the other operand must be a "
                    f"symbolic tensor, a number or a numeric numpy array{advice}. "
                    f"Received: {value!r}"[:400])


def _numpy_operands(operation, operands):
    """Integer and bool arrays as float32 where the result is a float, as
    a Tensor's operators (and Keras) would take them: `tokens / 2`,
    `x + np.arange(4)` and `tokens * 0.5` give float32."""
    floating = operation == "true_divide" or any(
        isinstance(o, float) or (isinstance(o, np.ndarray) and o.dtype.kind == "f")
        for o in operands)
    if not floating:
        return operands
    return [as_float_array(o) if isinstance(o, np.ndarray) and o.dtype.kind in "biu" else o
            for o in operands]


def _basic_key(key, ndim):
    """`key` as a tuple of ints, slices, Ellipsis and None that keeps the
    batch axis first; TypeError otherwise."""
    items = tuple(_basic_item(item) for item in (key if isinstance(key, tuple) else (key,)))
    consumed = sum(item is not None and item is not Ellipsis for item in items)
    for item in items:  # find what indexes the batch axis
        if item is Ellipsis and consumed < ndim:
            break  # the ellipsis spans it
        if item is Ellipsis:
            continue
        if not (isinstance(item, slice) and item == slice(None)):
            raise TypeError(f"Indexing a symbolic tensor must keep the batch axis first: "
                            f"index it with `:` or `...` there, e.g. x[:, 0]. Received: "
                            f"x{_key_text(items)}")
        break
    return items


def _basic_item(item):
    if isinstance(item, np.integer):
        return int(item)
    if isinstance(item, slice) and all(v is None or is_int(v) for v in
                                       (item.start, item.stop, item.step)):
        return slice(*(None if v is None else int(v) for v in (item.start, item.stop,
                                                                  item.step)))
    if item is None or item is Ellipsis or is_int(item):
        return item
    raise TypeError(f"A symbolic tensor takes basic indexing only (integers, slices, `...` "
                    f"and None). Received an index of type {type(item).__name__}: "
                    f"{item!r}"[:300])


def _key_text(items):
    """The index as written: [:, 1:3, ...]."""
    def text(item):
        if item is Ellipsis:
            return "..."
        if isinstance(item, slice):
            bounds = ["" if v is None else str(v) for v in (item.start, item.stop)]
            return ":".join(bounds) + ("" if item.step is None else f":{item.step}")
        return str(item)
    return "[" + ", ".join(text(item) for item in items) + "]"


# ----- the JSON forms of constants and keys ---------------------------------------------
def _encode_constant(value):
    if isinstance(value, np.ndarray):
        return {"values": value.ravel().tolist(), "shape": list(value.shape),
                "dtype": value.dtype.name}
    return value


def _decode_constant(entry):
    if isinstance(entry, (bool, int, float)):
        return entry
    try:
        if not (isinstance(entry, dict) and set(entry) == {"values", "shape", "dtype"}):
            raise ValueError("expected a number or {'values', 'shape', 'dtype'}")
        dtype, shape, values = np.dtype(entry["dtype"]), entry["shape"], entry["values"]
        if dtype.kind not in "biuf" or not isinstance(values, list) or not all(
                isinstance(v, (bool, int, float)) for v in values):
            raise ValueError("expected numbers of a numeric dtype")
        return np.array(values, dtype).reshape(shape)
    except (TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"Received an invalid value for `constant` of TensorOperation "
                         f"({error}). Received: constant={entry!r}"[:300]) from None


def _encode_item(item):
    if item is Ellipsis:
        return "..."
    if isinstance(item, slice):
        return {"slice": [item.start, item.stop, item.step]}
    return item


def _decode_key(entry):
    def item(value):
        if value == "...":
            return Ellipsis
        if value is None or is_int(value):
            return value
        bounds = value.get("slice") if isinstance(value, dict) and len(value) == 1 else None
        if isinstance(bounds, list) and len(bounds) == 3 and all(
                v is None or is_int(v) for v in bounds):
            return slice(*bounds)
        raise ValueError(f"Received an invalid value for `key` of TensorOperation, expected "
                         f"a list of ints, None, '...' and {{'slice': [start, stop, step]}}. "
                         f"Received: key={entry!r}"[:300])
    return tuple(item(value) for value in (entry if isinstance(entry, list) else [entry]))
