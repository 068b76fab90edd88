"""Activation-correlated features: Pearson over ALL samples (zeros included), top-k per feature.

    r(i, j) = (N * sum a_i a_j - S_i * S_j) / sqrt((N * Q_i - S_i^2) (N * Q_j - S_j^2))

with S the sum and Q the sum of squares of a feature's activations. Only sum a_i a_j needs
the pairs: it is a row of A^T A (A: [N, F] activations), summed like the co-activation
neighbours (`neighbors.py`): A is built once as a sample-major CSR with values, and each
feature's row goes into one dense float64 array, in compiled loops over blocks of features on
threads. Every other live feature is then ranked, co-firing or not (a pair that never fires
together has r = -S_i S_j / (sd_i sd_j) < 0, which can still be a feature's best). Memory:
A, one dense row per thread and the per-block top-k buffers; never [F, F] nor dense [N, F]."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa

from splat_core.analysis import correlation_kernels as kern
from splat_core.analysis import neighbors
from splat_core.analysis.neighbors import feature_ids, feature_ranges
from splat_core.sparse import CSCStore

_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
THREADS = max(1, min(8, _CPUS or 1))  # threads over blocks (output does not depend on it)
CONSTANT = 1e-12  # N*Q - S^2 at or below this fraction of N*Q is rounding: zero variance


def feature_correlations(csc, n_samples: int, k: int = 10) -> pa.Table:
    """Columns: feature_id, rank, neighbor_id, pearson (over all `n_samples` samples),
    n_both (samples where both fire). Features of zero variance (never firing) get no rows
    and are nobody's neighbour; ties go to the smaller neighbor_id."""
    nnz = np.asarray(csc.nnz_per_feature(), dtype=np.int64)
    n_features = len(nnz)
    k = min(int(k), n_features - 1)
    if k <= 0 or n_samples <= 0:
        return _table(*(np.empty(0, np.int64) for _ in range(5)))
    blocks = feature_ranges(nnz)
    a_indptr, a_indices, a_data, sums, squares = weighted_rows(csc, int(n_samples), nnz, blocks)
    var = n_samples * squares - sums * sums
    sds = np.where(var > CONSTANT * n_samples * squares, np.sqrt(np.maximum(var, 0)), 0.0)

    def run(block):
        f0, f1 = block
        ids, vals, starts = feature_entries(csc, nnz, f0, f1)
        dots = np.zeros(n_features, np.float64)  # zero again after each feature's row
        counts = np.zeros(n_features, np.int64)
        vals_k = np.full((f1 - f0, k), -np.inf)
        cols = np.full((f1 - f0, k), -1, np.int64)
        both = np.zeros((f1 - f0, k), np.int64)
        kern.pearson_top_k(ids, vals, starts, f0, a_indptr, a_indices, a_data, n_samples,
                           sums, sds, k, dots, counts, vals_k, cols, both)  # fmt: skip
        keep = cols >= 0
        rows, rank = np.nonzero(keep)
        return rows + f0, rank + 1, cols[keep], vals_k[keep], both[keep]

    with ThreadPoolExecutor(THREADS) as pool:  # blocks in order: deterministic output
        parts = list(pool.map(run, blocks))
    return _table(*(np.concatenate([p[i] for p in parts]) for i in range(5)))


def _table(f, rank, nb, r, both) -> pa.Table:
    return pa.table(
        {
            "feature_id": pa.array(f, pa.int32()),
            "rank": pa.array(rank, pa.int32()),
            "neighbor_id": pa.array(nb, pa.int32()),
            "pearson": pa.array(r, pa.float64()),
            "n_both": pa.array(both, pa.int64()),
        }
    )


def feature_entries(csc, nnz: np.ndarray, f0: int, f1: int):
    """(sample ids, values float32, starts) of features [f0, f1), concatenated; a CSCStore is
    streamed with plain reads."""
    ids, starts = feature_ids(csc, nnz, f0, f1)
    if isinstance(csc, CSCStore):
        vals = csc.data.stream(int(csc.indptr[f0]), int(csc.indptr[f1]))
    else:
        parts = [np.asarray(csc.feature(f)[1], np.float32) for f in range(f0, f1)]
        vals = np.concatenate(parts) if parts else np.empty(0, np.float32)
    return ids, np.asarray(vals, np.float32), starts


def weighted_rows(csc, n_samples: int, nnz: np.ndarray, blocks):
    """A as CSR with values: (indptr int64 [N + 1], feature ids sorted per sample, values
    float32), and each feature's sum and sum of squares (float64). Two passes over the store
    (counts, then fill), each thread a contiguous run of blocks written after the earlier
    runs' entries of every row, so rows stay sorted by feature."""
    runs = np.array_split(np.arange(len(blocks)), THREADS)
    sums, squares = np.zeros(len(nnz)), np.zeros(len(nnz))

    with ThreadPoolExecutor(THREADS) as pool:
        counts = list(
            pool.map(lambda run: neighbors.count_run(csc, n_samples, nnz, blocks, run), runs)
        )
        indptr = np.concatenate([[0], np.cumsum(sum(counts))])
        a_indices = np.empty(
            int(indptr[-1]), np.uint16 if len(nnz) <= neighbors.UINT16_FEATURES else np.int32
        )
        a_data = np.empty(int(indptr[-1]), np.float32)
        start = indptr[:-1].copy()
        for c in counts:  # reused as cursors: each run's next free slot per sample
            c[:], start = start, start + c

        def fill(t):
            for f0, f1 in (blocks[i] for i in runs[t]):
                ids, vals, starts = feature_entries(csc, nnz, f0, f1)
                kern.scatter_weighted(ids, vals, starts, f0, counts[t], a_indices, a_data)
                kern.feature_sums(vals, starts, f0, sums, squares)

        list(pool.map(fill, range(THREADS)))
    return indptr, a_indices, a_data, sums, squares
