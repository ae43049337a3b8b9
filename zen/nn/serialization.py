"""Layers to and from JSON configs, and the classes a config may name.

A layer is written as `{"class_name", "name", "config"}`, where `config` is
its `get_config()`. Zen's own layers are known by their class names. A
user's class must be registered with `register_serializable`, which files it
under "package>Name" (Keras's convention), so it can never take the place of
a built-in that happens to share its class name.
"""
from .layer import LAYERS, Layer, check_name

__all__ = ["register_serializable", "serialize", "deserialize", "registered_name"]

_CUSTOM = {}  # "package>Name" -> a user's class


def register_serializable(package: str = "Custom", name: str = None):
    """Class decorator: make a Layer or Model subclass loadable from files
    (its `get_config()` must return the arguments that rebuild it).

    Example:
        @zen.models.register_serializable(package="my_package")
        class Residual(zen.Model):
            def __init__(self, units, name=None):
                super().__init__(name=name)
                ...
            def get_config(self):
                return {"units": self.units}
    """
    if not isinstance(package, str) or not package or ">" in package:
        raise ValueError(f"Received an invalid value for `package`, expected a non-empty "
                         f"string without '>'. Received: package={package!r}")

    def register(cls):
        if not (isinstance(cls, type) and issubclass(cls, Layer)):
            raise TypeError(f"register_serializable registers Layer or Model subclasses. "
                            f"Received: {cls!r}")
        key = f"{package}>{name or cls.__name__}"
        _CUSTOM[key] = cls
        cls._registered_name = key
        return cls
    return register


def registered_name(cls) -> str:
    """The name a file gives to `cls`; ValueError for a user's class that
    was not registered."""
    key = cls.__dict__.get("_registered_name")
    if key is not None and _CUSTOM.get(key) is cls:
        return key
    if LAYERS.get(cls.__name__) is cls:
        return cls.__name__
    raise ValueError(f"The layer class {cls.__name__} (module {cls.__module__}) is not "
                     f"registered, so a file cannot name it. Decorate it with "
                     f"@zen.models.register_serializable(package='my_package') and define "
                     f"get_config() returning its constructor arguments.")


def serialize(layer: Layer) -> dict:
    """`{"class_name", "name", "config"}` for `layer`."""
    return {"class_name": registered_name(type(layer)), "name": layer.name,
            "config": layer.get_config()}


def layer_class(class_name):
    """The class a config names: a built-in, or a registered user's class."""
    if isinstance(class_name, str):
        cls = _CUSTOM.get(class_name) if ">" in class_name else LAYERS.get(class_name)
        if cls is not None:
            return cls
    if isinstance(class_name, str) and ">" in class_name:  # a user's class, by package
        package, _, short = class_name.rpartition(">")
        raise ValueError(f"Unknown layer class {class_name!r} in the model config: the class "
                         f"{short} of package {package!r} is not registered. Import or "
                         f"define it and register it before loading: decorate it with "
                         f"@zen.models.register_serializable(package={package!r}).")
    raise ValueError(f"Unknown layer class {class_name!r} in the model config. If it is "
                     f"your own class, register it before loading: decorate it with "
                     f"@zen.models.register_serializable(package='my_package') (it is "
                     f"then saved as 'my_package>{class_name}').")


def deserialize(entry) -> Layer:
    """The layer that `serialize` described (not yet built)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("config", {}), dict):
        raise ValueError(f"Expected a layer as {{'class_name', 'name', 'config'}}. "
                         f"Received: {entry!r}"[:300])
    layer = layer_class(entry.get("class_name")).from_config(dict(entry.get("config", {})))
    if entry.get("name") is not None:
        layer.name = check_name(entry["name"])
    return layer
