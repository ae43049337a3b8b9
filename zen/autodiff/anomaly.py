"""Anomaly detection: find the op that first produced a NaN or an Inf.

Inside `detect_anomaly()` every op checks its output (forward) and its input
gradients (backward); the first non-finite one raises FloatingPointError
naming the op, its input shapes and the line of user code that created it.
"""
import os
import sys

import numpy as np

from .switch import Switch

mode = Switch(False)
_ZEN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def detect_anomaly():
    """Context manager (and decorator, as `@detect_anomaly()`) that turns
    NaN/Inf into an error at the op that made it.

    Example:
        with detect_anomaly():
            loss = model(x).log().mean()   # FloatingPointError names Log
            loss.backward()
    """
    return mode.set_to(True)


def enabled() -> bool:
    """Whether anomaly detection is on right now."""
    return mode.on


def _user_line() -> str:
    """'file:line: code' of the innermost caller outside the zen package."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_ZEN_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    import linecache
    code = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return f"{frame.f_code.co_filename}:{frame.f_lineno}: {code}"


def check_forward(fn, inputs, output) -> None:
    """Remember where fn was created; raise if its output is not finite."""
    fn._anomaly_origin = _user_line()
    fn._anomaly_shapes = ", ".join(str(t.shape) for t in inputs)
    if not np.all(np.isfinite(output)):
        raise FloatingPointError(_message(fn, "forward produced NaN or Inf in its output"))


def check_backward(fn, input_grads) -> None:
    for i, grad in enumerate(input_grads):
        grad = getattr(grad, "values", grad)  # an IndexedGradient's nonzero part
        if grad is not None and not np.all(np.isfinite(grad)):
            raise FloatingPointError(_message(
                fn, f"backward produced NaN or Inf in the gradient of input {i}"))


def _message(fn, what):
    shapes = getattr(fn, "_anomaly_shapes", "?")
    origin = getattr(fn, "_anomaly_origin", "<created outside detect_anomaly>")
    return f"{type(fn).__name__} {what} (input shapes {shapes}); created at {origin}"
