"""The benchmark runner never rots: it runs every workload at tiny sizes, and each workload's
hand-written floor computes what zen computes. No timing is asserted."""

import json
import subprocess
import sys

import numpy

from benchmarks.workloads import WORKLOADS, Chain, DeepChain, WideStep


def test_runner_runs_every_workload_and_writes_json(tmp_path):
    path = tmp_path / "results.json"
    result = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--json", str(path)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    names = [row["workload"] for row in json.loads(path.read_text())["results"]]
    assert names == [workload.name for workload in WORKLOADS]
    assert all(name in result.stdout for name in names)


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


def test_wide_step_floor_makes_zens_update():
    workload = WideStep("cpu", quick=True)
    workload.zen()
    workload.floor()
    for parameter, floor_weight in zip(workload.parameters, workload.weights):
        numpy.testing.assert_allclose(parameter.numpy(), floor_weight, rtol=1e-5, atol=1e-6)
