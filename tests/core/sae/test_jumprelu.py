"""JumpReLUSAE: inference against a numpy JumpReLU, the straight-through pseudo-derivatives
against the hand-derived formulas, both sparsity penalties, training, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from splat_core.sae import (
    JumpReLUSAE,
    SAEConfig,
    encode_csr,
    evaluate_sae,
    load_sae,
    save_sae,
    train_sae,
)
from splat_core.sae.jumprelu import JumpReLUFunction, StepFunction
from tests.helpers import gen, planted_codes, quiet, sae_numpy


def _jumprelu_sae() -> JumpReLUSAE:
    sae = JumpReLUSAE(16, 40, init_threshold=0.2, bandwidth=0.1, generator=gen())
    with torch.no_grad():
        sae.log_threshold.uniform_(-3.0, 0.0, generator=gen(1))  # thresholds differ per latent
        sae.b_enc.normal_(0, 0.3, generator=gen(2))
    return sae


def test_encode_is_a_numpy_jumprelu_with_the_saved_thresholds(tmp_path):
    sae = _jumprelu_sae()
    loaded = load_sae(save_sae(tmp_path / "sae", sae))
    assert torch.equal(loaded.log_threshold, sae.log_threshold) and loaded.bandwidth == 0.1
    x = np.random.default_rng(3).normal(size=(80, 16)).astype(np.float32)
    p = {k: v.detach().numpy().astype(np.float64) for k, v in loaded.state_dict().items()}
    h_pre = (x - p["b_dec"]) @ p["W_enc"].T + p["b_enc"]
    acts = np.where(h_pre > np.exp(p["log_threshold"]), h_pre, 0.0)
    x_hat = acts @ (p["W_dec"] / np.linalg.norm(p["W_dec"], axis=0)).T + p["b_dec"]
    got_x_hat, got_acts = sae_numpy(loaded, x)
    np.testing.assert_allclose(got_acts, acts, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_x_hat, x_hat, rtol=1e-5, atol=1e-5)
    assert 0 < (acts > 0).mean() < 0.5
    indptr, indices, data = encode_csr(loaded, x, batch_size=32)  # the activation store's path
    rows, cols = np.nonzero(got_acts)
    np.testing.assert_array_equal(indices, cols)
    np.testing.assert_array_equal(data, got_acts[rows, cols].astype(np.float32))
    np.testing.assert_array_equal(np.diff(indptr), (got_acts > 0).sum(1))


def test_pseudo_derivatives_equal_the_hand_derived_formulas():
    x = torch.tensor([[0.50, 0.95, 0.30], [1.04, 0.10, 0.33], [0.97, 2.00, 0.20]],
                     requires_grad=True)  # fmt: skip
    theta = torch.tensor([1.0, 0.9, 0.31], requires_grad=True)
    g = torch.tensor([[1.0, -2.0, 0.5], [3.0, 1.0, -1.0], [0.5, 0.25, 2.0]])
    eps = 0.1
    (JumpReLUFunction.apply(x, theta, eps) * g).sum().backward()
    xn, tn, gn = x.detach().numpy(), theta.detach().numpy(), g.numpy()
    inside = np.abs((xn - tn) / eps) < 0.5  # rect((x - theta) / eps)
    np.testing.assert_allclose(x.grad.numpy(), (xn > tn) * gn)
    np.testing.assert_allclose(theta.grad.numpy(), (-(tn / eps) * inside * gn).sum(0), rtol=1e-6)
    # by hand: column 0 has x=1.04 and 0.97 within 0.05 of theta=1.0: -(1/0.1)(3 + 0.5)
    assert float(theta.grad[0]) == pytest.approx(-35.0)
    theta.grad = None
    (StepFunction.apply(x, theta, eps) * g).sum().backward()
    np.testing.assert_allclose(theta.grad.numpy(), (-(1 / eps) * inside * gn).sum(0), rtol=1e-6)
    # log-parametrised: dL/dlog_theta = theta * dL/dtheta
    sae = JumpReLUSAE(3, 3, bandwidth=eps)
    with torch.no_grad():
        sae.log_threshold.copy_(theta.log())
    (sae.activate(x.detach()) * g).sum().backward()
    want = tn * (-(tn / eps) * inside * gn).sum(0)
    np.testing.assert_allclose(sae.log_threshold.grad.numpy(), want, rtol=1e-5)


@pytest.mark.parametrize("mode", ["step", "tanh"])
def test_the_sparsity_penalties_match_numpy(mode):
    sae = _jumprelu_sae()
    x = torch.from_numpy(np.random.default_rng(5).normal(size=(50, 16)).astype(np.float32))
    config = SAEConfig(arch="jumprelu", input_dim=16, n_features=40, l0_coefficient=0.2,
                       jumprelu_sparsity_loss_mode=mode, jumprelu_tanh_scale=3.0,
                       pre_act_loss_coefficient=0.01)  # fmt: skip
    step = sae.training_objective(config, variance=0.5)(x, 0, torch.zeros(40, dtype=torch.long))
    x_hat, acts = sae_numpy(sae, x.numpy())
    h_pre = sae.pre_activations(x).detach().numpy().astype(np.float64)
    theta = sae.threshold.detach().numpy().astype(np.float64)
    norms = np.linalg.norm(sae.W_dec.detach().numpy(), axis=0)
    if mode == "step":
        penalty = (h_pre > theta).sum(1).mean()
    else:
        penalty = np.tanh(3.0 * acts * norms).sum(1).mean()
    pre_act = (np.maximum(theta - h_pre, 0) * norms).sum(1).mean()
    mse = ((x_hat - x.numpy()) ** 2).mean()
    assert float(step.terms["sparsity_loss"].detach()) == pytest.approx(penalty, rel=1e-5)
    assert float(step.terms["pre_act_loss"].detach()) == pytest.approx(pre_act, rel=1e-5)
    want = mse / 0.5 + 0.2 * penalty + 0.01 * pre_act
    assert float(step.loss.detach()) == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("mode", ["step", "tanh"])
def test_training_on_planted_codes(mode):
    x, _ = planted_codes(4000)
    config = SAEConfig(arch="jumprelu", n_features=64, lr=3e-3, batch_size=128, epochs=2,
                       jumprelu_sparsity_loss_mode=mode, device="cpu")  # fmt: skip
    sae, history = train_sae(x, config, quiet)
    assert history[-1]["loss"] < history[0]["loss"]
    assert history[-1]["l0"] < history[0]["l0"]
    assert (
        float(sae.threshold.detach().mean()) > config.jumprelu_init_threshold
    )  # the penalty lifts it
    metrics = evaluate_sae(sae, x)
    assert metrics["explained_variance"] > 0.7  # 63 steps; tanh: 0.91 after 250
    assert metrics["mean_l0"] < 32  # ~half the latents fire at the start


def test_config_validation():
    with pytest.raises(ValueError, match="jumprelu_sparsity_loss_mode must be one of"):
        SAEConfig(jumprelu_sparsity_loss_mode="l1")
    with pytest.raises(ValueError, match="jumprelu_bandwidth must be > 0"):
        SAEConfig(jumprelu_bandwidth=0.0)
    with pytest.raises(ValueError, match="l0_coefficient must be >= 0"):
        SAEConfig(l0_coefficient=-1.0)
