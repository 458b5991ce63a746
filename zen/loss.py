"""Losses: each maps (prediction, target) to a scalar Tensor to call backward on.

A loss says what kind it is with an attribute: ``classification = True`` for losses of class
scores (``Model.evaluate`` then reports accuracy, and ``Model.train`` checks class labels once
for the whole data set); a user's own loss can set it too, and ``functools.partial`` of a loss
keeps its kind.

Classification losses decide the target's kind by its shape, not its dtype: a target of the
prediction's shape is one-hot rows or class probabilities, of any numeric dtype; a target of
that shape without the last (class) axis is integer class labels.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

from zen import ops
from zen.errors import DataError, ShapeMismatchError
from zen.tensor import Tensor, TensorLike, as_tensor, constant


def MSE(prediction: TensorLike, target: TensorLike) -> Tensor:
    """Mean squared error (the original Zen's name)."""
    prediction, target = as_tensor(prediction), _on_device_of(target, prediction)
    if prediction.shape != target.shape:
        raise ShapeMismatchError(f"MSE: prediction has shape {prediction.shape} but target "
                                 f"has shape {target.shape}")
    return ops.mean_squared_error(prediction, target)


mse = mean_squared_error = MSE


def categorical_crossentropy(prediction: TensorLike, target: TensorLike, epsilon: float = 1e-7,
                             labels_checked: bool = False) -> Tensor:
    """Cross-entropy of predicted class probabilities (e.g. after a Softmax layer).

    ``labels_checked=True`` skips the range check of integer labels, which waits for the
    device: for a caller that checked the whole data set once, as ``Model.train`` does."""
    prediction = as_tensor(prediction)
    target, _ = _class_targets("categorical_crossentropy", target, prediction, labels_checked)
    log_probabilities = ops.log(ops.clip(prediction, epsilon, 1.0))
    return -ops.mean(ops.sum(target * log_probabilities, axis=-1))


def softmax_cross_entropy(logits: TensorLike, target: TensorLike,
                          labels_checked: bool = False) -> Tensor:
    """Cross-entropy of class logits: the softmax and the log fused, stable and fast.
    ``labels_checked`` as in ``categorical_crossentropy``."""
    logits = as_tensor(logits)
    target, from_labels = _class_targets("softmax_cross_entropy", target, logits, labels_checked)
    return ops.softmax_cross_entropy(logits, target, axis=(logits.ndim - 1,),
                                     normalised=from_labels)


cross_entropy = softmax_cross_entropy
MSE.classification = False
categorical_crossentropy.classification = softmax_cross_entropy.classification = True


def is_classification(loss_fn: Callable[..., Tensor]) -> bool:
    """Whether ``loss_fn`` declares itself a loss of class scores (``classification = True``),
    looking through ``functools.partial`` to the loss it wraps."""
    while not hasattr(loss_fn, "classification") and isinstance(loss_fn, functools.partial):
        loss_fn = loss_fn.func
    return getattr(loss_fn, "classification", False) is True


def trusting_labels(loss_fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """``loss_fn`` told that its class labels are checked, where it takes ``labels_checked``
    (the built-in classification losses and partials of them); any other loss as it is."""
    if not _takes_labels_checked(loss_fn):
        return loss_fn
    return functools.partial(loss_fn, labels_checked=True)


@functools.lru_cache(maxsize=64)    # inspect.signature takes tens of microseconds
def _takes_labels_checked(loss_fn):
    try:
        parameters = inspect.signature(loss_fn, follow_wrapped=False).parameters
    except (TypeError, ValueError):     # a callable whose signature Python cannot read
        return False
    return "labels_checked" in parameters


def check_class_targets(name: str, target: Tensor, prediction_shape: tuple[int, ...]) -> bool:
    """Raise unless ``target`` fits predictions of ``prediction_shape`` as class targets:
    rows of that shape, or integer labels in range of that shape without the class axis.
    Return whether they are labels."""
    labels = _are_labels(name, target, prediction_shape)
    if labels:
        check_labels(name, target, prediction_shape[-1])
    return labels


def check_labels(name: str, labels: Tensor, classes: int) -> None:
    """Raise DataError unless every integer label is in [0, classes)."""
    xp = labels.backend.xp
    value = labels.value
    outside = xp.logical_or(value < 0, value >= classes)
    count = int(xp.sum(xp.astype(outside, xp.int64)))
    if count:
        low, high = int(xp.min(value)), int(xp.max(value))
        raise DataError(f"{name}: {count} class label(s) outside [0, {classes}) (labels run "
                        f"from {low} to {high}); the prediction has {classes} classes")


def _on_device_of(value, reference):
    if isinstance(value, Tensor):
        return value
    return Tensor(value, trainable=False, device=reference.backend)


def _are_labels(name, target, prediction_shape):
    """Whether ``target`` holds class labels (True) or rows like the prediction's (False);
    ShapeMismatchError if neither."""
    if tuple(target.shape) == tuple(prediction_shape):
        return False
    without_classes = tuple(prediction_shape[:-1])
    if tuple(target.shape) == without_classes and target.backend.is_integral(target.dtype):
        return True
    hint = (f", and class labels must be integers, not {target.dtype}"
            if tuple(target.shape) == without_classes else "")
    raise ShapeMismatchError(f"{name}: target has shape {target.shape}; it needs the "
                             f"prediction's shape {tuple(prediction_shape)} (one-hot rows or "
                             f"probabilities, any numeric dtype) or {without_classes} (integer "
                             f"class labels){hint}")


@functools.lru_cache(maxsize=64)
def _class_positions(backend, count):
    """0, 1, ..., count - 1 on the backend's device, made once per class count."""
    return backend.xp.arange(count, device=backend.native_device)


def _class_targets(loss, target, prediction, labels_checked):
    """``target`` as rows of class probabilities in ``prediction``'s shape and dtype, and
    whether it was made from integer labels (so that each row is one-hot)."""
    target = _on_device_of(target, prediction)
    if not _are_labels(loss, target, prediction.shape):
        same_dtype = target.dtype == prediction.dtype
        return (target if same_dtype else ops.astype(target, prediction.dtype)), False
    if not labels_checked:
        check_labels(loss, target, prediction.shape[-1])
    backend = prediction.backend
    classes = _class_positions(backend, prediction.shape[-1])
    one_hot = backend.xp.astype(target.value[..., None] == classes, prediction.dtype)
    return constant(one_hot, backend), True
