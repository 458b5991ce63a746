"""Layers and the Keras-like ``Model`` of the original Zen, on any device.

A layer creates its parameters on its first call, from the input's size and device, with
zen's seeded generator (``zen.seed``), so one seed gives the same model on every device.
"""

import contextlib
import json
import math
import os
import signal
import threading
import time

import backends
from zen import distributed as _distributed, functional, loss as losses, ops, random
from zen.errors import ArgumentError, CheckpointError, DataError, ShapeMismatchError
from zen.tensor import (Tensor, constant, get_default_dtype, mark_modified,
                        no_grad)


class Layer:
    """A building block: ``layer(x)`` runs ``forward``; parameters are created when first
    needed. ``config`` holds the constructor's arguments, so a saved model can be rebuilt."""

    training = False

    def __init__(self, **config):
        self.config = config
        self.weights = {}       # name -> trainable Tensor, in creation order

    def __call__(self, x):
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

    def __repr__(self):
        settings = ", ".join(f"{key}={value!r}" for key, value in self.config.items())
        return f"{type(self).__name__}({settings})"


def _glorot(fan_in, fan_out):
    return math.sqrt(6.0 / (fan_in + fan_out))


def _he(fan_in):
    return math.sqrt(6.0 / fan_in)


class Linear(Layer):
    """``x @ weight + bias`` with ``units`` outputs; the input size is taken from the first
    call. Glorot-uniform weights (He for ``init="he"``), zero bias."""

    def __init__(self, units, use_bias=True, init="glorot"):
        super().__init__(units=units, use_bias=use_bias, init=init)
        self.units, self.use_bias, self.init = units, use_bias, init

    def forward(self, x):
        if not self.weights:
            fan_in = x.shape[-1]
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

    def __init__(self, units, hidden_dim, return_sequences=False):
        super().__init__(units=units, hidden_dim=hidden_dim, return_sequences=return_sequences)
        self.units, self.hidden_dim, self.return_sequences = units, hidden_dim, return_sequences

    def forward(self, x):
        hidden_dim = self.hidden_dim
        if not self.weights:
            features = x.shape[-1]
            self.add_weight("input_weight", (features, hidden_dim), x,
                            _glorot(features, hidden_dim))
            self.add_weight("hidden_weight", (hidden_dim, hidden_dim), x,
                            _glorot(hidden_dim, hidden_dim))
            self.add_weight("hidden_bias", (hidden_dim,), x)
            self.add_weight("output_weight", (hidden_dim, self.units), x,
                            _glorot(hidden_dim, self.units))
            self.add_weight("output_bias", (self.units,), x)
        w = self.weights
        _check_sequence("RNN", x, w["input_weight"].shape[0])
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

    def __init__(self, units, return_sequences=False):
        super().__init__(units=units, return_sequences=return_sequences)
        self.units, self.return_sequences = units, return_sequences

    def forward(self, x):
        units = self.units
        if not self.weights:
            features = x.shape[-1]
            self.add_weight("input_weight", (features, 4 * units), x,
                            _glorot(features, 4 * units))
            self.add_weight("hidden_weight", (units, 4 * units), x, _glorot(units, 4 * units))
            bias = self.add_weight("bias", (4 * units,), x)
            bias.value[units:2 * units] = 1.0
        w = self.weights
        _check_sequence("LSTM", x, w["input_weight"].shape[0])
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


def _check_sequence(layer, x, features):
    if x.ndim != 3 or x.shape[-1] != features:
        raise ShapeMismatchError(f"{layer}: needs input (batch, time, {features}), got "
                                 f"{x.shape}")


class Conv2D(Layer):
    """2-D convolution of NCHW inputs with ``filters`` kernels of ``kernel_size``;
    ``padding`` is "valid", "same" (odd kernels, stride 1) or a number. He-uniform weights."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", use_bias=True):
        super().__init__(filters=filters, kernel_size=kernel_size, strides=strides,
                         padding=padding, use_bias=use_bias)
        self.filters, self.strides, self.use_bias = filters, strides, use_bias
        self.kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) \
            else tuple(kernel_size)
        if padding == "same":
            if strides != 1 or self.kernel[0] % 2 == 0 or self.kernel[1] % 2 == 0:
                raise ArgumentError(f"Conv2D: padding='same' needs stride 1 and odd kernel "
                                    f"sizes, got strides={strides}, kernel_size={kernel_size}")
            padding = (self.kernel[0] // 2, self.kernel[1] // 2)
        elif padding == "valid":
            padding = 0
        elif not isinstance(padding, (int, tuple, list)):
            raise ArgumentError(f"Conv2D: padding must be 'valid', 'same', an int or a pair, "
                                f"got {padding!r}")
        self.padding = padding

    def forward(self, x):
        if not self.weights:
            channels = x.shape[1]
            fan_in = channels * self.kernel[0] * self.kernel[1]
            self.add_weight("weight", (self.filters, channels) + self.kernel, x, _he(fan_in))
            if self.use_bias:
                self.add_weight("bias", (self.filters,), x)
        return functional.conv2d(x, self.weights["weight"], self.weights.get("bias"),
                                 stride=self.strides, padding=self.padding)


class MaxPool2D(Layer):
    """The maximum of each ``pool_size`` window of NCHW inputs."""

    def __init__(self, pool_size=2, strides=None):
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
        if not 0 <= rate < 1:
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
        super().__init__(axis=axis)
        self.axis = axis

    def forward(self, x):
        return ops.softmax(x, self.axis)


LAYERS = {cls.__name__: cls for cls in [Linear, RNN, LSTM, Conv2D, MaxPool2D, Flatten,
                                        Dropout, Sigmoid, Tanh, ReLU, Softmax]}


class Model:
    """Layers applied in order, trained by ``train`` as in the original Zen.

    ``Model([Linear(64), ReLU(), Linear(10)], device="cuda")``. Inputs may be NumPy arrays
    or Tensors; data is never trainable.
    """

    def __init__(self, layers, device=None):
        self.layers = list(layers)
        self.backend = backends.get_backend(device or "cpu")

    device = property(lambda self: self.backend.name)

    def __call__(self, x):
        x = self._data(x)
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def named_parameters(self):
        """``{"0.Linear.weight": tensor, ...}``: layer index, layer class, weight name."""
        return {f"{i}.{type(layer).__name__}.{name}": weight
                for i, layer in enumerate(self.layers) for name, weight in layer.weights.items()}

    def to(self, device):
        """Move the model's parameters to ``device`` (in place) and run there from now on."""
        self.backend = backends.get_backend(device)
        for parameter in self.parameters():
            parameter.move_to(self.backend)
        return self

    def train(self, x, y, epochs=1, loss_fn=losses.MSE, optimizer=None, batch_size=32,
              shuffle=True, validation_data=None, verbose=True, log_every=10,
              checkpoint=None, resume=False, distributed=False):
        """Fit the model to (x, y) with mini-batches; return the history of losses.

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
        """
        comm = distributed or None
        if comm is True:
            comm = _distributed.communicator(self.backend)
        step_rows = batch_size * (comm.size if comm else 1)
        # Ctrl-C is held from the start, so that one during the start-up checks also stops
        # every process after the same step; any other way out of train on one process alone
        # ends the whole job rather than leave the others waiting for it.
        with _interrupts_between_steps() as interrupted, \
                comm.abort_on_lone_exit() if comm else contextlib.nullcontext():
            with comm.agree("train") if comm else contextlib.nullcontext():
                x, y = self._data(x), self._data(y, labels=True)
                labels_checked = self._check_data("train", x, y, loss_fn)
                optimizer = optimizer if optimizer is not None else _default_optimizer()
                state = _TrainingState()
                if checkpoint and resume and os.path.exists(checkpoint):
                    state = self._resume(checkpoint, optimizer, step_rows)
            if comm:
                _distributed.start_training(comm, self, {
                    "the shape of x": tuple(x.shape), "the shape of y": tuple(y.shape),
                    "epochs": epochs, "batch_size": batch_size, "shuffle": shuffle,
                    "where training resumes": (state.epoch, state.batch),
                    "the optimiser": type(optimizer).__name__,
                    "the optimiser's settings": optimizer.settings()})
                verbose = verbose and comm.rank == 0
                checkpoint = checkpoint if comm.rank == 0 else None
            steps = max(1, math.ceil(x.shape[0] / step_rows))
            self._set_training(True)
            try:
                with losses.labels_checked(labels_checked):
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
                            self._save_training(checkpoint, optimizer, state, step_rows)
            except KeyboardInterrupt:
                if checkpoint:
                    self._save_training(checkpoint, optimizer, state, step_rows)
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
            parameters = self.parameters()
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
            if log_every and (step + 1) % log_every == 0:
                progress.set_postfix(loss=f"{state.loss_so_far():.4f}")
        progress.close()

    def evaluate(self, x, y, loss_fn=losses.MSE, batch_size=256):
        """``{"loss": ..., "accuracy": ...}`` on (x, y); accuracy with a classification loss."""
        prediction = self.predict(x, batch_size)
        y = self._data(y, labels=True)
        with no_grad():
            result = {"loss": loss_fn(prediction, y).item()}
            if loss_fn in _CLASSIFICATION_LOSSES and prediction.ndim == 2:
                labels = y if not self.backend.is_floating(y.dtype) else ops.argmax(y, axis=1)
                hits = ops.astype(ops.argmax(prediction, axis=1) == labels, "float64")
                result["accuracy"] = ops.mean(hits).item()
        return result

    def predict(self, x, batch_size=256):
        """The model's outputs for x, in batches, without recording a graph."""
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
        """Write the parameters and the layer settings to ``path`` (.npz) atomically: a crash
        mid-write leaves the previous file intact."""
        self._write(path)

    def _write(self, path, extra_arrays=None, training=None):
        named = self.named_parameters()
        if not named:
            raise CheckpointError("save: the model has no parameters yet; call it on a batch "
                                  "(or train it) first")
        arrays = {name: weight.numpy() for name, weight in named.items()}
        arrays.update(extra_arrays or {})
        info = {"format": "zen.Model", "version": 1, "layers": self._specs()}
        if training is not None:
            info["training"] = training
        try:
            backends.save_arrays(path, arrays, json.dumps(info))
        except OSError as error:
            raise CheckpointError(f"save: cannot write {path} ({error.strerror or error}); "
                                  f"the previous file, if any, is untouched") from error

    def load_weights(self, path):
        """Set the parameters from a file ``save`` wrote for a model of these same layers.

        Everything is checked before anything is set, so a file that does not fit leaves the
        model as it was."""
        arrays, info = _read_checkpoint(path)
        arrays = {name: array for name, array in arrays.items() if "/" not in name}
        saved_layers, mine = info["layers"], json.loads(json.dumps(self._specs()))
        if saved_layers != mine:
            raise CheckpointError(f"load: {path} holds a model of layers {saved_layers}, "
                                  f"not this model's {mine}")
        named = self.named_parameters()
        if named:
            if set(named) != set(arrays):
                raise CheckpointError(f"load: {path} has parameters {sorted(arrays)}, this "
                                      f"model has {sorted(named)}")
            for name, weight in named.items():
                if tuple(arrays[name].shape) != weight.shape:
                    raise CheckpointError(f"load: {name} has shape {arrays[name].shape} in "
                                          f"{path} but {weight.shape} in this model")
            for name, weight in named.items():
                weight.value = self.backend.asarray(arrays[name], weight.dtype)
                mark_modified(weight)
            return self
        for name, array in arrays.items():      # unbuilt layers take the file's weights
            index, _, weight_name = name.split(".", 2)
            self.layers[int(index)].weights[weight_name] = Tensor(array, device=self.backend)
        return self

    @classmethod
    def load(cls, path, device=None):
        """The model ``save`` wrote to ``path``, rebuilt from its layer settings."""
        _, info = _read_checkpoint(path)
        model = cls([LAYERS[spec["layer"]](**spec["config"]) for spec in info["layers"]], device)
        return model.load_weights(path)

    def _save_training(self, path, optimizer, state, step_rows):
        parameters = self.parameters()
        values = optimizer.state_values(parameters)
        counters = {key: value for key, value in values.items() if isinstance(value, int)}
        arrays = {f"optimizer/{key}": self.backend.to_host(value)
                  for key, value in values.items() if key not in counters}
        if state.order is not None:
            arrays["training/order"] = self.backend.to_host(state.order)
        # Mid-epoch, the generator as it was after the last finished step: a step cut short
        # may have drawn numbers (dropout) that the resumed run must draw again.
        generator = random.generator().get_state() if state.order is None else state.generator
        training = {"epoch": state.epoch, "batch": state.batch, "partial": state.loss_sum(),
                    "history": state.history, "optimizer": type(optimizer).__name__,
                    "counters": counters, "generator": generator, "step_rows": step_rows}
        self._write(path, arrays, training)

    def _resume(self, path, optimizer, step_rows):
        """Set the model, the optimiser and zen's generator from a training checkpoint."""
        arrays, info = _read_checkpoint(path)
        training = info.get("training")
        if training is None:
            raise CheckpointError(f"train: {path} holds a model but no training state to "
                                  f"resume; pass resume=False to start afresh from it")
        saved_rows = training.get("step_rows", step_rows)
        if training["batch"] and saved_rows != step_rows:
            raise CheckpointError(f"train: {path} stopped {training['batch']} steps into "
                                  f"epoch {training['epoch'] + 1}, at {saved_rows} examples a "
                                  f"step; this run takes {step_rows} (batch_size times the "
                                  f"number of processes), which would skip or repeat "
                                  f"examples: resume with the same batch_size and processes")
        if training["optimizer"] != type(optimizer).__name__:
            raise CheckpointError(f"train: {path} was trained with {training['optimizer']}, "
                                  f"not {type(optimizer).__name__}")
        self.load_weights(path)
        prefix = "optimizer/"
        values = {name[len(prefix):]: array for name, array in arrays.items()
                  if name.startswith(prefix)}
        optimizer.load_state_values(self.parameters(), {**values, **training["counters"]})
        random.generator().set_state(training["generator"])
        order = arrays.get("training/order")
        return _TrainingState(training["epoch"], training["batch"],
                              None if order is None else self.backend.asarray(order),
                              training["partial"], training["history"])

    def _check_data(self, name, x, y, loss_fn):
        """Refuse data that would train on nothing, on NaN or on labels out of range, before
        any parameter moves; return whether the class labels were checked."""
        if x.shape[0] == 0:
            raise DataError(f"{name}: x has no examples (shape {x.shape})")
        if x.shape[0] != y.shape[0]:
            raise ShapeMismatchError(f"{name}: x has {x.shape[0]} examples but y has "
                                     f"{y.shape[0]}")
        for label, data in (("x", x), ("y", y)):
            xp = data.backend.xp
            if data.backend.is_floating(data.dtype):
                bad = int(xp.sum(xp.astype(xp.logical_not(xp.isfinite(data.value)), xp.int64)))
                if bad:
                    raise DataError(f"{name}: {label} holds {bad} NaN or Inf value(s); clean "
                                    f"or drop those examples first")
        with no_grad():     # builds lazy layers now, before the epoch's order is drawn
            outputs = self.predict(_take_rows(x, self.backend.asarray([0])))
        if loss_fn in _CLASSIFICATION_LOSSES and not self.backend.is_floating(y.dtype):
            losses.check_labels(name, y, outputs.shape[-1])
            return True
        return False

    def _specs(self):
        return [{"layer": type(layer).__name__, "config": layer.config} for layer in self.layers]

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

    def _record_validation(self, history, validation_data, loss_fn):
        if validation_data is None:
            return
        for key, value in self.evaluate(*validation_data, loss_fn=loss_fn).items():
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


_CLASSIFICATION_LOSSES = (losses.softmax_cross_entropy, losses.categorical_crossentropy)


def _take_rows(data, rows):
    """The examples at ``rows`` of a data tensor: a plain gather, nothing to record."""
    return constant(data.backend.xp.take(data.value, rows, axis=0), data.backend)


def _default_optimizer():
    from zen.optim import Adam

    return Adam()


def _read_checkpoint(path):
    """``(arrays, description)`` from a checkpoint, or CheckpointError saying what is wrong."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no checkpoint at {path}")
    try:
        arrays, metadata = backends.load_arrays(path)
        info = json.loads(metadata)
        if info.get("format") != "zen.Model":
            raise ValueError("it carries no zen.Model description")
    except Exception as error:
        raise CheckpointError(f"load: {path} is not a readable zen checkpoint "
                              f"({type(error).__name__}: {error})") from error
    return arrays, info
