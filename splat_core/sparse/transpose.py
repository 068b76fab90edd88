"""Streaming CSR shards -> CSC feature store, in memory bounded by a budget, not by N.

Pass 1 counts entries per feature (reading only `indices`) -> the output indptr and a split of
the features into contiguous buckets whose entries fit the budget. Pass 2 reads every shard
once and appends each entry to its bucket's spill files as (feature, key), the key packing
value and global sample so that its order is the store's (see `kernels`). Then each bucket
is loaded, counting-scattered by feature, radix-sorted per feature and appended to the
output, whose ranges are contiguous and in bucket order, so output writes are sequential.
The compiled loops release the GIL: blocks are packed, and buckets sorted, on a thread pool
(`workers`) while the main thread reads and writes, in order.

A single feature with more entries than the budget allows (a feature that fires on most
samples) cannot be sorted in memory; it is radix-partitioned on its key bits into
sub-spills that each fit (see `_emit_large`). Ties keep the spill order, which is ascending
sample id because shards are read in sample order and a CSR row holds a feature once.
"""

from __future__ import annotations

import itertools
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from splat_core.atomic import atomic_dir
from splat_core.sparse import kernels
from splat_core.sparse.csr import CSRStore, open_csr
from splat_core.sparse.layout import (
    CHUNK,
    ENCODING_VERSION,
    ChunkAppender,
    PositionalWriter,
    create_vector,
    greedy_ranges,
    index_dtype,
    store_chunk,
)
from splat_core.sparse.spill import Run, Spill

Progress = Callable[[str, int, int], None]
DEFAULT_BUDGET = 256 << 20
DEFAULT_WORKERS = 2
MIN_CAPACITY = 16
# Bigger buckets scatter over more memory (cache and TLB misses) for no gain in passes.
MAX_CAPACITY = 1 << 21
# Pass-2 bytes per entry of a block in flight: ids and values read (6), grouped ids and keys
# (10), with room for the run file's page cache; conservative, as blocks are a small share.
READ_BYTES_PER_ENTRY = 48
MAX_SAMPLES = 1 << 32  # the key holds the sample id in its low 32 bits


def build_csc(
    shards: Sequence[CSRStore | str | Path],
    out_path: str | Path,
    n_features: int,
    n_samples: int,
    memory_budget_bytes: int = DEFAULT_BUDGET,
    tmp_dir: str | Path | None = None,
    progress: Progress | None = None,
    attrs: dict[str, Any] | None = None,
    compressors=None,
    workers: int = DEFAULT_WORKERS,
) -> dict[str, Any]:
    """Transpose CSR shards into a CSC feature store at `out_path` (published atomically).

    memory_budget_bytes bounds the buckets being sorted and the read blocks in flight; fixed
    floors (one CHUNK per read, F-sized counters) apply below a few MiB. progress(phase,
    done, total) is called with phase in {"count", "spill", "sort"} and nnz units. Spill
    files go to tmp_dir (default: beside out_path, on the same disk) and are always removed.
    Returns stats: nnz, n_buckets, n_large_features, bytes_read, bytes_spilled,
    peak_bucket_bytes, seconds, nnz_per_s, ...
    """
    t0 = time.perf_counter()
    out_path = Path(out_path)
    n_features, n_samples = int(n_features), int(n_samples)
    if n_samples > MAX_SAMPLES:
        raise ValueError(f"{n_samples} samples: the transpose holds at most {MAX_SAMPLES}")
    stores = sorted((open_csr(s) for s in shards), key=lambda s: s.sample_start)
    _validate_shards(stores, n_features, n_samples)
    report = progress or (lambda phase, done, total: None)
    workers = max(int(workers), 1)
    fdt, sdt = index_dtype(n_features), index_dtype(n_samples)
    in_flight = workers + 1  # buckets sorting on the pool, plus the one being written
    capacity = memory_budget_bytes // in_flight // _sort_bytes_per_entry(fdt, sdt)
    capacity = min(max(capacity, MIN_CAPACITY), MAX_CAPACITY)
    block = memory_budget_bytes // in_flight // READ_BYTES_PER_ENTRY // CHUNK * CHUNK
    block = min(max(block, CHUNK), 64 * CHUNK)
    total = sum(s.nnz for s in stores)
    stats: dict[str, Any] = {"nnz": total, "n_features": n_features, "n_samples": n_samples}
    stats.update(n_shards=len(stores), bucket_capacity=int(capacity), read_block=int(block))
    stats.update(bytes_read=0, bytes_spilled=0, peak_bucket_bytes=0, n_large_features=0)
    stats["workers"] = workers

    counts = _count_features(stores, n_features, block, stats, report)
    indptr = np.zeros(n_features + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    buckets = greedy_ranges(counts, capacity)
    stats["n_buckets"] = len(buckets)

    out_path.parent.mkdir(parents=True, exist_ok=True)
    spill_root = Path(tmp_dir) if tmp_dir is not None else out_path.parent
    spill_root.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(dir=spill_root, prefix=f".{out_path.name}.spill-") as sd,
        atomic_dir(out_path) as tmp,
        ThreadPoolExecutor(workers, thread_name_prefix="transpose") as pool,
    ):
        runs = _spill_shards(stores, buckets, Path(sd), block, stats, report, pool, workers)
        group = zarr.open_group(str(tmp), mode="w", zarr_format=3)
        create_vector(group, "indptr", np.int64, n_features + 1, compressors)[:] = indptr
        chunk = store_chunk(total)
        arrays = [create_vector(group, "indices", sdt, total, compressors, chunk),
                  create_vector(group, "data", np.float32, total, compressors, chunk)]  # fmt: skip
        out = _Output(arrays, sdt)

        def sort(i: int) -> tuple[np.ndarray | None, int]:
            (f0, f1), size = buckets[i], sum(r.size(i) for r in runs)
            expected = int(indptr[f1] - indptr[f0])
            if size != expected:  # a shard changed between the passes
                raise RuntimeError(f"features {f0}..{f1}: {size} entries, counted {expected}")
            if size > capacity:  # one feature, too big to sort in memory: done in order
                return None, 0
            features, keys = _gather(runs, i, size, fdt)
            order, scratch = _scratch("order", size, np.uint64), _scratch("tmp", size, np.uint64)
            bounds = indptr[f0 : f1 + 1] - indptr[f0]
            kernels.sort_bucket(features, keys, f0, bounds, order, scratch)
            if out.positional:  # written here, in parallel; else by the main thread, in order
                out.emitter(int(indptr[f0]))(order)
                return np.empty(0, np.uint64), size * _sort_bytes_per_entry(fdt, sdt)
            return order.copy(), size * _sort_bytes_per_entry(fdt, sdt)

        for i, (keys, held) in enumerate(_ordered(pool, sort, range(len(buckets)), workers)):
            (f0, f1) = buckets[i]
            emit = out.emitter(int(indptr[f0]))
            if keys is None:
                stats["n_large_features"] += 1
                source = lambda i=i: _bucket_keys(runs, i, block)  # noqa: E731
                held = _emit_large(source, capacity, block, Path(sd) / f"big{i}", emit)
            elif not out.positional:
                emit(keys)
            stats["peak_bucket_bytes"] = max(stats["peak_bucket_bytes"], held)
            report("sort", int(indptr[f1]), total)
        for r in runs:
            r.delete()
        out.close()
        _local.__dict__.pop("bufs", None)  # the main thread's buffers (pool threads end here)
        group.attrs.update(
            {
                **(attrs or {}),
                "encoding_type": "csc",
                "encoding_version": ENCODING_VERSION,
                "shape": [n_samples, n_features],
                "order": "per feature: data descending, then indices ascending",
            }
        )
    stats["seconds"] = time.perf_counter() - t0
    stats["nnz_per_s"] = total / max(stats["seconds"], 1e-9)
    return stats


def _ordered(pool: ThreadPoolExecutor, fn, items: Iterable, ahead: int) -> Iterator:
    """fn over items on the pool, results in item order, at most `ahead` pending (memory)."""
    pending: deque = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) > ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _count_features(stores, n_features: int, block: int, stats, report) -> np.ndarray:
    """Pass 1: entries per feature, reading only the shards' `indices`."""
    counts = np.zeros(n_features, np.int64)
    done, total = 0, stats["nnz"]
    for s in stores:
        for p in range(0, s.nnz, block):
            ids = s.indices.stream(p, p + block)
            c = np.bincount(ids, minlength=n_features)
            if len(c) > n_features:
                raise ValueError(f"{s.path}: feature id {len(c) - 1} >= n_features {n_features}")
            counts += c
            stats["bytes_read"] += ids.nbytes
            done += len(ids)
            report("count", done, total)
    return counts


def _spill_shards(stores, buckets, spill_dir: Path, block, stats, report, pool, workers):
    """Pass 2: every shard read once, in blocks; each block's entries are packed into
    (feature, key) grouped by bucket and written as one run, on the pool."""
    bucket_of = np.empty(buckets[-1][1] if buckets else 0, np.int32)
    for i, (f0, f1) in enumerate(buckets):
        bucket_of[f0:f1] = i

    def blocks():
        for s in stores:
            for r0 in range(0, s.n_rows, CHUNK):
                ip = s.indptr.stream(r0, min(s.n_rows, r0 + CHUNK) + 1).astype(np.int64)
                stats["bytes_read"] += ip.nbytes
                p0, p1 = int(ip[0]), int(ip[-1])
                cuts = [p0, *range((p0 // block + 1) * block, p1, block), p1]
                for p, q in zip(cuts[:-1], cuts[1:], strict=True):
                    if q > p:
                        yield s, ip, s.sample_start + r0, p, q

    def pack(job) -> Run:
        (s, ip, first, p, q), j = job
        n = q - p
        ids = s.indices.stream(p, q, _scratch("ids", n, s.indices.dtype))
        vals = s.data.stream(p, q, _scratch("vals", n, np.float32))
        f, k = _scratch("f", n, ids.dtype), _scratch("k", n, np.uint64)
        offsets = kernels.pack_block(ids, vals, ip, p, first, bucket_of, len(buckets), f, k)
        return Run(spill_dir / f"r{j}", f, k, offsets)

    runs, done, total = [], 0, stats["nnz"]
    for run in _ordered(pool, pack, zip(blocks(), itertools.count()), workers):
        runs.append(run)
        n = int(run.offsets[-1])
        stats["bytes_read"] += n * 6
        stats["bytes_spilled"] += n * (run.dtypes["f"].itemsize + 8)
        done += n
        report("spill", done, total)
    return runs


_local = threading.local()


def _scratch(name: str, n: int, dtype) -> np.ndarray:
    """This thread's reusable buffer `name`, n elements of dtype. Fresh 16 MB arrays per
    bucket cost more in page faults than the sort itself; a thread reuses its own."""
    dtype = np.dtype(dtype)
    bufs = _local.__dict__.setdefault("bufs", {})
    buf = bufs.get(name)
    if buf is None or buf.nbytes < n * dtype.itemsize:
        buf = bufs[name] = np.empty(max(n * dtype.itemsize, 1), np.uint8)
    return buf[: n * dtype.itemsize].view(dtype)


def _gather(runs: list[Run], b: int, size: int, fdt) -> tuple[np.ndarray, np.ndarray]:
    """Bucket b's (feature ids, keys) from every run, in run (sample) order."""
    features, keys = _scratch("f", size, fdt), _scratch("k", size, np.uint64)
    pos = 0
    for r in runs:
        n = r.size(b)
        r.read_into(b, "f", features[pos : pos + n])
        r.read_into(b, "k", keys[pos : pos + n])
        pos += n
    return features, keys


def _bucket_keys(runs: list[Run], b: int, block: int) -> Iterator[np.ndarray]:
    """Bucket b's keys in run order, a block at most at a time (a feature too big to load)."""
    for r in runs:
        for a in range(0, r.size(b), block):
            n = min(block, r.size(b) - a)
            keys = np.empty(n, np.uint64)
            r.read_range(b, "k", a, keys)
            yield keys


class _Output:
    """The store's indices and data. Raw-bytes arrays take positional writes from any
    thread (`positional`); compressed ones are appended in order by the main thread."""

    def __init__(self, arrays, sdt):
        self.sdt = sdt
        self.positional = all(PositionalWriter.supports(a) for a in arrays)
        if self.positional:
            self.writers = [PositionalWriter(a) for a in arrays]
        else:
            self.writers = [ChunkAppender(a) for a in arrays]

    def emitter(self, start: int) -> Callable[[np.ndarray], None]:
        """A function writing successive key arrays from output position `start` on."""
        pos = [start]

        def emit(keys: np.ndarray) -> None:
            samples = _scratch("samples", len(keys), self.sdt)
            values = _scratch("values", len(keys), np.float32)
            kernels.unpack(keys, samples, values)
            s_out, v_out = self.writers
            if self.positional:
                s_out.write(pos[0], samples)
                v_out.write(pos[0], values)
            else:
                s_out.write(samples)
                v_out.write(values)
            pos[0] += len(keys)

        return emit

    def close(self) -> None:
        for w in self.writers:
            w.close()


def _validate_shards(stores: list[CSRStore], n_features: int, n_samples: int) -> None:
    stop = 0
    for s in stores:
        if s.n_features != n_features:
            raise ValueError(f"{s.path}: {s.n_features} features, expected {n_features}")
        if s.sample_start < stop:
            raise ValueError(f"{s.path}: samples from {s.sample_start} overlap another shard")
        stop = s.sample_stop
        if stop > n_samples:
            raise ValueError(f"{s.path}: samples up to {stop} exceed n_samples {n_samples}")


def _spill_block(spills: list[Spill], target: np.ndarray, **cols: np.ndarray) -> None:
    """Append each row of `cols` to spills[target], keeping the rows' order in each spill."""
    if len(spills) == 1:
        spills[0].append(**cols)
        return
    order = np.argsort(target, kind="stable")  # radix sort for 8/16-bit targets
    ends = np.cumsum(np.bincount(target, minlength=len(spills)))
    start = 0
    for t in np.flatnonzero(np.diff(ends, prepend=0)):
        sel = order[start : ends[t]]
        spills[t].append(**{k: v[sel] for k, v in cols.items()})
        start = ends[t]


def _sort_bytes_per_entry(fdt: np.dtype, sdt: np.dtype) -> int:
    """Peak bytes per entry of a bucket sort and its write: the loaded feature ids and keys,
    the scattered keys and the radix buffer (8 + 8), the unpacked samples and values."""
    return fdt.itemsize + 8 + 16 + sdt.itemsize + 4


def _emit_large(source, capacity: int, block: int, stem: Path, emit, level: int = 0) -> int:
    """Emit one feature's keys in key order; source() iterates them in sample order.

    MSD radix partition on 16-bit digits of the value half of the key: a histogram pass, a
    split of the digits into ranges that fit `capacity`, one pass writing sub-spills, then
    each range in order. A digit still too big is split on the next 16 bits; one too big
    after that holds a single value, already in sample order. Returns the peak bytes held.
    """
    shift = 48 if level == 0 else 32
    hist = np.zeros(1 << 16, np.int64)
    for keys in source():
        hist += kernels.digit_hist(keys, shift)
    ranges = greedy_ranges(hist, capacity)
    range_of = np.empty(1 << 16, np.uint16)
    for i, (d0, d1) in enumerate(ranges):
        range_of[d0:d1] = i
    subs = [Spill(Path(f"{stem}.{level}.{i}"), {"k": np.uint64}) for i in range(len(ranges))]
    for keys in source():
        _spill_block(subs, range_of[(keys >> np.uint64(shift)) & np.uint64(0xFFFF)], k=keys)
    peak = 0
    for i, sub in enumerate(subs):
        if len(sub) <= capacity:
            keys = sub.read()["k"]
            kernels.sort_segment(keys, np.empty_like(keys), 0, len(keys))
            emit(keys)
            peak = max(peak, len(keys) * 32)
        elif level == 0:
            sub_keys = lambda sub=sub: (c["k"] for c in sub.iter(block))  # noqa: E731
            peak = max(peak, _emit_large(sub_keys, capacity, block, Path(f"{stem}.{i}"), emit, 1))
        else:
            for c in sub.iter(block):
                emit(c["k"])
        sub.delete()
    return peak
