"""A static report of chosen features, the page a researcher attaches to a paper: per feature
what the explorer shows (label, best explanation, activation statistics and histogram,
enriched tokens, weapons, output-logit effects, top examples) and the exact provenance
(generation, every asset version, SAE architecture and metrics, splat version, date).

`feature_report` gathers pure JSON-ready data; `render_report_html` (report_html.py) turns it
into one self-contained HTML file. A section whose analysis table is not materialized is
None with a note; everything else is read from the one snapshot of the Reader, so the
numbers of a report never mix versions.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import numpy as np

from splat_core import __version__
from splat_core.checkpoints import METRICS_JSON, SAE_CONFIG
from splat_core.domain.present import build_text, enrichment_ratio, example_row, feature_title
from splat_core.investigate.explorer import histogram_bars
from splat_core.investigate.overview import existing_label
from splat_core.investigate.report_html import render_report_html
from splat_core.query.errors import MissingAssetError
from splat_core.store.artifacts import verified

__all__ = ["feature_report", "render_report_html"]

SAE_METRICS = ("explained_variance", "loss_recovered", "mean_l0", "dead_fraction", "n_dead", "mse")
EXPLANATION_FIELDS = ("rule", "sentence", "target", "confidence", "f1", "precision", "recall",
                      "auroc", "null_f1", "coverage", "n_positive", "n_scored")  # fmt: skip
FALLBACK_BINS = 20  # the histogram's bins when feature_histograms is not materialized

DEFINITIONS = {
    "firing_rate": "share of all samples where the activation is > 0; stderr sqrt(p(1-p)/N)",
    "mean_firing": "mean activation over the firing samples; stderr std_firing/sqrt(n_firing)",
    "quantiles": "p50/p90/p99/p99.5 of the nonzero activations (feature_stats)",
    "histogram": "counts of the nonzero activations per bin (feature_histograms)",
    "enrichment": "how many times as often a token (weapon) appears among the feature's top "
    "activations as over all samples (smoothed; feature_tokens, feature_weapons)",
    "influence": "logit change of an output token per unit of activation (W_out · decoder "
    "column; feature_influence)",
    "explanation": "the best rule of feature_explanations, scored on held-out samples "
    "(F1, precision, recall against its target; null_f1: the same search on random samples)",
}


def feature_report(reader, feature_ids, top_k: int = 10, n_examples: int = 10) -> dict:
    """The report's data for `feature_ids` (order kept, duplicates dropped): UnknownFeatureError
    for an id outside the feature store, ValueError for an empty list or bad counts."""
    if top_k < 1 or n_examples < 0:
        raise ValueError(f"top_k must be >= 1 and n_examples >= 0, got {top_k}, {n_examples}")
    ids = list(dict.fromkeys(reader.check_feature(f) for f in feature_ids))
    if not ids:
        raise ValueError("no features: give at least one feature id")
    n = reader.n_samples
    return {
        "population": f"all {n:,} samples of the generation named in provenance; statistics "
        "over the firing samples (activation > 0) unless noted",
        "definitions": DEFINITIONS,
        "provenance": provenance(reader),
        "features": [_feature(reader, f, top_k, n_examples) for f in ids],
    }


def provenance(reader) -> dict:
    """Where the numbers come from: the served generation and every asset version in it,
    the SAE's architecture and metrics, the splat version and the time of the report."""
    sae_config, sae_metrics = _sae_files(reader)
    return {
        "home": str(reader.home),
        "generation": reader.generation,
        "data_version": reader.data_version,
        "versions": dict(sorted(reader.versions.items())),
        "n_samples": reader.n_samples,
        "n_features": reader.n_features,
        "sae": {"config": sae_config,
                "metrics": {k: sae_metrics[k] for k in SAE_METRICS if k in sae_metrics}},
        "splat_version": __version__,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }  # fmt: skip


def _sae_files(reader) -> tuple[dict, dict]:
    try:
        directory = reader.path("sae")
    except MissingAssetError:
        return {}, {}
    verified(directory)  # a damaged config or metrics file raises DamagedError
    out = []
    for name in (SAE_CONFIG, METRICS_JSON):
        file = directory / name
        out.append(json.loads(file.read_text()) if file.exists() else {})
    return out[0], out[1]


def _optional(read, f):
    """read(f), or None when its table is not materialized."""
    try:
        return read(f)
    except MissingAssetError:
        return None


def _feature(reader, f: int, top_k: int, n_examples: int) -> dict:
    label = existing_label(reader.home, f, reader.sae)
    _, values = reader.activations(f)
    return {
        "feature_id": f,
        "title": feature_title(f, label),
        "label": label,
        "explanation": _explanation(_optional(reader.explanations, f)),
        "stats": _stats(_optional(reader.stats, f), values, reader.n_samples),
        "histogram": _histogram(_optional(reader.histogram, f), values, reader.n_samples),
        "tokens": _tokens(_optional(reader.tokens, f), top_k),
        "weapons": _weapons(_optional(reader.weapons, f), top_k),
        "influence": _influence(_optional(reader.influence, f), top_k),
        "examples": [_example(e) for e in reader.top_examples(f, n_examples)],
    }


def _explanation(rows: list[dict] | None) -> dict | None:
    if not rows:
        return None if rows is None else {"rule": None, "note": "no rule: too few firing samples"}
    best = rows[0]
    return {k: _finite(best.get(k)) for k in EXPLANATION_FIELDS}


def _finite(x):
    return None if isinstance(x, float) and not math.isfinite(x) else x


def _stats(row: dict | None, values: np.ndarray, n: int) -> dict:
    """feature_stats' row with the rate and mean's standard errors; the firing count and
    max are the feature store's own (exact)."""
    k = len(values)
    p = k / n if n else 0.0
    row = row or {}
    q = lambda key, p_: row.get(key, float(np.quantile(values, p_)) if k else None)  # noqa: E731
    std = row.get("std_nonzero", float(values.std()) if k else None)
    return {
        "n_samples": n,
        "n_firing": k,
        "firing_rate": p,
        "firing_rate_stderr": math.sqrt(p * (1 - p) / n) if n else None,
        "mean_firing": row.get("mean_nonzero", float(values.mean()) if k else None),
        "mean_firing_stderr": std / math.sqrt(k) if k and std is not None else None,
        "std_firing": std,
        "mean_all": row.get("mean_all", float(values.sum() / n) if n else None),
        "min": float(values.min()) if k else None,
        "p50": q("p50", 0.5),
        "p90": q("p90", 0.9),
        "p99": q("p99", 0.99),
        "p99_5": q("p99_5", 0.995),
        "max": float(values.max()) if k else None,
    }


def _histogram(rows: list[dict] | None, values: np.ndarray, n: int) -> dict:
    if rows is None:  # not materialized: the same kind of bins, from the activations
        counts, edges = np.histogram(values, bins=FALLBACK_BINS) if len(values) else ([], [])
        rows = [{"bin": i, "lo": float(edges[i]), "hi": float(edges[i + 1]), "count": int(c)}
                for i, c in enumerate(counts)]  # fmt: skip
        source = f"{FALLBACK_BINS} equal bins of the feature store's nonzero activations"
    else:
        source = "feature_histograms"
    return {"source": source, "bars": histogram_bars(rows, n, len(values), zeros=False)}


def _tokens(rows: list[dict] | None, k: int) -> dict | None:
    if rows is None:
        return None

    def pick(kind):
        return [{"token": r["token"], "rate_top": r["rate_top"], "base_rate": r["base_rate"],
                 "enrichment": enrichment_ratio(r["enrichment"]), "tfidf": r["tfidf"]}
                for r in rows if r["kind"] == kind][:k]  # fmt: skip

    n_top = rows[0]["n_top"] if rows else 0
    return {"n_top": n_top, "enhancers": pick("enhancer"), "suppressors": pick("suppressor")}


def _weapons(rows: list[dict] | None, k: int) -> list[dict] | None:
    if rows is None:
        return None
    return [{"name": r["name"] or r["key"], "count_top": r["count_top"], "n_top": r["n_top"],
             "rate_top": r["rate_top"], "base_rate": r["base_rate"],
             "enrichment": enrichment_ratio(r["enrichment"])}
            for r in rows if r["kind"] == "weapon"][:k]  # fmt: skip


def _influence(rows: list[dict] | None, k: int) -> dict | None:
    if rows is None:
        return None
    pick = lambda sign: [{"token": r["token"], "value": r["value"]}  # noqa: E731
                         for r in rows if r["sign"] == sign][:k]  # fmt: skip
    return {"raises": pick("+"), "lowers": pick("-")}


def _example(e) -> dict:
    row = example_row(e)
    return {**row, "build": build_text(e.tokens)}
