"""Bad input raises a specific exception whose message names the op and what was wrong."""

import numpy
import pytest

import zen
from zen import Tensor
from zen.errors import (AxisError, DeviceMismatchError, DtypeError, GradientError,
                        GraphFreedError, ShapeMismatchError)


def test_shape_mismatch_names_the_op_and_both_shapes(device):
    x, y = Tensor(numpy.ones((2, 3)), device=device), Tensor(numpy.ones((4,)), device=device)
    with pytest.raises(ShapeMismatchError, match=r"multiply: .*\(2, 3\), \(4,\)"):
        x * y
    with pytest.raises(ShapeMismatchError, match=r"matmul: .*\(2, 3\), \(4,\)"):
        x @ y
    with pytest.raises(ShapeMismatchError, match=r"reshape: .*\(2, 3\).*shape=\(4, 2\)"):
        x.reshape(4, 2)


def test_device_mix_names_the_op_and_both_devices(device):
    other = "array_api_strict:device1" if device == "cpu" else "cpu"
    x, y = Tensor([1.0], device=device), Tensor([1.0], device=other)
    with pytest.raises(DeviceMismatchError, match=f"add: .*{device} and {other}.*to\\(device\\)"):
        x + y
    with pytest.raises(DeviceMismatchError, match=f"subtract: .*{other}"):
        y - x.value


def test_trainable_integer_tensor_is_refused(device):
    with pytest.raises(DtypeError, match="Tensor: trainable=True"):
        Tensor(numpy.arange(4, dtype=numpy.int32), trainable=True, device=device)


def test_backward_of_a_non_scalar_asks_for_grad(device):
    y = Tensor([1.0, 2.0], device=device) * 2.0
    with pytest.raises(GradientError, match=r"shape \(2,\).*pass grad="):
        y.backward()
    y.backward(grad=numpy.array([1.0, 1.0]))
    with pytest.raises(ShapeMismatchError, match=r"grad has shape \(3,\).*\(2,\)"):
        (Tensor([1.0, 2.0], device=device) * 2.0).backward(grad=numpy.ones(3))


def test_backward_without_anything_trainable_says_so(device):
    with pytest.raises(GradientError, match="does not depend on any trainable tensor"):
        (Tensor([1.0], trainable=False, device=device) * 2.0).sum().backward()


def test_backward_through_a_freed_graph(device):
    x = Tensor([1.0], device=device)
    hidden = x.tanh()
    hidden.sum().backward()
    with pytest.raises(GraphFreedError, match="tanh result was freed"):
        (hidden * 2.0).sum().backward()


def test_axis_out_of_range_or_repeated(device):
    x = Tensor(numpy.ones((2, 3)), device=device)
    with pytest.raises(AxisError, match="sum: axis 2 is out of range .* 2 dimension"):
        x.sum(axis=2)
    with pytest.raises(AxisError, match="mean: .*repeats"):
        x.mean(axis=(1, -1))
    with pytest.raises(AxisError, match=r"transpose: axis \(0, 0\) repeats"):
        x.transpose(0, 0)


def test_set_default_dtype_refuses_integers():
    with pytest.raises(DtypeError, match="set_default_dtype: .*'int32'"):
        zen.set_default_dtype("int32")
