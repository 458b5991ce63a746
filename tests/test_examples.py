"""The example programs: each runs end to end (a smoke test with few epochs) on the CPU
and on the strict array-API device, and at its default settings prints the figure that the
README's table of results gives."""

import decimal
import os
import re
import subprocess
import sys

import pytest

from backends.collectives import MPI_INSTALL_HINT

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
RUNS = {
    "mnist.py": ["--epochs", "2"],
    "cnn.py": ["--epochs", "1"],
    "fizzbuzz.py": ["--epochs", "2", "--hidden", "32"],
    "rnn.py": ["--epochs", "1", "--plot", ""],
    "transformer.py": ["--epochs", "1"],
}
pytestmark = pytest.mark.subprocess
# A row of the README's results: | `examples/cnn.py` | what it does | `test_accuracy 0.9916` |
RESULT_ROW = re.compile(r"^\| `examples/(?P<program>\w+\.py)` \|.*\| "
                        r"`(?P<figure>\w+) (?P<value>[^`\s]+)` \|$", re.MULTILINE)


def run_example(command, cwd=EXAMPLES):
    """Run ``command`` (an example program and its options, or mpirun and one) with this
    working tree's zen first on the path, not an installed one."""
    path = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    return subprocess.run(command, cwd=cwd, env=dict(os.environ, PYTHONPATH=path),
                          capture_output=True, text=True, timeout=600)


def readme_results():
    """{program: (figure, value)}, as the README's table of results writes them."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as file:
        rows = RESULT_ROW.finditer(file.read())
    return {row["program"]: (row["figure"], row["value"]) for row in rows}


README_RESULTS = readme_results()


@pytest.mark.parametrize("device", ["cpu", "array_api_strict:device1"])
@pytest.mark.parametrize("script", RUNS)
def test_example_runs(script, device):
    pytest.importorskip("sklearn", reason="the examples need scikit-learn")
    result = run_example([sys.executable, script, "--device", device, *RUNS[script]])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "loss" in result.stdout or "right_of_100" in result.stdout


def test_digits_example_trains_data_parallel_under_mpirun():
    pytest.importorskip("sklearn", reason="the examples need scikit-learn")
    from test_distributed import MPIRUN

    if MPIRUN is None:
        pytest.skip(f"needs mpirun and mpi4py: {MPI_INSTALL_HINT}")
    result = run_example([MPIRUN, "-n", "2", sys.executable, "mnist.py", "--epochs", "2",
                          "--distributed"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("test_accuracy") == 1     # one report, from rank 0


def test_examples_import_this_working_trees_zen():
    """Not an installed zen, which may be another copy of the code."""
    result = run_example([sys.executable, "-c", "import zen; print(zen.__file__)"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert os.path.samefile(os.path.dirname(result.stdout.strip()), os.path.join(ROOT, "zen"))


def test_readme_gives_a_result_for_every_example_program():
    programs = {name for name in os.listdir(EXAMPLES) if name.endswith(".py")}
    assert set(README_RESULTS) == programs - {"common.py"}


@pytest.mark.parametrize("program", sorted(README_RESULTS))
def test_example_at_its_defaults_prints_the_readmes_result(program, tmp_path):
    """The programs are deterministic, but a loss's last printed digit can depend on the
    BLAS kernels that the machine's CPU gets, so the README may show fewer digits: the
    printed figure is rounded to the README's last digit before they are compared."""
    pytest.importorskip("sklearn", reason="the examples need scikit-learn")
    figure, shown = README_RESULTS[program]
    result = run_example([sys.executable, os.path.join(EXAMPLES, program)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    printed = re.search(rf"\b{figure} (\S+)", result.stdout)
    assert printed, f"{program} printed no {figure}: {result.stdout[-2000:]}"
    rounded = decimal.Decimal(printed[1]).quantize(decimal.Decimal(shown))
    assert rounded == decimal.Decimal(shown), (
        f"{program} at its defaults printed {figure} {printed[1]}; README.md says {shown}")
