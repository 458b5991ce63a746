"""Losses: each maps (prediction, target) to a scalar Tensor to call backward on.

Classification losses take the target as one-hot rows (or class probabilities) or as integer
class labels.
"""

import contextlib
import functools
import threading

from zen import ops
from zen.errors import DataError, ShapeMismatchError
from zen.tensor import Tensor, as_tensor, constant


def MSE(prediction, target):
    """Mean squared error (the original Zen's name)."""
    prediction, target = as_tensor(prediction), _on_device_of(target, prediction)
    if prediction.shape != target.shape:
        raise ShapeMismatchError(f"MSE: prediction has shape {prediction.shape} but target "
                                 f"has shape {target.shape}")
    return ops.mean_squared_error(prediction, target)


mse = mean_squared_error = MSE


def categorical_crossentropy(prediction, target, epsilon=1e-7):
    """Cross-entropy of predicted class probabilities (e.g. after a Softmax layer)."""
    prediction = as_tensor(prediction)
    target, _ = _class_targets("categorical_crossentropy", target, prediction)
    log_probabilities = ops.log(ops.clip(prediction, epsilon, 1.0))
    return -ops.mean(ops.sum(target * log_probabilities, axis=-1))


def softmax_cross_entropy(logits, target):
    """Cross-entropy of class logits: the softmax and the log fused, stable and fast."""
    logits = as_tensor(logits)
    target, one_hot = _class_targets("softmax_cross_entropy", target, logits)
    return ops.softmax_cross_entropy(logits, target, axis=(logits.ndim - 1,),
                                     normalised=one_hot)


cross_entropy = softmax_cross_entropy


def _on_device_of(value, reference):
    if isinstance(value, Tensor):
        return value
    return Tensor(value, trainable=False, device=reference.backend)


class _Checked(threading.local):
    labels = False


_checked = _Checked()


@contextlib.contextmanager
def labels_checked(checked=True):
    """Inside, losses trust that class labels are in range: Model.train checks the whole
    data set once, so that no training step waits for the device to answer."""
    previous = _checked.labels
    _checked.labels = checked
    try:
        yield
    finally:
        _checked.labels = previous


def check_labels(name, labels, classes):
    """Raise DataError unless every integer label is in [0, classes)."""
    xp = labels.backend.xp
    value = labels.value
    outside = xp.logical_or(value < 0, value >= classes)
    count = int(xp.sum(xp.astype(outside, xp.int64)))
    if count:
        low, high = int(xp.min(value)), int(xp.max(value))
        raise DataError(f"{name}: {count} class label(s) outside [0, {classes}) (labels run "
                        f"from {low} to {high}); the prediction has {classes} classes")


@functools.lru_cache(maxsize=64)
def _class_positions(backend, count):
    """0, 1, ..., count - 1 on the backend's device, made once per class count."""
    return backend.xp.arange(count, device=backend.native_device)


def _class_targets(loss, target, prediction):
    """``target`` as rows of class probabilities shaped like ``prediction``, and whether it
    was made from integer labels (so that each row is one-hot)."""
    target = _on_device_of(target, prediction)
    backend = prediction.backend
    if not backend.is_floating(target.dtype) and target.shape == prediction.shape[:-1]:
        if not _checked.labels:
            check_labels(loss, target, prediction.shape[-1])
        classes = _class_positions(backend, prediction.shape[-1])
        one_hot = backend.xp.astype(target.value[..., None] == classes, prediction.dtype)
        return constant(one_hot, backend), True
    if target.shape != prediction.shape:
        hint = (f", and class labels must be integers, not {target.dtype}"
                if target.shape == prediction.shape[:-1] else "")
        raise ShapeMismatchError(f"{loss}: target has shape {target.shape}; it needs the "
                                 f"prediction's shape {prediction.shape} (one-hot) or "
                                 f"{prediction.shape[:-1]} (integer class labels){hint}")
    return target, False
