"""`splat bench suite`: every benchmark on one home in one run, as `bench.json` + `bench.md`.

Sections: the seed-scale store (made here, or reused with the report saved when it was
made), feature-store build at 1x and 2x samples, API and in-process reads beside the seed's
dense transposed Zarr, query latency, the seed's batch scan, bytes on disk, encode vs the
matmul roofline. The top-level keys are the issue's headline numbers; `notes` says what
could not be measured and why, so nothing is invented."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from splat_cli.bench.api import bench_api, pick_features
from splat_cli.bench.encode import bench_encode
from splat_cli.bench.layouts import batch_scan, dense_transposed_bytes, store_bytes
from splat_cli.bench.query import bench_queries
from splat_cli.bench.report import TARGETS, plain, report_notes, verdict, write_report
from splat_cli.bench.seed_store import SMALL, write_seed_store
from splat_cli.bench.transpose import bench_transpose, check_args
from splat_core.query import Reader
from splat_core.store import catalog
from splat_core.store.contract import ANALYSIS_ASSETS

SEED_REPORT = Path("bench") / "seed_store.json"  # under the home: the store's own figures
BIG = 500_000  # the "feature with ~500K activations"
BIG_TOLERANCE = 0.2
REQUIRED = ("feature_read_ratio_vs_dense_zarr", "bytes_per_nnz", "build_nnz_per_s",
            "build_peak_rss_bytes", "encode_fraction_of_roofline", "api_arrow_500k_median_ms",
            "api_top20_median_ms")  # fmt: skip


def run_suite(
    home: str | Path,
    *,
    make_store: bool = False,
    small: bool = False,
    out_dir: str | Path | None = None,
    repeats: int = 30,
    json_repeats: int = 5,
    load_seconds: float = 0.0,
    clients: int = 16,
    query_repeats: int = 1,
    encode_samples: int = 1024,  # 8192 takes ~40 min on 2 cores at seed shapes
    encode_repeats: int = 3,
    scales: tuple[int, ...] = (1, 2),
    budget_mb: int = 256,
    scan_batches: int = 20,
    scan_repeats: int = 3,
    size_probes: int = 16,
    seed_report: str | Path | None = None,
    scratch: str | Path | None = None,
    progress: Callable[[str], None] = print,
) -> dict:
    check_args(scales, budget_mb)  # before minutes of store-making
    home = Path(home)
    out_dir = Path(out_dir) if out_dir else home / "bench"
    notes: list[str] = []
    timer = _Sections(progress)
    with timer("seed store"):
        seed, source = seed_store(home, make_store, small, seed_report, progress)
    reader = Reader.open(home)
    store = store_info(reader)
    with timer("feature-store build at " + ", ".join(f"{s}x" for s in scales)):
        transpose = transpose_section(bench_transpose(home, scales, budget_mb))
    counts = reader.feature_counts()
    big = int(np.argmin(np.abs(counts - BIG)))
    big_ok = abs(int(counts[big]) - BIG) <= BIG_TOLERANCE * BIG
    features = list(dict.fromkeys([*pick_features(reader), big]))
    with timer("API and in-process reads vs dense transposed Zarr"):
        api = bench_api(home, repeats, json_repeats, _opt(scratch), features)
        if load_seconds > 0:
            api["load"] = _load(home, clients, load_seconds)
    with timer("in-process query latency"):
        query = bench_queries(home, query_repeats)
    with timer("seed layouts: bytes on disk and batch Zarr scan"), _tmp(scratch) as tmp:
        dense = dense_transposed_bytes(reader.csc, features, size_probes, tmp)
        scan = batch_scan(reader.activation_shards(), reader.csc, features, scan_batches,
                          scan_repeats, tmp)  # fmt: skip
    with timer(f"encode ({encode_samples:,} samples)"):
        encode = bench_encode(home, max_samples=encode_samples, repeats=encode_repeats)

    reads = read_ratios(api)
    for f, v in scan["features"].items():
        v["ratio_vs_ours"] = _ratio(v["full_scan_median_ms"], reads[f]["ours_median_ms"])
    ref = big if big_ok else features[0]  # the 500K feature, else the largest measured
    http = api["http"][str(ref)]
    report = {
        "feature_read_ratio_vs_dense_zarr": _median([v["ratio"] for v in reads.values()]),
        "bytes_per_nnz": store_bytes(reader.csc)["bytes_per_nnz"],
        "build_nnz_per_s": transpose["build_nnz_per_s"],
        "build_peak_rss_bytes": transpose["build_peak_rss_bytes"],
        "build_peak_rss_ratio_2x_vs_1x": (transpose["growth_2x_vs_1x"] or {}).get(
            "peak_rss_ratio"),
        "encode_fraction_of_roofline": encode["encode_fraction_of_roofline"],
        "api_arrow_500k_median_ms": http["activations_arrow"]["median_ms"] if big_ok else None,
        "api_arrow_500k_feature": big if big_ok else None,
        "api_arrow_500k_nnz": int(counts[big]) if big_ok else None,
        "api_top20_median_ms": http["top20_examples"]["median_ms"],
        "api_top20_feature": ref,
        "api_top20_basis": (
            f"the top-20 examples request of feature {ref} ({int(counts[ref]):,} nnz): "
            + ("the same feature as api_arrow_500k" if big_ok else "the largest measured feature")
            + ", through HTTP with the answer cache off, median over the repeats"),
        "feature_read_ratio_basis": (
            f"median over the {len(reads)} measured features of dense transposed Zarr row "
            "read median / our feature read median (in-process, same run)"),
    }  # fmt: skip
    report["targets"] = {m: {"target": TARGETS[m][2], "result": verdict(m, report.get(m))}
                         for m in TARGETS}  # fmt: skip
    report.update(
        machine=machine_info(), store=store, seed_store=seed,
        analysis=analysis_section(seed, source),
        transpose=transpose, query=query, batch_scan=scan, encode=encode,
        api={"features": features, "read_ratios": reads, "reference_feature": ref,
             "http_reference": {k: http[k] for k in ("top20_examples", "feature_summary",
                                                    "activations_arrow", "activations_json")},
             "raw": api},
        bytes={"ours": store_bytes(reader.csc), "dense_transposed": dense,
               "sample_major": {k: scan[k] for k in ("bytes_written", "rows_written",
                                "nnz_written", "bytes_per_nnz", "estimated_total_bytes")}},
        seconds=timer.seconds, notes=notes,
    )  # fmt: skip
    notes += report_notes(report, counts, big, big_ok)
    write_report(report, out_dir)
    progress(f"wrote {out_dir / 'bench.json'} and {out_dir / 'bench.md'}")
    return report


# --- sections ------------------------------------------------------------------------------


def seed_store(home: Path, make: bool, small: bool, saved_elsewhere, progress):
    """(the seed-store report, where it comes from). Makes the store when asked and absent,
    saving its report under the home; otherwise reads that report back (or `saved_elsewhere`)
    if it describes this home's current feature store."""
    saved = home / SEED_REPORT
    if make and "feature_store" not in catalog.read_catalog(home):
        report = write_seed_store(home, progress=progress, **(SMALL if small else {}))
        report["saved_at"] = _now()
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps(report, indent=2, default=plain) + "\n")
        return report, "made in this run"
    if "feature_store" not in catalog.read_catalog(home):
        raise FileNotFoundError(f"no feature_store under {home} (use --make-store)")
    if make:
        progress(f"{home} already holds a feature store: reusing it")
    csc = Reader.open(home).csc
    for path in (saved, saved_elsewhere):
        if path and Path(path).is_file():
            report = json.loads(Path(path).read_text())
            same = (report.get("n_samples"), report.get("n_features"), report.get("nnz"))
            if same == (csc.n_samples, csc.n_features, csc.nnz):
                when = report.get("saved_at", "an earlier run")
                return report, f"measured when the store was made ({when}; {path})"
            progress(f"ignoring {path}: it describes another store")
    return None, "not measured in this run"


def analysis_section(seed: dict | None, source: str) -> dict:
    if not seed or not set(ANALYSIS_ASSETS) & set(seed.get("assets", {})):
        return {
            "measured": False,
            "note": (
                "Analysis assets: not measured in this run (the home was not made by the suite "
                "and has no saved seed-store report; run with --make-store on a new home)."
            ),
        }
    assets = {a: seed["assets"][a] for a in ANALYSIS_ASSETS if a in seed["assets"]}
    return {"measured": True, "source": f"Seconds and RSS per asset, {source}.",
            "assets": assets}  # fmt: skip


def transpose_section(rows: list[dict]) -> dict:
    by = {r["scale"]: r for r in rows}
    one = by.get(1, rows[0])
    two = by.get(2 * one["scale"])
    growth = None
    if two:
        keys = {"n_samples": "n_samples", "nnz": "nnz", "nnz_per_s": "nnz_per_s",
                "peak_rss": "peak_rss_bytes", "traced_peak": "traced_peak_bytes"}  # fmt: skip
        growth = {f"{k}_ratio": round(two[v] / one[v], 3) for k, v in keys.items()}
    compile_apart = "compile_seconds" in one
    method = "each scale in a fresh process; " + (
        "the kernels' compile is timed apart (compile_seconds), not in nnz_per_s"
        if compile_apart
        else "the time includes compiling the kernels"
    )
    return {"scales": rows, "build_nnz_per_s": one["nnz_per_s"],
            "build_peak_rss_bytes": max(r["peak_rss_bytes"] for r in rows),
            "growth_2x_vs_1x": growth, "method": method}  # fmt: skip


def read_ratios(api: dict) -> dict:
    """Per measured feature: dense row read median / our read median, from the report."""
    out = {}
    for f, r in api["reads"].items():
        ours, dense = r["ours"]["median_ms"], r["dense_zarr"]["median_ms"]
        out[f] = {"nnz": r["nnz"], "ours_median_ms": ours, "dense_median_ms": dense,
                  "ratio": _ratio(dense, ours)}  # fmt: skip
    return out


def store_info(reader: Reader) -> dict:
    csc = reader.csc
    per_sample = np.concatenate([np.diff(s.indptr.read(0, s.n_rows + 1))
                                 for s in reader.activation_shards()])  # fmt: skip
    counts = reader.feature_counts()
    near = {n: int(counts[np.argmin(np.abs(counts - n))]) for n in (100_000, BIG)}
    seed_scale = (csc.n_samples >= 1_000_000 and csc.n_features >= 24_576
                  and per_sample.min() >= 64
                  and all(abs(c - n) <= BIG_TOLERANCE * n for n, c in near.items()))  # fmt: skip
    return {"n_samples": int(csc.n_samples), "n_features": int(csc.n_features),
            "nnz": int(csc.nnz), "mean_active_per_sample": float(per_sample.mean()),
            "min_active_per_sample": int(per_sample.min()),
            "largest_features_nnz": sorted(map(int, counts), reverse=True)[:3],
            "nearest_100k_nnz": near[100_000], "nearest_500k_nnz": near[BIG],
            "meets_seed_scale": bool(seed_scale)}  # fmt: skip


def machine_info() -> dict:
    root = Path(__file__).resolve().parents[2]
    git = lambda *a: subprocess.run(["git", *a], cwd=root, capture_output=True,  # noqa: E731
                                    text=True, timeout=30).stdout.strip()  # fmt: skip
    mem = None
    with contextlib.suppress(OSError, ValueError, IndexError):  # Linux only
        mem = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    return {"date": _now(), "cpu_count": os.cpu_count(),
            "cpus_usable": len(os.sched_getaffinity(0)), "torch_threads": torch.get_num_threads(),
            "torch_version": torch.__version__, "platform": platform.platform(),
            "python": platform.python_version(), "memory_bytes": mem,
            "git_commit": git("rev-parse", "--short=12", "HEAD") or None,
            "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}  # fmt: skip


# --- helpers -------------------------------------------------------------------------------


class _Sections:
    """Progress lines and seconds per section."""

    def __init__(self, progress):
        self.progress, self.seconds = progress, {}

    @contextlib.contextmanager
    def __call__(self, name: str):
        self.progress(f"[suite] {name} ...")
        start = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - start, 2)
        self.progress(f"[suite] {name}: done in {self.seconds[name]:.1f} s")


def _load(home: Path, clients: int, seconds: float) -> list[dict]:
    from splat_cli.bench.http import api_server
    from splat_cli.bench.load import load_test

    with api_server(home) as url:
        return [load_test(url, clients, seconds, mix) for mix in ("read", "all")]


@contextlib.contextmanager
def _tmp(scratch):
    """A scratch folder for the seed's layouts, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="splat-suite-", dir=_opt(scratch)) as tmp:
        yield Path(tmp)


def _opt(path) -> Path | None:
    return Path(path) if path else None


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
