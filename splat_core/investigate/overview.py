"""The first look at a feature: what it fires on, how often, on which weapons, and with
which tokens, plus (on request) enrichment, regions, main-only abilities and kits.

Token, ability and weapon profiles are activation-weighted over the firing samples (a
sample counts in proportion to its activation) and set against the same quantity over all
samples, so a token that every build holds does not look like a driver. These are
hypotheses (correlations); `whatif` tests them causally.
"""

from __future__ import annotations

import numpy as np

from splat_core.domain.vocab import ABILITIES, PAD
from splat_core.investigate import regions as regions_
from splat_core.investigate import sweeps, tokens
from splat_core.investigate.groups import num
from splat_core.investigate.names import ability_of
from splat_core.investigate.population import dense, population


def stats(a: np.ndarray) -> dict:
    """Summary of one feature over all samples; *_firing values are over nonzero ones."""
    nz = a[a > 0]
    n, k = len(a), len(nz)
    q = (lambda p: float(np.quantile(nz, p))) if k else (lambda p: None)
    return {
        "n_samples": n,
        "n_firing": k,
        "firing_rate": k / n if n else None,
        "relu_floor_share": (n - k) / n if n else None,
        "mean_all": num(a.mean()) if n else None,
        "mean_firing": num(nz.mean()) if k else None,
        "std_firing": num(nz.std()) if k else None,
        "median_firing": q(0.5),
        "p90_firing": q(0.9),
        "p99_firing": q(0.99),
        "max": num(nz.max()) if k else None,
        "effective_max": q(regions_.EFFECTIVE_MAX_QUANTILE),
    }


def _weighted(a, pos, item, n_items, presence_all) -> tuple[np.ndarray, np.ndarray]:
    """(activation-weighted coverage, base rate over all samples) per item."""
    total = a.sum()
    cov = np.bincount(item, weights=a[pos], minlength=n_items) / total if total else None
    base = presence_all / len(a)
    return (np.zeros(n_items) if cov is None else cov), base


def top_tokens(a, pop, k: int) -> list[dict]:
    """Tokens ranked by activation-weighted coverage minus their base rate."""
    keep = pop.token != pop.vocab.token_to_id[PAD]
    pos, item = pop.pos[keep], pop.token[keep].astype(np.int64)
    n_items = len(pop.vocab)
    cov, base = _weighted(a, pos, item, n_items, np.bincount(item, minlength=n_items))
    excess = cov - base
    order = np.lexsort((np.arange(n_items), -excess))
    out = []
    for i in order[:k]:
        if excess[i] <= 0:
            break
        name = pop.vocab.id_to_token[int(i)]
        out.append(
            {
                "token": name,
                "ability": ability_of(name)[0],
                "coverage": float(cov[i]),
                "base_rate": float(base[i]),
                "lift": num(cov[i] / base[i]),
            }
        )
    return out


def ability_shares(a, pop) -> list[dict]:
    """Per ability (families collapsed): its share of the activation-weighted ability
    occurrences, against its share of all samples' ability occurrences."""
    pos, item = pop.pairs()
    counts = np.bincount(item, minlength=len(ABILITIES))
    cov, _ = _weighted(a, pos, item, len(ABILITIES), counts)
    share = cov / cov.sum() if cov.sum() else cov
    base = counts / counts.sum() if counts.sum() else counts.astype(float)
    order = np.lexsort((np.arange(len(ABILITIES)), -share))
    return [
        {
            "ability": ABILITIES[i],
            "share": float(share[i]),
            "base_share": float(base[i]),
            "lift": num(share[i] / base[i]) if base[i] else None,
        }
        for i in order
        if share[i] > 0
    ]


def top_weapons(a, pop, k: int) -> list[dict]:
    n_w = len(pop.weapons)
    mass = np.bincount(pop.weapon, weights=a, minlength=n_w)
    share = mass / mass.sum() if mass.sum() else mass
    base = np.bincount(pop.weapon, minlength=n_w) / len(a)
    fire = np.bincount(pop.weapon, weights=(a > 0).astype(float), minlength=n_w)
    order = np.lexsort((np.arange(n_w), -share))[:k]
    return [
        {
            "weapon_id": pop.weapons[i].weapon_id,
            "name": pop.weapons[i].name,
            "weapon_class": pop.weapons[i].weapon_class,
            "share": float(share[i]),
            "base_share": float(base[i]),
            "lift": num(share[i] / base[i]) if base[i] else None,
            "n_firing": int(fire[i]),
        }
        for i in order
        if share[i] > 0
    ]


def contexts(reader, f: int, n: int) -> list[dict]:
    return [
        {
            "rank": e.rank,
            "sample_id": e.sample_id,
            "activation": e.activation,
            "weapon_id": e.weapon.weapon_id,
            "weapon": e.weapon.name,
            "tokens": e.tokens,
        }
        for e in reader.top_examples(f, n)
    ]


def existing_label(home, f: int, sae: str = "default") -> dict | None:
    """The label store's entry for f (of SAE variant `sae`); None when unlabelled or when
    the home has no label store yet (not created here: reading a feature must not write to
    the home)."""
    from splat_core.labels import LabelStore

    if not LabelStore.exists(home, sae):
        return None
    label = LabelStore.open(home, sae).get(int(f))
    return None if label is None else label.to_dict()


def overview(
    reader,
    f: int,
    top_k: int = 10,
    n_contexts: int = 5,
    enrichment: bool = False,
    regions: bool = False,
    binary: bool = False,
    kits: bool = False,
    kit_region: str = "core",
    high_quantile: float = 0.9,
) -> dict:
    a, pop = dense(reader, f), population(reader)
    out = {
        "feature_id": int(f),
        "population": f"all {len(a):,} samples; token, ability and weapon profiles weight the "
        "firing samples by activation and compare with all samples (base)",
        "stats": stats(a),
        "top_tokens": top_tokens(a, pop, top_k),
        "ability_shares": ability_shares(a, pop)[:top_k],
        "top_weapons": top_weapons(a, pop, top_k),
        "sample_contexts": contexts(reader, f, n_contexts),
        "label": existing_label(reader.home, f, reader.sae),
    }
    if enrichment:
        out["token_effects"] = tokens.token_effects(
            reader, f, high_quantile=high_quantile, top_k=top_k
        )
    if regions:
        out["regions"] = regions_.regions(reader, f)
        out["coverage"] = regions_.coverage(reader, f)
    if binary:
        out["binary"] = sweeps.binary_sweep(reader, f, high_quantile=high_quantile)
    if kits:
        out["kits"] = regions_.kits(reader, f, kit_region)
    return out
