"""Sparse stores: CSR shards, the streaming CSR -> CSC transpose, and the invariant checks.

Every expected value comes from scipy.sparse on the same matrix."""

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

N_FEATURES = 300


def random_csr(n_rows: int, n_features: int, density: float, seed: int) -> sp.csr_matrix:
    """Random activations with ties (values on a 0.25 grid), empty rows and empty features;
    feature 7 fires on most rows so that it exceeds small memory budgets on its own."""
    rng = np.random.default_rng(seed)
    m = sp.random(n_rows, n_features, density=density, format="csr", random_state=rng)
    m.data = np.ceil(m.data * 8).astype(np.float32) / 4  # few distinct values -> many ties
    m = m.tolil()
    m[rng.random(n_rows) < 0.8, 7] = 1.5  # one dense feature, all tied
    m[:, 20:40] = 0  # empty features
    m[rng.choice(n_rows, n_rows // 10, replace=False), :] = 0  # empty rows
    m = m.tocsr().astype(np.float32)
    m.eliminate_zeros()
    m.sort_indices()
    return m


def expected_feature(stacked_csc: sp.csc_matrix, f: int) -> tuple[np.ndarray, np.ndarray]:
    """scipy's column f, reordered value desc, then sample asc."""
    a, b = stacked_csc.indptr[f], stacked_csc.indptr[f + 1]
    s, v = stacked_csc.indices[a:b], stacked_csc.data[a:b]
    order = np.lexsort((s, -v))
    return s[order], v[order]


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


def test_index_dtype_is_smallest_that_fits():
    assert index_dtype(1) == np.uint8 and index_dtype(256) == np.uint8
    assert index_dtype(257) == np.uint16 and index_dtype(65536) == np.uint16
    assert index_dtype(65537) == np.uint32 and index_dtype(2**32) == np.uint32
    assert index_dtype(2**32 + 1) == np.uint64


@pytest.mark.parametrize(("n_features", "dtype"), [(200, np.uint8), (5000, np.uint16)])
def test_csr_round_trip(tmp_path, n_features, dtype):
    m = random_csr(300, n_features, 0.03, seed=5)
    store = write_csr(tmp_path / "s", m.indptr, m.indices, m.data, m.shape, 1000, {"sae": "abc"})
    assert store.indices.dtype == dtype and store.indptr.dtype == np.int64
    assert store.data.dtype == np.float32
    assert store.attrs["encoding_type"] == "csr" and store.attrs["sae"] == "abc"
    assert store.shape == m.shape and store.nnz == m.nnz and store.sample_start == 1000
    back = store.row_slice(0, m.shape[0])
    assert (back != m).nnz == 0 and np.array_equal(back.indptr, m.indptr)
    part = store.row_slice(17, 120)
    assert (part != m[17:120]).nnz == 0 and part.shape == (103, n_features)
    ids, vals = store.row(42)
    assert np.array_equal(ids, m[42].indices) and np.array_equal(vals, m[42].data)
    assert check_csr(store) == []


def test_streaming_writer_equals_one_shot(tmp_path):
    m = random_csr(1000, N_FEATURES, 0.3, seed=6)  # > CHUNK entries: several chunks
    assert m.nnz > CHUNK
    one = write_csr(tmp_path / "one", m.indptr, m.indices, m.data, m.shape, 10)
    with CSRWriter(tmp_path / "stream", N_FEATURES, 10) as w:
        w.append_rows(m[:1])
        a, b = m.indptr[1], m.indptr[332]
        w.append(m.indptr[1:333], m.indices[a:b], m.data[a:b])  # an indptr slice
        w.append_rows(m[332:332])  # an empty batch
        w.append_rows(m[332:])
    two = open_csr(tmp_path / "stream")
    for name in ("indptr", "indices", "data"):
        assert np.array_equal(one.group[name][:], two.group[name][:])
    assert one.attrs == two.attrs and two.shape == m.shape


def test_writer_rejects_out_of_range_and_leaves_nothing(tmp_path):
    root = tmp_path / "acts"
    with pytest.raises(ValueError), CSRWriter(root / "bad", 10, 0) as w:
        w.append([0, 2], np.array([3, 10]), np.ones(2, np.float32))
    assert list(root.iterdir()) == []


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


# ---------------------------------------------------------------- checks detect corruption


@pytest.fixture
def built(tmp_path, shards):
    paths, _, n_samples = shards
    build_csc(paths, tmp_path / "fs", N_FEATURES, n_samples)
    return paths, tmp_path / "fs"


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
