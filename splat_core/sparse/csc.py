"""The CSC feature store (`feature_store`): per feature, sample ids and activations, top first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import zarr

from splat_core.sparse.layout import Check, SparseVector, Vector


class CSCStore:
    """Reader over a feature store: `indptr` (int64 [F + 1]) is held in memory; `indices`
    (sample ids [nnz]) and `data` (float32 [nnz]) are read by range, so a lookup costs
    O(that feature's nnz), not O(samples). The Zarr arrays are `group[name]`."""

    def __init__(self, path: str | Path, check: Check | None = None):
        self.path = Path(path)
        self.group = zarr.open_group(str(self.path), mode="r", zarr_format=3)
        self.attrs = dict(self.group.attrs)
        if self.attrs.get("encoding_type") != "csc":
            raise ValueError(f"{self.path} is not a CSC store ({self.attrs.get('encoding_type')})")
        self.indptr = np.asarray(self.group["indptr"][:], dtype=np.int64)
        self.indices = Vector(self.group["indices"], check)
        self.data = Vector(self.group["data"], check)
        self.shape = tuple(int(x) for x in self.attrs["shape"])
        self.n_samples, self.n_features = self.shape
        self.nnz = len(self.indices)

    def feature(self, f: int, limit: int | None = None) -> SparseVector:
        """(global sample ids, activations) of feature f in descending activation order;
        `limit` keeps the top entries only (and reads only those)."""
        if not 0 <= f < self.n_features:
            raise IndexError(f"feature {f} out of range [0, {self.n_features})")
        a, b = int(self.indptr[f]), int(self.indptr[f + 1])
        if limit is not None:
            b = min(b, a + max(int(limit), 0))
        return SparseVector(self.indices.read(a, b), self.data.read(a, b))

    def nnz_per_feature(self) -> np.ndarray:
        return np.diff(self.indptr)


def open_csc(path: str | Path | CSCStore, check: Check | None = None) -> CSCStore:
    """The store at `path`; `check(chunk file)` is called before each chunk read."""
    return path if isinstance(path, CSCStore) else CSCStore(path, check)
