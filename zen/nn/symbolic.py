"""Symbolic tensors: what a layer returns when it is called on `zen.Input`s.

Calling a layer on symbolic tensors computes nothing on data: it records a
`Node` (the layer, the arguments it was called with, the symbolic tensors it
produced) and returns symbolic outputs of the right shapes. Following the
nodes back from some outputs to the inputs gives the graph that a
functional `zen.Model(inputs, outputs)` runs.

Arguments may be nested lists, tuples and dicts (a merge layer takes a list,
attention takes `attention_mask=`); the helpers here walk such structures.
"""
import numpy as np

from ..tree import flatten, map_structure  # noqa: F401  (re-exported)


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
        self.dtype = np.dtype(dtype)
        self.node = node      # the Node that produced this tensor
        self.index = index    # its position among that node's flat outputs
        self.name = name

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self):
        raise TypeError("A symbolic tensor has no length: its batch size is unknown "
                        "until the model is called on data")

    def __repr__(self):
        layer = self.node.layer.name if self.node is not None else None
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}, from layer={layer!r}>"


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
    """Zeros standing in for `tensor`: batch 1, `free_size` for the other
    axes of unknown size."""
    shape = [1] + [free_size if n is None else n for n in tensor.shape[1:]]
    return np.zeros(shape, tensor.dtype)


def symbolic_like(value, free_axes):
    """A SymbolicTensor with the shape of `value`'s (batch axis None, and
    None on `free_axes`, the axes whose size followed an unknown input size)."""
    shape = (None,) + tuple(None if axis in free_axes else n
                            for axis, n in enumerate(value.shape) if axis > 0)
    return SymbolicTensor(shape, getattr(value, "dtype", "float32"))
