"""Fit a small two-layer network to y = sin(3x) with plain gradient descent.

    python examples/demo.py [--device cpu|cuda] [--steps 500]
"""

import argparse

import numpy

from zen import Tensor


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    args = parser.parse_args()

    rng = numpy.random.default_rng(0)
    x_host = rng.uniform(-1, 1, size=(256, 1))
    inputs = Tensor(x_host, trainable=False, device=args.device, dtype="float32")
    targets = Tensor(numpy.sin(3 * x_host), trainable=False, device=args.device,
                     dtype="float32")
    parameters = [Tensor(rng.normal(scale=scale, size=shape), device=args.device,
                         dtype="float32")
                  for shape, scale in [((1, 32), 1.0), ((32,), 0.1), ((32, 1), 0.2), ((1,), 0.1)]]
    weight1, bias1, weight2, bias2 = parameters

    for step in range(args.steps + 1):
        prediction = (inputs @ weight1 + bias1).tanh() @ weight2 + bias2
        loss = ((prediction - targets) ** 2).mean()
        loss.backward()
        for parameter in parameters:     # raw array arithmetic on the device: no graph
            parameter.value = parameter.value - args.learning_rate * parameter.gradient
            parameter.zero_grad()
        if step % (args.steps // 10 or 1) == 0:
            print(f"step {step:5d}  loss {loss.item():.5f}")


if __name__ == "__main__":
    main()
