"""Every case of the op table gives the same values and gradients on each device as on the
CPU: array_api_strict's device1 here, a CUDA GPU where there is one (the GPU check runs it)."""

import numpy
import pytest

import zen
from op_cases import CASES


def _values_and_gradients(case, device):
    inputs = case.inputs(device)
    output = case(*inputs)
    output.sum().backward()
    return output.numpy(), [zen.Tensor(x.gradient).numpy() for x in inputs]


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_device_matches_cpu(case, other_device):
    expected_value, expected_gradients = _values_and_gradients(case, "cpu")
    value, gradients = _values_and_gradients(case, other_device)
    numpy.testing.assert_allclose(value, expected_value, rtol=1e-9, atol=1e-12)
    for gradient, expected in zip(gradients, expected_gradients, strict=True):
        numpy.testing.assert_allclose(gradient, expected, rtol=1e-9, atol=1e-12)
