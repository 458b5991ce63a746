"""The checkpoint format: every malformed file is refused with CheckpointError before anything
is set (model, zen's random numbers), entries are read only as far as the settings allow
(no decompression bombs), and version-1 files still load."""

import io
import json
import tracemalloc
import zipfile

import numpy
import pytest

import zen
from zen.errors import CheckpointError
from zen.nn import Dropout, Linear, Model, ReLU

METADATA = "__metadata__"


def _layers():
    return [Linear(3), ReLU(), Linear(2)]


def _built(device):
    zen.seed(5)
    model = Model(_layers(), device=device)
    model(numpy.ones((2, 4)))
    return model


def _contents(path):
    """(description, {name: array}) of a checkpoint, as NumPy reads it."""
    with numpy.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    return json.loads(str(arrays.pop(METADATA))), arrays


def _write(path, info, arrays):
    """A checkpoint written as zen's version 1 wrote every file: numpy.savez of the arrays and
    the description (unless ``arrays`` holds another in its place)."""
    numpy.savez(path, **{METADATA: numpy.array(json.dumps(info)), **arrays})
    return path


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "model.npz"
    _built("cpu").save(path)
    return path


def _snapshot(model):
    return {name: p.numpy().copy() for name, p in model.named_parameters().items()}


def _assert_unchanged(model, snapshot):
    assert model.named_parameters().keys() == snapshot.keys()
    for name, parameter in model.named_parameters().items():
        numpy.testing.assert_array_equal(parameter.numpy(), snapshot[name])


def _set(name, value):
    return lambda info, arrays: arrays.update({name: value})


def _drop(name):
    return lambda info, arrays: arrays.pop(name)


def _config(**settings):
    return lambda info, arrays: info["layers"][0]["config"].update(settings)


def _field(key, value):
    return lambda info, arrays: info.update({key: value})


MALFORMED = [
    ("weight too wide for its layer", _set("0.Linear.weight", numpy.zeros((4, 7))),
     r"0.Linear.weight has shape \(4, 7\), not \(4, 3\)"),
    ("layer wider than its weight", _config(units=7),
     r"0.Linear.weight has shape \(4, 3\), not \(4, 7\)"),
    ("integer weight", _set("0.Linear.weight", numpy.ones((4, 3), numpy.int64)),
     r"0.Linear.weight has dtype int64, which is not real floating"),
    ("complex weight", _set("0.Linear.weight", numpy.ones((4, 3), numpy.complex64)),
     r"dtype complex64, which is not real floating"),
    ("pickled objects", _set("0.Linear.weight", numpy.full((4, 3), None, dtype=object)),
     r"0.Linear.weight has dtype object"),
    ("missing bias", _drop("0.Linear.bias"), r"lacks 0.Linear.bias"),
    ("attribute as a weight name", _set("0.Linear.__dict__", numpy.zeros(3)),
     r"arrays that no setting names: '0.Linear.__dict__'"),
    ("weight on a ReLU", _set("1.ReLU.weight", numpy.zeros(3)), r"'1.ReLU.weight'"),
    ("stray entry", _set("notes", numpy.zeros(1)), r"no setting names: 'notes'"),
    ("optimiser state in a file without training", _set("optimizer/0.first", numpy.zeros(3)),
     r"'optimizer/0.first'"),
    ("string for a number in a layer", _config(units="3"),
     r"layer 0 \(Linear\) cannot be made .*units must be a positive int, got '3'"),
    ("unknown setting", _config(colour="red"),
     r"layer 0 \(Linear\) cannot be made from its settings .*TypeError"),
    ("out-of-range setting", lambda info, arrays: info["layers"].append(
        {"layer": "Dropout", "config": {"rate": 1.5}}), r"\(Dropout\) .*ArgumentError"),
    ("settings far larger than the file", _config(units=10**9),
     r"imply more weights than the file has bytes"),
    ("string in the input shape", _field("input_shape", ["4"]),
     r"input_shape should be a list, each item a whole number >= 1, not \[\"4\"\]"),
    ("no input shape", lambda info, arrays: info.pop("input_shape"), r"lacks input_shape"),
    ("unknown layer", lambda info, arrays: info["layers"][0].update(layer="Dense"),
     r"layer 'Dense' \(layer 0\) that zen does not know"),
    ("layers not a list", _field("layers", {"0": "Linear"}), r"layers should be a list"),
    ("layer without settings", lambda info, arrays: info["layers"][0].pop("config"),
     r"layers\[0\] lacks config"),
    ("settings not an object", lambda info, arrays: info["layers"][0].update(config=[3]),
     r"layers\[0\].config should be an object, not \[3\]"),
    ("unknown field", _field("comment", "hi"), r"has unknown fields \['comment'\]"),
    ("newer version", _field("version", 3), r"format version 3; this zen reads versions"),
    ("version as a string", _field("version", "2"), r"format version '2'"),
    ("another format", _field("format", "keras"), r"not a readable .*no zen.Model description"),
    ("description not JSON", _set(METADATA, numpy.array("{'format': ")),
     r"not a readable zen checkpoint \(JSONDecodeError"),
    ("description not an object", _set(METADATA, numpy.array("[1, 2]")),
     r"no zen.Model description"),
    ("description not a string", _set(METADATA, numpy.zeros(3)),
     r"__metadata__ has shape \(3,\), not \(\)"),
]


@pytest.mark.parametrize("name, edit, message", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_a_malformed_file_is_refused_before_anything_is_set(name, edit, message, saved, device):
    info, arrays = _contents(saved)
    edit(info, arrays)
    path = _write(saved.parent / "edited.npz", info, arrays)
    model, unbuilt = _built(device), Model(_layers(), device=device)
    before, generator = _snapshot(model), zen.random.generator().get_state()
    with pytest.raises(CheckpointError, match=message):
        Model.load(path, device=device)
    with pytest.raises(CheckpointError):
        model.load_weights(path)
    with pytest.raises(CheckpointError):
        unbuilt.load_weights(path)
    _assert_unchanged(model, before)
    assert not unbuilt.built and unbuilt.input_shape is None
    assert zen.random.generator().get_state() == generator


def _zip(path, entries, compression=zipfile.ZIP_STORED):
    """A zip of ``entries``: name -> bytes, or a function that writes into the open entry."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, content in entries:
            with archive.open(name, "w", force_zip64=True) as member:
                member.write(content) if isinstance(content, bytes) else content(member)
    return path


def _npy(array):
    buffer = io.BytesIO()
    numpy.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _entries(path):
    info, arrays = _contents(path)
    return [(f"{METADATA}.npy", _npy(numpy.array(json.dumps(info))))] + [
        (f"{name}.npy", _npy(array)) for name, array in arrays.items()]


def _header(descr, shape):
    buffer = io.BytesIO()
    numpy.lib.format.write_array_header_2_0(buffer, {"descr": descr, "fortran_order": False,
                                                     "shape": shape})
    return buffer.getvalue()


def _zeros_after(header, size):
    """Write ``header`` and then ``size`` zero bytes into an entry, a MiB at a time."""
    def write(member):
        member.write(header)
        for _ in range(size // 2**20):
            member.write(bytes(2**20))
    return write


BOMB = 64 * 2**20       # bytes that a bomb entry declares; it takes a few KiB on disk


def _replaced(entries, name, content):
    return [(entry, content if entry == name else data) for entry, data in entries]


@pytest.mark.parametrize("where", ["an entry that nothing names", "a weight's entry",
                                   "the description"])
def test_a_small_file_that_declares_a_huge_entry_is_refused_before_decompressing(where, saved):
    entries = _entries(saved)
    if where == "an entry that nothing names":
        entries.append(("padding.npy", _zeros_after(_header("<f4", (BOMB // 4,)), BOMB)))
        message = r"arrays that no setting names: 'padding'"
    elif where == "a weight's entry":
        entries = _replaced(entries, "0.Linear.weight.npy",
                            _zeros_after(_header("<f4", (4, 3)), BOMB))
        message = r"0.Linear.weight declares \d+ bytes, more than the \d+ it may take"
    else:
        entries = _replaced(entries, f"{METADATA}.npy",
                            _zeros_after(_header(f"<U{BOMB // 4}", ()), BOMB))
        message = r"not a readable zen checkpoint .*__metadata__ declares \d+ bytes"
    path = _zip(saved.parent / "bomb.npz", entries, zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < BOMB // 100
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=message):
            Model.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < BOMB // 16, f"refusing the file took {peak} bytes"


def test_an_entry_whose_size_its_header_contradicts_is_refused(saved):
    entries = _entries(saved)
    weight = dict(entries)["0.Linear.weight.npy"]
    for content in (weight + bytes(8), weight[:-8]):
        path = _zip(saved.parent / "sized.npz", _replaced(entries, "0.Linear.weight.npy", content))
        with pytest.raises(CheckpointError, match=r"0.Linear.weight declares \d+ bytes, but a "
                                                  r"float32 array of shape \(4, 3\) takes"):
            Model.load(path)


def test_an_entry_named_twice_is_refused(saved):
    entries = _entries(saved)
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = _zip(saved.parent / "twice.npz", entries + [entries[1]])
    with pytest.raises(CheckpointError, match=r"not a readable .*holds the entry "
                                              r"'0.Linear.weight' twice"):
        Model.load(path)


def test_a_damaged_entry_fails_its_checksum(saved):
    data = bytearray(saved.read_bytes())
    weight = _npy(_contents(saved)[1]["0.Linear.weight"])
    data[data.index(weight) + len(weight) - 1] ^= 0xFF
    (saved.parent / "flipped.npz").write_bytes(data)
    with pytest.raises(CheckpointError, match=r"not a readable zen checkpoint .*Bad CRC-32"):
        Model.load(saved.parent / "flipped.npz")


def test_weights_in_big_endian_or_fortran_order_load(saved):
    info, arrays = _contents(saved)
    arrays = {name: numpy.asfortranarray(array.astype(array.dtype.newbyteorder(">")))
              for name, array in arrays.items()}
    loaded = Model.load(_write(saved.parent / "other-order.npz", info, arrays))
    x = numpy.ones((1, 4))
    numpy.testing.assert_array_equal(loaded(x).numpy(), Model.load(saved)(x).numpy())


def test_loads_keep_zens_random_numbers_and_a_float64_model_stays_float64(tmp_path):
    zen.set_default_dtype("float64")
    path = tmp_path / "double.npz"
    _built("cpu").save(path)
    zen.set_default_dtype("float32")
    generator = zen.random.generator().get_state()
    loaded, unbuilt = Model.load(path), Model(_layers()).load_weights(path)
    built = _built("cpu")
    generator = zen.random.generator().get_state()
    built.load_weights(path)
    assert zen.random.generator().get_state() == generator
    assert {str(p.dtype) for p in loaded.parameters() + unbuilt.parameters()} == {"float64"}
    assert {str(p.dtype) for p in built.parameters()} == {"float32"}     # a built model's own


def _version_1(path, model_path):
    """The file zen's format version 1 would have written for the same model: the same
    arrays, and no input shape."""
    info, arrays = _contents(model_path)
    return _write(path, {"format": "zen.Model", "version": 1, "layers": info["layers"]}, arrays)


def test_version_1_files_still_load(saved, device):
    old = _version_1(saved.parent / "old.npz", saved)
    x = numpy.random.default_rng(0).normal(size=(3, 4))
    expected = Model.load(saved)(x).numpy()
    for model in (Model.load(old, device=device), Model(_layers(), device=device),
                  _built(device)):
        model.load_weights(old)
        numpy.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-6)
    loaded = Model.load(old)
    with pytest.raises(CheckpointError, match=r"does not know its input shape.*call it on a"):
        loaded.save(saved.parent / "again.npz")
    loaded(x)       # now it knows
    loaded.save(saved.parent / "again.npz")
    assert _contents(saved.parent / "again.npz")[0]["version"] == 2


def test_a_version_1_file_is_checked_against_the_model_at_hand(saved):
    info, arrays = _contents(saved)
    old = saved.parent / "old.npz"
    for name, value, message in [
            ("0.Linear.weight", numpy.zeros((5, 3), numpy.float32),
             r"does not match this model: 0.Linear.weight has shape \(5, 3\), not \(4, 3\)"),
            ("1.ReLU.weight", numpy.zeros(3), r"no setting names: '1.ReLU.weight'"),
            ("0.Linear.bias", numpy.zeros(3, numpy.int32), r"dtype int32, which is not real")]:
        _write(old, {"format": "zen.Model", "version": 1, "layers": info["layers"]},
               {**arrays, name: value})
        model = _built("cpu")
        before = _snapshot(model)
        with pytest.raises(CheckpointError, match=message):
            model.load_weights(old)
        _assert_unchanged(model, before)
    for name in ("0.Linear.__dict__", "1.Linear.weight", "7.Linear.weight"):
        # Into an unbuilt model, the names must at least be weights of the model's layers.
        with pytest.raises(CheckpointError, match=rf"'{name}' names no weight of this model"):
            Model.load(_write(old, {"format": "zen.Model", "version": 1,
                                    "layers": info["layers"]}, {**arrays, name: numpy.zeros(3)}))


def test_a_dropout_model_builds_for_its_checks_without_drawing_from_zens_generator(tmp_path):
    zen.seed(1)
    model = Model([Linear(8), Dropout(0.5), Linear(2)])
    model.train(numpy.ones((8, 4)), numpy.ones((8, 2)), epochs=1, verbose=False)
    model.save(tmp_path / "dropout.npz")
    generator = zen.random.generator().get_state()
    Model([Linear(8), Dropout(0.5), Linear(2)]).load_weights(tmp_path / "dropout.npz")
    assert zen.random.generator().get_state() == generator
