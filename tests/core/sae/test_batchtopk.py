"""BatchTopKSAE: the top B*k of the batch in training, a JumpReLU with the learned threshold
at inference; the threshold's running mean; training on planted codes; checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from splat_core.sae import (
    BatchTopKSAE,
    SAEConfig,
    encode_csr,
    evaluate_sae,
    load_sae,
    save_sae,
    train_sae,
)
from splat_core.sae.batchtopk import batch_topk
from tests.helpers import gen, planted_codes, quiet, sae_numpy


def test_batch_topk_keeps_exactly_the_batch_largest_entries():
    h_pre = torch.randn(40, 30, generator=gen(1)) + 1.0  # mostly positive: B*k positives exist
    acts = batch_topk(h_pre, 3).numpy()
    flat = np.maximum(h_pre.numpy(), 0).ravel()
    kept = acts.ravel() > 0
    assert kept.sum() == 40 * 3
    assert flat[kept].min() >= flat[~kept].max()  # the largest, whichever rows they are in
    np.testing.assert_array_equal(acts.ravel()[kept], flat[kept])
    assert len(set((acts > 0).sum(1))) > 1  # rows differ in how many latents they keep
    # fewer positives than B*k: only positives survive
    sparse = batch_topk(torch.randn(10, 30, generator=gen(2)) - 3.0, 5).numpy()
    assert (sparse >= 0).all() and (sparse > 0).sum() < 50


def test_threshold_is_a_running_mean_of_the_smallest_kept_activation():
    sae = BatchTopKSAE(8, 16, 2, gen())
    config = SAEConfig(arch="batchtopk", input_dim=8, n_features=16, k=2, topk_threshold_lr=0.1,
                       aux_coeff=0.0)  # fmt: skip
    objective = sae.training_objective(config, 1.0)
    want = 0.0
    for step in range(4):
        x = torch.randn(32, 8, generator=gen(10 + step))
        with torch.no_grad():
            acts = batch_topk(sae.pre_activations(x), 2)
        smallest = float(acts[acts > 0].min())
        weight = max(0.1, 1 / (step + 1))  # a plain mean at first, then the EMA
        want = (1 - weight) * want + weight * smallest
        objective(x, step, torch.zeros(16, dtype=torch.long))
        np.testing.assert_allclose(sae.threshold.numpy(), want, rtol=1e-5)


def test_inference_is_a_jumprelu_with_the_saved_threshold(tmp_path):
    sae = BatchTopKSAE(16, 48, 4, gen())
    with torch.no_grad():
        sae.threshold.fill_(0.3)
        sae.b_enc.normal_(0, 0.2, generator=gen(3))
    path = save_sae(tmp_path / "sae", sae)
    loaded = load_sae(path)
    x = np.random.default_rng(4).normal(size=(64, 16)).astype(np.float32)
    w_enc, b_enc = loaded.W_enc.detach().numpy(), loaded.b_enc.detach().numpy()
    h_pre = (x - loaded.b_dec.detach().numpy()) @ w_enc.T + b_enc
    want = np.where(h_pre > loaded.threshold.numpy(), h_pre, 0.0)
    np.testing.assert_allclose(sae_numpy(loaded, x)[1], want, rtol=1e-5, atol=1e-6)
    assert (loaded.threshold == 0.3).all()
    one = sae_numpy(loaded, x[5:6])[1]  # a sample's code does not depend on its batch
    np.testing.assert_allclose(one[0], sae_numpy(loaded, x)[1][5], rtol=1e-6)


def test_training_on_planted_codes_then_checkpoint(tmp_path):
    x, _ = planted_codes(6000)
    config = SAEConfig(arch="batchtopk", n_features=64, k=4, lr=3e-3, batch_size=256, epochs=3,
                       dead_steps=20, device="cpu")  # fmt: skip
    sae, history = train_sae(x, config, quiet)
    assert history[-1]["loss"] < history[0]["loss"]
    assert history[0]["l0"] == pytest.approx(4.0)  # exactly B*k per batch while training
    metrics = evaluate_sae(sae, x)
    assert metrics["explained_variance"] > 0.6  # 72 steps; 0.92 after 240 (20k samples)
    assert 2.0 < metrics["mean_l0"] < 8.0  # the threshold keeps inference near k
    assert float(sae.threshold[0]) > 0 and (sae.threshold == sae.threshold[0]).all()
    loaded = load_sae(save_sae(tmp_path / "sae", sae, config))
    assert torch.equal(loaded.threshold, sae.threshold)
    indptr, indices, data = encode_csr(loaded, x[:300], batch_size=128)
    acts = sae_numpy(sae, x[:300])[1].astype(np.float32)
    rows, cols = np.nonzero(acts)
    np.testing.assert_array_equal(indices, cols)
    np.testing.assert_array_equal(data, acts[rows, cols])
    np.testing.assert_array_equal(np.diff(indptr), (acts > 0).sum(1))
