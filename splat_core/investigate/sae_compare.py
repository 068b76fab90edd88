"""The SAE variants of a home side by side, from its `sae_comparison` asset
(`Reader.sae_comparison()`): the variants with their Pareto front (fewer active latents,
more variance explained), the pairs matched, one pair's counts, MMCS and absorption, and the
features of one category of a pair with both sides' top tokens (the explorer's "SAEs" tab)."""

from __future__ import annotations

from collections.abc import Mapping

from splat_core.domain import present
from splat_core.store.artifacts import SAEComparison

ABSORPTION_KEYS = ("mean_absorption_rate", "mean_absorption_rate_se", "n_supported")


def variant_rows(comparison: SAEComparison) -> list[dict]:
    """One dict per variant (default first), with `pareto`: no other variant has a mean L0
    at most its own and loss recovered (explained variance where that was not measured) at
    least its own, one of them strictly."""
    rows = comparison.variants.to_pylist()
    for row in rows:
        row["pareto"] = not any(_dominates(o, row) for o in rows if o is not row)
    return rows


def _dominates(o: dict, row: dict) -> bool:
    measured = o.get("loss_recovered") is not None and row.get("loss_recovered") is not None
    y = "loss_recovered" if measured else "explained_variance"
    no_worse = o["mean_l0"] <= row["mean_l0"] and o[y] >= row[y]
    better = o["mean_l0"] < row["mean_l0"] or o[y] > row[y]
    return no_worse and better


def pairs(comparison: SAEComparison) -> list[tuple[str, str]]:
    """The matched pairs (a, b): the narrower SAE first (analysis_steps.pair_order)."""
    return [(p["sae_a"], p["sae_b"]) for p in comparison.summary.get("pairs", [])]


def pair(comparison: SAEComparison, sae_a: str, sae_b: str) -> dict:
    """The JSON entry of pair (a, b); KeyError naming the pairs there are."""
    for p in comparison.summary.get("pairs", []):
        if (p["sae_a"], p["sae_b"]) == (sae_a, sae_b):
            return p
    raise KeyError(f"no pair {sae_a} / {sae_b}; pairs: {pairs(comparison)}")


def pair_summary(comparison: SAEComparison, sae_a: str, sae_b: str) -> dict:
    """Pair (a, b): the widths, A's features by category (`counts`, every category of
    sae/matching.py, as the asset's settings list them), B's counts, MMCS and mean max
    correlation (with SEs), and each side's absorption (mean rate, its SE, the families
    measured)."""
    p = pair(comparison, sae_a, sae_b)
    counts, s = p["counts"], p["summary"]
    categories = comparison.summary["settings"]["categories"]  # sae/matching.py's A_CATEGORIES
    return {
        "sae_a": sae_a, "sae_b": sae_b, "n_features": p["n_features"],
        "counts": {c: counts.get(c, 0) for c in categories},
        "counts_b": {k: v for k, v in counts.items() if k not in categories},
        **{k: s.get(k) for k in ("mmcs", "mmcs_se", "mean_max_correlation",
                                 "mean_max_correlation_se")},
        "absorption": {name: {k: side.get(k) for k in ABSORPTION_KEYS}
                       for name, side in zip((sae_a, sae_b), p["absorption"], strict=True)},
    }  # fmt: skip


def matched(row: dict) -> list[int]:
    """B features a row of the matching points to: its children, then (absorbed, partial)
    its absorbers; without either, its best B feature (none: [])."""
    out = list(row["children"] or []) + list(row["absorbers"] or [])
    if not out and row["best_b"] is not None and row["best_b"] >= 0:
        out = [int(row["best_b"])]
    return out


def category_rows(
    comparison: SAEComparison, sae_a: str, sae_b: str, category: str,
    readers: Mapping[str, object] | None = None, limit: int = 20, k_tokens: int = 3,
) -> list[dict]:  # fmt: skip
    """Pair (a, b)'s features of A in `category`, most often firing first (`limit` of them):
    feature_a, n_fire, the B features it points to (`matched`: the first is `feature_b`,
    -1 for none), the decoder cosine and activation correlation with it, coverage and
    absorbed fraction; with `readers` ({variant: Reader}) each side's top tokens."""
    want = (sae_a, sae_b, category)
    rows = [r for r in comparison.matching.to_pylist()
            if (r["sae_a"], r["sae_b"], r["category"]) == want]  # fmt: skip
    rows.sort(key=lambda r: (-r["n_fire"], r["feature_a"]))
    out = []
    for r in rows[:limit]:
        ids = matched(r)
        b = ids[0] if ids else -1
        if r["children"]:
            cos, corr = r["child_cosine"][0], r["child_correlation"][0]
        elif r["absorbers"]:
            cos, corr = r["absorber_cosine"][0], None
        else:
            cos, corr = r["best_cosine"], r["best_correlation"]
        row = {
            "feature_a": r["feature_a"], "n_fire": r["n_fire"], "feature_b": b,
            "matched_b": ids, "children": list(r["children"]), "absorbers": list(r["absorbers"]),
            "cosine": cos, "correlation": corr, "coverage": r["coverage"],
            "absorbed_fraction": r["absorbed_fraction"],
        }  # fmt: skip
        if readers is not None:
            row["tokens_a"] = top_tokens(readers[sae_a], r["feature_a"], k_tokens)
            row["tokens_b"] = top_tokens(readers[sae_b], b, k_tokens) if b >= 0 else []
        out.append(row)
    return out


def top_tokens(reader, f: int, k: int = 3) -> list[str]:
    """Feature f's first k enhancer tokens (feature_tokens), as people read them."""
    return [present.token_name(t["token"]) for t in reader.tokens(f)
            if t["kind"] == "enhancer"][:k]  # fmt: skip
