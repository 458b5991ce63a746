"""Host-side services for the engine: seeded random numbers and array files, in NumPy.

Random numbers are drawn on the host and then moved to the device, so one seed gives the
same numbers, and so the same model, on every backend.
"""

import io
import os
import stat
import tempfile

import numpy


class Generator:
    """A seeded source of random host arrays (float64; the caller casts and moves them)."""

    def __init__(self, seed=None):
        self._rng = numpy.random.default_rng(seed)

    def uniform(self, low, high, shape):
        return self._rng.uniform(low, high, size=shape)

    def normal(self, mean, std, shape):
        return self._rng.normal(mean, std, size=shape)

    def permutation(self, count):
        return self._rng.permutation(count)

    def get_state(self):
        return self._rng.bit_generator.state

    def set_state(self, state):
        self._rng.bit_generator.state = state


def save_arrays(path, arrays, metadata=""):
    """Write ``arrays`` (name -> host array) and a ``metadata`` string to an ``.npz`` file.

    The file is written beside ``path`` and renamed over it only when complete and flushed to
    disk, so a crash at any moment leaves either the old file or the new one, never a mix.
    """
    directory = os.path.dirname(os.path.abspath(path))
    buffer = io.BytesIO()
    numpy.savez(buffer, __metadata__=numpy.array(metadata), **arrays)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".zen-", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); keep the old file's mode, else the usual one.
        mode = stat.S_IMODE(os.stat(path).st_mode) if os.path.exists(path) else 0o644
        os.chmod(temporary, mode)
        with os.fdopen(handle, "wb") as file:
            file.write(buffer.getvalue())
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def load_arrays(path):
    """``(arrays, metadata)`` from a file ``save_arrays`` wrote, read fully, so that a damaged
    file fails here and not halfway through using it."""
    with numpy.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    return arrays, str(arrays.pop("__metadata__", ""))
