"""Training that dies (SIGKILL, Ctrl-C) resumes from its checkpoint and ends with exactly the
parameters of a run that was never interrupted."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy
import pytest

import zen
from training_run import EPOCHS, run

HERE = os.path.dirname(__file__)


def _program(*arguments):
    return [sys.executable, os.path.join(HERE, "training_run.py"), *map(str, arguments)]


def _parameters(path):
    with numpy.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files
                if "/" not in name and name != "__metadata__"}


def _training_state(path):
    with numpy.load(path, allow_pickle=False) as archive:
        return json.loads(str(archive["__metadata__"]))["training"]


def _assert_same(first, second):
    assert first.keys() == second.keys()
    for name in first:
        numpy.testing.assert_array_equal(first[name], second[name], err_msg=name)


def test_a_run_killed_mid_epoch_resumes_to_the_same_parameters(tmp_path):
    subprocess.run(_program(tmp_path / "straight.npz", tmp_path / "expected.npz"), check=True,
                   timeout=300)
    checkpoint = tmp_path / "killed.npz"
    process = subprocess.Popen(_program(checkpoint, tmp_path / "unused.npz", "--slow"))
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)                           # well into a later epoch
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    state = _training_state(checkpoint)
    assert 1 <= state["epoch"] < EPOCHS, "the kill should land between the first and last epoch"
    subprocess.run(_program(checkpoint, tmp_path / "resumed.npz"), check=True, timeout=300)
    _assert_same(_parameters(tmp_path / "resumed.npz"), _parameters(tmp_path / "expected.npz"))


def test_ctrl_c_mid_epoch_saves_the_position_and_resumes_exactly(tmp_path):
    expected = run(str(tmp_path / "straight.npz"))
    calls = []

    def interrupted_on_the_33rd_step(prediction, target):
        calls.append(1)
        if len(calls) == 33:                  # epoch 3, batch 3 of 10
            raise KeyboardInterrupt
        return zen.loss.softmax_cross_entropy(prediction, target)

    checkpoint = str(tmp_path / "interrupted.npz")
    with pytest.raises(KeyboardInterrupt):
        run(checkpoint, loss_fn=interrupted_on_the_33rd_step)
    assert (_training_state(checkpoint)["epoch"], _training_state(checkpoint)["batch"]) == (3, 2)
    resumed = run(checkpoint)
    for mine, theirs in zip(resumed.parameters(), expected.parameters()):
        numpy.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_resume_refuses_a_file_without_training_state(tmp_path):
    path = str(tmp_path / "plain.npz")
    run(None).save(path)
    with pytest.raises(zen.nn.CheckpointError, match="no training state to resume"):
        run(path)
