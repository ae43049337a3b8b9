"""Layers to and from JSON configs, and the classes a config may name.

A layer is written as `{"class_name", "name", "config"}`, where `config` is
its `get_config()`. The class name says which class rebuilds it:
- Zen's own layers by their class name ("Dense"): only ever Zen's class;
- a user's class registered with `register_serializable` as
  "package>Name" (Keras's convention);
- any other user's class by its class name, with a "module" entry saying
  where it was defined: loading it needs the class in `custom_objects`
  (or registered by then).
A file can only name classes the process already holds (Zen's, registered
or given as `custom_objects`): nothing in it is imported or run, and an
entry naming a built-in is never a user's class, whatever `custom_objects`
holds (as in Keras 3).

A user's class that defines no `get_config` gets Keras 3's automatic
config: the arguments its constructor was called with, when they are plain
JSON values.
"""
import inspect
import threading
from contextlib import contextmanager

from ..registry import Registry
from .layer import LAYERS, Layer, check_name

__all__ = ["register_serializable", "serialize", "deserialize", "registered_name",
           "custom_object_scope", "layer_config", "function_name", "function_named"]

_CUSTOM = Registry("registered class")  # "package>Name" -> a user's class or function
_SCOPE = threading.local()  # .objects: the custom_objects of the deserialization in progress
# Zen's base classes: their get_config knows nothing of a subclass's arguments
_BASE_CONFIGS = {("zen.nn.layer", "Layer"), ("zen.models.model", "Model")}
_JSON_LEAVES = (str, int, float, bool, type(None))


def register_serializable(package: str = "Custom", name: str = None):
    """Decorator: make a Layer or Model subclass loadable from files
    without `custom_objects` (rebuilt from its `get_config()`, or from the
    arguments it was constructed with when it defines none); or make a
    function (e.g. one a `Lambda` layer wraps) nameable in files.

    Example:
        @zen.models.register_serializable(package="my_package")
        class Residual(zen.Model):
            def __init__(self, units=4, name=None):
                super().__init__(name=name)
                ...
    """
    if not isinstance(package, str) or not package or ">" in package:
        raise ValueError(f"Received an invalid value for `package`, expected a non-empty "
                         f"string without '>'. Received: package={package!r}")

    def register(obj):
        if not ((isinstance(obj, type) and issubclass(obj, Layer)) or inspect.isfunction(obj)):
            raise TypeError(f"register_serializable registers Layer or Model subclasses "
                            f"and functions. Received: {obj!r}")
        if obj.__name__ == "<lambda>" and name is None:
            raise ValueError("register_serializable needs a `name` for an anonymous "
                             "function (a lambda): define it with def, or pass name=...")
        key = f"{package}>{name or obj.__name__}"
        _CUSTOM[key] = obj
        obj._registered_name = key
        return obj
    return register


def registered_name(cls):
    """The name a file gives to `cls`: "Dense" for Zen's own, "package>Name"
    for a registered class, None for any other user's class."""
    key = cls.__dict__.get("_registered_name")
    if key is not None and _CUSTOM.get(key) is cls:
        return key
    if LAYERS.get(cls.__name__) is cls:
        return cls.__name__
    return None


# ----- writing ----------------------------------------------------------------------------
def serialize(layer: Layer) -> dict:
    """`{"class_name", "name", "config"}` for `layer`, plus `"module"` for a
    user's class that is not registered."""
    cls = type(layer)
    key = registered_name(cls)
    entry = {"class_name": key or cls.__name__, "name": layer.name,
             "config": layer_config(layer)}
    if key is None:
        entry["module"] = cls.__module__
    if not layer.trainable:
        entry["trainable"] = False  # Keras keeps the flag in the config
    return entry


def layer_config(layer: Layer) -> dict:
    """`layer.get_config()`; for a user's class that defines no get_config
    (nor inherits one below Zen's Layer and Model), the arguments its
    constructor received (Keras 3's automatic config)."""
    if LAYERS.get(type(layer).__name__) is type(layer) or _defines_config(type(layer)) \
            or getattr(layer, "_graph", None) is not None:  # a functional model's graph
        return layer.get_config()
    return auto_config(layer)


def _defines_config(cls) -> bool:
    owner = next(k for k in cls.__mro__ if "get_config" in vars(k))
    return (owner.__module__, owner.__qualname__) not in _BASE_CONFIGS


def auto_config(layer: Layer) -> dict:
    """{argument name: value} for the arguments `layer`'s constructor was
    called with (defaults left out), each a plain JSON value; ValueError
    naming the argument where one is not."""
    cls = type(layer)
    args, kwargs = getattr(layer, "_constructor_arguments", ((), {}))
    kwargs = {k: v for k, v in kwargs.items() if k != "input_shape"}  # not an __init__ argument
    signature = inspect.signature(cls.__init__)
    try:
        bound = signature.bind(layer, *args, **kwargs).arguments
    except TypeError as error:
        raise ValueError(f"Cannot write the config of layer {layer.name!r} ({cls.__name__}): "
                         f"its constructor arguments do not fit {cls.__name__}.__init__ "
                         f"({error}). Add a get_config() method to {cls.__name__}.") from None
    config = {}
    for name, value in list(bound.items())[1:]:  # not `self`
        kind = signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            _not_automatic(layer, f"*{name}", "positional arguments beyond the named ones "
                                              "have no name to save")
        config.update(value if kind is inspect.Parameter.VAR_KEYWORD else {name: value})
    return {name: _plain_json(layer, name, value) for name, value in config.items()}


def _plain_json(layer, name, value):
    """`value` as plain JSON (tuples as lists), or ValueError."""
    if isinstance(value, _JSON_LEAVES):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain_json(layer, name, item) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: _plain_json(layer, name, item) for key, item in value.items()}
    what = "a dict with keys that are not strings" if isinstance(value, dict) \
        else f"a {type(value).__name__}"
    _not_automatic(layer, name, f"{what} is not a plain JSON value (a number, string, "
                               f"bool, None, or a list or dict of those)")


def _not_automatic(layer, name, why):
    cls = type(layer).__name__
    raise ValueError(f"Cannot write the config of layer {layer.name!r} ({cls}): {cls} "
                     f"defines no get_config(), and its constructor argument `{name}` "
                     f"cannot be saved automatically: {why}. Add a get_config() method to "
                     f"{cls} returning JSON-able constructor arguments (and a from_config() "
                     f"classmethod if some must be rebuilt, e.g. a layer from its config).")


# ----- reading ----------------------------------------------------------------------------
@contextmanager
def custom_object_scope(custom_objects=None):
    """Within the block, configs may name the classes of `custom_objects`
    ({class name: class}; inner scopes add to outer ones), so that layers
    rebuilt inside other layers' `from_config` find them too."""
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError(f"Received an invalid value for `custom_objects`, expected a dict "
                        f"{{class name: class}}. Received: {custom_objects!r}"[:300])
    previous = getattr(_SCOPE, "objects", {})
    _SCOPE.objects = {**previous, **(custom_objects or {})}
    try:
        yield
    finally:
        _SCOPE.objects = previous


def layer_class(class_name, module=None):
    """The class a config names: a built-in (by its class name, when no
    module is given), a registered class ("package>Name"), or a class of
    the `custom_objects` in scope."""
    if not isinstance(class_name, str):
        raise ValueError(f"Expected a layer class name in the model config. Received: "
                         f"{class_name!r}"[:300])
    if module is None and ">" not in class_name and class_name in LAYERS:
        return LAYERS[class_name]
    custom = getattr(_SCOPE, "objects", {})
    short = class_name.rpartition(">")[2]
    cls = _CUSTOM.get(class_name) or custom.get(class_name) or custom.get(short) \
        or _registered_by_name(class_name, module)
    if cls is None:
        raise ValueError(_unknown_class_message(class_name, module))
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise ValueError(f"custom_objects[{class_name!r}] must be a Layer or Model "
                         f"subclass. Received: {cls!r}"[:300])
    return cls


def function_name(fn, owner: str) -> str:
    """How a file names function `fn` (for `owner`, e.g. "Lambda layer
    'lambda'"): its registered name "package>name", else its own name (to
    be given in `custom_objects` when loading). An anonymous function is a
    ValueError: a file never holds code to run on load."""
    key = getattr(fn, "_registered_name", None)
    if key is not None and _CUSTOM.get(key) is fn:
        return key
    name = getattr(fn, "__name__", None)
    if not inspect.isfunction(fn) or name == "<lambda>":
        what = "an anonymous function (a lambda)" if name == "<lambda>" else repr(fn)[:100]
        raise ValueError(f"{owner} wraps {what}, "
                         f"which cannot be saved: a Zen file names functions and never "
                         f"holds code to run on load. Define it with def and decorate it "
                         f"with @zen.models.register_serializable(package='my_package') "
                         f"(or pass it as custom_objects={{name: function}} when loading).")
    return name


def function_named(name):
    """The function a file names: registered ("package>name") or in the
    `custom_objects` in scope; ValueError otherwise."""
    if not isinstance(name, str):
        raise ValueError(f"Expected a function name in the config. Received: {name!r}"[:300])
    custom = getattr(_SCOPE, "objects", {})
    fn = _CUSTOM.get(name) or custom.get(name) or custom.get(name.rpartition(">")[2])
    if fn is None or isinstance(fn, type) or not callable(fn):
        raise ValueError(f"Unknown function {name[:100]!r} in the config: register it before "
                         f"loading (@zen.models.register_serializable) or pass it as "
                         f"custom_objects={{{name[:100]!r}: function}}.")
    return fn


def _registered_by_name(class_name, module):
    """The registered class called `class_name` defined in `module` (a
    class saved before it was registered)."""
    found = [cls for cls in _CUSTOM.values() if isinstance(cls, type)
             and cls.__name__ == class_name and cls.__module__ == module]
    return found[0] if len(found) == 1 else None


def _unknown_class_message(class_name, module):
    class_name = class_name[:100]  # a hostile file's name need not fill the message
    if ">" in class_name:  # registered when saved
        package, _, short = class_name.rpartition(">")
        return (f"Unknown layer class {class_name!r} in the model config: the class {short} "
                f"of package {package!r} is not registered. Import or define it and "
                f"register it before loading: decorate it with "
                f"@zen.models.register_serializable(package={package!r}); or pass it when "
                f"loading: custom_objects={{{class_name!r}: {short}}}.")
    what = ("not one of Zen's layers. If it is your own class, pass it" if module is None
            else f"a custom class (of module {repr(module)[:100]} when saved), whose code a "
                 f"file does not hold. Pass it")
    return (f"Unknown layer class {class_name!r} in the model config: {what} when loading, "
            f"custom_objects={{{class_name!r}: {class_name}}}, or register it before "
            f"loading: decorate it with "
            f"@zen.models.register_serializable(package='my_package').")


def deserialize(entry, custom_objects: dict = None) -> Layer:
    """The layer that `serialize` described (not yet built). `custom_objects`
    ({class name: class}) supplies user classes the file names."""
    if not isinstance(entry, dict) or not isinstance(entry.get("config", {}), dict):
        raise ValueError(f"Expected a layer as {{'class_name', 'name', 'config'}}. "
                         f"Received: {entry!r}"[:300])
    with custom_object_scope(custom_objects):
        cls = layer_class(entry.get("class_name"), entry.get("module"))
        layer = cls.from_config(dict(entry.get("config", {})))
    if entry.get("name") is not None:
        layer.name = check_name(entry["name"])
    if entry.get("trainable", True) is not True:
        if entry["trainable"] is not False:
            raise ValueError(f"A layer's 'trainable' must be true or false. Received: "
                             f"{entry['trainable']!r}"[:300])
        layer._set_trainable_alone(False)  # its sublayers' entries carry their own flags
    return layer
