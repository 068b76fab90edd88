"""Two features side by side, one feature's effect on every output logit, and the map of
all features.

`compare_features` counts over every sample (the dense activations: zeros where a feature
does not fire), so the conditional rates and correlations are exact, not estimated from
the top lists. `logit_histogram` is the distribution, over the content tokens, of
W_out[token] . d_f (decoder.weights: biases excluded, as the influence table). `map_points`
joins the `feature_map` asset (a 2-D embedding of the decoder directions) with what the
explorer colours it by.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

import numpy as np
import pyarrow.compute as pc

from splat_core.explain.table import best_rows
from splat_core.investigate import names
from splat_core.investigate.decoder import weights
from splat_core.investigate.groups import num
from splat_core.investigate.population import dense, feature
from splat_core.query.errors import MissingAssetError
from splat_core.store import catalog

MAP = "feature_map"
COLORS = ("label", "family", "explanation")
TOP_TOKENS = 10  # enhancer tokens per feature compared


def _rate(k: int, n: int) -> dict:
    """k/n with its binomial standard error (None without a denominator)."""
    if n == 0:
        return {"p": None, "stderr": None, "k": int(k), "n": 0}
    p = k / n
    return {"p": p, "stderr": math.sqrt(p * (1 - p) / n), "k": int(k), "n": int(n)}


def _pearson(x: np.ndarray, y: np.ndarray) -> dict:
    """r with the standard error sqrt((1 - r^2) / (n - 2)); None if either is constant."""
    n = len(x)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return {"r": None, "stderr": None, "n": n}
    r = float(np.corrcoef(x, y)[0, 1])
    return {"r": num(r), "stderr": num(math.sqrt(max(1 - r * r, 0.0) / (n - 2))), "n": n}


def _enhancers(reader, f: int) -> list[str] | None:
    """The feature's top enhancer tokens (feature_tokens), None without that table."""
    try:
        rows = reader.tokens(f)
    except MissingAssetError:
        return None
    return [r["token"] for r in rows if r["kind"] == "enhancer"][:TOP_TOKENS]


def compare_features(reader, f: int, g: int, max_points: int = 2000, seed: int = 0) -> dict:
    """Overlap, conditional firing rates, correlations and decoder cosine of f and g over
    all samples, their shared top tokens, and (sample_id, a_f, a_g) for the samples where
    either fires (a seeded subsample of `max_points` when there are more)."""
    f, g = feature(reader, f), feature(reader, g)
    if max_points < 0:
        raise ValueError(f"max_points must be >= 0, got {max_points}")
    a, b = dense(reader, f), dense(reader, g)
    fa, fb = a > 0, b > 0
    both, n = fa & fb, len(a)
    n_both, n_f, n_g = int(both.sum()), int(fa.sum()), int(fb.sum())
    union = n_f + n_g - n_both
    d = weights(reader)["directions"]
    cos = d[:, f] @ d[:, g] / max(np.linalg.norm(d[:, f]) * np.linalg.norm(d[:, g]), 1e-12)
    tf, tg = _enhancers(reader, f), _enhancers(reader, g)
    either = np.flatnonzero(fa | fb)
    shown = either
    if len(either) > max_points:
        rng = np.random.default_rng(seed)
        shown = np.sort(rng.choice(either, size=max_points, replace=False))
    return {
        "feature_id": f,
        "other_id": g,
        "population": f"all {n:,} samples (activation 0 where a feature does not fire); the "
        f"co-firing correlation over the {n_both:,} samples where both fire",
        "n_samples": n,
        "counts": {
            "both": n_both,
            "only_f": n_f - n_both,
            "only_g": n_g - n_both,
            "neither": n - union,
        },
        "p_g_given_f": _rate(n_both, n_f),
        "p_f_given_g": _rate(n_both, n_g),
        "rate_f": _rate(n_f, n),
        "rate_g": _rate(n_g, n),
        "jaccard": n_both / union if union else None,
        "pearson_all": _pearson(a, b),
        "pearson_cofiring": _pearson(a[both], b[both]),
        "decoder_cosine": num(cos),
        "top_tokens": {
            "f": tf,
            "g": tg,
            "shared": None if tf is None or tg is None else [t for t in tf if t in set(tg)],
        },
        "scatter": {
            "n_total": len(either),
            "n_shown": len(shown),
            "note": f"a seeded random {len(shown):,} of the {len(either):,} samples where "
            "either fires"
            if len(shown) < len(either)
            else f"every one of the {len(either):,} samples where either fires",
            "points": [
                {"sample_id": int(s), "a_f": float(a[s]), "a_g": float(b[s])} for s in shown
            ],
        },
        "definitions": {
            "fires": "activation > 0",
            "counts": "samples where both fire, only f, only g, neither (sums to n_samples)",
            "p_g_given_f": "P(g fires | f fires) = both / (f fires); stderr sqrt(p(1-p)/n)",
            "jaccard": "both / (f or g fires)",
            "pearson_all": "Pearson r of the two activations over all samples, zeros "
            "included; stderr sqrt((1-r^2)/(n-2)); None when either is constant",
            "pearson_cofiring": "the same over the samples where both fire",
            "decoder_cosine": "cosine of the two SAE decoder directions",
            "top_tokens": f"the first {TOP_TOKENS} enhancer tokens of each (feature_tokens: "
            "enrichment among its top activations) and those both list",
        },
    }


def logit_histogram(reader, f: int, bins: int = 40, top_k: int = 10) -> dict:
    """Histogram of feature f's direct effect on every output logit, W_out[token] . d_f,
    with the tokens it raises and lowers most."""
    f = feature(reader, f)
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    if top_k < 0:
        raise ValueError(f"top_k must be >= 0, got {top_k}")
    w = weights(reader)
    col, toks = w["influence"][:, f], w["tokens"]
    counts, edges = np.histogram(col, bins=bins)
    order = np.lexsort((np.arange(len(col)), -col))

    def row(i):
        ability, rung = names.ability_of(toks[i])
        return {"token": toks[i], "value": float(col[i]), "ability": ability, "rung": rung}

    return {
        "feature_id": f,
        "population": f"the {len(col)} content tokens of the model's output (no sample "
        "average: one value per token)",
        "n_tokens": len(col),
        "mean": float(col.mean()),
        "std": float(col.std(ddof=1)) if len(col) > 1 else None,
        "min": float(col.min()),
        "max": float(col.max()),
        "edges": edges.tolist(),
        "counts": counts.astype(int).tolist(),
        "top_positive": [row(i) for i in order if col[i] > 0][:top_k],
        "top_negative": [row(i) for i in order[::-1] if col[i] < 0][:top_k],
        "definitions": {
            "value": "W_out[token] . d_f: the logit change per unit of activation (biases "
            "excluded; the decoder direction has unit norm)",
            "std": "standard deviation over the tokens (ddof=1)",
            "edges": "bins + 1 equal-width bin edges from min to max",
        },
    }


def map_table(reader):
    """The feature_map table (pyarrow), or MissingAssetError naming it."""
    if MAP not in reader.versions:
        raise MissingAssetError(MAP, reader.home)
    return reader.table(MAP).table


def map_method(reader, table) -> str | None:
    """umap or pca: from the CURRENT metadata of the version the reader serves (`method`,
    or the step's `map.method`), else from the Parquet schema's metadata (a `method` key,
    or a JSON value holding one)."""
    pointer = catalog.current_pointer(reader.home, reader.stored(MAP)) or {}
    if pointer.get("version") == reader.versions.get(MAP):
        meta = pointer.get("metadata") or {}
        for method in (meta.get("method"), (meta.get("map") or {}).get("method")):
            if isinstance(method, str):
                return method
    meta = table.schema.metadata or {}
    for key, value in meta.items():
        text = value.decode(errors="replace")
        if key.decode(errors="replace") == "method":
            return text
        try:
            parsed = json.loads(text)
        except ValueError:
            continue
        if isinstance(parsed, dict) and isinstance(parsed.get("method"), str):
            return parsed["method"]
    return None


def _column(reader, asset: str, column: str, rows=None) -> dict[int, object]:
    """feature_id -> value of one column of an analysis table ({} without it)."""
    try:
        t = reader.table(asset).table
    except MissingAssetError:
        return {}
    if rows is not None:
        t = rows(t)
    return dict(zip(t["feature_id"].to_pylist(), t[column].to_pylist(), strict=True))


def _first_enhancer(t):
    return t.filter(pc.and_(pc.equal(t["kind"], "enhancer"), pc.equal(t["rank"], 1)))


def map_points(reader, color: str = "label", labels: Mapping[int, str] | None = None) -> dict:
    """One row per feature of feature_map: x, y, its label name, the ability family of its
    first enhancer token, its best explanation's held-out F1, its firing rate."""
    if color not in COLORS:
        raise ValueError(f"color must be one of {', '.join(COLORS)}, got {color!r}")
    table = map_table(reader)
    labels = labels or {}
    top = _column(reader, "feature_tokens", "token", _first_enhancer)
    f1 = _column(reader, "feature_explanations", "f1", best_rows)
    density = _column(reader, "feature_stats", "density")
    rows = []
    for f, x, y in zip(*(table[c].to_pylist() for c in ("feature_id", "x", "y")), strict=True):
        token = top.get(f)
        rows.append({
            "feature_id": int(f), "x": float(x), "y": float(y),
            "label": labels.get(int(f)),
            "top_token": token,
            "family": names.ability_of(token)[0] if token else None,
            "explanation_f1": num(f1[f]) if f1.get(f) is not None else None,
            "firing_rate": num(density[f]) if density.get(f) is not None else None,
        })  # fmt: skip
    return {
        "method": map_method(reader, table),
        "color": color,
        "n_features": len(rows),
        "population": f"every feature of the map ({len(rows):,}); firing rate over all "
        f"{reader.n_samples:,} samples",
        "points": rows,
        "definitions": {
            "x, y": "2-D embedding of the features' decoder directions (method)",
            "family": "ability family of the feature's first enhancer token (feature_tokens)",
            "explanation_f1": "held-out F1 of its rank-1 rule (feature_explanations)",
            "firing_rate": "share of all samples where it fires (feature_stats density)",
        },
    }
