"""`Registry`: the one way Zen turns names into objects.

Every kind of thing a user may name by string or a file may name by class
(layers, activations, initialisers, losses, metrics, optimisers, learning
rate schedules) has one Registry: a dict from name to object with Keras's
`get`-style lookup, one error for an unknown name, and `serialize` /
`deserialize` of the `{"class_name", "config"}` form that files and configs
use (as `keras.saving` does).

Example:
    OPTIMIZERS = Registry("optimizer")
    OPTIMIZERS.add(Adam, "adam", "Adam")
    OPTIMIZERS.lookup("adam")                       # the class Adam
    OPTIMIZERS.deserialize({"class_name": "Adam", "config": {"lr": 0.01}})
"""

__all__ = ["Registry"]


class Registry(dict):
    """Names -> objects of one `kind` ("loss", "optimizer", ...).

    Args:
        kind: what the objects are, for messages.
        fold_case: whether names match in any case ("Adam" = "adam").
    """

    def __init__(self, kind: str, fold_case: bool = False):
        super().__init__()
        self.kind, self.fold_case = kind, fold_case

    def _key(self, name):
        return name.lower() if self.fold_case and isinstance(name, str) else name

    def add(self, obj, *names):
        """File `obj` under each of `names` (default: its __name__); returns it."""
        for name in names or (obj.__name__,):
            self[self._key(name)] = obj
        return obj

    def lookup(self, name):
        """The object filed under `name`; ValueError naming the known names."""
        obj = self.get(self._key(name)) if isinstance(name, str) else None
        if obj is None:
            case = " (any case)" if self.fold_case else ""
            raise ValueError(f"Unknown {self.kind} {name!r}; expected one of "
                             f"{sorted(self)}{case}")
        return obj

    def serialize(self, obj) -> dict:
        """`{"class_name": ..., "config": obj.get_config()}` for an instance of
        a class filed here under its own name."""
        name = type(obj).__name__
        if self.get(self._key(name)) is not type(obj):
            raise ValueError(f"Only Zen's {self.kind} classes can be serialized; received "
                             f"{obj!r}")
        return {"class_name": name, "config": obj.get_config()}

    def deserialize(self, spec: dict, **extra):
        """The instance that `serialize` described (`extra` joins its config);
        ValueError for anything but a known class name and a config dict."""
        if not (isinstance(spec, dict) and set(spec) == {"class_name", "config"}
                and isinstance(spec["config"], dict)):
            raise ValueError(f"Cannot rebuild a {self.kind} from {spec!r}"[:300] +
                             ": expected {'class_name': ..., 'config': {...}}")
        cls = self.get(self._key(spec["class_name"]))
        if not isinstance(cls, type) or cls.__name__ != spec["class_name"]:
            classes = sorted({v.__name__ for v in self.values() if isinstance(v, type)})
            raise ValueError(f"Unknown {self.kind} class {spec['class_name']!r}; expected "
                             f"one of {classes}")
        return cls.from_config({**spec["config"], **extra})
