"""Small eager workloads for counting instructions, which a loaded machine does not disturb:

    PYTHONHASHSEED=0 OMP_NUM_THREADS=1 valgrind --tool=cachegrind --cache-sim=no \\
        python -m benchmarks.counts WORKLOAD N

runs WORKLOAD once to warm up, then N times. The count of a run with N minus the count of a
run with 0, over N, is the count of one run, imports and set-up cancelled. WORKLOAD is
"chain" (100 x ``(y * a + b).tanh()`` on 16 floats, then backward: 300 recorded ops),
"scalar" (1,000 x ``y + 1.0``, then backward), "step" (one 64-row step of a 64-64-10 MLP:
forward, cross-entropy, backward, SGD) or "captured" (that step under ``zen.capture``, on a
batch of 64 rows and then a short one of 5, each made into Tensors from NumPy arrays at the
call, as a hand-written loop does).
"""

import sys

import numpy

import zen
from zen import Tensor


def _chain(rng):
    a = Tensor(rng.normal(size=16).astype(numpy.float32) * 0.5, trainable=True)
    b = Tensor(rng.normal(size=16).astype(numpy.float32) * 0.1, trainable=True)
    x = Tensor(rng.normal(size=16).astype(numpy.float32), trainable=False)

    def run():
        y = x
        for _ in range(100):
            y = (y * a + b).tanh()
        y.sum().backward()
        a.gradient = b.gradient = None
    return run


def _scalar(rng):
    x = Tensor(rng.normal(size=16).astype(numpy.float32), trainable=True)

    def run():
        y = x
        for _ in range(1000):
            y = y + 1.0
        y.sum().backward()
        x.gradient = None
    return run


def _training_step():
    model = zen.nn.Model([zen.nn.Linear(64), zen.nn.Tanh(), zen.nn.Linear(10)],
                         input_shape=(64,))
    optimizer = zen.optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        loss = zen.loss.softmax_cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss
    return step


def _batch(rng, rows):
    return rng.normal(size=(rows, 64)).astype(numpy.float32), rng.integers(0, 10, size=rows)


def _step(rng):
    step = _training_step()
    x, y = (Tensor(array, trainable=False) for array in _batch(rng, 64))
    return lambda: step(x, y)


def _captured(rng):
    step = zen.capture(_training_step())
    batches = [_batch(rng, 64), _batch(rng, 5)]

    def run():
        for x, y in batches:
            step(Tensor(x, trainable=False, copy=False), Tensor(y, trainable=False, copy=False))
    for _ in range(3):      # warmed, traced: run() replays
        run()
    return run


WORKLOADS = {"chain": _chain, "scalar": _scalar, "step": _step, "captured": _captured}


def main(arguments):
    if len(arguments) != 2 or arguments[0] not in WORKLOADS or not arguments[1].isdigit():
        raise SystemExit(f"usage: python -m benchmarks.counts {'|'.join(WORKLOADS)} N")
    run = WORKLOADS[arguments[0]](numpy.random.default_rng(0))
    run()
    for _ in range(int(arguments[1])):
        run()


if __name__ == "__main__":
    main(sys.argv[1:])
