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

        def index_set(target, indices, values):
            target[indices] = values

        super().__init__()
        self._cupy = cupy
        self.xp = extend(array_api_compat.cupy, scatter_add=scatter_add,
                         index_add=index_add, index_set=index_set,
                         sliding_window_view=sliding_window_view,
                         copy=lambda array: cupy.array(array, order="C"))
        self.native_device = cupy.cuda.Device(index)
        self.name = f"cuda:{index}"

    def asarray(self, obj, dtype=None, copy=None):
        with self.native_device:
            if copy:
                return self._cupy.array(obj, dtype=dtype)
            return self._cupy.asarray(obj, dtype=dtype)

    def to_host(self, array):
        return self._cupy.asnumpy(array)

    def dtype(self, name):
        return self._cupy.dtype(name)

    def is_private(self, array):
        return (type(array) is self._cupy.ndarray and array.base is None
                and array.flags.c_contiguous)

    def synchronize(self):
        self.native_device.synchronize()

    def collectives(self, comm):
        return _NCCL(comm, self._cupy)


class _NCCL:
    """Sums and broadcasts CUDA arrays in place with NCCL, on the current stream, so the host
    never waits for them; MPI carries only NCCL's id from rank 0 at the start."""

    def __init__(self, comm, cupy):
        from cupy.cuda import nccl

        if not nccl.available:
            raise DeviceUnavailableError("distributed training on 'cuda' needs NCCL, which "
                                         "this CuPy cannot load; install NCCL for your CUDA "
                                         "version (e.g. the nvidia-nccl wheel)")
        self._cupy, self._nccl = cupy, nccl
        unique_id = comm.bcast(nccl.get_unique_id() if comm.rank == 0 else None, root=0)
        self._comm = nccl.NcclCommunicator(comm.size, unique_id, comm.rank)

    def all_reduce_sum(self, flat):
        self._comm.allReduce(flat.data.ptr, flat.data.ptr, flat.size, self._dtype(flat),
                             self._nccl.NCCL_SUM, self._stream())
        return flat

    def broadcast(self, flat, root):
        self._comm.bcast(flat.data.ptr, flat.size, self._dtype(flat), root, self._stream())
        return flat

    def _dtype(self, flat):
        name = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64",
                "int32": "NCCL_INT32", "int64": "NCCL_INT64"}.get(flat.dtype.name)
        if name is None:
            raise TypeError(f"NCCL cannot sum or broadcast {flat.dtype} arrays")
        return getattr(self._nccl, name)

    def _stream(self):
        return self._cupy.cuda.get_current_stream().ptr


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
