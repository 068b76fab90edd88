"""Activation regions (anti-flanderization): where in its range a feature's concept lives.

The effective max is the 99.5th percentile of the nonzero activations (np.quantile at
0.995), robust to a few outliers. The concept is usually what the core (25-75% of the
effective max) shares; what only the tail (> 90%) holds is a super-stimulus or a marker.
Regions are over the firing samples only: by definition they partition nonzero values.
"""

from __future__ import annotations

import numpy as np

from splat_core.domain.vocab import ABILITIES
from splat_core.investigate.groups import num
from splat_core.investigate.population import dense, population

EFFECTIVE_MAX_QUANTILE = 0.995
REGIONS = (  # (name, low, high] as fractions of the effective max
    ("floor", 0.0, 0.01),
    ("low", 0.01, 0.10),
    ("below_core", 0.10, 0.25),
    ("core", 0.25, 0.75),
    ("high", 0.75, 0.90),
    ("tail", 0.90, np.inf),
)
NAMED = {"core": (0.25, 0.75), "high": (0.75, np.inf), "tail": (0.90, np.inf), "all": (0, np.inf)}
HEADLINE, SUPPORTING = 0.5, 0.3  # core coverage for a label headline / for the notes


def effective_max(a: np.ndarray) -> float | None:
    nz = a[a > 0]
    return float(np.quantile(nz, EFFECTIVE_MAX_QUANTILE)) if len(nz) else None


def region_mask(a: np.ndarray, region: str) -> np.ndarray:
    if region not in NAMED:
        raise ValueError(f"region must be one of {tuple(NAMED)}, got {region!r}")
    lo, hi = NAMED[region]
    m = effective_max(a) or 0.0
    return (a > 0) & (a > lo * m) & (a <= hi * m)


def _shares(mask: np.ndarray, code: np.ndarray, keys: list[str], k: int) -> list[dict]:
    counts = np.bincount(code[mask], minlength=len(keys))
    n = max(int(mask.sum()), 1)
    order = np.lexsort((np.arange(len(keys)), -counts))[:k]
    return [
        {"key": keys[i], "count": int(counts[i]), "share": float(counts[i] / n)}
        for i in order
        if counts[i]
    ]


def _ability_coverage(mask: np.ndarray, top: np.ndarray) -> np.ndarray:
    """Fraction of the masked samples holding each ability (any rung)."""
    n = int(mask.sum())
    return (top[mask] > 0).sum(axis=0) / n if n else np.zeros(top.shape[1])


def regions(reader, f: int, k: int = 5) -> dict:
    a, pop = dense(reader, f), population(reader)
    m = effective_max(a)
    wcode, wkeys = pop.weapon_groups("weapon")
    wname = {str(w.weapon_id): w.name for w in pop.weapons}
    n_fire = int((a > 0).sum())
    out = []
    for name, lo, hi in REGIONS:
        mask = (a > 0) & (a > lo * (m or 0)) & (a <= hi * (m or 0))
        weapons = _shares(mask, wcode, wkeys, k)
        for w in weapons:
            w["name"] = wname[w["key"]]
        cov = _ability_coverage(mask, pop.top)
        fam = [
            {"ability": ABILITIES[i], "coverage": float(cov[i])}
            for i in np.lexsort((np.arange(len(cov)), -cov))[:k]
            if cov[i] > 0
        ]
        out.append(
            {
                "region": name,
                "lo": lo * (m or 0),
                "hi": num(hi * (m or 0)),
                "n": int(mask.sum()),
                "share": float(mask.sum() / n_fire) if n_fire else None,
                "top_weapons": weapons,
                "top_abilities": fam,
            }
        )
    return {
        "feature_id": int(f),
        "effective_max": m,
        "population": f"the {n_fire:,} samples where the feature fires",
        "regions": out,
    }


def kits(reader, f: int, region: str = "core", k: int = 10) -> dict:
    """Sub, special and sub+special shares among the firing samples of a region."""
    a, pop = dense(reader, f), population(reader)
    mask = region_mask(a, region)
    out = {"feature_id": int(f), "region": region, "n": int(mask.sum())}
    for kind in ("sub", "special", "kit"):
        code, keys = pop.weapon_groups(kind)
        out[kind] = _shares(mask, code, keys, k)
    return out


def _verdict(core: float, tail: float, threshold: float) -> str:
    if core >= HEADLINE:
        return "headline"
    if core >= threshold:
        return "supporting"
    return "tail_marker" if tail > core else "minor"


def coverage(reader, f: int, threshold: float = SUPPORTING) -> dict:
    """Per ability and weapon: share of core samples vs tail samples holding it, and the
    verdict the labelling rules use (headline / supporting / tail_marker / minor)."""
    a, pop = dense(reader, f), population(reader)
    core, tail = region_mask(a, "core"), region_mask(a, "tail")
    c, t = _ability_coverage(core, pop.top), _ability_coverage(tail, pop.top)
    abilities = []
    for i in np.lexsort((np.arange(len(c)), -t, -c)):
        if c[i] == 0 and t[i] == 0:
            continue
        enr = t[i] / c[i] if c[i] else None
        verdict = _verdict(c[i], t[i], threshold)
        abilities.append(
            {
                "ability": ABILITIES[i],
                "core_coverage": float(c[i]),
                "tail_coverage": float(t[i]),
                "tail_enrichment": enr,
                "verdict": verdict,
            }
        )
    code, keys = pop.weapon_groups("weapon")
    wname = {str(w.weapon_id): w.name for w in pop.weapons}
    cw = np.bincount(code[core], minlength=len(keys)) / max(int(core.sum()), 1)
    tw = np.bincount(code[tail], minlength=len(keys)) / max(int(tail.sum()), 1)
    weapons = []
    for i in np.lexsort((np.arange(len(keys)), -tw, -cw)):
        if cw[i] == 0 and tw[i] == 0:
            continue
        enr = tw[i] / cw[i] if cw[i] else None
        flander = (enr is None or enr > 2) and tw[i] > 0.1
        weapons.append(
            {
                "weapon_id": keys[i],
                "name": wname[keys[i]],
                "core_share": float(cw[i]),
                "tail_share": float(tw[i]),
                "tail_enrichment": enr,
                "flanderized": bool(flander),
            }
        )
    return {
        "feature_id": int(f),
        "effective_max": effective_max(a),
        "population": "firing samples in the core (25-75% of the effective max] and the tail "
        "(> 90%) regions",
        "n_core": int(core.sum()),
        "n_tail": int(tail.sum()),
        "thresholds": {"headline": HEADLINE, "supporting": threshold},
        "abilities": abilities,
        "weapons": weapons[:20],
        "warning": "every ability is a tail marker"
        if abilities and all(r["verdict"] == "tail_marker" for r in abilities)
        else None,
    }
