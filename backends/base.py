"""The interface every backend implements."""


class UnknownDeviceError(ValueError):
    """A device string names no registered backend."""


class DeviceUnavailableError(RuntimeError):
    """A known device that this machine cannot provide (library missing, no GPU, bad index)."""


class Backend:
    """One array namespace on one device.

    Subclasses set ``name`` (the device string, e.g. ``"cpu"`` or ``"cuda:0"``), ``xp`` (the
    array-API namespace) and ``native_device`` (the namespace's own device object), and
    implement ``asarray`` and ``to_host``.
    """

    name: str
    xp: object
    native_device: object

    def asarray(self, obj, dtype=None):
        """``obj`` (a number, nested list or host array) as an array on this device."""
        raise NotImplementedError

    def to_host(self, array):
        """A NumPy copy (or view) of ``array``."""
        raise NotImplementedError

    def synchronize(self):
        """Wait until every queued operation on this device has finished."""

    def dtype(self, name):
        """The namespace's dtype called ``name`` (``"float32"``, ``"int64"``, ...)."""
        return getattr(self.xp, name)

    def is_floating(self, dtype):
        return self.xp.isdtype(dtype, "real floating")

    def __repr__(self):
        return f"<{type(self).__name__} {self.name}>"
