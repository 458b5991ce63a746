"""Data for a model: on its device, in its dtype, and checked before use.

``Model`` is called, evaluated and trained on NumPy arrays, lists or Tensors; ``on_device``
puts them on the model's device, floating data in the dtype new parameters get, as Keras
casts its inputs; integers (token ids for an Embedding, class labels) stay integers.
``checked`` refuses data that would train on nothing, on NaN, or with class targets that do
not fit the model's outputs, before any parameter moves. This module takes model objects and
never imports zen.nn.
"""

from zen import loss as losses
from zen import ops
from zen.errors import DataError, ShapeMismatchError
from zen.recorder import no_grad
from zen.tensor import Tensor, get_default_dtype


def on_device(backend, value, floats=False):
    """Data as a Tensor on ``backend``'s device (a Tensor already there as it is, so that a
    gradient can reach it), floating data in the dtype new parameters get; integers and
    bools stay as they are, unless ``floats`` (one-hot targets of any dtype)."""
    if isinstance(value, Tensor) and value.backend is backend:
        tensor = value
    else:
        tensor = Tensor(value, trainable=False, device=backend)
    if not floats and not backend.is_floating(tensor.dtype):
        return tensor
    dtype = backend.dtype(get_default_dtype())
    return tensor if tensor.dtype == dtype else ops.astype(tensor, dtype)


def checked(model, who, x, y, loss_fn, forward=None):
    """(x, y) on the model's device, refused unless fit to use, and the loss to call on
    them: a classification loss told that the labels are checked, and given one-hot rows in
    the model's dtype. Builds the model's lazy layers (undo that on failure: see
    ``Model.undone_on_failure``). ``forward`` stands for the model (its captured forward)."""
    backend = model.backend
    x, y = on_device(backend, x), on_device(backend, y)
    labels = _check(model, who, x, y, loss_fn, forward or model)
    if losses.is_classification(loss_fn):
        y = y if labels else on_device(backend, y, floats=True)  # one-hot rows, as floats
        loss_fn = losses.trusting_labels(loss_fn)
    return x, y, loss_fn


def predicted(model, x, batch_size, forward):
    """``forward`` (the model, or its captured forward pass) on ``x`` in batches, in
    inference mode, without recording a graph."""
    if x.shape[0] == 0:
        raise DataError(f"predict: x has no examples (shape {x.shape})")
    with model.in_mode(training=False), no_grad():  # also in the middle of training
        parts = [forward(x[i:i + batch_size]) for i in range(0, x.shape[0], batch_size)]
    return parts[0] if len(parts) == 1 else ops.concat(parts, axis=0)


def scores(model, x, y, loss_fn, batch_size=256, forward=None):
    """``{"loss": ..., "accuracy": ...}`` of data and loss that ``checked`` gave; accuracy
    with a classification loss. ``forward`` stands for the model (its captured forward)."""
    prediction = predicted(model, x, batch_size, forward or model)
    with no_grad():
        result = {"loss": loss_fn(prediction, y).item()}
        if losses.is_classification(loss_fn):
            axis = losses.class_axis(loss_fn)
            labels = y if y.ndim == prediction.ndim - 1 else ops.argmax(y, axis=axis)
            hits = ops.astype(ops.argmax(prediction, axis=axis) == labels, "float64")
            result["accuracy"] = ops.mean(hits).item()
    return result


def _check(model, who, x, y, loss_fn, forward):
    """Refuse data with no examples, counts that differ, NaN or Inf, or class targets that
    do not fit the model's outputs (labels out of range); return whether y holds class
    labels for a classification loss."""
    if x.shape[0] == 0:
        raise DataError(f"{who}: x has no examples (shape {x.shape})")
    if y.ndim == 0 or x.shape[0] != y.shape[0]:
        raise ShapeMismatchError(f"{who}: x has {x.shape[0]} examples but y has shape "
                                 f"{y.shape}")
    for label, data in (("x", x), ("y", y)):
        if data.backend.is_floating(data.dtype) and (bad := _non_finite(data)):
            raise DataError(f"{who}: {label} holds {bad} NaN or Inf value(s); clean or drop "
                            f"those examples first")
    # One example through the model builds its lazy layers now, before the epoch's order
    # is drawn, and gives the outputs' shape.
    with model.in_mode(training=False), no_grad():
        outputs = forward(x[:1])
    return losses.is_classification(loss_fn) and \
        losses.check_class_targets(who, y, (y.shape[0], *outputs.shape[1:]),
                                   losses.class_axis(loss_fn))


def _non_finite(data):
    """How many NaN or Inf values the floating tensor ``data`` holds: one quick pass, and a
    count only where there are some."""
    xp = data.backend.xp
    finite = xp.isfinite(data.value)
    if bool(xp.all(finite)):
        return 0
    return int(xp.sum(xp.astype(xp.logical_not(finite), xp.int64)))
