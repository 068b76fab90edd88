"""MatryoshkaSAE: the loss is the mean of the nested prefixes' reconstruction losses (by hand),
the widths' defaults and checks, training on planted codes, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from splat_core.sae import MatryoshkaSAE, SAEConfig, evaluate_sae, load_sae, save_sae, train_sae
from splat_core.sae.batchtopk import batch_topk
from tests.helpers import gen, planted_codes, quiet


def test_loss_is_the_mean_of_the_prefix_reconstruction_losses():
    sae = MatryoshkaSAE(12, 32, 3, (4, 12, 32), gen())
    with torch.no_grad():
        sae.b_dec.normal_(0, 0.1, generator=gen(1))
    x = torch.randn(20, 12, generator=gen(2))
    config = SAEConfig(arch="matryoshka", input_dim=12, n_features=32, k=3, aux_coeff=0.0,
                       matryoshka_widths=(4, 12, 32))  # fmt: skip
    step = sae.training_objective(config, variance=0.7)(x, 0, torch.zeros(32, dtype=torch.long))
    with torch.no_grad():
        acts = batch_topk(sae.pre_activations(x), 3).numpy().astype(np.float64)
    d = sae.W_dec.detach().numpy().astype(np.float64)
    d /= np.linalg.norm(d, axis=0)
    b, xn = sae.b_dec.detach().numpy(), x.numpy()
    losses = []
    for width in (4, 12, 32):  # each prefix alone, from scratch
        x_hat = acts[:, :width] @ d[:, :width].T + b
        losses.append(((x_hat - xn) ** 2).mean())
    assert float(step.loss.detach()) == pytest.approx(np.mean(losses) / 0.7, rel=1e-5)
    assert float(step.terms["mse_4"].detach()) == pytest.approx(losses[0], rel=1e-5)
    assert float(step.terms["mse"].detach()) == pytest.approx(losses[-1], rel=1e-5)
    assert losses[0] > losses[-1]
    assert (step.acts.detach().numpy() > 0).sum() == 20 * 3
    assert float(sae.threshold[0]) == pytest.approx(acts[acts > 0].min(), rel=1e-6)


def test_widths_default_and_checks():
    assert SAEConfig(arch="matryoshka").resolved(64).matryoshka_widths == (64, 128, 256, 512)
    assert SAEConfig(arch="topk").resolved(64).matryoshka_widths == ()
    config = SAEConfig.from_dict(
        {"arch": "matryoshka", "n_features": 8, "matryoshka_widths": [2, 8]}
    )
    assert config.matryoshka_widths == (2, 8)  # JSON lists come back as tuples
    with pytest.raises(ValueError, match="strictly increasing"):
        SAEConfig(arch="matryoshka", n_features=8, matryoshka_widths=(4, 2, 8))
    with pytest.raises(ValueError, match="last matryoshka width must be n_features=8"):
        SAEConfig(arch="matryoshka", n_features=8, matryoshka_widths=(2, 4))
    with pytest.raises(ValueError, match="last matryoshka width must be 8"):
        MatryoshkaSAE(4, 8, 2, (2, 4))


def test_training_on_planted_codes_then_checkpoint(tmp_path):
    x, _ = planted_codes(6000)
    config = SAEConfig(arch="matryoshka", n_features=64, k=4, lr=3e-3, batch_size=256,
                       epochs=3, dead_steps=20, device="cpu")  # fmt: skip
    sae, history = train_sae(x, config, quiet)
    assert sae.widths == (8, 16, 32, 64)
    assert history[-1]["loss"] < history[0]["loss"]
    assert history[-1]["mse_8"] > history[-1]["mse_32"] > history[-1]["mse"]
    metrics = evaluate_sae(sae, x)
    assert metrics["explained_variance"] > 0.5  # 72 steps
    assert 2.0 < metrics["mean_l0"] < 8.0
    path = save_sae(tmp_path / "sae", sae, config)
    loaded = load_sae(path)
    assert type(loaded) is MatryoshkaSAE and loaded.widths == sae.widths
    assert torch.equal(loaded.threshold, sae.threshold) and float(sae.threshold[0]) > 0
    xt = torch.from_numpy(x[:200])
    with torch.no_grad():
        assert torch.equal(loaded.encode(xt), sae.encode(xt))
