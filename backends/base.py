"""The interface every backend implements."""

import functools
import types

# The array-API names of dtypes, as zen's dtype= arguments take them.
DTYPE_NAMES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
               "uint64", "float16", "float32", "float64", "complex64", "complex128")


class UnknownDeviceError(ValueError):
    """A device string names no registered backend."""


class DeviceUnavailableError(RuntimeError):
    """A known device that this machine cannot provide (library missing, no GPU, bad index)."""


def extend(namespace, **extras):
    """``namespace``'s public functions plus ``extras``, as one flat namespace.

    The extras are what the array-API standard lacks and the engine needs, each with the
    library's native fast path:

    - ``scatter_add(target, key, values)``: ``target[key] += values`` in place, where a
      repeated index adds every time (``numpy.add.at``);
    - ``index_add(target, axis, indices, values)``: the same along one axis for 1-D integer
      ``indices`` (the adjoint of ``take``);
    - ``index_set(target, indices, values)``: ``target[indices] = values`` in place, where
      ``indices`` holds one in-range, non-negative int or integer array per axis of
      ``target``, broadcasting to ``values``' shape (a repeated position gets one of its
      values);
    - ``sliding_window_view(x, window_shape, axis)``: read-only windows as trailing axes;
    - ``copy(x)``: a new writable, C-contiguous array with ``x``'s values;
    - ``erf(x)``: the error function of a real floating array, to its dtype's round-off
      (``backends.special.erf`` where the library has none);
    - ``erfc(x)``: 1 - erf(x), to round-off even where that rounds to 0
      (``backends.special.erfc`` where the library has none);
    - ``all_in_range(x, high)``: whether every element of the integer array ``x`` is in
      [0, high), as a Python bool (two reductions unless the backend gives one that takes
      one: ``in_range_unsigned``).
    """
    functions = {name: getattr(namespace, name) for name in dir(namespace)
                 if not name.startswith("_")}
    functions["all_in_range"] = functools.partial(_in_range, namespace)
    functions.update(extras)
    return types.SimpleNamespace(**functions)


def _in_range(xp, x, high):
    return x.size == 0 or (int(xp.min(x)) >= 0 and int(xp.max(x)) < high)


def in_range_unsigned(x, high):
    """``all_in_range`` of a NumPy or CuPy array in one reduction: read as unsigned, a
    negative integer is at least 2**(bits - 1), so at least ``high`` up to there."""
    if x.size == 0:
        return True
    if x.dtype.kind == "i":
        if high > 2 ** (8 * x.itemsize - 1):    # every non-negative one is below high
            return int(x.min()) >= 0
        x = x.view(f"u{x.itemsize}")
    return int(x.max()) < high


def owner_of_memory(array):
    """The array that owns ``array``'s memory, through its chain of ``base`` (NumPy's and
    CuPy's arrays alike)."""
    base = getattr(array, "base", None)
    while base is not None and base is not array:     # (a dtype's base is itself)
        array, base = base, getattr(base, "base", None)
    return array


class Backend:
    """One array namespace on one device.

    Subclasses set ``name`` (the device string, e.g. ``"cpu"`` or ``"cuda:0"``), ``xp`` (the
    array-API namespace, ``extend``-ed with the extras the standard lacks), ``native_device``
    (the namespace's own device object), and implement ``asarray`` and ``to_host``; then
    they call ``Backend.__init__``.
    """

    name: str
    xp: types.SimpleNamespace
    native_device: object
    on_host = False     # True when arrays are NumPy arrays in this process's memory
    # True when add, subtract and multiply of a bool array and a floating one read the bools
    # as 0 and 1 in the floating dtype, as a cast would (the array API leaves it undefined).
    bool_arithmetic = False

    def __init__(self):
        """Called last by a subclass's ``__init__``, once ``xp`` and ``dtype`` work."""
        self._floating = {}     # dtype -> whether it is a real floating dtype
        self._kinds = {}        # (dtype, kind or kinds) -> whether the dtype is of that kind
        self._names = {}        # dtype -> its array-API name
        # The real floating dtypes, for a quick ``dtype in backend.floating_dtypes`` in every
        # op: a plain attribute, read in ~11 ns where a cached property took ~25.
        self.floating_dtypes = frozenset(self.dtype(name) for name in
                                         ("float16", "float32", "float64")
                                         if hasattr(self.xp, name))
        # The dtypes a tensor may hold (DTYPE_NAMES' real ones and bool), for Tensor(array)'s
        # quick path; others (a big-endian float, say) ask is_real_or_bool.
        self.real_or_bool_dtypes = frozenset(self.dtype(name) for name in DTYPE_NAMES
                                             if hasattr(self.xp, name)
                                             and not name.startswith("complex"))

    def asarray(self, obj, dtype=None, copy=None):
        """``obj`` (a number, nested list or host array) as an array on this device; a new
        copy if ``copy``, a view where possible if not."""
        raise NotImplementedError

    def to_host(self, array):
        """A NumPy copy (or view) of ``array``."""
        raise NotImplementedError

    def from_dlpack(self, array):
        """A zero-copy view of a DLPack-capable ``array`` that lives on this device."""
        return self.xp.from_dlpack(array)

    def synchronize(self):
        """Wait until every queued operation on this device has finished."""

    def dtype(self, name):
        """The dtype called ``name`` (``"float32"``, ``"int64"``, ...), as arrays' ``.dtype``
        gives it."""
        return getattr(self.xp, name)

    def dtype_name(self, dtype):
        """The array-API name of ``dtype`` (``"float32"``, ``"int64"``, ...), the same on
        every backend."""
        name = self._names.get(dtype)
        if name is None:
            name = self._names[dtype] = next(
                (name for name in DTYPE_NAMES if hasattr(self.xp, name) and
                 self.dtype(name) == dtype), str(dtype))
        return name

    def is_floating(self, dtype):
        floating = self._floating.get(dtype)
        if floating is None:    # isdtype costs microseconds; a backend sees few dtypes
            floating = self._floating[dtype] = self.xp.isdtype(dtype, "real floating")
        return floating

    def writer(self, name):
        """The namespace's function ``name`` if it also writes its result into a given array,
        ``out=``, as NumPy's and CuPy's ufuncs do; None if not (zen.capture then calls it
        plainly). Must compute exactly what the plain call does."""
        return None

    has_graphs = False  # whether ``graph`` launches its calls as one device graph

    def graph(self, calls):
        """One function that runs ``calls`` (functions of no arguments, each on arrays made
        once) in order: captured once as one device graph and launched as that graph, where
        the device has them (CUDA); here, the calls one by one, exactly as a graph would
        replay them. Raises if the calls cannot be captured."""
        def run():
            for call in calls:
                call()
        return run

    def graphable(self, name):
        """Whether the namespace's function ``name`` may run inside a device graph (CuPy's
        cuBLAS calls may not)."""
        return True

    def memory_root(self, array):
        """The array whose memory ``array`` views (``array`` itself if it views none), so
        that a result that views its argument can be told from a new one; None where the
        backend cannot tell."""
        return None

    def is_private(self, array):
        """Whether ``array`` is writable, C-contiguous and views no other array, so that it
        can become a leaf's gradient without a copy. False where the backend cannot tell."""
        return False

    def is_bool(self, dtype):
        return self._is_kind(dtype, "bool")

    def is_integral(self, dtype):
        return self._is_kind(dtype, "integral")

    def is_real_or_bool(self, dtype):
        """Whether ``dtype`` holds real numbers or bools: not complex, strings or objects."""
        return self._is_kind(dtype, ("real floating", "integral", "bool"))

    def _is_kind(self, dtype, kind):
        answer = self._kinds.get((dtype, kind))
        if answer is None:     # isdtype costs ~1 µs
            try:
                answer = self.xp.isdtype(dtype, kind)
            except (TypeError, ValueError):     # a dtype the array API does not know
                answer = False
            self._kinds[dtype, kind] = answer
        return answer

    def collectives(self, comm):
        """The engine that sums and broadcasts this device's arrays across the processes of
        the MPI job ``comm`` (a ``collectives.TimedMPI``): MPI through host memory here."""
        from backends.collectives import HostMPI

        return HostMPI(comm, self)

    def repeats_possible(self, key):
        """Whether ``key`` may name one element twice (it holds an integer array), so that
        adding at it needs a scatter-add rather than ``target[key] += values``."""
        parts = key if isinstance(key, tuple) else (key,)
        return any(hasattr(part, "dtype") and self.xp.isdtype(part.dtype, "integral")
                   for part in parts)

    def __repr__(self):
        return f"<{type(self).__name__} {self.name}>"
