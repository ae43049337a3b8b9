"""Nested structures: the one place that walks, orders and rebuilds them.

A model's inputs, outputs, targets and sample weights each come as one
array, a list (or tuple) of arrays, or a dict by name; a layer's arguments
may nest lists, tuples and dicts. Everything that needs to walk such a
structure, put it in a model's order or rebuild it comes here (Keras keeps
the same in `keras.src.tree`).

Example:
    flatten({"a": [1, 2], "b": 3})                   # [1, 2, 3]
    map_structure(lambda v: v * 2, [1, (2, 3)])       # [2, (4, 6)]
    as_list({"b": 2, "a": 1}, ["a", "b"], "`x`")       # [1, 2]
    pack([1, 2], ["a", "b"])                          # {"a": 1, "b": 2}
"""

__all__ = ["flatten", "map_structure", "is_nested", "is_sequence_of_values", "as_list",
           "holds_one_per_name", "pack", "batch_length"]


def is_nested(structure) -> bool:
    return isinstance(structure, (list, tuple, dict))


def flatten(structure) -> list:
    """The leaves of nested lists, tuples and dicts (dict values in key order)."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    if isinstance(structure, dict):
        return [leaf for key in structure for leaf in flatten(structure[key])]
    return [structure]


def map_structure(fn, structure, is_leaf=None):
    """The same nesting with every leaf replaced by `fn(leaf)` (`is_leaf`
    may stop the descent early, e.g. at tuples that are shapes)."""
    if is_leaf is not None and is_leaf(structure):
        return fn(structure)
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure(fn, item, is_leaf) for item in structure)
    if isinstance(structure, dict):
        return {key: map_structure(fn, value, is_leaf) for key, value in structure.items()}
    return fn(structure)


def as_list(structure, names, what, kind="values") -> list:
    """One value per name, in the order of `names`, from one value (when
    there is one name), a list or tuple of values (arrays, Tensors: anything
    with a `shape`) in order, or a dict by name. The wrong count, unknown or
    missing names are a ValueError naming them, `what` the structure is
    (e.g. "`y`") and the `kind` of the names ("inputs", "outputs"). A list
    of plain numbers is one value, not a list of them.

    Example:
        as_list({"b": yb, "a": ya}, ["a", "b"], "`y`")     # [ya, yb]
    """
    if isinstance(structure, dict):
        unknown = sorted(set(structure) - set(names), key=str)
        missing = [name for name in names if name not in structure]
        if unknown or missing:
            raise ValueError(f"{what} has unknown keys {unknown} and is missing {missing}; "
                             f"the model's {kind} are {names}")
        return [structure[name] for name in names]
    if is_sequence_of_values(structure):
        if len(structure) != len(names):
            raise ValueError(f"{what} is a list of {len(structure)} arrays, but the model has "
                             f"{len(names)}: {names}")
        return list(structure)
    if len(names) != 1:
        raise ValueError(f"The model has {len(names)} {kind} {names}: {what} must be a list "
                         f"of {len(names)} arrays or a dict by name")
    return [structure]


def is_sequence_of_values(structure) -> bool:
    """Whether `structure` is a list or tuple of values with a shape (arrays,
    Tensors), not one value written as nested lists of numbers."""
    return isinstance(structure, (list, tuple)) and bool(structure) and all(
        hasattr(item, "shape") for item in structure)


def holds_one_per_name(structure, names) -> bool:
    """Whether `structure` gives a value per name (a dict, or for several
    names a list of them) rather than one value for all (Keras's rule for
    sample weights: one array serves every output)."""
    return isinstance(structure, dict) or (
        len(names) > 1 and isinstance(structure, (list, tuple)) and bool(structure)
        and all(hasattr(item, "shape") or is_nested(item) for item in structure))


def pack(values: list, keys=None):
    """The inverse of `as_list`: a dict by `keys` when given, else the
    value itself for one value, a list for several."""
    values = list(values)
    if keys is not None:
        return dict(zip(keys, values))
    return values[0] if len(values) == 1 else values


def batch_length(structure) -> int:
    """The number of samples in a batch: the length of its first leaf."""
    return len(flatten(structure)[0])
