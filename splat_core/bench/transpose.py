"""Throughput and peak memory of the streaming transpose (CSR shards -> CSC feature store),
at the materialized sample count and at multiples of it (shards replicated with shifted
sample ids). Each measurement runs in a fresh process, so its peak RSS is its own."""

from __future__ import annotations

import json
import multiprocessing as mp
import resource
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path

from splat_core import catalog
from splat_core.sparse import build_csc, open_csr, write_csr


def replicate_shards(home: Path, copies: int, out: Path) -> tuple[list[Path], int, int]:
    """CSR shards of `copies` x the materialized samples; returns (paths, n_samples, F)."""
    keys = sorted(catalog.read_catalog(home)["activations"]["partitions"])
    shards = [open_csr(catalog.current_path(home, "activations", k) / "csr.zarr") for k in keys]
    n = max(s.sample_start + s.shape[0] for s in shards)
    paths = []
    for c in range(copies):
        for s in shards:
            path = out / f"copy{c}-{s.sample_start}.zarr"
            m = s.row_slice(0, s.shape[0])
            write_csr(path, m.indptr, m.indices, m.data, s.shape, s.sample_start + c * n)
            paths.append(path)
    return paths, n * copies, shards[0].n_features


def _measure(paths, n_samples, n_features, budget, out, queue) -> None:
    tracemalloc.start()
    start = time.perf_counter()
    stats = build_csc([open_csr(p) for p in paths], out, n_features=n_features,
                      n_samples=n_samples, memory_budget_bytes=budget)  # fmt: skip
    seconds = time.perf_counter() - start
    _, traced_peak = tracemalloc.get_traced_memory()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    queue.put({"n_samples": n_samples, "nnz": stats["nnz"], "seconds": round(seconds, 3),
               "nnz_per_s": round(stats["nnz"] / seconds), "traced_peak_bytes": traced_peak,
               "peak_rss_bytes": rss, "n_buckets": stats.get("n_buckets")})  # fmt: skip


def bench_transpose(home: Path, scales=(1, 2), budget_mb: int = 256) -> list[dict]:
    results = []
    ctx = mp.get_context("spawn")
    for copies in scales:
        tmp = Path(tempfile.mkdtemp(prefix="splat-bench-"))
        try:
            paths, n_samples, n_features = replicate_shards(home, copies, tmp)
            queue = ctx.Queue()
            args = (paths, n_samples, n_features, budget_mb << 20, tmp / "csc.zarr", queue)
            proc = ctx.Process(target=_measure, args=args)
            proc.start()
            results.append({"scale": copies, **queue.get()})
            proc.join()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return results


if __name__ == "__main__":  # pragma: no cover - manual use
    import sys

    print(json.dumps(bench_transpose(Path(sys.argv[1])), indent=2))
