"""Sparse (CSR) encoding of pooled vectors for the activation store."""

from __future__ import annotations

import numpy as np
import torch

from splat_core.sae.base import SparseAutoencoder


def index_dtype(n_features: int) -> np.dtype:
    """uint16 for up to 65,536 features (ids 0..65,535), uint32 beyond."""
    return np.dtype(np.uint16 if n_features <= 1 << 16 else np.uint32)


@torch.no_grad()
def encode_csr(
    sae: SparseAutoencoder, pooled: np.ndarray, batch_size: int = 4096
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indptr int64 [N+1], indices [nnz], data float32 [nnz]) of the SAE activations.

    Only nonzeros are kept, built batch by batch; feature ids ascend within each row
    (`SparseAutoencoder.encode_sparse`).
    """
    x_all = np.asarray(pooled, dtype=np.float32)
    n, device = len(x_all), next(sae.parameters()).device
    dtype = index_dtype(sae.n_features)
    counts = np.zeros(n, dtype=np.int64)
    indices, data = [], []
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        rows, cols, values = sae.encode_sparse(torch.from_numpy(x_all[start:stop]).to(device))
        counts[start:stop] = torch.bincount(rows, minlength=stop - start).cpu().numpy()
        indices.append(cols.cpu().numpy().astype(dtype))
        data.append(values.float().cpu().numpy())
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    if not indices:
        return indptr, np.zeros(0, dtype=dtype), np.zeros(0, dtype=np.float32)
    return indptr, np.concatenate(indices), np.concatenate(data)
