"""The transpose's compiled kernels and positional output, against direct numpy computations."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
import zarr

from splat_core.sparse import build_csc, kernels, open_csc, write_csr
from splat_core.sparse import transpose as transpose_module
from splat_core.sparse.layout import PositionalWriter, Vector, create_vector, store_chunk


def _keys(values: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """What pack_block computes, spelled out with numpy."""
    bits = (values.astype(np.float32) + np.float32(0)).view(np.uint32)  # -0.0 -> +0.0
    desc = np.where(bits >> 31, bits, ~bits & np.uint32(0x7FFFFFFF)).astype(np.uint64)
    return desc << np.uint64(32) | samples.astype(np.uint64)


@pytest.mark.parametrize("n", [5, 48, 49, 3000])  # insertion sort, its edge, the radix path
def test_sort_segment_orders_by_value_desc_then_sample(n):
    rng = np.random.default_rng(n)
    values = rng.choice(np.float32([-2.0, -0.0, 0.0, 0.25, 1e-30, 3.5, 1e30]), n)
    values[: n // 3] = rng.normal(size=n // 3).astype(np.float32)
    samples = np.arange(n, dtype=np.uint32) * 7  # spill order: samples ascending
    keys = _keys(values, samples)
    kernels.sort_segment(keys, np.empty_like(keys), 0, n)
    got_s, got_v = np.empty(n, np.uint32), np.empty(n, np.float32)
    kernels.unpack(keys, got_s, got_v)
    order = np.lexsort((samples, -values))
    assert np.array_equal(got_s, samples[order])
    assert np.array_equal(got_v, values[order] + np.float32(0))  # -0.0 comes back as 0.0
    assert not np.signbit(got_v[got_v == 0]).any()


def test_pack_block_groups_by_bucket_keeping_sample_order():
    rng = np.random.default_rng(1)
    m = sp.random(40, 30, density=0.3, format="csr", random_state=rng, dtype=np.float32)
    bucket_of = np.repeat(np.arange(3, dtype=np.int32), 10)  # features 0-9, 10-19, 20-29
    p, q = 5, m.nnz - 3  # a block starting and ending inside rows
    ids = m.indices[p:q].astype(np.uint16)
    f, k = np.empty(q - p, np.uint16), np.empty(q - p, np.uint64)
    offsets = kernels.pack_block(ids, m.data[p:q], m.indptr.astype(np.int64), p, 100,
                                 bucket_of, 3, f, k)  # fmt: skip
    rows = np.repeat(np.arange(40), np.diff(m.indptr))[p:q]
    want_keys = _keys(m.data[p:q], rows + 100)
    for b in range(3):
        sel = bucket_of[ids] == b  # a stable grouping keeps this (row) order
        assert offsets[b + 1] - offsets[b] == sel.sum()
        assert np.array_equal(f[offsets[b] : offsets[b + 1]], ids[sel])
        assert np.array_equal(k[offsets[b] : offsets[b + 1]], want_keys[sel])


def test_positional_writes_in_any_order_from_threads(tmp_path):
    group = zarr.open_group(str(tmp_path / "g"), mode="w", zarr_format=3)
    arr = create_vector(group, "x", np.uint32, 2500, chunk=1000)
    writer = PositionalWriter(arr)
    want = np.random.default_rng(2).integers(0, 2**32, 2500, dtype=np.uint32)
    cuts = [0, 10, 999, 1000, 1700, 2001, 2500]
    ranges = list(zip(cuts[:-1], cuts[1:], strict=True))[::-1]
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda r: writer.write(r[0], want[r[0] : r[1]]), ranges))
    writer.close()
    assert (tmp_path / "g" / "x" / "c" / "2").stat().st_size == 4000  # edge chunk: full size
    assert np.array_equal(zarr.open_array(str(tmp_path / "g" / "x"))[:], want)
    assert np.array_equal(Vector(arr).read(0, 2500), want)
    with pytest.raises(ValueError, match="outside"):
        writer.write(2400, want[:200])


def test_store_chunk_grows_with_the_store_and_is_bounded():
    assert store_chunk(0) == store_chunk(4 << 20) == 1 << 16
    assert store_chunk(64_600_000) == 1 << 19  # ~123 chunks per array at seed scale
    assert store_chunk(10**10) == 1 << 20


def test_build_with_small_store_chunks_and_many_buckets(tmp_path, monkeypatch):
    """Buckets written in parallel straddle chunk boundaries of the output."""
    monkeypatch.setattr(transpose_module, "store_chunk", lambda n: 256)
    rng = np.random.default_rng(3)
    m = sp.random(3000, 200, density=0.05, format="csr", random_state=rng, dtype=np.float32)
    m.data = np.round(m.data * 4) / 4 - 0.5  # ties, negatives and zeros stored explicitly
    write_csr(tmp_path / "s", m.indptr, m.indices, m.data, m.shape, 0)
    stats = build_csc([tmp_path / "s"], tmp_path / "fs", 200, 3000, memory_budget_bytes=60_000)
    assert stats["n_buckets"] > 5
    store, ref = open_csc(tmp_path / "fs"), m.tocsc()
    assert store.group["indices"].chunks == (256,)
    for f in range(200):
        a, b = ref.indptr[f], ref.indptr[f + 1]
        order = np.lexsort((ref.indices[a:b], -ref.data[a:b]))
        s, v = store.feature(f)
        assert np.array_equal(s, ref.indices[a:b][order]), f
        assert np.array_equal(v, ref.data[a:b][order] + np.float32(0)), f
