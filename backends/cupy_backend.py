"""CuPy on CUDA GPUs. CuPy is imported only when a "cuda" device is first asked for."""

from typing import TYPE_CHECKING

import array_api_compat

from backends.base import (
    Backend,
    DeviceUnavailableError,
    extend,
    in_range_unsigned,
    owner_of_memory,
)
from backends.registry import register

if TYPE_CHECKING:   # for annotations only: CuPy is imported when "cuda" is first asked for
    import cupy

# CuPy's packages with the CUDA toolkit's libraries as wheels ([ctk]), so that a machine
# needs only the NVIDIA driver.
INSTALL_HINT = ('pip install "cupy-cuda12x[ctk]>=14" for CUDA 12.x or "cupy-cuda13x[ctk]>=14" '
                'for 13.x (from zen\'s checkout: pip install ".[cuda12]" or ".[cuda13]")')


class CuPyBackend(Backend):
    bool_arithmetic = True
    def __init__(self, cupy, index):
        import array_api_compat.cupy
        import cupyx
        import cupyx.scipy.special
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

        self._cupy = cupy
        self.xp = extend(array_api_compat.cupy, scatter_add=scatter_add,
                         index_add=index_add, index_set=index_set,
                         sliding_window_view=sliding_window_view,
                         copy=lambda array: cupy.array(array, order="C"),
                         erf=cupyx.scipy.special.erf, erfc=cupyx.scipy.special.erfc,
                         all_in_range=in_range_unsigned)
        self.native_device = cupy.cuda.Device(index)
        self.name = f"cuda:{index}"
        super().__init__()

    def asarray(self, obj, dtype=None, copy=None):
        with self.native_device:
            if copy:
                return self._cupy.array(obj, dtype=dtype)
            return self._cupy.asarray(obj, dtype=dtype)

    def to_host(self, array: "cupy.ndarray"):
        return self._cupy.asnumpy(array)

    def dtype(self, name):
        return self._cupy.dtype(name)

    def writer(self, name):
        function = getattr(self.xp, name, None)
        cupy = self._cupy
        return function if isinstance(function, cupy.ufunc) or function is cupy.sum else None

    def is_private(self, array: "cupy.ndarray"):
        return (type(array) is self._cupy.ndarray and array.base is None
                and array.flags.c_contiguous)

    def synchronize(self):
        self.native_device.synchronize()

    has_graphs = True

    def graph(self, calls):
        """The calls captured on a stream of their own, in relaxed mode (their first
        allocations may call cudaMalloc), with memory from a pool of the graph's own, kept
        as long as the graph: what the calls allocate stays theirs at every launch. Launched
        on the current stream, after the work before it."""
        cupy = self._cupy
        pool, stream = cupy.cuda.MemoryPool(), cupy.cuda.Stream(non_blocking=True)
        with self.native_device, cupy.cuda.using_allocator(pool.malloc), stream:
            stream.begin_capture(cupy.cuda.runtime.streamCaptureModeRelaxed)
            try:
                for call in calls:
                    call()
            finally:
                graph = stream.end_capture()

        def launch(graph=graph, pool=pool):
            graph.launch(cupy.cuda.get_current_stream())
        return launch

    def graphable(self, name):
        return name not in _NOT_IN_GRAPHS

    def memory_root(self, array):
        return owner_of_memory(array)

    def collectives(self, comm):
        return _NCCL(comm, self._cupy)


# CuPy refuses its cuBLAS calls while a stream is captured.
_NOT_IN_GRAPHS = frozenset({"matmul"})


class _NCCL:
    """Sums and broadcasts CUDA arrays in place with NCCL, on the current stream, so the host
    never waits for them; MPI carries only NCCL's id from rank 0 at the start."""

    def __init__(self, comm, cupy):
        from cupy.cuda import nccl

        check_nccl(nccl, cupy)
        self._cupy, self._nccl = cupy, nccl
        self._dtypes = {"float16": nccl.NCCL_FLOAT16, "float32": nccl.NCCL_FLOAT32,
                        "float64": nccl.NCCL_FLOAT64, "int32": nccl.NCCL_INT32,
                        "int64": nccl.NCCL_INT64}
        unique_id = comm.bcast(nccl.get_unique_id() if comm.rank == 0 else None, root=0)
        self._comm = nccl.NcclCommunicator(comm.size, unique_id, comm.rank)

    def all_reduce_sum(self, flat: "cupy.ndarray"):
        self._comm.allReduce(flat.data.ptr, flat.data.ptr, flat.size, self._dtype(flat),
                             self._nccl.NCCL_SUM, self._stream())
        return flat

    def broadcast(self, flat: "cupy.ndarray", root):
        self._comm.bcast(flat.data.ptr, flat.size, self._dtype(flat), root, self._stream())
        return flat

    def _dtype(self, flat: "cupy.ndarray"):
        dtype = self._dtypes.get(flat.dtype.name)
        if dtype is None:
            raise TypeError(f"NCCL cannot sum or broadcast {flat.dtype} arrays")
        return dtype

    def _stream(self):
        return self._cupy.cuda.get_current_stream().ptr


def check_nccl(nccl, cupy):
    """Raise DeviceUnavailableError if CuPy's NCCL module could not load the library. CuPy 14
    may say ``available`` and still lack the API, so the API itself is what is checked."""
    if not all(hasattr(nccl, name) for name in ("NcclCommunicator", "get_unique_id")):
        major = _cuda_major(cupy)
        raise DeviceUnavailableError(f"distributed training on 'cuda' needs NCCL, which "
                                     f"this CuPy cannot load: pip install "
                                     f"nvidia-nccl-cu{major} (from zen's checkout, the "
                                     f"cuda{major} extra brings it)")


def _cuda_major(cupy):
    """The major version of the CUDA that this CuPy was built for (known without a GPU)."""
    return cupy.cuda.runtime.runtimeGetVersion() // 1000


def _create(index):
    try:
        import cupy
    except ImportError as error:
        raise DeviceUnavailableError(f"device 'cuda' needs CuPy, which is not installed: for "
                                     f"the CUDA version that nvidia-smi shows, "
                                     f"{INSTALL_HINT}") from error
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except cupy.cuda.runtime.CUDARuntimeError as error:
        raise DeviceUnavailableError(f"device 'cuda': CuPy for CUDA {_cuda_major(cupy)}.x "
                                     f"found no usable GPU ({error}); check the GPU and its "
                                     f"driver with nvidia-smi, and for the CUDA version it "
                                     f"shows, {INSTALL_HINT}") from error
    number = int(index or 0)
    if not 0 <= number < count:
        raise DeviceUnavailableError(f"device 'cuda:{number}' is not available: this machine "
                                     f"has {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}")
    if number:
        # CuPy runs kernels and allocates on the *current* device; zen does not switch it.
        raise DeviceUnavailableError(f"device 'cuda:{number}': zen runs on the current CUDA "
                                     f"device, cuda:0; to use GPU {number}, start the program "
                                     f"with CUDA_VISIBLE_DEVICES={number} and ask for 'cuda'")
    check_toolkit(cupy)
    return CuPyBackend(cupy, number)


def check_toolkit(cupy):
    """Raise DeviceUnavailableError if CuPy cannot load the CUDA toolkit's libraries, which it
    loads on first use (a CuPy installed without them would fail inside the first op)."""
    try:
        cupy.cuda.nvrtc.getVersion()
    except (ImportError, RuntimeError) as error:    # pathfinder's DynamicLibNotFoundError
        major = _cuda_major(cupy)
        raise DeviceUnavailableError(f"device 'cuda': CuPy cannot load the CUDA toolkit's "
                                     f"libraries ({str(error).strip()}); install CuPy with "
                                     f"them: pip install \"cupy-cuda{major}x[ctk]>=14\" (from "
                                     f"zen's checkout: pip install \".[cuda{major}]\")") from error


def _recognise(array):
    if array_api_compat.is_cupy_array(array):
        return f"cuda:{array.device.id}"
    return None


register("cuda", _create, _recognise)
