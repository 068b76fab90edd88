"""Sparse activation stores: CSR shards per sample range, the CSC feature store, the
bounded-memory streaming transpose between them, and their invariant checks."""

from splat_core.sparse.checks import check_csc, check_csr, check_nnz_conserved
from splat_core.sparse.csc import CSCStore, open_csc
from splat_core.sparse.csr import CSRArrays, CSRStore, CSRWriter, open_csr, write_csr
from splat_core.sparse.layout import CHUNK, SparseVector, index_dtype
from splat_core.sparse.transpose import build_csc

__all__ = [
    "CHUNK",
    "CSCStore",
    "CSRArrays",
    "CSRStore",
    "CSRWriter",
    "SparseVector",
    "build_csc",
    "check_csc",
    "check_csr",
    "check_nnz_conserved",
    "index_dtype",
    "open_csc",
    "open_csr",
    "write_csr",
]
