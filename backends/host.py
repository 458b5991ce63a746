"""Host-side services for the engine: seeded random numbers and array files, in NumPy.

Random numbers are drawn on the host and then moved to the device, so one seed gives the
same numbers, and so the same model, on every backend.

Array files are ``.npz`` archives (a zip of ``.npy`` entries, no pickles) that are written
one array at a time, atomically, and read back only as far as the reader expects: each
entry's declared size is checked against the shape the reader asks for before a byte of it
is decompressed.
"""

import contextlib
import itertools
import math
import os
import re
import socket
import stat
import struct
import threading
import zipfile
import zlib

import numpy
from numpy.lib import format as npy

METADATA = "__metadata__"           # the entry that holds the file's description
METADATA_LIMIT = 64 * 2**20         # bytes of description read before anything else is known
_HEADER_LIMIT = 10000               # bytes of an .npy header (NumPy's own limit)
_PREAMBLE = npy.MAGIC_LEN + 4       # the magic string and the header's length field
_CHUNK = 2**20                      # bytes read from an entry at a time
_KINDS = {
    "real floating": [numpy.dtype(name) for name in ("float16", "float32", "float64")],
    "integral": [numpy.dtype(f"{sign}int{bits}") for sign in ("", "u") for bits in (8, 16, 32, 64)],
}
_TEMPORARY_SUFFIX = ".zen-tmp"


class Generator:
    """A seeded source of random host arrays (float64; the caller casts and moves them)."""

    def __init__(self, seed=None):
        self._rng = numpy.random.default_rng(seed)

    def uniform(self, low, high, shape):
        return self._rng.uniform(low, high, size=shape)

    def normal(self, mean, std, shape):
        return self._rng.normal(mean, std, size=shape)

    def integers(self, low, high, shape):
        """Integers in [low, high), int64."""
        return self._rng.integers(low, high, size=shape, dtype=numpy.int64)

    def permutation(self, count):
        return self._rng.permutation(count)

    def get_state(self):
        return self._rng.bit_generator.state

    def set_state(self, state):
        self._rng.bit_generator.state = state

    def check_state(self, state):
        """Raise ValueError unless ``set_state`` would take ``state`` exactly as it is."""
        probe = type(self._rng.bit_generator)()
        try:
            probe.state = state
        except (TypeError, ValueError, KeyError, OverflowError) as error:
            raise ValueError(f"not a {type(probe).__name__} state ({error})") from error
        if probe.state != state:    # a field coerced on the way in: 1.5 -> 1, say
            raise ValueError(f"not a {type(probe).__name__} state (it reads back as "
                             f"{probe.state})")


class ArrayFileError(ValueError):
    """An array file that is damaged, or whose entries are not what the reader expects."""


class ArrayMismatchError(ArrayFileError):
    """An entry whose declared size, shape or dtype is not what the reader expects."""


def save_arrays(path, arrays, metadata=""):
    """Write ``metadata`` (a string) and ``arrays`` (``(name, host array)`` pairs, taken one
    at a time, so that only one of them need be in memory) to an ``.npz`` file at ``path``.

    The file is written beside the real file that ``path`` names (through symbolic links) and
    renamed over it only when complete and flushed to disk, so a crash at any moment leaves
    either the old file or the new one, never a mix. A new file gets the permissions the
    umask allows, as ``open`` would give it; an existing one keeps its own. Temporary files
    of earlier saves to the same file whose process is gone (killed mid-write) are removed.
    """
    target = os.path.realpath(path)
    directory, name = os.path.split(target)
    _remove_stale_temporaries(directory, name)
    temporary = os.path.join(directory, _temporary_name(name, os.getpid(),
                                                        threading.get_ident()))
    descriptor = _create_beside(temporary, target)
    try:
        with os.fdopen(descriptor, "wb") as file:
            _write_npz(file, arrays, metadata)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_directory(directory)


def _write_npz(file, arrays, metadata):
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        entries = [(METADATA, numpy.array(metadata))]
        for name, array in itertools.chain(entries, arrays):
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                npy.write_array(member, numpy.asarray(array), allow_pickle=False)
            del array       # before the next one is made: one array on the host at a time


def _temporary_name(name, pid, thread):
    # The writer's host and process in the name tell a killed save's leftover from a save
    # in progress; the target's name is cut so that the whole stays under 255 bytes.
    return f".{name[:120]}.{socket.gethostname()}.{pid}.{thread}{_TEMPORARY_SUFFIX}"


def _remove_stale_temporaries(directory, name):
    pattern = re.compile(rf"\.{re.escape(name[:120])}\.(.+)\.(\d+)\.(\d+)"
                         rf"{re.escape(_TEMPORARY_SUFFIX)}")
    host = socket.gethostname()
    for entry in os.listdir(directory):
        match = pattern.fullmatch(entry)
        if match and match[1] == host and not _process_alive(int(match[2])):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(directory, entry))


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:     # alive, but another user's
        return True
    return True


def _create_beside(temporary, target):
    """A new file at ``temporary`` opened for writing, with ``target``'s mode if it exists."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary)    # a name of our own: left by a dead process that had our pid
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        os.fchmod(descriptor, stat.S_IMODE(os.stat(target).st_mode))
    except FileNotFoundError:
        pass                    # a new file: the umask has had its say
    except BaseException:
        os.close(descriptor)
        os.unlink(temporary)
        raise
    return descriptor


def _sync_directory(directory):
    """Make the rename itself durable, where the system allows opening a directory."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# What reading a damaged zip or .npy entry raises, besides ArrayFileError itself.
_DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError, struct.error, ValueError, KeyError,
           NotImplementedError, RuntimeError, OverflowError, UnicodeDecodeError)


@contextlib.contextmanager
def _reading(what):
    try:
        yield
    except ArrayFileError:
        raise
    except _DAMAGE as error:
        raise ArrayFileError(f"{what}: {type(error).__name__}: {error}") from error


class ArrayFile:
    """An ``.npz`` file open for reading what the caller expects and nothing more.

    Opening reads only the zip directory. ``names`` are the entries (without ``.npy``);
    ``metadata`` reads the description (up to ``METADATA_LIMIT`` bytes) and ``read_all`` the
    arrays the caller names, each checked against the shape it expects before a byte of it
    is decompressed. Use it as a context manager.
    """

    def __init__(self, path):
        with _reading("its zip directory"):
            self._zip = zipfile.ZipFile(path)
        try:
            self._entries = self._index(self._zip.infolist())
        except BaseException:
            self._zip.close()
            raise
        self.names = frozenset(self._entries)
        self._left = None       # bytes that read_all may still take, once it starts

    @staticmethod
    def _index(infos):
        entries = {}
        for info in infos:
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if name in entries:
                raise ArrayFileError(f"it holds the entry {name!r} twice")
            entries[name] = info
        return entries

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._zip.close()

    def metadata(self):
        """The description string stored by ``save_arrays``."""
        if METADATA not in self._entries:
            raise ArrayFileError(f"it has no {METADATA} entry")
        array = self._read(METADATA, (), "string", METADATA_LIMIT)
        return str(array[()])

    def read_all(self, expected):
        """``{name: host array}`` for ``expected``: ``{name: (shape, kind)}``, where kind is
        "real floating" or "integral" and a shape of None means the one the entry's header
        gives (allowed only for an uncompressed entry, whose size the file itself bounds).

        Before an entry is decompressed, its declared size must fit its shape; then its
        header must give that shape and a dtype of that kind, and its size must be exactly
        what they imply. As a second guard, the bytes taken in all may not exceed what the
        shapes allow."""
        limits = {name: self._limit(name, shape, kind) for name, (shape, kind) in expected.items()}
        self._left = sum(limits.values())
        return {name: self._read(name, shape, kind, limits[name])
                for name, (shape, kind) in expected.items()}

    def _limit(self, name, shape, kind):
        if shape is not None:
            itemsize = max(dtype.itemsize for dtype in _KINDS[kind])
            return _PREAMBLE + _HEADER_LIMIT + math.prod(shape) * itemsize
        info = self._entry(name)
        if info.compress_type != zipfile.ZIP_STORED:
            raise ArrayMismatchError(f"{name} is compressed, and nothing says what shape "
                                     f"it should have")
        return info.compress_size

    def _entry(self, name):
        info = self._entries.get(name)
        if info is None:
            raise ArrayMismatchError(f"it lacks the entry {name}")
        return info

    def _read(self, name, shape, kind, most):
        info = self._entry(name)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ArrayFileError(f"{name} is compressed with zip method {info.compress_type}; "
                                 f"only stored and deflated entries are read")
        if info.file_size > most:
            raise ArrayMismatchError(f"{name} declares {info.file_size} bytes, more than the "
                                     f"{most} it may take")
        with _reading(name), self._zip.open(info) as member:
            found_shape, fortran_order, dtype, offset = _header(member, name)
            if shape is not None and found_shape != tuple(shape):
                raise ArrayMismatchError(f"{name} has shape {found_shape}, not {tuple(shape)}")
            if not _of_kind(dtype, kind):
                raise ArrayMismatchError(f"{name} has dtype {dtype}, which is not {kind}")
            nbytes = math.prod(found_shape) * dtype.itemsize
            if info.file_size != offset + nbytes:
                raise ArrayMismatchError(f"{name} declares {info.file_size} bytes, but a "
                                         f"{dtype} array of shape {found_shape} takes "
                                         f"{offset + nbytes}")
            data = self._take(member, nbytes, name)
        array = numpy.frombuffer(data, dtype, count=math.prod(found_shape))
        array = array.reshape(found_shape, order="F" if fortran_order else "C")
        return array.astype(dtype.newbyteorder("="), copy=False)

    def _take(self, member, nbytes, name):
        """Exactly ``nbytes`` from ``member``, then its end (where the zip checks the CRC)."""
        if self._left is not None:
            self._left -= nbytes
            if self._left < 0:
                raise ArrayMismatchError(f"{name} takes the file past the size its "
                                         f"description allows")
        data = bytearray(nbytes)    # writable, so the array made on it is
        view, filled = memoryview(data), 0
        while filled < nbytes:
            chunk = member.read(min(nbytes - filled, _CHUNK))
            if not chunk:
                raise ArrayFileError(f"{name} ends after {filled} of its {nbytes} bytes")
            view[filled:filled + len(chunk)] = chunk
            filled += len(chunk)
        if member.read(1):
            raise ArrayFileError(f"{name} goes on past its {nbytes} bytes")
        return data


def _of_kind(dtype, kind):
    return dtype.kind == "U" if kind == "string" else dtype.newbyteorder("=") in _KINDS[kind]


def _header(member, name):
    """``(shape, fortran_order, dtype, data offset)`` from the ``.npy`` header at the start
    of ``member``."""
    version = npy.read_magic(member)
    readers = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}
    if version not in readers:
        raise ArrayFileError(f"{name} is in .npy version {version}, not 1.0 or 2.0")
    shape, fortran_order, dtype = readers[version](member, max_header_size=_HEADER_LIMIT)
    return tuple(shape), fortran_order, dtype, member.tell()
