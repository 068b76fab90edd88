"""Per-feature breakdown of top activations by weapon, class, sub and special."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from splat_core.analysis.enrichment import enrichment
from splat_core.builds.sample_meta import SampleMeta
from splat_core.domain.vocab import WeaponVocab
from splat_core.domain.weapons import weapons_by_id

UNKNOWN = "unknown"
KINDS = ("weapon", "class", "sub", "special")


def weapon_categories(weapon_vocab: WeaponVocab) -> dict[str, tuple[np.ndarray, list, list]]:
    """Per kind: (code of each dense weapon index, key per code, name per code)."""
    table = weapons_by_id()
    ref_ids = weapon_vocab.weapon_ids
    info = [table.get(w) for w in ref_ids]
    out = {
        "weapon": (
            np.arange(len(ref_ids)),
            [str(w) for w in ref_ids],
            [i.name if i else UNKNOWN for i in info],
        )
    }
    for kind, attr in (("class", "weapon_class"), ("sub", "sub"), ("special", "special")):
        labels = [getattr(i, attr) if i else UNKNOWN for i in info]
        keys = sorted(set(labels))
        code = np.array([keys.index(lab) for lab in labels], dtype=np.int64)
        out[kind] = (code, keys, keys)
    return out


def feature_weapons(csc, meta: SampleMeta, top_n: int = 1000, k: int = 10) -> pa.Table:
    """Columns: feature_id, kind (weapon|class|sub|special), rank, key (weapon: reference id
    as a string; else the label), name, count_top, n_top, rate_top, base_rate, enrichment.
    Per kind the k keys with the most top activations (ties: higher enrichment, then key)."""
    cats = weapon_categories(meta.weapon_vocab)
    n = meta.n_samples
    base = {
        kind: np.bincount(code[meta.weapon], minlength=len(keys))
        for kind, (code, keys, _) in cats.items()
    }
    names_ = ("feature_id", "kind", "rank", "key", "name", "count_top", "n_top", "enrichment")
    cols: dict[str, list] = {c: [] for c in (*names_, "base")}
    for f in range(int(csc.n_features)):
        ids, _ = csc.feature(f, limit=top_n)
        n_top = len(ids)
        if n_top == 0:
            continue
        w = meta.weapon[np.asarray(ids, dtype=np.int64)]
        for kind in KINDS:
            code, keys, names = cats[kind]
            count = np.bincount(code[w], minlength=len(keys))
            enr = enrichment(count, n_top, base[kind], n)
            order = np.lexsort((np.arange(len(keys)), -enr, -count))
            picked = order[count[order] > 0][:k]
            m = len(picked)
            cols["feature_id"].append(np.full(m, f))
            cols["kind"] += [kind] * m
            cols["rank"].append(np.arange(1, m + 1))
            cols["key"] += [keys[i] for i in picked]
            cols["name"] += [names[i] for i in picked]
            cols["count_top"].append(count[picked])
            cols["n_top"].append(np.full(m, n_top))
            cols["enrichment"].append(enr[picked])
            cols["base"].append(base[kind][picked])
    cat = {c: np.concatenate(v) if v else np.empty(0) for c, v in cols.items()
           if c not in ("kind", "key", "name")}  # fmt: skip
    count, n_top = cat["count_top"], cat["n_top"]
    return pa.table(
        {
            "feature_id": pa.array(cat["feature_id"], pa.int32()),
            "kind": pa.array(cols["kind"], pa.string()),
            "rank": pa.array(cat["rank"], pa.int32()),
            "key": pa.array(cols["key"], pa.string()),
            "name": pa.array(cols["name"], pa.string()),
            "count_top": pa.array(count, pa.int64()),
            "n_top": pa.array(n_top, pa.int64()),
            "rate_top": pa.array(count / np.maximum(n_top, 1), pa.float64()),
            "base_rate": pa.array(cat["base"] / max(n, 1), pa.float64()),
            "enrichment": pa.array(cat["enrichment"], pa.float64()),
        }
    )
