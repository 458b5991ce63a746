"""Array backends: one array namespace on one device, behind one small interface.

A backend knows nothing of autodiff. The engine asks it for its array namespace (``xp``,
looked up once) and for the few things the array-API standard lacks. Device strings map to
backends through a registry: ``"cpu"`` is NumPy, ``"cuda"`` / ``"cuda:N"`` is CuPy (imported
only when asked for), ``"array_api_strict:NAME"`` is the array-API reference implementation.
"""

from backends.base import DTYPE_NAMES, Backend, DeviceUnavailableError, UnknownDeviceError
from backends.host import ArrayFile, ArrayFileError, ArrayMismatchError, Generator, save_arrays
from backends.registry import (
    backend_for_array,
    backend_for_dlpack_device,
    get_backend,
    register,
    sole_backend,
)

# Each backend registers its device kind as it loads, in this order: "cpu" is the first kind
# an error lists, and an array belongs to the first backend that recognises it.
# isort: off
from backends import numpy_backend as numpy_backend
from backends import cupy_backend as cupy_backend
from backends import array_api_backend as array_api_backend
# isort: on

# Tells zen that this is its own ``backends``: the name is common, and another module of that
# name earlier on sys.path (a backends.py of a user's own, say) would otherwise be imported.
ZEN_BACKENDS = True

__all__ = [
    "DTYPE_NAMES",
    "ArrayFile",
    "ArrayFileError",
    "ArrayMismatchError",
    "Backend",
    "DeviceUnavailableError",
    "Generator",
    "UnknownDeviceError",
    "backend_for_array",
    "backend_for_dlpack_device",
    "get_backend",
    "register",
    "save_arrays",
    "sole_backend",
]
