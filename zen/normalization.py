"""Embedding lookup and the normalisations of modern models, with PyTorch's names, argument
order and defaults (torch.nn.functional's ``embedding``, ``layer_norm``, ``batch_norm``,
``group_norm``, ``instance_norm``).

Each is an exact composite of recorded primitives, so its gradients of every order follow from
theirs. Statistics use the biased variance, as PyTorch's do; running statistics are updated in
place without recording, with the unbiased variance of the batch, as PyTorch's are.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from zen import arguments, ops
from zen.errors import ArgumentError, DtypeError, ShapeMismatchError
from zen.namespaces import array_namespaces
from zen.ops import reshape
from zen.recorder import no_grad
from zen.tensor import Tensor, TensorLike, as_tensor, constant, on_device_of


def embedding(input: TensorLike, weight: TensorLike, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` (num_embeddings, dim) at the integer ids ``input`` (any shape): a
    tensor of shape input.shape + (dim,). The gradient of each row is the sum over the ids that
    took it; the ``padding_idx`` row gets none. ``max_norm``, ``scale_grad_by_freq`` and
    ``sparse`` are refused: zen has no in-place renormalisation and no sparse gradients."""
    _refuse_embedding_options(max_norm, scale_grad_by_freq, sparse)
    weight = _floating("embedding", "weight", weight)
    if weight.ndim != 2:
        raise ShapeMismatchError(f"embedding: weight must be (num_embeddings, dim), got shape "
                                 f"{weight.shape}")
    ids = _ids(input, weight)
    rows = ops.take_checked(weight, ids, 0)
    if padding_idx is None:
        return rows
    padding_idx = _padding_index(padding_idx, weight.shape[0])
    at_padding = constant(array_namespaces[weight.backend].equal(ids, padding_idx)[..., None],
                          weight.backend)
    return ops.where(at_padding, weight.detach()[padding_idx], rows)


def _refuse_embedding_options(max_norm, scale_grad_by_freq, sparse):
    for name, value, default in (("max_norm", max_norm, None),
                                 ("scale_grad_by_freq", scale_grad_by_freq, False),
                                 ("sparse", sparse, False)):
        if value != default:
            raise ArgumentError(f"embedding: {name}={value!r} is not supported (zen has no "
                                f"in-place renormalisation of rows and no sparse gradients); "
                                f"leave it at {default!r}")


def _ids(input, weight):
    """Integer ids as an int64 array on weight's device, each in [0, num_embeddings)."""
    ids = ops.index_array("embedding", input, weight)
    return ops.checked_indices("embedding", ids, weight.shape, 0, weight.backend,
                               negatives=False)


def _padding_index(padding_idx, count):
    """``padding_idx`` in [-count, count) as an index in [0, count), as PyTorch reads it."""
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, numbers.Integral) or \
            not -count <= padding_idx < count:
        raise ArgumentError(f"embedding: padding_idx must be an int in [{-count}, {count}) for "
                            f"a weight of {count} rows, got {padding_idx!r}")
    return int(padding_idx) % count


def layer_norm(input: TensorLike, normalized_shape: int | Sequence[int],
               weight: TensorLike | None = None, bias: TensorLike | None = None,
               eps: float = 1e-5) -> Tensor:
    """``input`` normalised over its last axes, those of ``normalized_shape`` (mean 0,
    variance 1), then times ``weight`` plus ``bias`` (both of ``normalized_shape``)."""
    x = _floating("layer_norm", "input", input)
    shape, axes = _last_axes("layer_norm", x, normalized_shape)
    out, _, _ = _normalised(x, axes, eps)
    return _affine("layer_norm", out, weight, bias, shape, shape)


def rms_norm(input: TensorLike, normalized_shape: int | Sequence[int],
             weight: TensorLike | None = None, eps: float | None = None) -> Tensor:
    """``input`` divided by its root mean square over its last axes, those of
    ``normalized_shape``, plus ``eps`` under the root (None: the machine epsilon of the
    input's dtype, as PyTorch), then times ``weight`` (of ``normalized_shape``)."""
    x = _floating("rms_norm", "input", input)
    shape, axes = _last_axes("rms_norm", x, normalized_shape)
    if eps is None:
        eps = float(array_namespaces[x.backend].finfo(x.dtype).eps)
    elif isinstance(eps, bool) or not isinstance(eps, numbers.Real) or eps < 0:
        raise ArgumentError(f"rms_norm: eps must be None or a number >= 0, got {eps!r}")
    square_mean = ops.mean(x * x, axes, keepdims=True)
    return _affine("rms_norm", x * ops.divide(1.0, ops.sqrt(square_mean + eps)), weight, None,
                   shape, shape)


def _last_axes(op_name, x, normalized_shape):
    """``normalized_shape`` as a tuple, and the axes of ``x`` it names (its last ones)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else \
        tuple(normalized_shape)
    if not shape or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool)
                            and n >= 0 for n in shape):
        raise ArgumentError(f"{op_name}: normalized_shape must be a non-negative int or a "
                            f"non-empty sequence of them, got {normalized_shape!r}")
    shape = tuple(int(n) for n in shape)
    if x.shape[x.ndim - len(shape):] != shape or len(shape) > x.ndim:
        raise ShapeMismatchError(f"{op_name}: input of shape {x.shape} does not end with "
                                 f"normalized_shape {shape}")
    return shape, tuple(range(x.ndim - len(shape), x.ndim))


def batch_norm(input: TensorLike, running_mean: Tensor | None, running_var: Tensor | None,
               weight: TensorLike | None = None, bias: TensorLike | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """``input`` (N, C, ...) normalised per channel C, then times ``weight`` plus ``bias``
    (both (C,)). Training: with the batch's statistics (biased variance), and the running
    statistics, when given, moved towards the batch's by ``momentum`` (the new batch's weight)
    with the unbiased variance, in place and not recorded. Inference: with the running
    statistics."""
    x = _channels_first("batch_norm", input)
    running = _running("batch_norm", running_mean, running_var, momentum, x, training)
    if training:
        axes = (0, *range(2, x.ndim))
        _check_batch_size("batch_norm", x, axes)
        out, mean, var = _normalised(x, axes, eps)
        _update(running, momentum, mean, var, math.prod(x.shape) // x.shape[1])
    elif len(running) < 2:
        raise ArgumentError("batch_norm: running_mean and running_var are needed when "
                            "training=False (inference normalises with them)")
    else:
        out = _normalised_by(x, running["running_mean"], running["running_var"], eps)
    return _affine("batch_norm", out, weight, bias, (x.shape[1],), _channel_shape(x))


def _normalised_by(x, running_mean, running_var, eps):
    """(x - running_mean) / sqrt(running_var + eps), per channel of (N, C, ...) ``x``."""
    mean, var = (reshape(value, _channel_shape(x)) for value in (running_mean, running_var))
    return (x - mean) * ops.divide(1.0, ops.sqrt(var + eps))


def instance_norm(input: TensorLike, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: TensorLike | None = None,
                  bias: TensorLike | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """``input`` (N, C, ...) normalised per example and channel over the remaining axes, then
    times ``weight`` plus ``bias`` (both (C,)). Running statistics, when given, move towards
    the batch's mean over examples (unbiased variance), in place, as in PyTorch; with
    ``use_input_stats=False`` they normalise instead."""
    x = _channels_first("instance_norm", input)
    if not use_input_stats:
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    running = _running("instance_norm", running_mean, running_var, momentum, x, True)
    axes = tuple(range(2, x.ndim))
    _check_batch_size("instance_norm", x, axes)
    out, mean, var = _normalised(x, axes, eps)
    if mean is not None:
        mean, var = ops.mean(mean, axis=0), ops.mean(var, axis=0)
    _update(running, momentum, mean, var, math.prod(x.shape[2:]))
    return _affine("instance_norm", out, weight, bias, (x.shape[1],), _channel_shape(x))


def group_norm(input: TensorLike, num_groups: int, weight: TensorLike | None = None,
               bias: TensorLike | None = None, eps: float = 1e-5) -> Tensor:
    """``input`` (N, C, ...) normalised per example over each of ``num_groups`` groups of
    C / num_groups channels (and every remaining axis), then times ``weight`` plus ``bias``
    (both (C,))."""
    x = _channels_first("group_norm", input)
    channels = x.shape[1]
    if isinstance(num_groups, bool) or not isinstance(num_groups, numbers.Integral) or \
            num_groups <= 0 or channels % num_groups:
        raise ArgumentError(f"group_norm: num_groups must be a positive int that divides the "
                            f"{channels} channels of input of shape {x.shape}, got "
                            f"{num_groups!r}")
    grouped = reshape(x, (x.shape[0], int(num_groups), math.prod(x.shape[1:]) // num_groups))
    _check_batch_size("group_norm", grouped, (0, 2), "group")     # as PyTorch counts
    out, _, _ = _normalised(grouped, (2,), eps)
    return _affine("group_norm", reshape(out, x.shape), weight, bias, (channels,),
                   _channel_shape(x))


def local_response_norm(input: TensorLike, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """``input`` (N, C, ...) divided by (k + alpha * a)^beta, ``a`` the mean of the squares
    over a window of ``size`` channels (zeros past the ends: size // 2 before a channel,
    (size - 1) // 2 after), as torch's local_response_norm."""
    x = _floating("local_response_norm", "input", input)
    if x.ndim < 3:
        raise ShapeMismatchError(f"local_response_norm: needs an input (N, C, ...) with at "
                                 f"least one spatial axis, got shape {x.shape}")
    size = arguments.integer("local_response_norm", "size", size, minimum=1)
    alpha, beta, k = (arguments.number("local_response_norm", name, value, finite=True)
                      for name, value in (("alpha", alpha), ("beta", beta), ("k", k)))
    channels = x.shape[1]
    widths = ((0, 0), (size // 2, (size - 1) // 2)) + ((0, 0),) * (x.ndim - 2)
    squares = ops.pad_p(ops.multiply(x, x), widths=widths, value=0)
    total = squares[:, 0:channels]
    for start in range(1, size):
        total = ops.add(total, squares[:, start:start + channels])
    divisor = ops.power(ops.add(ops.multiply(ops.divide(total, size), alpha), k), beta)
    return ops.divide(x, divisor)


def _floating(op_name, name, value):
    tensor = as_tensor(value)
    if not tensor.backend.is_floating(tensor.dtype):
        raise DtypeError(f"{op_name}: {name} must be floating, got dtype {tensor.dtype}")
    return tensor


def _channels_first(op_name, input):
    x = _floating(op_name, "input", input)
    if x.ndim < 2 or x.shape[1] == 0:
        raise ShapeMismatchError(f"{op_name}: input must be (N, C, ...) with at least one "
                                 f"channel, got shape {x.shape}")
    return x


def _channel_shape(x):
    """The shape a per-channel (C,) tensor broadcasts as against (N, C, ...) ``x``."""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _check_batch_size(op_name, x, axes, group="channel"):
    """Refuse statistics over one value, as PyTorch does: they normalise everything to 0."""
    if math.prod(x.shape[axis] for axis in axes) == 1:
        raise ShapeMismatchError(f"{op_name}: needs more than one value per {group} to "
                                 f"normalise with the input's statistics, got input of shape "
                                 f"{x.shape}")


def _normalised(x, axes, eps):
    """(x - mean) / sqrt(var + eps) over ``axes``, the biased variance, with that mean and
    variance (kept dimensions); an empty ``x`` as it is, with no statistics (None)."""
    if math.prod(x.shape) == 0:
        return x, None, None
    mean = ops.mean(x, axes, keepdims=True)
    centred = x - mean
    var = ops.mean(centred * centred, axes, keepdims=True)
    return centred * ops.divide(1.0, ops.sqrt(var + eps)), mean, var


def _affine(op_name, out, weight, bias, shape, broadcast_shape):
    """``out * weight + bias``, each of ``shape`` (or None), laid out as ``broadcast_shape``."""
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None:
            value = _statistic(op_name, name, value, shape, out)
            out = out * reshape(value, broadcast_shape) if name == "weight" else \
                out + reshape(value, broadcast_shape)
    return out


def _statistic(op_name, name, value, shape, like):
    """A per-channel (or normalized_shape) tensor, refused unless of ``shape``."""
    tensor = on_device_of(like, value)
    if tuple(tensor.shape) != tuple(shape):
        raise ShapeMismatchError(f"{op_name}: {name} must have shape {tuple(shape)}, got "
                                 f"{tuple(tensor.shape)}")
    return tensor


def _running(op_name, running_mean, running_var, momentum, x, updated):
    """The running statistics that are given, as Tensors of shape (C,), checked before
    anything is computed or written; those to be ``updated`` must be Tensors already."""
    arguments.number(op_name, "momentum", momentum)
    running = {}
    for name, value in (("running_mean", running_mean), ("running_var", running_var)):
        if value is None:
            continue
        if updated and not isinstance(value, Tensor):
            raise ArgumentError(f"{op_name}: {name} must be a Tensor (it is updated in "
                                f"place), got {type(value).__name__}")
        running[name] = _statistic(op_name, name, value, (x.shape[1],), x)
    return running


def _update(running, momentum, mean, var, count):
    """running = (1 - momentum) * running + momentum * batch, in place and not recorded, with
    the batch's unbiased variance (``count`` values per statistic); an empty batch
    (no statistics: None) changes nothing, as in PyTorch."""
    if mean is None:
        return
    batch = {"running_mean": mean, "running_var": var * (count / (count - 1))}
    with no_grad():
        for name, tensor in running.items():
            tensor[...] = tensor * (1 - momentum) + reshape(batch[name], tensor.shape) * momentum
