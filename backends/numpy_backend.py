"""NumPy on the CPU."""

import array_api_compat
import array_api_compat.numpy
import numpy

from backends.base import Backend
from backends.registry import register


class NumPyBackend(Backend):
    name = "cpu"
    xp = array_api_compat.numpy
    native_device = "cpu"

    def asarray(self, obj, dtype=None):
        return numpy.asarray(obj, dtype=dtype)

    def to_host(self, array):
        return numpy.asarray(array)


def _create(index):
    if index is not None and index != "0":
        raise ValueError(f"device 'cpu:{index}': the NumPy backend has one device, 'cpu'")
    return NumPyBackend()


def _recognise(array):
    return "cpu" if array_api_compat.is_numpy_array(array) else None


register("cpu", _create, _recognise)
