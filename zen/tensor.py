"""Tensor, an array on a device that remembers the op that made it, and the op recorder.

Operators and maths methods (``+``, ``@``, ``.sum()``, ...) are bound onto Tensor at the end
of ``zen/functional.py``, as the same functions users call; the op table is ``zen/ops.py``
and the backward pass ``zen/autograd.py``.
"""

import contextlib
import math
import os
import sys
import threading
import traceback

import backends
from zen import devices
from zen.errors import (AnomalyError, DeviceMismatchError, DtypeError, ShapeMismatchError)

DEFAULT_DEVICE = "cpu"
_default_dtype = "float32"


def set_default_dtype(name):
    """Set the dtype that Python numbers and lists become: "float16", "float32" or
    "float64"."""
    global _default_dtype
    if name not in ("float16", "float32", "float64"):
        raise DtypeError(f"set_default_dtype: expected 'float16', 'float32' or 'float64', "
                         f"got {name!r}")
    _default_dtype = name


def get_default_dtype():
    return _default_dtype


class _GradMode(threading.local):
    enabled = True      # record ops for backward
    anomaly = False     # check every result for NaN and Inf, and remember where ops ran


_grad_mode = _GradMode()


@contextlib.contextmanager
def grad_enabled(enabled):
    """Record ops for backward (True) or not (False) inside the block; usable as a decorator."""
    previous = _grad_mode.enabled
    _grad_mode.enabled = enabled
    try:
        yield
    finally:
        _grad_mode.enabled = previous


def no_grad():
    """Run the block without recording: results are plain values with no graph."""
    return grad_enabled(False)


def is_grad_enabled():
    return _grad_mode.enabled


def is_anomaly_enabled():
    return _grad_mode.anomaly


@contextlib.contextmanager
def detect_anomaly():
    """Inside the block, the first op whose forward or backward gives NaN or Inf raises
    AnomalyError naming the op and the line of your code that ran it. Slow: debugging only."""
    previous = _grad_mode.anomaly
    _grad_mode.anomaly = True
    try:
        yield
    finally:
        _grad_mode.anomaly = previous


def check_finite(op, value, backend, stage, origin=None):
    """Raise AnomalyError if the floating array ``value`` holds NaN or Inf."""
    xp = backend.xp
    if backend.is_floating(value.dtype) and not bool(xp.all(xp.isfinite(value))):
        where = f"; recorded at {origin}" if origin else ""
        raise AnomalyError(f"{op.name}: its {stage} produced NaN or Inf{where}")


def user_frame():
    """``file:line in function: code`` of the innermost caller outside zen and backends."""
    for frame in reversed(traceback.extract_stack()):
        if not frame.filename.startswith(_LIBRARY_DIRECTORIES):
            return f"{frame.filename}:{frame.lineno} in {frame.name}: {frame.line}"
    return None


_LIBRARY_DIRECTORIES = tuple(os.path.dirname(os.path.abspath(module.__file__)) + os.sep
                             for module in (backends, sys.modules[__name__]))


class Tensor:
    """An array on a device, recorded for automatic differentiation when trainable.

    ``Tensor(value, trainable=True, device=None, dtype=None)``: ``value`` is a number, a nested
    list, a NumPy/CuPy/array-API array or a Tensor, copied as ``torch.tensor`` does
    (``zen.from_dlpack`` shares memory instead). Numbers and lists become the default dtype
    (float32); arrays keep theirs and, unless ``device`` is given, their device. Integer and
    bool tensors are never trainable. ``requires_grad`` is an alias of ``trainable``.
    """

    __slots__ = ("value", "gradient", "trainable", "_backend", "_op", "_parents", "_params",
                 "_version", "_stamp", "_origin")
    __hash__ = object.__hash__      # == is elementwise; dicts and sets key on identity
    __array_ufunc__ = None          # NumPy defers to Tensor's reflected operators

    def __init__(self, value, trainable=None, device=None, dtype=None, *, requires_grad=None):
        if requires_grad is not None:
            trainable = requires_grad
        backend, array = _to_backend_array(value, device, dtype)
        floating = backend.is_floating(array.dtype)
        if trainable and not floating:
            raise DtypeError(f"Tensor: trainable=True needs a floating dtype, got {array.dtype}; "
                             f"pass dtype='float32' or trainable=False")
        self.value = array
        self.gradient = None
        self.trainable = floating if trainable is None else bool(trainable)
        self._backend = backend
        self._op = None
        self._parents = ()
        self._params = None
        self._version = None

    shape = property(lambda self: tuple(self.value.shape))
    ndim = property(lambda self: self.value.ndim)
    dtype = property(lambda self: self.value.dtype)
    size = property(lambda self: math.prod(self.value.shape))
    device = property(lambda self: self._backend.name, doc="The device string, e.g. 'cpu'.")
    backend = property(lambda self: self._backend)
    requires_grad = property(lambda self: self.trainable)
    is_leaf = property(lambda self: self._op is None)

    def numpy(self):
        """The value as a NumPy array on the host (a copy when the tensor is on a GPU)."""
        return self._backend.to_host(self.value)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.size != 1:
            raise ShapeMismatchError(f"item: only one-element tensors convert to a Python "
                                     f"number, this one has shape {self.shape}")
        return self.numpy().item()

    def to(self, device):
        """This tensor on ``device``: itself if already there, else a new leaf with a copy."""
        if devices.get_backend(device) is self._backend:
            return self
        return Tensor(self.value, trainable=self.trainable, device=device)

    def move_to(self, device):
        """Move this leaf's value (and gradient) to ``device`` in place, keeping its identity,
        so that the models and optimisers that hold it follow."""
        backend = devices.get_backend(device)
        if backend is not self._backend:
            self.value = _to_backend_array(self, backend, None)[1]
            if self.gradient is not None:
                self.gradient = _to_backend_array(constant(self.gradient, self._backend),
                                                  backend, None)[1]
            self._backend = backend
        return self

    def detach(self):
        """The same value (the same memory), cut from the graph and not trainable."""
        detached = constant(self.value, self._backend)
        detached._version = shared_version(self)
        return detached

    def zero_grad(self):
        """Forget the accumulated gradient (backward adds to it, as in PyTorch)."""
        self.gradient = None

    def backward(self, grad=None, retain_graph=False, create_graph=False):
        """Accumulate d(self)/d(leaf) into ``.gradient`` of every trainable leaf.

        ``grad`` is required unless the tensor has one element. The graph's saved values are
        freed as the pass goes unless ``retain_graph``; ``create_graph`` records the pass so
        that gradients can be differentiated again.
        """
        autograd.backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)

    get_gradients = backward    # the original Zen's name, with every argument of backward

    def grad(self, target, grad=None):
        """d(self)/d(target) as a backend array; leaves' ``.gradient`` and the graph are kept."""
        (gradient,) = autograd.gradients(self, [target], grad, retain_graph=True)
        return gradient.value

    def __array__(self, dtype=None, copy=None):
        if not self._backend.on_host:
            raise DeviceMismatchError(f"numpy.asarray: this tensor is on {self.device}, not in "
                                      f"host memory; copy it there with .numpy()")
        array = self._backend.to_host(self.value)
        if dtype is not None:
            array = array.astype(dtype, copy=False)
        return array.copy() if copy else array

    def __dlpack__(self, *args, **kwargs):
        return self._array().__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._array().__dlpack_device__()

    def _array(self):
        """The value as an array (NumPy reductions give scalars, which cannot be exported)."""
        value = self.value
        return value if hasattr(value, "__dlpack__") else self._backend.asarray(value)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __bool__(self):
        return bool(self.item())

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __repr__(self):
        flags = ", trainable=True" if self.trainable else ""
        return (f"Tensor({self.numpy()}, dtype={self.dtype}, "
                f"device='{self.device}'{flags})")


def from_dlpack(array, trainable=False):
    """A Tensor sharing memory with a DLPack-capable array (PyTorch, CuPy, NumPy, ...)."""
    kind, index = array.__dlpack_device__()
    backend = devices.backend_for_dlpack_device(kind, index)
    tensor = constant(backend.from_dlpack(array), backend)
    if trainable and not backend.is_floating(tensor.dtype):
        raise DtypeError(f"from_dlpack: trainable=True needs a floating dtype, got "
                         f"{tensor.dtype}")
    tensor.trainable = bool(trainable)
    return tensor


def constant(value, backend):
    """A non-trainable tensor around a backend array, without any checks (the fast path)."""
    tensor = Tensor.__new__(Tensor)
    tensor.value = value
    tensor.gradient = None
    tensor.trainable = False
    tensor._backend = backend
    tensor._op = None
    tensor._parents = ()
    tensor._params = None
    tensor._version = None
    return tensor


def as_tensor(value):
    return value if isinstance(value, Tensor) else Tensor(value, trainable=False)


def _to_backend_array(value, device, dtype):
    """The backend for ``device`` (or for ``value``'s own device) and ``value`` on it."""
    if isinstance(value, Tensor):
        source, value = value._backend, value.value
    else:
        source = devices.backend_for_array(value)
    backend = devices.get_backend(device) if device is not None else (
        source or devices.get_backend(DEFAULT_DEVICE))
    if source is not None and source is not backend:
        value = source.to_host(value)
    if value is None:
        raise DtypeError("Tensor: None is not a number")
    if dtype is None and source is None and not hasattr(value, "dtype"):
        dtype = _default_dtype      # numbers and lists; other arrays keep their dtype
    if isinstance(dtype, str):
        try:
            dtype = backend.dtype(dtype)
        except AttributeError:
            raise DtypeError(f"Tensor: unknown dtype {dtype!r}; use a name such as "
                             f"'float32', 'float64', 'int64' or 'bool'") from None
    try:
        array = backend.asarray(value, dtype, copy=True)
    except (TypeError, ValueError, OverflowError) as error:
        raise conversion_error(value, error) from error
    if not is_real_or_bool(backend, array.dtype):
        raise DtypeError(f"Tensor: values of dtype {array.dtype} are not real numbers or "
                         f"bools (zen has no complex, string or object tensors); convert them "
                         f"first")
    return backend, array


def is_real_or_bool(backend, dtype):
    try:
        return backend.xp.isdtype(dtype, ("real floating", "integral", "bool"))
    except (TypeError, ValueError):     # object, string and other non-array-API dtypes
        return False


def conversion_error(value, error):
    if "inhomogeneous" in str(error) or "sequence" in str(error):
        return ShapeMismatchError(f"Tensor: nested lists of unequal lengths (ragged) have no "
                                  f"array shape ({error})")
    return DtypeError(f"Tensor: cannot make numbers of {type(value).__name__} {value!r:.60} "
                      f"({error})")


class Op:
    """A primitive: ``forward(xp, *arrays, **params)`` and one VJP per input.

    A VJP is ``vjp(F, g, ans, *inputs, **params)``; it returns the gradient for its input from
    the output's gradient ``g``. ``F`` is the array namespace and the rest are arrays, or, when
    the backward pass is itself recorded, ``F`` is zen's namespace and the rest are Tensors. An
    op with no VJPs is not differentiable. ``vjps`` may instead be one ``JointVJP``.

    An op that ``saves`` returns ``(value, saved)`` from its forward; its VJPs then receive
    ``saved=`` (arrays worth keeping, such as a softmax), or ``saved=None`` when the backward
    pass is recorded and they must recompute it from differentiable ops.

    ``dtypes`` is the op's promotion rule (see ``zen.promotion``), None to take inputs as they
    are. An op whose result may share memory with its first input (a reshape, a basic slice)
    says ``views=True``: the two then share one version counter (see ``mark_modified``).
    """

    __slots__ = ("name", "forward", "vjps", "saves", "dtypes", "views")

    def __init__(self, name, forward, vjps, saves=False, dtypes=None, views=False):
        self.name = name
        self.forward = forward
        self.vjps = vjps
        self.saves = saves
        self.dtypes = dtypes
        self.views = views

    def __repr__(self):
        return f"<op {self.name}>"


class JointVJP:
    """All of an op's VJPs in one function, for fused ops whose input gradients share work:
    ``function(F, g, ans, *inputs, needed=..., **params)`` returns one gradient per input
    (None where ``needed[i]`` is false)."""

    __slots__ = ("function",)

    def __init__(self, function):
        self.function = function


def apply(op, inputs, params):
    """Run ``op`` on ``inputs`` (Tensors, arrays or numbers) and record it if gradients flow.

    Every recorded op passes through here: it is written for speed, one and two inputs of
    one floating dtype first; anything else is promoted by the op's rule.
    """
    count = len(inputs)
    if count == 2:
        x, y = inputs
        if type(x) is not Tensor or type(y) is not Tensor or op.dtypes is not None and (
                (dtype := x.value.dtype) is not y.value.dtype
                or dtype not in x._backend.floating_dtypes):
            x, y = inputs = promotion.promote(op, inputs)
        backend = x._backend
        if y._backend is not backend:
            raise device_mismatch(op, backend, y._backend)
        trainable = x.trainable or y.trainable
        values = (x.value, y.value)
    elif count == 1:
        (x,) = inputs
        if type(x) is not Tensor or op.dtypes is not None and \
                x.value.dtype not in x._backend.floating_dtypes:
            (x,) = inputs = promotion.promote(op, inputs)
        backend, trainable, values = x._backend, x.trainable, (x.value,)
    else:
        if not _ready(op, inputs):
            inputs = promotion.promote(op, inputs)
        backend = inputs[0]._backend
        for x in inputs:
            if x._backend is not backend:
                raise device_mismatch(op, backend, x._backend)
        trainable = any(x.trainable for x in inputs)
        values = [x.value for x in inputs]
    try:
        value = op.forward(backend.xp, *values, **params)
    except (ValueError, TypeError) as error:
        raise _forward_error(op, inputs, params, error) from error
    if op.saves:
        value, saved = value
    mode = _grad_mode
    origin = None
    if mode.anomaly:
        origin = user_frame()
        check_finite(op, value, backend, "forward", origin)
    out = Tensor.__new__(Tensor)
    out.value = value
    out.gradient = None
    out._backend = backend
    out._version = shared_version(inputs[0]) if op.views else None
    if trainable and op.vjps and mode.enabled:
        out.trainable = True
        out._op = op
        out._parents = inputs
        out._params = params
        out._stamp = _edits      # see mark_modified
        if op.saves:
            params["saved"] = saved     # params is this call's own dict
        if origin:
            out._origin = origin
    else:
        out.trainable = False
        out._op = None
        out._parents = ()
        out._params = None
    return out


# In-place changes are counted globally. A tensor's _version is a one-element list, shared by
# every tensor that may view the same memory (detach, reshapes, basic slices: the ops that
# say views=True), holding the count at the last change to any of them, or None while no
# view exists and nothing changed (most tensors: no list to allocate). A recorded node's
# _stamp is the count when it was recorded. So a node is safe to differentiate if nothing
# changed since (one comparison), and otherwise if none of its values changed after its stamp.
_edits = 0


def mark_modified(tensor):
    """Note that ``tensor``'s memory (and so every view of it) was changed in place (see
    InPlaceError)."""
    global _edits
    _edits += 1
    if tensor._version is None:
        tensor._version = [_edits]
    else:
        tensor._version[0] = _edits


def shared_version(tensor):
    """``tensor``'s version counter, made now if it has none, to share with a view of it."""
    if tensor._version is None:
        tensor._version = [0]
    return tensor._version


def edit_count():
    return _edits


def modified_after(tensor, stamp):
    """Whether ``tensor``'s memory was changed in place after the edit count ``stamp``."""
    return tensor._version is not None and tensor._version[0] > stamp


def modified_since_recorded(node):
    """Whether ``node``'s result or one of its inputs changed in place after it was recorded."""
    stamp = node._stamp
    return stamp != _edits and (modified_after(node, stamp) or
                                any(modified_after(parent, stamp) for parent in node._parents))


def _ready(op, inputs):
    """Whether ``inputs`` need no promotion: all Tensors and, if ``op`` has a dtype rule, all
    of one floating dtype."""
    first = inputs[0]
    if type(first) is not Tensor:
        return False
    if op.dtypes is None:
        return all(type(x) is Tensor for x in inputs)
    dtype = first.value.dtype
    if dtype not in first._backend.floating_dtypes:
        return False
    for x in inputs:
        if type(x) is not Tensor or x.value.dtype is not dtype:
            return False
    return True


def device_mismatch(op, first, second):
    return DeviceMismatchError(f"{op.name}: inputs are on different devices, {first.name} and "
                               f"{second.name}; move one with .to(device)")


def _forward_error(op, inputs, params, error):
    settings = "".join(f", {key}={value!r}" for key, value in params.items())
    if isinstance(error, TypeError):
        dtypes = ", ".join(str(x.dtype) for x in inputs)
        return DtypeError(f"{op.name}: cannot apply to dtypes {dtypes}{settings}: {error}")
    shapes = ", ".join(str(x.shape) for x in inputs)
    return ShapeMismatchError(f"{op.name}: cannot apply to shapes {shapes}{settings}: {error}")


from zen import autograd, promotion  # noqa: E402  (both build on Tensor)
