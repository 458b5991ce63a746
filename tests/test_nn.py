"""Layers, losses and Model: each layer type trains on every backend, the loss falls and the
parameters stay on the device."""

import numpy
import pytest

import backends
import zen
from zen import Tensor
from zen.errors import ShapeMismatchError
from zen.nn import (
    LSTM,
    RNN,
    Conv2D,
    Dropout,
    Flatten,
    Linear,
    MaxPool2D,
    Model,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from zen.optim import Adam


def _classes(rng, count, features):
    x = rng.normal(size=(count, features)).astype(numpy.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(numpy.int64)


MODELS = {   # name -> (layers, data maker, loss)
    "Linear, ReLU and softmax cross-entropy": (
        lambda: [Linear(16), ReLU(), Linear(2)],
        lambda rng: _classes(rng, 64, 5), zen.loss.softmax_cross_entropy),
    "Tanh, Sigmoid and MSE": (
        lambda: [Linear(8), Tanh(), Linear(1), Sigmoid()],
        lambda rng: (rng.normal(size=(64, 3)), rng.uniform(0.2, 0.8, size=(64, 1))),
        zen.loss.MSE),
    "Softmax and categorical cross-entropy": (
        lambda: [Linear(8), ReLU(), Linear(2), Softmax()],
        lambda rng: _classes(rng, 64, 4), zen.loss.categorical_crossentropy),
    "Conv2D, MaxPool2D and Flatten": (
        lambda: [Conv2D(4, 3, padding="same"), ReLU(), MaxPool2D(2), Flatten(), Linear(2)],
        lambda rng: (rng.normal(size=(32, 1, 6, 6)),
                     (rng.normal(size=32) > 0).astype(numpy.int64)),
        zen.loss.softmax_cross_entropy),
    "RNN": (
        lambda: [RNN(1, hidden_dim=8)],
        lambda rng: (rng.normal(size=(16, 5, 2)), rng.normal(size=(16, 1)) * 0.5),
        zen.loss.MSE),
    "LSTM and Dropout": (
        lambda: [LSTM(6), Dropout(0.2), Linear(1)],
        lambda rng: (rng.normal(size=(16, 5, 2)), rng.normal(size=(16, 1)) * 0.5),
        zen.loss.MSE),
}


@pytest.mark.parametrize("name", MODELS)
def test_each_layer_type_trains_and_stays_on_its_device(name, device, rng):
    layers, data, loss = MODELS[name]
    zen.seed(0)
    model = Model(layers(), device=device)
    x, y = data(rng)
    history = model.train(x, y, epochs=8, loss_fn=loss, optimizer=Adam(lr=0.02),
                          batch_size=16, verbose=False)
    assert history["loss"][-1] < 0.9 * history["loss"][0]
    backend = backends.get_backend(device)
    for parameter in model.parameters():
        assert parameter.device == device
        assert backends.backend_for_array(parameter.value) is backend
        assert str(parameter.numpy().dtype) == "float32"


def test_one_seed_gives_one_model_on_every_device(device):
    reference, here = Model([Linear(3)]), Model([Linear(3)], device=device)
    zen.seed(7)
    reference(numpy.ones((1, 4)))
    zen.seed(7)
    here(numpy.ones((1, 4)))
    numpy.testing.assert_array_equal(here.parameters()[0].numpy(),
                                     reference.parameters()[0].numpy())


def test_linear_infers_its_input_size_and_refuses_another(device):
    model = Model([Linear(3)], device=device)
    assert model(numpy.ones((2, 5))).shape == (2, 3)
    assert model.parameters()[0].shape == (5, 3)
    with pytest.raises(ShapeMismatchError, match=r"Linear: input has 4 features .*built for 5"):
        model(numpy.ones((2, 4)))


def test_dropout_only_while_training(device):
    zen.seed(0)
    layer = Dropout(0.5)
    x = Tensor(numpy.ones((200, 10)), device=device)
    assert layer(x) is x
    layer.training = True
    dropped = layer(x).numpy()
    assert set(numpy.unique(dropped)) == {0.0, 2.0}
    assert 0.4 < (dropped == 0).mean() < 0.6


def test_evaluate_and_predict(device, rng):
    x, y = _classes(rng, 200, 3)
    zen.seed(1)
    model = Model([Linear(8), ReLU(), Linear(2)], device=device)
    model.train(x, y, epochs=20, loss_fn=zen.loss.softmax_cross_entropy,
                optimizer=Adam(lr=0.05), verbose=False)
    result = model.evaluate(x, y, loss_fn=zen.loss.softmax_cross_entropy, batch_size=64)
    assert result["accuracy"] > 0.9 and result["loss"] < 0.4
    prediction = model.predict(x, batch_size=64)
    assert prediction.shape == (200, 2) and not prediction.trainable


def test_train_reports_validation_and_takes_tensors(device, rng):
    x, y = _classes(rng, 64, 3)
    model = Model([Linear(2)], device=device)
    history = model.train(Tensor(x, device=device), y, epochs=2, verbose=False,
                          loss_fn=zen.loss.softmax_cross_entropy, validation_data=(x, y))
    assert set(history) == {"loss", "val_loss", "val_accuracy"}
    assert len(history["val_loss"]) == 2


def test_class_labels_and_one_hot_give_the_same_losses(device):
    logits = Tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0]], device=device, dtype="float64")
    labels = numpy.array([0, 2])
    one_hot = numpy.eye(3)[labels]
    expected = -numpy.mean(numpy.log(numpy.exp(logits.numpy())[[0, 1], labels]
                                     / numpy.exp(logits.numpy()).sum(axis=1)))
    for target in (labels, one_hot):
        assert zen.loss.softmax_cross_entropy(logits, target).item() == pytest.approx(expected)
        probabilities = zen.softmax(logits)
        assert zen.loss.categorical_crossentropy(probabilities, target).item() == \
            pytest.approx(expected)


def test_losses_name_the_mismatched_shapes(device):
    prediction = Tensor(numpy.ones((4, 3)), device=device)
    with pytest.raises(ShapeMismatchError, match=r"MSE: prediction has shape \(4, 3\).*\(4,\)"):
        zen.loss.MSE(prediction, numpy.ones(4))
    with pytest.raises(ShapeMismatchError, match=r"softmax_cross_entropy: .*\(5,\)"):
        zen.loss.softmax_cross_entropy(prediction, numpy.zeros(5, dtype=int))
    with pytest.raises(ShapeMismatchError, match="class labels must be integers"):
        zen.loss.softmax_cross_entropy(prediction, numpy.zeros(4))


def test_model_to_moves_every_parameter(device):
    model = Model([Linear(2)])
    model(numpy.ones((1, 3)))
    weight = model.parameters()[0]
    model.to(device)
    assert model.parameters()[0] is weight and weight.device == device
    assert model(numpy.ones((1, 3))).device == device


def test_model_computes_in_its_own_dtype_whatever_the_data(device, rng):
    """float64 data for a float32 model is cast once, as Keras does, rather than making every
    op of every step run in float64 and every gradient be cast back."""
    x, y = rng.normal(size=(32, 3)), rng.normal(size=(32, 1))       # float64
    model = Model([Linear(4), Tanh(), Linear(1)], device=device)
    history = model.train(x, y, epochs=2, batch_size=8, verbose=False, shuffle=False)
    float32 = backends.get_backend(device).dtype("float32")
    assert model.predict(x).dtype == float32
    assert all(p.dtype == float32 for p in model.parameters())
    x32 = Tensor(x.astype(numpy.float32), device=device)
    recorded = zen.loss.MSE(model(x32), Tensor(y.astype(numpy.float32), device=device))
    assert recorded.dtype == float32 and numpy.isfinite(history["loss"]).all()


LAYER_SETTINGS = [   # a layer of each kind that has settings, made with non-default ones
    lambda: Linear(4, use_bias=False, init="he"),
    lambda: RNN(3, hidden_dim=5, return_sequences=True),
    lambda: LSTM(2, return_sequences=True),
    lambda: Conv2D(2, 3, strides=1, padding="same", use_bias=False),
    lambda: MaxPool2D(pool_size=(2, 3), strides=1),
    lambda: Dropout(0.25),
    lambda: Softmax(axis=0),
]


@pytest.mark.parametrize("make", LAYER_SETTINGS,
                         ids=lambda make: type(make()).__name__)
def test_a_layer_holds_each_setting_once(make):
    """``config`` (what a checkpoint saves) is read from the attributes, not kept beside
    them: a setting has one value, whichever way it is read or changed."""
    layer = make()
    assert layer.config and all(getattr(layer, name) == value
                                for name, value in layer.config.items())
    for name in layer.config:
        setattr(layer, name, "changed")
        assert layer.config[name] == "changed"


def test_a_layer_setting_may_not_hide_what_every_layer_has():
    class Shadowing(zen.nn.Layer):
        def __init__(self, weights):
            super().__init__(weights=weights, scale=2)

    with pytest.raises(zen.errors.ArgumentError, match=r"Shadowing: the setting.s. weights "
                                                       r"would hide Layer's own attributes"):
        Shadowing(weights=3)


def test_a_layer_given_its_config_after_construction_holds_it_once():
    """Layers written as ``super().__init__(); self.config = {...}`` keep working."""
    class Scaled(zen.nn.Layer):
        def __init__(self, factor=2.0):
            super().__init__()
            self.config = {"factor": factor}

        def forward(self, x):
            return x * self.factor

    layer = Scaled(3.0)
    layer.factor = 4.0
    assert layer.config == {"factor": 4.0}
    assert layer(Tensor([1.0])).item() == 4.0
