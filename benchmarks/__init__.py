"""zen's benchmark runner: ``python -m benchmarks --device cpu|cuda [--only NAME] [--json PATH]``.

Each workload runs in zen, as the same array calls written by hand with no graph (NumPy on the
CPU, CuPy on CUDA: the floor), and in PyTorch when it is installed, side by side in one
process, so that ratios to the floor are the figures that count on a noisy machine.
"""
