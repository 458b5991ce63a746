"""Every test that takes ``device`` runs once per backend: NumPy, array_api_strict's
"device1" (which refuses NumPy conversion and any device mix, standing in for a GPU on a
CPU-only machine) and CUDA when CuPy and a GPU are present.

ZEN_REQUIRE_DEVICES (a comma list, e.g. "array_api_strict:device1,cuda") names devices whose
absence fails their tests instead of skipping them, so a broken install cannot read as
"N skipped"."""

import os

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


def _required_devices():
    listed = os.environ.get("ZEN_REQUIRE_DEVICES", "")
    return {name.strip() for name in listed.split(",") if name.strip()}


def _available(name):
    reason = _unavailable(name)
    if reason and name in _required_devices():
        pytest.fail(f"{name} is in ZEN_REQUIRE_DEVICES but unavailable: {reason}")
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
