"""Every layer zen.nn has (``nn.LAYERS``), in a Model (before a Linear layer, so that there is
always something to train) on every device: it trains a step, it survives save and load with
the same outputs and buffers, and its weights all receive gradients, its buffers none. A new
layer without an example here fails the coverage test."""

import numpy
import pytest

import zen
from zen import nn

# name -> (the layer, one input's shape, integer ids below this bound or None for floats)
EXAMPLES = {
    "Linear": (lambda: nn.Linear(4), (2, 3), None),
    "RNN": (lambda: nn.RNN(2, hidden_dim=3), (2, 4, 3), None),
    "LSTM": (lambda: nn.LSTM(3), (2, 4, 3), None),
    "Conv2D": (lambda: nn.Conv2D(2, 3, padding="same", groups=1), (2, 3, 5, 5), None),
    "Conv1D": (lambda: nn.Conv1D(4, 3, dilation_rate=2, groups=2), (2, 2, 7), None),
    "Conv2DTranspose": (lambda: nn.Conv2DTranspose(2, 3, strides=2), (2, 3, 3, 3), None),
    "MaxPool2D": (lambda: nn.MaxPool2D(2, padding=1), (2, 3, 4, 4), None),
    "AvgPool2D": (lambda: nn.AvgPool2D(2), (2, 3, 4, 4), None),
    "UpSampling2D": (lambda: nn.UpSampling2D(2, interpolation="bilinear"), (2, 3, 2, 3), None),
    "Flatten": (nn.Flatten, (2, 3, 4), None),
    "Dropout": (lambda: nn.Dropout(0.5), (4, 5), None),
    "Embedding": (lambda: nn.Embedding(10, 4), (2, 5), 10),
    "LayerNorm": (nn.LayerNorm, (2, 3, 4), None),
    "RMSNorm": (nn.RMSNorm, (2, 3, 4), None),
    "GroupNorm": (lambda: nn.GroupNorm(2), (2, 4, 3), None),
    "BatchNorm1D": (nn.BatchNorm1D, (4, 3), None),
    "BatchNorm2D": (nn.BatchNorm2D, (4, 3, 2, 2), None),
    "MultiHeadAttention": (lambda: nn.MultiHeadAttention(2, causal=True), (2, 5, 4), None),
}
ACTIVATIONS = ["Sigmoid", "Tanh", "ReLU", "Softmax", "LeakyReLU", "ELU", "SELU", "CELU", "GELU",
               "SiLU", "Mish", "Softplus", "Softsign", "LogSigmoid", "Hardtanh", "ReLU6",
               "Hardsigmoid", "Hardswish", "Softmin", "LogSoftmax"]
EXAMPLES.update({name: (getattr(nn, name), (3, 5), None) for name in ACTIVATIONS})


def test_every_layer_has_an_example():
    assert set(EXAMPLES) == set(nn.LAYERS)


def _data(shape, ids, seed=0):
    rng = numpy.random.default_rng(seed)
    if ids is not None:
        return rng.integers(0, ids, shape)
    return rng.normal(size=shape).astype(numpy.float32)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_a_layer_trains_then_saves_and_loads_with_the_same_outputs(name, device, tmp_path):
    make, shape, ids = EXAMPLES[name]
    zen.seed(0)
    model = nn.Model([make(), nn.Linear(2)], device=device)   # something to train
    x = _data(shape, ids)
    target = numpy.zeros(model.predict(x).shape, dtype=numpy.float32)
    model.train(x, target, epochs=1, batch_size=shape[0], verbose=False, shuffle=False)
    assert model.training is False          # fit leaves the mode it found
    path = tmp_path / f"{name}.npz"
    model.save(path)
    loaded = nn.Model.load(path, device=device)
    numpy.testing.assert_array_equal(loaded.predict(x).numpy(), model.predict(x).numpy())
    for (key, saved), (other, kept) in zip(model.named_buffers().items(),
                                           loaded.named_buffers().items(), strict=True):
        assert key == other and saved.dtype == kept.dtype
        numpy.testing.assert_array_equal(saved.numpy(), kept.numpy())


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_weight_of_a_layer_gets_a_gradient_and_no_buffer_does(name, device):
    make, shape, ids = EXAMPLES[name]
    zen.seed(0)
    model = nn.Model([make(), nn.Linear(2)], device=device).train()
    out = model(_data(shape, ids, seed=1))
    (out * zen.Tensor(_data(out.shape, None, seed=2), device=device)).sum().backward()
    for key, weight in model.named_parameters().items():
        assert weight.gradient is not None, key
        gradient = zen.Tensor(weight.gradient).numpy()
        assert gradient.shape == weight.shape and numpy.isfinite(gradient).all(), key
    assert all(buffer.gradient is None and not buffer.trainable
               for buffer in model.named_buffers().values())
