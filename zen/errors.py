"""The exceptions zen raises for bad input; each message names the op and what was wrong."""

import backends


class ZenError(Exception):
    """Base class of zen's own exceptions."""


class ShapeMismatchError(ZenError, ValueError):
    """An op got inputs whose shapes it cannot combine."""


class ArgumentError(ZenError, ValueError):
    """A setting with a value that cannot work: a dropout rate of 1.5, a negative lr."""


class AxisError(ZenError, ValueError, IndexError):
    """An axis argument out of range or repeated."""


class IndexOutOfRangeError(ZenError, IndexError):
    """An index past the end of its axis (CuPy would wrap it around without a word)."""


class CheckpointError(ZenError, ValueError):
    """A checkpoint file that is damaged, belongs to another model, or cannot be written."""


class DataError(ZenError, ValueError):
    """Training or loss data that cannot be used: empty, NaN or Inf, labels out of range."""


class NotBuiltError(ZenError, RuntimeError):
    """A model asked for its parameters before its layers know their input size."""


class DeviceMismatchError(ZenError, ValueError):
    """An op got inputs on different devices."""


class UnknownDeviceError(ZenError, backends.UnknownDeviceError):
    """A device string that names no backend: "tpu", "cpu:1". Also a backends error, so that
    ``except backends.UnknownDeviceError`` catches it too."""


class DeviceUnavailableError(ZenError, backends.DeviceUnavailableError):
    """A known device that this machine cannot provide: CuPy, a GPU, the CUDA toolkit's
    libraries or NCCL missing, or a GPU index past the last. Also a backends error, so that
    ``except backends.DeviceUnavailableError`` catches it too."""


class DistributedError(ZenError, RuntimeError):
    """Distributed training used wrongly: no MPI launcher, or processes that disagree (model
    shapes, optimiser settings, data, devices), raised on every process of the job alike; or
    a collective that waited past its timeout for processes that never came."""


class CallError(ZenError, TypeError):
    """A function called with an argument it does not take, or without one it needs."""


class DtypeError(ZenError, TypeError):
    """A dtype that the operation cannot accept, such as a trainable integer tensor."""


class GradientError(ZenError, RuntimeError):
    """A backward pass that cannot run as asked (non-scalar output, nothing to differentiate)."""


class GraphFreedError(GradientError):
    """A backward pass through a graph whose saved values an earlier backward freed."""


class InPlaceError(GradientError):
    """A value that a recorded op saved for backward was changed in place afterwards."""


class AnomalyError(ZenError, FloatingPointError):
    """Under ``detect_anomaly``, an op produced NaN or Inf."""


class GradcheckError(ZenError, AssertionError):
    """An analytic gradient disagrees with finite differences."""


__all__ = [
    "AnomalyError",
    "ArgumentError",
    "AxisError",
    "CheckpointError",
    "DataError",
    "DeviceMismatchError",
    "DeviceUnavailableError",
    "DistributedError",
    "DtypeError",
    "GradcheckError",
    "GradientError",
    "GraphFreedError",
    "InPlaceError",
    "IndexOutOfRangeError",
    "NotBuiltError",
    "ShapeMismatchError",
    "UnknownDeviceError",
    "ZenError",
]
