"""Our feature store beside the seed's layouts of the same data, in the same run: bytes on
disk per nonzero, and the seed's batch-scan feature read (sample-major Zarr).

At seed scale the seed's arrays are ~100 GB of mostly zero floats, so neither is written
whole: the dense transposed array gets the measured rows plus rows at spread nnz quantiles
(its total is interpolated from those), the sample-major array gets its first batches (its
total and a full scan are extrapolated linearly, every batch costing the same)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from splat_cli.bench.api import summarize
from splat_cli.bench.dense_zarr import (
    BATCH_ROWS,
    create_dense,
    read_batch_scan,
    row_bytes,
    write_dense_rows,
    write_sample_major,
)
from splat_core.store.artifacts import dir_bytes


def store_bytes(csc) -> dict:
    """Our feature store's files on disk; bytes_per_nnz counts indices + data (what grows
    with nnz), the total with indptr (which grows with features) is beside it."""
    root = Path(csc.path)
    idx, data, ptr = (dir_bytes(root / k) for k in ("indices", "data", "indptr"))
    nnz = max(int(csc.nnz), 1)
    return {"indices": idx, "data": data, "indptr": ptr, "total": dir_bytes(root),
            "nnz": int(csc.nnz), "bytes_per_nnz": (idx + data) / nnz,
            "total_bytes_per_nnz": dir_bytes(root) / nnz}  # fmt: skip


def size_probes(counts: np.ndarray, n: int) -> list[int]:
    """n features at evenly spread nnz quantiles (smallest and largest included)."""
    order = np.argsort(counts, kind="stable")
    picks = np.linspace(0, len(order) - 1, max(n, 2)).round().astype(np.int64)
    return sorted({int(order[i]) for i in picks})


def dense_transposed_bytes(csc, measured: Sequence[int], n_probes: int, tmp: Path) -> dict:
    """The seed's dense transposed layout (chunks (1, 10,000), Blosc zstd): compressed bytes
    of the measured features' rows per nonzero, and the whole array estimated as the sum
    over every feature of a row size interpolated in nnz between written rows."""
    counts = csc.nnz_per_feature()
    n_samples, n_features = int(csc.n_samples), int(csc.n_features)
    probes = size_probes(counts, n_probes)
    written = sorted(set(map(int, measured)) | set(probes))
    arr = write_dense_rows(tmp / "dense_rows.zarr", csc, written, n_samples, n_features)
    sizes = {f: int(arr.attrs["written_bytes"][str(f)]) for f in written}
    zero = create_dense(tmp / "zero_row.zarr", 1, n_samples)
    zero[0, :] = np.zeros(n_samples, np.float32)
    xs, ys = _mean_by_x(
        [0, *(int(counts[f]) for f in written)], [row_bytes(zero, 0), *sizes.values()]
    )
    estimate = float(np.interp(counts, xs, ys).sum())
    nnz_measured = sum(int(counts[f]) for f in measured)
    measured_bytes = sum(sizes[int(f)] for f in measured)
    return {
        "measured_features": {
            str(f): {"nnz": int(counts[f]), "bytes": sizes[int(f)]} for f in measured
        },
        "measured_bytes_per_nnz": measured_bytes / max(nnz_measured, 1),
        "empty_row_bytes": int(ys[0]),
        "estimated_total_bytes": round(estimate),
        "estimated_bytes_per_nnz": estimate / max(int(csc.nnz), 1),
        "uncompressed_bytes": n_features * n_samples * 4,
        "n_rows_written": len(written),
        "estimate_method": (
            f"rows written for {len(written)} features (the measured ones and {len(probes)} at "
            "spread nnz quantiles) plus an all-zero row; every feature's row size is "
            "interpolated linearly in its nnz between those rows and summed"
        ),
    }


def _mean_by_x(xs: list[int], ys: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique xs with the mean y of each (np.interp needs increasing xs)."""
    ux, inverse = np.unique(np.asarray(xs), return_inverse=True)
    return ux, np.bincount(inverse, weights=np.asarray(ys, np.float64)) / np.bincount(inverse)


def batch_scan(shards: Sequence, csc, features: Sequence[int], max_batches: int, repeats: int,
               tmp: Path) -> dict:  # fmt: skip
    """The seed's batch-scan read of each feature over the first `max_batches` batches of a
    sample-major array (checked against the feature store), extrapolated to every batch;
    the array's bytes per nonzero from the written batches."""
    n_samples, n_features = int(csc.n_samples), int(csc.n_features)
    total = -(-n_samples // BATCH_ROWS)
    n_batches = min(max(int(max_batches), 1), total)
    rows = min(n_batches * BATCH_ROWS, n_samples)
    start = time.perf_counter()
    arr = write_sample_major(tmp / "batches.zarr", shards, n_samples, n_features, max_rows=rows)
    write_s = time.perf_counter() - start
    written = dir_bytes(tmp / "batches.zarr") - (tmp / "batches.zarr" / "zarr.json").stat().st_size
    nnz_rows = _nnz_before(shards, rows)
    scale = total / n_batches
    out = {}
    for f in features:
        ids, _ = csc.feature(int(f))
        want = np.sort(ids[ids < rows])
        ms = []
        for _ in range(max(int(repeats), 1)):
            t = time.perf_counter()
            got, _ = read_batch_scan(arr, int(f), n_batches)
            ms.append((time.perf_counter() - t) * 1000)
        if not np.array_equal(got, want):
            raise AssertionError(f"feature {f}: the batch scan disagrees with the feature store")
        measured = summarize(ms)
        out[str(f)] = {"measured": measured,
                       "full_scan_median_ms": round(measured["median_ms"] * scale, 3)}  # fmt: skip
    return {
        "batches_total": total,
        "batches_scanned": n_batches,
        "extrapolated": n_batches < total,
        "method": "full scan" if n_batches == total else (
            f"scanned {n_batches} of {total} batches ({BATCH_ROWS:,} rows each); full-scan "
            f"time = measured x {scale:.1f} (linear: every batch is one equal-size chunk)"),
        "write_seconds": round(write_s, 3),
        "features": out,
        "bytes_written": written,
        "rows_written": rows,
        "nnz_written": nnz_rows,
        "bytes_per_nnz": written / max(nnz_rows, 1),
        "estimated_total_bytes": round(written * n_samples / rows),
    }  # fmt: skip


def _nnz_before(shards: Sequence, rows: int) -> int:
    """Nonzeros of global samples [0, rows), from the shards' indptr."""
    nnz = 0
    for s in shards:
        local = min(max(rows - s.sample_start, 0), s.n_rows)
        if local:
            a, b = s.indptr.read(0, 1)[0], s.indptr.read(local, local + 1)[0]
            nnz += int(b - a)
    return nnz
