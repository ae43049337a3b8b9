"""Zen: a small, complete deep-learning framework on numpy."""
from . import autodiff
from .autodiff import Tensor, no_grad
from .rng import set_seed

__version__ = "0.1.0"
