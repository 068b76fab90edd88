"""Bounded-memory iteration over a feature store, and a deterministic per-row top-k."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from splat_core.sparse import CSCStore

MAX_BLOCK_ENTRIES = 1 << 22  # ~4M entries (~50 MB of temporaries) per block
MAX_BLOCK_FEATURES = 4096


@dataclass
class FeatureBlock:
    """Features [f0, f1): entries of feature f0 + j are values[starts[j]:starts[j + 1]],
    sorted by value descending within each feature."""

    f0: int
    f1: int
    starts: np.ndarray  # int64 [n + 1], local offsets
    values: np.ndarray  # float64
    ids: np.ndarray | None  # sample ids (int64) when requested

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.starts)

    @property
    def segment(self) -> np.ndarray:
        """Local feature index of every entry."""
        return np.repeat(np.arange(self.f1 - self.f0), self.counts)


def feature_blocks(
    csc,
    with_ids: bool = False,
    max_entries: int | None = None,
    max_features: int | None = None,
) -> Iterator[FeatureBlock]:
    """Consecutive features in blocks of at most `max_entries` entries (a single feature
    larger than that is its own block). Reads contiguous ranges when the store exposes its
    vectors (CSCStore), else falls back to one `feature()` call per feature."""
    max_entries = max_entries or MAX_BLOCK_ENTRIES  # read at call time (tests shrink them)
    max_features = max_features or MAX_BLOCK_FEATURES
    nnz = np.asarray(csc.nnz_per_feature(), dtype=np.int64)
    ptr = np.concatenate([[0], np.cumsum(nnz)])
    n_features = int(csc.n_features)
    ranged = isinstance(csc, CSCStore)
    f0 = 0
    while f0 < n_features:
        f1 = int(np.searchsorted(ptr, ptr[f0] + max_entries, side="right")) - 1
        f1 = min(max(f1, f0 + 1), f0 + max_features, n_features)
        starts = ptr[f0 : f1 + 1] - ptr[f0]
        if ranged:
            a, b = int(csc.indptr[f0]), int(csc.indptr[f1])
            values = csc.data.read(a, b)
            ids = csc.indices.read(a, b) if with_ids else None
        else:
            parts = [csc.feature(f) for f in range(f0, f1)]
            values = np.concatenate([p[1] for p in parts]) if parts else np.empty(0)
            ids = np.concatenate([p[0] for p in parts]) if with_ids else None
        block = FeatureBlock(
            f0, f1, starts, np.asarray(values, dtype=np.float64),
            None if ids is None else np.asarray(ids, dtype=np.int64),
        )  # fmt: skip
        _ensure_descending(block)
        yield block
        f0 = f1


def _ensure_descending(block: FeatureBlock) -> None:
    """The store promises descending values per feature; re-sort if a duck-typed one doesn't."""
    seg = block.segment
    if not ((np.diff(block.values) > 0) & (seg[1:] == seg[:-1])).any():
        return
    order = np.lexsort((-block.values, seg))
    block.values = block.values[order]
    if block.ids is not None:
        block.ids = block.ids[order]


class TopK(NamedTuple):
    """Entries of a dense [m, n] array, sorted by row then rank."""

    rows: np.ndarray
    cols: np.ndarray
    ranks: np.ndarray
    """1 for each row's largest entry."""


def top_k_per_row(values: np.ndarray, k: int, valid: np.ndarray | None = None) -> TopK:
    """The k largest valid entries of each row of a dense [m, n] array; ties go to the
    smaller column (deterministic, unlike a bare argpartition). Rows with fewer than k valid
    entries give fewer."""
    m, n = values.shape
    k = min(int(k), n)
    if k <= 0 or m == 0:
        empty = np.empty(0, np.int64)
        return TopK(empty, empty, empty)
    v = values if valid is None else np.where(valid, values, -np.inf)
    kth = -np.partition(-v, k - 1, axis=1)[:, k - 1]
    mask = v >= kth[:, None]
    if valid is not None:
        mask &= valid
    rows, cols = np.nonzero(mask)
    order = np.lexsort((cols, -values[rows, cols], rows))
    rows, cols = rows[order], cols[order]
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left")
    keep = rank < k
    return TopK(rows[keep], cols[keep], rank[keep] + 1)
