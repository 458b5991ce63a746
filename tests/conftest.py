"""Every test that takes ``device`` runs once per backend: NumPy, array_api_strict's
"device1" (which refuses NumPy conversion and any device mix, standing in for a GPU on a
CPU-only machine) and CUDA when CuPy and a GPU are present."""

import numpy
import pytest

import backends
import zen

DEVICES = ["cpu", "array_api_strict:device1", "cuda"]


def _unavailable(device):
    try:
        backends.get_backend(device)
    except backends.DeviceUnavailableError as error:
        return str(error)
    return None


def _available(name):
    reason = _unavailable(name)
    if reason:
        pytest.skip(f"{name} unavailable: {reason}")
    return name


@pytest.fixture(params=DEVICES)
def device(request):
    return _available(request.param)


@pytest.fixture(params=DEVICES[1:])
def other_device(request):
    """Each device but the CPU, to compare against it."""
    return _available(request.param)


@pytest.fixture
def rng():
    return numpy.random.default_rng(0)


@pytest.fixture(autouse=True)
def _restore_engine_defaults():
    yield
    zen.set_default_dtype("float32")
    assert zen.is_grad_enabled(), "a test left gradient recording switched off"
