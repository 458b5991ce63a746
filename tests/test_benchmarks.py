"""The benchmark runner never rots: it runs every workload at tiny sizes, and each workload's
hand-written floor computes what zen computes. No timing is asserted."""

import json
import subprocess
import sys
import textwrap

import numpy
import pytest

from benchmarks.workloads import WORKLOADS, AdamStep, Chain, CNNStep, DeepChain, RNNStep, WideStep


@pytest.mark.subprocess
def test_runner_runs_every_workload_and_writes_json(tmp_path):
    path = tmp_path / "results.json"
    result = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--json", str(path)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    names = [row["workload"] for row in json.loads(path.read_text())["results"]]
    assert names == [workload.name for workload in WORKLOADS]
    assert all(name in result.stdout for name in names)


@pytest.mark.subprocess
def test_unknown_workload_is_named_in_the_error():
    result = subprocess.run([sys.executable, "-m", "benchmarks", "--only", "nope"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "'chain'" in result.stderr


def test_chain_floors_compute_zens_gradients():
    for workload_class in (Chain, DeepChain):
        workload = workload_class("cpu", quick=True)
        grad_a, grad_b = workload.floor()
        y = workload.zx
        for _ in range(workload.steps):
            y = y * workload.za + workload.zb
            y = y.tanh() if workload.squashed else y
        y.sum().backward()
        numpy.testing.assert_allclose(workload.za.gradient, grad_a, rtol=1e-5)
        numpy.testing.assert_allclose(workload.zb.gradient, grad_b, rtol=1e-5)


def _floor_weights(workload):
    weights = {WideStep: lambda w: w.weights, RNNStep: lambda w: list(w.weights.values()),
               CNNStep: lambda w: w.weights, AdamStep: lambda w: w.values}
    return weights[type(workload)](workload)


def _zen_parameters(workload):
    return workload.net.parameters() if hasattr(workload, "net") else workload.parameters


@pytest.mark.parametrize("workload_class", [WideStep, RNNStep, CNNStep, AdamStep])
def test_step_floors_make_zens_update(workload_class):
    """Each floor that updates weights by hand ends where zen's step does, so that the
    benchmark compares zen with the same work done without it."""
    workload = workload_class("cpu", quick=True)
    before = [numpy.array(weight) for weight in _floor_weights(workload)]
    workload.zen()
    workload.floor()
    parameters, weights = _zen_parameters(workload), _floor_weights(workload)
    assert len(parameters) == len(weights)
    for parameter, floor_weight, initial in zip(parameters, weights, before, strict=True):
        assert not numpy.array_equal(floor_weight, initial), "the floor took no step"
        numpy.testing.assert_allclose(parameter.numpy(), floor_weight, rtol=1e-5, atol=1e-6)


def _column_bars(line):
    return [position for position, character in enumerate(line) if character == "|"]


def _assert_columns_line_up(output):
    lines = output.splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("workload"))
    rows = lines[header + 2:]
    assert rows, output
    for row in rows:
        assert _column_bars(row) == _column_bars(lines[header]), output


WITHOUT_TORCH = textwrap.dedent("""
    import runpy, sys

    class NoTorch:
        '''Finds no torch, as on a machine without PyTorch.'''
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] == "torch":
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    sys.meta_path.insert(0, NoTorch())
    sys.argv = ["benchmarks", "--quick", "--only", "chain", "--only", "CNN step"]
    runpy.run_module("benchmarks", run_name="__main__", alter_sys=True)
""")


def test_table_without_pytorch_keeps_its_columns_and_says_why_torch_is_empty():
    result = subprocess.run([sys.executable, "-c", WITHOUT_TORCH], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "PyTorch is not installed" in result.stdout
    _assert_columns_line_up(result.stdout)


def _result(torch=True, memory=True):
    result = {"workload": "chain", "description": "", "floor_seconds": 0.001,
              "zen_seconds": 0.003}
    if torch:
        result["torch_seconds"] = 0.004
    if memory:
        result.update(floor_peak_bytes=1000, zen_peak_bytes=5000)
    return result


@pytest.mark.parametrize("missing", [{}, {"torch": False}, {"memory": False},
                                     {"torch": False, "memory": False}])
def test_every_row_lines_up_with_the_header_whatever_figures_are_missing(missing):
    from argparse import Namespace

    from benchmarks.runner import table

    args = Namespace(device="cpu", threads=1, quick=False, repeats=7)
    _assert_columns_line_up(table([_result(), _result(**missing)], args))
