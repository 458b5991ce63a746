"""Model.train, evaluate and predict with settings and data that cannot work, class targets
of every kind, models built before training, failed first calls, and Ctrl-C at the end of
training: each on every backend."""

import collections
import functools
import inspect
import json
import signal

import numpy
import pytest

import backends
import zen
import zen.training
from test_nn import MODELS
from zen.errors import ArgumentError, DataError, NotBuiltError, ShapeMismatchError
from zen.nn import LSTM, RNN, Conv2D, Dropout, Flatten, Linear, MaxPool2D, Model, ReLU, Softmax
from zen.optim import Adam

SCE = zen.loss.softmax_cross_entropy


def _data(rows=24, features=4, classes=3, seed=0):
    rng = numpy.random.default_rng(seed)
    x = rng.normal(size=(rows, features)).astype(numpy.float32)
    return x, numpy.argmax(x[:, :classes], axis=1)


X, Y = _data()


def _snapshot(model):
    return {name: p.numpy().copy() for name, p in model.named_parameters().items()}


def _assert_same_parameters(first, second):
    assert first.keys() == second.keys()
    for name in first:
        numpy.testing.assert_array_equal(first[name], second[name], err_msg=name)


def _built(device, seed=0):
    zen.seed(seed)
    return Model([Linear(5), ReLU(), Linear(3)], device=device, input_shape=(4,))


# Layer settings that cannot work, refused when the layer is made.
BAD_LAYERS = [
    (lambda: Linear(0), r"Linear: units must be a positive int, got 0"),
    (lambda: Linear(-3), r"Linear: units .* got -3"),
    (lambda: Linear(2.5), r"Linear: units .* got 2.5"),
    (lambda: Linear("3"), r"Linear: units .* got '3'"),
    (lambda: Linear(3, use_bias="no"), r"Linear: use_bias must be True or False"),
    (lambda: Linear(3, init="xavier"), r"Linear: init must be 'glorot' or 'he', got 'xavier'"),
    (lambda: RNN(0, 4), r"RNN: units must be a positive int, got 0"),
    (lambda: RNN(1, 0), r"RNN: hidden_dim must be a positive int, got 0"),
    (lambda: RNN(1, 4, return_sequences="yes"), r"RNN: return_sequences must be True or"),
    (lambda: LSTM(0), r"LSTM: units must be a positive int, got 0"),
    (lambda: LSTM(-1), r"LSTM: units .* got -1"),
    (lambda: Conv2D(0, 3), r"Conv2D: filters must be a positive int, got 0"),
    (lambda: Conv2D(2, 0), r"Conv2D: kernel_size must be a positive int or a pair"),
    (lambda: Conv2D(2, (3, -1)), r"Conv2D: kernel_size .* got \(3, -1\)"),
    (lambda: Conv2D(2, 3, strides=0), r"Conv2D: strides must be a positive int or a pair"),
    (lambda: Conv2D(2, 3, padding=-1), r"Conv2D: padding must be .*a non-negative int.*-1"),
    (lambda: Conv2D(2, 3, padding="full"), r"Conv2D: padding must be 'valid', 'same'"),
    (lambda: MaxPool2D(0), r"MaxPool2D: pool_size must be a positive int"),
    (lambda: MaxPool2D(2, strides=0), r"MaxPool2D: strides must be a positive int"),
    (lambda: Dropout("0.5"), r"Dropout: rate must be a number in \[0, 1\), got '0.5' \(str\)"),
    (lambda: Softmax(axis=1.5), r"Softmax: axis must be an int, got 1.5"),
    (lambda: Model([Linear]), r"Model: layers\[0\] is the class Linear, not a layer"),
    (lambda: Model([Linear(2), abs]), r"Model: layers\[1\] is <built-in function abs>"),
]


@pytest.mark.parametrize("make, message", BAD_LAYERS, ids=[m for _, m in BAD_LAYERS])
def test_layer_settings_are_checked_when_the_layer_is_made(make, message):
    with pytest.raises(ArgumentError, match=message):
        make()


def test_numpy_integer_settings_are_plain_ints_in_the_saved_settings(tmp_path):
    model = Model([Linear(numpy.int64(3))], input_shape=(numpy.int64(2),))
    model.save(tmp_path / "model.npz")
    assert Model.load(tmp_path / "model.npz").layers[0].config["units"] == 3


# Inputs a layer cannot build for, or run on: a clear error, never a raw one or None.
BAD_INPUTS = [
    (lambda: RNN(2, 3), (2, 0, 4), r"RNN: needs at least one time step, got .*\(2, 0, 4\)"),
    (lambda: LSTM(2), (2, 0, 4), r"LSTM: needs at least one time step"),
    (lambda: LSTM(2), (2, 4), r"LSTM: needs input \(batch, time, features\), got \(2, 4\)"),
    (lambda: Linear(2), (3, 0), r"Linear: input of shape \(3, 0\) has no features"),
    (lambda: RNN(2, 3), (2, 5, 0), r"RNN: input of shape \(2, 5, 0\) has no features"),
    (lambda: Conv2D(2, 3), (2, 0, 5, 5), r"Conv2D: input of shape .* has no channels"),
    (lambda: Conv2D(2, 3), (2, 5, 5), r"Conv2D: needs input \(batch, channels, height, width"),
    (lambda: Conv2D(2, 3), (2, 1, 2, 2), r"conv2d: window \(3, 3\) .*is larger"),
]


@pytest.mark.parametrize("make, shape, message", BAD_INPUTS, ids=[m for *_, m in BAD_INPUTS])
def test_layers_refuse_inputs_they_cannot_use_and_stay_unbuilt(make, shape, message, device):
    layer = make()
    with pytest.raises(ShapeMismatchError, match=message):
        layer(zen.Tensor(numpy.ones(shape), device=device))
    assert not layer.built and layer.weights == {}


# A failed first call leaves every layer unbuilt and zen's generator where it was, so the
# next call builds what it would have built had the failed one never happened.
FIRST_CALLS = {   # name -> (layers, a wrong input's shape, the right one's)
    "RNN then Linear (the report's)": (lambda: [RNN(15, hidden_dim=64), Linear(1)],
                                       (4, 15), (4, 15, 1)),
    "Linear then RNN": (lambda: [Linear(8), RNN(1, 4)], (4, 6), (4, 5, 6)),
    "LSTM then Linear": (lambda: [LSTM(4), Linear(1)], (4, 6), (4, 5, 6)),
    "Conv2D, Flatten, Linear": (lambda: [Conv2D(2, 3), Flatten(), Linear(2)],
                                (2, 1, 2, 2), (2, 1, 5, 5)),
    "Linear, Dropout, Conv2D": (lambda: [Linear(4), Dropout(0.5), Conv2D(1, 1)],
                                (3, 4), (3, 1, 2, 4)),
}


def _first_call_then(device, name, wrong):
    layers, wrong_shape, right_shape = FIRST_CALLS[name]
    zen.seed(5)
    model = Model(layers(), device=device)
    for layer in model.layers:
        layer.training = True       # so that a Dropout draws numbers in the failed call too
    if wrong:
        with pytest.raises(ShapeMismatchError):
            model(numpy.ones(wrong_shape))
        assert not model.built and all(layer.weights == {} for layer in model.layers)
    model(numpy.ones(right_shape))
    return _snapshot(model), zen.random.generator().uniform(0, 1, (3,))


@pytest.mark.parametrize("name", FIRST_CALLS)
def test_a_failed_first_call_leaves_the_model_as_if_it_never_happened(name, device):
    after_failure, draws_after_failure = _first_call_then(device, name, wrong=True)
    straight, draws = _first_call_then(device, name, wrong=False)
    _assert_same_parameters(after_failure, straight)
    numpy.testing.assert_array_equal(draws_after_failure, draws)


# Building a model before training.
@pytest.mark.parametrize("name", MODELS)
def test_a_built_model_has_the_parameters_a_first_call_would_give(name, device, rng):
    """Model(layers, input_shape=...) and model.build draw exactly what a lazy first call
    draws; the optimiser can then be made the README's way and trains the same."""
    layers, data, loss = MODELS[name]
    x, y = data(rng)
    histories, parameters = [], []
    for how in ("lazily", "input_shape", "build"):
        zen.seed(0)
        if how == "lazily":
            model = Model(layers(), device=device)
            optimizer = Adam(lr=0.02)
        else:
            model = (Model(layers(), device, input_shape=x.shape[1:]) if how == "input_shape"
                     else Model(layers(), device).build(x.shape[1:]))
            optimizer = Adam(model.parameters(), lr=0.02)
        histories.append(model.train(x, y, epochs=2, loss_fn=loss, optimizer=optimizer,
                                     batch_size=16, verbose=False))
        parameters.append(_snapshot(model))
    assert histories[0] == histories[1] == histories[2]
    _assert_same_parameters(parameters[0], parameters[1])
    _assert_same_parameters(parameters[0], parameters[2])


def test_an_unbuilt_model_says_how_to_build_it(device):
    model = Model([Linear(4), ReLU(), Linear(2)], device=device)
    with pytest.raises(NotBuiltError, match=r"layer\(s\) 0 \(Linear\), 2 \(Linear\) .*"
                                            r"input_shape=.*model.build\(input_shape\)"):
        Adam(model.parameters(), lr=1e-3)
    assert Model([ReLU()], device=device).parameters() == []      # nothing to build
    assert len(model.build((3,)).parameters()) == 4


@pytest.mark.parametrize("input_shape, error, message", [
    (64, ArgumentError, r"build: input_shape must be a tuple of positive ints.*got 64"),
    ((0,), ArgumentError, r"build: input_shape .* got \(0,\)"),
    ((4, -1), ArgumentError, r"build: input_shape"),
    (("64",), ArgumentError, r"build: input_shape"),
    ((4,), ShapeMismatchError, r"RNN: needs input \(batch, time, features\), got \(1, 4\)"),
    ((), ArgumentError, r"build: input_shape .* got \(\)"),
    ((10 ** 12, 10 ** 12), ArgumentError, r"build: one example of input_shape .* does not fit"),
], ids=["int", "zero", "negative", "string", "wrong rank", "empty", "huge"])
def test_build_refuses_shapes_that_cannot_work_and_stays_unbuilt(input_shape, error, message,
                                                                 device):
    model = Model([RNN(2, 3), Linear(1)], device=device)
    with pytest.raises(error, match=message):
        model.build(input_shape)
    assert not model.built
    with pytest.raises(error, match=message.replace("build:", "Model:")):
        Model([RNN(2, 3), Linear(1)], device=device, input_shape=input_shape)


# Settings train, evaluate and predict refuse before touching anything.
BAD_SETTINGS = [
    ("batch_size -1", dict(batch_size=-1), r"train: batch_size must be a positive int, got -1"),
    ("batch_size 0", dict(batch_size=0), r"train: batch_size must be a positive int, got 0"),
    ("batch_size 2.5", dict(batch_size=2.5), r"train: batch_size must be a positive int, got 2.5"),
    ("batch_size True", dict(batch_size=True), r"train: batch_size .* got True"),
    ("batch_size '32'", dict(batch_size="32"), r"train: batch_size .* got '32'"),
    ("epochs -1", dict(epochs=-1), r"train: epochs must be a non-negative int, got -1"),
    ("epochs 1.5", dict(epochs=1.5), r"train: epochs .* got 1.5"),
    ("epochs None", dict(epochs=None), r"train: epochs .* got None"),
    ("log_every -5", dict(log_every=-5), r"train: log_every must be a non-negative int"),
    ("log_every 0.5", dict(log_every=0.5), r"train: log_every .* got 0.5"),
    ("shuffle 'batch'", dict(shuffle="batch"), r"train: shuffle must be True or False"),
    ("verbose 2", dict(verbose=2), r"train: verbose must be True or False, got 2"),
    ("loss name", dict(loss_fn="mse"), r"train: loss_fn must be a function .* got 'mse'"),
    ("optimiser class", dict(optimizer=Adam), r"train: optimizer .* got the class Adam"),
    ("optimiser name", dict(optimizer="adam"), r"train: optimizer .* got 'adam'"),
    ("validation array", dict(validation_data=X),
     r"train: validation_data must be a pair \(x, y\), got an object of type ndarray"),
    ("validation triple", dict(validation_data=(X, Y, Y)),
     r"train: validation_data must be a pair \(x, y\), got a tuple of 3"),
    ("checkpoint 5", dict(checkpoint=5), r"train: a checkpoint path must be a str .* got int 5"),
    ("resume 'yes'", dict(resume="yes"), r"train: resume must be True or False, got 'yes'"),
    ("distributed 'yes'", dict(distributed="yes"),
     r"train: distributed must be True, False or a zen.distributed.Communicator, got 'yes'"),
]


@pytest.mark.parametrize("settings, message", [case[1:] for case in BAD_SETTINGS],
                         ids=[case[0] for case in BAD_SETTINGS])
def test_train_refuses_bad_settings_by_name_and_changes_nothing(settings, message, device):
    model = _built(device)
    before = _snapshot(model)
    with pytest.raises(ArgumentError, match=message):
        model.train(X, Y, **{"loss_fn": SCE, "verbose": False, **settings})
    _assert_same_parameters(_snapshot(model), before)


@pytest.mark.parametrize("call, message", [
    (lambda m: m.evaluate(X, Y, loss_fn=SCE, batch_size=0), r"evaluate: batch_size .* got 0"),
    (lambda m: m.evaluate(X, Y, loss_fn=None), r"evaluate: loss_fn .* got None"),
    (lambda m: m.predict(X, batch_size=-2), r"predict: batch_size .* got -2"),
    (lambda m: m.predict(X, batch_size=1.0), r"predict: batch_size .* got 1.0"),
], ids=["evaluate batch_size", "evaluate loss", "predict batch_size", "predict float"])
def test_evaluate_and_predict_refuse_bad_settings(call, message, device):
    with pytest.raises(ArgumentError, match=message):
        call(_built(device))


def test_train_defaults_to_the_original_zens_settings_but_shuffles(device):
    """10 epochs of MSE by SGD(lr=0.1) in batches of 32, as in the original Zen; shuffled."""
    targets = numpy.eye(3, dtype=numpy.float32)[Y]
    rows = numpy.concatenate([X, X[::-1] * 0.5])       # 48 rows: two batches of 32 an epoch
    labels = numpy.concatenate([targets, targets])
    by_default, spelt_out = _built(device), _built(device)
    zen.seed(1)
    history = by_default.train(rows, labels, verbose=False)
    zen.seed(1)
    spelt_out.train(rows, labels, epochs=10, loss_fn=zen.loss.MSE,
                    optimizer=zen.optim.SGD(lr=0.1), batch_size=32, shuffle=True,
                    verbose=False)
    assert len(history["loss"]) == 10
    _assert_same_parameters(_snapshot(by_default), _snapshot(spelt_out))


def test_zero_epochs_checks_and_builds_but_trains_nothing(device):
    """As Keras's fit(epochs=0): the data is checked (and the model built), no step taken."""
    zen.seed(0)
    model = Model([Linear(3)], device=device)
    history = model.train(X, Y, epochs=0, loss_fn=SCE, verbose=False)
    assert history == {"loss": []} and model.built
    zen.seed(0)
    _assert_same_parameters(_snapshot(model), _snapshot(Model([Linear(3)], input_shape=(4,))))
    with pytest.raises(DataError, match=r"train: 24 class label\(s\) outside \[0, 3\)"):
        Model([Linear(3)], device=device).train(X, Y + 5, epochs=0, loss_fn=SCE, verbose=False)


# Data that cannot work, training or validation, refused before the first step.
BAD_TRAINING_DATA = {   # name -> (x, y, validation_data, error, message), 3-class Linear model
    "labels out of range": (X, Y + 2, None, DataError,
                            r"train: \d+ class label\(s\) outside \[0, 3\)"),
    "one-hot of 4 classes": (X, numpy.eye(4)[Y], None, ShapeMismatchError,
                             r"train: target has shape \(24, 4\)"),
    "float labels": (X, Y.astype(numpy.float32), None, ShapeMismatchError,
                     "class labels must be integers"),
    "fewer labels": (X, Y[:5], None, ShapeMismatchError,
                     r"train: x has 24 examples but y has shape \(5,\)"),
    "validation labels out of range": (
        X, Y, (X, numpy.array([0, 1, 2, 7, 7, 7, -1, 2] * 3)), DataError,
        r"train \(validation_data\): 12 class label\(s\) outside \[0, 3\) .* -1 to 7"),
    "NaN in validation x": (X, Y, (numpy.full((2, 4), numpy.nan), Y[:2]), DataError,
                            r"train \(validation_data\): x holds 8 NaN"),
    "validation x of 3 features": (X, Y, (X[:, :3], Y), ShapeMismatchError,
                                   r"Linear: input has 3 features .*built for 4"),
    "fewer validation labels": (X, Y, (X, Y[:3]), ShapeMismatchError,
                                r"train \(validation_data\): x has 24 examples"),
}


@pytest.mark.parametrize("name", BAD_TRAINING_DATA)
def test_bad_training_or_validation_data_fails_before_any_step(name, device):
    """Both data sets are checked before the first step, also for an unbuilt model, which
    stays unbuilt; a built one keeps its parameters."""
    x, y, validation, error, message = BAD_TRAINING_DATA[name]
    unbuilt, built = Model([Linear(3)], device=device), _built(device)
    before = _snapshot(built)
    for model in (unbuilt, built):
        with pytest.raises(error, match=message):
            model.train(x, y, epochs=2, loss_fn=SCE, validation_data=validation, verbose=False)
    assert not unbuilt.built
    _assert_same_parameters(_snapshot(built), before)


@pytest.mark.parametrize("name", BAD_TRAINING_DATA)
def test_an_unbuilt_model_refused_its_data_then_trains_as_a_fresh_one(name, device):
    """A refused call leaves nothing the next one uses: neither the weights it built nor a
    captured forward pass of them (its data check's), which a one-row validation set would
    replay."""
    x, y, validation, error, _ = BAD_TRAINING_DATA[name]
    histories = []
    for refused_first in (True, False):
        zen.seed(0)
        model = Model([Linear(3)], device=device)
        if refused_first:
            with pytest.raises(error):
                model.train(x, y, epochs=1, loss_fn=SCE, validation_data=validation,
                            verbose=False)
        histories.append(model.train(X, Y, epochs=2, batch_size=8, loss_fn=SCE,
                                     validation_data=(X[:1], Y[:1]), verbose=False))
    assert histories[0] == histories[1]


def test_evaluate_checks_its_data_as_train_does(device):
    model = _built(device)
    with pytest.raises(DataError, match=r"evaluate: 4 class label\(s\) outside \[0, 3\)"):
        model.evaluate(X[:8], numpy.array([0, 1, 2, 7, 7, 7, -1, 2]), loss_fn=SCE)
    with pytest.raises(DataError, match=r"evaluate: x holds 1 NaN"):
        model.evaluate(numpy.where(X[0, 0] == X, numpy.nan, X), Y, loss_fn=SCE)


def test_labels_are_checked_once_per_data_set_not_in_every_step(device, monkeypatch):
    """Checking reads a count back from the device; train does it once for y and once for
    the validation labels, and tells its classification loss so."""
    checked = []
    check = zen.loss.check_labels
    monkeypatch.setattr(zen.loss, "check_labels",
                        lambda name, labels, classes: checked.append(name) or
                        check(name, labels, classes))
    history = _built(device).train(X, Y, epochs=3, batch_size=4, loss_fn=SCE, verbose=False,
                                   validation_data=(X[:9], Y[:9]))
    assert checked == ["train", "train (validation_data)"]
    assert len(history["val_accuracy"]) == 3


def _calls_in_train(device, monkeypatch, batch_size):
    """How often one 2-epoch train call (no checkpoint) lists the parameters, reads zen's
    generator and checks its data, with ``batch_size`` rows a step."""
    counts = collections.Counter()
    for owner, name in ((Model, "_parameters"), (Model, "parameters"),
                        (backends.Generator, "get_state"), (zen.data, "checked")):
        monkeypatch.setattr(owner, name, _counted(counts, name, getattr(owner, name)))
    _built(device).train(X, Y, epochs=2, batch_size=batch_size, loss_fn=SCE, verbose=False)
    monkeypatch.undo()
    return counts


def _counted(counts, name, function):
    def call(*arguments, **keywords):
        counts[name] += 1
        return function(*arguments, **keywords)
    return call


def test_what_a_call_needs_once_is_not_done_in_every_step(device, monkeypatch):
    """The parameter list, the data check and (without a checkpoint to save it to) zen's
    generator state: the same work for 1 step an epoch as for 6."""
    one_step, six_steps = (_calls_in_train(device, monkeypatch, rows) for rows in (24, 4))
    assert one_step == six_steps
    assert one_step["checked"] == 1 and one_step["_parameters"] <= 2


def test_every_step_of_one_process_is_one_train_step_call(device, monkeypatch):
    """Fit.train_step(x, y) is the whole step (forward, loss, backward, update, gradients
    cleared), given the batch and returning its loss: the epoch's loss is their mean, and
    no gradient is left after it. (Captured, the step is replayed instead: capture=False.)"""
    losses, step = [], zen.training.Fit.train_step

    def recorded(fit, x, y):
        losses.append(step(fit, x, y).item())
        assert all(p.gradient is None for p in fit.parameters)
        return zen.Tensor(losses[-1], device=device)

    monkeypatch.setattr(zen.training.Fit, "train_step", recorded)
    history = _built(device).train(X, Y, epochs=1, batch_size=5, loss_fn=SCE, verbose=False,
                                   capture=False)
    assert len(losses) == 5
    assert history["loss"] == [pytest.approx(sum(losses) / 5)]


# A loss says what kind it is; wrapping it keeps its kind.
@functools.wraps(SCE)
def _wrapped_by_the_user(prediction, target):
    return SCE(prediction, target)


def _declared(prediction, target):
    return SCE(prediction, target)


_declared.classification = True


class _LossObject:
    classification = True

    def __call__(self, prediction, target):
        return SCE(prediction, target)


CLASSIFICATION_LOSSES = {
    "softmax_cross_entropy": SCE,
    "cross_entropy": zen.loss.cross_entropy,
    "categorical_crossentropy after Softmax": zen.loss.categorical_crossentropy,
    "functools.partial": functools.partial(zen.loss.categorical_crossentropy, epsilon=1e-6),
    "functools.wraps wrapper": _wrapped_by_the_user,
    "function with the attribute": _declared,
    "callable object": _LossObject(),
}


@pytest.mark.parametrize("name", CLASSIFICATION_LOSSES)
def test_a_classification_loss_keeps_accuracy_and_label_checks_however_wrapped(name, device):
    loss_fn = CLASSIFICATION_LOSSES[name]
    zen.seed(0)
    layers = [Linear(3)] + ([Softmax()] if "categorical" in name or "partial" in name else [])
    model = Model(layers, device=device, input_shape=(4,))
    history = model.train(X, Y, epochs=2, loss_fn=loss_fn, verbose=False,
                          validation_data=(X, Y))
    assert set(history) == {"loss", "val_loss", "val_accuracy"}
    assert set(model.evaluate(X, Y, loss_fn=loss_fn)) == {"loss", "accuracy"}
    with pytest.raises(DataError, match=r"train: 24 class label\(s\) outside"):
        model.train(X, Y + 3, loss_fn=loss_fn, verbose=False)
    assert zen.loss.is_classification(loss_fn) and not zen.loss.is_classification(zen.loss.MSE)


def test_a_loss_of_no_declared_kind_is_called_as_it_is(device):
    calls = []

    def loss_fn(prediction, target):        # no labels_checked keyword
        calls.append(1)
        return SCE(prediction, target)

    history = _built(device).train(X, Y, epochs=1, batch_size=8, loss_fn=loss_fn,
                                   verbose=False, validation_data=(X, Y), capture=False)
    assert set(history) == {"loss", "val_loss"} and len(calls) == 4     # (replays: fewer)


# One-hot rows of any dtype are class targets everywhere integer labels are.
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool", "float32", "float64"])
@pytest.mark.parametrize("loss_name", ["softmax_cross_entropy", "categorical_crossentropy"])
def test_one_hot_targets_of_any_dtype_work_wherever_labels_do(dtype, loss_name, device):
    loss_fn = getattr(zen.loss, loss_name)
    one_hot = numpy.eye(3)[Y].astype(dtype)
    results = []
    for target in (Y, one_hot):
        zen.seed(0)
        layers = [Linear(3)] + ([Softmax()] if loss_name == "categorical_crossentropy" else [])
        model = Model(layers, device=device)
        history = model.train(X, target, epochs=2, batch_size=8, loss_fn=loss_fn,
                              verbose=False, shuffle=False, validation_data=(X, target))
        results.append((history, model.evaluate(X, target, loss_fn=loss_fn)))
    (history, evaluation), (one_hot_history, one_hot_evaluation) = results
    assert one_hot_evaluation == pytest.approx(evaluation)
    assert set(one_hot_history) == set(history)
    for key in history:
        assert one_hot_history[key] == pytest.approx(history[key], rel=1e-6)


def test_the_loss_decides_labels_or_one_hot_by_shape(device):
    logits = zen.Tensor(numpy.zeros((2, 3)), device=device)
    assert SCE(logits, numpy.array([[0, 0, 1], [1, 0, 0]])).item() == pytest.approx(numpy.log(3))
    assert SCE(logits, numpy.array([2, 0])).item() == pytest.approx(numpy.log(3))
    with pytest.raises(ShapeMismatchError, match=r"class labels must be integers, not .*bool"):
        SCE(logits, numpy.array([True, False]))


# Ctrl-C at the end of training: it propagates, after the checkpoint holds the whole run.
EPOCHS = 3


def _train(device, checkpoint, loss_fn=SCE, epochs=EPOCHS):
    zen.seed(0)
    model = Model([Linear(6), ReLU(), Linear(3)], device=device, input_shape=(4,))
    history = model.train(X, Y, epochs=epochs, batch_size=8, loss_fn=loss_fn, verbose=False,
                          optimizer=Adam(lr=0.01), validation_data=(X, Y),
                          checkpoint=checkpoint, resume=True,
                          capture=loss_fn is SCE)   # a loss with side effects: every step
    return model, history


def _ctrl_c():
    signal.raise_signal(signal.SIGINT)


def _assert_resumes_to_the_end(device, checkpoint, expected):
    model, history = _train(device, checkpoint)
    assert history == expected[1]
    _assert_same_parameters(_snapshot(model), _snapshot(expected[0]))


def test_ctrl_c_in_the_last_validation_propagates_after_saving(device, tmp_path):
    expected = _train(device, None)
    validations = []

    def loss_fn(prediction, target):
        if not zen.is_grad_enabled():       # evaluating the validation data
            validations.append(1)
            if len(validations) == EPOCHS:
                _ctrl_c()
        return SCE(prediction, target)

    loss_fn.classification = True           # to report val_accuracy as SCE does

    checkpoint = tmp_path / "run.npz"
    with pytest.raises(KeyboardInterrupt):
        _train(device, checkpoint, loss_fn)
    _assert_resumes_to_the_end(device, checkpoint, expected)


def test_ctrl_c_while_the_last_checkpoint_is_written_propagates(device, tmp_path, monkeypatch):
    expected = _train(device, None)
    save_arrays, writes = backends.save_arrays, []

    def interrupted_save(path, arrays, metadata=""):
        writes.append(json.loads(metadata)["training"]["epoch"])
        if len(writes) == EPOCHS:
            _ctrl_c()
        save_arrays(path, arrays, metadata)

    monkeypatch.setattr(backends, "save_arrays", interrupted_save)
    checkpoint = tmp_path / "run.npz"
    with pytest.raises(KeyboardInterrupt):
        _train(device, checkpoint)
    monkeypatch.undo()
    assert writes[:EPOCHS] == [1, 2, 3]
    _assert_resumes_to_the_end(device, checkpoint, expected)


def test_ctrl_c_in_an_earlier_validation_stops_at_the_end_of_that_epoch(device):
    steps = []

    def loss_fn(prediction, target):
        if zen.is_grad_enabled():
            steps.append(1)
        else:
            _ctrl_c()
        return SCE(prediction, target)

    with pytest.raises(KeyboardInterrupt):
        _train(device, None, loss_fn)
    assert len(steps) == 3          # one epoch of 24 examples in steps of 8, and no more


def _recording_bar(shown):
    """A stand-in for tqdm, as train uses it, that keeps each loss it is told to show with
    its step in ``shown``."""

    class Bar:
        def __init__(self, steps, **settings):
            self.steps, self.step = steps, None

        def __iter__(self):
            for step in self.steps:
                self.step = step
                yield step

        def set_postfix(self, loss):
            shown.append((self.step + 1, loss))

        def close(self):
            pass

    return Bar


@pytest.mark.parametrize("rows, log_every, shown_after", [
    (24, 10, [3]),              # fewer steps than log_every: the epoch's loss at its end
    (24, 2, [2, 3]),
    (24 * 8, 10, [10, 20, 24]),
])
def test_the_progress_bar_shows_the_loss_at_each_epochs_end(rows, log_every, shown_after,
                                                            device, monkeypatch):
    import tqdm.auto

    shown = []
    monkeypatch.setattr(tqdm.auto, "tqdm", _recording_bar(shown))
    x, y = _data(rows)
    history = _built(device).train(x, y, epochs=2, batch_size=8, loss_fn=SCE,
                                   log_every=log_every)
    assert [step for step, _ in shown] == shown_after * 2
    ends = [loss for step, loss in shown if step == rows // 8]
    assert ends == [f"{loss:.4f}" for loss in history["loss"]]


class _RecordingSync(zen.training.LocalSync):
    """A one-process synchroniser that records which of its methods the loop called."""

    def __init__(self):
        self.calls = []
        for name in ("start", "start_epoch", "sync", "any_stopping"):
            setattr(self, name, self._recorded(name, getattr(super(), name)))

    def _recorded(self, name, method):
        def call(*arguments):
            self.calls.append(name)
            return method(*arguments)
        return call


def test_the_loop_reaches_other_processes_only_through_its_synchroniser(device):
    """A run of 2 epochs of 3 steps: one start, and per epoch one shared random state, one
    sync per step (gradients, loss, stop flag) and one agreement on stopping."""
    model = Model([Linear(3)], device=device)
    settings = zen.training.Settings(
        epochs=2, loss_fn=SCE, optimizer=None, batch_size=10, shuffle=True,
        validation_data=None, verbose=False, log_every=10, checkpoint=None, resume=False,
        distributed=False)
    fit = zen.training.Fit(model, settings)
    fit.sync = _RecordingSync()
    history = fit.run(X, Y)
    epoch = ["start_epoch"] + ["sync"] * 3 + ["any_stopping"]
    assert fit.sync.calls == ["start"] + epoch * 2
    assert len(history["loss"]) == 2


def test_one_and_many_processes_have_the_same_synchroniser_interface():
    local, distributed = zen.training.LocalSync, zen.distributed.DistributedSync
    names = {name for name in vars(local) if not name.startswith("_")} - {"rank", "size"}
    assert names <= set(vars(distributed))
    for name in names:
        assert (list(inspect.signature(getattr(local, name)).parameters)
                == list(inspect.signature(getattr(distributed, name)).parameters)), name
