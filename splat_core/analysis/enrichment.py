"""Enrichment of a category among a feature's top activations versus all samples."""

from __future__ import annotations

import numpy as np


def enrichment(count_top, n_top: int, df, n_samples: int) -> np.ndarray:
    """log2 of the smoothed rate among the top over the smoothed base rate (+0.5 / +1 keep
    it finite for categories absent from either side)."""
    top = np.log2((np.asarray(count_top, dtype=np.float64) + 0.5) / (n_top + 1))
    base = np.log2((np.asarray(df, dtype=np.float64) + 0.5) / (n_samples + 1))
    return top - base


def presence_counts(
    sample_pos: np.ndarray, categories: np.ndarray, n_categories: int
) -> np.ndarray:
    """How many distinct samples hold each category (a repeated token counts once)."""
    keys = np.unique(sample_pos.astype(np.int64) * n_categories + categories)
    return np.bincount(keys % n_categories, minlength=n_categories)
