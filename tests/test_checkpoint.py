"""Checkpoints: a round trip on every device, and files that are damaged or belong to
another model refused without touching the model or the file."""

import os

import numpy
import pytest

import zen
from zen.nn import CheckpointError, Conv2D, Flatten, Linear, Model, ReLU


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


def test_another_models_file_is_refused(device, tmp_path):
    path = tmp_path / "wide.npz"
    _model("cpu", units=6).save(path)
    model = _model(device, units=4)
    before = _snapshot(model)
    with pytest.raises(CheckpointError, match=r"units.: 6.*units.: 4"):
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
