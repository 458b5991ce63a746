"""NumPy on the CPU."""

import functools
import math

import array_api_compat
import array_api_compat.numpy
import numpy
from numpy.lib.stride_tricks import sliding_window_view

from backends.base import Backend, UnknownDeviceError, extend, in_range_unsigned, owner_of_memory
from backends.registry import register


class NumPyBackend(Backend):
    name = "cpu"
    native_device = "cpu"
    on_host = True
    bool_arithmetic = True

    def __init__(self):
        # NumPy 2's own array-API functions where array-api-compat only wraps them: the
        # wrapper costs about a microsecond a call, more than a small op itself.
        native = {name: getattr(numpy, name) for name in (
            "matmul", "matrix_transpose", "permute_dims", "zeros_like", "ones_like")}
        self.xp = extend(array_api_compat.numpy, scatter_add=self._scatter_add,
                         index_add=self._index_add, index_set=_index_set,
                         sliding_window_view=sliding_window_view, copy=_copy,
                         erf=_elementwise(math.erf), erfc=_elementwise(math.erfc),
                         all_in_range=in_range_unsigned, take=_take,
                         **native, **_REDUCTIONS)
        super().__init__()

    def asarray(self, obj, dtype=None, copy=None):
        return numpy.asarray(obj, dtype=dtype, copy=copy)

    def to_host(self, array):
        return numpy.asarray(array)

    def dtype(self, name):
        return numpy.dtype(name)

    def writer(self, name):
        if name in _REDUCTIONS:
            return _REDUCTIONS[name]
        function = getattr(self.xp, name, None)
        return function if isinstance(function, numpy.ufunc) else None

    def memory_root(self, array):
        return owner_of_memory(array)

    def is_private(self, array):
        if type(array) is not numpy.ndarray or array.base is not None:
            return False
        flags = array.flags
        return flags.c_contiguous and flags.writeable

    def _scatter_add(self, target, key, values):
        if self.repeats_possible(key):
            numpy.add.at(target, key, values)
        else:
            target[key] += values

    @staticmethod
    def _index_add(target, axis, indices, values):
        numpy.add.at(target, (slice(None),) * axis + (indices,), values)


def _reducing_into(ufunc):
    """numpy.sum, max or min without its Python wrapper (about a microsecond a call, as much
    as a small reduction), which calls the same reduction: results alike in value, dtype and
    type for every dtype, axis and keepdims (tests/test_backends.py). A partial, not a
    function: its call costs less."""
    return functools.partial(ufunc.reduce, axis=None)


_REDUCTIONS = {"sum": _reducing_into(numpy.add), "max": _reducing_into(numpy.maximum),
               "min": _reducing_into(numpy.minimum)}


def _take(x, indices, /, *, axis=None):
    # numpy.take's Python wrapper costs ~0.85 µs of its ~1.45: a batch's rows are two a step
    return x.take(indices, axis=axis)


def _copy(array):
    return numpy.array(array, order="C")


def _elementwise(function):
    """``function`` of a Python float (math.erf, math.erfc) on each element of an array, in
    its dtype: correctly rounded, where NumPy has no such function of its own."""
    each = numpy.frompyfunc(function, 1, 1)

    def apply(array):
        return numpy.asarray(each(array), dtype=array.dtype)
    return apply


def _index_set(target, indices, values):
    target[indices] = values


def _create(index):
    if index is not None and index != "0":
        raise UnknownDeviceError(f"device 'cpu:{index}': the NumPy backend has one device, "
                                 f"'cpu'")
    return NumPyBackend()


def _recognise(array):
    return "cpu" if array_api_compat.is_numpy_array(array) else None


register("cpu", _create, _recognise, sole_type=numpy.ndarray)
