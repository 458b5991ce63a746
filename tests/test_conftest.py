"""The device fixture's skip rule: a device named in ZEN_REQUIRE_DEVICES fails its tests
when it is unavailable, so a broken backend cannot pass as skipped tests."""

import pytest

import conftest


@pytest.fixture
def broken_device(monkeypatch):
    monkeypatch.setattr(conftest, "_unavailable", lambda name: "CuPy failed to import")
    return "cuda"


def test_an_unavailable_device_skips_when_not_required(broken_device, monkeypatch):
    monkeypatch.setenv("ZEN_REQUIRE_DEVICES", "array_api_strict:device1")
    with pytest.raises(pytest.skip.Exception, match="cuda unavailable: CuPy failed"):
        conftest._available(broken_device)


@pytest.mark.parametrize("listed", ["cuda", "array_api_strict:device1, cuda"])
def test_an_unavailable_required_device_fails(broken_device, monkeypatch, listed):
    monkeypatch.setenv("ZEN_REQUIRE_DEVICES", listed)
    with pytest.raises(pytest.fail.Exception,
                       match="cuda is in ZEN_REQUIRE_DEVICES but unavailable: CuPy failed"):
        conftest._available(broken_device)


def test_an_available_required_device_is_returned(monkeypatch):
    monkeypatch.setenv("ZEN_REQUIRE_DEVICES", "cpu")
    assert conftest._available("cpu") == "cpu"
