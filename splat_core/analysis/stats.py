"""Per-feature activation statistics and histograms, vectorised over blocks of features.

Stats are over a feature's stored (nonzero) activations; a feature that never fires gets
nnz 0 and nulls, never invented numbers (the reference fabricated some)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from splat_core.analysis.blocks import FeatureBlock, feature_blocks

QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "p99_5": 0.995}
VALUE_COLUMNS = ("mean_nonzero", "std_nonzero", "min", "max", *QUANTILES)


def feature_stats(csc, n_samples: int) -> pa.Table:
    """Columns: feature_id, nnz, density, mean_all, mean_nonzero, std_nonzero (population),
    min, max, p50, p90, p99, p99_5 (np.quantile 'linear' of the nonzero values)."""
    parts: dict[str, list[np.ndarray]] = {c: [] for c in ("nnz", "sum", *VALUE_COLUMNS)}
    for block in feature_blocks(csc):
        for name, col in _block_stats(block).items():
            parts[name].append(col)
    cols = {name: np.concatenate(p) if p else np.empty(0) for name, p in parts.items()}
    nnz = cols["nnz"].astype(np.int64)
    empty = nnz == 0
    n = max(int(n_samples), 1)
    table = {
        "feature_id": pa.array(np.arange(len(nnz), dtype=np.int32)),
        "nnz": pa.array(nnz),
        "density": pa.array(nnz / n),
        "mean_all": pa.array(cols["sum"] / n),
    }
    for name in VALUE_COLUMNS:
        table[name] = pa.array(cols[name].astype(np.float64), mask=empty)
    return pa.table(table)


def _block_stats(block: FeatureBlock) -> dict[str, np.ndarray]:
    x, counts, seg = block.values, block.counts, block.segment
    n_feat = len(counts)
    safe = np.maximum(counts, 1)
    sums = np.bincount(seg, weights=x, minlength=n_feat)
    mean = sums / safe
    # two-pass variance: no sum-of-squares cancellation (a reference bug)
    var = np.bincount(seg, weights=(x - mean[seg]) ** 2, minlength=n_feat) / safe
    first = block.starts[:-1]
    last = np.maximum(block.starts[1:] - 1, first)
    out = {"nnz": counts, "sum": sums, "mean_nonzero": mean, "std_nonzero": np.sqrt(var)}
    if len(x) == 0:
        nan = np.full(n_feat, np.nan)
        return {**out, **{c: nan for c in ("min", "max", *QUANTILES)}}
    top = len(x) - 1  # empty segments point past the end; their values are masked later
    out["max"] = x[np.minimum(first, top)]
    out["min"] = x[np.minimum(last, top)]
    for name, q in QUANTILES.items():
        out[name] = _sorted_quantile(x, block.starts, q)
    return out


def _sorted_quantile(x: np.ndarray, starts: np.ndarray, q: float) -> np.ndarray:
    """np.quantile(method='linear') of each segment of x, segments sorted descending."""
    counts = np.diff(starts)
    h = (np.maximum(counts, 1) - 1) * q  # position in the ascending order
    lo = np.floor(h).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(counts - 1, 0))
    t = h - lo
    # ascending position i of a descending segment is at start + count - 1 - i
    top = len(x) - 1
    a = x[np.clip(starts[1:] - 1 - lo, 0, top)]
    b = x[np.clip(starts[1:] - 1 - hi, 0, top)]
    # numpy's _lerp: exact at both ends (t >= 0.5 interpolates from b)
    return np.where(t >= 0.5, b - (b - a) * (1 - t), a + (b - a) * t)


def feature_histograms(csc, n_bins: int = 20) -> pa.Table:
    """Columns: feature_id, bin, lo, hi, count. Per feature n_bins equal bins over
    [min, max] of its activations, exactly as np.histogram(values, n_bins) bins them
    (last bin closed; min == max gives [v - 0.5, v + 0.5]). Empty features: no rows."""
    n_bins = int(n_bins)
    if n_bins < 1:
        raise ValueError("n_bins must be >= 1")
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("feature_id", "bin", "lo", "hi", "count")}
    for block in feature_blocks(csc):
        nonempty = np.flatnonzero(block.counts > 0)
        if len(nonempty) == 0:
            continue
        x, starts = block.values, block.starts
        vmax, vmin = x[starts[:-1][nonempty]], x[starts[1:][nonempty] - 1]
        same = vmin == vmax
        vmin, vmax = np.where(same, vmin - 0.5, vmin), np.where(same, vmax + 0.5, vmax)
        edges = np.linspace(vmin, vmax, n_bins + 1, axis=1)  # [m, n_bins + 1]
        local = np.full(len(block.counts), -1)
        local[nonempty] = np.arange(len(nonempty))
        row = local[block.segment]  # every entry belongs to a non-empty feature
        idx = _bin_index(x, edges, row, n_bins)
        counts = np.bincount(row * n_bins + idx, minlength=len(nonempty) * n_bins)
        out["feature_id"].append(np.repeat(block.f0 + nonempty, n_bins).astype(np.int32))
        out["bin"].append(np.tile(np.arange(n_bins, dtype=np.int32), len(nonempty)))
        out["lo"].append(edges[:, :-1].ravel())
        out["hi"].append(edges[:, 1:].ravel())
        out["count"].append(counts.astype(np.int64))
    types = {"feature_id": pa.int32(), "bin": pa.int32(), "lo": pa.float64(),
             "hi": pa.float64(), "count": pa.int64()}  # fmt: skip
    cols = {k: np.concatenate(v) if v else np.empty(0) for k, v in out.items()}
    return pa.table({k: pa.array(v, type=types[k]) for k, v in cols.items()})


def _bin_index(x: np.ndarray, edges: np.ndarray, row: np.ndarray, n_bins: int) -> np.ndarray:
    """np.histogram's uniform-bin index computation, per entry with its feature's edges."""
    first, last = edges[row, 0], edges[row, -1]
    idx = ((x - first) / (last - first) * n_bins).astype(np.int64)
    idx[idx == n_bins] -= 1
    idx[x < edges[row, idx]] -= 1  # rounding corrections, as numpy does
    up = (x >= edges[row, np.minimum(idx + 1, n_bins)]) & (idx != n_bins - 1)
    idx[up] += 1
    return idx
