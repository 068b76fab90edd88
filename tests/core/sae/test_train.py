"""Training: reproducible for a seed, and recovers planted structure."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from splat_core.sae import (
    SAEConfig,
    evaluate_sae,
    fingerprint,
    train_sae,
)
from tests.helpers import ALL_ARCHITECTURES, planted_codes, quiet

# --- training -------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ALL_ARCHITECTURES)
def test_training_is_reproducible(arch):
    x, _ = planted_codes(3000)
    config = SAEConfig(arch=arch, n_features=64, k=4, epochs=2, batch_size=256, device="cpu")
    messages = []
    a, history_a = train_sae(x, config, messages.append)
    b, history_b = train_sae(x, config, quiet)
    for (key, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), key
    drop = {"seconds"}
    assert [{k: v for k, v in h.items() if k not in drop} for h in history_a] == [
        {k: v for k, v in h.items() if k not in drop} for h in history_b
    ]
    assert len(history_a) == len(messages) == 2
    assert {"loss", "mse", "l0", "dead_fraction"} <= set(history_a[0])
    assert history_a[-1]["mse"] < history_a[0]["mse"]
    other, _ = train_sae(x, replace(config, seed=1), quiet)
    assert fingerprint(other) != fingerprint(a)


def test_topk_recovers_planted_structure():
    x, dirs = planted_codes(20000)
    config = SAEConfig(n_features=64, k=4, lr=3e-3, batch_size=256, epochs=5, dead_steps=20,
                       device="cpu")  # fmt: skip
    sae, history = train_sae(x, config, quiet)
    metrics = evaluate_sae(sae, x)
    assert metrics["explained_variance"] > 0.9
    assert metrics["mean_l0"] <= 4
    cosines = np.abs(dirs @ sae.decoder_directions().detach().numpy()).max(1)
    assert (cosines > 0.9).mean() >= 0.75  # most planted directions found
