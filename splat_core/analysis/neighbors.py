"""Feature neighbors: by decoder direction (cosine) and by co-activation (Jaccard).

Co-occurrence counts come from a sparse binary product A^T A, where A is the [N, F]
binary CSR of "feature fires on sample"; only a block of rows of A^T A is dense at a time,
and only its top-k per row is kept."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from splat_core.analysis.blocks import feature_blocks, top_k_per_row

DENSE_BLOCK_ENTRIES = 1 << 22  # rows per block x F of the dense similarity block


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
            "kind": pa.array(np.where(kind == 0, "decoder", "coactivation").tolist(), pa.string()),
            "rank": pa.array(rank[order], pa.int32()),
            "neighbor_id": pa.array(nb, pa.int32()),
            "value": pa.array(val, pa.float64()),
            "n_both": pa.array(n_both, pa.int64(), mask=kind == 0),
        }
    )


def _row_block(n_features: int) -> int:
    return max(1, DENSE_BLOCK_ENTRIES // max(n_features, 1))


def decoder_neighbors(decoder_directions, k: int):
    """(feature, rank, neighbor, cosine) of the k most similar decoder directions."""
    d = np.asarray(decoder_directions, dtype=np.float32)
    norms = np.linalg.norm(d, axis=0)
    unit = d / np.where(norms > 0, norms, 1)  # a zero direction has cosine 0 with all
    n_features = unit.shape[1]
    out = []
    step = _row_block(n_features)
    for f0 in range(0, n_features, step):
        f1 = min(f0 + step, n_features)
        cos = unit[:, f0:f1].T @ unit  # [b, F]
        valid = np.ones_like(cos, dtype=bool)
        valid[np.arange(f1 - f0), np.arange(f0, f1)] = False  # not itself
        r, c, rank = top_k_per_row(cos, k, valid)
        out.append((r + f0, rank, c, cos[r, c].astype(np.float64)))
    return _concat(out, 4)


def binary_csr(csc) -> sp.csr_matrix:
    """A: [N, F] binary CSR (int32 ones) of which features fire on which sample, built from
    the feature store block by block (as A^T in CSR form, then one transpose)."""
    n_samples, n_features = int(csc.n_samples), int(csc.n_features)
    ids = [b.ids for b in feature_blocks(csc, with_ids=True)]
    indices = np.concatenate(ids) if ids else np.empty(0, np.int64)
    indptr = np.concatenate([[0], np.cumsum(np.asarray(csc.nnz_per_feature(), np.int64))])
    at = sp.csr_matrix(
        (np.ones(len(indices), np.int32), indices.astype(np.int32), indptr),
        shape=(n_features, n_samples),
    )
    return at.T.tocsr()


def coactivation_neighbors(csc, n_samples: int, k: int):
    """(feature, rank, neighbor, Jaccard, n_both) of the k features whose firing sets
    overlap most with each feature's (Jaccard > 0 only)."""
    a = binary_csr(csc)
    at = a.T.tocsr()  # [F, N]
    nnz = np.asarray(csc.nnz_per_feature(), dtype=np.int64)
    n_features = len(nnz)
    out = []
    step = _row_block(n_features)
    for f0 in range(0, n_features, step):
        f1 = min(f0 + step, n_features)
        both = (at[f0:f1] @ a).toarray().astype(np.int64)  # [b, F] co-occurrence counts
        union = nnz[f0:f1, None] + nnz[None, :] - both
        jac = both / np.maximum(union, 1)
        valid = both > 0
        valid[np.arange(f1 - f0), np.arange(f0, f1)] = False
        r, c, rank = top_k_per_row(jac, k, valid)
        out.append((r + f0, rank, c, jac[r, c], both[r, c]))
    return _concat(out, 5)


def _concat(parts, width: int):
    if not parts:
        return tuple(np.empty(0, np.int64) for _ in range(width))
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(width))
