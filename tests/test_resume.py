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
from training_run import EPOCHS, SETTINGS, data, network, run
from zen.errors import CheckpointError

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


@pytest.mark.subprocess
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


def _interrupted_on_call(number):
    """A loss function that raises KeyboardInterrupt on its ``number``-th call."""
    calls = []

    def loss(prediction, target):
        calls.append(1)
        if len(calls) == number:
            raise KeyboardInterrupt
        return zen.loss.softmax_cross_entropy(prediction, target)

    return loss


def _assert_same_parameters(first, second):
    for mine, theirs in zip(first.parameters(), second.parameters(), strict=True):
        numpy.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_ctrl_c_mid_epoch_saves_the_position_and_resumes_exactly(tmp_path):
    expected = run(str(tmp_path / "straight.npz"))
    checkpoint = str(tmp_path / "interrupted.npz")
    with pytest.raises(KeyboardInterrupt):
        run(checkpoint, loss_fn=_interrupted_on_call(33))     # epoch 3, batch 3 of 10
    assert (_training_state(checkpoint)["epoch"], _training_state(checkpoint)["batch"]) == (3, 2)
    _assert_same_parameters(run(checkpoint), expected)


@pytest.mark.parametrize("first_stop", [33, 31])     # mid-epoch; in an epoch's first step
def test_an_interrupt_in_the_first_resumed_step_leaves_a_resumable_checkpoint(tmp_path,
                                                                               first_stop):
    expected = run(str(tmp_path / "straight.npz"))
    checkpoint = str(tmp_path / "twice.npz")
    with pytest.raises(KeyboardInterrupt):
        run(checkpoint, loss_fn=_interrupted_on_call(first_stop))
    with pytest.raises(KeyboardInterrupt):
        run(checkpoint, loss_fn=_interrupted_on_call(1))
    assert _training_state(checkpoint)["generator"] is not None
    _assert_same_parameters(run(checkpoint), expected)


def test_resume_refuses_a_file_without_training_state(tmp_path):
    path = str(tmp_path / "plain.npz")
    run(None).save(path)
    with pytest.raises(zen.nn.CheckpointError, match="no training state to resume"):
        run(path)


@pytest.fixture(scope="module")
def stopped(tmp_path_factory):
    """Checkpoints of the training run stopped mid-epoch (epoch 4, after 2 of its 10 steps)
    and between epochs (after 2)."""
    directory = tmp_path_factory.mktemp("stopped")
    with pytest.raises(KeyboardInterrupt):
        run(str(directory / "mid-epoch.npz"), loss_fn=_interrupted_on_call(33))
    run(str(directory / "between-epochs.npz"), epochs=2)
    return directory


def _resume_refused(checkpoint, message, x=None, y=None, lr=0.01):
    """Resuming from ``checkpoint`` (on ``x``, ``y`` or the run's data) is refused with
    ``message`` and leaves the model, the optimiser and zen's random numbers as they were."""
    x_run, y_run = data()
    zen.seed(7)
    model = network()
    model(x_run[:1])
    optimizer = zen.optim.Adam(lr=lr)
    before = {name: p.numpy().copy() for name, p in model.named_parameters().items()}
    generator = zen.random.generator().get_state()
    with pytest.raises(CheckpointError, match=message):
        model.train(x_run if x is None else x, y_run if y is None else y, epochs=EPOCHS,
                    loss_fn=zen.loss.softmax_cross_entropy, optimizer=optimizer,
                    checkpoint=checkpoint, resume=True, **SETTINGS)
    for name, parameter in model.named_parameters().items():
        numpy.testing.assert_array_equal(parameter.numpy(), before[name], err_msg=name)
    assert optimizer.state == {}
    assert zen.random.generator().get_state() == generator


def _more_rows(x, y):
    return numpy.concatenate([x, x[:100]]), numpy.concatenate([y, y[:100]])


DATA_CHANGES = {
    "more examples": (_more_rows, r"x of shape \(300, 6\) float32"),
    "fewer examples": (lambda x, y: (x[:150], y[:150]), r"x of shape \(150, 6\)"),
    "one-hot labels": (lambda x, y: (x, numpy.eye(3)[y]), r"y of shape \(200, 3\) float32"),
}


@pytest.mark.parametrize("when", ["mid-epoch", "between-epochs"])
@pytest.mark.parametrize("change", sorted(DATA_CHANGES))
def test_resuming_on_other_data_is_refused_before_anything_changes(stopped, when, change):
    edit, message = DATA_CHANGES[change]
    _resume_refused(str(stopped / f"{when}.npz"),
                    r"was trained on x of shape \(200, 6\) float32 and y of shape \(200,\) "
                    r"int64, not on this call's .*" + message + r".*To fine-tune on new data, "
                    r"start from its "
                    r"weights: model.load_weights\(path\), then train with resume=False",
                    *edit(*data()))


def test_resuming_with_other_optimiser_settings_is_refused(stopped):
    _resume_refused(str(stopped / "mid-epoch.npz"),
                    r"was trained with Adam \{.*'lr': 0.01.*\}, not \{.*'lr': 0.5", lr=0.5)


def test_a_refused_resume_leaves_an_unbuilt_model_and_the_generator_as_they_were(stopped):
    x, y = data()
    zen.seed(7)
    model = network()
    generator = zen.random.generator().get_state()
    with pytest.raises(CheckpointError, match=r"not on this call's x of shape \(150, "):
        model.train(x[:150], y[:150], epochs=EPOCHS, loss_fn=zen.loss.softmax_cross_entropy,
                    optimizer=zen.optim.Adam(lr=0.01), checkpoint=str(stopped / "mid-epoch.npz"),
                    resume=True, **SETTINGS)
    assert not model.built
    assert zen.random.generator().get_state() == generator


def _edit_training(source, target, edit):
    with numpy.load(source, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    info = json.loads(str(arrays.pop("__metadata__")))
    edit(info, info["training"], arrays)
    numpy.savez(target, __metadata__=numpy.array(json.dumps(info)), **arrays)
    return str(target)


def _state(key, value):
    return lambda info, training, arrays: training.update({key: value})


def _array(name, change):
    return lambda info, training, arrays: arrays.update({name: change(arrays[name])})


def _counter(key, value):
    return lambda info, training, arrays: training["counters"].update({key: value})


def _generator(change):
    return lambda info, training, arrays: change(training["generator"])


def _swap_first_two(order):
    order = order.copy()
    order[0] = order[1]
    return order


TAMPERED = [
    ("state not an object", lambda info, training, arrays: info.update(training=[1]),
     r"training should be an object, not \[1\]"),
    ("negative epoch", _state("epoch", -1), r"training.epoch should be a whole number >= 0"),
    ("epoch as text", _state("epoch", "3"), r"training.epoch should be .*, not \"3\""),
    ("batch as a boolean", _state("batch", True), r"training.batch should be .*, not true"),
    ("batch past the epoch", _state("batch", 99), r"batch is 99, past the 10 steps of an epoch"),
    ("batch without its order", lambda info, training, arrays: arrays.pop("training/order"),
     r"training.batch is 2, but the file holds no order of examples"),
    ("loss as text", _state("partial", "low"), r"training.partial should be a number"),
    ("history too short", lambda info, training, arrays: training["history"].update(loss=[]),
     r"history.loss should hold one loss for each of the 3 finished epochs, not \[\]"),
    ("history of text", _state("history", {"loss": ["a", "b", "c"]}),
     r"training.history should be an object, each value a list, each item a number"),
    ("optimiser as a number", _state("optimizer", 5), r"training.optimizer should be a string"),
    ("negative step count", _counter("0.step", -1),
     r"training.counters should be an object, each value a whole number >= 0"),
    ("fractional step count", _counter("0.step", 1.5), r"training.counters should be"),
    ("step count of no parameter", _counter("9.step", 3),
     r"step count '9.step' is not one that Adam keeps for one of the model's 4 parameters"),
    ("unknown step count", _counter("0.epochs", 3), r"step count '0.epochs' is not one"),
    ("array of no parameter",
     lambda info, training, arrays: arrays.update({"optimizer/9.first": numpy.zeros(3)}),
     r"optimiser array '9.first' is not one that Adam keeps"),
    ("unknown optimiser array",
     lambda info, training, arrays: arrays.update({"optimizer/0.velocity": numpy.zeros(3)}),
     r"optimiser array '0.velocity'"),
    ("incomplete optimiser state", lambda info, training, arrays: arrays.pop("optimizer/0.second"),
     r"optimiser state of parameter 0 holds \['first', 'step'\], not Adam's \['first', "
     r"'second', 'step'\]"),
    ("optimiser array of another shape", _array("optimizer/0.first", lambda a: a[:2]),
     r"optimizer/0.first has shape \(2, 16\), not \(6, 16\)"),
    ("integer optimiser array", _array("optimizer/0.first", lambda a: a.astype(numpy.int32)),
     r"optimizer/0.first has dtype int32, which is not real floating"),
    ("no generator state", _state("generator", None), r"generator is not a PCG64 state"),
    ("another generator", _generator(lambda g: g.update(bit_generator="MT19937")),
     r"generator is not a PCG64 state"),
    ("generator state out of range", _generator(lambda g: g["state"].update(state=-1)),
     r"generator is not a PCG64 state"),
    ("generator state as a fraction", _generator(lambda g: g["state"].update(state=1.5)),
     r"generator is not a PCG64 state .*reads back"),
    ("no step size", lambda info, training, arrays: training.pop("step_rows"),
     r"training lacks step_rows"),
    ("zero step size", _state("step_rows", 0), r"step_rows should be a whole number >= 1"),
    ("no facts of the data", lambda info, training, arrays: training.pop("data"),
     r"training lacks data"),
    ("no optimiser settings", lambda info, training, arrays: training.pop("settings"),
     r"training lacks settings"),
    ("other optimiser settings", lambda info, training, arrays: training["settings"].update(
        lr=0.5), r"was trained with Adam \{.*'lr': 0.5"),
    ("facts of the data as text",
     lambda info, training, arrays: training["data"].update(x="big"),
     r"training.data.x should be an object"),
    ("order with a repeat", _array("training/order", _swap_first_two),
     r"training/order is not an order of the examples"),
    ("order of another length", _array("training/order", lambda a: a[:-1]),
     r"training/order has shape \(199,\), not \(200,\)"),
    ("order of fractions", _array("training/order", lambda a: a.astype(float)),
     r"training/order has dtype float64, which is not integral"),
    ("unknown field", _state("note", "hi"), r"training has unknown fields \['note'\]"),
    ("weights replaced", _array("0.Linear.weight", lambda a: a[:, :3]),
     r"0.Linear.weight has shape \(6, 3\), not \(6, 16\)"),
]


@pytest.mark.parametrize("name, edit, message", TAMPERED, ids=[c[0] for c in TAMPERED])
def test_a_tampered_training_state_is_refused_before_anything_changes(stopped, tmp_path, name,
                                                                      edit, message):
    _resume_refused(_edit_training(stopped / "mid-epoch.npz", tmp_path / "edited.npz", edit),
                    message)


def _version_1(info, training, arrays):
    """What zen's format version 1 wrote: no input shape, no facts of the data, no optimiser
    settings."""
    info.pop("input_shape")
    info["version"] = 1
    training.pop("data")
    training.pop("settings")


def test_a_version_1_checkpoint_resumes_between_epochs(stopped, tmp_path):
    old = _edit_training(stopped / "between-epochs.npz", tmp_path / "old.npz", _version_1)
    current = str(tmp_path / "current.npz")
    os.link(stopped / "between-epochs.npz", current)
    _assert_same_parameters(run(old), run(current))


def test_a_version_1_checkpoint_stopped_mid_epoch_is_refused_clearly(stopped, tmp_path):
    def broken_generator(info, training, arrays):
        _version_1(info, training, arrays)
        training["generator"] = None    # as an interrupted resume could leave it

    message = (r"format version 1\), which did not record the data it trained on, and it "
               r"stopped in the middle of epoch 4.*model.load_weights\(path\)")
    for edit in (_version_1, broken_generator):
        _resume_refused(_edit_training(stopped / "mid-epoch.npz", tmp_path / "old.npz", edit),
                        message)


ORIGINAL_ZEN_OPTIMISERS = {     # the original Zen's calls, each of its own settings
    "Momentum(0.05, 0.5)": lambda: zen.optim.Momentum(0.05, 0.5),
    "RMSProp(0.002, 0.5, 1e-6)": lambda: zen.optim.RMSProp(0.002, 0.5, 1e-6),
    "Adam(lr=0.02, beta1=0.8, beta2=0.99, epsilon=1e-6)":
        lambda: zen.optim.Adam(lr=0.02, beta1=0.8, beta2=0.99, epsilon=1e-6),
}


@pytest.mark.parametrize("call", sorted(ORIGINAL_ZEN_OPTIMISERS))
def test_the_original_zens_optimisers_are_saved_and_resumed(tmp_path, call):
    make = ORIGINAL_ZEN_OPTIMISERS[call]
    expected = run(None, epochs=3, optimizer=make)
    checkpoint = str(tmp_path / "seed.npz")
    run(checkpoint, epochs=2, optimizer=make)
    _assert_same_parameters(run(checkpoint, epochs=3, optimizer=make), expected)


def test_the_original_zens_rmsprop_does_not_resume_as_pytorchs(tmp_path):
    checkpoint = str(tmp_path / "seed.npz")
    run(checkpoint, epochs=1, optimizer=lambda: zen.optim.RMSProp(0.002, 0.5))
    with pytest.raises(CheckpointError, match=r"was trained with RMSProp \{'lr': 0.002, "
                                              r"'alpha': 0.5, 'epsilon': 1e-10\}, not \{'lr': "
                                              r"0.002, 'alpha': 0.5, 'eps': 1e-08\}"):
        run(checkpoint, optimizer=lambda: zen.optim.RMSProp(lr=0.002, alpha=0.5))


def _train_again(checkpoint, epochs, verbose):
    zen.seed(0)
    x, y = data()
    model = network()
    history = model.train(x, y, epochs=epochs, loss_fn=zen.loss.softmax_cross_entropy,
                          optimizer=zen.optim.Adam(lr=0.01), checkpoint=checkpoint,
                          resume=True, **{**SETTINGS, "verbose": verbose})
    return model, history


@pytest.mark.parametrize("epochs, done", [(2, "2 epochs"), (1, "2 epochs, more than the 1 asked")])
def test_resuming_a_finished_run_says_so_and_returns_its_history(tmp_path, capsys, epochs,
                                                                 done):
    checkpoint = str(tmp_path / "done.npz")
    finished, history = _train_again(checkpoint, 2, verbose=False)
    capsys.readouterr()
    again, returned = _train_again(checkpoint, epochs, verbose=True)
    assert returned == history and len(returned["loss"]) == 2
    _assert_same_parameters(again, finished)
    said = capsys.readouterr().out
    assert said.startswith(f"train: {checkpoint} holds a finished run ({done});"
                           f" nothing left to train, so train returns that run's history. For "
                           f"more epochs, raise epochs; to start again, pass resume=False")
    _train_again(checkpoint, epochs, verbose=False)
    assert capsys.readouterr().out == ""


def test_a_first_run_with_resume_says_nothing_of_a_finished_run(tmp_path, capsys):
    _train_again(str(tmp_path / "new.npz"), 0, verbose=True)
    assert "finished run" not in capsys.readouterr().out
