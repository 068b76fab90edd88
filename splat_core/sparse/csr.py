"""CSR shards (`activations[shard]`): one Zarr v3 group per shard of consecutive samples."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
import zarr

from splat_core.atomic import atomic_dir
from splat_core.sparse.layout import (
    CHUNK,
    ENCODING_VERSION,
    Check,
    ChunkAppender,
    SparseVector,
    Vector,
    create_vector,
    index_dtype,
)


class CSRArrays(NamedTuple):
    """A CSR matrix in memory, scipy's three arrays."""

    indptr: np.ndarray
    """int64 [rows + 1]: row r's entries are [indptr[r], indptr[r + 1])."""
    indices: np.ndarray
    """[nnz] feature ids, ascending within a row."""
    data: np.ndarray
    """float32 [nnz] activations."""


class CSRWriter:
    """Streams a CSR shard to `path`, batch of rows by batch; published atomically on close.

    Memory: one chunk per array, whatever the shard size. Use as a context manager (an
    exception discards the partial shard) or call close() / abort() yourself.
    """

    def __init__(
        self,
        path: str | Path,
        n_features: int,
        sample_start: int,
        attrs: dict[str, Any] | None = None,
        compressors=None,
    ):
        self.path = Path(path)
        self.n_features, self.sample_start = int(n_features), int(sample_start)
        self._attrs = dict(attrs or {})
        self._stack = ExitStack()
        self.n_rows = 0
        self.nnz = 0
        tmp = self._stack.enter_context(atomic_dir(self.path))
        try:
            self._group = zarr.open_group(str(tmp), mode="w", zarr_format=3)
            arrays = {
                "indptr": np.int64,
                "indices": index_dtype(self.n_features),
                "data": np.float32,
            }
            self._out = {
                name: ChunkAppender(create_vector(self._group, name, dt, 0, compressors), True)
                for name, dt in arrays.items()
            }
            self._out["indptr"].write(np.zeros(1, np.int64))
        except BaseException as exc:
            self._stack.__exit__(type(exc), exc, exc.__traceback__)
            raise

    def append(self, indptr_part, indices_part, data_part) -> None:
        """Append rows given in CSR form; indptr_part may start anywhere (a slice is fine)."""
        indptr_part = np.asarray(indptr_part, dtype=np.int64)
        indices_part, data_part = np.asarray(indices_part), np.asarray(data_part)
        base = int(indptr_part[0])
        n_new = int(indptr_part[-1]) - base
        if len(indices_part) != n_new or len(data_part) != n_new:
            raise ValueError(
                f"indptr spans {n_new} entries but got {len(indices_part)} indices "
                f"and {len(data_part)} values"
            )
        if n_new and (indices_part.min() < 0 or indices_part.max() >= self.n_features):
            raise ValueError(f"feature ids must lie in [0, {self.n_features})")
        self._out["indptr"].write(indptr_part[1:] - base + self.nnz)
        self._out["indices"].write(indices_part)
        self._out["data"].write(data_part)
        self.n_rows += len(indptr_part) - 1
        self.nnz += n_new

    def append_rows(self, matrix) -> None:
        """Append the rows of a scipy sparse matrix (converted to CSR)."""
        m = sp.csr_matrix(matrix)
        if m.shape[1] != self.n_features:
            raise ValueError(f"matrix has {m.shape[1]} columns, expected {self.n_features}")
        self.append(m.indptr, m.indices, m.data)

    def close(self) -> CSRStore:
        for out in self._out.values():
            out.close()
        self._group.attrs.update(
            {
                **self._attrs,
                "encoding_type": "csr",
                "encoding_version": ENCODING_VERSION,
                "shape": [self.n_rows, self.n_features],
                "sample_start": self.sample_start,
            }
        )
        self._stack.close()  # the rename: the shard appears complete or not at all
        return open_csr(self.path)

    def abort(self) -> None:
        self._stack.__exit__(RuntimeError, RuntimeError("aborted"), None)

    def __enter__(self) -> CSRWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._stack.__exit__(exc_type, exc, tb)


def write_csr(
    path: str | Path,
    indptr,
    indices,
    data,
    shape: tuple[int, int],
    sample_start: int,
    attrs: dict[str, Any] | None = None,
    compressors=None,
) -> CSRStore:
    """Write a whole CSR shard in one call (see CSRWriter for batch-by-batch writing)."""
    n_rows, n_features = (int(x) for x in shape)
    if len(indptr) != n_rows + 1:
        raise ValueError(f"indptr has {len(indptr)} entries, expected {n_rows + 1}")
    with CSRWriter(path, n_features, sample_start, attrs, compressors) as writer:
        writer.append(indptr, indices, data)
    return open_csr(path)


class CSRStore:
    """A lazily read CSR shard: `indptr` (int64 [rows + 1]), `indices` (feature ids [nnz])
    and `data` (float32 [nnz]) are read by range; the Zarr arrays are `group[name]`."""

    def __init__(self, path: str | Path, check: Check | None = None):
        self.path = Path(path)
        self.group = zarr.open_group(str(self.path), mode="r", zarr_format=3)
        self.attrs = dict(self.group.attrs)
        if self.attrs.get("encoding_type") != "csr":
            raise ValueError(f"{self.path} is not a CSR store ({self.attrs.get('encoding_type')})")
        self.indptr, self.indices, self.data = (
            Vector(self.group[k], check) for k in ("indptr", "indices", "data")
        )
        self.shape = tuple(int(x) for x in self.attrs["shape"])
        self.n_rows, self.n_features = self.shape
        self.sample_start = int(self.attrs["sample_start"])
        self.nnz = len(self.indices)

    @property
    def sample_stop(self) -> int:
        return self.sample_start + self.n_rows

    def row(self, i: int) -> SparseVector:
        """(feature ids, values) of local row i."""
        a, b = self.indptr.read(i, i + 2)
        return SparseVector(self.indices.read(a, b), self.data.read(a, b))

    def row_slice(self, a: int, b: int) -> sp.csr_matrix:
        """Local rows [a, b) as a csr_matrix of shape (b - a, n_features)."""
        a, b = max(a, 0), min(b, self.n_rows)
        b = max(a, b)
        ip = self.indptr.read(a, b + 1)
        lo, hi = int(ip[0]), int(ip[-1])
        return sp.csr_matrix(
            (self.data.read(lo, hi), self.indices.read(lo, hi), ip - lo),
            shape=(b - a, self.n_features),
        )

    def iter_blocks(self, block: int = 1 << 20) -> Iterator[tuple[np.ndarray, ...]]:
        """Yield (local row ids int64, feature ids, values) over all entries, in order.

        Reads indptr CHUNK rows at a time and entries in ranges aligned to `block`, so memory
        is O(block + CHUNK) however large the shard. Requires a non-decreasing indptr.
        """
        for r0 in range(0, self.n_rows, CHUNK):
            r1 = min(self.n_rows, r0 + CHUNK)
            ip = self.indptr.read(r0, r1 + 1)
            p0, p1 = int(ip[0]), int(ip[-1])
            cuts = [p0, *range((p0 // block + 1) * block, p1, block), p1]
            for p, q in zip(cuts[:-1], cuts[1:], strict=True):
                if q <= p:
                    continue
                rows = np.repeat(np.arange(r0, r1), np.diff(np.clip(ip, p, q)))
                yield rows, self.indices.read(p, q), self.data.read(p, q)


def open_csr(path: str | Path | CSRStore, check: Check | None = None) -> CSRStore:
    """The shard at `path`; `check(chunk file)` is called before each chunk read."""
    return path if isinstance(path, CSRStore) else CSRStore(path, check)
