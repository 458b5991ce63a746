"""The op table: every primitive zen records, its forward and its VJPs side by side.

``defop(name, forward, *vjps)`` declares a primitive (``zen.recorder.Op`` gives the two
signatures). Forwards are written against the backend's namespace ``xp``: the array-API
standard plus the backend's few extras. VJPs are written against ``F``: during a plain
backward pass that is ``xp`` plus the forwards of zen's own primitives, working on arrays;
when the backward pass is recorded (``create_graph=True``) it is ``tensor_namespace``,
working on Tensors, so one formula gives gradients of every order. VJPs call array-API
functions with array-API arguments and zen primitives with their settings as keywords.

Broadcast gradients are summed back, and cast to the input's dtype, centrally in
``zen.autograd``, never here. Composite functions built from these live in
``zen.functional``.
"""

# This module defines zen's sum, max, min and abs; Python's own are builtins.sum and so on.
from __future__ import annotations

import builtins
import functools
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

from zen import devices, namespaces, promotion, tensor
from zen.errors import (
    ArgumentError,
    AxisError,
    DataError,
    DtypeError,
    IndexOutOfRangeError,
    ShapeMismatchError,
)
from zen.namespaces import OPS as OPS  # the op table, read as zen.ops.OPS too
from zen.namespaces import array_namespaces
from zen.promotion import (
    accumulate,
    common,
    exponentiation,
    floating,
    logical,
    needs_floating,
    numeric,
    select,
    subtraction,
)
from zen.recorder import Op, applier
from zen.tensor import Axes, Tensor, TensorLike, as_tensor, constant

_APPLY = {}        # name -> the function that records the op on Tensors


def defop(name, forward, *vjps, vjp=None, saves=None, dtypes=None, views=False,
          elementwise=False):
    """Declare a primitive and return the function that applies it to Tensors.

    Give one VJP per input, ``vjp(F, g, ans, *inputs, **params)`` returning that input's
    gradient (None in place of the function for an input that never gets a gradient); or,
    for an op whose input gradients share work (fused ops, any number of inputs), one
    ``vjp=`` in the form the engine calls (see Op), which an op that ``saves`` must use;
    or none at all for an op that is not differentiable. ``dtypes`` is the op's promotion
    rule (``zen.promotion``); ``saves``, ``views`` and ``elementwise``: see Op.

    Names: the result is ``name`` itself where it is the public function, and ``name_p``
    where a public function of that name wraps it (argument handling) or none exists; a
    forward or VJP too long for a lambda is ``_name_forward`` or ``_name_vjp``.
    """
    if vjps:
        if vjp is not None or saves is not None:
            raise ArgumentError(f"defop {name}: give one VJP per input or one joint vjp=, "
                                f"not both; an op that saves gives a joint vjp=")
        vjp = _joined(vjps) if any(v is not None for v in vjps) else None
    each = vjps if vjps and None not in vjps else None
    op = Op(name, forward, vjp, saves, dtypes, views, each, elementwise)
    namespaces.register(op)

    apply_op = applier(op)
    apply_op.__name__ = apply_op.__qualname__ = name
    apply_op.op = op
    _APPLY[name] = apply_op
    return apply_op


def _joined(vjps):
    """One VJP per input as the one form every VJP takes (see Op), for a recorded backward
    pass and an op with settings (on arrays without settings, the pass calls ``Op.each``
    itself). One and two inputs call theirs without a loop, and without repacking
    ``**params`` when there are none (repacking costs more than the call)."""
    def each(F, g, ans, inputs, params, saved, parents):
        return [function(F, g, ans, *inputs, **params)
                if function is not None and parent.trainable else None
                for function, parent in zip(vjps, parents)]  # noqa: B905 (as in backward)

    if len(vjps) == 1:
        (first,) = vjps

        def vjp(F, g, ans, inputs, params, saved, parents):   # its one parent is trainable
            if params:
                return (first(F, g, ans, inputs[0], **params),)
            return (first(F, g, ans, inputs[0]),)
    elif len(vjps) == 2 and None not in vjps:
        first, second = vjps

        def vjp(F, g, ans, inputs, params, saved, parents):
            x, y = inputs
            if params:
                return (first(F, g, ans, x, y, **params) if parents[0].trainable else None,
                        second(F, g, ans, x, y, **params) if parents[1].trainable else None)
            return (first(F, g, ans, x, y) if parents[0].trainable else None,
                    second(F, g, ans, x, y) if parents[1].trainable else None)
    else:
        vjp = each
    return vjp


# Elementwise arithmetic: x and y broadcast against each other.
add = defop("add", lambda xp, x, y: xp.add(x, y),
            lambda F, g, ans, x, y: g,
            lambda F, g, ans, x, y: g, dtypes=numeric, elementwise=True)
subtract = defop("subtract", lambda xp, x, y: xp.subtract(x, y),
                 lambda F, g, ans, x, y: g,
                 lambda F, g, ans, x, y: F.negative(g), dtypes=subtraction, elementwise=True)
multiply = defop("multiply", lambda xp, x, y: xp.multiply(x, y),
                 lambda F, g, ans, x, y: F.multiply(g, y),
                 lambda F, g, ans, x, y: F.multiply(g, x), dtypes=numeric, elementwise=True)
divide = defop("divide", lambda xp, x, y: xp.divide(x, y),
               lambda F, g, ans, x, y: F.divide(g, y),
               lambda F, g, ans, x, y: F.divide(F.multiply(F.negative(g), ans), y),
               dtypes=floating, elementwise=True)
# As in PyTorch: x ** 0 has slope 0 in x even at x = 0, and 0 ** y has slope 0 in y for
# y >= 0 (the limit from the right) and -inf for y < 0 (where 0 ** y is inf).
power = defop("power", lambda xp, x, y: xp.pow(x, y),
              lambda F, g, ans, x, y: F.where(F.equal(y, 0), 0.0, F.multiply(
                  F.multiply(g, y), F.pow(x, F.subtract(y, 1)))),
              lambda F, g, ans, x, y: F.where(
                  F.logical_and(F.equal(x, 0), F.greater_equal(y, 0)), 0.0,
                  F.multiply(F.multiply(g, ans), F.log(x))),
              dtypes=exponentiation, elementwise=True)
negative = defop("negative", lambda xp, x: xp.negative(x),
                 lambda F, g, ans, x: F.negative(g), dtypes=numeric, elementwise=True)


def _sigmoid_forward(xp, x):
    """1 / (1 + e^-x), from e^-|x| <= 1 so that neither branch overflows."""
    small = xp.exp(xp.negative(xp.abs(x)))
    total = xp.add(1, small)
    return xp.where(xp.greater_equal(x, 0), xp.divide(1, total), xp.divide(small, total))


def _through_tanh(F, g, ans, x=None):
    """``g`` times the slope of tanh at the value ``ans``: 1 - ans**2 (tanh's VJP, which
    needs no ``x``)."""
    return F.multiply(g, F.subtract(1, F.multiply(ans, ans)))


def _split_ties(F, g, wins, ties):
    """``g`` where ``wins``, half of it where ``ties``, else 0: the slope of max/min."""
    return F.where(wins, g, F.where(ties, F.divide(g, 2), 0.0))


# Elementwise functions.
exp = defop("exp", lambda xp, x: xp.exp(x),
            lambda F, g, ans, x: F.multiply(g, ans), dtypes=floating, elementwise=True)
log = defop("log", lambda xp, x: xp.log(x),
            lambda F, g, ans, x: F.divide(g, x), dtypes=floating, elementwise=True)
sqrt = defop("sqrt", lambda xp, x: xp.sqrt(x),
             lambda F, g, ans, x: F.divide(g, F.multiply(2, ans)), dtypes=floating,
             elementwise=True)
sin = defop("sin", lambda xp, x: xp.sin(x),
            lambda F, g, ans, x: F.multiply(g, F.cos(x)), dtypes=floating, elementwise=True)
cos = defop("cos", lambda xp, x: xp.cos(x),
            lambda F, g, ans, x: F.multiply(F.negative(g), F.sin(x)), dtypes=floating,
            elementwise=True)
tanh = defop("tanh", lambda xp, x: xp.tanh(x), _through_tanh, dtypes=floating, elementwise=True)
sigmoid = defop("sigmoid", _sigmoid_forward,
                lambda F, g, ans, x: F.multiply(F.multiply(g, ans), F.subtract(1, ans)),
                dtypes=floating, elementwise=True)
relu = defop("relu", lambda xp, x: xp.maximum(x, 0),
             # a product, not where(): a data-dependent select is several times slower
             lambda F, g, ans, x: F.multiply(g, F.astype(F.greater(x, 0), g.dtype)),
             dtypes=numeric, elementwise=True)
abs = defop("abs", lambda xp, x: xp.abs(x),
            lambda F, g, ans, x: F.multiply(g, F.sign(x)), dtypes=numeric, elementwise=True)
sign = defop("sign", lambda xp, x: xp.sign(x), dtypes=numeric)
clip_p = defop("clip", lambda xp, x, min=None, max=None: xp.clip(x, min, max),
              # x passes through unclipped exactly where min <= x <= max
              lambda F, g, ans, x, min=None, max=None: F.where(F.equal(ans, x), g, 0.0),
              dtypes=numeric)
maximum = defop("maximum", lambda xp, x, y: xp.maximum(x, y),
                lambda F, g, ans, x, y: _split_ties(F, g, F.greater(x, y), F.equal(x, y)),
                lambda F, g, ans, x, y: _split_ties(F, g, F.greater(y, x), F.equal(x, y)),
                dtypes=numeric, elementwise=True)
minimum = defop("minimum", lambda xp, x, y: xp.minimum(x, y),
                lambda F, g, ans, x, y: _split_ties(F, g, F.less(x, y), F.equal(x, y)),
                lambda F, g, ans, x, y: _split_ties(F, g, F.less(y, x), F.equal(x, y)),
                dtypes=numeric, elementwise=True)
where = defop("where", lambda xp, condition, x, y: xp.where(condition, x, y),
              None,
              lambda F, g, ans, condition, x, y: F.where(condition, g, 0.0),
              lambda F, g, ans, condition, x, y: F.where(condition, 0.0, g), dtypes=select)
astype_p = defop("astype", lambda xp, x, dtype: xp.astype(x, dtype),
                lambda F, g, ans, x, dtype: F.astype(g, x.dtype))
# A new array with x's values: a leaf's own gradient, when a recorded pass gives two leaves
# one array.
copy = defop("copy", lambda xp, x: xp.copy(x),
             lambda F, g, ans, x: g)

# Comparisons and logic: bool results, no gradient.
less = defop("less", lambda xp, x, y: xp.less(x, y), dtypes=numeric)
less_equal = defop("less_equal", lambda xp, x, y: xp.less_equal(x, y), dtypes=numeric)
greater = defop("greater", lambda xp, x, y: xp.greater(x, y), dtypes=numeric)
greater_equal = defop("greater_equal", lambda xp, x, y: xp.greater_equal(x, y), dtypes=numeric)
equal = defop("equal", lambda xp, x, y: xp.equal(x, y), dtypes=common)
not_equal = defop("not_equal", lambda xp, x, y: xp.not_equal(x, y), dtypes=common)
logical_and = defop("logical_and", lambda xp, x, y: xp.logical_and(x, y), dtypes=logical)
logical_or = defop("logical_or", lambda xp, x, y: xp.logical_or(x, y), dtypes=logical)
logical_not = defop("logical_not", lambda xp, x: xp.logical_not(x), dtypes=logical)


def _kept(F, value, shape, axis, keepdims):
    """A reduction's ``value`` with its reduced axes restored as length 1."""
    if keepdims:
        return value
    return F.reshape(value, tuple(1 if axis is None or i in axis else n
                                  for i, n in enumerate(shape)))


def _extremum_vjp(F, g, ans, x, axis=None, keepdims=False):
    """Split ``g`` evenly among the elements that equal the max (or min), as amax does."""
    hits = F.astype(F.equal(x, _kept(F, ans, x.shape, axis, keepdims)), x.dtype)
    share = F.divide(_kept(F, g, x.shape, axis, keepdims), F.sum(hits, axis=axis, keepdims=True))
    return F.multiply(hits, share)


def _peak(xp, x, axis):
    """x's largest values along ``axis`` (kept, length 1), to shift exponentials by; zeros
    when x is empty, where max has no identity (a softmax over nothing is empty, as in
    PyTorch, and a logsumexp -inf)."""
    if math.prod(x.shape) == 0:
        shape = tuple(1 if axis is None or i in axis else n for i, n in enumerate(x.shape))
        return xp.zeros(shape, dtype=x.dtype, device=x.device)
    return xp.max(x, axis=axis, keepdims=True)


def _logsumexp_forward(xp, x, axis=None, keepdims=False):
    peak = _peak(xp, x, axis)
    peak = xp.where(xp.isfinite(peak), peak, 0.0)   # a slice of -inf stays -inf, not nan
    total = xp.add(xp.log(xp.sum(xp.exp(xp.subtract(x, peak)), axis=axis, keepdims=True)), peak)
    return total if keepdims else xp.reshape(total, _reduced_shape(x.shape, axis))


def _reduced_shape(shape, axis):
    return tuple(n for i, n in enumerate(shape) if axis is not None and i not in axis)


def _softmax_forward(xp, x, axis):
    exps = xp.exp(xp.subtract(x, _peak(xp, x, axis)))
    return xp.divide(exps, xp.sum(exps, axis=axis, keepdims=True))


def _log_softmax_forward(xp, x, axis):
    shifted = xp.subtract(x, _peak(xp, x, axis))
    return xp.subtract(shifted, xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True)))


# Reductions: axis is None or a sorted tuple of non-negative ints (the wrappers see to it).
sum_p = defop("sum",
             lambda xp, x, axis=None, keepdims=False: xp.sum(x, axis=axis, keepdims=keepdims),
             lambda F, g, ans, x, axis=None, keepdims=False:
                 F.broadcast_to(_kept(F, g, x.shape, axis, keepdims), x.shape),
             dtypes=accumulate)
def _reduced_count(shape, axis):
    """How many elements a reduction over ``axis`` combines into each result (at least 1)."""
    return builtins.max(1, math.prod(shape if axis is None else [shape[a] for a in axis]))


mean_p = defop("mean",
              lambda xp, x, axis=None, keepdims=False: xp.mean(x, axis=axis, keepdims=keepdims),
              lambda F, g, ans, x, axis=None, keepdims=False:
                  F.broadcast_to(F.divide(_kept(F, g, x.shape, axis, keepdims),
                                          _reduced_count(x.shape, axis)), x.shape),
              dtypes=needs_floating)
max_p = defop("max",
             lambda xp, x, axis=None, keepdims=False: xp.max(x, axis=axis, keepdims=keepdims),
             _extremum_vjp, dtypes=numeric)
min_p = defop("min",
             lambda xp, x, axis=None, keepdims=False: xp.min(x, axis=axis, keepdims=keepdims),
             _extremum_vjp, dtypes=numeric)
logsumexp_p = defop("logsumexp", _logsumexp_forward,
                      lambda F, g, ans, x, axis=None, keepdims=False:
                          F.multiply(_kept(F, g, x.shape, axis, keepdims), F.exp(
                              F.subtract(x, _kept(F, ans, x.shape, axis, keepdims)))),
                      dtypes=floating)
softmax_p = defop("softmax", _softmax_forward,
                    lambda F, g, ans, x, axis: F.multiply(ans, F.subtract(
                        g, F.sum(F.multiply(g, ans), axis=axis, keepdims=True))),
                    dtypes=needs_floating)
log_softmax_p = defop("log_softmax", _log_softmax_forward,
                        lambda F, g, ans, x, axis: F.subtract(
                            g, F.multiply(F.exp(ans), F.sum(g, axis=axis, keepdims=True))),
                        dtypes=needs_floating)
def _examples(shape, axis):
    """How many examples a loss over the class ``axis`` averages (at least 1)."""
    return builtins.max(1, math.prod(n for i, n in enumerate(shape) if i not in axis))


def _cross_entropy_forward(xp, logits, targets, axis):
    """The mean over examples of -sum(targets * log_softmax(logits)) along ``axis``."""
    shifted, exps, totals = _shifted_exponentials(xp, logits, axis)
    # A class of target 0 adds nothing, even when its logit is -inf (a masked class).
    log_probabilities = xp.subtract(shifted, xp.log(totals))
    terms = xp.where(xp.equal(targets, 0), 0.0, xp.multiply(targets, log_probabilities))
    loss = xp.divide(xp.negative(xp.sum(terms)), _examples(logits.shape, axis))
    return loss, xp.divide(exps, totals)    # the probabilities, for the gradient


def _shifted_exponentials(xp, logits, axis):
    """logits - their maximum along ``axis``, its exponentials, and their sums (kept dims)."""
    shifted = xp.subtract(logits, xp.max(logits, axis=axis, keepdims=True))
    exps = xp.exp(shifted)
    return shifted, exps, xp.sum(exps, axis=axis, keepdims=True)


def _cross_entropy_vjp(F, g, ans, inputs, params, probabilities, parents):
    """For the logits (softmax * sum(targets) - targets) * g / examples: no log of a
    probability; for the targets -log_softmax(logits) * g / examples."""
    logits, targets = inputs
    axis = params["axis"]
    scale = F.divide(g, _examples(logits.shape, axis))
    logits_share = targets_share = None
    if parents[0].trainable:    # target rows need not sum to 1
        probabilities = F.multiply(probabilities, F.sum(targets, axis=axis, keepdims=True))
        logits_share = F.multiply(F.subtract(probabilities, targets), scale)
    if parents[1].trainable:
        targets_share = F.multiply(F.log_softmax(logits, axis=axis), F.negative(scale))
    return logits_share, targets_share


# Softmax and mean cross-entropy fused: stable for any logits, one node instead of six, and
# the backward pass reuses the forward's probabilities.
softmax_cross_entropy = defop("softmax_cross_entropy", _cross_entropy_forward,
                              vjp=_cross_entropy_vjp,
                              saves=lambda F, ans, logits, targets, axis:
                                  F.softmax(logits, axis=axis),
                              dtypes=floating)


def _class_mask_forward(xp, labels, classes, axis):
    """The bool one-hot rows of integer ``labels``: True where a position along a new class
    axis at ``axis``, of length ``classes``, is the label there."""
    positions = xp.arange(classes, device=labels.device)     # int64: every class fits
    if labels.dtype != positions.dtype:     # uint8 labels next to 300 classes, say
        labels = xp.astype(labels, positions.dtype)
    after = labels.ndim - axis     # the axes that follow the class axis
    if after:
        positions = xp.reshape(positions, (classes,) + (1,) * after)
    return xp.equal(xp.reshape(labels, _with_class_axis(labels.shape, axis)), positions)


def _with_class_axis(shape, axis):
    return shape[:axis] + (1,) + shape[axis:]


class_mask_p = defop("class_mask", _class_mask_forward)


def _values_at_labels_forward(xp, x, labels, axis, check=None):
    """``x``'s value at each integer label's class along the class ``axis``, which goes. Its
    only nonzero term is the label's, so each sum is that value exactly (an inf or nan at
    another class stays out). ``check``: see ``_checked_hits``."""
    hits = xp.class_mask(labels, classes=x.shape[axis], axis=axis)
    _checked_hits(xp, check, hits, math.prod(labels.shape), labels, x.shape[axis], None)
    return xp.sum(xp.where(hits, x, 0), axis=axis, dtype=x.dtype), hits


def _checked_hits(xp, check, hits, count, labels, classes, ignore_index):
    """With ``check`` (the name of the loss, for its error), raise DataError unless every
    label (but ``ignore_index``) is in [0, classes): then each of the ``count`` labels kept
    has one hit in its one-hot ``hits``, which one count of the mask tells."""
    if check is not None:
        xp.check(_every_label_hit, hits, count, labels, name=check, classes=classes,
                 ignore_index=ignore_index)


def _every_label_hit(xp, hits, count, labels, name, classes, ignore_index):
    if int(xp.count_nonzero(hits)) != int(count):
        raise labels_outside(xp, labels, name, classes, ignore_index)


def labels_outside(xp, labels, name, classes, ignore_index):
    """The DataError of integer ``labels`` of which some are outside [0, classes) and not
    ``ignore_index``."""
    outside = xp.logical_or(labels < 0, labels >= classes)
    if ignore_index is not None:
        outside = xp.logical_and(outside, labels != ignore_index)
    count = int(xp.sum(xp.astype(outside, xp.int64)))
    low, high = int(xp.min(labels)), int(xp.max(labels))
    return DataError(f"{name}: {count} class label(s) outside [0, {classes}) (labels run "
                     f"from {low} to {high}); the prediction has {classes} classes")


# The gather of a class score per label (nll_loss, categorical_crossentropy): the gradient
# goes to the labels' classes alone.
values_at_labels_p = defop(
    "values_at_labels", _values_at_labels_forward,
    vjp=lambda F, g, ans, inputs, params, hits, parents: (F.where(
        hits, F.reshape(g, _with_class_axis(tuple(g.shape), params["axis"])), 0.0), None),
    saves=lambda F, ans, x, labels, axis, check=None: F.class_mask(
        labels, classes=x.shape[axis], axis=axis))


def _labels_cross_entropy_forward(xp, logits, labels, axis, ignore_index=None, check=None):
    """The mean over examples of -log_softmax(logits) at each integer label's class along
    ``axis``. With ``ignore_index``, examples of that label are left out (nan if all are),
    as PyTorch's. ``check``: see ``_checked_hits``."""
    shifted, exps, totals = _shifted_exponentials(xp, logits, axis)
    hits, kept, count = _label_hits(xp, logits, labels, axis, ignore_index)
    _checked_hits(xp, check, hits, count, labels, logits.shape[axis], ignore_index)
    # log(total) - shifted >= 0 at each label, alone: a class of logit -inf elsewhere, or an
    # ignored example, adds nothing.
    terms = xp.where(hits, xp.subtract(xp.log(totals), shifted), 0.0)
    return xp.divide(xp.sum(terms), _divisor(xp, count, logits.dtype)), (
        xp.divide(exps, totals), hits, kept, count)


def _label_hits(F, logits, labels, axis, ignore_index):
    """The labels' one-hot mask over the logits, the mask of examples kept (None without
    ``ignore_index``) and how many are kept, exactly (an int, or an integer count: one in
    the logits' dtype is off past 2048 in float16, 2**24 in float32)."""
    hits = F.class_mask(labels, classes=logits.shape[axis], axis=axis)
    if ignore_index is None:
        return hits, None, math.prod(labels.shape)
    kept = F.reshape(F.not_equal(labels, ignore_index), _with_class_axis(labels.shape, axis))
    # an integer sum, in both the arrays' namespace and zen's (a recorded backward pass)
    return F.logical_and(hits, kept), kept, F.sum(F.astype(kept, labels.dtype))


def _divisor(F, count, dtype):
    """The mean's divisor for ``count`` examples kept (see _label_hits), in ``dtype``: at
    least 1 where none is ignored (an empty batch's loss is 0), else the count itself (nan
    where all are ignored, as PyTorch's)."""
    return builtins.max(1, count) if isinstance(count, int) else F.astype(count, dtype)


def _labels_cross_entropy_vjp(F, g, ans, inputs, params, saved, parents):
    """(softmax - one-hot) * g / examples for the logits (0 for an ignored example); integer
    labels get none."""
    probabilities, hits, kept, count = saved
    share = F.multiply(F.subtract(probabilities, F.astype(hits, probabilities.dtype)),
                       F.divide(g, _divisor(F, count, probabilities.dtype)))
    return (share if kept is None else F.where(kept, share, 0.0)), None   # 0, even if 0/0


# softmax_cross_entropy of integer class labels: the labels' logits gathered, no one-hot rows
# multiplied. The logits must be floating (the losses cast them), the labels in range (or
# checked by the op: ``check``).
softmax_cross_entropy_labels_p = defop(
    "softmax_cross_entropy_labels", _labels_cross_entropy_forward,
    vjp=_labels_cross_entropy_vjp,
    saves=lambda F, ans, logits, labels, axis, ignore_index=None, check=None: (
        F.softmax(logits, axis=(axis,)), *_label_hits(F, logits, labels, axis, ignore_index)))


def _clamped_log(xp, x):
    """max(log(x), -100), and -100 (no inf, no nan) where x <= 0."""
    positive = xp.greater(x, 0)
    return xp.where(positive, xp.maximum(xp.log(xp.where(positive, x, 1.0)), -100.0), -100.0)


def _binary_cross_entropy_forward(xp, x, target):
    complement = xp.subtract(1.0, x)
    return xp.negative(xp.add(xp.multiply(target, _clamped_log(xp, x)),
                              xp.multiply(xp.subtract(1.0, target),
                                          _clamped_log(xp, complement))))


# Elementwise binary cross-entropy of probabilities x, its logs clamped at -100, with
# PyTorch's gradients: for x, (x - target) / max(x (1 - x), 1e-12), finite even at 0 and 1.
binary_cross_entropy_p = defop(
    "binary_cross_entropy", _binary_cross_entropy_forward,
    lambda F, g, ans, x, target: F.divide(
        F.multiply(g, F.subtract(x, target)),
        F.maximum(F.multiply(x, F.subtract(1.0, x)), 1e-12)),
    # as PyTorch's, of the logs unclamped: infinite where x is 0 or 1
    lambda F, g, ans, x, target: F.multiply(g, F.subtract(F.log(F.subtract(1.0, x)), F.log(x))),
    dtypes=floating)

def _squared_error_forward(xp, prediction, target):
    difference = xp.subtract(prediction, target)
    return xp.mean(xp.multiply(difference, difference)), difference


def _squared_error_vjp(F, g, ans, inputs, params, difference, parents):
    share = F.multiply(difference, F.divide(F.multiply(2, g), math.prod(difference.shape)))
    prediction, target = parents
    return (share if prediction.trainable else None,
            F.negative(share) if target.trainable else None)


# Mean squared error as one node: its gradient is one product with the saved difference.
mean_squared_error = defop("mean_squared_error", _squared_error_forward, vjp=_squared_error_vjp,
                           saves=lambda F, ans, prediction, target: F.subtract(prediction, target),
                           dtypes=floating)


def _rnn_step_vjp(F, g, ans, inputs, params, saved, parents):
    x, hidden, input_weight, hidden_weight, _bias = inputs
    needed = [parent.trainable for parent in parents]
    through_tanh = _through_tanh(F, g, ans)     # shared by every input's gradient
    return (F.matmul(through_tanh, input_weight.mT) if needed[0] else None,
            F.matmul(through_tanh, hidden_weight.mT) if needed[1] else None,
            F.matmul(x.mT, through_tanh) if needed[2] else None,
            F.matmul(hidden.mT, through_tanh) if needed[3] else None,
            through_tanh if needed[4] else None)


# One step of a tanh RNN, fused: tanh(x @ input_weight + hidden @ hidden_weight + bias).
rnn_step = defop("rnn_step",
                 lambda xp, x, hidden, input_weight, hidden_weight, bias:
                     xp.tanh(xp.add(xp.add(xp.matmul(x, input_weight),
                                           xp.matmul(hidden, hidden_weight)), bias)),
                 vjp=_rnn_step_vjp, dtypes=floating)


argmax_p = defop("argmax", lambda xp, x, axis=None, keepdims=False:
                xp.argmax(x, axis=axis, keepdims=keepdims), dtypes=numeric)
argmin_p = defop("argmin", lambda xp, x, axis=None, keepdims=False:
                xp.argmin(x, axis=axis, keepdims=keepdims), dtypes=numeric)


def _concat_vjp(F, g, ans, inputs, params, saved, parents):
    """Each input's slice of ``g``, the offsets summed once: linear in the number of
    inputs."""
    axis = params["axis"]
    before = (slice(None),) * axis
    shares, start = [], 0
    for x, parent in zip(inputs, parents, strict=True):
        stop = start + x.shape[axis]
        shares.append(g[before + (slice(start, stop), Ellipsis)] if parent.trainable else None)
        start = stop
    return shares


def _inverse(permutation):
    inverse = [0] * len(permutation)
    for position, axis in enumerate(permutation):
        inverse[axis] = position
    return tuple(inverse)


# Shape.
reshape_p = defop("reshape", lambda xp, x, shape: xp.reshape(x, shape),
                 lambda F, g, ans, x, shape: F.reshape(g, x.shape), views=True)
broadcast_to_p = defop("broadcast_to", lambda xp, x, shape: xp.broadcast_to(x, shape),
                      lambda F, g, ans, x, shape: g,   # the central unbroadcast sums g back
                      views=True)
permute_dims_p = defop("permute_dims", lambda xp, x, axes: xp.permute_dims(x, axes),
                      lambda F, g, ans, x, axes: F.permute_dims(g, _inverse(axes)),
                      views=True)
concat_p = defop("concat", lambda xp, *inputs, axis: xp.concat(inputs, axis=axis),
                vjp=_concat_vjp, dtypes=common)


def _scatter_forward(xp, like, values, key):
    """Zeros shaped like ``like`` with ``values`` added at ``key`` (repeats add up)."""
    out = xp.zeros_like(like)
    xp.scatter_add(out, key, values)
    return out


def _index_scatter_forward(xp, like, values, indices, axis):
    """Zeros shaped like ``like`` with ``values`` added at ``indices`` along ``axis``."""
    out = xp.zeros_like(like)
    xp.index_add(out, axis, indices, values)
    return out


# Indexing. getitem takes any key the backend can index with; take gathers along one axis
# with a 1-D integer tensor, the portable form of x[indices].
getitem_p = defop("getitem", lambda xp, x, key: x[key],
                 lambda F, g, ans, x, key: F.scatter(x, g, key=key), views=True)
scatter_p = defop("scatter", _scatter_forward,
                    None,
                    lambda F, g, ans, like, values, key: g[key])
take_p = defop("take", lambda xp, x, indices, axis: xp.take(x, indices, axis=axis),
              lambda F, g, ans, x, indices, axis: F.index_scatter(x, g, indices, axis=axis),
              None)
index_scatter_p = defop("index_scatter", _index_scatter_forward,
                          None,
                          lambda F, g, ans, like, values, indices, axis:
                              F.take(g, indices, axis=axis),
                          None)


def _matmul_vjp_left(F, g, ans, a, b):
    if b.ndim == 1:                     # (..., m, k) @ (k,) -> (..., m); also (k,) @ (k,)
        return F.multiply(_column(F, g) if a.ndim > 1 else g, b)
    if a.ndim == 1:                     # (k,) @ (..., k, n) -> (..., n)
        return F.reshape(F.matmul(b, _column(F, g)), tuple(g.shape[:-1]) + (b.shape[-2],))
    return F.matmul(g, b.mT)


def _matmul_vjp_right(F, g, ans, a, b):
    if a.ndim == 1:                     # (k,) @ (..., k, n) -> (..., n); also (k,) @ (k,)
        if b.ndim == 1:
            return F.multiply(g, a)
        return F.multiply(_column(F, a), F.reshape(g, tuple(g.shape[:-1]) + (1, g.shape[-1])))
    if b.ndim == 1:                     # (..., m, k) @ (k,) -> (..., m)
        return F.reshape(F.matmul(a.mT, _column(F, g)),
                         tuple(g.shape[:-1]) + (a.shape[-1],))
    return F.matmul(a.mT, g)


def _column(F, v):
    """``v`` with a trailing axis of length 1, so 1-D matmul operands broadcast as matrices."""
    return F.reshape(v, tuple(v.shape) + (1,))


# Linear algebra: 1-D operands and broadcast batch dimensions as in numpy.matmul.
matmul = defop("matmul", lambda xp, a, b: xp.matmul(a, b), _matmul_vjp_left, _matmul_vjp_right,
               dtypes=numeric)


def _linear_vjp(F, g, ans, inputs, params, saved, parents):
    x, weight, _bias = inputs
    x_needed, weight_needed, bias_needed = (parent.trainable for parent in parents)
    return (F.matmul(g, weight.mT) if x_needed else None,
            F.matmul(x.mT, g) if weight_needed else None,
            g if bias_needed else None)


# A dense layer, x @ weight + bias for x of two or more dimensions, as one node.
linear = defop("linear", lambda xp, x, weight, bias: xp.add(xp.matmul(x, weight), bias),
               vjp=_linear_vjp, dtypes=numeric)


def _pad_forward(xp, x, widths, value=0):
    """``x`` inside ``value``, ``widths[i] = (before, after)`` (non-negative) for axis i."""
    shape = tuple(n + before + after for n, (before, after) in zip(x.shape, widths, strict=True))
    out = xp.full(shape, value, dtype=x.dtype, device=x.device)
    out[_interior(x.shape, widths)] = x
    return out


def _interior(shape, widths):
    return tuple(slice(before, before + n) for n, (before, _) in zip(shape, widths, strict=True))


def _sliding_windows_forward(xp, x, window, stride, dilation=(1, 1), channels_last=False):
    """(N, C, H, W) -> (N, C, OH, OW, KH, KW): every KH x KW window, its elements
    ``dilation`` (rows, columns) apart, the windows ``stride`` apart (``channels_last``
    only lays out the gradient)."""
    span = tuple(d * (k - 1) + 1 for k, d in zip(window, dilation, strict=True))
    windows = xp.sliding_window_view(x, span, axis=(2, 3))
    if stride == (1, 1) and dilation == (1, 1):
        return windows
    return windows[:, :, ::stride[0], ::stride[1], ::dilation[0], ::dilation[1]]


def _fold_windows_forward(xp, windows, shape, stride, dilation=(1, 1), channels_last=False):
    """The adjoint of ``_sliding_windows_forward``: each window's values added back where they came
    from, one strided slice per kernel offset (set, not added, where windows do not overlap).
    ``channels_last`` lays the (N, C, H, W) result out in memory as (N, H, W, C), as windows
    taken from such an array are (a convolution's): the adds then run along memory."""
    _, _, rows, columns, height, width = windows.shape
    row_step, column_step = stride
    disjoint = _disjoint(rows, row_step, height, dilation[0]) and \
        _disjoint(columns, column_step, width, dilation[1])
    out = _zeros(xp, shape, windows, channels_last)
    for i, j in _offsets(windows):
        top, left = i * dilation[0], j * dilation[1]
        bottom, right = top + row_step * (rows - 1), left + column_step * (columns - 1)
        target = (slice(None), slice(None), slice(top, bottom + 1, row_step),
                  slice(left, right + 1, column_step))
        if disjoint:
            out[target] = windows[:, :, :, :, i, j]
        else:
            out[target] += windows[:, :, :, :, i, j]
    return out


def _zeros(xp, shape, like, channels_last):
    """Zeros of the (N, C, H, W) ``shape``, laid out in memory as (N, H, W, C) if
    ``channels_last``."""
    if not channels_last:
        return xp.zeros(shape, dtype=like.dtype, device=like.device)
    batch, channels, height, width = shape
    out = xp.zeros((batch, height, width, channels), dtype=like.dtype, device=like.device)
    return xp.permute_dims(out, (0, 3, 1, 2))


def _disjoint(count, step, kernel, dilation):
    """Whether ``count`` windows ``step`` apart along an axis, of ``kernel`` elements
    ``dilation`` apart, cover each position at most once."""
    return count == 1 or kernel == 1 or step >= dilation * (kernel - 1) + 1


def _offsets(windows):
    """The (row, column) kernel offsets of (N, C, OH, OW, KH, KW) windows, row by row."""
    return [(i, j) for i in range(windows.shape[4]) for j in range(windows.shape[5])]


def _offset_views(windows):
    """Each kernel offset's element of every window: (N, C, OH, OW) views, row by row."""
    return [windows[:, :, :, :, i, j] for i, j in _offsets(windows)]


# NumPy reduces many small windows slowly (a short inner loop per window): up to this many
# elements a window, one elementwise pass per kernel offset over all windows at once is
# faster (2x2 max pooling of 64x16x8x8: 0.1 ms against 1.7 ms); larger windows (global
# pooling: one pass per element would be thousands of passes) keep the one reduction.
SMALL_WINDOW = 16


def _is_small(windows):
    return windows.shape[4] * windows.shape[5] <= SMALL_WINDOW


def _max_pool_forward(xp, windows):
    """The largest value of each (N, C, OH, OW, KH, KW) window: (N, C, OH, OW)."""
    if not _is_small(windows):
        return xp.max(windows, axis=(4, 5))
    return functools.reduce(xp.maximum, _offset_views(windows))


def _first_maximum_forward(xp, windows, largest):
    """Where each window's picked element is (see ``pooled_positions``): a bool mask shaped
    like ``windows`` (N, C, OH, OW, KH, KW). ``largest`` is max_pool's (N, C, OH, OW) result,
    so small windows need no second reduction."""
    if _is_small(windows):
        return xp.reshape(xp.stack(_first_hits(xp, _offset_views(windows), largest), axis=4),
                          windows.shape)
    flat = xp.reshape(windows, tuple(windows.shape[:4]) + (-1,))
    positions = xp.arange(flat.shape[4], device=windows.device)
    chosen = xp.reshape(pooled_positions(xp, flat), tuple(flat.shape[:4]) + (1,))
    return xp.reshape(xp.equal(chosen, positions), windows.shape)


def pooled_positions(xp, flat):
    """The element max pooling picks in each window (the last axis of ``flat``), as
    PyTorch's CPU kernels do: the first largest, or the last NaN of a window that holds one
    (they update on ``value > largest or isnan(value)``)."""
    missing = xp.not_equal(flat, flat)
    positions = xp.arange(flat.shape[-1], device=flat.device)
    last_missing = xp.max(xp.where(missing, positions, -1), axis=-1)
    return xp.where(last_missing >= 0, last_missing, xp.argmax(flat, axis=-1))


def _first_hits(xp, offsets, largest):
    """For each offset's (N, C, OH, OW) values, whether it holds its window's picked
    element, one pass per offset: the first largest, or (a NaN window's largest is NaN,
    equal to nothing) the last NaN, as ``pooled_positions``."""
    largest_hits = _firsts(xp, [xp.equal(values, largest) for values in offsets])
    nan_hits = _firsts(xp, [xp.not_equal(values, values) for values in reversed(offsets)])
    return [xp.logical_or(hit, nan_hit)
            for hit, nan_hit in zip(largest_hits, reversed(nan_hits), strict=True)]


def _firsts(xp, hits):
    """Each mask of ``hits`` less what an earlier one already holds: the first hit only."""
    firsts, taken = [], None
    for hit in hits:
        if taken is None:
            taken = hit
        else:
            hit = xp.logical_and(hit, xp.logical_not(taken))
            taken = xp.logical_or(taken, hit)
        firsts.append(hit)
    return firsts


# Convolution building blocks (zen.convolution and zen.functional build convolution and
# pooling from them).
pad_p = defop("pad", _pad_forward,
                lambda F, g, ans, x, widths, value=0: g[_interior(x.shape, widths)])
# ``channels_last``: the input is an (N, C, H, W) view of an (N, H, W, C) array; the
# gradient is laid out so too (see _fold_windows_forward).
sliding_windows_p = defop("sliding_windows", _sliding_windows_forward,
                          lambda F, g, ans, x, window, stride, dilation=(1, 1),
                                 channels_last=False:
                              F.fold_windows(g, shape=x.shape, stride=stride,
                                             dilation=dilation, channels_last=channels_last),
                          views=True)
# The shape may reach past the last window (a transposed convolution's output_padding): the
# gradient has the windows' own count, not as many as would fit.
fold_windows_p = defop("fold_windows", _fold_windows_forward,
                       lambda F, g, ans, windows, shape, stride, dilation=(1, 1),
                              channels_last=False:
                           F.sliding_windows(g, window=windows.shape[-2:], stride=stride,
                                             dilation=dilation)[
                               :, :, :windows.shape[2], :windows.shape[3], ...])
first_maximum_p = defop("first_maximum", _first_maximum_forward)
# The largest value of each window; as PyTorch's max pooling, its gradient goes to one element
# only, the one ``pooled_positions`` picks.
max_pool = defop("max_pool", _max_pool_forward,
                 lambda F, g, ans, windows:
                     F.where(F.first_maximum(windows, ans),
                             F.reshape(g, tuple(g.shape) + (1, 1)), 0.0),
                 dtypes=numeric)


# Public functions for the primitives that take settings: the argument handling users expect.

def broadcast_shapes(shapes: Sequence[Sequence[int]]) -> tuple[int, ...] | None:
    """The shape that arrays of ``shapes`` broadcast to, or None if they do not."""
    ndim = builtins.max((len(shape) for shape in shapes), default=0)
    padded = [(1,) * (ndim - len(shape)) + tuple(shape) for shape in shapes]
    result = []
    for lengths in zip(*padded, strict=True):
        wide = set(lengths) - {1}
        if len(wide) > 1:
            return None
        result.append(wide.pop() if wide else 1)
    return tuple(result)


def broadcast_shape(op_name: str, *shapes: Sequence[int]) -> tuple[int, ...]:
    """The shape that arrays of ``shapes`` broadcast to, or ShapeMismatchError naming
    ``op_name`` and the shapes."""
    shape = broadcast_shapes(shapes)
    if shape is None:
        raise ShapeMismatchError(f"{op_name}: shapes "
                                 f"{', '.join(str(tuple(s)) for s in shapes)} do not "
                                 f"broadcast together")
    return shape


def normalise_axes(op_name, axis, ndim):
    """``axis`` (None, an int or a sequence) as None or a sorted tuple of non-negative ints.

    As in PyTorch, a 0-d tensor accepts axis 0 and -1, meaning no axis at all."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, numbers.Integral) else \
        tuple(axis) if isinstance(axis, (tuple, list)) else None
    if axes is None or not all(isinstance(a, numbers.Integral) for a in axes):
        raise AxisError(f"{op_name}: axis must be None, an int or a tuple of ints, got "
                        f"{axis!r}")
    axes = tuple(int(a) for a in axes)
    if ndim == 0 and all(a in (0, -1) for a in axes):
        return ()
    for a in axes:
        if not -ndim <= a < ndim:
            raise AxisError(f"{op_name}: axis {a} is out of range for a tensor with {ndim} "
                            f"dimension(s)")
    normalised = tuple(sorted(a % ndim for a in axes))
    if len(set(normalised)) != len(normalised):
        raise AxisError(f"{op_name}: axis {axis} repeats an axis")
    return normalised


def shape_argument(shape, op_name="reshape"):
    """``f(x, 2, 3)`` and ``f(x, (2, 3))`` both mean the shape ``(2, 3)``."""
    if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
        shape = shape[0]
    if not isinstance(shape, (tuple, list)) or \
            not all(isinstance(n, numbers.Integral) for n in shape):
        raise ShapeMismatchError(f"{op_name}: a shape is ints, got {shape!r}")
    return tuple(int(n) for n in shape)


def reduction_axes(op_name, axis, ndim):
    """``normalise_axes`` for a reduction, where an empty tuple means every axis, as PyTorch's
    ``dim=()`` does (NumPy reduces over none)."""
    axes = normalise_axes(op_name, axis, ndim)
    return None if axes == () else axes


def reduction(primitive: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """The public function of a reduction primitive: ``axis`` None, an int or a tuple of
    ints (an empty one meaning every axis), checked; ``keepdims`` as given."""
    def reduce(x: TensorLike, axis: Axes = None, keepdims: bool = False) -> Tensor:
        x = as_tensor(x)
        return primitive(x, axis=reduction_axes(primitive.__name__, axis, x.ndim),
                         keepdims=keepdims)

    reduce.__name__ = primitive.__name__
    return reduce


def converting_reduction(primitive: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """``reduction`` with PyTorch's ``dtype=``: ``x`` is converted to it first."""
    plain = reduction(primitive)

    def reduce(x: TensorLike, axis: Axes = None, keepdims: bool = False,
               dtype: str | Any | None = None) -> Tensor:
        return plain(x if dtype is None else astype(x, dtype), axis, keepdims)

    reduce.__name__ = primitive.__name__
    return reduce


sum = converting_reduction(sum_p)
sum.__doc__ = """Sum over ``axis`` (None for all, an int, or a tuple of ints); with ``dtype``,
``x`` is converted to it first, as in PyTorch (``sum(x, dtype="float64")``)."""
mean = converting_reduction(mean_p)
mean.__doc__ = "Arithmetic mean over ``axis``; with ``dtype``, of ``x`` converted to it first."
max = reduction(max_p)
max.__doc__ = "Largest element over ``axis``; the gradient is shared among tied elements."
min = reduction(min_p)
min.__doc__ = "Smallest element over ``axis``; the gradient is shared among tied elements."
logsumexp = reduction(logsumexp_p)
logsumexp.__doc__ = "log(sum(exp(x))) over ``axis``, without overflow."


def one_axis(op_name, axis, ndim):
    """One axis of a tensor with ``ndim`` axes (an int, not a bool), as a non-negative int."""
    if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
        raise AxisError(f"{op_name}: axis must be one int, got {axis!r}")
    if ndim == 0:
        raise AxisError(f"{op_name}: a 0-d tensor has no axis {axis} to work along; reshape "
                        f"it to (1,) first")
    return normalise_axes(op_name, axis, ndim)[0]


def _index_reduction(primitive):
    """The public function of ``argmax_p`` or ``argmin_p``: over the flattened tensor, or
    along one ``axis``."""
    name = primitive.__name__

    def reduce(x: TensorLike, axis: Axes = None, keepdims: bool = False) -> Tensor:
        x = as_tensor(x)
        if axis is None or (x.ndim == 0 and normalise_axes(name, axis, 0) == ()):
            flat = primitive(reshape(x, -1))
            return reshape(flat, (1,) * x.ndim) if keepdims else flat
        return primitive(x, axis=one_axis(name, axis, x.ndim), keepdims=keepdims)

    reduce.__name__ = name
    return reduce


argmax = _index_reduction(argmax_p)
argmax.__doc__ = "Index of the largest element, over the flattened tensor or along one ``axis``."
argmin = _index_reduction(argmin_p)
argmin.__doc__ = "Index of the smallest element, over the flattened tensor or along one ``axis``."


def softmax(x: TensorLike, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``, stable for any magnitude of logits."""
    x = as_tensor(x)
    return softmax_p(x, axis=normalise_axes("softmax", axis, x.ndim))


def log_softmax(x: TensorLike, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along ``axis``, stable for any magnitude of logits."""
    x = as_tensor(x)
    return log_softmax_p(x, axis=normalise_axes("log_softmax", axis, x.ndim))


def clip(x: TensorLike, min: TensorLike | None = None,
         max: TensorLike | None = None) -> Tensor:
    """``x`` limited to [min, max]; either bound may be None, a number or a Tensor. The bounds
    take part in type promotion as numbers do: an integer tensor clipped at 0.5 becomes
    float. As in PyTorch, a Tensor bound gets the gradient where it binds, and with min > max
    every element becomes max."""
    x = as_tensor(x)
    bounds = [bound for bound in (min, max) if bound is not None]
    x = promotion.cast(x, promotion.result_dtype("clip", x.backend, [x, *bounds]))
    if any(isinstance(bound, Tensor) for bound in bounds) or (len(bounds) == 2 and min > max):
        if min is not None:
            x = where(x < min, min, x)
        return x if max is None else where(x > max, max, x)
    # Bounds as Python numbers of x's kind: the array API takes no NumPy scalars, and no bool
    # bounds for numbers.
    kind = float if x.backend.is_floating(x.dtype) else int
    return clip_p(x, min=None if min is None else kind(min),
                 max=None if max is None else kind(max))


def astype(x: TensorLike, dtype: str | Any) -> Tensor:
    """``x`` converted to ``dtype`` (a name such as ``"float64"`` or a backend dtype); a
    conversion to integers or bools has no gradient and gives a non-trainable tensor."""
    x = as_tensor(x)
    if isinstance(dtype, str):
        try:
            dtype = x.backend.dtype(dtype)
        except (AttributeError, TypeError):
            raise DtypeError(f"astype: {x.device} has no dtype {dtype!r}; use a name such as "
                             f"'float32', 'float64', 'int64' or 'bool'") from None
    if x.backend.is_floating(dtype):
        return astype_p(x, dtype=dtype)
    return constant(array_namespaces[x.backend].astype(x.value, dtype), x.backend)


def reshape(x: TensorLike, *shape: int | Sequence[int]) -> Tensor:
    """``x`` with a new shape of the same size; one dimension may be -1."""
    return reshape_p(x, shape=shape_argument(shape))


def broadcast_to(x: TensorLike, shape: Sequence[int]) -> Tensor:
    return broadcast_to_p(x, shape=tuple(shape))


def permute_dims(x: TensorLike, axes: Sequence[int]) -> Tensor:
    """``x`` with its axes reordered: result axis i is input axis ``axes[i]``."""
    x = as_tensor(x)
    axes = tuple(axes)
    if len(axes) != x.ndim or normalise_axes("transpose", axes, x.ndim) != tuple(range(x.ndim)):
        raise AxisError(f"transpose: axes {axes} are not a permutation of the {x.ndim} "
                        f"axes of a tensor of shape {x.shape}")
    return permute_dims_p(x, axes=tuple(a % x.ndim for a in axes))


def transpose(x: TensorLike, *axes: int | Sequence[int]) -> Tensor:
    """``x`` with its axes reversed (no ``axes``), two axes swapped (two ``axes``, as
    ``torch.transpose``), or reordered as a permutation of all its axes (``axes`` of three or
    more, as NumPy's)."""
    x = as_tensor(x)
    if not axes:
        return permute_dims(x, tuple(reversed(range(x.ndim))))
    axes = shape_argument(axes, "transpose")
    return swapaxes(x, *axes) if len(axes) == 2 else permute_dims(x, axes)


def swapaxes(x: TensorLike, axis0: int, axis1: int) -> Tensor:
    """``x`` with ``axis0`` and ``axis1`` swapped (``torch.swapaxes``, ``torch.transpose``)."""
    x = as_tensor(x)
    first, second = (one_axis("transpose", axis, x.ndim) for axis in (axis0, axis1))
    order = list(range(x.ndim))
    order[first], order[second] = second, first
    return permute_dims(x, order)


def matrix_transpose(x: TensorLike) -> Tensor:
    """``x`` with its last two axes swapped."""
    x = as_tensor(x)
    return permute_dims(x, tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2))


def concat(tensors: Sequence[TensorLike], axis: int = 0) -> Tensor:
    """The tensors joined along an existing ``axis``."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ShapeMismatchError("concat: needs at least one tensor")
    return concat_p(*tensors, axis=one_axis("concat", axis, tensors[0].ndim))


def take(x: TensorLike, indices: TensorLike, axis: int = 0) -> Tensor:
    """Elements of ``x`` at integer ``indices`` (any shape; negative ones count from the end)
    along ``axis``; an index out of range raises IndexOutOfRangeError."""
    x = as_tensor(x)
    axis = one_axis("take", axis, x.ndim)
    indices = index_array("take", indices, x)
    return take_checked(x, checked_indices("take", indices, x.shape, axis, x.backend), axis)


def take_checked(x, indices, axis):
    """``take`` with an index array already checked: int64, non-negative and in range."""
    flat = indices if indices.ndim == 1 else array_namespaces[x.backend].reshape(indices, (-1,))
    taken = take_p(x, constant(flat, x.backend), axis=axis)
    if indices.ndim == 1:
        return taken
    return reshape(taken, x.shape[:axis] + tuple(indices.shape) + x.shape[axis + 1:])


def index_array(op_name, indices, x):
    """``indices`` (a Tensor, array, list or number) as an integer or boolean array on ``x``'s
    device."""
    if isinstance(indices, Tensor):
        owner, indices = indices.backend, indices.value
    else:
        owner = devices.backend_for_array(indices) if _is_array(indices) else None
    if owner is x.backend:      # a copy: the caller may change theirs after a gather saved it
        array = array_namespaces[x.backend].copy(indices)
    else:       # e.g. host indices for a GPU tensor
        array = _converted_indices(op_name, owner.to_host(indices) if owner else indices, x)
    if not (x.backend.is_integral(array.dtype) or x.backend.is_bool(array.dtype)):
        raise DtypeError(f"{op_name}: indices must be integers or booleans, got dtype "
                         f"{array.dtype}")
    if array.dtype == x.backend.dtype("uint8"):
        raise DtypeError(f"{op_name}: uint8 indices are ambiguous (PyTorch reads them as a "
                         f"mask, NumPy as positions); use bool for a mask or int64 for "
                         f"positions")
    return array


def _converted_indices(op_name, indices, x):
    try:
        array = x.backend.asarray(indices)
    except (TypeError, ValueError) as error:
        raise DtypeError(f"{op_name}: {indices!r:.60} is not an index ({error})") from None
    if isinstance(indices, list) and math.prod(array.shape) == 0:
        # [] holds no ints
        array = array_namespaces[x.backend].astype(array, x.backend.dtype("int64"))
    return array


def checked_indices(op_name, indices, shape, axis, backend, negatives=True):
    """Integer ``indices`` into ``axis`` of ``shape`` as int64 in [0, length): negative ones
    count from the end (or are refused, without ``negatives``), and any out of range raise,
    since CuPy would wrap them silently. One read of their least and largest to the host."""
    xp = array_namespaces[backend]
    if not backend.is_integral(indices.dtype):
        raise DtypeError(f"{op_name}: indices for axis {axis} must be integers, got dtype "
                         f"{indices.dtype}")
    int64 = backend.dtype("int64")
    if indices.dtype != int64:      # so that neither wrapping negatives nor merging overflows
        indices = xp.astype(indices, int64)
    if math.prod(indices.shape) == 0:
        return indices
    xp.check(_indices_in_range, indices, op_name=op_name, shape=shape, axis=axis,
             negatives=negatives)
    return xp.where(indices < 0, indices + shape[axis], indices) if negatives else indices


def _indices_in_range(xp, indices, op_name, shape, axis, negatives):
    """Raise unless every index is in [-length, length) of ``axis`` (in [0, length) without
    ``negatives``): one read of their least and largest to the host."""
    length = shape[axis]
    low, high = int(xp.min(indices)), int(xp.max(indices))
    if low < 0 and not negatives:
        raise IndexOutOfRangeError(f"{op_name}: index {low} is negative; indices must be in "
                                   f"[0, {length}) (axis {axis} of shape {shape})")
    if low < -length or high >= length:
        raise out_of_range(op_name, low if low < -length else high, shape, axis)


def out_of_range(op_name, index, shape, axis):
    return IndexOutOfRangeError(f"{op_name}: index {index} is out of range for axis {axis} "
                                f"of length {shape[axis]} (tensor of shape {shape})")


def _is_array(value):
    return hasattr(value, "shape") and hasattr(value, "dtype")


tensor.functions.provide(
    add=add, subtract=subtract, multiply=multiply, divide=divide, power=power, matmul=matmul,
    negative=negative, abs=abs, less=less, less_equal=less_equal, greater=greater,
    greater_equal=greater_equal, equal=equal, not_equal=not_equal, exp=exp, log=log, sqrt=sqrt,
    sin=sin, cos=cos, tanh=tanh, sigmoid=sigmoid, relu=relu, clip=clip, sum=sum, mean=mean,
    logsumexp=logsumexp, argmax=argmax, argmin=argmin, softmax=softmax,
    log_softmax=log_softmax, reshape=reshape, transpose=transpose,
    matrix_transpose=matrix_transpose, astype=astype, copy=copy, sign=sign,
    broadcast_to=broadcast_to, swapaxes=swapaxes)

# zen's function for each name of the vocabulary: the one of that name here, but power for pow.
tensor_namespace = namespaces.TensorNamespace(
    {name: globals()["power" if name == "pow" else name] for name in namespaces.VJP_NAMES},
    _APPLY)


# Reductions, scans and indexing: their primitives. The public functions, mostly
# exact composites, are in zen.reductions and zen.selection.

def _reversed(x, axis):
    """``x`` read backwards along ``axis`` (a view)."""
    return x[(slice(None),) * axis + (slice(None, None, -1), Ellipsis)]


def _running_best_index_forward(xp, x, axis, largest):
    """The index of the largest (or smallest) element so far along ``axis``, the latest of
    tied ones as in PyTorch: a Hillis-Steele scan over (value, index) pairs, log2(n) steps."""
    length = x.shape[axis]
    before = (slice(None),) * axis
    shape = tuple(length if i == axis else 1 for i in range(x.ndim))
    index = xp.broadcast_to(xp.reshape(xp.arange(length, device=x.device), shape), x.shape)
    shift = 1
    while shift < length:
        head, earlier, later = (before + (part, Ellipsis) for part in (
            slice(0, shift), slice(0, length - shift), slice(shift, None)))
        better = (xp.greater if largest else xp.less)(x[earlier], x[later])
        x = xp.concat([x[head], xp.where(better, x[earlier], x[later])], axis=axis)
        index = xp.concat([index[head], xp.where(better, index[earlier], index[later])],
                          axis=axis)
        shift *= 2
    return index


cumsum_p = defop("cumsum", lambda xp, x, axis: xp.cumulative_sum(x, axis=axis),
                 lambda F, g, ans, x, axis:
                     _reversed(F.cumsum(_reversed(g, axis), axis=axis), axis),
                 dtypes=accumulate)
any_p = defop("any", lambda xp, x, axis=None, keepdims=False:
              xp.any(x, axis=axis, keepdims=keepdims))
all_p = defop("all", lambda xp, x, axis=None, keepdims=False:
              xp.all(x, axis=axis, keepdims=keepdims))
argsort_p = defop("argsort", lambda xp, x, axis, descending:
                  xp.argsort(x, axis=axis, descending=descending, stable=True))
running_best_index_p = defop("running_best_index", _running_best_index_forward)
# Elementwise functions: rounding, logarithms and exponentials, erf, inverse and
# hyperbolic trigonometry, signs, and division's remainders. Composites of these live in
# zen.elementwise.

_LN2, _LN10 = math.log(2.0), math.log(10.0)


def _zero_gradient(F, g, ans, *inputs):
    """As PyTorch: a step function's gradient is zeros (not None), so a leaf reached only
    through it still gets a gradient."""
    return F.zeros_like(g)


def _fmod_forward(xp, x, y):
    """C's fmod, with the sign of ``x``: the remainder of |x| by |y| is exact (no rounding,
    which remainder's adjustment by y would add), then given x's sign (+0 for x = -0)."""
    magnitude = xp.remainder(xp.abs(x), xp.abs(y))
    return xp.where(xp.less(x, 0), xp.negative(magnitude), magnitude)


def _through_erf(F, g, x):
    """``g`` times erf's slope 2/sqrt(pi) e^-x^2."""
    return F.multiply(g, F.multiply(2 / math.sqrt(math.pi), F.exp(F.negative(F.multiply(x, x)))))


def _atan2_vjp(F, g, ans, inputs, params, saved, parents):
    """``g`` times the slopes of atan2 in y and in x, (x, -y) / (x^2 + y^2): one scale for
    both."""
    y, x = inputs
    scale = F.divide(g, F.add(F.multiply(x, x), F.multiply(y, y)))
    return (F.multiply(scale, x) if parents[0].trainable else None,
            F.multiply(F.negative(scale), y) if parents[1].trainable else None)


zeros_like = defop("zeros_like", lambda xp, x: xp.zeros_like(x))
floor = defop("floor", lambda xp, x: xp.floor(x), _zero_gradient, dtypes=numeric)
ceil = defop("ceil", lambda xp, x: xp.ceil(x), _zero_gradient, dtypes=numeric)
trunc = defop("trunc", lambda xp, x: xp.trunc(x), _zero_gradient, dtypes=numeric)
round_p = defop("round", lambda xp, x: xp.round(x), _zero_gradient, dtypes=numeric)
log2 = defop("log2", lambda xp, x: xp.log2(x),
             lambda F, g, ans, x: F.divide(g, F.multiply(x, _LN2)), dtypes=floating)
log10 = defop("log10", lambda xp, x: xp.log10(x),
              lambda F, g, ans, x: F.divide(g, F.multiply(x, _LN10)), dtypes=floating)
expm1 = defop("expm1", lambda xp, x: xp.expm1(x),
              lambda F, g, ans, x: F.multiply(g, F.add(ans, 1)), dtypes=floating)
log1p = defop("log1p", lambda xp, x: xp.log1p(x),
              lambda F, g, ans, x: F.divide(g, F.add(x, 1)), dtypes=floating)
erf = defop("erf", lambda xp, x: xp.erf(x),
            lambda F, g, ans, x: _through_erf(F, g, x), dtypes=floating)
# A primitive, not 1 - erf: that rounds to 0 from x ~ 4 in float32 and ~6 in float64.
erfc = defop("erfc", lambda xp, x: xp.erfc(x),
             lambda F, g, ans, x: F.negative(_through_erf(F, g, x)), dtypes=floating)
tan = defop("tan", lambda xp, x: xp.tan(x),
            lambda F, g, ans, x: F.multiply(g, F.add(1, F.multiply(ans, ans))), dtypes=floating)
asin = defop("asin", lambda xp, x: xp.asin(x),
             lambda F, g, ans, x: F.divide(g, F.sqrt(F.subtract(1, F.multiply(x, x)))),
             dtypes=floating)
acos = defop("acos", lambda xp, x: xp.acos(x),
             lambda F, g, ans, x: F.divide(F.negative(g),
                                           F.sqrt(F.subtract(1, F.multiply(x, x)))),
             dtypes=floating)
atan = defop("atan", lambda xp, x: xp.atan(x),
             lambda F, g, ans, x: F.divide(g, F.add(1, F.multiply(x, x))), dtypes=floating)
atan2 = defop("atan2", lambda xp, y, x: xp.atan2(y, x), vjp=_atan2_vjp, dtypes=floating)
sinh = defop("sinh", lambda xp, x: xp.sinh(x),
             lambda F, g, ans, x: F.multiply(g, F.cosh(x)), dtypes=floating)
cosh = defop("cosh", lambda xp, x: xp.cosh(x),
             lambda F, g, ans, x: F.multiply(g, F.sinh(x)), dtypes=floating)
asinh = defop("asinh", lambda xp, x: xp.asinh(x),
              lambda F, g, ans, x: F.divide(g, F.sqrt(F.add(F.multiply(x, x), 1))),
              dtypes=floating)
acosh = defop("acosh", lambda xp, x: xp.acosh(x),
              lambda F, g, ans, x: F.divide(g, F.sqrt(F.multiply(F.subtract(x, 1),
                                                                 F.add(x, 1)))),
              dtypes=floating)
atanh = defop("atanh", lambda xp, x: xp.atanh(x),
              lambda F, g, ans, x: F.divide(g, F.subtract(1, F.multiply(x, x))),
              dtypes=floating)
# As PyTorch: the magnitude's slope is ans / x (0 at x = 0); the sign's is zero.
copysign = defop("copysign", lambda xp, x, y: xp.copysign(x, y),
                 lambda F, g, ans, x, y: F.where(F.equal(x, 0), 0.0,
                                                 F.multiply(g, F.divide(ans, x))),
                 _zero_gradient, dtypes=floating)
logaddexp = defop("logaddexp", lambda xp, x, y: xp.logaddexp(x, y),
                  lambda F, g, ans, x, y: F.multiply(g, F.sigmoid(F.subtract(x, y))),
                  lambda F, g, ans, x, y: F.multiply(g, F.sigmoid(F.subtract(y, x))),
                  dtypes=floating)
# Python's % and //: the remainder takes the divisor's sign, the quotient rounds down.
remainder = defop("remainder", lambda xp, x, y: xp.remainder(x, y),
                  lambda F, g, ans, x, y: g,
                  lambda F, g, ans, x, y: F.multiply(F.negative(g), F.floor_divide(x, y)),
                  dtypes=numeric)
fmod = defop("fmod", _fmod_forward,
             lambda F, g, ans, x, y: g,
             lambda F, g, ans, x, y: F.multiply(F.negative(g), F.trunc(F.divide(x, y))),
             dtypes=numeric)
floor_divide = defop("floor_divide", lambda xp, x, y: xp.floor_divide(x, y),
                     _zero_gradient, _zero_gradient, dtypes=numeric)
isnan = defop("isnan", lambda xp, x: xp.isnan(x), dtypes=common)
isinf = defop("isinf", lambda xp, x: xp.isinf(x), dtypes=common)
isfinite = defop("isfinite", lambda xp, x: xp.isfinite(x), dtypes=common)
# As PyTorch: the slopes x / hypot and y / hypot, nan at (0, 0).
hypot = defop("hypot", lambda xp, x, y: xp.hypot(x, y),
              lambda F, g, ans, x, y: F.divide(F.multiply(g, x), ans),
              lambda F, g, ans, x, y: F.divide(F.multiply(g, y), ans), dtypes=floating)


def round(x: TensorLike, decimals: int = 0) -> Tensor:
    """``x`` rounded half to even, to ``decimals`` places (negative: tens, hundreds...), as
    torch.round; its gradient is zero."""
    if not isinstance(decimals, numbers.Integral):
        raise ArgumentError(f"round: decimals must be an int, got {decimals!r}")
    if decimals == 0:
        return round_p(x)
    scale = 10.0 ** builtins.abs(decimals)
    if decimals > 0:
        return divide(round_p(multiply(x, scale)), scale)
    return multiply(round_p(divide(x, scale)), scale)


tensor.functions.provide(
    floor=floor, ceil=ceil, trunc=trunc, round=round, log2=log2, log10=log10, expm1=expm1,
    log1p=log1p, erf=erf, erfc=erfc, tan=tan, asin=asin, acos=acos, atan=atan, atan2=atan2,
    sinh=sinh, cosh=cosh, asinh=asinh, acosh=acosh, atanh=atanh, copysign=copysign,
    logaddexp=logaddexp, hypot=hypot,
    remainder=remainder, fmod=fmod, floor_divide=floor_divide, isnan=isnan, isinf=isinf,
    isfinite=isfinite)


# Medians: PyTorch's lower median, NaN when a slice holds one.

def _median_index_forward(xp, x, axis):
    """Where ``x``'s lower median along ``axis`` is (kept, length 1): the element at sorted
    position (n - 1) // 2 of a stable sort, or the first NaN of a slice that holds one, as
    PyTorch's ``median(x, dim)``."""
    order = xp.argsort(x, axis=axis, stable=True)
    middle = (x.shape[axis] - 1) // 2
    index = order[(slice(None),) * axis + (slice(middle, middle + 1), Ellipsis)]
    missing = xp.not_equal(x, x)       # NaN; never for integers
    first_missing = xp.argmax(xp.astype(missing, x.dtype), axis=axis, keepdims=True)
    return xp.where(xp.any(missing, axis=axis, keepdims=True), first_missing, index)


def _median_forward(xp, x):
    flat = xp.reshape(x, (-1,))
    return xp.reshape(xp.take(flat, xp.reshape(_median_index_forward(xp, flat, 0), (-1,))),
                      ())


def _median_vjp(F, g, ans, x):
    """As PyTorch's ``median(x)``: ``g`` split evenly among the elements equal to the
    median (among the NaNs, when it is NaN)."""
    tied = F.where(F.isnan(ans), F.isnan(x), F.equal(x, ans))
    hits = F.astype(tied, x.dtype)
    return F.multiply(hits, F.divide(g, F.sum(hits)))


median_index_p = defop("median_index", _median_index_forward)
median_p = defop("median", _median_forward, _median_vjp, dtypes=numeric)
