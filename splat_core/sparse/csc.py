"""The CSC feature store (`feature_store`): per feature, sample ids and activations, top first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import zarr

from splat_core.sparse.layout import Vector


class CSCStore:
    """Reader over a feature store. indptr (F+1 int64) is held in memory as `ptr`; entries
    are read per feature, so a lookup costs O(that feature's nnz), not O(samples)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.group = zarr.open_group(str(self.path), mode="r", zarr_format=3)
        self.attrs = dict(self.group.attrs)
        if self.attrs.get("encoding_type") != "csc":
            raise ValueError(f"{self.path} is not a CSC store ({self.attrs.get('encoding_type')})")
        self.indptr, self.indices, self.data = (
            self.group[k] for k in ("indptr", "indices", "data")
        )
        self.v_indices, self.v_data = Vector(self.indices), Vector(self.data)
        self.shape = tuple(int(x) for x in self.attrs["shape"])
        self.n_samples, self.n_features = self.shape
        self.nnz = len(self.v_indices)
        self.ptr = np.asarray(self.indptr[:], dtype=np.int64)

    def feature(self, f: int, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(global sample ids, activations) of feature f in descending activation order;
        `limit` keeps the top entries only (and reads only those)."""
        if not 0 <= f < self.n_features:
            raise IndexError(f"feature {f} out of range [0, {self.n_features})")
        a, b = int(self.ptr[f]), int(self.ptr[f + 1])
        if limit is not None:
            b = min(b, a + max(int(limit), 0))
        return self.v_indices.read(a, b), self.v_data.read(a, b)

    def nnz_per_feature(self) -> np.ndarray:
        return np.diff(self.ptr)


def open_csc(path: str | Path | CSCStore) -> CSCStore:
    return path if isinstance(path, CSCStore) else CSCStore(path)
