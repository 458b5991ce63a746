"""The four example programs run end to end (a smoke test with few epochs) on the CPU and
on the strict array-API device."""

import os
import subprocess
import sys

import pytest

from backends.collectives import MPI_INSTALL_HINT

EXAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, "examples")
RUNS = {
    "mnist.py": ["--epochs", "2"],
    "cnn.py": ["--epochs", "1"],
    "fizzbuzz.py": ["--epochs", "2", "--hidden", "32"],
    "rnn.py": ["--epochs", "1", "--plot", ""],
}
pytestmark = pytest.mark.subprocess


@pytest.mark.parametrize("device", ["cpu", "array_api_strict:device1"])
@pytest.mark.parametrize("script", RUNS)
def test_example_runs(script, device):
    pytest.importorskip("sklearn", reason="the examples need scikit-learn")
    result = subprocess.run([sys.executable, script, "--device", device, *RUNS[script]],
                            cwd=EXAMPLES, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "loss" in result.stdout or "right_of_100" in result.stdout


def test_digits_example_trains_data_parallel_under_mpirun():
    pytest.importorskip("sklearn", reason="the examples need scikit-learn")
    from test_distributed import MPIRUN

    if MPIRUN is None:
        pytest.skip(f"needs mpirun and mpi4py: {MPI_INSTALL_HINT}")
    result = subprocess.run([MPIRUN, "-n", "2", sys.executable, "mnist.py", "--epochs", "2",
                             "--distributed"], cwd=EXAMPLES, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("test_accuracy") == 1     # one report, from rank 0
