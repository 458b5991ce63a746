"""The four example programs run end to end (a smoke test with few epochs) on the CPU and
on the strict array-API device."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
RUNS = {
    "mnist.py": ["--epochs", "2"],
    "cnn.py": ["--epochs", "1"],
    "fizzbuzz.py": ["--epochs", "2", "--hidden", "32"],
    "rnn.py": ["--epochs", "1", "--plot", ""],
}


def run_example(command, cwd=EXAMPLES):
    """Run ``command`` (an example program and its options, or mpirun and one) with this
    working tree's zen first on the path, not an installed one."""
    path = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    return subprocess.run(command, cwd=cwd, env=dict(os.environ, PYTHONPATH=path),
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("device", ["cpu", "array_api_strict:device1"])
@pytest.mark.parametrize("script", RUNS)
def test_example_runs(script, device):
    pytest.importorskip("sklearn", reason="the examples need zen[examples]")
    result = run_example([sys.executable, script, "--device", device, *RUNS[script]])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "loss" in result.stdout or "right_of_100" in result.stdout


def test_digits_example_trains_data_parallel_under_mpirun():
    pytest.importorskip("sklearn", reason="the examples need zen[examples]")
    from test_distributed import MPIRUN

    if MPIRUN is None:
        pytest.skip("needs mpirun and mpi4py: pip install 'zen[mpi]'")
    result = run_example([MPIRUN, "-n", "2", sys.executable, "mnist.py", "--epochs", "2",
                          "--distributed"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("test_accuracy") == 1     # one report, from rank 0


def test_examples_import_this_working_trees_zen():
    """Not an installed zen, which may be another copy of the code."""
    result = run_example([sys.executable, "-c", "import zen; print(zen.__file__)"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert os.path.samefile(os.path.dirname(result.stdout.strip()), os.path.join(ROOT, "zen"))
