"""Layers and the Keras-like ``Model`` of the original Zen, on any device.

A layer creates its parameters on its first call, from the input's size and device, with
zen's seeded generator (``zen.seed``), so one seed gives the same model on every device; a
model given its input shape (``Model(layers, input_shape=...)`` or ``model.build``) creates
them at once, with the same draws. A call that fails leaves every layer as it was.

The layers live in ``zen.layers``, one module per kind; this module gathers them.
"""

from __future__ import annotations

import contextlib
import numbers
import os
from collections.abc import Callable, Iterable, Iterator
from typing import TypeAlias

from zen import arguments, data, devices, recorder, training
from zen import checkpoint as _checkpoint
from zen import loss as losses
from zen.distributed import Communicator
from zen.errors import ArgumentError, NotBuiltError
from zen.errors import CheckpointError as CheckpointError  # users import it from zen.nn
from zen.layers import attention, convolutional, core, normalization, pooling, recurrent
from zen.layers.attention import MultiHeadAttention
from zen.layers.base import Layer, Pair, undone_on_failure
from zen.layers.convolutional import Conv1D, Conv2D, Conv2DTranspose
from zen.layers.core import (
    CELU,
    ELU,
    GELU,
    SELU,
    Dropout,
    Flatten,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    Linear,
    LogSigmoid,
    LogSoftmax,
    Mish,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softmin,
    Softplus,
    Softsign,
    Tanh,
)
from zen.layers.normalization import (
    BatchNorm1D,
    BatchNorm2D,
    Embedding,
    GroupNorm,
    LayerNorm,
    RMSNorm,
)
from zen.layers.pooling import AvgPool2D, MaxPool2D, UpSampling2D
from zen.layers.recurrent import LSTM, RNN
from zen.namespaces import array_namespaces
from zen.optim import Optimizer
from zen.tensor import Tensor, TensorLike, constant, get_default_dtype

__all__ = [
    "CELU", "ELU", "GELU", "LSTM", "RNN", "SELU", "AvgPool2D", "BatchNorm1D", "BatchNorm2D",
    "CheckpointError", "Conv1D", "Conv2D", "Conv2DTranspose", "Dropout", "Embedding",
    "Flatten", "GroupNorm", "Hardsigmoid", "Hardswish", "Hardtanh", "InputShape", "Layer",
    "LayerNorm", "LeakyReLU", "Linear", "LogSigmoid", "LogSoftmax", "MaxPool2D", "Mish",
    "Model", "MultiHeadAttention", "Pair", "RMSNorm", "ReLU", "ReLU6", "SiLU", "Sigmoid", "Softmax",
    "Softmin", "Softplus", "Softsign", "Tanh", "UpSampling2D"]

# One example's shape, without the batch axis: (64,) or [1, 28, 28].
InputShape: TypeAlias = tuple[int, ...] | list[int]


@contextlib.contextmanager
def _in_mode(model: Model, training: bool) -> Iterator[None]:
    """``model.in_mode(training)``: a context that runs the model in training (True) or
    inference mode and then puts it, and each layer, back in the mode it was in, also after
    an exception."""
    modes = model.training, [layer.training for layer in model.layers]
    model._switch("in_mode", training)
    try:
        yield
    finally:
        model.training = modes[0]
        for layer, mode in zip(model.layers, modes[1], strict=True):
            layer.training = mode


class Model:
    """Layers applied in order, trained by ``train`` as in the original Zen.

    ``Model([Linear(64), ReLU(), Linear(10)], device="cuda")``. Inputs may be NumPy arrays
    or Tensors; data is never trainable. Lazy layers (Linear, RNN, LSTM, Conv2D) take their
    input size from the first call; ``input_shape`` (one example's shape, without the batch
    axis, as in Keras) builds them now, so that ``model.parameters()`` can go to an
    optimiser before any data has been seen.
    """

    def __init__(self, layers: Iterable[Layer], device: str | None = None,
                 input_shape: InputShape | None = None) -> None:
        self.layers = list(layers)
        for index, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise ArgumentError(f"Model: layers[{index}] is "
                                    f"{arguments.described(layer)}, not a layer such as "
                                    f"Linear(10)")
        self.backend = devices.get_backend(device or "cpu")
        self.input_shape = None     # one example's, from the first call: what it was built for
        self.training = False       # inference, as Keras's plain call (PyTorch starts training)
        if input_shape is not None:
            self._build("Model", input_shape)

    @property
    def device(self) -> str:
        """The device string, e.g. 'cpu'."""
        return self.backend.name

    @property
    def built(self) -> bool:
        """Whether every layer has its parameters."""
        return all(layer.built for layer in self.layers)

    def build(self, input_shape: InputShape) -> Model:
        """Create the parameters for inputs of ``input_shape`` (one example's shape, without
        the batch axis), with the very draws from zen's generator that a first call would
        make; return the model."""
        return self._build("build", input_shape)

    def __call__(self, x: TensorLike) -> Tensor:
        x = data.on_device(self.backend, x)
        if self.built:
            return self._forward(x)
        with self.undone_on_failure():
            return self._forward(x)

    def undone_on_failure(self) -> contextlib.AbstractContextManager[None]:
        """A context: should its block fail, the layers drop the weights it created and
        zen's generator is set back, as after a failed first call."""
        return undone_on_failure(self.layers)

    def _forward(self, x):
        if recorder.tracer is not None:     # a traced step: its layers are guarded
            recorder.tracer.models[id(self)] = self
        shape = tuple(x.shape[1:])
        for layer in self.layers:
            x = layer(x)
        if self.input_shape is None:
            self.input_shape = shape
        return x

    def parameters(self) -> list[Tensor]:
        """The trainable parameters, for an optimiser. Raises NotBuiltError while a lazy
        layer has none yet, rather than give a list that would leave its parameters out."""
        _check_built(self.layers)
        return self._parameters()

    def _parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def named_parameters(self) -> dict[str, Tensor]:
        """``{"0.Linear.weight": tensor, ...}``: layer index, layer class, weight name."""
        return self._named("weights")

    def named_buffers(self) -> dict[str, Tensor]:
        """``{"0.BatchNorm.mean": tensor, ...}``: the layers' non-trainable state."""
        return self._named("buffers")

    def _named(self, slot):
        return {f"{i}.{type(layer).__name__}.{name}": tensor
                for i, layer in enumerate(self.layers)
                for name, tensor in getattr(layer, slot).items()}

    def to(self, device: str) -> Model:
        """Move the model's parameters and buffers to ``device`` (in place) and run there from
        now on."""
        self.backend = devices.get_backend(device)
        for tensor in self._parameters() + list(self.named_buffers().values()):
            tensor.move_to(self.backend)
        return self

    def train(self, x: TensorLike | bool | None = None, y: TensorLike | None = None,
              epochs: int = 10,
              loss_fn: Callable[[Tensor, Tensor], Tensor] = losses.MSE,
              optimizer: Optimizer | None = None, batch_size: int = 32, shuffle: bool = True,
              validation_data: tuple[TensorLike, TensorLike] | None = None,
              verbose: bool = True, log_every: int = 10,
              checkpoint: str | os.PathLike | None = None, resume: bool = False,
              distributed: bool | Communicator = False, capture: bool = True
              ) -> dict[str, list[float]] | Model:
        """Fit the model to (x, y) with mini-batches, in training mode; return the history of
        losses. The model is left in the mode it was in. Without data, ``model.train()`` (or
        ``model.train(False)``) switches the mode for hand-written loops, as PyTorch's, and
        returns the model. The defaults are the original Zen's (10 epochs of MSE,
        ``SGD(lr=0.1)``, batches of 32), except that each epoch is shuffled unless
        ``shuffle=False``.

        On one process each step is captured (``zen.capture``, unless ``capture=False``):
        replayed with the same results and no per-op Python, or run eagerly where it cannot
        be (dropout); the loss function's own Python side effects happen at traced steps only.
        The running loss stays on the device, read for the progress bar every ``log_every``
        steps. With ``checkpoint`` (a path), the model, the optimiser and the position in
        training are saved there atomically after every epoch and when interrupted (Ctrl-C
        stops between steps); ``resume=True`` carries on from that file when it exists, and
        ends where an uninterrupted run would have.

        ``distributed=True``, in every process of an MPI job (``mpirun -n 2 python ...``),
        trains one model data-parallel: each process takes ``batch_size`` examples of every
        step, gradients are averaged before each optimiser step, and only rank 0 prints and
        writes the checkpoint; a ``zen.distributed.Communicator`` is used as it is.

        Every argument is checked first (``ArgumentError`` names the one that is wrong), and
        so is the data, the validation data too, once per call: NaN or Inf, counts that
        differ, class targets that do not fit. ``epochs=0`` checks the data and builds the
        model but takes no step, as Keras's ``fit`` does.
        """
        if y is None and (x is None or isinstance(x, bool)):
            return self._switch("train", True if x is None else x)
        if x is None or y is None:
            raise ArgumentError("train: fitting needs both x and y; model.train() without "
                                "data switches to training mode")
        settings = training.Settings(
            epochs=epochs, loss_fn=loss_fn, optimizer=optimizer, batch_size=batch_size,
            shuffle=shuffle, validation_data=validation_data, verbose=verbose,
            log_every=log_every, checkpoint=checkpoint, resume=resume, distributed=distributed,
            capture=capture)
        return training.Fit(self, settings).run(x, y)

    def evaluate(self, x: TensorLike, y: TensorLike,
                 loss_fn: Callable[[Tensor, Tensor], Tensor] = losses.MSE,
                 batch_size: int = 256) -> dict[str, float]:
        """``{"loss": ..., "accuracy": ...}`` on (x, y), checked as ``train`` checks its data;
        accuracy with a classification loss (one that sets ``classification = True``)."""
        arguments.loss_function("evaluate", loss_fn)
        batch_size = arguments.integer("evaluate", "batch_size", batch_size, minimum=1)
        with self.undone_on_failure():
            x, y, loss_fn = data.checked(self, "evaluate", x, y, loss_fn)
        return data.scores(self, x, y, loss_fn, batch_size)

    def predict(self, x: TensorLike, batch_size: int = 256) -> Tensor:
        """The model's outputs for x, in batches, without recording a graph."""
        batch_size = arguments.integer("predict", "batch_size", batch_size, minimum=1)
        return data.predicted(self, data.on_device(self.backend, x), batch_size, self)

    def eval(self) -> Model:
        """Inference mode for hand-written loops (``predict`` and ``evaluate`` always run in
        it); returns the model."""
        return self._switch("eval", False)

    in_mode = _in_mode

    def _switch(self, who, training):
        self.training = arguments.flag(who, "mode", training)
        for layer in self.layers:
            layer.train(self.training)
        return self

    def save(self, path: str | os.PathLike) -> None:
        """Write the weights, buffers and layer settings to ``path`` (.npz) atomically: a crash
        mid-write leaves the previous file intact."""
        _checkpoint.save(self, path)

    def load_weights(self, path: str | os.PathLike) -> Model:
        """Set the weights and buffers from a file ``save`` wrote for a model of these same
        layers; an unbuilt model is built for the file's input shape first.

        Everything is checked before anything is set, so a file that does not fit leaves the
        model as it was."""
        return _checkpoint.load_weights(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | None = None,
             custom_layers: Iterable[type[Layer]] | dict[str, type[Layer]] | None = None
             ) -> Model:
        """The model ``save`` wrote to ``path``, rebuilt from its layer settings; your own
        Layer classes in it are found in ``custom_layers`` (a list of classes, or a dict of
        name -> class), as Keras's ``custom_objects``."""
        return _checkpoint.load(path, lambda layers: cls(layers, device),
                                {**LAYERS, **_layer_classes(custom_layers)})

    def _build(self, who, input_shape):
        ids = bool(self.layers) and self.layers[0].takes_ids
        example = _zero_example(who, self.backend, input_shape, "int64" if ids else None)
        self.predict(constant(example, self.backend))   # as a first call would, in inference
        return self


def _check_built(layers):
    unbuilt = [f"{index} ({type(layer).__name__})"
               for index, layer in enumerate(layers) if not layer.built]
    if unbuilt:
        raise NotBuiltError(f"Model.parameters: layer(s) {', '.join(unbuilt)} take their "
                            f"input size from the data and have no parameters yet; "
                            f"build the model first: Model(layers, input_shape=...) or "
                            f"model.build(input_shape), with one example's shape (no "
                            f"batch axis), or call it on a batch")


def _zero_example(who, backend, input_shape, dtype=None):
    """A batch of one example of ``input_shape`` (checked), zeros on ``backend`` in ``dtype``
    (default: the default float dtype)."""
    if not isinstance(input_shape, (tuple, list)) or not input_shape or not all(
            isinstance(size, numbers.Integral) and not isinstance(size, bool) and size > 0
            for size in input_shape):
        raise ArgumentError(f"{who}: input_shape must be a tuple of positive ints, one "
                            f"example's shape without the batch axis, such as (64,), got "
                            f"{arguments.described(input_shape)}")
    dtype = backend.dtype(dtype or get_default_dtype())
    try:
        return array_namespaces[backend].zeros((1, *map(int, input_shape)), dtype=dtype,
                                device=backend.native_device)
    except (MemoryError, ValueError):   # NumPy: "array is too big"
        raise ArgumentError(f"{who}: one example of input_shape {tuple(input_shape)} does "
                            f"not fit in memory") from None


def _layer_classes(custom_layers):
    """``custom_layers`` (None, a list of Layer classes, or a dict name -> class) as a dict."""
    if custom_layers is None:
        return {}
    classes = (dict(custom_layers) if isinstance(custom_layers, dict)
               else {getattr(layer, "__name__", repr(layer)): layer for layer in custom_layers})
    for name, layer in classes.items():
        if not (isinstance(layer, type) and issubclass(layer, Layer)):
            raise ArgumentError(f"Model.load: custom_layers[{name!r}] should be a Layer "
                                f"subclass, got {layer!r}")
    return classes


# Every layer class zen defines, by name: what Model.load rebuilds from a file's settings.
LAYERS = {name: value for module in (core, recurrent, convolutional, pooling, normalization,
                                     attention)
          for name, value in vars(module).items()
          if isinstance(value, type) and issubclass(value, Layer) and value is not Layer
          and not name.startswith("_")}
