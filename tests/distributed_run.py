"""What the distributed tests check, as a program for every process of an MPI job:

    mpirun -n 2 python distributed_run.py DEVICE OUTDIR

Each rank writes OUTDIR/rank<N>.json (gradients, losses, errors) and OUTDIR/rank<N>.npz (its
parameters after training), and OUTDIR/two_ranks<N>.npz and OUTDIR/one_process0.npz (see
``against_one_process``), for tests/test_distributed.py to compare.
    mpirun -n 2 python distributed_run.py DEVICE OUTDIR --abort
trains with a checkpoint only rank 0 fails to write, so the job must stop, not hang.
    mpirun -n 2 python distributed_run.py DEVICE OUTDIR --resume CHECKPOINT [--slow]
trains from CHECKPOINT when it exists (each rank first writes its pid to OUTDIR/pid<N>, so
that a test can interrupt one of them; --slow sleeps in every step) and saves the result to
OUTDIR/final<N>.npz.
    mpirun -n 2 python distributed_run.py DEVICE OUTDIR --alone CASE
has rank 1 leave or stall training on its own (see ``alone``): the job must end, not hang.
"""

import json
import os
import signal
import sys
import time

import numpy

import zen
from zen.distributed import Communicator, shard
from zen.nn import Dropout, Layer, Linear, Model, ReLU, Tanh


# 149 rows in steps of 2 x 16: the last step's shares are 10 and 11 rows, so with dropout the
# two processes draw different counts of random numbers.
def data(rows=149):
    rng = numpy.random.default_rng(0)
    x = rng.normal(size=(rows, 6))
    return x, (x[:, 0] > 0).astype(numpy.int64) + (x[:, 1] > 0)


def model(device, width=16):
    zen.seed(zen.distributed.rank())        # different on purpose: rank 0's must win
    return Model([Linear(width), ReLU(), Linear(3)], device=device)


def gradients(device):
    """The all-reduced gradient of uneven shards of one batch, and the full batch's own."""
    comm = Communicator(device, bucket_bytes=200)   # small buffers: several per step
    net, (x, y) = model(device), data()
    x, y = zen.Tensor(x, device=device), zen.Tensor(y, device=device)
    net(x[:1])
    parameters = net.parameters()
    comm.broadcast(parameters)
    start, stop = shard(0, 63, comm.rank, comm.size)
    loss = zen.loss.softmax_cross_entropy(net(x[start:stop]), y[start:stop])
    loss.backward()
    reduced_loss = comm.average_gradients(parameters, loss.value, (stop - start) / 63)
    reduced = [p.gradient for p in parameters]
    for p in parameters:
        p.gradient = None
    full = zen.loss.softmax_cross_entropy(net(x[:63]), y[:63])
    full.backward()
    return {"reduced": [_host(g) for g in reduced],
            "full": [_host(p.gradient) for p in parameters],
            "reduced_loss": float(_host(reduced_loss)), "full_loss": full.item(),
            "seconds": comm.seconds}


def _host(array):
    return zen.Tensor(array).numpy().tolist()


def train(device, outdir, rank, result="rank", epochs=3, pause=0.0, **options):
    net, (x, y) = model(device), data()
    net.layers.insert(2, Dropout(0.1))

    def loss(prediction, target):
        time.sleep(pause)
        return zen.loss.softmax_cross_entropy(prediction, target)

    history = net.train(x, y, epochs=epochs, batch_size=16, loss_fn=loss,
                        optimizer=zen.optim.Adam(lr=0.01), verbose=False, distributed=True,
                        **options)
    net.save(os.path.join(outdir, f"{result}{rank}.npz"))
    return history


class Unused(Layer):
    """A parameter that never reaches the loss, so never has a gradient."""

    def forward(self, x):
        if not self.weights:
            self.add_weight("spare", (3,), x, 0.5)
        return x


def orders_and_unused(device):
    """Each epoch's order of examples, and whether a parameter without gradients moved (or
    took optimiser steps) under AdamW, whose weight decay would move it."""
    orders, draw = [], zen.training.Fit._order

    def recorded(self, count, shuffle):
        order = draw(self, count, shuffle)
        orders.append(zen.Tensor(order).numpy().tolist())
        return order

    net, (x, y) = model(device), data()
    net.layers[1:1] = [Unused(), Dropout(0.3)]
    net(zen.Tensor(x[:1], device=device))
    Communicator(device).broadcast(net.parameters())    # what train starts from
    spare = net.layers[1].weights["spare"]
    before = spare.numpy().copy()
    optimizer = zen.optim.AdamW(lr=0.01)
    zen.training.Fit._order = recorded
    try:
        net.train(x, y, epochs=3, batch_size=16, loss_fn=zen.loss.softmax_cross_entropy,
                  optimizer=optimizer, verbose=False, distributed=True)
    finally:
        zen.training.Fit._order = draw
    moved = bool((spare.numpy() != before).any()) or spare in optimizer.state
    return orders, moved


def empty_share_with_float64_loss(device):
    """float32 parameters, float64 data (so a float64 loss) and a process with no rows in
    the last step: both processes must still pack the same buffers."""
    net, (x, y) = model(device), data(129)      # last step: 1 row, so rank 0 gets none
    net(zen.Tensor(x[:1].astype(numpy.float32), device=device))
    zen.set_default_dtype("float64")
    try:
        return net.train(x, y, epochs=2, batch_size=32, verbose=False, distributed=True,
                         loss_fn=zen.loss.softmax_cross_entropy)
    finally:
        zen.set_default_dtype("float32")


def against_one_process(device, outdir):
    """The same SGD training as 2 ranks x batch 16 and, on rank 0, as 1 process x batch 32,
    in float64, saved to OUTDIR/two_ranks<N>.npz and OUTDIR/one_process0.npz. 101 rows:
    the last step has 5, shares of 2 and 3."""
    rank = zen.distributed.rank()
    x, y = data(101)
    zen.set_default_dtype("float64")
    try:
        for result, batch_size, distributed in (("two_ranks", 16, True),
                                                ("one_process", 32, False)):
            if distributed or rank == 0:
                net = model(device)
                net.train(x, y, epochs=3, batch_size=batch_size,
                          loss_fn=zen.loss.softmax_cross_entropy,
                          optimizer=zen.optim.SGD(lr=0.1), verbose=False,
                          distributed=distributed)
                net.save(os.path.join(outdir, f"{result}{rank}.npz"))
    finally:
        zen.set_default_dtype("float32")


def refused(call):
    """The message of the error ``call`` raised on this rank (None if it raised none)."""
    try:
        call()
    except zen.errors.ZenError as error:
        return f"{type(error).__name__}: {error}"
    return None


def main(device, outdir):
    rank = zen.distributed.rank()
    x, y = data()
    bad_x = x.copy()
    if rank == 1:
        bad_x[5, 2] = numpy.nan
    other_device = "cpu" if device != "cpu" else "array_api_strict:device1"
    orders, unused_moved = orders_and_unused(device)
    against_one_process(device, outdir)
    result = {
        "gradients": gradients(device),
        "orders": orders,
        "unused_parameter_moved": unused_moved,
        "empty_share_with_float64_loss": empty_share_with_float64_loss(device),
        "history": train(device, outdir, rank,
                         checkpoint=os.path.join(outdir, f"checkpoint{rank}.npz")),
        "mismatched_model": refused(lambda: model(device, width=16 + rank).train(
            x, y, loss_fn=zen.loss.softmax_cross_entropy, verbose=False, distributed=True)),
        "other_activation": refused(lambda: Model(
            [Linear(16), ReLU() if rank == 0 else Tanh(), Linear(3)], device=device).train(
            x, y, loss_fn=zen.loss.softmax_cross_entropy, verbose=False, distributed=True)),
        "validation_on_one_rank": refused(lambda: model(device).train(
            x, y, loss_fn=zen.loss.softmax_cross_entropy, verbose=False, distributed=True,
            validation_data=(x, y) if rank == 1 else None)),
        "checkpoint_on_one_rank": refused(lambda: model(device).train(
            x, y, loss_fn=zen.loss.softmax_cross_entropy, verbose=False, distributed=True,
            checkpoint=os.path.join(outdir, "one-rank.npz") if rank == 1 else None)),
        "mismatched_data": refused(lambda: model(device).train(
            x[:100 + rank], y[:100 + rank], loss_fn=zen.loss.softmax_cross_entropy,
            verbose=False, distributed=True)),
        "bad_data_on_one_rank": refused(lambda: model(device).train(
            bad_x, y, loss_fn=zen.loss.softmax_cross_entropy, verbose=False,
            distributed=True)),
        "other_optimiser_settings": refused(lambda: model(device).train(
            x, y, loss_fn=zen.loss.softmax_cross_entropy, verbose=False, distributed=True,
            optimizer=zen.optim.AdamW(lr=0.01, weight_decay=0.01 + 0.01 * rank))),
        "model_on_another_device": refused(lambda: Model(
            [Linear(2)], device=device if rank == 0 else other_device).train(
            x, y, verbose=False, distributed=Communicator(device))),
    }
    with open(os.path.join(outdir, f"rank{rank}.json"), "w") as file:
        json.dump(result, file)


def abort(device, outdir):
    rank = zen.distributed.rank()
    path = os.path.join(outdir, "missing-folder" if rank == 0 else "", "checkpoint.npz")
    train(device, outdir, rank, checkpoint=path)


def resume(device, outdir, checkpoint, slow):
    rank = zen.distributed.rank()
    with open(os.path.join(outdir, f"pid{rank}"), "w") as file:
        file.write(str(os.getpid()))
    train(device, outdir, rank, result="final", epochs=6, pause=0.1 if slow else 0.0,
          checkpoint=checkpoint, resume=True)


class SigintOnFirstCall(Layer):
    """Sends rank 1 a SIGINT the first time it runs: in train's start-up checks. Every rank
    has it, so that the processes' layers agree."""

    sent = False

    def forward(self, x):
        if not self.sent and zen.distributed.rank() == 1:
            self.sent = True
            os.kill(os.getpid(), signal.SIGINT)
        return x


def _on_third_call(action):
    """A loss that calls ``action`` (on rank 1 only) in its third call, at the third step."""
    calls = []

    def loss(prediction, target):
        calls.append(None)
        if len(calls) == 3 and zen.distributed.rank() == 1:
            action()
        return zen.loss.softmax_cross_entropy(prediction, target)
    return loss


def _raise_interrupt():
    raise KeyboardInterrupt


ALONE = {   # what rank 1 does on its own at the third step
    "exit": lambda: sys.exit(3),
    "keyboard_interrupt": _raise_interrupt,
    "stall": lambda: time.sleep(3600),
}


def alone(device, outdir, case):
    """Rank 1 leaves training (or stalls) without the others: the job must end, not hang.
    ``sigint_at_start`` and ``one_distributed`` write what each rank saw to OUTDIR."""
    rank = zen.distributed.rank()
    net, (x, y) = model(device), data()
    Communicator(device, timeout=120).barrier()     # only the wait of the case may run out
    settings = {"epochs": 2, "batch_size": 16, "optimizer": zen.optim.SGD(lr=0.1),
                "verbose": False}
    if case == "sigint_at_start":
        net.layers.append(SigintOnFirstCall())     # no weights: names stay
        calls = []
        try:
            net.train(x, y, loss_fn=lambda *pair: calls.append(None) or
                      zen.loss.softmax_cross_entropy(*pair), distributed=True, **settings)
            result = "finished"
        except KeyboardInterrupt:
            result = f"KeyboardInterrupt after {len(calls)} step(s)"
    elif case == "one_distributed":
        net.train(x, y, loss_fn=zen.loss.softmax_cross_entropy, distributed=rank == 0,
                  **settings)
        result = "finished"
    elif case == "hand_written_loop":
        comm = Communicator(device, timeout=5)
        result = refused(lambda: comm.all_reduce([comm.backend.asarray([1.0])])
                         if rank == 0 else None)
    else:
        net.train(x, y, loss_fn=_on_third_call(ALONE[case]), distributed=True, **settings)
        result = "finished"
    with open(os.path.join(outdir, f"alone{rank}.json"), "w") as file:
        json.dump(result, file)


if __name__ == "__main__":
    device, outdir = sys.argv[1], sys.argv[2]
    if "--abort" in sys.argv:
        abort(device, outdir)
    elif "--alone" in sys.argv:
        alone(device, outdir, sys.argv[sys.argv.index("--alone") + 1])
    elif "--resume" in sys.argv:
        resume(device, outdir, sys.argv[sys.argv.index("--resume") + 1], "--slow" in sys.argv)
    else:
        main(device, outdir)
