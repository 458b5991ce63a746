"""PyTorch as an oracle for every layer in zen.nn: the same weights copied in, the same
values and the same gradients (of the input and of every weight) in float64, on every
backend; and Model.train's SGD steps against torch.optim.SGD's."""

import numpy
import pytest

import zen
from zen import nn


@pytest.fixture
def torch():
    return pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")


pytestmark = pytest.mark.usefixtures("float64")


def _linear(torch, x, p):
    return torch.nn.functional.linear(x, p["weight"].T, p.get("bias"))


def _rnn(return_sequences):
    def forward(torch, x, p):
        module = torch.nn.RNN(x.shape[-1], p["hidden_weight"].shape[0], batch_first=True,
                              nonlinearity="tanh", dtype=torch.float64)
        states, last = torch.func.functional_call(module, {
            "weight_ih_l0": p["input_weight"].T, "weight_hh_l0": p["hidden_weight"].T,
            "bias_ih_l0": p["hidden_bias"], "bias_hh_l0": torch.zeros_like(p["hidden_bias"])},
            (x,))
        out = states if return_sequences else last[0]
        return torch.nn.functional.linear(out, p["output_weight"].T, p["output_bias"])
    return forward


def _lstm(return_sequences):
    def forward(torch, x, p):   # zen's gates are PyTorch's order: input, forget, cell, output
        units = p["hidden_weight"].shape[0]
        module = torch.nn.LSTM(x.shape[-1], units, batch_first=True, dtype=torch.float64)
        states, (last, _) = torch.func.functional_call(module, {
            "weight_ih_l0": p["input_weight"].T, "weight_hh_l0": p["hidden_weight"].T,
            "bias_ih_l0": p["bias"], "bias_hh_l0": torch.zeros_like(p["bias"])}, (x,))
        return states if return_sequences else last[0]
    return forward


def _conv(stride, padding, dilation=1, groups=1, spatial="2d"):
    def forward(torch, x, p):
        convolve = getattr(torch.nn.functional, "conv" + spatial)
        return convolve(x, p["weight"], p.get("bias"), stride=stride, padding=padding,
                        dilation=dilation, groups=groups)
    return forward


def _conv_transpose(stride, crop, output_padding=0, dilation=1):
    """PyTorch's conv_transpose2d, then ``crop`` ((top, bottom), (left, right)) off its output
    (Keras's 'same' crops one side more when the total is odd)."""
    pairs = isinstance(crop, tuple) and isinstance(crop[0], tuple)

    def forward(torch, x, p):
        out = torch.nn.functional.conv_transpose2d(
            x, p["weight"], p.get("bias"), stride=stride, output_padding=output_padding,
            dilation=dilation, padding=0 if pairs else crop)
        if not pairs:
            return out
        (top, bottom), (left, right) = crop
        return out[:, :, top:out.shape[2] - bottom, left:out.shape[3] - right]
    return forward


def _max_pool(size, stride=None):
    return lambda torch, x, p: torch.nn.functional.max_pool2d(x, size, stride)


def _softmax(axis):
    return lambda torch, x, p: torch.softmax(x, axis)


def _batch_norm_inference(torch, x, p):
    channels = x.shape[1]
    return torch.nn.functional.batch_norm(x, torch.zeros(channels, dtype=x.dtype),
                                          torch.ones(channels, dtype=x.dtype), p["weight"],
                                          p["bias"])


# (label, layer factory, input shape with the batch axis, PyTorch's forward of the input and
# the zen-layout weights)
CASES = [
    ("linear", lambda: nn.Linear(3), (4, 5), _linear),
    ("linear-no-bias", lambda: nn.Linear(3, use_bias=False), (4, 5), _linear),
    ("linear-3d", lambda: nn.Linear(3), (2, 4, 5), _linear),
    ("rnn-last", lambda: nn.RNN(3, 4), (2, 5, 3), _rnn(False)),
    ("rnn-sequences", lambda: nn.RNN(3, 4, return_sequences=True), (2, 5, 3), _rnn(True)),
    ("lstm-last", lambda: nn.LSTM(4), (2, 5, 3), _lstm(False)),
    ("lstm-sequences", lambda: nn.LSTM(4, return_sequences=True), (2, 5, 3), _lstm(True)),
    ("conv-valid", lambda: nn.Conv2D(3, 3), (2, 2, 7, 6), _conv(1, 0)),
    ("conv-same-rect", lambda: nn.Conv2D(3, (3, 5), padding="same"), (2, 2, 6, 7),
     _conv(1, (1, 2))),
    ("conv-stride2-pad1", lambda: nn.Conv2D(2, (2, 3), strides=2, padding=1), (2, 3, 7, 8),
     _conv(2, 1)),
    ("conv-stride21-no-bias", lambda: nn.Conv2D(2, (3, 1), strides=(2, 1), padding=(1, 0),
                                               use_bias=False), (2, 2, 7, 5),
     _conv((2, 1), (1, 0))),
    ("conv-stride12-pad02", lambda: nn.Conv2D(2, (1, 3), strides=(1, 2), padding=(0, 2)),
     (1, 2, 5, 6), _conv((1, 2), (0, 2))),
    ("maxpool-2", lambda: nn.MaxPool2D(2), (2, 3, 6, 7), _max_pool(2)),
    ("maxpool-3-stride2", lambda: nn.MaxPool2D(3, 2), (2, 2, 7, 8), _max_pool(3, 2)),
    ("maxpool-rect", lambda: nn.MaxPool2D((2, 3), (1, 2)), (2, 2, 5, 7),
     _max_pool((2, 3), (1, 2))),
    ("maxpool-padding", lambda: nn.MaxPool2D(3, 2, padding=(1, 0)), (2, 2, 7, 6),
     lambda torch, x, p: torch.nn.MaxPool2d(3, 2, padding=(1, 0))(x)),
    ("avgpool-2", nn.AvgPool2D, (2, 3, 6, 7), lambda torch, x, p: torch.nn.AvgPool2d(2)(x)),
    ("avgpool-rect-padding", lambda: nn.AvgPool2D((3, 2), (2, 1), padding=1), (2, 2, 7, 6),
     lambda torch, x, p: torch.nn.AvgPool2d((3, 2), (2, 1), padding=1)(x)),
    ("upsampling-nearest", lambda: nn.UpSampling2D((2, 3)), (2, 2, 3, 4),
     lambda torch, x, p: torch.nn.Upsample(scale_factor=(2, 3))(x)),
    ("upsampling-bilinear", lambda: nn.UpSampling2D(3, interpolation="bilinear"),
     (2, 2, 3, 4),
     lambda torch, x, p: torch.nn.Upsample(scale_factor=3, mode="bilinear")(x)),
    ("flatten", nn.Flatten, (3, 2, 4, 5), lambda torch, x, p: torch.flatten(x, 1)),
    ("dropout-inference", lambda: nn.Dropout(0.4), (3, 6),
     lambda torch, x, p: torch.nn.functional.dropout(x, 0.4, training=False)),
    ("softmax-last", nn.Softmax, (3, 4, 5), _softmax(-1)),
    ("softmax-axis1", lambda: nn.Softmax(axis=1), (3, 4, 5), _softmax(1)),
    ("softmax-axis0", lambda: nn.Softmax(axis=0), (3, 4), _softmax(0)),
    ("relu", nn.ReLU, (3, 5), lambda torch, x, p: torch.relu(x)),
    ("tanh", nn.Tanh, (3, 5), lambda torch, x, p: torch.tanh(x)),
    ("sigmoid", nn.Sigmoid, (3, 5), lambda torch, x, p: torch.sigmoid(x)),
    # Convolution: dilation, groups, 'same' for even kernels, 1-D, transposed.
    ("conv-dilated-groups", lambda: nn.Conv2D(4, (3, 2), padding=(1, 0), dilation_rate=(1, 2),
                                              groups=2), (2, 4, 6, 7),
     _conv(1, (1, 0), dilation=(1, 2), groups=2)),
    ("conv-same-even", lambda: nn.Conv2D(2, (4, 2), padding="same", dilation_rate=(1, 3)),
     (2, 3, 6, 7), _conv(1, "same", dilation=(1, 3))),
    ("conv1d-same-depthwise", lambda: nn.Conv1D(6, 4, padding="same", groups=3), (2, 3, 9),
     _conv(1, "same", groups=3, spatial="1d")),
    ("conv1d-stride-dilated", lambda: nn.Conv1D(3, 3, strides=2, padding=1, dilation_rate=2,
                                                use_bias=False), (2, 2, 11),
     _conv(2, 1, dilation=2, spatial="1d")),
    ("conv-transpose-stride2", lambda: nn.Conv2DTranspose(3, (3, 2), strides=2, padding=1,
                                                          output_padding=(1, 0)),
     (2, 2, 4, 5), _conv_transpose(2, 1, output_padding=(1, 0))),
    ("conv-transpose-same", lambda: nn.Conv2DTranspose(2, 3, strides=(2, 1), padding="same"),
     (2, 3, 4, 5), _conv_transpose((2, 1), ((0, 1), (1, 1)))),   # TF crops more after
    ("conv-transpose-same-wide-stride", lambda: nn.Conv2DTranspose(2, 2, strides=3,
                                                                   padding="same",
                                                                   dilation_rate=(2, 1)),
     (1, 2, 3, 4), _conv_transpose(3, ((0, 0), (0, 0)), output_padding=(0, 1),
                                   dilation=(2, 1))),
    # Normalisation: BatchNorm in inference, as a new model is; training mode and
    # running statistics in tests/test_modes.py.
    ("layernorm", nn.LayerNorm, (3, 4, 5),
     lambda torch, x, p: torch.nn.functional.layer_norm(x, (5,), p["weight"], p["bias"])),
    ("rmsnorm", nn.RMSNorm, (3, 4, 5),
     lambda torch, x, p: torch.nn.functional.rms_norm(x, (5,), p["weight"])),
    ("rmsnorm-epsilon", lambda: nn.RMSNorm(epsilon=0.5), (3, 4, 5),
     lambda torch, x, p: torch.nn.functional.rms_norm(x, (5,), p["weight"], 0.5)),
    ("groupnorm", lambda: nn.GroupNorm(2, epsilon=1e-3), (3, 4, 5),
     lambda torch, x, p: torch.nn.functional.group_norm(x, 2, p["weight"], p["bias"], 1e-3)),
    ("batchnorm1d-inference", nn.BatchNorm1D, (3, 4, 5), _batch_norm_inference),
    ("batchnorm2d-inference", nn.BatchNorm2D, (3, 2, 4, 5), _batch_norm_inference),
]


def _set_weights(layer, arrays):
    with zen.no_grad():
        for name, array in arrays.items():
            weight = layer.weights[name]
            weight.value = weight.backend.asarray(array, weight.backend.dtype("float64"),
                                                copy=True)    # SGD updates in place


def _random_weights(layer, rng):
    return {name: rng.normal(scale=0.5, size=weight.shape)
            for name, weight in layer.weights.items()}


def _torch_result(torch, forward, x, arrays, seed_weights):
    inputs = {name: torch.tensor(array, requires_grad=True) for name, array in arrays.items()}
    x = torch.tensor(x, requires_grad=True)
    output = forward(torch, x, inputs)
    (output * torch.tensor(seed_weights(output.shape))).sum().backward()
    gradients = {name: tensor.grad.numpy() for name, tensor in inputs.items()}
    return output.detach().numpy(), x.grad.numpy(), gradients


def _zen_result(layer, x, device, seed_weights):
    x = zen.Tensor(x, device=device)
    output = layer(x)
    (output * zen.Tensor(seed_weights(output.shape), device=device)).sum().backward()
    gradients = {name: zen.Tensor(w.gradient).numpy() for name, w in layer.weights.items()}
    return output.numpy(), zen.Tensor(x.gradient).numpy(), gradients


def _seed_weights(shape):
    """Weights for the sum whose gradient is compared: no two alike, so that any output
    swapped with another shows."""
    return numpy.cos(numpy.arange(numpy.prod(shape)) * 1.3 + 0.4).reshape(shape)


def _assert_close(actual, expected):
    numpy.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("label, make_layer, shape, forward", CASES,
                         ids=[case[0] for case in CASES])
def test_layer_matches_pytorch(label, make_layer, shape, forward, device, torch, rng):
    layer = make_layer()
    nn.Model([layer], device=device, input_shape=shape[1:])
    arrays = _random_weights(layer, rng)
    _set_weights(layer, arrays)
    x = rng.normal(size=shape)      # continuous: no ties in a max-pool window
    value, x_gradient, gradients = _zen_result(layer, x, device, _seed_weights)
    expected_value, expected_x_gradient, expected_gradients = _torch_result(
        torch, forward, x, arrays, _seed_weights)
    assert value.shape == expected_value.shape
    _assert_close(value, expected_value)
    _assert_close(x_gradient, expected_x_gradient)
    assert gradients.keys() == expected_gradients.keys()
    for name, gradient in gradients.items():
        _assert_close(gradient, expected_gradients[name])


def test_dropout_in_inference_passes_the_input_through(device, rng):
    x = rng.normal(size=(5, 8))
    model = nn.Model([nn.Dropout(0.5)], device=device)
    model.layers[0].training = True     # predict is inference even in the middle of training
    numpy.testing.assert_array_equal(model.predict(x).numpy(), x)


def test_dropout_in_training_scales_what_it_keeps_and_zeroes_the_rest(device, rng):
    rate = 0.3
    layer = nn.Dropout(rate)
    layer.training = True
    array = rng.uniform(0.5, 1.5, size=(20, 30))     # nonzero: a zero output was dropped
    x = zen.Tensor(array, device=device)
    output = layer(x)
    output.sum().backward()
    value, kept = output.numpy(), output.numpy() != 0
    assert 0.5 < kept.mean() < 0.9, "the fraction kept is far from 1 - rate"
    _assert_close(value[kept], array[kept] / (1 - rate))
    _assert_close(zen.Tensor(x.gradient).numpy(), kept / (1 - rate))


def _torch_model_loss(torch, loss_name):
    def mse(output, y):
        return torch.nn.functional.mse_loss(output, y)

    def cross_entropy(output, y):
        return torch.nn.functional.cross_entropy(output, y)
    return {"mse": mse, "cross_entropy": cross_entropy}[loss_name]


@pytest.mark.parametrize("loss_name", ["mse", "cross_entropy"])
def test_three_sgd_steps_of_train_match_pytorch(loss_name, device, torch, rng):
    x = rng.normal(size=(12, 4))
    y = rng.normal(size=(12, 3)) if loss_name == "mse" else rng.integers(0, 3, size=12)
    loss_fn = {"mse": zen.loss.MSE, "cross_entropy": zen.loss.softmax_cross_entropy}[loss_name]
    model = nn.Model([nn.Linear(5), nn.Tanh(), nn.Linear(3)], device=device, input_shape=(4,))
    initial = [_random_weights(layer, rng) for layer in model.layers]
    for layer, arrays in zip(model.layers, initial, strict=True):
        _set_weights(layer, arrays)
    model.train(x, y, epochs=1, loss_fn=loss_fn, optimizer=zen.optim.SGD(lr=0.3),
                batch_size=4, shuffle=False, verbose=False)

    parameters = [torch.tensor(initial[i][name], requires_grad=True)
                  for i in (0, 2) for name in ("weight", "bias")]
    w1, b1, w2, b2 = parameters
    optimizer = torch.optim.SGD(parameters, lr=0.3)
    torch_loss = _torch_model_loss(torch, loss_name)
    for start in range(0, 12, 4):
        batch = slice(start, start + 4)
        output = torch.tanh(torch.tensor(x[batch]) @ w1 + b1) @ w2 + b2
        optimizer.zero_grad()
        torch_loss(output, torch.tensor(y[batch])).backward()
        optimizer.step()
    for parameter, expected in zip(model.parameters(), parameters, strict=True):
        _assert_close(parameter.numpy(), expected.detach().numpy())
