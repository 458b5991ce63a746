"""Data-parallel epoch time: the digits MLP trained with ``Model.train(distributed=...)``.

    mpirun -n 1 python -m benchmarks.distributed [--hidden 256] [--epochs 30]
    mpirun -n 2 python -m benchmarks.distributed [--hidden 256] [--epochs 30]

Each process takes 64 examples a step (two processes: 128 a step, half the steps), one BLAS
thread. Rank 0 prints the median epoch time and the share of it spent in collectives,
waiting for the slower process included; a job of one process also times training without
a communicator.
"""

import argparse
import os
import statistics
import time


def main():
    parser = argparse.ArgumentParser(prog="python -m benchmarks.distributed",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"      # before NumPy loads its BLAS

    import numpy

    import zen
    from benchmarks.workloads import _digits
    from zen.nn import Linear, Model, ReLU

    images, labels = _digits(numpy.random.default_rng(0))
    comm = zen.distributed.Communicator(args.device)
    def model():    # the same start each time: runs differ only in how they communicate
        zen.seed(0)
        return Model([Linear(args.hidden), ReLU(), Linear(10)], device=args.device)

    if comm.size == 1:      # first: the allocator's history moves later timings
        plain, _ = _time_epochs(zen, model(), images, labels, args.epochs)
        print(f"no communicator, hidden {args.hidden}, {args.device}: epoch "
              f"{plain * 1e3:.2f} ms")
    epoch, share = _time_epochs(zen, model(), images, labels, args.epochs, comm)
    if comm.rank == 0:
        print(f"{comm.size} process(es), hidden {args.hidden}, {args.device}: epoch "
              f"{epoch * 1e3:.2f} ms, collectives {share:.0%} of it")


def _time_epochs(zen, model, images, labels, epochs, comm=None):
    """Median epoch time (the first one left out) and share of it in collectives."""
    optimizer = zen.optim.SGD(lr=0.1)
    times, shares = [], []
    for _ in range(epochs):
        before, started = comm.seconds if comm else 0.0, time.perf_counter()
        model.train(images, labels, epochs=1, batch_size=64, verbose=False,
                    loss_fn=zen.loss.softmax_cross_entropy, optimizer=optimizer,
                    distributed=comm or False)
        times.append(time.perf_counter() - started)
        shares.append((comm.seconds - before) / times[-1] if comm else 0.0)
    return statistics.median(times[1:]), statistics.median(shares[1:])

if __name__ == "__main__":
    main()
