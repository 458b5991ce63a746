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
    written = json.loads(path.read_text())
    names = [row["workload"] for row in written["results"]]
    assert names == [workload.name for workload in WORKLOADS]
    assert (written["clock"], written["repeats"]) == ("cpu", 2)
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


def _result(torch=True, memory=True, captured=True):
    result = {"workload": "chain", "description": "", "floor_seconds": 0.001,
              "zen_seconds": 0.003}
    if torch:
        result["torch_seconds"] = 0.004
    if captured:
        result["captured_seconds"] = 0.0015
    if memory:
        result.update(floor_peak_bytes=1000, zen_peak_bytes=5000)
    return result


def _args(**settings):
    from argparse import Namespace

    return Namespace(**{"device": "cpu", "threads": 1, "quick": False, "repeats": 7,
                        "clock": "auto", **settings})


@pytest.mark.parametrize("missing", [{}, {"torch": False}, {"memory": False},
                                     {"captured": False},
                                     {"torch": False, "memory": False, "captured": False}])
def test_every_row_lines_up_with_the_header_whatever_figures_are_missing(missing):
    from benchmarks.runner import table

    _assert_columns_line_up(table([_result(), _result(**missing)], _args()))


def test_captured_figures_sit_in_their_own_column_and_blank_without_them():
    from benchmarks.runner import table

    lines = table([_result(), _result(captured=False)], _args()).splitlines()
    header = next(line for line in lines if line.startswith("workload"))
    start = header.index("captured ms")
    end = header.index("|", start)
    with_captured, without = lines[-2], lines[-1]
    assert with_captured[start:end].split() == ["1.50", "1.50x"]
    assert without[start:end].strip() == ""


class _Counted:
    """A workload of three (or four) cheap implementations that count their calls."""

    name, description, torch_module = "counted", "", None

    def __init__(self, with_captured):
        self.calls = {"floor": 0, "zen": 0, "captured": 0}
        self.floor, self.zen = self._counter("floor"), self._counter("zen")
        self.captured = self._counter("captured") if with_captured else None

    def _counter(self, name):
        def run():
            self.calls[name] += 1
        return run


@pytest.mark.parametrize("with_captured", [True, False])
def test_measure_times_captured_only_where_a_workload_defines_it(with_captured):
    import backends
    from benchmarks.runner import measure

    workload = _Counted(with_captured)
    result = measure(workload, backends.get_backend("cpu"), repeats=3)
    assert ("captured_seconds" in result) == with_captured
    assert "torch_seconds" not in result
    timed = 2 + 3 * result["calls_per_repeat"]     # warm-up, calibration, then the repeats
    assert workload.calls == {"floor": timed + 1, "zen": timed + 1,     # + peak memory
                              "captured": timed if with_captured else 0}


def test_workloads_have_no_captured_step_unless_they_define_one():
    from benchmarks.runner import implementations

    workload = Chain("cpu", quick=True)
    assert "captured" not in implementations(workload)
    assert set(implementations(workload)) >= {"floor", "zen"}


@pytest.mark.parametrize(("settings", "clock"), [
    ({}, "cpu"), ({"threads": 2}, "wall"), ({"device": "cuda"}, "wall"),
    ({"clock": "wall"}, "wall"), ({"clock": "cpu"}, "cpu")])
def test_clock_is_the_threads_cpu_time_only_where_it_sees_all_the_work(settings, clock):
    from benchmarks.runner import chosen_clock

    assert chosen_clock(_args(**settings)) == clock


@pytest.mark.parametrize("settings", [{"threads": 2}, {"device": "cuda"}])
def test_cpu_clock_is_refused_where_it_would_miss_work(settings):
    from benchmarks.runner import chosen_clock

    with pytest.raises(SystemExit, match="--clock cpu"):
        chosen_clock(_args(clock="cpu", **settings))


@pytest.mark.parametrize("workload", ["chain", "scalar", "step", "captured"])
def test_instruction_count_workloads_run(workload):
    from benchmarks.counts import main

    main([workload, "1"])


@pytest.mark.parametrize("arguments", [[], ["chain"], ["nope", "1"], ["chain", "x"]])
def test_instruction_count_usage_names_the_workloads(arguments):
    from benchmarks.counts import main

    with pytest.raises(SystemExit, match=r"counts chain\|scalar\|step\|captured N"):
        main(arguments)
