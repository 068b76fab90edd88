"""Several of a feature's tables in one answer (the API's summary and batch forms)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pyarrow.compute as pc

from splat_core.query.reader import Reader
from splat_core.store.contract import TABLE_OF_PART

TABLE_PARTS = tuple(TABLE_OF_PART)  # stats, histogram, ..., neighbors, explanations
PARTS = (*TABLE_PARTS, "label", "examples")
# Tables with several kinds of rows per feature: a summary keeps the top_k of each kind.
GROUPED_BY = {"tokens": "kind", "weapons": "kind", "influence": "sign", "neighbors": "kind"}
SINGLE_ROW = ("stats", "map")  # one row per feature (or none): answered as that row or None


def top_per_kind(rows: list[dict], key: str, k: int) -> list[dict]:
    """The first k rows (by rank) of each kind (`key` = 'kind' or 'sign'), kinds in order of
    first appearance; the key column is kept."""
    seen: dict[str, int] = {}
    out = []
    for row in sorted(rows, key=lambda r: (r.get(key), r["rank"])):
        n = seen.get(row[key], 0)
        if n < k:
            out.append(row)
        seen[row[key]] = n + 1
    return out


def feature_parts(
    reader: Reader,
    f: int,
    parts: Iterable[str] = PARTS,
    top_k: int = 10,
    examples: int = 10,
    label: Callable[[int], dict | None] | None = None,
) -> dict:
    """{feature_id, nnz, <part>: ...} for the asked parts; `label(f)` looks a label up."""
    parts = list(dict.fromkeys(parts))
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise ValueError(f"unknown parts {unknown}; choose from {', '.join(PARTS)}")
    f = reader.check_feature(f)
    out: dict = {"feature_id": f, "nnz": int(reader.csc.indptr[f + 1] - reader.csc.indptr[f])}
    for part in parts:
        if part in TABLE_OF_PART:
            rows = reader.feature_rows(TABLE_OF_PART[part], f)
            if part in SINGLE_ROW:
                out[part] = rows[0] if rows else None
            elif part in GROUPED_BY:
                out[part] = top_per_kind(rows, GROUPED_BY[part], top_k)
            elif part == "correlations":
                out[part] = rows[:top_k]  # ranked: the first top_k
            else:
                out[part] = rows
        elif part == "label":
            out["label"] = label(f) if label is not None else None
        elif part == "examples":
            out["examples"] = [e.to_dict() for e in reader.top_examples(f, examples)]
    return out


def feature_index(reader: Reader, labels: dict[int, str] | None = None) -> list[dict]:
    """One row per feature for a sortable overview: nnz, density, max, first enhancer token,
    label name. Read from the stats and tokens tables once, not per feature."""
    counts = reader.feature_counts()
    n = len(counts)
    density = np.full(n, np.nan)
    top = np.full(n, np.nan)
    stats = reader.table("feature_stats").table
    ids = stats.column("feature_id").to_numpy()
    density[ids] = stats.column("density").to_numpy()
    top[ids] = stats.column("max").to_numpy()
    tokens = reader.table("feature_tokens").table
    firsts = tokens.filter(
        pc.and_(pc.equal(tokens["kind"], "enhancer"), pc.equal(tokens["rank"], 1))
    )
    first = dict(zip(firsts["feature_id"].to_pylist(), firsts["token"].to_pylist(), strict=True))
    labels = labels or {}
    return [
        {
            "feature_id": f,
            "nnz": int(counts[f]),
            "density": None if np.isnan(density[f]) else float(density[f]),
            "max": None if np.isnan(top[f]) else float(top[f]),
            "top_token": first.get(f),
            "label": labels.get(f),
        }
        for f in range(n)
    ]
