"""ONNX translations (for `zen.models.onnx_export`) of the layers that move
values around rather than learn: RepeatVector, CenterCrop, Rescaling,
Normalization, and the operators recorded on symbolic tensors
(TensorOperation: `x + 1`, `x * y`, `x[:, 0]`, `x > 0`, ...).

Each converter takes (builder, layer, operands, out_shape), as those of
onnx_export, and returns the name of the layer's output.
"""
import numpy as np

from ..nn import operators, reshaping
from ..nn.preprocessing import image, numerical
from . import onnx_export as base

__all__ = []

INT64_MAX, INT64_MIN = np.iinfo(np.int64).max, np.iinfo(np.int64).min


# ----- reshaping and preprocessing -------------------------------------------------------
def _repeat_vector(builder, layer, operands, out_shape):
    y = builder.add("Unsqueeze", [operands[0][0], builder.ints([1])])
    return builder.add("Expand", [y, builder.ints([1, layer.n, 1])])


def _center_crop(builder, layer, operands, out_shape):
    x, shape = operands[0]
    top, left = (shape[1] - layer.height) // 2, (shape[2] - layer.width) // 2
    return builder.add("Slice", [x, builder.ints([top, left]), builder.ints(
        [top + layer.height, left + layer.width]), builder.ints([1, 2])])


def _check_center_crop(layer):
    shape = layer.input_shape
    if shape is None or len(shape) != 4 or None in shape[1:3] \
            or shape[1] < layer.height or shape[2] < layer.width:
        raise base._unsupported(layer, f"only a crop of a batch of images at least "
                                       f"{layer.height} x {layer.width} is (a smaller one is "
                                       f"resized); input shape {shape}")


def _rescaling(builder, layer, operands, out_shape):
    x = _cast(builder, operands[0][0], np.float32)
    y = builder.add("Mul", [x, builder.constant(layer._scale, "scale")])
    return builder.add("Add", [y, builder.constant(layer._offset, "offset")])


def _normalization(builder, layer, operands, out_shape):
    """(x - mean) / deviation, or mean + x * deviation with invert, with the
    adapted (or given) statistics."""
    mean, deviation = (np.asarray(a, np.float32) for a in layer.statistics())
    x = _cast(builder, operands[0][0], np.float32)
    if layer.invert:
        y = builder.add("Mul", [x, builder.constant(deviation, "deviation")])
        return builder.add("Add", [builder.constant(mean, "mean"), y])
    y = builder.add("Sub", [x, builder.constant(mean, "mean")])
    return builder.add("Div", [y, builder.constant(deviation, "deviation")])


def _check_normalization(layer):
    if getattr(layer, "broadcast_shape", None) is None:
        raise base._unsupported(layer, "it has no statistics yet (adapt it, or give mean "
                                       "and variance)")


# ----- operators on symbolic tensors ---------------------------------------------------------
BINARY = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "true_divide": "Div",
          "power": "Pow", "matmul": "MatMul", "equal": "Equal", "less": "Less",
          "less_equal": "LessOrEqual", "greater": "Greater", "greater_equal": "GreaterOrEqual"}
UNARY = {"negative": "Neg", "absolute": "Abs"}


def _cast(builder, name, dtype):
    """`name` as `dtype` (a Cast node unless it already is)."""
    dtype = np.dtype(dtype)
    if builder.dtypes.get(name) == dtype:
        return name
    cast = builder.add("Cast", [name], to=builder.helper.np_dtype_to_tensor_dtype(dtype))
    builder.dtypes[cast] = dtype
    return cast


def _tensor_operation(builder, layer, operands, out_shape):
    operation = layer.operation
    if operation == "get_item":
        return _get_item(builder, operands[0], layer.key)
    if operation in UNARY:
        return builder.add(UNARY[operation], [operands[0][0]])
    names = [name for name, _ in operands]
    if layer.constant is not None:
        names.insert(0 if layer.reflected else 1, np.asarray(layer.constant))
    if operation in operators.COMPARISONS:
        common = _comparison_dtype([builder.dtypes.get(n, np.dtype(np.float32))
                                    for n in names if isinstance(n, str)], layer.constant)
    else:  # arithmetic: both operands as the result's dtype
        common = builder.out_dtypes[0]
    inputs = [builder.constant(n, "operand", common) if isinstance(n, np.ndarray)
              else _cast(builder, n, common) for n in names]
    if operation == "not_equal":
        return builder.add("Not", [builder.add("Equal", inputs)])
    return builder.add(BINARY[operation], inputs)


def _check_tensor_operation(layer):
    if layer.operation in operators.REDUCTIONS:
        raise base._unsupported(layer, f"the reduction {layer.operation!r} (a mask "
                                       f"computation) has no translation")


def _comparison_dtype(tensor_dtypes, constant):
    """The dtype a comparison compares in: a float if any operand is one
    (float32 unless a tensor is float64), else the tensors' integer type."""
    floats = [d for d in tensor_dtypes if d.kind == "f"]
    if floats:
        return np.result_type(*floats)
    if isinstance(constant, float) or (isinstance(constant, np.ndarray)
                                       and constant.dtype.kind == "f"):
        return np.dtype(np.float32)
    common = np.result_type(*tensor_dtypes)
    return np.dtype(np.int32) if common.kind == "b" else common


def _get_item(builder, operand, key):
    """Basic indexing: one Slice for the ints and slices, a Squeeze for the
    ints, an Unsqueeze for the Nones."""
    x, shape = operand
    items = _full_key(key, len(shape))
    starts, ends, axes, steps, squeezed, inserted = [], [], [], [], [], []
    axis = position = 0
    for item in items:
        if item is None:
            inserted.append(position)
            position += 1
            continue
        if isinstance(item, slice):
            if item != slice(None):
                step = 1 if item.step is None else item.step
                starts.append(item.start if item.start is not None else
                              (0 if step > 0 else INT64_MAX))
                ends.append(item.stop if item.stop is not None else
                            (INT64_MAX if step > 0 else INT64_MIN))
                axes.append(axis)
                steps.append(step)
            position += 1
        else:
            starts.append(item)
            ends.append(item + 1 if item != -1 else INT64_MAX)
            axes.append(axis)
            steps.append(1)
            squeezed.append(axis)
        axis += 1
    y = x
    if axes:
        y = builder.add("Slice", [y, builder.ints(starts), builder.ints(ends), builder.ints(axes),
                                  builder.ints(steps)])
    if squeezed:
        y = builder.add("Squeeze", [y, builder.ints(squeezed)])
    if inserted:
        y = builder.add("Unsqueeze", [y, builder.ints(inserted)])
    if y == x:
        y = builder.add("Identity", [x])
    builder.dtypes[y] = builder.dtypes.get(x)
    return y


def _full_key(key, ndim):
    """`key` with its Ellipsis (or the missing trailing axes) as `:`s."""
    items = list(key)
    consumed = sum(item is not None and item is not Ellipsis for item in items)
    fill = [slice(None)] * (ndim - consumed)
    if Ellipsis in items:
        at = items.index(Ellipsis)
        return items[:at] + fill + [i for i in items[at + 1:] if i is not Ellipsis]
    return items + fill


CONVERTERS = {
    reshaping.RepeatVector: _repeat_vector,
    image.CenterCrop: _center_crop,
    numerical.Rescaling: _rescaling,
    numerical.Normalization: _normalization,
    operators.TensorOperation: _tensor_operation,
}
CHECKS = {image.CenterCrop: _check_center_crop,
          numerical.Normalization: _check_normalization,
          operators.TensorOperation: _check_tensor_operation}
