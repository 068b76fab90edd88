"""On-disk conventions shared by the CSR shards and the CSC feature store.

Every array is 1-D, Zarr v3, chunks of CHUNK elements, no sharding and, by default, no
compressor. Why:
- A feature (or row) is a contiguous range, so a read touches ceil(len / CHUNK) + 1 chunks at
  most; 2**16 elements (256 KiB at 4 B) keeps a median feature in one or two chunks while a
  1M-nnz feature is still only ~16 chunk reads, and 320M nnz stay under 5,000 files per array.
- Uncompressed: the sample ids of a feature are in activation order (no runs to exploit) and
  zstd saved only ~15 % on float32 activations while tripling zarr's per-read latency
  (measured 1.6 ms vs 0.5 ms for a 500-entry feature). 8 B per nonzero is within budget.
- Unsharded + uncompressed means a chunk file is the raw little-endian bytes, so `Vector`
  reads a range with plain file reads (microseconds) instead of zarr's ~0.3 ms per chunk.
Callers may still pass `compressors`; reads then go through zarr.
"""

from __future__ import annotations

import operator
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import zarr
from zarr.codecs import BytesCodec
from zarr.storage import LocalStore

CHUNK = 1 << 16
Check = Callable[[str], None]  # raises if a chunk file is damaged (store/integrity.py)
ENCODING_VERSION = "0.1.0"


def index_dtype(n: int) -> np.dtype:
    """Smallest unsigned integer dtype that holds every id in [0, n)."""
    for dt in (np.uint8, np.uint16, np.uint32):
        if n - 1 <= np.iinfo(dt).max:
            return np.dtype(dt)
    return np.dtype(np.uint64)


def greedy_ranges(counts: np.ndarray, capacity: int) -> list[tuple[int, int]]:
    """Split [0, len(counts)) into contiguous ranges of total count <= capacity; an item
    larger than capacity gets a range of its own."""
    cum = np.cumsum(counts)
    ranges, start = [], 0
    while start < len(counts):
        base = int(cum[start - 1]) if start else 0
        stop = max(int(np.searchsorted(cum, base + capacity, side="right")), start + 1)
        ranges.append((start, stop))
        start = stop
    return ranges


def store_chunk(length: int) -> int:
    """Chunk length for a write-once array of `length` (the feature store): CHUNK up to 4M
    entries, then the power of two giving ~64 chunks, at most 2**20 (4 MiB at 4 B). Creating
    a file costs ~0.6 ms here, as much as writing 1.5 MB: 2,000 chunk files were half of a
    seed-scale build. Raw chunks are memory-mapped, so a read costs the same at any size;
    small stores keep small chunks because the edge chunk is stored at full size."""
    target = 1 << max(int(length // 64).bit_length() - 1, 0)
    return min(max(target, CHUNK), 1 << 20)


def create_vector(
    group: zarr.Group, name: str, dtype, length: int, compressors=None, chunk: int = CHUNK
):
    """A 1-D array in the shared layout (zero fill, `chunk`-element chunks)."""
    return group.create_array(
        name,
        shape=(length,),
        dtype=dtype,
        chunks=(chunk,),
        compressors=compressors,
        fill_value=0,
    )


class SparseVector(NamedTuple):
    """The entries of one row of a CSR store or one column (feature) of a CSC store."""

    indices: np.ndarray
    """Feature ids (a row, ascending) or sample ids (a feature, by activation, highest first)."""
    data: np.ndarray
    """The activations, float32."""


class Vector:
    """Range reads of a 1-D zarr array, bypassing zarr when chunk files are raw bytes.

    `check(path)`, if given, is called with a chunk file's path before every read of it (the
    store layer checks it against the version's checksums: store/integrity.py)."""

    def __init__(self, arr: zarr.Array, check: Check | None = None):
        self.arr = arr
        self.dtype = np.dtype(arr.dtype)
        self.size = int(arr.shape[0])
        self.chunk = int(arr.chunks[0])
        self._dir = _raw_dir(arr)
        local = isinstance(arr.store, LocalStore)
        self._checking = local and check is not None
        self._check = check
        self._raw_dtype = self.dtype.newbyteorder("<")
        self._maps: dict[int, tuple[int | None, np.ndarray | None]] = {}  # k -> (inode, map)
        self._paths: dict[int, str] = {}  # k -> chunk file (strings: pathlib costs µs per read)

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, key: int | slice):
        """One element, or a contiguous range (`v[a:b]` is `v.read(a, b)`)."""
        if isinstance(key, slice):
            start, stop, step = key.indices(self.size)
            if step != 1:
                raise IndexError("only contiguous slices of a stored vector")
            return self.read(start, stop)
        i = operator.index(key)
        i = i + self.size if i < 0 else i
        if not 0 <= i < self.size:
            raise IndexError(f"index {key} out of range [0, {self.size})")
        return self.read(i, i + 1)[0]

    def read(self, a: int, b: int) -> np.ndarray:
        a, b = max(int(a), 0), min(int(b), self.size)
        if b <= a:
            return np.empty(0, self.dtype)
        self._checked(a, b)
        if self._dir is None:
            return np.asarray(self.arr[a:b])
        out = np.empty(b - a, self._raw_dtype)
        for k in range(a // self.chunk, (b - 1) // self.chunk + 1):
            lo, hi = max(a, k * self.chunk), min(b, (k + 1) * self.chunk)
            chunk = self._mapped(k)
            if chunk is None:  # zarr skips chunks that equal the fill value
                out[lo - a : hi - a] = 0
            else:
                out[lo - a : hi - a] = chunk[lo - k * self.chunk : hi - k * self.chunk]
        return out.astype(self.dtype, copy=False)

    def stream(self, a: int, b: int, out: np.ndarray | None = None) -> np.ndarray:
        """Like read, but with plain file reads and nothing kept mapped: a one-pass scan of a
        large array must not hold its pages in this process's memory. `out`, if given (of
        this dtype, at least b - a long), receives the values and its prefix is returned."""
        a, b = max(int(a), 0), min(int(b), self.size)
        if self._dir is None or b <= a:
            got = self.read(a, b)  # checks the chunks itself
            if out is None:
                return got
            out[: len(got)] = got
            return out[: len(got)]
        out = np.empty(b - a, self._raw_dtype) if out is None else out[: b - a]
        if out.dtype != self._raw_dtype:
            raise TypeError(f"out has dtype {out.dtype}, expected {self._raw_dtype}")
        size = self._raw_dtype.itemsize
        self._checked(a, b)
        for k in range(a // self.chunk, (b - 1) // self.chunk + 1):
            lo, hi = max(a, k * self.chunk), min(b, (k + 1) * self.chunk)
            try:
                with open(self._path(k), "rb") as fh:
                    fh.seek((lo - k * self.chunk) * size)
                    fh.readinto(memoryview(out[lo - a : hi - a]).cast("B"))
            except FileNotFoundError:  # an unwritten chunk: the fill value
                out[lo - a : hi - a] = 0
        return out.view(self.dtype) if self.dtype == self._raw_dtype else out.astype(self.dtype)

    def _checked(self, a: int, b: int) -> None:
        """Check the chunk files that hold entries [a, b)."""
        if not self._checking:
            return
        for k in range(a // self.chunk, (b - 1) // self.chunk + 1):
            self._check(self._path(k))

    def _path(self, k: int) -> str:
        path = self._paths.get(k)
        if path is None:
            folder = Path(self.arr.store.root) / self.arr.path
            path = self._paths[k] = str(folder / self.arr.metadata.encode_chunk_key((k,)))
        return path

    def _mapped(self, k: int) -> np.ndarray | None:
        """Chunk k's file, memory-mapped once: later reads are copies out of the page cache.
        None if zarr left the chunk unwritten. Remapped when the path names another file
        than the one mapped (replaced, e.g. restored from a backup): a map must always show
        the file that `check` verified, never a deleted one it still holds open."""
        path = self._path(k)
        try:
            identity = os.stat(path).st_ino
        except FileNotFoundError:
            identity = None
        mapped = self._maps.get(k)
        if mapped is None or mapped[0] != identity:
            self._maps[k] = (identity, self._map(path) if identity is not None else None)
        return self._maps[k][1]

    def _map(self, path: str) -> np.ndarray | None:
        try:
            return np.memmap(path, dtype=self._raw_dtype, mode="r")
        except FileNotFoundError:
            return None
        except ValueError:  # an empty file cannot be mapped
            return np.zeros(0, self._raw_dtype)


def _raw_dir(arr: zarr.Array) -> Path | None:
    """The array's directory if its chunk files are plain little-endian bytes, else None."""
    codecs = arr.metadata.codecs
    plain = (
        arr.metadata.zarr_format == 3
        and isinstance(arr.store, LocalStore)
        and arr.shards is None
        and len(codecs) == 1
        and isinstance(codecs[0], BytesCodec)
        and (codecs[0].endian is None or codecs[0].endian.value == "little")
        and sys.byteorder == "little"
    )
    return Path(arr.store.root) / arr.path if plain else None


class PositionalWriter:
    """Writes ranges of a fixed-length raw-bytes array in any order, from any thread
    (positional writes into its chunk files; zarr's own write path costs ~1 s per 100M
    entries in locks and copies); `close` pads every chunk file to full size, as zarr does."""

    def __init__(self, arr: zarr.Array):
        self.arr = arr
        self.dtype = np.dtype(arr.dtype).newbyteorder("<")
        self.step = int(arr.chunks[0])
        self._dir = _raw_dir(arr)
        if self._dir is None:
            raise ValueError(f"{arr.path}: positional writes need the raw-bytes layout")
        self._made: set[int] = set()

    @staticmethod
    def supports(arr: zarr.Array) -> bool:
        return _raw_dir(arr) is not None

    def _path(self, k: int) -> Path:
        return self._dir / self.arr.metadata.encode_chunk_key((k,))

    def write(self, pos: int, values: np.ndarray) -> None:
        raw = np.ascontiguousarray(values, dtype=self.dtype)
        start, end = pos, pos + len(raw)
        if pos < 0 or end > self.arr.shape[0]:
            raise ValueError(f"range {pos}..{end} outside {self.arr.path} ({self.arr.shape[0]})")
        k = pos // self.step
        while pos < end:
            stop = min(end, (k + 1) * self.step)
            path = self._path(k)
            if k not in self._made:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._made.add(k)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                part = raw[pos - start : stop - start]
                os.pwrite(fd, part.data, (pos - k * self.step) * self.dtype.itemsize)
            finally:
                os.close(fd)
            pos, k = stop, k + 1

    def close(self) -> None:
        full = self.step * self.dtype.itemsize
        for k in sorted(self._made):
            os.truncate(self._path(k), full)


class ChunkAppender:
    """Writes a 1-D array front to back in whole chunks, so zarr never read-modify-writes.

    Holds at most one chunk of pending values. With grow=True the array is resized as it
    fills (streaming writers whose final length is unknown). Raw-bytes arrays of known
    length are faster written with `PositionalWriter`.
    """

    def __init__(self, arr: zarr.Array, grow: bool = False):
        self.arr, self.grow = arr, grow
        self.step = int(arr.chunks[0])
        self.dtype = np.dtype(arr.dtype)
        self.pos = 0  # elements already in the array
        self._buf = np.empty(self.step, self.dtype)
        self._fill = 0

    @property
    def written(self) -> int:
        return self.pos + self._fill

    def write(self, values) -> None:
        values = np.asarray(values, dtype=self.dtype)
        i = 0
        if self._fill:
            i = min(self.step - self._fill, len(values))
            self._buf[self._fill : self._fill + i] = values[:i]
            self._fill += i
            if self._fill == self.step:
                self._put(self._buf)
                self._fill = 0
        whole = (len(values) - i) // self.step * self.step
        if whole:
            self._put(values[i : i + whole])
            i += whole
        rest = len(values) - i
        if rest:
            self._buf[:rest] = values[i:]
            self._fill = rest

    def close(self) -> None:
        if self._fill:
            self._put(self._buf[: self._fill])
            self._fill = 0
        if self.grow and self.arr.shape[0] != self.pos:
            self.arr.resize((self.pos,))

    def _put(self, block: np.ndarray) -> None:
        end = self.pos + len(block)
        if self.grow and end > self.arr.shape[0]:
            self.arr.resize((end,))
        self.arr[self.pos : end] = block
        self.pos = end
