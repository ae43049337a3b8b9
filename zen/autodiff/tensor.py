"""The two ideas of the engine: `Tensor` (a value that remembers how it was
made) and `Function` (an op with its forward and backward side by side).

Every op, built in or user-defined, is a `Function` subclass. `apply` runs
its forward on plain arrays and, when a gradient will be needed, links the
output Tensor to the Function, which links to its input Tensors: that chain
is the graph. `Tensor.get_gradients()` walks it once in reverse topological
order, accumulating each node's gradient with `+`, and then releases it.
"""
import itertools

from .. import allocator, parallel
from ..backend import as_float_array, xp
from . import anomaly
from .switch import Switch

_ids = itertools.count()
grad_mode = Switch(True)  # off inside no_grad(): ops record no graph
_hooked = [0]  # how many hooks Tensors hold: a backward pass looks for them only then


def no_grad():
    """Context manager (and decorator, as `@no_grad()`) inside which no graph
    is recorded.

    Example:
        with no_grad():
            prediction = model(x)      # no graph, no gradient memory
    """
    return grad_mode.set_to(False)


def is_grad_enabled() -> bool:
    """Whether ops record the graph right now (False inside `no_grad`)."""
    return grad_mode.on


def on_gradient_final(tensor, hook):
    """`tensor.register_post_accumulate_grad_hook(hook)`, as a function."""
    return tensor.register_post_accumulate_grad_hook(hook)


class Function:
    """An op: `forward(*arrays) -> array` and `backward(gradient) -> one
    gradient per input` (a tuple, or a single array for one input; `None` for
    an input that needs none), both on numpy arrays.

    Non-tensor arguments (an axis, a stride) are keyword arguments of `apply`,
    passed to `__init__`. `self.needs_grad[i]` says whether input i wants a
    gradient, so backward can skip work. Save what backward needs on `self`;
    backward may drop it early unless `self.retained` (a pass with
    retain_graph=True, which may call backward again).

    Example:
        class Square(Function):
            def forward(self, x):
                self.x = x
                return x * x

            def backward(self, gradient):
                return 2 * self.x * gradient

        y = Square.apply(Tensor([1.0, 2.0]))
    """

    needs_grad = ()
    inputs = ()
    retained = False

    def forward(self, *arrays):
        """The op's value from its inputs' values (arrays); a subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define forward (subclass hook)")

    def backward(self, gradient):
        """The gradient for each input from the gradient of the output: a tuple,
        or one array for one input (`None` where none is needed)."""
        raise NotImplementedError(f"{type(self).__name__} must define backward (subclass hook)")

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on Tensors (or arrays and numbers, wrapped as constants)
        and record it in the graph when any input is trainable."""
        tensors = inputs
        if not all([isinstance(x, Tensor) for x in inputs]):
            tensors = _wrap_constants(inputs)
        fn = cls(**params)
        needs_grad = tuple([t.trainable for t in tensors])
        record = grad_mode.on and True in needs_grad
        fn.needs_grad = needs_grad if record else ()
        try:
            value = fn.forward(*[t.value for t in tensors])
        except ValueError as error:
            shapes = ", ".join(str(t.shape) for t in tensors)
            raise ValueError(f"{cls.__name__} on shapes {shapes}: {error}") from None
        out = Tensor._from_op(value, record)
        if record:
            fn.inputs = tensors
            out._ctx = fn
        if anomaly.mode.on:
            anomaly.check_forward(fn, tensors, out.value)
        return out

    def __repr__(self):
        return f"<{type(self).__name__}>"


class _Released(Function):
    """Stands in for a Function whose graph a backward pass has freed."""

    def backward(self, gradient):
        raise RuntimeError(
            "Trying to back-propagate through a graph a second time: its "
            "buffers were freed by the first pass. Pass retain_graph=True to "
            "the first get_gradients()/backward() call to keep it.")


_RELEASED = _Released()


class Tensor:
    """A numpy array that records the ops applied to it, for reverse-mode
    differentiation.

    Args:
        value: numbers, a list or an ndarray. Floating arrays keep their
            dtype; everything else becomes float32.
        trainable: whether gradients are computed for this tensor (default True).

    A weight may also carry Keras's `constraint` (a function of its values,
    applied by `Optimizer.step` to the weights that had a gradient) and `regularizer` (a
    penalty on it that `Layer.losses` collects); both default to None, and
    `Layer.add_weight` sets them.

    Example:
        a, b = Tensor(10), Tensor(5)
        d = (a * b) ** 2
        d.get_gradients()
        a.gradient, b.gradient       # 500.0, 1000.0
    """

    __slots__ = ("value", "gradient", "trainable", "id", "constraint", "regularizer", "_ctx",
                 "_hooks", "_keras_mask", "__weakref__")
    __array_ufunc__ = None  # ndarray <op> Tensor defers to Tensor's reflected op

    def __init__(self, value, trainable: bool = True):
        if isinstance(value, Tensor):
            value = value.value
        self.value = as_float_array(value)
        self.trainable = bool(trainable)
        self.gradient = None
        self.id = next(_ids)
        self.constraint = self.regularizer = None
        self._ctx = None
        self._hooks = None

    @classmethod
    def _from_op(cls, value, trainable):
        """A Tensor for an op's output, skipping the input checks."""
        out = cls.__new__(cls)
        out.value = value if isinstance(value, xp.ndarray) else xp.asarray(value)
        out.trainable = trainable
        out.gradient = None
        out.id = next(_ids)
        out.constraint = out.regularizer = None
        out._ctx = None
        out._hooks = None
        return out

    def register_post_accumulate_grad_hook(self, hook):
        """Call `hook(self)` in every backward pass as soon as the gradient of
        this leaf (a weight) is final for that pass: right after the last op
        that uses it has run its backward, which for the weights of the last
        layers is long before the pass ends (PyTorch's name). Data-parallel
        training starts sending a gradient there. Returns a function that
        removes the hook.

        Example:
            remove = w.register_post_accumulate_grad_hook(lambda t: print("ready", t.shape))
            loss.backward()           # prints while the pass is still running
            remove()
        """
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        _hooked[0] += 1

        def remove():
            if hook in self._hooks:
                self._hooks.remove(hook)
                _hooked[0] -= 1
        return remove

    # ----- the reverse-mode pass -------------------------------------------
    def get_gradients(self, gradient=None, retain_graph: bool = False) -> None:
        """Back-propagate from this tensor, adding d(self)/d(t) to `t.gradient`
        for every trainable tensor t it depends on.

        Args:
            gradient: the seed, d(loss)/d(self); default ones.
            retain_graph: keep the graph for another pass (default False:
                the graph is freed, so memory does not grow across steps).
        """
        if not self.trainable:
            raise RuntimeError("get_gradients() called on a tensor with "
                               "trainable=False: nothing it depends on is trainable")
        if not allocator.tuned():
            allocator.keep_freed_memory()
        seed = xp.ones_like(self.value) if gradient is None else _seed(gradient, self)
        order = _topological_order(self)
        grads = {id(self): seed}
        owned = set()  # keys of gradient buffers this pass allocated: safe to add into
        check = anomaly.mode.on
        last_uses = _last_uses(order) if _hooked[0] else {}
        for node in reversed(order):
            grad = grads.pop(id(node), None)
            fn = node._ctx
            if not retain_graph:
                node._ctx = None if fn is None else _RELEASED
            elif fn is not None:
                fn.retained = True
            if grad is None:
                continue
            if fn is None:
                _finish_leaf(node, grad)
                continue
            node.gradient = grad if node.gradient is None else node.gradient + grad
            input_grads = fn.backward(grad)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            if check:
                anomaly.check_backward(fn, input_grads)
            for x, gx, needed in zip(fn.inputs, input_grads, fn.needs_grad):
                if needed and gx is not None:
                    _accumulate(grads, owned, x, gx, fn)
            for leaf in last_uses.get(id(node), ()):  # node was the last op to use them
                leaf_grad = grads.pop(id(leaf), None)
                if leaf_grad is not None:
                    _finish_leaf(leaf, leaf_grad)

    backward = get_gradients

    def zero_grad(self) -> None:
        """Forget the accumulated gradient."""
        self.gradient = None

    # ----- plain-array views --------------------------------------------------
    shape = property(lambda self: self.value.shape)
    ndim = property(lambda self: self.value.ndim)
    dtype = property(lambda self: self.value.dtype)
    size = property(lambda self: self.value.size)

    def numpy(self):
        """The value as an ndarray (shared, not copied)."""
        return self.value

    def item(self) -> float:
        """The value of a one-element Tensor as a Python number."""
        return self.value.item()

    def detach(self) -> "Tensor":
        """The same value as a constant, cut from the graph."""
        return Tensor(self.value, trainable=False)

    def __len__(self):
        return len(self.value)

    def __repr__(self):
        if self.value.size <= 8:
            body = f"{self.value!r}".removeprefix("array(").removesuffix(")")
            body = body.split(", dtype=")[0]
            return f"Tensor({body}, dtype={self.dtype}, trainable={self.trainable})"
        return f"Tensor(shape={self.shape}, dtype={self.dtype}, trainable={self.trainable})"

    # ----- operators: thin calls into the ops ---------------------------------
    def __add__(self, other): return ops.add(self, other)
    def __radd__(self, other): return ops.add(other, self)
    def __sub__(self, other): return ops.sub(self, other)
    def __rsub__(self, other): return ops.sub(other, self)
    def __mul__(self, other): return ops.mul(self, other)
    def __rmul__(self, other): return ops.mul(other, self)
    def __truediv__(self, other): return ops.div(self, other)
    def __rtruediv__(self, other): return ops.div(other, self)
    def __pow__(self, other): return ops.power(self, other)
    def __rpow__(self, other): return ops.power(other, self)
    def __matmul__(self, other): return ops.matmul(self, other)
    def __rmatmul__(self, other): return ops.matmul(other, self)
    def __neg__(self): return ops.neg(self)
    def __getitem__(self, index): return shapes.getitem(self, index)

    # ----- methods --------------------------------------------------------------
    def sum(self, axis=None, keepdims=False): return ops.reduce_sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return ops.reduce_mean(self, axis, keepdims)
    def max(self, axis=None, keepdims=False): return ops.reduce_max(self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return ops.reduce_min(self, axis, keepdims)
    def reshape(self, *shape): return shapes.reshape(self, _shape_args(shape))
    def transpose(self, *axes): return shapes.transpose(self, _shape_args(axes) or None)
    T = property(lambda self: shapes.transpose(self))
    def exp(self): return ops.exp(self)
    def log(self): return ops.log(self)
    def sqrt(self): return ops.sqrt(self)
    def abs(self): return ops.abs(self)
    def tanh(self): return ops.tanh(self)
    def sigmoid(self): return ops.sigmoid(self)
    def relu(self): return ops.relu(self)
    def clip(self, lo, hi): return ops.clip(self, lo, hi)


def _wrap_constants(inputs):
    """The inputs with each non-Tensor wrapped as a constant Tensor."""
    dtype = next((x.dtype for x in inputs if isinstance(x, Tensor)), None)
    return tuple(x if isinstance(x, Tensor) else _constant(x, dtype) for x in inputs)


def _constant(value, dtype):
    """Wrap an op's non-Tensor operand as a constant. A Python number takes the
    dtype of the op's Tensors (it is "weak", as in numpy and PyTorch): a float64
    `x * 0.1` keeps 0.1 to float64 precision, a float16 `x * 2` stays float16."""
    if dtype is not None and isinstance(value, (int, float)):
        return Tensor._from_op(xp.asarray(value, dtype=dtype), False)
    return Tensor(value, trainable=False)


def _shape_args(args):
    """Accept both t.reshape(2, 3) and t.reshape((2, 3))."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args


def _seed(gradient, tensor):
    seed = as_float_array(gradient.value if isinstance(gradient, Tensor) else gradient,
                          tensor.dtype)
    if seed.shape != tensor.shape:
        raise ValueError(f"get_gradients: the seed gradient has shape {seed.shape}, "
                         f"expected the tensor's shape {tensor.shape}")
    return seed


class IndexedGradient:
    """A gradient that is zero except at `index` (what indexing returns):
    many of them for one tensor (an RNN's time steps, embedding lookups) are
    added into a single buffer instead of one full-size array each."""

    __slots__ = ("index", "values", "basic")

    def __init__(self, index, values, basic):
        self.index, self.values, self.basic = index, values, basic

    def add_to(self, buffer):
        if self.basic:  # a basic index selects each element at most once
            buffer[self.index] += self.values
        else:
            xp.add.at(buffer, self.index, self.values)


def _accumulate(grads, owned, tensor, gradient, fn):
    """Add one backward result into the pass's gradient for `tensor`. Arrays
    that backward returned may be shared, so they are never written into; a
    buffer is allocated once a second contribution arrives."""
    key = id(tensor)
    if isinstance(gradient, IndexedGradient):
        if key not in owned:
            buffer = xp.zeros(tensor.value.shape, tensor.value.dtype)
            if key in grads:
                buffer += grads[key]
            grads[key] = buffer
            owned.add(key)
        gradient.add_to(grads[key])
        return
    gradient = _match(gradient, tensor, fn)
    if key in owned and isinstance(grads[key], xp.ndarray):  # not a numpy scalar
        parallel.apply(xp.add, grads[key], gradient, out=grads[key])
    elif key in grads:
        grads[key] = parallel.apply(xp.add, grads[key], gradient)
        owned.add(key)
    else:
        grads[key] = gradient


def _match(gradient, tensor, fn):
    """Check a backward result against its input, casting to the input's dtype."""
    if gradient.shape != tensor.value.shape:
        raise RuntimeError(f"{type(fn).__name__}.backward returned a gradient of shape "
                           f"{gradient.shape} for an input of shape {tensor.value.shape}")
    if gradient.dtype != tensor.value.dtype:
        gradient = gradient.astype(tensor.value.dtype)
    return gradient


def _finish_leaf(leaf, grad):
    """Add a leaf's gradient of this pass, then tell its hook it is final."""
    leaf.gradient = grad if leaf.gradient is None else leaf.gradient + grad
    for hook in leaf._hooks or ():
        hook(leaf)


def _last_uses(order):
    """{id(op output): [hooked leaves]}: where each leaf with a final-gradient
    hook gets its last gradient contribution. The reverse pass runs the ops
    from the end of `order`, so a leaf's last user is its first in `order`."""
    uses, placed = {}, set()
    for node in order:
        if node._ctx is None:
            continue
        for x in node._ctx.inputs:
            if x._ctx is None and x._hooks and id(x) not in placed:
                placed.add(id(x))
                uses.setdefault(id(node), []).append(x)
    return uses


def _topological_order(root):
    """Trainable tensors reachable from root, each after all its inputs
    (iterative depth-first search: no recursion limit, each node once)."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if node._ctx is not None:
            stack.extend((x, False) for x in node._ctx.inputs
                         if x.trainable and id(x) not in visited)
    return order


from . import ops, shapes  # noqa: E402  (the ops build on Tensor and Function above)
