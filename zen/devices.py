"""zen's one way to the backend registry: device strings, arrays and DLPack devices become
backends here, and so do a backend's collectives, so that the backends' device errors reach
the user as zen's own (``except zen.errors.ZenError`` catches them), with their cause kept and
a pointer to the CPU."""

import functools

import backends
from zen.errors import DeviceUnavailableError, UnknownDeviceError

TRY_THE_CPU = ('; to run on the CPU instead, pass device="cpu" (--device cpu to the examples '
               'and benchmarks)')


def _raising_zens_errors(function):
    """``function``, raising zen's device errors where the backends raise theirs."""
    @functools.wraps(function)
    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except backends.UnknownDeviceError as error:
            raise UnknownDeviceError(f"{error}{TRY_THE_CPU}") from error
        except backends.DeviceUnavailableError as error:
            raise DeviceUnavailableError(f"{error}{TRY_THE_CPU}") from error
    return call


get_backend = _raising_zens_errors(backends.get_backend)
backend_for_array = _raising_zens_errors(backends.backend_for_array)
backend_for_dlpack_device = _raising_zens_errors(backends.backend_for_dlpack_device)


@_raising_zens_errors
def collectives(backend, comm):
    """``backend``'s engine for sums and broadcasts across ``comm``'s processes."""
    return backend.collectives(comm)
