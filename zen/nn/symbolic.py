"""Symbolic tensors: what a layer returns when it is called on `zen.Input`s.

Calling a layer on symbolic tensors computes nothing on data: it records a
`Node` (the layer, the arguments it was called with, the symbolic tensors it
produced) and returns symbolic outputs of the right shapes. Following the
nodes back from some outputs to the inputs gives the graph that a
functional `zen.Model(inputs, outputs)` runs.

Arguments may be nested lists, tuples and dicts (a merge layer takes a list,
attention takes `attention_mask=`); the helpers here walk such structures.

Operators (`x + 1`, `inputs != 0`, `-x`, `abs(x)`, `x[:, 0]`) are calls of a
layer too: zen.nn.operators records them. It builds on `Layer`, which builds
on this module, so it hands its recording function here when it is imported
(`set_operator_recorder`).
"""
import numpy as np

from ..tree import flatten


def numpy_dtype(dtype) -> np.dtype:
    """The numpy dtype of `dtype`; "string" (Keras's name) is numpy's str.

    Args:
        dtype: a numpy dtype or its name, or "string".
    """
    return np.dtype(str) if isinstance(dtype, str) and dtype == "string" else np.dtype(dtype)


def is_string_dtype(dtype) -> bool:
    """Whether `dtype` holds text (numpy str, bytes or object).

    Args:
        dtype: a numpy dtype or its name.
    """
    return np.dtype(dtype).kind in "USO"


class SymbolicTensor:
    """A placeholder for a batch of data: a shape whose first axis (the
    batch) is None, a dtype, and the node that produced it.

    Example:
        x = zen.Input((784,))            # SymbolicTensor(shape=(None, 784), ...)
        h = Dense(64)(x)                 # SymbolicTensor(shape=(None, 64), ...)
        h.node.layer                     # the Dense layer
    """

    def __init__(self, shape, dtype="float32", node=None, index=0, name=None):
        self.shape = tuple(None if n is None else int(n) for n in shape)
        self.dtype = numpy_dtype(dtype)
        self.node = node      # the Node that produced this tensor
        self.index = index    # its position among that node's flat outputs
        self.name = name

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self):
        raise TypeError("A symbolic tensor has no length: its batch size is unknown "
                        "until the model is called on data")

    def __bool__(self):
        raise TypeError("A symbolic tensor cannot be used as a boolean: it holds no values "
                        "until the model runs (use `is` to compare tensors themselves)")

    def __iter__(self):
        raise TypeError("A symbolic tensor cannot be iterated: its batch size is unknown "
                        "until the model is called on data")

    # ----- operators: each records a node (see zen.nn.operators) ----------------
    __array_ufunc__ = None      # ndarray <op> SymbolicTensor defers to the reflected op
    __hash__ = object.__hash__  # identity, as graph code keys tensors (== records a node)

    def __add__(self, other): return _operate("add", self, other)
    def __radd__(self, other): return _operate("add", other, self)
    def __sub__(self, other): return _operate("subtract", self, other)
    def __rsub__(self, other): return _operate("subtract", other, self)
    def __mul__(self, other): return _operate("multiply", self, other)
    def __rmul__(self, other): return _operate("multiply", other, self)
    def __truediv__(self, other): return _operate("true_divide", self, other)
    def __rtruediv__(self, other): return _operate("true_divide", other, self)
    def __pow__(self, other): return _operate("power", self, other)
    def __rpow__(self, other): return _operate("power", other, self)
    def __matmul__(self, other): return _operate("matmul", self, other)
    def __rmatmul__(self, other): return _operate("matmul", other, self)
    def __eq__(self, other): return _operate("equal", self, other)
    def __ne__(self, other): return _operate("not_equal", self, other)
    def __lt__(self, other): return _operate("less", self, other)
    def __le__(self, other): return _operate("less_equal", self, other)
    def __gt__(self, other): return _operate("greater", self, other)
    def __ge__(self, other): return _operate("greater_equal", self, other)
    def __neg__(self): return _operate("negative", self)
    def __abs__(self): return _operate("absolute", self)
    def __getitem__(self, key): return _operate("get_item", self, key=key)

    def __repr__(self):
        layer = self.node.layer.name if self.node is not None else None
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}, from layer={layer!r}>"


_record = None  # zen.nn.operators's `record`, set when that module is imported


def set_operator_recorder(record) -> None:
    """Record the operators above with `record(operation, *operands, key=None)`."""
    global _record
    _record = record


def _operate(operation, *operands, key=None):
    if _record is None:
        raise TypeError(f"Operators on symbolic tensors need zen.nn.operators, which is not "
                        f"imported (import zen.nn). Received: {operation}")
    return _record(operation, *operands, key=key)


class Node:
    """One call of a layer in a graph: `outputs = layer(*args, **kwargs)`,
    where `args` and `kwargs` may hold symbolic tensors (the node's parents)
    and `outputs` is the layer's result structure with symbolic tensors."""

    def __init__(self, layer, args, kwargs, outputs):
        self.layer = layer
        self.args, self.kwargs = tuple(args), dict(kwargs)
        self.outputs = outputs
        self.flat_outputs = flatten(outputs)
        for i, tensor in enumerate(self.flat_outputs):
            tensor.node, tensor.index = self, i

    def parents(self) -> list:
        """The symbolic tensors this node was called on, in argument order."""
        return [t for t in flatten((self.args, self.kwargs)) if isinstance(t, SymbolicTensor)]

    def __repr__(self):
        return f"Node(layer={self.layer.name!r}, parents={len(self.parents())})"


def any_symbolic(structure) -> bool:
    return any(isinstance(leaf, SymbolicTensor) for leaf in flatten(structure))


def placeholder(tensor, free_size):
    """Zeros standing in for `tensor` (empty strings for a string tensor):
    batch 1, `free_size` for the other axes of unknown size."""
    shape = [1] + [free_size if n is None else n for n in tensor.shape[1:]]
    if is_string_dtype(tensor.dtype):
        return np.full(shape, "", dtype=str)
    return np.zeros(shape, tensor.dtype)


def symbolic_like(value, free_axes):
    """A SymbolicTensor with the shape of `value`'s (batch axis None, and
    None on `free_axes`, the axes whose size followed an unknown input size)."""
    shape = (None,) + tuple(None if axis in free_axes else n
                            for axis, n in enumerate(value.shape) if axis > 0)
    return SymbolicTensor(shape, getattr(value, "dtype", "float32"))
