"""`on_gradient_final`: the backward pass tells a hook as soon as a weight's
gradient is final, which is what lets data-parallel training start its
allreduces while backward is still running. No MPI needed."""
import numpy as np
import pytest

from zen.autodiff import Function, Tensor
from zen.autodiff.tensor import on_gradient_final


class Mark(Function):
    """The identity, noting in `events` when its backward runs."""

    def __init__(self, events, name):
        self.events, self.name = events, name

    def forward(self, x):
        return x

    def backward(self, gradient):
        self.events.append(f"backward {self.name}")
        return gradient


def three_layers(events, dtype=np.float64):
    g = np.random.default_rng(0)
    x = Tensor(g.normal(size=(5, 4)).astype(dtype), trainable=False)
    ws = [Tensor(g.normal(size=(4, 4)).astype(dtype)) for _ in range(3)]
    h = x
    for i, w in enumerate(ws):
        h = Mark.apply((h @ w).tanh(), events=events, name=f"layer {i}")
    return ws, (h * h).sum()


@pytest.fixture
def hooked():
    removers = []
    yield removers
    for remove in removers:
        remove()


def test_a_weight_is_reported_right_after_its_last_use_not_at_the_end(hooked):
    events = []
    ws, loss = three_layers(events)
    for i, w in enumerate(ws):
        hooked.append(on_gradient_final(w, lambda t, i=i: events.append(f"final w{i}")))
    loss.backward()
    assert events == ["backward layer 2", "final w2", "backward layer 1", "final w1",
                      "backward layer 0", "final w0"]


def test_the_hook_sees_the_final_gradient_and_changes_no_gradient(hooked):
    seen = []
    ws, loss = three_layers([])
    hooked.append(on_gradient_final(ws[1], lambda t: seen.append(t.gradient.copy())))
    loss.backward()
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], ws[1].gradient)
    plain_ws, plain_loss = three_layers([])  # the same pass without hooks
    plain_loss.backward()
    for w, plain in zip(ws, plain_ws):
        np.testing.assert_array_equal(w.gradient, plain.gradient)


def test_a_weight_used_twice_is_final_after_its_second_use(hooked):
    events = []
    w = Tensor(np.array([[2.0]]))
    x = Tensor(np.array([[3.0]]), trainable=False)
    first = Mark.apply(x @ w, events=events, name="first use")
    second = Mark.apply(first @ w, events=events, name="second use")   # x w w
    hooked.append(on_gradient_final(w, lambda t: events.append(f"final {t.gradient.item()}")))
    second.sum().backward()
    assert events == ["backward second use", "backward first use", "final 12.0"]  # 2 x w


def test_gradients_accumulate_across_passes_and_the_hook_fires_each_time(hooked):
    w = Tensor(np.array([1.0, 2.0]))
    seen = []
    hooked.append(on_gradient_final(w, lambda t: seen.append(t.gradient.copy())))
    (w * 3.0).sum().backward()
    (w * 3.0).sum().backward()
    np.testing.assert_array_equal(seen[1], [6.0, 6.0])
    assert len(seen) == 2


def test_a_leaf_that_is_the_root_is_reported_too(hooked):
    w = Tensor(np.array(4.0))
    seen = []
    hooked.append(on_gradient_final(w, lambda t: seen.append(t.gradient.item())))
    w.backward()
    assert seen == [1.0]


def test_removing_the_hook_stops_it(hooked):
    w = Tensor(np.array([1.0]))
    seen = []
    remove = on_gradient_final(w, lambda t: seen.append(1))
    (w * 2.0).sum().backward()
    remove()
    (w * 2.0).sum().backward()
    assert seen == [1]


def test_a_weight_takes_several_hooks_each_removable():
    w = Tensor(np.ones(3))
    seen = []
    first = w.register_post_accumulate_grad_hook(lambda t: seen.append("first"))
    w.register_post_accumulate_grad_hook(lambda t: seen.append(float(t.gradient.sum())))
    (w * 2.0).sum().backward()
    assert seen == ["first", 6.0]
    first()
    w.zero_grad()
    (w * 2.0).sum().backward()
    assert seen == ["first", 6.0, 6.0]
