"""Captured steps replayed as a program of fixed arrays launched as device graphs
(``zen.graphs``): how the program is cut into graphs, and what happens where a graph cannot
be captured. That every layer, optimiser, loss and op replays bit for bit as such a program
is checked in test_capture.py and test_capture_ops.py (their ``graphs`` cases)."""

import numpy
import pytest

import zen
from tests.test_capture import BATCH, OPTIMIZERS, Run, _classes, _mlp


def _trained(device, graphs=True, steps=5):
    """A captured MLP step run ``steps`` times on one batch: (its Run, its plan)."""
    x, labels = _classes()
    run = Run(_mlp, x, labels, zen.cross_entropy, OPTIMIZERS["Adam"], device, captured=True,
              graphs=graphs)
    for _ in range(steps):
        run.step(*run.batch(0, BATCH))
    [[plan]] = run.step.plans.values()
    return run, plan


def _eager_state(device, steps=5):
    x, labels = _classes()
    run = Run(_mlp, x, labels, zen.cross_entropy, OPTIMIZERS["Adam"], device, captured=False)
    for _ in range(steps):
        run.step(*run.batch(0, BATCH))
    return run.state()


def _assert_state(run, device):
    for a, b in zip(run.state(), _eager_state(device), strict=True):
        numpy.testing.assert_array_equal(a, b)


@pytest.fixture
def graph_device(monkeypatch, device):
    """The test's device, its backend made to say it has graphs that cannot hold a matmul
    (as CuPy's cuBLAS calls cannot be captured); its ``graph`` still runs the calls one by
    one, and counts how many calls each graph was given."""
    backend = type(zen.Tensor(0.0, device=device).backend)
    sizes = []
    original = backend.graph

    def graph(self, calls):
        sizes.append(len(calls))
        return original(self, calls)
    monkeypatch.setattr(backend, "has_graphs", True)
    monkeypatch.setattr(backend, "graph", graph)
    monkeypatch.setattr(backend, "graphable", lambda self, name: name != "matmul")
    return device, sizes


def test_a_program_is_cut_into_graphs_at_the_calls_a_graph_cannot_hold(graph_device):
    device, sizes = graph_device
    run, plan = _trained(device, graphs=None)       # the default, where a backend has graphs
    program = plan.replay
    # Two layers: a matmul forward and two backward each (the first layer's input needs no
    # gradient: five), and a graph before, between and after them.
    matmuls = [name for name in program.outside if name == "matmul"]
    assert len(matmuls) == 5 and set(program.outside) <= {"matmul", "check", "scalars"}
    assert program.graphs == len(sizes) == len(program.launches) - len(program.outside)
    assert all(sizes)
    assert program.fallbacks == []
    _assert_state(run, device)


def test_a_graph_that_cannot_be_captured_runs_its_calls_one_by_one(graph_device, monkeypatch):
    device, _ = graph_device
    backend = type(zen.Tensor(0.0, device=device).backend)

    def refused(self, calls):
        raise RuntimeError("operation not permitted when stream is capturing")
    monkeypatch.setattr(backend, "graph", refused)
    run, plan = _trained(device)
    assert plan.replay.graphs == 0 and plan.replay.fallbacks
    assert "not permitted" in plan.replay.fallbacks[0]
    _assert_state(run, device)


def test_a_backend_that_cannot_tell_views_replays_without_fixed_arrays(device, monkeypatch):
    backend = type(zen.Tensor(0.0, device=device).backend)
    monkeypatch.setattr(backend, "memory_root", lambda self, array: None)
    run, plan = _trained(device)
    assert "cannot tell" in plan.graph_reason
    assert callable(plan.replay) and not hasattr(plan.replay, "launches")
    _assert_state(run, device)


def test_without_graphs_a_device_replays_generated_code_by_default(device):
    _, plan = _trained(device, graphs=None)
    assert hasattr(plan.replay, "source") and plan.graph_reason is None


def test_per_step_numbers_are_arrays_of_the_program_set_at_every_call(device):
    """Adam's bias corrections change at every step: a graph would bake a Python number
    in, so the program reads each through a 0-d array it sets before the launches."""
    run, plan = _trained(device)
    assert plan.replay.scalars
    assert all(array.shape == () for array in plan.replay.scalars.values())
    _assert_state(run, device)
