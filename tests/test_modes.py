"""Training and inference mode (``model.train()``, ``model.eval()``, ``model.training``;
``Model.train(x, y)`` fits in training mode; predict and evaluate run in inference), obeyed
by Dropout and BatchNorm; the normalisation layers against torch.nn in both modes; integer
inputs (token ids) through a model; the layers' buffers in checkpoints and optimisers."""

import numpy
import pytest

import zen
from conftest import assert_close
from zen import nn
from zen.errors import ArgumentError, CheckpointError, ShapeMismatchError

torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")


pytestmark = pytest.mark.usefixtures("float64")


def _model(device):
    """Dropout then BatchNorm: each shows its mode in what it returns and what it keeps."""
    return nn.Model([nn.Dropout(0.5), nn.BatchNorm1D()], device=device, input_shape=(3,))


def _modes(model):
    return model.training, [layer.training for layer in model.layers]


def test_a_new_model_is_in_inference_mode_and_train_and_eval_switch_it(device):
    model = _model(device)
    assert _modes(model) == (False, [False, False])
    assert model.train() is model and _modes(model) == (True, [True, True])
    assert model.eval() is model and _modes(model) == (False, [False, False])
    assert model.train(True) is model and model.training
    assert model.train(False) is model and not model.training
    layer = nn.Dropout(0.1)
    assert layer.train() is layer and layer.training
    assert layer.eval() is layer and not layer.training
    with pytest.raises(ArgumentError, match=r"Dropout.train: mode must be True or False"):
        layer.train("yes")


def test_inference_passes_dropout_through_and_uses_the_running_statistics(device, rng):
    model = _model(device)
    x = rng.normal(size=(8, 3))
    out = model(x).numpy()
    assert_close(out, x / numpy.sqrt(1 + 1e-5))       # running mean 0, variance 1
    assert model.layers[1].buffers["num_batches_tracked"].item() == 0


def test_training_mode_drops_and_normalises_with_the_batch_in_a_hand_loop(device, rng):
    model = _model(device).train()
    x = rng.uniform(1.0, 2.0, size=(50, 3))
    out = model(x).numpy()
    assert (out == 0).sum() == 0    # BatchNorm after Dropout: the batch's statistics
    numpy.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    batch_norm = model.layers[1]
    assert batch_norm.buffers["num_batches_tracked"].item() == 1
    assert not numpy.allclose(batch_norm.buffers["running_mean"].numpy(), 0)


@pytest.mark.parametrize("start", ["train", "eval"])
@pytest.mark.parametrize("call", ["predict", "evaluate"])
def test_predict_and_evaluate_run_in_inference_and_restore_the_mode(device, rng, start, call):
    model = getattr(_model(device), start)()
    before = _modes(model)
    x = rng.normal(size=(6, 3))
    run = {"predict": lambda: model.predict(x), "evaluate": lambda: model.evaluate(x, x)}
    run[call]()
    assert _modes(model) == before
    assert model.layers[1].buffers["num_batches_tracked"].item() == 0   # no update


@pytest.mark.parametrize("start", ["train", "eval"])
def test_fit_trains_in_training_mode_and_leaves_the_mode_it_found(device, rng, start):
    model = getattr(_model(device), start)()
    before = _modes(model)
    x = rng.normal(size=(8, 3))
    model.train(x, x, epochs=2, batch_size=4, verbose=False, validation_data=(x, x))
    assert _modes(model) == before
    assert model.layers[1].buffers["num_batches_tracked"].item() == 4    # 2 epochs of 2


class _Recorder(nn.Layer):
    """Passes its input through and records the mode it was called in."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(self.training)
        return x


def test_fit_steps_in_training_mode_and_validates_in_inference(device, rng):
    recorder = _Recorder()
    model = nn.Model([nn.Linear(3), recorder], device=device, input_shape=(3,))
    recorder.seen.clear()
    x = rng.normal(size=(4, 3))
    model.train(x, x, epochs=1, batch_size=2, verbose=False, validation_data=(x, x))
    # the data's checks (one example each of x and the validation data), two steps, validation
    assert recorder.seen == [False, False, True, True, False]


@pytest.mark.parametrize("call", ["predict", "evaluate", "fit"])
def test_the_mode_is_restored_after_an_exception(device, rng, call):
    model = _model(device).train()
    x, wide = rng.normal(size=(4, 3)), rng.normal(size=(4, 5))  # BatchNorm has 3 channels

    def failing_loss(prediction, target):
        raise RuntimeError("loss failed")

    run = {"predict": lambda: model.predict(wide), "evaluate": lambda: model.evaluate(wide, x),
           "fit": lambda: model.train(x, x, epochs=1, loss_fn=failing_loss, verbose=False)}
    with pytest.raises((RuntimeError, ShapeMismatchError)):
        run[call]()
    assert _modes(model) == (True, [True, True])


def _batch_norm_module(layer, arrays, dimensions):
    module = getattr(torch.nn, f"BatchNorm{dimensions}d")(
        arrays["weight"].shape[0], momentum=layer.momentum, eps=layer.epsilon,
        dtype=torch.float64)
    with torch.no_grad():
        module.weight.copy_(torch.tensor(arrays["weight"]))
        module.bias.copy_(torch.tensor(arrays["bias"]))
    return module


@pytest.mark.parametrize("make_layer, shape, dimensions", [
    (lambda: nn.BatchNorm1D(), (5, 3), 1),
    (lambda: nn.BatchNorm1D(momentum=None), (4, 3, 6), 1),
    (lambda: nn.BatchNorm2D(momentum=0.3, epsilon=1e-3), (3, 2, 4, 5), 2),
])
def test_batch_norm_layers_match_torch_over_steps_in_both_modes(device, rng, make_layer, shape,
                                                               dimensions):
    layer = make_layer()
    nn.Model([layer], device=device, input_shape=shape[1:])
    arrays = {name: rng.normal(size=w.shape) for name, w in layer.weights.items()}
    with zen.no_grad():
        for name, array in arrays.items():
            layer.weights[name][...] = array
    module = _batch_norm_module(layer, arrays, dimensions)
    for step, training in enumerate([True, True, False, True, False]):
        layer.train(training)
        module.train(training)
        x = rng.normal(size=shape) * (step + 1) + step
        tensor, expected_x = zen.Tensor(x, device=device), torch.tensor(x, requires_grad=True)
        out, expected = layer(tensor), module(expected_x)
        assert_close(out, expected)
        (out * out).sum().backward()
        (expected * expected).sum().backward()
        assert_close(zen.Tensor(tensor.gradient), expected_x.grad)
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            assert_close(layer.buffers[name], getattr(module, name))
    assert_close(zen.Tensor(layer.weights["weight"].gradient), module.weight.grad)
    assert_close(zen.Tensor(layer.weights["bias"].gradient), module.bias.grad)


def test_embedding_layer_matches_torch_and_starts_from_a_standard_normal(device, rng):
    zen.seed(3)
    layer = nn.Embedding(1000, 20)
    ids = rng.integers(0, 1000, size=(4, 7))
    out = layer(zen.Tensor(ids, device=device))
    weight = layer.weights["weight"]
    assert out.shape == (4, 7, 20) and weight.shape == (1000, 20)
    assert abs(weight.numpy().std() - 1) < 0.05 and abs(weight.numpy().mean()) < 0.05
    expected_weight = torch.tensor(weight.numpy(), requires_grad=True)
    expected = torch.nn.functional.embedding(torch.tensor(ids), expected_weight)
    assert_close(out, expected)
    (out ** 2).sum().backward()
    (expected ** 2).sum().backward()
    assert_close(zen.Tensor(weight.gradient), expected_weight.grad)


def _token_data(rng):
    ids = rng.integers(0, 12, size=(40, 5))
    return ids, ids[:, 0] % 3      # the class is in the first token


def test_an_embedding_model_trains_on_integer_ids_with_a_classification_loss(device, rng):
    zen.seed(0)
    ids, labels = _token_data(rng)
    model = nn.Model([nn.Embedding(12, 8), nn.LayerNorm(), nn.Flatten(), nn.Linear(3)],
                     device=device, input_shape=(5,))
    loss_fn = zen.loss.softmax_cross_entropy
    history = model.train(ids, labels, epochs=15, loss_fn=loss_fn, batch_size=8,
                          optimizer=zen.optim.Adam(lr=0.05), verbose=False)
    assert history["loss"][-1] < history["loss"][0] / 4
    assert model.evaluate(ids, labels, loss_fn=loss_fn)["accuracy"] == 1.0
    assert model.predict(ids).shape == (40, 3) and model(ids).shape == (40, 3)


def test_integer_inputs_stay_integers_and_floats_take_the_models_dtype(device):
    model = nn.Model([nn.Flatten()], device=device)
    assert str(model(numpy.array([[1, 2]], dtype=numpy.int32)).dtype).endswith("int32")
    zen.set_default_dtype("float32")
    assert str(model(numpy.array([[1.5, 2.0]])).dtype).endswith("float32")


def test_an_embedding_model_saves_loads_and_resumes_with_integer_ids(tmp_path, rng):
    ids, labels = _token_data(rng)
    path, checkpoint = tmp_path / "model.npz", tmp_path / "run.npz"
    layers = [nn.Embedding(12, 4), nn.Flatten(), nn.BatchNorm1D(), nn.Linear(3)]
    model = nn.Model(layers, input_shape=(5,))
    settings = dict(loss_fn=zen.loss.softmax_cross_entropy, verbose=False, batch_size=8,
                    checkpoint=checkpoint)
    model.train(ids, labels, epochs=1, **settings)
    model.save(path)
    loaded = nn.Model.load(path)
    assert_close(loaded.predict(ids), model.predict(ids))
    for name, buffer in model.named_buffers().items():
        assert_close(loaded.named_buffers()[name], buffer)
    assert loaded.named_buffers()["2.BatchNorm1D.num_batches_tracked"].item() == 5
    model.train(ids, labels, epochs=2, resume=True, **settings)     # carries on from epoch 1
    assert model.named_buffers()["2.BatchNorm1D.num_batches_tracked"].item() == 10


def test_buffers_are_saved_but_never_given_to_an_optimiser(tmp_path, rng):
    model = nn.Model([nn.BatchNorm2D()], input_shape=(2, 3, 3)).train()
    model(rng.normal(size=(4, 2, 3, 3)))
    buffers = model.named_buffers()
    assert set(buffers) == {"0.BatchNorm2D.running_mean", "0.BatchNorm2D.running_var",
                            "0.BatchNorm2D.num_batches_tracked"}
    assert all(p is not b for p in model.parameters() for b in buffers.values())
    assert len(model.parameters()) == 2
    model.save(tmp_path / "model.npz")
    fresh = nn.Model([nn.BatchNorm2D()], input_shape=(2, 3, 3))
    fresh.load_weights(tmp_path / "model.npz")
    for name, buffer in buffers.items():
        assert_close(fresh.named_buffers()[name], buffer)
    assert str(fresh.named_buffers()["0.BatchNorm2D.num_batches_tracked"].dtype) \
        .endswith("int64")


def test_a_checkpoint_whose_integer_buffer_holds_floats_is_refused(tmp_path, rng):
    model = nn.Model([nn.BatchNorm1D()], input_shape=(3,))
    path = tmp_path / "model.npz"
    model.save(path)
    with numpy.load(path) as archive:
        arrays = dict(archive)
    name = "0.BatchNorm1D.num_batches_tracked"
    arrays[name] = arrays[name].astype(numpy.float64) + 0.5
    numpy.savez(path, **arrays)
    fresh = nn.Model([nn.BatchNorm1D()], input_shape=(3,))
    with pytest.raises(CheckpointError, match="num_batches_tracked"):
        fresh.load_weights(path)
    assert fresh.named_buffers()[name].item() == 0


@pytest.mark.parametrize("make_layer, match", [
    (lambda: nn.BatchNorm1D(momentum=1.5), r"BatchNorm1D: momentum must be .* got 1.5"),
    (lambda: nn.BatchNorm2D(epsilon=0), "BatchNorm2D: epsilon must be a number > 0"),
    (lambda: nn.LayerNorm(epsilon="small"), "LayerNorm: epsilon must be"),
    (lambda: nn.GroupNorm(0), "GroupNorm: groups must be a positive int"),
    (lambda: nn.Embedding(0, 3), "Embedding: input_dim must be a positive int"),
])
def test_layer_settings_are_checked_when_made(make_layer, match):
    with pytest.raises(ArgumentError, match=match):
        make_layer()


@pytest.mark.parametrize("layer, shape, match", [
    (nn.BatchNorm1D, (2, 3, 4, 5), r"BatchNorm1D: needs input NC or NCL"),
    (nn.BatchNorm2D, (2, 3), "BatchNorm2D: needs input NCHW"),
    (lambda: nn.GroupNorm(2), (2, 3, 4), "GroupNorm: .* a multiple of groups=2"),
])
def test_normalisation_layers_refuse_inputs_and_stay_unbuilt(layer, shape, match, rng):
    made = layer()
    with pytest.raises(ShapeMismatchError, match=match):
        made(zen.Tensor(rng.normal(size=shape)))
    assert not made.built and not made.buffers


class _FailsAfterItsBuffer(nn.Layer):
    lazy = True

    def forward(self, x):
        self.add_weight("weight", (1,), x)
        self.add_buffer("count", (), x, dtype="int64")
        raise ShapeMismatchError("refused after building")


def test_a_failed_first_call_takes_back_the_buffers_it_made_too(device):
    layer = _FailsAfterItsBuffer()
    model = nn.Model([layer], device=device)
    with pytest.raises(ShapeMismatchError, match="refused after building"):
        model(numpy.ones((2, 3)))
    assert not layer.weights and not layer.buffers
