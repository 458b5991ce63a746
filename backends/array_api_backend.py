"""Any array-API namespace on one of its devices.

Registered for ``array_api_strict``: its non-default device ``"array_api_strict:device1"``
refuses conversion to NumPy and any mix with another device, so running the engine on it
proves that the engine keeps every result on its inputs' device, as a GPU needs.
"""

import array_api_compat
import numpy

from backends.base import Backend, DeviceUnavailableError
from backends.registry import register


class ArrayAPIBackend(Backend):
    """A backend for a namespace the engine only knows through the array-API standard."""

    def __init__(self, name, namespace, native_device, host_device):
        self.name = name
        self.xp = array_api_compat.array_namespace(namespace.asarray(0, device=native_device))
        self.native_device = native_device
        self._host_device = host_device

    def asarray(self, obj, dtype=None):
        return self.xp.asarray(obj, dtype=dtype, device=self.native_device)

    def to_host(self, array):
        return numpy.asarray(array.to_device(self._host_device))


def _create_strict(index):
    try:
        import array_api_strict
    except ImportError as error:
        raise DeviceUnavailableError("device 'array_api_strict' needs the array-api-strict "
                                     "package: pip install array-api-strict") from error
    device = index or "CPU_DEVICE"
    try:
        native = array_api_strict.Device(device)
    except ValueError as error:
        raise DeviceUnavailableError(f"array_api_strict has no device {device!r}") from error
    return ArrayAPIBackend(f"array_api_strict:{device}", array_api_strict, native,
                           array_api_strict.Device("CPU_DEVICE"))


def _recognise_strict(array):
    if type(array).__module__.startswith("array_api_strict."):
        return f"array_api_strict:{array.device._device}"  # Device has no public name
    return None


register("array_api_strict", _create_strict, _recognise_strict)
