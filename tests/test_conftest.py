"""The device fixture's skip rule: a device named in ZEN_REQUIRE_DEVICES fails its tests
when it is unavailable, so a broken backend cannot pass as skipped tests; and the same rule
for optional modules named in ZEN_REQUIRE_PACKAGES."""

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


def test_a_missing_module_skips_when_not_required(monkeypatch):
    monkeypatch.delenv("ZEN_REQUIRE_PACKAGES", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"no_such_module unavailable: it is not "
                                                    r"here .*No module named 'no_such_module'"):
        conftest.import_or_skip("no_such_module", "it is not here")


def test_a_missing_required_module_fails(monkeypatch):
    monkeypatch.setenv("ZEN_REQUIRE_PACKAGES", "cupy, no_such_module")
    with pytest.raises(pytest.fail.Exception, match="no_such_module is in ZEN_REQUIRE_PACKAGES "
                                                    "but unavailable: it is not here"):
        conftest.import_or_skip("no_such_module", "it is not here")


def test_an_importable_module_is_returned(monkeypatch):
    monkeypatch.setenv("ZEN_REQUIRE_PACKAGES", "json")
    assert conftest.import_or_skip("json", "always there").dumps([1]) == "[1]"
