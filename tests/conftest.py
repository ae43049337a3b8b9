"""Suite-wide settings and fixtures."""
import pytest

from zen import kernels


@pytest.fixture(params=[True, False], ids=["kernels", "numpy"])
def fast(request):
    """Each test that takes it runs with zen.kernels on (skipped without
    numba) and with them off; the environment's choice after."""
    if request.param:
        pytest.importorskip("numba")
    kernels.enable(request.param)
    yield request.param
    kernels.enable(None)


def pytest_make_parametrize_id(config, val, argname):
    """Test names that every worker of a parallel run (pytest-xdist) collects
    alike: a function by its __name__ ("<lambda>", numbered by pytest), never
    by its address; a tuple or list by its text, functions inside by name;
    bytes by their length."""
    if callable(val) and hasattr(val, "__name__") and not isinstance(val, type):
        return val.__name__
    if isinstance(val, (tuple, list)):
        return _text(val)
    if isinstance(val, bytes):  # gzip data holds its time of writing: named by length
        return f"{len(val)}-bytes"
    return None


def _text(value):
    if isinstance(value, (tuple, list)):
        inner = ", ".join(_text(item) for item in value)
        return f"({inner}{',' if len(value) == 1 else ''})" if isinstance(value, tuple) \
            else f"[{inner}]"
    if callable(value) and hasattr(value, "__name__") and not isinstance(value, type):
        return value.__name__
    if getattr(value, "ndim", 0):  # an array by its shape
        return f"{type(value).__name__}{tuple(value.shape)}"
    if isinstance(value, bytes):
        return f"{len(value)}-bytes"
    return repr(value)
