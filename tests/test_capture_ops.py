"""Every case of the op table, captured: a step that runs the op, back-propagates the sum of
its result's squares and returns it, replayed on new data, gives the eager step's result and its
inputs' gradients bit for bit, or runs eagerly and says why (a ``CaptureWarning``)."""

import warnings

import numpy
import pytest

import zen
from tests.op_cases import CASES


def _step(case):
    def step(*inputs):
        out = case(*inputs)
        zen.sum(out * out).backward()
        return out
    return step


def _draws(case, count):
    rng = numpy.random.default_rng(len(case.label))
    return [[rng.uniform(case.low, case.high, size=shape) for shape in case.shapes]
            for _ in range(count)]


def _run(step, arrays, device):
    inputs = [zen.Tensor(array, device=device) for array in arrays]
    out = step(*inputs)
    return [out.value, *(x.gradient for x in inputs)]


def _same(first, second):
    for a, b in zip(first, second, strict=True):
        if (a is None) != (b is None):
            return False
        if a is not None and not numpy.array_equal(zen.Tensor(a).numpy(), zen.Tensor(b).numpy(),
                                                   equal_nan=True):
            return False
    return True


@pytest.mark.parametrize("graphs", [False, True], ids=["plain", "graphs"])
@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_a_captured_op_replays_as_it_runs_eagerly(case, device, graphs):
    """Replayed as generated code, and as the program of fixed arrays that CUDA graphs
    need, run here call by call."""
    eager, captured = _step(case), zen.capture(_step(case), graphs=graphs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", zen.CaptureWarning)
        for arrays in _draws(case, 4):
            assert _same(_run(eager, arrays, device), _run(captured, arrays, device))
    assert captured.replays or any(issubclass(w.category, zen.CaptureWarning) for w in caught)
