"""Fixtures of the autodiff tests."""
import pytest

from zen import kernels


@pytest.fixture
def numba_on():
    """The kernels on (skipped without numba); the environment's choice after."""
    pytest.importorskip("numba")
    kernels.enable(True)
    yield
    kernels.enable(None)
