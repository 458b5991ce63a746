"""Device strings to backends, and arrays back to the device string they live on."""

from backends.base import Backend, UnknownDeviceError

_factories = {}     # kind ("cpu", "cuda", ...) -> factory(index or None) -> Backend
_recognisers = []   # functions array -> device string, or None if not theirs
_backends = {}      # device string -> Backend, one instance per device
_sole_kinds = {}    # array type -> the kind whose one device holds every array of that type


def register(kind, factory, recognise, sole_type=None):
    """Make ``kind`` and ``kind:INDEX`` device strings resolve through ``factory``.

    ``recognise(array)`` returns the device string of an array this backend owns, else None.
    ``sole_type``, if given, is an array type whose every instance (of exactly that type)
    this kind's one device holds: such arrays are told without asking the recognisers.
    """
    _factories[kind] = factory
    _recognisers.append(recognise)
    if sole_type is not None:
        _sole_kinds[sole_type] = kind


def get_backend(device):
    """The backend for a device string such as ``"cpu"``, ``"cuda"`` or ``"cuda:1"``."""
    if isinstance(device, Backend):
        return device
    backend = _backends.get(device)
    if backend is not None:
        return backend
    if not isinstance(device, str):
        raise UnknownDeviceError(f"device must be a string such as 'cpu' or 'cuda:0', "
                                 f"got {device!r} of type {type(device).__name__}")
    kind, _, index = device.partition(":")
    factory = _factories.get(kind)
    if factory is None:
        known = ", ".join(repr(k) for k in _factories)
        raise UnknownDeviceError(f"unknown device {device!r}; known device kinds: {known}")
    backend = factory(index or None)
    # "cuda" and "cuda:0" must give the very same backend: the engine compares by identity.
    backend = _backends.setdefault(backend.name, backend)
    _backends[device] = backend
    return backend


def sole_backend(array_type):
    """The backend holding every array of exactly ``array_type`` (NumPy's for
    ``numpy.ndarray``), or None where that takes a look at the array."""
    kind = _sole_kinds.get(array_type)
    return None if kind is None else _backends.get(kind) or get_backend(kind)


def backend_for_array(array):
    """The backend that owns ``array``, or None if no registered backend recognises it."""
    backend = sole_backend(type(array))
    if backend is not None:
        return backend
    for recognise in _recognisers:
        device = recognise(array)
        if device is not None:
            return get_backend(device)
    return None


_DLPACK_KINDS = {1: "cpu", 2: "cuda"}     # DLDeviceType: kDLCPU, kDLCUDA


def backend_for_dlpack_device(kind, index):
    """The backend for a ``__dlpack_device__()`` pair."""
    name = _DLPACK_KINDS.get(int(kind))
    if name is None:
        raise UnknownDeviceError(f"from_dlpack: DLPack device type {kind} has no zen backend; "
                                 f"known: {_DLPACK_KINDS}")
    return get_backend(name if name == "cpu" else f"{name}:{index}")
