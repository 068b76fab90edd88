"""The streaming transpose into the CSC feature store: equal to scipy's, whatever the memory
budget, chunking or compression; a failed build changes nothing; memory does not grow with
the number of samples."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import zarr

from splat_core.sparse import (
    CHUNK,
    CSRWriter,
    build_csc,
    check_csc,
    check_csr,
    check_nnz_conserved,
    index_dtype,
    open_csc,
    open_csr,
    write_csr,
)
from tests.helpers import N_FEATURES, expected_feature, random_csr


def assert_store_matches(csc_path, stacked: sp.csr_matrix, n_samples: int) -> None:
    store = open_csc(csc_path)
    ref = stacked.tocsc()
    assert store.shape == (n_samples, N_FEATURES) and store.nnz == ref.nnz
    assert store.indices.dtype == index_dtype(n_samples) and store.data.dtype == np.float32
    assert np.array_equal(store.nnz_per_feature(), np.diff(ref.indptr))
    for f in range(N_FEATURES):
        s, v = store.feature(f)
        es, ev = expected_feature(ref, f)
        assert np.array_equal(s, es) and np.array_equal(v, ev), f
    # the raw-file read path agrees with zarr's own decoding
    assert np.array_equal(store.group["indices"][:], store.indices.read(0, store.nnz))


def test_build_csc_matches_scipy(tmp_path, shards):
    paths, stacked, n_samples = shards
    seen = []
    stats = build_csc(
        paths,
        tmp_path / "fs",
        N_FEATURES,
        n_samples,
        progress=lambda *a: seen.append(a),
        attrs={"sae_fingerprint": "f00d"},
    )
    assert stats["nnz"] == stacked.nnz and stats["n_buckets"] == 1
    assert_store_matches(tmp_path / "fs", stacked, n_samples)
    store = open_csc(tmp_path / "fs")
    assert store.attrs["sae_fingerprint"] == "f00d" and store.attrs["encoding_type"] == "csc"
    assert store.attrs["shape"] == [n_samples, N_FEATURES]
    s, v = store.feature(7)
    tied = s[v == 1.5].astype(np.int64)
    assert len(tied) > 1000 and np.all(np.diff(tied) > 0)  # ties: sample asc
    assert s.min() < 700 and s.max() >= 1250  # global ids honour sample_start
    top_s, top_v = store.feature(3, limit=4)
    assert np.array_equal(top_s, store.feature(3)[0][:4])
    assert {p for p, _, _ in seen} == {"count", "spill", "sort"}
    assert seen[-1] == ("sort", stacked.nnz, stacked.nnz)
    assert check_csc(store) == [] and check_nnz_conserved(paths, store) == []
    assert all(check_csr(p) == [] for p in paths)


def test_tiny_budget_gives_identical_store(tmp_path, shards):
    paths, stacked, n_samples = shards
    build_csc(paths, tmp_path / "big", N_FEATURES, n_samples)
    # ~150-entry buckets: dozens of buckets, and the dense feature 7 (~1,600 entries, one
    # value) takes the radix-partition path down to its single-value run
    stats = build_csc(paths, tmp_path / "small", N_FEATURES, n_samples, memory_budget_bytes=6000)
    assert stats["n_buckets"] > 20 and stats["n_large_features"] >= 1
    big, small = zarr.open_group(tmp_path / "big"), zarr.open_group(tmp_path / "small")
    for name in ("indptr", "indices", "data"):
        assert np.array_equal(big[name][:], small[name][:]), name
    assert_store_matches(tmp_path / "small", stacked, n_samples)


def test_large_feature_with_distinct_values(tmp_path):
    """A feature larger than the budget with spread values: both radix levels are used."""
    rng = np.random.default_rng(9)
    n = 5000
    values = rng.choice(np.float32([0.5, 1.0, 2.0]), n) + rng.random(n).astype(np.float32) * 1e-3
    values[rng.random(n) < 0.3] = 1.0  # a tie run inside one 16-bit digit
    m = sp.csr_matrix((values, np.zeros(n, np.int64), np.arange(n + 1)), shape=(n, 2))
    write_csr(tmp_path / "s", m.indptr, m.indices, m.data, m.shape, 0)
    stats = build_csc([tmp_path / "s"], tmp_path / "fs", 2, n, memory_budget_bytes=4000)
    assert stats["n_large_features"] == 1
    s, v = open_csc(tmp_path / "fs").feature(0)
    es, ev = expected_feature(m.tocsc(), 0)
    assert np.array_equal(s, es) and np.array_equal(v, ev)


def test_build_csc_many_tiny_features(tmp_path):
    """Mostly 0-2 entries per feature: the bucket sort falls back to one lexsort."""
    m = random_csr(400, 5000, 0.002, seed=11)
    write_csr(tmp_path / "s", m.indptr, m.indices, m.data, m.shape, 0)
    build_csc([tmp_path / "s"], tmp_path / "fs", 5000, 400)
    store, ref = open_csc(tmp_path / "fs"), m.tocsc()
    for f in range(5000):
        es, ev = expected_feature(ref, f)
        s, v = store.feature(f)
        assert np.array_equal(s, es) and np.array_equal(v, ev), f


def test_rows_across_indptr_chunks_and_unstored_zero_chunks(tmp_path):
    """More rows than one indptr chunk, and an `indices` chunk of zeros that zarr does not
    store (the raw reader must return zeros for it)."""
    n = CHUNK + 5000
    rng = np.random.default_rng(4)
    lengths = np.where(np.arange(n) < CHUNK + 100, 1, rng.integers(0, 4, n))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    tail = [np.sort(rng.choice(50, k, replace=False)) for k in lengths[CHUNK + 100 :]]
    ids = np.concatenate([np.zeros(CHUNK + 100, np.int64), *tail])
    vals = rng.integers(1, 5, len(ids)).astype(np.float32)
    m = sp.csr_matrix((vals, ids, indptr), shape=(n, 50))
    store = write_csr(tmp_path / "s", indptr, ids, vals, m.shape, 3)
    assert not (tmp_path / "s" / "indices" / "c" / "0").exists()  # all-zero chunk skipped
    assert check_csr(store) == []
    assert (store.row_slice(CHUNK - 10, CHUNK + 300) != m[CHUNK - 10 : CHUNK + 300]).nnz == 0
    build_csc([store], tmp_path / "fs", 50, n + 3, memory_budget_bytes=1000)
    stacked = sp.vstack([sp.csr_matrix((3, 50), dtype=np.float32), m]).tocsc()
    fs = open_csc(tmp_path / "fs")
    for f in range(50):
        es, ev = expected_feature(stacked, f)
        s, v = fs.feature(f)
        assert np.array_equal(s, es) and np.array_equal(v, ev), f
    assert check_csc(fs) == [] and check_nnz_conserved([store], fs) == []


def test_compressed_stores_read_through_zarr(tmp_path, shards):
    from zarr.codecs import ZstdCodec

    paths, stacked, n_samples = shards
    m = open_csr(paths[1]).row_slice(0, 450)
    zstd = [ZstdCodec(level=3)]
    z = write_csr(tmp_path / "z", m.indptr, m.indices, m.data, m.shape, 800, compressors=zstd)
    assert z.indices._dir is None  # not raw bytes: reads go through zarr
    build_csc([paths[0], z, paths[2]], tmp_path / "fs", N_FEATURES, n_samples, compressors=zstd)
    assert open_csc(tmp_path / "fs").data._dir is None
    assert_store_matches(tmp_path / "fs", stacked, n_samples)


def test_build_csc_with_empty_shard(tmp_path):
    with CSRWriter(tmp_path / "empty", 5, 0):
        pass  # zero rows
    stats = build_csc([tmp_path / "empty"], tmp_path / "fs", 5, 10)
    store = open_csc(tmp_path / "fs")
    assert stats["nnz"] == 0 and store.nnz == 0 and store.shape == (10, 5)
    assert len(store.feature(4)[0]) == 0 and check_csc(store) == []


def test_build_rejects_overlapping_shards(tmp_path):
    m = random_csr(50, 10, 0.2, seed=1)
    write_csr(tmp_path / "a", m.indptr, m.indices, m.data, m.shape, 0)
    write_csr(tmp_path / "b", m.indptr, m.indices, m.data, m.shape, 40)
    with pytest.raises(ValueError, match="overlap"):
        build_csc([tmp_path / "a", tmp_path / "b"], tmp_path / "fs", 10, 100)


def test_failed_build_keeps_previous_store_and_cleans_up(tmp_path, shards):
    paths, stacked, n_samples = shards
    out = tmp_path / "out" / "fs"
    build_csc(paths, out, N_FEATURES, n_samples)
    before = zarr.open_group(out)["data"][:]

    def explode(phase, done, total):
        if phase == "sort":
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        build_csc(paths[:1], out, N_FEATURES, n_samples, memory_budget_bytes=6000, progress=explode)
    assert sorted(p.name for p in out.parent.iterdir()) == ["fs"]  # no temp dir, no spills
    assert np.array_equal(zarr.open_group(out)["data"][:], before)
    assert_store_matches(out, stacked, n_samples)


# ---------------------------------------------------------------- memory is bounded in N


def write_synthetic_shards(root: Path, n_samples: int, n_features: int, per_row: int) -> list:
    """~per_row nnz per row, written batch by batch with CSRWriter (2 shards)."""
    rng = np.random.default_rng(n_samples)
    paths, half, batch = [], n_samples // 2, 20_000
    for k, (start, stop) in enumerate([(0, half), (half, n_samples)]):
        with CSRWriter(root / f"s{k}", n_features, start) as w:
            for r0 in range(start, stop, batch):
                n = min(batch, stop - r0)
                ids = rng.integers(0, n_features, (n, per_row))
                ids.sort(axis=1)
                keep = np.ones_like(ids, bool)
                keep[:, 1:] = ids[:, 1:] != ids[:, :-1]  # one entry per (row, feature)
                indptr = np.concatenate([[0], np.cumsum(keep.sum(1))])
                vals = rng.random(int(indptr[-1]), dtype=np.float32) + 0.01
                w.append(indptr, ids[keep], vals)
        paths.append(root / f"s{k}")
    return paths


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_samples(tmp_path):
    budget = 8 << 20
    peaks, rates = [], []
    for n in (200_000, 400_000):
        root = tmp_path / str(n)
        root.mkdir()
        paths = write_synthetic_shards(root, n, 2000, 30)
        tracemalloc.start()
        t0 = time.perf_counter()
        stats = build_csc(paths, root / "fs", 2000, n, memory_budget_bytes=budget)
        seconds = time.perf_counter() - t0
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        rates.append(stats["nnz"] / seconds)
        assert stats["n_buckets"] > 1 and stats["peak_bucket_bytes"] <= budget
        assert check_nnz_conserved(paths, root / "fs") == []
    print(f"peak bytes {peaks}, nnz/s {[round(r) for r in rates]}")
    assert peaks[1] / peaks[0] < 1.3
    assert peaks[1] < 3 * budget
