"""Drawing seed-scale activations directly (the seed-scale store's `activations`): for every
sample, `active` distinct features by successive sampling from a Zipf law over a seeded
permutation of the features, plus each planted big feature on an exact number of samples;
values are a per-feature lognormal scale times a per-entry lognormal."""

from __future__ import annotations

import numpy as np


class ActivationPlan:
    """What is global to all shards: the Zipf law over features, per-feature value scales,
    and which samples each big feature fires on (exact counts)."""

    def __init__(self, n_samples, n_features, active, big_features, seed, offset, exponent):
        self.n_samples, self.n_features, self.active = n_samples, n_features, active
        self.seed = seed
        self.big_ids = np.array([int(f) for f, _ in big_features], dtype=np.int64)
        counts = [int(c) for _, c in big_features]
        _validate(n_samples, n_features, active, self.big_ids, counts)
        rng = np.random.default_rng([seed, 0])
        others = np.setdiff1d(np.arange(n_features), self.big_ids)
        self.candidates = rng.permutation(others).astype(np.int32)  # by Zipf rank
        weights = 1.0 / (np.arange(len(others)) + offset) ** exponent
        self.cdf = np.cumsum(weights) / weights.sum()
        self.scale = rng.lognormal(0.0, 0.5, n_features)
        self.big_rows = np.zeros((len(self.big_ids), n_samples), dtype=bool)
        for i, c in enumerate(counts):
            self.big_rows[i, rng.choice(n_samples, size=c, replace=False)] = True

    def rows(self, rng: np.random.Generator, start: int, stop: int):
        """CSR (indptr, indices int32, data float32) of samples [start, stop)."""
        n = stop - start
        drawn = self.candidates[distinct_draws(rng, n, self.active, self.cdf)]
        big = np.where(self.big_rows[:, start:stop].T, self.big_ids[None, :], self.n_features)
        cols = np.concatenate([big.astype(np.int32), drawn], axis=1)
        cols.sort(axis=1)
        present = cols < self.n_features
        indptr = np.zeros(n + 1, np.int64)
        np.cumsum(present.sum(axis=1), out=indptr[1:])
        indices = cols[present]
        noise = rng.lognormal(0.0, 0.75, len(indices))
        return indptr, indices, (self.scale[indices] * noise).astype(np.float32)


def _validate(n_samples, n_features, active, big_ids, counts) -> None:
    if len(set(big_ids.tolist())) != len(big_ids):
        raise ValueError(f"big feature ids repeat: {big_ids.tolist()}")
    if len(big_ids) and (big_ids.min() < 0 or big_ids.max() >= n_features):
        raise ValueError(f"big feature ids must lie in [0, {n_features})")
    if any(not 0 <= c <= n_samples for c in counts):
        raise ValueError(f"big feature counts must lie in [0, {n_samples}]: {counts}")
    if not 1 <= active <= n_features - len(big_ids):
        raise ValueError(f"active_per_sample must be in [1, {n_features - len(big_ids)}]")


def distinct_draws(rng: np.random.Generator, n_rows: int, k: int, cdf: np.ndarray, m=None):
    """[n_rows, k] distinct indices per row by successive sampling from `cdf`: draw m with
    replacement, keep the first k first-occurrences (rows short of k are drawn again)."""
    m = m or k + max(16, k // 4)
    draws = np.searchsorted(cdf, rng.random((n_rows, m)), side="right").astype(np.int32)
    np.minimum(draws, len(cdf) - 1, out=draws)
    order = np.argsort(draws, axis=1, kind="stable")
    ranked = np.take_along_axis(draws, order, axis=1)
    first_sorted = np.ones_like(ranked, dtype=bool)
    first_sorted[:, 1:] = ranked[:, 1:] != ranked[:, :-1]
    first = np.empty_like(first_sorted)
    np.put_along_axis(first, order, first_sorted, axis=1)
    keep = first & (np.cumsum(first, axis=1) <= k)
    full = keep.sum(axis=1) == k
    out = np.empty((n_rows, k), np.int32)
    out[full] = draws[full][keep[full]].reshape(-1, k)
    if not full.all():
        out[~full] = distinct_draws(rng, int((~full).sum()), k, cdf, 2 * m)
    return out
