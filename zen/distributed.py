"""Data parallelism over the processes of an MPI job, one process per device.

Start the script with an MPI launcher (``mpirun -n 2 python train.py``) and pass
``distributed=True`` to ``Model.train``: every process starts from rank 0's parameters,
takes its own share of each step's examples, and before every optimiser step the gradients
are summed across processes, a few flat buffers at a time (one collective per buffer, not
per parameter), so that every process takes the same step and keeps the same parameters.
Arrays travel by MPI (mpi4py) for CPU tensors and by NCCL (CuPy) for CUDA tensors.

No process waits forever for another: every MPI collective gives up after a timeout (a few
minutes unless set) with a DistributedError that says where it waited, and a process that
leaves training alone (an error, sys.exit(), a KeyboardInterrupt raised by its own code) ends
the whole job through MPI_Abort. NCCL's collectives, asynchronous on the GPU, have no timeout.

``Model.train`` runs one loop for one process or many: on many, ``DistributedSync`` wraps
it, as ChainerMN and PyTorch's DistributedDataParallel wrap a single-process loop.
A ``Communicator`` also serves hand-written loops: ``broadcast`` parameters once, then
``average_gradients`` after each backward pass.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import numbers
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from backends import Backend
from backends.collectives import (
    MPI_INSTALL_HINT,
    CollectiveTimeout,
    TimedMPI,
    launched_by_mpi,
    mpi_world,
)
from zen import devices, random
from zen.errors import ArgumentError, DistributedError
from zen.recorder import mark_modified
from zen.tensor import Array, Tensor

BUCKET_BYTES = 25 * 2**20   # per collective; PyTorch's DDP uses the same default
# Seconds a collective waits for the other processes, unless the environment variable or
# Communicator(timeout=) says otherwise; PyTorch's process groups wait 10 to 30 minutes.
DEFAULT_TIMEOUT = 300.0
TIMEOUT_VARIABLE = "ZEN_DISTRIBUTED_TIMEOUT"
ABORT_PAUSE = 0.2   # seconds between the message of a failed process and MPI_Abort
_Exception = TypeVar("_Exception", bound=BaseException)   # together returns what it takes


def rank() -> int:
    """This process's number in the MPI job, from 0; 0 outside one."""
    return mpi_world().rank if launched_by_mpi() else 0


def size() -> int:
    """How many processes the MPI job has; 1 outside one."""
    return mpi_world().size if launched_by_mpi() else 1


def default_timeout(who: str = "Communicator") -> float:
    """The seconds a collective waits for the other processes: the environment variable
    ZEN_DISTRIBUTED_TIMEOUT if set, else DEFAULT_TIMEOUT."""
    text = os.environ.get(TIMEOUT_VARIABLE)
    if text is None:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = text
    return _seconds(f"{who}: the environment variable {TIMEOUT_VARIABLE}", seconds)


def _seconds(what, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ArgumentError(f"{what} must be a number of seconds > 0, got {value!r}")
    return float(value)


def shard(start: int, stop: int, rank: int, size: int) -> tuple[int, int]:
    """Process ``rank``'s contiguous part of rows [start, stop); parts differ by at most one."""
    count = stop - start
    return start + count * rank // size, start + count * (rank + 1) // size


class Communicator:
    """The processes of this MPI job, exchanging arrays of one device (``"cpu"``, ``"cuda"``,
    ...); every method is collective: all processes call it, in the same order. An MPI
    collective that the others do not join within ``timeout`` seconds (None: see
    ``default_timeout``) raises DistributedError, and the job ends when this process does."""

    def __init__(self, device: str | Backend = "cpu", bucket_bytes: int = BUCKET_BYTES,
                 timeout: float | None = None, who: str = "Communicator") -> None:
        self.timeout = (default_timeout(who) if timeout is None
                        else _seconds(f"{who}: timeout", timeout))
        self._mpi = TimedMPI(_world(who), self.timeout)
        self.rank, self.size = self._mpi.rank, self._mpi.size
        self.backend = devices.get_backend(device)
        self.bucket_bytes = bucket_bytes
        self.seconds = 0.0      # in collectives, waiting for slower processes included
        self._engine = None
        self._plans = {}        # (shapes, dtypes) -> buckets, worked out once
        self._place = None      # where the processes are, for the message of a timeout
        self._failure = None    # the DistributedError of a collective that timed out
        self._together = None   # the last exception that every process raised together

    def barrier(self) -> None:
        with self._waiting("barrier"):
            self._mpi.barrier()

    def allgather(self, value: Any) -> list[Any]:
        """Every process's ``value`` (a small picklable object), in rank order."""
        with self._waiting("allgather"):
            return self._mpi.allgather(value)

    def broadcast_object(self, value: Any, root: int = 0) -> Any:
        with self._waiting("broadcast_object"):
            return self._mpi.bcast(value, root=root)

    def any_of_each(self, flags: Sequence[bool]) -> list[bool]:
        """For each of ``flags``, whether it is true on any process."""
        if self.size == 1:
            return [bool(flag) for flag in flags]
        started = time.perf_counter()
        with self._waiting("any_of_each"):
            result = self._mpi.any_of_each(flags)
        self.seconds += time.perf_counter() - started
        return result

    def broadcast(self, tensors: Sequence[Tensor], root: int = 0) -> None:
        """Set every tensor's value to rank ``root``'s, in place."""
        with self._waiting("broadcast"):
            arrays = self._exchange([tensor.value for tensor in tensors],
                                    lambda flat: self._collectives.broadcast(flat, root))
        for tensor, array in zip(tensors, arrays, strict=True):
            tensor.value = array
            mark_modified(tensor)

    def all_reduce(self, arrays: Sequence[Array], scale: float | None = None) -> list[Array]:
        """The sums over processes of ``arrays`` (each first multiplied by ``scale``)."""
        def reduce(flat):
            if scale is not None:
                flat *= scale       # flat is a new buffer: no second one of its size
            return self._collectives.all_reduce_sum(flat)

        with self._waiting("all_reduce"):
            return self._exchange(arrays, reduce)

    def average_gradients(self, parameters: Sequence[Tensor], loss: Array | None = None,
                          share: float | None = None,
                          present: Sequence[bool] | None = None) -> Array | None:
        """Replace each parameter's gradient by the mean over processes, weighted by each
        process's ``share`` of the examples (equal shares if None); return ``loss`` (a 0-d
        array, None where this process had no examples) averaged the same way, in the
        parameters' dtype, carried in the same buffers. A gradient missing on some processes
        counts as zeros there; one missing on all stays None, as in a single process.
        ``present``, if given, is ``any_of_each`` of the has-a-gradient flags, agreed by the
        caller together with flags of its own (one collective instead of two)."""
        if self.size == 1:
            return loss
        if present is None:
            present = self.any_of_each([p.gradient is not None for p in parameters])
        reduced = [p for p, has in zip(parameters, present, strict=True) if has]
        xp = self.backend.xp
        dtype = reduced[0].value.dtype if reduced else xp.float32
        arrays = [xp.zeros_like(p.value) if p.gradient is None else p.gradient for p in reduced]
        # Every process must pack the same buffers, so the loss takes one agreed dtype.
        loss = (xp.zeros((), dtype=dtype, device=self.backend.native_device) if loss is None
                else xp.astype(loss, dtype))
        summed = self.all_reduce(arrays + [loss], 1 / self.size if share is None else share)
        for parameter, gradient in zip(reduced, summed[:-1], strict=True):   # then the loss
            parameter.gradient = gradient
        return summed[-1]

    @contextlib.contextmanager
    def agree(self, who: str) -> Iterator[None]:
        """Run the block on every process; if it raised on any, raise on all (its own error
        where it failed, a DistributedError naming that rank elsewhere), so that no process
        is left waiting in a collective for one that has stopped."""
        failure = None
        try:
            yield
        except BaseException as error:  # noqa: BLE001 (sys.exit() too must reach the others)
            failure = error
        with self._waiting("agree", who):
            messages = self._mpi.allgather(None if failure is None
                                           else f"{type(failure).__name__}: {failure}")
        if failure is not None:
            raise self.together(failure)
        for other, message in enumerate(messages):
            if message is not None:
                raise self.together(DistributedError(
                    f"{who}: rank {other} of {self.size} failed, so every rank stops: "
                    f"{message}"))

    @contextlib.contextmanager
    def at(self, place: str) -> Iterator[None]:
        """Name where the processes are (``"train, step 3 of epoch 1"``) in the message of a
        collective that times out in the block."""
        outer, self._place = self._place, place
        try:
            yield
        finally:
            self._place = outer

    def together(self, error: _Exception) -> _Exception:
        """Mark ``error`` as raised by every process at the same point (a failed check, an
        agreed stop), so that ``abort_on_lone_exit`` lets it pass; return it."""
        self._together = error
        return error

    @contextlib.contextmanager
    def abort_on_lone_exit(self) -> Iterator[None]:
        """Run the block; any exception that leaves it on this process alone (all but those
        marked ``together``) ends every process of the job, since the others would wait
        for this one in their next collective."""
        try:
            yield
        except BaseException as error:
            together, self._together = self._together, None
            if self.size > 1 and error is not together:
                self.abort(error)
            raise

    def abort(self, error: BaseException) -> None:
        """Stop every process of the job after ``error`` here, rather than leave the others
        waiting for this one forever."""
        sys.stderr.write(f"zen: rank {self.rank} of {self.size} failed; stopping every "
                         f"rank\n{''.join(traceback.format_exception(error))}")
        sys.stderr.flush()
        # The launcher stops passing on output once MPI_Abort is called: give it the time
        # to pass on the message first.
        time.sleep(ABORT_PAUSE)
        self._mpi.abort(1)

    @contextlib.contextmanager
    def _waiting(self, collective, who="Communicator"):
        """Run a collective: refused once one has timed out (the processes no longer call
        them in step); a timeout becomes a DistributedError saying where this process
        waited and for whom, and the job ends when this process does."""
        if self._failure is not None:
            raise DistributedError(f"{collective}: an earlier collective gave up waiting "
                                   f"({self._failure}); the job must stop")
        try:
            yield
        except CollectiveTimeout as timeout:
            self._failure = DistributedError(
                f"{self._place or who}: rank {self.rank} of {self.size} {timeout} in "
                f"{collective}: a process has stopped, is stuck, or is not in this "
                f"collective (distributed=True on one process only?), so the job stops; to "
                f"wait longer, set Communicator(device, timeout=seconds) or "
                f"{TIMEOUT_VARIABLE}=seconds")
            # However this process leaves now, the job must end: the others may be stuck,
            # and MPI_Finalize could wait for them forever.
            atexit.register(self.abort, self._failure)
            raise self._failure from None

    @property
    def _collectives(self):
        if self._engine is None:    # made on first use: NCCL's start is itself collective
            self._engine = devices.collectives(self.backend, self._mpi)
        return self._engine

    def _exchange(self, arrays, collective):
        """``collective`` applied to ``arrays`` packed into flat buffers; the results in the
        arrays' shapes."""
        xp = self.backend.xp
        results = [None] * len(arrays)
        started = time.perf_counter()
        for bucket in self._buckets(arrays):
            flat = collective(xp.concat([xp.reshape(arrays[i], (-1,)) for i, *_ in bucket]))
            for i, start, stop, shape in bucket:
                results[i] = xp.reshape(flat[start:stop], shape)
        self.seconds += time.perf_counter() - started
        return results

    def _buckets(self, arrays):
        """Groups of ``(index, start, stop, shape)`` of ``arrays``: one dtype a group, at most
        ``bucket_bytes`` (or one array), each array at [start, stop) of its group's buffer."""
        key = tuple((tuple(a.shape), a.dtype) for a in arrays)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _plan(self.backend.xp, key, self.bucket_bytes)
        return plan


def _plan(xp, shapes_and_dtypes, limit):
    by_dtype = {}
    for i, (shape, dtype) in enumerate(shapes_and_dtypes):
        by_dtype.setdefault(dtype, []).append((i, shape, math.prod(shape)))
    buckets = []
    for dtype, members in by_dtype.items():
        itemsize = _itemsize(xp, dtype)
        bucket, used = [], 0
        for i, shape, count in members:
            if bucket and (used + count) * itemsize > limit:
                buckets.append(bucket)
                bucket, used = [], 0
            bucket.append((i, used, used + count, shape))
            used += count
        buckets.append(bucket)
    return buckets


def _itemsize(xp, dtype):
    info = xp.finfo(dtype) if xp.isdtype(dtype, "real floating") else xp.iinfo(dtype)
    return info.bits // 8


def _difference(mine, theirs, other):
    if isinstance(mine, dict) and isinstance(theirs, dict):
        for name in list(mine) + [name for name in theirs if name not in mine]:
            if mine.get(name) != theirs.get(name):
                return (f"{name} is {_absent(mine.get(name))} on rank 0 but "
                        f"{_absent(theirs.get(name))} on rank {other}")
    return f"rank 0 has {mine}, rank {other} has {theirs}"


def _absent(value):
    return "absent" if value is None else value


def _world(who):
    if not launched_by_mpi():
        raise DistributedError(f"{who}: this process was not started by an MPI launcher, so "
                               f"it has no other processes to train with; start it as "
                               f"`mpirun -n 2 python your_script.py` (MPICH's wheel "
                               f"provides mpirun: {MPI_INSTALL_HINT})")
    try:
        return mpi_world()
    except ImportError as error:
        raise DistributedError(f"{who}: distributed training needs mpi4py and an MPI "
                               f"library: {MPI_INSTALL_HINT}") from error


def communicator(device: str | Backend) -> Communicator:
    """The Communicator for ``device``, made once per process (NCCL's are costly to make)."""
    backend = devices.get_backend(device)
    if backend not in _communicators:
        _communicators[backend] = Communicator(backend, who="train")
    return _communicators[backend]


_communicators = {}


class DistributedSync:
    """``Model.train``'s synchroniser across the processes of an MPI job (zen.training's
    LocalSync is the one-process case, with the same methods): the processes check that they
    train alike and start from rank 0's parameters and random state, draw each epoch's order
    from one random state, and average gradients and loss before every optimiser step."""

    def __init__(self, comm: Communicator) -> None:
        self.comm = comm
        self.rank, self.size = comm.rank, comm.size

    def guarded(self) -> contextlib.AbstractContextManager[None]:
        """Around the whole run: an exception that leaves it on this process alone ends the
        job, rather than leave the others waiting for this one."""
        return self.comm.abort_on_lone_exit()

    def agree(self, who: str) -> contextlib.AbstractContextManager[None]:
        """Around a block that may fail on some processes: if it fails on one, all raise."""
        return self.comm.agree(who)

    # model is zen.nn's Model, which this module sits below (zen.nn imports it).
    def start(self, model: Any, facts: Callable[[], dict[str, Any]]) -> None:
        """Make sure every process is about to train alike (``facts()``, and the model's
        device and parameter shapes), then start all from rank 0's parameters and random
        state."""
        parameters = model.named_parameters()
        with self.comm.at("train, starting"):
            self._check_same("train", {
                **facts(), "the model's device": model.device,
                "the communicator's device": self.comm.backend.name, "parameters": {
                    name: (tuple(p.shape), str(p.dtype)) for name, p in parameters.items()}})
            if self.comm.backend is not model.backend:  # so on every process, after the check
                raise self.comm.together(DistributedError(
                    f"train: the communicator exchanges {self.comm.backend.name} arrays but "
                    f"the model is on {model.device}"))
            self.comm.broadcast(list(parameters.values()))
            share_random_state(self.comm)

    def start_epoch(self, epoch: int) -> None:
        with self.comm.at(f"train, start of epoch {epoch + 1}"):
            share_random_state(self.comm)

    def shard(self, first: int, last: int) -> tuple[int, int]:
        """This process's rows of a step's rows [first, last)."""
        return shard(first, last, self.rank, self.size)

    def sync(self, parameters: Sequence[Tensor], loss: Array | None, share: float,
             stopping: bool, place: str) -> tuple[Array | None, bool]:
        """Average the gradients and ``loss`` (None where this process had no rows), each
        process weighted by its ``share`` of the step's rows, and agree whether to stop after
        this step: on every process, or none. One collective for the flags, then the sums."""
        with self.comm.at(place):
            stopping, *present = self.comm.any_of_each(
                [stopping] + [p.gradient is not None for p in parameters])
            return self.comm.average_gradients(parameters, loss, share, present), stopping

    def any_stopping(self, stopping: bool) -> bool:
        """Whether ``stopping`` is true on any process."""
        return self.comm.any_of_each([stopping])[0]

    def stop(self) -> KeyboardInterrupt:
        """The KeyboardInterrupt of a stop that every process makes after the same step."""
        return self.comm.together(KeyboardInterrupt())

    def _check_same(self, who, facts):
        """Raise the same DistributedError on every process unless all hold equal ``facts``
        (a dict: what -> value)."""
        everyone = self.comm.allgather(facts)
        for other, theirs in enumerate(everyone[1:], start=1):
            for what, value in everyone[0].items():
                if theirs.get(what) != value:
                    raise self.comm.together(DistributedError(
                        f"{who}: the processes disagree on {what}: "
                        f"{_difference(value, theirs.get(what), other)}; every process must "
                        f"build the same model and optimiser and call {who} with the same "
                        f"settings and data of the same shape"))


def share_random_state(comm: Communicator) -> None:
    """Every process continues from rank 0's random state: shuffles agree again even where
    a process drew fewer numbers (dropout on a shorter share of a step)."""
    random.generator().set_state(comm.broadcast_object(random.generator().get_state()))
