"""Small computations behind the feature explorer's views, kept out of the UI (and tested
without it): histogram bars, binned examples, exact-token encodings, prediction changes,
a feature's explanation block."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from splat_core.domain.present import example_row, token_name
from splat_core.domain.vocab import NULL
from splat_core.explain.search import Split, config_from_json
from splat_core.explain.table import CONFIG_KEY
from splat_core.investigate.explanations import explain_feature
from splat_core.query.examples import Example, WeaponInfo


def interval_groups(examples: Sequence) -> list[dict]:
    """Quantile-binned examples grouped by bin, highest bin first; examples keep their
    descending activation order."""
    groups: dict[int, dict] = {}
    for e in examples:
        g = groups.setdefault(e.bin, {"bin": e.bin, "lo": e.bin_lo, "hi": e.bin_hi, "rows": []})
        g["rows"].append(example_row(e))
    return [groups[b] for b in sorted(groups, reverse=True)]


def histogram_bars(rows: Sequence[Mapping], n_samples: int, nnz: int, zeros: bool) -> list[dict]:
    """The feature's histogram bins (over its nonzero range) as bars; with `zeros`, a first
    bar for the samples where it does not fire (exact: n_samples - nnz)."""
    bars = [
        {"lo": float(r["lo"]), "hi": float(r["hi"]), "count": int(r["count"]), "zero": False}
        for r in sorted(rows, key=lambda r: r["bin"])
    ]
    if zeros:
        bars.insert(0, {"lo": 0.0, "hi": 0.0, "count": int(n_samples - nnz), "zero": True})
    return bars


def encode_tokens(reader, weapon_id: int, tokens: Iterable[str]) -> tuple[dict, np.ndarray]:
    """(probability per content token, SAE activations [F]) of the model on exactly these
    input tokens, e.g. a stored partial build (which `Reader.encode`'s AP form cannot hold)."""
    enc = reader.encoder
    toks = [t for t in tokens if t != NULL] or [NULL]
    probs, _, acts = enc.forward([(enc.weapon_index(int(weapon_id)), toks)])
    return dict(zip(enc.content_names, probs[0].tolist(), strict=True)), acts[0]


def top_features(activations: np.ndarray, n: int) -> list[tuple[int, float]]:
    """The n largest nonzero activations as (feature, value), ties by feature id."""
    nz = np.flatnonzero(activations)
    nz = nz[np.lexsort((nz, -activations[nz]))][:n]
    return [(int(f), float(activations[f])) for f in nz]


def prediction_rows(before: Mapping[str, float], after: Mapping[str, float], n: int) -> list[dict]:
    """The top-n predicted tokens of either build: probability before, after, and change;
    by probability after, highest first."""
    top = lambda p: sorted(p, key=lambda t: (-p[t], t))[:n]  # noqa: E731
    keep = dict.fromkeys(top(after) + top(before))
    rows = [
        {
            "token": t,
            "name": token_name(t),
            "before": float(before.get(t, 0.0)),
            "after": float(after.get(t, 0.0)),
            "change": float(after.get(t, 0.0) - before.get(t, 0.0)),
        }
        for t in keep
    ]
    rows.sort(key=lambda r: (-r["after"], r["token"]))
    return rows


def explanation_examples(reader, f: int, k: int = 5) -> dict:
    """`explain_feature` with its misses and hard negatives as example-table rows."""
    out = explain_feature(reader, f, k)
    for part in ("misses", "hard_negatives"):
        out[part] = [example_row(Example(**{**e, "weapon": WeaponInfo(**e["weapon"])}))
                     for e in out[part]]  # fmt: skip
    return out


def search_positives(reader, f: int) -> tuple[int, int]:
    """(feature f's firing samples among those the explanation search fits on, the fewest it
    searches): why a feature has no explanation row."""
    meta = reader.table("feature_explanations").table.schema.metadata or {}
    config = config_from_json(meta[CONFIG_KEY])
    ids, _ = reader.activations(f)
    fit = Split.of(reader.n_samples, config).fit
    return int(np.isin(ids, fit).sum()), config.min_positives
