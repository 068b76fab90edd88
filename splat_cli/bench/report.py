"""The suite's report as a markdown table: each headline metric, its value, the issue's target
where it gives one and PASS/FAIL against it (n/a where the metric was not measured)."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from pathlib import Path

import numpy as np

RSS_GROWTH_LIMIT = 1.10  # "peak memory not growing with sample count": 2x/1x within 10 %

# (metric, comparison, threshold, target as written): the targets
TARGETS: dict[str, tuple[Callable, float, str]] = {
    "feature_read_ratio_vs_dense_zarr": (operator.ge, 40.0, ">= 40x"),
    "bytes_per_nnz": (operator.le, 10.0, "<= 10 B/nnz"),
    "build_nnz_per_s": (operator.ge, 20e6, ">= 20M nnz/s"),
    "build_peak_rss_ratio_2x_vs_1x": (operator.le, RSS_GROWTH_LIMIT, "<= 1.10 (not growing)"),
    "encode_fraction_of_roofline": (operator.ge, 0.5, ">= 0.5"),
}


def verdict(metric: str, value) -> str:
    if metric not in TARGETS:
        return ""
    if value is None:
        return "n/a"
    compare, threshold, _ = TARGETS[metric]
    return "PASS" if compare(value, threshold) else "FAIL"


def _fmt(value, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if unit == "B":
        return f"{value / 2**20:,.1f} MiB" if value >= 2**20 else f"{value:,.0f} B"
    if unit == "nnz/s":
        return f"{value / 1e6:,.2f}M nnz/s"
    if isinstance(value, float):
        digits = ".3g" if abs(value) < 1 else ".2f" if abs(value) < 100 else ",.1f"
        return f"{value:{digits}}{unit}"
    return f"{value:,}{unit}"


def headline_rows(r: dict) -> list[tuple[str, str, str, str]]:
    """(metric, value, target, result) for the top-level numbers."""
    api500 = r.get("api_arrow_500k_feature")
    rows = [
        ("feature_read_ratio_vs_dense_zarr", _fmt(r["feature_read_ratio_vs_dense_zarr"], "x")),
        ("bytes_per_nnz", _fmt(r["bytes_per_nnz"], " B")),
        ("build_nnz_per_s", _fmt(r["build_nnz_per_s"], "nnz/s")),
        ("build_peak_rss_bytes", _fmt(r["build_peak_rss_bytes"], "B")),
        ("build_peak_rss_ratio_2x_vs_1x", _fmt(r.get("build_peak_rss_ratio_2x_vs_1x"), "x")),
        ("encode_fraction_of_roofline", _fmt(r["encode_fraction_of_roofline"])),
        ("api_arrow_500k_median_ms", _fmt(r["api_arrow_500k_median_ms"], " ms")
         + (f" (feature {api500}, {r['api_arrow_500k_nnz']:,} nnz)" if api500 is not None else "")),
        ("api_top20_median_ms", _fmt(r["api_top20_median_ms"], " ms")),
    ]  # fmt: skip
    out = []
    for metric, shown in rows:
        target = TARGETS[metric][2] if metric in TARGETS else ""
        out.append((metric, shown, target, verdict(metric, r.get(metric))))
    return out


def _table(header: tuple[str, ...], rows) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def render_markdown(r: dict) -> str:
    store, machine = r["store"], r["machine"]
    lines = [
        f"# splat bench suite — {machine['date']}",
        "",
        f"Store: {store['n_samples']:,} samples x {store['n_features']:,} features, "
        f"{store['nnz']:,} nonzeros ({store['mean_active_per_sample']:.1f} active per sample "
        f"on average, {store['min_active_per_sample']} at least); seed scale: "
        f"{'yes' if store['meets_seed_scale'] else 'no'}. Machine: {machine['cpu_count']} CPUs, "
        f"{machine['torch_threads']} torch threads, {machine['platform']}, "
        f"commit {machine['git_commit']}.",
        "",
        *_table(("metric", "value", "target", "result"), headline_rows(r)),
        "",
        "## Details",
        "",
        *_table(("measure", "value"), detail_rows(r)),
    ]
    analysis = r["analysis"]
    lines += ["", "## Analysis assets", ""]
    if analysis.get("assets"):
        lines.append(analysis["source"])
        lines.append("")
        rows = [
            (
                a,
                f"{v['seconds']:.2f}",
                _fmt(v["rss_peak_bytes"], "B"),
                _fmt(v["rss_delta_bytes"], "B"),
            )
            for a, v in analysis["assets"].items()
        ]
        lines += _table(("asset", "seconds", "peak RSS", "RSS growth"), rows)
    else:
        lines.append(analysis["note"])
    if r["notes"]:
        lines += ["", "## Notes", "", *(f"- {n}" for n in r["notes"])]
    return "\n".join(lines) + "\n"


def detail_rows(r: dict) -> list[tuple[str, str]]:
    rows = []
    for t in r["transpose"]["scales"]:
        rows.append((f"build at {t['scale']}x ({t['n_samples']:,} samples, {t['nnz']:,} nnz)",
                     f"{_fmt(t['nnz_per_s'], 'nnz/s')}, peak RSS {_fmt(t['peak_rss_bytes'], 'B')}, "
                     f"traced peak {_fmt(t['traced_peak_bytes'], 'B')}"
                     + (f", kernel compile {t['compile_seconds']} s (apart)"
                        if "compile_seconds" in t else "")))  # fmt: skip
    g = r["transpose"].get("growth_2x_vs_1x")
    if g:
        rows.append(("build 2x / 1x: nnz/s, peak RSS, traced peak",
                     f"{g['nnz_per_s_ratio']:.2f}, {g['peak_rss_ratio']:.2f}, "
                     f"{g['traced_peak_ratio']:.2f}"))  # fmt: skip
    for f, v in r["api"]["read_ratios"].items():
        rows.append((f"feature {f} ({v['nnz']:,} nnz): our read / dense Zarr row read, median",
                     f"{v['ours_median_ms']} ms / {v['dense_median_ms']} ms = "
                     f"{_fmt(v['ratio'], 'x')}"))  # fmt: skip
    scan = r["batch_scan"]
    for f, v in scan["features"].items():
        label = "extrapolated full scan" if scan["extrapolated"] else "full scan"
        rows.append((f"feature {f}: batch Zarr scan ({label}) / our read",
                     f"{v['full_scan_median_ms']:,} ms ({v['measured']['median_ms']} ms over "
                     f"{scan['batches_scanned']} of {scan['batches_total']} batches) = "
                     f"{_fmt(v['ratio_vs_ours'], 'x')}"))  # fmt: skip
    b = r["bytes"]
    rows += [
        ("bytes/nnz: ours (indices + data; with indptr)",
         f"{b['ours']['bytes_per_nnz']:.3f}; {b['ours']['total_bytes_per_nnz']:.3f}"),
        ("bytes/nnz: dense transposed Zarr, measured rows",
         f"{b['dense_transposed']['measured_bytes_per_nnz']:.3f}"),
        ("bytes/nnz: dense transposed Zarr, whole array (estimated)",
         f"{b['dense_transposed']['estimated_bytes_per_nnz']:.3f} "
         f"({_fmt(b['dense_transposed']['estimated_total_bytes'], 'B')})"),
        ("bytes/nnz: sample-major batch Zarr (written batches)",
         f"{b['sample_major']['bytes_per_nnz']:.3f} "
         f"(whole array est. {_fmt(b['sample_major']['estimated_total_bytes'], 'B')})"),
    ]  # fmt: skip
    for name, q in r["query"].items():
        rows.append((f"in-process {name}: median / p99", f"{q['median_ms']} / {q['p99_ms']} ms"))
    for name, q in r["api"]["http_reference"].items():
        rows.append((f"API {name} (feature {r['api']['reference_feature']}): median / p99",
                     f"{q['median_ms']} / {q['p99_ms']} ms"))  # fmt: skip
    e = r["encode"]
    rows.append(("encode samples/s (fraction of matmul roofline)",
                 f"{e['samples_per_s']:,} ({e['encode_fraction_of_roofline']})"))  # fmt: skip
    return rows


def report_notes(r: dict, counts, big: int, big_ok: bool) -> list[str]:
    """The caveats a reader of bench.md needs beside the figures."""
    notes = []
    s = r["store"]
    if not s["meets_seed_scale"]:
        notes.append(f"This home ({s['n_samples']:,} x {s['n_features']:,}) is below the "
                     "issue's seed scale: the targets are set for seed scale, so PASS/FAIL "
                     "here only exercises the code paths.")  # fmt: skip
    if not big_ok:
        notes.append(f"api_arrow_500k_median_ms is null: no feature has 500K +/- 20% "
                     f"activations (nearest: feature {big}, {int(counts[big]):,}).")  # fmt: skip
    if r["transpose"]["growth_2x_vs_1x"] is None:
        notes.append("build growth with samples not measured: scales lack 1x and 2x.")
    if "compile_seconds" not in r["transpose"]["scales"][0]:  # an older bench_transpose
        notes.append("Build throughput includes the once-per-process kernel compile.")
    if r["batch_scan"]["extrapolated"]:
        notes.append("Batch Zarr scan: " + r["batch_scan"]["method"] + ".")
    notes.append("api_top20_median_ms: " + r["api_top20_basis"] + ".")
    notes.append("feature_read_ratio_vs_dense_zarr: " + r["feature_read_ratio_basis"] + ".")
    notes.append("Dense transposed bytes, whole array: "
                 + r["bytes"]["dense_transposed"]["estimate_method"] + ".")  # fmt: skip
    notes.append(
        f"Encode: the first {r['encode']['samples']:,} samples of the first shard; "
        "the roofline is the same run's float32 matmuls of the encode's shapes."
    )
    if not r["analysis"]["measured"]:
        notes.append(r["analysis"]["note"])
    return notes


def write_report(report: dict, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench.json").write_text(json.dumps(report, indent=2, default=plain) + "\n")
    (out_dir / "bench.md").write_text(render_markdown(report))


def plain(o):
    """JSON for numpy values and tuples."""
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, (np.ndarray, tuple, set)):
        return list(o)
    return str(o)
