"""Checkpoints: a model's weights, buffers and layer settings, and where its training stands,
in one ``.npz`` file of plain arrays and a JSON description (no pickles).

The description holds the format's name and version, the input shape the model was built
for (one example's, without the batch axis), each layer's class name and settings and, in a
training checkpoint, the position in training, the optimiser's step counts, zen's random
state, and the facts of the run: examples per step and the data's shapes and dtypes. The
arrays are the weights and buffers (``0.Linear.weight``), the optimiser's state
(``optimizer/0.first``, for the model's first parameter) and, mid-epoch, that epoch's order
of examples (``training/order``).

Loading works out from the description alone which arrays the file must hold, with their
shapes (from a throwaway copy of the model built for the stored input shape, unless the
model at hand was built for it), checks every entry of the file against that and every field
of the training state against its schema, and only then sets anything: a refused file
leaves the model, the optimiser and zen's random numbers as they were. The byte-level work
(atomic writes, reading zip entries within their declared sizes) is ``backends.host``'s.
This module takes model objects and never imports ``zen.nn``.
"""

import collections
import contextlib
import copy
import itertools
import json
import math
import os
import re

import backends
from zen import devices, random
from zen.errors import ArgumentError, CheckpointError
from zen.recorder import mark_modified
from zen.tensor import Tensor

FORMAT = "zen.Model"
VERSION = 2
OPTIMIZER = "optimizer/"        # the prefix of the optimiser's arrays
ORDER = "training/order"        # the epoch's order of examples, saved mid-epoch only
_WEIGHT_NAME = re.compile(r"(\d+)\.([A-Za-z_]\w*)\.([A-Za-z]\w*)")   # 0.Linear.weight
_STATE_KEY = re.compile(r"(\d+)\.([A-Za-z]\w*)")                     # 0.first

Position = collections.namedtuple("Position", "epoch batch order partial history generator")
Position.__doc__ = """Where a resumed training run stands: the epoch, the next batch in it,
that epoch's order of examples (None at an epoch's start), the loss summed over its finished
batches, the history of finished epochs, and zen's random state after the last finished
step."""


class RunFacts:
    """What a training checkpoint records of its run, and what a resume must match: the
    examples per step (batch size times processes) and the data's shapes and dtypes."""

    def __init__(self, x, y, step_rows):
        self.step_rows = step_rows
        self.data = {"examples": x.shape[0], "x": _describe(x), "y": _describe(y)}


def _describe(tensor):
    return {"shape": list(tensor.shape), "dtype": tensor.backend.dtype_name(tensor.dtype)}


# Saving.

def save(model, path, training=None, extra_arrays=()):
    """Write ``model``'s weights, buffers and settings (and a ``training`` state with its
    ``extra_arrays``, ``(name, host array)`` pairs) to ``path``, atomically and one array at
    a time."""
    path = checked_path("save", path)
    if not model.named_parameters():
        raise CheckpointError("save: the model has no parameters yet; call it on a batch "
                              "(or train it) first")
    if model.input_shape is None:
        raise CheckpointError("save: the model does not know its input shape (its layers were "
                              "built outside it, or it was loaded from a version-1 file and "
                              "has not run since); call it on a batch first")
    info = {"format": FORMAT, "version": VERSION, "input_shape": list(model.input_shape),
            "layers": layer_specs(model, "save")}
    if training is not None:
        info["training"] = training
    arrays = ((name, tensor.numpy()) for name, tensor in _tensors(model).items())
    try:
        backends.save_arrays(path, itertools.chain(arrays, extra_arrays), json.dumps(info))
    except OSError as error:
        raise CheckpointError(f"save: cannot write {path} ({error.strerror or error}); "
                              f"the previous file, if any, is untouched") from error


def save_training(model, path, optimizer, state, run):
    """Write ``model`` and where its training stands (``state``: epoch, batch, order,
    generator, history, loss so far) with ``optimizer``'s state and ``run``'s facts."""
    values = optimizer.state_values(model.parameters())
    counters = {key: value for key, value in values.items() if isinstance(value, int)}
    arrays = [(OPTIMIZER + key, value) for key, value in values.items() if key not in counters]
    if state.order is not None:
        arrays.append((ORDER, state.order))
    # Mid-epoch, the generator as it was after the last finished step: a step cut short
    # may have drawn numbers (dropout) that the resumed run must draw again.
    generator = random.generator().get_state() if state.order is None else state.generator
    training = {"epoch": state.epoch, "batch": state.batch, "partial": state.loss_sum(),
                "history": state.history, "optimizer": type(optimizer).__name__,
                "settings": optimizer.settings(), "counters": counters,
                "generator": generator, "step_rows": run.step_rows, "data": run.data}
    host = ((name, model.backend.to_host(value)) for name, value in arrays)
    save(model, path, training, host)


def layer_specs(model, who):
    """Each layer's class name and settings, as JSON gives them back."""
    specs = [{"layer": type(layer).__name__, "config": layer.config} for layer in model.layers]
    for index, spec in enumerate(specs):
        try:
            json.dumps(spec["config"])
        except (TypeError, ValueError) as error:
            raise CheckpointError(f"{who}: layer {index} ({spec['layer']}) has settings that "
                                  f"are not JSON values ({error}); a layer's config must hold "
                                  f"numbers, strings, lists and dicts, so that Model.load can "
                                  f"rebuild it") from error
    return json.loads(json.dumps(specs))


def _tensors(model):
    return {**model.named_parameters(), **model.named_buffers()}


# Loading.

def load(path, make_model, layer_classes):
    """The model saved at ``path``: ``make_model(layers)`` of layers made from the file's
    settings by ``layer_classes`` (name -> class), built for its input shape, with its
    weights and buffers in the file's dtypes."""
    with _open(path, "load") as file:
        model = make_model(_make_layers(file, layer_classes))
        if file.version > 1:
            _build(model, file)
        arrays = _read_weights(model, file)
    _set_weights(model, file, arrays, adopt_dtypes=True)
    return model


def load_weights(model, path):
    """Set ``model``'s weights and buffers from ``path``, a file of the same layers. A built
    model keeps its dtypes; an unbuilt one is built and takes the file's."""
    with _open(path, "load") as file:
        _check_layers(model, file)
        unbuilt = not model.named_parameters()
        arrays = _read_weights(model, file)
    _set_weights(model, file, arrays, adopt_dtypes=unbuilt)
    return model


def resume(model, path, optimizer, run):
    """Set ``model`` (built), ``optimizer`` and zen's generator from the training checkpoint
    at ``path``, written by a run with the same facts as ``run``; return its Position."""
    with _open(path, "train") as file:
        _check_layers(model, file)
        training = _training_state(file, optimizer, run)
        parameters = model.parameters()
        expected = _expected_weights(model, file)
        expected.update(_optimizer_arrays(file, optimizer, parameters, training["counters"]))
        if ORDER in file.archive.names:
            expected[ORDER] = ((training["data"]["examples"],), "integral")
        _check_entries(file, expected)
        arrays = file.read_all(expected, "its own training state")
        order = arrays.pop(ORDER, None)
        if order is not None:
            _check_permutation(file, order)
    states = {name[len(OPTIMIZER):]: arrays.pop(name) for name in list(arrays)
              if name.startswith(OPTIMIZER)}
    _set_weights(model, file, arrays, adopt_dtypes=False)
    optimizer.load_state_values(parameters, {**_on_parameters(states, parameters),
                                             **training["counters"]})
    random.generator().set_state(training["generator"])
    backend = model.backend
    return Position(training["epoch"], training["batch"],
                    None if order is None else backend.asarray(order, backend.dtype("int64")),
                    training["partial"], training["history"],
                    None if order is None else training["generator"])


class _File:
    """An open checkpoint: its arrays (``archive``) and its checked description."""

    def __init__(self, path, who, archive):
        self.path, self.who, self.archive = path, who, archive
        self.size = os.path.getsize(path)
        text = archive.metadata()
        try:
            info = json.loads(text)
        except ValueError as error:
            raise _unreadable(who, path, error) from error
        if not isinstance(info, dict) or info.get("format") != FORMAT:
            raise _unreadable(who, path, "it carries no zen.Model description")
        self.version = info.get("version")
        if type(self.version) is not int or self.version not in _DESCRIPTIONS:
            raise CheckpointError(f"{who}: {path} is in checkpoint format version "
                                  f"{self.version!r}; this zen reads versions "
                                  f"{sorted(_DESCRIPTIONS)} (was it written by a newer zen?)")
        _check_fields(self, None, info, *_DESCRIPTIONS[self.version])
        for index, spec in enumerate(info["layers"]):
            _check_fields(self, f"layers[{index}]", spec, {"layer": _TEXT, "config": _OBJECT})
        self.info = info

    def damaged(self, problem):
        return CheckpointError(f"{self.who}: {self.path} is damaged: {problem}")

    def read_all(self, expected, against):
        """The ``expected`` arrays; a mismatch names what they were expected from."""
        try:
            return self.archive.read_all(expected)
        except backends.ArrayMismatchError as error:
            raise CheckpointError(f"{self.who}: {self.path} does not match {against}: "
                                  f"{error}") from error


def checked_path(who, path):
    """``path`` (a str or os.PathLike naming a file) as a str, or ArgumentError."""
    try:
        return os.fsdecode(os.fspath(path))
    except TypeError:
        raise ArgumentError(f"{who}: a checkpoint path must be a str or a pathlib.Path, got "
                            f"{type(path).__name__} {path!r:.60}") from None


@contextlib.contextmanager
def _open(path, who):
    path = checked_path(who, path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{who}: no checkpoint at {path}")
    try:
        with backends.ArrayFile(path) as archive:
            file = _File(path, who, archive)
            yield file
    except (backends.ArrayFileError, OSError) as error:
        raise _unreadable(who, path, error) from error


def _unreadable(who, path, error):
    detail = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return CheckpointError(f"{who}: {path} is not a readable zen checkpoint ({detail})")


def _check_layers(model, file):
    saved, mine = file.info["layers"], layer_specs(model, file.who)
    if saved != mine:
        advice = ("; to train this model from the start, pass resume=False (which overwrites "
                  "the file) or another checkpoint path" if file.who == "train" else "")
        raise CheckpointError(f"{file.who}: {file.path} holds another model: "
                              f"{_first_difference(saved, mine)}{advice}")


def _first_difference(saved, mine):
    """The first layer, or layer setting, in which a file's layers differ from a model's."""
    index, theirs, ours = next((index, theirs, ours) for index, (theirs, ours)
                               in enumerate(itertools.zip_longest(saved, mine))
                               if theirs != ours)
    if theirs is None or ours is None or theirs["layer"] != ours["layer"]:
        return f"its layer {index} is {_layer_name(theirs)}, not this model's {_layer_name(ours)}"
    settings, own = theirs["config"], ours["config"]
    name = next(name for name in sorted({**settings, **own})
                if name not in settings or name not in own or settings[name] != own[name])
    return (f"its layer {index} ({theirs['layer']}) has {_setting(settings, name)}, not this "
            f"model's {_setting(own, name)}")


def _layer_name(spec):
    return "absent" if spec is None else spec["layer"]


def _setting(config, name):
    """``name=value`` (as Python writes it, cut short), or ``no name``."""
    if name not in config:
        return f"no {name}"
    return f"{name}={_cut(repr(config[name]))}"


def _make_layers(file, layer_classes):
    layers = []
    for index, spec in enumerate(file.info["layers"]):
        name, config = spec["layer"], spec["config"]
        layer_class = layer_classes.get(name)
        if layer_class is None:
            raise CheckpointError(f"{file.who}: {file.path} holds a layer {name!r} (layer "
                                  f"{index}) that zen does not know; if it is your own, pass "
                                  f"its class: Model.load(path, custom_layers=[{name}])")
        try:
            layers.append(layer_class(**config))
        except Exception as error:  # any layer's reply to settings from a file
            raise file.damaged(f"layer {index} ({name}) cannot be made from its settings "
                               f"{config}: {type(error).__name__}: {error}") from error
    return layers


def _build(model, file):
    """Create ``model``'s weights for the file's input shape (one example, not recorded),
    drawing from a throwaway generator, so zen's own is left as it was."""
    shape = tuple(file.info["input_shape"])
    try:
        with random.using(_ScratchGenerator(file.size)):
            model.build(shape)
    except _TooManyNumbers as error:
        raise file.damaged(str(error)) from error
    except Exception as error:  # any layer's reply to settings from a file
        raise file.damaged(f"its layers' settings do not build a model for inputs of shape "
                           f"{shape}: {type(error).__name__}: {error}") from error


class _TooManyNumbers(Exception):
    pass


class _ScratchGenerator:
    """Random numbers for building a model from a file's settings, up to one number per byte
    of the file: the file holds each weight, so settings that need more numbers than that do
    not describe it (and could otherwise make a small file fill the memory)."""

    def __init__(self, limit):
        self._generator, self._left = backends.Generator(0), limit

    def uniform(self, low, high, shape):
        return self._generator.uniform(low, high, self._spend(shape))

    def normal(self, mean, std, shape):
        return self._generator.normal(mean, std, self._spend(shape))

    def permutation(self, count):
        return self._generator.permutation(self._spend(count))

    def get_state(self):
        return self._generator.get_state(), self._left

    def set_state(self, state):
        inner, self._left = state
        self._generator.set_state(inner)

    def _spend(self, shape):
        self._left -= math.prod(shape) if isinstance(shape, (tuple, list)) else shape
        if self._left < 0:
            raise _TooManyNumbers("its layers' settings imply more weights than the file has "
                                  "bytes")
        return shape


def _read_weights(model, file):
    expected = _expected_weights(model, file)
    _check_entries(file, expected)
    against = ("this model" if file.version == 1 and model.named_parameters()
               else "its own settings")
    return file.read_all(expected, against)


def _expected_weights(model, file):
    """``{name: (shape, kind)}`` of the weights and buffers the file must hold."""
    mine = _shapes(model)
    if file.version == 1:      # no input shape: only the model at hand can say
        return mine if mine else _version_1_weights(model, file)
    input_shape = tuple(file.info["input_shape"])
    if mine and model.input_shape == input_shape:
        return mine     # what the file's settings imply, as they are the model's
    layer_classes = {type(layer).__name__: type(layer) for layer in model.layers}
    scratch = type(model)(_make_layers(file, layer_classes), device="cpu")
    _build(scratch, file)
    implied = _shapes(scratch)
    if mine and mine != implied:
        name = next(name for name in sorted({**mine, **implied})
                    if mine.get(name) != implied.get(name))
        raise CheckpointError(f"{file.who}: {file.path} holds a model built for inputs of "
                              f"shape {input_shape}, whose {name} is "
                              f"{_shape_of(implied, name)}, not this model's "
                              f"{_shape_of(mine, name)}")
    return implied


def _shapes(model):
    return {name: (tensor.shape, "real floating" if tensor.backend.is_floating(tensor.dtype)
                   else "integral") for name, tensor in _tensors(model).items()}


def _shape_of(shapes, name):
    return shapes[name][0] if name in shapes else "absent"


def _version_1_weights(model, file):
    """A version-1 file loaded into an unbuilt model: each array must name a layer of the
    model by index and class, and a weight by a plain name; its shape is the file's own."""
    expected = {}
    for name in file.archive.names - {backends.host.METADATA}:
        if _training_entry(file, name):
            continue
        match = _WEIGHT_NAME.fullmatch(name)
        if not (match and int(match[1]) < len(model.layers)
                and match[2] == type(model.layers[int(match[1])]).__name__):
            raise file.damaged(f"{name!r} names no weight of this model's layers")
        expected[name] = (None, "real floating")
    return expected


def _check_entries(file, expected):
    """Refuse a file that lacks an expected array or holds one that nothing names."""
    names = file.archive.names - {backends.host.METADATA}
    missing = sorted(set(expected) - names)
    if missing:
        raise file.damaged(f"it lacks {', '.join(missing[:5])}, which its settings imply")
    unknown = sorted(name for name in names - set(expected) if not _training_entry(file, name))
    if unknown:
        raise file.damaged(f"it holds arrays that no setting names: "
                           f"{', '.join(map(repr, unknown[:5]))}")


def _training_entry(file, name):
    return "training" in file.info and (name == ORDER or name.startswith(OPTIMIZER))


def _set_weights(model, file, arrays, adopt_dtypes):
    """Set the model's weights and buffers to ``arrays``, all checked; an unbuilt model is
    built first (a version-1 file's arrays become its weights as they are)."""
    if not model.named_parameters():
        if file.version == 1:
            for name, array in arrays.items():
                index, _, weight = name.split(".", 2)
                model.layers[int(index)].weights[weight] = Tensor(array, device=model.backend)
            return
        _build(model, file)
    tensors = _tensors(model)
    for name, array in arrays.items():
        tensor = tensors[name]
        tensor.value = model.backend.asarray(array, None if adopt_dtypes else tensor.dtype)
        mark_modified(tensor)


# The training state.

def _training_state(file, optimizer, run):
    """The file's training state, checked field by field and against this run."""
    training = file.info.get("training")
    if training is None:
        raise CheckpointError(f"train: {file.path} holds a model but no training state to "
                              f"resume; pass resume=False to start afresh from it")
    _check_fields(file, "training", training, *_TRAINING[file.version])
    if file.version > 1:
        _check_fields(file, "training.data", training["data"], _DATA)
        for name in ("x", "y"):
            _check_fields(file, f"training.data.{name}", training["data"][name], _ARRAY)
    losses = training["history"].get("loss")
    if losses is None or len(losses) != training["epoch"]:
        raise file.damaged(f"training.history.loss should hold one loss for each of the "
                           f"{training['epoch']} finished epochs, not {losses!r}")
    _check_run(file, training, optimizer, run)
    try:
        random.generator().check_state(training["generator"])
    except ValueError as error:
        raise file.damaged(f"training.generator is {error}") from error
    return training


def _check_run(file, training, optimizer, run):
    """Refuse to resume a run other than the one that wrote the file."""
    mid_epoch, epoch, batch = ORDER in file.archive.names, training["epoch"], training["batch"]
    if batch and not mid_epoch:
        raise file.damaged(f"training.batch is {batch}, but the file holds no order of "
                           f"examples for that epoch")
    if mid_epoch and file.version == 1:
        raise CheckpointError(
            f"train: {file.path} was written by an older zen (checkpoint format version 1), "
            f"which did not record the data it trained on, and it stopped in the middle of "
            f"epoch {epoch + 1}: resuming there could skip or repeat examples. Resume it with "
            f"the zen that wrote it, or start from its weights: model.load_weights(path), "
            f"then train with resume=False")
    if training["optimizer"] != type(optimizer).__name__:
        raise CheckpointError(f"train: {file.path} was trained with {training['optimizer']}, "
                              f"not {type(optimizer).__name__}")
    settings = json.loads(json.dumps(optimizer.settings()))
    if file.version > 1 and training["settings"] != settings:
        raise CheckpointError(f"train: {file.path} was trained with {training['optimizer']} "
                              f"{training['settings']}, not {settings}; a checkpoint resumes "
                              f"only the run that wrote it (to change the optimiser, start "
                              f"from its weights: model.load_weights(path), resume=False)")
    if file.version > 1 and training["data"] != run.data:
        raise CheckpointError(
            f"train: {file.path} was trained on {_data_text(training['data'])}, not on this "
            f"call's {_data_text(run.data)}; a checkpoint resumes only the run that wrote it. "
            f"To fine-tune on new data, start from its weights: model.load_weights(path), "
            f"then train with resume=False")
    saved_rows = training.get("step_rows", run.step_rows)
    if mid_epoch and saved_rows != run.step_rows:
        raise CheckpointError(f"train: {file.path} stopped {batch} steps into epoch "
                              f"{epoch + 1}, at {saved_rows} examples a step; this run takes "
                              f"{run.step_rows} (batch_size times the number of processes), "
                              f"which would skip or repeat examples: resume with the same "
                              f"batch_size and processes")
    steps = math.ceil(run.data["examples"] / run.step_rows)
    if batch > steps:
        raise file.damaged(f"training.batch is {batch}, past the {steps} steps of an epoch")


def _data_text(data):
    return (f"x of shape {tuple(data['x']['shape'])} {data['x']['dtype']} and y of shape "
            f"{tuple(data['y']['shape'])} {data['y']['dtype']}")


def _optimizer_arrays(file, optimizer, parameters, counters):
    """``{name: (shape, kind)}`` of the optimiser's arrays in the file, each of a state that
    ``optimizer`` keeps, for one of ``parameters``; every parameter with a state must have
    all of it."""
    layout = _optimizer_layout(optimizer)
    held, expected = {}, {}
    arrays = [name[len(OPTIMIZER):] for name in file.archive.names if name.startswith(OPTIMIZER)]
    for key, is_array in [(key, True) for key in arrays] + [(key, False) for key in counters]:
        match = _STATE_KEY.fullmatch(key)
        if not (match and int(match[1]) < len(parameters) and layout.get(match[2]) is is_array):
            what = "array" if is_array else "step count"
            raise file.damaged(f"the optimiser {what} {key!r} is not one that "
                               f"{type(optimizer).__name__} keeps for one of the model's "
                               f"{len(parameters)} parameters")
        held.setdefault(int(match[1]), set()).add(match[2])
        if is_array:
            expected[OPTIMIZER + key] = (parameters[int(match[1])].shape, "real floating")
    for index, names in sorted(held.items()):
        if names != set(layout):
            raise file.damaged(f"the optimiser state of parameter {index} holds "
                               f"{sorted(names)}, not {type(optimizer).__name__}'s "
                               f"{sorted(layout)}")
    return expected


def _optimizer_layout(optimizer):
    """What ``optimizer`` keeps for each parameter, ``{name: is an array}`` (not: a step
    count), as one update of a throwaway parameter by a copy of it shows."""
    backend = devices.get_backend("cpu")
    probe = Tensor(backend.xp.zeros((2,), dtype=backend.dtype("float32")))
    state = {}
    copy.copy(optimizer).update(probe, backend.xp.zeros((2,), dtype=probe.dtype), state)
    return {name: not isinstance(value, int) for name, value in state.items()}


def _on_parameters(states, parameters):
    """The optimiser's arrays on their parameters' devices, in their dtypes."""
    on_device = {}
    for key, array in states.items():
        parameter = parameters[int(key.split(".", 1)[0])]
        on_device[key] = parameter.backend.asarray(array, parameter.dtype)
    return on_device


def _check_permutation(file, order):
    xp = devices.get_backend("cpu").xp
    if not bool(xp.all(xp.sort(order) == xp.arange(order.shape[0]))):
        raise file.damaged("training/order is not an order of the examples (each once)")


# Schemas: a field's description and its test.

def _check_fields(file, where, record, required, optional=None):
    """Refuse ``record`` (found at ``where``; None: the description itself) unless it is an
    object with each ``required`` field, no field but those and the ``optional`` ones, and
    each field passing its test."""
    optional = optional or {}
    name = where or "the description"
    if type(record) is not dict:
        raise file.damaged(f"{name} should be an object, not {_short(record)}")
    missing = [key for key in required if key not in record]
    unknown = [key for key in record if key not in required and key not in optional]
    if missing or unknown:
        raise file.damaged(f"{name} " + "; ".join(
            part for part in (missing and f"lacks {', '.join(missing)}",
                              unknown and f"has unknown fields {unknown}") if part))
    for key, (description, test) in {**required, **optional}.items():
        if key in record and not test(record[key]):
            field = f"{where}.{key}" if where else key
            raise file.damaged(f"{field} should be {description}, not {_short(record[key])}")


def _short(value):
    return _cut(json.dumps(value) if _is_json(value) else repr(value))


def _cut(text):
    return text if len(text) <= 80 else text[:77] + "..."


def _is_json(value):
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _list_of(item):
    description, test = item
    return (f"a list, each item {description}",
            lambda value: type(value) is list and all(test(entry) for entry in value))


def _mapping_of(item):
    description, test = item
    return (f"an object, each value {description}",
            lambda value: type(value) is dict and all(test(entry) for entry in value.values()))


_COUNT = ("a whole number >= 0", lambda value: type(value) is int and value >= 0)
_POSITIVE = ("a whole number >= 1", lambda value: type(value) is int and value >= 1)
_NUMBER = ("a number", lambda value: type(value) in (int, float))
_TEXT = ("a string", lambda value: type(value) is str)
_OBJECT = ("an object", lambda value: type(value) is dict)
_ANY = ("anything", lambda value: True)

_LAYERS = ("a list of layers", lambda value: type(value) is list)
_DESCRIPTIONS = {       # version -> (required fields, optional fields)
    1: ({"format": _TEXT, "version": _COUNT, "layers": _LAYERS}, {"training": _ANY}),
    2: ({"format": _TEXT, "version": _COUNT, "input_shape": _list_of(_POSITIVE),
         "layers": _LAYERS}, {"training": _ANY}),
}
_TRAINING_FIELDS = {"epoch": _COUNT, "batch": _COUNT, "partial": _NUMBER,
                    "history": _mapping_of(_list_of(_NUMBER)), "optimizer": _TEXT,
                    "counters": _mapping_of(_COUNT), "generator": _ANY}
_TRAINING = {           # version -> (required fields, optional fields)
    1: (_TRAINING_FIELDS, {"step_rows": _POSITIVE}),
    2: ({**_TRAINING_FIELDS, "step_rows": _POSITIVE, "data": _OBJECT, "settings": _OBJECT},
        {}),
}
_DATA = {"examples": _COUNT, "x": _OBJECT, "y": _OBJECT}
_ARRAY = {"shape": _list_of(_COUNT), "dtype": _TEXT}
