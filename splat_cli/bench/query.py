"""In-process latency of the query layer over every feature of a materialized home."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from splat_core.query import Reader


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def _summary(ms: list[float]) -> dict:
    a = np.asarray(ms)
    return {"n": len(a), "median_ms": round(float(np.median(a)), 4),
            "p99_ms": round(float(np.quantile(a, 0.99)), 4),
            "max_ms": round(float(a.max()), 4)}  # fmt: skip


def bench_queries(home: Path, repeats: int = 1) -> dict:
    reader = Reader.open(home)
    features = list(reader.feature_ids())
    counts = np.asarray(reader.feature_counts())
    largest = int(counts.argmax())
    queries = {
        "top20_examples": lambda f: reader.top_examples(f, k=20),
        "quantile_page": lambda f: reader.quantile_examples(f, n_bins=10, per_bin=5, seed=0),
        "stats_histogram": lambda f: (reader.stats(f), reader.histogram(f)),
        "influence": lambda f: reader.influence(f),
    }
    for query in queries.values():  # warm caches (tables loaded once per reader)
        query(features[0])
    out = {}
    for name, query in queries.items():
        ms = [_timed(lambda f=f, q=query: q(f)) for _ in range(repeats) for f in features]
        out[name] = _summary(ms)
    ms = [_timed(lambda: reader.activations(largest)) for _ in range(max(20, repeats))]
    out["largest_feature_activations"] = {**_summary(ms), "feature": largest,
                                          "nnz": int(counts[largest])}  # fmt: skip
    return out
