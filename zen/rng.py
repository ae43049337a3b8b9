"""The one random number generator behind every random choice Zen makes.

Initialisers, Dropout, DataLoader shuffling and validation splits all draw
from `generator()`. Nothing is seeded at import: until `set_seed` is called
the generator is seeded from the operating system's entropy.
"""
import numpy as np

from .validation import check_int

_generator = np.random.default_rng()


def set_seed(seed: int) -> None:
    """Seed every source of randomness Zen uses, so that a run repeats exactly."""
    global _generator
    _generator = np.random.default_rng(check_int(seed, "seed", 0))


def generator() -> np.random.Generator:
    """The generator Zen draws from (replaced by each `set_seed`)."""
    return _generator


def get_state() -> dict:
    """The generator's state, for exact resume (see BackupAndRestore)."""
    return _generator.bit_generator.state


def set_state(state: dict) -> None:
    """Restore a state returned by `get_state`."""
    _generator.bit_generator.state = state
