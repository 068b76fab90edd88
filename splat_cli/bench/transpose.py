"""Throughput and peak memory of the streaming transpose (CSR shards -> CSC feature store),
at the materialized sample count and at multiples of it (shards replicated with shifted
sample ids). Each scale runs in a fresh process, so its peak RSS is its own: the kernels are
compiled first on a two-row store of the same dtypes (timed apart: a once-per-process cost),
then the build runs `repeats` times and the median is reported beside the first. The process
is `python -m` this module (not a multiprocessing child, which would re-import the caller's
`__main__` and count the CLI's imports in the build's peak RSS)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from splat_cli.bench.memory import peak_rss_bytes
from splat_core.sparse import build_csc, open_csr, write_csr
from splat_core.store import catalog


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


def _measure(paths, n_samples, n_features, budget, out: Path, repeats: int) -> dict:
    start = time.perf_counter()
    warm = out.parent / "warm-up"
    tiny = write_csr(warm / "csr.zarr", np.array([0, 1, 2]), np.array([0, n_features - 1]),
                     np.ones(2, np.float32), (2, n_features), 0)  # fmt: skip
    build_csc([tiny], warm / "csc.zarr", n_features, n_samples)
    compile_seconds = time.perf_counter() - start
    rss_before = peak_rss_bytes()
    tracemalloc.start()  # numpy reports its buffers: the build's own working memory
    runs = []
    for _ in range(repeats):
        shutil.rmtree(out, ignore_errors=True)
        stats = build_csc([open_csr(p) for p in paths], out, n_features=n_features,
                          n_samples=n_samples, memory_budget_bytes=budget)  # fmt: skip
        runs.append(stats["seconds"])
    seconds = float(np.median(runs))
    _, traced_peak = tracemalloc.get_traced_memory()
    rss = peak_rss_bytes()
    return {"n_samples": n_samples, "nnz": stats["nnz"], "seconds": round(seconds, 3),
               "nnz_per_s": round(stats["nnz"] / seconds),
               "runs_seconds": [round(x, 3) for x in runs], "traced_peak_bytes": traced_peak,
               "first_nnz_per_s": round(stats["nnz"] / runs[0]),
               "compile_seconds": round(compile_seconds, 2), "peak_rss_bytes": rss,
               "rss_after_compile_bytes": rss_before, "workers": stats["workers"],
               "n_buckets": stats["n_buckets"], "bytes_spilled": stats["bytes_spilled"],
               "budget_bytes": budget}  # fmt: skip


def check_args(scales, budget_mb: int, repeats: int = 1) -> None:
    """Refuse what would fail minutes in: scales are sample multiples, all counts >= 1."""
    bad = [s for s in scales if int(s) < 1]
    if not scales or bad:
        raise ValueError(f"scales must be integers >= 1 (sample multiples), got {list(scales)}")
    if budget_mb < 1 or repeats < 1:
        raise ValueError(f"budget_mb and repeats must be >= 1, got {budget_mb}, {repeats}")


def bench_transpose(
    home: Path, scales=(1, 2), budget_mb: int = 256, repeats: int = 3
) -> list[dict]:
    check_args(scales, budget_mb, repeats)
    results = []
    for copies in scales:
        tmp = Path(tempfile.mkdtemp(prefix="splat-bench-"))
        try:
            paths, n_samples, n_features = replicate_shards(home, copies, tmp)
            job = {"paths": [str(p) for p in paths], "n_samples": n_samples,
                   "n_features": n_features, "budget": budget_mb << 20,
                   "out": str(tmp / "csc.zarr"), "repeats": repeats}  # fmt: skip
            cmd = [sys.executable, "-m", "splat_cli.bench.transpose", "--measure", json.dumps(job)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"transpose measurement failed:\n{done.stderr[-4000:]}")
            results.append({"scale": copies, **json.loads(done.stdout.splitlines()[-1])})
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return results


def main(argv: list[str]) -> int:
    if argv[:1] == ["--measure"]:  # the measuring process (see the module docstring)
        job = json.loads(argv[1])
        paths = [Path(p) for p in job.pop("paths")]
        print(json.dumps(_measure(paths, out=Path(job.pop("out")), **job)))
        return 0
    print(json.dumps(bench_transpose(Path(argv[0])), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
