"""Tensor contractions: ``einsum`` and ``outer``, exact composites of zen's primitives.

``einsum`` contracts its operands two at a time, each pair as one matmul of reshaped
operands, choosing at each step the pair whose result is smallest, so that no intermediate
holds the product of every label's size. Its gradient runs through the same primitives (the
VJP of a matmul is a matmul), so it is itself a chain of such contractions, of any order.
"""

from __future__ import annotations

import itertools
import math
import string
from collections import Counter
from collections.abc import Sequence

from zen import ops, shapes, tensor
from zen.errors import ArgumentError, ShapeMismatchError
from zen.ops import reshape
from zen.tensor import Tensor, TensorLike, as_tensor

_ELLIPSIS_LABELS = "".join(map(chr, range(0x3B1, 0x3B1 + 24)))   # Greek: never in equations


def einsum(equation: str, *operands: TensorLike | Sequence[TensorLike]) -> Tensor:
    """Einstein summation, as ``torch.einsum``: ``'ij,jk->ik'`` is a matrix product; labels
    are letters, ``...`` stands for the axes not named, a label repeated in one operand takes
    its diagonal, and without ``->`` the output is the labels seen once, in sorted order,
    after the ``...`` axes. Axes of length 1 broadcast against their label's size."""
    if len(operands) == 1 and isinstance(operands[0], (tuple, list)):
        operands = tuple(operands[0])
    operands = [as_tensor(t) for t in operands]
    inputs, output = _parse(equation, operands)
    sizes = _label_sizes(equation, inputs, operands)
    terms = [_prepared(t, labels, output, inputs, position, sizes)
             for position, (t, labels) in enumerate(zip(operands, inputs, strict=True))]
    while len(terms) > 1:
        first, second = _cheapest_pair(terms, output, sizes)
        rest = [term for i, term in enumerate(terms) if i not in (first, second)]
        needed = set(output).union(*(labels for _, labels in rest))
        terms = rest + [_contracted(terms[first], terms[second], needed, sizes)]
    (result, labels), = terms
    return _arranged(result, labels, output, sizes)


def outer(x: TensorLike, y: TensorLike) -> Tensor:
    """The outer product of two 1-D tensors: ``result[i, j] = x[i] * y[j]``."""
    x, y = as_tensor(x), as_tensor(y)
    if x.ndim != 1 or y.ndim != 1:
        raise ShapeMismatchError(f"outer: needs two 1-D tensors, got shapes {x.shape} and "
                                 f"{y.shape}")
    return reshape(x, (-1, 1)) * reshape(y, (1, -1))


def _parse(equation, operands):
    """Each operand's labels and the output's, ``...`` replaced by one label per axis."""
    if not isinstance(equation, str):
        raise ArgumentError(f"einsum: the equation must be a string, got {equation!r}")
    left, arrow, right = equation.replace(" ", "").partition("->")
    subscripts = left.split(",")
    if len(subscripts) != len(operands):
        raise ArgumentError(f"einsum: {equation!r} names {len(subscripts)} operand(s), got "
                            f"{len(operands)}")
    inputs = [_expanded(equation, s, t.ndim) for s, t in zip(subscripts, operands, strict=True)]
    broadcast = max((t.ndim - len(s.replace("...", "")) for s, t in
                     zip(subscripts, operands, strict=True) if "..." in s), default=0)
    if arrow:
        output = _expanded(equation, right, None, broadcast)
    else:
        counts = Counter("".join(inputs))
        output = _last_ellipsis_labels(broadcast) + "".join(
            sorted(label for label, count in counts.items()
                   if count == 1 and label not in _ELLIPSIS_LABELS))
    if len(set(output)) < len(output) or not set(output) <= set("".join(inputs)):
        raise ArgumentError(f"einsum: the output of {equation!r} repeats a label or names one "
                            f"no operand has")
    return inputs, output


def _expanded(equation, subscript, ndim, broadcast=None):
    """``subscript``'s labels with ``...`` as the last of the ellipsis labels, enough for
    ``ndim`` axes (or ``broadcast`` of them in the output)."""
    named = subscript.replace("...", "")
    if not set(named) <= set(string.ascii_letters) or subscript.count("...") > 1:
        raise ArgumentError(f"einsum: {equation!r}: subscripts are letters and at most one "
                            f"'...', got {subscript!r}")
    hidden = broadcast if ndim is None else ndim - len(named)
    if hidden < 0 or ("..." not in subscript and hidden != 0 and ndim is not None):
        raise ShapeMismatchError(f"einsum: {equation!r}: subscript {subscript!r} does not fit "
                                 f"an operand with {ndim} axes")
    return subscript.replace("...", _last_ellipsis_labels(hidden))


def _last_ellipsis_labels(count):
    """The labels of the last ``count`` axes that ``...`` stands for (right-aligned, as
    broadcasting aligns them)."""
    return _ELLIPSIS_LABELS[len(_ELLIPSIS_LABELS) - count:] if count else ""


def _label_sizes(equation, inputs, operands):
    """Each label's size: its one length other than 1, else 1 (length 1 broadcasts)."""
    lengths = {}
    for labels, t in zip(inputs, operands, strict=True):
        for label, n in zip(labels, t.shape, strict=True):
            lengths.setdefault(label, set()).add(n)
    sizes = {}
    for label, found in lengths.items():
        if len(found - {1}) > 1:
            raise ShapeMismatchError(f"einsum: {equation!r}: label {label!r} has lengths "
                                     f"{sorted(found)}, in shapes {[t.shape for t in operands]}")
        sizes[label] = min(found - {1}, default=1)
    return sizes


def _prepared(t, labels, output, inputs, position, sizes):
    """One operand as a term (tensor, labels) with no repeated label, every axis of length 1
    broadcast to its label's size, and the labels no other operand or the output needs
    summed away."""
    while len(set(labels)) < len(labels):
        label = next(label for label in labels if labels.count(label) > 1)
        first = labels.index(label)
        second = labels.index(label, first + 1)
        t = shapes.diagonal(t, 0, first, second)
        labels = labels[:first] + labels[first + 1:second] + labels[second + 1:] + label
    full = tuple(sizes[label] for label in labels)
    if full != t.shape:
        t = ops.broadcast_to(t, full)
    elsewhere = set(output).union(*(other for i, other in enumerate(inputs) if i != position))
    alone = tuple(i for i, label in enumerate(labels) if label not in elsewhere)
    if alone:
        t = ops.sum(t, axis=alone)
        labels = "".join(label for label in labels if label in elsewhere)
    return t, labels


def _cheapest_pair(terms, output, sizes):
    """The positions of the two terms whose contraction gives the smallest result."""
    def result_size(pair):
        (_, first), (_, second) = terms[pair[0]], terms[pair[1]]
        others = [labels for i, (_, labels) in enumerate(terms) if i not in pair]
        needed = set(output).union(*others)
        return math.prod(sizes[label] for label in set(first) | set(second) if label in needed)

    return min(itertools.combinations(range(len(terms)), 2), key=result_size)


def _contracted(first, second, needed, sizes):
    """Two terms as one: their shared labels that nothing else ``needed`` summed by a matmul
    of (batch, left, summed) by (batch, summed, right)."""
    (a, a_labels), (b, b_labels) = first, second
    batch = "".join(label for label in a_labels if label in b_labels and label in needed)
    summed = "".join(label for label in a_labels if label in b_labels and label not in needed)
    left = "".join(label for label in a_labels if label not in b_labels)
    right = "".join(label for label in b_labels if label not in a_labels)
    product = ops.matmul(_matrix(a, a_labels, batch, left, summed, sizes),
                         _matrix(b, b_labels, batch, summed, right, sizes))
    return reshape(product, tuple(sizes[label] for label in batch + left + right)), \
        batch + left + right


def _matrix(t, labels, batch, rows, columns, sizes):
    """``t`` as (batch..., rows, columns): its batch labels kept as one axis if any, its
    row labels and column labels each merged into one."""
    t = _arranged(t, labels, batch + rows + columns, sizes)
    merged = (math.prod(sizes[label] for label in rows),
              math.prod(sizes[label] for label in columns))
    shape = ((math.prod(sizes[label] for label in batch),) if batch else ()) + merged
    return t if t.shape == shape else reshape(t, shape)


def _arranged(t, labels, order, sizes):
    """``t``'s axes, labelled ``labels``, permuted into ``order``."""
    if labels == order:
        return t
    return ops.permute_dims(t, tuple(labels.index(label) for label in order))


tensor.functions.provide(outer=outer)
