"""Autodiff basics: the blog series' first example, then a tiny fit by hand.

Run: python examples/autodiff_basics.py
"""
import numpy as np

from zen import Tensor

# The blog's example: d = (a * b) ** c, so dd/da = 2ab * b and dd/db = 2ab * a.
a = Tensor(10)
b = Tensor(5)
c = 2
d = (a * b) ** c
d.get_gradients()
print(a.gradient, b.gradient)  # 500.0 1000.0

# Gradient descent by hand: fit y = 3x + 2 with a weight and a bias.
rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, (64, 1)).astype(np.float32)
y = 3 * x + 2
w, bias = Tensor(np.zeros((1, 1))), Tensor(np.zeros(1))
for step in range(200):
    loss = ((x @ w + bias - y) ** 2).mean()
    loss.get_gradients()
    for p in (w, bias):
        p.value -= 0.1 * p.gradient
        p.zero_grad()
print(f"w = {w.item():.3f}, b = {bias.item():.3f}, loss = {loss.item():.2e}")
