"""Contrastive itemsets: ability (or token) sets over-represented among a feature's high
activations, with support and lift.

Observational, like the token effects: the high group is the firing samples at or above a
quantile of the nonzero activations (`tokens.high_group`), the baseline all samples. Sets
frequent in the high group are found by Apriori; every count is an AND of per-item bitsets
(one bit per sample) and a popcount, so a million samples cost 125 kB per item.
"""

from __future__ import annotations

import math

import numpy as np

from splat_core.domain.vocab import ABILITIES, NULL, PAD
from splat_core.investigate.population import check_quantile, dense, feature, population
from splat_core.investigate.tokens import high_group

MAX_ITEMSET = 5
MAX_CANDIDATES = 200_000  # sets counted at one size: a low min_support on tokens explodes
CHUNK_BYTES = 1 << 26  # bitset ANDs are done in chunks of at most this many bytes


def _bitsets(rows: np.ndarray, item: np.ndarray, n_items: int, n_rows: int) -> np.ndarray:
    """uint8 [n_items, ceil(n_rows / 8)]: bit r of item i set when row r holds item i."""
    out = np.zeros((n_items, (n_rows + 7) // 8), dtype=np.uint8)
    bit = np.left_shift(1, 7 - (rows & 7)).astype(np.uint8)
    np.bitwise_or.at(out, (item, rows >> 3), bit)
    return out


def _counts(bits: np.ndarray, sets: list[tuple[int, ...]]) -> np.ndarray:
    """How many rows hold every item of each set (AND of bitsets, popcount), in chunks of
    sets of one size."""
    out = np.zeros(len(sets), dtype=np.int64)
    step = max(1, CHUNK_BYTES // max(bits.shape[1], 1))
    for size in sorted({len(s) for s in sets}):
        where = [i for i, s in enumerate(sets) if len(s) == size]
        for c in range(0, len(where), step):
            part = where[c : c + step]
            both = np.bitwise_and.reduce(bits[np.array([sets[i] for i in part])], axis=1)
            out[part] = np.bitwise_count(both).sum(axis=1, dtype=np.int64)
    return out


def _candidates(frequent: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """Apriori: join sets sharing all but the last item; keep those whose subsets are all
    frequent."""
    known, out = set(frequent), []
    for i, a in enumerate(frequent):
        for b in frequent[i + 1 :]:
            if a[:-1] != b[:-1]:
                break  # sorted: no later set shares a's prefix
            c = (*a, b[-1])
            if all(c[:j] + c[j + 1 :] in known for j in range(len(c) - 2)):
                out.append(c)
    return out


def _items(pop, collapse: bool) -> tuple[np.ndarray, np.ndarray, list[str]]:
    if collapse:
        pos, item = pop.pairs()
        return pos, item.astype(np.int64), list(ABILITIES)
    skip = [pop.vocab.token_to_id[t] for t in (NULL, PAD) if t in pop.vocab.token_to_id]
    keep = ~np.isin(pop.token, skip)
    labels = [pop.vocab.id_to_token[i] for i in range(len(pop.vocab))]
    return pop.pos[keep], pop.token[keep].astype(np.int64), labels


def contrastive_itemsets(
    reader,
    f,
    high_quantile: float = 0.9,
    max_size: int = 3,
    min_support: float = 0.05,
    top_k: int = 20,
    collapse: bool = True,
) -> dict:
    """Item sets (abilities, or with collapse=False tokens) of size 1..max_size held by at
    least min_support of the high group, ranked by lift = support in the high group / support
    over all samples (ties: larger support)."""
    if not 1 <= int(max_size) <= MAX_ITEMSET:
        raise ValueError(f"max_size must be in 1..{MAX_ITEMSET}, got {max_size}")
    if not 0 < float(min_support) <= 1:
        raise ValueError(
            f"min_support is a fraction of the high group in (0, 1], got {min_support}"
        )
    if int(top_k) < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    check_quantile(high_quantile)
    a, pop = dense(reader, feature(reader, f)), population(reader)
    high, threshold = high_group(a, high_quantile)
    pos, item, labels = _items(pop, collapse)
    n_high, n_all = int(high.sum()), len(a)
    min_count = max(1, math.ceil(float(min_support) * n_high))
    rank = np.cumsum(high) - 1  # a high sample's row in the high group's bitsets
    sel = high[pos]
    hi_bits = _bitsets(rank[pos[sel]], item[sel], len(labels), n_high)
    found: dict[tuple[int, ...], int] = {}
    level = [(i,) for i in np.unique(item[sel]).tolist()]
    sizes = []
    for _size in range(int(max_size)):
        counts = _counts(hi_bits, level) if level and n_high else np.zeros(0, np.int64)
        frequent = [s for s, c in zip(level, counts.tolist(), strict=True) if c >= min_count]
        found.update((s, c) for s, c in zip(level, counts.tolist(), strict=True) if c >= min_count)
        sizes.append(len(frequent))
        level = _candidates(frequent)
        if len(level) > MAX_CANDIDATES:
            raise ValueError(
                f"{len(level):,} candidate sets of size {len(level[0])}, over the bound of "
                f"{MAX_CANDIDATES:,}: raise min_support or lower max_size"
            )
        if not level:
            break
    sets = list(found)
    all_counts = _counts(_bitsets(pos, item, len(labels), n_all), sets) if sets else []
    lift = {}
    rows = []
    for s, c_all in zip(sets, np.asarray(all_counts).tolist(), strict=True):
        sup_h, sup_a = found[s] / n_high, c_all / n_all
        lift[s] = sup_h / sup_a
        rows.append(
            {
                "items": [labels[i] for i in s],
                "size": len(s),
                "count": found[s],
                "support_high": sup_h,
                "count_all": c_all,
                "support_all": sup_a,
                "lift": lift[s],
            }
        )
    for r, s in zip(rows, sets, strict=True):
        subs = [lift[s[:j] + s[j + 1 :]] for j in range(len(s))] if len(s) > 1 else []
        r["max_subset_lift"] = max(subs) if subs else None
    rows.sort(key=lambda r: (-r["lift"], -r["support_high"], r["size"], r["items"]))
    what = "abilities (any rung of a family)" if collapse else "tokens"
    return {
        "feature_id": int(f),
        "items": "abilities" if collapse else "tokens",
        "population": f"high group: the {n_high:,} firing samples at or above the "
        f"{high_quantile:g} quantile of the nonzero activations; all: all {n_all:,} samples "
        f"(zeros included); items are {what}",
        "high_quantile": float(high_quantile),
        "high_threshold": threshold,
        "n_high": n_high,
        "n_all": n_all,
        "min_support": float(min_support),
        "min_count": min_count,
        "max_size": int(max_size),
        "n_frequent": sizes,
        "definitions": {
            "support_high": "share of the high group holding every item of the set",
            "support_all": "share of all samples holding every item of the set",
            "lift": "support_high / support_all (> 1: over-represented among high activations)",
            "max_subset_lift": "the largest lift of the set's subsets one item smaller: a set "
            "adds something only if its lift exceeds it",
            "count": "high-group samples holding the set",
        },
        "itemsets": rows[: int(top_k)],
    }
