"""The engine's process-wide modes (grad recording, anomaly detection): on/off
settings that a with-block changes and then restores, even on an error."""
from contextlib import contextmanager


class Switch:
    """An on/off setting; `set_to(value)` is a context manager (and, called,
    a decorator) that holds the value for the duration of a block."""

    __slots__ = ("on",)

    def __init__(self, on: bool):
        self.on = on

    @contextmanager
    def set_to(self, on: bool):
        previous, self.on = self.on, on
        try:
            yield
        finally:
            self.on = previous
