"""The fit loop behind ``Model.train``, in a room of its own.

A ``Fit`` is one call of ``Model.train``: its ``Settings`` (checked once, before anything
happens), where training stands (``TrainingState``), the epochs with their progress bar,
validation, history and checkpoints, and Ctrl-C taken between steps, never inside one. It
takes a model object (zen.nn's ``Model``) and never imports zen.nn; the checkpoint format
and resuming are zen.checkpoint's.

The loop is the same for one process and for many: a synchroniser wraps it, as ChainerMN and
PyTorch's DistributedDataParallel wrap a single-process loop. ``LocalSync`` (one process)
and zen.distributed's ``DistributedSync`` (an MPI job) have the same methods: ``guarded`` and
``agree`` (failures end or stop every process), ``start`` and ``start_epoch`` (the same
model, parameters and random state everywhere), ``shard`` (this process's rows of a step),
``sync`` (gradients and loss averaged, and the stop flag agreed, after each backward pass),
``any_stopping`` and ``stop``. LocalSync has nothing to average, so one process runs each
step whole in ``Fit.train_step`` and tells its synchroniser after.
"""

import contextlib
import dataclasses
import functools
import math
import os
import signal
import threading
import time
import weakref

from zen import arguments, capture, data, optim, random
from zen import checkpoint as _checkpoint
from zen import distributed as _distributed
from zen.errors import ArgumentError
from zen.tensor import constant


@dataclasses.dataclass
class Settings:
    """``Model.train``'s keywords (it sets their defaults); ``Settings(...)`` checks them,
    each in the form the loop uses, and raises ArgumentError naming the first that cannot
    work."""

    epochs: int
    loss_fn: object
    optimizer: object
    batch_size: int
    shuffle: bool
    validation_data: object
    verbose: bool
    log_every: int
    checkpoint: object
    resume: bool
    distributed: object
    capture: bool = True

    def __post_init__(self):
        self.epochs = arguments.integer("train", "epochs", self.epochs, minimum=0)
        self.resume = arguments.flag("train", "resume", self.resume)
        if self.checkpoint is not None:
            _checkpoint.checked_path("train", self.checkpoint)
        if not isinstance(self.distributed, (bool, _distributed.Communicator)):
            raise ArgumentError(f"train: distributed must be True, False or a "
                                f"zen.distributed.Communicator, got "
                                f"{arguments.described(self.distributed)}")
        self.batch_size = arguments.integer("train", "batch_size", self.batch_size, minimum=1)
        self.log_every = arguments.integer("train", "log_every", self.log_every, minimum=0)
        self.shuffle = arguments.flag("train", "shuffle", self.shuffle)
        self.verbose = arguments.flag("train", "verbose", self.verbose)
        self.capture = arguments.flag("train", "capture", self.capture)
        arguments.loss_function("train", self.loss_fn)
        self._check_optimizer_and_validation_data()

    def _check_optimizer_and_validation_data(self):
        if self.optimizer is not None and not isinstance(self.optimizer, optim.Optimizer):
            raise ArgumentError(f"train: optimizer must be an optimiser such as "
                                f"zen.optim.Adam(lr=1e-3), got "
                                f"{arguments.described(self.optimizer)}")
        data = self.validation_data
        if data is not None and (not isinstance(data, (tuple, list)) or len(data) != 2):
            raise ArgumentError(f"train: validation_data must be a pair (x, y), got "
                                f"{arguments.described(data)}")


class Fit:
    """One run of ``Model.train``: ``Fit(model, settings).run(x, y)`` returns the history."""

    def __init__(self, model, settings):
        self.model, self.settings = model, settings
        self.sync = synchroniser(settings.distributed, model.backend)
        self.step_rows = settings.batch_size * self.sync.size     # examples a step, in all
        self.optimizer = settings.optimizer if settings.optimizer is not None else \
            optim.SGD(lr=0.1)   # the original Zen's
        self.interrupted = lambda: False
        self.verbose, self.checkpoint = settings.verbose, settings.checkpoint
        # One process runs each step whole (see train_step); many average their gradients
        # between the backward pass and the update.
        self._take_step = self._local_step if isinstance(self.sync, LocalSync) else \
            self._shared_step

    def run(self, x, y):
        # Ctrl-C is held from the start, so that one during the start-up checks also stops
        # every process after the same step; any other way out of train on one process alone
        # ends the whole job rather than leave the others waiting for it.
        with _interrupts_between_steps() as self.interrupted, self.sync.guarded():
            # A refused resume leaves the layers unbuilt and zen's generator as they were.
            with self.sync.agree("train"), self.model.undone_on_failure():
                self._prepare(x, y)
            self._start()
            return self._epochs()

    def _prepare(self, x, y):
        """The data, the validation data and the loss, checked once (see ``data.checked``),
        and where training stands: at the start, or where the checkpoint to resume left it."""
        settings = self.settings
        forward = _forward_of(self.model, settings.capture)
        self.x, self.y, self.loss_fn = data.checked(self.model, "train", x, y, settings.loss_fn,
                                                    forward)
        self.validation_data = settings.validation_data
        if self.validation_data is not None:
            self.validation_data = data.checked(self.model, "train (validation_data)",
                                                *self.validation_data, settings.loss_fn,
                                                forward)[:2]
        self.run_facts = _checkpoint.RunFacts(self.x, self.y, self.step_rows)
        self.resumed = bool(settings.checkpoint and settings.resume
                            and os.path.exists(settings.checkpoint))
        self.state = self._resumed_state() if self.resumed else TrainingState()

    def _resumed_state(self):
        """Set the model, the optimiser and zen's generator from the training checkpoint."""
        position = _checkpoint.resume(self.model, self.settings.checkpoint, self.optimizer,
                                      self.run_facts)
        state = TrainingState(position.epoch, position.batch, position.order,
                              position.partial, position.history)
        state.generator = position.generator    # a save before the next step ends needs it
        return state

    def _start(self):
        """Start every process alike; only the first prints and writes the checkpoint."""
        self.sync.start(self.model, self._facts)
        self.parameters = self.model._parameters()  # built by now; the same Tensors throughout
        self.run_step = self._captured() if self.settings.capture and \
            isinstance(self.sync, LocalSync) else self.train_step
        leader = self.sync.rank == 0
        self.verbose = self.settings.verbose and leader
        self.checkpoint = self.settings.checkpoint if leader else None
        if self.verbose and self.resumed and self.state.epoch >= self.settings.epochs:
            print(_finished_run(self.checkpoint, self.state, self.settings.epochs))

    def _facts(self):
        """What every process of a distributed run must hold alike."""
        settings, validation = self.settings, self.validation_data
        return {"the shape of x": tuple(self.x.shape), "the shape of y": tuple(self.y.shape),
                "epochs": settings.epochs, "batch_size": settings.batch_size,
                "shuffle": settings.shuffle,
                "where training resumes": (self.state.epoch, self.state.batch),
                "the optimiser": type(self.optimizer).__name__,
                "the optimiser's settings": self.optimizer.settings(),
                "the layers": _checkpoint.layer_specs(self.model, "train"),
                "the validation data's shapes": None if validation is None else
                [tuple(part.shape) for part in validation],
                "whether rank 0 writes a checkpoint": bool(settings.checkpoint),
                "resume": settings.resume}

    def _epochs(self):
        """Every epoch left, in training mode; the model is back in its own mode after."""
        state = self.state
        steps = max(1, math.ceil(self.x.shape[0] / self.step_rows))
        try:
            with self.model.in_mode(training=True):
                self._epochs_left(steps)
        except KeyboardInterrupt:
            self._save()
            raise
        return state.history

    def _epochs_left(self, steps):
        state, epochs = self.state, self.settings.epochs
        while state.epoch < epochs:
            started = time.perf_counter()
            self._epoch(steps)
            state.finish_epoch(steps)
            self._validate()
            if self.verbose:
                print(_epoch_line(state.epoch - 1, epochs, state.history,
                                  time.perf_counter() - started))
            self._save()
            if self.sync.any_stopping(self.interrupted()):  # in validation or saving
                raise self.sync.stop()

    def _epoch(self, steps):
        """The rest of the current epoch, from ``state.batch`` on."""
        from tqdm.auto import tqdm  # here, not at the top: it takes ~0.1 s to import

        state, log_every = self.state, self.verbose and self.settings.log_every
        if state.order is None:
            self.sync.start_epoch(state.epoch)
            state.order = self._order(self.x.shape[0], self.settings.shuffle)
            state.generator = random.generator().get_state()
        left = range(state.batch, steps)
        progress = None     # no tqdm at all without a bar to show
        if log_every:
            progress = tqdm(left, desc=f"epoch {state.epoch + 1}", leave=False)
        for step in left if progress is None else progress:
            if self._step(step):    # on every process after this same step
                raise self.sync.stop()
            if progress is not None and ((step + 1) % log_every == 0 or step + 1 == steps):
                progress.set_postfix(loss=f"{state.loss_so_far():.4f}")    # and at the end
        if progress is not None:
            progress.close()

    def _step(self, step):
        """One optimiser step on the step's examples, then its bookkeeping; return whether to
        stop after it."""
        state = self.state
        first, last = step * self.step_rows, min((step + 1) * self.step_rows, self.x.shape[0])
        loss, stopping = self._take_step(first, last, step)
        state.batch = step + 1
        if self.checkpoint:     # a save before the next step ends needs zen's generator now
            state.generator = random.generator().get_state()
        state.total = loss if state.total is None else state.total + loss
        return stopping

    def train_step(self, x, y):
        """The work of one step on one process, and nothing else: forward, loss, backward,
        optimiser step, gradients cleared; ``x`` and ``y`` are the batch's Tensors on the
        model's device. Returns the loss Tensor."""
        return _train_step(self.model, self.loss_fn, self.optimizer, self.parameters, x, y)

    def _captured(self):
        """``train_step`` under ``zen.capture``, kept with the model for later calls of
        ``train`` with the same loss and optimiser (so that each does not trace anew); it runs
        eagerly, silently, where the step cannot be replayed (dropout, a loss that reads a
        value to the host)."""
        # The user's loss: the one checked data gives (trusting checked labels) is new each call.
        key = (self.settings.loss_fn, self.optimizer, tuple(map(id, self.parameters)))
        return captured(self.model, key, functools.partial(
            _train_step, self.model, self.loss_fn, self.optimizer, self.parameters))

    def _local_step(self, first, last, step):
        """Rows [first, last) in one ``train_step``. The synchroniser (LocalSync: nothing to
        average, no place to name in a timeout) only hears of the step after it, for the stop
        flag."""
        rows = self.state.order[first:last]
        loss = self.run_step(_take_rows(self.x, rows), _take_rows(self.y, rows))
        return self.sync.sync(self.parameters, loss.value, 1.0, self.interrupted(), None)

    def _shared_step(self, first, last, step):
        """This process's share of rows [first, last), its gradients averaged with the other
        processes' before the update."""
        place = f"train, step {step + 1} of epoch {self.state.epoch + 1}"
        start, stop = self.sync.shard(first, last)
        loss = None
        if stop > start:    # a process may get no rows of a short last step
            rows = self.state.order[start:stop]
            loss = self._backward(_take_rows(self.x, rows), _take_rows(self.y, rows)).value
        loss, stopping = self.sync.sync(self.parameters, loss, (stop - start) / (last - first),
                                        self.interrupted(), place)
        self._update()
        return loss, stopping

    def _backward(self, x, y):
        return _backward(self.model, self.loss_fn, x, y)

    def _update(self):
        _update(self.optimizer, self.parameters)

    def _order(self, count, shuffle):
        """The example indices of one epoch, on the device."""
        order = random.generator().permutation(count) if shuffle else list(range(count))
        return self.model.backend.asarray(order)

    def _validate(self):
        if self.validation_data is None:
            return
        for key, value in data.scores(self.model, *self.validation_data, self.loss_fn,
                                      forward=_forward_of(self.model,
                                                          self.settings.capture)).items():
            self.state.history.setdefault(f"val_{key}", []).append(value)

    def _save(self):
        if self.checkpoint:
            _checkpoint.save_training(self.model, self.checkpoint, self.optimizer, self.state,
                                      self.run_facts)


def _backward(model, loss_fn, x, y):
    loss = loss_fn(model._forward(x), y)    # x is on the device, the model built
    loss.backward()
    return loss


def _update(optimizer, parameters):
    optimizer.step(parameters)
    optimizer.zero_grad(parameters)


def _train_step(model, loss_fn, optimizer, parameters, x, y):
    """``Fit.train_step`` apart from the Fit, for ``zen.capture`` to keep with the model."""
    loss = _backward(model, loss_fn, x, y)
    _update(optimizer, parameters)
    return loss


def _forward_of(model, capture):
    """The model's forward pass, captured if ``capture`` (None: the model itself)."""
    return captured(model, "predict", model.__call__) if capture else None


def captured(model, key, step):
    """``step`` under ``zen.capture``, silent where it runs eagerly, kept with ``model``
    under ``key`` (the first ``step`` given for that key stands for the later ones)."""
    steps = _CAPTURED_STEPS.setdefault(model, {})
    if key not in steps:
        steps[key] = capture.capture(step, warn=False)
    return steps[key]


# model -> {key: its captured step}, while the model lives
_CAPTURED_STEPS = weakref.WeakKeyDictionary()


class TrainingState:
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


class LocalSync:
    """The synchroniser of a run on one process: nothing to agree on, nobody to wait for."""

    rank, size = 0, 1

    def guarded(self):
        return contextlib.nullcontext()

    def agree(self, who):
        return contextlib.nullcontext()

    def start(self, model, facts):
        pass

    def start_epoch(self, epoch):
        pass

    def shard(self, first, last):
        return first, last

    def sync(self, parameters, loss, share, stopping, place):
        return loss, stopping

    def any_stopping(self, stopping):
        return stopping

    def stop(self):
        return KeyboardInterrupt()


def synchroniser(distributed, device):
    """The synchroniser for ``train``'s ``distributed`` (checked): False, True (this MPI
    job's communicator for ``device``) or a Communicator."""
    if distributed is False:
        return LocalSync()
    comm = _distributed.communicator(device) if distributed is True else distributed
    return _distributed.DistributedSync(comm)


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


def _take_rows(data, rows):
    """The examples at ``rows`` of a data tensor: a plain gather, nothing to record."""
    return constant(data.backend.xp.take(data.value, rows, axis=0), data.backend)


def _epoch_line(epoch, epochs, history, seconds):
    metrics = "  ".join(f"{key} {values[-1]:.4f}" for key, values in history.items())
    return f"epoch {epoch + 1}/{epochs}  {metrics}  ({seconds:.2f} s)"


def _finished_run(checkpoint, state, epochs):
    """What ``train`` says when the run it resumes has done every epoch asked, or more."""
    done = f"{state.epoch} epoch{'s' * (state.epoch != 1)}"
    asked = "" if state.epoch == epochs else f", more than the {epochs} asked"
    return (f"train: {checkpoint} holds a finished run ({done}{asked}); nothing left to "
            f"train, so train returns that run's history. For more epochs, raise epochs; to "
            f"start again, pass resume=False (which overwrites the file) or another path")
