"""Any array-API namespace on one of its devices.

Registered for ``array_api_strict``: its non-default device ``"array_api_strict:device1"``
refuses conversion to NumPy and any mix with another device, so running the engine on it
proves that the engine keeps every result on its inputs' device, as a GPU needs.
"""

import functools
import math

import array_api_compat
import numpy

from backends import special
from backends.base import Backend, DeviceUnavailableError, extend, owner_of_memory
from backends.registry import register


class ArrayAPIBackend(Backend):
    """A backend for a namespace the engine only knows through the array-API standard.

    Its extras are portable and slow: they exist to prove the engine right, not to be fast.
    """

    def __init__(self, name, namespace, native_device, host_device):
        self.name = name
        self.native_device = native_device
        self._host_device = host_device
        xp = array_api_compat.array_namespace(namespace.asarray(0, device=native_device))
        self.xp = extend(xp, scatter_add=self._scatter_add, index_add=self._index_add,
                         index_set=self._index_set,
                         sliding_window_view=self._sliding_window_view,
                         copy=lambda array: xp.asarray(array, copy=True),
                         erf=functools.partial(special.erf, xp),
                         erfc=functools.partial(special.erfc, xp))
        self._xp = xp
        super().__init__()

    def memory_root(self, array):
        # array_api_strict keeps a NumPy array inside; other namespaces cannot tell.
        inner = getattr(array, "_array", None)
        return None if inner is None else owner_of_memory(inner)

    def _index_add(self, target, axis, indices, values):
        """Repeated indices add up: a one-hot matrix sums their rows with one matmul."""
        xp = self._xp
        positions = xp.arange(target.shape[axis], device=self.native_device)
        one_hot = xp.astype(indices[:, None] == positions[None, :], values.dtype)
        added = xp.moveaxis(values, axis, -1) @ one_hot
        target += xp.moveaxis(added, -1, axis)

    def _scatter_add(self, target, key, values):
        """Any key the namespace can index with: index the flat positions, then add there."""
        xp = self._xp
        if not any(hasattr(part, "shape") for part in key):     # basic indexing: no repeats
            # The standard allows no None in an index to assign to: drop the new axes.
            key = tuple(part for part in key if part is not None)
            selected = target[key]
            target[key] = selected + xp.reshape(values, selected.shape)
            return
        size = 1
        for length in target.shape:
            size *= length
        flat_positions = xp.reshape(xp.arange(size, device=self.native_device), target.shape)
        selected = flat_positions[key]
        values = xp.broadcast_to(xp.asarray(values, dtype=target.dtype, device=self.native_device),
                                 selected.shape)
        added = xp.zeros(size, dtype=target.dtype, device=self.native_device)
        self._index_add(added, 0, xp.reshape(selected, (-1,)), xp.reshape(values, (-1,)))
        target += xp.reshape(added, target.shape)

    def _index_set(self, target, indices, values):
        """The standard has no scatter: each element of ``target`` finds, by a binary search
        in the sorted flat positions, the last value written to it, if any."""
        xp = self._xp
        positions, stride = 0, 1
        for index, length in zip(reversed(indices), reversed(target.shape), strict=False):
            positions = positions + index * stride
            stride *= length
        if not stride or not math.prod(values.shape):
            return
        positions = xp.asarray(positions, device=self.native_device)
        positions = xp.reshape(xp.broadcast_to(positions, values.shape), (-1,))
        order = xp.argsort(positions, stable=True)
        ordered = xp.take(positions, order)
        everywhere = xp.arange(stride, dtype=ordered.dtype, device=self.native_device)
        last = xp.clip(xp.searchsorted(ordered, everywhere, side="right") - 1, 0, None)
        written = xp.take(ordered, last) == everywhere
        chosen = xp.take(xp.reshape(values, (-1,)), xp.take(order, last))
        old = xp.reshape(target, (-1,))
        target[...] = xp.reshape(xp.where(written, chosen, old), target.shape)

    def _sliding_window_view(self, x, window_shape, axis):
        """Windows over each of ``axis`` (non-negative) as trailing axes, by stacking slices."""
        xp = self._xp
        for window, ax in zip(window_shape, axis, strict=True):
            count = x.shape[ax] - window + 1
            pieces = [x[(slice(None),) * ax + (slice(offset, offset + count), Ellipsis)]
                      for offset in range(window)]
            x = xp.stack(pieces, axis=-1)
        return x

    def asarray(self, obj, dtype=None, copy=None):
        return self.xp.asarray(obj, dtype=dtype, device=self.native_device, copy=copy)

    def to_host(self, array):
        return numpy.asarray(array.to_device(self._host_device))


def _create_strict(index):
    try:
        import array_api_strict
    except ImportError as error:
        raise DeviceUnavailableError("device 'array_api_strict' needs the array-api-strict "
                                     "package: pip install array-api-strict") from error
    device = index or "CPU_DEVICE"
    try:
        native = array_api_strict.Device(device)
    except ValueError as error:
        raise DeviceUnavailableError(f"array_api_strict has no device {device!r}") from error
    return ArrayAPIBackend(f"array_api_strict:{device}", array_api_strict, native,
                           array_api_strict.Device("CPU_DEVICE"))


def _recognise_strict(array):
    if type(array).__module__.startswith("array_api_strict."):
        return f"array_api_strict:{array.device._device}"  # Device has no public name
    return None


register("array_api_strict", _create_strict, _recognise_strict)
