"""Sparse (CSR) encoding of pooled vectors: equal to the dense activations' nonzeros."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from splat_core.sae import (
    TopKSAE,
    encode_csr,
)
from splat_core.sparse import index_dtype
from tests.helpers import gen, relu_sae_with_dead_latents, sae_numpy

# --- sparse encoding ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sae",
    # k=200 of 300: most winners are negative, so topk's own output must drop them
    [TopKSAE(16, 300, 7, gen()), TopKSAE(16, 300, 200, gen()), relu_sae_with_dead_latents()],
)
def test_encode_csr_equals_dense_nonzeros(sae):
    x = np.random.default_rng(3).normal(size=(250, 16)).astype(np.float32)
    indptr, indices, data = encode_csr(sae, x, batch_size=64)
    assert indptr.dtype == np.int64 and indptr.shape == (251,)
    assert indices.dtype == index_dtype(sae.n_features) and data.dtype == np.float32
    acts = sae_numpy(sae, x)[1].astype(np.float32)
    got = sp.csr_matrix((data, indices, indptr), shape=acts.shape)
    want = sp.csr_matrix(acts)
    np.testing.assert_array_equal(indptr, want.indptr)
    np.testing.assert_array_equal(indices, want.indices)
    np.testing.assert_array_equal(data, want.data)
    assert (data > 0).all() and got.has_sorted_indices
    for row in range(len(x)):
        assert (np.diff(indices[indptr[row] : indptr[row + 1]].astype(np.int64)) > 0).all()
    empty = encode_csr(sae, x[:0])
    assert empty[0].tolist() == [0] and len(empty[1]) == len(empty[2]) == 0
