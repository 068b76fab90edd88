"""CSR shards: dtypes, round trips, the streaming writer."""

from __future__ import annotations

import numpy as np
import pytest

from splat_core.sparse import (
    CHUNK,
    CSRWriter,
    check_csr,
    index_dtype,
    open_csr,
    write_csr,
)
from tests.helpers import N_FEATURES, random_csr


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
