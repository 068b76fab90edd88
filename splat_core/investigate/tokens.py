"""Enhancer and suppressor tokens of a feature, with effect sizes.

Over all samples (zeros included): the mean activation of samples holding the token against
those that do not (delta, Cohen's d), and how much more often the token appears among the
feature's high activations than among all samples (the enrichment ratio). The reference
conditioned both groups on the feature firing, which hides tokens that switch it off.
"""

from __future__ import annotations

import numpy as np

from splat_core.domain.vocab import ABILITIES, PAD
from splat_core.investigate.groups import num, presence_effects, ratio, row
from splat_core.investigate.names import ability_of
from splat_core.investigate.population import dense, describe, high_threshold, population

ENHANCER_RATIO, SUPPRESSOR_RATIO = 1.2, 0.8
MIN_SUPPRESSOR_RATE = 0.01  # a token must be common to be noticeably absent


def high_group(a: np.ndarray, high_quantile: float) -> tuple[np.ndarray, float | None]:
    """(mask, threshold): the firing samples at or above the q-quantile of nonzero values."""
    t = high_threshold(a, high_quantile)
    return (a >= t) & (a > 0) if t is not None else np.zeros(len(a), bool), t


def token_effects(
    reader,
    f: int,
    collapse: bool = False,
    high_quantile: float = 0.9,
    min_n: int = 20,
    top_k: int = 15,
) -> dict:
    """Enhancers (ratio > 1.2 and delta > 0, largest delta first) and suppressors (ratio < 0.8
    and delta < 0, most negative first; the token in at least 1% of samples). Items are
    tokens, or with `collapse` abilities (a sample holds a family if it holds any rung).
    Items held by fewer than `min_n` samples, or missing from fewer, are left out."""
    a, pop = dense(reader, f), population(reader)
    high, threshold = high_group(a, high_quantile)
    if collapse:
        pos, item = pop.pairs()
        names = list(ABILITIES)
    else:
        keep = pop.token != pop.vocab.token_to_id[PAD]
        pos, item = pop.pos[keep], pop.token[keep].astype(np.int64)
        names = [pop.vocab.id_to_token[i] for i in range(len(pop.vocab))]
    eff = presence_effects(a, pos, item, len(names), high)
    rows = []
    for i, name in enumerate(names):
        if eff["n_with"][i] < min_n or eff["n_without"][i] < min_n:
            continue
        r = {
            "item": name,
            "ability": ability_of(name)[0] if not collapse else name,
            "rung": None if collapse else ability_of(name)[1],
            **row(eff, i),
        }
        r["ratio"] = ratio(r["rate_high"], r["rate_all"])
        rows.append(r)
    enh = [r for r in rows if (r["ratio"] or 0) > ENHANCER_RATIO and (r["delta"] or 0) > 0]
    sup = [
        r
        for r in rows
        if r["ratio"] is not None
        and r["ratio"] < SUPPRESSOR_RATIO
        and (r["delta"] or 0) < 0
        and r["rate_all"] >= MIN_SUPPRESSOR_RATE
    ]
    enh.sort(key=lambda r: (-r["delta"], r["item"]))
    sup.sort(key=lambda r: (r["delta"], r["item"]))
    return {
        "feature_id": int(f),
        "population": describe("all", len(a)),
        "items": "abilities" if collapse else "tokens",
        "high_quantile": float(high_quantile),
        "high_threshold": threshold,
        "n_high": int(high.sum()),
        "definitions": {
            "delta": "mean activation with the item - without (all samples, zeros included)",
            "cohens_d": "delta / pooled standard deviation (ddof 1)",
            "ratio": "P(item | high group) / P(item | all samples); high group = firing "
            "samples at or above the high_quantile of the nonzero activations",
        },
        "min_n": int(min_n),
        "n_items_tested": len(rows),
        "enhancers": enh[:top_k],
        "suppressors": sup[:top_k],
        "mean_all": num(a.mean()) if len(a) else None,
    }
