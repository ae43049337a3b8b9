"""Property-based tests of the autodiff engine (hypothesis).

test_gradients.py checks each op on fixed shapes; here hypothesis draws the
shapes, the values and whole expressions:

1. random expression trees (depth 1-4, 1-3 mutually broadcastable leaves)
   back-propagate the same gradients as float64 central differences;
2. backward changes no value in the graph, and float32 stays float32;
3. a graph back-propagated twice holds exactly twice the gradient;
(forward values against numpy and broadcasting's gradient: in
test_properties_forward.py).

Kinks (relu, abs, clip, max, maximum) are avoided by construction, not by
filtering: their input is `0.1 * tanh(child) + offsets`, with offsets placed so
that no perturbation of the leaves can bring two entries (or an entry and a
kink) together. Every test is derandomized, so CI runs the same examples.
"""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from zen import autodiff as ad
from zen.autodiff import Tensor, grad_check, no_grad

from property_helpers import DTYPES, axis as _axis, bounded as _settings


LEAF_VALUES = st.floats(-1.5, 1.5, allow_subnormal=False)


# ----- random expression trees ------------------------------------------------
class Expr:
    """A drawn expression: `expr(*leaves) -> Tensor`, printed as its formula."""

    def __init__(self, text, fn, zeros):
        self.text, self.fn = text, fn  # fn takes the list of leaves
        with no_grad():
            self.shape = fn(zeros).shape  # shape inference: run it on zero leaves

    def __call__(self, *leaves):
        return self.fn(leaves)

    def __repr__(self):
        return self.text


def _squash(t, offsets):
    """0.1 * tanh(t) + offsets: each entry stays within 0.1 of its offset."""
    return ad.tanh(t) * 0.1 + offsets.astype(t.dtype)


SMOOTH = {
    "exp_tanh": lambda t: ad.exp(ad.tanh(t)),
    "log_sq": lambda t: ad.log(t * t + 0.5),
    "sqrt_sq": lambda t: ad.sqrt(t * t + 0.5),
    "tanh": ad.tanh, "sigmoid": ad.sigmoid, "gelu": ad.gelu,
    "neg": lambda t: -t, "square": lambda t: t ** 2,
}
# each gets _squash(child) with offsets 0.15..0.6 (relu, abs, leaky_relu) or
# +-0.25/0.75 (clip at +-0.5) away from the kink: the input never reaches it
KINKED = {
    "relu": ad.relu, "abs": ad.abs, "leaky_relu": lambda t: ad.leaky_relu(t, 0.2),
    "clip": lambda t: ad.clip(t, -0.5, 0.5),
}
REDUCTIONS = ["sum", "mean", "max", "min", "logsumexp"]
BINARY = ["mul", "div", "maximum", "add", "pow", "matmul", "sub", "minimum"]  # first: ~half


def _kink_offsets(rng, name, shape):
    if name == "clip":
        return rng.choice([-0.75, -0.25, 0.25, 0.75], shape)
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.15, 0.6, shape)


class _Builder:
    """Draws expression nodes over fixed leaf shapes."""

    def __init__(self, draw, shapes, seed):
        self.draw, self.rng = draw, np.random.default_rng(seed)
        self.zeros = [Tensor(np.zeros(s)) for s in shapes]
        self.n_leaves = len(shapes)

    def make(self, text, fn):
        return Expr(text, fn, self.zeros)

    def node(self, depth):
        if depth == 0:
            i = self.draw(st.integers(0, self.n_leaves - 1))
            return self.make(f"x{i}", lambda xs: xs[i])
        # hypothesis draws its shrink target (the first option) about half the
        # time: put the richest first, so that most trees are not trivial
        kind = self.draw(st.sampled_from(["binary", "reduce", "kinked", "shape", "axis",
                                          "smooth", "binary"]))
        if kind == "binary":
            right = self.node(self.draw(st.integers(0, depth - 1)))
            return self.binary(self.node(depth - 1), right)
        child = self.node(depth - 1)
        if child.shape == () and kind in ("axis", "shape"):
            kind = "smooth"
        return getattr(self, kind)(child)

    def smooth(self, c):
        name = self.draw(st.sampled_from(sorted(SMOOTH)))
        return self.make(f"{name}({c})", lambda xs: SMOOTH[name](c.fn(xs)))

    def kinked(self, c):
        name = self.draw(st.sampled_from(sorted(KINKED)))
        off = _kink_offsets(self.rng, name, c.shape)
        return self.make(f"{name}~({c})", lambda xs: KINKED[name](_squash(c.fn(xs), off)))

    def reduce(self, c):
        name = self.draw(st.sampled_from(REDUCTIONS))
        axis, keepdims = _axis(self.draw, len(c.shape)), self.draw(st.booleans())
        text = f"{name}({c}, axis={axis}, keepdims={keepdims})"
        if name in ("max", "min"):  # distinct offsets 0.25 apart: no ties, ever
            off = self.rng.permutation(math.prod(c.shape)).reshape(c.shape) * 0.25
            f = getattr(ad, f"reduce_{name}")
            return self.make(text, lambda xs: f(_squash(c.fn(xs), off), axis, keepdims))
        f = ad.logsumexp if name == "logsumexp" else getattr(ad, f"reduce_{name}")
        return self.make(text, lambda xs: f(c.fn(xs), axis=axis, keepdims=keepdims))

    def axis(self, c):
        name = self.draw(st.sampled_from(["softmax", "log_softmax"]))
        axis = self.draw(st.integers(-len(c.shape), len(c.shape) - 1))
        f = getattr(ad, name)
        return self.make(f"{name}({c}, axis={axis})", lambda xs: f(c.fn(xs), axis=axis))

    def shape(self, c):
        s = c.shape
        options = {"flat": (-1,), "reversed": s[::-1], "lead1": (1, *s), "trail1": (*s, 1)}
        kind = self.draw(st.sampled_from(["reshape", "transpose", "reverse", "take", "slice"]))
        if kind == "reshape":
            new = options[self.draw(st.sampled_from(sorted(options)))]
            return self.make(f"reshape({c}, {new})", lambda xs: c.fn(xs).reshape(new))
        if kind == "transpose":
            axes = tuple(range(len(s)))  # a rotation first: its inverse differs
            perm = self.draw(st.sampled_from([axes[1:] + axes[:1], axes[::-1], axes]))
            return self.make(f"transpose({c}, {perm})", lambda xs: ad.transpose(c.fn(xs), perm))
        if kind == "take":  # integer-array index, repeats allowed
            idx = self.rng.integers(0, s[0], self.draw(st.integers(1, 4)))
            return self.make(f"{c}[{idx.tolist()}]", lambda xs: c.fn(xs)[idx])
        index = slice(None, None, -1) if kind == "reverse" else (Ellipsis, slice(0, 2))
        return self.make(f"{c}[{index}]", lambda xs: c.fn(xs)[index])

    def binary(self, a, b):
        name = self.draw(st.sampled_from(BINARY))
        if name == "matmul":
            return self.matmul(a, b)
        try:
            shape = np.broadcast_shapes(a.shape, b.shape)
        except ValueError:  # the subtrees' shapes drifted apart: use b's mean
            b = self.make(f"mean({b})", lambda xs, b=b: ad.reduce_mean(b.fn(xs)))
            shape = a.shape
        text = f"{name}({a}, {b})"
        if name in ("maximum", "minimum"):  # entries 0.3 +- 0.2 apart: never equal
            off_a = self.rng.uniform(-1, 1, shape)
            off_b = off_a + self.rng.choice([-0.3, 0.3], shape)
            f = getattr(ad, name)
            return self.make(text, lambda xs: f(_squash(a.fn(xs), off_a),
                                                _squash(b.fn(xs), off_b)))
        f = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
             "div": lambda x, y: x / (y * y + 1.0),
             "pow": lambda x, y: (x * x + 0.5) ** ad.tanh(y)}[name]
        return self.make(text, lambda xs: f(a.fn(xs), b.fn(xs)))

    def matmul(self, a, b):
        """a @ b where the shapes allow; else a @ b^T, a @ a^T or a @ a."""
        def swap(e):
            return self.make(f"swap({e})", lambda xs: ad.transpose(
                e.fn(xs), (*range(len(e.shape) - 2), len(e.shape) - 1, len(e.shape) - 2)))

        candidates = [b] + ([swap(b)] if len(b.shape) >= 2 else [])
        candidates += [swap(a)] if len(a.shape) >= 2 else [a]
        for right in candidates:
            try:
                np.matmul(np.zeros(a.shape), np.zeros(right.shape))
            except ValueError:
                continue
            return self.make(f"matmul({a}, {right})", lambda xs: a.fn(xs) @ right.fn(xs))
        return self.make(f"mul({a}, {b})", lambda xs: a.fn(xs) * b.fn(xs))  # a is a scalar


@st.composite
def broadcastable_shapes(draw, max_shapes=3):
    """1-3 shapes that broadcast together: the first has all the axes of a full
    shape (1-3 axes, sides 2-3, at most 27 elements), the others are suffixes of
    it (possibly 0-d); a side becomes 1 with probability 1/4. (hypothesis's
    mutually_broadcastable_shapes favours sides of 1, too small to test much.)"""
    full = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=3))
    shapes = []
    for i in range(draw(st.integers(1, max_shapes))):
        suffix = full[len(full) - (draw(st.integers(0, len(full))) if i else len(full)):]
        ones = [draw(st.sampled_from([False, False, False, True])) for _ in suffix]
        shapes.append(tuple(1 if one else n for n, one in zip(suffix, ones)))
    return shapes


@st.composite
def expressions(draw, max_depth=4):
    """(expr, leaves): an expression tree and float64 leaf values for it."""
    shapes = draw(broadcastable_shapes())
    leaves = [draw(hnp.arrays(np.float64, s, elements=LEAF_VALUES)) for s in shapes]
    builder = _Builder(draw, shapes, draw(st.integers(0, 2**32 - 1)))
    depth = draw(st.sampled_from(range(max_depth, 0, -1)))  # deep first, as above
    return builder.node(depth), leaves


def _graph(root):
    """Every tensor of the graph below root (inputs, constants, intermediates)."""
    seen, stack, found = set(), [root], []
    while stack:
        t = stack.pop()
        if id(t) not in seen:
            seen.add(id(t))
            found.append(t)
            stack.extend(t._ctx.inputs if t._ctx is not None else ())
    return found


# ----- 1. gradients of random compositions ------------------------------------
@_settings(1500)
@given(expressions())
def test_random_expressions_match_central_differences(case):
    expr, leaves = case
    grad_check(expr, leaves, eps=1e-5, atol=1e-6, rtol=1e-4)


# ----- 2. backward is read-only -------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@_settings(300)
@given(case=expressions())
def test_backward_changes_no_value_and_keeps_the_dtype(dtype, case):
    expr, leaves = case
    inputs = [Tensor(x.astype(dtype)) for x in leaves]
    out = expr(*inputs)
    tensors = _graph(out)
    before = [t.value.copy() for t in tensors]
    out.backward()
    for t, value in zip(tensors, before):
        np.testing.assert_array_equal(t.value, value)
        assert t.value.dtype == value.dtype
    assert out.dtype == dtype
    assert all(x.gradient is None or x.gradient.dtype == dtype for x in inputs)


# ----- 3. two passes, twice the gradient -----------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@_settings(300)
@given(case=expressions())
def test_a_second_pass_doubles_every_gradient_exactly(dtype, case):
    """Backward is deterministic (the same saved arrays, the same ops in the
    same order), so the second pass computes bit-identical gradients g, and the
    engine's accumulation g + g equals 2 * g exactly in IEEE arithmetic: the
    check is exact equality, at every trainable node, not only the leaves."""
    expr, leaves = case
    out = expr(*[Tensor(x.astype(dtype)) for x in leaves])
    trainable = [t for t in _graph(out) if t.trainable]
    out.backward(retain_graph=True)
    once = [None if t.gradient is None else t.gradient.copy() for t in trainable]
    out.backward()
    for t, g in zip(trainable, once):
        if g is None:
            assert t.gradient is None
        else:
            np.testing.assert_array_equal(t.gradient, 2 * g)
