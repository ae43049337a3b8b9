"""The Tensor engine: the graph, the backward pass, grad mode, dtypes and errors."""
import gc
import time
import tracemalloc
import weakref

import numpy as np
import pytest

import zen
from zen.autodiff import Function, Tensor, detect_anomaly, grad_check, no_grad


def test_blog_example():
    a, b, c = Tensor(10), Tensor(5), 2
    d = (a * b) ** c
    d.get_gradients()
    assert (a.gradient, b.gradient) == (500.0, 1000.0)
    assert f"{a.gradient} {b.gradient}" == "500.0 1000.0"


@pytest.mark.parametrize("value,dtype", [
    (3, np.float32), (2.5, np.float32), ([1, 2], np.float32), (np.arange(3), np.float32),
    (np.array([True]), np.float32), (np.zeros(2, np.float64), np.float64),
    (np.zeros(2, np.float16), np.float16), (np.zeros(2, np.float32), np.float32)])
def test_dtype_policy(value, dtype):
    assert Tensor(value).dtype == dtype


@pytest.mark.parametrize("bad", ["abc", np.array(["a", "b"]), np.array([object()]), [1, "x"]])
def test_strings_and_objects_are_type_errors(bad):
    with pytest.raises(TypeError, match="dtype"):
        Tensor(bad)


def test_matmul_shape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(1, 2\) and \(1, 2\)"):
        Tensor([[1, 2]]) @ Tensor([[1, 2]])


def test_broadcast_error_names_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"Add on shapes \(2, 3\), \(4,\)"):
        Tensor(np.ones((2, 3))) + Tensor(np.ones(4))


def test_float32_stays_float32():
    x = Tensor(np.ones((4, 3), np.float32))
    w = Tensor(np.ones((3, 2), np.float32))
    loss = (zen.autodiff.relu(x @ w * 0.5 + 1) ** 2).mean()
    loss.backward()
    assert loss.dtype == np.float32 and x.gradient.dtype == w.gradient.dtype == np.float32


def test_float64_constant_does_not_change_a_float32_gradient():
    w = Tensor(np.ones(3, np.float32))
    (w * np.ones(3, np.float64)).sum().backward()
    assert w.gradient.dtype == np.float32


def test_diamond_graph_visits_each_node_once():
    x = Tensor(1.0)
    y = x
    for _ in range(40):  # a per-path walk would take 2**40 steps
        y = y * 0.5 + y * 0.5
    start = time.perf_counter()
    y.backward()
    assert time.perf_counter() - start < 0.5
    assert x.gradient == pytest.approx(1.0)


def test_long_chain_has_no_recursion_limit():
    x = Tensor(0.0)
    y = x
    for _ in range(20_000):
        y = y + 1.0
    y.backward()
    assert y.item() == 20_000 and x.gradient == 1.0


def test_gradients_accumulate_over_two_passes():
    x = Tensor([1.0, 2.0])
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.gradient, [2 + 3, 4 + 3])
    x.zero_grad()
    assert x.gradient is None


def test_reused_node_gets_the_sum_of_its_paths():
    x = Tensor(3.0)
    y = x * x
    (y + y * y).backward()  # d/dx (x^2 + x^4) = 2x + 4x^3
    assert x.gradient == pytest.approx(6 + 108)


def test_trainable_false_gets_no_gradient_and_no_backward_work():
    calls = []

    class Spy(Function):
        def forward(self, a, b):
            return a * b

        def backward(self, g):
            calls.append(self.needs_grad)
            return None, g * 2

    a, b = Tensor(2.0, trainable=False), Tensor(3.0)
    Spy.apply(a, b).backward()
    assert a.gradient is None and calls == [(False, True)]
    c = Spy.apply(Tensor(1.0, trainable=False), Tensor(1.0, trainable=False))
    assert not c.trainable and c._ctx is None


def test_no_grad_records_nothing():
    x = Tensor([1.0, 2.0])
    with no_grad():
        y = x * 2
    assert not y.trainable and y._ctx is None
    assert zen.autodiff.is_grad_enabled()

    @no_grad()
    def f(t):
        return t * 2

    assert not f(x).trainable and zen.autodiff.is_grad_enabled()


def test_no_grad_restores_mode_after_an_exception():
    with pytest.raises(RuntimeError):
        with no_grad():
            raise RuntimeError
    assert zen.autodiff.is_grad_enabled()


def test_detach_cuts_the_graph():
    x = Tensor(2.0)
    y = (x * x).detach() * x
    y.backward()
    assert x.gradient == 4.0  # only the direct path


def test_retain_graph_allows_a_second_pass():
    x = Tensor(2.0)
    y = x * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.gradient == 8.0
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_seed_gradient_and_its_shape_check():
    x = Tensor([1.0, 2.0])
    (x * 3).backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.gradient, [3, 30])
    with pytest.raises(ValueError, match="shape"):
        (x * 3).backward(np.ones(3))


def test_graph_is_released_after_backward():
    x = Tensor(np.ones(3))
    hidden = x * 2
    ref = weakref.ref(hidden)
    loss = (hidden * 3).sum()
    del hidden
    assert ref() is not None  # held by the graph
    loss.backward()
    gc.collect()
    assert ref() is None


def test_memory_stays_flat_over_many_steps():
    rng = np.random.default_rng(0)
    w = Tensor(rng.normal(size=(64, 32)).astype(np.float32))
    x = rng.normal(size=(128, 64)).astype(np.float32)

    def step():
        loss = (zen.autodiff.tanh(x @ w) ** 2).mean()
        loss.backward()
        w.value -= 0.01 * w.gradient
        w.zero_grad()

    tracemalloc.start()
    for _ in range(500):  # warm up: the interpreter fills its free lists first
        step()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(1000):
        step()
    growth = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    # A retained graph would keep >= 16 KiB of arrays per step (16 MiB here);
    # the interpreter's own caches account for a few KiB either way.
    assert growth < 1_000_000  # bytes, over 1000 steps


def test_user_defined_function():
    class Cube(Function):
        def forward(self, x):
            self.x = x
            return x ** 3

        def backward(self, g):
            return 3 * self.x ** 2 * g

    grad_check(Cube.apply, [np.array([0.5, -1.0, 2.0])])


def test_backward_shape_mismatch_names_the_op():
    class Broken(Function):
        def forward(self, x):
            return x.sum()

        def backward(self, g):
            return np.ones(7)

    with pytest.raises(RuntimeError, match=r"Broken.backward .* \(7,\) .* \(3,\)"):
        Broken.apply(Tensor(np.ones(3))).backward()


def test_tensor_properties_and_methods():
    t = Tensor(np.arange(6.0).reshape(2, 3))
    assert (t.shape, t.ndim, t.size, len(t)) == ((2, 3), 2, 6, 2)
    assert t.T.shape == (3, 2) and t.transpose(1, 0).shape == (3, 2)
    assert t.reshape(3, 2).shape == t.reshape((3, 2)).shape == (3, 2)
    assert t.numpy() is t.value and t.sum().item() == 15.0
    assert t.max().item() == 5.0 and t.min().item() == 0.0
    assert isinstance(t.id, int) and t.id != Tensor(1).id
    assert repr(Tensor(np.zeros((128, 10), np.float32))) == \
        "Tensor(shape=(128, 10), dtype=float32, trainable=True)"
    assert repr(Tensor(2.0, trainable=False)) == "Tensor(2., dtype=float32, trainable=False)"


def test_get_gradients_on_a_constant_is_an_error():
    with pytest.raises(RuntimeError, match="trainable=False"):
        Tensor(1.0, trainable=False).get_gradients()


def test_detect_anomaly_names_the_op_shapes_and_line():
    x = Tensor(np.array([1.0, -1.0]))
    with detect_anomaly():
        with pytest.raises(FloatingPointError) as error:
            with np.errstate(invalid="ignore"):
                zen.autodiff.log(x)  # the line the error must name
    message = str(error.value)
    assert "Log" in message and "(2,)" in message and "test_engine.py" in message
    assert "zen.autodiff.log(x)" in message


def test_detect_anomaly_in_backward():
    x = Tensor(np.array([0.0, 1.0]))
    with detect_anomaly():
        y = zen.autodiff.sqrt(x).sum()
        with pytest.raises(FloatingPointError, match="Sqrt backward"):
            with np.errstate(divide="ignore"):
                y.backward()


def test_the_first_backward_pass_tunes_malloc_once_and_import_does_not():
    import subprocess
    import sys
    code = ("import zen, zen.allocator as a; assert not a.tuned(); "
            "t = zen.Tensor(1.0); (t * t).backward(); assert a.tuned(); "
            "print(a.keep_freed_memory())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(sys.platform.startswith("linux"))
    opt_out = ("import zen.allocator as a; a.enabled = False; "
               "print(a.keep_freed_memory())")
    out = subprocess.run([sys.executable, "-c", opt_out], capture_output=True, text=True)
    assert out.stdout.strip() == "False"
