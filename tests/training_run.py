"""A small training run for the resume tests, as a program that can be killed:

    python training_run.py CHECKPOINT RESULT [--slow]

It trains with a checkpoint (resuming from it when it exists) and saves the final model to
RESULT. --slow sleeps in every step, so that a test can kill it in the middle of an epoch.
"""

import sys
import time

import numpy

import zen
from zen.nn import Dropout, Linear, Model, ReLU

EPOCHS = 6
SETTINGS = {"batch_size": 20, "verbose": False}     # 10 steps an epoch


def data():
    rng = numpy.random.default_rng(0)
    x = rng.normal(size=(200, 6))
    return x, (x[:, 0] > 0).astype(numpy.int64) + (x[:, 1] > 0)


def network():
    return Model([Linear(16), ReLU(), Dropout(0.2), Linear(3)])


def run(checkpoint, slow=False, loss_fn=zen.loss.softmax_cross_entropy, epochs=EPOCHS,
        optimizer=lambda: zen.optim.Adam(lr=0.01)):
    zen.seed(0)
    x, y = data()
    model = network()

    def loss(prediction, target):
        if slow:
            time.sleep(0.02)
        return loss_fn(prediction, target)

    model.train(x, y, epochs=epochs, loss_fn=loss, optimizer=optimizer(),
                checkpoint=checkpoint, resume=True, **SETTINGS)
    return model


if __name__ == "__main__":
    run(sys.argv[1], slow="--slow" in sys.argv).save(sys.argv[2])
