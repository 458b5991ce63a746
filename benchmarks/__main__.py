"""Command line of the benchmark runner (see ``benchmarks/__init__.py``)."""

import argparse
import os
import sys


def main():
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--only", action="append", help="run this workload (repeatable)")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--repeats", type=int, default=7,
                        help="interleaved repeats; each times the fastest of several calls")
    parser.add_argument("--clock", choices=("auto", "wall", "cpu"), default="auto",
                        help="wall: perf_counter; cpu: the thread's CPU time (one thread, "
                             "CPU only); auto (default): cpu where valid, else wall")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for NumPy's BLAS and PyTorch (default 1)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    args = parser.parse_args()
    # Before NumPy is imported: its BLAS reads these once, when it loads.
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(args.threads)
    from benchmarks.runner import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
