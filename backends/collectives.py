"""Collective operations across the processes of one MPI job.

MPI (through mpi4py) starts the job, exchanges small Python objects and, for arrays that a
backend keeps in host memory or can copy there, sums and broadcasts them. A backend whose
device has its own collective library (CuPy: NCCL) returns its own engine from
``Backend.collectives``; every engine sums and broadcasts one flat array at a time.
"""

import os

# Set by the launchers of MPICH, Intel MPI and Slurm (PMI), Open MPI, PMIx and MVAPICH2.
LAUNCHER_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MV2_COMM_WORLD_SIZE")


def launched_by_mpi():
    """Whether this process was started by an MPI launcher (mpirun, mpiexec, srun)."""
    return any(name in os.environ for name in LAUNCHER_VARIABLES)


def mpi_world():
    """mpi4py's communicator of every process in the job (MPI starts on first use)."""
    from mpi4py import MPI

    return MPI.COMM_WORLD


def any_of_each(comm, flags):
    """For each position of ``flags`` (bools, the same count on every process), whether it
    is true on any process: one collective on a bit mask."""
    from mpi4py import MPI

    mask = comm.allreduce(sum(1 << i for i, flag in enumerate(flags) if flag), op=MPI.BOR)
    return [bool(mask >> i & 1) for i in range(len(flags))]


class HostMPI:
    """Sums and broadcasts a backend's flat arrays with MPI, through host memory when the
    backend keeps its arrays elsewhere."""

    def __init__(self, comm, backend):
        self._comm, self._backend = comm, backend

    def all_reduce_sum(self, flat):
        from mpi4py import MPI

        host = self._host_buffer(flat)
        self._comm.Allreduce(MPI.IN_PLACE, host, op=MPI.SUM)
        return self._back(flat, host)

    def broadcast(self, flat, root):
        host = self._host_buffer(flat)
        self._comm.Bcast(host, root=root)
        return self._back(flat, host)

    def _host_buffer(self, flat):
        import numpy

        # NumPy arrays are used as they are (no copy); anything else is copied to the host.
        return numpy.ascontiguousarray(self._backend.to_host(flat))

    def _back(self, flat, host):
        return flat if host is flat else self._backend.asarray(host, dtype=flat.dtype)
