"""The backend registry and the backends' own small interface."""

import sys

import numpy
import pytest

import backends


def test_device_strings_resolve_to_one_backend_each(device):
    backend = backends.get_backend(device)
    assert backends.get_backend(backend.name) is backend
    assert backends.get_backend(backend) is backend
    if device.startswith("cuda"):
        assert backends.get_backend("cuda") is backends.get_backend("cuda:0")


def test_arrays_are_traced_back_to_their_backend(device):
    backend = backends.get_backend(device)
    array = backend.asarray([1.0, 2.0])
    assert backends.backend_for_array(array) is backend
    assert backends.backend_for_array([1.0]) is None


def test_asarray_and_to_host_round_trip(device):
    backend = backends.get_backend(device)
    array = backend.asarray([[1, 2], [3, 4]], backend.dtype("float64"))
    host = backend.to_host(array)
    assert isinstance(host, numpy.ndarray) and host.dtype == numpy.float64
    numpy.testing.assert_array_equal(host, [[1, 2], [3, 4]])
    backend.synchronize()


def test_the_namespace_is_looked_up_once(device):
    backend = backends.get_backend(device)
    assert backend.xp is backends.get_backend(device).xp
    assert backend.is_floating(backend.dtype("float32"))
    assert not backend.is_floating(backend.dtype("int32"))


def test_real_or_bool_dtypes_are_told_from_the_rest_and_each_answer_is_kept(device):
    backend = backends.get_backend(device)
    kinds = {name: backend.is_real_or_bool(backend.dtype(name))
             for name in ("float32", "int64", "uint8", "bool", "complex64")}
    assert kinds == {"float32": True, "int64": True, "uint8": True, "bool": True,
                     "complex64": False}
    assert backend.is_real_or_bool(backend.dtype("complex64")) is False     # asked again


def test_the_real_or_bool_dtypes_are_the_named_dtypes_that_are_real_or_bool(device):
    """Tensor(array)'s quick path asks this set; every dtype in it must be one that
    is_real_or_bool accepts, and every named one that it accepts must be in it."""
    backend = backends.get_backend(device)
    named = [backend.dtype(name) for name in backends.DTYPE_NAMES if hasattr(backend.xp, name)]
    assert backend.real_or_bool_dtypes == {dtype for dtype in named
                                           if backend.is_real_or_bool(dtype)}


def test_a_dtype_the_array_api_does_not_know_is_neither_real_nor_bool():
    """NumPy's isdtype raises for its StringDType: the answer is no, not an error."""
    backend = backends.get_backend("cpu")
    assert backend.is_real_or_bool(numpy.dtypes.StringDType()) is False
    assert backend.is_real_or_bool(numpy.dtype(object)) is False


def test_the_cpu_backend_recognises_subclasses_and_scalars_of_numpy_arrays_too():
    """Not only the exact ndarray type, which it checks first."""
    cpu = backends.get_backend("cpu")
    assert backends.backend_for_array(numpy.ones(2).view(numpy.recarray)) is cpu
    assert backends.backend_for_array(numpy.float32(1.0)) is cpu


def test_an_exact_ndarray_is_told_by_its_type_and_nothing_else_is():
    cpu = backends.get_backend("cpu")
    assert backends.sole_backend(numpy.ndarray) is cpu
    assert backends.sole_backend(numpy.recarray) is None    # recognised by a look instead
    assert backends.sole_backend(list) is None


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int32", "uint32", "int64",
                                   "uint64"])
def test_all_in_range_agrees_with_a_plain_comparison(device, dtype):
    """Each backend's one-reduction check against [0, high), at the edges of the range and of
    the dtype, empty and not contiguous."""
    backend = backends.get_backend(device)
    info = numpy.iinfo(dtype)
    edges = [edge for edge in (info.min, -1, 0, 1, 9, 10, 11, 127, 128, 199, 200, info.max)
             if info.min <= edge <= info.max]
    cases = [[], [0], [9], *([edge] for edge in edges), [0, 5, 9, 3], edges,
             [0, 5, 9, 3] * 2]
    for values in cases:
        host = numpy.asarray(values, dtype=dtype)
        for array in (host, host[::2]):
            for high in (1, 10, 128, 129, 200, 2 ** 40):
                expected = bool(numpy.all((array.astype(object) >= 0) &
                                          (array.astype(object) < high)))
                got = backend.xp.all_in_range(backend.asarray(array, copy=True), high)
                assert got is expected, (values, high)


@pytest.mark.subprocess
def test_importing_zen_does_not_import_cupy():
    import subprocess

    code = "import sys, zen; zen.Tensor(1.0) * 2; print('cupy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_cpu_has_one_device():
    with pytest.raises(ValueError, match="one device, 'cpu'"):
        backends.get_backend("cpu:1")


def test_strict_device_refuses_numpy_conversion():
    """The stand-in for a GPU really does refuse what a CUDA array would refuse."""
    backend = backends.get_backend("array_api_strict:device1")
    array = backend.asarray([1.0])
    with pytest.raises(RuntimeError):
        numpy.asarray(array)
    other = backends.get_backend("array_api_strict").asarray([1.0])
    with pytest.raises(ValueError, match="different devices"):
        array + other


@pytest.mark.parametrize("name", ["sum", "max", "min"])
def test_numpy_reductions_match_numpys_own(name):
    """The NumPy backend's sum, max and min skip NumPy's Python wrapper: every dtype, axis
    and keepdims gives what numpy's own function gives, in value, dtype and type, and the
    same error for an empty reduction without identity."""
    xp = backends.get_backend("cpu").xp
    reference = getattr(numpy, name)
    rng = numpy.random.default_rng(0)
    for dtype in ("bool", "int8", "uint8", "int32", "int64", "float16", "float32", "float64"):
        for shape in [(), (3,), (2, 3), (2, 0, 3)]:
            array = numpy.asarray(rng.normal(size=shape) * 10).astype(dtype)
            for axis in [None, ()] + ([0, -1, (0,)] if shape else []):
                for keepdims in (False, True):
                    _assert_same_reduction(getattr(xp, name), reference, array,
                                           axis=axis, keepdims=keepdims)


def test_numpy_take_matches_numpys_own():
    """The NumPy backend's take calls the array's method, without numpy.take's wrapper: the
    same values, dtype and errors, for any axis, negative and repeated indices, and a 0-d or
    transposed array."""
    xp = backends.get_backend("cpu").xp
    array = numpy.arange(24, dtype="float32").reshape(2, 3, 4)
    for source in (array, array.transpose(2, 0, 1), numpy.asarray(5.0)):
        for indices in (numpy.array([0, -1, 0]), numpy.array([[1], [0]]), numpy.array(0)):
            for axis in [None, *range(source.ndim)]:
                try:
                    expected = numpy.take(source, indices, axis=axis)
                except (IndexError, ValueError) as error:
                    with pytest.raises(type(error)):
                        xp.take(source, indices, axis=axis)
                    continue
                got = xp.take(source, indices, axis=axis)
                assert got.dtype == expected.dtype and type(got) is type(expected)
                numpy.testing.assert_array_equal(got, expected)
    with pytest.raises(IndexError):
        xp.take(array, numpy.array([5]), axis=1)


def _assert_same_reduction(function, reference, array, **settings):
    try:
        expected = reference(array, **settings)
    except ValueError as error:
        with pytest.raises(ValueError, match="zero-size array"):
            function(array, **settings)
        assert "zero-size array" in str(error)
        return
    got = function(array, **settings)
    assert type(got) is type(expected), (array.dtype, settings)
    assert got.dtype == expected.dtype and got.shape == expected.shape, (array.dtype, settings)
    numpy.testing.assert_array_equal(got, expected)
