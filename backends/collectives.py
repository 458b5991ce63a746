"""Collective operations across the processes of one MPI job.

MPI (through mpi4py) starts the job, exchanges small Python objects and, for arrays that a
backend keeps in host memory or can copy there, sums and broadcasts them. A backend whose
device has its own collective library (CuPy: NCCL) returns its own engine from
``Backend.collectives``; every engine sums and broadcasts one flat array at a time.

Every MPI operation here gives up after a timeout (``CollectiveTimeout``) rather than wait
forever for a process that stopped, hangs or never came: MPI's blocking collectives cannot
time out, so each is started non-blocking and polled until it completes or the time is up.
NCCL's collectives run asynchronously on the GPU's stream and are not covered.
"""

import os
import time

import numpy

# Set by the launchers of MPICH, Intel MPI and Slurm (PMI), Open MPI, PMIx and MVAPICH2.
LAUNCHER_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MV2_COMM_WORLD_SIZE")
# The tag of the point-to-point messages that stand in for an allgather ("zen" in ASCII).
EXCHANGE_TAG = 0x7A656E
# How a process waits: polling back to back for the first SPIN_SECONDS (most collectives end
# within them, and a sleep would delay them), then sleeping between polls, twice as long each
# time up to LONGEST_PAUSE, so that a process waiting for a late one leaves its core to others.
SPIN_SECONDS = 1e-3
SHORTEST_PAUSE, LONGEST_PAUSE = 1e-5, 2e-3
# mpi4py and MPICH's wheel, which brings the MPI library and mpirun: no system MPI is needed.
MPI_INSTALL_HINT = 'pip install mpi4py mpich (from zen\'s checkout: pip install ".[mpi]")'


class CollectiveTimeout(TimeoutError):
    """The other processes did not complete a collective within ``seconds``; ``missing``
    lists the ranks that never sent their part, where that is known (else None)."""

    def __init__(self, seconds, missing=None):
        self.seconds, self.missing = seconds, missing
        whom = "the other processes" if missing is None else \
            "rank " + ", ".join(str(rank) for rank in missing)
        super().__init__(f"waited {seconds:g} s for {whom}")


def launched_by_mpi():
    """Whether this process was started by an MPI launcher (mpirun, mpiexec, srun)."""
    return any(name in os.environ for name in LAUNCHER_VARIABLES)


def mpi_world():
    """mpi4py's communicator of every process in the job (MPI starts on first use)."""
    from mpi4py import MPI

    return MPI.COMM_WORLD


def wait(ready, seconds):
    """Call ``ready()`` until it returns True, and return True; False once ``seconds`` have
    passed without it."""
    started = time.monotonic()
    pause = SHORTEST_PAUSE
    while not ready():
        waited = time.monotonic() - started
        if waited >= seconds:
            return False
        if waited >= SPIN_SECONDS:
            time.sleep(pause)
            pause = min(2 * pause, LONGEST_PAUSE)
    return True


class TimedMPI:
    """An mpi4py communicator whose every operation gives up after ``timeout`` seconds with
    ``CollectiveTimeout``. Objects travel pickled; arrays are NumPy arrays, changed in place."""

    def __init__(self, comm, timeout):
        from mpi4py import MPI

        self._comm, self._mpi, self.timeout = comm, MPI, timeout
        self.rank, self.size = comm.rank, comm.size

    def allgather(self, value):
        """Every process's ``value`` (a small picklable object), in rank order. Each process
        sends its value to each other one, so that a timeout can name the ranks that never
        sent theirs."""
        others = [rank for rank in range(self.size) if rank != self.rank]
        sends = [self._comm.isend(value, dest=rank, tag=EXCHANGE_TAG) for rank in others]
        values = {self.rank: value}

        def complete():
            for rank in others:
                message = None if rank in values else \
                    self._comm.improbe(source=rank, tag=EXCHANGE_TAG)
                if message is not None:
                    values[rank] = message.recv()
            return len(values) == self.size and self._mpi.Request.Testall(sends)

        if not wait(complete, self.timeout):
            raise CollectiveTimeout(self.timeout, [rank for rank in others if rank not in values])
        return [values[rank] for rank in range(self.size)]

    def bcast(self, value, root=0):
        """Rank ``root``'s ``value`` (a small picklable object), on every process."""
        return self.allgather(value if self.rank == root else None)[root]

    def barrier(self):
        self.allgather(None)

    def any_of_each(self, flags):
        """For each position of ``flags`` (bools, the same count on every process), whether
        it is true on any process: one collective on a byte per flag."""
        mask = numpy.array([bool(flag) for flag in flags], dtype=numpy.uint8)
        self._complete(self._comm.Iallreduce(self._mpi.IN_PLACE, mask, op=self._mpi.MAX))
        return [bool(flag) for flag in mask]

    def all_reduce_sum(self, array):
        """Sum ``array`` (a contiguous NumPy array) over processes, in place."""
        self._complete(self._comm.Iallreduce(self._mpi.IN_PLACE, array, op=self._mpi.SUM))

    def broadcast(self, array, root):
        """Set ``array`` (a contiguous NumPy array) to rank ``root``'s, in place."""
        self._complete(self._comm.Ibcast(array, root=root))

    def abort(self, code=1):
        """End every process of the job (MPI_Abort)."""
        self._comm.Abort(code)

    def _complete(self, request):
        if not wait(request.Test, self.timeout):
            raise CollectiveTimeout(self.timeout)


class HostMPI:
    """Sums and broadcasts a backend's flat arrays with MPI (a ``TimedMPI``), through host
    memory when the backend keeps its arrays elsewhere."""

    def __init__(self, comm, backend):
        self._comm, self._backend = comm, backend

    def all_reduce_sum(self, flat):
        host = self._host_buffer(flat)
        self._comm.all_reduce_sum(host)
        return self._back(flat, host)

    def broadcast(self, flat, root):
        host = self._host_buffer(flat)
        self._comm.broadcast(host, root)
        return self._back(flat, host)

    def _host_buffer(self, flat):
        # NumPy arrays are used as they are (no copy); anything else is copied to the host.
        return numpy.ascontiguousarray(self._backend.to_host(flat))

    def _back(self, flat, host):
        return flat if host is flat else self._backend.asarray(host, dtype=flat.dtype)
