"""Recognise handwritten digits (scikit-learn's 8x8 digits) with a small convolutional net.

    python examples/cnn.py [--device cpu|cuda] [--distributed] [--epochs 30]
"""

import time

import zen
from common import arguments, digits, report
from zen.nn import Conv2D, Flatten, Linear, MaxPool2D, Model, ReLU


def main():
    args = arguments(__doc__.splitlines()[0], epochs=30, batch_size=64, learning_rate=2e-3)
    zen.seed(args.seed)
    (train_x, train_y), (test_x, test_y) = digits(seed=args.seed)
    model = Model([Conv2D(16, 3, padding="same"), ReLU(), MaxPool2D(2),
                   Conv2D(32, 3, padding="same"), ReLU(), MaxPool2D(2),
                   Flatten(), Linear(10)], device=args.device)
    started = time.perf_counter()
    history = model.train(train_x[:, None], train_y, epochs=args.epochs,
                          loss_fn=zen.loss.softmax_cross_entropy,
                          optimizer=zen.optim.Adam(lr=args.learning_rate),
                          batch_size=args.batch_size, distributed=args.distributed)
    seconds = time.perf_counter() - started
    result = model.evaluate(test_x[:, None], test_y, loss_fn=zen.loss.softmax_cross_entropy)
    report("digits CNN", history, seconds, test_accuracy=result["accuracy"],
           test_loss=result["loss"])


if __name__ == "__main__":
    main()
