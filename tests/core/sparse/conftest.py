"""Three CSR shards of random data (and the feature store built from them) for the sparse
store tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from splat_core.sparse import (
    build_csc,
    write_csr,
)
from tests.helpers import N_FEATURES, random_csr


@pytest.fixture
def shards(tmp_path) -> tuple[list[Path], sp.csr_matrix, int]:
    """Three shards with a gap of unused sample ids before the second one."""
    parts = [random_csr(n, N_FEATURES, 0.05, seed) for n, seed in [(700, 1), (450, 2), (900, 3)]]
    starts = [0, 800, 1250]
    n_samples = starts[-1] + parts[-1].shape[0]
    paths = []
    for i, (m, start) in enumerate(zip(parts, starts, strict=True)):
        path = tmp_path / f"act{i}"
        write_csr(path, m.indptr, m.indices, m.data, m.shape, start, attrs={"shard": i})
        paths.append(path)
    stacked = sp.lil_matrix((n_samples, N_FEATURES), dtype=np.float32)
    for m, start in zip(parts, starts, strict=True):
        stacked[start : start + m.shape[0]] = m
    return paths, stacked.tocsr(), n_samples


@pytest.fixture
def built(tmp_path, shards):
    paths, _, n_samples = shards
    build_csc(paths, tmp_path / "fs", N_FEATURES, n_samples)
    return paths, tmp_path / "fs"
