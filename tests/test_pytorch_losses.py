"""PyTorch's losses in zen.loss: what the op table's cases (tests/op_cases.py) do not show,
against PyTorch: any number of axes after the class axis, ignored labels, logits far past
float32's exp, and training a model with them."""

import numpy
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import zen
from zen import Tensor
from zen.errors import DataError
from zen.nn import Linear, Model

torch = pytest.importorskip("torch", reason="PyTorch is the oracle: pip install torch")
F = torch.nn.functional


def _both(array, device):
    return (Tensor(array, device=device, trainable=True),
            torch.tensor(array, requires_grad=True))


def _assert_matches(zen_loss, torch_loss, zen_input, torch_input, rtol=1e-10, atol=1e-12):
    zen_loss.sum().backward()
    torch_loss.sum().backward()
    numpy.testing.assert_allclose(zen_loss.numpy(), torch_loss.detach().numpy(), rtol=rtol,
                                  atol=atol)
    numpy.testing.assert_allclose(Tensor(zen_input.gradient).numpy(), torch_input.grad.numpy(),
                                  rtol=rtol, atol=atol)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(batch=st.integers(0, 3), classes=st.integers(1, 4),
       trailing=st.lists(st.integers(1, 3), max_size=2), smoothing=st.sampled_from([0.0, 0.3]),
       reduction=st.sampled_from(["mean", "sum", "none"]), seed=st.integers(0, 2**16))
@example(batch=0, classes=3, trailing=[], smoothing=0.0, reduction="mean", seed=0)   # size 0
@example(batch=1, classes=1, trailing=[1], smoothing=0.3, reduction="none", seed=0)  # size 1
@example(batch=None, classes=3, trailing=[], smoothing=0.0, reduction="sum", seed=0)  # 0-d label
def test_cross_entropy_takes_axis_1_as_classes_for_any_shape_as_pytorch(
        device, batch, classes, trailing, smoothing, reduction, seed):
    rng = numpy.random.default_rng(seed)
    shape = (classes,) if batch is None else (batch, classes, *trailing)
    label_shape = () if batch is None else (batch, *trailing)
    logits = rng.normal(size=shape) * 3
    labels = rng.integers(0, classes, size=label_shape)
    weight = rng.uniform(0.5, 2.0, size=classes)
    x, t = _both(logits, device)
    expected = F.cross_entropy(t, torch.tensor(labels), weight=torch.tensor(weight),
                               reduction=reduction, label_smoothing=smoothing)
    loss = zen.loss.cross_entropy(x, labels, weight=weight, reduction=reduction,
                                  label_smoothing=smoothing)
    _assert_matches(loss, expected, x, t)


def test_cross_entropy_of_3d_scores_is_no_longer_over_the_last_axis(device):
    """The change from zen 0.4, where cross_entropy was softmax_cross_entropy (last axis)."""
    logits = numpy.random.default_rng(0).normal(size=(2, 3, 4))
    labels = numpy.array([[0, 1, 2, 2], [1, 1, 0, 2]])
    loss = zen.loss.cross_entropy(Tensor(logits, device=device), labels)
    assert loss.item() == pytest.approx(F.cross_entropy(torch.tensor(logits),
                                                        torch.tensor(labels)).item(), rel=1e-12)


def test_a_batch_of_only_ignored_labels_gives_nan_and_a_zero_gradient(device):
    x, t = _both(numpy.ones((2, 3)), device)
    loss = zen.loss.cross_entropy(x, numpy.array([1, 1]), ignore_index=1)
    assert numpy.isnan(loss.item()) and numpy.isnan(F.cross_entropy(t, torch.tensor([1, 1]),
                                                                    ignore_index=1).item())
    summed = zen.loss.nll_loss(x, numpy.array([-100, -100]), reduction="sum")
    summed.backward()
    assert summed.item() == 0.0
    numpy.testing.assert_array_equal(Tensor(x.gradient).numpy(), numpy.zeros((2, 3)))


@pytest.mark.parametrize("weight", [None, numpy.array([1.0, 2.0, 0.5])])
def test_the_mean_of_only_ignored_labels_has_pytorchs_zero_gradient(device, weight):
    """The loss is 0/0 (nan); no example is counted, so none gets a gradient (not nan)."""
    x, t = _both(numpy.ones((2, 3)), device)
    settings = {"ignore_index": 1}
    expected = F.cross_entropy(t, torch.tensor([1, 1]), **settings,
                               weight=None if weight is None else torch.tensor(weight))
    with numpy.errstate(invalid="ignore", divide="ignore"):     # 0/0, as PyTorch's
        loss = zen.loss.cross_entropy(x, numpy.array([1, 1]), weight=weight, **settings)
        _assert_matches(loss, expected, x, t)


# Losses of integer class labels, each with a class of score -inf (masked) at a place that
# is not the label there: PyTorch gathers the labels' scores, so that class adds nothing.
MASKED_CLASS_LOSSES = {
    "softmax_cross_entropy": lambda m, x, labels: m.softmax_cross_entropy(x, labels)
    if m is zen.loss else m.cross_entropy(x, labels),
    "cross_entropy, none": lambda m, x, labels: m.cross_entropy(x, labels, reduction="none"),
    "cross_entropy, weight": lambda m, x, labels: m.cross_entropy(
        x, labels, weight=_weights(m, [0.5, 2.0, 1.0])),
    "cross_entropy, ignore_index": lambda m, x, labels: m.cross_entropy(x, labels,
                                                                        ignore_index=0),
    "nll_loss, sum": lambda m, x, labels: m.nll_loss(m.log_softmax(x, 1) if m is F else
                                                     zen.log_softmax(x, axis=1), labels,
                                                     reduction="sum"),
    "multi_margin_loss": lambda m, x, labels: m.multi_margin_loss(x, labels),
}


def _weights(module, values):
    return numpy.array(values) if module is zen.loss else \
        torch.tensor(values, dtype=torch.float64)


@pytest.mark.parametrize("name", MASKED_CLASS_LOSSES)
def test_a_masked_class_that_is_no_label_adds_nothing_as_in_pytorch(device, name):
    logits = numpy.array([[2.0, -numpy.inf, 0.5], [-numpy.inf, 1.0, 3.0], [0.1, 0.2, 0.3]])
    labels = numpy.array([0, 2, 1])
    x, t = _both(logits, device)
    loss = MASKED_CLASS_LOSSES[name](zen.loss, x, labels)
    expected = MASKED_CLASS_LOSSES[name](F, t, torch.tensor(labels))
    assert numpy.isfinite(loss.numpy()).all()
    _assert_matches(loss, expected, x, t)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_cross_entropy_with_logits_is_stable_for_any_logit(device, dtype):
    logits = numpy.array([-1e4, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4], dtype=dtype)
    targets = numpy.array([1.0, 1.0, 0.0, 0.5, 1.0, 0.0, 0.0], dtype=dtype)
    x, t = _both(logits, device)
    loss = zen.loss.binary_cross_entropy_with_logits(x, Tensor(targets, device=device),
                                                     reduction="none")
    expected = F.binary_cross_entropy_with_logits(t, torch.tensor(targets), reduction="none")
    # float32 at PyTorch's own tolerances (torch.testing): log(1 + 2e-9) rounds to 0 there.
    tolerances = dict(rtol=1.3e-6, atol=1e-5) if dtype == "float32" else {}
    _assert_matches(loss, expected, x, t, **tolerances)


def test_binary_cross_entropy_clamps_its_logs_at_minus_100_without_nan(device):
    x, t = _both(numpy.array([0.0, 1.0, 0.5]), device)
    targets = numpy.array([1.0, 0.0, 1.0])
    loss = zen.loss.binary_cross_entropy(x, targets, reduction="sum")
    loss.backward()
    assert loss.item() == pytest.approx(F.binary_cross_entropy(
        t, torch.tensor(targets), reduction="sum").item(), rel=1e-12)     # 200 + log 2
    assert numpy.isfinite(Tensor(x.gradient).numpy()).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_cross_entropy_has_pytorchs_gradients_at_and_near_0_and_1(device, dtype):
    """PyTorch's input gradient (x - t) / max(x (1 - x), 1e-12) is finite at 0 and 1; its
    target gradient log(1 - x) - log(x) is not clamped (infinite there)."""
    values = numpy.array([0.0, 1.0, 1e-13, 1 - 2.0 ** -40, 0.0, 1.0, 0.3], dtype=dtype)
    targets = numpy.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.2], dtype=dtype)
    x, t = _both(values, device)
    y, u = _both(targets, device)
    with numpy.errstate(divide="ignore"):
        _assert_matches(zen.loss.binary_cross_entropy(x, y, reduction="none"),
                        F.binary_cross_entropy(t, u, reduction="none"), x, t, rtol=1e-6)
    numpy.testing.assert_allclose(Tensor(y.gradient).numpy(), u.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("loss_fn", [zen.loss.cross_entropy, zen.loss.nll_loss])
def test_model_train_checks_labels_and_reports_accuracy_with_the_new_losses(device, loss_fn):
    rng = numpy.random.default_rng(0)
    x, y = rng.normal(size=(12, 4)), rng.integers(0, 3, size=12)
    zen.seed(0)
    layers = [Linear(3)] if loss_fn is zen.loss.cross_entropy else [Linear(3), zen.nn.Softmax()]
    model = Model(layers, device=device, input_shape=(4,))
    model.train(x, y, epochs=2, loss_fn=loss_fn, verbose=False)
    assert set(model.evaluate(x, y, loss_fn=loss_fn)) == {"loss", "accuracy"}
    with pytest.raises(zen.errors.DataError, match=r"train: 12 class label\(s\) outside"):
        model.train(x, y + 3, loss_fn=loss_fn, verbose=False)


class _ToClassAxis1(zen.nn.Layer):
    """(N, T, C) scores to PyTorch's (N, C, T)."""

    def forward(self, x):
        return zen.permute_dims(x, (0, 2, 1))


@pytest.mark.parametrize("classes, steps", [(3, 5), (4, 4)])   # 4, 4: the axes look alike
def test_train_and_evaluate_read_cross_entropys_class_axis_1(classes, steps, device):
    """Labels are checked and accuracy counted along the loss's class axis (1 for PyTorch's
    cross_entropy and nll_loss), not the last one."""
    zen.seed(0)
    x = numpy.random.default_rng(0).standard_normal((6, steps, 2)).astype("float32")
    labels = numpy.random.default_rng(1).integers(0, classes, (6, steps))
    model = zen.nn.Model([zen.nn.Linear(classes), _ToClassAxis1()], device=device)
    model.train(x, labels, epochs=1, loss_fn=zen.loss.cross_entropy, verbose=False)
    scores = model.predict(x).numpy()
    accuracy = model.evaluate(x, labels, loss_fn=zen.loss.cross_entropy)["accuracy"]
    assert accuracy == pytest.approx((scores.argmax(axis=1) == labels).mean())
    with pytest.raises(DataError, match=rf"outside \[0, {classes}\)"):
        model.evaluate(x, numpy.full((6, steps), classes), loss_fn=zen.loss.cross_entropy)
