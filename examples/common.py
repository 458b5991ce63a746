"""What the examples share: their command line and the digits data set."""

import argparse

import numpy

import zen


def arguments(description, epochs, **extra):
    """Parse --device, --epochs, --seed, --distributed and any ``extra`` options (name ->
    default)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--distributed", action="store_true",
                        help="data-parallel over the processes of an MPI job: "
                             "mpirun -n 2 python ... --distributed")
    for name, default in extra.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)
    return parser.parse_args()


def digits(test_fraction=0.2, seed=0):
    """scikit-learn's 8x8 handwritten digits scaled to [0, 1], split into train and test."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = (data.images / 16.0).astype(numpy.float32)
    order = numpy.random.default_rng(seed).permutation(len(images))
    test = order[:int(len(images) * test_fraction)]
    train = order[len(test):]
    return (images[train], data.target[train]), (images[test], data.target[test])


def report(name, history, seconds, **figures):
    if zen.distributed.rank() != 0:     # one process speaks for the job
        return
    per_epoch = seconds / len(history["loss"])
    results = "  ".join(f"{key} {value:.4g}" for key, value in figures.items())
    print(f"{name}: {results}  ({per_epoch:.3f} s per epoch)")
