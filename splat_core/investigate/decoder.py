"""The output side of a feature: what one unit of it does to the model's token logits.

influence = W_out · d_f (the output layer times the feature's unit decoder direction), per
ability token, as in the reference's output-influence (biases excluded). The dictionary is
unit-norm, so every decoder norm is 1 and its percentile says nothing; the importance axis
is instead the norm of the influence vector (how hard a unit of the feature pushes the
logits) and that times the feature's typical activation when it fires.
"""

from __future__ import annotations

import weakref

import numpy as np
import torch

from splat_core.domain.vocab import ABILITIES, RUNGS
from splat_core.investigate import names
from splat_core.investigate.groups import num
from splat_core.investigate.population import dense, feature
from splat_core.query.errors import MissingAssetError

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def weights(reader) -> dict:
    """Influence [V_content, F], decoder directions [d, F], content token names (cached)."""
    enc = reader.encoder
    hit = _CACHE.get(enc)
    if hit is None:
        with torch.no_grad():
            w_out = enc.model.output_layer.weight.detach().cpu().numpy().astype(np.float64)
            d = enc.sae.decoder_directions().detach().cpu().numpy().astype(np.float64)
        influence = w_out[enc.content_ids] @ d
        hit = {
            "influence": influence,
            "directions": d,
            "tokens": list(enc.content_names),
            "influence_norm": np.linalg.norm(influence, axis=0),
            "decoder_norm": np.linalg.norm(d, axis=0),
        }
        _CACHE[enc] = hit
    return hit


def percentile_rank(values: np.ndarray, x: float) -> float:
    """Percent (0-100) of the values at or below x."""
    return float(100.0 * np.mean(values <= x))


def _typical_activation(reader) -> np.ndarray | None:
    """mean_nonzero per feature from feature_stats (0 for features that never fire)."""
    try:
        t = reader.table("feature_stats")
    except MissingAssetError:
        return None
    out = np.zeros(reader.n_features)
    ids = t.table.column("feature_id").to_numpy()
    out[ids] = np.nan_to_num(t.table.column("mean_nonzero").to_numpy(zero_copy_only=False))
    return out


def _row(token: str, value: float) -> dict:
    ability, rung = names.ability_of(token)
    return {
        "token": token,
        "value": float(value),
        "ability": ability,
        "rung": rung if rung is not None else "main_only",
    }


def decoder_analysis(reader, f: int, top_k: int = 15, exclude=(), n_similar: int = 10) -> dict:
    f = feature(reader, f)
    w = weights(reader)
    if w["influence"].shape[1] != reader.n_features:
        raise ValueError("the SAE and the feature store disagree on the number of features")
    col, toks = w["influence"][:, f], w["tokens"]
    excluded = {names.ability(x) for x in exclude}
    ability = [names.ability_of(t)[0] for t in toks]
    shown = np.array([a not in excluded for a in ability])
    order = np.lexsort((np.arange(len(col)), -col))
    promoted = [_row(toks[i], col[i]) for i in order if col[i] > 0 and shown[i]][:top_k]
    suppressed = [_row(toks[i], col[i]) for i in order[::-1] if col[i] < 0 and shown[i]][:top_k]
    hidden = [_row(toks[i], col[i]) for i in order if col[i] > 0 and not shown[i]][:top_k]
    families = []
    for a in ABILITIES:
        v = col[[i for i, x in enumerate(ability) if x == a]]
        if len(v):
            families.append(
                {
                    "ability": a,
                    "mean": float(v.mean()),
                    "max": float(v.max()),
                    "min": float(v.min()),
                    "n_tokens": len(v),
                }
            )
    families.sort(key=lambda r: (-r["mean"], r["ability"]))
    rung_of = [names.ability_of(t)[1] for t in toks]
    levels = []
    for r in (*RUNGS, None):
        v = col[[i for i, x in enumerate(rung_of) if x == r and ability[i] is not None]]
        levels.append({"rung": r if r is not None else "main_only", "mean": float(v.mean())})
    low = np.mean([x["mean"] for x in levels if x["rung"] in (3, 6)])
    high = np.mean([x["mean"] for x in levels if x["rung"] in (51, 57)])
    norms = w["influence_norm"]
    typical = _typical_activation(reader)
    if typical is None:  # no feature_stats: this feature's own, and no percentile
        nz = dense(reader, f)
        own = float(nz[nz > 0].mean()) if (nz > 0).any() else 0.0
        importance, imp_pct = own * norms[f], None
    else:
        imp = typical * norms
        importance, imp_pct = float(imp[f]), percentile_rank(imp, imp[f])
    dirs = w["directions"]
    cos = dirs.T @ dirs[:, f] / np.maximum(w["decoder_norm"] * w["decoder_norm"][f], 1e-12)
    cos[f] = -np.inf
    sim = np.lexsort((np.arange(len(cos)), -cos))[:n_similar]
    return {
        "feature_id": f,
        "definition": "influence = W_out[token] . d_f: the logit change per unit of activation",
        "promoted": promoted,
        "suppressed": suppressed,
        "excluded_families": sorted(excluded),
        "excluded_promoted": hidden,
        "families": families,
        "rung_pattern": levels,
        "note": "promotes low rungs (3, 6) and suppresses high ones (51, 57): anti-stacking"
        if low > 0 > high
        else None,
        "decoder_norm": float(w["decoder_norm"][f]),
        "decoder_norm_percentile": percentile_rank(w["decoder_norm"], w["decoder_norm"][f]),
        "decoder_norms_equal": bool(np.ptp(w["decoder_norm"]) < 1e-6),
        "influence_norm": float(norms[f]),
        "influence_norm_percentile": percentile_rank(norms, norms[f]),
        "importance": num(importance),
        "importance_percentile": imp_pct,
        "importance_definition": "mean activation when firing x influence norm; percentiles "
        "are 0-100 over all features",
        "similar": [{"feature_id": int(j), "cosine": float(cos[j])} for j in sim],
    }
