"""Recognise handwritten digits (scikit-learn's 8x8 digits) with a two-layer network.

    python examples/mnist.py [--device cpu|cuda] [--distributed] [--epochs 40]
"""

import time

import zen
from common import arguments, digits, report
from zen.nn import Linear, Model, ReLU


def main():
    args = arguments(__doc__.splitlines()[0], epochs=40, batch_size=64, learning_rate=1e-3)
    zen.seed(args.seed)
    (train_x, train_y), (test_x, test_y) = digits(seed=args.seed)
    model = Model([Linear(256), ReLU(), Linear(10)], device=args.device)
    started = time.perf_counter()
    history = model.train(train_x.reshape(len(train_x), -1), train_y, epochs=args.epochs,
                          loss_fn=zen.loss.softmax_cross_entropy,
                          optimizer=zen.optim.Adam(lr=args.learning_rate),
                          batch_size=args.batch_size, distributed=args.distributed)
    seconds = time.perf_counter() - started
    result = model.evaluate(test_x.reshape(len(test_x), -1), test_y,
                            loss_fn=zen.loss.softmax_cross_entropy)
    report("digits MLP", history, seconds, test_accuracy=result["accuracy"],
           test_loss=result["loss"])


if __name__ == "__main__":
    main()
