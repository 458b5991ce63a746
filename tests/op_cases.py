"""One table of op cases, shared by the finite-difference test (every backend) and the
PyTorch oracle test. A case's function takes the module (``zen`` or ``torch``) and its input
tensors; ``torch=`` gives PyTorch's spelling where the two differ, ``torch=False`` marks a case
PyTorch has no counterpart for."""

import numpy

import zen


class Case:
    def __init__(self, label, function, *shapes, torch=None, low=-2.0, high=2.0,
                 **tolerances):
        self.label, self.function, self.shapes = label, function, shapes
        self.torch_function = function if torch is None else torch
        self.low, self.high, self.tolerances = low, high, tolerances

    def arrays(self):
        rng = numpy.random.default_rng(sum(map(ord, self.label)))
        return [rng.uniform(self.low, self.high, size=shape) for shape in self.shapes]

    def inputs(self, device):
        return [zen.Tensor(array, device=device) for array in self.arrays()]

    def __call__(self, *inputs):
        return self.function(zen, *inputs)


def _conv(stride, padding):
    def convolve(m, x, w, b=None):
        if m is zen:
            return zen.conv2d(x, w, b, stride=stride, padding=padding)
        return m.nn.functional.conv2d(x, w, b, stride=stride, padding=padding)
    return convolve


POSITIVE = dict(low=0.5, high=2.0)


def _index(m, rows):
    """An int64 index for ``m``: a NumPy array for zen (any device takes it), a torch
    tensor for torch."""
    return numpy.array(rows) if m is zen else m.tensor(rows)


def _scatter_reduce(reduce, include_self):
    def scatter(m, x, src):
        index = _index(m, [[0, 2, 0, 0], [1, 1, 3, 1]])
        return m.scatter_reduce(x, 1, index, src, reduce, include_self=include_self)
    return scatter

CASES = [
    # Elementwise arithmetic, with broadcasting and Python scalars on either side.
    Case("add", lambda m, x, y: x + y, (2, 3), (3,)),
    Case("add, both broadcast", lambda m, x, y: x + y, (2, 1, 3), (4, 1)),
    Case("add, reflected scalar", lambda m, x: 2.0 + x, (3,)),
    Case("subtract", lambda m, x, y: x - y, (2, 3), (2, 1)),
    Case("subtract, reflected scalar", lambda m, x: 1.5 - x, (3,)),
    Case("multiply", lambda m, x, y: x * y, (3, 1), (1, 4)),
    Case("multiply by 0-d", lambda m, x, y: x * y, (2, 3), ()),
    Case("divide", lambda m, x, y: x / y, (2, 3), (3,), **POSITIVE),
    Case("divide, reflected scalar", lambda m, x: 3.0 / x, (4,), **POSITIVE),
    Case("power", lambda m, x, y: x ** y, (2, 3), (3,), **POSITIVE),
    Case("power, scalar exponent", lambda m, x: x ** 3, (5,)),
    Case("power, scalar base", lambda m, x: 2.0 ** x, (5,)),
    Case("negative", lambda m, x: -x, (2, 2)),
    Case("abs", lambda m, x: abs(x) * m.abs(x), (6,)),
    # Elementwise functions.
    Case("exp", lambda m, x: x.exp(), (2, 3)),
    Case("log", lambda m, x: m.log(x), (2, 3), **POSITIVE),
    Case("sqrt", lambda m, x: x.sqrt(), (2, 3), **POSITIVE),
    Case("sin", lambda m, x: m.sin(x), (4,)),
    Case("cos", lambda m, x: m.cos(x), (4,)),
    Case("tanh", lambda m, x: m.tanh(x), (2, 3)),
    Case("sigmoid", lambda m, x: m.sigmoid(x * 8), (8,)),
    Case("relu", lambda m, x: m.relu(x), (3, 3)),
    Case("clip", lambda m, x: m.clip(x, -1.0, 0.5), (3, 3)),
    Case("clip, one bound", lambda m, x: x.clip(None, 0.3), (6,)),
    Case("clip, tensor bounds", lambda m, x, low, high: m.clip(x, low, high), (3, 4), (4,),
         (3, 1)),
    Case("maximum", lambda m, x, y: m.maximum(x, y), (2, 3), (3,)),
    Case("minimum", lambda m, x, y: m.minimum(x, y), (2, 1), (2, 3)),
    Case("where", lambda m, x, y: m.where(x > y, x * 2, y), (2, 3), (3,)),
    Case("astype round trip", lambda m, x: m.astype(m.astype(x, "float32"), "float64") * x,
         (4,), torch=lambda m, x: x.float().double() * x, eps=1e-2, atol=1e-3, rtol=1e-2),
    Case("clone", lambda m, x: x.clone() * x, (3,)),
    # Reductions.
    Case("sum", lambda m, x: x.sum(), (2, 3)),
    Case("sum, axis", lambda m, x: x.sum(axis=1), (2, 3, 4)),
    Case("sum, negative axes, keepdims", lambda m, x: x.sum(axis=(0, -1), keepdims=True) * x,
         (2, 3, 4)),
    Case("mean", lambda m, x: x.mean(axis=0) * x.mean(), (3, 4)),
    Case("max", lambda m, x: x.max(axis=1) * 2, (3, 4),
         torch=lambda m, x: m.amax(x, axis=1) * 2),
    Case("max, all", lambda m, x: x.max(), (3, 4), torch=lambda m, x: m.amax(x)),
    Case("min, keepdims", lambda m, x: x.min(axis=(0, 2), keepdims=True) * x, (2, 3, 2),
         torch=lambda m, x: m.amin(x, axis=(0, 2), keepdims=True) * x),
    Case("var", lambda m, x: m.var(x, axis=1, correction=1), (3, 5)),
    Case("var, all", lambda m, x: m.var(x, correction=0), (3, 5)),
    Case("logsumexp", lambda m, x: m.logsumexp(x * 10, axis=1), (3, 4)),
    Case("logsumexp, axes", lambda m, x: m.logsumexp(x, axis=(0, 2), keepdims=True), (2, 3, 2)),
    Case("softmax", lambda m, x: m.softmax(x, axis=-1) * x, (3, 4)),
    Case("softmax, axis 0", lambda m, x: m.softmax(x * 5, axis=0), (3, 4)),
    Case("log_softmax", lambda m, x: m.log_softmax(x, axis=1) * x, (3, 4)),
    Case("mean_squared_error", lambda m, x, t: m.ops.mean_squared_error(x, t), (3, 4), (3, 4),
         torch=lambda m, x, t: m.nn.functional.mse_loss(x, t)),
    Case("softmax_cross_entropy",
         lambda m, x, t: m.ops.softmax_cross_entropy(x, t, axis=(1,)), (3, 4), (3, 4),
         torch=lambda m, x, t: m.nn.functional.cross_entropy(x, t),
         low=0.0, high=2.0),
    Case("softmax_cross_entropy, labels",
         lambda m, x: zen.loss.softmax_cross_entropy(x, _index(m, [0, 3, 1])), (3, 4),
         torch=lambda m, x: m.nn.functional.cross_entropy(x, _index(m, [0, 3, 1]))),
    Case("categorical_crossentropy, labels",
         lambda m, x: zen.loss.categorical_crossentropy(x, _index(m, [0, 3, 1])), (3, 4),
         torch=lambda m, x: -m.log(m.clamp(x, 1e-7, 1.0)).gather(
             1, _index(m, [[0], [3], [1]])).mean(), low=0.05, high=0.95),
    # Shape.
    Case("reshape", lambda m, x: x.reshape(3, -1) * m.reshape(x, (3, 4)), (2, 6)),
    Case("broadcast_to", lambda m, x: m.broadcast_to(x, (2, 3, 4)), (3, 1)),
    Case("transpose", lambda m, x: m.permute_dims(x, (1, 2, 0)), (2, 3, 4),
         torch=lambda m, x: x.permute(1, 2, 0)),
    Case(".T and matrix_transpose", lambda m, x: x.T * m.matrix_transpose(x), (3, 3),
         torch=lambda m, x: x.T * x.mT),
    Case("flatten", lambda m, x: x.flatten() * m.flatten(x, 1).sum(), (2, 3, 2),
         torch=lambda m, x: x.flatten() * m.flatten(x, 1).sum()),
    Case("expand_dims and squeeze", lambda m, x: m.squeeze(m.expand_dims(x, 1), 1) * x, (3,),
         torch=lambda m, x: m.squeeze(m.unsqueeze(x, 1), 1) * x),
    Case("stack", lambda m, x, y: m.stack([x, y, x], axis=1), (2, 3), (2, 3)),
    Case("concat", lambda m, x, y: m.concat([x, y, x], axis=-1), (2, 3), (2, 1)),
    Case("split into parts of 2, the last smaller",
         lambda m, x: m.split(x, 2, axis=1)[2] * m.split(x, 2, axis=1)[1][:, :1], (3, 5),
         torch=lambda m, x: m.split(x, 2, dim=1)[2] * m.split(x, 2, dim=1)[1][:, :1]),
    Case("split by sizes, method", lambda m, x: x.split([1, 3], 1)[1] * x[:, 1:], (3, 4),
         torch=lambda m, x: x.split([1, 3], 1)[1] * x[:, 1:]),
    # Indexing.
    Case("getitem, int and slices", lambda m, x: x[1, ::2] * x[-1, 1:3].sum(), (3, 4)),
    Case("getitem, negative step and None", lambda m, x: x[::-1, None, 1:], (3, 4),
         torch=lambda m, x: m.flip(x, (0,))[:, None, 1:]),
    Case("getitem, repeated indices", lambda m, x: x[[0, 2, 0, 0]], (3, 2)),
    Case("getitem, 2-D indices on axis 1", lambda m, x: x[:, [[1, 1], [0, 2]]], (2, 3)),
    Case("getitem, boolean mask", lambda m, x: x[x > 0.5], (4, 3)),
    Case("getitem, integer arrays", lambda m, x: x[[0, 1, 1], [2, 2, 0]], (2, 3)),
    Case("getitem, an int between separated index arrays",
         lambda m, x: x[[0, 1, -1], :, 1, [2, -1, 0]], (2, 3, 2, 3)),
    Case("getitem, a mask on one axis after a slice",
         lambda m, x: x[1:, [True, False, True, True]], (3, 4)),
    # Linear algebra and convolution (more convolution in its block at the end).
    Case("matmul 2-D", lambda m, a, b: a @ b, (3, 4), (4, 2)),
    Case("linear, batched", lambda m, x, w, b: m.ops.linear(x, w, b), (2, 3, 4), (4, 5), (5,),
         torch=lambda m, x, w, b: x @ w + b),
    Case("matmul vector-matrix", lambda m, a, b: a @ b, (4,), (4, 2)),
    Case("matmul matrix-vector", lambda m, a, b: m.matmul(a, b), (3, 4), (4,)),
    Case("matmul vector-vector", lambda m, a, b: a @ b, (4,), (4,)),
    Case("matmul batched, broadcast", lambda m, a, b: a @ b, (2, 1, 3, 4), (5, 4, 2)),
    Case("matmul vector-batch", lambda m, a, b: a @ b, (4,), (2, 4, 3)),
    Case("matmul batch-vector", lambda m, a, b: a @ b, (2, 3, 4), (4,)),
    Case("conv2d", _conv(1, 0), (2, 3, 5, 5), (4, 3, 3, 3), (4,)),
    Case("conv2d, stride 2 and padding, no bias", _conv(2, 1), (1, 2, 6, 5), (3, 2, 3, 2)),
    Case("conv2d, rectangular stride and padding", _conv((2, 1), (1, 0)), (1, 2, 5, 4),
         (2, 2, 3, 2), (2,)),
    Case("max_pool2d, rectangular window", lambda m, x: m.max_pool2d(x, (2, 3)), (1, 2, 4, 9),
         torch=lambda m, x: m.nn.functional.max_pool2d(x, (2, 3))),
    Case("max_pool2d", lambda m, x: m.max_pool2d(x, 2), (2, 2, 4, 6),
         torch=lambda m, x: m.nn.functional.max_pool2d(x, 2)),
    Case("max_pool2d, overlapping", lambda m, x: m.max_pool2d(x, 3, stride=1), (1, 2, 5, 5),
         torch=lambda m, x: m.nn.functional.max_pool2d(x, 3, stride=1)),
    Case("avg_pool2d", lambda m, x: m.avg_pool2d(x, 2), (2, 1, 4, 4),
         torch=lambda m, x: m.nn.functional.avg_pool2d(x, 2)),
    Case("rnn_step", lambda m, x, h, wx, wh, b: m.ops.rnn_step(x, h, wx, wh, b),
         (3, 2), (3, 4), (2, 4), (4, 4), (4,),
         torch=lambda m, x, h, wx, wh, b: m.tanh(x @ wx + h @ wh + b)),
    # Reductions and scans.
    Case("prod, axis", lambda m, x: m.prod(x, axis=1), (3, 5)),
    Case("prod, all", lambda m, x: x.prod(), (7,)),
    Case("prod, axes, keepdims", lambda m, x: m.prod(x, axis=(0, 2), keepdims=True) * x,
         (2, 3, 3), torch=lambda m, x: m.prod(m.prod(x, 2, keepdim=True), 0, keepdim=True) * x),
    Case("sum, dtype", lambda m, x: m.sum(x, axis=0, dtype="float64"), (3, 2),
         torch=lambda m, x: m.sum(x, axis=0, dtype=m.float64)),
    Case("std", lambda m, x: m.std(x, axis=1), (3, 5)),
    Case("std, correction 0, keepdims", lambda m, x: x.std(axis=0, keepdims=True, correction=0),
         (4, 2), torch=lambda m, x: x.std(axis=0, keepdim=True, correction=0)),
    Case("var_mean and std_mean",
         lambda m, x: m.var_mean(x, axis=1)[0] * m.var_mean(x, axis=1)[1]
         + m.std_mean(x)[0] * m.std_mean(x)[1], (3, 4)),
    Case("cumsum", lambda m, x: m.cumsum(x, axis=1) * x, (3, 5)),
    Case("cumprod", lambda m, x: m.cumprod(x, axis=0), (6, 2)),
    Case("cumprod, 0-d", lambda m, x: x.cumprod(0) * x, ()),
    Case("logcumsumexp", lambda m, x: m.logcumsumexp(x * 5, axis=-1), (2, 7)),
    Case("cummax", lambda m, x: m.cummax(x, axis=1)[0] * 2, (3, 6)),
    Case("cummin", lambda m, x: x.cummin(0).values, (5, 2)),
    Case("sort", lambda m, x: m.sort(x, axis=0, descending=True)[0] * x, (4, 3)),
    Case("topk", lambda m, x: m.topk(x, 2, axis=1).values, (3, 5)),
    Case("topk, smallest", lambda m, x: x.topk(3, largest=False)[0], (2, 4)),
    # Indexing.
    Case("gather", lambda m, x: m.gather(x, 1, _index(m, [[0, 0, 2], [1, 0, 1]])), (2, 4)),
    Case("gather, axis 0", lambda m, x: x.gather(0, _index(m, [[2, 0], [2, 2]])), (3, 3)),
    Case("index_select", lambda m, x: m.index_select(x, 1, _index(m, [2, 0, 2])), (2, 3)),
    Case("scatter_add", lambda m, x, src: m.scatter_add(
        x, 1, _index(m, [[0, 2, 0], [1, 1, 3]]), src), (2, 4), (2, 3)),
    Case("scatter", lambda m, x, src: x.scatter(0, _index(m, [[2, 0, 1]]), src), (3, 3), (1, 3)),
    Case("scatter, a number", lambda m, x: m.scatter(x, 1, _index(m, [[1], [0]]), 2.5), (2, 3)),
    Case("scatter_reduce, sum", _scatter_reduce("sum", True), (2, 4), (2, 4)),
    Case("scatter_reduce, prod", _scatter_reduce("prod", True), (2, 4), (2, 4)),
    Case("scatter_reduce, prod, without self", _scatter_reduce("prod", False), (2, 4), (2, 4)),
    Case("scatter_reduce, mean", _scatter_reduce("mean", True), (2, 4), (2, 4)),
    Case("scatter_reduce, mean, without self", _scatter_reduce("mean", False), (2, 4), (2, 4)),
    Case("scatter_reduce, amax", _scatter_reduce("amax", True), (2, 4), (2, 4)),
    Case("scatter_reduce, amin, without self", _scatter_reduce("amin", False), (2, 4), (2, 4)),
    Case("masked_fill", lambda m, x: m.masked_fill(x, x > 0.5, -1.0) * x, (3, 4)),
    Case("masked_select", lambda m, x: m.masked_select(x, x.T > 0), (3, 3)),
    # Graph structure.
    Case("shared subexpression", lambda m, x: (x * x + x).tanh() * x, (3,)),
]


def _pad(pad, mode="constant", value=None):
    def padded(m, x):
        if m is zen:
            return zen.pad(x, pad, mode, value) * x.sum()
        return m.nn.functional.pad(x, pad, mode, value) * x.sum()
    return padded


def _repeat_counts(m, x):
    counts = [2, 0, 1] if m is zen else m.tensor([2, 0, 1])
    return x.repeat_interleave(counts, 1) * 2


def _einsum(equation):
    return lambda m, *xs: m.einsum(equation, *xs) * 3


# Shape ops and linear algebra. A product with x.sum() gives a second derivative.
CASES += [
    Case("flip", lambda m, x: m.flip(x, (0, 2)) * x.sum(), (2, 3, 2)),
    Case("flip, Tensor method, negative axis", lambda m, x: x.flip(-1) * x, (3, 4)),
    Case("roll", lambda m, x: x.roll((1, -4), (0, 1)) * x, (2, 3)),
    Case("roll, flattened", lambda m, x: m.roll(x, 2) * x.sum(), (2, 3)),
    Case("tile", lambda m, x: m.tile(x, (2, 1, 3)) * x.sum(), (2, 3)),
    Case("repeat", lambda m, x: x.repeat(2, 3) * x.sum(), (2, 1)),
    Case("repeat_interleave", lambda m, x: x.repeat_interleave(2, 0) * x.sum(), (2, 3),
         torch=lambda m, x: x.repeat_interleave(2, dim=0) * x.sum()),
    Case("repeat_interleave, flattened", lambda m, x: m.repeat_interleave(x, 3), (2, 2)),
    Case("repeat_interleave, counts", _repeat_counts, (2, 3)),
    Case("tril", lambda m, x: m.tril(x, -1) * x, (2, 3, 4)),
    Case("triu", lambda m, x: x.triu(1) * x.sum(), (4, 3)),
    Case("diagonal", lambda m, x: m.diagonal(x, 1, 2, 0) * x.sum(), (3, 2, 4)),
    Case("diagonal, below", lambda m, x: x.diagonal(-1) * 3, (3, 4)),
    Case("diag of a vector", lambda m, x: m.diag(x, -2) * x.sum(), (3,)),
    Case("diag of a matrix", lambda m, x: x.diag(1) * x.sum(), (3, 4)),
    Case("meshgrid", lambda m, x, y: m.meshgrid(x, y, indexing="xy")[0].T * y.sum()
         + m.meshgrid(x, y, indexing="ij")[1], (2,), (3,)),
    Case("chunk", lambda m, x: x.chunk(3, 1)[2] * x.sum(), (2, 7),
         torch=lambda m, x: x.chunk(3, dim=1)[2] * x.sum()),
    Case("narrow", lambda m, x: x.narrow(1, -3, 2) * x.sum(), (2, 5)),
    Case("movedim", lambda m, x: m.movedim(x, (0, 1), (2, 0)) * x.sum(), (2, 3, 4)),
    Case("pad, flat widths with a value and a crop", _pad((2, -1, 0, 1), value=1.5), (2, 3)),
    Case("pad, reflect", _pad((2, 1, 1, 2), "reflect"), (1, 3, 4)),
    Case("pad, replicate", _pad((2, 0, 1, 3), "replicate"), (1, 2, 3)),
    Case("pad, circular", _pad((3, 1), "circular"), (1, 2, 3)),
    Case("pad, zen's int form on some axes", lambda m, x: m.pad(x, 1, axes=0) * x.sum(), (2, 3),
         torch=lambda m, x: m.nn.functional.pad(x, (0, 0, 1, 1)) * x.sum()),
    Case("einsum, matrix product", _einsum("ij,jk->ik"), (2, 3), (3, 4)),
    Case("einsum, attention scores", _einsum("bhqd,bhkd->bhqk"), (2, 2, 3, 4), (2, 2, 2, 4)),
    Case("einsum, chain of three", _einsum("ij,jk,kl->il"), (2, 3), (3, 4), (4, 2)),
    Case("einsum, trace and diagonal", _einsum("iij,ii->j"), (3, 3, 2), (3, 3)),
    Case("einsum, implicit output and ellipsis", _einsum("...ij,jk"), (2, 3, 4), (4, 2)),
    Case("einsum, broadcast length 1 and a scalar", _einsum("ab,ab,->ba"), (1, 3), (2, 3), ()),
    Case("einsum, sum of all", lambda m, x, y: m.einsum("ij,ij->", x, y) * x, (2, 3), (2, 3)),
    Case("outer", lambda m, x, y: m.outer(x, y) * x.sum(), (3,), (2,)),
]


# Losses (PyTorch's, in zen.loss): class labels and weights are constants of the case.
def _loss(name, *constants, **settings):
    """``name`` from zen.loss or torch.nn.functional, called on the case's tensors, then the
    constants (numpy arrays, as that module's tensors), then ``settings``."""
    def call(m, *tensors):
        if m is zen:
            return getattr(zen.loss, name)(*tensors, *constants, **settings)
        weights = {key: m.tensor(value) if isinstance(value, numpy.ndarray) else value
                   for key, value in settings.items()}
        return getattr(m.nn.functional, name)(*tensors, *map(m.tensor, constants), **weights)
    return call


_LABELS = numpy.array([0, 2, 1, 2])
_LABELS_3D = numpy.array([[[0, 2], [1, 1], [2, 0]], [[1, 0], [0, 2], [2, 2]]])
_CLASS_WEIGHTS = numpy.array([0.5, 2.0, 1.5])
UNIT = dict(low=0.05, high=0.95)

CASES += [
    Case("cross_entropy, labels", _loss("cross_entropy", _LABELS), (4, 3)),
    Case("cross_entropy, weight, ignore_index, label_smoothing",
         _loss("cross_entropy", _LABELS, weight=_CLASS_WEIGHTS, ignore_index=1,
               label_smoothing=0.1), (4, 3)),
    Case("cross_entropy, class axis 1, sum", _loss("cross_entropy", _LABELS_3D,
                                                   reduction="sum"), (2, 3, 3, 2)),
    Case("cross_entropy, class axis 1, mean", _loss("cross_entropy", _LABELS_3D),
         (2, 3, 3, 2)),
    Case("cross_entropy, ignore_index", _loss("cross_entropy", _LABELS, ignore_index=2),
         (4, 3)),
    Case("cross_entropy, probabilities, none",
         _loss("cross_entropy", reduction="none", weight=_CLASS_WEIGHTS, label_smoothing=0.2),
         (4, 3), (4, 3), low=0.0),
    Case("nll_loss", lambda m, x: _loss("nll_loss", _LABELS_3D, weight=_CLASS_WEIGHTS)(
        m, m.log_softmax(x, axis=1)), (2, 3, 3, 2)),
    Case("l1_loss", _loss("l1_loss", reduction="sum"), (3, 4), (3, 4)),
    Case("mse_loss, none", _loss("mse_loss", reduction="none"), (3, 4), (3, 4)),
    Case("smooth_l1_loss", _loss("smooth_l1_loss", beta=0.8), (3, 4), (3, 4)),
    Case("huber_loss", _loss("huber_loss", delta=0.6, reduction="sum"), (3, 4), (3, 4)),
    Case("kl_div", _loss("kl_div", reduction="batchmean"), (3, 4), (3, 4), **POSITIVE),
    Case("kl_div, log_target", _loss("kl_div", log_target=True, reduction="sum"), (3, 4), (3, 4)),
    Case("binary_cross_entropy", _loss("binary_cross_entropy", weight=_CLASS_WEIGHTS),
         (4, 3), (4, 3), **UNIT),
    Case("binary_cross_entropy_with_logits",
         lambda m, x, t: _loss("binary_cross_entropy_with_logits", weight=_CLASS_WEIGHTS,
                               pos_weight=_CLASS_WEIGHTS * 2)(m, x * 20, t), (4, 3), (4, 3)),
]


def _functional(name, **settings):
    """The activation ``name`` with ``settings``: zen's at top level, PyTorch's in
    torch.nn.functional."""
    def zen_function(m, x):
        return getattr(m, name)(x, **settings)

    def torch_function(m, x):
        return getattr(m.nn.functional, name)(x, **settings)
    return zen_function, torch_function


def _activation(label, name, *shapes, **settings):
    zen_function, torch_function = _functional(name, **settings)
    return Case(label, zen_function, *shapes, torch=torch_function)


def _floor(m, x, y):
    return m.div(x, y, rounding_mode="floor")


SYMMETRIC_UNIT = dict(low=-0.9, high=0.9)

CASES += [
    # Elementwise functions.
    Case("floor, ceil, trunc, round", lambda m, x: (m.floor(x * 3) + x.ceil() + m.trunc(x * 3)
                                                    + m.round(x * 3)) * x, (2, 3)),
    Case("round, decimals", lambda m, x: m.round(x * 7, decimals=1) * x
         + x.round(decimals=-1), (5,)),
    Case("rsqrt", lambda m, x: m.rsqrt(x) + x.rsqrt(), (2, 3), **POSITIVE),
    Case("log2 and log10", lambda m, x: m.log2(x) * x.log10(), (2, 3), **POSITIVE),
    Case("exp2 and expm1", lambda m, x: m.exp2(x) + m.expm1(x) * x.exp2(), (2, 3)),
    Case("log1p", lambda m, x: m.log1p(x) + x.log1p(), (2, 3), low=-0.9, high=2.0),
    Case("erf", lambda m, x: m.erf(x * 2) + x.erf(), (3, 4)),
    Case("tan", lambda m, x: m.tan(x) + x.tan(), (5,), low=-1.2, high=1.2),
    Case("asin, acos, atanh", lambda m, x: m.asin(x) * x.acos() + m.atanh(x), (6,),
         **SYMMETRIC_UNIT),
    Case("atan, sinh, cosh, asinh", lambda m, x: m.atan(x) * m.sinh(x) + x.cosh() * x.asinh(),
         (2, 3)),
    Case("acosh", lambda m, x: m.acosh(x) + x.acosh(), (5,), low=1.2, high=3.0),
    Case("atan2", lambda m, y, x: m.atan2(y, x) + y.atan2(x), (2, 3), (3,)),
    Case("copysign", lambda m, x, y: m.copysign(x, y) * y, (2, 3), (3,)),
    Case("logaddexp", lambda m, x, y: m.logaddexp(x * 5, y) + x.logaddexp(y), (2, 3), (3,)),
    Case("lerp", lambda m, a, b, w: m.lerp(a, b, w) + a.lerp(b, 0.25) * m.lerp(a, b, 0.75),
         (2, 3), (3,), (2, 3)),
    Case("remainder and %", lambda m, x, y: (x - 1.25) % y + m.remainder(x * 3, y)
         + 2.5 % y, (2, 3), (3,), **POSITIVE,
         # PyTorch has no gradient for a number % a tensor
         torch=lambda m, x, y: (x - 1.25) % y + m.remainder(x * 3, y)
         + m.full_like(y, 2.5) % y),
    Case("fmod", lambda m, x, y: m.fmod(x - 1.25, y) + (1.25 - x).fmod(y * -1), (2, 3), (3,),
         **POSITIVE),
    # PyTorch's floor_divide (and so //) has no gradient; its div with a rounding mode has
    # a zero one, as zen's all three have.
    Case("floor_divide, // and div", lambda m, x, y: (x // y + m.floor_divide(x * 3, y)
                                                      + 3.0 // y) * x
         + m.div(x - 1.25, y, rounding_mode="trunc") * y + x.div(y) + x.div(y, "floor"),
         (2, 3), (3,), **POSITIVE,
         torch=lambda m, x, y: (_floor(m, x, y) + _floor(m, x * 3, y)
                                + _floor(m, m.full_like(y, 3.0), y)) * x
         + m.div(x - 1.25, y, rounding_mode="trunc") * y + x.div(y) + _floor(m, x, y)),
    # Activations.
    _activation("leaky_relu", "leaky_relu", (3, 4), negative_slope=0.2),
    _activation("elu", "elu", (3, 4), alpha=1.5),
    _activation("selu", "selu", (3, 4)),
    # alpha a power of 2: PyTorch's celu gradient rounds 1 / alpha to float32
    _activation("celu", "celu", (3, 4), alpha=0.5),
    _activation("gelu", "gelu", (3, 4)),
    _activation("gelu, tanh", "gelu", (3, 4), approximate="tanh"),
    _activation("silu", "silu", (3, 4)),
    _activation("mish", "mish", (3, 4)),
    _activation("softplus", "softplus", (3, 4)),
    Case("softplus, beta and threshold", lambda m, x: m.softplus(x * 8, beta=2, threshold=5),
         (3, 4), torch=lambda m, x: m.nn.functional.softplus(x * 8, beta=2, threshold=5)),
    _activation("softsign", "softsign", (3, 4)),
    _activation("logsigmoid", "logsigmoid", (3, 4)),
    _activation("hardtanh", "hardtanh", (3, 4), min_val=-0.5, max_val=1.5),
    Case("relu6", lambda m, x: m.relu6(x * 4), (3, 4),
         torch=lambda m, x: m.nn.functional.relu6(x * 4)),
    # PyTorch's hardsigmoid has no second derivative: the oracle spells it with relu6
    Case("hardsigmoid", lambda m, x: m.hardsigmoid(x * 4) * x, (3, 4),
         torch=lambda m, x: m.nn.functional.relu6(x * 4 + 3) / 6 * x),
    Case("hardswish", lambda m, x: m.hardswish(x * 4), (3, 4),
         torch=lambda m, x: m.nn.functional.hardswish(x * 4)),
    Case("softmin", lambda m, x: m.softmin(x, axis=0) * x, (3, 4),
         torch=lambda m, x: m.nn.functional.softmin(x, dim=0) * x),
    Case("normalize", lambda m, x: m.normalize(x) + m.normalize(x, p=3.0, axis=-1), (3, 4),
         torch=lambda m, x: m.nn.functional.normalize(x)
         + m.nn.functional.normalize(x, p=3.0, dim=-1)),
    Case("normalize, p=inf", lambda m, x: m.normalize(x, p=float("inf"), axis=0), (3, 4),
         torch=lambda m, x: m.nn.functional.normalize(x, p=float("inf"), dim=0)),
]


# Attention, linear and dropout. A mask is built inside the function: booleans are
# not differentiable, so only the float mask is an input.
def _attention(m, *inputs, **settings):
    function = m.scaled_dot_product_attention if m is zen else \
        m.nn.functional.scaled_dot_product_attention
    return function(*inputs, **settings)


def _bool_mask(m, rows):
    """Booleans (True: attend) for ``m``: a NumPy array for zen, a torch tensor for torch."""
    array = numpy.array(rows, dtype=bool)
    return array if m is zen else m.tensor(array)


_SOME_KEYS = [[True, False, True, True], [False, True, False, False], [True, True, True, False]]
_NO_KEY = [[True, False, True, True], [False, False, False, False], [True, True, True, False]]


def _linear(m, x, w, b=None):
    return m.linear(x, w, b) if m is zen else m.nn.functional.linear(x, w, b)


def _dropout(m, x, **settings):
    return m.dropout(x, **settings) if m is zen else m.nn.functional.dropout(x, **settings)


CASES += [
    Case("linear, (out, in) weights", _linear, (2, 3, 4), (5, 4), (5,)),
    Case("linear, no bias, 1-D input", lambda m, x, w: _linear(m, x, w) * x.sum(), (4,), (3, 4)),
    Case("dropout off: p=0, training=False", lambda m, x: _dropout(m, x, p=0.0) * x
         + _dropout(m, x, p=0.7, training=False), (3, 4)),
    Case("dropout, p=1", lambda m, x: _dropout(m, x, p=1.0) + x, (3, 4)),
    Case("scaled_dot_product_attention", _attention, (2, 3, 4), (2, 4, 4), (2, 4, 5)),
    Case("scaled_dot_product_attention, heads, causal, scale",
         lambda m, q, k, v: _attention(m, q, k, v, is_causal=True, scale=0.7),
         (2, 2, 3, 4), (2, 2, 3, 4), (2, 2, 3, 2)),
    Case("scaled_dot_product_attention, causal, more queries than keys",
         lambda m, q, k, v: _attention(m, q, k, v, is_causal=True), (5, 3), (2, 3), (2, 4)),
    Case("scaled_dot_product_attention, bool mask",
         lambda m, q, k, v: _attention(m, q, k, v, attn_mask=_bool_mask(m, _SOME_KEYS)),
         (2, 3, 4), (2, 4, 4), (2, 4, 3)),
    Case("scaled_dot_product_attention, a query that sees no key",
         lambda m, q, k, v: _attention(m, q, k, v, _bool_mask(m, _NO_KEY)),
         (2, 3, 4), (2, 4, 4), (2, 4, 3)),
    Case("scaled_dot_product_attention, float mask broadcast",
         lambda m, q, k, v, mask: _attention(m, q, k, v, attn_mask=mask),
         (2, 2, 3, 4), (2, 2, 4, 4), (2, 2, 4, 3), (2, 1, 3, 4)),
    Case("scaled_dot_product_attention, grouped-query heads",
         lambda m, q, k, v: _attention(m, q, k, v, enable_gqa=True),
         (1, 4, 3, 2), (1, 2, 5, 2), (1, 2, 5, 3)),
]


# Pooling and resampling (zen.pooling): PyTorch's positional arguments on both.
def _pooled(name, *settings, first=False, **keywords):
    """``name`` from zen or torch.nn.functional on the case's input with ``settings``, times
    the input's sum (a second derivative); ``first``: of a (values, indices) result."""
    def call(m, x):
        function = getattr(m if m is zen else m.nn.functional, name)
        out = function(x, *settings, **keywords)
        return (out[0] if first else out) * x.sum()
    return call


def _pooling(label, name, shape, *settings, **keywords):
    return Case(label, _pooled(name, *settings, **keywords), shape)


CASES += [
    _pooling("max_pool2d, padding, dilation, ceil_mode", "max_pool2d", (2, 2, 7, 8),
             3, 2, 1, 2, True),
    _pooling("max_pool2d, rectangular, indices, unbatched", "max_pool2d", (2, 6, 7),
             (2, 3), (1, 2), (1, 0), first=True, return_indices=True),
    _pooling("max_pool1d, padding, dilation, ceil_mode", "max_pool1d", (2, 3, 9), 2, 3, 1, 2,
             True),
    _pooling("avg_pool2d, padding, ceil_mode", "avg_pool2d", (1, 2, 7, 6), 3, 2, 1, True),
    _pooling("avg_pool2d, without the padding's count", "avg_pool2d", (1, 2, 6, 7), (3, 2),
             2, 1, True, False),
    _pooling("avg_pool2d, divisor_override", "avg_pool2d", (2, 5, 5), 2, divisor_override=3),
    _pooling("avg_pool1d, padding, ceil_mode, no count", "avg_pool1d", (2, 3, 8), 3, 2, 1,
             True, False),
    _pooling("adaptive_avg_pool2d", "adaptive_avg_pool2d", (2, 2, 7, 5), (3, None)),
    _pooling("adaptive_avg_pool1d, unbatched", "adaptive_avg_pool1d", (3, 7), 4),
    _pooling("adaptive_max_pool2d", "adaptive_max_pool2d", (2, 2, 5, 7), (3, 4)),
    _pooling("adaptive_max_pool1d, indices", "adaptive_max_pool1d", (2, 3, 9), 4, True,
             first=True),
    _pooling("interpolate, nearest, size", "interpolate", (1, 2, 4, 5), (7, 3)),
    _pooling("interpolate, nearest, scale_factor", "interpolate", (2, 2, 5), None, 1.7),
    _pooling("interpolate, bilinear", "interpolate", (1, 2, 4, 5), (7, 3), mode="bilinear"),
    _pooling("interpolate, bilinear, align_corners", "interpolate", (1, 2, 4, 5), None,
             (1.5, 0.6), "bilinear", True),
    _pooling("interpolate, linear, scale_factor", "interpolate", (2, 2, 5), None, 2.5,
             "linear"),
]


# Convolution: torch.nn.functional's convolutions, with every setting.
def _convolution(name, **settings):
    def convolve(m, *tensors):
        function = getattr(m, name) if m is zen else getattr(m.nn.functional, name)
        return function(*tensors, **settings)
    return convolve


def _asymmetric_conv2d(m, x, w):
    """zen's ((top, bottom), (left, right)) padding; PyTorch pads first."""
    if m is zen:
        return zen.conv2d(x, w, padding=((0, 2), (1, 0)), stride=2)
    return m.nn.functional.conv2d(m.nn.functional.pad(x, (1, 0, 0, 2)), w, stride=2)


CASES += [
    Case("conv2d, dilation and groups", _convolution("conv2d", stride=(2, 1), padding=(1, 2),
                                                     dilation=(1, 2), groups=2),
         (2, 4, 6, 5), (6, 2, 3, 2), (6,)),
    Case("conv2d, depthwise, same, even kernel", _convolution("conv2d", padding="same",
                                                              dilation=(2, 1), groups=3),
         (1, 3, 5, 6), (6, 1, 2, 4), (6,)),
    Case("conv2d, valid, unbatched", _convolution("conv2d", padding="valid"),
         (2, 4, 5), (3, 2, 2, 3)),
    Case("conv2d, asymmetric padding", _asymmetric_conv2d, (1, 2, 5, 5), (2, 2, 3, 2)),
    Case("conv1d", _convolution("conv1d", stride=2, padding=1, dilation=2, groups=2),
         (2, 4, 9), (6, 2, 3), (6,)),
    Case("conv1d, same, even kernel", _convolution("conv1d", padding="same"),
         (2, 3, 7), (2, 3, 4), (2,)),
    Case("conv_transpose2d", _convolution("conv_transpose2d", stride=(2, 3), padding=(1, 0),
                                          output_padding=(1, 2), groups=2, dilation=(1, 2)),
         (2, 4, 3, 3), (4, 1, 3, 2), (2,)),
    Case("conv_transpose2d, output_padding below the dilation",
         _convolution("conv_transpose2d", padding=1, output_padding=1, dilation=2),
         (1, 2, 3, 3), (2, 3, 2, 2)),
    Case("conv_transpose1d", _convolution("conv_transpose1d", stride=3, padding=2,
                                          output_padding=2),
         (2, 3, 4), (3, 2, 3), (2,)),
    Case("conv_transpose1d, groups and dilation, unbatched",
         _convolution("conv_transpose1d", groups=3, dilation=2), (3, 4), (3, 2, 2)),
]


# Embedding and normalisation: zen's functions of torch.nn.functional's names.
def _functional(m):
    return m if m is zen else m.nn.functional


def _running_statistics(m, channels):
    """Constant running mean and variance (positive): NumPy arrays for zen, torch tensors."""
    mean, var = numpy.linspace(-0.5, 0.5, channels), numpy.linspace(0.5, 2.0, channels)
    return (mean, var) if m is zen else (m.tensor(mean), m.tensor(var))


_IDS = [[1, 4, 4], [0, 2, 1]]

CASES += [
    Case("embedding", lambda m, w: _functional(m).embedding(_index(m, _IDS), w) * w[0], (5, 3)),
    # padding_idx: its row counts in the value but gets no gradient, which finite
    # differences cannot see; tests/test_normalization.py checks it against PyTorch.
    Case("embedding, 1-D ids", lambda m, w: _functional(m).embedding(_index(m, [0, 1, 0, 3]), w)
         ** 2, (5, 2)),
    Case("layer_norm", lambda m, x, w, b: _functional(m).layer_norm(x, (4,), w, b),
         (3, 4), (4,), (4,)),
    Case("layer_norm, two axes, no affine", lambda m, x: _functional(m).layer_norm(
        x, [3, 4], eps=1e-3) * x, (2, 3, 4)),
    Case("batch_norm, training", lambda m, x, w, b: _functional(m).batch_norm(
        x, None, None, w, b, training=True) * x, (3, 2, 2, 2), (2,), (2,)),
    Case("batch_norm, training, (N, C)", lambda m, x: _functional(m).batch_norm(
        x, None, None, training=True, eps=0.1) * x, (4, 3)),
    Case("batch_norm, inference", lambda m, x, w, b: _functional(m).batch_norm(
        x, *_running_statistics(m, 3), w, b), (2, 3, 4), (3,), (3,)),
    Case("group_norm", lambda m, x, w, b: _functional(m).group_norm(x, 2, w, b) * x,
         (2, 4, 3), (4,), (4,)),
    Case("group_norm, one group, 4-D", lambda m, x: _functional(m).group_norm(x, 1) * x,
         (2, 3, 2, 2)),
    Case("instance_norm", lambda m, x, w, b: _functional(m).instance_norm(
        x, weight=w, bias=b) * x, (2, 2, 5), (2,), (2,)),
]


# PyTorch's conventions and spellings for zen's own functions: the same
# call in zen and in torch, except where a dtype is spelled differently.
CASES += [
    Case("transpose, two axes of a matrix", lambda m, x, y: x.transpose(0, 1) * y,
         (2, 3), (3, 2)),
    Case("transpose, two axes of 3-D", lambda m, x: m.transpose(x, 1, 2) * 2, (2, 3, 4)),
    Case("transpose, negative axes", lambda m, x: x.transpose(-1, -3) * x.transpose(0, 2),
         (2, 3, 4)),
    Case("transpose, one axis with itself", lambda m, x: x.transpose(1, 1) * x, (2, 3)),
    Case("swapaxes", lambda m, x: m.swapaxes(x, 0, 2) * 2, (2, 3, 4)),
    Case("swapdims", lambda m, x: m.swapdims(x, -1, 0) * 2, (2, 3)),
    Case("t", lambda m, x, y: x.t() * m.t(y), (2, 3), (2, 3)),
    Case("t of a vector", lambda m, x: x.t() * x, (3,)),
    Case("permute, function", lambda m, x: m.permute(x, (2, 0, 1)) * 2, (2, 3, 4)),
    Case("permute, identity of a matrix", lambda m, x: x.permute(0, 1) * x, (2, 3)),
    Case("squeeze, an axis not of length 1", lambda m, x: x.squeeze(0) * x, (3, 1, 4)),
    Case("squeeze, a tuple with a wide axis", lambda m, x: m.squeeze(x, (0, 1)) * 2,
         (3, 1, 4)),
    Case("max of two tensors", lambda m, x, y: m.max(x, y), (2, 3), (3,)),
    Case("min of two tensors, method", lambda m, x, y: x.min(y), (2, 3), (2, 3)),
    Case("amax", lambda m, x: m.amax(x, 1) * 2, (3, 4)),
    Case("amin, two axes", lambda m, x: m.amin(x, (0, 2)) * 2, (2, 3, 4)),
    Case("amax, method", lambda m, x: x.amax(-1) * 2, (3, 4)),
    Case("add with alpha", lambda m, x, y: m.add(x, y, alpha=2.5), (2, 3), (3,)),
    Case("sub with alpha", lambda m, x, y: m.sub(x, y, alpha=-0.5), (2, 3), (2, 1)),
    Case("subtract", lambda m, x, y: m.subtract(x, y) * y, (2, 3), (3,)),
    Case("var, unbiased=False", lambda m, x: m.var(x, 1, unbiased=False), (3, 4)),
    Case("std, unbiased=True, method", lambda m, x: x.std(0, unbiased=True), (3, 4)),
    Case("var_mean, unbiased=False", lambda m, x: m.var_mean(x, 1, unbiased=False)[0]
         * m.var_mean(x, 1, unbiased=False)[1], (3, 4)),
    Case("std_mean, unbiased=False", lambda m, x: m.std_mean(x, unbiased=False)[0], (3, 4)),
    Case("mean with dtype", lambda m, x: m.mean(x, 1, dtype="float64") * 2, (3, 4),
         torch=lambda m, x: m.mean(x, 1, dtype=m.float64) * 2),
    Case("clamp", lambda m, x: m.clamp(x, -0.5, 0.5) * x, (3, 4)),
    Case("clamp, min only", lambda m, x: m.clamp(x, min=0.1) * x, (3, 4)),
    Case("clamp, method, max only", lambda m, x: x.clamp(max=0.2) * x, (3, 4)),
    Case("pow", lambda m, x, y: m.pow(x, y), (2, 3), (3,), **POSITIVE),
    Case("pow, method", lambda m, x: x.pow(3), (2, 3)),
    Case("neg", lambda m, x: m.neg(x) * x.neg(), (2, 3)),
    Case("mul", lambda m, x, y: m.mul(x, y), (2, 3), (3,)),
    Case("true_divide", lambda m, x, y: m.true_divide(x, y), (2, 3), (3,), **POSITIVE),
    Case("square", lambda m, x: m.square(x) * x.square(), (2, 3)),
    Case("reciprocal", lambda m, x: m.reciprocal(x) * x.reciprocal(), (2, 3), **POSITIVE),
    Case("matmul, method", lambda m, x, y: x.matmul(y), (2, 3), (3, 4)),
    Case("view", lambda m, x: x.view(4, -1) * 2, (2, 3, 2)),
    Case("expand", lambda m, x: x.expand(2, -1, 3) * 2, (4, 1)),
    Case("expand_as", lambda m, x, y: x.expand_as(y) * y, (3, 1), (2, 3, 4)),
    Case("broadcast_to, method", lambda m, x: x.broadcast_to((2, 3)) * 2, (3,)),
    Case("unsqueeze", lambda m, x: m.unsqueeze(x, 1) * x.unsqueeze(-1), (2, 3)),
    Case("unbind", lambda m, x: m.stack(m.unbind(x, 1), 0) * 2, (2, 3)),
    Case("unbind, method", lambda m, x: x.unbind()[1] * 2, (2, 3)),
    Case("fliplr", lambda m, x: m.fliplr(x) * x, (2, 3)),
    Case("flipud", lambda m, x: m.flipud(x) * x, (2, 3)),
    Case("cat", lambda m, x, y: m.cat([x, y], 1) * 2, (2, 3), (2, 1)),
    Case("concatenate", lambda m, x, y: m.concatenate((x, y), 0) * 2, (2, 3), (1, 3)),
    Case("moveaxis", lambda m, x: m.moveaxis(x, 0, 2) * 2, (2, 3, 4)),
    Case("moveaxis, method", lambda m, x: x.moveaxis(-1, 0) * 2, (2, 3, 4)),
    Case("double, contiguous", lambda m, x: x.double().contiguous() * x, (2, 3)),
]


# What a PyTorch porter reaches for: products, norms, distances.
def _linalg(m):
    return m.linalg


def _distances(torch, x, y, p):
    return torch.linalg.vector_norm(x.unsqueeze(-2) - y.unsqueeze(-3), p, dim=-1)


CASES += [
    Case("mm", lambda m, x, y: m.mm(x, y) * x.mm(y), (2, 3), (3, 4)),
    Case("bmm", lambda m, x, y: m.bmm(x, y), (2, 2, 3), (2, 3, 2)),
    Case("mv and dot", lambda m, a, v: m.mv(a, v) * m.dot(v, v), (2, 3), (3,)),
    Case("trace", lambda m, x: m.trace(x) * x.trace(), (3, 4)),
    Case("cross", lambda m, x, y: m.cross(x, y, axis=0), (3, 2), (3, 1),
         torch=lambda m, x, y: m.cross(x, y.expand(3, 2), dim=0)),
    Case("cross, first axis of length 3", lambda m, x, y: x.cross(y), (2, 3), (2, 3),
         torch=lambda m, x, y: m.linalg.cross(x, y)),
    Case("vector_norm", lambda m, x: _linalg(m).vector_norm(x, axis=1), (3, 4),
         torch=lambda m, x: m.linalg.vector_norm(x, dim=1)),
    Case("vector_norm, 3, keepdims", lambda m, x: _linalg(m).vector_norm(
        x, 3, axis=(0, 2), keepdims=True) * x, (2, 3, 2),
         torch=lambda m, x: m.linalg.vector_norm(x, 3, dim=(0, 2), keepdim=True) * x),
    Case("vector_norm, 0.5", lambda m, x: _linalg(m).vector_norm(x, 0.5), (5,),
         torch=lambda m, x: m.linalg.vector_norm(x, 0.5)),
    Case("vector_norm, inf and -inf", lambda m, x: _linalg(m).vector_norm(x, float("inf"), -1)
         * _linalg(m).vector_norm(x, -float("inf"), -1), (3, 4),
         torch=lambda m, x: m.linalg.vector_norm(x, float("inf"), -1)
         * m.linalg.vector_norm(x, -float("inf"), -1)),
    Case("linalg.norm, frobenius", lambda m, x: _linalg(m).norm(x) * _linalg(m).norm(x, 1, 0),
         (3, 4), torch=lambda m, x: m.linalg.norm(x) * m.linalg.norm(x, 1, 0)),
    Case("norm and x.norm", lambda m, x: m.norm(x, p=1, axis=1) * x.norm(), (3, 4),
         torch=lambda m, x: m.norm(x, p=1, dim=1) * x.norm()),
    # torch.cdist has no second derivative: PyTorch's side spells the same distances out
    Case("cdist", lambda m, x, y: m.cdist(x, y), (2, 3, 4), (1, 5, 4),
         torch=lambda m, x, y: _distances(m, x, y, 2)),
    Case("cdist, p=1", lambda m, x, y: m.cdist(x, y, 1.0), (3, 2), (4, 2),
         torch=lambda m, x, y: _distances(m, x, y, 1)),
    Case("pairwise_distance", lambda m, x, y: _functional(m).pairwise_distance(x, y), (3, 4),
         (4,)),
    Case("pairwise_distance, p=3, keepdims", lambda m, x, y: m.pairwise_distance(
        x, y, 3.0, keepdims=True), (3, 4), (3, 4),
         torch=lambda m, x, y: m.nn.functional.pairwise_distance(x, y, 3.0, keepdim=True)),
    Case("cosine_similarity", lambda m, x, y: _functional(m).cosine_similarity(x, y), (3, 4),
         (3, 4)),
    Case("cosine_similarity, last axis", lambda m, x, y: _functional(m).cosine_similarity(
        x, y, axis=-1), (2, 3, 4), (4,),
         torch=lambda m, x, y: m.nn.functional.cosine_similarity(x, y, dim=-1)),
]

# Elementwise functions and activations a porter reaches for.
CASES += [
    Case("hypot", lambda m, x, y: m.hypot(x, y) * x.hypot(y), (2, 3), (3,)),
    Case("frac", lambda m, x: m.frac(x * 3) * x.frac(), (6,)),
    Case("logit", lambda m, x: m.logit(x) * x.logit(eps=0.3), (6,), low=0.05, high=0.95),
    Case("nan_to_num", lambda m, x: m.nan_to_num(m.log(x)) * x.nan_to_num(), (6,),
         low=-1.0, high=1.0),
    Case("glu", lambda m, x: _functional(m).glu(x, axis=1), (2, 4, 3),
         torch=lambda m, x: m.nn.functional.glu(x, dim=1)),
    Case("threshold", lambda m, x: _functional(m).threshold(x, 0.1, 20.0), (3, 4)),
    Case("softshrink and hardshrink", lambda m, x: _functional(m).softshrink(x, 0.7)
         * _functional(m).hardshrink(x, 0.3), (3, 4)),
    Case("tanhshrink", lambda m, x: _functional(m).tanhshrink(x), (5,)),
    Case("prelu, per channel", lambda m, x, w: _functional(m).prelu(x, w), (2, 3, 4), (3,)),
    Case("prelu, one slope", lambda m, x, w: _functional(m).prelu(x, w), (5,), (1,)),
]

# More functions a porter reaches for: erfc, reductions, rearrangements,
# windows, RMS normalisation and torch.nn.functional's other losses.
CASES += [
    Case("erfc", lambda m, x: m.erfc(x * 2) * x.erfc(), (2, 3)),
    Case("median", lambda m, x: m.median(x) * x.median(), (3, 4)),
    Case("median along an axis", lambda m, x: m.median(x, 1)[0].unsqueeze(1)
         * x.median(0, True).values, (3, 4)),
    Case("take_along_dim", lambda m, x: m.take_along_dim(x, _index(m, [[2, 0], [2, 1]]), 1)
         * x.take_along_dim(_index(m, [[2, 0]])), (1, 3)),
    Case("pixel_shuffle", lambda m, x: _functional(m).pixel_shuffle(x, 2) * 2, (2, 8, 2, 3)),
    Case("pixel_unshuffle", lambda m, x: _functional(m).pixel_unshuffle(x, 2) * 2,
         (1, 2, 4, 2)),
    Case("unfold", lambda m, x: _functional(m).unfold(x, (2, 3), dilation=(2, 1), padding=1,
                                                      stride=(1, 2)) * 2, (2, 2, 4, 5)),
    Case("fold", lambda m, x: _functional(m).fold(x, (4, 5), 2, padding=(1, 0), stride=2)
         * 2, (2, 8, 6)),
    Case("fold, unbatched and overlapping", lambda m, x: _functional(m).fold(x, 3, 2) * x.sum(),
         (4, 4)),
    Case("rms_norm", lambda m, x, w: _functional(m).rms_norm(x, (3, 4), w), (2, 3, 4), (3, 4)),
    Case("rms_norm, eps", lambda m, x: _functional(m).rms_norm(x * 0.1, (4,), eps=0.01),
         (3, 4)),
]


def _signs(m, rows):
    """A float64 target of 1s and -1s for ``m``: NumPy for zen, a torch tensor for torch."""
    return numpy.array(rows, dtype=float) if m is zen else m.tensor(rows, dtype=m.float64)


SIGNS = [[1, -1, -1, 1], [-1, 1, 1, -1]]
CASES += [
    Case("margin_ranking_loss", lambda m, x, y: _functional(m).margin_ranking_loss(
        x, y, _signs(m, SIGNS), margin=0.5), (2, 4), (2, 4)),
    Case("soft_margin_loss", lambda m, x: _functional(m).soft_margin_loss(
        x * 3, _signs(m, SIGNS), reduction="sum"), (2, 4)),
    Case("hinge_embedding_loss", lambda m, x: _functional(m).hinge_embedding_loss(
        x, _signs(m, SIGNS), margin=0.7, reduction="none"), (2, 4)),
    Case("cosine_embedding_loss", lambda m, x, y: _functional(m).cosine_embedding_loss(
        x, y, _signs(m, SIGNS[0]), margin=-0.5), (4, 3), (4, 3)),
    Case("triplet_margin_loss", lambda m, a, p, n: _functional(m).triplet_margin_loss(
        a, p, n, margin=3.0), (3, 4), (3, 4), (3, 4)),
    Case("triplet_margin_loss, swap, p=3", lambda m, a, p, n: _functional(m)
         .triplet_margin_loss(a, p, n, margin=3.0, p=3, swap=True), (3, 4), (3, 4), (3, 4)),
    Case("poisson_nll_loss", lambda m, x, y: _functional(m).poisson_nll_loss(x, y * 2),
         (3, 4), (3, 4), **POSITIVE),
    Case("poisson_nll_loss, of rates, full", lambda m, x, y: _functional(m).poisson_nll_loss(
        x, y * 2, log_input=False, full=True), (3, 4), (3, 4), **POSITIVE),
    Case("gaussian_nll_loss", lambda m, x, y, v: _functional(m).gaussian_nll_loss(
        x, y, v + 2, full=True), (3, 4), (3, 4), (3, 1)),
    Case("multilabel_soft_margin_loss", lambda m, x, y: _functional(m)
         .multilabel_soft_margin_loss(x * 3, y * 0.5 + 0.5), (3, 4), (3, 4)),
]

# The last names a porter reaches for: stacking, diagonal matrices,
# unflatten, the scaled products, kron, bilinear, index_add and aminmax.
CASES += [
    Case("hstack, vstack and dstack", lambda m, x, y: m.hstack([x, y]).sum(1)
         * m.vstack([x, y]).sum(0).sum() * m.dstack([x, y]).sum(), (2, 3), (2, 3)),
    Case("hstack of 1-D", lambda m, x, y: m.hstack([x, y]) * 2, (3,), (2,)),
    Case("diag_embed", lambda m, x: m.diag_embed(x) * 2, (2, 3)),
    Case("diag_embed, offset and axes", lambda m, x: m.diag_embed(x, -1, 0, 2)
         * x.diag_embed(1).sum(), (2, 3)),
    Case("unflatten", lambda m, x: m.unflatten(x, 1, (2, -1)) * x.unflatten(-1, (3, 2))
         .reshape(3, 2, 3), (3, 6)),
    Case("addmm", lambda m, b, x, y: m.addmm(b, x, y, beta=0.5, alpha=2) * b.addmm(x, y),
         (3, 1), (3, 4), (4, 5)),
    Case("baddbmm", lambda m, b, x, y: m.baddbmm(b, x, y, alpha=-1), (2, 3, 5), (2, 3, 4),
         (2, 4, 5)),
    Case("addmv", lambda m, b, x, y: m.addmv(b, x, y, beta=3) * b.addmv(x, y), (3,), (3, 4),
         (4,)),
    Case("kron", lambda m, x, y: m.kron(x, y) * 2, (2, 3), (3, 1, 2)),
    Case("bilinear", lambda m, x, y, w, b: _functional(m).bilinear(x, y, w, b), (2, 3), (2, 4),
         (5, 3, 4), (5,)),
    Case("index_add", lambda m, x, s: m.index_add(x, 1, _index(m, [2, 0, 2]), s, alpha=2)
         * x.index_add(0, _index(m, [1, 1]), s[:2, :1] * x[1:]), (3, 4), (3, 3)),
    Case("aminmax", lambda m, x: m.aminmax(x, axis=1).min * x.aminmax(axis=1, keepdims=True)[1]
         + m.aminmax(x).max, (3, 4),
         torch=lambda m, x: m.aminmax(x, dim=1).min * x.aminmax(dim=1, keepdim=True)[1]
         + m.aminmax(x).max),
]

# The last functions a porter reaches for: rrelu (its evaluation slope),
# channel dropout off or certain, local_response_norm, lp pooling, multi_margin_loss and
# interpolate's area and nearest-exact modes.
LABELS, WEIGHTS = [[0, 3, 1], [2, 2, 0]], [0.5, 2.0, 1.0, 1.5]


def _multi_margin(m, x, labels, p=1, margin=1.0, weight=None):
    """torch's multi_margin_loss with reduction="none", in torch's primitives."""
    one_hot = m.nn.functional.one_hot(m.tensor(labels), x.shape[-1]).to(x.dtype)
    hinges = m.relu(margin - (x * one_hot).sum(-1, keepdim=True) + x) ** p * (1 - one_hot)
    weights = 1.0 if weight is None else (one_hot * m.tensor(weight)).sum(-1)
    return hinges.sum(-1) * weights / x.shape[-1]


CASES += [
    Case("rrelu, evaluation", lambda m, x: _functional(m).rrelu(x, 0.1, 0.4), (3, 4)),
    Case("dropout1d/2d/3d off, and p=1", lambda m, x: _functional(m).dropout2d(x, 0.6, False)
         * _functional(m).dropout1d(x[0], 0.0) + _functional(m).dropout3d(x, 1.0) + x,
         (2, 3, 2, 4)),
    Case("local_response_norm", lambda m, x: _functional(m).local_response_norm(
        x, 3, alpha=0.5, beta=0.6, k=1.5), (2, 5, 3)),
    Case("local_response_norm, even size, 4-D", lambda m, x: _functional(m)
         .local_response_norm(x, 4, alpha=0.3), (2, 3, 2, 3)),
    Case("lp_pool2d, p=2, ceil_mode", lambda m, x: _functional(m).lp_pool2d(
        x, 2, (2, 3), stride=2, ceil_mode=True), (2, 2, 5, 5)),
    Case("lp_pool1d, p=3", lambda m, x: _functional(m).lp_pool1d(x, 3.0, 2), (2, 3, 6),
         **POSITIVE),
    Case("lp_pool2d, p=inf", lambda m, x: _functional(m).lp_pool2d(x, float("inf"), 2),
         (1, 2, 4, 4)),
    # torch has no double backward of its kernel (tests/test_ported_extras.py compares the
    # first derivative with it): the torch spelling is its formula in torch's primitives
    Case("multi_margin_loss", lambda m, x: m.multi_margin_loss(x[0], _index(m, LABELS[0]))
         + m.multi_margin_loss(x[1], _index(m, LABELS[1]), p=2, margin=0.5, reduction="sum"),
         (2, 3, 4), torch=lambda m, x: _multi_margin(m, x[0], LABELS[0]).mean()
         + _multi_margin(m, x[1], LABELS[1], p=2, margin=0.5).sum()),
    Case("multi_margin_loss, weight", lambda m, x: m.multi_margin_loss(
        x, _index(m, LABELS[0]), weight=numpy.array(WEIGHTS), reduction="none"), (3, 4),
         torch=lambda m, x: _multi_margin(m, x, LABELS[0], weight=WEIGHTS)),
    _pooling("interpolate, area", "interpolate", (1, 2, 5, 7), (3, 4), mode="area"),
    _pooling("interpolate, nearest-exact", "interpolate", (2, 2, 5), None, 1.7,
             mode="nearest-exact"),
    _pooling("interpolate, nearest-exact, 2-D", "interpolate", (1, 2, 4, 5), (7, 3),
             mode="nearest-exact"),
]
