"""Feature neighbors: by decoder direction (cosine) and by co-activation (Jaccard).

Co-occurrence counts are rows of A^T A (A: [N, F] binary, "feature fires on sample"): the
feature store is A^T already, A is built once as a compact sample-major CSR (uint16 feature
ids when F allows), and each feature's row is counted into one dense int32 array and
reduced to its top-k at once, in compiled loops over blocks of features on threads. Answers
equal `top_k_per_row` on the dense rows: value descending, ties to the smaller column."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa

from splat_core.analysis import neighbor_kernels as kern
from splat_core.sparse import CSCStore

TILE = 2048  # features per side of a cosine tile (16 MiB of float32)
BLOCK_ENTRIES = 1 << 20  # sample ids read per co-activation block (4 MiB as uint32)
BLOCK_FEATURES = 256  # features per co-activation block (bounds the per-block top-k buffers)
UINT16_FEATURES = 1 << 16  # up to this many features, A's feature ids are uint16 (half the bytes)
_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
THREADS = max(1, min(8, _CPUS or 1))  # threads over blocks (output does not depend on it)
KINDS = pa.array(["decoder", "coactivation"], pa.string())


def feature_neighbors(csc, decoder_directions, n_samples: int, k: int = 10) -> pa.Table:
    """Columns: feature_id, kind ("decoder" | "coactivation"), rank, neighbor_id, value
    (cosine or Jaccard), n_both (samples where both fire; null for decoder rows)."""
    parts = [decoder_neighbors(decoder_directions, k), coactivation_neighbors(csc, n_samples, k)]
    f = np.concatenate([p[0] for p in parts])
    kind = np.concatenate([np.full(len(parts[0][0]), 0), np.full(len(parts[1][0]), 1)])
    rank = np.concatenate([p[1] for p in parts])
    order = np.lexsort((rank, kind, f))
    nb = np.concatenate([p[2] for p in parts])[order]
    val = np.concatenate([p[3] for p in parts])[order]
    n_both = np.concatenate([np.zeros(len(parts[0][0]), np.int64), parts[1][4]])[order]
    kind = kind[order]
    return pa.table(
        {
            "feature_id": pa.array(f[order], pa.int32()),
            "kind": KINDS.take(pa.array(kind)),
            "rank": pa.array(rank[order], pa.int32()),
            "neighbor_id": pa.array(nb, pa.int32()),
            "value": pa.array(val, pa.float64()),
            "n_both": pa.array(n_both, pa.int64(), mask=kind == 0),
        }
    )


def decoder_neighbors(decoder_directions, k: int):
    """(feature, rank, neighbor, cosine) of the k most similar decoder directions. Cosines
    come in TILE x TILE tiles of the upper triangle, each merged into both its rows' and
    (transposed) its columns' top-k: half the products of the full [F, F]."""
    d = np.asarray(decoder_directions, dtype=np.float32)
    norms = np.linalg.norm(d, axis=0)
    unit = d / np.where(norms > 0, norms, 1)  # a zero direction has cosine 0 with all
    n_features = unit.shape[1]
    k = min(int(k), n_features)
    if k <= 0:
        return _concat([], 4)
    vals, cols = _buffers(n_features, k, np.float32)
    starts = range(0, n_features, TILE)
    for i0 in starts:  # row tiles ascending, then column tiles: each row sees columns in order
        left = unit[:, i0 : i0 + TILE].T
        for j0 in starts[i0 // TILE :]:
            tile = left @ unit[:, j0 : j0 + TILE]
            kern.tile_top_k(tile, i0, j0, k, vals, cols)
            if j0 != i0:
                kern.tile_top_k_cols(tile, i0, j0, k, vals, cols)
    return _flatten(0, cols, vals.astype(np.float64))


def coactivation_neighbors(csc, n_samples: int, k: int):
    """(feature, rank, neighbor, Jaccard, n_both) of the k features whose firing sets
    overlap most with each feature's (Jaccard > 0 only)."""
    nnz = np.asarray(csc.nnz_per_feature(), dtype=np.int64)
    n_features = len(nnz)
    k = min(int(k), n_features)
    if k <= 0:
        return _concat([], 5)
    blocks = feature_ranges(nnz)
    a_indptr, a_indices = sample_rows(csc, int(csc.n_samples), nnz, blocks)

    def run(block):
        f0, f1 = block
        ids, starts = feature_ids(csc, nnz, f0, f1)
        counts = np.zeros(n_features, np.int32)  # zero again after each feature's row
        vals, cols = _buffers(f1 - f0, k, np.float64, floor=0.0)  # Jaccard > 0 only
        both = np.zeros((f1 - f0, k), np.int64)
        kern.coactivation_top_k(ids, starts, f0, a_indptr, a_indices, nnz, k, counts,
                                vals, cols, both)  # fmt: skip
        return _flatten(f0, cols, vals, both)

    with ThreadPoolExecutor(THREADS) as pool:  # blocks in order: deterministic output
        return _concat(list(pool.map(run, blocks)), 5)


def feature_ranges(nnz: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive [f0, f1) of at most BLOCK_ENTRIES entries and BLOCK_FEATURES features (a
    larger feature is its own block)."""
    ptr = np.concatenate([[0], np.cumsum(nnz)])
    out, f0 = [], 0
    while f0 < len(nnz):
        f1 = int(np.searchsorted(ptr, ptr[f0] + BLOCK_ENTRIES, side="right")) - 1
        f1 = min(max(f1, f0 + 1), f0 + BLOCK_FEATURES, len(nnz))
        out.append((f0, f1))
        f0 = f1
    return out


def feature_ids(csc, nnz: np.ndarray, f0: int, f1: int) -> tuple[np.ndarray, np.ndarray]:
    """Sample ids of features [f0, f1) concatenated, and each feature's start (+ the end).
    A CSCStore is streamed with plain reads: nothing stays mapped in this process."""
    starts = np.concatenate([[0], np.cumsum(nnz[f0:f1])])
    if isinstance(csc, CSCStore):
        ids = csc.indices.stream(int(csc.indptr[f0]), int(csc.indptr[f1]))
    else:
        parts = [np.asarray(csc.feature(f)[0], np.int64) for f in range(f0, f1)]
        ids = np.concatenate(parts) if parts else np.empty(0, np.int64)
    if len(ids) != starts[-1]:
        raise ValueError(f"features [{f0}, {f1}): {len(ids)} sample ids, expected {starts[-1]}")
    return ids, starts


def sample_rows(csc, n_samples: int, nnz: np.ndarray, blocks) -> tuple[np.ndarray, np.ndarray]:
    """A as CSR: (indptr int64 [N + 1], feature ids sorted per sample), in two passes over
    the store (counts, then fill) so only A itself is held. Each thread takes a contiguous
    run of blocks: it counts them, then writes them after the earlier runs' entries of each
    sample's row (its own cursor), so rows stay sorted by feature."""
    runs = np.array_split(np.arange(len(blocks)), THREADS)
    with ThreadPoolExecutor(THREADS) as pool:
        counts = list(pool.map(lambda run: count_run(csc, n_samples, nnz, blocks, run), runs))
        indptr = np.concatenate([[0], np.cumsum(sum(counts))])
        dtype = np.uint16 if len(nnz) <= UINT16_FEATURES else np.int32
        a_indices = np.empty(int(indptr[-1]), dtype)
        start = indptr[:-1].copy()
        for c in counts:  # reused as cursors: each run's next free slot per sample
            c[:], start = start, start + c

        def fill(t):
            for f0, f1 in (blocks[i] for i in runs[t]):
                ids, starts = feature_ids(csc, nnz, f0, f1)
                kern.scatter_features(ids, starts, f0, counts[t], a_indices)

        list(pool.map(fill, range(THREADS)))
    return indptr, a_indices


def count_run(csc, n_samples: int, nnz: np.ndarray, blocks, run) -> np.ndarray:
    """int64 [N]: entries per sample of the blocks in `run` (ids checked in range)."""
    counts = np.zeros(n_samples, np.int64)
    for f0, f1 in (blocks[i] for i in run):
        ids, _ = feature_ids(csc, nnz, f0, f1)
        if len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= n_samples):
            raise ValueError(f"features [{f0}, {f1}): sample id out of range [0, {n_samples})")
        kern.count_samples(ids, counts)
    return counts


def _buffers(b: int, k: int, dtype, floor: float = -np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Empty top-k buffers of b rows: values `floor` (only larger ones enter), columns -1."""
    return np.full((b, k), floor, dtype), np.full((b, k), -1, np.int64)


def _flatten(f0: int, cols: np.ndarray, *values: np.ndarray):
    """(feature, rank, column, *values) of the filled slots of each row's buffer."""
    keep = cols >= 0
    rows, rank = np.nonzero(keep)
    return (rows + f0, rank + 1, cols[keep], *(v[keep] for v in values))


def _concat(parts, width: int):
    if not parts:
        return tuple(np.empty(0, np.int64) for _ in range(width))
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(width))
