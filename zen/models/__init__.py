"""zen.models: `Model` (subclassed or functional), `Sequential`, `Input`, and
model files (`save`, `load_model`, `register_serializable`).

Example:
    inputs = zen.Input((28, 28, 1))
    x = zen.nn.Conv2D(32, 3, activation="relu")(inputs)
    outputs = zen.nn.Dense(10)(zen.nn.GlobalAveragePooling2D()(x))
    model = zen.Model(inputs, outputs)
    model.compile("adam", zen.nn.losses.SparseCategoricalCrossentropy(from_logits=True))
"""
from ..nn.serialization import register_serializable
from .graph import Input, InputLayer
from .model import Model
from .saving import load_model, save_model
from .sequential import Sequential

__all__ = ["Model", "Sequential", "Input", "InputLayer", "load_model", "save_model",
           "register_serializable"]
