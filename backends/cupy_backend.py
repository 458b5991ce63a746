"""CuPy on CUDA GPUs. CuPy is imported only when a "cuda" device is first asked for."""

import array_api_compat

from backends.base import Backend, DeviceUnavailableError, extend
from backends.registry import register

_INSTALL_HINT = ("install CuPy for your CUDA version: pip install 'zen[cuda12]' (CUDA 12.x) "
                 "or pip install 'zen[cuda13]' (CUDA 13.x)")


class CuPyBackend(Backend):
    def __init__(self, cupy, index):
        import array_api_compat.cupy
        import cupyx
        from cupy.lib.stride_tricks import sliding_window_view

        def scatter_add(target, key, values):
            if self.repeats_possible(key):
                cupyx.scatter_add(target, key, values)
            else:
                target[key] += values

        def index_add(target, axis, indices, values):
            cupyx.scatter_add(target, (slice(None),) * axis + (indices,), values)

        super().__init__()
        self._cupy = cupy
        self.xp = extend(array_api_compat.cupy, scatter_add=scatter_add,
                         index_add=index_add, sliding_window_view=sliding_window_view)
        self.native_device = cupy.cuda.Device(index)
        self.name = f"cuda:{index}"

    def asarray(self, obj, dtype=None, copy=None):
        with self.native_device:
            if copy:
                return self._cupy.array(obj, dtype=dtype)
            return self._cupy.asarray(obj, dtype=dtype)

    def to_host(self, array):
        return self._cupy.asnumpy(array)

    def synchronize(self):
        self.native_device.synchronize()


def _create(index):
    try:
        import cupy
    except ImportError as error:
        raise DeviceUnavailableError(f"device 'cuda' needs CuPy, which is not installed: "
                                     f"{_INSTALL_HINT}") from error
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except cupy.cuda.runtime.CUDARuntimeError as error:
        raise DeviceUnavailableError(f"CuPy is installed but found no usable CUDA GPU "
                                     f"({error}); check the NVIDIA driver with "
                                     f"nvidia-smi") from error
    number = int(index or 0)
    if not 0 <= number < count:
        raise DeviceUnavailableError(f"device 'cuda:{number}' is not available: this machine "
                                     f"has {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}")
    if number:
        # CuPy runs kernels and allocates on the *current* device; zen does not switch it.
        raise DeviceUnavailableError(f"device 'cuda:{number}': zen runs on the current CUDA "
                                     f"device, cuda:0; to use GPU {number}, start the program "
                                     f"with CUDA_VISIBLE_DEVICES={number} and ask for 'cuda'")
    return CuPyBackend(cupy, number)


def _recognise(array):
    if array_api_compat.is_cupy_array(array):
        return f"cuda:{array.device.id}"
    return None


register("cuda", _create, _recognise)
