"""Attention, linear and dropout (zen.attention) and the layers built on them: against
PyTorch over shapes, masks and scales (hypothesis), at the edges (empty sequences, queries
that see no key), and the layers (every activation layer, MultiHeadAttention) against their
torch.nn classes, saved and loaded."""

import numpy
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import zen
from zen import nn
from zen.errors import ArgumentError, DtypeError, ShapeMismatchError

torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")
F = torch.nn.functional

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


pytestmark = pytest.mark.usefixtures("float64")


def _zen(array, device):
    return zen.Tensor(array, device=device)


def _gradient(tensor):
    return zen.Tensor(tensor.gradient).numpy()


def _close(actual, expected):
    numpy.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-12)


def _compare_attention(device, arrays, mask=None, **settings):
    """zen's and PyTorch's attention of the same (query, key, value): values and the
    gradients of a weighted sum."""
    inputs = [_zen(a, device) for a in arrays]
    out = zen.scaled_dot_product_attention(*inputs, attn_mask=mask, **settings)
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    expected = F.scaled_dot_product_attention(
        *tensors, attn_mask=None if mask is None else torch.tensor(mask), **settings)
    weights = numpy.cos(numpy.arange(expected.numel()) * 1.3).reshape(expected.shape)
    (out * _zen(weights, device)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    _close(out.numpy(), expected.detach().numpy())
    for tensor, oracle in zip(inputs, tensors, strict=True):
        _close(_gradient(tensor), oracle.grad.numpy())


@st.composite
def attention_problems(draw):
    batch = draw(st.lists(st.integers(1, 3), max_size=2))
    queries, keys = draw(st.integers(0, 5)), draw(st.integers(0, 5))
    embed, values = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    mask = draw(st.sampled_from([None, "bool", "float", "causal"]))
    scale = draw(st.sampled_from([None, 0.3, 2.0]))
    seed = draw(st.integers(0, 2 ** 16))
    return tuple(batch), queries, keys, embed, values, mask, scale, seed


def _problem_arrays(problem):
    batch, queries, keys, embed, values, mask_kind, scale, seed = problem
    rng = numpy.random.default_rng(seed)
    arrays = [rng.normal(size=batch + shape)
              for shape in [(queries, embed), (keys, embed), (keys, values)]]
    mask = None
    if mask_kind == "bool":     # a row of falses among them: a query that sees no key
        mask = rng.random((queries, keys)) < 0.6
    if mask_kind == "float":
        mask = numpy.where(rng.random((1, keys)) < 0.7, rng.normal(size=(1, keys)), -numpy.inf)
    return arrays, mask, dict(is_causal=mask_kind == "causal", scale=scale)


@SETTINGS
@given(problem=attention_problems())
@example(problem=((2,), 3, 0, 2, 2, None, None, 0))       # no keys: zeros
@example(problem=((), 0, 3, 2, 2, "causal", None, 0))     # no queries
@example(problem=((), 5, 2, 1, 3, "causal", 2.0, 0))      # more queries than keys
@example(problem=((1, 1), 1, 1, 1, 1, "bool", None, 1))   # one of everything
@example(problem=((2,), 3, 4, 2, 3, "float", 0.3, 2))
def test_attention_matches_pytorch_over_shapes_masks_and_scales(problem, device):
    arrays, mask, settings = _problem_arrays(problem)
    _compare_attention(device, arrays, mask, **settings)


def test_attention_in_float32_keeps_float32_and_matches_pytorch(device):
    rng = numpy.random.default_rng(5)
    arrays = [rng.normal(size=(2, 2, 3, 4)).astype("float32") for _ in range(3)]
    out = zen.scaled_dot_product_attention(*[_zen(a, device) for a in arrays], is_causal=True)
    expected = F.scaled_dot_product_attention(*map(torch.tensor, arrays), is_causal=True)
    assert out.dtype == zen.Tensor(arrays[0], device=device).dtype
    numpy.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1.3e-6, atol=1e-5)


def test_huge_scores_do_not_overflow(device):
    """The softmax is shifted by each row's largest score, masked or not."""
    q = numpy.full((1, 2, 3), 300.0)
    k = numpy.array([[[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]])
    v = numpy.array([[[1.0], [5.0]]])
    for mask in [None, numpy.array([[True, True], [True, False]])]:
        _compare_attention(device, [q, k, v], mask)


def test_attention_dropout_drops_attention_weights_with_zens_generator(device):
    rng = numpy.random.default_rng(2)
    q, k, v = (_zen(rng.normal(size=(2, 4, 3)), device) for _ in range(3))
    zen.seed(7)
    out = zen.scaled_dot_product_attention(q, k, v, dropout_p=0.4)
    zen.seed(7)
    weights = zen.softmax(q @ k.transpose(0, 2, 1) / numpy.sqrt(3), axis=-1)
    expected = zen.dropout(weights, 0.4) @ v
    _close(out.numpy(), expected.numpy())
    assert not numpy.allclose(out.numpy(), zen.scaled_dot_product_attention(q, k, v).numpy())


def test_dropout_in_training_keeps_one_minus_p_scaled_and_repeats_with_the_seed(device):
    x = _zen(numpy.random.default_rng(3).uniform(0.5, 1.5, size=(40, 50)), device)
    zen.seed(1)
    out = zen.dropout(x, 0.25)
    out.sum().backward()
    kept = out.numpy() != 0
    assert 0.65 < kept.mean() < 0.85
    _close(out.numpy()[kept], x.numpy()[kept] / 0.75)
    _close(_gradient(x), kept / 0.75)
    zen.seed(1)
    numpy.testing.assert_array_equal(zen.dropout(x, 0.25).numpy(), out.numpy())


def test_dropout_and_its_layer_draw_alike(device):
    """The Dropout layer is zen.dropout with the layer's rate and training flag."""
    x = _zen(numpy.ones((6, 7)), device)
    layer = nn.Dropout(0.5)
    layer.training = True
    zen.seed(4)
    from_layer = layer(x).numpy()
    zen.seed(4)
    numpy.testing.assert_array_equal(zen.dropout(x, 0.5).numpy(), from_layer)


@pytest.mark.parametrize("shape", [(0, 3), (2, 0), (0,)])
def test_softmaxes_over_nothing_are_empty_and_logsumexp_is_minus_inf(shape, device):
    array = numpy.zeros(shape)
    x, t = _zen(array, device), torch.tensor(array)
    numpy.testing.assert_array_equal(zen.softmax(x, axis=-1).numpy(), torch.softmax(t, -1))
    with numpy.errstate(divide="ignore"):      # log(0) over nothing, as NumPy says it
        numpy.testing.assert_array_equal(zen.log_softmax(x, axis=-1).numpy(),
                                         torch.log_softmax(t, -1))
        numpy.testing.assert_array_equal(zen.logsumexp(x, axis=-1).numpy(),
                                         torch.logsumexp(t, -1))


@pytest.mark.parametrize("misuse, error, message", [
    (lambda q: zen.scaled_dot_product_attention(q, q, q, numpy.ones((3, 3), bool),
                                                is_causal=True),
     ArgumentError, r"scaled_dot_product_attention: give attn_mask or is_causal"),
    (lambda q: zen.scaled_dot_product_attention(q, q, q, numpy.ones((3, 3), "int64")),
     DtypeError, r"scaled_dot_product_attention: attn_mask must be bool .* got .*int64"),
    (lambda q: zen.scaled_dot_product_attention(q, q[..., :2], q),
     ShapeMismatchError, r"scaled_dot_product_attention: .*query \(2, 3, 4\), key \(2, 3, 2\)"),
    (lambda q: zen.scaled_dot_product_attention(q, q, q, dropout_p=1.5),
     ArgumentError,
     r"scaled_dot_product_attention: dropout_p must be a number in \[0, 1\], got 1\.5"),
    (lambda q: zen.scaled_dot_product_attention(q, zen.concat([q, q[:1]]), zen.concat([q, q[:1]]),
                                                enable_gqa=True),
     ShapeMismatchError, r"scaled_dot_product_attention: enable_gqa .* \(2, 3, 4\) and \(3, 3"),
    (lambda q: zen.linear(q, numpy.ones((5, 3))),
     ShapeMismatchError, r"linear: .*input \(2, 3, 4\) and weight \(5, 3\)"),
    (lambda q: zen.dropout(q, 0.5, inplace=True), ArgumentError, r"dropout: inplace=True"),
])
def test_attention_functions_refuse_what_they_cannot_do(misuse, error, message, device):
    with pytest.raises(error, match=message):
        misuse(_zen(numpy.ones((2, 3, 4)), device))


# Every activation layer and the torch.nn class it ports, with non-default settings.
ACTIVATION_LAYERS = [
    (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
    (nn.ELU(alpha=1.5), torch.nn.ELU(alpha=1.5)),
    (nn.SELU(), torch.nn.SELU()),
    (nn.CELU(0.5), torch.nn.CELU(0.5)),
    (nn.GELU(), torch.nn.GELU()),
    (nn.GELU(approximate="tanh"), torch.nn.GELU(approximate="tanh")),
    (nn.SiLU(), torch.nn.SiLU()),
    (nn.Mish(), torch.nn.Mish()),
    (nn.Softplus(beta=2.0, threshold=3.0), torch.nn.Softplus(beta=2.0, threshold=3.0)),
    (nn.Softsign(), torch.nn.Softsign()),
    (nn.LogSigmoid(), torch.nn.LogSigmoid()),
    (nn.Hardtanh(-0.5, 2.0), torch.nn.Hardtanh(-0.5, 2.0)),
    (nn.ReLU6(), torch.nn.ReLU6()),
    (nn.Hardsigmoid(), torch.nn.Hardsigmoid()),
    (nn.Hardswish(), torch.nn.Hardswish()),
    (nn.Softmin(axis=1), torch.nn.Softmin(dim=1)),
    (nn.LogSoftmax(), torch.nn.LogSoftmax(dim=-1)),
    (nn.Softmax(0), torch.nn.Softmax(dim=0)),
]


# PyTorch's hardsigmoid divides by 6 in float32 even for float64 tensors.
ROUNDED_IN_TORCH = {"Hardsigmoid": 1e-7}


@pytest.mark.parametrize("layer, module", ACTIVATION_LAYERS,
                         ids=[repr(layer) for layer, _ in ACTIVATION_LAYERS])
def test_activation_layer_matches_its_torch_module(layer, module, device):
    array = numpy.random.default_rng(6).uniform(-5, 5, size=(4, 3, 5))
    x, t = _zen(array, device), torch.tensor(array, requires_grad=True)
    out, expected = layer(x), module(t)
    weights = numpy.cos(numpy.arange(out.numpy().size)).reshape(out.shape)
    (out * _zen(weights, device)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    rtol = ROUNDED_IN_TORCH.get(type(layer).__name__, 1e-9)
    numpy.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=rtol, atol=1e-12)
    numpy.testing.assert_allclose(_gradient(x), t.grad.numpy(), rtol=rtol, atol=1e-12)


def test_every_activation_layer_is_in_the_table():
    ported = {type(layer).__name__ for layer, _ in ACTIVATION_LAYERS}
    activations = {name for name, cls in nn.LAYERS.items()
                   if issubclass(cls, nn.Layer) and hasattr(torch.nn, name) and not cls.lazy
                   and name not in ("Flatten", "Dropout", "Sigmoid", "Tanh", "ReLU")}
    assert activations <= ported


def test_activation_layers_are_saved_and_loaded_with_their_settings(tmp_path, device):
    layers = [nn.LeakyReLU(0.3), nn.GELU("tanh"), nn.Softplus(2, 4.0), nn.Hardtanh(-2.0, 0.5),
              nn.Softmin(0), nn.LogSoftmax(axis=1), nn.SELU()]
    model = nn.Model([nn.Linear(4), *layers], device=device)   # save needs a parameter
    x = numpy.random.default_rng(8).normal(size=(3, 4))
    expected = model(x).numpy()
    model.save(tmp_path / "activations.npz")
    loaded = nn.Model.load(tmp_path / "activations.npz", device=device)
    assert [layer.config for layer in loaded.layers[1:]] == [layer.config for layer in layers]
    _close(loaded(x).numpy(), expected)


@pytest.mark.parametrize("make, message", [
    (lambda: nn.LeakyReLU("0.1"), r"LeakyReLU: leaky_relu: negative_slope must be a number"),
    (lambda: nn.CELU(alpha=0), r"CELU: celu: alpha must be a number > 0, got 0"),
    (lambda: nn.GELU("erf"), r"GELU: gelu: approximate must be 'none' or 'tanh', got 'erf'"),
    (lambda: nn.Softplus(beta=-1), r"Softplus: softplus: beta must be a number > 0"),
    (lambda: nn.Hardtanh(1.0, -1.0), r"Hardtanh: hardtanh: min_val 1\.0 is above max_val"),
    (lambda: nn.Softmin(axis=1.5), r"Softmin: axis must be an int, got 1\.5"),
    (lambda: nn.ELU(1.0, 2.0), r"ELU: too many positional arguments"),
    (lambda: nn.SiLU(alpha=1.0), r"SiLU: got an unexpected keyword argument 'alpha'"),
])
def test_activation_layers_check_their_settings_when_made(make, message):
    with pytest.raises(ArgumentError, match=message):
        make()


def _torch_attention(layer, query, key, value, causal, key_mask, float_mask):
    """torch.nn.MultiheadAttention with ``layer``'s weights copied in, and its parameters."""
    embed = query.shape[-1]
    module = torch.nn.MultiheadAttention(embed, layer.num_heads, batch_first=True,
                                         bias=layer.use_bias, dtype=torch.float64)
    names = {"in_weight": "in_proj_weight", "out_weight": "out_proj.weight",
             "in_bias": "in_proj_bias", "out_bias": "out_proj.bias"}
    parameters = {names[name]: torch.tensor(w.numpy().T if w.ndim == 2 else w.numpy(),
                                            requires_grad=True)
                  for name, w in layer.weights.items()}
    mask = None     # PyTorch's boolean masks say where not to attend
    if causal:
        mask = torch.ones(query.shape[1], key.shape[1], dtype=torch.bool).triu(1)
    if float_mask is not None:
        mask = torch.tensor(float_mask)
    padding = None if key_mask is None else torch.tensor(~key_mask)
    out = torch.func.functional_call(module, parameters, (query, key, value), dict(
        attn_mask=mask, key_padding_mask=padding, need_weights=False))[0]
    return out, parameters, names


@pytest.mark.parametrize("causal, use_bias, cross, key_mask, float_mask", [
    (False, True, False, False, False),
    (True, True, False, False, False),
    (False, False, False, True, False),
    (True, True, True, True, False),
    (False, True, True, False, True),
], ids=["self", "causal", "no-bias-key-mask", "cross-causal-key-mask", "cross-float-mask"])
def test_multi_head_attention_matches_torch(causal, use_bias, cross, key_mask, float_mask,
                                            device):
    rng = numpy.random.default_rng(9)
    layer = nn.MultiHeadAttention(2, causal=causal, use_bias=use_bias)
    query = rng.normal(size=(2, 4, 6))
    key = rng.normal(size=(2, 5, 6)) if cross else query
    value = rng.normal(size=key.shape) if cross else query
    keys = rng.random(key.shape[:2]) < 0.7 if key_mask else None
    if keys is not None:
        keys[:, 0] = True
    floats = rng.normal(size=(4, 5)) if float_mask else None
    inputs = [_zen(a, device) for a in ((query, key, value) if cross else (query,))]
    out = layer(*inputs, attn_mask=floats, key_mask=keys)
    for w in layer.weights.values():       # nonzero biases, so that they count
        w.value = w.backend.asarray(rng.normal(scale=0.5, size=w.shape), w.dtype)
    out = layer(*inputs, attn_mask=floats, key_mask=keys)
    tensors = [torch.tensor(a, requires_grad=True) for a in ((query, key, value) if cross
                                                           else (query,))]
    expected, parameters, names = _torch_attention(layer, *(tensors * 3)[:3], causal, keys,
                                                   floats)
    weights = numpy.cos(numpy.arange(out.numpy().size)).reshape(out.shape)
    (out * _zen(weights, device)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    _close(out.numpy(), expected.detach().numpy())
    for tensor, oracle in zip(inputs, tensors, strict=True):
        _close(_gradient(tensor), oracle.grad.numpy())
    for name, w in layer.weights.items():
        grad = parameters[names[name]].grad.numpy()
        _close(_gradient(w), grad.T if w.ndim == 2 else grad)


def test_multi_head_attention_in_a_model_is_saved_loaded_and_drops_only_in_training(
        tmp_path, device):
    model = nn.Model([nn.Linear(8), nn.MultiHeadAttention(4, causal=True, dropout=0.5),
                      nn.GELU()], device=device, input_shape=(5, 3))
    x = numpy.random.default_rng(10).normal(size=(2, 5, 3))
    first, again = model.predict(x).numpy(), model.predict(x).numpy()
    numpy.testing.assert_array_equal(first, again)           # inference: no dropout
    model.layers[1].training = True
    assert not numpy.allclose(model(x).numpy(), first)
    model.save(tmp_path / "attention.npz")
    loaded = nn.Model.load(tmp_path / "attention.npz", device=device)
    assert loaded.layers[1].config == dict(num_heads=4, causal=True, dropout=0.5, use_bias=True)
    _close(loaded.predict(x).numpy(), first)


def test_causal_attention_does_not_look_ahead(device):
    layer = nn.MultiHeadAttention(1, causal=True)
    x = numpy.random.default_rng(11).normal(size=(1, 4, 2))
    changed = x.copy()
    changed[0, 3] += 5.0            # the last position: no earlier output may change
    before, after = layer(_zen(x, device)).numpy(), layer(_zen(changed, device)).numpy()
    _close(after[0, :3], before[0, :3])


@pytest.mark.parametrize("make, call, error, message", [
    (lambda: nn.MultiHeadAttention(0), None, ArgumentError,
     r"MultiHeadAttention: num_heads must be a positive int, got 0"),
    (lambda: nn.MultiHeadAttention(2, dropout=1.0), None, ArgumentError,
     r"MultiHeadAttention: dropout must be a number in \[0, 1\), got 1\.0"),
    (lambda: nn.MultiHeadAttention(2, causal="yes"), None, ArgumentError,
     r"MultiHeadAttention: causal must be True or False, got 'yes'"),
    (lambda: nn.MultiHeadAttention(4), lambda layer, x: layer(x), ShapeMismatchError,
     r"MultiHeadAttention: the embedding size 6 .* num_heads=4"),
    (lambda: nn.MultiHeadAttention(2), lambda layer, x: layer(x, x[:, :, :4]),
     ShapeMismatchError, r"MultiHeadAttention: needs query \(N, L, 6\).* key \(2, 3, 4\)"),
    (lambda: nn.MultiHeadAttention(2), lambda layer, x: layer(x, key_mask=numpy.ones((2, 4))),
     ShapeMismatchError, r"MultiHeadAttention: key_mask must be booleans of shape \(2, 3\)"),
])
def test_multi_head_attention_refuses_what_it_cannot_do_and_stays_unbuilt(
        make, call, error, message, device):
    with pytest.raises(error, match=message):
        layer = make()
        call(layer, _zen(numpy.ones((2, 3, 6)), device))
    if call is not None:
        assert not layer.built
