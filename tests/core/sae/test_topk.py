"""TopKSAE: the k largest non-negative pre-activations, the encoder init, the pre-bias init,
AuxK against dead latents."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from splat_core.sae import (
    SAEConfig,
    TopKSAE,
    evaluate_sae,
    fit_sae,
)
from splat_core.sae.topk import auxk_loss
from splat_core.sae.train import geometric_median
from tests.helpers import gen, planted_codes, quiet

# --- TopKSAE --------------------------------------------------------------------------------


def test_topk_keeps_the_k_largest_nonnegative_pre_activations():
    sae = TopKSAE(32, 128, 5, gen())
    with torch.no_grad():
        sae.b_enc.normal_(0.0, 1.0, generator=gen(2))  # some rows get fewer than k positives
    x = torch.randn(300, 32, generator=gen(3))
    with torch.no_grad():
        h_pre, acts = sae.pre_activations(x).numpy(), sae.encode(x).numpy()
    assert (acts >= 0).all()
    assert (acts > 0).sum(1).max() <= 5
    top = np.sort(h_pre, axis=1)[:, -5:]
    np.testing.assert_array_equal(np.sort(acts, axis=1)[:, -5:], np.maximum(top, 0))
    kept = acts > 0
    np.testing.assert_array_equal(acts[kept], h_pre[kept])
    full_rows = (top > 0).all(1)
    assert full_rows.any() and ((acts > 0).sum(1)[full_rows] == 5).all()


def test_topk_encoder_starts_as_decoder_transpose():
    sae = TopKSAE(32, 96, 4, gen())
    assert torch.equal(sae.W_enc, sae.W_dec.T)
    np.testing.assert_allclose(sae.W_dec.norm(dim=0).detach().numpy(), 1.0, atol=1e-6)
    assert list(sae.state_dict()) == ["b_dec", "W_enc", "b_enc", "W_dec"]


def test_pre_bias_starts_at_the_geometric_median():
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.normal(3.0, 1.0, size=(1000, 4)), np.full((20, 4), 1000.0)])
    median = geometric_median(points)
    assert np.abs(median - 3.0).max() < 0.2  # the mean is pulled to ~22 by the outliers
    assert np.abs(points.mean(0) - 3.0).min() > 10


def test_auxk_loss_is_positive_for_dead_latents_and_only_trains_them():
    sae = TopKSAE(32, 64, 4, gen())
    x = torch.from_numpy(planted_codes(64)[0])
    h_pre = sae.pre_activations(x)
    x_hat = sae.decode(sae.activate(h_pre))
    residual = (x - x_hat).detach()
    dead = torch.zeros(64, dtype=torch.bool)
    assert float(auxk_loss(sae, h_pre, residual, dead, aux_k=8)) == 0.0
    dead[32:] = True
    loss = auxk_loss(sae, h_pre, residual, dead, aux_k=8)
    # numpy: the 8 largest dead pre-activations (relu) reconstruct the residual
    hp, r = h_pre.detach().numpy(), residual.numpy()
    masked = np.where(dead.numpy(), hp, -np.inf)
    keep = np.argsort(masked, axis=1)[:, -8:]
    acts = np.zeros_like(hp)
    np.put_along_axis(acts, keep, np.maximum(np.take_along_axis(hp, keep, 1), 0), axis=1)
    estimate = acts @ sae.decoder_directions().detach().numpy().T
    want = ((estimate - r) ** 2).sum(1).mean() / (r**2).sum(1).mean()
    assert float(loss.detach()) > 0
    assert float(loss.detach()) == pytest.approx(want, rel=1e-5)
    loss.backward()
    assert sae.W_enc.grad[:32].abs().max() == 0
    assert sae.W_enc.grad[32:].abs().max() > 0


def test_auxk_revives_dead_latents():
    x, _ = planted_codes(4000)
    config = SAEConfig(n_features=64, k=4, epochs=4, batch_size=128, lr=3e-3, dead_steps=5,
                       aux_k=16, device="cpu")  # fmt: skip
    dead = {}
    for coeff in (0.0, 1 / 32):
        sae = TopKSAE(32, 64, 4, gen())
        with torch.no_grad():  # 48 latents too weak to ever win the top-k: dead from the start
            sae.W_enc[16:] *= 0.01
            sae.b_dec.copy_(torch.from_numpy(x.mean(0)))
        fit_sae(sae, x, replace(config, aux_coeff=coeff), quiet)
        dead[coeff] = evaluate_sae(sae, x)["dead_fraction"]
    assert dead[0.0] > 0.5
    assert dead[1 / 32] < dead[0.0] / 2
