"""SAE quality metrics against direct numpy computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from splat_core.sae import (
    evaluate_sae,
    loss_recovered,
)
from tests.helpers import relu_sae_with_dead_latents, sae_numpy

# --- metrics --------------------------------------------------------------------------------


def test_reconstruction_metrics_match_numpy():
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(300, 16)) * rng.uniform(0.5, 2, 16) + 1.5).astype(np.float32)
    sae = relu_sae_with_dead_latents()
    x_hat, acts = sae_numpy(sae, x)
    x64 = x.astype(np.float64)
    ev = 1 - ((x64 - x_hat) ** 2).sum() / ((x64 - x64.mean(0)) ** 2).sum()
    metrics = evaluate_sae(sae, x, batch_size=64)  # 5 batches, the last one short
    assert metrics["explained_variance"] == pytest.approx(ev, rel=1e-6)
    assert metrics["mse"] == pytest.approx(((x64 - x_hat) ** 2).mean(), rel=1e-6)
    assert metrics["mean_l0"] == pytest.approx((acts > 0).sum(1).mean())
    assert metrics["dead_fraction"] == pytest.approx((~(acts > 0).any(0)).mean())
    assert metrics["n_dead"] >= 5 and metrics["n_samples"] == 300
    assert "loss_recovered" not in metrics


def _bce(logits: np.ndarray, targets: np.ndarray) -> float:
    return float(np.mean(np.logaddexp(0, logits) - targets * logits))


def test_loss_recovered_matches_formula():
    rng = np.random.default_rng(2)
    x = (rng.normal(size=(300, 16)) + 1.0).astype(np.float32)
    targets = rng.random((300, 10)) < 0.3
    columns = np.array([0, 2, 3, 5, 7, 9])
    out = nn.Linear(16, 10)
    w, b = rng.normal(size=(10, 16)), rng.normal(size=10)
    with torch.no_grad():
        out.weight.copy_(torch.from_numpy(w))
        out.bias.copy_(torch.from_numpy(b))
    sae = relu_sae_with_dead_latents()
    x_hat, _ = sae_numpy(sae, x)
    t = targets[:, columns].astype(np.float64)

    clean = _bce((x.astype(np.float64) @ w.T + b)[:, columns], t)
    spliced = _bce((x_hat @ w.T + b)[:, columns], t)
    ablated = _bce(np.broadcast_to((x.mean(0, dtype=np.float64) @ w.T + b)[columns], t.shape), t)
    want = (ablated - spliced) / (ablated - clean)
    got = loss_recovered(out, x, targets, sae, columns, batch_size=64)
    assert got == pytest.approx(want, rel=1e-5)
    metrics = evaluate_sae(sae, x, out, targets, columns, batch_size=64)
    assert metrics["loss_clean"] == pytest.approx(clean, rel=1e-5)
    assert metrics["loss_spliced"] == pytest.approx(spliced, rel=1e-5)
    assert metrics["loss_ablated"] == pytest.approx(ablated, rel=1e-5)
    assert metrics["loss_recovered"] == pytest.approx(want, rel=1e-5)
    # Held-out rows: losses on those rows, the ablation mean still over all rows.
    held = np.arange(0, 300, 3)
    sub = evaluate_sae(sae, x, out, targets[held], columns, held_out_rows=held)
    mean_logits = (x.mean(0, dtype=np.float64) @ w.T + b)[columns]
    ablated_held = _bce(np.broadcast_to(mean_logits, (len(held), len(columns))), t[held])
    assert sub["loss_ablated"] == pytest.approx(ablated_held, rel=1e-5)
    assert sub["loss_clean"] == pytest.approx(_bce((x[held] @ w.T + b)[:, columns], t[held]),
                                              rel=1e-5)  # fmt: skip
    assert sub["n_loss_samples"] == len(held)
