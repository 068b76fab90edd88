"""Interpretability against the planted ground truth of synthetic data.

For each archetype, the best single SAE feature as a detector of "this sample comes from a
build of that archetype": AUROC of the feature's activation, over the samples.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def auroc_per_feature(acts: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """[F] AUROC of each column of `acts` [N, F] for the boolean labels `positive` [N].

    Mann-Whitney U with average ranks for ties (many zeros tie)."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return np.full(acts.shape[1], np.nan)
    ranks = rankdata(acts, axis=0)
    rank_sum = ranks[positive].sum(axis=0)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def best_feature_per_label(acts: np.ndarray, labels: np.ndarray, names: list[str]) -> dict:
    """{name: {"feature", "auroc", "n"}} for every label value present in `labels`."""
    out = {}
    for code, name in enumerate(names):
        positive = labels == code
        if not positive.any() or positive.all():
            continue
        scores = auroc_per_feature(acts, positive)
        best = int(np.nanargmax(scores))
        out[name] = {"feature": best, "auroc": round(float(scores[best]), 4),
                     "n": int(positive.sum())}  # fmt: skip
    return out
