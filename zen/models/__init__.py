"""zen.models: `Model` (subclassed or functional), `Sequential`, `Input`, and
model files (`save`, `load_model`, `register_serializable`; Keras 3's
`.keras` files with `save_keras`, `load_keras`), `clone_model`,
and the architecture as JSON (`to_json`, `model_from_json`).

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
from .saving import load_model, model_from_json, save_model, to_json
from .sequential import Sequential
from .cloning import clone_model
from .keras_format import load_keras, save_keras

__all__ = ["Model", "Sequential", "Input", "InputLayer", "load_model", "save_model",
           "register_serializable", "clone_model", "model_from_json", "to_json",
           "save_keras", "load_keras"]
