"""The reference ("seed") project's activation layouts and read paths, as a baseline.

The seed stored SAE activations densely, Blosc-zstd compressed, in Zarr:
- feature-major: a transposed array [n_features, n_samples] float32, chunks (1, 10,000); a
  feature is read as its whole row, then filtered to the nonzeros (and, for a top-N, sorted
  by value descending);
- sample-major ("batch" layout): [n_samples, n_features] in chunks of (1,000, n_features); a
  feature is read by scanning that column through every batch.
Only the features being measured are written (see `write_dense_rows`), so a seed-scale
baseline costs seconds and megabytes instead of ~100 GB of mostly zero floats.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import zarr
from zarr.codecs import BloscCodec

ROW_CHUNK = 10_000  # samples per chunk of a feature row (the seed's transposed layout)
BATCH_ROWS = 1_000  # samples per chunk of the seed's sample-major layout


def seed_compressor() -> BloscCodec:
    return BloscCodec(cname="zstd", clevel=5, shuffle="shuffle")


def create_dense(path: str | Path, n_features: int, n_samples: int) -> zarr.Array:
    """The seed's full-shape transposed array, empty (every chunk is the fill value 0).

    write_empty_chunks: a written row has every chunk on disk (the seed wrote all of them),
    so its reads decompress what the seed's did even where a chunk holds only zeros."""
    return zarr.create_array(
        store=str(path), shape=(int(n_features), int(n_samples)), dtype="float32",
        chunks=(1, min(ROW_CHUNK, max(int(n_samples), 1))), compressors=seed_compressor(),
        fill_value=0.0, overwrite=True, config={"write_empty_chunks": True},
    )  # fmt: skip


def write_dense_rows(
    path: str | Path, csc_store, features: Iterable[int], n_samples: int, n_features: int
) -> zarr.Array:
    """The seed's dense array at full shape with only the rows of `features` written (from
    the CSC store's `feature(f)`); other rows are never written and read as zeros.

    For a written feature the read path is identical to a fully written array: same shape,
    chunks, codec and chunk files, and `arr[f, :]` touches only row f's chunks. The array's
    attrs record the written features and their bytes on disk (`written_bytes`), so the
    dense layout's bytes per nonzero can be computed for those rows."""
    arr = create_dense(path, n_features, n_samples)
    written = sorted({int(f) for f in features})
    row = np.zeros(int(n_samples), np.float32)
    for f in written:
        ids, values = csc_store.feature(f)
        row[:] = 0
        row[np.asarray(ids, dtype=np.int64)] = values
        arr[f, :] = row
    arr.attrs.update({"written_features": written,
                      "written_bytes": {str(f): row_bytes(arr, f) for f in written}})  # fmt: skip
    return arr


def row_bytes(arr: zarr.Array, f: int) -> int:
    """Bytes on disk of feature f's chunk files."""
    root = Path(arr.store.root) / arr.path
    n_chunks = -(-arr.shape[1] // arr.chunks[1])
    keys = (arr.metadata.encode_chunk_key((int(f), j)) for j in range(n_chunks))
    return sum((root / k).stat().st_size for k in keys if (root / k).exists())


def read_dense_feature(arr: zarr.Array, f: int) -> tuple[np.ndarray, np.ndarray]:
    """The seed's feature read: the whole row, then its nonzeros, in sample order."""
    row = arr[int(f), :]
    ids = np.flatnonzero(row)
    return ids.astype(np.int64), row[ids].astype(np.float32, copy=False)


def read_dense_top(arr: zarr.Array, f: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The seed's top-k: row read, nonzero filter, sort by value descending (stable, so
    ties go to the smaller sample id, as in the feature store), first k."""
    ids, values = read_dense_feature(arr, f)
    order = np.argsort(-values, kind="stable")[: max(int(k), 0)]
    return ids[order], values[order]


# --- the sample-major "batch" layout -------------------------------------------------------


def write_sample_major(
    path: str | Path, shards: Sequence, n_samples: int, n_features: int, max_rows=None
) -> zarr.Array:
    """The seed's sample-major array [n_samples, n_features] from CSR shards, one batch
    (chunk) of rows at a time. `max_rows` writes only the first rows (the rest stay unwritten
    fill) so a scan over the written batches can be timed and extrapolated per batch."""
    arr = zarr.create_array(
        store=str(path), shape=(int(n_samples), int(n_features)), dtype="float32",
        chunks=(BATCH_ROWS, int(n_features)), compressors=seed_compressor(), fill_value=0.0,
        overwrite=True, config={"write_empty_chunks": True},
    )  # fmt: skip
    limit = int(n_samples if max_rows is None else min(max_rows, n_samples))
    for shard in sorted(shards, key=lambda s: s.sample_start):
        for a in range(shard.sample_start, min(shard.sample_stop, limit), BATCH_ROWS):
            b = min(a + BATCH_ROWS, shard.sample_stop, limit)
            block = shard.row_slice(a - shard.sample_start, b - shard.sample_start)
            arr[a:b, :] = block.toarray().astype(np.float32, copy=False)
    arr.attrs.update({"written_rows": limit})
    return arr


def read_batch_scan(arr: zarr.Array, f: int, n_batches: int | None = None):
    """The seed's batch-scan feature read: column f of every batch (each read decompresses
    the whole batch), nonzeros kept, in sample order. `n_batches` stops early (timing)."""
    n = arr.shape[0] if n_batches is None else min(arr.shape[0], n_batches * BATCH_ROWS)
    ids, values = [], []
    for a in range(0, n, BATCH_ROWS):
        col = arr[a : min(a + BATCH_ROWS, n), int(f)]
        nz = np.flatnonzero(col)
        ids.append(nz + a)
        values.append(col[nz])
    if not ids:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    return np.concatenate(ids).astype(np.int64), np.concatenate(values).astype(np.float32)
