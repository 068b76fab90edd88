"""Random-subset augmentation: a build's input is a random subset, its target the full set.

As in the reference, r tokens are removed with r in 1..max(1, L-1) and P(r) ~ r^skew
(skew 1.2: biased toward removing many), and an optional instance gives `<NULL>` alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from splat_core.builds.table import BuildTable

MAX_LEN = 15  # the most tokens a full build can have


@dataclass
class Batch:
    tokens: np.ndarray  # int64 [B, L], PAD-filled input tokens
    weapons: np.ndarray  # int64 [B, 1]
    targets: np.ndarray  # bool [B, V], the full builds
    inputs: np.ndarray  # bool [B, V], the tokens given as input


def padded_tokens(table: BuildTable, rows: np.ndarray, width: int = MAX_LEN) -> np.ndarray:
    """[len(rows), width] token ids of full builds, PAD-filled on the right."""
    lengths = table.lengths[rows]
    if len(lengths) and lengths.max() > width:
        raise ValueError(f"a build has {lengths.max()} tokens, more than {width}")
    out = np.full((len(rows), width), table.vocab.pad_id, dtype=np.int64)
    pos = np.arange(width)[None, :] < lengths[:, None]
    gather = table.offsets[rows][:, None] + np.arange(width)[None, :]
    out[pos] = table.token_ids[gather[pos]]
    return out


def removal_cdf(skew: float, width: int = MAX_LEN) -> np.ndarray:
    """cdf[L, r-1] = P(remove <= r tokens | L tokens), for L in 0..width."""
    cdf = np.ones((width + 1, width), dtype=np.float64)
    for length in range(1, width + 1):
        max_r = max(1, length - 1)
        w = np.arange(1, max_r + 1, dtype=np.float64) ** skew
        cdf[length, :max_r] = np.cumsum(w) / w.sum()
    return cdf


def sample_subsets(
    table: BuildTable,
    rows: np.ndarray,
    rng: np.random.Generator,
    skew: float = 1.2,
    null_frac: float = 0.0,
) -> Batch:
    """One random partial build per row of `rows` (a fraction `null_frac` get `<NULL>` only)."""
    n = len(rows)
    null_rows = rng.random(n) < null_frac if null_frac > 0 else np.zeros(n, dtype=bool)
    return subsets_from_uniforms(
        table, rows, rng.random(n), rng.random((n, MAX_LEN)), null_rows, skew
    )


def subsets_from_uniforms(
    table: BuildTable,
    rows: np.ndarray,
    u_count: np.ndarray,
    u_keys: np.ndarray,
    null_rows: np.ndarray,
    skew: float = 1.2,
) -> Batch:
    """Partial builds from given uniforms: `u_count` [B] picks how many tokens go,
    `u_keys` [B, 15] which ones; `null_rows` get `<NULL>` alone."""
    full = padded_tokens(table, rows)
    pad = table.vocab.pad_id
    lengths = table.lengths[rows]
    cdf = removal_cdf(skew)[lengths]
    removed = (u_count[:, None] > cdf).sum(axis=1) + 1
    keep = np.where(null_rows, 0, np.maximum(lengths - removed, 0))
    # Keep the `keep` real tokens with the lowest keys, in their original order.
    keys = np.where(full == pad, np.inf, u_keys)
    rank = np.argsort(np.argsort(keys, axis=1), axis=1)
    kept = rank < keep[:, None]
    order = np.argsort(~kept, axis=1, kind="stable")
    tokens = np.take_along_axis(np.where(kept, full, pad), order, axis=1)
    empty = ~kept.any(axis=1)
    if empty.any():
        if table.vocab.null_id is None:
            raise ValueError("an empty input needs <NULL> in the vocabulary")
        tokens[empty, 0] = table.vocab.null_id
    return _batch(table, rows, tokens, full)


def _batch(table: BuildTable, rows, tokens: np.ndarray, full: np.ndarray) -> Batch:
    vocab_size, pad = len(table.vocab), table.vocab.pad_id
    targets = np.zeros((len(rows), vocab_size), dtype=bool)
    inputs = np.zeros((len(rows), vocab_size), dtype=bool)
    r = np.arange(len(rows))[:, None]
    targets[np.broadcast_to(r, full.shape)[full != pad], full[full != pad]] = True
    inputs[np.broadcast_to(r, tokens.shape)[tokens != pad], tokens[tokens != pad]] = True
    if table.vocab.null_id is not None:
        inputs[:, table.vocab.null_id] = False
    weapons = table.weapon[rows].astype(np.int64)[:, None]
    return Batch(tokens, weapons, targets, inputs)


def fixed_subsets(
    table: BuildTable,
    build_ids: np.ndarray,
    instances: int,
    seed: int,
    skew: float = 1.2,
    include_full: bool = False,
) -> tuple[np.ndarray, np.ndarray, Batch]:
    """Deterministic partial builds: `instances` per build, each a pure function of
    (seed, build id, instance), so shards and re-runs agree. Rows are ordered by
    (build, instance); with include_full, instance `instances` is the full build itself.

    Returns (row of `table`, instance index, batch).
    """
    per = instances + int(include_full)
    rows = np.repeat(np.arange(len(table)), per)
    instance = np.tile(np.arange(per), len(table))
    ids = np.asarray(build_ids, dtype=np.uint64)[rows]
    u = hashed_uniforms(seed, ids, instance.astype(np.uint64), 1 + MAX_LEN)
    full_rows = instance == instances
    batch = subsets_from_uniforms(table, rows, u[:, 0], u[:, 1:], np.zeros(len(rows), bool), skew)
    if include_full:
        full = padded_tokens(table, rows[full_rows])
        batch.tokens[full_rows] = full
        batch.inputs[full_rows] = batch.targets[full_rows]
    return rows, instance, batch


def hashed_uniforms(seed: int, a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """[len(a), n] uniforms in [0, 1), a pure function of (seed, a[i], b[i], column)."""
    with np.errstate(over="ignore"):
        x = _splitmix64(np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + a.astype(np.uint64))
        x = _splitmix64(x ^ (b.astype(np.uint64) * np.uint64(0xBF58476D1CE4E5B9)))
        cols = _splitmix64(x[:, None] + np.arange(1, n + 1, dtype=np.uint64)[None, :])
    return (cols >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))
