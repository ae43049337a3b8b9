"""`Layer`: the base class of every layer and model.

Configuration goes in `__init__`, weights in `build(input_shape)` (called by
the first `__call__`, so a layer never needs its input size), the maths in
`call(x)`. Parameters are found, not listed: every Tensor or Layer assigned
as an attribute (or a list of Layers) is part of the layer, in assignment
order, and so is every weight made by `add_weight`.

Keras's custom-layer vocabulary: `add_weight` (with an initializer,
regularizer and constraint), `add_loss` inside `call`, and `losses`, the
losses added during the last outermost call plus the weights' penalties.
"""
import functools
import inspect
import re
import threading
from contextlib import contextmanager

import numpy as np

from ..autodiff import Tensor, no_grad
from .. import tree
from ..registry import Registry
from ..validation import check_bool, is_int
from . import constraints, initializers, regularizers, symbolic
from .masking import MaskedCalls

LAYERS = Registry("layer class")  # class name -> Zen's own layers, to rebuild configs
_NAME_COUNTS = {}  # base name -> how many layers took it, for unique names
_CALL = threading.local()  # .training: the value the outermost call in progress resolved
_TAKES_TRAINING = {}  # layer class -> whether its `call` declares `training`
_STRUCTURE = [0]  # counts changes to any layer's weights or sublayers (see named_tensors)
_HOLDING_LOSSES = []  # layers whose `add_loss` losses await the next outermost call


def structure_changed() -> None:
    """Say that a layer gained or lost a weight or sublayer other than by
    assigning an attribute (e.g. a list of layers grown in place)."""
    _STRUCTURE[0] += 1


@contextmanager
def training_scope(training: bool):
    """Layers called inside the block without their own `training` use this
    one (Keras's call context: an outer call's value flows inward)."""
    previous = getattr(_CALL, "training", None)
    _CALL.training = training
    try:
        yield
    finally:
        _CALL.training = previous


def snake_case(name: str) -> str:
    """Keras's layer naming: "Conv2D" -> "conv2d", "MaxPool2D" -> "max_pool2d"."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(base: str) -> str:
    """`base`, then `base_1`, `base_2`, ... (as Keras names layers)."""
    count = _NAME_COUNTS.get(base, 0)
    _NAME_COUNTS[base] = count + 1
    return base if count == 0 else f"{base}_{count}"


def check_name(name, owner="Layer"):
    if not isinstance(name, str) or not name or "/" in name:
        raise ValueError(f"Received an invalid value for `name` of {owner}, expected a "
                         f"non-empty string without '/'. Received: name={name!r}")
    return name


class Layer(MaskedCalls):
    """Base class: subclasses define `build(input_shape)` (optional),
    `call(x)` and `get_config()`.

    Every layer has a `name` (default: the snake_case of its class, made
    unique: "dense", "dense_1", ...). Called on arrays or Tensors it computes;
    called on symbolic tensors (`zen.Input`) it records a node of a
    functional graph instead (see `zen.nn.symbolic`).

    Example:
        class Scale(Layer):
            def build(self, input_shape):
                self.scale = Tensor(np.ones(input_shape[-1]))

            def call(self, x):
                return x * self.scale
    """

    def __init_subclass__(cls, abstract=False, **kwargs):
        """Files Zen's own concrete layers in LAYERS; a base class declared
        `class Base(Layer, abstract=True)` is never rebuilt from a file.
        Every constructor also takes Keras's `input_shape=` (see
        `declared_input_shape`)."""
        super().__init_subclass__(**kwargs)
        if "compute_mask" in vars(cls) and "supports_masking" not in vars(cls):
            cls.supports_masking = True  # Keras: defining compute_mask is supporting masks
        if "__init__" in vars(cls):
            cls.__init__ = _taking_input_shape(cls.__init__)
        if (cls.__module__.split(".")[0] == "zen" and not cls.__name__.startswith("_")
                and not abstract):
            LAYERS.setdefault(cls.__name__, cls)  # a user's class: register_serializable

    _trainable = True  # (a class default: subclasses may set attributes before __init__)
    declared_input_shape = None  # set by `input_shape=` (batch axis first)
    checks_input_shape = True  # later calls must match the first's shape (`_check_input`)
    activity_regularizer = None  # a penalty on the outputs, added by every call (Keras)

    def __new__(cls, *args, **kwargs):
        """Record the constructor's arguments (Keras 3's automatic config, used
        for a user's class that defines no `get_config`)."""
        layer = super().__new__(cls)
        layer._constructor_arguments = (args, kwargs)
        return layer

    def __init__(self, name: str = None):
        self.name = unique_name(snake_case(type(self).__name__)) if name is None \
            else check_name(name, type(self).__name__)
        self.training = False  # the default for calls without `training` (see train_mode)
        self.built = False
        self.input_shape = None

    def build(self, input_shape: tuple) -> None:
        """Create the weights for inputs of `input_shape` (batch axis included)."""

    def call(self, x):
        """The layer's computation on its (built) input; a subclass defines it and
        may declare `training` to receive the call's mode."""
        raise NotImplementedError(f"{type(self).__name__} must define call (subclass hook)")

    def __call__(self, x, *args, training=None, **kwargs):
        """Build on the first call, then `call`. `training` (Keras's rule):
        True or False as given, which also reaches every layer called inside
        this one; else the value given to a layer call this one runs inside;
        else this layer's mode (`train_mode`/`eval_mode`, inference for a new
        layer). It reaches `call` when `call` declares `training`."""
        if isinstance(x, symbolic.SymbolicTensor) or (
                (args or kwargs or isinstance(x, (list, tuple, dict)))
                and symbolic.any_symbolic((x, args, kwargs))):
            if training is not None:
                kwargs["training"] = training
            return self._call_symbolic((x, *args), kwargs)
        context = getattr(_CALL, "training", None)
        given = training if training is not None else context  # flows to the layers inside
        training = given if given is not None else self.training
        shape = _shape_of(x)
        if not self.built:
            # a build probe's batch of 1 is no size of the user's: build for None
            self.input_shape = _any_batch(shape) if getattr(_CALL, "probing", False) else shape
            self.build(self.input_shape)
            self.built = True
        elif self.checks_input_shape and isinstance(shape, tuple) \
                and isinstance(self.input_shape, tuple):
            self._check_input(shape)
        if self._takes_training():
            kwargs["training"] = training
        previous_mask = self._fill_masks(x, args, kwargs)
        depth = getattr(_CALL, "depth", 0)
        if not depth and _HOLDING_LOSSES:  # an outermost call: a fresh set of added losses
            _clear_added_losses(self)
        _CALL.depth = depth + 1
        if given is not None:  # else from this layer's mode: the layers inside keep their own
            _CALL.training = given
        try:
            outputs = self.call(x, *args, **kwargs)
        finally:
            _CALL.training, _CALL.depth = context, depth
        if self.supports_masking:
            self._set_output_masks(x, outputs, previous_mask)
        if self.activity_regularizer is not None:
            self._regularize_activity(outputs)
        return outputs

    def _regularize_activity(self, outputs) -> None:
        """Add the activity penalty of each output, over its batch size (Keras 3)."""
        for output in tree.flatten(outputs):
            if isinstance(output, Tensor):
                penalty = self.activity_regularizer(output)
                self.add_loss(penalty / max(output.shape[0], 1) if output.ndim else penalty)

    @classmethod
    def _takes_training(cls) -> bool:
        takes = _TAKES_TRAINING.get(cls)
        if takes is None:
            takes = _TAKES_TRAINING[cls] = \
                "training" in inspect.signature(cls.call).parameters
        return takes

    def _call_symbolic(self, args, kwargs):
        """Record this call as a node of a functional graph; return symbolic
        outputs. Their shapes come from running the layer once on zeros (batch
        1; axes of unknown size tried at two sizes, and unknown in the output
        where the output changed with them), in inference mode without a graph,
        so every layer reports its true output shape and builds its weights
        as a first call on data would."""
        was_built = self.built
        probes = [self._run_on_placeholders(args, kwargs, size)
                  for size in _free_sizes(args, kwargs)]
        flat = [tree.flatten(p) for p in probes]
        leaves = iter(range(len(flat[0])))

        def to_symbolic(value):
            i = next(leaves)
            free = {axis for axis in range(1, value.ndim)
                    if any(f[i].shape[axis] != value.shape[axis] for f in flat[1:])}
            return symbolic.symbolic_like(value, free)

        outputs = tree.map_structure(to_symbolic, probes[0])
        if not was_built and isinstance(args[0], symbolic.SymbolicTensor):
            self.input_shape = args[0].shape  # not the probe's batch of 1
        symbolic.Node(self, args, kwargs, outputs)
        return outputs

    def _run_on_placeholders(self, args, kwargs, free_size):
        """This layer's outputs (as arrays) on zeros standing in for the
        symbolic tensors of `args` and `kwargs`."""
        def concrete(leaf):
            if isinstance(leaf, symbolic.SymbolicTensor):
                return symbolic.placeholder(leaf, free_size)
            return leaf
        arrays, named = tree.map_structure(concrete, (args, kwargs))
        try:
            with build_probe():
                result = self(*arrays, **named)
            _clear_added_losses()  # those of zeros standing in for data
        except (ValueError, TypeError, IndexError) as error:
            shapes = tree.map_structure(
                lambda t: t.shape if isinstance(t, symbolic.SymbolicTensor) else t,
                args[0] if len(args) == 1 else list(args))
            raise self.call_error(shapes, error) from None
        return tree.map_structure(
            lambda t: t.value if isinstance(t, Tensor) else np.asarray(t), result)

    def call_error(self, shapes, error) -> ValueError:
        """The error of a call on inputs of `shapes` (the user's) that raised
        `error`, naming the layer once."""
        title = f"Layer {self.name!r} ({type(self).__name__}) "
        reason = str(error).removeprefix(title)
        return ValueError(f"{title}cannot be called on inputs of shape {shapes}: {reason}")

    def _check_input(self, shape):
        built = self.input_shape
        if len(shape) != len(built) or (built and built[-1] is not None and shape[-1] != built[-1]):
            raise ValueError(
                f"Layer {self.name!r} ({type(self).__name__}) was built for inputs of shape "
                f"{(None,) + tuple(built[1:])}, received an input of shape {shape}")

    # ----- parameters and sublayers ------------------------------------------
    def named_sublayers(self) -> list:
        """(attribute path, layer) for each direct sublayer, in assignment
        order: "encoder", "blocks.0", "heads.query"; a model's `layers` list
        by position alone ("0", "1", ..., as PyTorch's Sequential)."""
        found = []
        for name, value in vars(self).items():
            if name in ("_constructor_arguments", "_named_tensors"):  # not sublayers it holds
                continue
            if isinstance(value, Layer):
                found.append((name, value))
            elif isinstance(value, (list, tuple)):
                base = "" if name == "layers" else f"{name}."
                found.extend((f"{base}{i}", v) for i, v in enumerate(value)
                             if isinstance(v, Layer))
            elif isinstance(value, dict):
                found.extend((f"{name}.{key}", v) for key, v in value.items()
                             if isinstance(v, Layer))
        return found

    def sublayers(self) -> list:
        """Direct sublayers, in assignment order."""
        return [layer for _, layer in self.named_sublayers()]

    def all_layers(self) -> list:
        """This layer and every layer inside it, depth first."""
        stack, found = [self], []
        while stack:
            layer = stack.pop()
            found.append(layer)
            stack.extend(reversed(layer.sublayers()))
        return found

    def named_tensors(self, prefix: str = "") -> list:
        """(path, Tensor) for every weight, trainable or not (e.g. BatchNorm's
        running statistics), this layer's first, then each sublayer's, named
        by attribute path ("encoder.dense.kernel"). A layer reached twice
        (shared) counts once, where it is first met. The list is kept until
        a layer gains or loses a weight or sublayer (`structure_changed`)."""
        cached = self.__dict__.get("_named_tensors")
        if not prefix and cached is not None and cached[0] == _STRUCTURE[0]:
            return list(cached[1])
        named = self._find_tensors(prefix)
        if not prefix:
            self.__dict__["_named_tensors"] = (_STRUCTURE[0], named)
        return list(named)

    def _find_tensors(self, prefix):
        named, seen, stack = [], set(), [(prefix, self)]
        while stack:
            path, layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            named.extend((path + name, value) for name, value in layer._own_tensors())
            stack.extend(reversed([(f"{path}{name}.", sub)
                                   for name, sub in layer.named_sublayers()]))
        return named

    # ----- Keras's custom-layer vocabulary -------------------------------------
    def add_weight(self, shape=None, initializer="glorot_uniform", dtype=None,
                   trainable: bool = True, name: str = None, regularizer=None,
                   constraint=None) -> Tensor:
        """A new weight of this layer, usually made in `build` and assigned
        to an attribute (`self.kernel = self.add_weight(...)`, which names it);
        one not assigned is still the layer's, named by `name`.

        Args:
            shape: the weight's shape (default () : a scalar).
            initializer: a name, an initializer or a callable
                `(shape, dtype) -> array` (default "glorot_uniform").
            dtype: the dtype (default float32).
            trainable: whether training updates it (default True).
            name: its name when it is not assigned to an attribute.
            regularizer: a penalty on it, added to the training loss
                (a name such as "l2", a Regularizer or a callable).
            constraint: applied to its values after every optimizer step
                (a name such as "non_neg", a Constraint or a callable).

        Example:
            def build(self, input_shape):
                self.w = self.add_weight((input_shape[-1], self.units),
                                         regularizer=zen.regularizers.L2(1e-4))
        """
        shape = () if shape is None else as_shape(shape)
        init = initializers.get(initializer)
        value = init(shape, np.dtype(dtype or "float32"))
        tensor = Tensor(np.asarray(value, dtype=np.dtype(dtype or "float32")),
                        trainable=bool(trainable))
        tensor.regularizer = regularizers.get(regularizer)
        tensor.constraint = constraints.get(constraint)
        added = self.__dict__.setdefault("_added_weights", [])
        added.append((check_name(name, "add_weight") if name else f"weight_{len(added)}",
                      tensor))
        if not self._trainable and tensor.trainable:
            tensor.trainable = False
            self.__dict__.setdefault("_frozen", set()).add(tensor.id)
        structure_changed()
        return tensor

    def add_loss(self, loss) -> None:
        """Add a scalar loss (a Tensor computed in `call`, or a number) to the
        losses that `fit` adds to the training loss; the losses added in one
        outermost call replace those of the previous call.

        Example:
            def call(self, x):
                self.add_loss(1e-3 * (x * x).mean())
                return x
        """
        values = loss if isinstance(loss, (list, tuple)) else [loss]
        held = self.__dict__.setdefault("_losses", [])
        for value in values:
            if not isinstance(value, Tensor):
                value = Tensor(np.asarray(value, dtype=np.float32), trainable=False)
            if value.size != 1:
                raise ValueError(f"add_loss of layer {self.name!r} expects a scalar loss. "
                                 f"Received a tensor of shape {value.shape}")
            held.append(value)
        if held and self not in _HOLDING_LOSSES:
            _HOLDING_LOSSES.append(self)

    @property
    def losses(self) -> list:
        """The scalar losses of this layer and every layer inside it: those
        added (`add_loss`, activity penalties) during the last outermost
        call, then the penalties of the trainable weights that have a
        regularizer (computed now, so their gradient reaches the weights)."""
        added = [loss for layer in _distinct(self.all_layers())
                 for loss in layer.__dict__.get("_losses", ())] if _HOLDING_LOSSES else []
        return added + [t.regularizer(t) for t in self.trainable_weights
                        if t.regularizer is not None]

    def _own_tensors(self) -> list:
        """(name, Tensor) for this layer's own weights: its Tensor attributes,
        then the `add_weight` weights not assigned to one (each once)."""
        own = [(name, value) for name, value in vars(self).items() if isinstance(value, Tensor)]
        added = self.__dict__.get("_added_weights")
        if added:
            known = {id(t) for _, t in own}
            names = {name for name, _ in own}
            own += [(name if name not in names else f"{name}_{i}", t)
                    for i, (name, t) in enumerate(added) if id(t) not in known]
        return own

    def parameters(self) -> list:
        """The trainable Tensors of this layer and its sublayers, in a stable order."""
        return [t for _, t in self.named_tensors() if t.trainable]

    @property
    def weights(self) -> list:
        """Every weight Tensor, trainable or not, in `get_weights` order."""
        return [t for _, t in self.named_tensors()]

    @property
    def trainable_weights(self) -> list:
        """The weights that training updates (those with `trainable` set)."""
        return [t for t in self.weights if t.trainable]

    @property
    def non_trainable_weights(self) -> list:
        """The weights that training leaves alone (frozen ones, BatchNorm's moving statistics)."""
        return [t for t in self.weights if not t.trainable]

    # ----- freezing ------------------------------------------------------------
    @property
    def trainable(self) -> bool:
        """Whether `fit` trains this layer's weights (Keras's freezing).
        Setting it sets it on every layer inside too; a frozen layer's
        weights get no gradient and no update, count as non-trainable, and
        a frozen BatchNorm runs in inference mode."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = check_bool(value, "trainable", owner=f"layer {self.name!r}")
        for layer in self.all_layers():
            layer._set_trainable_alone(value)

    def _set_trainable_alone(self, value: bool) -> None:
        """This layer's flag and own weights only (a file restores each
        layer's flag, and a layer may be unfrozen inside a frozen one)."""
        self._trainable = value
        self._freeze_own_weights()

    def __setattr__(self, name, value):
        """A new weight or sublayer makes every cached weight list stale; one
        given to a frozen layer (built late, or inside `call`) is frozen too."""
        if isinstance(value, (Tensor, Layer, list, tuple, dict)):
            _STRUCTURE[0] += 1
        added = self.__dict__.get("_added_weights")
        if added and isinstance(value, Tensor):  # assigned: an attribute now names it
            self.__dict__["_added_weights"] = [(n, t) for n, t in added if t is not value]
        if not self._trainable:
            if isinstance(value, Tensor) and value.trainable:
                value.trainable = False
                self.__dict__.setdefault("_frozen", set()).add(value.id)
            elif isinstance(value, Layer):
                value.trainable = False
        object.__setattr__(self, name, value)

    def _freeze_own_weights(self) -> None:
        """Make this layer's own weights follow its `trainable` flag; weights
        that are fixed by nature (BatchNorm's moving statistics) stay fixed."""
        frozen = self.__dict__.setdefault("_frozen", set())  # the ids of those it froze
        for _, value in self._own_tensors():
            if not self._trainable and value.trainable:
                value.trainable = False
                frozen.add(value.id)
            elif self._trainable and value.id in frozen:
                value.trainable = True
                frozen.discard(value.id)

    def count_params(self) -> int:
        """The number of scalars in all the layer's weights, trainable or not."""
        return sum(t.size for _, t in self.named_tensors())

    # ----- modes ---------------------------------------------------------------
    def train_mode(self) -> "Layer":
        """Calls without `training` run in training mode (Dropout drops,
        BatchNorm uses batch statistics), PyTorch's `train()` for hand-written
        loops; an explicit `training=` still wins."""
        return self._set_training(True)

    def eval_mode(self) -> "Layer":
        """Calls without `training` run in inference mode (the default of a
        new, loaded or fitted model)."""
        return self._set_training(False)

    def _set_training(self, training):
        self.training = training
        for layer in self.sublayers():
            layer._set_training(training)
        return self

    # ----- configuration and weights -------------------------------------------
    def get_config(self) -> dict:
        """The constructor arguments that rebuild this layer (JSON-serialisable)."""
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        """A new layer built from `get_config()`'s dict (no weights)."""
        return cls(**config)

    def state_dict(self) -> dict:
        """{name: array copy} of every weight."""
        return {name: t.value.copy() for name, t in self.named_tensors()}

    def load_state_dict(self, state: dict) -> None:
        """Copy weights in place (Tensor ids, hence optimiser state, are kept).
        The layer must be built; names and shapes must match exactly."""
        named = dict(self.named_tensors())
        if not self.built and not named:
            raise ValueError(f"{type(self).__name__} is not built: call it on data or "
                             f"build(input_shape) before loading weights")
        missing, unexpected = set(named) - set(state), set(state) - set(named)
        if missing or unexpected:
            raise ValueError(f"load_state_dict: missing weights {sorted(missing)}, "
                             f"unexpected weights {sorted(unexpected)}")
        for name, tensor in named.items():
            value = state[name]
            if tuple(value.shape) != tensor.shape:
                raise ValueError(f"load_state_dict: weight {name!r} has shape "
                                 f"{tuple(value.shape)}, the layer expects {tensor.shape}")
            tensor.value[...] = value

    def get_weights(self) -> list:
        """Copies of every weight (trainable or not), in Keras's order for
        this layer (e.g. Dense: kernel, bias; BatchNorm: gamma, beta,
        moving_mean, moving_variance)."""
        return [t.value.copy() for _, t in self.named_tensors()]

    def set_weights(self, weights: list) -> None:
        """Copy arrays into the weights, in `get_weights` order. The count and
        every shape are checked before anything is written; the Tensors (and
        so any optimizer state keyed by their ids) are kept."""
        named = self.named_tensors()
        if not self.built and not named:
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}) has not been "
                             f"built, so it has no weights to set yet: call it on data or "
                             f"`build(input_shape)` first")
        weights = list(weights)
        if len(weights) != len(named):
            raise ValueError(f"set_weights of {self.name!r}: the layer has {len(named)} "
                             f"weights, received a list of {len(weights)} arrays")
        arrays = [np.asarray(w) for w in weights]
        for i, ((name, tensor), array) in enumerate(zip(named, arrays)):
            if array.shape != tensor.shape:
                raise ValueError(f"set_weights of {self.name!r}: weight {i} ({name!r}) has "
                                 f"shape {tensor.shape}, received an array of shape "
                                 f"{array.shape}")
        for (_, tensor), array in zip(named, arrays):
            tensor.value[...] = array

    def __repr__(self):
        """The constructor call, leaving out arguments at their defaults:
        `Dense(units=64, activation='relu')`."""
        defaults = {name: p.default for name, p in
                    inspect.signature(type(self).__init__).parameters.items()}
        try:
            config = self.get_config()
        except ValueError:  # a config that cannot be written (a lambda inside): the name
            return f"{type(self).__name__}(name={self.name!r})"
        args = ", ".join(f"{k}={v!r}" for k, v in config.items()
                         if k not in defaults or not _same(defaults[k], v))
        return f"{type(self).__name__}({args})"


def _clear_added_losses(owner=None) -> None:
    """Forget the losses added to `owner` and the layers inside it during its
    previous call (to every layer: owner None)."""
    inside = None if owner is None else {id(layer) for layer in owner.all_layers()}
    for layer in list(_HOLDING_LOSSES):
        if inside is None or id(layer) in inside:
            layer.__dict__["_losses"] = []
            _HOLDING_LOSSES.remove(layer)


def _distinct(layers) -> list:
    """`layers` without repeats (a shared layer counts once), in order."""
    seen = set()
    return [layer for layer in layers if not (id(layer) in seen or seen.add(id(layer)))]


def _taking_input_shape(init):
    """`init` that also takes Keras's `input_shape=` (a sample's shape: the
    first layer of a Sequential builds the model for it, kept as
    `layer.declared_input_shape`) and `trainable=`, where `init` does not
    name them itself."""
    own = inspect.signature(init).parameters
    if "input_shape" in own and "trainable" in own:
        return init

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        input_shape = None if "input_shape" in own else kwargs.pop("input_shape", None)
        trainable = True if "trainable" in own else kwargs.pop("trainable", True)
        init(self, *args, **kwargs)
        if input_shape is not None:
            if is_int(input_shape):
                input_shape = (input_shape,)
            self.declared_input_shape = (None,) + as_shape(input_shape)
        if trainable is not True:
            self.trainable = trainable
    return __init__


@contextmanager
def inference_mode():
    """Layer calls in the block run in inference mode (Dropout off,
    BatchNorm's moving statistics) and record no graph."""
    with training_scope(False), no_grad():
        yield


@contextmanager
def build_probe():
    """Inference mode for a call on stand-in zeros (batch 1) that builds
    layers or finds output shapes: layers build for a batch of None, so
    their errors quote the user's shapes, not the stand-in's."""
    previous = getattr(_CALL, "probing", False)
    _CALL.probing = True
    try:
        with inference_mode():
            yield
    finally:
        _CALL.probing = previous


def build_for_shape(layer: Layer, input_shape) -> None:
    """Build `layer` for inputs of `input_shape` (batch axis first, None
    allowed there; for several inputs a list of shapes): its own `build`
    where that builds everything (Sequential), otherwise one call on zeros,
    in inference mode without a graph, its modes then restored."""
    shape = as_shape(input_shape)
    layer.build(shape)
    if layer.built:
        return
    with build_probe():
        layer(zeros_for_shape(shape))
    layer.input_shape = shape


def zeros_for_shape(shape):
    """float32 zeros of `shape` (None is 1); a list of arrays for a list of shapes."""
    return tree.map_structure(lambda s: np.zeros([1 if n is None else n for n in s],
                                                     np.float32),
                                  shape, is_leaf=lambda s: isinstance(s, tuple))


def as_shape(shape):
    """A shape (list or tuple of sizes) as a tuple; a list of shapes as a
    list of tuples."""
    if isinstance(shape, (list, tuple)) and shape and all(
            isinstance(s, (list, tuple)) for s in shape):
        return [as_shape(s) for s in shape]
    if not isinstance(shape, (list, tuple)) or not all(
            n is None or (is_int(n) and n >= 0) for n in shape):
        raise ValueError(f"Expected an input shape such as (None, 784). Received: {shape!r}")
    return tuple(None if n is None else int(n) for n in shape)


def _shape_of(x):
    """The shape of an array or Tensor (a tuple), of each item of a list of
    them (a list of tuples, for layers such as Add that take a list), or None."""
    if hasattr(x, "shape"):
        return tuple(x.shape)
    if isinstance(x, (list, tuple)) and x and all(hasattr(item, "shape") for item in x):
        return [tuple(item.shape) for item in x]
    return None


def _any_batch(shape):
    """`shape` with None for the batch size (each shape of a list of them)."""
    if isinstance(shape, tuple) and shape:
        return (None,) + shape[1:]
    if isinstance(shape, list):
        return [_any_batch(s) for s in shape]
    return shape


def _free_sizes(args, kwargs):
    """The sizes to try for axes of unknown size: one probe when there are
    none, two otherwise (an output axis that differs between them is unknown)."""
    unknown = any(n is None for t in tree.flatten((args, kwargs))
                  if isinstance(t, symbolic.SymbolicTensor) for n in t.shape[1:])
    return (64, 96) if unknown else (64,)


def _same(default, value):
    """Whether a config value equals its default (a pair (3, 3) equals 3)."""
    if isinstance(value, tuple) and len(set(value)) == 1:
        value = value[0]
    try:
        return bool(default == value)
    except (TypeError, ValueError):
        return False
