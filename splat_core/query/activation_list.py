"""A feature's activation list as one Arrow table: the seed server's `/activations` payload,
built by gathering per-sample metadata by position (no join over all samples)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

# Column names of the seed's activation server; `weapon_id` and the token ids are the model's
# input indices, mapped to names by /context/inv_vocab as in the seed.
COLUMNS = ("sample_id", "activation", "weapon_id", "ability_input_tokens")


def select_rows(
    n: int, limit: int | None, sample_frac: float | None, seed: int
) -> np.ndarray | slice:
    """Positions into a feature's descending list: an optional seeded sample of a fraction of
    the entries (kept in descending order), then the first `limit` of those (the top-N)."""
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    if sample_frac is None:
        return slice(0, n if limit is None else min(limit, n))
    if not 0.0 < sample_frac <= 1.0:
        raise ValueError(f"sample_frac must be in (0, 1], got {sample_frac}")
    size = int(round(sample_frac * n))
    picked = np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
    return picked if limit is None else picked[:limit]


def activation_table(
    sample_ids: np.ndarray,
    values: np.ndarray,
    weapons: np.ndarray,
    tokens: pa.ListArray | None = None,
) -> pa.Table:
    """Rows (sample id, activation, weapon index[, input token ids]) in the given order.
    Sample ids are uint32 while they fit: the largest lists are mostly ids."""
    ids = np.asarray(sample_ids)
    narrow = ids.size == 0 or int(ids.max()) < 2**32
    columns = {
        "sample_id": pa.array(ids.astype(np.uint32 if narrow else np.int64, copy=False)),
        "activation": pa.array(np.asarray(values, dtype=np.float32)),
        "weapon_id": pa.array(np.asarray(weapons).astype(np.int16, copy=False)),
    }
    if tokens is not None:
        columns["ability_input_tokens"] = tokens
    return pa.table(columns)
