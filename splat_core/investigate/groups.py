"""Per-group statistics of a feature's activations, and with/without effects of items.

Everything is vectorised with bincount; standard deviations use ddof=1 (so stderr is the
standard error of the mean) and come out None below two samples. Numbers are plain floats
(NaN as None) so the results go straight to JSON.
"""

from __future__ import annotations

import math

import numpy as np


def num(x) -> float | None:
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


def group_stats(a: np.ndarray, code: np.ndarray, n_groups: int) -> list[dict]:
    """Per group code 0..n_groups-1 over the samples given (`a` and `code` aligned): n, mean,
    std, stderr, n_firing, firing_rate, mean_firing (the mean over its nonzero values)."""
    n = np.bincount(code, minlength=n_groups)
    s = np.bincount(code, weights=a, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / n
        ss = np.bincount(code, weights=(a - mean[code]) ** 2, minlength=n_groups)
        std = np.where(n > 1, np.sqrt(ss / (n - 1)), np.nan)
        fire = np.bincount(code, weights=(a > 0).astype(np.float64), minlength=n_groups)
        mean_fire = s / fire
    return [
        {
            "n": int(n[g]),
            "mean": num(mean[g]),
            "std": num(std[g]),
            "stderr": num(std[g] / math.sqrt(n[g])) if n[g] > 1 else None,
            "n_firing": int(fire[g]),
            "firing_rate": num(fire[g] / n[g]) if n[g] else None,
            "mean_firing": num(mean_fire[g]),
        }
        for g in range(n_groups)
    ]


def presence_effects(
    a: np.ndarray, pos: np.ndarray, item: np.ndarray, n_items: int, high: np.ndarray
) -> dict[str, np.ndarray]:
    """With/without statistics per item over all len(a) samples. (pos, item) pairs say which
    sample holds which item, each at most once. `high` marks the high-activation group.

    Keys: n_with, n_without, mean_with, mean_without, std_with, std_without, delta, cohens_d,
    firing_with, firing_without (rates), rate_all, rate_high (presence rates)."""
    n = len(a)
    w = np.bincount(item, minlength=n_items).astype(np.float64)
    wo = n - w
    s_w = np.bincount(item, weights=a[pos], minlength=n_items)
    total, mean_all = a.sum(), a.mean() if n else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        m_w, m_wo = s_w / w, (total - s_w) / wo
        # two-pass sums of squares; the without group's by the exact shift identity
        ss_w = np.bincount(item, weights=(a[pos] - m_w[item]) ** 2, minlength=n_items)
        ss_all = ((a - mean_all) ** 2).sum()
        ss_w_at_wo = np.bincount(item, weights=(a[pos] - m_wo[item]) ** 2, minlength=n_items)
        ss_wo = np.maximum(ss_all + n * (mean_all - m_wo) ** 2 - ss_w_at_wo, 0.0)
        var_w = np.where(w > 1, ss_w / (w - 1), np.nan)
        var_wo = np.where(wo > 1, ss_wo / (wo - 1), np.nan)
        pooled = np.sqrt((ss_w + ss_wo) / (n - 2)) if n > 2 else np.full(n_items, np.nan)
        delta = m_w - m_wo
        d = np.where(pooled > 0, delta / pooled, np.nan)
        f_w = np.bincount(item, weights=(a[pos] > 0).astype(np.float64), minlength=n_items)
        f_total = float((a > 0).sum())
        h_w = np.bincount(item, weights=high[pos].astype(np.float64), minlength=n_items)
        n_high = float(high.sum())
        return {
            "n_with": w.astype(np.int64),
            "n_without": wo.astype(np.int64),
            "mean_with": m_w,
            "mean_without": m_wo,
            "std_with": np.sqrt(var_w),
            "std_without": np.sqrt(var_wo),
            "delta": delta,
            "cohens_d": d,
            "firing_with": f_w / w,
            "firing_without": (f_total - f_w) / wo,
            "rate_all": w / n if n else np.full(n_items, np.nan),
            "rate_high": h_w / n_high if n_high else np.full(n_items, np.nan),
        }


def row(effects: dict[str, np.ndarray], i: int) -> dict:
    out = {}
    for k, v in effects.items():
        out[k] = int(v[i]) if v.dtype.kind == "i" else num(v[i])
    return out


def ratio(num_: float | None, den: float | None) -> float | None:
    if num_ is None or not den:
        return None
    return num_ / den
