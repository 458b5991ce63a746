"""Anomaly mode, thread-local grad modes, and a fuzz test of random expression graphs."""

import threading

import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import zen
from test_properties import BINARY  # the same binary ops as the broadcasting properties
from zen import Tensor
from zen.errors import AnomalyError


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_anomaly_mode_names_the_op_whose_backward_breaks(device):
    x = Tensor([0.0, 4.0], device=device)
    with zen.detect_anomaly():
        y = x.sqrt().sum()                  # finite forward; the slope at 0 is infinite
        with pytest.raises(AnomalyError, match=r"sqrt: its backward produced NaN or Inf; "
                                               r"recorded at .*test_reliability.py.*x.sqrt"):
            y.backward()


def test_anomaly_mode_is_off_by_default_and_passes_nan_through(device):
    with pytest.warns(RuntimeWarning):
        y = zen.log(Tensor([-1.0], device=device))
    assert numpy.isnan(y.numpy()).all()
    assert not zen.recorder.is_anomaly_enabled()


def test_grad_and_anomaly_modes_are_per_thread(device):
    entered, checked = threading.Barrier(2), threading.Barrier(2)
    seen = {}

    def without_gradients():
        with zen.no_grad(), zen.detect_anomaly():
            entered.wait()
            checked.wait()
            seen["quiet"] = (zen.is_grad_enabled(), zen.recorder.is_anomaly_enabled(),
                             (Tensor([1.0], device=device) * 2.0).trainable)

    def with_gradients():
        entered.wait()
        seen["busy"] = (zen.is_grad_enabled(), zen.recorder.is_anomaly_enabled(),
                        (Tensor([1.0], device=device) * 2.0).trainable)
        checked.wait()

    threads = [threading.Thread(target=without_gradients), threading.Thread(target=with_gradients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert seen == {"quiet": (False, True, False), "busy": (True, False, True)}


def test_mode_blocks_restore_their_own_mode_when_closed_out_of_order_or_by_an_error(device):
    """Ops read the modes from a global while no block is open anywhere: each way of leaving
    a block must leave recording and anomaly checks as they were."""
    x = Tensor([1.0], device=device)
    without_gradients, checking = zen.no_grad(), zen.detect_anomaly()
    without_gradients.__enter__()
    checking.__enter__()
    without_gradients.__exit__(None, None, None)      # opened first, closed first
    assert (x * 2.0).trainable and zen.recorder.is_anomaly_enabled()
    checking.__exit__(None, None, None)
    with pytest.raises(KeyError), zen.no_grad(), zen.detect_anomaly():
        raise KeyError("inside both blocks")
    assert (x * 2.0).trainable and not zen.recorder.is_anomaly_enabled()
    with pytest.warns(RuntimeWarning):
        assert numpy.isnan(zen.log(-x).numpy()).all()     # no anomaly check is left on


def test_a_mode_block_decorates_a_function_each_call_in_its_own_block(device):
    @zen.no_grad()
    def doubled(x):
        return x * 2.0

    x = Tensor([1.0], device=device)
    assert not doubled(x).trainable and not doubled(x).trainable
    assert (x * 2.0).trainable


UNARY = {
    "tanh": zen.tanh,
    "sin": zen.sin,
    "sigmoid": zen.sigmoid,
    "square": lambda x: x * x,
    "exp": lambda x: zen.exp(zen.clip(x, -3.0, 3.0)),
    "sum": lambda x: x.sum(axis=-1, keepdims=True) if x.ndim else x,
    "mean": lambda x: x.mean(),
    "softmax": lambda x: zen.softmax(x, axis=-1) if x.ndim else x,
}
STEP = st.tuples(st.sampled_from(sorted(UNARY) + sorted(BINARY)), st.integers(0, 63),
                 st.integers(0, 63))


def _program(steps):
    """A function of three tensors that applies ``steps``, each to earlier results (so
    subexpressions are reused), and adds up everything it made."""
    def evaluate(*inputs):
        values = list(inputs)
        for name, first, second in steps:
            a, b = values[first % len(values)], values[second % len(values)]
            values.append(UNARY[name](a) if name in UNARY else BINARY[name](a, b))
        total = values[-1].sum()
        for value in values[len(inputs):-1]:
            total = total + value.sum() * 0.5
        return total
    return evaluate


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shapes=mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3),
       steps=st.lists(STEP, min_size=1, max_size=8), seed=st.integers(0, 2**16))
def test_random_expression_graphs_have_exact_gradients(device, shapes, steps, seed):
    rng = numpy.random.default_rng(seed)
    inputs = [Tensor(rng.uniform(-1.5, 1.5, size=shape), device=device)
              for shape in shapes.input_shapes]
    assert zen.gradcheck(_program(steps), *inputs, atol=1e-5, rtol=1e-4)
