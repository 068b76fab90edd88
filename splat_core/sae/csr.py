"""Sparse (CSR) encoding of pooled vectors for the activation store."""

from __future__ import annotations

import numpy as np
import torch

from splat_core.sae.base import SparseAutoencoder
from splat_core.sparse import CSRArrays, index_dtype


@torch.no_grad()
def encode_csr(sae: SparseAutoencoder, pooled: np.ndarray, batch_size: int = 4096) -> CSRArrays:
    """The SAE activations of `pooled` [N, d] in CSR form (feature ids in the smallest
    unsigned dtype that holds them, as the stores keep them).

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
        return CSRArrays(indptr, np.zeros(0, dtype=dtype), np.zeros(0, dtype=np.float32))
    return CSRArrays(indptr, np.concatenate(indices), np.concatenate(data))
