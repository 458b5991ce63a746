"""Checkpoints: a round trip on every device; files that are damaged or belong to another
model refused without touching the model or the file; writes that are atomic, streamed, keep
permissions and links; your own layers and their buffers."""

import json
import os
import stat
import subprocess
import sys
import tracemalloc

import numpy
import pytest

import zen
from backends.host import _temporary_name
from zen.errors import ArgumentError
from zen.nn import CheckpointError, Conv2D, Flatten, Layer, Linear, Model, ReLU, Tanh


def _model(device, units=4):
    zen.seed(3)
    model = Model([Conv2D(2, 3), ReLU(), Flatten(), Linear(units)], device=device)
    model(numpy.ones((1, 1, 5, 5)))
    return model


def _snapshot(model):
    return {name: p.numpy().copy() for name, p in model.named_parameters().items()}


def _assert_unchanged(model, snapshot):
    for name, parameter in model.named_parameters().items():
        numpy.testing.assert_array_equal(parameter.numpy(), snapshot[name])


def test_round_trip_onto_any_device(device, tmp_path):
    path = tmp_path / "model.npz"
    original = _model("cpu")
    original.save(path)
    x = numpy.random.default_rng(0).normal(size=(3, 1, 5, 5))
    loaded = Model.load(path, device=device)
    assert loaded.device == device
    numpy.testing.assert_allclose(loaded(x).numpy(), original(x).numpy(), rtol=1e-6)
    zen.seed(99)
    other = Model([Conv2D(2, 3), ReLU(), Flatten(), Linear(4)], device=device)
    other.load_weights(path)        # unbuilt layers take the file's weights
    numpy.testing.assert_allclose(other(x).numpy(), original(x).numpy(), rtol=1e-6)


def test_truncated_and_corrupt_files_are_refused(device, tmp_path):
    good = tmp_path / "good.npz"
    _model("cpu").save(good)
    data = good.read_bytes()
    model = _model(device)
    before = _snapshot(model)
    for name, content in [("truncated.npz", data[:len(data) // 2]),
                          ("corrupt.npz", data[:100] + b"\x00" * 200 + data[300:]),
                          ("empty.npz", b"")]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CheckpointError, match=f"{name} is not a readable zen checkpoint"):
            model.load_weights(tmp_path / name)
        _assert_unchanged(model, before)


OTHER_MODELS = {    # the model in the file -> what the error says of this model's
    "a setting": (lambda: [Conv2D(2, 3), ReLU(), Flatten(), Linear(6)],
                  r"its layer 3 \(Linear\) has units=6, not this model's units=4$"),
    "a layer": (lambda: [Conv2D(2, 3), Tanh(), Flatten(), Linear(4)],
                r"its layer 1 is Tanh, not this model's ReLU$"),
    "a layer more": (lambda: [Conv2D(2, 3), ReLU(), Flatten(), Linear(4), ReLU()],
                     r"its layer 4 is ReLU, not this model's absent$"),
    "a layer less": (lambda: [Conv2D(2, 3), Flatten(), Linear(4)],
                     r"its layer 1 is Flatten, not this model's ReLU$"),
    "a setting it lacks": (lambda: [Conv2D(2, 3), ReLU(), Flatten(), Linear(4)],
                           (r"its layer 3 \(Linear\) has no use_bias, not this model's "
                            r"use_bias=True$")),
}


def _without_a_setting(path):
    """The file at ``path`` as an older zen might have written it: its last layer's settings
    lack use_bias."""
    with numpy.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    info = json.loads(str(arrays.pop("__metadata__")))
    del info["layers"][-1]["config"]["use_bias"]
    numpy.savez(path, __metadata__=numpy.array(json.dumps(info)), **arrays)


@pytest.mark.parametrize("other", sorted(OTHER_MODELS))
def test_another_models_file_is_refused_naming_the_first_difference(other, device, tmp_path):
    make_layers, difference = OTHER_MODELS[other]
    path = tmp_path / "other.npz"
    zen.seed(3)
    stranger = Model(make_layers())
    stranger(numpy.ones((1, 1, 5, 5)))
    stranger.save(path)
    if other == "a setting it lacks":
        _without_a_setting(path)
    model = _model(device, units=4)
    before = _snapshot(model)
    with pytest.raises(CheckpointError, match=r"^load: .*other.npz holds another model: "
                                              + difference):
        model.load_weights(path)
    _assert_unchanged(model, before)
    with pytest.raises(CheckpointError, match=r"other.npz holds another model: " + difference[
            :-1] + r"; to train this model from the start, pass resume=False \(which overwrites "
            r"the file\) or another checkpoint path$"):
        model.train(numpy.ones((2, 1, 5, 5)), numpy.ones((2, 4)), checkpoint=path, resume=True,
                    verbose=False)
    _assert_unchanged(model, before)


def test_another_models_file_is_refused(device, tmp_path):
    path = tmp_path / "wide.npz"
    _model("cpu", units=6).save(path)
    model = _model(device, units=4)
    before = _snapshot(model)
    with pytest.raises(CheckpointError, match=r"units=6, not this model's units=4"):
        model.load_weights(path)
    _assert_unchanged(model, before)
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        model.load_weights(tmp_path / "missing.npz")


def test_a_failed_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    model = _model("cpu")
    model.save(path)
    previous = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(os, "replace", crash)
    model.parameters()[0].value[...] = 0.0
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    assert path.read_bytes() == previous
    assert os.listdir(tmp_path) == ["model.npz"]     # no temporary file left behind


def test_saving_an_unbuilt_model_says_what_to_do(tmp_path):
    with pytest.raises(CheckpointError, match="no parameters yet; call it on a batch"):
        Model([Linear(2)]).save(tmp_path / "x.npz")


def test_checkpoint_files_hold_plain_arrays(tmp_path):
    path = tmp_path / "model.npz"
    _model("cpu").save(path)
    with numpy.load(path, allow_pickle=False) as archive:    # no pickles: NumPy reads it all
        assert "0.Conv2D.weight" in archive.files
        assert '"format": "zen.Model"' in str(archive["__metadata__"])


@pytest.fixture
def umask():
    """Set the process's umask for one test (``umask(0o077)``), and restore it after."""
    previous = os.umask(0o022)
    yield os.umask
    os.umask(previous)


@pytest.mark.parametrize("mask, mode", [(0o077, 0o600), (0o022, 0o644), (0o002, 0o664)])
def test_a_new_file_gets_the_mode_the_umask_allows(umask, tmp_path, mask, mode):
    umask(mask)
    _model("cpu").save(tmp_path / "model.npz")
    assert stat.S_IMODE(os.stat(tmp_path / "model.npz").st_mode) == mode


def test_an_existing_file_keeps_its_mode(umask, tmp_path):
    path = tmp_path / "model.npz"
    _model("cpu").save(path)
    os.chmod(path, 0o640)
    umask(0o077)
    _model("cpu", units=4).save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_saving_through_a_symbolic_link_updates_its_target(tmp_path):
    (tmp_path / "runs").mkdir()
    target, link = tmp_path / "runs" / "model.npz", tmp_path / "latest.npz"
    _model("cpu").save(target)
    link.symlink_to(target)
    model = _model("cpu")
    model.parameters()[0].value[...] = 0.5
    model.save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    numpy.testing.assert_array_equal(Model.load(target).parameters()[0].numpy(), 0.5)
    assert sorted(os.listdir(tmp_path / "runs")) == ["model.npz"]   # renamed beside the target


def _finished_process():
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_save_removes_temporaries_of_killed_saves_but_not_of_running_ones(tmp_path):
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = _finished_process()
    try:
        names = {
            "killed": _temporary_name("model.npz", dead, 1),
            "running elsewhere": _temporary_name("model.npz", alive.pid, 1),
            "running here": _temporary_name("model.npz", os.getpid(), 12345),
            "another file's": _temporary_name("other.npz", dead, 1),
        }
        for name in names.values():
            (tmp_path / name).write_bytes(b"half a checkpoint")
        _model("cpu").save(tmp_path / "model.npz")
        left = set(os.listdir(tmp_path))
    finally:
        alive.kill()
        alive.wait()
    assert left == {"model.npz"} | {names[key] for key in names if key != "killed"}


def test_save_streams_one_array_at_a_time(tmp_path):
    zen.seed(0)
    model = Model([Linear(512) for _ in range(8)])
    model(numpy.ones((1, 512)))
    total = sum(p.numpy().nbytes for p in model.parameters())    # 8 MiB in 1 MiB weights
    largest = max(p.numpy().nbytes for p in model.parameters())
    tracemalloc.start()
    try:
        model.save(tmp_path / "model.npz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * largest < total / 2, f"save took {peak} bytes for {total} of weights"


class RunningMean(Layer):
    """``x * scale``, keeping a running mean of its inputs (a buffer) while training."""

    def __init__(self, momentum=0.5):
        super().__init__(momentum=momentum)
        self.momentum = momentum

    def forward(self, x):
        if not self.weights:
            self.add_weight("scale", (x.shape[-1],), x, 1.0)
            self.add_buffer("mean", (x.shape[-1],), x)
        if self.training:
            mean = self.buffers["mean"]
            with zen.no_grad():
                mean.value = (mean * self.momentum + x.mean(axis=0) * (1 - self.momentum)).value
        return x * self.weights["scale"]


def test_your_own_layers_and_their_buffers_are_saved_and_loaded(device, tmp_path):
    zen.seed(4)
    model = Model([Linear(3), RunningMean()], device=device)
    optimizer = zen.optim.Adam(lr=0.1)
    x = numpy.random.default_rng(1).normal(size=(16, 5))
    model.train(x, numpy.zeros((16, 3)), epochs=2, batch_size=8, verbose=False,
                optimizer=optimizer)
    buffer = model.layers[1].buffers["mean"]
    assert not buffer.trainable and all(buffer is not p for p in model.parameters())
    assert len(optimizer.state) == len(model.parameters())     # the optimiser never saw it
    path = tmp_path / "custom.npz"
    model.save(path)
    with pytest.raises(CheckpointError, match=r"layer 'RunningMean' \(layer 1\) that zen does "
                                              r"not know; .*custom_layers=\[RunningMean\]"):
        Model.load(path, device=device)
    for loaded in (Model.load(path, device=device, custom_layers=[RunningMean]),
                   Model.load(path, device=device, custom_layers={"RunningMean": RunningMean}),
                   Model([Linear(3), RunningMean()], device=device).load_weights(path)):
        numpy.testing.assert_array_equal(loaded.layers[1].buffers["mean"].numpy(),
                                         buffer.numpy())
        numpy.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), rtol=1e-6)


def test_a_buffer_that_does_not_fit_is_refused(tmp_path):
    model = Model([Linear(3), RunningMean()])
    model(numpy.ones((2, 5)))
    path = tmp_path / "custom.npz"
    model.save(path)
    with numpy.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["1.RunningMean.mean"] = numpy.zeros(4)
    numpy.savez(path, **arrays)
    before = _snapshot(model)
    with pytest.raises(CheckpointError, match=r"1.RunningMean.mean has shape \(4,\), not \(3,"):
        model.load_weights(path)
    _assert_unchanged(model, before)
    with pytest.raises(ArgumentError, match=r"custom_layers.*should be a Layer subclass"):
        Model.load(path, custom_layers=[len])


class Tagged(Layer):
    def __init__(self, tag):
        super().__init__(tag=tag)

    def forward(self, x):
        if not self.weights:
            self.add_weight("weight", (1,), x)
        return x * self.weights["weight"]


def test_a_layer_whose_settings_are_not_json_cannot_be_saved(tmp_path):
    model = Model([Tagged(tag=object())])
    model(numpy.ones((1, 2)))
    with pytest.raises(CheckpointError, match=r"save: layer 0 \(Tagged\) has settings that are "
                                              r"not JSON values"):
        model.save(tmp_path / "tagged.npz")
    assert not (tmp_path / "tagged.npz").exists()
