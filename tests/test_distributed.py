"""Data-parallel training over MPI: two processes must compute the full batch's gradient,
end with identical parameters, and fail together, never hang, when used wrongly."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy
import pytest

import zen
from backends.collectives import MPI_INSTALL_HINT, wait
from zen.distributed import (
    DEFAULT_TIMEOUT,
    TIMEOUT_VARIABLE,
    Communicator,
    _plan,
    default_timeout,
    shard,
)
from zen.errors import ArgumentError, DistributedError
from zen.nn import Linear, Model

HERE = os.path.dirname(os.path.abspath(__file__))
MPIRUN = (shutil.which("mpirun", path=os.path.dirname(sys.executable))
          or shutil.which("mpirun"))


def needs_mpi(test):
    """Skipped without mpirun; marked as starting other processes."""
    skip = pytest.mark.skipif(MPIRUN is None, reason=f"needs mpirun and mpi4py: "
                                                      f"{MPI_INSTALL_HINT}")
    return pytest.mark.subprocess(skip(test))


# Two ranks of one job share a GPU here only with two GPUs; NCCL refuses one GPU twice.
DEVICES = ["cpu", "array_api_strict:device1"]


def _command(device, outdir, *options, processes=2):
    return [MPIRUN, "-n", str(processes), sys.executable,
            os.path.join(HERE, "distributed_run.py"), device, str(outdir), *map(str, options)]


# The processes import zen from this checkout, not from wherever zen is installed.
_ENVIRONMENT = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                "PYTHONPATH": os.pathsep.join([os.path.dirname(HERE),
                                               *filter(None, [os.environ.get("PYTHONPATH")])])}


def _start(device, outdir, *options, processes=2, environment=None):
    """An MPI job of distributed_run.py (see ``_finish``)."""
    return subprocess.Popen(_command(device, outdir, *options, processes=processes),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**_ENVIRONMENT, **(environment or {})})


def _finish(job, timeout=180):
    """The ended job; one still running after ``timeout`` seconds (far more than it needs)
    hangs: it is ended, and the test fails."""
    try:
        stdout, stderr = job.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        job.terminate()     # mpirun passes it on to every process of the job
        try:
            stdout, stderr = job.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            job.kill()
            stdout, stderr = job.communicate()
        pytest.fail(f"the job still ran after {timeout} s: it hangs\n{stderr[-3000:]}")
    return subprocess.CompletedProcess(job.args, job.returncode, stdout, stderr)


def _mpirun(device, outdir, *options, processes=2, timeout=180, environment=None):
    return _finish(_start(device, outdir, *options, processes=processes,
                          environment=environment), timeout)


@pytest.fixture(scope="module",
                params=[pytest.param(device, marks=pytest.mark.subprocess) for device in DEVICES])
def job(request, tmp_path_factory):
    """What each of two ranks found (see distributed_run.py), one MPI job per device."""
    if MPIRUN is None:
        pytest.skip(f"needs mpirun and mpi4py: {MPI_INSTALL_HINT}")
    pytest.importorskip("array_api_strict")
    outdir = tmp_path_factory.mktemp("job")
    finished = _mpirun(request.param, outdir)
    assert finished.returncode == 0, finished.stderr[-3000:]
    ranks = []
    for rank in (0, 1):
        with open(outdir / f"rank{rank}.json") as file:
            ranks.append(json.load(file))
    return outdir, ranks


def test_all_reduced_gradient_is_the_full_batch_gradient(job):
    _, ranks = job
    for found in ranks:
        gradients = found["gradients"]
        assert len(gradients["reduced"]) == 4
        for reduced, full in zip(gradients["reduced"], gradients["full"], strict=True):
            numpy.testing.assert_allclose(reduced, full, rtol=1e-5, atol=1e-6)
        assert gradients["reduced_loss"] == pytest.approx(gradients["full_loss"], rel=1e-6)
    assert ranks[0]["gradients"]["reduced"] == ranks[1]["gradients"]["reduced"]


def test_ranks_end_with_identical_parameters_and_history(job):
    outdir, ranks = job
    first, second = (numpy.load(outdir / f"rank{rank}.npz") for rank in (0, 1))
    names = [name for name in first.files if not name.startswith("__")]
    assert names
    for name in names:
        numpy.testing.assert_array_equal(first[name], second[name])
    assert ranks[0]["history"] == ranks[1]["history"]
    losses = ranks[0]["history"]["loss"]
    assert len(losses) == 3 and losses[-1] < losses[0]


def test_two_ranks_of_batch_16_train_as_one_process_of_batch_32(job):
    """SGD in float64 over 101 rows (an uneven last step): the same parameters as one
    process, to float rounding."""
    outdir, _ = job
    two_ranks, one_process = (numpy.load(outdir / name)
                              for name in ("two_ranks0.npz", "one_process0.npz"))
    names = [name for name in one_process.files if not name.startswith("__")]
    assert names == [name for name in two_ranks.files if not name.startswith("__")]
    for name in names:
        assert one_process[name].dtype == numpy.float64
        numpy.testing.assert_allclose(two_ranks[name], one_process[name], rtol=1e-10,
                                      atol=1e-12, err_msg=name)


def test_every_epoch_shuffles_alike_although_dropout_drew_unevenly(job):
    _, ranks = job
    orders = ranks[0]["orders"]
    assert len(orders) == 3 and orders[0] != orders[1]
    assert orders == ranks[1]["orders"]


def test_a_parameter_without_gradients_is_left_alone_as_in_one_process(job):
    _, ranks = job
    assert ranks[0]["unused_parameter_moved"] is False
    assert ranks[1]["unused_parameter_moved"] is False


def test_a_process_without_rows_packs_the_same_buffers_as_the_others(job):
    _, ranks = job
    history = ranks[0]["empty_share_with_float64_loss"]
    assert history == ranks[1]["empty_share_with_float64_loss"]
    assert len(history["loss"]) == 2 and numpy.isfinite(history["loss"]).all()


def test_only_rank_0_writes_the_checkpoint(job):
    outdir, _ = job
    assert (outdir / "checkpoint0.npz").exists()
    assert not (outdir / "checkpoint1.npz").exists()


@pytest.mark.parametrize("case, expected", [
    ("mismatched_model", ["the layers", "'units': 16", "'units': 17", "rank 1"]),
    ("other_activation", ["the layers", "'ReLU'", "'Tanh'", "rank 1"]),
    ("validation_on_one_rank", ["the validation data's shapes", "rank 1"]),
    ("checkpoint_on_one_rank", ["whether rank 0 writes a checkpoint", "rank 1"]),
    ("mismatched_data", ["the shape of x", "(100, 6)", "(101, 6)"]),
    ("model_on_another_device", ["the model's device", "rank 1"]),
    ("other_optimiser_settings", ["the optimiser's settings",
                                  "weight_decay is 0.01 on rank 0 but 0.02 on rank 1"]),
])
def test_processes_that_disagree_fail_alike_on_every_rank(job, case, expected):
    _, ranks = job
    messages = [found[case] for found in ranks]
    assert messages[0] == messages[1]
    assert messages[0].startswith("DistributedError")
    for part in expected:
        assert part in messages[0]


def test_an_error_on_one_rank_stops_every_rank(job):
    _, ranks = job
    mine, theirs = ranks[1]["bad_data_on_one_rank"], ranks[0]["bad_data_on_one_rank"]
    assert mine.startswith("DataError") and "NaN" in mine
    assert theirs.startswith("DistributedError") and "rank 1 of 2 failed" in theirs
    assert mine.split(": ", 1)[1] in theirs


@needs_mpi
def test_a_failure_during_training_aborts_the_job_instead_of_hanging(tmp_path):
    finished = _mpirun("cpu", tmp_path, "--abort", timeout=120)
    assert finished.returncode != 0
    assert "CheckpointError" in finished.stderr
    assert "stopping every rank" in finished.stderr


@needs_mpi
def test_ctrl_c_in_one_process_stops_every_process_and_the_job_resumes_exactly(tmp_path):
    straight = _mpirun("cpu", tmp_path, "--resume", tmp_path / "straight.npz")
    assert straight.returncode == 0, straight.stderr[-3000:]
    os.rename(tmp_path / "final0.npz", tmp_path / "straight0.npz")
    checkpoint = tmp_path / "interrupted.npz"
    job = _start("cpu", tmp_path, "--resume", checkpoint, "--slow")
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)        # the first epoch's checkpoint: training is under way
    os.kill(int((tmp_path / "pid1").read_text()), signal.SIGINT)   # rank 1 only
    interrupted = _finish(job)
    assert interrupted.returncode != 0 and "KeyboardInterrupt" in interrupted.stderr
    assert "stopping every rank" not in interrupted.stderr      # an agreed stop, no abort
    assert not (tmp_path / "final0.npz").exists()       # stopped before the end...
    training = json.loads(str(numpy.load(checkpoint)["__metadata__"]))["training"]
    assert 1 <= training["epoch"] < 6                   # ...and rank 0 saved where it was
    other_count = _mpirun("cpu", tmp_path, "--resume", checkpoint, processes=1)
    assert other_count.returncode != 0 and "skip or repeat" in other_count.stderr
    resumed = _mpirun("cpu", tmp_path, "--resume", checkpoint)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    first, second = numpy.load(tmp_path / "straight0.npz"), numpy.load(tmp_path / "final0.npz")
    for name in first.files:
        numpy.testing.assert_array_equal(first[name], second[name])


@needs_mpi
def test_ctrl_c_during_the_start_up_checks_stops_every_process_after_the_same_step(tmp_path):
    finished = _mpirun("cpu", tmp_path, "--alone", "sigint_at_start")
    assert finished.returncode == 0, finished.stderr[-3000:]
    for rank in (0, 1):
        stopped = json.loads((tmp_path / f"alone{rank}.json").read_text())
        assert stopped == "KeyboardInterrupt after 1 step(s)"


@needs_mpi
@pytest.mark.parametrize("case, error", [("exit", "SystemExit: 3"),
                                         ("keyboard_interrupt", "KeyboardInterrupt")])
def test_a_process_that_leaves_training_alone_ends_the_job(tmp_path, case, error):
    finished = _mpirun("cpu", tmp_path, "--alone", case)    # no waiting: the default timeout
    assert finished.returncode != 0
    assert "zen: rank 1 of 2 failed; stopping every rank" in finished.stderr
    assert f"\n{error}" in finished.stderr


SHORT_TIMEOUT = {"ZEN_DISTRIBUTED_TIMEOUT": "5"}    # only where waiting in vain is expected


@needs_mpi
@pytest.mark.parametrize("case, environment, message", [
    ("stall", SHORT_TIMEOUT, ("train, step 3 of epoch 1: rank 0 of 2 waited 5 s for the "
                              "other processes in any_of_each")),
    ("one_distributed", SHORT_TIMEOUT, "train: rank 0 of 2 waited 5 s for rank 1 in agree"),
    ("hand_written_loop", None, ("Communicator: rank 0 of 2 waited 5 s for the other "
                                 "processes in all_reduce")),   # Communicator(timeout=5)
])
def test_a_process_waiting_in_vain_gives_up_and_ends_the_job(tmp_path, case, environment,
                                                             message):
    finished = _mpirun("cpu", tmp_path, "--alone", case, environment=environment)
    assert finished.returncode != 0
    assert f"DistributedError: {message}: a process has stopped" in finished.stderr
    assert "zen: rank 0 of 2 failed; stopping every rank" in finished.stderr


def test_a_wait_gives_up_after_its_timeout_and_not_before_it_is_ready():
    polls = []
    assert wait(lambda: polls.append(None) or len(polls) == 50, 60) is True
    assert len(polls) == 50
    assert wait(lambda: False, 0.05) is False


def test_the_timeout_is_a_positive_number_of_seconds(monkeypatch):
    monkeypatch.delenv(TIMEOUT_VARIABLE, raising=False)
    assert default_timeout() == DEFAULT_TIMEOUT
    monkeypatch.setenv(TIMEOUT_VARIABLE, "2.5")
    assert default_timeout() == 2.5
    for text in ("soon", "0", "-1", "nan"):
        monkeypatch.setenv(TIMEOUT_VARIABLE, text)
        with pytest.raises(ArgumentError, match=rf"train: the environment variable "
                                                rf"{TIMEOUT_VARIABLE} must be a number of "
                                                rf"seconds > 0, got '?{text}"):
            Model([Linear(2)]).train(numpy.ones((4, 3)), numpy.ones((4, 2)), verbose=False,
                                     distributed=True)
    for seconds in (0, -3, "60", True):
        with pytest.raises(ArgumentError, match=r"Communicator: timeout must be a number of "
                                                r"seconds > 0"):
            Communicator("cpu", timeout=seconds)


def test_distributed_training_without_a_launcher_says_how_to_start_it(monkeypatch):
    for name in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MV2_COMM_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    model = Model([Linear(2)])
    with pytest.raises(DistributedError, match=r"train: .*not started by an MPI launcher.*"
                                               r"mpirun -n 2"):
        model.train(numpy.ones((4, 3)), numpy.ones((4, 2)), verbose=False, distributed=True)
    assert not model.built                # refused before the model saw any data
    assert zen.distributed.rank() == 0 and zen.distributed.size() == 1


@pytest.mark.parametrize("count, size", [(10, 2), (63, 2), (1, 2), (7, 3), (0, 4)])
def test_shards_cover_each_row_once_and_differ_by_at_most_one(count, size):
    parts = [shard(5, 5 + count, rank, size) for rank in range(size)]
    assert [row for start, stop in parts for row in range(start, stop)] == \
        list(range(5, 5 + count))
    lengths = [stop - start for start, stop in parts]
    assert max(lengths) - min(lengths) <= 1


def test_buckets_keep_one_dtype_and_stay_under_the_limit():
    xp = zen.Tensor(0.0).backend.xp
    key = (((10,), xp.float32), ((3, 3), xp.float64), ((20,), xp.float32), ((30,), xp.float32),
           ((), xp.float64))
    plan = _plan(xp, key, limit=100)     # 40, 72, 80, 120 and 8 bytes
    assert [[i for i, *_ in bucket] for bucket in plan] == [[0], [2], [3], [1, 4]]
    assert plan[3] == [(1, 0, 9, (3, 3)), (4, 9, 10, ())]    # places in the flat buffer
