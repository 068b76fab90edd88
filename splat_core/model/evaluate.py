"""Held-out metrics of set completion, for the model and for a frequency baseline.

All metrics are over the content tokens (not <PAD>/<NULL>):
- micro precision / recall / F1 of `score >= 0.5` against the full build;
- completion recall: of the tokens removed from the input, the share found among the
  model's top-|removed| tokens that were not in the input (micro-averaged).
"""

from __future__ import annotations

import numpy as np
import torch

from splat_core.builds.subsets import Batch
from splat_core.builds.table import BuildTable


@torch.no_grad()
def predict_proba(model, tokens: np.ndarray, weapons: np.ndarray, batch_size: int = 2048):
    """Sigmoid probabilities [N, V] of the model for padded inputs."""
    device = next(model.parameters()).device
    model.eval()
    out = []
    for start in range(0, len(tokens), batch_size):
        t = torch.from_numpy(tokens[start : start + batch_size]).to(device)
        w = torch.from_numpy(weapons[start : start + batch_size]).to(device)
        out.append(torch.sigmoid(model(t, w)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.output_layer.out_features))


def completion_metrics(scores: np.ndarray, batch: Batch, content: np.ndarray) -> dict[str, float]:
    """Micro P/R/F1 at 0.5 and completion recall, over the `content` token columns."""
    s, y, given = scores[:, content], batch.targets[:, content], batch.inputs[:, content]
    pred = s >= 0.5
    tp = float((pred & y).sum())
    precision = tp / max(float(pred.sum()), 1.0)
    recall = tp / max(float(y.sum()), 1.0)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return {
        "micro_precision": precision,
        "micro_recall": recall,
        "micro_f1": f1,
        "completion_recall": completion_recall(s, y, given),
        "n_instances": len(scores),
    }


def completion_recall(scores: np.ndarray, targets: np.ndarray, given: np.ndarray) -> float:
    """Share of removed tokens ranked within the top-|removed| of the tokens not given."""
    removed = targets & ~given
    k = removed.sum(axis=1)
    ranked = np.where(given, -np.inf, scores)
    # Rank of each token among the candidates, best first (ties broken by column).
    order = np.argsort(-ranked, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(scores.shape[1])[None, :], axis=1)
    hits = (removed & (rank < k[:, None])).sum()
    return float(hits) / max(float(k.sum()), 1.0)


def weapon_frequency(train: BuildTable, smoothing: float = 1.0) -> np.ndarray:
    """[W, V]: share of each weapon's training builds holding each token.

    Weapons with few builds are shrunk toward the overall frequency (`smoothing` pseudo-builds).
    """
    hot = train.multi_hot().astype(np.float64)
    n_weapons = len(train.weapon_vocab)
    counts = np.zeros((n_weapons, hot.shape[1]))
    np.add.at(counts, train.weapon, hot)
    n = np.bincount(train.weapon, minlength=n_weapons)[:, None].astype(np.float64)
    overall = hot.mean(axis=0, keepdims=True) if len(hot) else np.zeros((1, hot.shape[1]))
    return (counts + smoothing * overall) / (n + smoothing)


def baseline_scores(freq: np.ndarray, batch: Batch, copy_input: bool) -> np.ndarray:
    """Baseline probabilities: the weapon's token frequency (and, if copy_input, 1 for given)."""
    scores = freq[batch.weapons[:, 0]].copy()
    if copy_input:
        scores[batch.inputs] = 1.0
    return scores
