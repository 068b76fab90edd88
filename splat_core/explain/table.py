"""The `feature_explanations` table: every feature's best rules with their held-out scores.

One feature at a time from the feature store (never a dense [samples, features] array); the
memory is the Explainer's (fit and held-out rows), whatever the number of features.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from splat_core.explain.inputs import InputTable
from splat_core.explain.search import (
    CONFIDENCE,
    ExplainConfig,
    Explained,
    Explainer,
    config_json,
)

SCHEMA = pa.schema([
    ("feature_id", pa.int32()),
    ("rank", pa.int16()),  # 1 = the feature's best explanation (by fit F1)
    ("target", pa.string()),  # fires | strong
    ("rule", pa.string()),  # the rule's text (rules.parse reads it back)
    ("sentence", pa.string()),
    ("n_terms", pa.int16()),
    ("n_conditions", pa.int16()),
    ("fit_f1", pa.float64()),
    ("precision", pa.float64()),  # held-out, as are the scores below
    ("recall", pa.float64()),
    ("f1", pa.float64()),
    ("auroc", pa.float64()),  # null where the held-out rows hold no positive
    ("spearman", pa.float64()),  # null where activation or margin is constant
    ("coverage", pa.float64()),
    ("null_f1", pa.float64()),
    ("null_auroc", pa.float64()),
    ("n_positive", pa.int64()),
    ("n_scored", pa.int64()),
    ("confidence", pa.string()),  # high | medium | low | none
])  # fmt: skip
CONFIG_KEY = b"explain_config"  # the search's config, in the Parquet schema's metadata
NULL_KEY = b"null_search"  # null_search()'s figures, there too
NULL_SEARCH_FEATURES = 50  # features whose search is repeated on shuffled samples


def rows_of(feature: int, found: list[Explained]) -> list[dict]:
    out = []
    for rank, e in enumerate(found, start=1):
        s = e.scores
        out.append({
            "feature_id": feature, "rank": rank, "target": e.target, "rule": str(e.rule),
            "sentence": e.rule.sentence(), "n_terms": len(e.rule.terms),
            "n_conditions": e.rule.n_conditions, "fit_f1": e.fit_f1,
            "precision": s.precision, "recall": s.recall, "f1": s.f1,
            "auroc": _finite(s.auroc), "spearman": s.spearman, "coverage": s.coverage,
            "null_f1": s.null_f1, "null_auroc": _finite(s.null_auroc),
            "n_positive": s.n_positive, "n_scored": s.n_scored, "confidence": s.confidence,
        })  # fmt: skip
    return out


def _finite(x: float) -> float | None:
    return None if math.isnan(x) else x


def feature_explanations(
    csc, table: InputTable, config: ExplainConfig = ExplainConfig(),
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[pa.Table, dict]:  # fmt: skip
    """(the table, its metadata: how many features at each confidence, the best-F1
    distribution, the shuffled-sample search null and the time taken)."""
    t0 = time.perf_counter()
    explainer = Explainer(table, config)
    setup_s = time.perf_counter() - t0
    n = int(csc.n_features)
    rows: list[dict] = []
    for f in range(n):
        ids, values = csc.feature(f)
        rows += rows_of(f, explainer.explain(f, ids, values))
        if (f + 1) % max(n // 10, 1) == 0:
            progress(f"explained {f + 1:,}/{n:,} features")
    null = null_search(explainer, csc, config)
    schema = SCHEMA.with_metadata({CONFIG_KEY: config_json(config), NULL_KEY: json.dumps(null)})
    out = pa.Table.from_pylist(rows, schema=schema)
    meta = summarize(out, n)
    meta["null_search"] = null
    meta["setup_seconds"] = round(setup_s, 3)
    meta["seconds"] = round(time.perf_counter() - t0, 3)
    meta["config"] = json.loads(config_json(config))
    return out, meta


def best_rows(table: pa.Table) -> pa.Table:
    """Each explained feature's rank-1 row."""
    return table.filter(pc.equal(table["rank"], 1))


def summarize(table: pa.Table, n_features: int) -> dict:
    """Features per confidence class of their best rule ('unexplained': too few firing
    samples to search), and quantiles of the best held-out F1."""
    best = best_rows(table)
    conf = best.column("confidence").to_pylist()
    counts = {c: conf.count(c) for c in CONFIDENCE}
    counts["unexplained"] = n_features - best.num_rows
    f1 = best.column("f1").to_numpy()
    quantiles = {}
    if len(f1):
        for q in (0.1, 0.25, 0.5, 0.75, 0.9):
            quantiles[f"p{int(q * 100)}"] = round(float(np.quantile(f1, q)), 4)
    return {"n_features": n_features, "n_explained": best.num_rows, "confidence": counts,
            "best_f1": quantiles}  # fmt: skip


def null_search(explainer: Explainer, csc, config: ExplainConfig) -> dict:
    """The whole search and scoring on random samples: for up to NULL_SEARCH_FEATURES
    features (seeded pick), as many sample ids as the feature fires on, drawn at random,
    with the feature's own activation values. What F1 a search finds in noise."""
    rng = np.random.default_rng([config.seed, 1])
    counts = np.asarray(csc.nnz_per_feature())
    live = np.flatnonzero(counts >= 2 * config.min_positives)
    if not len(live):
        return {"n_features": 0}
    picked = np.sort(rng.choice(live, size=min(NULL_SEARCH_FEATURES, len(live)), replace=False))
    best = []
    for f in picked:
        _, values = csc.feature(int(f))
        ids = np.sort(rng.choice(explainer.n_samples, size=len(values), replace=False))
        found = explainer.explain(int(f), ids, rng.permutation(np.asarray(values)))
        best.append(found[0].scores.f1 if found else 0.0)
    best = np.asarray(best)
    return {"n_features": len(best), "f1_median": round(float(np.median(best)), 4),
            "f1_p95": round(float(np.quantile(best, 0.95)), 4),
            "f1_max": round(float(best.max()), 4)}  # fmt: skip
