"""The classification losses against a formula written out in NumPy, for every form of
target (integer labels, one-hot rows, probabilities whose rows need not sum to 1) and any
number of leading axes, with the prediction's dtype and on the prediction's device.
Written to kill the mutants that survived ``mutmut`` (see tests/README.md)."""

import warnings

import numpy
import pytest

import zen
from zen import Tensor
from zen.errors import DataError
from zen.nn import Linear, Model, Softmax

LOSSES = {"softmax_cross_entropy": zen.loss.softmax_cross_entropy,
          "categorical_crossentropy": zen.loss.categorical_crossentropy}
# (batch, time, classes): a class axis that is the last but not the second axis
SHAPE = (2, 5, 4)


def _expected(name, prediction, probabilities):
    """The mean over every leading position of -sum(target * log p) along the last axis."""
    if name == "softmax_cross_entropy":
        shifted = prediction - prediction.max(axis=-1, keepdims=True)
        log_p = shifted - numpy.log(numpy.exp(shifted).sum(axis=-1, keepdims=True))
    else:
        log_p = numpy.log(numpy.clip(prediction, 1e-7, 1.0))
    return -(probabilities * log_p).sum(axis=-1).mean()


def _prediction(name, rng):
    raw = rng.normal(size=SHAPE)
    if name == "softmax_cross_entropy":
        return raw
    return numpy.exp(raw) / numpy.exp(raw).sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("form", ["labels", "one-hot", "probabilities"])
def test_a_loss_over_leading_axes_takes_the_last_axis_as_classes(device, rng, name, form):
    prediction = _prediction(name, rng)
    labels = rng.integers(0, SHAPE[-1], size=SHAPE[:-1])
    one_hot = numpy.eye(SHAPE[-1])[labels]
    target = {"labels": labels, "one-hot": one_hot,
              "probabilities": rng.uniform(size=SHAPE)}[form]
    probabilities = one_hot if form == "labels" else target
    loss = LOSSES[name](Tensor(prediction, device=device), Tensor(target, device=device))
    numpy.testing.assert_allclose(loss.numpy(), _expected(name, prediction, probabilities),
                                  rtol=1e-12)


@pytest.mark.parametrize("name", LOSSES)
def test_labels_are_checked_against_the_last_axis(device, name):
    prediction = Tensor(numpy.full(SHAPE, 0.25), device=device)
    labels = numpy.zeros(SHAPE[:-1], dtype="int64")
    labels[1, 2] = SHAPE[-1]            # one past the last class, but below SHAPE[1]
    with pytest.raises(DataError, match=rf"{name}: 1 class label\(s\) outside \[0, 4\)"):
        LOSSES[name](prediction, Tensor(labels, device=device))


@pytest.mark.parametrize("name", LOSSES)
def test_float64_targets_leave_a_float32_loss_and_gradient(device, rng, name):
    prediction = Tensor(_prediction(name, rng).astype("float32"), trainable=True, device=device)
    one_hot = numpy.eye(SHAPE[-1])[rng.integers(0, SHAPE[-1], size=SHAPE[:-1])]
    loss = LOSSES[name](prediction, one_hot)
    loss.backward()
    assert loss.dtype == prediction.dtype == prediction.gradient.dtype


def test_soft_targets_whose_rows_do_not_sum_to_one_get_exact_gradients(device, rng):
    logits = Tensor(rng.normal(size=SHAPE), trainable=True, device=device)
    target = Tensor(rng.uniform(size=SHAPE), device=device)
    assert zen.gradcheck(lambda x: zen.loss.softmax_cross_entropy(x, target), logits)


def test_categorical_crossentropy_clips_probabilities_into_epsilon_to_one(device):
    """A zero probability of the true class costs -log(epsilon), not infinity; a probability
    above 1 (a prediction that is no softmax) counts as 1, so the loss is never negative."""
    prediction = Tensor([[0.0, 1.0], [1.5, 0.0]], dtype="float64", device=device)
    loss = zen.loss.categorical_crossentropy(prediction, [[1.0, 0.0], [1.0, 0.0]],
                                             epsilon=1e-3)
    numpy.testing.assert_allclose(loss.numpy(), -numpy.log(1e-3) / 2, rtol=1e-12)


def test_a_model_checks_labels_against_the_last_axis_of_its_output(device):
    model = zen.nn.Model([zen.nn.Linear(SHAPE[-1])], input_shape=(SHAPE[1], 3), device=device)
    labels = numpy.zeros(SHAPE[:-1], dtype="int64")
    labels[1, 2] = SHAPE[-1]
    with pytest.raises(DataError, match=r"evaluate: 1 class label\(s\) outside \[0, 4\)"):
        model.evaluate(numpy.ones((SHAPE[0], SHAPE[1], 3)), labels,
                       loss_fn=zen.loss.softmax_cross_entropy)


def test_accuracy_of_one_hot_targets_over_leading_axes_compares_the_class_axis(device):
    """Predictions (N, T, C) and one-hot targets (N, T, C): the accuracy compares classes
    along the last axis, as the loss does."""
    zen.seed(3)
    x = numpy.random.default_rng(3).standard_normal((4, 5, 6)).astype("float32")
    model = Model([Linear(3), Softmax()], device=device)
    predicted = model.predict(x).numpy().argmax(axis=-1)
    labels = numpy.array([[0, 1, 2, 0, 1]] * 4)
    one_hot = numpy.eye(3, dtype="float32")[labels]
    accuracy = model.evaluate(x, one_hot, loss_fn=zen.loss.categorical_crossentropy)["accuracy"]
    assert accuracy == pytest.approx((predicted == labels).mean())


# Every loss that takes integer class labels, as called with them.
LABEL_LOSSES = {
    "softmax_cross_entropy": lambda x, labels: zen.loss.softmax_cross_entropy(x, labels),
    "categorical_crossentropy": lambda x, labels: zen.loss.categorical_crossentropy(
        zen.softmax(x, axis=-1), labels),
    "cross_entropy": lambda x, labels: zen.loss.cross_entropy(x, labels),
    "cross_entropy, weight, smoothing, sum": lambda x, labels: zen.loss.cross_entropy(
        x, labels, weight=numpy.array([1.0, 2.0, 0.5, 1.0]), label_smoothing=0.1,
        reduction="sum"),
    "nll_loss": lambda x, labels: zen.loss.nll_loss(zen.log_softmax(x, axis=1), labels),
    "multi_margin_loss": lambda x, labels: zen.loss.multi_margin_loss(x, labels, p=2),
}


@pytest.mark.parametrize("name", LABEL_LOSSES)
def test_labels_reach_the_graph_as_labels_not_as_one_hot_rows(device, rng, name):
    """The scores at the labels are gathered inside recorded ops: no floating array of the
    scores' shape (one-hot rows) is made outside them, to be multiplied in."""
    scores = Tensor(rng.normal(size=(3, 4)), trainable=True, device=device)
    loss = LABEL_LOSSES[name](scores, Tensor(numpy.array([0, 3, 1]), device=device))
    constants = [parent for node in zen.autograd.topological_order(loss) if node._op
                 for parent in node._parents if not parent.trainable and parent._op is None]
    assert not [c for c in constants if c.shape == scores.shape and c.dtype == scores.dtype]
    loss.backward()
    assert scores.gradient is not None


# Labels each loss must refuse (with 4 classes), and ones it takes: at the range's edges, in
# unsigned and narrow dtypes, and ignored ones (-100, and a class: cross_entropy's
# ignore_index).
BAD_LABELS = [([0, 4, 1], "int64"), ([-1, 0, 1], "int64"), ([3, 2, 2 ** 40], "int64"),
              ([0, 255, 1], "uint8"), ([-128, 0, 3], "int8"), ([0, 1, 4], "uint64")]
GOOD_LABELS = [([0, 3, 1], "int64"), ([3, 3, 3], "uint8"), ([0, 0, 0], "int8")]
IGNORING = {"cross_entropy, ignore_index=-100": -100, "cross_entropy, ignore_index=2": 2}


def _label_losses(device="cpu"):
    """LABEL_LOSSES (their constants made before a step, for capture) and IGNORING's."""
    losses = dict(LABEL_LOSSES)
    weight = Tensor(numpy.array([1.0, 2.0, 0.5, 1.0]), device=device)
    losses["cross_entropy, weight, smoothing, sum"] = lambda x, labels: zen.loss.cross_entropy(
        x, labels, weight=weight, label_smoothing=0.1, reduction="sum")
    for name, index in IGNORING.items():
        losses[name] = lambda x, labels, index=index: zen.loss.cross_entropy(
            x, labels, ignore_index=index)
    return losses


def _backward_step(loss_fn, scores, captured):
    """A step of ``loss_fn(scores, labels)`` and its backward pass (gradients added up), run
    eagerly or under ``zen.capture``."""
    def step(labels):
        loss = loss_fn(scores, labels)
        loss.backward()
        return loss
    return zen.capture(step) if captured else step


@pytest.mark.parametrize("captured", [False, True], ids=["eager", "captured"])
@pytest.mark.parametrize("name", list(_label_losses()))
def test_every_label_loss_refuses_labels_out_of_range_and_takes_the_rest(device, name,
                                                                         captured):
    """Eagerly, and at every replay of a captured step (whose check counts the one-hot mask
    instead of reducing the labels): each bad set raises DataError naming the loss, and
    leaves the scores' gradient as it was; each good one gives the eager loss."""
    loss_fn = _label_losses(device)[name]
    scores = Tensor(numpy.linspace(-1, 1, 12).reshape(3, 4), trainable=True, device=device)
    ignored = IGNORING.get(name)

    run = _backward_step(loss_fn, scores, captured)
    with warnings.catch_warnings():
        warnings.simplefilter("error", zen.CaptureWarning)
        for values, dtype in GOOD_LABELS * 3 + [([0, ignored, 3], "int64")] * (ignored is not None):
            labels = Tensor(numpy.array(values, dtype=dtype), device=device)
            expected = loss_fn(Tensor(scores.value, device=device), labels).item()
            assert numpy.isclose(run(labels).item(), expected, rtol=1e-6, equal_nan=True)
    if captured:
        assert run.replays >= 3
    for values, dtype in BAD_LABELS * 2:
        if ignored is not None and ignored in values:
            continue
        gradient = scores.gradient
        before = scores.backend.to_host(gradient).copy()
        with pytest.raises(DataError, match=rf"{name.split(',')[0]}: \d+ class label\(s\) "
                                            rf"outside \[0, 4\)"):
            run(Tensor(numpy.array(values, dtype=dtype), device=device))
        assert scores.gradient is gradient
        numpy.testing.assert_array_equal(scores.backend.to_host(gradient), before)


@pytest.mark.parametrize("captured", [False, True], ids=["eager", "captured"])
@pytest.mark.parametrize("name", list(_label_losses()))
def test_more_labels_than_the_scores_dtype_counts_exactly_are_taken(device, name, captured):
    """float16 counts exactly only to 2048 (float32 to 2**24, a segmentation batch): the
    check of 4099 labels in range (one of them 2, ignored by one loss) counts them as what
    they are, eagerly and at replays, and the loss is the float64 one to float16's
    precision."""
    if "float16" not in dir(zen.Tensor(0.0, device=device).backend.xp):
        pytest.skip(f"{device} has no float16")
    loss_fn = _label_losses(device)[name]
    rng = numpy.random.default_rng(0)
    values = rng.normal(size=(4099, 4))
    labels = rng.choice([0, 1, 3], 4099)
    labels[0] = 2
    labels = Tensor(labels, device=device)
    expected = loss_fn(Tensor(values, device=device), labels).item()
    scores = Tensor(values, dtype="float16", trainable=True, device=device)

    run = _backward_step(loss_fn, scores, captured)
    with warnings.catch_warnings():
        warnings.simplefilter("error", zen.CaptureWarning)
        for _ in range(3):
            assert numpy.isclose(run(labels).item(), expected, rtol=1e-2)


@pytest.mark.parametrize("captured", [False, True], ids=["eager", "captured"])
@pytest.mark.parametrize("name", list(_label_losses()))
def test_an_empty_batch_of_labels_holds_none_out_of_range(device, name, captured):
    """No labels, no hits in the one-hot mask: the check of them passes (its count is of
    the labels, not the mean's divisor of at least 1), and the loss is 0 or nan (as PyTorch's
    mean of none), its gradient empty."""
    loss_fn = _label_losses(device)[name]
    scores = Tensor(numpy.zeros((0, 4)), trainable=True, device=device)

    run = _backward_step(loss_fn, scores, captured)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # NumPy's 0 / 0
        for _ in range(3):
            value = run(Tensor(numpy.zeros(0, dtype="int64"), device=device)).item()
            assert value == 0.0 or numpy.isnan(value)
            assert scores.gradient.shape == (0, 4)


@pytest.mark.parametrize("captured", [False, True], ids=["eager", "captured"])
@pytest.mark.parametrize("name", list(_label_losses()))
def test_uint64_labels_past_the_int64_range_are_refused_by_their_values(device, name,
                                                                      captured):
    """uint64 labels from 2**63 on, which a cast to int64 wraps round (2**64 - 100 to the
    default ignore_index -100, 2**64 - 1 to -1): each loss refuses them, eagerly and at
    replays, naming the values given, and leaves the scores' gradient as it was."""
    loss_fn = _label_losses(device)[name]
    scores = Tensor(numpy.linspace(-1, 1, 12).reshape(3, 4), trainable=True, device=device)

    run = _backward_step(loss_fn, scores, captured)
    for _ in range(3):
        run(Tensor(numpy.array([0, 3, 1], dtype="uint64"), device=device))
    gradient = scores.backend.to_host(scores.gradient).copy()
    for high in (2 ** 64 - 100, 2 ** 63, 2 ** 64 - 1):
        labels = Tensor(numpy.array([0, high, 1], dtype="uint64"), device=device)
        with pytest.raises(DataError, match=rf"{name.split(',')[0]}: 1 class label\(s\) "
                                            rf"outside \[0, 4\) \(labels run from 0 to {high}\)"):
            run(labels)
        numpy.testing.assert_array_equal(scores.backend.to_host(scores.gradient), gradient)
