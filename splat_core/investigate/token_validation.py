"""Are a feature's token effects real? token_effects' per-item deltas on two seeded halves
(their correlation, the overlap of the top enhancers), and for its top items a shuffle-null
p-value for the delta, per item and Bonferroni-corrected (the split and the permutations as
in validation.py)."""

from __future__ import annotations

import numpy as np

from splat_core.domain.vocab import ABILITIES, PAD
from splat_core.investigate.groups import num, presence_effects
from splat_core.investigate.population import dense, describe, feature, population
from splat_core.investigate.tokens import token_effects
from splat_core.investigate.validation import (
    NULL,
    RELIABLE_N,
    SPLIT,
    check,
    halves,
    null_summary,
    pearson,
    permutations,
    stderr_diff,
)


def _items(pop, collapse: bool) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(sample, item) pairs and item names, as token_effects counts them."""
    if collapse:
        pos, item = pop.pairs()
        return pos, item.astype(np.int64), list(ABILITIES)
    keep = pop.token != pop.vocab.token_to_id[PAD]
    names_ = [pop.vocab.id_to_token[i] for i in range(len(pop.vocab))]
    return pop.pos[keep], pop.token[keep].astype(np.int64), names_


def _half_effects(a, pos, item, n_items, rows) -> dict[str, np.ndarray]:
    """presence_effects restricted to the samples `rows` (sorted)."""
    where = np.full(len(a), -1, np.int64)
    where[rows] = np.arange(len(rows))
    keep = where[pos] >= 0
    sub = a[rows]
    return presence_effects(sub, where[pos[keep]], item[keep], n_items, np.zeros(len(sub), bool))


def _top(delta: np.ndarray, ok: np.ndarray, k: int) -> list[int]:
    """The k items with the largest positive delta among `ok`."""
    idx = np.flatnonzero(ok & (delta > 0))
    return idx[np.lexsort((idx, -delta[idx]))][:k].tolist()


def validate_token_effects(
    reader,
    f: int,
    collapse: bool = True,
    n_perm: int = 200,
    seed: int = 0,
    top_k: int = 10,
    min_n: int = RELIABLE_N,
) -> dict:
    """token_effects' deltas on two seeded halves (their correlation, the overlap of the
    top-k enhancers), and a shuffle-null p-value for the delta of each top item."""
    check(n_perm, seed, min_n)
    f = feature(reader, f)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"top_k must be an integer >= 1, got {top_k!r}")
    a, pop = dense(reader, f), population(reader)
    pos, item, item_names = _items(pop, collapse)
    split = halves(len(a), seed)
    eff = [_half_effects(a, pos, item, len(item_names), h) for h in split]
    ok = np.ones(len(item_names), bool)
    for e in eff:
        ok &= (e["n_with"] >= min_n) & (e["n_without"] >= min_n)
    tops = [_top(e["delta"], ok, top_k) for e in eff]
    shared = sorted(set(tops[0]) & set(tops[1]), key=lambda i: tops[0].index(i))
    full = token_effects(reader, f, collapse=collapse, min_n=min_n, top_k=top_k)
    picked = full["enhancers"] + full["suppressors"]
    index = {name: i for i, name in enumerate(item_names)}
    ids = np.array([index[r["item"]] for r in picked], np.int64)
    null = _delta_null(a, pos, item, ids, n_perm, seed)
    tested = max(full["n_items_tested"], 1)
    items = []
    for j, r in enumerate(picked):
        i = ids[j]
        s = null_summary(r["delta"], null[:, j], two_sided=True)
        items.append(
            {
                "item": r["item"],
                "kind": "enhancer" if j < len(full["enhancers"]) else "suppressor",
                "n_with": r["n_with"],
                "delta": r["delta"],
                "delta_stderr": stderr_diff(
                    r["std_with"], r["n_with"], r["std_without"], r["n_without"]
                ),
                "cohens_d": r["cohens_d"],
                "delta_a": num(eff[0]["delta"][i]),
                "delta_b": num(eff[1]["delta"][i]),
                "p_value": s["p_value"],
                "p_bonferroni": None if s["p_value"] is None else min(1.0, s["p_value"] * tested),
                "null_mean_abs": s["null_mean"],
                "null_p95_abs": s["null_p95"],
            }
        )
    return {
        "feature_id": f,
        "items": "abilities" if collapse else "tokens",
        "population": describe("all", len(a))
        + f"; split into halves of {len(split[0]):,} (A) and {len(split[1]):,} (B)",
        "seed": int(seed),
        "n_perm": int(n_perm),
        "min_n": int(min_n),
        "top_k": int(top_k),
        "agreement": {
            "n_items": int(ok.sum()),
            "pearson_r": pearson(eff[0]["delta"][ok], eff[1]["delta"][ok]),
            "sign_agreement": num(
                np.mean(np.sign(eff[0]["delta"][ok]) == np.sign(eff[1]["delta"][ok]))
            )
            if ok.any()
            else None,
            "top_a": [item_names[i] for i in tops[0]],
            "top_b": [item_names[i] for i in tops[1]],
            "top_shared": [item_names[i] for i in shared],
            "top_overlap": len(shared) / top_k,
        },  # fmt: skip
        "n_items_tested": full["n_items_tested"],
        "rows": items,
        "note": "p_value is per item, not corrected for testing many items: use p_bonferroni "
        f"(p x the {full['n_items_tested']} items tested, capped at 1) to claim any one of them",
        "definitions": {
            "delta": "mean activation with the item - without, all samples (zeros included); "
            "delta_a/delta_b the same within each half",
            "delta_stderr": "sqrt(var_with / n_with + var_without / n_without) (Welch)",
            "split": SPLIT,
            "pearson_r": "Pearson correlation of delta_a and delta_b over the items with >= "
            "min_n samples with and without them in both halves",
            "top_overlap": "|top_a ∩ top_b| / top_k; top_a: the top_k items with the largest "
            "positive delta in half A (eligible items only)",
            "rows": "token_effects' enhancers and suppressors over all samples",
            "null": NULL,
            "p_value": "(1 + #|null delta| >= |delta|) / (1 + n_perm): two-sided",
            "p_bonferroni": "min(1, p_value x n_items_tested)",
        },
    }


def _delta_null(a, pos, item, ids, n_perm: int, seed: int) -> np.ndarray:
    """[n_perm, len(ids)]: each item's delta with the activations permuted. Only the sum
    over holders changes: the holders' count and the total are fixed by a permutation."""
    if not len(ids):
        return np.zeros((n_perm, 0))
    local = np.full(int(item.max()) + 1 if len(item) else 1, -1, np.int64)
    local[ids] = np.arange(len(ids))
    keep = local[item] >= 0
    p_pos, p_item = pos[keep], local[item[keep]]
    w = np.bincount(p_item, minlength=len(ids)).astype(float)
    n, total = len(a), a.sum()
    out = np.empty((n_perm, len(ids)))
    for k, perm in enumerate(permutations(n, n_perm, seed)):
        s = np.bincount(p_item, weights=a[perm][p_pos], minlength=len(ids))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[k] = s / w - (total - s) / (n - w)
    return out
