"""The recorder: primitives (Op), ``applier``, which makes each op's function that runs it and
records it, the grad and anomaly modes, and the version counters that catch in-place changes
to recorded values.

It sits above Tensor (an op's function makes Tensors) and below the op table (``zen.ops``
declares its primitives with ``defop``) and the backward pass (``zen.autograd``).
"""

from __future__ import annotations

import contextlib
import inspect
import os
import sys
import threading
import traceback
from typing import Any

import backends
from zen import promotion, tensor
from zen.errors import AnomalyError, CallError, DtypeError, ShapeMismatchError, ZenError
from zen.namespaces import array_namespaces
from zen.promotion import device_mismatch
from zen.tensor import Tensor, TensorLike, constant


class _GradMode(threading.local):
    # (record ops for backward, check every result for NaN and Inf and remember where ops
    # ran): one attribute, as each read of a thread-local one costs ~30 ns in every op
    state = (True, False)


_DEFAULT_MODES = _GradMode.state
_grad_mode = _GradMode()
# One entry for each mode block open in any thread: while there are none, every thread has the
# default modes and ops read them here, not from the thread-local (~40 ns an op). A list, as
# its append and pop are atomic, where a count's += between threads is not.
_open_mode_blocks = []
tracer = None       # the open zen.tracing.Trace, which sees every recorded op's inputs


@contextlib.contextmanager
def _mode_block(recording, anomaly):
    """Inside the block, this thread records ops (``recording``) and checks them for NaN
    (``anomaly``) as given, each left as it was where None; each set back after it."""
    previous = _grad_mode.state
    _grad_mode.state = (previous[0] if recording is None else bool(recording),
                        previous[1] if anomaly is None else anomaly)
    _open_mode_blocks.append(None)
    try:
        yield
    finally:    # only this block's own mode: blocks may close out of order
        _open_mode_blocks.pop()
        current = _grad_mode.state
        _grad_mode.state = (current[0] if recording is None else previous[0],
                            current[1] if anomaly is None else previous[1])


def grad_enabled(enabled: bool) -> contextlib.AbstractContextManager[None]:
    """Record ops for backward (True) or not (False) inside the block; usable as a decorator."""
    return _mode_block(enabled, None)


def no_grad() -> contextlib.AbstractContextManager[None]:
    """Run the block without recording: results are plain values with no graph."""
    return grad_enabled(False)


def is_grad_enabled() -> bool:
    return _grad_mode.state[0]


def is_anomaly_enabled() -> bool:
    return _grad_mode.state[1]


def detect_anomaly() -> contextlib.AbstractContextManager[None]:
    """Inside the block, the first op whose forward or backward gives NaN or Inf raises
    AnomalyError naming the op and the line of your code that ran it. Slow: debugging only."""
    return _mode_block(None, True)


def check_finite(op, value, backend, stage, origin=None):
    """Raise AnomalyError if the floating array ``value`` holds NaN or Inf."""
    xp = array_namespaces[backend]
    if backend.is_floating(value.dtype) and not bool(xp.all(xp.isfinite(value))):
        where = f"; recorded at {origin}" if origin else ""
        raise AnomalyError(f"{op.name}: its {stage} produced NaN or Inf{where}")


def _checked_forward(op, value, backend):
    """Under anomaly detection: where ``op`` ran, once its result is checked."""
    origin = user_frame()
    check_finite(op, value, backend, "forward", origin)
    return origin


def user_frame():
    """``file:line in function: code`` of the innermost caller outside zen and backends."""
    for frame in reversed(traceback.extract_stack()):
        if not frame.filename.startswith(_LIBRARY_DIRECTORIES):
            return f"{frame.filename}:{frame.lineno} in {frame.name}: {frame.line}"
    return None


_LIBRARY_DIRECTORIES = tuple(os.path.dirname(os.path.abspath(module.__file__)) + os.sep
                             for module in (backends, sys.modules[__name__]))


class Op:
    """A primitive: ``forward(xp, *arrays, **params)`` (``xp`` is the backend's array namespace,
    ``zen.namespaces``) and its VJP (``zen.ops.defop`` builds
    one from what an op declares).

    Every VJP has one form, ``vjp(F, g, ans, inputs, params, saved, parents)``: from ``g``,
    the gradient of the result ``ans``, it returns one gradient per input, None for an input
    whose parent Tensor (in ``parents``) is not trainable. ``F`` is the array namespace and
    ``g``, ``ans`` and ``inputs`` are arrays, or, when the backward pass is itself recorded,
    ``F`` is zen's namespace and they are Tensors; ``params`` is the op's settings. An op
    whose ``vjp`` is None is not differentiable.

    An op that saves returns ``(value, saved)`` from its forward (arrays worth keeping, such
    as a softmax), kept on the result's node for its VJP; ``saves(F, ans, *inputs,
    **params)`` recomputes them from differentiable ops for a recorded backward pass, so the
    VJP never lacks them. ``saves`` is None for an op that saves nothing.

    ``dtypes`` is the op's promotion rule (see ``zen.promotion``), None to take inputs as they
    are. An op whose result may share memory with its first input (a reshape, a basic slice)
    says ``views=True``: the two then share one version counter (see ``mark_modified``).

    ``each`` holds an op's VJPs as ``zen.ops.defop`` took them, one per input, each
    ``vjp_i(F, g, ans, *inputs, **params)`` (``vjp`` joins them in the one form), or None for
    an op with a joint ``vjp`` or with an input that gets no gradient; the backward pass calls
    them itself on arrays, as ``vjp``'s join costs a call (~0.13 µs a node).

    An ``elementwise`` op's result, and each share its VJP gives, has the broadcast shape of
    its inputs and their dtype: where the inputs agree on both, the shares fit their parents
    as they are, and the backward pass does not check them (~0.1 µs a share).
    """

    __slots__ = ("name", "forward", "vjp", "saves", "dtypes", "views", "each", "elementwise")

    def __init__(self, name, forward, vjp, saves=None, dtypes=None, views=False, each=None,
                 elementwise=False):
        self.name = name
        self.forward = forward
        self.vjp = vjp
        self.saves = saves
        self.dtypes = dtypes
        self.views = views
        self.each = each
        self.elementwise = elementwise

    def __repr__(self):
        return f"<op {self.name}>"


def applier(op):
    """The function that runs ``op`` on Tensors and records it if gradients flow
    (``zen.ops.defop`` names it after the op). One body for every op, each op in its own
    closure, so that a call pays no second frame (~50 ns). The hot path: one and two inputs
    of one floating dtype (their arguments spelled out: a call with *values costs ~0.1 µs
    more); anything else is promoted by the op's rule."""

    def apply(*inputs: TensorLike, **params: Any) -> Tensor:
        if tracer is not None:
            tracer.entering(inputs)
        count = len(inputs)
        if count == 2:
            x, y = inputs
            if type(x) is not Tensor or type(y) is not Tensor or (op.dtypes is not None and (
                    (dtype := x.value.dtype) is not y.value.dtype
                    or dtype not in x._backend.floating_dtypes)):
                x, y = inputs = promotion.promote(op, inputs)
            if (backend := x._backend) is not y._backend:
                raise device_mismatch(op, backend, y._backend)
            trainable = x.trainable or y.trainable
        elif count == 1:
            (x,) = inputs
            if type(x) is not Tensor or (
                    op.dtypes is not None and x.value.dtype not in x._backend.floating_dtypes):
                (x,) = inputs = promotion.promote(op, inputs)
            backend, trainable = x._backend, x.trainable
        else:
            inputs, backend, trainable, values = _many_inputs(op, inputs)
        try:
            xp = array_namespaces[backend]
            if count > 2:
                value = op.forward(xp, *values, **params)
            elif count == 2:
                value = op.forward(xp, x.value, y.value, **params) if params else \
                    op.forward(xp, x.value, y.value)
            else:
                value = op.forward(xp, x.value, **params) if params else op.forward(xp, x.value)
        except ZenError:    # one a forward raised itself (a loss's labels out of range)
            raise
        except (ValueError, TypeError) as error:
            raise _forward_error(op, inputs, params, error) from error
        recording, anomaly = _grad_mode.state if _open_mode_blocks else _DEFAULT_MODES
        if anomaly or not (trainable and recording and op.vjp) or op.saves or op.views:
            return _result(op, inputs, params, value, backend, trainable and recording, anomaly)
        out = _new_tensor(Tensor)   # the common result, inline: _result's call costs more
        out.value = value
        out.gradient = None
        out.trainable = True
        out._backend = backend
        out._op = op
        out._parents = inputs
        out._params = params
        out._saved = None
        out._version = None
        out._stamp = _edits        # see mark_modified
        return out

    return apply


_new_tensor = Tensor.__new__    # a name of its own: one attribute lookup less per op


def _result(op, inputs, params, value, backend, recorded, anomaly):
    """``apply``'s result, any kind: recorded if ``recorded`` and ``op`` is differentiable,
    checked for NaN and Inf under ``anomaly`` detection, sharing its first input's version
    counter if ``op`` views it, and with what ``op`` saved for its VJP."""
    saved = None
    if op.saves:
        value, saved = value
    origin = anomaly and _checked_forward(op, value, backend)
    out = _new_tensor(Tensor)
    out.value = value
    out.gradient = None
    out._backend = backend
    out._version = shared_version(inputs[0]) if op.views else None
    if recorded and op.vjp:
        out.trainable = True
        out._op = op
        out._parents = inputs
        out._params = params
        out._saved = saved
        out._stamp = _edits      # see mark_modified
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
    if tracer is not None:
        tracer.edited(tensor)
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


def detach(tensor):
    """The same value (the same memory), cut from the graph and not trainable."""
    detached = constant(tensor.value, tensor._backend)
    detached._version = shared_version(tensor)
    return detached


def _many_inputs(op, inputs):
    """``apply``'s slower path, for any number of inputs: the inputs promoted, their backend,
    whether any is trainable, and their values."""
    if not _ready(op, inputs):
        inputs = promotion.promote(op, inputs)
    backend = inputs[0]._backend
    for x in inputs:
        if x._backend is not backend:
            raise device_mismatch(op, backend, x._backend)
    return inputs, backend, any(x.trainable for x in inputs), [x.value for x in inputs]


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
    for x in inputs:    # noqa: SIM110 (a loop: all() would build a generator for every op)
        if type(x) is not Tensor or x.value.dtype is not dtype:
            return False
    return True


def _forward_error(op, inputs, params, error):
    settings = "".join(f", {key}={value!r}" for key, value in params.items())
    if isinstance(error, TypeError) and (wrong_call := _call_mismatch(op, inputs, params)):
        return CallError(f"{op.name}: {wrong_call} (called with {len(inputs)} input(s)"
                         f"{settings})")
    if isinstance(error, TypeError):
        dtypes = ", ".join(str(x.dtype) for x in inputs)
        return DtypeError(f"{op.name}: cannot apply to dtypes {dtypes}{settings}: {error}")
    shapes = ", ".join(str(x.shape) for x in inputs)
    return ShapeMismatchError(f"{op.name}: cannot apply to shapes {shapes}{settings}: {error}")


def _call_mismatch(op, inputs, params):
    """Why ``op``'s forward cannot take these inputs and settings (a setting it does not have,
    an input missing), or None when the call fits and the TypeError came from a dtype."""
    try:
        inspect.signature(op.forward).bind("xp", *inputs, **params)
    except TypeError as mismatch:
        return str(mismatch)
    return None


tensor.functions.provide(detach=detach, shared_version=shared_version)
