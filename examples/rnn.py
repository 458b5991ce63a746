"""Fit a recurrent network to sin(x)·cos(x): from 50 past values, predict the next.

    python examples/rnn.py [--device cpu|cuda] [--distributed] [--epochs 30] [--plot rnn.png]
"""

import time

import numpy

import zen
from common import arguments, report
from zen.nn import RNN, Model

STEPS = 50


def windows(signal):
    """Every run of STEPS values as an input, and the value after it as its target."""
    starts = numpy.arange(len(signal) - STEPS)
    inputs = signal[starts[:, None] + numpy.arange(STEPS)][..., None]
    return inputs.astype(numpy.float32), signal[starts + STEPS, None].astype(numpy.float32)


def main():
    args = arguments(__doc__.splitlines()[0], epochs=30, batch_size=32, learning_rate=3e-3,
                     hidden=32, plot="rnn.png")
    zen.seed(args.seed)
    x = numpy.linspace(0, 40, 1600)
    signal = numpy.sin(x) * numpy.cos(x)
    split = 1200
    train_x, train_y = windows(signal[:split])
    test_x, test_y = windows(signal[split - STEPS:])
    model = Model([RNN(1, hidden_dim=args.hidden)], device=args.device)
    started = time.perf_counter()
    history = model.train(train_x, train_y, epochs=args.epochs, loss_fn=zen.loss.MSE,
                          optimizer=zen.optim.Adam(lr=args.learning_rate),
                          batch_size=args.batch_size, distributed=args.distributed)
    seconds = time.perf_counter() - started
    prediction = model.predict(test_x).numpy()
    test_mse = float(numpy.mean((prediction - test_y) ** 2))
    report("sin·cos RNN", history, seconds, test_mse=test_mse)
    if args.plot and zen.distributed.rank() == 0:
        try:
            plot(x[split:], test_y, prediction, args.plot)
            print(f"plot saved to {args.plot}")
        except ImportError:
            print("no plot: matplotlib is not installed (pip install matplotlib)")


def plot(x, truth, prediction, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    figure, axes = pyplot.subplots(figsize=(8, 3))
    axes.plot(x, truth, label="sin(x)·cos(x)")
    axes.plot(x, prediction, "--", label="RNN, one step ahead")
    axes.set_xlabel("x")
    axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
