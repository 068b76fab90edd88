"""The invariant checks find each kind of corruption."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import zarr

from splat_core.sparse import (
    check_csc,
    check_csr,
    check_nnz_conserved,
    open_csc,
    open_csr,
)
from tests.helpers import N_FEATURES


def corrupt(path: Path, name: str, index: int, value) -> None:
    arr = zarr.open_group(path, mode="r+")[name]
    arr[index] = value


def test_check_csr_detects_corruption(shards):
    paths, _, _ = shards
    store = open_csr(paths[0])
    row = next(r for r in range(store.n_rows) if store.indptr[r + 1] - store.indptr[r] >= 2)
    a, b = int(store.indptr[row]), int(store.indptr[row + 1])
    ids = store.indices[a:b]
    cases = [
        ("indptr", 10, int(store.indptr[9]) - 1, "indptr decreases"),
        ("indptr", 0, 3, "indptr starts at 3"),
        ("indices", 4, N_FEATURES + 1, f"feature id >= {N_FEATURES}"),
        ("indices", a, ids[1], "not strictly increasing within a row"),
        ("data", 11, np.nan, "non-finite"),
    ]
    for name, index, value, message in cases:
        original = store.group[name][index]
        corrupt(paths[0], name, index, value)
        problems = check_csr(paths[0])
        assert any(message in p for p in problems), (message, problems)
        corrupt(paths[0], name, index, original)
    assert check_csr(paths[0]) == []


def test_check_csc_detects_corruption(built):
    paths, fs = built
    store = open_csc(fs)
    f = int(np.argmax(store.nnz_per_feature() >= 3))
    a = int(store.indptr[f])
    s, v = store.feature(f)
    n_samples = store.n_samples
    cases = [
        ("indptr", f + 1, a - 1, "indptr decreases"),
        ("indices", a, n_samples + 5, f"sample id >= {n_samples}"),
        ("data", a, v[-1] - 1.0, "order within a feature"),  # top entry now the smallest
        ("indices", a + 1, s[0], "duplicate sample"),
        ("data", a + 2, np.nan, "non-finite"),
    ]
    for name, index, value, message in cases:
        original = store.group[name][index]
        corrupt(fs, name, index, value)
        problems = check_csc(fs)
        assert any(message in p for p in problems), (message, problems)
        corrupt(fs, name, index, original)
    assert check_csc(fs) == []


def test_check_csc_large_feature_path(tmp_path, built):
    paths, fs = built
    store = open_csc(fs)
    a = int(store.indptr[7])
    s = store.feature(7)[0]
    assert check_csc(fs, block=256) == []  # feature 7 is streamed with the bitmap
    corrupt(fs, "indices", a + 1000, s[3])
    assert any("duplicate sample" in p for p in check_csc(fs, block=256))


def test_check_nnz_conserved_detects_mismatch(built):
    paths, fs = built
    assert check_nnz_conserved(paths, fs) == []
    assert any("total nnz differs" in p for p in check_nnz_conserved(paths[:2], fs))
    # move one entry from feature 0 to feature 1: totals agree, per-feature counts do not
    ptr = zarr.open_group(fs)["indptr"]
    corrupt(fs, "indptr", 1, int(ptr[1]) - 1)
    problems = check_nnz_conserved(paths, fs)
    assert any(p.startswith("feature 0:") for p in problems), problems
    assert not any("total" in p for p in problems)
