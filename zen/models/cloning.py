"""`clone_model`: the same architecture with new, freshly initialised
weights (Keras's `keras.models.clone_model`).

A clone is the model rebuilt from its config, the way a model file rebuilds
it (`zen.nn.serialization`), but in memory: Sequential and functional
models through their layer configs, a subclassed model through its
`get_config` (or the automatic config of a class that defines none). The
user's classes in the model are at hand, so none needs registering.
"""
from ..nn import serialization
from .model import Model
from .saving import build_for_input_shape

__all__ = ["clone_model"]


def clone_model(model: Model) -> Model:
    """A new model with the architecture of `model` (same layers, names and
    configs) and new weights, freshly initialised, not copied; built if
    `model` was, not compiled.

    Example:
        twin = zen.models.clone_model(model)
        twin.set_weights(model.get_weights())   # to copy the weights too
    """
    if not isinstance(model, Model):
        raise ValueError(f"Expected `model` to be a zen.Model (Sequential, functional or "
                         f"subclassed). Received: model={model!r}"[:300])
    entry = serialization.serialize(model)  # ValueError for a config it cannot write
    clone = serialization.deserialize(entry, custom_objects=_user_classes(model))
    if model.built and not clone.built:
        build_for_input_shape(clone, model.input_shape)
    return clone


def _user_classes(model) -> dict:
    """{class name: class} for the classes in `model` that are neither Zen's
    nor registered (a config names them by class name)."""
    return {type(layer).__name__: type(layer) for layer in model.all_layers()
            if serialization.registered_name(type(layer)) is None}
