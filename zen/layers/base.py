"""What every layer is: ``Layer`` (settings, weights, buffers, training mode, lazy
building) and the helpers layers share to build their weights."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from typing import Any, TypeAlias

from zen import arguments, random, recorder
from zen.errors import ArgumentError, ShapeMismatchError
from zen.namespaces import array_namespaces
from zen.tensor import Tensor, get_default_dtype

# A kernel's, a stride's or a padding's size: one int for both axes, or (rows, columns).
Pair: TypeAlias = int | tuple[int, int]


class Layer:
    """A building block: ``layer(x)`` runs ``forward``. Its settings, the constructor's
    arguments given to ``Layer.__init__``, are attributes of the same names (``units``,
    ``rate``), each held once; ``config`` reads them, so a saved model can be rebuilt.

    ``weights`` are what optimisers train; ``buffers`` are state that is saved and loaded with
    them but never trained (a normalisation layer's running statistics, say). A layer whose
    weights depend on its input's size sets ``lazy = True`` and creates them (``add_weight``)
    in its first call; until then it is not ``built``. A first call that fails takes its
    weights back, so the next call builds from its own input."""

    training: bool = False
    lazy: bool = False
    takes_ids: bool = False     # integer inputs (Embedding): a model builds with integer zeros

    def __init__(self, **config: Any) -> None:
        self.config = config
        self.weights = {}       # name -> trainable Tensor, in creation order
        self.buffers = {}       # name -> non-trainable Tensor, in creation order

    @property
    def config(self) -> dict[str, Any]:
        """The layer's settings, ``{name: value}``, read from its attributes."""
        return {name: getattr(self, name) for name in self._settings}

    @config.setter
    def config(self, settings: dict[str, Any]) -> None:
        taken = sorted(name for name in settings
                       if name in _LAYER_SLOTS or hasattr(Layer, name))
        if taken:
            raise ArgumentError(f"{type(self).__name__}: the setting(s) {', '.join(taken)} "
                                f"would hide Layer's own attributes; name them otherwise")
        self._settings = tuple(settings)
        self.__dict__.update(settings)

    @property
    def built(self) -> bool:
        return not self.lazy or bool(self.weights)

    def __call__(self, x: Tensor, *inputs: Any, **options: Any) -> Tensor:
        """``forward(x, ...)``; a Model gives each layer one input, and a layer whose forward
        takes more (MultiHeadAttention's key and value) gets them in code by hand."""
        if recorder.tracer is not None:
            recorder.tracer.layers[id(self)] = self
        if self.built:
            return self.forward(x, *inputs, **options)
        with undone_on_failure([self]):
            return self.forward(x, *inputs, **options)

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def parameters(self) -> list[Tensor]:
        return list(self.weights.values())

    def train(self, mode: bool = True) -> Layer:
        """Training mode (Dropout drops, BatchNorm uses and updates batch statistics), or
        inference mode with ``mode=False``; returns the layer, as PyTorch's."""
        self.training = arguments.flag(f"{type(self).__name__}.train", "mode", mode)
        return self

    def eval(self) -> Layer:
        """Inference mode: ``train(False)``."""
        return self.train(False)

    def add_weight(self, name: str, shape: tuple[int, ...], like: Tensor,
                   scale: float = 0.0, normal: bool = False, fill: float = 0.0) -> Tensor:
        """A new trainable parameter on ``like``'s device, from zen's generator: uniform on
        [-scale, scale], or normal with standard deviation ``scale`` (``normal=True``), or
        all ``fill`` when ``scale`` is 0."""
        backend = like.backend
        dtype = backend.dtype(get_default_dtype())
        if scale:
            draw = random.generator().normal(0.0, scale, shape) if normal else \
                random.generator().uniform(-scale, scale, shape)
            values = backend.asarray(draw, dtype)
        else:
            values = array_namespaces[backend].full(shape, fill, dtype=dtype,
                                                    device=backend.native_device)
        weight = self.weights[name] = Tensor(values, device=backend)
        return weight

    def add_buffer(self, name: str, shape: tuple[int, ...], like: Tensor,
                   fill: float = 0.0, dtype: str | None = None) -> Tensor:
        """A new non-trainable tensor of ``fill`` on ``like``'s device, in ``dtype`` (default:
        the default float dtype), saved with the weights but never given to an optimiser."""
        backend = like.backend
        values = array_namespaces[backend].full(
            shape, fill, dtype=backend.dtype(dtype or get_default_dtype()),
            device=backend.native_device)
        buffer = self.buffers[name] = Tensor(values, trainable=False, device=backend)
        return buffer

    def __repr__(self):
        settings = ", ".join(f"{key}={value!r}" for key, value in self.config.items())
        return f"{type(self).__name__}({settings})"


_LAYER_SLOTS = ("weights", "buffers", "_settings")


@contextlib.contextmanager
def undone_on_failure(layers: Sequence[Layer]) -> Iterator[None]:
    """Around a call that builds ``layers``: should it fail, the weights and buffers it
    created are dropped and zen's generator is set back, so that the next call builds from
    its own input and a seed gives the model it would have given."""
    slots = [(dict(layer.weights), dict(layer.buffers)) for layer in layers]
    generator_state = random.generator().get_state()
    try:
        yield
    except BaseException:
        for layer, (weights, buffers) in zip(layers, slots, strict=True):
            layer.weights, layer.buffers = weights, buffers
        random.generator().set_state(generator_state)
        raise


def glorot(fan_in: int, fan_out: int) -> float:
    """The bound of Glorot (Xavier) uniform weights: sqrt(6 / (fan_in + fan_out))."""
    return math.sqrt(6.0 / (fan_in + fan_out))


def he(fan_in: int) -> float:
    """The bound of He (Kaiming) uniform weights: sqrt(6 / fan_in)."""
    return math.sqrt(6.0 / fan_in)


def input_size(layer: str, x: Tensor, axis: int, what: str) -> int:
    """The size of ``x`` along ``axis`` that a layer builds its weights for; not zero."""
    if x.ndim == 0 or x.shape[axis] == 0:
        raise ShapeMismatchError(f"{layer}: input of shape {x.shape} has no {what}")
    return x.shape[axis]
