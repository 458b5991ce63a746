"""zen's random numbers: one seeded generator for initialisation, dropout and shuffling.

Numbers are drawn on the host and moved to the device, so ``zen.seed(n)`` gives the same
model and the same batches on every device.
"""

from __future__ import annotations

import contextlib

import backends

_generator = backends.Generator()


def seed(value: int) -> None:
    """Restart zen's random numbers from ``value``."""
    global _generator
    _generator = backends.Generator(value)


def generator():
    return _generator


@contextlib.contextmanager
def using(other):
    """Draw from ``other`` inside the block; zen's own generator is left as it was."""
    global _generator
    previous, _generator = _generator, other
    try:
        yield other
    finally:
        _generator = previous
