"""Every test that takes ``device`` runs once per backend: NumPy, array_api_strict's
"device1" (which refuses NumPy conversion and any device mix, standing in for a GPU on a
CPU-only machine) and CUDA when CuPy and a GPU are present.

ZEN_REQUIRE_DEVICES (a comma list, e.g. "array_api_strict:device1,cuda") names devices whose
absence fails their tests instead of skipping them, so a broken install cannot read as
"N skipped"; ZEN_REQUIRE_PACKAGES does the same for the optional modules that tests import
through ``import_or_skip`` (e.g. "cupy")."""

import importlib
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


def _listed(variable):
    listed = os.environ.get(variable, "")
    return {name.strip() for name in listed.split(",") if name.strip()}


def _skip_unless_required(name, variable, reason):
    """Skip the test, as ``name`` is missing (``reason``); fail it if ``variable`` lists it."""
    if name in _listed(variable):
        pytest.fail(f"{name} is in {variable} but unavailable: {reason}")
    pytest.skip(f"{name} unavailable: {reason}")


def _available(name):
    reason = _unavailable(name)
    if reason:
        _skip_unless_required(name, "ZEN_REQUIRE_DEVICES", reason)
    return name


def import_or_skip(module, reason):
    """``module``, imported; if it cannot be, the test skips with ``reason``, or fails when
    ZEN_REQUIRE_PACKAGES names the module."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        _skip_unless_required(module, "ZEN_REQUIRE_PACKAGES", f"{reason} ({error})")


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


@pytest.fixture
def float64():
    """float64 as zen's default dtype during the test, for oracle comparisons to round-off
    (``pytestmark = pytest.mark.usefixtures("float64")``); put back after it, below."""
    zen.set_default_dtype("float64")


def assert_close(actual, expected, rtol=1e-10, atol=1e-12):
    """A zen Tensor or array against a torch tensor or array, to float64 round-off."""
    actual = actual.numpy() if isinstance(actual, zen.Tensor) else actual
    expected = expected.detach().numpy() if hasattr(expected, "detach") else expected
    numpy.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


@pytest.fixture(autouse=True)
def _restore_engine_defaults():
    yield
    zen.set_default_dtype("float32")
    assert zen.is_grad_enabled(), "a test left gradient recording switched off"
