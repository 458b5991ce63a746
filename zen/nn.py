"""Layers and the Keras-like ``Model`` of the original Zen, on any device.

A layer creates its parameters on its first call, from the input's size and device, with
zen's seeded generator (``zen.seed``), so one seed gives the same model on every device; a
model given its input shape (``Model(layers, input_shape=...)`` or ``model.build``) creates
them at once, with the same draws. A call that fails leaves every layer as it was.
"""

import contextlib
import math
import numbers
import os
import signal
import threading
import time

from zen import checkpoint as _checkpoint, devices, distributed as _distributed, functional
from zen import loss as losses, ops, optim, random
from zen.errors import CheckpointError  # noqa: F401 (users import it from zen.nn)
from zen.errors import ArgumentError, DataError, NotBuiltError, ShapeMismatchError
from zen.recorder import no_grad
from zen.tensor import Tensor, constant, get_default_dtype


class Layer:
    """A building block: ``layer(x)`` runs ``forward``. ``config`` holds the constructor's
    arguments, so a saved model can be rebuilt.

    ``weights`` are what optimisers train; ``buffers`` are state that is saved and loaded with
    them but never trained (a normalisation layer's running statistics, say). A layer whose
    weights depend on its input's size sets ``lazy = True`` and creates them (``add_weight``)
    in its first call; until then it is not ``built``. A first call that fails takes its
    weights back, so the next call builds from its own input."""

    training = False
    lazy = False

    def __init__(self, **config):
        self.config = config
        self.weights = {}       # name -> trainable Tensor, in creation order
        self.buffers = {}       # name -> non-trainable Tensor, in creation order

    @property
    def built(self):
        return not self.lazy or bool(self.weights)

    def __call__(self, x):
        if self.built:
            return self.forward(x)
        with _undone_on_failure([self]):
            return self.forward(x)

    def forward(self, x):
        raise NotImplementedError

    def parameters(self):
        return list(self.weights.values())

    def add_weight(self, name, shape, like, scale=0.0):
        """A new trainable parameter on ``like``'s device: uniform on [-scale, scale] from
        zen's generator, or zeros when ``scale`` is 0."""
        backend = like.backend
        dtype = backend.dtype(get_default_dtype())
        if scale:
            values = backend.asarray(random.generator().uniform(-scale, scale, shape), dtype)
        else:
            values = backend.xp.zeros(shape, dtype=dtype, device=backend.native_device)
        weight = self.weights[name] = Tensor(values, device=backend)
        return weight

    def add_buffer(self, name, shape, like, fill=0.0):
        """A new non-trainable tensor of ``fill`` on ``like``'s device, saved with the weights
        but never given to an optimiser."""
        backend = like.backend
        values = backend.xp.full(shape, fill, dtype=backend.dtype(get_default_dtype()),
                                 device=backend.native_device)
        buffer = self.buffers[name] = Tensor(values, trainable=False, device=backend)
        return buffer

    def __repr__(self):
        settings = ", ".join(f"{key}={value!r}" for key, value in self.config.items())
        return f"{type(self).__name__}({settings})"


@contextlib.contextmanager
def _undone_on_failure(layers):
    """Around a call that builds ``layers``: should it fail, the weights it created are
    dropped and zen's generator is set back, so that the next call builds from its own
    input and a seed gives the model it would have given."""
    weights = [dict(layer.weights) for layer in layers]
    generator_state = random.generator().get_state()
    try:
        yield
    except BaseException:
        for layer, before in zip(layers, weights):
            layer.weights = before
        random.generator().set_state(generator_state)
        raise


def _integer(who, name, value, minimum=None):
    """``value`` as a Python int (of at least ``minimum``, 0 or 1), or ArgumentError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or \
            minimum is not None and value < minimum:
        kind = {None: "an int", 0: "a non-negative int", 1: "a positive int"}[minimum]
        raise ArgumentError(f"{who}: {name} must be {kind}, got {_described(value)}")
    return int(value)


def _flag(who, name, value):
    """``value`` as a bool: True, False, 1 or 0 (as Keras's ``verbose=0``), or ArgumentError."""
    if isinstance(value, bool) or isinstance(value, numbers.Integral) and value in (0, 1):
        return bool(value)
    raise ArgumentError(f"{who}: {name} must be True or False, got {_described(value)}")


def _glorot(fan_in, fan_out):
    return math.sqrt(6.0 / (fan_in + fan_out))


def _he(fan_in):
    return math.sqrt(6.0 / fan_in)


class Linear(Layer):
    """``x @ weight + bias`` with ``units`` outputs; the input size is taken from the first
    call. Glorot-uniform weights (He for ``init="he"``), zero bias."""

    lazy = True

    def __init__(self, units, use_bias=True, init="glorot"):
        units = _integer("Linear", "units", units, minimum=1)
        use_bias = _flag("Linear", "use_bias", use_bias)
        if init not in ("glorot", "he"):
            raise ArgumentError(f"Linear: init must be 'glorot' or 'he', got {init!r}")
        super().__init__(units=units, use_bias=use_bias, init=init)
        self.units, self.use_bias, self.init = units, use_bias, init

    def forward(self, x):
        if not self.weights:
            fan_in = _input_size("Linear", x, -1, "features")
            scale = _he(fan_in) if self.init == "he" else _glorot(fan_in, self.units)
            self.add_weight("weight", (fan_in, self.units), x, scale)
            if self.use_bias:
                self.add_weight("bias", (self.units,), x)
        weight = self.weights["weight"]
        if x.shape[-1] != weight.shape[0]:
            raise ShapeMismatchError(f"Linear: input has {x.shape[-1]} features (shape "
                                     f"{x.shape}) but this layer was built for "
                                     f"{weight.shape[0]}")
        if self.use_bias and x.ndim >= 2:
            return ops.linear(x, weight, self.weights["bias"])
        out = x @ weight
        return out + self.weights["bias"] if self.use_bias else out


class RNN(Layer):
    """A tanh recurrent layer over (batch, time, features) inputs, with ``hidden_dim``
    state units and a linear read-out of ``units``: the last step's, or every step's with
    ``return_sequences``. One matmul per time step for the whole batch."""

    lazy = True

    def __init__(self, units, hidden_dim, return_sequences=False):
        units = _integer("RNN", "units", units, minimum=1)
        hidden_dim = _integer("RNN", "hidden_dim", hidden_dim, minimum=1)
        return_sequences = _flag("RNN", "return_sequences", return_sequences)
        super().__init__(units=units, hidden_dim=hidden_dim, return_sequences=return_sequences)
        self.units, self.hidden_dim, self.return_sequences = units, hidden_dim, return_sequences

    def forward(self, x):
        hidden_dim = self.hidden_dim
        _check_sequence("RNN", x, self.weights.get("input_weight"))
        if not self.weights:
            features = _input_size("RNN", x, -1, "features")
            self.add_weight("input_weight", (features, hidden_dim), x,
                            _glorot(features, hidden_dim))
            self.add_weight("hidden_weight", (hidden_dim, hidden_dim), x,
                            _glorot(hidden_dim, hidden_dim))
            self.add_weight("hidden_bias", (hidden_dim,), x)
            self.add_weight("output_weight", (hidden_dim, self.units), x,
                            _glorot(hidden_dim, self.units))
            self.add_weight("output_bias", (self.units,), x)
        w = self.weights
        hidden = ops.tanh(x[:, 0] @ w["input_weight"] + w["hidden_bias"])
        states = [hidden]
        for step in range(1, x.shape[1]):
            hidden = ops.rnn_step(x[:, step], hidden, w["input_weight"], w["hidden_weight"],
                                  w["hidden_bias"])
            states.append(hidden)
        out = functional.stack(states, axis=1) if self.return_sequences else hidden
        return out @ w["output_weight"] + w["output_bias"]


class LSTM(Layer):
    """A long short-term memory layer with ``units`` hidden units over (batch, time,
    features) inputs: the last hidden state, or every step's with ``return_sequences``.
    The four gates share one matmul per step; the forget gate's bias starts at 1."""

    lazy = True

    def __init__(self, units, return_sequences=False):
        units = _integer("LSTM", "units", units, minimum=1)
        return_sequences = _flag("LSTM", "return_sequences", return_sequences)
        super().__init__(units=units, return_sequences=return_sequences)
        self.units, self.return_sequences = units, return_sequences

    def forward(self, x):
        units = self.units
        _check_sequence("LSTM", x, self.weights.get("input_weight"))
        if not self.weights:
            features = _input_size("LSTM", x, -1, "features")
            self.add_weight("input_weight", (features, 4 * units), x,
                            _glorot(features, 4 * units))
            self.add_weight("hidden_weight", (units, 4 * units), x, _glorot(units, 4 * units))
            bias = self.add_weight("bias", (4 * units,), x)
            bias.value[units:2 * units] = 1.0
        w = self.weights
        inputs = x @ w["input_weight"] + w["bias"]
        hidden = cell = None
        states = []
        for step in range(x.shape[1]):
            gates = inputs[:, step] if hidden is None else \
                inputs[:, step] + hidden @ w["hidden_weight"]
            forget = ops.sigmoid(gates[:, units:2 * units])
            update = ops.sigmoid(gates[:, :units]) * ops.tanh(gates[:, 2 * units:3 * units])
            cell = update if cell is None else forget * cell + update
            hidden = ops.sigmoid(gates[:, 3 * units:]) * ops.tanh(cell)
            states.append(hidden)
        return functional.stack(states, axis=1) if self.return_sequences else hidden


def _input_size(layer, x, axis, what):
    """The size of ``x`` along ``axis`` that a layer builds its weights for; not zero."""
    if x.ndim == 0 or x.shape[axis] == 0:
        raise ShapeMismatchError(f"{layer}: input of shape {x.shape} has no {what}")
    return x.shape[axis]


def _check_sequence(layer, x, input_weight):
    """Refuse anything but (batch, time, features) with at least one time step, and, once
    the layer is built (``input_weight``), another number of features."""
    built = input_weight is not None
    features = input_weight.shape[0] if built else "features"
    if x.ndim != 3 or built and x.shape[-1] != features:
        raise ShapeMismatchError(f"{layer}: needs input (batch, time, {features}), got "
                                 f"{x.shape}")
    if x.shape[1] == 0:
        raise ShapeMismatchError(f"{layer}: needs at least one time step, got input of "
                                 f"shape {x.shape}")


class Conv2D(Layer):
    """2-D convolution of NCHW inputs with ``filters`` kernels of ``kernel_size``;
    ``padding`` is "valid", "same" (odd kernels, stride 1) or a number. He-uniform weights."""

    lazy = True

    def __init__(self, filters, kernel_size, strides=1, padding="valid", use_bias=True):
        filters = _integer("Conv2D", "filters", filters, minimum=1)
        use_bias = _flag("Conv2D", "use_bias", use_bias)
        super().__init__(filters=filters, kernel_size=kernel_size, strides=strides,
                         padding=padding, use_bias=use_bias)
        self.filters, self.use_bias = filters, use_bias
        self.kernel = functional._pair("Conv2D: kernel_size", kernel_size, minimum=1)
        self.strides = functional._pair("Conv2D: strides", strides, minimum=1)
        if padding == "same":
            if self.strides != (1, 1) or self.kernel[0] % 2 == 0 or self.kernel[1] % 2 == 0:
                raise ArgumentError(f"Conv2D: padding='same' needs stride 1 and odd kernel "
                                    f"sizes, got strides={strides}, kernel_size={kernel_size}")
            padding = (self.kernel[0] // 2, self.kernel[1] // 2)
        elif padding == "valid":
            padding = 0
        elif isinstance(padding, str):
            raise ArgumentError(f"Conv2D: padding must be 'valid', 'same', an int or a pair, "
                                f"got {padding!r}")
        self.padding = functional._pair("Conv2D: padding", padding)

    def forward(self, x):
        if x.ndim != 4:
            raise ShapeMismatchError(f"Conv2D: needs input (batch, channels, height, width), "
                                     f"got {x.shape}")
        if not self.weights:
            channels = _input_size("Conv2D", x, 1, "channels")
            fan_in = channels * self.kernel[0] * self.kernel[1]
            self.add_weight("weight", (self.filters, channels) + self.kernel, x, _he(fan_in))
            if self.use_bias:
                self.add_weight("bias", (self.filters,), x)
        return functional.conv2d(x, self.weights["weight"], self.weights.get("bias"),
                                 stride=self.strides, padding=self.padding)


class MaxPool2D(Layer):
    """The maximum of each ``pool_size`` window of NCHW inputs."""

    def __init__(self, pool_size=2, strides=None):
        functional._pair("MaxPool2D: pool_size", pool_size, minimum=1)
        if strides is not None:
            functional._pair("MaxPool2D: strides", strides, minimum=1)
        super().__init__(pool_size=pool_size, strides=strides)
        self.pool_size, self.strides = pool_size, strides

    def forward(self, x):
        return functional.max_pool2d(x, self.pool_size, self.strides)


class Flatten(Layer):
    """(batch, ...) -> (batch, features)."""

    def forward(self, x):
        return functional.flatten(x, 1)


class Dropout(Layer):
    """While training, zero each input with probability ``rate`` and scale the rest by
    1 / (1 - rate); at inference, pass the input through."""

    def __init__(self, rate):
        super().__init__(rate=rate)
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
            raise ArgumentError(f"Dropout: rate must be in [0, 1), got {rate}")
        self.rate = rate

    def forward(self, x):
        if not self.training or self.rate == 0:
            return x
        keep = random.generator().uniform(0.0, 1.0, x.shape) >= self.rate
        mask = Tensor(keep / (1 - self.rate), trainable=False, device=x.backend, dtype=x.dtype)
        return x * mask


def _activation(name, function, doc):
    def forward(self, x):
        return function(x)

    return type(name, (Layer,), {"forward": forward, "__doc__": doc})


Sigmoid = _activation("Sigmoid", ops.sigmoid, "1 / (1 + exp(-x)), elementwise.")
Tanh = _activation("Tanh", ops.tanh, "tanh(x), elementwise.")
ReLU = _activation("ReLU", ops.relu, "max(x, 0), elementwise.")


class Softmax(Layer):
    """exp(x) / sum(exp(x)) along ``axis``."""

    def __init__(self, axis=-1):
        super().__init__(axis=_integer("Softmax", "axis", axis))
        self.axis = self.config["axis"]

    def forward(self, x):
        return ops.softmax(x, self.axis)


LAYERS = {cls.__name__: cls for cls in [Linear, RNN, LSTM, Conv2D, MaxPool2D, Flatten,
                                        Dropout, Sigmoid, Tanh, ReLU, Softmax]}


class Model:
    """Layers applied in order, trained by ``train`` as in the original Zen.

    ``Model([Linear(64), ReLU(), Linear(10)], device="cuda")``. Inputs may be NumPy arrays
    or Tensors; data is never trainable. Lazy layers (Linear, RNN, LSTM, Conv2D) take their
    input size from the first call; ``input_shape`` (one example's shape, without the batch
    axis, as in Keras) builds them now, so that ``model.parameters()`` can go to an
    optimiser before any data has been seen.
    """

    def __init__(self, layers, device=None, input_shape=None):
        self.layers = list(layers)
        for index, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise ArgumentError(f"Model: layers[{index}] is {_described(layer)}, not a "
                                    f"layer such as Linear(10)")
        self.backend = devices.get_backend(device or "cpu")
        self.input_shape = None     # one example's, from the first call: what it was built for
        if input_shape is not None:
            self._build("Model", input_shape)

    device = property(lambda self: self.backend.name)

    @property
    def built(self):
        """Whether every layer has its parameters."""
        return all(layer.built for layer in self.layers)

    def build(self, input_shape):
        """Create the parameters for inputs of ``input_shape`` (one example's shape, without
        the batch axis), with the very draws from zen's generator that a first call would
        make; return the model."""
        return self._build("build", input_shape)

    def __call__(self, x):
        x = self._data(x)
        if self.built:
            return self._forward(x)
        with _undone_on_failure(self.layers):
            return self._forward(x)

    def _forward(self, x):
        shape = tuple(x.shape[1:])
        for layer in self.layers:
            x = layer(x)
        if self.input_shape is None:
            self.input_shape = shape
        return x

    def parameters(self):
        """The trainable parameters, for an optimiser. Raises NotBuiltError while a lazy
        layer has none yet, rather than give a list that would leave its parameters out."""
        unbuilt = [f"{index} ({type(layer).__name__})"
                   for index, layer in enumerate(self.layers) if not layer.built]
        if unbuilt:
            raise NotBuiltError(f"Model.parameters: layer(s) {', '.join(unbuilt)} take their "
                                f"input size from the data and have no parameters yet; "
                                f"build the model first: Model(layers, input_shape=...) or "
                                f"model.build(input_shape), with one example's shape (no "
                                f"batch axis), or call it on a batch")
        return self._parameters()

    def _parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def named_parameters(self):
        """``{"0.Linear.weight": tensor, ...}``: layer index, layer class, weight name."""
        return self._named("weights")

    def named_buffers(self):
        """``{"0.BatchNorm.mean": tensor, ...}``: the layers' non-trainable state."""
        return self._named("buffers")

    def _named(self, slot):
        return {f"{i}.{type(layer).__name__}.{name}": tensor
                for i, layer in enumerate(self.layers)
                for name, tensor in getattr(layer, slot).items()}

    def to(self, device):
        """Move the model's parameters and buffers to ``device`` (in place) and run there from
        now on."""
        self.backend = devices.get_backend(device)
        for tensor in self._parameters() + list(self.named_buffers().values()):
            tensor.move_to(self.backend)
        return self

    def train(self, x, y, epochs=10, loss_fn=losses.MSE, optimizer=None, batch_size=32,
              shuffle=True, validation_data=None, verbose=True, log_every=10,
              checkpoint=None, resume=False, distributed=False):
        """Fit the model to (x, y) with mini-batches; return the history of losses.

        The defaults are the original Zen's (10 epochs of MSE, ``SGD(lr=0.1)`` as the
        optimiser, batches of 32), except that each epoch's order is shuffled unless
        ``shuffle=False``.

        The running loss stays on the device and is read for the progress bar only every
        ``log_every`` steps, so a GPU is not made to wait for the host at each step. With
        ``checkpoint`` (a path), the model, the optimiser and the position in training are
        saved there atomically after every epoch and when interrupted (Ctrl-C stops between
        steps, never inside one); ``resume=True`` carries on from that file when it exists,
        and ends where an uninterrupted run would have.

        ``distributed=True``, in every process of an MPI job (``mpirun -n 2 python ...``),
        trains one model data-parallel: each process takes ``batch_size`` examples of every
        step (a step sees ``batch_size`` times the number of processes), gradients are
        averaged across processes before each optimiser step, and only rank 0 prints and
        writes the checkpoint. A ``zen.distributed.Communicator`` in place of True is used
        as it is (to read its ``seconds`` in collectives, or to set its ``timeout``).

        Every argument is checked first (``ArgumentError`` names the one that is wrong), and
        so is the data, the validation data too, once per call: NaN or Inf, counts that
        differ, class targets that do not fit (labels out of range). ``epochs=0`` checks
        the data and builds the model but takes no step, as Keras's ``fit`` does.
        """
        _check_train_arguments(epochs, loss_fn, optimizer, batch_size, shuffle,
                               validation_data, verbose, log_every, checkpoint, resume,
                               distributed)
        comm = distributed or None
        if comm is True:
            comm = _distributed.communicator(self.backend)
        step_rows = batch_size * (comm.size if comm else 1)
        # Ctrl-C is held from the start, so that one during the start-up checks also stops
        # every process after the same step; any other way out of train on one process alone
        # ends the whole job rather than leave the others waiting for it.
        with _interrupts_between_steps() as interrupted, \
                comm.abort_on_lone_exit() if comm else contextlib.nullcontext():
            # A refused resume leaves the layers unbuilt and zen's generator as they were.
            with comm.agree("train") if comm else contextlib.nullcontext(), \
                    _undone_on_failure(self.layers):
                x, y, loss_fn, validation_data = self._prepared(x, y, loss_fn,
                                                                validation_data)
                optimizer = optimizer if optimizer is not None else _default_optimizer()
                state = _TrainingState()
                run = _checkpoint.RunFacts(x, y, step_rows)
                resumed = bool(checkpoint and resume and os.path.exists(checkpoint))
                if resumed:
                    state = self._resume(checkpoint, optimizer, run)
            if comm:
                _distributed.start_training(comm, self, {
                    "the shape of x": tuple(x.shape), "the shape of y": tuple(y.shape),
                    "epochs": epochs, "batch_size": batch_size, "shuffle": shuffle,
                    "where training resumes": (state.epoch, state.batch),
                    "the optimiser": type(optimizer).__name__,
                    "the optimiser's settings": optimizer.settings(),
                    "the layers": _checkpoint.layer_specs(self, "train"),
                    "the validation data's shapes": None if validation_data is None else
                    [tuple(data.shape) for data in validation_data],
                    "whether rank 0 writes a checkpoint": bool(checkpoint),
                    "resume": resume})
                verbose = verbose and comm.rank == 0
                checkpoint = checkpoint if comm.rank == 0 else None
            if verbose and resumed and state.epoch >= epochs:
                print(_finished_run(checkpoint, state, epochs))
            steps = max(1, math.ceil(x.shape[0] / step_rows))
            self._set_training(True)
            try:
                while state.epoch < epochs:
                    started = time.perf_counter()
                    self._train_epoch(x, y, loss_fn, optimizer, step_rows, steps, shuffle,
                                      state, verbose and log_every, interrupted, comm)
                    state.finish_epoch(steps)
                    self._record_validation(state.history, validation_data, loss_fn)
                    if verbose:
                        print(self._epoch_line(state.epoch - 1, epochs, state.history,
                                               time.perf_counter() - started))
                    if checkpoint:
                        self._save_training(checkpoint, optimizer, state, run)
                    if _stopping(interrupted, comm):    # Ctrl-C in validation or saving
                        raise comm.together(KeyboardInterrupt()) if comm else KeyboardInterrupt
            except KeyboardInterrupt:
                if checkpoint:
                    self._save_training(checkpoint, optimizer, state, run)
                raise
            finally:
                self._set_training(False)
        return state.history

    def _train_epoch(self, x, y, loss_fn, optimizer, step_rows, steps, shuffle, state,
                     log_every, interrupted, comm):
        from tqdm.auto import tqdm

        count = x.shape[0]
        if state.order is None:
            if comm:
                with comm.at(f"train, start of epoch {state.epoch + 1}"):
                    _distributed.share_random_state(comm)
            state.order = self._order(count, shuffle)
            state.generator = random.generator().get_state()
        progress = tqdm(range(state.batch, steps), desc=f"epoch {state.epoch + 1}",
                        disable=not log_every, leave=False)
        for step in progress:
            first, last = step * step_rows, min((step + 1) * step_rows, count)
            start, stop = (_distributed.shard(first, last, comm.rank, comm.size) if comm
                           else (first, last))
            loss = None
            if stop > start:    # a process may get no rows of a short last step
                rows = state.order[start:stop]
                loss = loss_fn(self(_take_rows(x, rows)), _take_rows(y, rows))
                loss.backward()
                loss = loss.value
            parameters = self._parameters()
            if comm:    # all stop after this step, or none; one collective for both flags
                with comm.at(f"train, step {step + 1} of epoch {state.epoch + 1}"):
                    stopping, *present = comm.any_of_each(
                        [interrupted()] + [p.gradient is not None for p in parameters])
                    loss = comm.average_gradients(parameters, loss,
                                                  (stop - start) / (last - first), present)
            else:
                stopping = interrupted()
            optimizer.step(parameters)
            optimizer.zero_grad(parameters)
            state.batch = step + 1
            state.generator = random.generator().get_state()
            state.total = loss if state.total is None else state.total + loss
            if stopping:    # on every process after this same step
                raise comm.together(KeyboardInterrupt()) if comm else KeyboardInterrupt
            if log_every and ((step + 1) % log_every == 0 or step + 1 == steps):
                progress.set_postfix(loss=f"{state.loss_so_far():.4f}")    # and at the end
        progress.close()

    def evaluate(self, x, y, loss_fn=losses.MSE, batch_size=256):
        """``{"loss": ..., "accuracy": ...}`` on (x, y), checked as ``train`` checks its data;
        accuracy with a classification loss (one that sets ``classification = True``)."""
        _check_loss("evaluate", loss_fn)
        batch_size = _integer("evaluate", "batch_size", batch_size, minimum=1)
        with _undone_on_failure(self.layers):
            x, y, loss_fn = self._checked("evaluate", x, y, loss_fn)
        return self._evaluate(x, y, loss_fn, batch_size)

    def predict(self, x, batch_size=256):
        """The model's outputs for x, in batches, without recording a graph."""
        batch_size = _integer("predict", "batch_size", batch_size, minimum=1)
        x = self._data(x)
        if x.shape[0] == 0:
            raise DataError(f"predict: x has no examples (shape {x.shape})")
        modes = [layer.training for layer in self.layers]
        self._set_training(False)       # inference, also in the middle of training
        try:
            with no_grad():
                count = x.shape[0]
                parts = [self(x[start:min(start + batch_size, count)])
                         for start in range(0, count, batch_size)]
        finally:
            for layer, training in zip(self.layers, modes):
                layer.training = training
        return parts[0] if len(parts) == 1 else ops.concat(parts, axis=0)

    def save(self, path):
        """Write the weights, buffers and layer settings to ``path`` (.npz) atomically: a crash
        mid-write leaves the previous file intact."""
        _checkpoint.save(self, path)

    def load_weights(self, path):
        """Set the weights and buffers from a file ``save`` wrote for a model of these same
        layers; an unbuilt model is built for the file's input shape first.

        Everything is checked before anything is set, so a file that does not fit leaves the
        model as it was."""
        return _checkpoint.load_weights(self, path)

    @classmethod
    def load(cls, path, device=None, custom_layers=None):
        """The model ``save`` wrote to ``path``, rebuilt from its layer settings; your own
        Layer classes in it are found in ``custom_layers`` (a list of classes, or a dict of
        name -> class), as Keras's ``custom_objects``."""
        return _checkpoint.load(path, lambda layers: cls(layers, device),
                                {**LAYERS, **_layer_classes(custom_layers)})

    def _save_training(self, path, optimizer, state, run):
        _checkpoint.save_training(self, path, optimizer, state, run)

    def _resume(self, path, optimizer, run):
        """Set the model, the optimiser and zen's generator from a training checkpoint."""
        position = _checkpoint.resume(self, path, optimizer, run)
        state = _TrainingState(position.epoch, position.batch, position.order, position.partial,
                               position.history)
        state.generator = position.generator    # a save before the next step ends needs it
        return state

    def _build(self, who, input_shape):
        if not isinstance(input_shape, (tuple, list)) or not input_shape or not all(
                isinstance(size, numbers.Integral) and not isinstance(size, bool) and size > 0
                for size in input_shape):
            raise ArgumentError(f"{who}: input_shape must be a tuple of positive ints, one "
                                f"example's shape without the batch axis, such as (64,), got "
                                f"{_described(input_shape)}")
        dtype = self.backend.dtype(get_default_dtype())
        try:
            example = self.backend.xp.zeros((1, *map(int, input_shape)), dtype=dtype,
                                            device=self.backend.native_device)
        except (MemoryError, ValueError):   # NumPy: "array is too big"
            raise ArgumentError(f"{who}: one example of input_shape {tuple(input_shape)} does "
                                f"not fit in memory") from None
        self.predict(constant(example, self.backend))   # as a first call would, in inference
        return self

    def _prepared(self, x, y, loss_fn, validation_data):
        """``train``'s data, its loss (see ``_checked``) and its validation data as a pair of
        tensors, all checked once (train undoes a build that a failed check made)."""
        x, y, checked_loss = self._checked("train", x, y, loss_fn)
        if validation_data is not None:
            validation_data = self._checked("train (validation_data)", *validation_data,
                                            loss_fn)[:2]
        return x, y, checked_loss, validation_data

    def _checked(self, who, x, y, loss_fn):
        """(x, y) on the model's device, refused unless fit to use (``_check_data``), and the
        loss to call on them: a classification loss told that the labels are checked, and
        given one-hot rows in the model's dtype."""
        x, y = self._data(x), self._data(y, labels=True)
        labels = self._check_data(who, x, y, loss_fn)
        if losses.is_classification(loss_fn):
            y = y if labels else self._data(y)      # one-hot rows of any dtype, as floats
            loss_fn = losses.trusting_labels(loss_fn)
        return x, y, loss_fn

    def _check_data(self, who, x, y, loss_fn):
        """Refuse data that would train on nothing, on NaN, or with class targets that do not
        fit the model's outputs (labels out of range), before any parameter moves; return
        whether y holds class labels for a classification loss."""
        if x.shape[0] == 0:
            raise DataError(f"{who}: x has no examples (shape {x.shape})")
        if y.ndim == 0 or x.shape[0] != y.shape[0]:
            raise ShapeMismatchError(f"{who}: x has {x.shape[0]} examples but y has shape "
                                     f"{y.shape}")
        for label, data in (("x", x), ("y", y)):
            xp = data.backend.xp
            if data.backend.is_floating(data.dtype):
                bad = int(xp.sum(xp.astype(xp.logical_not(xp.isfinite(data.value)), xp.int64)))
                if bad:
                    raise DataError(f"{who}: {label} holds {bad} NaN or Inf value(s); clean "
                                    f"or drop those examples first")
        with no_grad():     # builds lazy layers now, before the epoch's order is drawn
            outputs = self.predict(_take_rows(x, self.backend.asarray([0])))
        return losses.is_classification(loss_fn) and \
            losses.check_class_targets(who, y, (y.shape[0], *outputs.shape[1:]))

    def _data(self, value, labels=False):
        """Data as a Tensor on the model's device (a Tensor already there as it is, so that a
        gradient can reach it) in the dtype new parameters get, as Keras casts its inputs;
        class labels (``labels=True`` and integers) stay integers."""
        if isinstance(value, Tensor) and value.backend is self.backend:
            tensor = value
        else:
            tensor = Tensor(value, trainable=False, device=self.backend)
        if labels and not self.backend.is_floating(tensor.dtype):
            return tensor
        dtype = self.backend.dtype(get_default_dtype())
        return tensor if tensor.dtype == dtype else ops.astype(tensor, dtype)

    def _order(self, count, shuffle):
        """The example indices of one epoch, on the device."""
        order = random.generator().permutation(count) if shuffle else list(range(count))
        return self.backend.asarray(order)

    def _set_training(self, training):
        for layer in self.layers:
            layer.training = training

    def _evaluate(self, x, y, loss_fn, batch_size=256):
        """``evaluate`` of data already checked, with the loss ``_checked`` gave."""
        prediction = self.predict(x, batch_size)
        with no_grad():
            result = {"loss": loss_fn(prediction, y).item()}
            if losses.is_classification(loss_fn):
                labels = y if y.ndim == prediction.ndim - 1 else ops.argmax(y, axis=-1)
                hits = ops.astype(ops.argmax(prediction, axis=-1) == labels, "float64")
                result["accuracy"] = ops.mean(hits).item()
        return result

    def _record_validation(self, history, validation_data, loss_fn):
        if validation_data is None:
            return
        for key, value in self._evaluate(*validation_data, loss_fn).items():
            history.setdefault(f"val_{key}", []).append(value)

    @staticmethod
    def _epoch_line(epoch, epochs, history, seconds):
        metrics = "  ".join(f"{key} {values[-1]:.4f}" for key, values in history.items())
        return f"epoch {epoch + 1}/{epochs}  {metrics}  ({seconds:.2f} s)"


class _TrainingState:
    """Where training stands: the epoch and the next batch in it, that epoch's order of
    examples, its running loss, and the history of finished epochs."""

    def __init__(self, epoch=0, batch=0, order=None, partial=0.0, history=None):
        self.epoch, self.batch, self.order = epoch, batch, order
        self.partial = partial      # loss summed over batches done before a resume
        self.total = None           # loss summed since, kept on the device
        self.generator = None       # zen's generator after the last finished step
        self.history = history or {"loss": []}

    def loss_sum(self):
        return self.partial + (0.0 if self.total is None else float(self.total))

    def loss_so_far(self):
        return self.loss_sum() / max(self.batch, 1)

    def finish_epoch(self, batches):
        self.history["loss"].append(self.loss_sum() / batches)
        self.epoch, self.batch, self.order, self.partial, self.total = \
            self.epoch + 1, 0, None, 0.0, None


@contextlib.contextmanager
def _interrupts_between_steps():
    """Ctrl-C during training takes effect after the current step, so that no parameter is
    left half-updated; yields a function that says whether one came."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: received.append(number))
    try:
        yield lambda: bool(received)
    finally:
        signal.signal(signal.SIGINT, previous)


def _stopping(interrupted, comm):
    """Whether Ctrl-C came, to this process or, distributed, to any (so that all stop)."""
    return comm.any_of_each([interrupted()])[0] if comm else interrupted()


def _check_train_arguments(epochs, loss_fn, optimizer, batch_size, shuffle, validation_data,
                           verbose, log_every, checkpoint, resume, distributed):
    """ArgumentError naming the first of ``train``'s settings that cannot work."""
    _integer("train", "epochs", epochs, minimum=0)
    _flag("train", "resume", resume)
    if checkpoint is not None:
        _checkpoint.checked_path("train", checkpoint)
    if not isinstance(distributed, (bool, _distributed.Communicator)):
        raise ArgumentError(f"train: distributed must be True, False or a "
                            f"zen.distributed.Communicator, got {_described(distributed)}")
    _integer("train", "batch_size", batch_size, minimum=1)
    _integer("train", "log_every", log_every, minimum=0)
    _flag("train", "shuffle", shuffle)
    _flag("train", "verbose", verbose)
    _check_loss("train", loss_fn)
    if optimizer is not None and not isinstance(optimizer, optim.Optimizer):
        raise ArgumentError(f"train: optimizer must be an optimiser such as "
                            f"zen.optim.Adam(lr=1e-3), got {_described(optimizer)}")
    if validation_data is not None and (not isinstance(validation_data, (tuple, list))
                                        or len(validation_data) != 2):
        raise ArgumentError(f"train: validation_data must be a pair (x, y), got "
                            f"{_described(validation_data)}")


def _check_loss(who, loss_fn):
    if not callable(loss_fn):
        raise ArgumentError(f"{who}: loss_fn must be a function of (prediction, target) such "
                            f"as zen.loss.MSE, got {_described(loss_fn)}")


def _described(value):
    """``value`` for an error message: short, whatever it is."""
    if isinstance(value, type):
        return f"the class {value.__name__}"
    text = repr(value)
    if len(text) <= 60:
        return text
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"an object of type {type(value).__name__}"


def _take_rows(data, rows):
    """The examples at ``rows`` of a data tensor: a plain gather, nothing to record."""
    return constant(data.backend.xp.take(data.value, rows, axis=0), data.backend)


def _finished_run(checkpoint, state, epochs):
    """What ``train`` says when the run it resumes has done every epoch asked, or more."""
    done = f"{state.epoch} epoch{'s' * (state.epoch != 1)}"
    asked = "" if state.epoch == epochs else f", more than the {epochs} asked"
    return (f"train: {checkpoint} holds a finished run ({done}{asked}); nothing left to "
            f"train, so train returns that run's history. For more epochs, raise epochs; to "
            f"start again, pass resume=False (which overwrites the file) or another path")


def _default_optimizer():
    return optim.SGD(lr=0.1)     # the original Zen's


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
