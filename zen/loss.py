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
import math
from collections.abc import Callable

from zen import arguments, ops
from zen.activations import logsigmoid
from zen.distances import pairwise_distance
from zen.errors import ArgumentError, DataError, ShapeMismatchError
from zen.namespaces import array_namespaces
from zen.ops import log_softmax
from zen.recorder import no_grad
from zen.tensor import Tensor, TensorLike, as_tensor, get_default_dtype, on_device_of


def MSE(prediction: TensorLike, target: TensorLike) -> Tensor:
    """Mean squared error (the original Zen's name)."""
    prediction, target = as_tensor(prediction), on_device_of(prediction, target)
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
    target, labels = _class_targets("categorical_crossentropy", target, prediction)
    if labels:      # each label's probability gathered: no one-hot rows
        picked = ops.values_at_labels_p(prediction, target, axis=prediction.ndim - 1,
                                        check=_checking("categorical_crossentropy",
                                                        labels_checked))
        return -ops.mean(ops.log(ops.clip(picked, epsilon, 1.0)))
    log_probabilities = ops.log(ops.clip(prediction, epsilon, 1.0))
    return -ops.mean(ops.sum(target * log_probabilities, axis=-1))


def softmax_cross_entropy(logits: TensorLike, target: TensorLike,
                          labels_checked: bool = False) -> Tensor:
    """Cross-entropy of class logits: the softmax and the log fused, stable and fast.
    ``labels_checked`` as in ``categorical_crossentropy``."""
    logits = as_tensor(logits)
    target, labels = _class_targets("softmax_cross_entropy", target, logits)
    if labels:
        return ops.softmax_cross_entropy_labels_p(
            _floating(logits), target, axis=logits.ndim - 1,
            check=_checking("softmax_cross_entropy", labels_checked))
    return ops.softmax_cross_entropy(logits, target, axis=(logits.ndim - 1,))


MSE.classification = False
categorical_crossentropy.classification = softmax_cross_entropy.classification = True


def is_classification(loss_fn: Callable[..., Tensor]) -> bool:
    """Whether ``loss_fn`` declares itself a loss of class scores (``classification = True``),
    looking through ``functools.partial`` to the loss it wraps."""
    return _declared(loss_fn, "classification", False) is True


def class_axis(loss_fn: Callable[..., Tensor]) -> int:
    """The class axis of a batch of predictions for ``loss_fn``: its ``class_axis``
    attribute (1 for PyTorch's cross_entropy and nll_loss), else the last axis."""
    return _declared(loss_fn, "class_axis", -1)


def _declared(loss_fn, name, default):
    """``loss_fn``'s attribute ``name``, looking through ``functools.partial``."""
    while not hasattr(loss_fn, name) and isinstance(loss_fn, functools.partial):
        loss_fn = loss_fn.func
    return getattr(loss_fn, name, default)


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


def check_class_targets(name: str, target: Tensor, prediction_shape: tuple[int, ...],
                        axis: int = -1) -> bool:
    """Raise unless ``target`` fits predictions of ``prediction_shape`` as class targets:
    rows of that shape, or integer labels in range of that shape without the class
    ``axis``. Return whether they are labels."""
    labels = _are_labels(name, target, prediction_shape, axis)
    if labels:
        check_labels(name, target, prediction_shape[axis])
    return labels


def check_labels(name: str, labels: Tensor, classes: int,
                 ignore_index: int | None = None) -> None:
    """Raise DataError unless every integer label is in [0, classes) or is ``ignore_index``."""
    array_namespaces[labels.backend].check(_labels_in_range, labels.value, name=name,
                                           classes=classes, ignore_index=ignore_index)


def _labels_in_range(xp, value, name, classes, ignore_index):
    if ignore_index is None and xp.all_in_range(value, classes):
        return      # the common case
    outside = xp.logical_or(value < 0, value >= classes)
    if ignore_index is not None:
        outside = xp.logical_and(outside, value != ignore_index)
    if bool(xp.any(outside)):
        raise ops.labels_outside(xp, value, name, classes, ignore_index)


def _checking(name, labels_checked):
    """What a loss's op with labels takes as ``check``: the loss's name, for the op to check
    the labels on its one-hot mask (one count), or None where they were checked."""
    return None if labels_checked else name


def _are_labels(name, target, prediction_shape, axis=-1):
    """Whether ``target`` holds class labels (True) or rows like the prediction's (False);
    ShapeMismatchError if neither."""
    if tuple(target.shape) == tuple(prediction_shape):
        return False
    axis %= len(prediction_shape)
    without_classes = tuple(n for i, n in enumerate(prediction_shape) if i != axis)
    if tuple(target.shape) == without_classes and target.backend.is_integral(target.dtype):
        return True
    hint = (f", and class labels must be integers, not {target.dtype}"
            if tuple(target.shape) == without_classes else "")
    raise ShapeMismatchError(f"{name}: target has shape {target.shape}; it needs "
                             f"{without_classes} (integer class labels) or the prediction's "
                             f"shape {tuple(prediction_shape)} (one-hot rows or probabilities, "
                             f"any numeric dtype){hint}")


def _class_targets(loss, target, prediction):
    """``target`` on ``prediction``'s device, and whether it holds integer class labels along
    the last axis (for the loss's op to check) rather than rows of class probabilities,
    which come in ``prediction``'s dtype."""
    target = on_device_of(prediction, target)
    if not _are_labels(loss, target, prediction.shape):
        same_dtype = target.dtype == prediction.dtype
        return (target if same_dtype else ops.astype(target, prediction.dtype)), False
    return target, True


def _floating(x):
    """``x`` as it is if floating, else in the default float dtype (as the fused losses'
    promotion casts integer scores)."""
    backend = x.backend
    return x if backend.is_floating(x.dtype) else \
        ops.astype(x, backend.dtype(get_default_dtype()))


# PyTorch's losses (torch.nn.functional's names, arguments and defaults), each an exact
# composite of recorded primitives. ``reduction`` is "mean", "sum" or "none" (kl_div also
# takes "batchmean"); class scores have their class axis at 1 (0 for one unbatched example).

_REDUCTIONS = ("mean", "sum", "none")
_NO_INDEX = -100    # PyTorch's default ignore_index


def l1_loss(input: TensorLike, target: TensorLike, reduction: str = "mean") -> Tensor:
    """|input - target|, reduced; the slope at 0 is 0, as PyTorch's."""
    input, target = _elementwise_pair("l1_loss", input, target, reduction)
    return _reduced(ops.abs(input - target), reduction)


def mse_loss(input: TensorLike, target: TensorLike, reduction: str = "mean") -> Tensor:
    """(input - target) ** 2, reduced; the mean is the fused ``ops.mean_squared_error``."""
    input, target = _elementwise_pair("mse_loss", input, target, reduction)
    if reduction == "mean":
        return ops.mean_squared_error(input, target)
    difference = input - target
    return _reduced(difference * difference, reduction)


def smooth_l1_loss(input: TensorLike, target: TensorLike, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5 * d ** 2 / beta where |d| < beta, else |d| - 0.5 * beta (d = input - target);
    beta=0 is l1_loss."""
    beta = arguments.number("smooth_l1_loss", "beta", beta, low=0, finite=True)
    input, target = _elementwise_pair("smooth_l1_loss", input, target, reduction)
    return _reduced(_smooth_distance(ops.abs(input - target), beta), reduction)


def huber_loss(input: TensorLike, target: TensorLike, reduction: str = "mean",
               delta: float = 1.0) -> Tensor:
    """0.5 * d ** 2 where |d| < delta, else delta * (|d| - 0.5 * delta): delta times
    smooth_l1_loss with beta=delta."""
    delta = arguments.number("huber_loss", "delta", delta, low=0, low_open=True,
                             finite=True)
    input, target = _elementwise_pair("huber_loss", input, target, reduction)
    return _reduced(_smooth_distance(ops.abs(input - target), delta) * delta, reduction)


def kl_div(input: TensorLike, target: TensorLike, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """target * (log(target) - input) with input log-probabilities (0 where target is 0), or
    exp(target) * (target - input) with ``log_target``. "batchmean" divides the sum by the
    batch size (the first axis): the divergence per example; "mean" by every element."""
    input, target = _elementwise_pair("kl_div", input, target, reduction,
                                      _REDUCTIONS + ("batchmean",))
    if log_target:
        terms = ops.exp(target) * (target - input)
    else:
        terms = _times_log(target, target) - target * input
    if reduction == "batchmean":
        return ops.sum(terms) / (input.shape[0] if input.ndim else 1)
    return _reduced(terms, reduction)


def binary_cross_entropy(input: TensorLike, target: TensorLike,
                         weight: TensorLike | None = None, reduction: str = "mean") -> Tensor:
    """-(target * log(input) + (1 - target) * log(1 - input)), each log at least -100 as in
    PyTorch, times ``weight``; input holds probabilities (not checked: that would wait for the
    device). The input's gradient is PyTorch's, (input - target) / max(input (1 - input),
    1e-12): finite at exactly 0 and 1."""
    input, target = _elementwise_pair("binary_cross_entropy", input, target, reduction)
    terms = ops.binary_cross_entropy_p(input, target)
    return _reduced(_weighted(terms, weight, input), reduction)


def binary_cross_entropy_with_logits(input: TensorLike, target: TensorLike,
                                     weight: TensorLike | None = None, reduction: str = "mean",
                                     pos_weight: TensorLike | None = None) -> Tensor:
    """binary_cross_entropy of sigmoid(input), stable for any logit: (1 - target) * input +
    (1 + (pos_weight - 1) * target) * softplus(-input), times ``weight``."""
    input, target = _elementwise_pair("binary_cross_entropy_with_logits", input, target,
                                      reduction)
    scale = 1 if pos_weight is None else 1 + (on_device_of(input, pos_weight) - 1) * target
    terms = (1 - target) * input + scale * _softplus(-input)
    return _reduced(_weighted(terms, weight, input), reduction)


def nll_loss(input: TensorLike, target: TensorLike, weight: TensorLike | None = None,
             ignore_index: int = _NO_INDEX, reduction: str = "mean",
             labels_checked: bool = False) -> Tensor:
    """-input[target] (input: log-probabilities, class axis 1; target: integer labels) times
    the class's ``weight``; a label equal to ``ignore_index`` adds nothing. "mean" divides by
    the sum of the weights of the labels not ignored (nan if there are none), as PyTorch."""
    input = as_tensor(input)
    _check_reduction("nll_loss", reduction)
    ignore_index = arguments.integer("nll_loss", "ignore_index", ignore_index)
    axis, target = _class_axis_and_target("nll_loss", input, target)
    if not _are_labels("nll_loss", target, input.shape, axis):
        raise ShapeMismatchError(f"nll_loss: target must be integer class labels of shape "
                                 f"{_without_axis(input.shape, axis)}, got shape "
                                 f"{tuple(target.shape)}")
    target = _int64("nll_loss", target, input.shape[axis], ignore_index, labels_checked)
    labels = _Labels("nll_loss", input, target, axis, weight, ignore_index, labels_checked)
    return labels.reduced(labels.losses(input), reduction)


def cross_entropy(input: TensorLike, target: TensorLike, weight: TensorLike | None = None,
                  ignore_index: int = _NO_INDEX, reduction: str = "mean",
                  label_smoothing: float = 0.0, labels_checked: bool = False) -> Tensor:
    """PyTorch's cross_entropy of class logits, class axis 1 (0 for one unbatched example):
    target is integer labels (the input's shape without the class axis) or class
    probabilities (the input's shape). ``weight`` per class; ``ignore_index`` (labels only);
    ``label_smoothing`` mixes each target with the uniform distribution. "mean" divides by
    the sum of the weights of the labels not ignored, or, for probabilities, by the number
    of examples. ``labels_checked`` as in ``categorical_crossentropy``."""
    input = _floating(as_tensor(input))
    _check_reduction("cross_entropy", reduction)
    ignore_index = arguments.integer("cross_entropy", "ignore_index", ignore_index)
    smoothing = arguments.number("cross_entropy", "label_smoothing", label_smoothing, low=0,
                                 high=1)
    axis, target = _class_axis_and_target("cross_entropy", input, target)
    if not _are_labels("cross_entropy", target, input.shape, axis):
        return _cross_entropy_of_probabilities(input, target, axis, weight, ignore_index,
                                               smoothing, reduction)
    target = _int64("cross_entropy", target, input.shape[axis], ignore_index, labels_checked)
    if weight is None and not smoothing and reduction == "mean":    # the common call, fused
        return ops.softmax_cross_entropy_labels_p(
            input, target, axis=axis, ignore_index=ignore_index,
            check=_checking("cross_entropy", labels_checked))
    labels = _Labels("cross_entropy", input, target, axis, weight, ignore_index,
                     labels_checked)
    log_probabilities = log_softmax(input, axis=axis)
    losses = labels.losses(log_probabilities)
    if smoothing:   # PyTorch's: (1 - s) nll + s / classes * -sum(weight * log_softmax)
        uniform = -ops.sum(labels.class_weighted(log_probabilities), axis=axis)
        losses = losses * (1 - smoothing) + \
            ops.where(labels.kept, uniform, 0.0) * (smoothing / labels.classes)
    return labels.reduced(losses, reduction)


nll_loss.classification = cross_entropy.classification = True
nll_loss.class_axis = cross_entropy.class_axis = 1      # of a batch, as PyTorch's
for _elementwise in (l1_loss, mse_loss, smooth_l1_loss, huber_loss, kl_div,
                     binary_cross_entropy, binary_cross_entropy_with_logits):
    _elementwise.classification = False


def _class_axis_and_target(who, input, target):
    """The class axis of ``input`` (1, or 0 for one unbatched example), and ``target`` on
    its device."""
    if input.ndim == 0:
        raise ShapeMismatchError(f"{who}: input needs a class axis, got a 0-d tensor")
    return (0 if input.ndim == 1 else 1), on_device_of(input, target)


def _int64(who, labels, classes, ignore_index, labels_checked):
    """Integer labels as int64, PyTorch's dtype for them: one that any ``ignore_index``
    (-100 by default) fits, next to uint8 labels say. uint64 labels from 2**63 on, which
    the cast would wrap round to negative ones (2**64 - 100 to -100), are refused first."""
    backend = labels.backend
    if labels.dtype == backend.dtype("int64"):
        return labels
    if labels.dtype == backend.dtype("uint64") and not labels_checked:
        ignored = ignore_index if ignore_index >= 0 else None   # no uint64 label is < 0
        array_namespaces[backend].check(_below_int64_range, labels.value, name=who,
                                        classes=classes, ignore_index=ignored)
    return ops.astype(labels, "int64")


def _below_int64_range(xp, value, name, classes, ignore_index):
    if not xp.all_in_range(value, 2 ** 63):
        raise ops.labels_outside(xp, value, name, classes, ignore_index)


def _without_axis(shape, axis):
    return tuple(n for i, n in enumerate(shape) if i != axis)


class _Labels:
    """Integer class labels of nll_loss and cross_entropy, checked unless ``labels_checked``:
    ``kept`` (True where a label is not ``ignore_index``), ``safe`` (the labels, 0 where
    ignored, so that every one names a class) and each label's weight."""

    def __init__(self, who, input, labels, axis, weight, ignore_index, labels_checked):
        self.axis, self.classes = axis, input.shape[axis]
        if not labels_checked:
            check_labels(who, labels, self.classes, ignore_index)
        self.kept = labels != ignore_index
        self.safe = ops.where(self.kept, labels, 0)
        self.weight = None if weight is None else \
            _class_weights(who, on_device_of(input, weight), self.classes)
        self.label_weights = ops.astype(self.kept, input.dtype) if self.weight is None else \
            ops.where(self.kept, _weights_of_labels(self.weight, self.safe), 0.0)

    def losses(self, log_probabilities):
        """-log_probabilities at each label, times its weight; 0 (not nan) where ignored."""
        picked = ops.values_at_labels_p(log_probabilities, self.safe, axis=self.axis)
        losses = ops.where(self.kept, -picked, 0.0)
        return losses if self.weight is None else losses * self.label_weights

    def class_weighted(self, scores):
        """``scores`` times the weight of the class along the class axis, if any."""
        if self.weight is None:
            return scores
        trailing = scores.ndim - 1 - self.axis
        return scores * ops.reshape(self.weight, (self.classes,) + (1,) * trailing)

    def reduced(self, losses, reduction):
        """PyTorch's mean: over the weights of the labels kept."""
        if reduction == "mean":
            return ops.sum(losses) / ops.sum(self.label_weights)
        return _reduced(losses, reduction)


def _cross_entropy_of_probabilities(input, target, axis, weight, ignore_index, smoothing,
                                    reduction):
    """cross_entropy of rows of class probabilities (``target`` has the input's shape)."""
    if ignore_index != _NO_INDEX:
        raise ArgumentError(f"cross_entropy: ignore_index={ignore_index} needs integer class "
                            f"labels; target holds class probabilities (shape "
                            f"{tuple(target.shape)})")
    rows = target if target.dtype == input.dtype else ops.astype(target, input.dtype)
    classes = input.shape[axis]
    if smoothing:
        rows = rows * (1 - smoothing) + smoothing / classes
    if weight is not None:
        class_weights = _class_weights("cross_entropy", on_device_of(input, weight), classes)
        rows = rows * ops.reshape(class_weights, (classes,) + (1,) * (input.ndim - 1 - axis))
    if reduction == "none":
        return -ops.sum(rows * log_softmax(input, axis=axis), axis=axis)
    examples = math.prod(_without_axis(input.shape, axis))
    # The fused primitive divides by the examples (at least 1); PyTorch's mean of none is nan.
    total = ops.softmax_cross_entropy(input, rows, axis=(axis,)) * max(1, examples)
    return total if reduction == "sum" else total / examples


def _weights_of_labels(weight, labels):
    """``weight[labels]``: each label's class weight (the labels in range)."""
    if labels.dtype != labels.backend.dtype("int64"):
        labels = ops.astype(labels, "int64")
    return ops.take_checked(weight, labels.value, 0)


def _class_weights(who, weight, classes):
    """``weight``, checked to hold one value per class."""
    if tuple(weight.shape) != (classes,):
        raise ShapeMismatchError(f"{who}: weight must have one value per class, shape "
                                 f"({classes},), got {tuple(weight.shape)}")
    return weight


def _elementwise_pair(who, input, target, reduction, reductions=_REDUCTIONS):
    """(input, target) as tensors on one device, of one shape (PyTorch would broadcast with a
    warning that the result is likely wrong: zen refuses)."""
    _check_reduction(who, reduction, reductions)
    input = as_tensor(input)
    target = on_device_of(input, target)
    if tuple(input.shape) != tuple(target.shape):
        raise ShapeMismatchError(f"{who}: input has shape {tuple(input.shape)} but target has "
                                 f"shape {tuple(target.shape)}; they must match")
    return input, target


def _check_reduction(who, reduction, reductions=_REDUCTIONS):
    if not isinstance(reduction, str) or reduction not in reductions:
        raise ArgumentError(f"{who}: reduction must be one of "
                            f"{', '.join(map(repr, reductions))}, got {reduction!r}")


def _reduced(losses, reduction):
    if reduction == "none":
        return losses
    return ops.sum(losses) if reduction == "sum" else ops.mean(losses)


def _smooth_distance(distance, beta):
    """0.5 * distance ** 2 / beta below beta, distance - 0.5 * beta from there."""
    if beta == 0:
        return distance
    return ops.where(distance < beta, distance * distance * (0.5 / beta),
                     distance - 0.5 * beta)


def _softplus(x):
    """log(1 + e^x), stable for any x: one primitive, as zen.softplus."""
    return ops.logaddexp(x, 0.0)


def _times_log(x, y):
    """x * log(y), 0 where x is 0 (PyTorch's xlogy), with no nan in its gradient there."""
    zero = x == 0
    return ops.where(zero, 0.0, x * ops.log(ops.where(zero, 1.0, y)))


def _weighted(terms, weight, reference):
    return terms if weight is None else terms * on_device_of(reference, weight)




# torch.nn.functional's other losses, its formulas step by step: where
# PyTorch clamps with clamp_min, zen clips (the gradient passes at the bound, as there).

def margin_ranking_loss(input1: TensorLike, input2: TensorLike, target: TensorLike,
                        margin: float = 0.0, reduction: str = "mean") -> Tensor:
    """max(0, -target * (input1 - input2) + margin), target 1 or -1 (which should rank
    higher), reduced."""
    input1, input2, target = _same_shapes("margin_ranking_loss", reduction, input1, input2,
                                          target)
    return _reduced(_at_least_zero(-target * (input1 - input2) + margin), reduction)


def soft_margin_loss(input: TensorLike, target: TensorLike, reduction: str = "mean") -> Tensor:
    """log(1 + exp(-target * input)), target 1 or -1, reduced; stable for any input."""
    input, target = _elementwise_pair("soft_margin_loss", input, target, reduction)
    return _reduced(_softplus(-target * input), reduction)


def hinge_embedding_loss(input: TensorLike, target: TensorLike, margin: float = 1.0,
                         reduction: str = "mean") -> Tensor:
    """input where target is 1, max(0, margin - input) where it is -1 (PyTorch's sum of both
    terms for any other target), reduced."""
    input, target = _elementwise_pair("hinge_embedding_loss", input, target, reduction)
    return _reduced(ops.where(target != 1, _at_least_zero(margin - input), 0.0)
                    + ops.where(target != -1, input, 0.0), reduction)


def cosine_embedding_loss(input1: TensorLike, input2: TensorLike, target: TensorLike,
                          margin: float = 0.0, reduction: str = "mean") -> Tensor:
    """1 - cos where target is 1, max(0, cos - margin) where it is -1, cos the cosine of
    (N, D) (or (D,)) inputs along D, each squared norm plus 1e-12, as PyTorch computes it
    (not ``cosine_similarity``'s bound on each norm)."""
    _check_reduction("cosine_embedding_loss", reduction)
    input1, input2 = as_tensor(input1), on_device_of(as_tensor(input1), input2)
    target = on_device_of(input1, target)
    if input1.shape != input2.shape or input1.ndim not in (1, 2) or \
            target.shape != input1.shape[:-1]:
        raise ShapeMismatchError(f"cosine_embedding_loss: needs inputs (N, D) and target (N,) "
                                 f"or (D,) and (), got shapes {input1.shape}, {input2.shape} "
                                 f"and {target.shape}")
    squares = [ops.sum(x * x, -1) + 1e-12 for x in (input1, input2)]
    cosine = ops.sum(input1 * input2, -1) / ops.sqrt(squares[0] * squares[1])
    return _reduced(ops.where(target == 1, 1 - cosine, 0.0)
                    + ops.where(target == -1, _at_least_zero(cosine - margin), 0.0), reduction)


def triplet_margin_loss(anchor: TensorLike, positive: TensorLike, negative: TensorLike,
                        margin: float = 1.0, p: float = 2.0, eps: float = 1e-6,
                        swap: bool = False, reduction: str = "mean") -> Tensor:
    """max(0, margin + d(anchor, positive) - d(anchor, negative)), d the ``pairwise_distance``
    (eps added to the difference); ``swap``: the negative's distance is the smaller of
    d(anchor, negative) and d(positive, negative)."""
    anchor, positive, negative = _same_shapes("triplet_margin_loss", reduction, anchor,
                                              positive, negative)
    to_negative = pairwise_distance(anchor, negative, p, eps)
    if swap:
        to_negative = ops.minimum(to_negative, pairwise_distance(positive, negative, p, eps))
    return _reduced(_at_least_zero(margin + pairwise_distance(anchor, positive, p, eps)
                                   - to_negative), reduction)


def poisson_nll_loss(input: TensorLike, target: TensorLike, log_input: bool = True,
                     full: bool = False, eps: float = 1e-8, reduction: str = "mean") -> Tensor:
    """exp(input) - target * input (``log_input``), or input - target * log(input + eps);
    ``full`` adds Stirling's target * log(target) - target + log(2 pi target) / 2 where
    target > 1, reduced."""
    input, target = _elementwise_pair("poisson_nll_loss", input, target, reduction)
    loss = ops.exp(input) - target * input if log_input else \
        input - target * ops.log(input + eps)
    if full:
        above_one = target > 1
        safe = ops.where(above_one, target, 2.0)
        stirling = safe * ops.log(safe) - safe + 0.5 * ops.log(2 * math.pi * safe)
        loss = loss + ops.where(above_one, stirling, 0.0)
    return _reduced(loss, reduction)


def gaussian_nll_loss(input: TensorLike, target: TensorLike, var: TensorLike,
                      full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """(log(var) + (input - target) ** 2 / var) / 2 (plus log(2 pi) / 2 if ``full``),
    reduced. var has input's shape, or one axis of length 1 (or the last one missing), and
    no negative entry; its values are raised to ``eps`` without changing its gradient's path,
    as PyTorch clamps them in place without recording."""
    input, target = _elementwise_pair("gaussian_nll_loss", input, target, reduction)
    var = _variance_like("gaussian_nll_loss", on_device_of(input, var), input.shape)
    if bool(ops.any_p(var.detach() < 0).value):
        raise DataError("gaussian_nll_loss: var has negative entries")
    with no_grad():
        lift = ops.maximum(var, eps) - var
    var = var + lift
    difference = input - target
    loss = 0.5 * (ops.log(var) + difference * difference / var)
    return _reduced(loss + 0.5 * math.log(2 * math.pi) if full else loss, reduction)


def multilabel_soft_margin_loss(input: TensorLike, target: TensorLike,
                                weight: TensorLike | None = None,
                                reduction: str = "mean") -> Tensor:
    """-(target log sigmoid(input) + (1 - target) log sigmoid(-input)), times ``weight``,
    averaged over the last (class) axis, then reduced over the examples."""
    input, target = _elementwise_pair("multilabel_soft_margin_loss", input, target, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    loss = _weighted(loss, weight, input)
    return _reduced(ops.sum(loss, -1) / input.shape[-1], reduction)


def _at_least_zero(x):
    return ops.clip(x, 0.0, None)


def _same_shapes(who, reduction, *tensors):
    """``tensors`` on the first's device, all of one shape (as PyTorch requires here)."""
    _check_reduction(who, reduction)
    first = as_tensor(tensors[0])
    tensors = [first] + [on_device_of(first, t) for t in tensors[1:]]
    if len({tuple(t.shape) for t in tensors}) != 1:
        raise ShapeMismatchError(f"{who}: the inputs must have one shape, got shapes "
                                 f"{', '.join(str(tuple(t.shape)) for t in tensors)}")
    return tensors


def _variance_like(who, var, shape):
    """``var`` shaped to broadcast against ``shape`` as PyTorch's gaussian_nll_loss allows."""
    if var.shape == shape:
        return var
    if var.shape == shape[:-1]:
        return ops.reshape(var, (*var.shape, 1))
    if var.ndim == len(shape) and \
            [b for a, b in zip(shape, var.shape, strict=True) if a != b] == [1]:
        return var
    raise ShapeMismatchError(f"{who}: var must have input's shape {shape}, or it with one "
                             f"axis of length 1 or without the last, got {var.shape}")


def multi_margin_loss(input: TensorLike, target: TensorLike, p: int = 1, margin: float = 1.0,
                      weight: TensorLike | None = None, reduction: str = "mean") -> Tensor:
    """For each example (a row of ``input`` (N, C), or the one (C,)) and its integer label y:
    the sum over the other classes j of max(0, margin - x[y] + x[j])^p (p 1 or 2), times
    ``weight[y]``, divided by C, as torch's multi-class hinge loss; then reduced."""
    _check_reduction("multi_margin_loss", reduction)
    x = as_tensor(input)
    labels = on_device_of(x, target)
    target_shape = labels.shape
    label_shapes = {1: ((), (1,)), 2: ((x.shape[0],),)}.get(x.ndim, ())
    if labels.shape not in label_shapes or not labels.backend.is_integral(labels.dtype):
        raise ShapeMismatchError(f"multi_margin_loss: needs an input (N, C) with integer labels "
                                 f"(N,), or (C,) with one label, got input {x.shape} and "
                                 f"target {labels.shape} of dtype {labels.dtype}")
    if p not in (1, 2) or isinstance(p, bool):
        raise ArgumentError(f"multi_margin_loss: p must be 1 or 2, got {p!r}")
    margin = arguments.number("multi_margin_loss", "margin", margin, finite=True)
    rows = ops.reshape(x, (-1, x.shape[-1]))
    labels, classes = ops.reshape(labels, (-1,)), rows.shape[1]
    check_labels("multi_margin_loss", labels, classes)
    label_scores = ops.reshape(ops.values_at_labels_p(rows, labels, axis=1), (-1, 1))
    hinges = ops.relu(margin - label_scores + rows)
    own_class = ops.class_mask_p(labels, classes=classes, axis=1)    # left out of the sum
    hinges = ops.where(own_class, 0, hinges if p == 1 else hinges * hinges)
    if weight is not None:
        weight = _class_weights("multi_margin_loss", on_device_of(rows, weight), classes)
        hinges = hinges * ops.reshape(_weights_of_labels(weight, labels), (-1, 1))
    losses = ops.sum(hinges, 1) / classes
    return _reduced(ops.reshape(losses, target_shape if x.ndim == 1 else (-1,)), reduction)
