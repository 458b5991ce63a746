"""The backward pass: reverse-mode differentiation over the recorded graph.

Each node is visited once, in a reverse topological order found with an explicit stack, so
shared subexpressions cost nothing extra and graph depth is limited only by memory.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence

from zen import ops, promotion, recorder, tensor
from zen.errors import (
    DeviceMismatchError,
    DtypeError,
    GradientError,
    GraphFreedError,
    InPlaceError,
    ShapeMismatchError,
)
from zen.namespaces import array_namespaces
from zen.recorder import (
    check_finite,
    edit_count,
    grad_enabled,
    is_anomaly_enabled,
    modified_after,
    modified_since_recorded,
)
from zen.tensor import Tensor, TensorLike, constant


def backward(root: Tensor, grad: TensorLike | None = None, retain_graph: bool = False,
             create_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into ``leaf.gradient`` for every trainable leaf."""
    _backpropagate(root, grad, retain_graph or create_graph, create_graph, wanted=None)


def gradients(output: Tensor, inputs: Sequence[Tensor], grad: TensorLike | None = None,
              retain_graph: bool | None = None, create_graph: bool = False) -> list[Tensor]:
    """d(output)/d(input) for each of ``inputs``, as Tensors, leaving ``.gradient`` untouched.

    An input that ``output`` does not depend on gets zeros, as in JAX; an input that takes no
    gradient (not trainable, or recorded under no_grad) is refused, as in PyTorch: zeros
    would be wrong if ``output`` depends on it.
    """
    for position, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x.trainable):
            kind = "a Tensor that is not trainable" if isinstance(x, Tensor) else \
                type(x).__name__
            raise GradientError(f"gradients: input {position} is {kind}, so no gradient "
                                f"flows to it; make it with trainable=True")
    if retain_graph is None:
        retain_graph = create_graph
    if not output.trainable:
        return [_zeros_like(x) for x in inputs]
    wanted = {id(x): x for x in inputs}
    found = _backpropagate(output, grad, retain_graph, create_graph, wanted)
    return [found[id(x)] if id(x) in found else _zeros_like(x) for x in inputs]


_PARENTS_DONE = object()     # stack marker: the node below it has all parents in order


def topological_order(root: Tensor) -> list[Tensor]:
    """The trainable nodes that ``root`` depends on, each after all of its parents."""
    order, visited, stack = [], set(), [root]
    while stack:
        node = stack.pop()
        if node is _PARENTS_DONE:
            order.append(stack.pop())
            continue
        if node in visited:
            continue
        visited.add(node)
        parents = node._parents
        if not parents:
            if node._op is None:
                order.append(node)
                continue
            raise GraphFreedError(
                f"backward: the graph through this {node._op.name} result was freed by an "
                f"earlier backward; pass retain_graph=True to the first one to go back twice")
        stack.append(node)
        stack.append(_PARENTS_DONE)
        for parent in parents:
            if parent.trainable and parent not in visited:
                stack.append(parent)
    return order


def _backpropagate(root, grad, retain_graph, create_graph, wanted):
    """Push gradients from ``root`` to every node; return those of the ``wanted`` nodes."""
    if recorder.tracer is not None:
        recorder.tracer.backward_settings(grad, retain_graph, create_graph)
    if not root.trainable:
        raise GradientError("backward: the output does not depend on any trainable tensor "
                            "(was it computed under no_grad, or from trainable=False inputs?)")
    order = topological_order(root)     # the root last
    seed = _seed(root, grad, create_graph)
    with grad_enabled(create_graph):
        return _push(order, seed, retain_graph, create_graph, wanted)


def _push(order, seed, retain_graph, create_graph, wanted):
    """The backward pass's loop, its hot path: each node's gradient through its VJP into its
    parents' (``grads``, node -> gradient: Tensors hash by identity), each share fitted to its
    parent's shape and dtype, and the leaves' into their ``.gradient``. On arrays, one or two
    inputs' arguments are written out (a comprehension is a call) and VJPs called directly."""
    root = order[-1]
    grads, found = {root: seed}, {}
    namespace = ops.tensor_namespace if create_graph else array_namespaces[root._backend]
    anomaly = is_anomaly_enabled()
    edits = edit_count()        # nothing is changed in place during the pass
    stored = {id(seed)}         # ids of the arrays a leaf may not keep as its own .gradient
    for node in reversed(order):
        g = grads.pop(node, None)
        if g is None:       # reached only through inputs that take no gradient
            continue
        if wanted is not None and id(node) in wanted:
            found[id(node)] = g if create_graph else constant(g, node._backend)
        op = node._op
        if op is None:
            if wanted is None:
                _accumulate(node, g, create_graph, stored)
            continue
        if node._stamp != edits and modified_since_recorded(node):
            raise _modified_error(node)
        parents, ans = node._parents, node.value
        each, params = op.each, node._params
        checked = anomaly or create_graph or not op.elementwise     # see Op.elementwise
        if create_graph:
            shares = _recorded_shares(node, g, namespace)
        elif len(parents) == 2:
            first, second = parents
            x, y = first.value, second.value
            # one comparison for two shares; with one share, checking it costs no more
            checked = checked or not (first.trainable and second.trainable) or \
                x.shape != y.shape or x.dtype is not y.dtype
            shares = op.vjp(namespace, g, ans, (x, y), params, node._saved, parents) \
                if each is None or params else \
                (each[0](namespace, g, ans, x, y) if first.trainable else None,
                 each[1](namespace, g, ans, x, y) if second.trainable else None)
        elif len(parents) == 1:
            x = parents[0].value
            shares = op.vjp(namespace, g, ans, (x,), params, node._saved, parents) \
                if each is None or params else (each[0](namespace, g, ans, x),)
        else:
            checked = True
            shares = op.vjp(namespace, g, ans, [parent.value for parent in parents], params,
                            node._saved, parents)
        # One share per input; strict= would cost ~0.2 µs a node.
        for parent, share in zip(parents, shares):  # noqa: B905
            if share is None:
                continue
            if checked:
                value = parent.value
                if anomaly or share.shape != value.shape or share.dtype is not value.dtype:
                    share = _fitted_share(namespace, share, value, node if anomaly else None)
            previous = grads.get(parent)
            grads[parent] = share if previous is None else namespace.add(previous, share)
        if not retain_graph:
            node._parents = node._params = node._saved = None
    return found


def _modified_error(node):
    changed = "its result" if modified_after(node, node._stamp) else "an input"
    return InPlaceError(f"backward: {changed} of this {node._op.name} was modified in place "
                       f"after the op was recorded, so its gradient would be wrong; change a "
                       f"copy instead, or run the forward pass again after the change")


def _recorded_shares(node, g, namespace):
    """``node``'s VJP on Tensors, recorded (``create_graph``): saved arrays carry no graph, so
    they are recomputed from differentiable ops."""
    op, parents, params = node._op, node._parents, node._params
    saved = op.saves(namespace, node, *parents, **params) if op.saves else None
    return op.vjp(namespace, g, node, parents, params, saved, parents)


def _fitted_share(namespace, share, value, checked_node=None):
    """A parent's share of the gradient, summed to the shape of its ``value`` and cast to its
    dtype; under anomaly detection, first make sure ``checked_node``'s VJP gave finite
    numbers."""
    if checked_node is not None:
        check_finite(checked_node._op, getattr(share, "value", share), checked_node._backend,
                     "backward", getattr(checked_node, "_origin", None))
    if share.shape != value.shape:
        share = _unbroadcast(namespace, share, value.shape)
    if share.dtype != value.dtype:
        share = namespace.astype(share, value.dtype)
    return share


def _unbroadcast(namespace, g, shape):
    """``g`` summed over the axes that broadcasting added or stretched, to ``shape``."""
    g_shape = tuple(g.shape)
    lead = len(g_shape) - len(shape)
    stretched = tuple(lead + axis for axis, size in enumerate(shape)
                      if size == 1 and g_shape[lead + axis] != 1)
    axes = tuple(range(lead)) + stretched
    if axes:
        g = namespace.sum(g, axis=axes)
    return g if g.shape == shape else namespace.reshape(g, shape)


def _accumulate(leaf, g, create_graph, stored):
    if leaf.gradient is not None:
        if create_graph or isinstance(leaf.gradient, Tensor):    # recorded, or kept from one
            g = ops.add(leaf.gradient, g)
        else:
            g = array_namespaces[leaf._backend].add(leaf.gradient, g)
    # Every leaf owns its gradient: a pass-through gradient (of x + y, say) can reach two
    # leaves as one array, and a view (of a reshape, a transpose, a sum's broadcast) or a
    # NumPy scalar is not a writable, contiguous array, so each is copied before a leaf keeps
    # it.
    is_tensor = isinstance(g, Tensor)
    if id(g) in stored or not leaf._backend.is_private(g.value if is_tensor else g):
        g = ops.copy(g) if is_tensor else array_namespaces[leaf._backend].copy(g)
    stored.add(id(g))
    leaf.gradient = g


def _seed(root, grad, create_graph):
    """The gradient of the root itself: ones, or the ``grad`` the caller passed."""
    backend = root._backend
    if grad is None:
        if math.prod(root.shape) != 1:
            raise GradientError(f"backward: the output has shape {root.shape}; only a "
                                f"one-element output has an implicit gradient, so pass grad= "
                                f"an array of that shape (or reduce the output, e.g. .sum())")
        seed = array_namespaces[backend].ones_like(root.value)
    else:
        if isinstance(grad, Tensor):
            if grad._backend is not backend:
                raise DeviceMismatchError(f"backward: grad is on {grad.device} but the output "
                                          f"is on {root.device}")
            if grad.shape != root.shape:
                raise ShapeMismatchError(f"backward: grad has shape {grad.shape} but the "
                                         f"output has shape {root.shape}")
            if create_graph:    # the seed stays an input of the recorded pass (double VJPs)
                return promotion.cast(grad, root.dtype)
            grad = grad.value
        try:
            seed = backend.asarray(grad, root.dtype, copy=True)   # never the caller's array
        except (TypeError, ValueError, OverflowError) as error:
            raise DtypeError(f"backward: grad {grad!r:.60} is not an array of numbers "
                             f"({error})") from None
        if tuple(seed.shape) != root.shape:
            raise ShapeMismatchError(f"backward: grad has shape {tuple(seed.shape)} but the "
                                     f"output has shape {root.shape}")
    return constant(seed, backend) if create_graph else seed


def _zeros_like(tensor):
    return constant(array_namespaces[tensor._backend].zeros_like(tensor.value), tensor._backend)


class _TransformDepth(threading.local):
    depth = 0


_transforms = _TransformDepth()


def value_and_grad(function: Callable[..., Tensor], argnums: int | Sequence[int] = 0
                   ) -> Callable[..., tuple[Tensor, Tensor | tuple[Tensor, ...]]]:
    """A function returning ``(function(*args), d function / d args[argnums])``.

    ``argnums`` is an int or a tuple of ints (then the gradients come as a tuple). The
    gradients are Tensors; inside another ``grad`` they carry their own graph, so
    ``grad(grad(f))`` is the second derivative.
    """
    single = isinstance(argnums, int)
    positions = (argnums,) if single else tuple(argnums)

    def evaluate(*args, **kwargs):
        args = list(args)
        for position in positions:
            args[position] = _differentiable(args[position])
        nested = _transforms.depth > 0
        _transforms.depth += 1
        try:
            value = function(*args, **kwargs)
        finally:
            _transforms.depth -= 1
        if not isinstance(value, Tensor):
            raise GradientError(f"grad: the function must return a Tensor, got "
                                f"{type(value).__name__}")
        found = gradients(value, [args[p] for p in positions], create_graph=nested)
        return value, found[0] if single else tuple(found)

    return evaluate


def grad(function: Callable[..., Tensor], argnums: int | Sequence[int] = 0
         ) -> Callable[..., Tensor | tuple[Tensor, ...]]:
    """A function returning d function / d args[argnums]; see ``value_and_grad``."""
    evaluate = value_and_grad(function, argnums)

    def gradient(*args, **kwargs):
        return evaluate(*args, **kwargs)[1]

    return gradient


def _differentiable(argument):
    """A trainable tensor to differentiate with respect to; a trainable Tensor as it is, so
    that an enclosing ``grad`` sees through it."""
    if isinstance(argument, Tensor) and argument.trainable:
        return argument
    return Tensor(argument.value if isinstance(argument, Tensor) else argument, trainable=True,
                  device=argument.device if isinstance(argument, Tensor) else None)


tensor.functions.provide(backward=backward, gradients=gradients)
